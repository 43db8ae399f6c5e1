//! The concurrency shim: std's `Mutex` and atomics normally, loom's under
//! `--cfg tulipa_loom`, so the loom model of the error hand-off checks the
//! real code (`cargo xtask loom`).

#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::atomic::AtomicBool;
#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::Mutex;

#[cfg(tulipa_loom)]
pub(crate) use loom::sync::atomic::AtomicBool;
#[cfg(tulipa_loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(tulipa_loom)]
pub(crate) use loom::sync::MutexGuard;
#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::MutexGuard;
