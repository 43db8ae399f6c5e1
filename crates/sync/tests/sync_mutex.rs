//! Mutex: locking, FIFO hand-off, cancellation, owned guards, threads.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{on_threads, Polled};
use futures_lite::future::block_on;
use tulipa_sync::{Mutex, MutexGuard, MutexGuardArc};

#[test]
fn lock_gives_access_and_unlocks_on_drop() {
    let m = Mutex::new(1);
    assert!(!m.is_locked());
    let mut g = Polled::new(m.lock()).ready();
    assert!(m.is_locked());
    *g += 1;
    assert!(m.try_lock().is_none(), "locked while the guard lives");
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    drop(g);
    assert!(!m.is_locked());
    assert_eq!(*m.try_lock().unwrap(), 2);
    assert_eq!(format!("{m:?}"), "Mutex { data: 2 }");
}

#[test]
fn get_mut_into_inner_default_from() {
    let mut m = Mutex::new(vec![1]);
    m.get_mut().push(2);
    assert_eq!(m.into_inner(), [1, 2]);
    assert_eq!(Mutex::<u8>::default().into_inner(), 0);
    assert_eq!(Mutex::from(5).into_inner(), 5);
}

#[test]
fn guard_display_debug_and_source() {
    let m = Mutex::new(7);
    let g = m.try_lock().unwrap();
    assert_eq!(format!("{g} {g:?}"), "7 7");
    assert!(std::ptr::eq(MutexGuard::source(&g), &m));
}

#[test]
fn unlock_hands_the_lock_to_the_oldest_waiter_before_it_runs() {
    let m = Mutex::new(Vec::new());
    let held = m.try_lock().unwrap();
    let mut a = Polled::new(async {
        m.lock().await.push('a');
    });
    let mut b = Polled::new(async {
        m.lock().await.push('b');
    });
    a.pending();
    b.pending();
    drop(held);
    assert_eq!(a.wakes(), 1, "the oldest waiter is woken");
    assert_eq!(b.wakes(), 0, "only the oldest waiter is woken");
    // `a` has not run yet, but the lock is its own: nobody barges.
    assert!(m.is_locked(), "the lock was handed to `a`");
    assert!(
        m.try_lock().is_none(),
        "a newcomer cannot take a handed-off lock"
    );
    let mut c = Polled::new(async {
        m.lock().await.push('c');
    });
    c.pending();
    a.ready();
    assert_eq!((b.wakes(), c.wakes()), (1, 0), "`b` came before `c`");
    b.ready();
    assert_eq!(c.wakes(), 1);
    c.ready();
    assert_eq!(*m.try_lock().unwrap(), ['a', 'b', 'c']);
}

#[test]
fn a_task_that_unlocks_and_relocks_queues_behind_the_woken_waiter() {
    let m = Mutex::new(Vec::new());
    let mut held = m.try_lock().unwrap();
    let mut a = Polled::new(async {
        m.lock().await.push('a');
    });
    a.pending();
    held.push('x');
    drop(held);
    // The same task asks again at once, before `a` ran.
    let mut again = Polled::new(async {
        m.lock().await.push('x');
    });
    again.pending();
    a.ready();
    assert_eq!(again.wakes(), 1);
    again.ready();
    assert_eq!(*m.try_lock().unwrap(), ['x', 'a', 'x']);
}

#[test]
fn a_woken_waiter_that_is_dropped_passes_the_lock_to_the_next_waiter_not_a_newcomer() {
    let m = Mutex::new(Vec::new());
    let held = m.try_lock().unwrap();
    let mut a = Polled::new(m.lock());
    let mut b = Polled::new(async {
        m.lock().await.push('b');
    });
    a.pending();
    b.pending();
    drop(held); // hands the lock to `a`
    let mut newcomer = Polled::new(async {
        m.lock().await.push('n');
    });
    newcomer.pending();
    drop(a); // cancelled after it was woken, before it ran
    assert_eq!(b.wakes(), 1, "the lock passed on to `b`");
    assert_eq!(newcomer.wakes(), 0);
    assert!(m.try_lock().is_none(), "the lock is `b`'s now");
    b.ready();
    newcomer.ready();
    assert_eq!(*m.try_lock().unwrap(), ['b', 'n']);
}

