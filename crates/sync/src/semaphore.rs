//! [`Semaphore`]: asyncio's `Semaphore` and `BoundedSemaphore`, with
//! guard permits, owned (`Arc`) permits, multi-permit acquires and `close`.
//!
//! Built on [`crate::raw::RawSemaphore`], so it inherits its policies.
//! By default ([`Semaphore::new`], [`Semaphore::bounded`]) permits are
//! handed to waiters in FIFO order, as asyncio's `Semaphore` does: a
//! release while tasks wait gives the permit to the oldest waiter, and
//! until that waiter runs nobody else (a newcomer, `try_acquire`, or the
//! releasing task acquiring again) can take it; a woken waiter dropped
//! before it ran passes the permit to the next waiter. A large
//! `acquire_many` at the front of the queue holds back smaller requests
//! behind it (it collects released permits as they come, so it is never
//! starved). [`Semaphore::new_unfair`] and [`Semaphore::bounded_unfair`]
//! let running tasks barge in instead. An uncontended acquire or release
//! is one CAS.
//!
//! A bounded semaphore ([`Semaphore::bounded`]) remembers how many permits
//! were taken out of circulation with [`SemaphorePermit::forget`]; only
//! those may be put back with [`Semaphore::release`], so the number of
//! permits never exceeds the bound (asyncio raises `ValueError` there; we
//! return [`ReleaseError::AboveBound`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::raw::{RawSemaphore, TryError, Waiter, MAX_PERMITS};

/// A counting semaphore (asyncio's `Semaphore` and `BoundedSemaphore`).
///
/// Waiters are served first come, first served, and a released permit
/// owed to a woken waiter is not free for anyone else; see the
/// [crate docs](crate#fairness). [`Semaphore::new_unfair`] trades that
/// order for speed under contention.
///
/// # Examples
///
/// ```
/// use tulipa_sync::Semaphore;
///
/// futures_lite::future::block_on(async {
///     let sem = Semaphore::new(2);
///     let a = sem.acquire().await.unwrap();
///     let _b = sem.acquire().await.unwrap();
///     assert!(sem.try_acquire().is_err());
///     drop(a);
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
    bound: Option<usize>,
    /// Permits taken out with `forget` (bounded semaphores only).
    forgotten: AtomicUsize,
}

impl Semaphore {
    /// The most permits a semaphore can hold.
    pub const MAX_PERMITS: usize = MAX_PERMITS;

