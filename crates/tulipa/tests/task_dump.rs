//! `Handle::dump`, on both runtime flavours: a deadlock on two mutexes and
//! a waiter nobody wakes show up as idle tasks with the await points of
//! this file's own lines; a task on a foreign future shows its last known
//! point, flagged; a task dumping itself is running; debug mode adds ages.

use std::panic::Location;
use std::sync::Arc;

use tulipa::sync::{Barrier, Event, Mutex};
use tulipa::task::{Dump, TaskDump, TaskState};
use tulipa::{Handle, Runtime};

fn runtime(current: bool, debug: bool) -> Runtime {
    let b = Runtime::builder().debug(debug);
    let b = if current {
        b.current_thread()
    } else {
        b.worker_threads(2)
    };
    b.build().unwrap()
}

fn flavours() -> [bool; 2] {
    [true, false]
}

fn named<'a>(dump: &'a Dump, name: &str) -> Option<&'a TaskDump> {
    dump.tasks().iter().find(|t| t.info().name() == Some(name))
}

/// Yields (bounded) inside `rt` until every named task is idle at a
/// recorded await point; returns the dump that showed it.
fn dump_when_idle(rt: &Runtime, names: &[&str]) -> Dump {
    let handle: Handle = rt.handle().clone();
    for _ in 0..10_000 {
        let dump = handle.dump();
        let settled = names.iter().all(|n| {
            named(&dump, n)
                .is_some_and(|t| t.state() == TaskState::Idle && t.await_point().is_some())
        });
        if settled {
            return dump;
        }
        rt.block_on(tulipa::task::yield_now());
    }
    panic!("the tasks {names:?} never settled:\n{}", handle.dump());
}

fn assert_waits_at(dump: &Dump, name: &str, file: &str, line: u32) {
    let task = named(dump, name).unwrap_or_else(|| panic!("no task {name} in\n{dump}"));
    let point = task.await_point().expect("an await point");
    assert_eq!(point.location().file(), file, "{dump}");
    assert_eq!(point.location().line(), line, "{dump}");
    assert!(!point.is_last_known(), "{dump}");
    let table = dump.to_string();
    assert!(
        table.contains(&format!("{file}:{line}:")),
        "the table names {file}:{line}:\n{table}"
    );
    assert!(table.contains(name), "the table names {name}:\n{table}");
}

#[test]
fn a_deadlock_on_two_mutexes_names_both_tasks_and_both_lock_lines() {
    let file = Location::caller().file();
    for current in flavours() {
        let rt = runtime(current, false);
        let a = Arc::new(Mutex::new(()));
        let b = Arc::new(Mutex::new(()));
        let both_hold_one = Arc::new(Barrier::new(2));
        let (a1, b1, bar1) = (a.clone(), b.clone(), both_hold_one.clone());
        let (a2, b2, bar2) = (a.clone(), b.clone(), both_hold_one.clone());
        let first_line = line!() + 6;
        let second_line = line!() + 13;
        let first = tulipa::task::Builder::new().name("first").spawn_on(
            async move {
                let _a = a1.lock().await;
                bar1.wait().await.unwrap();
                let _b = b1.lock().await;
            },
            rt.handle(),
        );
        let second = tulipa::task::Builder::new().name("second").spawn_on(
            async move {
                let _b = b2.lock().await;
                bar2.wait().await.unwrap();
                let _a = a2.lock().await;
            },
            rt.handle(),
        );
        let dump = dump_when_idle(&rt, &["first", "second"]);
        assert_waits_at(&dump, "first", file, first_line);
        assert_waits_at(&dump, "second", file, second_line);
        assert_eq!(dump.len(), 2, "only the two tasks:\n{dump}");
        assert!(!first.is_finished() && !second.is_finished());
        drop(rt);
    }
}

#[test]
fn a_waiter_nobody_wakes_is_named_with_its_wait_line() {
    let file = Location::caller().file();
    for current in flavours() {
        let rt = runtime(current, false);
        let never_set = Arc::new(Event::new());
        let ev = never_set.clone();
        let line = line!() + 3;
        let _forgotten = tulipa::task::Builder::new().name("forgotten").spawn_on(
            async move {
                ev.wait().await;
            },
            rt.handle(),
        );
        let dump = dump_when_idle(&rt, &["forgotten"]);
        assert_waits_at(&dump, "forgotten", file, line);
        let task = named(&dump, "forgotten").unwrap();
        assert!(task.polls() >= 1);
        // Without debug mode the clock is never read.
        assert_eq!((task.age(), task.idle_for()), (None, None));
    }
}

#[test]
fn a_foreign_future_keeps_the_last_known_point_flagged() {
    let file = Location::caller().file();
    for current in flavours() {
        let rt = runtime(current, false);
        let (tx, rx) = tulipa::channel::bounded::<u32>(1);
        let line = line!() + 3;
        let _task = tulipa::task::Builder::new().name("foreign").spawn_on(
            async move {
                let _ = rx.recv().await;
                std::future::pending::<()>().await;
            },
            rt.handle(),
        );
        let dump = dump_when_idle(&rt, &["foreign"]);
        assert_waits_at(&dump, "foreign", file, line);
        let polls = named(&dump, "foreign").unwrap().polls();
        tx.try_send(1).unwrap();
        let mut flagged = None;
        for _ in 0..10_000 {
            let dump = rt.handle().dump();
            let t = named(&dump, "foreign").unwrap();
            if t.polls() > polls && t.state() == TaskState::Idle {
                flagged = Some(dump);
                break;
            }
            rt.block_on(tulipa::task::yield_now());
        }
        let dump = flagged.expect("the task ran again");
        let point = named(&dump, "foreign").unwrap().await_point().unwrap();
        assert_eq!(point.location().line(), line);
        assert!(point.is_last_known(), "{dump}");
        assert!(dump.to_string().contains("last known"), "{dump}");
    }
}

#[test]
fn a_task_dumping_itself_is_running_and_debug_mode_adds_ages() {
    for current in flavours() {
        let rt = runtime(current, true);
        let handle = rt.handle().clone();
        let own = rt
            .block_on(tulipa::task::Builder::new().name("self").spawn_on(
                async move {
                    tulipa::task::yield_now().await;
                    let dump = handle.dump();
                    let me = named(&dump, "self").unwrap();
                    (
                        me.state(),
                        me.polls(),
                        me.age().is_some(),
                        me.idle_for().is_some(),
                    )
                },
                rt.handle(),
            ))
            .unwrap();
        // Polled twice so far; the first poll ended, so its end is known.
        assert_eq!(own, (TaskState::Running, 2, true, true));
    }
}
