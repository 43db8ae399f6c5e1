//! Semaphore: permits, FIFO with acquire_many, cancellation, close,
//! bounded mode, owned permits, every error path.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{on_threads, Polled};
use futures_lite::future::block_on;
use tulipa_sync::{AcquireError, ReleaseError, Semaphore, TryAcquireError};

#[test]
fn acquire_and_try_acquire_count_permits() {
    let sem = Semaphore::new(2);
    let a = Polled::new(sem.acquire()).ready().unwrap();
    assert_eq!(a.num_permits(), 1);
    let b = sem.try_acquire().unwrap();
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    drop(a);
    assert_eq!(sem.available_permits(), 1);
    drop(b);
    assert_eq!(sem.available_permits(), 2);
    let many = sem.try_acquire_many(2).unwrap();
    assert_eq!(many.num_permits(), 2);
    assert_eq!(
        sem.try_acquire_many(1).unwrap_err(),
        TryAcquireError::NoPermits
    );
    drop(many);
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(
        format!("{:?}", sem.try_acquire().unwrap()),
        "SemaphorePermit { permits: 1 }"
    );
}

#[test]
fn zero_permit_requests_succeed_at_once() {
    let sem = Semaphore::new(0);
    let p = Polled::new(sem.acquire_many(0)).ready().unwrap();
    assert_eq!(p.num_permits(), 0);
    assert!(sem.try_acquire_many(0).is_ok());
}

#[test]
fn a_big_request_at_the_head_holds_back_later_small_ones() {
    let sem = Semaphore::new(1);
    let mut big = Polled::new(sem.acquire_many(3));
    let mut small = Polled::new(sem.acquire());
    big.pending(); // takes the free permit and waits for two more
    assert_eq!(sem.available_permits(), 0);
    small.pending();
    sem.add_permits(1);
    assert_eq!(small.wakes(), 0, "the permit went to the head");
    assert_eq!(big.wakes(), 0, "the head still needs one more");
    sem.add_permits(2);
    assert_eq!(big.wakes(), 1);
    assert_eq!(
        small.wakes(),
        1,
        "the leftover permit reached the next waiter"
    );
    let big_permit = big.ready().unwrap();
    assert_eq!(big_permit.num_permits(), 3);
    let small_permit = small.ready().unwrap();
    drop((big_permit, small_permit));
    assert_eq!(sem.available_permits(), 4);
}

