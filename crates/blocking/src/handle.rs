//! A blocking job as an `async_task` task, its [`JoinHandle`], and the
//! [`UnblockFuture`] that `unblock` returns.
//!
//! A job is a future that runs its closure in its first (and only) poll,
//! catching a panic into a [`JoinError`]. It never returns `Pending` and
//! never wakes its own waker, so the pool pushes its `Runnable` to the queue
//! once at submission and async-task never calls the schedule function.
//!
//! # The job's state (task metadata)
//!
//! `QUEUED -> RUNNING` (a pool thread starts it), `QUEUED -> CANCELLED`
//! ([`JoinHandle::cancel`]) or `QUEUED -> SETTLED` (the pool cancelled or
//! failed it itself: shutdown, a refused submission, no thread), by
//! compare-and-swap, so exactly one wins: a cancelled closure never runs,
//! a started one is never reported cancelled, and `cancel` on a job the
//! pool already settled reports `false` and keeps the pool's verdict.
//!
//! # Runnables are never dropped unrun
//!
//! The handle awaits a plain `Task` (which would panic if its runnable
//! vanished), so every runnable is *run*, in one of three modes set in a
//! thread-local around `Runnable::run`: normally (the closure runs), to
//! cancel (shutdown dropped it from the queue, the pool refused it, or its
//! handle cancelled it: the closure is dropped and the output is a
//! cancelled `JoinError`), or to fail (no thread could be started: the
//! output is a panic-kind `JoinError` carrying the OS error).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use async_task::Task;
use tulipa_core::{JoinError, TaskId};

/// A job's runnable, as the pool queues it.
pub(crate) type Runnable = async_task::Runnable<JobMeta>;

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const CANCELLED: u8 = 2;
const SETTLED: u8 = 3;

/// Per-job metadata, stored in the task allocation.
pub(crate) struct JobMeta {
    state: AtomicU8,
}

/// How the next `Job::poll` on this thread must treat its closure.
#[derive(Clone)]
enum Mode {
    Run,
    Cancel,
    Fail(Arc<str>),
}

thread_local! {
    static MODE: RefCell<Mode> = const { RefCell::new(Mode::Run) };
}

/// The future of one blocking job.
struct Job<F> {
    id: TaskId,
    f: Option<F>,
}

impl<F> Unpin for Job<F> {}

impl<F: FnOnce() -> T, T> Future for Job<F> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.id;
        let Some(f) = self.f.take() else {
            // async-task never polls a completed future again.
            unreachable!("blocking job polled after it completed")
        };
        let mode = MODE.with(|m| match &*m.borrow() {
            Mode::Run => None,
            other => Some(other.clone()),
        });
        match mode {
            None => Poll::Ready(
                panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| JoinError::panic(id, p)),
            ),
            // The closure's destructor is user code: a panic in it must not
            // escape the poll, or async-task would close the task without
            // an output and the handle would panic instead of resolving.
            Some(Mode::Fail(msg)) => {
                let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(f)));
                Poll::Ready(Err(JoinError::panic(id, Box::new(msg.to_string()))))
            }
            Some(_) => {
                let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(f)));
                Poll::Ready(Err(JoinError::cancelled(id)))
            }
        }
    }
}

/// The schedule function of a job. A job never waits and the pool queues
/// it itself, so async-task never calls this; if it ever did, the job is
/// cancelled rather than lost.
fn schedule(runnable: Runnable) {
    settle(runnable, Mode::Cancel);
}

/// Allocates the task of a job: the runnable for the queue, the handle for
/// the caller.
pub(crate) fn job<F, T>(f: F) -> (Runnable, JoinHandle<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let id = TaskId::next();
    let meta = JobMeta {
        state: AtomicU8::new(QUEUED),
    };
    let (runnable, task) = async_task::Builder::new()
        .metadata(meta)
        .spawn(move |_| Job { id, f: Some(f) }, schedule);
    (runnable, JoinHandle::new(id, task))
}

/// Runs `runnable` with `mode` set; the job catches its own panic, and this
/// catches anything else, so a pool thread never dies mid-loop.
fn run_as(runnable: Runnable, mode: Mode) {
    let previous = MODE.with(|m| m.replace(mode));
    let _ = panic::catch_unwind(AssertUnwindSafe(|| runnable.run()));
    MODE.with(|m| *m.borrow_mut() = previous);
}

