//! Pool behaviour: results, panics, the thread cap, on-demand and idle
//! threads, try_spawn, stats, enter/current, build errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use tulipa_blocking::{
    spawn_blocking, try_spawn_blocking, unblock, JoinError, JoinHandle, Pool, TrySpawnError,
};

mod common;
use common::wait_for;

#[test]
fn spawn_returns_value() {
    let pool = Pool::new(2);
    let h = pool.spawn(|| 40 + 2);
    assert_eq!(block_on(h).unwrap(), 42);
}

#[test]
fn free_functions_use_global_pool() {
    assert_eq!(block_on(spawn_blocking(|| 1)).unwrap(), 1);
    assert_eq!(block_on(unblock(|| 2)), 2);
    let h = try_spawn_blocking(|| 3).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(block_on(h).unwrap(), 3);
}

#[test]
fn panic_reaches_handle() {
    let pool = Pool::new(1);
    let h: JoinHandle<()> = pool.spawn(|| panic!("boom {}", 7));
    let id = h.id();
    let err: JoinError = block_on(h).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.id(), id);
    assert!(err.to_string().contains("boom 7"), "{err}");
    // The thread survives its job's panic and runs the next one.
    assert_eq!(block_on(pool.spawn(|| 5)).unwrap(), 5);
    // `completed` counts a job when its thread comes back for the next.
    wait_for(&pool, "two completed jobs", |s| s.completed == 2);
}

#[test]
fn unblock_resumes_panic_in_awaiter() {
    let pool = Pool::new(1);
    let r = std::panic::catch_unwind(|| block_on(pool.unblock(|| -> u8 { panic!("inner") })));
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"inner"));
}

#[test]
fn ids_are_unique_and_match_handles() {
    let pool = Pool::new(2);
    let a = pool.spawn(|| ());
    let b = pool.spawn(|| ());
    assert_ne!(a.id(), b.id());
    block_on(a).unwrap();
    block_on(b).unwrap();
}

#[test]
fn is_finished_and_detach() {
    let pool = Pool::new(1);
    let (tx, rx) = mpsc::channel::<()>();
    let h = pool.spawn(move || rx.recv().unwrap());
    assert!(!h.is_finished());
    tx.send(()).unwrap();
    let start = Instant::now();
    while !h.is_finished() {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(1));
    }
    block_on(h).unwrap();

    // A detached (or dropped) handle does not stop the job.
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    pool.spawn(move || r.fetch_add(1, Ordering::SeqCst))
        .detach();
    let r = ran.clone();
    drop(pool.spawn(move || r.fetch_add(1, Ordering::SeqCst)));
    wait_for(&pool, "two detached jobs", |s| s.completed == 3);
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}

#[test]
fn cap_is_respected() {
    const CAP: usize = 3;
    let pool = Pool::new(CAP);
    let running = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..40)
        .map(|_| {
            let (running, max_seen) = (running.clone(), max_seen.clone());
            pool.spawn(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                max_seen.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in handles {
        block_on(h).unwrap();
    }
    let max = max_seen.load(Ordering::SeqCst);
    assert!(max <= CAP, "{max} jobs ran at once with a cap of {CAP}");
    let s = pool.stats();
    assert!(s.threads <= CAP && s.threads_started <= 40, "{s:?}");
    wait_for(&pool, "40 completed jobs", |s| s.completed == 40);
}

#[test]
fn cap_is_reached_when_jobs_block() {
    const CAP: usize = 4;
    let pool = Pool::new(CAP);
    let barrier = Arc::new(Barrier::new(CAP + 1));
    let handles: Vec<_> = (0..CAP)
        .map(|_| {
            let b = barrier.clone();
            pool.spawn(move || {
                b.wait();
            })
        })
        .collect();
    // Only completes if CAP jobs run at once: the pool started CAP threads.
    barrier.wait();
    for h in handles {
        block_on(h).unwrap();
    }
    assert_eq!(pool.stats().threads_started, CAP as u64);
}

#[test]
fn threads_start_on_demand_and_idle_ones_are_reused() {
    let pool = Pool::builder().max_threads(8).build().unwrap();
    assert_eq!(pool.stats().threads, 0);
    for i in 0..20 {
        assert_eq!(block_on(pool.spawn(move || i)).unwrap(), i);
        // Sequential jobs: the one idle thread takes each next job.
        wait_for(&pool, "the thread to go idle", |s| s.idle == 1);
    }
    assert_eq!(pool.stats().threads_started, 1);
}

#[test]
fn idle_threads_exit_after_timeout() {
    let pool = Pool::builder()
        .max_threads(4)
        .idle_timeout(Duration::from_millis(20))
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let b = barrier.clone();
            pool.spawn(move || {
                b.wait();
            })
        })
        .collect();
    barrier.wait();
    for h in hs {
        block_on(h).unwrap();
    }
    assert_eq!(pool.stats().threads_started, 3);
    let s = wait_for(&pool, "idle threads to exit", |s| s.threads == 0);
    assert_eq!((s.idle, s.busy), (0, 0));
    // The pool starts threads again afterwards.
    assert_eq!(block_on(pool.spawn(|| 9)).unwrap(), 9);
}

