//! asyncio's `wait` with a timeout, and `shield`: the parts of the task
//! toolkit that need the runtime (a timer, spawning), layered on the
//! combinators (`tulipa_future::combinators`), which know
//! neither.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tulipa_future::combinators::{WaitMode, WaitOutcome};

use crate::task::{JoinError, JoinHandle};

/// Waits for `futures` (typically `JoinHandle`s) until `mode` is satisfied
/// or `timeout` passes; returns the outputs of those that finished and the
/// ones still pending (asyncio's `wait(aws, timeout=, return_when=)`).
///
/// On timeout nothing is cancelled or lost: whatever finished is in
/// `done`, the rest in `pending` (their tasks keep running). A failure for
/// [`WaitMode::FirstException`] is an `Err` output: for `JoinHandle`s, a
/// panic or cancellation (see
/// [`combinators::wait`](tulipa_future::combinators::wait)).
///
/// # Cancel safety
///
/// Dropping the future drops the futures it holds; dropped `JoinHandle`s
/// detach, so their tasks run on.
///
/// # Panics
///
/// With a timeout, panics outside a runtime (the timer needs one).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa::future::{wait, WaitMode};
///
/// let rt = tulipa::Runtime::builder().current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let quick = tulipa::spawn(async { 1 });
///     let slow = tulipa::spawn(async {
///         tulipa::time::sleep(Duration::from_secs(60)).await;
///         2
///     });
///     let out = wait([quick, slow], WaitMode::AllCompleted, Some(Duration::from_secs(1))).await;
///     assert_eq!(out.done.len(), 1);
///     assert_eq!(out.pending.len(), 1); // still running
///     let (_, slow) = out.pending.into_iter().next().unwrap();
///     assert_eq!(slow.await.unwrap(), 2);
/// });
/// ```
pub async fn wait<I, T, E>(
    futures: I,
    mode: WaitMode,
    timeout: Option<Duration>,
) -> WaitOutcome<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
    <I::Item as IntoFuture>::IntoFuture: Unpin,
{
    let mut waiting = tulipa_future::combinators::wait(futures, mode);
    match timeout {
        None => waiting.await,
        Some(d) => match crate::time::timeout(d, &mut waiting).await {
            Ok(outcome) => outcome,
            Err(_elapsed) => waiting.into_outcome(),
        },
    }
}

/// Runs `future` as its own task, protected from the caller's cancellation
/// (asyncio's `shield`).
///
/// In Rust, cancelling a future means dropping it. `shield` spawns the
/// future so that dropping the returned [`Shield`] (a `select` losing, a
/// timeout firing, the enclosing task being cancelled or its
/// [`TaskGroup`](crate::task::TaskGroup) failing) does not stop it: it runs
/// to completion and its output is dropped. Use it for work that must not
/// be torn halfway (committing a transaction, flushing a log).
///
/// Awaiting the `Shield` gives the task's result. Unlike asyncio, the
/// shielded task can still be cancelled on purpose:
/// [`Shield::into_handle`] gives its `JoinHandle`.
///
/// # Panics
///
/// Panics outside a runtime, as [`spawn`](crate::spawn).
///
/// # Cancel safety
///
/// That is its point: dropping the `Shield` leaves the work running.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let rt = tulipa::Runtime::builder().current_thread().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = std::sync::mpsc::channel();
///     let commit = tulipa::future::shield(async move {
///         tulipa::time::sleep(Duration::from_secs(5)).await;
///         tx.send("committed").unwrap();
///     });
///     // The caller gives up after 1 s; the commit goes on.
///     assert!(tulipa::time::timeout(Duration::from_secs(1), commit).await.is_err());
///     tulipa::time::sleep(Duration::from_secs(10)).await;
///     assert_eq!(rx.try_recv(), Ok("committed"));
/// });
/// ```
#[track_caller]
pub fn shield<F>(future: F) -> Shield<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Shield {
        handle: crate::spawn(future),
    }
}

/// Future returned by [`shield`]: the shielded task's result.
#[must_use = "dropping a Shield leaves the work running; await it for the result"]
pub struct Shield<T> {
    handle: JoinHandle<T>,
}

impl<T> Shield<T> {
    /// The shielded task's handle (to cancel it on purpose, or read its
    /// identity).
    pub fn into_handle(self) -> JoinHandle<T> {
        self.handle
    }
}

impl<T> Future for Shield<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.handle).poll(cx)
    }
}

impl<T> fmt::Debug for Shield<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shield")
            .field("task", &self.handle)
            .finish()
    }
}