    /// A semaphore with `permits` permits, which [`add_permits`] and
    /// [`release`] may grow without limit.
    ///
    /// [`add_permits`]: Semaphore::add_permits
    /// [`release`]: Semaphore::release
    ///
    /// # Panics
    ///
    /// Panics if `permits` exceeds [`Semaphore::MAX_PERMITS`].
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            raw: RawSemaphore::new(permits),
            bound: None,
            forgotten: AtomicUsize::new(0),
        }
    }

    /// A semaphore with `permits` permits that lets running tasks barge
    /// in: a release while tasks wait puts the permits back in the free
    /// count and wakes the oldest waiter, and a task that asks before that
    /// waiter runs (or [`try_acquire`](Semaphore::try_acquire)) may take
    /// them first. Waiters still queue in FIFO order, and a waiter that
    /// lost its wakeup twice gets the next release handed to it, so none
    /// is starved. Faster under contention than [`Semaphore::new`].
    ///
    /// # Panics
    ///
    /// Panics if `permits` exceeds [`Semaphore::MAX_PERMITS`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_sync::Semaphore;
    ///
    /// let sem = Semaphore::new_unfair(1);
    /// let permit = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_err());
    /// drop(permit);
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn new_unfair(permits: usize) -> Semaphore {
        Semaphore {
            raw: RawSemaphore::new_barging(permits),
            bound: None,
            forgotten: AtomicUsize::new(0),
        }
    }

    /// A [bounded](Semaphore::bounded) semaphore with the barging policy
    /// of [`new_unfair`](Semaphore::new_unfair).
    ///
    /// # Panics
    ///
    /// Panics if `permits` exceeds [`Semaphore::MAX_PERMITS`].
    pub fn bounded_unfair(permits: usize) -> Semaphore {
        Semaphore {
            bound: Some(permits),
            ..Semaphore::new_unfair(permits)
        }
    }

    /// A bounded semaphore (asyncio's `BoundedSemaphore`): it never holds
    /// more than `permits` permits. [`release`](Semaphore::release) only
    /// gives back permits that were taken out with
    /// [`SemaphorePermit::forget`], and fails otherwise.
    ///
    /// # Panics
    ///
    /// Panics if `permits` exceeds [`Semaphore::MAX_PERMITS`].
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_sync::{ReleaseError, Semaphore};
    ///
    /// let sem = Semaphore::bounded(1);
    /// assert!(matches!(sem.release(1), Err(ReleaseError::AboveBound { .. })));
    /// sem.try_acquire().unwrap().forget(); // asyncio: `await sem.acquire()`
    /// sem.release(1).unwrap();             // asyncio: `sem.release()`
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn bounded(permits: usize) -> Semaphore {
        Semaphore {
            bound: Some(permits),
            ..Semaphore::new(permits)
        }
    }

    /// The bound of a [`bounded`](Semaphore::bounded) semaphore, `None`
    /// for an unbounded one.
    pub fn bound(&self) -> Option<usize> {
        self.bound
    }

    /// Free permits right now. Permits handed to a waiter that has not
    /// received all it asked for yet are not free.
    pub fn available_permits(&self) -> usize {
        self.raw.available()
    }

    /// Waits for one permit.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is or becomes closed before the
    /// permit is granted.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future gives up its place in the queue
    /// and returns any permit handed to it to the next waiter; no permit is
    /// lost and no waiter behind it is stranded.
    #[inline]
    #[track_caller]
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits at once. The request keeps its place in the
    /// FIFO queue and collects released permits until it has `n`.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is or becomes closed first.
    ///
    /// # Panics
    ///
    /// Panics if `n` exceeds [`Semaphore::MAX_PERMITS`], or the bound of a
    /// bounded semaphore: such a request could never be granted.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the permits it collected go to the next waiters.
    #[inline]
    #[track_caller]
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        self.check_request(n);
        Acquire {
            sem: self,
            waiter: Waiter::new(n),
        }
    }

    /// Takes one permit if one is free and nobody is queued before. A
    /// permit released to a woken waiter that has not run yet is not free
    /// (on an [unfair](Semaphore::new_unfair) semaphore, a free permit may
    /// be taken ahead of queued waiters).
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] if none is free,
    /// [`TryAcquireError::Closed`] if the semaphore is closed.
    #[inline]
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] if fewer are free,
    /// [`TryAcquireError::Closed`] if the semaphore is closed.
    #[inline]
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.raw.try_acquire(n).map_err(TryAcquireError::from)?;
        Ok(SemaphorePermit { sem: self, n })
    }

    /// Waits for one permit, held by an owned guard that keeps the
    /// semaphore alive (for moving into a spawned task).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is or becomes closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Semaphore::acquire).
    #[track_caller]
    pub fn acquire_arc(self: &Arc<Self>) -> AcquireArc {
        self.acquire_many_arc(1)
    }

    /// Waits for `n` permits, held by an owned guard.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is or becomes closed.
    ///
    /// # Panics
    ///
    /// As [`acquire_many`](Semaphore::acquire_many).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire_many`](Semaphore::acquire_many).
    #[track_caller]
    pub fn acquire_many_arc(self: &Arc<Self>, n: usize) -> AcquireArc {
        self.check_request(n);
        AcquireArc {
            sem: Some(self.clone()),
            waiter: Waiter::new(n),
        }
    }

    /// Takes one permit now, held by an owned guard.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Semaphore::try_acquire).
    pub fn try_acquire_arc(self: &Arc<Self>) -> Result<SemaphorePermitArc, TryAcquireError> {
        self.try_acquire_many_arc(1)
    }

    /// Takes `n` permits now, held by an owned guard.
    ///
    /// # Errors
    ///
    /// As [`try_acquire_many`](Semaphore::try_acquire_many).
    pub fn try_acquire_many_arc(
        self: &Arc<Self>,
        n: usize,
    ) -> Result<SemaphorePermitArc, TryAcquireError> {
        self.raw.try_acquire(n).map_err(TryAcquireError::from)?;
        Ok(SemaphorePermitArc {
            sem: self.clone(),
            n,
        })
    }

    /// Adds `n` permits, waking waiters that can now proceed.
    ///
    /// # Panics
    ///
    /// Panics where [`release`](Semaphore::release) returns an error: on a
    /// bounded semaphore if fewer than `n` permits were forgotten, or if
    /// the count would pass [`Semaphore::MAX_PERMITS`]. Use `release` to
    /// handle these as errors.
    pub fn add_permits(&self, n: usize) {
        if let Err(e) = self.release(n) {
            panic!("Semaphore::add_permits: {e}");
        }
    }

    /// Puts `n` permits back (asyncio's `release`): to the waiters first,
    /// in FIFO order, the rest to the free count. On an unbounded
    /// semaphore this grows it, as [`add_permits`](Semaphore::add_permits).
    ///
    /// # Errors
    ///
    /// [`ReleaseError::AboveBound`] on a bounded semaphore if fewer than
    /// `n` permits were taken out with [`SemaphorePermit::forget`]; nothing
    /// is released then. [`ReleaseError::Overflow`] if what the waiters do
    /// not take would push the free count past
    /// [`Semaphore::MAX_PERMITS`]; nothing is released then either (no
    /// waiter is handed anything).
    pub fn release(&self, n: usize) -> Result<(), ReleaseError> {
        if let Some(bound) = self.bound {
            let taken = self
                .forgotten
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| f.checked_sub(n));
            if let Err(forgotten) = taken {
                return Err(ReleaseError::AboveBound {
                    bound,
                    released: n,
                    forgotten,
                });
            }
        }
        self.raw.release(n).map_err(|_| ReleaseError::Overflow {
            released: n,
            available: self.available_permits(),
        })
    }

    /// Closes the semaphore: queued waiters and every later acquire get an
    /// error. Permits already held stay valid and are returned as usual.
    /// Returns `false` if it was already closed.
    pub fn close(&self) -> bool {
        self.raw.close()
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.raw.is_closed()
    }

    #[inline]
    fn check_request(&self, n: usize) {
        assert!(
            n <= MAX_PERMITS,
            "cannot acquire {n} permits: a semaphore holds at most {MAX_PERMITS}"
        );
        if let Some(bound) = self.bound {
            assert!(
                n <= bound,
                "cannot acquire {n} permits from a bounded semaphore of {bound}: it would wait forever"
            );
        }
    }

    fn forget_permits(&self, n: usize) {
        if self.bound.is_some() {
            self.forgotten.fetch_add(n, Ordering::AcqRel);
        }
    }

    #[inline]
    fn return_permits(&self, n: usize) {
        let released = self.raw.release(n);
        debug_assert!(released.is_ok(), "held permits cannot overflow");
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available_permits())
            .field("bound", &self.bound)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Permits borrowed from a [`Semaphore`]; returned when dropped.
