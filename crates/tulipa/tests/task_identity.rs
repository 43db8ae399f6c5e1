//! Who a task is: names, spawn locations, `task::current()` (asyncio's
//! `Task.get_name()`, `current_task()`), on both runtime flavours.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipa::task::{TaskId, TaskInfo};
use tulipa::{Diagnostic, Runtime};

mod common;
use common::flavors;

/// A library spawning through the runtime-agnostic hook (as a server does
/// per connection) names the task and records its user's call site.
#[test]
fn the_spawn_hook_records_a_given_name_and_location() {
    for rt in flavors() {
        let here: &'static Location<'static> = Location::caller();
        let seen = rt.block_on(async move {
            let (tx, rx) = tulipa::channel::oneshot::channel::<Option<TaskInfo>>();
            let options = tulipa::core::spawn::SpawnOptions::new()
                .name("conn 1")
                .location(here);
            tulipa::core::spawn::spawn_with(options, async move {
                let _ = tx.send(tulipa::task::current());
            })
            .unwrap();
            rx.await.unwrap()
        });
        let info = seen.expect("a task spawned through the hook is a task");
        assert_eq!(info.name(), Some("conn 1"));
        assert_eq!(info.location(), here);
    }
}

#[track_caller]
fn spawn_for_my_caller(name: &str) -> tulipa::JoinHandle<()> {
    tulipa::task::Builder::new()
        .name(Arc::<str>::from(name))
        .location(Location::caller())
        .spawn(async {})
        .unwrap()
}

#[test]
fn builder_location_replaces_the_spawn_call_site() {
    for rt in flavors() {
        rt.block_on(async {
            let line = line!() + 1;
            let h = spawn_for_my_caller("w");
            let info = h.info();
            assert_eq!(info.location().file(), file!());
            assert_eq!(info.location().line(), line);
            h.await.unwrap();
            // Without `location`, the Builder's own caller is recorded.
            let line = line!() + 1;
            let h = tulipa::task::Builder::new().spawn(async {}).unwrap();
            assert_eq!(h.info().location().line(), line);
            h.await.unwrap();
        });
    }
}

