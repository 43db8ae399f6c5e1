//! Time: sleeping, timeouts, intervals, and virtual time for tests.
//!
//! asyncio's `timeout(delay)` / `timeout_at(when)` / `wait_for(f, delay)`
//! are [`timeout`] and [`timeout_at`] (a `None` delay sets no deadline);
//! its `Timeout` object (`when()`, `reschedule()`, `expired()`) is a
//! [`TimeoutHandle`], which the timed code receives from [`timeout_with`]
//! (`async with timeout(d) as cm:`). Nested timeouts follow asyncio's rule:
//! when several have expired, the outermost one reports.
//!
//! Everything here reads the current runtime's clock, which is virtual in a
//! runtime built with [`Builder::start_paused`](crate::Builder::start_paused).

use std::time::Duration;

pub use tulipa_timer::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, timeout_at_with, timeout_with,
    try_interval, Elapsed, Instant, Interval, MissedTickBehavior, Sleep, Timeout, TimeoutEnded,
    TimeoutHandle, ZeroPeriod,
};

/// Moves a paused runtime's virtual time forward by `by`, firing (in
/// deadline order) every timer that falls due, then yields so woken tasks
/// run.
///
/// # Panics
///
/// Panics if the current runtime is not paused: build it with
/// `Runtime::builder().start_paused(true)`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = tulipa::Runtime::builder().current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = tulipa::time::Instant::now();
///     tulipa::time::advance(Duration::from_secs(3600)).await;
///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// });
/// ```
pub async fn advance(by: Duration) {
    let timers = tulipa_timer::TimerHandle::current();
    if timers.advance(by).is_err() {
        panic!(
            "tulipa::time::advance needs a paused clock: build the runtime with \
             Runtime::builder().start_paused(true)"
        );
    }
    crate::task::yield_now().await;
}
