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
            if barrier.wait().await.unwrap().is_leader() {
                leaders.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    assert_eq!(*state.0.try_lock().unwrap(), 4);
    assert_eq!(leaders.load(Ordering::SeqCst), 1);
}

const ROUNDS: usize = 50;

/// Two tasks that each lock `m` `ROUNDS` times, holding the lock across a
/// yield, and record who held it.
fn taking_turns(m: &Arc<Mutex<Vec<u8>>>) -> [impl std::future::Future<Output = ()> + Send; 2] {
    [0u8, 1].map(|who| {
        let m = m.clone();
        async move {
            for _ in 0..ROUNDS {
                let mut g = m.lock().await;
                g.push(who);
                yield_now().await;
            }
        }
    })
}

/// The lengths of the runs of equal entries, without the first and last
/// run (before both tasks contend, and after one has finished).
fn inner_runs(record: &[u8]) -> Vec<usize> {
    assert_eq!(record.len(), 2 * ROUNDS);
    let mut runs = vec![1];
    for w in record.windows(2) {
        if w[0] == w[1] {
            *runs.last_mut().unwrap() += 1;
        } else {
            runs.push(1);
        }
    }
    runs.pop();
    if !runs.is_empty() {
        runs.remove(0);
    }
    runs
}

fn on_multi_thread(m: Mutex<Vec<u8>>) -> Vec<u8> {
    let m = Arc::new(m);
    let ex = pool();
    let handles = taking_turns(&m).map(|f| ex.spawn(SpawnOptions::new(), f));
    tulipa_executor::block_on(&ThreadParker::new(), async {
        for h in handles {
            h.await.expect("a task panicked");
        }
    });
    let record = m.try_lock().unwrap().clone();
    record
}

fn on_current_thread(m: Mutex<Vec<u8>>) -> Vec<u8> {
    let m = Arc::new(m);
    let ex = tulipa_executor::CurrentThread::new(Arc::new(ThreadParker::new()));
    let handles = taking_turns(&m).map(|f| ex.spawn(SpawnOptions::new(), f));
    ex.block_on(async {
        for h in handles {
            h.await.expect("a task panicked");
        }
    });
    let record = m.try_lock().unwrap().clone();
    record
}

#[test]
fn a_fair_mutex_alternates_between_two_contending_tasks_on_both_runtimes() {
    for record in [
        on_multi_thread(Mutex::new(Vec::new())),
        on_current_thread(Mutex::new(Vec::new())),
    ] {
        // Once both tasks contend, an unlock hands the lock to the other
        // one, and relocking queues behind it: strict turns.
        assert!(
            inner_runs(&record).iter().all(|&run| run == 1),
            "not FIFO: {record:?}"
        );
    }
}

#[test]
fn an_unfair_mutex_lets_the_running_task_relock_on_the_current_thread() {
    let record = on_current_thread(Mutex::new_unfair(Vec::new()));
    // The unlocking task relocks before the woken one runs, until the
    // starvation guard hands the lock over.
    assert!(
        inner_runs(&record).iter().any(|&run| run > 1),
        "no barging: {record:?}"
    );
}

/// As [`taking_turns`], for two tasks sharing a one-permit semaphore.
fn taking_permit_turns(
    sem: &Arc<Semaphore>,
    record: &Arc<std::sync::Mutex<Vec<u8>>>,
) -> [impl std::future::Future<Output = ()> + Send; 2] {
    [0u8, 1].map(|who| {
        let (sem, record) = (sem.clone(), record.clone());
        async move {
            for _ in 0..ROUNDS {
                let _permit = sem.acquire().await.unwrap();
                record.lock().unwrap().push(who);
                yield_now().await;
            }
        }
    })
}

#[test]
fn a_fair_semaphore_alternates_between_two_contending_tasks_on_both_runtimes() {
    let sem = Arc::new(Semaphore::new(1));
    let record = Arc::new(std::sync::Mutex::new(Vec::new()));
    let ex = pool();
    let handles = taking_permit_turns(&sem, &record).map(|f| ex.spawn(SpawnOptions::new(), f));
    tulipa_executor::block_on(&ThreadParker::new(), async {
        for h in handles {
            h.await.expect("a task panicked");
        }
    });
    let multi = std::mem::take(&mut *record.lock().unwrap());
    let ct = tulipa_executor::CurrentThread::new(Arc::new(ThreadParker::new()));
    let handles = taking_permit_turns(&sem, &record).map(|f| ct.spawn(SpawnOptions::new(), f));
    ct.block_on(async {
        for h in handles {
            h.await.expect("a task panicked");
        }
    });
    let current = std::mem::take(&mut *record.lock().unwrap());
    for record in [multi, current] {
        assert!(
            inner_runs(&record).iter().all(|&run| run == 1),
            "not FIFO: {record:?}"
        );
    }
    assert_eq!(sem.available_permits(), 1);
}
