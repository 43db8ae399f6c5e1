//! Debug mode and the unhandled-panic policy, on both runtime flavours:
//! slow polls, stuck polls seen while they run, slow callbacks, panics
//! nobody retrieved (reported exactly once), and each `PanicPolicy`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tulipa::{Builder, Diagnostic, PanicPolicy, Runtime};

type Reports = Arc<Mutex<Vec<Diagnostic>>>;

fn runtime(current: bool, f: impl FnOnce(Builder) -> Builder) -> (Runtime, Reports) {
    let reports: Reports = Arc::default();
    let sink = reports.clone();
    let mut b = Runtime::builder().on_diagnostic(move |d| sink.lock().unwrap().push(d.clone()));
    b = if current {
        b.current_thread()
    } else {
        b.worker_threads(2)
    };
    (f(b).build().unwrap(), reports)
}

fn flavours() -> [bool; 2] {
    [true, false]
}

fn count(reports: &Reports, pred: impl Fn(&Diagnostic) -> bool) -> usize {
    reports.lock().unwrap().iter().filter(|d| pred(d)).count()
}

/// Waits (bounded) until `pred` holds for some report; returns whether it did.
fn wait_for(reports: &Reports, pred: impl Fn(&Diagnostic) -> bool) -> bool {
    for _ in 0..1000 {
        if count(reports, &pred) > 0 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

fn is_unhandled(d: &Diagnostic, name: &str) -> bool {
    matches!(d, Diagnostic::UnhandledPanic { task, .. } if task.name() == Some(name))
}

#[test]
fn slow_poll_is_reported_with_name_location_and_duration() {
    for current in flavours() {
        let (rt, reports) = runtime(current, |b| {
            b.debug(true).slow_poll_threshold(Duration::from_millis(20))
        });
        rt.block_on(async {
            tulipa::task::Builder::new()
                .name("hog")
                .spawn(async { std::thread::sleep(Duration::from_millis(40)) })
                .unwrap()
                .await
                .unwrap();
            tulipa::task::Builder::new()
                .name("quick")
                .spawn(async {})
                .unwrap()
                .await
                .unwrap();
        });
        let reports = reports.lock().unwrap();
        let slow: Vec<_> = reports
            .iter()
            .filter_map(|d| match d {
                Diagnostic::SlowPoll { task, duration, .. } => Some((task.clone(), *duration)),
                _ => None,
            })
            .collect();
        assert_eq!(slow.len(), 1, "current={current}: {reports:?}");
        let (task, duration) = &slow[0];
        assert_eq!(task.name(), Some("hog"));
        assert!(task.location().file().ends_with("runtime_debug.rs"));
        assert!(*duration >= Duration::from_millis(40));
        let line = reports
            .iter()
            .find(|d| matches!(d, Diagnostic::SlowPoll { .. }))
            .unwrap()
            .to_string();
        assert!(
            line.contains("'hog'") && line.contains("runtime_debug.rs"),
            "{line}"
        );
    }
}

#[test]
fn debug_off_reports_no_slow_poll() {
    for current in flavours() {
        let (rt, reports) = runtime(current, |b| {
            b.debug(false).slow_poll_threshold(Duration::from_millis(1))
        });
        rt.block_on(async {
            tulipa::spawn(async { std::thread::sleep(Duration::from_millis(5)) })
                .await
                .unwrap();
        });
        assert_eq!(count(&reports, |_| true), 0);
    }
}

#[test]
fn stuck_poll_is_reported_while_it_runs_and_the_other_worker_keeps_timers_going() {
    let (rt, reports) = runtime(false, |b| {
        b.debug(true).slow_poll_threshold(Duration::from_millis(30))
    });
    let (release, blocked) = mpsc::channel::<()>();
    let stuck = tulipa::task::Builder::new().name("stuck").spawn_on(
        async move {
            // Blocks its worker until released: the poll never returns
            // on its own.
            blocked.recv().unwrap();
        },
        rt.handle(),
    );
    let seen = reports.clone();
    let released = rt.block_on(async move {
        // Timers keep firing on the other worker (and this thread) while
        // one worker is stuck; wait, bounded, for the watchdog's report.
        for _ in 0..1000 {
            let found = seen.lock().unwrap().iter().any(
                |d| matches!(d, Diagnostic::StuckPoll { task, .. } if task.name() == Some("stuck")),
            );
            if found {
                release.send(()).unwrap();
                return true;
            }
            tulipa::time::sleep(Duration::from_millis(5)).await;
        }
        release.send(()).unwrap();
        false
    });
    assert!(
        released,
        "no stuck-poll report: {:?}",
        reports.lock().unwrap()
    );
    rt.block_on(stuck).unwrap();
    let reports = reports.lock().unwrap();
    let d = reports
        .iter()
        .find(|d| matches!(d, Diagnostic::StuckPoll { .. }))
        .unwrap();
    let Diagnostic::StuckPoll { thread, .. } = d else {
        unreachable!()
    };
    assert!(thread.starts_with("tulipa-worker-"), "{thread}");
    // Reported once per poll, while running; the poll's end then also
    // counts as a slow poll.
    assert_eq!(
        reports
            .iter()
            .filter(|d| matches!(d, Diagnostic::StuckPoll { .. }))
            .count(),
        1
    );
    assert!(reports
        .iter()
        .any(|d| matches!(d, Diagnostic::SlowPoll { .. })));
}

#[test]
fn slow_callback_is_reported_with_its_location() {
    for current in flavours() {
        let (rt, reports) = runtime(current, |b| {
            b.debug(true).slow_poll_threshold(Duration::from_millis(20))
        });
        rt.block_on(async {
            let (tx, rx) = mpsc::channel();
            tulipa::Handle::current().call_soon(move || {
                std::thread::sleep(Duration::from_millis(30));
                tx.send(()).unwrap();
            });
            for _ in 0..1000 {
                if rx.try_recv().is_ok() {
                    break;
                }
                tulipa::time::sleep(Duration::from_millis(2)).await;
            }
        });
        let reports = reports.lock().unwrap();
        let cb: Vec<_> = reports
            .iter()
            .filter_map(|d| match d {
                Diagnostic::SlowCallback { location, .. } => Some(*location),
                _ => None,
            })
            .collect();
        assert_eq!(cb.len(), 1, "{reports:?}");
        assert!(cb[0].file().ends_with("runtime_debug.rs"));
        // The callback runner's own slow poll is not reported on top.
        assert!(!reports
            .iter()
            .any(|d| matches!(d, Diagnostic::SlowPoll { .. })));
    }
}

#[test]
fn detached_task_panic_is_reported_once() {
    for current in flavours() {
        let (rt, reports) = runtime(current, |b| b);
        rt.block_on(async {
            tulipa::task::Builder::new()
                .name("lost")
                .spawn(async { panic!("boom") })
                .unwrap()
                .detach();
            for _ in 0..10 {
                tulipa::task::yield_now().await;
            }
        });
        assert!(wait_for(&reports, |d| is_unhandled(d, "lost")));
        let reports = reports.lock().unwrap();
        assert_eq!(
            reports.iter().filter(|d| is_unhandled(d, "lost")).count(),
            1
        );
        let line = reports[0].to_string();
        assert!(
            line.contains("boom") && line.contains("runtime_debug.rs"),
            "{line}"
        );
    }
}

#[test]
fn handle_dropped_after_the_panic_reports_once_and_awaited_one_never() {
    for current in flavours() {
        let (rt, reports) = runtime(current, |b| b);
        rt.block_on(async {
            let dropped = tulipa::task::Builder::new()
                .name("dropped")
                .spawn(async { panic!("never retrieved") })
                .unwrap();
            let awaited = tulipa::task::Builder::new()
                .name("awaited")
                .spawn(async { panic!("retrieved") })
                .unwrap();
            let cancelled = tulipa::task::Builder::new()
                .name("cancelled")
                .spawn(std::future::pending::<()>())
                .unwrap();
            while !dropped.is_finished() {
                tulipa::task::yield_now().await;
            }
            assert_eq!(count(&reports, |_| true), 0, "reported before the drop");
            drop(dropped);
            assert!(awaited.await.unwrap_err().is_panic());
            cancelled.cancel();
            assert!(cancelled.await.unwrap_err().is_cancelled());
        });
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(is_unhandled(&reports[0], "dropped"));
    }
}

#[test]
fn ignore_policy_reports_nothing() {
    for current in flavours() {
        let (rt, reports) = runtime(current, |b| b.unhandled_panic(PanicPolicy::Ignore));
        rt.block_on(async {
            let h = tulipa::spawn(async { panic!("ignored") });
            while !h.is_finished() {
                tulipa::task::yield_now().await;
            }
        });
        assert_eq!(count(&reports, |_| true), 0);
    }
}

#[test]
fn shutdown_runtime_policy_makes_block_on_panic() {
    for current in flavours() {
        let (rt, reports) = runtime(current, |b| b.unhandled_panic(PanicPolicy::ShutdownRuntime));
        let finished = Arc::new(AtomicBool::new(false));
        let f = finished.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async move {
                tulipa::task::Builder::new()
                    .name("fatal")
                    .spawn(async { panic!("fatal") })
                    .unwrap()
                    .detach();
                // Would wait forever: the shutdown request wakes block_on.
                std::future::pending::<()>().await;
                f.store(true, Ordering::SeqCst);
            })
        }));
        let err = result.unwrap_err();
        let msg = err
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap();
        assert!(msg.contains("ShutdownRuntime"), "{msg}");
        assert!(!finished.load(Ordering::SeqCst));
        assert_eq!(count(&reports, |d| is_unhandled(d, "fatal")), 1);
        // Any later block_on panics too.
        let again =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(async {})));
        assert!(again.is_err());
    }
}

