//! `as_completed`: a stream of outputs in the order the futures finish.
//!
//! Built on [`Slots`] and [`drive`]: one batch of woken futures is polled
//! per `poll_next` that finds no buffered output, and the outputs of that
//! batch are buffered and handed out in the order they finished.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::Stream;

use super::ready::ReadySet;
use super::slots::{drive, Slots};

/// Runs `futures` concurrently in the calling task and yields their outputs
/// in completion order (asyncio's `as_completed`).
///
/// Over `JoinHandle`s the items are the tasks' results,
/// `Result<T, JoinError>`. Use [`AsCompleted::indexed`] to learn which
/// future each output came from. asyncio's `timeout=` argument maps to
/// wrapping each `next()` in a timeout (`tulipa::time::timeout`); the
/// stream stays usable after a timeout.
///
/// # Cancel safety
///
/// Dropping the stream drops the futures still pending. Dropping a
/// `JoinHandle` detaches its task, so tasks keep running; cancel them
/// first if they should stop. Dropping one `next()` loses nothing: outputs
/// are buffered in the stream.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// use tulipa_future::combinators::as_completed;
///
/// # futures_lite::future::block_on(async {
/// let slow = async move { futures_lite::future::yield_now().await; "slow" };
/// let fast = async { "fast" };
/// let futures: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = &str>>>> =
///     vec![Box::pin(slow), Box::pin(fast)];
/// let order: Vec<_> = as_completed(futures).collect().await;
/// assert_eq!(order, ["fast", "slow"]);
/// # });
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let futures: Vec<_> = futures.into_iter().map(IntoFuture::into_future).collect();
    let n = futures.len();
    AsCompleted {
        inner: Completions {
            slots: Slots::new(futures),
            ready: ReadySet::with_len(n),
            finished: VecDeque::new(),
        },
    }
}

struct Completions<F: Future> {
    slots: Slots<F>,
    ready: ReadySet,
    finished: VecDeque<(usize, F::Output)>,
}

impl<F: Future> Completions<F> {
    fn poll_next(&mut self, cx: &Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        if let Some(out) = self.finished.pop_front() {
            return Poll::Ready(Some(out));
        }
        if self.slots.live() == 0 {
            return Poll::Ready(None);
        }
        let finished = &mut self.finished;
        drive(&mut self.slots, &mut self.ready, cx, |i, out| {
            finished.push_back((i, out));
            false
        });
        match self.finished.pop_front() {
            Some(out) => Poll::Ready(Some(out)),
            None => Poll::Pending,
        }
    }

    fn len(&self) -> usize {
        self.slots.live() + self.finished.len()
    }
}

/// Stream returned by [`as_completed`]: outputs in completion order.
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F: Future> {
    inner: Completions<F>,
}

impl<F: Future> AsCompleted<F> {
    /// Yields `(index, output)` instead, where `index` is the future's
    /// position in the input.
    pub fn indexed(self) -> AsCompletedIndexed<F> {
        AsCompletedIndexed { inner: self.inner }
    }

    /// How many outputs are still to come.
    pub fn remaining(&self) -> usize {
        self.inner.len()
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.get_mut()
            .inner
            .poll_next(cx)
            .map(|o| o.map(|(_, v)| v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.inner.len(), Some(self.inner.len()))
    }
}

// Outputs are never pinned, and the futures live in their own pinned
// allocation.
impl<F: Future> Unpin for AsCompleted<F> {}

impl<F: Future> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.inner.len())
            .finish()
    }
}

/// Stream returned by [`AsCompleted::indexed`]: `(index, output)` in
/// completion order.
#[must_use = "streams do nothing unless polled"]
pub struct AsCompletedIndexed<F: Future> {
    inner: Completions<F>,
}

impl<F: Future> AsCompletedIndexed<F> {
    /// How many outputs are still to come.
    pub fn remaining(&self) -> usize {
        self.inner.len()
    }
}

impl<F: Future> Stream for AsCompletedIndexed<F> {
    type Item = (usize, F::Output);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.inner.len(), Some(self.inner.len()))
    }
}

impl<F: Future> Unpin for AsCompletedIndexed<F> {}

impl<F: Future> fmt::Debug for AsCompletedIndexed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompletedIndexed")
            .field("remaining", &self.inner.len())
            .finish()
    }
}