/// Cancels or fails a job the pool will not run, marking it settled first
/// so a later [`JoinHandle::cancel`] reports `false` (a job its handle
/// already cancelled keeps that state).
fn settle(runnable: Runnable, mode: Mode) {
    let _ = runnable.metadata().state.compare_exchange(
        QUEUED,
        SETTLED,
        Ordering::AcqRel,
        Ordering::Acquire,
    );
    run_as(runnable, mode);
}

/// Runs a job on a pool thread, unless its handle cancelled it first.
/// Returns whether the closure was started.
pub(crate) fn run(runnable: Runnable) -> bool {
    let started = runnable
        .metadata()
        .state
        .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
        .is_ok();
    if started {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| runnable.run()));
    } else {
        run_as(runnable, Mode::Cancel);
    }
    started
}

/// Cancels jobs that will never start (shutdown, a refused submission):
/// each closure is dropped and each handle resolves to a cancelled
/// `JoinError`.
pub(crate) fn cancel(jobs: impl IntoIterator<Item = Runnable>) {
    for r in jobs {
        settle(r, Mode::Cancel);
    }
}

/// Fails jobs nobody can run: each handle gets a panic-kind `JoinError`
/// carrying `message`, and no closure is called.
pub(crate) fn fail(jobs: impl IntoIterator<Item = Runnable>, message: &str) {
    let message: Arc<str> = Arc::from(message);
    for r in jobs {
        settle(r, Mode::Fail(message.clone()));
    }
}

fn is_cancelled<T>(task: &Task<T, JobMeta>) -> bool {
    task.metadata().state.load(Ordering::Acquire) == CANCELLED
}

/// An owned handle to a blocking job: await it for the job's result.
///
/// - Awaiting gives `Ok(output)`, or a [`JoinError`]:
///   [`is_panic`](JoinError::is_panic) if the closure panicked (the payload
///   is kept for [`resume_unwind`](std::panic::resume_unwind)), or if the
///   pool could not start any thread to run it (the payload is a `String`
///   naming the OS error); [`is_cancelled`](JoinError::is_cancelled) if the
///   job was [cancelled](JoinHandle::cancel) or the pool was shut down
///   before the job started (or already was when it was submitted).
/// - Dropping the handle, or [`detach`](JoinHandle::detach), does **not**
///   stop the job: a thread running a closure cannot be interrupted, and a
///   queued job still runs. Its output is dropped on the pool thread.
///
/// This is the same `JoinError` the tulipa executors return, so blocking
/// jobs and async tasks can be awaited side by side.
///
/// # Cancel safety
///
/// Awaiting is cancel safe: dropping the `.await` leaves the job running
/// and the handle usable.
///
/// # Examples
///
/// ```
/// let handle = tulipa_blocking::spawn_blocking(|| 6 * 7);
/// assert_eq!(futures_lite::future::block_on(handle).unwrap(), 42);
/// ```
#[must_use = "dropping a JoinHandle detaches the job; await it or call .detach() to say so"]
pub struct JoinHandle<T> {
    id: TaskId,
    /// `None` only after `detach` (which consumes the handle).
    task: Option<Task<Result<T, JoinError>, JobMeta>>,
    /// The result has been returned by `poll`.
    done: bool,
}

impl<T> JoinHandle<T> {
    fn new(id: TaskId, task: Task<Result<T, JoinError>, JobMeta>) -> JoinHandle<T> {
        JoinHandle {
            id,
            task: Some(task),
            done: false,
        }
    }

    /// The job's id, from the same sequence as the executors' task ids.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Whether the job has ended (returned, panicked, or been cancelled or
    /// failed). Awaiting a finished job returns at once.
    pub fn is_finished(&self) -> bool {
        self.done
            || self
                .task
                .as_ref()
                .is_none_or(|t| t.is_finished() || is_cancelled(t))
    }

