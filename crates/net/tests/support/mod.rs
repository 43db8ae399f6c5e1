//! Helpers shared by the protocol tests: both runtime flavours, and a
//! bounded wait for a condition.

// Each test file uses what it needs of these.
#![allow(dead_code)]

use std::time::Duration;

/// A current-thread and a two-worker multi-thread runtime: the tests run
/// on each.
pub(crate) fn runtimes() -> [tulipa::Runtime; 2] {
    [
        tulipa::Runtime::builder().current_thread().build().unwrap(),
        tulipa::Runtime::builder()
            .multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ]
}

/// Waits until `cond` holds, checking every millisecond, at most 10,000
/// times. Sleeping (not yielding) lets a current-thread runtime poll the
/// reactor in between.
pub(crate) async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tulipa::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("gave up waiting until {what}");
}