#[test]
fn try_spawn_full_gives_closure_back() {
    let pool = Pool::builder()
        .max_threads(1)
        .queue_bound(Some(1))
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let blocker = pool.try_spawn(move || rx.recv().unwrap()).unwrap();
    wait_for(&pool, "the blocker to run", |s| s.busy == 1);
    // One job may wait...
    let queued = pool.try_spawn(|| 2).unwrap();
    // ...the next is refused, with its closure handed back.
    let err = pool.try_spawn(|| 3).unwrap_err();
    assert!(err.is_full() && !err.is_shutdown());
    assert!(err.to_string().contains("full"), "{err}");
    assert_eq!(format!("{err:?}"), "Full(..)");
    let f = err.into_inner();
    assert_eq!(f(), 3);
    // spawn ignores the bound.
    let forced = pool.spawn(|| 4);
    assert_eq!(pool.stats().queued, 2);
    tx.send(()).unwrap();
    block_on(blocker).unwrap();
    assert_eq!(block_on(queued).unwrap(), 2);
    assert_eq!(block_on(forced).unwrap(), 4);
}

#[test]
fn try_spawn_bound_zero_fails_only_when_no_thread_free() {
    let pool = Pool::builder()
        .max_threads(2)
        .queue_bound(Some(0))
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let mut hs = Vec::new();
    for _ in 0..2 {
        let rx = rx.clone();
        hs.push(
            pool.try_spawn(move || rx.lock().unwrap().recv().unwrap())
                .unwrap(),
        );
    }
    wait_for(&pool, "both to start", |s| s.threads == 2);
    assert!(matches!(pool.try_spawn(|| ()), Err(TrySpawnError::Full(_))));
    tx.send(()).unwrap();
    tx.send(()).unwrap();
    for h in hs {
        block_on(h).unwrap();
    }
    wait_for(&pool, "an idle thread", |s| s.idle >= 1);
    block_on(pool.try_spawn(|| ()).unwrap()).unwrap();
}

#[test]
fn build_errors() {
    let e = Pool::builder().max_threads(0).build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("max_threads is 0"), "{e}");
    let e = Pool::builder().thread_name("a\0b").build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let r = std::panic::catch_unwind(|| Pool::new(0));
    let p = r.unwrap_err();
    let msg = p
        .downcast_ref::<String>()
        .map(String::as_str)
        .or(p.downcast_ref::<&str>().copied());
    assert!(msg.unwrap().contains("at least one thread"));
}

#[test]
fn thread_name_is_applied() {
    let pool = Pool::builder().thread_name("my-pool").build().unwrap();
    let name = block_on(pool.spawn(|| std::thread::current().name().map(String::from)));
    assert_eq!(name.unwrap().as_deref(), Some("my-pool"));
}

#[test]
fn enter_nests_and_restores() {
    let a = Pool::new(1);
    let b = Pool::new(1);
    let global = Pool::current();
    assert!(!global.same_pool(&a));
    {
        let _ga = a.enter();
        assert!(Pool::current().same_pool(&a));
        {
            let _gb = b.enter();
            assert!(Pool::current().same_pool(&b));
            // spawn_blocking goes to the entered pool.
            block_on(spawn_blocking(|| ())).unwrap();
            wait_for(&b, "the job on b", |s| s.completed == 1);
        }
        assert!(Pool::current().same_pool(&a));
    }
    assert!(Pool::current().same_pool(&global));
    assert_eq!(a.stats().completed, 0);
}

