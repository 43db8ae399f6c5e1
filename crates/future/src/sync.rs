//! The concurrency shim: std's atomics and mutex normally, loom's under
//! `--cfg tulipa_loom`, so the loom model of the ready list checks the real
//! code (`cargo xtask loom`).

#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::atomic::AtomicBool;
#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::Mutex;

#[cfg(tulipa_loom)]
pub(crate) use loom::sync::atomic::AtomicBool;
#[cfg(tulipa_loom)]
pub(crate) use loom::sync::Mutex;
