//! [`Mutex`]: asyncio's `Lock`, holding the data it protects.
//!
//! A one-permit [`RawSemaphore`] plus an `UnsafeCell<T>`. The permit is the
//! right to touch the data: whoever holds the guard holds the permit, and
//! the guard's drop returns it. Lock and unlock are a single
//! `compare_exchange` each when uncontended.
//!
//! Two policies (see `raw`):
//!
//! - **FIFO hand-off** ([`Mutex::new`], asyncio's `Lock`): a contended
//!   unlock hands the lock straight to the oldest waiter. Until that waiter
//!   runs the lock stays taken, so a newcomer (`lock` or `try_lock`) never
//!   gets ahead of it. A woken waiter that is dropped before it ran passes
//!   the lock to the next waiter, never to a newcomer.
//! - **Barging** ([`Mutex::new_unfair`]): a contended unlock frees the lock
//!   and wakes the oldest waiter, and a task that is already running may
//!   take the lock first. That avoids the lock convoy of strict hand-off
//!   (every unlock waiting for a task switch); a waiter that loses twice
//!   gets the next unlock handed to it, so none is starved. A cancelled
//!   waiter passes its wakeup (or hand-off) on.
//!
//! This is the only unsafe in the crate besides [`crate::rwlock`]: the
//! `Deref` impls of the guards, justified by the permit.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::raw::{RawSemaphore, Waiter};

/// An async mutual-exclusion lock (asyncio's `Lock`) that owns its data.
///
/// Acquisition is first come, first served, as in asyncio: an unlock
/// hands the lock to the oldest waiter, and a task that asks later (with
/// [`lock`](Mutex::lock) or [`try_lock`](Mutex::try_lock)) waits behind
/// it, even while the woken waiter has not run yet. [`Mutex::new_unfair`]
/// builds a faster lock that lets running tasks barge in (see the
/// [crate docs](crate#fairness)).
/// Hold the guard across `.await` freely: that is what this lock is for
/// (a `std::sync::Mutex` is better when the critical section never awaits).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulipa_sync::Mutex;
///
/// futures_lite::future::block_on(async {
///     let m = Arc::new(Mutex::new(0));
///     let threads: Vec<_> = (0..4)
///         .map(|_| {
///             let m = m.clone();
///             std::thread::spawn(move || {
///                 futures_lite::future::block_on(async { *m.lock().await += 1 })
///             })
///         })
///         .collect();
///     for t in threads {
///         t.join().unwrap();
///     }
///     assert_eq!(*m.lock().await, 4);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawSemaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out `&mut T` to one guard at a time (the guard
// holds the only permit), possibly on another thread, so `T: Send` is
// what sharing or sending the mutex requires; `T: Sync` is not needed
// because no two threads see `&T` at once through it.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above: `&Mutex<T>` gives access to `T` only under the permit.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`, with FIFO acquisition
    /// (asyncio's `Lock`): an unlock hands the lock to the oldest waiter.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            raw: RawSemaphore::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// A new unlocked mutex holding `value` that lets running tasks barge
    /// in: an unlock frees the lock and wakes the oldest waiter, and a
    /// task that asks before that waiter runs may take the lock first.
    ///
    /// Faster under contention than [`Mutex::new`] (no task switch per
    /// unlock), at the cost of order. Starvation stays bounded: a waiter
    /// that lost its wakeup twice gets the next unlock handed to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_sync::Mutex;
    ///
    /// futures_lite::future::block_on(async {
    ///     let m = Mutex::new_unfair(1);
    ///     *m.lock().await += 1;
    ///     assert_eq!(m.into_inner(), 2);
    /// });
    /// ```
    pub fn new_unfair(value: T) -> Mutex<T> {
        Mutex {
            raw: RawSemaphore::new_barging(1),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns its data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future leaves the queue; if it had been
    /// woken or handed the lock, the wakeup or the lock passes on to the
    /// next waiter (or the lock is released), so nothing is lost.
    #[inline]
    #[track_caller]
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            waiter: Waiter::new(1),
        }
    }

    /// Takes the lock if it is free. A lock handed to a woken waiter that
    /// has not run yet is not free. On an [unfair](Mutex::new_unfair)
    /// mutex this may take the lock while tasks are queued for it (unless
    /// the next unlock was promised to a waiter that lost too often).
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        if self.raw.try_acquire_one_exact() || self.raw.try_acquire(1).is_ok() {
            Some(MutexGuard { mutex: self })
        } else {
            None
        }
    }

    /// Waits for the lock and returns an owned guard that keeps the mutex
    /// alive (for moving into a spawned task).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`lock`](Mutex::lock).
    #[track_caller]
    pub fn lock_arc(self: &Arc<Self>) -> LockArc<T> {
        LockArc {
            mutex: Some(self.clone()),
            waiter: Waiter::new(1),
        }
    }

    /// Takes the lock now, as an owned guard, if it is free.
    pub fn try_lock_arc(self: &Arc<Self>) -> Option<MutexGuardArc<T>> {
        if self.raw.try_acquire_one_exact() || self.raw.try_acquire(1).is_ok() {
            Some(MutexGuardArc {
                mutex: self.clone(),
            })
        } else {
            None
        }
    }

    /// Whether the lock is held right now (asyncio's `Lock.locked()`),
    /// counting a lock handed to a woken waiter that has not run yet as
    /// held. By the time you act on the answer it may have changed.
    pub fn is_locked(&self) -> bool {
        self.raw.available() == 0
    }

    /// A mutable reference to the data; no locking needed, the borrow
    /// proves exclusivity.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    #[inline]
    fn poll_lock(&self, waiter: &mut Waiter, cx: &mut Context<'_>) -> Poll<()> {
        if !waiter.is_queued() {
            // The task's budget (`tulipa_core::coop`): a task that relocks
            // a free mutex in a loop still yields now and then.
            let Poll::Ready(progress) = tulipa_core::coop::poll_proceed(cx) else {
                tulipa_core::await_point::set(waiter.location());
                return Poll::Pending;
            };
            if self.raw.try_acquire_one_exact() {
                progress.made_progress();
                return Poll::Ready(());
            }
        }
        match self.raw.poll_acquire(waiter, cx) {
            Poll::Ready(Ok(())) => Poll::Ready(()),
            Poll::Ready(Err(_)) => unreachable!("a mutex's semaphore is never closed"),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Releases the permit held by a guard.
    #[inline]
    fn unlock(&self) {
        self.raw.release_one();
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The future of [`Mutex::lock`].
#[must_use = "futures do nothing unless awaited"]
pub struct Lock<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    waiter: Waiter,
}

impl<'a, T: ?Sized> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mutex = this.mutex;
        mutex
            .poll_lock(&mut this.waiter, cx)
            .map(|()| MutexGuard { mutex })
    }
}

