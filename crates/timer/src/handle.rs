//! The state a timer driver shares with its handles, and the handles.
//!
//! [`Shared`] is the one `Arc` behind a [`TimerDriver`](crate::TimerDriver) and all its
//! [`TimerHandle`]s: the clock, the wheel of wakers under a mutex, the tick
//! the driver is parked until, and the inner driver's unparker. The lock
//! order is described in the [crate docs](crate): the wheel mutex is a leaf
//! and no waker is woken or dropped while it is held.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Duration;

use tulipa_core::{Clock, MockClock, Unparker};

use crate::instant::Instant;
use crate::wheel::{Key, Wheel, MAX_TICK};

/// How many wakers are popped per lock acquisition when firing.
const FIRE_BATCH: usize = 1024;

/// `parked_until` value meaning "the driver is not parked": no insert needs
/// to unpark it, because it recomputes its deadline before parking.
pub(crate) const NOT_PARKED: u64 = 0;

/// The wheel's lock guard; publishes the wheel's length when released.
pub(crate) struct WheelGuard<'a> {
    guard: MutexGuard<'a, Wheel<Waker>>,
    armed: &'a AtomicUsize,
}

impl std::ops::Deref for WheelGuard<'_> {
    type Target = Wheel<Waker>;
    fn deref(&self) -> &Wheel<Waker> {
        &self.guard
    }
}

impl std::ops::DerefMut for WheelGuard<'_> {
    fn deref_mut(&mut self) -> &mut Wheel<Waker> {
        &mut self.guard
    }
}

impl Drop for WheelGuard<'_> {
    fn drop(&mut self) {
        self.armed.store(self.guard.len(), Ordering::Release);
    }
}

pub(crate) enum TimeSource {
    System,
    Mock(MockClock),
}

pub(crate) struct Shared {
    source: TimeSource,
    /// Tick 0.
    start: std::time::Instant,
    wheel: Mutex<Wheel<Waker>>,
    /// `wheel.len()` as of the last unlock, so a driver turn with no timer
    /// at all skips the clock read and the lock (`fire_expired`).
    armed: AtomicUsize,
    /// The tick the driver is parked until (`u64::MAX`: indefinitely), or
    /// [`NOT_PARKED`]. Written by the driver and by inserts, both while
    /// holding the wheel lock; cleared without it after a park (a stale read
    /// then only causes a spurious unpark).
    parked_until: AtomicU64,
    unparker: Unparker,
}

impl Shared {
    pub(crate) fn new(source: TimeSource, unparker: Unparker) -> Shared {
        let start = match &source {
            TimeSource::System => std::time::Instant::now(),
            TimeSource::Mock(clock) => clock.now(),
        };
        Shared {
            source,
            start,
            wheel: Mutex::new(Wheel::new()),
            armed: AtomicUsize::new(0),
            parked_until: AtomicU64::new(NOT_PARKED),
            unparker,
        }
    }

