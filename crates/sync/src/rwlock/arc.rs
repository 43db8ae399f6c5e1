//! Owned guards of an `Arc<RwLock<T>>`, for moving into spawned tasks:
//! the same states and permits as the borrowed guards (see the parent
//! module), with the `Arc` keeping the lock alive.
//!
//! Each guard holds `Option<Arc<RwLock<T>>>`: the conversions (`upgrade`,
//! `downgrade`) take the `Arc` out, so the old guard's `Drop` releases
//! nothing, without unsafe code.
#![allow(unsafe_code)]

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::{GateState, RwLock, MAX_READERS};
use crate::raw::Waiter;

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared read access, as an owned guard.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`read`](RwLock::read).
    #[track_caller]
    pub fn read_arc(self: &Arc<Self>) -> ReadArc<T> {
        ReadArc {
            lock: Some(self.clone()),
            waiter: Waiter::new(1),
        }
    }

    /// Takes read access now, as an owned guard, if no writer holds or
    /// waits for the lock.
    pub fn try_read_arc(self: &Arc<Self>) -> Option<RwLockReadGuardArc<T>> {
        self.readers
            .try_acquire(1)
            .ok()
            .map(|()| RwLockReadGuardArc {
                lock: Some(self.clone()),
            })
    }

    /// Waits for exclusive write access, as an owned guard.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`write`](RwLock::write).
    #[track_caller]
    pub fn write_arc(self: &Arc<Self>) -> WriteArc<T> {
        WriteArc {
            lock: Some(self.clone()),
            state: GateState::new(MAX_READERS),
        }
    }

    /// Takes write access now, as an owned guard, if the lock is free.
    pub fn try_write_arc(self: &Arc<Self>) -> Option<RwLockWriteGuardArc<T>> {
        self.try_gate(MAX_READERS).then(|| RwLockWriteGuardArc {
            lock: Some(self.clone()),
        })
    }

    /// Waits for an upgradable read, as an owned guard.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`upgradable_read`](RwLock::upgradable_read).
    #[track_caller]
    pub fn upgradable_read_arc(self: &Arc<Self>) -> UpgradableReadArc<T> {
        UpgradableReadArc {
            lock: Some(self.clone()),
            state: GateState::new(1),
        }
    }

    /// Takes an upgradable read now, as an owned guard, if possible.
    pub fn try_upgradable_read_arc(self: &Arc<Self>) -> Option<RwLockUpgradableReadGuardArc<T>> {
        self.try_gate(1).then(|| RwLockUpgradableReadGuardArc {
            lock: Some(self.clone()),
        })
    }
}

/// The lock of a guard that has not been converted yet.
fn live<T: ?Sized>(lock: &Option<Arc<RwLock<T>>>) -> &RwLock<T> {
    lock.as_deref()
        .expect("a guard is only emptied while it is being converted")
}

/// The future of [`RwLock::read_arc`].
#[must_use = "futures do nothing unless awaited"]
pub struct ReadArc<T: ?Sized> {
    /// `None` once it returned `Ready`.
    lock: Option<Arc<RwLock<T>>>,
    waiter: Waiter,
}

impl<T: ?Sized> Future for ReadArc<T> {
    type Output = RwLockReadGuardArc<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let lock = this
            .lock
            .as_ref()
            .expect("ReadArc polled after it returned Ready");
        let r = ready!(lock.readers.poll_acquire(&mut this.waiter, cx));
        debug_assert!(r.is_ok(), "the reader semaphore is never closed");
        Poll::Ready(RwLockReadGuardArc {
            lock: this.lock.take(),
        })
    }
}

impl<T: ?Sized> Drop for ReadArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            lock.readers.cancel(&mut self.waiter);
        }
    }
}

impl<T: ?Sized> fmt::Debug for ReadArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadArc").finish_non_exhaustive()
    }
}

/// The future of [`RwLock::write_arc`].
#[must_use = "futures do nothing unless awaited"]
pub struct WriteArc<T: ?Sized> {
    /// `None` once it returned `Ready`.
    lock: Option<Arc<RwLock<T>>>,
    state: GateState,
}

impl<T: ?Sized> Future for WriteArc<T> {
    type Output = RwLockWriteGuardArc<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let lock = this
            .lock
            .as_ref()
            .expect("WriteArc polled after it returned Ready");
        ready!(this.state.poll(lock, cx));
        Poll::Ready(RwLockWriteGuardArc {
            lock: this.lock.take(),
        })
    }
}

impl<T: ?Sized> Drop for WriteArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            self.state.cancel(lock);
        }
    }
}

impl<T: ?Sized> fmt::Debug for WriteArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteArc").finish_non_exhaustive()
    }
}

/// The future of [`RwLock::upgradable_read_arc`].
#[must_use = "futures do nothing unless awaited"]
pub struct UpgradableReadArc<T: ?Sized> {
    /// `None` once it returned `Ready`.
    lock: Option<Arc<RwLock<T>>>,
    state: GateState,
}

impl<T: ?Sized> Future for UpgradableReadArc<T> {
    type Output = RwLockUpgradableReadGuardArc<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let lock = this
            .lock
            .as_ref()
            .expect("UpgradableReadArc polled after it returned Ready");
        ready!(this.state.poll(lock, cx));
        Poll::Ready(RwLockUpgradableReadGuardArc {
            lock: this.lock.take(),
        })
    }
}

