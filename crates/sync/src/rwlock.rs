//! [`RwLock`]: many readers or one writer, with upgradable reads, and no
//! writer starvation.
//!
//! # Design
//!
//! Two `RawSemaphore`s (see `raw`) and the data:
//!
//! - `readers` holds [`MAX_READERS`] permits. A reader takes one; a writer
//!   takes all of them. Because the semaphore is FIFO with partial
//!   hand-off, a waiting writer collects the permits readers return, and a
//!   reader arriving after the writer queues behind it: a stream of
//!   readers cannot starve a writer, and the readers queued behind a
//!   writer all get in together when it leaves.
//! - `gate` holds one permit: the right to become a writer. Writers and
//!   upgradable readers take it first (lock order: `gate`, then
//!   `readers`). An upgradable reader holds the gate plus one reader
//!   permit, so plain readers still share with it, while no writer can be
//!   queued on `readers` ahead of its `upgrade` (which would deadlock: the
//!   writer waits for the upgrader's permit, the upgrader for the
//!   writer's turn). `upgrade` then collects the remaining
//!   `MAX_READERS - 1` permits as readers leave.
//!
//! Guards return what they hold when dropped: a read guard one reader
//! permit; an upgradable guard one reader permit and the gate; a write
//! guard all reader permits and the gate. Downgrades return the
//! difference.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::raw::{RawSemaphore, Waiter};

mod arc;

pub use arc::{
    ReadArc, RwLockReadGuardArc, RwLockUpgradableReadGuardArc, RwLockWriteGuardArc,
    UpgradableReadArc, UpgradeArc, WriteArc,
};

/// The most readers that can hold an [`RwLock`] at once; more wait.
pub const MAX_READERS: usize = (u32::MAX >> 3) as usize;

/// An async reader-writer lock that owns its data.
///
/// Any number of readers, or one writer, or one upgradable reader
/// alongside readers. Requests are served in FIFO order, so writers are
/// not starved by readers: readers that arrive after a waiting writer
/// queue behind it (see the [crate docs](crate#fairness)).
///
/// # Examples
///
/// ```
/// use tulipa_sync::{RwLock, RwLockUpgradableReadGuard};
///
/// futures_lite::future::block_on(async {
///     let lock = RwLock::new(vec![1, 2]);
///     {
///         let a = lock.read().await;
///         let b = lock.read().await;
///         assert_eq!(a.len() + b.len(), 4);
///     }
///     let up = lock.upgradable_read().await;
///     let reader = lock.read().await; // readers still share with it
///     assert_eq!(*reader, *up);
///     drop(reader);
///     let mut w = RwLockUpgradableReadGuard::upgrade(up).await;
///     w.push(3);
///     drop(w);
///     assert_eq!(*lock.read().await, [1, 2, 3]);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    gate: RawSemaphore,
    readers: RawSemaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands `&mut T` to one writer at a time (who may be on
// another thread: `T: Send`) or `&T` to many readers at once on many
// threads (`T: Sync`).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new unlocked lock holding `value`.
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            gate: RawSemaphore::new(1),
            readers: RawSemaphore::new(MAX_READERS),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns its data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared read access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped future leaves the queue and passes on
    /// anything handed to it.
    #[inline]
    #[track_caller]
    pub fn read(&self) -> Read<'_, T> {
        Read {
            lock: self,
            waiter: Waiter::new(1),
        }
    }

    /// Takes read access now if no writer holds or waits for the lock.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.readers
            .try_acquire(1)
            .ok()
            .map(|()| RwLockReadGuard { lock: self })
    }

    /// Waits for exclusive write access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped future returns the gate and every reader
    /// permit it had collected, to the next waiters.
    #[track_caller]
    pub fn write(&self) -> Write<'_, T> {
        Write {
            inner: GateAcquire::new(self, MAX_READERS),
        }
    }

    /// Takes write access now if the lock is free.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.try_gate(MAX_READERS)
            .then(|| RwLockWriteGuard { lock: self })
    }

    /// Waits for an upgradable read: shared with plain readers, exclusive
    /// with writers and other upgradable readers, and able to
    /// [`upgrade`](RwLockUpgradableReadGuard::upgrade) to a write without
    /// letting anyone else write in between.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`write`](RwLock::write).
    #[track_caller]
    pub fn upgradable_read(&self) -> UpgradableRead<'_, T> {
        UpgradableRead {
            inner: GateAcquire::new(self, 1),
        }
    }

    /// Takes an upgradable read now if possible.
    pub fn try_upgradable_read(&self) -> Option<RwLockUpgradableReadGuard<'_, T>> {
        self.try_gate(1)
            .then(|| RwLockUpgradableReadGuard { lock: self })
    }

    /// A mutable reference to the data; the borrow proves exclusivity.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn try_gate(&self, readers: usize) -> bool {
        if !self.gate.try_acquire_one_exact() && self.gate.try_acquire(1).is_err() {
            return false;
        }
        if self.readers.try_acquire(readers).is_err() {
            self.gate.release_one();
            return false;
        }
        true
    }

    fn release_readers(&self, n: usize) {
        let released = self.readers.release(n);
        debug_assert!(released.is_ok(), "held permits cannot overflow");
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The state of taking the gate, then `need` reader permits; owns what it
/// has until it returns `Ready`. Shared by the borrowed and the `Arc`
/// futures.
struct GateState {
    gate: Waiter,
    has_gate: bool,
    readers: Waiter,
}

impl GateState {
    #[track_caller]
    fn new(need: usize) -> Self {
        GateState {
            gate: Waiter::new(1),
            has_gate: false,
            readers: Waiter::new(need),
        }
    }

    fn poll<T: ?Sized>(&mut self, lock: &RwLock<T>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.has_gate {
            if self.gate.is_queued() || !lock.gate.try_acquire_one_exact() {
                let r = ready!(lock.gate.poll_acquire(&mut self.gate, cx));
                debug_assert!(r.is_ok(), "the gate is never closed");
            }
            self.has_gate = true;
        }
        let r = ready!(lock.readers.poll_acquire(&mut self.readers, cx));
        debug_assert!(r.is_ok(), "the reader semaphore is never closed");
        // The guard owns the gate from here on.
        self.has_gate = false;
        Poll::Ready(())
    }

    /// Gives back whatever was taken (from `Drop`).
    fn cancel<T: ?Sized>(&mut self, lock: &RwLock<T>) {
        lock.readers.cancel(&mut self.readers);
        lock.gate.cancel(&mut self.gate);
        if self.has_gate {
            self.has_gate = false;
            lock.gate.release_one();
        }
    }
}

/// [`GateState`] borrowing the lock.
struct GateAcquire<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    state: GateState,
}

