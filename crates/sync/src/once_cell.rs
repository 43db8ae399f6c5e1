//! [`OnceCell`]: a value initialized once, by an async initializer.
//!
//! # Design
//!
//! A `std::sync::OnceLock<T>` holds the value, so `get` is one atomic load
//! and needs no unsafe. A one-permit [`RawSemaphore`] is the right to run
//! the initializer: concurrent `get_or_init` calls queue on it (FIFO); the
//! first runs its initializer, the others wake when it finishes, see the
//! value and return it without running theirs. If the initializer fails
//! (`get_or_try_init` returns an error) or is cancelled (its future is
//! dropped), the permit passes to the next caller, who tries its own
//! initializer.

use std::convert::Infallible;
use std::fmt;
use std::future::{poll_fn, Future};
use std::sync::OnceLock;

use crate::raw::{RawSemaphore, Waiter};

/// A cell written once, possibly by an async computation.
///
/// # Examples
///
/// ```
/// use tulipa_sync::OnceCell;
///
/// futures_lite::future::block_on(async {
///     let cell = OnceCell::new();
///     let v = cell.get_or_init(|| async { 42 }).await;
///     assert_eq!(*v, 42);
///     // Already initialized: this initializer does not run.
///     assert_eq!(*cell.get_or_init(|| async { 0 }).await, 42);
///     assert_eq!(cell.get(), Some(&42));
/// });
/// ```
pub struct OnceCell<T> {
    value: OnceLock<T>,
    init: RawSemaphore,
}

impl<T> OnceCell<T> {
    /// A new empty cell.
    pub fn new() -> OnceCell<T> {
        OnceCell {
            value: OnceLock::new(),
            init: RawSemaphore::new(1),
        }
    }

    /// A cell that already holds `value`.
    pub fn with_value(value: T) -> OnceCell<T> {
        let cell = OnceCell::new();
        // A fresh cell: this cannot fail.
        let _ = cell.value.set(value);
        cell
    }

    /// The value, if initialized.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// Whether the cell holds a value.
    pub fn is_initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// Stores `value` if the cell is empty and no initializer is running.
    ///
    /// # Errors
    ///
    /// Hands `value` back in [`SetError::AlreadyInitialized`] or
    /// [`SetError::Initializing`].
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.is_initialized() {
            return Err(SetError::AlreadyInitialized(value));
        }
        if !self.init.try_acquire_one_exact() {
            return Err(SetError::Initializing(value));
        }
        let result = self.value.set(value).map_err(SetError::AlreadyInitialized);
        self.init.release_one();
        result
    }

    /// Returns the value, running `init` to compute it if the cell is
    /// empty. Concurrent callers wait for one initializer instead of
    /// running theirs.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. A caller dropped while it waits leaves the queue; one
    /// dropped while its initializer runs lets the next caller initialize.
    pub async fn get_or_init<F, Fut>(&self, init: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let result = self
            .get_or_try_init(|| async { Ok::<T, Infallible>(init().await) })
            .await;
        match result {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// Returns the value, running the fallible `init` if the cell is
    /// empty. On error the cell stays empty, and the next waiting caller
    /// runs its own initializer.
    ///
    /// # Errors
    ///
    /// Whatever `init` returned; only the caller whose initializer failed
    /// sees the error.
    ///
    /// # Cancel safety
    ///
    /// As [`get_or_init`](OnceCell::get_or_init).
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.value.get() {
            return Ok(value);
        }
        let _permit = InitPermit::acquire(&self.init).await;
        if let Some(value) = self.value.get() {
            return Ok(value);
        }
        let value = init().await?;
        Ok(self.value.get_or_init(|| value))
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.value.take()
    }

    /// Consumes the cell and returns its value, if any.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        OnceCell::with_value(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.value.get())
            .finish()
    }
}

/// The right to run the initializer; released when dropped.
struct InitPermit<'a>(&'a RawSemaphore);

impl<'a> InitPermit<'a> {
    async fn acquire(sem: &'a RawSemaphore) -> InitPermit<'a> {
        struct Queued<'a>(&'a RawSemaphore, Waiter);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.cancel(&mut self.1);
            }
        }
        let mut queued = Queued(sem, Waiter::new(1));
        poll_fn(|cx| {
            let Queued(sem, waiter) = &mut queued;
            sem.poll_acquire(waiter, cx)
        })
        .await
        .unwrap_or_else(|_| unreachable!("the init semaphore is never closed"));
        InitPermit(sem)
    }
}

impl Drop for InitPermit<'_> {
    fn drop(&mut self) {
        self.0.release_one();
    }
}

/// Why [`OnceCell::set`] did not store the value; holds the value.
#[non_exhaustive]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitialized(T),
    /// An initializer is running.
    Initializing(T),
}

impl<T> SetError<T> {
    /// The value that was not stored.
    pub fn into_inner(self) -> T {
        match self {
            SetError::AlreadyInitialized(v) | SetError::Initializing(v) => v,
        }
    }
}

impl<T> fmt::Debug for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitialized(_) => f.write_str("AlreadyInitialized(..)"),
            SetError::Initializing(_) => f.write_str("Initializing(..)"),
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitialized(_) => {
                f.write_str("the cell is already initialized; the value is handed back")
            }
            SetError::Initializing(_) => f.write_str(
                "an initializer is running; await get_or_init instead, the value is handed back",
            ),
        }
    }
}

impl<T> std::error::Error for SetError<T> {}
