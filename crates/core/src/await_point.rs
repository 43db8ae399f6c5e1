//! Await points: where in the user's code a task is waiting.
//!
//! A task dump ([`Handle::dump`] in the facade) names, for every idle task,
//! the source line of the tulipa future it is suspended at: the
//! `mutex.lock()`, the `rx.recv()`, the `sleep(..)`. The crates that own
//! those futures (sync, channel, timer, net, process) do not know the
//! executor, so the hand-off goes through this module:
//!
//! 1. Each waiting future takes its caller's location with
//!    `#[track_caller]` when it is created (a `&'static Location`: no
//!    allocation), and calls [`set`] when it returns `Pending`.
//! 2. The executor calls [`clear`] before each poll of a task and [`take`]
//!    after it, and stores what it got in the task's metadata. A poll that
//!    returned `Pending` without any tulipa future calling [`set`] waits on
//!    something tulipa does not know (a foreign future, a hand-written
//!    `poll_fn`): the executor keeps the previous point and marks it as only
//!    the last one known.
//!
//! [`set`] is one thread-local store; outside a task poll (a future polled
//! by another runtime or by a plain `block_on`), nobody reads it.
//!
//! Where `#[track_caller]` cannot reach (an `async fn`, a trait method such
//! as `AsyncRead::poll_read`), a crate writes the function as a plain `fn`
//! returning [`track`]`(async move { .. })`, which captures the caller's
//! location and records it on every `Pending`.
//!
//! [`Handle::dump`]: https://docs.rs/tulipa/latest/tulipa/struct.Handle.html#method.dump
//!
//! # Examples
//!
//! ```
//! use std::panic::Location;
//! use tulipa_core::await_point;
//!
//! // An executor's view of one poll.
//! await_point::clear();
//! let here = Location::caller();
//! await_point::set(here); // what a waiting future does on `Pending`
//! assert_eq!(await_point::take(), Some(here));
//! assert_eq!(await_point::take(), None);
//! ```

use std::cell::Cell;
use std::future::Future;
use std::panic::Location;
use std::task::Poll;

thread_local! {
    /// The point recorded during the current poll, if any.
    static POINT: Cell<Option<&'static Location<'static>>> = const { Cell::new(None) };
}

/// Records `location` as the point where the task being polled on this
/// thread waits: called by a tulipa future that is about to return
/// `Pending`, with the location it captured when it was created.
#[inline]
pub fn set(location: &'static Location<'static>) {
    let _ = POINT.try_with(|p| p.set(Some(location)));
}

/// Forgets any recorded point: executors call it before a task's poll.
#[inline]
pub fn clear() {
    let _ = POINT.try_with(|p| p.set(None));
}

/// The point recorded since the last [`clear`] (the latest [`set`] wins),
/// and clears it: executors call it after a task's poll.
#[inline]
pub fn take() -> Option<&'static Location<'static>> {
    POINT.try_with(Cell::take).ok().flatten()
}

/// Wraps `future` so that each time it returns `Pending` it records its
/// caller's location (where `track` was called, or the caller of the
/// `#[track_caller]` function that called it) as the task's await point.
///
/// For waiting operations written as `async` code, whose functions cannot
/// carry `#[track_caller]` themselves: write
/// `#[track_caller] pub fn read(..) -> impl Future<..> { track(async move { .. }) }`.
///
/// # Examples
///
/// ```
/// use std::future::Future;
/// use std::task::{Context, Waker};
/// use tulipa_core::await_point;
///
/// let line = line!() + 1;
/// let mut waiting = Box::pin(await_point::track(std::future::pending::<()>()));
/// await_point::clear();
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(waiting.as_mut().poll(&mut cx).is_pending());
/// assert_eq!(await_point::take().unwrap().line(), line);
/// ```
#[track_caller]
pub fn track<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let location = Location::caller();
    async move {
        let mut future = std::pin::pin!(future);
        std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
            Poll::Pending => {
                set(location);
                Poll::Pending
            }
            ready => ready,
        })
        .await
    }
}
