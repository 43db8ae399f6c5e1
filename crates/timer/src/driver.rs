//! The timer layer of the driver stack.
//!
//! [`TimerDriver`] wraps another [`Driver`] and keeps the same contract: one
//! thread at a time is inside `park`, others get `false` at once.
//!
//! On the system clock, `park` fires expired timers, parks the inner driver
//! until the earlier of the caller's timeout and the next wheel wakeup
//! (rounded up to the millisecond so it never wakes early and spins), then
//! fires expired timers again.
//!
//! On virtual time, `park` first polls the inner driver without blocking (so
//! I/O stays live) and fires what is due. If nothing fired, the caller would
//! block, the idle probe agrees and a timer is pending, it moves the
//! [`MockClock`] straight to the earliest deadline and fires it
//! (auto-advance). Otherwise it parks the inner driver with the caller's
//! timeout: virtual time does not move by itself.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tulipa_core::{Driver, MockClock, ThreadParker, Unparker};

use crate::handle::{Shared, TimeSource, TimerHandle, NOT_PARKED};

type IdleProbe = Arc<dyn Fn() -> bool + Send + Sync>;

/// A [`Driver`] that adds timers to another driver.
///
/// It keeps the inner driver's contract: one thread at a time is inside
/// `park`; a concurrent `park` returns `false` at once.
///
/// **On the system clock**, `park` fires expired timers, parks the inner
/// driver until the earlier of the caller's timeout and the next wheel
/// wakeup (rounded up to the millisecond, so it never wakes early and
/// spins), then fires expired timers again.
///
/// **On virtual time** ([`with_clock`](TimerDriver::with_clock)), `park`
/// first polls the inner driver with a zero timeout (so I/O stays live) and
/// fires what is due. If nothing fired, the caller's timeout is not zero,
/// a timer is pending and the [idle probe](TimerDriver::set_idle_probe)
/// agrees, it moves the [`MockClock`] straight to the earliest deadline and
/// fires it (auto-advance: timers fire in deadline order with no real
/// waiting). Otherwise it parks the inner driver with the caller's timeout;
/// virtual time does not move by itself.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_core::{Driver, MockClock, ThreadParker};
/// use tulipa_timer::{sleep, TimerDriver};
///
/// // Virtual time: an hour-long sleep completes at once.
/// let driver = TimerDriver::with_clock(ThreadParker::new(), MockClock::new());
/// let handle = driver.handle();
/// let _guard = handle.enter();
///
/// let mut hour = sleep(Duration::from_secs(3600));
/// let start = handle.now();
/// while futures_lite::future::block_on(futures_lite::future::poll_once(&mut hour)).is_none() {
///     driver.park(None);
/// }
/// assert_eq!(handle.now() - start, Duration::from_secs(3600));
/// ```
pub struct TimerDriver<D: Driver> {
    inner: D,
    shared: Arc<Shared>,
    /// Set while a thread is inside `park`.
    driving: AtomicBool,
    idle_probe: Mutex<IdleProbe>,
    /// Set by this driver's unparker; cleared by a virtual-time park, which
    /// then returns without moving the clock.
    notified: Arc<AtomicBool>,
}

impl<D: Driver> TimerDriver<D> {
    /// Wraps `inner`, with timers on the system's monotonic clock.
    pub fn new(inner: D) -> TimerDriver<D> {
        TimerDriver::build(inner, TimeSource::System)
    }

    /// Wraps `inner`, with timers on virtual time read from `clock`
    /// (paused time). Time moves when [`TimerHandle::advance`] or the clock
    /// is advanced, and by auto-advance when the driver parks while idle.
    pub fn with_clock(inner: D, clock: MockClock) -> TimerDriver<D> {
        TimerDriver::build(inner, TimeSource::Mock(clock))
    }

