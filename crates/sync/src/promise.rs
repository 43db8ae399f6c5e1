//! [`Promise`]: asyncio's `Future`, a value set once from anywhere and
//! awaited by any number of tasks.
//!
//! # Design
//!
//! Clones share one `Arc<Inner>`:
//!
//! - `outcome: OnceLock<Outcome<T>>` holds the value or the cancellation.
//!   It is written once and never changes, so readers borrow it without a
//!   lock: [`Promise::wait`] and [`Promise::try_get`] give `&T`, no
//!   `T: Clone` needed. Awaiting a `Promise` by value (`IntoFuture`)
//!   clones the value and needs `T: Clone`.
//! - `callbacks: Mutex<Callbacks>` holds the done-callbacks and the `done`
//!   flag. Completion (`set` or `cancel`) takes this lock, refuses if
//!   `done`, writes the outcome, sets `done` and takes the callbacks out;
//!   then, without the lock, it runs the callbacks in the order they were
//!   added and wakes every awaiter (as in asyncio, where an awaiting task
//!   is itself a done-callback queued after the earlier ones). An awaiter
//!   polled meanwhile already sees the outcome. `add_done_callback` takes the same
//!   lock: before completion it queues the callback, after it runs it at
//!   once, so every callback runs exactly once.
//! - `event: event_listener::Event` wakes awaiters: they register a
//!   listener and re-check the outcome before sleeping.
//!
//! # Errors as values
//!
//! asyncio's `set_exception` has no separate method: use a
//! `Promise<Result<T, E>>` and `set(Err(e))`. Awaiting it gives
//! `Result<Result<T, E>, PromiseError>`: the outer error is cancellation,
//! the inner one yours.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{ready, Context, Poll};

use event_listener::EventListener;

type Callback<T> = Box<dyn FnOnce(Result<&T, PromiseError>) + Send + 'static>;

enum Outcome<T> {
    Value(T),
    Cancelled,
}

impl<T> Outcome<T> {
    fn as_result(&self) -> Result<&T, PromiseError> {
        match self {
            Outcome::Value(v) => Ok(v),
            Outcome::Cancelled => Err(PromiseError::Cancelled),
        }
    }
}

struct Callbacks<T> {
    done: bool,
    list: Vec<Callback<T>>,
}

struct Inner<T> {
    outcome: OnceLock<Outcome<T>>,
    callbacks: Mutex<Callbacks<T>>,
    event: event_listener::Event,
}

/// A value that will be set once, awaitable by any number of clones
/// (asyncio's `Future`).
///
/// Created pending; completed once by [`set`](Promise::set) or
/// [`cancel`](Promise::cancel), from any thread. Every clone sees the same
/// outcome. For asyncio's `set_exception`, use `Promise<Result<T, E>>`
/// (awaiting it gives `Result<Result<T, E>, PromiseError>`: the outer
/// error is cancellation, the inner one yours).
///
/// # Examples
///
/// ```
/// use tulipa_sync::Promise;
///
/// let promise = Promise::new();
/// let setter = promise.clone();
/// promise.add_done_callback(|r| println!("done: {r:?}"));
/// std::thread::spawn(move || setter.set(7).unwrap());
/// futures_lite::future::block_on(async {
///     assert_eq!(promise.wait().await, Ok(&7));
///     assert_eq!(promise.clone().await, Ok(7)); // by value: T: Clone
/// });
/// assert!(promise.set(8).is_err()); // set once
/// ```
pub struct Promise<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Promise<T> {
    /// A new pending promise.
    pub fn new() -> Promise<T> {
        Promise {
            inner: Arc::new(Inner {
                outcome: OnceLock::new(),
                callbacks: Mutex::new(Callbacks {
                    done: false,
                    list: Vec::new(),
                }),
                event: event_listener::Event::new(),
            }),
        }
    }

    /// Sets the value (asyncio's `set_result`): runs the done-callbacks on
    /// this thread, then wakes every awaiter.
    ///
    /// # Errors
    ///
    /// [`InvalidStateError`] holding `value` if the promise was already
    /// set or cancelled.
    ///
    /// # Panics
    ///
    /// If a done-callback panics, the others still run, then the first
    /// panic is resumed here.
    pub fn set(&self, value: T) -> Result<(), InvalidStateError<T>> {
        self.complete(Outcome::Value(value)).map_err(|o| match o {
            Outcome::Value(v) => InvalidStateError(v),
            Outcome::Cancelled => unreachable!("set completes with a value"),
        })
    }

    /// Cancels the promise: awaiters get [`PromiseError::Cancelled`] and
    /// the done-callbacks run. Returns `false` (and does nothing) if it was
    /// already set or cancelled, as asyncio's `cancel`.
    ///
    /// # Panics
    ///
    /// As [`set`](Promise::set), if a done-callback panics.
    pub fn cancel(&self) -> bool {
        self.complete(Outcome::Cancelled).is_ok()
    }