    /// Cancels the job if it has not started yet (`concurrent.futures`'
    /// `Future.cancel()`): returns `true` if it was still queued, in which
    /// case its closure will never run and awaiting the handle gives a
    /// cancelled [`JoinError`] at once. Returns `false` if the closure has
    /// started (it cannot be interrupted and runs to the end), has
    /// finished, or was already cancelled (by this handle, or by the pool:
    /// shutdown, or no thread could be started).
    ///
    /// Same name and signature as the task `JoinHandle::cancel` (one
    /// handle story for `tulipa::spawn` and `tulipa::spawn_blocking`); only
    /// a started job differs, since a thread cannot be stopped mid-closure
    /// the way a task's future is dropped at its next suspension point.
    ///
    /// The closure itself is dropped, unrun, on a pool thread when the job
    /// reaches the front of the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use futures_lite::future::block_on;
    ///
    /// let pool = tulipa_blocking::Pool::new(1);
    /// let (started_tx, started) = mpsc::channel::<()>();
    /// let (release, rx) = mpsc::channel::<()>();
    /// let busy = pool.spawn(move || {
    ///     started_tx.send(()).unwrap();
    ///     rx.recv().unwrap()
    /// });
    /// let queued = pool.spawn(|| 1);
    /// started.recv().unwrap();
    /// // The one thread is busy: `queued` has not started, so it cancels.
    /// assert!(queued.cancel());
    /// assert!(block_on(queued).unwrap_err().is_cancelled());
    /// // The running job cannot be cancelled.
    /// assert!(!busy.cancel());
    /// release.send(()).unwrap();
    /// block_on(busy).unwrap();
    /// ```
    pub fn cancel(&self) -> bool {
        self.task.as_ref().is_some_and(|t| {
            t.metadata()
                .state
                .compare_exchange(QUEUED, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        })
    }

    /// Detaches the job: it runs on and its output is dropped. Same as
    /// dropping the handle, but says so.
    pub fn detach(mut self) {
        if let Some(t) = self.task.take() {
            t.detach();
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.detach();
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    /// # Panics
    ///
    /// Panics if polled again after it returned its result.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.done {
            panic!("JoinHandle polled after it returned its result; await a handle only once");
        }
        let id = self.id;
        let Some(task) = self.task.as_mut() else {
            unreachable!("JoinHandle used after detach")
        };
        if is_cancelled(task) {
            // Cancelled through the handle: known now, whenever the queue
            // reaches the job.
            self.done = true;
            return Poll::Ready(Err(JoinError::cancelled(id)));
        }
        // The pool runs every runnable (see the module docs), so the task
        // always completes with an output and this never panics.
        match Pin::new(task).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(out) => {
                self.done = true;
                Poll::Ready(out)
            }
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// The future returned by [`unblock`](crate::unblock) and
/// [`Pool::unblock`](crate::Pool::unblock): the closure's value, with a
/// panic in the closure resumed in the awaiting task.
///
/// # Panics
///
/// Awaiting it panics (re-raises) if the closure panicked, and panics if the
/// pool was shut down before the closure ran, or could not start a thread
/// to run it. Use [`spawn_blocking`](crate::spawn_blocking) to receive
/// these as a [`JoinError`] instead.
///
/// # Cancel safety
///
/// Dropping the future does not stop the closure: it runs to completion on
/// the pool and its value is dropped there.
#[must_use = "futures do nothing unless awaited; the closure runs anyway, but its value is lost"]
pub struct UnblockFuture<T> {
    handle: JoinHandle<T>,
}

impl<T> UnblockFuture<T> {
    pub(crate) fn new(handle: JoinHandle<T>) -> UnblockFuture<T> {
        UnblockFuture { handle }
    }
}

impl<T> Future for UnblockFuture<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.handle).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(v)) => Poll::Ready(v),
            Poll::Ready(Err(e)) => match e.try_into_panic() {
                Ok(payload) => panic::resume_unwind(payload),
                Err(e) => panic!(
                    "unblock: {e}: the blocking pool was shut down before the closure ran; \
                     do not unblock on a pool after shutdown_timeout"
                ),
            },
        }
    }
}

impl<T> fmt::Debug for UnblockFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnblockFuture")
            .field("id", &self.handle.id)
            .finish()
    }
}
