//! [`Condition`]: asyncio's `Condition`, a condition variable that owns
//! its lock.
//!
//! # Design
//!
//! A [`Condvar`] and an `Arc<Mutex<T>>`. The lock is behind an `Arc` so
//! that several conditions can share one lock, as asyncio's
//! `Condition(lock)` does ([`Condition::with_lock`]); [`Condition::new`]
//! makes its own. [`Condition::acquire`] locks it and returns a
//! [`ConditionGuard`], which is where asyncio's methods that need the lock
//! held live: [`wait`](ConditionGuard::wait),
//! [`wait_for`](ConditionGuard::wait_for),
//! [`notify`](ConditionGuard::notify) and
//! [`notify_all`](ConditionGuard::notify_all). asyncio raises
//! `RuntimeError` when they are called without the lock; here that
//! mistake does not compile.
//!
//! Waiting and notification are the [`Condvar`]'s, so they inherit its
//! guarantees: a waiter registers before it unlocks (no notification is
//! missed), and a notification given to a waiter that is cancelled before
//! it re-took the lock passes on to the next waiter (as in asyncio 3.12+).
//!
//! [`Condvar`] stays for code that keeps its own `Mutex` next to it (the
//! shape of `std::sync::Condvar`); `Condition` is the asyncio shape.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use crate::condvar::Condvar;
use crate::mutex::{Mutex, MutexGuardArc};

/// A condition variable that owns its lock (asyncio's `Condition`).
///
/// Tasks [`acquire`](Condition::acquire) the lock, check the shared state
/// through the guard, and [`wait`](ConditionGuard::wait) (which unlocks
/// while it sleeps) until another task changes the state and calls
/// [`notify`](ConditionGuard::notify) or
/// [`notify_all`](ConditionGuard::notify_all) under the lock.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulipa_sync::Condition;
///
/// let cond = Arc::new(Condition::new(Vec::new()));
/// let producer = {
///     let cond = cond.clone();
///     std::thread::spawn(move || {
///         futures_lite::future::block_on(async {
///             let mut items = cond.acquire().await; // `async with cond:`
///             items.push(7);
///             items.notify(1);
///         })
///     })
/// };
/// futures_lite::future::block_on(async {
///     // `await cond.wait_for(lambda: items)`, returning the predicate's value.
///     let (items, first) = cond.acquire().await.wait_for(|items| items.first().copied()).await;
///     assert_eq!(first, 7);
///     assert_eq!(items.len(), 1);
/// });
/// producer.join().unwrap();
/// ```
pub struct Condition<T: ?Sized> {
    condvar: Condvar,
    lock: Arc<Mutex<T>>,
}

impl<T> Condition<T> {
    /// A condition with its own new (FIFO) lock holding `value`
    /// (asyncio's `Condition()`).
    pub fn new(value: T) -> Condition<T> {
        Condition::with_lock(Arc::new(Mutex::new(value)))
    }
}

impl<T: ?Sized> Condition<T> {
    /// A condition over an existing lock (asyncio's `Condition(lock)`):
    /// several conditions may share one lock, each with its own waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulipa_sync::{Condition, Mutex};
    ///
    /// let lock = Arc::new(Mutex::new(0));
    /// let not_empty = Condition::with_lock(lock.clone());
    /// let not_full = Condition::with_lock(lock.clone());
    /// let guard = not_empty.try_acquire().unwrap();
    /// assert!(not_full.locked(), "one lock under both conditions");
    /// drop(guard);
    /// ```
    pub fn with_lock(lock: Arc<Mutex<T>>) -> Condition<T> {
        Condition {
            condvar: Condvar::new(),
            lock,
        }
    }

    /// The lock this condition waits on.
    pub fn lock(&self) -> &Arc<Mutex<T>> {
        &self.lock
    }

