//! Task-local values (asyncio's `contextvars`): a value set for the
//! duration of a future, visible to the code that future runs.
//!
//! # Design
//!
//! A [`LocalKey<T>`] wraps a thread-local `RefCell<Option<T>>`.
//! [`LocalKey::scope`] wraps a future in a [`TaskLocalFuture`] that holds
//! the value; each time it is polled it *swaps* its value into the
//! thread-local, polls the inner future, and swaps it back out (a guard does
//! the swap back, so it happens on unwind too). Because the value is only
//! in the thread-local while the scoped future is being polled, code in
//! other tasks on the same thread never sees it, whichever thread the task
//! moves to between polls.
//!
//! Invariants: outside a poll of a scope, the thread-local holds exactly
//! what it held before that poll (nesting restores the outer value); the
//! swap needs a mutable borrow, so entering a scope of a key from inside
//! [`LocalKey::with`] on that same key panics (the value is borrowed).
//!
//! Unlike Python's `contextvars`, nothing is inherited: a task spawned from
//! inside a scope does not see the value (tasks start with no context, as
//! with tokio's task-locals). Pass it explicitly:
//! `let v = KEY.get(); spawn(KEY.scope(v, child()))`.

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// Declares task-local keys: `static NAME: Type;` items whose values are
/// set per future with [`LocalKey::scope`].
///
/// # Examples
///
/// ```
/// tulipa_future::task_local! {
///     /// The request being served.
///     static REQUEST_ID: u64;
/// }
///
/// # futures_lite::future::block_on(async {
/// REQUEST_ID
///     .scope(7, async {
///         assert_eq!(REQUEST_ID.get(), 7);
///     })
///     .await;
/// assert!(REQUEST_ID.try_get().is_err());
/// # });
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::LocalKey<$t> = {
            ::std::thread_local! {
                static __TULIPA_TASK_LOCAL: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::LocalKey::__new(__TULIPA_TASK_LOCAL)
        };
    };
}

/// A task-local key, declared with [`task_local!`](crate::task_local!).
pub struct LocalKey<T: 'static> {
    inner: std::thread::LocalKey<RefCell<Option<T>>>,
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(inner: std::thread::LocalKey<RefCell<Option<T>>>) -> LocalKey<T> {
        LocalKey { inner }
    }

    /// Runs `future` with the key set to `value` (asyncio's
    /// `ctx.run(...)` with a variable set). Nested scopes shadow outer ones
    /// while they are polled.
    ///
    /// # Panics
    ///
    /// Polling the returned future panics if it happens inside
    /// [`with`](LocalKey::with) on this same key (the value is borrowed).
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future drops `future` with the value still
    /// set, so its destructors can read it.
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            slot: Some(value),
            future: Some(future),
        }
    }

    /// Runs `f` with the key set to `value`, synchronously.
    ///
    /// # Panics
    ///
    /// Panics if called inside [`with`](LocalKey::with) on this same key;
    /// a panic in `f` propagates after the previous value is restored.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa_future::task_local!(static DEPTH: u32);
    ///
    /// let seen = DEPTH.sync_scope(1, || DEPTH.sync_scope(2, || DEPTH.get()));
    /// assert_eq!(seen, 2);
    /// ```
    pub fn sync_scope<R>(&'static self, value: T, f: impl FnOnce() -> R) -> R {
        let mut slot = Some(value);
        let _guard = Entered::enter(self, &mut slot);
        f()
    }

    /// Calls `f` with a reference to the current value.
    ///
    /// # Panics
    ///
    /// Panics if the key is not set here (no enclosing
    /// [`scope`](LocalKey::scope)); see [`try_with`](LocalKey::try_with).
    #[track_caller]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!(
                "a task-local was read outside any scope that sets it: wrap the future in \
                 KEY.scope(value, future) (spawned tasks do not inherit values; pass them in)"
            ),
        }
    }

    /// Calls `f` with a reference to the current value, if the key is set.
    ///
    /// # Errors
    ///
    /// [`AccessError`] if no enclosing scope set the key, or the
    /// thread-local is being destroyed.
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.inner
            .try_with(move |cell| cell.borrow().as_ref().map(f))
            .ok()
            .flatten()
            .ok_or(AccessError(()))
    }

    /// A clone of the current value.
    ///
    /// # Panics
    ///
    /// Panics if the key is not set here, as [`with`](LocalKey::with).
    #[track_caller]
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }

    /// A clone of the current value, if the key is set.
    ///
    /// # Errors
    ///
    /// [`AccessError`] if no enclosing scope set the key.
    pub fn try_get(&'static self) -> Result<T, AccessError>
    where
        T: Clone,
    {
        self.try_with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKey { .. }")
    }
}

/// While alive, the key holds the value swapped in from `slot` (and `slot`
/// holds the previous value); dropping swaps them back, on unwind too.
struct Entered<'a, T: 'static> {
    key: &'static LocalKey<T>,
    slot: &'a mut Option<T>,
}

impl<'a, T: 'static> Entered<'a, T> {
    fn enter(key: &'static LocalKey<T>, slot: &'a mut Option<T>) -> Entered<'a, T> {
        swap(key, slot);
        Entered { key, slot }
    }
}

impl<T: 'static> Drop for Entered<'_, T> {
    fn drop(&mut self) {
        swap(self.key, self.slot);
    }
}

fn swap<T: 'static>(key: &'static LocalKey<T>, slot: &mut Option<T>) {
    key.inner.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => mem::swap(&mut *v, slot),
        Err(_) => panic!(
            "a task-local scope was entered inside LocalKey::with on the same key; \
             finish the `with` closure first"
        ),
    });
}

pin_project! {
    /// The future of [`LocalKey::scope`]: runs the inner future with the key
    /// set.
    #[must_use = "futures do nothing unless awaited"]
    pub struct TaskLocalFuture<T: 'static, F> {
        key: &'static LocalKey<T>,
        // The value while not polled; the previous value while polled.
        slot: Option<T>,
        // Dropped in place (set to `None`) when it finishes or on drop.
        #[pin]
        future: Option<F>,
    }

    impl<T: 'static, F> PinnedDrop for TaskLocalFuture<T, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.future.is_none() {
                return;
            }
            // Drop the future in place with the value set, so its
            // destructors can read the key; skip that if the key cannot be
            // entered (the thread is exiting, or we are inside `with` on
            // this key).
            let key: &'static LocalKey<T> = this.key;
            let can_enter = key
                .inner
                .try_with(|c| c.try_borrow_mut().is_ok())
                .unwrap_or(false);
            let mut future = this.future;
            if can_enter {
                let _entered = Entered::enter(key, this.slot);
                future.set(None);
            } else {
                future.set(None);
            }
        }
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let key: &'static LocalKey<T> = this.key;
        let _entered = Entered::enter(key, this.slot);
        let mut slot = this.future;
        let future = slot
            .as_mut()
            .as_pin_mut()
            .expect("TaskLocalFuture polled after it returned its output");
        let polled = future.poll(cx);
        if polled.is_ready() {
            // Dropped in place, with the value still set.
            slot.set(None);
        }
        polled
    }
}

impl<T: 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("finished", &self.future.is_none())
            .finish()
    }
}

/// A task-local was read where no scope set it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError(());

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessError")
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "task-local value not set: no enclosing LocalKey::scope or sync_scope sets it here",
        )
    }
}

impl Error for AccessError {}