#[test]
fn a_cancelled_waiter_returns_its_partial_permits_to_the_next() {
    let sem = Semaphore::new(2);
    let mut big = Polled::new(sem.acquire_many(5));
    let mut next = Polled::new(sem.acquire_many(2));
    big.pending(); // holds 2 of its 5
    next.pending();
    drop(big);
    assert_eq!(next.wakes(), 1, "the two permits went to the next waiter");
    drop(next.ready().unwrap());
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn a_granted_but_unpolled_waiter_returns_everything_when_dropped() {
    let sem = Semaphore::new(0);
    let mut a = Polled::new(sem.acquire_many(2));
    let mut b = Polled::new(sem.acquire());
    a.pending();
    b.pending();
    sem.add_permits(2); // all to `a`
    assert_eq!(a.wakes(), 1);
    assert_eq!(b.wakes(), 0);
    drop(a);
    assert_eq!(b.wakes(), 1);
    drop(b.ready().unwrap());
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn close_fails_waiters_and_later_acquires_but_keeps_held_permits() {
    let sem = Semaphore::new(2);
    let held = sem.try_acquire().unwrap();
    let mut waiting = Polled::new(sem.acquire_many(3));
    waiting.pending(); // holds 1 of 3
    assert!(sem.close());
    assert!(!sem.close(), "closing twice reports it was closed");
    assert!(sem.is_closed());
    assert_eq!(waiting.wakes(), 1);
    assert_eq!(
        waiting.ready().unwrap_err(),
        AcquireError::clone(&closed_error(&sem))
    );
    assert_eq!(sem.available_permits(), 1, "the partial permit came back");
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    assert!(Polled::new(sem.acquire()).ready().is_err());
    drop(held);
    assert_eq!(sem.available_permits(), 2, "held permits still return");
    sem.add_permits(1);
    assert_eq!(sem.available_permits(), 3);
}

fn closed_error(sem: &Semaphore) -> AcquireError {
    Polled::new(sem.acquire()).ready().unwrap_err()
}

#[test]
fn error_messages_are_lowercase_and_say_what_to_do() {
    let sem = Semaphore::new(0);
    let no = sem.try_acquire().unwrap_err().to_string();
    assert!(no.starts_with("no permits available"), "{no}");
    sem.close();
    let closed = closed_error(&sem).to_string();
    assert!(closed.starts_with("semaphore closed"), "{closed}");
    assert_eq!(sem.try_acquire().unwrap_err().to_string(), closed);
    let full = Semaphore::new(Semaphore::MAX_PERMITS);
    let overflow = full.release(1).unwrap_err().to_string();
    assert!(
        overflow.starts_with("cannot release 1 permits: "),
        "{overflow}"
    );
    let bounded = Semaphore::bounded(1);
    let above = bounded.release(2).unwrap_err().to_string();
    assert!(
        above.starts_with("cannot release 2 permits to a bounded semaphore of 1"),
        "{above}"
    );
}

#[test]
fn bounded_release_gives_back_only_forgotten_permits() {
    let sem = Semaphore::bounded(2);
    assert_eq!(sem.bound(), Some(2));
    assert_eq!(
        sem.release(1).unwrap_err(),
        ReleaseError::AboveBound {
            bound: 2,
            released: 1,
            forgotten: 0
        }
    );
    sem.try_acquire_many(2).unwrap().forget();
    assert_eq!(sem.available_permits(), 0);
    assert!(matches!(
        sem.release(3),
        Err(ReleaseError::AboveBound { forgotten: 2, .. })
    ));
    sem.release(1).unwrap();
    sem.release(1).unwrap();
    assert!(sem.release(1).is_err());
    assert_eq!(sem.available_permits(), 2);
    // A guard that is dropped (not forgotten) cannot be released again.
    drop(sem.try_acquire().unwrap());
    assert!(sem.release(1).is_err());
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn bounded_release_wakes_a_waiter() {
    let sem = Semaphore::bounded(1);
    sem.try_acquire().unwrap().forget();
    let mut w = Polled::new(sem.acquire());
    w.pending();
    sem.release(1).unwrap();
    assert_eq!(w.wakes(), 1);
    drop(w.ready().unwrap());
    assert_eq!(sem.available_permits(), 1);
}

#[test]
#[should_panic(
    expected = "Semaphore::add_permits: cannot release 1 permits to a bounded semaphore"
)]
fn add_permits_on_a_full_bounded_semaphore_panics() {
    Semaphore::bounded(1).add_permits(1);
}

#[test]
#[should_panic(expected = "cannot acquire 3 permits from a bounded semaphore of 2")]
fn acquire_many_beyond_the_bound_panics() {
    let sem = Semaphore::bounded(2);
    drop(sem.acquire_many(3));
}

#[test]
#[should_panic(expected = "a semaphore holds at most")]
fn new_beyond_max_permits_panics() {
    Semaphore::new(Semaphore::MAX_PERMITS + 1);
}

#[test]
fn release_past_max_permits_is_an_error_and_adds_nothing() {
    let sem = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    assert!(matches!(
        sem.release(2),
        Err(ReleaseError::Overflow { released: 2, .. })
    ));
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS - 1);
    sem.release(1).unwrap();
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
}

#[test]
fn an_overflowing_release_hands_nothing_to_waiters_either() {
    let sem = Semaphore::new(0);
    let mut waiter = Polled::new(sem.acquire_many(2));
    waiter.pending();
    // What the waiter would absorb leaves more than MAX_PERMITS for the
    // count: the release fails, and must release nothing at all (the
    // caller still owns every permit it tried to release).
    assert!(matches!(
        sem.release(usize::MAX),
        Err(ReleaseError::Overflow { .. })
    ));
    assert_eq!(waiter.wakes(), 0, "a failed release woke a waiter");
    waiter.pending();
    assert_eq!(sem.available_permits(), 0);
    // A release that fits still reaches the waiter.
    sem.release(2).unwrap();
    assert_eq!(waiter.ready().unwrap().num_permits(), 2);
}

#[test]
fn unbounded_release_and_add_permits_grow_the_count() {
    let sem = Semaphore::new(0);
    assert_eq!(sem.bound(), None);
    sem.release(2).unwrap();
    sem.add_permits(1);
    assert_eq!(sem.available_permits(), 3);
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.available_permits(), 2, "forgotten permits are gone");
}

