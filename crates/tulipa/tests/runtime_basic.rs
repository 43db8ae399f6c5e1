//! The runtime facade: building, block_on, spawn, handles, hooks, shutdown,
//! and the errors a user gets for bad input. Run on both flavours.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipa::{Handle, Runtime};

mod common;
use common::flavors;

#[test]
fn run_returns_the_output() {
    assert_eq!(tulipa::run(async { 40 + 2 }), 42);
}

#[test]
fn spawn_and_join_on_both_flavours() {
    for rt in flavors() {
        let sum = rt.block_on(async {
            let hs: Vec<_> = (0..50u64)
                .map(|i| tulipa::spawn(async move { i }))
                .collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, (0..50).sum::<u64>());
    }
}

#[test]
fn spawn_outside_a_runtime_panics_with_advice() {
    let err = std::panic::catch_unwind(|| drop(tulipa::spawn(async {}))).unwrap_err();
    let msg = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .unwrap_or_else(|| err.downcast_ref::<String>().cloned().unwrap());
    assert!(msg.contains("outside a tulipa runtime"), "{msg}");
    assert!(msg.contains("Handle"), "{msg}");
    let e = tulipa::try_spawn(async { 5 }).unwrap_err();
    assert!(e.to_string().contains("no tulipa runtime"));
    assert!(Handle::try_current().is_none());
}

#[test]
fn zero_worker_threads_is_a_clear_error() {
    let err = Runtime::builder().worker_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("worker_threads(0)"), "{err}");
}

#[test]
fn block_on_inside_a_runtime_panics() {
    for rt in flavors() {
        let res =
            rt.block_on(async { tulipa::spawn(async { tulipa::block_on(async { 1 }) }).await });
        let err = res.unwrap_err();
        assert!(err.is_panic());
        assert!(err.to_string().contains("spawn_blocking"), "{err}");
        // The runtime keeps working.
        assert_eq!(
            rt.block_on(async { tulipa::spawn(async { 2 }).await.unwrap() }),
            2
        );
    }
}

#[test]
fn handle_current_inside_tasks_and_workers() {
    for rt in flavors() {
        rt.block_on(async {
            assert!(Handle::try_current().is_some());
            let inner = tulipa::spawn(async { Handle::try_current().is_some() });
            assert!(inner.await.unwrap());
        });
        // Spawning through a handle from a plain thread works.
        let h = rt.handle().clone();
        let j = std::thread::spawn(move || h.spawn(async { 7 }))
            .join()
            .unwrap();
        assert_eq!(rt.block_on(j).unwrap(), 7);
    }
}