#[test]
fn unfair_unlock_wakes_the_oldest_waiter_and_a_running_task_may_barge() {
    let m = Mutex::new_unfair(Vec::new());
    let held = m.try_lock().unwrap();
    let mut a = Polled::new(async {
        m.lock().await.push('a');
    });
    let mut b = Polled::new(async {
        m.lock().await.push('b');
    });
    a.pending();
    b.pending();
    drop(held);
    assert_eq!(a.wakes(), 1, "the oldest waiter is woken");
    assert_eq!(b.wakes(), 0, "only the oldest waiter is woken");
    // A running task takes the free lock before `a` runs (barging).
    let mut barger = m.try_lock().expect("the unlocked mutex is free");
    barger.push('x');
    a.pending(); // lost its wakeup; still first in line
    drop(barger);
    assert_eq!(a.wakes(), 2, "the next unlock wakes the head again");
    assert_eq!(b.wakes(), 0);
    a.ready();
    assert_eq!(b.wakes(), 1, "the head's unlock wakes the next waiter");
    b.ready();
    assert_eq!(*m.try_lock().unwrap(), ['x', 'a', 'b']);
}

#[test]
fn unfair_a_waiter_that_loses_twice_gets_the_next_unlock_handed_to_it() {
    let m = Mutex::new_unfair(0);
    let mut held = m.try_lock().unwrap();
    let mut a = Polled::new(m.lock());
    a.pending();
    for lost in 1..=2 {
        drop(held);
        assert_eq!(a.wakes(), lost);
        held = m
            .try_lock()
            .expect("barging is allowed before the guard trips");
        a.pending();
    }
    drop(held);
    // `a` starves: the unlock was handed to it, nobody can barge.
    assert!(
        m.try_lock().is_none(),
        "the lock was handed to the starving waiter"
    );
    assert!(Polled::new(m.lock()).poll().is_pending());
    assert_eq!(a.wakes(), 3);
    drop(a.ready());
    assert!(m.try_lock().is_some(), "back to normal after the hand-off");
}

#[test]
fn unfair_a_woken_waiter_that_is_dropped_wakes_the_next() {
    let m = Mutex::new_unfair(0);
    let held = m.try_lock().unwrap();
    let mut a = Polled::new(m.lock());
    let mut b = Polled::new(m.lock());
    a.pending();
    b.pending();
    drop(held); // wakes `a`
    drop(a);
    assert_eq!(b.wakes(), 1, "the wakeup passed on to `b`");
    drop(b.ready());
}

#[test]
fn dropping_a_handed_off_waiter_passes_the_lock_on() {
    let m = Mutex::new(0);
    let held = m.try_lock().unwrap();
    let mut a = Polled::new(m.lock());
    let mut b = Polled::new(m.lock());
    a.pending();
    b.pending();
    drop(held); // wakes `a`
    drop(a); // `a` never looked
    assert_eq!(b.wakes(), 1, "the hand-off passed on to `b`");
    let g = b.ready();
    drop(g);
    assert!(m.try_lock().is_some(), "the lock is free again");
}

#[test]
fn dropping_a_queued_waiter_leaves_the_queue() {
    let m = Mutex::new(0);
    let held = m.try_lock().unwrap();
    let mut a = Polled::new(m.lock());
    a.pending();
    drop(a);
    drop(held);
    assert!(m.try_lock().is_some(), "nobody is queued any more");
}

