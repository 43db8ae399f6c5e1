//! The primitives under tulipa's work-stealing executor (tasks, not
//! threads): contended locks with yields inside critical sections, a
//! semaphore limit, a condvar hand-shake and a barrier across tasks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tulipa_core::ThreadParker;
use tulipa_executor::{yield_now, MultiThread, MultiThreadBuilder, SpawnOptions};
use tulipa_sync::{Barrier, Condvar, Mutex, RwLock, Semaphore};

fn pool() -> MultiThread {
    MultiThreadBuilder::new()
        .workers(2)
        .build(Arc::new(ThreadParker::new()))
        .expect("cannot start the executor")
}

fn run_tasks<F, Fut>(pool: &MultiThread, n: usize, f: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let handles: Vec<_> = (0..n)
        .map(|i| pool.spawn(SpawnOptions::new(), f(i)))
        .collect();
    tulipa_executor::block_on(&ThreadParker::new(), async {
        for h in handles {
            h.await.expect("a task panicked");
        }
    });
}

#[test]
fn a_mutex_held_across_yields_keeps_its_invariant() {
    let ex = pool();
    let m = Arc::new(Mutex::new((0u64, 0u64)));
    run_tasks(&ex, 8, |_| {
        let m = m.clone();
        async move {
            for _ in 0..200 {
                let mut g = m.lock().await;
                g.0 += 1;
                yield_now().await; // other tasks run, and must wait
                g.1 += 1;
                assert_eq!(g.0, g.1);
            }
        }
    });
    assert_eq!(*m.try_lock().unwrap(), (1_600, 1_600));
}

#[test]
fn a_semaphore_limits_concurrent_tasks() {
    let ex = pool();
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    run_tasks(&ex, 12, |_| {
        let (sem, inside, peak) = (sem.clone(), inside.clone(), peak.clone());
        async move {
            for _ in 0..50 {
                let _permit = sem.acquire_arc().await.unwrap();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        }
    });
    let peak = peak.load(Ordering::SeqCst);
    assert!((1..=3).contains(&peak), "peak {peak}");
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn rwlock_readers_never_see_a_half_write() {
    let ex = pool();
    let lock = Arc::new(RwLock::new([0u32; 4]));
    run_tasks(&ex, 6, |i| {
        let lock = lock.clone();
        async move {
            for _ in 0..100 {
                if i % 3 == 0 {
                    let mut w = lock.write().await;
                    for x in w.iter_mut() {
                        *x += 1;
                        yield_now().await;
                    }
                } else {
                    let r = lock.read().await;
                    assert!(r.iter().all(|&x| x == r[0]), "torn read {:?}", *r);
                }
            }
        }
    });
    assert_eq!(*lock.try_read().unwrap(), [200; 4]);
}

#[test]
fn condvar_and_barrier_coordinate_tasks() {
    let ex = pool();
    let state = Arc::new((Mutex::new(0usize), Condvar::new()));
    let barrier = Arc::new(Barrier::new(4));
    let leaders = Arc::new(AtomicUsize::new(0));
    run_tasks(&ex, 4, |i| {
        let (state, barrier, leaders) = (state.clone(), barrier.clone(), leaders.clone());
        async move {
            // Each task waits for its turn, in order 0..4.
            let (lock, cv) = &*state;
            let mut turn = cv.wait_while(lock.lock().await, |t| *t != i).await;
            *turn += 1;
            drop(turn);
            cv.notify_all();
            if barrier.wait().await.is_leader() {
                leaders.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    assert_eq!(*state.0.try_lock().unwrap(), 4);
    assert_eq!(leaders.load(Ordering::SeqCst), 1);
}