    pub(crate) fn lock(&self) -> WheelGuard<'_> {
        // Nothing panics while holding the lock except allocation failure;
        // the wheel stays consistent, so poisoning is ignored.
        WheelGuard {
            guard: self.wheel.lock().unwrap_or_else(PoisonError::into_inner),
            armed: &self.armed,
        }
    }

    pub(crate) fn now(&self) -> std::time::Instant {
        match &self.source {
            TimeSource::System => std::time::Instant::now(),
            TimeSource::Mock(clock) => clock.now(),
        }
    }

    pub(crate) fn mock(&self) -> Option<&MockClock> {
        match &self.source {
            TimeSource::System => None,
            TimeSource::Mock(clock) => Some(clock),
        }
    }

    pub(crate) fn set_parked_until(&self, tick: u64) {
        self.parked_until.store(tick, Ordering::Relaxed);
    }

    /// The tick containing `instant` (rounded down): used for "now".
    pub(crate) fn tick_floor(&self, instant: std::time::Instant) -> u64 {
        let ms = instant.saturating_duration_since(self.start).as_millis();
        u64::try_from(ms).unwrap_or(MAX_TICK).min(MAX_TICK)
    }

    /// The first tick at or after `instant` (rounded up): used for
    /// deadlines, so a timer never fires early.
    pub(crate) fn tick_ceil(&self, instant: std::time::Instant) -> u64 {
        let since = instant.saturating_duration_since(self.start);
        let ms = since.as_millis() + u128::from(!since.subsec_nanos().is_multiple_of(1_000_000));
        u64::try_from(ms).unwrap_or(MAX_TICK).min(MAX_TICK)
    }

    /// The instant at which `tick` starts, if representable.
    pub(crate) fn instant_of(&self, tick: u64) -> Option<std::time::Instant> {
        self.start.checked_add(Duration::from_millis(tick))
    }

    /// Registers `waker` to be woken at `deadline`, unparking the driver if
    /// it sleeps past it.
    pub(crate) fn register(&self, deadline: std::time::Instant, waker: Waker) -> Key {
        let tick = self.tick_ceil(deadline);
        let (key, unpark) = {
            let mut wheel = self.lock();
            let key = wheel.insert(tick, waker);
            let unpark = tick < self.parked_until.load(Ordering::Relaxed);
            if unpark {
                self.parked_until.store(tick, Ordering::Relaxed);
            }
            (key, unpark)
        };
        if unpark {
            self.unparker.unpark();
        }
        key
    }

    /// Replaces the waker of a pending timer. Returns `false` if the timer
    /// is no longer pending.
    pub(crate) fn update_waker(&self, key: Key, waker: &Waker) -> bool {
        // Clone and drop wakers outside the lock: both may run foreign code.
        let mut waker = waker.clone();
        let updated = match self.lock().get_mut(key) {
            Some(slot) => {
                std::mem::swap(slot, &mut waker);
                true
            }
            None => false,
        };
        drop(waker);
        updated
    }

    /// Cancels a timer; a stale key does nothing.
    pub(crate) fn cancel(&self, key: Key) {
        let waker = self.lock().remove(key);
        drop(waker);
    }

    pub(crate) fn pending(&self) -> usize {
        self.lock().len()
    }

    /// Fires every timer due at the clock's current time. Returns how many
    /// fired.
    pub(crate) fn fire_expired(&self) -> usize {
        // No timer at all (a busy network loop): no clock read, no lock. A
        // timer registered concurrently is seen by the driver's next look
        // at the wheel (its park timeout), or unparks it.
        if self.armed.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let now = self.tick_floor(self.now());
        let mut batch = Vec::new();
        let mut fired = 0;
        loop {
            {
                let mut wheel = self.lock();
                while batch.len() < FIRE_BATCH {
                    match wheel.poll_expired(now) {
                        Some((_, waker)) => batch.push(waker),
                        None => break,
                    }
                }
            }
            let full = batch.len() == FIRE_BATCH;
            fired += batch.len();
            batch.drain(..).for_each(Waker::wake);
            if !full {
                return fired;
            }
        }
    }

    pub(crate) fn unpark(&self) {
        self.unparker.unpark();
    }
}

/// A cloneable, thread-safe handle to a [`TimerDriver`](crate::TimerDriver)'s timers and clock.
///
/// Futures find it with [`TimerHandle::current`]: the handle entered on this
/// thread with [`TimerHandle::enter`], or else the global timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_core::{MockClock, ThreadParker};
/// use tulipa_timer::{TimerDriver, TimerHandle};
///
/// let driver = TimerDriver::with_clock(ThreadParker::new(), MockClock::new());
/// let handle = driver.handle();
/// let t0 = handle.now();
/// handle.advance(Duration::from_secs(60)).unwrap();
/// assert_eq!(handle.now() - t0, Duration::from_secs(60));
/// ```
#[derive(Clone)]
pub struct TimerHandle {
    pub(crate) shared: Arc<Shared>,
}

thread_local! {
    static CURRENT: RefCell<Option<TimerHandle>> = const { RefCell::new(None) };
}

