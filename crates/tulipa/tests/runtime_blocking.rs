//! The runtime's blocking pool: `spawn_blocking` / `unblock` use the pool of
//! the runtime they are called in, its cap comes from the builder, and
//! neither `shutdown_timeout` nor dropping the runtime hangs on a job.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tulipa::Runtime;

#[test]
fn spawn_blocking_runs_on_the_runtimes_pool() {
    for rt in [
        Runtime::builder().worker_threads(2).build().unwrap(),
        Runtime::builder().current_thread().build().unwrap(),
    ] {
        let name = rt.block_on(async {
            tulipa::spawn(async {
                tulipa::spawn_blocking(|| std::thread::current().name().map(str::to_owned))
                    .await
                    .unwrap()
            })
            .await
            .unwrap()
        });
        assert_eq!(name.as_deref(), Some("tulipa-blocking"));
        assert_eq!(rt.block_on(tulipa::unblock(|| 6 * 7)), 42);
        // Both jobs went through this runtime's pool, not the global one.
        assert!(rt.handle().blocking_pool().stats().threads >= 1);
    }
}

#[test]
fn max_blocking_threads_caps_concurrency_and_queues_the_rest() {
    let rt = Runtime::builder()
        .worker_threads(2)
        .max_blocking_threads(2)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let done = rt.block_on(async {
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                tulipa::spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        let mut done = 0;
        for j in jobs {
            j.await.unwrap();
            done += 1;
        }
        done
    });
    assert_eq!(done, 8);
    assert!(peak.load(Ordering::SeqCst) <= 2);
    assert!(rt.handle().blocking_pool().stats().threads <= 2);
}

#[test]
fn zero_blocking_threads_is_a_clear_error() {
    let err = Runtime::builder()
        .max_blocking_threads(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_threads"), "{err}");
}

#[test]
fn try_spawn_blocking_fails_fast_when_full() {
    let rt = Runtime::builder()
        .current_thread()
        .max_blocking_threads(1)
        .blocking_queue_bound(Some(0))
        .build()
        .unwrap();
    let (release, wait) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    rt.block_on(async move {
        let busy = tulipa::spawn_blocking(move || {
            started_tx.send(()).unwrap();
            wait.recv().unwrap();
        });
        started.recv().unwrap();
        let err = tulipa::try_spawn_blocking(|| 1).unwrap_err();
        assert!(err.is_full(), "{err}");
        let f = err.into_inner();
        assert_eq!(f(), 1); // the job came back, unrun
        release.send(()).unwrap();
        busy.await.unwrap();
    });
}

#[test]
fn shutdown_timeout_reports_a_blocking_job_left_running() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let (release, wait) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let job = rt.handle().spawn_blocking(move || {
        started_tx.send(()).unwrap();
        wait.recv().unwrap();
        5
    });
    started.recv().unwrap();
    let report = rt.shutdown_timeout(Duration::from_millis(20));
    assert_eq!(report.stuck_workers, 0);
    assert_eq!(report.blocking_jobs_left, 1);
    assert!(report.to_string().contains("1 blocking job"));
    // The job was not lost: it finishes in the background.
    release.send(()).unwrap();
    assert_eq!(tulipa::block_on(job).unwrap(), 5);
}

#[test]
fn dropping_the_runtime_does_not_wait_for_blocking_jobs() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let (release, wait) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let job = rt.handle().spawn_blocking(move || {
        started_tx.send(()).unwrap();
        wait.recv().unwrap();
        "finished"
    });
    started.recv().unwrap();
    drop(rt); // would deadlock here if drop waited for the job
    release.send(()).unwrap();
    assert_eq!(tulipa::block_on(job).unwrap(), "finished");
}

#[test]
fn block_on_is_allowed_inside_a_blocking_job() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let n = rt.block_on(async {
        tulipa::spawn_blocking(|| tulipa::block_on(async { 3 }))
            .await
            .unwrap()
    });
    assert_eq!(n, 3);
}