#[test]
fn job_spawns_more_jobs_on_its_own_pool() {
    let pool = Pool::new(2);
    let p = pool.clone();
    let h = pool.spawn(move || {
        assert!(Pool::current().same_pool(&p));
        let inner = spawn_blocking(|| 21);
        // block_on inside a blocking job is allowed.
        block_on(inner).unwrap() * 2
    });
    assert_eq!(block_on(h).unwrap(), 42);
    wait_for(&pool, "two completed jobs", |s| s.completed == 2);
}

#[test]
fn single_thread_job_waiting_on_its_own_child_does_not_deadlock_with_room() {
    // With a cap of 1 a job that waits for a child would deadlock; with a
    // cap of 2 the child gets its own thread.
    let pool = Pool::new(2);
    let h = pool.spawn(|| block_on(unblock(|| 5)));
    assert_eq!(block_on(h).unwrap(), 5);
}

#[test]
fn pool_dropped_while_jobs_run() {
    let pool = Pool::new(1);
    let (tx, rx) = mpsc::channel::<()>();
    let h1 = pool.spawn(move || rx.recv().unwrap());
    let h2 = pool.spawn(|| 2);
    drop(pool);
    tx.send(()).unwrap();
    block_on(h1).unwrap();
    assert_eq!(block_on(h2).unwrap(), 2);
}

#[test]
fn many_jobs_from_many_threads() {
    let pool = Pool::new(4);
    let total = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (pool, total) = (&pool, &total);
            s.spawn(move || {
                let hs: Vec<_> = (0..250)
                    .map(|i| {
                        let t = total.clone();
                        pool.spawn(move || t.fetch_add(i, Ordering::Relaxed))
                    })
                    .collect();
                for h in hs {
                    block_on(h).unwrap();
                }
            });
        }
    });
    assert_eq!(total.load(Ordering::Relaxed), 4 * (0..250).sum::<usize>());
    wait_for(&pool, "1000 completed jobs", |s| s.completed == 1000);
}

#[test]
fn stats_and_debug() {
    let pool = Pool::new(3);
    let s = pool.stats();
    assert_eq!(s.max_threads, 3);
    assert_eq!(
        (s.threads, s.busy, s.idle, s.queued, s.completed),
        (0, 0, 0, 0, 0)
    );
    assert!(!s.shut_down && !pool.is_shut_down());
    assert!(format!("{pool:?}").contains("max_threads: 3"));
    let h = pool.spawn(|| ());
    assert!(format!("{h:?}").starts_with("JoinHandle"));
    block_on(h).unwrap();
    let u = pool.unblock(|| 1);
    assert!(format!("{u:?}").starts_with("UnblockFuture"));
    assert_eq!(block_on(u), 1);
    let guard = pool.enter();
    assert!(format!("{guard:?}").starts_with("EnterGuard"));
    drop(guard);
    let b = tulipa_blocking::Builder::new();
    let shown = format!("{b:?}");
    assert!(
        shown.contains("max_threads: 512") && shown.contains("tulipa-blocking"),
        "{shown}"
    );
    assert_eq!(tulipa_blocking::DEFAULT_MAX_THREADS, 512);
    assert_eq!(
        tulipa_blocking::DEFAULT_IDLE_TIMEOUT,
        Duration::from_secs(10)
    );
    assert_eq!(tulipa_blocking::DEFAULT_THREAD_NAME, "tulipa-blocking");
}

#[test]
fn zero_idle_timeout_threads_exit_as_soon_as_idle() {
    let pool = Pool::builder()
        .max_threads(2)
        .idle_timeout(Duration::ZERO)
        .build()
        .unwrap();
    for i in 0..50 {
        assert_eq!(block_on(pool.spawn(move || i)).unwrap(), i);
    }
    wait_for(&pool, "threads to exit", |s| s.threads == 0);
    assert_eq!(pool.stats().completed, 50);
}

#[test]
fn one_thread_runs_jobs_in_submission_order() {
    let pool = Pool::new(1);
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, rx) = mpsc::channel::<()>();
    let gate = pool.spawn(move || {
        started_tx.send(()).unwrap();
        rx.recv().unwrap()
    });
    started.recv().unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hs: Vec<_> = (0..20)
        .map(|i| {
            let order = order.clone();
            pool.spawn(move || order.lock().unwrap().push(i))
        })
        .collect();
    assert_eq!(pool.stats().queued, 20);
    release.send(()).unwrap();
    block_on(gate).unwrap();
    for h in hs {
        block_on(h).unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
}
