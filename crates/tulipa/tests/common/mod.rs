//! Helpers shared by the facade's integration tests: the runtime flavours
//! every common test runs on.
#![allow(dead_code)] // each test file uses the helpers it needs

use tulipa::Runtime;

/// A current-thread runtime and a two-worker multi-thread runtime, on the
/// system clock.
pub(crate) fn flavors() -> Vec<Runtime> {
    vec![
        Runtime::builder().current_thread().build().unwrap(),
        Runtime::builder().worker_threads(2).build().unwrap(),
    ]
}

/// The same two flavours on virtual time (`start_paused(true)`): timers
/// fire in deadline order as soon as every task is idle.
pub(crate) fn paused() -> Vec<Runtime> {
    vec![
        Runtime::builder()
            .current_thread()
            .start_paused(true)
            .build()
            .unwrap(),
        Runtime::builder()
            .worker_threads(2)
            .start_paused(true)
            .build()
            .unwrap(),
    ]
}
