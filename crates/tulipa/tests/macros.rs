//! `#[tulipa::main]` and `#[tulipa::test]`: each option builds the runtime
//! it names, tests returning `Result` and `#[should_panic]` tests behave as
//! with `#[test]`, and mistakes are compile errors on the user's code
//! (`tests/ui/`, checked with trybuild).
#![cfg(feature = "macros")]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulipa::Handle;

/// The name of the thread a spawned task runs on.
async fn spawned_thread_name() -> String {
    tulipa::spawn(async { std::thread::current().name().unwrap_or("").to_string() })
        .await
        .unwrap()
}

#[tulipa::test]
async fn test_defaults_to_current_thread() {
    let here = std::thread::current().id();
    let there = tulipa::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_eq!(here, there, "a spawned task ran on another thread");
    assert!(!Handle::current().is_paused());
}

#[tulipa::test(flavor = "current_thread")]
async fn current_thread_flavor_runs_tasks_on_the_test_thread() {
    let here = std::thread::current().id();
    for _ in 0..8 {
        let there = tulipa::spawn(async { std::thread::current().id() })
            .await
            .unwrap();
        assert_eq!(here, there);
    }
}

#[tulipa::test(flavor = "multi_thread")]
async fn multi_thread_flavor_runs_tasks_on_workers() {
    let name = spawned_thread_name().await;
    assert!(name.starts_with("tulipa-worker-"), "ran on {name:?}");
    assert_ne!(std::thread::current().name(), Some(name.as_str()));
}

/// Three tasks meet, each on its own worker: the runtime has (at least)
/// three workers, and the workers' names say it has no more.
#[tulipa::test(flavor = "multi_thread", worker_threads = 3)]
async fn worker_threads_sets_the_worker_count() {
    let arrived = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let arrived = arrived.clone();
            tulipa::spawn(async move {
                arrived.fetch_add(1, Ordering::SeqCst);
                // Hold this worker until the other two tasks hold theirs;
                // bounded so a missing worker fails instead of hanging.
                for _ in 0..10_000 {
                    if arrived.load(Ordering::SeqCst) == 3 {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                (
                    arrived.load(Ordering::SeqCst),
                    std::thread::current().name().unwrap().to_string(),
                )
            })
        })
        .collect();
    let mut names = BTreeSet::new();
    for task in tasks {
        let (seen, name) = task.await.unwrap();
        assert_eq!(
            seen, 3,
            "three tasks never ran at once: fewer than 3 workers"
        );
        names.insert(name);
    }
    for _ in 0..32 {
        names.insert(spawned_thread_name().await);
    }
    let expected: BTreeSet<String> = (0..3).map(|i| format!("tulipa-worker-{i}")).collect();
    assert_eq!(names, expected);
}

#[tulipa::test(start_paused = true)]
async fn start_paused_runs_on_virtual_time() {
    let handle = Handle::current();
    assert!(handle.is_paused());
    let before = handle.time();
    tulipa::time::sleep(Duration::from_secs(3600)).await;
    assert!(handle.time() - before >= Duration::from_secs(3600));
}

#[tulipa::test(flavor = "multi_thread", worker_threads = 2, start_paused = true)]
async fn start_paused_on_multi_thread() {
    let handle = Handle::current();
    assert!(handle.is_paused());
    let before = handle.time();
    let slept = tulipa::spawn(async {
        tulipa::time::sleep(Duration::from_secs(60)).await;
        Handle::current().time()
    });
    assert!(slept.await.unwrap() - before >= Duration::from_secs(60));
    assert!(spawned_thread_name().await.starts_with("tulipa-worker-"));
}

#[tulipa::test(debug = true)]
async fn debug_true_turns_debug_mode_on() {
    assert!(Handle::current().is_debug());
}

#[tulipa::test(flavor = "multi_thread", debug = false)]
async fn debug_false_turns_debug_mode_off() {
    assert!(!Handle::current().is_debug());
}

#[tulipa::test]
async fn result_test_passes_on_ok() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "42".parse()?;
    assert_eq!(n, 42);
    Ok(())
}

/// `?` converts into the declared error type, as in a plain `async fn`.
#[tulipa::test(flavor = "multi_thread")]
async fn question_mark_converts_errors() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = "7".parse()?;
    let joined = tulipa::spawn(async move { n * 6 }).await?;
    assert_eq!(joined, 42);
    Ok(())
}

/// Fails on purpose; [`a_test_returning_err_fails`] calls it.
#[tulipa::test]
#[ignore = "fails on purpose: a_test_returning_err_fails calls it"]
async fn returns_err() -> Result<(), String> {
    tulipa::task::yield_now().await;
    Err("the body's error".to_string())
}

/// Fails on purpose; [`a_test_returning_err_fails`] calls it.
#[tulipa::test(flavor = "multi_thread")]
#[ignore = "fails on purpose: a_test_returning_err_fails calls it"]
async fn returns_err_multi_thread() -> Result<(), String> {
    let e = tulipa::spawn(async { "from a task".to_string() })
        .await
        .unwrap();
    Err(e)
}

/// The generated test function returns the body's `Err` to the harness,
/// which fails a test on `Err`.
#[test]
fn a_test_returning_err_fails() {
    assert_eq!(returns_err(), Err("the body's error".to_string()));
    assert_eq!(returns_err_multi_thread(), Err("from a task".to_string()));
}

#[tulipa::test]
#[should_panic(expected = "boom on current_thread")]
async fn should_panic_sees_the_body_panic() {
    tulipa::task::yield_now().await;
    panic!("boom on current_thread");
}

#[tulipa::test(flavor = "multi_thread")]
#[should_panic(expected = "boom on multi_thread")]
async fn should_panic_sees_the_body_panic_multi_thread() {
    tulipa::task::yield_now().await;
    panic!("boom on multi_thread");
}

mod renamed {
    use tulipa as my_tulipa;

    #[my_tulipa::test(crate = "my_tulipa", flavor = "multi_thread", worker_threads = 1)]
    async fn crate_option_names_the_facade() {
        let name = super::spawned_thread_name().await;
        assert_eq!(name, "tulipa-worker-0");
    }
}

/// `#[tulipa::main]` on another name is a function that runs its body on a
/// multi-thread runtime (the default) and returns its output.
#[tulipa::main]
async fn main_default() -> String {
    spawned_thread_name().await
}

#[tulipa::main(flavor = "current_thread", start_paused = true, debug = true)]
async fn main_options() -> (bool, bool, std::thread::ThreadId) {
    let handle = Handle::current();
    let id = tulipa::spawn(async { std::thread::current().id() })
        .await
        .unwrap();
    (handle.is_paused(), handle.is_debug(), id)
}

#[test]
fn main_defaults_to_multi_thread() {
    assert!(main_default().starts_with("tulipa-worker-"));
}

#[test]
fn main_options_apply() {
    let (paused, debug, id) = main_options();
    assert!(paused);
    assert!(debug);
    assert_eq!(id, std::thread::current().id());
}

/// Every mistake is a compile error naming it, on the user's tokens.
#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