impl<'a, T: ?Sized> GateAcquire<'a, T> {
    #[track_caller]
    fn new(lock: &'a RwLock<T>, need: usize) -> Self {
        GateAcquire {
            lock,
            state: GateState::new(need),
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.state.poll(self.lock, cx)
    }
}

impl<T: ?Sized> Drop for GateAcquire<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.state.cancel(self.lock);
    }
}

/// The future of [`RwLock::read`].
#[must_use = "futures do nothing unless awaited"]
pub struct Read<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    waiter: Waiter,
}

impl<'a, T: ?Sized> Future for Read<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let r = ready!(this.lock.readers.poll_acquire(&mut this.waiter, cx));
        debug_assert!(r.is_ok(), "the reader semaphore is never closed");
        Poll::Ready(RwLockReadGuard { lock: this.lock })
    }
}

impl<T: ?Sized> Drop for Read<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.readers.cancel(&mut self.waiter);
    }
}

impl<T: ?Sized> fmt::Debug for Read<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Read").finish_non_exhaustive()
    }
}

/// The future of [`RwLock::write`].
#[must_use = "futures do nothing unless awaited"]
pub struct Write<'a, T: ?Sized> {
    inner: GateAcquire<'a, T>,
}

impl<'a, T: ?Sized> Future for Write<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        ready!(this.inner.poll(cx));
        Poll::Ready(RwLockWriteGuard {
            lock: this.inner.lock,
        })
    }
}

impl<T: ?Sized> fmt::Debug for Write<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Write").finish_non_exhaustive()
    }
}

/// The future of [`RwLock::upgradable_read`].
#[must_use = "futures do nothing unless awaited"]
pub struct UpgradableRead<'a, T: ?Sized> {
    inner: GateAcquire<'a, T>,
}

