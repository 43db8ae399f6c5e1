//! `gather`, `try_gather` and `select` over any number of futures of one
//! type, run concurrently inside the task that awaits them.
//!
//! All three keep the futures pinned in one allocation ([`Slots`]) and poll
//! only the ones whose wakers fired ([`ReadySet`]), so finishing N futures
//! costs O(N) polls in total, not O(N²) as with polling every future on
//! every wake-up.
//!
//! State machine of each: *running* (some futures pending) then *done*
//! (the output was returned); polling a done combinator panics. `try_gather`
//! and `select` drop every other future the moment they decide.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ready::ReadySet;
use super::slots::{drive, Slots};

/// Runs `futures` concurrently in the calling task and returns their
/// outputs in argument order (asyncio's `gather(*aws)`).
///
/// Unlike asyncio, nothing is spawned: the futures run inside the task that
/// awaits the `Gather` (on its thread, one at a time), which is cheap and
/// lets them borrow from that task. To run them in parallel on several
/// workers, spawn them and gather the `JoinHandle`s. For futures of
/// different types, use [`gather!`](crate::gather!).
///
/// Each future is polled only when its own waker fired, so gathering
/// 100,000 futures costs about 100,000 polls plus the ones each future
/// needs itself.
///
/// # Cancel safety
///
/// Dropping the `Gather` drops every future it still holds; the outputs of
/// those already finished are lost.
///
/// # Panics
///
/// A panic in one of the futures propagates out of the `.await` (and fails
/// the task); the other futures are dropped with the `Gather`.
///
/// # Examples
///
/// ```
/// use tulipa_future::combinators::gather;
///
/// # futures_lite::future::block_on(async {
/// let squares = gather((1..=4).map(|i| async move { i * i })).await;
/// assert_eq!(squares, [1, 4, 9, 16]);
/// # });
/// ```
pub fn gather<I>(futures: I) -> Gather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let futures: Vec<_> = futures.into_iter().map(IntoFuture::into_future).collect();
    let n = futures.len();
    let mut outputs = Vec::with_capacity(n);
    outputs.resize_with(n, || None);
    Gather {
        slots: Slots::new(futures),
        ready: ReadySet::with_len(n),
        outputs,
        done: false,
    }
}

/// Future returned by [`gather`].
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<F: Future> {
    slots: Slots<F>,
    ready: ReadySet,
    outputs: Vec<Option<F::Output>>,
    done: bool,
}

impl<F: Future> Gather<F> {
    /// How many futures have not finished yet.
    pub fn pending(&self) -> usize {
        self.slots.live()
    }
}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "Gather polled after it returned its output");
        if this.slots.live() > 0 {
            let outputs = &mut this.outputs;
            drive(&mut this.slots, &mut this.ready, cx, |i, out| {
                outputs[i] = Some(out);
                false
            });
            if this.slots.live() > 0 {
                return Poll::Pending;
            }
        }
        this.done = true;
        let outputs = std::mem::take(&mut this.outputs);
        Poll::Ready(
            outputs
                .into_iter()
                .map(|o| o.expect("every gathered future finished"))
                .collect(),
        )
    }
}

// Outputs and errors are never pinned; the futures are pinned in their own
// allocation (`Slots`), so moving the combinator moves no pinned data.
impl<F: Future> Unpin for Gather<F> {}

impl<F: Future> fmt::Debug for Gather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("futures", &self.slots.len())
            .field("pending", &self.slots.live())
            .finish()
    }
}

/// Runs fallible `futures` concurrently in the calling task; returns all
/// their values in argument order, or the first error.
///
/// The first future to finish with `Err` wins: every other future is
/// dropped at once (cancelled, in asyncio's words) and its error is
/// returned. This is asyncio's `gather` with `return_exceptions=False`,
/// except that asyncio leaves the other awaitables running; here they are
/// dropped, as a `TaskGroup` would cancel them. For futures of different
/// types use [`try_gather!`](crate::try_gather!).
///
/// # Gathering tasks
///
/// `try_gather` over `JoinHandle`s sees `Result<T, JoinError>`: a task that
/// panicked or was cancelled is the error. Dropping the other handles does
/// **not** stop their tasks (a dropped `JoinHandle` detaches), so on an
/// error the other tasks run on. To cancel them too, spawn them in a
/// `TaskGroup` (`tulipa::task::TaskGroup`), whose join cancels the rest on
/// the first failure. For tasks that return `Result<T, E>`, flatten first:
/// `handle.map(|r| r.map_err(MyError::from).and_then(|r| r))`.
///
/// # Cancel safety
///
/// Dropping the future drops every future it still holds.
///
/// # Examples
///
/// ```
/// use tulipa_future::combinators::try_gather;
///
/// # futures_lite::future::block_on(async {
/// let ok = try_gather((1..=3).map(|i| async move { Ok::<_, String>(i) })).await;
/// assert_eq!(ok, Ok(vec![1, 2, 3]));
///
/// let err = try_gather((1..=3).map(|i| async move {
///     if i == 2 { Err(format!("{i} failed")) } else { Ok(i) }
/// }))
/// .await;
/// assert_eq!(err, Err("2 failed".to_string()));
/// # });
/// ```
pub fn try_gather<I, T, E>(futures: I) -> TryGather<<I::Item as IntoFuture>::IntoFuture, T, E>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    let futures: Vec<_> = futures.into_iter().map(IntoFuture::into_future).collect();
    let n = futures.len();
    let mut outputs = Vec::with_capacity(n);
    outputs.resize_with(n, || None);
    TryGather {
        slots: Slots::new(futures),
        ready: ReadySet::with_len(n),
        outputs,
        error: None,
        done: false,
    }
}

