//! [`timeout`]: bound how long a future may take.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::handle::TimerHandle;
use crate::instant::Instant;
use crate::sleep::Sleep;

/// Runs `future` for at most `duration`, like asyncio's `wait_for`.
///
/// Returns `Ok` with the output if it completes first, or `Err(Elapsed)`
/// once the deadline passes; the inner future is then dropped with the
/// [`Timeout`]. The future is polled before the deadline is checked, so a
/// future that is ready on the poll where the deadline has passed still
/// counts as completed in time.
///
/// # Cancel safety
///
/// `Timeout` is exactly as cancel-safe as the future it wraps: dropping it
/// drops that future and cancels the timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_timer::{sleep, timeout};
///
/// futures_lite::future::block_on(async {
///     assert_eq!(timeout(Duration::from_secs(60), async { 7 }).await, Ok(7));
///
///     let slow = sleep(Duration::from_secs(60));
///     assert!(timeout(Duration::from_millis(1), slow).await.is_err());
/// });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    let handle = TimerHandle::current();
    let deadline = handle.now().saturating_add(duration);
    Timeout::new(future.into_future(), Sleep::new(handle, deadline))
}

/// Runs `future` until `deadline` at most; see [`timeout`].
///
/// # Cancel safety
///
/// As cancel-safe as the future it wraps (see [`timeout`]).
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout::new(
        future.into_future(),
        Sleep::new(TimerHandle::current(), deadline),
    )
}

pin_project_lite::pin_project! {
    /// A future with a deadline; returned by [`timeout`] and [`timeout_at`].
    ///
    /// Resolves to `Ok(output)` or, once the deadline passes first,
    /// `Err(Elapsed)`.
    ///
    /// # Cancel safety
    ///
    /// As cancel-safe as the wrapped future: dropping a `Timeout` drops it
    /// and cancels the timer.
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    fn new(future: F, sleep: Sleep) -> Timeout<F> {
        Timeout { future, sleep }
    }

    /// The deadline after which the wrapped future is abandoned.
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// The wrapped future, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut F> {
        self.project().future
    }

    /// Stops the timer and returns the wrapped future.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("deadline", &self.sleep.deadline())
            .finish()
    }
}

/// The error of a [`Timeout`] whose deadline passed first.
///
/// Prints as "deadline has elapsed".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    /// An [`ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut) error, for
    /// I/O code that uses `?` on a timeout.
    fn from(elapsed: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}
