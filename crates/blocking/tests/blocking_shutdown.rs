//! `shutdown_timeout`: counts, cancelled handles, refusals afterwards, a
//! job blocked on a channel, shutdown from inside a job; thread start
//! failure.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use tulipa_blocking::{Pool, TrySpawnError};

mod common;
use common::wait_for;

#[test]
fn clean_shutdown_runs_queued_jobs_and_returns_zero() {
    let pool = Pool::new(1);
    let ran = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..5)
        .map(|i| {
            let ran = ran.clone();
            pool.spawn(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    assert_eq!(pool.shutdown_timeout(Duration::from_secs(30)), 0);
    assert_eq!(ran.load(Ordering::SeqCst), 5);
    for (i, h) in hs.into_iter().enumerate() {
        assert_eq!(block_on(h).unwrap(), i);
    }
    assert!(pool.is_shut_down() && pool.stats().shut_down);
}

#[test]
fn shutdown_with_job_blocked_on_channel_does_not_hang() {
    let pool = Pool::builder()
        .max_threads(1)
        .idle_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel::<u32>();
    let blocked = pool.spawn(move || rx.recv().unwrap());
    wait_for(&pool, "the blocked job to start", |s| s.busy == 1);
    let queued_ran = Arc::new(AtomicBool::new(false));
    let q = queued_ran.clone();
    let queued1 = pool.spawn(move || q.store(true, Ordering::SeqCst));
    let queued2 = pool.spawn(|| 2);
    assert_eq!(pool.stats().queued, 2);

    // One running, two never started.
    assert_eq!(pool.shutdown_timeout(Duration::from_millis(20)), 3);
    let e = block_on(queued1).unwrap_err();
    assert!(e.is_cancelled(), "{e}");
    assert!(block_on(queued2).unwrap_err().is_cancelled());
    assert!(!queued_ran.load(Ordering::SeqCst));
    assert_eq!(pool.stats().queued, 0);

    // Work is refused now, with the closure handed back where possible.
    let refused = pool.spawn(|| 3);
    assert!(refused.is_finished());
    assert!(block_on(refused).unwrap_err().is_cancelled());
    match pool.try_spawn(|| 4) {
        Err(TrySpawnError::Shutdown(f)) => assert_eq!(f(), 4),
        other => panic!("expected Shutdown, got {:?}", other.map(|_| ())),
    }
    let e = pool.try_spawn(|| ()).unwrap_err();
    assert!(
        e.is_shutdown() && e.to_string().contains("shut down"),
        "{e}"
    );
    let r = std::panic::catch_unwind(|| block_on(pool.unblock(|| 5)));
    let p = r.unwrap_err();
    let msg = p.downcast_ref::<String>().unwrap();
    assert!(msg.contains("shut down"), "{msg}");

    // A second call counts what still runs.
    assert_eq!(pool.shutdown_timeout(Duration::ZERO), 1);

    // The running job was not interrupted: release it and it finishes.
    tx.send(7).unwrap();
    assert_eq!(block_on(blocked).unwrap(), 7);
    wait_for(&pool, "the last thread to exit", |s| s.threads == 0);
    assert_eq!(pool.shutdown_timeout(Duration::ZERO), 0);
}

#[test]
fn shutdown_makes_idle_threads_exit() {
    let pool = Pool::builder()
        .max_threads(4)
        .idle_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let barrier = Arc::new(std::sync::Barrier::new(4));
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
    wait_for(&pool, "three idle threads", |s| s.idle == 3);
    assert_eq!(pool.shutdown_timeout(Duration::from_secs(30)), 0);
    // The idle timeout is an hour: only shutdown can make them exit.
    wait_for(&pool, "idle threads to exit", |s| s.threads == 0);
}

#[test]
fn shutdown_from_inside_a_job_does_not_wait_for_itself() {
    let pool = Pool::new(2);
    let p = pool.clone();
    let h = pool.spawn(move || {
        let n = p.shutdown_timeout(Duration::from_secs(30));
        // Jobs spawned by a job after shutdown are refused.
        let child = p.spawn(|| ());
        (n, block_on(child).unwrap_err().is_cancelled())
    });
    assert_eq!(block_on(h).unwrap(), (0, true));
}

#[test]
fn shutdown_from_inside_a_job_with_queued_work_and_no_other_thread() {
    let pool = Pool::new(1);
    let p = pool.clone();
    let (tx, rx) = mpsc::channel::<tulipa_blocking::JoinHandle<u8>>();
    let h = pool.spawn(move || {
        let queued = rx.recv().unwrap();
        // Nobody else can run the queued job: it is cancelled at once
        // rather than waited for.
        let n = p.shutdown_timeout(Duration::from_secs(30));
        (n, block_on(queued).unwrap_err().is_cancelled())
    });
    wait_for(&pool, "the first job to run", |s| s.busy == 1);
    tx.send(pool.spawn(|| 1)).unwrap();
    assert_eq!(block_on(h).unwrap(), (1, true));
}

#[test]
fn zero_timeout_returns_at_once_with_counts() {
    let pool = Pool::new(1);
    let (tx, rx) = mpsc::channel::<()>();
    let h = pool.spawn(move || rx.recv().unwrap());
    wait_for(&pool, "the job to run", |s| s.busy == 1);
    assert_eq!(pool.shutdown_timeout(Duration::ZERO), 1);
    tx.send(()).unwrap();
    block_on(h).unwrap();
}

#[test]
fn thread_start_failure_fails_the_job_through_its_handle() {
    // No system can map a 256 TiB stack: starting the thread fails.
    let pool = Pool::builder().stack_size(1 << 48).build().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = pool.spawn(move || r.store(true, Ordering::SeqCst));
    assert!(h.is_finished());
    let e = block_on(h).unwrap_err();
    assert!(e.is_panic(), "{e}");
    assert!(e.to_string().contains("could not start a thread"), "{e}");
    assert!(!ran.load(Ordering::SeqCst));
    let s = pool.stats();
    assert_eq!((s.threads, s.queued, s.threads_started), (0, 0, 0));
    // unblock re-raises it as a panic in the awaiter.
    let r = std::panic::catch_unwind(|| block_on(pool.unblock(|| 1)));
    let p = r.unwrap_err();
    assert!(p
        .downcast_ref::<String>()
        .unwrap()
        .contains("could not start a thread"));
    // try_spawn reports it the same way (through the handle).
    let h = pool.try_spawn(|| 1).unwrap_or_else(|e| panic!("{e}"));
    assert!(block_on(h).unwrap_err().is_panic());
}

#[test]
fn cancel_a_queued_job() {
    let pool = Pool::new(1);
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, rx) = mpsc::channel::<()>();
    let busy = pool.spawn(move || {
        started_tx.send(()).unwrap();
        rx.recv().unwrap()
    });
    started.recv().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let queued = pool.spawn(move || r.store(true, Ordering::SeqCst));
    let other = pool.spawn(|| 5);
    assert!(!queued.is_finished());
    assert!(queued.cancel());
    assert!(!queued.cancel(), "a second cancel reports nothing new");
    // Known at once, before any thread reaches the job.
    assert!(queued.is_finished());
    let id = queued.id();
    let e = block_on(queued).unwrap_err();
    assert!(e.is_cancelled() && e.id() == id, "{e}");
    // A running job is not cancelled.
    assert!(!busy.cancel());
    release.send(()).unwrap();
    block_on(busy).unwrap();
    assert_eq!(block_on(other).unwrap(), 5);
    assert!(
        !ran.load(Ordering::SeqCst),
        "a cancelled closure never runs"
    );
    // The cancelled job was disposed of, not counted as completed.
    let s = wait_for(&pool, "the queue to drain", |s| {
        s.queued == 0 && s.busy == 0
    });
    assert_eq!(s.completed, 2);
}

#[test]
fn cancel_after_finish_keeps_the_result() {
    let pool = Pool::new(1);
    let h = pool.spawn(|| 3);
    let start = Instant::now();
    while !h.is_finished() {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::yield_now();
    }
    assert!(!h.cancel());
    assert_eq!(block_on(h).unwrap(), 3);
}

#[test]
fn cancelled_closure_is_dropped_on_the_pool() {
    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let pool = Pool::new(1);
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, rx) = mpsc::channel::<()>();
    let busy = pool.spawn(move || {
        started_tx.send(()).unwrap();
        rx.recv().unwrap()
    });
    started.recv().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = Flag(dropped.clone());
    let queued = pool.spawn(move || drop(flag));
    assert!(queued.cancel());
    drop(queued);
    assert!(
        !dropped.load(Ordering::SeqCst),
        "still queued behind the busy job"
    );
    release.send(()).unwrap();
    block_on(busy).unwrap();
    let start = Instant::now();
    while !dropped.load(Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the closure was never dropped"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Regression: the closure of a job refused by a shut-down pool is dropped
/// by `spawn_blocking`; its destructor may enter a pool, which must not
/// collide with the lookup of the current pool.
#[test]
fn refused_closure_may_enter_a_pool_when_dropped() {
    struct EntersOnDrop(Pool, Arc<AtomicBool>);
    impl Drop for EntersOnDrop {
        fn drop(&mut self) {
            let _guard = self.0.enter();
            self.1.store(true, Ordering::SeqCst);
        }
    }
    let pool = Pool::new(1);
    assert_eq!(pool.shutdown_timeout(Duration::ZERO), 0);
    let _entered = pool.enter();
    let dropped = Arc::new(AtomicBool::new(false));
    let guest = EntersOnDrop(Pool::new(1), dropped.clone());
    let h = tulipa_blocking::spawn_blocking(move || drop(guest));
    assert!(dropped.load(Ordering::SeqCst));
    assert!(block_on(h).unwrap_err().is_cancelled());
    let guest = EntersOnDrop(Pool::new(1), Arc::new(AtomicBool::new(false)));
    let e = tulipa_blocking::try_spawn_blocking(move || drop(guest)).unwrap_err();
    assert!(e.is_shutdown());
    drop(e);
}