impl TimerHandle {
    /// The current time of this timer's clock (virtual time if paused).
    pub fn now(&self) -> Instant {
        Instant::from_std(self.shared.now())
    }

    /// A [`Sleep`](crate::Sleep) on this timer that completes after
    /// `duration` of its clock, whatever timer is current on the calling
    /// thread. For code that keeps a handle and creates sleeps later, on
    /// any thread (a library's timer adapter).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulipa_core::{MockClock, ThreadParker};
    /// use tulipa_timer::TimerDriver;
    ///
    /// let driver = TimerDriver::with_clock(ThreadParker::new(), MockClock::new());
    /// let handle = driver.handle();
    /// let sleep = handle.sleep(Duration::from_secs(5));
    /// assert!(!sleep.is_elapsed());
    /// handle.advance(Duration::from_secs(5)).unwrap();
    /// assert!(sleep.is_elapsed());
    /// ```
    #[track_caller]
    pub fn sleep(&self, duration: Duration) -> crate::Sleep {
        crate::Sleep::new(self.clone(), self.now().saturating_add(duration))
    }

    /// A [`Sleep`](crate::Sleep) on this timer that completes at
    /// `deadline` of its clock.
    #[track_caller]
    pub fn sleep_until(&self, deadline: Instant) -> crate::Sleep {
        crate::Sleep::new(self.clone(), deadline)
    }

    /// Whether this timer runs on virtual (paused) time.
    pub fn is_paused(&self) -> bool {
        self.shared.mock().is_some()
    }

    /// Moves virtual time forward by `by`, fires the timers that became due
    /// (in deadline order) and wakes the driver.
    ///
    /// # Errors
    ///
    /// Returns [`NotPaused`] if this timer runs on the system clock.
    pub fn advance(&self, by: Duration) -> Result<(), NotPaused> {
        let clock = self.shared.mock().ok_or(NotPaused(()))?;
        clock.advance(by);
        self.shared.fire_expired();
        self.shared.unpark();
        Ok(())
    }

    /// The number of timers registered and not yet fired or cancelled.
    ///
    /// A [`Sleep`](crate::Sleep) registers on its first poll and
    /// unregisters when it fires or is dropped.
    pub fn pending(&self) -> usize {
        self.shared.pending()
    }

    /// Makes this handle the current one on this thread until the guard is
    /// dropped. Guards nest: dropping one restores the handle that was
    /// current before it, so drop them in reverse order of creation.
    pub fn enter(&self) -> EnterGuard {
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard {
            previous,
            _not_send: PhantomData,
        }
    }

    /// The handle entered on this thread, or else the global timer.
    ///
    /// The global timer reads the system clock and is driven by one
    /// background thread named `tulipa-timer`, started on first use; it
    /// sleeps until the next deadline and uses no CPU when idle.
    ///
    /// # Panics
    ///
    /// Panics if the global timer's thread cannot be spawned.
    pub fn current() -> TimerHandle {
        TimerHandle::try_current().unwrap_or_else(|| crate::driver::global().clone())
    }

    /// The current time of the handle entered on this thread, without
    /// cloning it; `None` if no handle is entered.
    pub(crate) fn current_now() -> Option<Instant> {
        CURRENT
            .try_with(|c| c.borrow().as_ref().map(TimerHandle::now))
            .ok()
            .flatten()
    }

    /// The handle entered on this thread, if any. Never starts the global
    /// timer.
    pub fn try_current() -> Option<TimerHandle> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("paused", &self.is_paused())
            .finish_non_exhaustive()
    }
}

/// Restores the previously current [`TimerHandle`] when dropped; returned by
/// [`TimerHandle::enter`].
#[must_use = "the handle is current only until the guard is dropped"]
pub struct EnterGuard {
    previous: Option<TimerHandle>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

/// The error of [`TimerHandle::advance`] on a timer that runs on the system
/// clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotPaused(());

impl fmt::Display for NotPaused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "time is not paused; only a timer built with a MockClock \
             (TimerDriver::with_clock) can be advanced by hand",
        )
    }
}

impl std::error::Error for NotPaused {}
