//! tulipa's timer: sleeps, intervals and timeouts on top of any driver.
//!
//! # Pieces
//!
//! - [`wheel`]: a hierarchical timing wheel, a pure data structure with O(1)
//!   insert and cancel (its module docs describe the layout, the levels and
//!   cascading).
//! - [`TimerDriver`]: wraps any [`tulipa_core::Driver`] (a plain
//!   [`ThreadParker`](tulipa_core::ThreadParker), the reactor, ...). Its
//!   `park` shortens the inner park to the next deadline and fires expired
//!   timers after each park. It knows nothing about executors.
//! - [`TimerHandle`]: the cloneable handle futures use to register timers,
//!   read the clock, and (with virtual time) move the clock.
//! - The futures: [`sleep`] / [`Sleep`], [`timeout`] / [`Timeout`] (with
//!   asyncio's `Timeout` object as [`TimeoutHandle`]; the `timeout` module
//!   docs describe how nested timeouts decide which one expires),
//!   [`interval`] / [`Interval`], and a clock-aware [`Instant`].
//!
//! # Time
//!
//! A timer driver reads either the system's monotonic clock or a
//! [`MockClock`](tulipa_core::MockClock) (virtual, "paused" time: it moves
//! only by [`TimerHandle::advance`] or by auto-advance when the runtime is
//! idle). The wheel counts *ticks*, whole milliseconds since the driver's
//! start. A deadline is rounded **up** to the next tick and "now" **down**,
//! so a timer never fires before its deadline; it may fire up to about a
//! millisecond late, plus scheduling delay.
//!
//! # Shared state and lock order
//!
//! The driver and every handle share one `Arc` holding the clock and a
//! `Mutex` around the wheel, whose entries are the wakers of pending
//! [`Sleep`]s. That mutex is a leaf: nothing else is locked while it is held,
//! and no waker is woken *or dropped* under it. Expiry pops wakers into a
//! local batch under the lock, releases it, then wakes them; cancellation
//! removes the waker under the lock and drops it after. The driver's idle
//! probe is cloned out of its own mutex before it is called, never under the
//! wheel lock.
//!
//! # Waking the driver
//!
//! While the driver is parked it records (under the wheel lock) the tick it
//! will wake at. Registering a timer that is due *earlier* than that calls the
//! inner driver's [`Unparker`](tulipa_core::Unparker) so the park is
//! recomputed, and lowers the recorded tick; a later deadline does not unpark,
//! which keeps registering a million timers cheap.
//!
//! # Without a runtime
//!
//! [`TimerHandle::current`] falls back to a global timer driven by one
//! background thread named `tulipa-timer`, started on first use, so a sleep
//! works under any `block_on`:
//!
//! ```
//! use std::time::Duration;
//! use tulipa_timer::{sleep, Instant};
//!
//! futures_lite::future::block_on(async {
//!     let start = Instant::now();
//!     sleep(Duration::from_millis(5)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(5));
//! });
//! ```
#![forbid(unsafe_code)]

pub mod wheel;

mod driver;
mod handle;
mod instant;
mod interval;
mod sleep;
mod timeout;

pub use driver::TimerDriver;
pub use handle::{EnterGuard, NotPaused, TimerHandle};
pub use instant::Instant;
pub use interval::{interval, interval_at, try_interval, Interval, MissedTickBehavior, ZeroPeriod};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{
    timeout, timeout_at, timeout_at_with, timeout_with, Elapsed, Timeout, TimeoutEnded,
    TimeoutHandle,
};
