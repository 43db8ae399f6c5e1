//! Regression: a virtual-time park lost an unpark that arrived before it
//! (its first, non-blocking inner poll consumed the wakeup, then it blocked
//! forever), and could move the clock while work was waiting.

use std::future::Future;
use std::time::{Duration, Instant};

use tulipa_core::{Driver, MockClock, ThreadParker};
use tulipa_timer::{sleep, TimerDriver};

#[test]
fn an_unpark_before_a_virtual_park_is_not_lost() {
    let driver = TimerDriver::with_clock(ThreadParker::new(), MockClock::new());
    driver.unparker().unpark();
    let start = Instant::now();
    // Would block forever before the fix; the 30 s bound only keeps a
    // regression from hanging the suite.
    assert!(driver.park(Some(Duration::from_secs(30))));
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_pending_unpark_stops_auto_advance() {
    let driver = TimerDriver::with_clock(ThreadParker::new(), MockClock::new());
    let handle = driver.handle();
    let _enter = handle.enter();
    let mut nap = sleep(Duration::from_secs(60));
    let waker = std::task::Waker::noop();
    assert!(std::pin::Pin::new(&mut nap)
        .poll(&mut std::task::Context::from_waker(waker))
        .is_pending());
    let t0 = handle.now();
    // Work was queued (someone unparked): the clock must not jump.
    driver.unparker().unpark();
    driver.park(None);
    assert_eq!(handle.now(), t0);
    // Nothing waiting now: the next idle park auto-advances.
    driver.park(None);
    assert_eq!(handle.now() - t0, Duration::from_secs(60));
}
