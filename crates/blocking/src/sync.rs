//! The concurrency shim: std's `Mutex` and `Condvar` normally, loom's under
//! `--cfg tulipa_loom`, so the loom model of the scheduler core
//! (`sched.rs`) checks the real code (`cargo xtask loom`).

#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

#[cfg(tulipa_loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
