//! Barrier: leader election, arrival indices, reuse, withdrawal of a
//! cancelled waiter, abort and reset (asyncio's BrokenBarrierError).

mod common;

use std::sync::Arc;

use common::{on_threads, Polled};
use futures_lite::future::block_on;
use tulipa_sync::{Barrier, BrokenBarrierError};

#[test]
fn the_last_arrival_trips_and_leads() {
    let b = Barrier::new(3);
    assert_eq!(b.parties(), 3);
    let mut first = Polled::new(b.wait());
    let mut second = Polled::new(b.wait());
    first.pending();
    second.pending();
    assert_eq!(b.n_waiting(), 2);
    let third = Polled::new(b.wait()).ready().unwrap();
    assert!(third.is_leader());
    assert_eq!(third.index(), 2);
    assert_eq!(first.wakes(), 1);
    let r1 = first.ready().unwrap();
    let r2 = second.ready().unwrap();
    assert!(!r1.is_leader() && !r2.is_leader());
    assert_eq!((r1.index(), r2.index()), (0, 1));
    assert_eq!(b.n_waiting(), 0, "reset for the next round");
}

#[test]
fn a_barrier_of_one_never_waits() {
    let b = Barrier::new(1);
    for _ in 0..3 {
        let r = Polled::new(b.wait()).ready().unwrap();
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
    assert!(Polled::new(b.wait()).ready().unwrap().is_leader());
    assert!(!a.ready().unwrap().is_leader());
}

#[test]
fn a_waiter_dropped_after_the_trip_does_not_touch_the_next_round() {
    let b = Barrier::new(2);
    let mut a = Polled::new(b.wait());
    a.pending();
    Polled::new(b.wait()).ready().unwrap();
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
    w.ready().unwrap();
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
                if b2.wait().await.unwrap().is_leader() {
                    led += 1;
                }
            }
            led
        })
    });
    assert_eq!(leaders.iter().sum::<usize>(), 20, "one leader per round");
    assert_eq!(
        format!("{b:?}"),
        "Barrier { parties: 4, n_waiting: 0, broken: false }"
    );
}

fn broken(r: Result<tulipa_sync::BarrierWaitResult, BrokenBarrierError>) -> BrokenBarrierError {
    r.expect_err("expected BrokenBarrierError")
}

#[test]
fn abort_fails_the_waiters_and_every_later_wait_until_reset() {
    let b = Barrier::new(3);
    let mut a = Polled::new(b.wait());
    let mut c = Polled::new(b.wait());
    a.pending();
    c.pending();
    b.abort();
    assert!(b.is_broken());
    assert_eq!((a.wakes(), c.wakes()), (1, 1), "abort wakes every waiter");
    let e = broken(a.ready());
    broken(c.ready());
    assert_eq!(b.n_waiting(), 0);
    // Later waits fail at once, without arriving.
    broken(Polled::new(b.wait()).ready());
    assert_eq!(b.n_waiting(), 0);
    assert!(e.to_string().starts_with("barrier broken"), "{e}");
    assert!(e.to_string().contains("reset()"), "{e}");
    b.reset();
    assert!(!b.is_broken());
    // Working again: a full round trips.
    let mut x = Polled::new(b.wait());
    let mut y = Polled::new(b.wait());
    x.pending();
    y.pending();
    let leader = Polled::new(b.wait()).ready().unwrap();
    assert!(leader.is_leader());
    assert_eq!(x.ready().unwrap().index(), 0);
    assert_eq!(y.ready().unwrap().index(), 1);
}

#[test]
fn reset_fails_the_current_waiters_and_starts_a_new_round() {
    let b = Barrier::new(2);
    let mut a = Polled::new(b.wait());
    a.pending();
    b.reset();
    assert!(!b.is_broken(), "reset does not leave the barrier broken");
    assert_eq!(a.wakes(), 1);
    broken(a.ready());
    assert_eq!(b.n_waiting(), 0);
    let mut next = Polled::new(b.wait());
    next.pending();
    assert_eq!(b.n_waiting(), 1);
    let leader = Polled::new(b.wait()).ready().unwrap();
    assert_eq!(leader.index(), 1, "a new round counts from 0");
    assert_eq!(next.ready().unwrap().index(), 0);
}

#[test]
fn a_waiter_dropped_after_an_abort_does_not_touch_the_next_round() {
    let b = Barrier::new(2);
    let mut a = Polled::new(b.wait());
    a.pending();
    b.abort();
    b.reset();
    let mut next = Polled::new(b.wait());
    next.pending();
    drop(a); // its round broke; it never looked
    assert_eq!(b.n_waiting(), 1, "the new round keeps its arrival");
    assert!(Polled::new(b.wait()).ready().unwrap().is_leader());
    assert!(!next.ready().unwrap().is_leader());
}

#[test]
fn abort_from_another_thread_wakes_blocked_threads() {
    let b = Arc::new(Barrier::new(4));
    let b2 = b.clone();
    let waiters = std::thread::spawn(move || on_threads(2, move |_| block_on(b2.wait()).is_err()));
    // Bounded: wait for both to arrive, then abort.
    for _ in 0..10_000 {
        if b.n_waiting() == 2 {
            break;
        }
        std::thread::yield_now();
    }
    b.abort();
    assert_eq!(waiters.join().unwrap(), [true, true]);
}
