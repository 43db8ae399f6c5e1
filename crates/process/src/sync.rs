//! The concurrency shim: std's mutex and atomics normally, loom's under
//! `--cfg tulipa_loom`, so the loom model of [`Serial`](crate::serial::Serial)
//! checks the real code (`cargo xtask loom`).

#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::atomic::AtomicUsize;
#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(tulipa_loom)]
pub(crate) use loom::sync::atomic::AtomicUsize;
#[cfg(tulipa_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
