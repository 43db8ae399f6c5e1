//! Helpers shared by the blocking pool's integration tests.
#![allow(dead_code)] // each test file uses the helpers it needs

use std::time::{Duration, Instant};

use tulipa_blocking::{Pool, PoolStats};

/// Polls `cond` on the pool's stats until it holds (every millisecond, for
/// at most 10 s) and returns the stats that satisfied it.
///
/// # Panics
///
/// Panics with `what` and the last stats if `cond` never held.
pub(crate) fn wait_for(pool: &Pool, what: &str, cond: impl Fn(&PoolStats) -> bool) -> PoolStats {
    let start = Instant::now();
    loop {
        let s = pool.stats();
        if cond(&s) {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