#[test]
fn thread_names_and_hooks() {
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let rt = Runtime::builder()
        .worker_threads(3)
        .thread_name("pool")
        .on_thread_start(move || {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let name = rt.block_on(async {
        tulipa::spawn(async { std::thread::current().name().unwrap().to_string() })
            .await
            .unwrap()
    });
    assert!(name.starts_with("pool-"), "{name}");
    drop(rt);
    assert_eq!(started.load(Ordering::SeqCst), 3);
    assert_eq!(stopped.load(Ordering::SeqCst), 3);
}

#[test]
fn dropping_the_runtime_cancels_what_is_left() {
    for rt in flavors() {
        let h = rt.spawn(futures_lite::future::pending::<()>());
        let h2 = rt.spawn(async {
            tulipa::time::sleep(Duration::from_secs(3600)).await;
        });
        rt.block_on(tulipa::task::yield_now());
        drop(rt);
        assert!(tulipa::block_on(h).unwrap_err().is_cancelled());
        assert!(tulipa::block_on(h2).unwrap_err().is_cancelled());
    }
}

#[test]
fn shutdown_timeout_reports_a_stuck_worker() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let _h = rt.spawn(async move {
        tx.send(()).unwrap();
        // A badly behaved task: blocks its worker.
        std::thread::sleep(Duration::from_millis(1500));
    });
    rx.recv().unwrap();
    let h = _h;
    let report = rt.shutdown_timeout(Duration::from_millis(50));
    assert_eq!(report.stuck_workers, 1);
    assert_eq!(report.blocking_jobs_left, 0);
    // Regression (review): once its poll returns, the stuck task is dropped
    // and its handle resolves (it used to be stranded in the worker's queue).
    let start = std::time::Instant::now();
    while !h.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "stuck task never dropped"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let res = tulipa::block_on(h);
    assert!(res.is_ok() || res.unwrap_err().is_cancelled());
}

/// Regression (review): dropping the runtime from inside one of its own
/// tasks stranded the other tasks in that worker's LIFO slot.
#[test]
fn dropping_the_runtime_inside_its_own_task_cancels_the_rest() {
    let rt = Arc::new(Runtime::builder().worker_threads(2).build().unwrap());
    let other = rt.spawn(futures_lite::future::pending::<()>());
    let rt2 = rt.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    rt.spawn(async move {
        tx.send(()).unwrap();
        drop(rt2);
    })
    .detach();
    rx.recv().unwrap();
    drop(rt);
    let start = std::time::Instant::now();
    while !other.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "task never cancelled"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(tulipa::block_on(other).unwrap_err().is_cancelled());
}

#[test]
fn task_names_and_listing() {
    for rt in flavors() {
        rt.block_on(async {
            let h = tulipa::task::Builder::new()
                .name("sleeper")
                .spawn(tulipa::time::sleep(Duration::from_secs(60)))
                .unwrap();
            tulipa::task::yield_now().await;
            let tasks = Handle::current().tasks();
            assert!(tasks
                .iter()
                .any(|t| t.name() == Some("sleeper") && t.id() == h.id()));
            h.cancel();
            assert!(h.await.unwrap_err().is_cancelled());
        });
    }
}

#[test]
fn spawn_local_in_runtime_block_on() {
    for rt in flavors() {
        let v = rt.block_on(async {
            let rc = std::rc::Rc::new(Mutex::new(1));
            let r = rc.clone();
            tulipa::spawn_local(async move {
                *r.lock().unwrap() += 1;
            })
            .await
            .unwrap();
            let v = *rc.lock().unwrap();
            v
        });
        assert_eq!(v, 2);
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Runtime>();
    send_sync::<Handle>();
    send_sync::<tulipa::CallbackHandle>();
    send_sync::<tulipa::task::Builder>();
    send_sync::<tulipa::task::CancelHandle>();
    send_sync::<tulipa::task::TaskOutcome>();
    send_sync::<tulipa::core::spawn::SpawnOptions>();
}

#[test]
fn spawn_location_is_the_callers_line() {
    for rt in flavors() {
        rt.block_on(async {
            let (a, la) = (tulipa::spawn(async {}), line!());
            let builder = tulipa::task::Builder::new().name("b");
            let (b, lb) = (builder.spawn(async {}).unwrap(), line!());
            let (c, lc) = (Handle::current().spawn(async {}), line!());
            for (h, l) in [(&a, la), (&b, lb), (&c, lc)] {
                assert_eq!(h.info().location().line(), l);
                assert!(h.info().location().file().ends_with("runtime_basic.rs"));
            }
        });
    }
}

#[test]
fn a_thread_start_hook_may_spawn() {
    let spawned = Arc::new(AtomicUsize::new(0));
    let s = spawned.clone();
    let rt = Runtime::builder()
        .worker_threads(2)
        .on_thread_start(move || {
            let s = s.clone();
            tulipa::spawn(async move {
                s.fetch_add(1, Ordering::SeqCst);
            })
            .detach();
        })
        .build()
        .unwrap();
    rt.block_on(async {
        while spawned.load(Ordering::SeqCst) < 2 {
            tulipa::task::yield_now().await;
        }
    });
}
