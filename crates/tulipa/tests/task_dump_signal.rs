//! `Builder::dump_on_signal`: a `SIGQUIT` raised in the process makes each
//! runtime report a task dump to its `on_diagnostic` hook, naming the
//! waiting task and this file's line; on both runtime flavours.

use std::panic::Location;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipa::signal::{raise, SIGQUIT};
use tulipa::sync::Event;
use tulipa::task::TaskState;
use tulipa::{Diagnostic, Runtime};

#[test]
fn sigquit_reports_a_dump_naming_the_waiting_task_and_line() {
    let file = Location::caller().file();
    let dumps: Arc<Mutex<Vec<Diagnostic>>> = Arc::default();
    let mut runtimes = Vec::new();
    let mut lines = Vec::new();
    for current in [true, false] {
        let sink = dumps.clone();
        let b = Runtime::builder()
            .dump_on_signal(true)
            .on_diagnostic(move |d| sink.lock().unwrap().push(d.clone()));
        let b = if current {
            b.current_thread()
        } else {
            b.worker_threads(2)
        };
        let rt = b.build().unwrap();
        let never = Arc::new(Event::new());
        let ev = never.clone();
        let name = if current {
            "stuck-current"
        } else {
            "stuck-multi"
        };
        lines.push((name, line!() + 3));
        let task = tulipa::task::Builder::new().name(name).spawn_on(
            async move {
                ev.wait().await;
            },
            rt.handle(),
        );
        // Bounded: until the task waits at its line.
        for _ in 0..10_000 {
            let dump = rt.handle().dump();
            if dump
                .tasks()
                .iter()
                .any(|t| t.state() == TaskState::Idle && t.await_point().is_some())
            {
                break;
            }
            rt.block_on(tulipa::task::yield_now());
        }
        // The listening task is the runtime's, not the user's.
        assert_eq!(rt.handle().dump().len(), 1, "{}", rt.handle().dump());
        runtimes.push((rt, task, never));
    }
    raise(SIGQUIT).unwrap();
    // The current-thread runtime answers while a thread is in its block_on:
    // poll it (bounded) until both runtimes have reported.
    let (current_rt, _, _) = &runtimes[0];
    for _ in 0..2_000 {
        if dumps.lock().unwrap().len() >= 2 {
            break;
        }
        current_rt.block_on(tulipa::time::sleep(Duration::from_millis(5)));
    }
    let dumps = dumps.lock().unwrap();
    assert_eq!(dumps.len(), 2, "one dump per runtime: {dumps:?}");
    for (name, line) in lines {
        let found = dumps.iter().any(|d| match d {
            Diagnostic::TaskDump { dump, trigger } => {
                *trigger == "SIGQUIT"
                    && dump.tasks().iter().any(|t| {
                        t.info().name() == Some(name)
                            && t.await_point().is_some_and(|p| {
                                p.location().file() == file && p.location().line() == line
                            })
                    })
                    && d.to_string().contains(&format!("{file}:{line}:"))
            }
            _ => false,
        });
        assert!(found, "a dump names {name} at {file}:{line}: {dumps:?}");
    }
}
