//! Condition (asyncio's `Condition`): wait releases the lock, notify(n)
//! and notify_all wake waiters oldest first, wait_for returns the
//! predicate's value, a shared lock, cancellation, both executors.

mod common;

use std::sync::Arc;

use common::Polled;
use tulipa_core::ThreadParker;
use tulipa_executor::{CurrentThread, MultiThreadBuilder, SpawnOptions};
use tulipa_sync::{Condition, Mutex};

#[test]
fn wait_releases_the_lock_and_notify_wakes_the_oldest_waiters() {
    let cond = Condition::new(Vec::new());
    let woke = std::sync::Mutex::new(Vec::new());
    let waiter = |name: char| {
        let (cond, woke) = (&cond, &woke);
        async move {
            let mut g = cond.acquire().await.wait().await;
            g.push(name);
            woke.lock().unwrap().push(name);
        }
    };
    let mut a = Polled::new(waiter('a'));
    let mut b = Polled::new(waiter('b'));
    let mut c = Polled::new(waiter('c'));
    a.pending();
    b.pending();
    c.pending();
    assert!(!cond.locked(), "waiting releases the lock");
    let g = cond.try_acquire().expect("the lock is free");
    assert!(cond.locked());
    assert_eq!(g.notify(2), 2, "two waiters woken");
    assert_eq!((a.wakes(), b.wakes(), c.wakes()), (1, 1, 0));
    // They need the lock back first.
    a.pending();
    drop(g);
    a.ready();
    b.ready();
    c.pending();
    let g = cond.try_acquire().unwrap();
    assert_eq!(g.notify_all(), 1);
    drop(g);
    c.ready();
    assert_eq!(*woke.lock().unwrap(), ['a', 'b', 'c']);
    assert_eq!(*cond.try_acquire().unwrap(), ['a', 'b', 'c']);
}

#[test]
fn notify_with_nobody_waiting_is_lost_as_in_asyncio() {
    let cond = Condition::new(0);
    assert_eq!(cond.try_acquire().unwrap().notify(1), 0);
    let mut w = Polled::new(async { drop(cond.acquire().await.wait().await) });
    w.pending();
    assert_eq!(w.wakes(), 0, "the earlier notify was not stored");
}

#[test]
fn wait_for_returns_the_predicates_value() {
    let cond = Condition::new(None);
    // Already true: returns at once, without waiting.
    let mut now = Polled::new(async {
        let mut g = cond.acquire().await;
        *g = Some(1);
        let (g, v) = g.wait_for(|x| *x).await;
        assert!(g.is_some());
        v
    });
    assert_eq!(now.ready(), 1);
    *cond.try_acquire().unwrap() = None;
    let mut later = Polled::new(async {
        let (_, v) = cond
            .acquire()
            .await
            .wait_for(|x: &mut Option<u8>| x.map(|v| v * 10))
            .await;
        v
    });
    later.pending();
    // A notification while the predicate is still false: back to sleep.
    cond.try_acquire().unwrap().notify(1);
    later.pending();
    let mut g = cond.try_acquire().unwrap();
    *g = Some(4);
    g.notify_all();
    drop(g);
    assert_eq!(later.ready(), 40);
}

#[test]
fn conditions_sharing_a_lock_have_their_own_waiters() {
    let lock = Arc::new(Mutex::new(0));
    let not_empty = Condition::with_lock(lock.clone());
    let not_full = Condition::with_lock(lock.clone());
    assert!(Arc::ptr_eq(not_empty.lock(), &lock));
    let mut consumer = Polled::new(async { drop(not_empty.acquire().await.wait().await) });
    let mut producer = Polled::new(async { drop(not_full.acquire().await.wait().await) });
    consumer.pending();
    producer.pending();
    let g = not_empty.try_acquire().unwrap();
    assert!(not_full.locked(), "one lock under both");
    assert_eq!(g.notify_all(), 1);
    drop(g);
    assert_eq!((consumer.wakes(), producer.wakes()), (1, 0));
    consumer.ready();
    producer.pending();
}

#[test]
fn a_notified_waiter_cancelled_before_it_relocked_passes_the_notification_on() {
    let cond = Condition::new(0);
    let mut a = Polled::new(async { drop(cond.acquire().await.wait().await) });
    let mut b = Polled::new(async { drop(cond.acquire().await.wait().await) });
    a.pending();
    b.pending();
    let g = cond.try_acquire().unwrap();
    assert_eq!(g.notify(1), 1);
    drop(g);
    assert_eq!(a.wakes(), 1);
    drop(a); // cancelled before it ran
    assert_eq!(b.wakes(), 1, "the notification passed on to `b`");
    b.ready();
}

/// A producer and a consumer task hand 100 items over through a
/// one-slot buffer guarded by two conditions on one lock.
async fn producer_consumer(
    spawn: impl Fn(
        std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u32>> + Send>>,
    ) -> tulipa_executor::JoinHandle<Vec<u32>>,
) -> Vec<u32> {
    let lock = Arc::new(Mutex::new(None::<u32>));
    let full = Arc::new(Condition::with_lock(lock.clone()));
    let empty = Arc::new(Condition::with_lock(lock.clone()));
    let producer = {
        let (full, empty) = (full.clone(), empty.clone());
        spawn(Box::pin(async move {
            for i in 0..100 {
                let (mut slot, ()) = empty
                    .acquire()
                    .await
                    .wait_for(|slot| slot.is_none().then_some(()))
                    .await;
                *slot = Some(i);
                drop(slot);
                // Notify under the lock, as asyncio requires.
                full.acquire().await.notify(1);
            }
            Vec::new()
        }))
    };
    let consumer = spawn(Box::pin(async move {
        let mut got = Vec::new();
        while got.len() < 100 {
            let (mut slot, item) = full.acquire().await.wait_for(|slot| *slot).await;
            *slot = None;
            drop(slot);
            empty.acquire().await.notify(1);
            got.push(item);
        }
        got
    }));
    assert!(producer.await.unwrap().is_empty());
    consumer.await.unwrap()
}

#[test]
fn producer_and_consumer_tasks_on_both_executors() {
    let want: Vec<u32> = (0..100).collect();
    let ct = CurrentThread::new(Arc::new(ThreadParker::new()));
    let ct2 = ct.clone();
    let got = ct.block_on(producer_consumer(move |f| {
        ct2.spawn(SpawnOptions::new(), f)
    }));
    assert_eq!(got, want);
    let mt = MultiThreadBuilder::new()
        .workers(2)
        .build(Arc::new(ThreadParker::new()))
        .expect("cannot start the executor");
    let h = mt.handle();
    let got = tulipa_executor::block_on(
        &ThreadParker::new(),
        producer_consumer(move |f| h.spawn(SpawnOptions::new(), f)),
    );
    assert_eq!(got, want);
}
