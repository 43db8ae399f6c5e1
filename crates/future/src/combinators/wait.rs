//! `wait`: run a set of fallible futures until the first completes, the
//! first fails, or all complete, and hand back what finished and what did
//! not (asyncio's `wait`).
//!
//! Built on [`FutureSet`]. The futures must be `Unpin` (`JoinHandle`s are)
//! so the pending ones can be handed back. There is no timeout here: the
//! this crate knows no timer. [`Wait::into_outcome`] ends a wait early and
//! returns what it has, which is how a timeout is layered on top
//! (`tulipa::future::wait` races a `Wait` against `tulipa::time`).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::set::FutureSet;

/// When [`wait`] returns (asyncio's `return_when`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitMode {
    /// When any future finishes (`FIRST_COMPLETED`).
    FirstCompleted,
    /// When any future finishes with `Err` (`FIRST_EXCEPTION`); if none
    /// does, when all have finished. Over `JoinHandle`s an "exception" is a
    /// `JoinError` (`tulipa::task::JoinError`): a panic or a cancellation.
    FirstException,
    /// When every future has finished (`ALL_COMPLETED`).
    AllCompleted,
}

/// What [`wait`] returns: the outputs of the futures that finished, and the
/// futures that did not, each with its position in the input.
pub struct WaitOutcome<F: Future> {
    /// `(index, output)` of every future that finished, in completion order.
    pub done: Vec<(usize, F::Output)>,
    /// `(index, future)` of every future still pending, in index order.
    /// They were not cancelled: `JoinHandle`s here name tasks still running.
    pub pending: Vec<(usize, F)>,
}

impl<F: Future> fmt::Debug for WaitOutcome<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitOutcome")
            .field("done", &self.done.len())
            .field("pending", &self.pending.len())
            .finish()
    }
}

/// Runs `futures` concurrently in the calling task until `mode` is
/// satisfied; returns the outputs of those that finished and the futures
/// still pending (asyncio's `wait(aws, return_when=mode)`).
///
/// "Failure" means an output that is `Err`. Over `JoinHandle<T>` that is
/// the task's `JoinError` (`tulipa::task::JoinError`: panic or cancellation); a
/// task returning `Ok(Err(e))` completed normally. To count `Err(e)` from
/// tasks of `Result<T, E>` as a failure, flatten each handle first
/// (`futures_lite::FutureExt::map(handle, |r| ...)` keeps it `Unpin`).
///
/// Differences from asyncio: an empty input returns at once with nothing
/// done (asyncio raises `ValueError`); outputs are returned, not the
/// finished task objects (a `JoinHandle` gives its result only once); the
/// timeout lives in `tulipa::future::wait`, because this crate knows no
/// timer.
///
/// # Cancel safety
///
/// Dropping the `Wait` drops the futures it holds; dropped `JoinHandle`s
/// detach, so their tasks run on. Use [`Wait::into_outcome`] to stop
/// waiting without losing anything.
///
/// # Examples
///
/// ```
/// use tulipa_future::combinators::{wait, WaitMode};
///
/// # futures_lite::future::block_on(async {
/// let futures = vec![
///     Box::pin(async { Ok::<_, ()>(1) }) as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
///     Box::pin(futures_lite::future::pending()),
/// ];
/// let outcome = wait(futures, WaitMode::FirstCompleted).await;
/// assert_eq!(outcome.done, [(0, Ok(1))]);
/// assert_eq!(outcome.pending.len(), 1);
/// # });
/// ```
pub fn wait<I, T, E>(futures: I, mode: WaitMode) -> Wait<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
    <I::Item as IntoFuture>::IntoFuture: Unpin,
{
    Wait {
        set: futures.into_iter().map(IntoFuture::into_future).collect(),
        done: Vec::new(),
        mode,
        finished: false,
    }
}

/// Future returned by [`wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<F: Future> {
    set: FutureSet<F>,
    done: Vec<(usize, F::Output)>,
    mode: WaitMode,
    finished: bool,
}

impl<F: Future + Unpin> Wait<F> {
    /// Stops waiting and returns what finished so far and what is still
    /// pending: how a timeout ends a wait without losing anything.
    pub fn into_outcome(mut self) -> WaitOutcome<F> {
        self.outcome()
    }

    fn outcome(&mut self) -> WaitOutcome<F> {
        let mut done = std::mem::take(&mut self.done);
        done.extend(self.set.take_finished());
        WaitOutcome {
            done,
            pending: self.set.take_pending(),
        }
    }
}

impl<F, T, E> Future for Wait<F>
where
    F: Future<Output = Result<T, E>> + Unpin,
{
    type Output = WaitOutcome<F>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WaitOutcome<F>> {
        let this = self.get_mut();
        assert!(!this.finished, "Wait polled after it returned its outcome");
        loop {
            match this.set.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => break,
                Poll::Ready(Some((i, out))) => {
                    let failed = out.is_err();
                    this.done.push((i, out));
                    let stop = match this.mode {
                        WaitMode::FirstCompleted => true,
                        WaitMode::FirstException => failed,
                        WaitMode::AllCompleted => false,
                    };
                    if stop {
                        break;
                    }
                }
            }
        }
        this.finished = true;
        Poll::Ready(this.outcome())
    }
}

// As `FutureSet`: nothing inside is pinned.
impl<F: Future> Unpin for Wait<F> {}

impl<F: Future> fmt::Debug for Wait<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("mode", &self.mode)
            .field("done", &self.done.len())
            .field("set", &self.set)
            .finish()
    }
}
