//! The concurrency shim: std atomics normally, loom's under
//! `--cfg tulipa_loom`, so the loom model of the park handshake
//! (`park::tests`) checks the real code (`cargo xtask loom`).

#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool};

#[cfg(tulipa_loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool};
