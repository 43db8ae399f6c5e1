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

#[cfg(tulipa_loom)]
pub(crate) use loom::cell::UnsafeCell;

/// std's `UnsafeCell` behind loom's API (`with_mut`), so the code that
/// touches a cell is the same under loom, which checks every access
/// against the happens-before order it explores.
#[cfg(not(tulipa_loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(tulipa_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with an exclusive pointer to the contents.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
