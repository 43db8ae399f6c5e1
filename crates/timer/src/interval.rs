//! [`Interval`]: ticks at a fixed period.
//!
//! An interval is a [`Sleep`] re-armed after every tick. Each tick has a
//! *scheduled* instant (what [`Interval::tick`] returns); the next one is
//! the previous scheduled instant plus the period, unless the tick was taken
//! so late that the next scheduled instant had already passed. Then a tick
//! was *missed*, and [`MissedTickBehavior`] decides what comes next.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::handle::TimerHandle;
use crate::instant::Instant;
use crate::sleep::Sleep;

/// Ticks every `period`, the first tick at once.
///
/// # Panics
///
/// Panics if `period` is zero; use [`try_interval`] to get an error instead.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_timer::interval;
///
/// futures_lite::future::block_on(async {
///     let mut every = interval(Duration::from_millis(2));
///     let first = every.tick().await; // at once
///     let second = every.tick().await; // 2 ms later
///     assert_eq!(second - first, Duration::from_millis(2));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    match try_interval(period) {
        Ok(interval) => interval,
        Err(_) => panic!(
            "`interval` period must be non-zero; pass a positive Duration, \
             or call `try_interval` to handle a zero period as an error"
        ),
    }
}

/// Ticks every `period`, the first tick at once.
///
/// # Errors
///
/// Returns [`ZeroPeriod`] if `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_timer::try_interval;
///
/// assert!(try_interval(Duration::ZERO).is_err());
/// assert!(try_interval(Duration::from_secs(1)).is_ok());
/// ```
#[track_caller]
pub fn try_interval(period: Duration) -> Result<Interval, ZeroPeriod> {
    if period.is_zero() {
        return Err(ZeroPeriod(()));
    }
    let handle = TimerHandle::current();
    let start = handle.now();
    Ok(Interval::new(handle, start, period))
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
///
/// Panics if `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "`interval_at` period must be non-zero; pass a positive Duration"
    );
    Interval::new(TimerHandle::current(), start, period)
}

/// What an [`Interval`] does after a tick was missed (taken so late that the
/// next scheduled tick had already passed).
///
/// The timelines below use a 10 ms period starting at 0: ticks are scheduled
/// at 0, 10, 20, ... and the task ticks on time at 0 and 10, then stalls and
/// asks for the next tick at 35 ms. The numbers are the instants `tick()`
/// returns and, in brackets, when it returns them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MissedTickBehavior {
    /// Catch up: return every missed tick at once, back to back, then
    /// continue on the original schedule.
    ///
    /// ```text
    /// 0 [0], 10 [10], 20 [35], 30 [35], 40 [40], 50 [50], ...
    /// ```
    #[default]
    Burst,
    /// Restart the schedule: return the late tick, and schedule the next one
    /// a full period after the moment it was taken.
    ///
    /// ```text
    /// 0 [0], 10 [10], 20 [35], 45 [45], 55 [55], ...
    /// ```
    Delay,
    /// Drop the missed ticks: return the late tick, then continue with the
    /// first tick of the original schedule that is still in the future.
    ///
    /// ```text
    /// 0 [0], 10 [10], 20 [35], 40 [40], 50 [50], ...
    /// ```
    Skip,
}

/// Ticks at a fixed period; see [`interval`].
///
/// Await [`tick`](Interval::tick), or use it as a never-ending
/// [`Stream`](futures_lite::Stream) of tick instants.
pub struct Interval {
    sleep: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    #[track_caller]
    fn new(handle: TimerHandle, start: Instant, period: Duration) -> Interval {
        Interval {
            sleep: Sleep::new(handle, start),
            period,
            missed: MissedTickBehavior::default(),
        }
    }

    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the schedule only moves when a tick is returned, so
    /// dropping the future before it completes loses no tick.
    #[track_caller]
    pub fn tick(&mut self) -> impl std::future::Future<Output = Instant> + '_ {
        tulipa_core::await_point::track(async move { poll_fn(|cx| self.poll_tick(cx)).await })
    }

    /// Polls for the next tick, returning its scheduled instant when due.
    ///
    /// When it returns `Pending`, the waker of `cx` (the latest one passed)
    /// is woken at the tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.sleep.deadline();
        let now = self.sleep.handle().now();
        let on_schedule = scheduled.saturating_add(self.period);
        let next = if now < on_schedule {
            on_schedule
        } else {
            match self.missed {
                MissedTickBehavior::Burst => on_schedule,
                MissedTickBehavior::Delay => now.saturating_add(self.period),
                MissedTickBehavior::Skip => {
                    let period = self.period.as_nanos();
                    let behind = (now - scheduled).as_nanos();
                    let steps = behind / period + 1;
                    scheduled.saturating_add(nanos(steps.saturating_mul(period)))
                }
            }
        };
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let now = self.sleep.handle().now();
        self.sleep.reset(now.saturating_add(self.period));
    }

    /// Restarts the schedule with the next tick at `at`.
    pub fn reset_at(&mut self, at: Instant) {
        self.sleep.reset(at);
    }

    /// The scheduled instant of the next tick.
    pub fn next_tick(&self) -> Instant {
        self.sleep.deadline()
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens after a missed tick.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets what happens after a missed tick.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

impl futures_lite::Stream for Interval {
    type Item = Instant;

    /// Yields the scheduled instant of each tick; never ends.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

fn nanos(n: u128) -> Duration {
    const PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(n / PER_SEC) {
        Ok(secs) => Duration::new(secs, (n % PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next_tick", &self.sleep.deadline())
            .field("period", &self.period)
            .field("missed_tick_behavior", &self.missed)
            .finish()
    }
}

/// The error of [`try_interval`] when the period is zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZeroPeriod(());

impl fmt::Display for ZeroPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "interval period must be non-zero; pass a positive Duration \
             such as Duration::from_millis(1)",
        )
    }
}

impl std::error::Error for ZeroPeriod {}
