//! Barrier: leader election, arrival indices, reuse, withdrawal of a
//! cancelled waiter.

mod common;

use std::sync::Arc;

use common::{on_threads, Polled};
use futures_lite::future::block_on;
use tulipa_sync::Barrier;

#[test]
fn the_last_arrival_trips_and_leads() {
    let b = Barrier::new(3);
    assert_eq!(b.parties(), 3);
    let mut first = Polled::new(b.wait());
    let mut second = Polled::new(b.wait());
    first.pending();
    second.pending();
    assert_eq!(b.n_waiting(), 2);
    let third = Polled::new(b.wait()).ready();
    assert!(third.is_leader());
    assert_eq!(third.index(), 2);
    assert_eq!(first.wakes(), 1);
    let r1 = first.ready();
    let r2 = second.ready();
    assert!(!r1.is_leader() && !r2.is_leader());
    assert_eq!((r1.index(), r2.index()), (0, 1));
    assert_eq!(b.n_waiting(), 0, "reset for the next round");
}

#[test]
fn a_barrier_of_one_never_waits() {
    let b = Barrier::new(1);
    for _ in 0..3 {
        let r = Polled::new(b.wait()).ready();
        assert!(r.is_leader());
        assert_eq!(r.index(), 0);
    }
}

#[test]
fn a_cancelled_waiter_withdraws_its_arrival() {
    let b = Barrier::new(2);
    let mut gone = Polled::new(b.wait());
    gone.pending();
    assert_eq!(b.n_waiting(), 1);
    drop(gone);
    assert_eq!(b.n_waiting(), 0);
    let mut a = Polled::new(b.wait());
    a.pending();
    assert!(Polled::new(b.wait()).ready().is_leader());
    assert!(!a.ready().is_leader());
}

#[test]
fn a_waiter_dropped_after_the_trip_does_not_touch_the_next_round() {
    let b = Barrier::new(2);
    let mut a = Polled::new(b.wait());
    a.pending();
    Polled::new(b.wait()).ready();
    let mut next = Polled::new(b.wait());
    next.pending();
    drop(a); // tripped but never polled again
    assert_eq!(b.n_waiting(), 1, "the next round keeps its arrival");
    drop(next);
}

#[test]
#[should_panic(expected = "BarrierWait polled after it returned Ready")]
fn polling_a_finished_wait_again_panics_instead_of_arriving_twice() {
    let b = Barrier::new(1);
    let mut w = Polled::new(b.wait());
    w.ready();
    let _ = w.poll();
}

#[test]
#[should_panic(expected = "a barrier needs at least 1 party, not 0")]
fn zero_parties_panics() {
    Barrier::new(0);
}

#[test]
fn threads_meet_for_several_rounds() {
    let b = Arc::new(Barrier::new(4));
    let b2 = b.clone();
    let leaders = on_threads(4, move |_| {
        block_on(async {
            let mut led = 0;
            for _ in 0..20 {
                if b2.wait().await.is_leader() {
                    led += 1;
                }
            }
            led
        })
    });
    assert_eq!(leaders.iter().sum::<usize>(), 20, "one leader per round");
    assert_eq!(format!("{b:?}"), "Barrier { parties: 4, n_waiting: 0 }");
}
