//! Clocks: where "now" comes from.
//!
//! Timer code asks a [`Clock`] for the time instead of calling
//! [`Instant::now`] itself, so the same code runs on real time
//! ([`SystemClock`]) and on virtual time ([`MockClock`]), which moves only
//! when told to. Virtual time is how the timer is tested without sleeping
//! and how users get `start_paused` runtimes.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A source of monotonic time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant according to this clock.
    fn now(&self) -> Instant;

    /// Whether this clock only moves when told to (virtual time).
    fn is_virtual(&self) -> bool {
        false
    }
}

/// The operating system's monotonic clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that stands still until [`advance`](MockClock::advance)d.
///
/// Clones share the same time.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_core::{Clock, MockClock};
///
/// let clock = MockClock::new();
/// let t0 = clock.now();
/// clock.advance(Duration::from_secs(3));
/// assert_eq!(clock.now() - t0, Duration::from_secs(3));
/// ```
#[derive(Clone)]
pub struct MockClock {
    inner: Arc<MockInner>,
}

struct MockInner {
    base: Instant,
    /// Nanoseconds since `base`; only grows.
    offset_nanos: AtomicU64,
}

impl MockClock {
    /// Creates a mock clock that reads the real time once and then stands
    /// still.
    pub fn new() -> MockClock {
        MockClock::starting_at(Instant::now())
    }

    /// Creates a mock clock whose time starts at `start`.
    pub fn starting_at(start: Instant) -> MockClock {
        MockClock {
            inner: Arc::new(MockInner {
                base: start,
                offset_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Saturate instead of wrapping: time never goes backwards.
        let _ = self
            .inner
            .offset_nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                Some(cur.saturating_add(nanos))
            });
    }

    /// Moves the clock forward to `to`; does nothing if `to` is not later
    /// than the clock's time (time never goes backwards).
    pub fn advance_to(&self, to: Instant) {
        let Some(target) = to.checked_duration_since(self.inner.base) else {
            return;
        };
        let target = u64::try_from(target.as_nanos()).unwrap_or(u64::MAX);
        self.inner.offset_nanos.fetch_max(target, Ordering::AcqRel);
    }
}

impl Default for MockClock {
    fn default() -> Self {
        MockClock::new()
    }
}

impl Clock for MockClock {
    #[inline]
    fn now(&self) -> Instant {
        self.inner.base + Duration::from_nanos(self.inner.offset_nanos.load(Ordering::Acquire))
    }

    fn is_virtual(&self) -> bool {
        true
    }
}

impl fmt::Debug for MockClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockClock")
            .field(
                "elapsed",
                &Duration::from_nanos(self.inner.offset_nanos.load(Ordering::Acquire)),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_never_goes_backwards() {
        let c = MockClock::new();
        let t0 = c.now();
        c.advance(Duration::from_millis(10));
        c.advance_to(t0);
        assert_eq!(c.now() - t0, Duration::from_millis(10));
        c.advance_to(t0 + Duration::from_secs(1));
        assert_eq!(c.now() - t0, Duration::from_secs(1));
        assert!(c.is_virtual());
        assert!(!SystemClock.is_virtual());
    }

    #[test]
    fn clones_share_time() {
        let a = MockClock::new();
        let b = a.clone();
        let t0 = a.now();
        b.advance(Duration::from_secs(2));
        assert_eq!(a.now() - t0, Duration::from_secs(2));
    }
}
