//! The concurrency shim: std atomics normally, loom's under
//! `--cfg tulipa_loom`, so the loom models in this crate check the real
//! code (`cargo xtask loom`).

#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicIsize, AtomicU8, AtomicUsize};
#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(tulipa_loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicIsize, AtomicU8, AtomicUsize};
#[cfg(tulipa_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

/// An `UnsafeCell` with loom's API (loom's own under loom).
pub(crate) use tulipa_core::cell::UnsafeCell;