#[test]
fn owned_permits_keep_the_semaphore_and_return_on_drop() {
    let sem = Arc::new(Semaphore::new(2));
    let a = sem.try_acquire_arc().unwrap();
    let b = Polled::new(sem.acquire_many_arc(1)).ready().unwrap();
    assert!(Arc::ptr_eq(a.semaphore(), &sem));
    assert_eq!(
        sem.try_acquire_many_arc(1).unwrap_err(),
        TryAcquireError::NoPermits
    );
    let mut c = Polled::new(sem.acquire_arc());
    c.pending();
    drop(a);
    assert_eq!(c.wakes(), 1);
    let c = c.ready().unwrap();
    assert_eq!(c.num_permits(), 1);
    b.forget();
    drop(c);
    assert_eq!(sem.available_permits(), 1);
    let moved = std::thread::spawn({
        let p = sem.try_acquire_arc().unwrap();
        move || p.num_permits()
    });
    assert_eq!(moved.join().unwrap(), 1);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn dropped_acquire_arc_passes_its_permits_on() {
    let sem = Arc::new(Semaphore::new(0));
    let mut a = Polled::new(sem.acquire_arc());
    let mut b = Polled::new(sem.acquire_arc());
    a.pending();
    b.pending();
    sem.add_permits(1);
    drop(a);
    assert_eq!(b.wakes(), 1);
    drop(b.ready().unwrap());
    sem.close();
    assert!(Polled::new(sem.acquire_arc()).ready().is_err());
}

#[test]
fn threads_never_exceed_the_permit_count() {
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (s, i, p) = (sem.clone(), inside.clone(), peak.clone());
    on_threads(6, move |t| {
        block_on(async {
            for k in 0..500 {
                let n = 1 + (t + k) % 2;
                let _permit = s.acquire_many(n).await.unwrap();
                let now = i.fetch_add(n, Ordering::SeqCst) + n;
                p.fetch_max(now, Ordering::SeqCst);
                i.fetch_sub(n, Ordering::SeqCst);
            }
        })
    });
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn debug_shows_the_state() {
    let sem = Semaphore::bounded(2);
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available_permits: 2, bound: Some(2), closed: false }"
    );
    let fut = sem.acquire_many(2);
    assert_eq!(format!("{fut:?}"), "Acquire { permits: 2 }");
}

#[test]
fn a_permit_owed_to_a_woken_waiter_is_not_free_for_newcomers() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut a = Polled::new(sem.acquire());
    a.pending();
    drop(held); // the permit is on its way to `a`
    assert_eq!(a.wakes(), 1);
    assert_eq!(sem.available_permits(), 0, "the permit is owed to `a`");
    assert_eq!(
        sem.try_acquire().unwrap_err(),
        TryAcquireError::NoPermits,
        "try_acquire must not steal the permit owed to `a`"
    );
    let mut newcomer = Polled::new(sem.acquire());
    newcomer.pending();
    let permit = a.ready().unwrap();
    drop(permit);
    assert_eq!(newcomer.wakes(), 1);
    drop(newcomer.ready().unwrap());
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn a_task_that_releases_and_reacquires_waits_behind_the_woken_waiter() {
    let sem = Semaphore::new(1);
    let order = std::sync::Mutex::new(Vec::new());
    let held = sem.try_acquire().unwrap();
    let mut a = Polled::new(async {
        let _p = sem.acquire().await.unwrap();
        order.lock().unwrap().push('a');
    });
    a.pending();
    drop(held);
    let mut again = Polled::new(async {
        let _p = sem.acquire().await.unwrap();
        order.lock().unwrap().push('x');
    });
    again.pending();
    a.ready();
    again.ready();
    assert_eq!(*order.lock().unwrap(), ['a', 'x']);
}

#[test]
fn a_woken_waiter_that_is_cancelled_passes_the_permit_to_the_next_waiter_not_a_newcomer() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut a = Polled::new(sem.acquire());
    let mut b = Polled::new(sem.acquire());
    a.pending();
    b.pending();
    drop(held); // hands the permit to `a`
    let mut newcomer = Polled::new(sem.acquire());
    newcomer.pending();
    drop(a); // cancelled after it was woken, before it ran
    assert_eq!(b.wakes(), 1, "the permit passed on to `b`");
    assert_eq!(newcomer.wakes(), 0);
    assert!(sem.try_acquire().is_err(), "the permit is `b`'s");
    let permit = b.ready().unwrap();
    drop(permit);
    drop(newcomer.ready().unwrap());
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn an_unfair_semaphore_lets_a_running_task_take_a_released_permit() {
    let sem = Semaphore::new_unfair(1);
    let held = sem.try_acquire().unwrap();
    let mut a = Polled::new(sem.acquire());
    a.pending();
    drop(held);
    assert_eq!(a.wakes(), 1, "the oldest waiter is woken");
    let barger = sem.try_acquire().expect("the released permit is free");
    a.pending(); // lost its wakeup; still first in line
    drop(barger);
    assert_eq!(a.wakes(), 2);
    drop(a.ready().unwrap());
    assert_eq!(sem.available_permits(), 1);
    let bounded = Semaphore::bounded_unfair(2);
    assert_eq!(bounded.bound(), Some(2));
    assert!(bounded.release(1).is_err(), "still bounded");
}
