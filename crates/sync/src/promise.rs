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
//! - `callbacks: Mutex<Callbacks>` holds the done-callbacks (each with
//!   its [`CallbackId`]) and the `done` flag. Completion (`set` or
//!   `cancel`) takes this lock, refuses if `done`, writes the outcome,
//!   sets `done` and takes the callbacks out; then, without the lock, it
//!   *schedules* them and wakes every awaiter. `add_done_callback` takes
//!   the same lock: before completion it queues the callback, after it
//!   schedules it at once, so every callback runs exactly once.
//! - `event: event_listener::Event` wakes awaiters: they register a
//!   listener and re-check the outcome before sleeping.
//!
//! Where done-callbacks run is documented on [`Promise`].
//!
//! # Errors as values
//!
//! asyncio's `set_exception` has no separate method: use a
//! `Promise<Result<T, E>>` and `set(Err(e))`. Awaiting it gives
//! `Result<Result<T, E>, PromiseError>`: the outer error is cancellation,
//! the inner one yours.

use std::any::Any;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

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

/// Schedules callbacks taken out at completion; see the module docs.
type Schedule<T> = fn(Arc<Inner<T>>, Vec<Callback<T>>);

struct Callbacks<T> {
    done: bool,
    list: Vec<(CallbackId, Callback<T>)>,
    /// The id of the next callback added.
    next_id: u64,
    /// Set by the first `add_done_callback`, which has the bounds to build
    /// it.
    schedule: Option<Schedule<T>>,
}