    fn complete(&self, outcome: Outcome<T>) -> Result<(), Outcome<T>> {
        let mut callbacks = self.lock();
        if callbacks.done {
            return Err(outcome);
        }
        // `done` and `outcome` change together under this lock, so this
        // set cannot fail; `?` hands the outcome back if it ever did.
        self.inner.outcome.set(outcome)?;
        callbacks.done = true;
        let list = std::mem::take(&mut callbacks.list);
        drop(callbacks);
        let result = self.outcome_result();
        let mut panic = None;
        for callback in list {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(result))) {
                panic.get_or_insert(payload);
            }
        }
        self.inner.event.notify(usize::MAX);
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
        Ok(())
    }

    /// Runs `callback` once the promise is done (set or cancelled), or
    /// now, on this thread, if it already is. It runs exactly once, on the
    /// thread that completes the promise, before the awaiters are woken.
    ///
    /// asyncio schedules done-callbacks on the loop; to do that here, call
    /// `tulipa::Handle::call_soon` from the callback.
    ///
    /// # Panics
    ///
    /// If the promise is already done, a panic of `callback` propagates.
    pub fn add_done_callback<F>(&self, callback: F)
    where
        F: FnOnce(Result<&T, PromiseError>) + Send + 'static,
    {
        let mut callbacks = self.lock();
        if !callbacks.done {
            callbacks.list.push(Box::new(callback));
            return;
        }
        drop(callbacks);
        callback(self.outcome_result());
    }

    /// Whether the promise was set or cancelled.
    pub fn is_done(&self) -> bool {
        self.inner.outcome.get().is_some()
    }

    /// Whether the promise was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner.outcome.get(), Some(Outcome::Cancelled))
    }

    /// The outcome, if done: `Some(Ok(&value))`, `Some(Err(Cancelled))`,
    /// or `None` while pending (asyncio's `result()` without raising
    /// `InvalidStateError`).
    pub fn try_get(&self) -> Option<Result<&T, PromiseError>> {
        self.inner.outcome.get().map(Outcome::as_result)
    }

    /// Waits for the outcome and borrows it.
    ///
    /// # Errors
    ///
    /// [`PromiseError::Cancelled`] if the promise was cancelled.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: completion wakes every awaiter, so a dropped one takes
    /// nothing from the others.
    pub fn wait(&self) -> Wait<'_, T> {
        Wait {
            inner: &self.inner,
            listener: None,
        }
    }

    fn outcome_result(&self) -> Result<&T, PromiseError> {
        self.inner
            .outcome
            .get()
            .expect("called after completion")
            .as_result()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Callbacks<T>> {
        // Callbacks never run under this lock, so it is never poisoned by
        // user code.
        self.inner
            .callbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Polls for the outcome: checks, registers a listener, checks again,
/// sleeps.
fn poll_outcome<'a, T>(
    inner: &'a Inner<T>,
    listener: &mut Option<EventListener>,
    cx: &mut Context<'_>,
) -> Poll<&'a Outcome<T>> {
    loop {
        if let Some(outcome) = inner.outcome.get() {
            *listener = None;
            return Poll::Ready(outcome);
        }
        match listener {
            Some(l) => {
                ready!(Pin::new(l).poll(cx));
                *listener = None;
            }
            None => *listener = Some(inner.event.listen()),
        }
    }
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Default for Promise<T> {
    fn default() -> Self {
        Promise::new()
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.inner.outcome.get() {
            None => "pending",
            Some(Outcome::Value(_)) => "set",
            Some(Outcome::Cancelled) => "cancelled",
        };
        f.debug_struct("Promise").field("state", &state).finish()
    }
}

impl<T: Clone> IntoFuture for Promise<T> {
    type Output = Result<T, PromiseError>;
    type IntoFuture = Value<T>;

    /// Awaiting a promise by value clones the value out.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Promise::wait`].
    fn into_future(self) -> Value<T> {
        Value {
            inner: self.inner,
            listener: None,
        }
    }
}

impl<'a, T> IntoFuture for &'a Promise<T> {
    type Output = Result<&'a T, PromiseError>;
    type IntoFuture = Wait<'a, T>;

    /// Awaiting a reference borrows the value: [`Promise::wait`].
    fn into_future(self) -> Wait<'a, T> {
        self.wait()
    }
}

/// The future of [`Promise::wait`]: borrows the value.
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<'a, T> {
    inner: &'a Inner<T>,
    listener: Option<EventListener>,
}

impl<'a, T> Future for Wait<'a, T> {
    type Output = Result<&'a T, PromiseError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_outcome(this.inner, &mut this.listener, cx).map(Outcome::as_result)
    }
}

impl<T> fmt::Debug for Wait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait").finish_non_exhaustive()
    }
}

/// The future of awaiting a [`Promise`] by value: clones the value.
#[must_use = "futures do nothing unless awaited"]
pub struct Value<T> {
    inner: Arc<Inner<T>>,
    listener: Option<EventListener>,
}

impl<T: Clone> Future for Value<T> {
    type Output = Result<T, PromiseError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_outcome(&this.inner, &mut this.listener, cx).map(|o| o.as_result().cloned())
    }
}

impl<T> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value").finish_non_exhaustive()
    }
}

/// Why a [`Promise`] has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PromiseError {
    /// [`Promise::cancel`] was called before a value was set.
    Cancelled,
}

impl fmt::Display for PromiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromiseError::Cancelled => {
                f.write_str("promise cancelled: Promise::cancel was called before a value was set")
            }
        }
    }
}

impl std::error::Error for PromiseError {}

/// [`Promise::set`] on a promise that is already done; holds the value
/// that was not stored (asyncio's `InvalidStateError`).
pub struct InvalidStateError<T>(pub T);

impl<T> InvalidStateError<T> {
    /// The value that was not stored.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for InvalidStateError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvalidStateError(..)")
    }
}

impl<T> fmt::Display for InvalidStateError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "promise already done (set or cancelled): a promise is set once; the value is handed back",
        )
    }
}

impl<T> std::error::Error for InvalidStateError<T> {}