#[test]
fn lock_arc_and_try_lock_arc_give_owned_guards() {
    let m = Arc::new(Mutex::new(String::new()));
    let mut g: MutexGuardArc<String> = Polled::new(m.lock_arc()).ready();
    g.push('x');
    assert!(m.try_lock_arc().is_none());
    let mut waiting = Polled::new(m.lock_arc());
    waiting.pending();
    assert!(Arc::ptr_eq(MutexGuardArc::source(&g), &m));
    assert_eq!(format!("{g} {g:?}"), "x \"x\"");
    drop(g);
    assert_eq!(waiting.wakes(), 1);
    let g2 = waiting.ready();
    assert_eq!(*g2, "x");
    drop(g2);
    assert!(m.try_lock_arc().is_some());
}

#[test]
fn dropped_lock_arc_future_passes_the_lock_on() {
    let m = Arc::new(Mutex::new(0));
    let held = m.try_lock_arc().unwrap();
    let mut a = Polled::new(m.lock_arc());
    let mut b = Polled::new(m.lock_arc());
    a.pending();
    b.pending();
    drop(held);
    drop(a);
    let _guard = b.ready();
}

#[test]
fn threads_never_hold_the_lock_together() {
    let m = Arc::new(Mutex::new(0u64));
    let inside = Arc::new(AtomicUsize::new(0));
    let m2 = m.clone();
    on_threads(4, move |_| {
        block_on(async {
            for _ in 0..2_000 {
                let mut g = m2.lock().await;
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                // A non-atomic read-modify-write: lost updates would show.
                let v = *g;
                *g = v + 1;
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        })
    });
    assert_eq!(*m.try_lock().unwrap(), 8_000);
}

#[test]
fn lock_arc_across_threads_counts_every_increment() {
    let m = Arc::new(Mutex::new(0u64));
    let m2 = m.clone();
    on_threads(3, move |_| {
        block_on(async {
            for _ in 0..1_000 {
                *m2.lock_arc().await += 1;
            }
        })
    });
    assert_eq!(*m.try_lock().unwrap(), 3_000);
}

#[test]
fn a_stale_waker_is_dropped_outside_the_queue_lock() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Wake, Waker};
    use tulipa_sync::futures::LockArc;

    /// A waker whose drop gives up another queued lock future: its drop
    /// needs the queue lock (a waker's drop may run any code).
    struct Holder(std::sync::Mutex<Option<LockArc<u8>>>);
    impl Wake for Holder {
        fn wake(self: Arc<Self>) {}
    }
    impl Drop for Holder {
        fn drop(&mut self) {
            let queued = self.0.lock().unwrap().take();
            drop(queued);
        }
    }

    let m = Arc::new(Mutex::new(0u8));
    let guard = m.try_lock_arc().unwrap();
    let mut other = m.lock_arc();
    let noop = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut other)
        .poll(&mut Context::from_waker(noop.waker()))
        .is_pending());
    let holder = Waker::from(Arc::new(Holder(std::sync::Mutex::new(Some(other)))));
    let mut lock = m.lock_arc();
    assert!(Pin::new(&mut lock)
        .poll(&mut Context::from_waker(&holder))
        .is_pending());
    // Now the queue holds the last reference to the holder.
    drop(holder);
    let (tx, rx) = std::sync::mpsc::channel();
    // On a thread, so a deadlock fails the test instead of hanging it.
    std::thread::spawn(move || {
        // Another waker replaces the stored one, which is dropped.
        let polled = Pin::new(&mut lock).poll(&mut Context::from_waker(Waker::noop()));
        assert!(polled.is_pending());
        tx.send(lock).unwrap();
    });
    let Ok(mut lock) = rx.recv_timeout(std::time::Duration::from_secs(20)) else {
        // The unlock would need the stuck queue lock too.
        std::mem::forget(guard);
        panic!("deadlock: a waker was dropped while the queue lock was held");
    };
    drop(guard);
    let g = Pin::new(&mut lock).poll(&mut Context::from_waker(Waker::noop()));
    assert!(g.is_ready(), "the lock passes to the remaining waiter");
}