/// Names a done-callback added with [`Promise::add_done_callback`], for
/// [`Promise::remove_done_callback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

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
/// # Done-callbacks
///
/// As in asyncio, where `set_result` only schedules the callbacks with
/// `call_soon`, a callback never runs inside [`Promise::set`] or
/// [`Promise::cancel`] when a runtime is at hand: the callbacks taken out
/// at completion are spawned, as one detached task that runs them in the
/// order they were added, on the runtime current on the completing thread
/// (found through `tulipa_core::spawn`, which tulipa's runtimes install on
/// their threads). A panicking callback cannot make `set` panic: the
/// others still run, then the task panics and the runtime's panic policy
/// deals with it (as asyncio's loop logs an exception in a callback).
///
/// With no runtime current on the completing thread (a bare thread, or
/// `futures_lite::future::block_on`), or if the runtime refuses new work
/// because it is shutting down, the callbacks run right there, in order,
/// before `set` returns; a panic in one is reported by the panic hook as
/// usual, caught, and the others still run: `set` still does not panic.
///
/// The scheduling code needs `T: Send + Sync + 'static` (the spawned task
/// shares the outcome), so that is the bound of
/// [`Promise::add_done_callback`]. It stores a function pointer to the
/// code built for that `T`, which completion calls: `set` itself keeps no
/// bounds.
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
                    next_id: 0,
                    schedule: None,
                }),
                event: event_listener::Event::new(),
            }),
        }
    }

    /// Sets the value (asyncio's `set_result`): schedules the
    /// done-callbacks on the current runtime (or runs them here if there
    /// is none; see the [module docs](Promise#done-callbacks)), then
    /// wakes every awaiter.
    ///
    /// # Errors
    ///
    /// [`InvalidStateError`] holding `value` if the promise was already
    /// set or cancelled.
    pub fn set(&self, value: T) -> Result<(), InvalidStateError<T>> {
        self.complete(Outcome::Value(value)).map_err(|o| match o {
            Outcome::Value(v) => InvalidStateError(v),
            Outcome::Cancelled => unreachable!("set completes with a value"),
        })
    }

    /// Cancels the promise: awaiters get [`PromiseError::Cancelled`] and
    /// the done-callbacks are scheduled, as in [`set`](Promise::set).
    /// Returns `false` (and does nothing) if it was already set or
    /// cancelled, as asyncio's `cancel`.
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
        let list: Vec<Callback<T>> = std::mem::take(&mut callbacks.list)
            .into_iter()
            .map(|(_, callback)| callback)
            .collect();
        let schedule = callbacks.schedule;
        drop(callbacks);
        // Scheduled before the awaiters are woken: on a single-threaded
        // runtime the callbacks run first, as in asyncio, where an
        // awaiting task is a done-callback added after the earlier ones.
        if let Some(schedule) = schedule.filter(|_| !list.is_empty()) {
            schedule(self.inner.clone(), list);
        }
        self.inner.event.notify(usize::MAX);
        Ok(())
    }

    /// Adds a done-callback (asyncio's `add_done_callback`): `callback`
    /// runs once the promise is set or cancelled, with its outcome. Like
    /// asyncio's, it never runs inside this call or inside `set`: it is
    /// scheduled on the runtime current on the thread that completes the
    /// promise, or, if the promise is already done, on the runtime current
    /// on this thread. Callbacks added before completion run in the order
    /// they were added. With no runtime, it runs on the completing thread
    /// (or here, if the promise is already done); see the
    /// [module docs](Promise#done-callbacks).
    ///
    /// Returns an id for [`remove_done_callback`](Promise::remove_done_callback).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use tulipa_sync::Promise;
    ///
    /// let promise = Promise::new();
    /// let (tx, rx) = mpsc::channel();
    /// let tx2 = tx.clone();
    /// promise.add_done_callback(move |r| tx.send(r.copied()).unwrap());
    /// let id = promise.add_done_callback(move |r| tx2.send(r.copied()).unwrap());
    /// assert!(promise.remove_done_callback(id));
    /// promise.set(5).unwrap(); // no runtime here: runs the callback now
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [Ok(5)]);
    /// ```
    pub fn add_done_callback<F>(&self, callback: F) -> CallbackId
    where
        F: FnOnce(Result<&T, PromiseError>) + Send + 'static,
        T: Send + Sync + 'static,
    {
        let mut callbacks = self.lock();
        let id = CallbackId(callbacks.next_id);
        callbacks.next_id += 1;
        if !callbacks.done {
            callbacks.schedule = Some(schedule_callbacks::<T>);
            callbacks.list.push((id, Box::new(callback)));
            return id;
        }
        drop(callbacks);
        schedule_callbacks(self.inner.clone(), vec![Box::new(callback)]);
        id
    }

    /// Removes a done-callback that has not been scheduled yet (asyncio's
    /// `remove_done_callback`). Returns whether it was removed: `false` if
    /// the promise is already done (its callbacks are scheduled) or the
    /// callback was already removed.
    pub fn remove_done_callback(&self, id: CallbackId) -> bool {
        let mut callbacks = self.lock();
        let Some(pos) = callbacks.list.iter().position(|(i, _)| *i == id) else {
            return false;
        };
        let (_, callback) = callbacks.list.remove(pos);
        drop(callbacks);
        // Dropped without the lock: its captures may run any code.
        drop(callback);
        true
    }

    /// The value (asyncio's `result()`).
    ///
    /// # Errors
    ///
    /// [`PromiseError::NotDone`] while the promise is pending (asyncio's
    /// `InvalidStateError`), [`PromiseError::Cancelled`] if it was
    /// cancelled (asyncio's `CancelledError`).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_sync::{Promise, PromiseError};
    ///
    /// let p = Promise::new();
    /// assert_eq!(p.result(), Err(PromiseError::NotDone));
    /// p.set(3).unwrap();
    /// assert_eq!(p.result(), Ok(&3));
    /// ```
    pub fn result(&self) -> Result<&T, PromiseError> {
        self.try_get().unwrap_or(Err(PromiseError::NotDone))
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
    #[track_caller]
    pub fn wait(&self) -> Wait<'_, T> {
        Wait {
            inner: &self.inner,
            listener: None,
            location: Location::caller(),
        }
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

impl<T, E> Promise<Result<T, E>> {
    /// The error a `Promise<Result<T, E>>` was set with, `None` if it was
    /// set with `Ok` (asyncio's `exception()`, for errors as values).
    ///
    /// # Errors
    ///
    /// As [`result`](Promise::result): [`PromiseError::NotDone`] while
    /// pending, [`PromiseError::Cancelled`] if cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_sync::Promise;
    ///
    /// let p = Promise::<Result<u8, String>>::new();
    /// p.set(Err("boom".to_string())).unwrap();
    /// assert_eq!(p.exception(), Ok(Some(&"boom".to_string())));
    /// ```
    pub fn exception(&self) -> Result<Option<&E>, PromiseError> {
        self.result().map(|r| r.as_ref().err())
    }
}

/// The callbacks taken out at completion, and the outcome they read.
type Job<T> = Mutex<Option<(Arc<Inner<T>>, Vec<Callback<T>>)>>;

/// Spawns `list` as one task on the current runtime, or runs it here if
/// there is none (or it refuses); see the module docs.
fn schedule_callbacks<T: Send + Sync + 'static>(inner: Arc<Inner<T>>, list: Vec<Callback<T>>) {
    let job: Arc<Job<T>> = Arc::new(Mutex::new(Some((inner, list))));
    if let Some(spawner) = tulipa_core::spawn::current() {
        let task_job = job.clone();
        let spawned = spawner.spawn_detached(Box::pin(async move {
            if let Some(payload) = run_callbacks(&task_job) {
                resume_unwind(payload);
            }
        }));
        if spawned.is_ok() {
            return;
        }
        // Refused (shutting down): the task was dropped unrun; run the
        // callbacks here instead.
    }
    // The panic hook already reported a panic; `set` must not panic.
    drop(run_callbacks(&job));
}

