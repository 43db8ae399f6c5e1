//! Compile-time checks of the auto traits of every public type.

use tulipa_core::ThreadParker;
use tulipa_timer::wheel::{Key, Wheel};
use tulipa_timer::{
    Elapsed, Instant, Interval, MissedTickBehavior, NotPaused, Sleep, Timeout, TimeoutEnded,
    TimeoutHandle, TimerDriver, TimerHandle, ZeroPeriod,
};

fn send_sync<T: Send + Sync>() {}
fn unpin<T: Unpin>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<TimerHandle>();
    send_sync::<TimerDriver<ThreadParker>>();
    send_sync::<Sleep>();
    send_sync::<Interval>();
    send_sync::<Timeout<std::future::Ready<u8>>>();
    send_sync::<Instant>();
    send_sync::<Elapsed>();
    send_sync::<TimeoutHandle>();
    send_sync::<TimeoutEnded>();
    send_sync::<NotPaused>();
    send_sync::<ZeroPeriod>();
    send_sync::<MissedTickBehavior>();
    send_sync::<Key>();
    send_sync::<Wheel<std::task::Waker>>();
    unpin::<Sleep>();
    unpin::<Interval>();
    unpin::<Timeout<std::future::Ready<u8>>>();
}