/// Issue 13: callbacks are not tasks. Inside `call_soon` / `call_later`
/// callbacks `task::current()` is `None` (it used to name the hidden runner).
#[test]
fn callbacks_see_no_current_task() {
    for rt in flavors() {
        let seen: Arc<Mutex<Vec<Option<TaskInfo>>>> = Arc::default();
        let (s1, s2) = (seen.clone(), seen.clone());
        rt.handle()
            .call_soon(move || s1.lock().unwrap().push(tulipa::task::current()));
        rt.handle().call_later(Duration::from_millis(1), move || {
            s2.lock().unwrap().push(tulipa::task::current())
        });
        rt.block_on(async {
            for _ in 0..10_000 {
                if seen.lock().unwrap().len() == 2 {
                    break;
                }
                tulipa::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(Option::is_none), "{seen:?}");
    }
}

/// Issue 13: the callback runner is hidden by identity, not by name: a user
/// task named like it stays listed and gets its slow polls reported.
#[test]
fn a_user_task_named_like_the_callback_runner_stays_visible() {
    for current in [true, false] {
        let reports: Arc<Mutex<Vec<Diagnostic>>> = Arc::default();
        let sink = reports.clone();
        let b = Runtime::builder()
            .debug(true)
            .slow_poll_threshold(Duration::from_millis(5))
            .on_diagnostic(move |d| sink.lock().unwrap().push(d.clone()));
        let rt = if current {
            b.current_thread()
        } else {
            b.worker_threads(2)
        }
        .build()
        .unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        // Starts the runtime's callback runner.
        rt.handle()
            .call_soon(move || r.store(true, Ordering::SeqCst));
        let listed = rt.block_on(async {
            for _ in 0..10_000 {
                if ran.load(Ordering::SeqCst) {
                    break;
                }
                tulipa::time::sleep(Duration::from_millis(1)).await;
            }
            assert!(ran.load(Ordering::SeqCst));
            let (tx, rx) = tulipa::channel::oneshot::channel::<()>();
            let h = tulipa::task::Builder::new()
                .name("tulipa-callbacks")
                .spawn(async move {
                    std::thread::sleep(Duration::from_millis(20));
                    let _ = rx.await;
                })
                .unwrap();
            let listed: Vec<String> = tulipa::Handle::current()
                .tasks()
                .iter()
                .map(|t| t.name().unwrap().to_owned())
                .collect();
            let _ = tx.send(());
            h.await.unwrap();
            listed
        });
        // The user's task, and nothing else (the runner stays hidden).
        assert_eq!(listed, ["tulipa-callbacks"], "current={current}");
        let reports = reports.lock().unwrap();
        let slow = reports
            .iter()
            .filter(|d| {
                matches!(d, Diagnostic::SlowPoll { task, .. }
                    if task.name() == Some("tulipa-callbacks"))
            })
            .count();
        assert_eq!(slow, 1, "current={current}: {reports:?}");
    }
}

/// Records, from a destructor, which task was current when it ran.
struct RecordCurrentOnDrop(Arc<Mutex<Vec<Option<TaskId>>>>);

impl Drop for RecordCurrentOnDrop {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap()
            .push(tulipa::task::current().map(|t| t.id()));
    }
}

/// Issue 13: a cancelled task's future is dropped as that task (asyncio
/// runs `finally:` inside the cancelled task).
#[test]
fn a_cancelled_task_is_dropped_as_itself() {
    for rt in flavors() {
        let seen: Arc<Mutex<Vec<Option<TaskId>>>> = Arc::default();
        let guard = RecordCurrentOnDrop(seen.clone());
        let id = rt.block_on(async move {
            let (tx, rx) = tulipa::channel::oneshot::channel::<()>();
            let h = tulipa::spawn(async move {
                let _guard = guard;
                let _ = tx.send(());
                std::future::pending::<()>().await;
            });
            rx.await.unwrap();
            h.cancel();
            let id = h.id();
            assert!(h.await.unwrap_err().is_cancelled());
            id
        });
        assert_eq!(*seen.lock().unwrap(), [Some(id)]);
    }
}

/// Issue 13: the same for tasks cancelled by the runtime's shutdown.
#[test]
fn a_task_dropped_at_shutdown_is_dropped_as_itself() {
    for rt in flavors() {
        let seen: Arc<Mutex<Vec<Option<TaskId>>>> = Arc::default();
        let guard = RecordCurrentOnDrop(seen.clone());
        let id = rt.block_on(async move {
            let (tx, rx) = tulipa::channel::oneshot::channel::<()>();
            let h = tulipa::spawn(async move {
                let _guard = guard;
                let _ = tx.send(());
                std::future::pending::<()>().await;
            });
            rx.await.unwrap();
            let id = h.id();
            h.detach();
            id
        });
        drop(rt);
        assert_eq!(*seen.lock().unwrap(), [Some(id)]);
    }
}

/// Issue 13: an unnamed task is `Task-N` (N its id) everywhere it is named.
#[test]
fn unnamed_tasks_are_called_task_n() {
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
        let (id, inside, listed) = rt.block_on(async {
            let (tx, rx) = tulipa::channel::oneshot::channel::<()>();
            let h = tulipa::spawn(async move {
                let me = tulipa::task::current().unwrap();
                let _ = rx.await;
                me.name().unwrap().to_owned()
            });
            let listed: Vec<String> = tulipa::Handle::current()
                .tasks()
                .iter()
                .map(|t| t.name().unwrap().to_owned())
                .collect();
            let _ = tx.send(());
            let id = h.id();
            (id, h.await.unwrap(), listed)
        });
        let expected = format!("Task-{id}");
        assert_eq!(inside, expected);
        assert_eq!(listed, std::slice::from_ref(&expected));
        // A report about an unnamed task names it.
        rt.block_on(async {
            let h = tulipa::spawn(async { panic!("boom") });
            let id = h.id();
            drop(h);
            for _ in 0..10_000 {
                if !reports.lock().unwrap().is_empty() {
                    break;
                }
                tulipa::time::sleep(Duration::from_millis(1)).await;
            }
            let reports = reports.lock().unwrap();
            let line = reports[0].to_string();
            assert!(line.contains(&format!("'Task-{id}'")), "{line}");
        });
    }
}