/// Runs the callbacks of `job` (once: later calls find it empty), in
/// order, each under `catch_unwind`; returns the first panic.
fn run_callbacks<T>(job: &Job<T>) -> Option<Box<dyn Any + Send>> {
    let (inner, list) = job.lock().unwrap_or_else(PoisonError::into_inner).take()?;
    let result = inner
        .outcome
        .get()
        .expect("callbacks are scheduled after completion")
        .as_result();
    let mut panic = None;
    for callback in list {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(result))) {
            panic.get_or_insert(payload);
        }
    }
    panic
}

/// Polls for the outcome: checks, registers a listener, checks again,
/// sleeps.
fn poll_outcome<'a, T>(
    inner: &'a Inner<T>,
    listener: &mut Option<EventListener>,
    location: &'static Location<'static>,
    cx: &mut Context<'_>,
) -> Poll<&'a Outcome<T>> {
    loop {
        if let Some(outcome) = inner.outcome.get() {
            *listener = None;
            return Poll::Ready(outcome);
        }
        match listener {
            Some(l) => {
                if Pin::new(l).poll(cx).is_pending() {
                    tulipa_core::await_point::set(location);
                    return Poll::Pending;
                }
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
    #[track_caller]
    fn into_future(self) -> Value<T> {
        Value {
            inner: self.inner,
            listener: None,
            location: Location::caller(),
        }
    }
}

impl<'a, T> IntoFuture for &'a Promise<T> {
    type Output = Result<&'a T, PromiseError>;
    type IntoFuture = Wait<'a, T>;

    /// Awaiting a reference borrows the value: [`Promise::wait`].
    #[track_caller]
    fn into_future(self) -> Wait<'a, T> {
        self.wait()
    }
}

/// The future of [`Promise::wait`]: borrows the value.
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<'a, T> {
    inner: &'a Inner<T>,
    listener: Option<EventListener>,
    /// Where it was created (the `.await`): the task's await point.
    location: &'static Location<'static>,
}

impl<'a, T> Future for Wait<'a, T> {
    type Output = Result<&'a T, PromiseError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_outcome(this.inner, &mut this.listener, this.location, cx).map(Outcome::as_result)
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
    /// Where it was created (the `.await`): the task's await point.
    location: &'static Location<'static>,
}

impl<T: Clone> Future for Value<T> {
    type Output = Result<T, PromiseError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_outcome(&this.inner, &mut this.listener, this.location, cx)
            .map(|o| o.as_result().cloned())
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
    /// The promise is still pending ([`Promise::result`] and
    /// [`Promise::exception`] only; asyncio's `InvalidStateError`).
    NotDone,
}

impl fmt::Display for PromiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromiseError::Cancelled => {
                f.write_str("promise cancelled: Promise::cancel was called before a value was set")
            }
            PromiseError::NotDone => f.write_str(
                "promise not done yet: await it (or check is_done()) before asking for its result",
            ),
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