impl<T: ?Sized> Drop for Lock<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.raw.cancel(&mut self.waiter);
    }
}

impl<T: ?Sized> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").finish_non_exhaustive()
    }
}

/// The future of [`Mutex::lock_arc`].
#[must_use = "futures do nothing unless awaited"]
pub struct LockArc<T: ?Sized> {
    /// `None` once it returned `Ready`.
    mutex: Option<Arc<Mutex<T>>>,
    waiter: Waiter,
}

impl<T: ?Sized> Future for LockArc<T> {
    type Output = MutexGuardArc<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mutex = this
            .mutex
            .as_ref()
            .expect("LockArc polled after it returned Ready");
        std::task::ready!(mutex.poll_lock(&mut this.waiter, cx));
        let mutex = this.mutex.take().expect("checked above");
        Poll::Ready(MutexGuardArc { mutex })
    }
}

impl<T: ?Sized> Drop for LockArc<T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(mutex) = &self.mutex {
            mutex.raw.cancel(&mut self.waiter);
        }
    }
}

impl<T: ?Sized> fmt::Debug for LockArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockArc").finish_non_exhaustive()
    }
}

/// A held [`Mutex`] lock; unlocks when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

// SAFETY: `&MutexGuard` hands out `&T` to whoever shares the guard, so
// sharing it across threads needs `T: Sync` (the default derivation would
// only ask `T: Send`, through `&Mutex<T>`).
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks (an associated function, so it does not
    /// shadow a method of `T`).
    pub fn source(guard: &Self) -> &'a Mutex<T> {
        guard.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit, so no other
        // guard exists and nobody else reaches the data until it drops.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only
        // borrow through the guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A held lock of an `Arc<Mutex<T>>`, owned; unlocks when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuardArc<T: ?Sized> {
    mutex: Arc<Mutex<T>>,
}

// SAFETY: as for `MutexGuard`: sharing the guard shares `&T`, which needs
// `T: Sync`; `T: Send` is needed for the `Arc<Mutex<T>>` inside.
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuardArc<T> {}

impl<T: ?Sized> MutexGuardArc<T> {
    /// The mutex this guard locks.
    pub fn source(guard: &Self) -> &Arc<Mutex<T>> {
        &guard.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuardArc<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit (see MutexGuard).
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuardArc<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the only permit and `&mut self` is the
        // only borrow through it.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuardArc<T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