#[must_use = "the permits are returned as soon as this is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// Takes the permits out of circulation instead of returning them.
    /// On a bounded semaphore they may later be put back with
    /// [`Semaphore::release`].
    pub fn forget(self) {
        self.sem.forget_permits(self.n);
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.sem.return_permits(self.n);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

/// Permits of an `Arc<Semaphore>`, owned; returned when dropped.
#[must_use = "the permits are returned as soon as this is dropped"]
pub struct SemaphorePermitArc {
    sem: Arc<Semaphore>,
    n: usize,
}

impl SemaphorePermitArc {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Takes the permits out of circulation instead of returning them;
    /// see [`SemaphorePermit::forget`].
    pub fn forget(mut self) {
        self.sem.forget_permits(self.n);
        self.n = 0;
    }
}

impl Drop for SemaphorePermitArc {
    #[inline]
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.return_permits(self.n);
        }
    }
}

impl fmt::Debug for SemaphorePermitArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermitArc")
            .field("permits", &self.n)
            .finish()
    }
}

/// The future of [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless awaited"]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    waiter: Waiter,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let sem = this.sem;
        sem.raw.poll_acquire(&mut this.waiter, cx).map(|r| {
            r.map(|()| SemaphorePermit {
                sem,
                n: this.waiter_need(),
            })
            .map_err(|_| AcquireError(()))
        })
    }
}