/// Runs this test binary again, filtered to one test, with `env` set.
fn rerun(test: &str, env: (&str, &str)) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(env.0, env.1)
        .output()
        .unwrap()
}

#[test]
fn abort_policy_aborts_the_process() {
    if std::env::var_os("TULIPA_TEST_ABORT_CHILD").is_some() {
        let rt = Runtime::builder()
            .current_thread()
            .unhandled_panic(PanicPolicy::Abort)
            .build()
            .unwrap();
        rt.block_on(async {
            tulipa::task::Builder::new()
                .name("doomed")
                .spawn(async { panic!("doomed") })
                .unwrap()
                .detach();
            for _ in 0..10 {
                tulipa::task::yield_now().await;
            }
        });
        // Only reached if the policy did not abort.
        std::process::exit(0);
    }
    let out = rerun(
        "abort_policy_aborts_the_process",
        ("TULIPA_TEST_ABORT_CHILD", "1"),
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(6), "{:?}", out.status); // SIGABRT
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'doomed'") && stderr.contains("PanicPolicy::Abort"),
        "{stderr}"
    );
}

#[test]
fn tulipa_debug_env_turns_debug_mode_on() {
    if std::env::var_os("TULIPA_TEST_ENV_CHILD").is_some() {
        // Unset on the builder: the environment decides.
        let rt = Runtime::builder()
            .current_thread()
            .slow_poll_threshold(Duration::from_millis(5))
            .build()
            .unwrap();
        rt.block_on(async {
            tulipa::task::Builder::new()
                .name("env-hog")
                .spawn(async { std::thread::sleep(Duration::from_millis(20)) })
                .unwrap()
                .await
                .unwrap();
        });
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "tulipa_debug_env_turns_debug_mode_on",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TULIPA_TEST_ENV_CHILD", "1")
        .env("TULIPA_DEBUG", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("slow poll") && stderr.contains("'env-hog'"),
        "{stderr}"
    );
}

#[test]
fn a_panicking_reporter_never_unwinds_into_the_runtime() {
    for current in flavours() {
        let rt = {
            let b = Runtime::builder()
                .debug(true)
                .slow_poll_threshold(Duration::from_millis(5))
                .on_diagnostic(|d| panic!("reporter failed on {d}"));
            if current {
                b.current_thread()
            } else {
                b.worker_threads(2)
            }
        }
        .build()
        .unwrap();
        let out = rt.block_on(async {
            // A slow poll and an unhandled panic, both reported.
            tulipa::spawn(async { std::thread::sleep(Duration::from_millis(10)) })
                .await
                .unwrap();
            let h = tulipa::spawn(async { panic!("lost") });
            while !h.is_finished() {
                tulipa::task::yield_now().await;
            }
            drop(h);
            tulipa::spawn(async { 7 }).await.unwrap()
        });
        assert_eq!(out, 7, "current={current}");
    }
}

#[test]
fn local_tasks_follow_the_runtimes_diagnostics() {
    for current in flavours() {
        let (rt, reports) = runtime(current, |b| {
            b.debug(true).slow_poll_threshold(Duration::from_millis(5))
        });
        rt.block_on(async {
            tulipa::task::Builder::new()
                .name("local-slow")
                .spawn_local(async { std::thread::sleep(Duration::from_millis(10)) })
                .unwrap()
                .await
                .unwrap();
            let h = tulipa::task::Builder::new()
                .name("local-lost")
                .spawn_local(async { panic!("local boom") })
                .unwrap();
            while !h.is_finished() {
                tulipa::task::yield_now().await;
            }
            drop(h);
        });
        // (The panicking task's poll may be slow too: printing a panic
        // with a backtrace takes time. Only the sleeper is counted.)
        assert_eq!(
            count(&reports, |d| matches!(
                d,
                Diagnostic::SlowPoll { task, .. } if task.name() == Some("local-slow")
            )),
            1
        );
        assert_eq!(count(&reports, |d| is_unhandled(d, "local-lost")), 1);
    }
    // Outside any runtime, the global defaults apply again (no reporter
    // of ours sees anything).
}

#[test]
fn a_panicking_callback_goes_to_the_reporter() {
    for current in flavours() {
        let (rt, reports) = runtime(current, |b| b);
        rt.block_on(async {
            tulipa::Handle::current().call_soon(|| panic!("callback boom"));
            let (tx, rx) = mpsc::channel();
            tulipa::Handle::current().call_soon(move || tx.send(()).unwrap());
            for _ in 0..1000 {
                if rx.try_recv().is_ok() {
                    break;
                }
                tulipa::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        match &reports[0] {
            Diagnostic::CallbackPanic { location, message } => {
                assert!(location.file().ends_with("runtime_debug.rs"));
                assert_eq!(message, "callback boom");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn shutdown_timeout_accepts_duration_max() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {});
    let report = rt.shutdown_timeout(Duration::MAX);
    assert_eq!(report.stuck_workers, 0);
    assert_eq!(report.blocking_jobs_left, 0);
}