impl<'a, T: ?Sized> Future for UpgradableRead<'a, T> {
    type Output = RwLockUpgradableReadGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        ready!(this.inner.poll(cx));
        Poll::Ready(RwLockUpgradableReadGuard {
            lock: this.inner.lock,
        })
    }
}

impl<T: ?Sized> fmt::Debug for UpgradableRead<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradableRead").finish_non_exhaustive()
    }
}

/// The future of [`RwLockUpgradableReadGuard::upgrade`].
#[must_use = "futures do nothing unless awaited"]
pub struct Upgrade<'a, T: ?Sized> {
    /// The guard being upgraded; `None` once it returned `Ready`.
    guard: Option<RwLockUpgradableReadGuard<'a, T>>,
    waiter: Waiter,
}

impl<'a, T: ?Sized> Future for Upgrade<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let lock = this
            .guard
            .as_ref()
            .expect("Upgrade polled after it returned Ready")
            .lock;
        let r = ready!(lock.readers.poll_acquire(&mut this.waiter, cx));
        debug_assert!(r.is_ok(), "the reader semaphore is never closed");
        // The upgradable guard's reader permit and gate move into the
        // write guard.
        std::mem::forget(this.guard.take());
        Poll::Ready(RwLockWriteGuard { lock })
    }
}

impl<T: ?Sized> Drop for Upgrade<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(guard) = &self.guard {
            guard.lock.readers.cancel(&mut self.waiter);
        }
        // Then `guard` drops, returning its reader permit and the gate.
    }
}

impl<T: ?Sized> fmt::Debug for Upgrade<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgrade").finish_non_exhaustive()
    }
}

/// Shared read access to an [`RwLock`]; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds a reader permit, so no writer holds all
        // of them: only shared references to the data exist.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.readers.release_one();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// An upgradable read of an [`RwLock`]: shared with readers, exclusive
/// with writers and other upgradable reads; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockUpgradableReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<'a, T: ?Sized> RwLockUpgradableReadGuard<'a, T> {
    /// Waits until every other reader has left, then turns this into a
    /// write guard. Readers that arrive meanwhile queue behind the
    /// upgrade.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the upgradable guard too (the read lock
    /// is released) and returns the reader permits it had collected.
    #[track_caller]
    pub fn upgrade(guard: Self) -> Upgrade<'a, T> {
        Upgrade {
            guard: Some(guard),
            waiter: Waiter::new(MAX_READERS - 1),
        }
    }

    /// Upgrades now if no other reader holds the lock, else gives the
    /// guard back.
    ///
    /// # Errors
    ///
    /// Returns the guard unchanged if other readers hold the lock.
    pub fn try_upgrade(guard: Self) -> Result<RwLockWriteGuard<'a, T>, Self> {
        match guard.lock.readers.try_acquire(MAX_READERS - 1) {
            Ok(()) => {
                let lock = guard.lock;
                std::mem::forget(guard);
                Ok(RwLockWriteGuard { lock })
            }
            Err(_) => Err(guard),
        }
    }

    /// Gives up the right to upgrade, keeping a plain read.
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        let lock = guard.lock;
        std::mem::forget(guard);
        lock.gate.release_one();
        RwLockReadGuard { lock }
    }
}

impl<T: ?Sized> Deref for RwLockUpgradableReadGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds a reader permit (no writer holds all of
        // them) and the gate (no writer is even queued): shared access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockUpgradableReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.readers.release_one();
        self.lock.gate.release_one();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockUpgradableReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive write access to an [`RwLock`]; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the write into a read, letting other readers in, without
    /// letting a writer in between.
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        let lock = guard.lock;
        std::mem::forget(guard);
        lock.release_readers(MAX_READERS - 1);
        lock.gate.release_one();
        RwLockReadGuard { lock }
    }

    /// Turns the write into an upgradable read.
    pub fn downgrade_to_upgradable(guard: Self) -> RwLockUpgradableReadGuard<'a, T> {
        let lock = guard.lock;
        std::mem::forget(guard);
        lock.release_readers(MAX_READERS - 1);
        RwLockUpgradableReadGuard { lock }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every reader permit: no other guard
        // exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every reader permit, and `&mut self` is
        // the only borrow through it.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.release_readers(MAX_READERS);
        self.lock.gate.release_one();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