impl<T: ?Sized> Drop for UpgradableReadArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            self.state.cancel(lock);
        }
    }
}

impl<T: ?Sized> fmt::Debug for UpgradableReadArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradableReadArc").finish_non_exhaustive()
    }
}

/// The future of [`RwLockUpgradableReadGuardArc::upgrade`].
#[must_use = "futures do nothing unless awaited"]
pub struct UpgradeArc<T: ?Sized> {
    /// The guard being upgraded; `None` once it returned `Ready`.
    guard: Option<RwLockUpgradableReadGuardArc<T>>,
    waiter: Waiter,
}

impl<T: ?Sized> Future for UpgradeArc<T> {
    type Output = RwLockWriteGuardArc<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let guard = this
            .guard
            .as_mut()
            .expect("UpgradeArc polled after it returned Ready");
        let r = ready!(live(&guard.lock).readers.poll_acquire(&mut this.waiter, cx));
        debug_assert!(r.is_ok(), "the reader semaphore is never closed");
        // The upgradable guard's reader permit and gate move into the write
        // guard; the emptied guard releases nothing when dropped.
        let lock = guard.lock.take();
        this.guard = None;
        Poll::Ready(RwLockWriteGuardArc { lock })
    }
}

impl<T: ?Sized> Drop for UpgradeArc<T> {
    fn drop(&mut self) {
        if let Some(guard) = &self.guard {
            live(&guard.lock).readers.cancel(&mut self.waiter);
        }
        // Then `guard` drops, returning its reader permit and the gate.
    }
}

impl<T: ?Sized> fmt::Debug for UpgradeArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradeArc").finish_non_exhaustive()
    }
}

/// Owned shared read access to an `Arc<RwLock<T>>`; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuardArc<T: ?Sized> {
    lock: Option<Arc<RwLock<T>>>,
}

impl<T: ?Sized> RwLockReadGuardArc<T> {
    /// The lock this guard reads.
    ///
    /// # Panics
    ///
    /// Never: a guard is emptied only inside its own conversions.
    pub fn source(guard: &Self) -> &Arc<RwLock<T>> {
        guard.lock.as_ref().expect("a live guard")
    }
}

impl<T: ?Sized> Deref for RwLockReadGuardArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds a reader permit, so no writer holds all
        // of them: only shared references to the data exist.
        unsafe { &*live(&self.lock).data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuardArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            lock.readers.release_one();
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Owned upgradable read access to an `Arc<RwLock<T>>`; released when
/// dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockUpgradableReadGuardArc<T: ?Sized> {
    lock: Option<Arc<RwLock<T>>>,
}

impl<T: ?Sized> RwLockUpgradableReadGuardArc<T> {
    /// Waits until every other reader has left, then turns this into a
    /// write guard.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the upgradable guard too (the read lock
    /// is released) and returns the reader permits it had collected.
    #[track_caller]
    pub fn upgrade(guard: Self) -> UpgradeArc<T> {
        UpgradeArc {
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
    pub fn try_upgrade(mut guard: Self) -> Result<RwLockWriteGuardArc<T>, Self> {
        match live(&guard.lock).readers.try_acquire(MAX_READERS - 1) {
            Ok(()) => Ok(RwLockWriteGuardArc {
                lock: guard.lock.take(),
            }),
            Err(_) => Err(guard),
        }
    }

    /// Gives up the right to upgrade, keeping a plain read.
    pub fn downgrade(mut guard: Self) -> RwLockReadGuardArc<T> {
        let lock = guard.lock.take();
        live(&lock).gate.release_one();
        RwLockReadGuardArc { lock }
    }
}

impl<T: ?Sized> Deref for RwLockUpgradableReadGuardArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds a reader permit and the gate: shared
        // access only (as for the borrowed upgradable guard).
        unsafe { &*live(&self.lock).data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockUpgradableReadGuardArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            lock.readers.release_one();
            lock.gate.release_one();
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockUpgradableReadGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Owned exclusive write access to an `Arc<RwLock<T>>`; released when
/// dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuardArc<T: ?Sized> {
    lock: Option<Arc<RwLock<T>>>,
}

impl<T: ?Sized> RwLockWriteGuardArc<T> {
    /// Turns the write into a read without letting a writer in between.
    pub fn downgrade(mut guard: Self) -> RwLockReadGuardArc<T> {
        let lock = guard.lock.take();
        live(&lock).release_readers(MAX_READERS - 1);
        live(&lock).gate.release_one();
        RwLockReadGuardArc { lock }
    }

    /// Turns the write into an upgradable read.
    pub fn downgrade_to_upgradable(mut guard: Self) -> RwLockUpgradableReadGuardArc<T> {
        let lock = guard.lock.take();
        live(&lock).release_readers(MAX_READERS - 1);
        RwLockUpgradableReadGuardArc { lock }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuardArc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds every reader permit: no other guard
        // exists.
        unsafe { &*live(&self.lock).data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuardArc<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every reader permit, and `&mut self` is
        // the only borrow through it.
        unsafe { &mut *live(&self.lock).data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuardArc<T> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            lock.release_readers(MAX_READERS);
            lock.gate.release_one();
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuardArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
