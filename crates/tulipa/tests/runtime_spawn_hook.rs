//! The core spawn hook (`tulipa_core::spawn`) reaches the current runtime
//! from its workers and from inside `block_on`, on both flavours, and is
//! absent outside any runtime.

use std::sync::mpsc;

use tulipa::Runtime;

fn check(rt: Runtime) {
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    rt.block_on(async move {
        // From the thread inside block_on.
        tulipa_core::spawn::spawn(async move { tx.send("block_on").unwrap() }).unwrap();
        // From a worker (or the block_on thread, on a current-thread runtime).
        tulipa::spawn(async move {
            tulipa_core::spawn::spawn(async move { tx2.send("task").unwrap() }).unwrap();
        })
        .await
        .unwrap();
        // Let the detached work run (a current-thread runtime only runs it
        // inside block_on; workers would run it anyway).
        for _ in 0..100 {
            tulipa::task::yield_now().await;
        }
    });
    let mut got: Vec<_> = (0..2)
        .map(|_| rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, ["block_on", "task"]);
    assert!(tulipa_core::spawn::current().is_none());
}

#[test]
fn spawn_hook_multi_thread() {
    check(Runtime::builder().worker_threads(2).build().unwrap());
}

#[test]
fn spawn_hook_current_thread() {
    check(Runtime::builder().current_thread().build().unwrap());
}

#[test]
fn spawn_hook_absent_outside_runtime() {
    let err = tulipa_core::spawn::spawn(async {}).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("inside a runtime"));
}
