//! Cancelling tasks and watching them end (asyncio's `Task.cancel()`,
//! `add_done_callback`), on both runtime flavours (issue 13).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipa::task::TaskOutcome;
use tulipa::{Diagnostic, Runtime};

mod common;
use common::flavors;

/// Waits (bounded, yielding to the loop) until `f` holds.
async fn until(f: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if f() {
            return;
        }
        tulipa::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("condition never held");
}

#[test]
fn cancel_says_whether_it_had_an_effect() {
    for (current, rt) in [true, false].into_iter().zip(flavors()) {
        rt.block_on(async {
            let pending = tulipa::spawn(std::future::pending::<()>());
            assert!(pending.cancel(), "a running task can be cancelled");
            if current {
                // Nothing ran in between (on workers it may be done already).
                assert!(pending.cancel(), "asyncio: True again until it is done");
            }
            until(|| pending.is_finished()).await;
            assert!(!pending.cancel(), "asyncio: False once it is done");
            assert!(pending.await.unwrap_err().is_cancelled());

            let quick = tulipa::spawn(async { 5 });
            until(|| quick.is_finished()).await;
            assert!(!quick.cancel(), "a finished task cannot be cancelled");
            assert_eq!(quick.await.unwrap(), 5, "its result is kept");
        });
    }
}

#[test]
fn a_cloned_cancel_handle_cancels_from_another_thread() {
    for rt in flavors() {
        rt.block_on(async {
            let h = tulipa::spawn(std::future::pending::<()>());
            let c = h.cancel_handle();
            assert_eq!(c.id(), h.id());
            assert_eq!(c.info().location(), h.info().location());
            let c2 = c.clone();
            assert!(!c.is_finished());
            let from_thread = std::thread::spawn(move || c2.cancel()).join().unwrap();
            assert!(from_thread);
            assert!(h.await.unwrap_err().is_cancelled());
            assert!(c.is_finished());
            assert!(!c.cancel(), "done: no effect");

            let done = tulipa::spawn(async {});
            until(|| done.is_finished()).await;
            let late = done.cancel_handle();
            assert!(late.is_finished());
            assert!(!late.cancel());
            // Made after the end, it keeps the identity only.
            assert_eq!(late.id(), done.id());
            assert_eq!(late.info().name(), done.info().name());
            assert_eq!(format!("Task-{}", done.id()), late.info().name().unwrap());
            done.await.unwrap();
        });
    }
}

#[test]
fn done_callbacks_see_the_outcome_and_no_current_task() {
    for rt in flavors() {
        type Seen = Arc<Mutex<Vec<(&'static str, TaskOutcome, bool)>>>;
        let seen: Seen = Arc::default();
        let record = |what: &'static str, seen: &Seen| {
            let seen = seen.clone();
            move |o: &TaskOutcome| {
                let current = tulipa::task::current().is_some();
                seen.lock().unwrap().push((what, o.clone(), current));
            }
        };
        rt.block_on(async {
            let ok = tulipa::spawn(async { 1 });
            ok.add_done_callback(record("ok", &seen));
            assert_eq!(ok.await.unwrap(), 1);

            let cancelled = tulipa::spawn(std::future::pending::<()>());
            cancelled.add_done_callback(record("cancelled", &seen));
            cancelled.cancel();
            assert!(cancelled.await.unwrap_err().is_cancelled());

            let panics = tulipa::spawn(async { panic!("boom") });
            panics.add_done_callback(record("panicked", &seen));
            assert!(panics.await.unwrap_err().is_panic());

            // Added after the end: still runs, on the loop.
            let late = tulipa::spawn(async {});
            until(|| late.is_finished()).await;
            late.add_done_callback(record("late", &seen));
            late.await.unwrap();

            until(|| seen.lock().unwrap().len() == 4).await;
        });
        let seen = seen.lock().unwrap();
        let mut outcomes: Vec<_> = seen.iter().map(|(w, o, _)| (*w, o.clone())).collect();
        outcomes.sort_by_key(|(w, _)| *w);
        assert_eq!(
            outcomes,
            [
                ("cancelled", TaskOutcome::Cancelled),
                ("late", TaskOutcome::Returned),
                ("ok", TaskOutcome::Returned),
                ("panicked", TaskOutcome::Panicked("boom".into())),
            ]
        );
        assert!(seen.iter().all(|(_, _, current)| !current), "{seen:?}");
    }
}

/// Done callbacks are `call_soon` callbacks of the loop: they queue behind
/// callbacks scheduled before the task ended, and one added to a finished
/// task does not run inside `add_done_callback`.
#[test]
fn done_callbacks_run_on_the_loop_in_order() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let log: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    rt.block_on(async {
        let l = log.clone();
        let h = tulipa::spawn(async {});
        h.add_done_callback(move |_| l.lock().unwrap().push("done"));
        let l = log.clone();
        tulipa::Handle::current().call_soon(move || l.lock().unwrap().push("soon"));
        h.await.unwrap();
        until(|| log.lock().unwrap().len() == 2).await;
        assert_eq!(*log.lock().unwrap(), ["soon", "done"]);

        let h = tulipa::spawn(async {});
        until(|| h.is_finished()).await;
        let l = log.clone();
        h.add_done_callback(move |_| l.lock().unwrap().push("late"));
        assert_eq!(log.lock().unwrap().len(), 2, "not run synchronously");
        until(|| log.lock().unwrap().len() == 3).await;
        h.await.unwrap();
    });
}

#[test]
fn a_panicking_done_callback_is_reported_and_the_loop_goes_on() {
    for current in [true, false] {
        let reports: Arc<Mutex<Vec<Diagnostic>>> = Arc::default();
        let sink = reports.clone();
        let b = Runtime::builder().on_diagnostic(move |d| sink.lock().unwrap().push(d.clone()));
        let rt = if current {
            b.current_thread()
        } else {
            b.worker_threads(2)
        }
        .build()
        .unwrap();
        let after = Arc::new(Mutex::new(false));
        let line = rt.block_on(async {
            let h = tulipa::spawn(async {});
            let line = line!() + 1;
            h.add_done_callback(|_| panic!("callback bug"));
            let a = after.clone();
            h.add_done_callback(move |_| *a.lock().unwrap() = true);
            h.await.unwrap();
            until(|| *after.lock().unwrap()).await;
            // The runtime still runs tasks.
            tulipa::spawn(async { 3 }).await.unwrap();
            line
        });
        let reports = reports.lock().unwrap();
        let found = reports.iter().any(|d| {
            matches!(d, Diagnostic::CallbackPanic { location, message }
                if location.line() == line && message.contains("callback bug"))
        });
        assert!(found, "current={current}: {reports:?}");
    }
}