impl Acquire<'_> {
    fn waiter_need(&self) -> usize {
        self.waiter.need()
    }
}

impl Drop for Acquire<'_> {
    #[inline]
    fn drop(&mut self) {
        self.sem.raw.cancel(&mut self.waiter);
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("permits", &self.waiter.need())
            .finish()
    }
}

/// The future of [`Semaphore::acquire_arc`] and
/// [`Semaphore::acquire_many_arc`].
#[must_use = "futures do nothing unless awaited"]
pub struct AcquireArc {
    /// `None` once it returned `Ready`.
    sem: Option<Arc<Semaphore>>,
    waiter: Waiter,
}

impl Future for AcquireArc {
    type Output = Result<SemaphorePermitArc, AcquireError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let sem = this
            .sem
            .as_ref()
            .expect("AcquireArc polled after it returned Ready");
        let r = std::task::ready!(sem.raw.poll_acquire(&mut this.waiter, cx));
        let sem = this.sem.take().expect("checked above");
        Poll::Ready(
            r.map(|()| SemaphorePermitArc {
                sem,
                n: this.waiter.need(),
            })
            .map_err(|_| AcquireError(())),
        )
    }
}

impl Drop for AcquireArc {
    #[inline]
    fn drop(&mut self) {
        if let Some(sem) = &self.sem {
            sem.raw.cancel(&mut self.waiter);
        }
    }
}

impl fmt::Debug for AcquireArc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireArc")
            .field("permits", &self.waiter.need())
            .finish()
    }
}

/// The semaphore was closed before the permits were granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed: no permits are granted after Semaphore::close")
    }
}

impl std::error::Error for AcquireError {}

/// Why [`Semaphore::try_acquire`] took no permits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryAcquireError {
    /// Not enough free permits right now (or earlier waiters are queued).
    NoPermits,
    /// The semaphore is closed.
    Closed,
}

impl From<TryError> for TryAcquireError {
    fn from(e: TryError) -> Self {
        match e {
            TryError::NoPermits => TryAcquireError::NoPermits,
            TryError::Closed => TryAcquireError::Closed,
        }
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::NoPermits => {
                f.write_str("no permits available right now; await acquire() to wait for one")
            }
            TryAcquireError::Closed => {
                f.write_str("semaphore closed: no permits are granted after Semaphore::close")
            }
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// Why [`Semaphore::release`] released nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReleaseError {
    /// A bounded semaphore would hold more than its bound: only permits
    /// taken out with [`SemaphorePermit::forget`] can be put back.
    AboveBound {
        /// The semaphore's bound.
        bound: usize,
        /// How many permits the call tried to release.
        released: usize,
        /// How many permits were forgotten and may be released.
        forgotten: usize,
    },
    /// The free count would pass [`Semaphore::MAX_PERMITS`].
    Overflow {
        /// How many permits the call tried to release.
        released: usize,
        /// Free permits at the time.
        available: usize,
    },
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReleaseError::AboveBound {
                bound,
                released,
                forgotten,
            } => write!(
                f,
                "cannot release {released} permits to a bounded semaphore of {bound}: only \
                 {forgotten} were taken out with forget(); a permit guard returns itself when \
                 dropped, so release only what was forgotten"
            ),
            ReleaseError::Overflow {
                released,
                available,
            } => write!(
                f,
                "cannot release {released} permits: {available} are free and a semaphore holds \
                 at most {MAX_PERMITS}"
            ),
        }
    }
}

impl std::error::Error for ReleaseError {}
