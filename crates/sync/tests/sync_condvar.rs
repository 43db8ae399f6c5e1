//! Condvar: notify_one, notify(n), notify_all, wait_while, and
//! notifications that survive a cancelled waiter.

mod common;

use std::sync::Arc;

use common::{on_threads, Polled};
use futures_lite::future::block_on;
use tulipa_sync::{Condvar, Mutex};

#[test]
fn wait_unlocks_the_mutex_and_relocks_it() {
    let m = Mutex::new(0);
    let cv = Condvar::new();
    let mut w = Polled::new(async {
        let g = m.lock().await;
        let mut g = cv.wait(g).await;
        *g += 1;
    });
    w.pending();
    // The waiter released the lock while it sleeps.
    let mut g = m.try_lock().expect("wait unlocked the mutex");
    *g = 10;
    assert_eq!(cv.notify_one(), 1);
    assert_eq!(w.wakes(), 1);
    w.pending(); // woken, but the mutex is still held here
    drop(g);
    w.ready();
    assert_eq!(*m.try_lock().unwrap(), 11);
}

#[test]
fn notify_one_wakes_exactly_one_and_notify_n_wakes_n() {
    let m = Mutex::new(());
    let cv = Condvar::new();
    let mut waiters: Vec<_> = (0..4)
        .map(|_| {
            Polled::new(async {
                let g = m.lock().await;
                drop(cv.wait(g).await);
            })
        })
        .collect();
    for w in &mut waiters {
        w.pending();
    }
    assert_eq!(cv.notify_one(), 1);
    assert_eq!(
        cv.notify_one(),
        1,
        "a second notify_one wakes a second waiter"
    );
    let woken: Vec<usize> = waiters.iter().map(|w| w.wakes()).collect();
    assert_eq!(woken, [1, 1, 0, 0], "FIFO, one each");
    assert_eq!(cv.notify(5), 2, "only two were left");
    for w in &mut waiters {
        w.ready();
    }
    assert_eq!(
        cv.notify_all(),
        0,
        "a notification with nobody waiting is dropped"
    );
}

#[test]
fn notify_all_wakes_everyone() {
    let m = Mutex::new(());
    let cv = Condvar::new();
    let mut waiters: Vec<_> = (0..3)
        .map(|_| Polled::new(async { drop(cv.wait(m.lock().await).await) }))
        .collect();
    for w in &mut waiters {
        w.pending();
    }
    assert_eq!(cv.notify_all(), 3);
    for w in &mut waiters {
        w.ready();
    }
}

#[test]
fn a_notified_waiter_dropped_while_asleep_passes_the_notification_on() {
    let m = Mutex::new(());
    let cv = Condvar::new();
    let mut a = Polled::new(async { drop(cv.wait(m.lock().await).await) });
    let mut b = Polled::new(async { drop(cv.wait(m.lock().await).await) });
    a.pending();
    b.pending();
    cv.notify_one();
    assert_eq!(a.wakes(), 1);
    drop(a);
    assert_eq!(b.wakes(), 1, "the notification moved to b");
    b.ready();
}

#[test]
fn a_waiter_dropped_while_relocking_passes_the_notification_on() {
    let m = Mutex::new(());
    let cv = Condvar::new();
    let mut a = Polled::new(async { drop(cv.wait(m.lock().await).await) });
    let mut b = Polled::new(async { drop(cv.wait(m.lock().await).await) });
    a.pending();
    b.pending();
    let held = m.try_lock().unwrap();
    cv.notify_one();
    a.pending(); // consumed the notification, now waits for the mutex
    assert_eq!(b.wakes(), 0);
    drop(a);
    assert_eq!(b.wakes(), 1, "the consumed notification was passed on");
    drop(held);
    b.ready();
}

#[test]
fn a_waiter_woken_by_notify_all_passes_nothing_on_when_dropped() {
    let m = Mutex::new(());
    let other = Mutex::new(());
    let cv = Condvar::new();
    let mut a = Polled::new(async { drop(cv.wait(m.lock().await).await) });
    a.pending();
    let held = m.try_lock().unwrap();
    cv.notify_all();
    a.pending(); // woken; now waits for `m`
                 // A later waiter (on another mutex, which is free).
    let mut late = Polled::new(async { drop(cv.wait(other.lock().await).await) });
    late.pending();
    drop(a);
    assert_eq!(late.wakes(), 0, "notify_all has nothing to pass on");
    drop(held);
    cv.notify_one();
    assert_eq!(late.wakes(), 1);
    late.ready();
}

#[test]
fn wait_while_rechecks_the_condition() {
    let pair = Arc::new((Mutex::new(0), Condvar::new()));
    let p = pair.clone();
    let producer = std::thread::spawn(move || {
        block_on(async {
            for _ in 0..5 {
                *p.0.lock().await += 1;
                p.1.notify_all();
            }
        })
    });
    let p = pair.clone();
    let seen = on_threads(2, move |_| {
        block_on(async {
            let g = p.1.wait_while(p.0.lock().await, |n| *n < 5).await;
            *g
        })
    });
    producer.join().unwrap();
    assert_eq!(seen, [5, 5]);
}

#[test]
fn default_and_debug() {
    let cv = Condvar::default();
    assert_eq!(format!("{cv:?}"), "Condvar { .. }");
}

#[test]
fn owned_guards_wait_too() {
    let pair = Arc::new((Arc::new(Mutex::new(0)), Condvar::new()));
    let p = pair.clone();
    let waiter = std::thread::spawn(move || {
        block_on(async {
            let g = p.0.lock_arc().await;
            *p.1.wait_while_arc(g, |n| *n < 3).await
        })
    });
    block_on(async {
        for _ in 0..3 {
            *pair.0.lock().await += 1;
            pair.1.notify_all();
        }
    });
    assert_eq!(waiter.join().unwrap(), 3);
    let mut w = Polled::new(async {
        let g = pair.0.lock_arc().await;
        drop(pair.1.wait_arc(g).await);
    });
    w.pending();
    assert_eq!(pair.1.notify_one(), 1);
    w.ready();
}