    fn build(inner: D, source: TimeSource) -> TimerDriver<D> {
        let shared = Arc::new(Shared::new(source, inner.unparker()));
        TimerDriver {
            inner,
            shared,
            driving: AtomicBool::new(false),
            idle_probe: Mutex::new(Arc::new(|| true)),
            notified: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A handle to this driver's timers and clock.
    pub fn handle(&self) -> TimerHandle {
        TimerHandle {
            shared: self.shared.clone(),
        }
    }

    /// The wrapped driver.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// Sets the function asked, on virtual time, whether the runtime is idle
    /// enough to jump the clock to the next deadline. The default always
    /// says yes. An executor installs one that says no while work it cannot
    /// see from here (for example blocking jobs) is outstanding. The probe is
    /// called without any timer lock held. Ignored on the system clock.
    pub fn set_idle_probe(&self, probe: Arc<dyn Fn() -> bool + Send + Sync>) {
        *self
            .idle_probe
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = probe;
    }

    fn is_idle(&self) -> bool {
        let probe = self
            .idle_probe
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        probe()
    }

    fn park_system(&self, timeout: Option<Duration>) {
        // Timers fired here woke tasks that must run before this thread
        // blocks: a task woken on the thread that holds the driver may be
        // queued where only this thread looks (the multi-thread worker's
        // LIFO slot), and nothing would unpark the wait below. So a park
        // that fired a timer only polls for I/O.
        let timeout = if self.shared.fire_expired() > 0 {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        let wait = {
            let wheel = self.shared.lock();
            let now = self.shared.now();
            let until_next = wheel.next_wakeup().map(|tick| {
                self.shared.instant_of(tick).map_or(Duration::MAX, |at| {
                    ceil_ms(at.saturating_duration_since(now))
                })
            });
            let wait = match (timeout, until_next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if wait != Some(Duration::ZERO) {
                self.shared
                    .set_parked_until(wheel.next_wakeup().unwrap_or(u64::MAX));
            }
            wait
        };
        self.inner.park(wait);
        self.shared.set_parked_until(NOT_PARKED);
        self.shared.fire_expired();
    }

    fn park_virtual(&self, clock: &MockClock, timeout: Option<Duration>) {
        // Someone unparked us since our last blocking park: work is
        // waiting, so time must not jump. Do the I/O and timer work and
        // return. (A non-blocking park never moves the clock, and leaves the
        // flag for the next blocking one.)
        if timeout != Some(Duration::ZERO) && self.notified.swap(false, Ordering::SeqCst) {
            self.inner.park(Some(Duration::ZERO));
            self.shared.fire_expired();
            return;
        }
        self.inner.park(Some(Duration::ZERO));
        if self.shared.fire_expired() > 0 || timeout == Some(Duration::ZERO) {
            return;
        }
        let next = {
            let wheel = self.shared.lock();
            // From here on any new timer unparks us, so it cannot be missed
            // between this check and the park below.
            self.shared.set_parked_until(u64::MAX);
            wheel.next_deadline()
        };
        if let Some(at) = next.and_then(|tick| self.shared.instant_of(tick)) {
            if self.is_idle() && !self.notified.load(Ordering::SeqCst) {
                self.shared.set_parked_until(NOT_PARKED);
                clock.advance_to(at);
                self.shared.fire_expired();
                return;
            }
        }
        self.inner.park(timeout);
        self.shared.set_parked_until(NOT_PARKED);
        self.shared.fire_expired();
    }
}

/// The driver's unparker: records the unpark (virtual time must not jump
/// past work that is waiting) and wakes the inner driver.
struct FlagUnpark {
    notified: Arc<AtomicBool>,
    inner: Unparker,
}

impl tulipa_core::Unpark for FlagUnpark {
    fn unpark(&self) {
        self.notified.store(true, Ordering::SeqCst);
        self.inner.unpark();
    }
}

/// Rounds up to a whole millisecond.
fn ceil_ms(d: Duration) -> Duration {
    let nanos = d.subsec_nanos();
    let rounded = nanos.div_ceil(1_000_000) * 1_000_000;
    if rounded == 1_000_000_000 {
        Duration::from_secs(d.as_secs().saturating_add(1))
    } else {
        Duration::new(d.as_secs(), rounded)
    }
}

/// Clears the driving flag even if a waker panics.
struct Driving<'a>(&'a AtomicBool);

impl Drop for Driving<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl<D: Driver> Driver for TimerDriver<D> {
    /// Parks until woken, until `timeout`, or until the next timer is due,
    /// firing expired timers before and after. See [`TimerDriver`] for the
    /// two modes (system clock and virtual time).
    fn park(&self, timeout: Option<Duration>) -> bool {
        if self
            .driving
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let _driving = Driving(&self.driving);
        match self.shared.mock() {
            None => self.park_system(timeout),
            Some(clock) => {
                let clock = clock.clone();
                self.park_virtual(&clock, timeout);
            }
        }
        true
    }

    fn unparker(&self) -> Unparker {
        Unparker::new(FlagUnpark {
            notified: self.notified.clone(),
            inner: self.inner.unparker(),
        })
    }
}

impl<D: Driver + fmt::Debug> fmt::Debug for TimerDriver<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerDriver")
            .field("inner", &self.inner)
            .field("paused", &self.shared.mock().is_some())
            .field("pending", &self.shared.pending())
            .finish_non_exhaustive()
    }
}

/// The global timer: a [`TimerDriver`] on a plain thread parker, driven by
/// one background thread named `tulipa-timer`, started on first use; what
/// [`TimerHandle::current`] falls back to outside every runtime.
///
/// # Panics
///
/// Panics if that thread cannot be spawned.
pub(crate) fn global() -> &'static TimerHandle {
    static GLOBAL: OnceLock<TimerHandle> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let driver = TimerDriver::new(ThreadParker::new());
        let handle = driver.handle();
        std::thread::Builder::new()
            .name("tulipa-timer".into())
            .spawn(move || loop {
                driver.park(None);
            })
            .expect("failed to spawn the global `tulipa-timer` thread");
        handle
    })
}
