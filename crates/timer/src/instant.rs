//! A clock-aware instant.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

use crate::handle::TimerHandle;

/// A point in monotonic time, read from the current timer's clock.
///
/// It wraps a [`std::time::Instant`] and converts to and from it for free.
/// The difference is [`Instant::now`]: inside a runtime with paused
/// (virtual) time it returns the virtual time, so code that measures time
/// with this type agrees with [`sleep`](crate::sleep) and friends.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_timer::Instant;
///
/// let t = Instant::now();
/// let later = t + Duration::from_secs(1);
/// assert_eq!(later - t, Duration::from_secs(1));
/// assert!(later > t);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// The current time of the timer entered on this thread (see
    /// [`TimerHandle::enter`]), or the system's monotonic time when no timer
    /// is entered. Does not start the global timer thread.
    pub fn now() -> Instant {
        TimerHandle::current_now().unwrap_or_else(|| Instant(std::time::Instant::now()))
    }

    /// Wraps a [`std::time::Instant`].
    pub fn from_std(std: std::time::Instant) -> Instant {
        Instant(std)
    }

    /// Returns the wrapped [`std::time::Instant`].
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is
    /// later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// The time elapsed from `earlier` to `self`, or `None` if `earlier` is
    /// later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is
    /// later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// The time elapsed since `self`, measured with [`Instant::now`] (so in
    /// virtual time inside a paused runtime).
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, or `None` if that is not representable.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_add(duration).map(Instant)
    }

    /// `self - duration`, or `None` if that is not representable.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        self.0.checked_sub(duration).map(Instant)
    }

    /// About thirty years after `self`: what "never" becomes when a
    /// deadline would not be representable.
    pub(crate) fn far_future(self) -> Instant {
        const YEAR: u64 = 365 * 24 * 60 * 60;
        [30 * YEAR, YEAR, 24 * 60 * 60]
            .iter()
            .find_map(|&secs| self.checked_add(Duration::from_secs(secs)))
            .unwrap_or(self)
    }

    /// `self + duration`, or [`far_future`](Instant::far_future) if that is
    /// not representable.
    pub(crate) fn saturating_add(self, duration: Duration) -> Instant {
        self.checked_add(duration)
            .unwrap_or_else(|| self.far_future())
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// Panics if the result is not representable; use
    /// [`checked_add`](Instant::checked_add) to handle that case.
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0 + rhs)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        self.0 += rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;

    /// # Panics
    ///
    /// Panics if the result is not representable; use
    /// [`checked_sub`](Instant::checked_sub) to handle that case.
    fn sub(self, rhs: Duration) -> Instant {
        Instant(self.0 - rhs)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        self.0 -= rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// The time from `rhs` to `self`, or zero if `rhs` is later.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
