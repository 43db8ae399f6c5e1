//! The concurrency shim of the transport state: std's mutex normally,
//! loom's under `--cfg tulipa_loom`, so the loom model of the driver's
//! park/notify handshake (`connection::loom_tests`) checks the real code
//! (`cargo xtask loom`).

#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(tulipa_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