    /// Acquires the lock (asyncio's `acquire()` or `async with cond:`);
    /// the guard releases it when dropped (asyncio's `release()`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Mutex::lock`]: if it is dropped after the lock
    /// was handed to it, the lock passes on to the next waiter.
    #[track_caller]
    pub fn acquire(&self) -> impl std::future::Future<Output = ConditionGuard<'_, T>> + use<'_, T> {
        tulipa_core::await_point::track(async move {
            ConditionGuard {
                condition: self,
                guard: self.lock.lock_arc().await,
            }
        })
    }

    /// Acquires the lock if it is free now.
    pub fn try_acquire(&self) -> Option<ConditionGuard<'_, T>> {
        Some(ConditionGuard {
            condition: self,
            guard: self.lock.try_lock_arc()?,
        })
    }

    /// Whether the lock is held (asyncio's `locked()`); see
    /// [`Mutex::is_locked`].
    pub fn locked(&self) -> bool {
        self.lock.is_locked()
    }
}

impl<T: Default> Default for Condition<T> {
    fn default() -> Self {
        Condition::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.locked())
            .finish_non_exhaustive()
    }
}

/// The held lock of a [`Condition`]: gives access to the data and to the
/// methods asyncio allows only under the lock. Releases the lock when
/// dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ConditionGuard<'a, T: ?Sized> {
    condition: &'a Condition<T>,
    guard: MutexGuardArc<T>,
}

impl<'a, T: ?Sized> ConditionGuard<'a, T> {
    /// Releases the lock, waits until notified, then re-acquires the lock
    /// (asyncio's `wait()`). Like every condition variable it may return
    /// while the state you wait for is still not there (another task got
    /// the lock first): re-check it, or use
    /// [`wait_for`](ConditionGuard::wait_for).
    ///
    /// # Cancel safety
    ///
    /// The guard is moved in, so dropping the future before it completes
    /// leaves the lock released (asyncio re-acquires it before raising
    /// `CancelledError`; a dropped Rust future cannot wait). A
    /// notification given to this waiter passes on to the next one, so
    /// none is lost.
    #[track_caller]
    pub fn wait(self) -> impl std::future::Future<Output = ConditionGuard<'a, T>> + use<'a, T> {
        tulipa_core::await_point::track(async move {
            let ConditionGuard { condition, guard } = self;
            let guard = condition.condvar.wait_arc(guard).await;
            ConditionGuard { condition, guard }
        })
    }

    /// Waits until `predicate` returns `Some`, and returns the guard with
    /// that value (asyncio's `wait_for`, which returns the predicate's
    /// last, true value). The predicate runs under the lock, first at
    /// once, then after every wakeup.
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](ConditionGuard::wait).
    #[track_caller]
    pub fn wait_for<R, F>(
        self,
        mut predicate: F,
    ) -> impl std::future::Future<Output = (ConditionGuard<'a, T>, R)> + use<'a, T, R, F>
    where
        F: FnMut(&mut T) -> Option<R>,
    {
        tulipa_core::await_point::track(async move {
            let mut this = self;
            loop {
                if let Some(value) = predicate(&mut *this) {
                    return (this, value);
                }
                this = this.wait().await;
            }
        })
    }

    /// Wakes up to `n` tasks waiting on this condition (asyncio's
    /// `notify(n)`), oldest first; returns how many it woke. Each runs
    /// once it re-takes the lock, after this guard is dropped.
    pub fn notify(&self, n: usize) -> usize {
        self.condition.condvar.notify(n)
    }

    /// Wakes every task waiting on this condition (asyncio's
    /// `notify_all()`); returns how many it woke.
    pub fn notify_all(&self) -> usize {
        self.condition.condvar.notify_all()
    }

    /// The condition this guard holds the lock of (an associated
    /// function, so it does not shadow a method of `T`).
    pub fn condition(guard: &Self) -> &'a Condition<T> {
        guard.condition
    }
}

impl<T: ?Sized> Deref for ConditionGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: ?Sized> DerefMut for ConditionGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ConditionGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
