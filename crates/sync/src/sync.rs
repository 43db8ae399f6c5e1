//! The concurrency shim: std atomics and mutex normally, loom's under
//! `--cfg tulipa_loom`, so the loom models check the real semaphore state
//! machine that every lock in this crate is built on (`cargo xtask loom`).
//!
//! Only [`crate::raw`] goes through this shim. The types built on
//! `event-listener` (Event, Condvar, Barrier, Promise) block on a
//! third-party crate that loom cannot see, so they use std directly and
//! are tested with real threads instead.

#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::atomic::AtomicUsize;
#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(tulipa_loom)]
pub(crate) use loom::sync::atomic::AtomicUsize;
#[cfg(tulipa_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
