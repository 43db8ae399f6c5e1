//! `FutureSet`: a growable set of `Unpin` futures that yields outputs in
//! completion order, polling only the futures that were woken.
//!
//! Storage is a `Vec<Option<F>>` indexed by insertion number (an index is
//! never reused, so it names the future for good); wakers and the ready
//! list come from [`ReadySet`]. Outputs of a batch are buffered in a queue
//! and handed out one by one, so `poll_next` polls at most one batch per
//! call and then yields to the executor.
//!
//! Memory: a slot (one `Option<F>`) and a waker slot (16 bytes) per future
//! ever pushed, and a shared block of wake flags per 64 futures while any
//! of them is pending; a long-lived set that sees millions of futures keeps
//! one empty slot pair for each.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::Stream;

use super::ready::ReadySet;

/// A set of futures run concurrently inside the task that polls it; their
/// outputs come out in completion order, each with the index `push`
/// returned.
///
/// The building block of [`as_completed`](super::as_completed),
/// [`wait`](super::wait) and tulipa's `TaskGroup`. Futures must be `Unpin`
/// (`JoinHandle`s are); pin others with `Box::pin`.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// use tulipa_future::combinators::FutureSet;
///
/// # futures_lite::future::block_on(async {
/// let mut set: FutureSet<_> = (1..=2).map(|i| Box::pin(async move { i })).collect();
/// let mut seen = Vec::new();
/// while let Some((index, out)) = set.next().await {
///     seen.push((index, out));
/// }
/// seen.sort();
/// assert_eq!(seen, [(0, 1), (1, 2)]);
/// # });
/// ```
pub struct FutureSet<F: Future> {
    slots: Vec<Option<F>>,
    ready: ReadySet,
    finished: VecDeque<(usize, F::Output)>,
    live: usize,
}

impl<F: Future + Unpin> Default for FutureSet<F> {
    fn default() -> Self {
        FutureSet::new()
    }
}

impl<F: Future + Unpin> FutureSet<F> {
    /// An empty set.
    pub fn new() -> FutureSet<F> {
        FutureSet {
            slots: Vec::new(),
            ready: ReadySet::with_len(0),
            finished: VecDeque::new(),
            live: 0,
        }
    }

    /// Adds a future; returns its index (0 for the first one pushed, then
    /// 1, 2, ...). It is first polled on the next `poll_next`.
    pub fn push(&mut self, future: F) -> usize {
        let index = self.ready.push();
        debug_assert_eq!(index, self.slots.len());
        self.slots.push(Some(future));
        self.live += 1;
        index
    }

    /// How many futures are pending, plus finished outputs not yet taken.
    pub fn len(&self) -> usize {
        self.live + self.finished.len()
    }

    /// Whether nothing is pending and no output is waiting to be taken.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many futures were ever pushed (the next index).
    pub fn pushed(&self) -> usize {
        self.slots.len()
    }

    /// The futures still pending, with their indices.
    pub fn iter_pending(&self) -> impl Iterator<Item = (usize, &F)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|f| (i, f)))
    }

    /// Removes and returns the futures still pending, with their indices,
    /// in index order. Finished outputs not yet taken stay.
    pub fn take_pending(&mut self) -> Vec<(usize, F)> {
        let out: Vec<_> = self
            .slots
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| s.take().map(|f| (i, f)))
            .collect();
        for (i, _) in &out {
            self.ready.forget(*i);
        }
        self.live = 0;
        out
    }

    /// Removes and returns the finished outputs not yet taken, in
    /// completion order.
    pub fn take_finished(&mut self) -> Vec<(usize, F::Output)> {
        self.finished.drain(..).collect()
    }

    /// Polls the woken futures (one batch) and returns the next output in
    /// completion order; `Ready(None)` when the set is empty.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        if let Some(out) = self.finished.pop_front() {
            return Poll::Ready(Some(out));
        }
        if self.live == 0 {
            return Poll::Ready(None);
        }
        let batch = self.ready.take_batch(cx);
        for (pos, &i) in batch.iter().enumerate() {
            let Some(future) = self.slots[i].as_mut() else {
                continue;
            };
            let mut child_cx = Context::from_waker(self.ready.waker(i));
            let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Pin::new(future).poll(&mut child_cx)
            }));
            match polled {
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(out)) => {
                    self.slots[i] = None;
                    self.live -= 1;
                    self.ready.forget(i);
                    self.finished.push_back((i, out));
                }
                Err(payload) => {
                    // A future that panicked cannot be polled again: drop
                    // it, keep the others listed, and let the panic go on.
                    self.slots[i] = None;
                    self.live -= 1;
                    self.ready.forget(i);
                    self.ready.relist(&batch[pos + 1..]);
                    std::panic::resume_unwind(payload)
                }
            }
        }
        self.ready.recycle(batch);
        match self.finished.pop_front() {
            Some(out) => Poll::Ready(Some(out)),
            None => Poll::Pending,
        }
    }
}

impl<F: Future + Unpin> Stream for FutureSet<F> {
    type Item = (usize, F::Output);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        FutureSet::poll_next(self.get_mut(), cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<F: Future + Unpin> Extend<F> for FutureSet<F> {
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for f in iter {
            self.push(f);
        }
    }
}

impl<F: Future + Unpin> FromIterator<F> for FutureSet<F> {
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = FutureSet::new();
        set.extend(iter);
        set
    }
}

// Nothing in a set is pinned: futures are polled through `Pin::new`, which
// needs `F: Unpin`, and outputs are plain values.
impl<F: Future> Unpin for FutureSet<F> {}

impl<F: Future> fmt::Debug for FutureSet<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureSet")
            .field("pending", &self.live)
            .field("finished", &self.finished.len())
            .finish()
    }
}