/// Future returned by [`try_gather`].
#[must_use = "futures do nothing unless awaited"]
pub struct TryGather<F, T, E> {
    slots: Slots<F>,
    ready: ReadySet,
    outputs: Vec<Option<T>>,
    error: Option<E>,
    done: bool,
}

impl<F, T, E> Future for TryGather<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "TryGather polled after it returned its output");
        if this.slots.live() > 0 {
            let outputs = &mut this.outputs;
            let error = &mut this.error;
            let failed = drive(&mut this.slots, &mut this.ready, cx, |i, out| match out {
                Ok(v) => {
                    outputs[i] = Some(v);
                    false
                }
                Err(e) => {
                    *error = Some(e);
                    true
                }
            });
            if failed {
                this.slots.clear();
                this.done = true;
                this.outputs = Vec::new();
                let e = this.error.take().expect("the failing future's error");
                return Poll::Ready(Err(e));
            }
            if this.slots.live() > 0 {
                return Poll::Pending;
            }
        }
        this.done = true;
        let outputs = std::mem::take(&mut this.outputs);
        Poll::Ready(Ok(outputs
            .into_iter()
            .map(|o| o.expect("every gathered future finished"))
            .collect()))
    }
}

impl<F, T, E> Unpin for TryGather<F, T, E> {}

impl<F, T, E> fmt::Debug for TryGather<F, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("futures", &self.slots.len())
            .field("pending", &self.slots.live())
            .finish()
    }
}

/// Runs `futures` concurrently in the calling task until the first one
/// finishes; returns its output and its index, and drops all the others.
///
/// Ties (several ready in the same poll) go to the one whose waker fired
/// first; on the first poll, to the lowest index. For two futures of one
/// type, `futures_lite::future::or` (biased) and `race` (random) do the
/// same without the index.
///
/// # Panics
///
/// Panics if `futures` is empty: there would be no winner, ever.
///
/// # Cancel safety
///
/// The losers are dropped (cancelled) as soon as the winner finishes, and
/// dropping the `Select` drops them all.
///
/// # Examples
///
/// ```
/// use tulipa_future::combinators::select;
///
/// # futures_lite::future::block_on(async {
/// let fast = async { "fast" };
/// let never = async { futures_lite::future::pending::<&str>().await };
/// let futures: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = &str>>>> =
///     vec![Box::pin(never), Box::pin(fast)];
/// assert_eq!(select(futures).await, ("fast", 1));
/// # });
/// ```
#[track_caller]
pub fn select<I>(futures: I) -> Select<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let futures: Vec<_> = futures.into_iter().map(IntoFuture::into_future).collect();
    assert!(
        !futures.is_empty(),
        "select needs at least one future: with none there is no winner and it would never finish"
    );
    let n = futures.len();
    Select {
        slots: Slots::new(futures),
        ready: ReadySet::with_len(n),
        done: false,
    }
}

/// Future returned by [`select`].
#[must_use = "futures do nothing unless awaited"]
pub struct Select<F> {
    slots: Slots<F>,
    ready: ReadySet,
    done: bool,
}

impl<F: Future> Future for Select<F> {
    type Output = (F::Output, usize);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "Select polled after it returned its output");
        let mut winner = None;
        drive(&mut this.slots, &mut this.ready, cx, |i, out| {
            winner = Some((out, i));
            true
        });
        match winner {
            Some(w) => {
                this.done = true;
                this.slots.clear();
                Poll::Ready(w)
            }
            None => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Select<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("futures", &self.slots.len())
            .field("done", &self.done)
            .finish()
    }
}
