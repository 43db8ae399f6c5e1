//! An `UnsafeCell` with loom's API, for the workspace's loom models.
//!
//! Code that keeps data in an unsafe cell and is checked by a loom model
//! (`cargo xtask loom`) reaches the data through
//! [`with_mut`](UnsafeCell::with_mut) (or [`with`](UnsafeCell::with), to
//! only read it), a closure given a raw pointer. Under `--cfg tulipa_loom`
//! this is loom's own cell, which checks every access against the
//! happens-before order the model explores; otherwise it is std's
//! `UnsafeCell` behind the same methods, at no cost. The crates' `sync`
//! shims re-export it, so the code that touches a cell is the same in both
//! builds.

#[cfg(tulipa_loom)]
pub use loom::cell::UnsafeCell;

/// std's `UnsafeCell` behind loom's closure API (see the module docs).
///
/// Dereferencing the pointer `with_mut` gives is up to the caller's own
/// `unsafe` block and its proof that the access is exclusive.
///
/// # Examples
///
/// ```
/// use tulipa_core::cell::UnsafeCell;
///
/// let cell = UnsafeCell::new(1);
/// let p = cell.with_mut(|p| p);
/// assert!(!p.is_null());
/// ```
#[cfg(not(tulipa_loom))]
#[derive(Debug, Default)]
pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(tulipa_loom))]
impl<T> UnsafeCell<T> {
    /// A cell holding `value`.
    pub const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a pointer to the contents. Reading or writing through
    /// it is the caller's `unsafe`, and needs the access to be exclusive
    /// (for a write) or free of concurrent writes (for a read).
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a read-only pointer to the contents. Reading through
    /// it is the caller's `unsafe`, and needs no concurrent write; under
    /// loom, two such reads on different threads are not a race (two
    /// [`with_mut`](Self::with_mut) calls would be).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_core::cell::UnsafeCell;
    ///
    /// let cell = UnsafeCell::new(5);
    /// // SAFETY: nothing writes the cell while it is read.
    /// let v = cell.with(|p| unsafe { *p });
    /// assert_eq!(v, 5);
    /// ```
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
}
