//! A blocking job as an `async_task` task, its [`JoinHandle`], and the
//! [`UnblockFuture`] that `unblock` returns.
//!
//! A job is a future that runs its closure in its first (and only) poll,
//! catching a panic into a [`JoinError`]. It never returns `Pending` and
//! never wakes its own waker, so the pool pushes its `Runnable` to the queue
//! once at submission and the schedule function is never called again. The
//! handle holds the task's `FallibleTask`: a `Runnable` dropped unrun
//! (shutdown) resolves it to `None`, which the handle reports as a
//! cancelled `JoinError`.
//!
//! When the pool cannot start a thread and has none left, queued jobs are
//! *failed*: their runnables run on the submitting thread with a
//! thread-local failure message set, and the job returns that message as a
//! panic-kind `JoinError` without calling the closure.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_task::{FallibleTask, Runnable};
use tulipa_core::{JoinError, TaskId};

thread_local! {
    /// Set while failing jobs that no thread can run.
    static FAILING: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
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
        if let Some(msg) = FAILING.with(|m| m.borrow().clone()) {
            drop(f);
            return Poll::Ready(Err(JoinError::panic(id, Box::new(msg.to_string()))));
        }
        Poll::Ready(panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| JoinError::panic(id, p)))
    }
}

/// The schedule function of a job. A job never waits, so async-task only
/// schedules it through the explicit push at submission, which the pool
/// does itself; a call here would be a bug in this crate.
fn schedule(runnable: Runnable) {
    // Dropping cancels the job: its handle reports a cancelled JoinError
    // rather than hanging.
    drop(runnable);
}

/// Allocates the task of a job: the runnable for the queue, the handle for
/// the caller.
pub(crate) fn job<F, T>(f: F) -> (Runnable, JoinHandle<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let id = TaskId::next();
    let (runnable, task) = async_task::spawn(Job { id, f: Some(f) }, schedule);
    (runnable, JoinHandle::new(id, task.fallible()))
}

/// Runs a job's runnable on a pool thread. The job catches its own panic;
/// this also catches one from dropping its output's waker chain, so a pool
/// thread never dies mid-loop.
pub(crate) fn run(runnable: Runnable) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| runnable.run()));
}

/// Fails jobs nobody can run: each handle gets a panic-kind `JoinError`
/// carrying `message`, and no closure is called.
pub(crate) fn fail(jobs: impl IntoIterator<Item = Runnable>, message: &str) {
    let message: Arc<str> = Arc::from(message);
    let previous = FAILING.with(|m| m.replace(Some(message)));
    for r in jobs {
        run(r);
    }
    FAILING.with(|m| *m.borrow_mut() = previous);
}

/// An owned handle to a blocking job: await it for the job's result.
///
/// - Awaiting gives `Ok(output)`, or a [`JoinError`]:
///   [`is_panic`](JoinError::is_panic) if the closure panicked (the payload
///   is kept for [`resume_unwind`](std::panic::resume_unwind)), or if the
///   pool could not start any thread to run it (the payload is a `String`
///   naming the OS error); [`is_cancelled`](JoinError::is_cancelled) if the
///   pool was shut down before the job started (or was already shut down
///   when it was submitted).
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
    task: Option<FallibleTask<Result<T, JoinError>>>,
    /// The result has been returned by `poll`.
    done: bool,
}

impl<T> JoinHandle<T> {
    fn new(id: TaskId, task: FallibleTask<Result<T, JoinError>>) -> JoinHandle<T> {
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
        self.done || self.task.as_ref().is_none_or(FallibleTask::is_finished)
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
        match Pin::new(task).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(out) => {
                self.done = true;
                Poll::Ready(out.unwrap_or_else(|| Err(JoinError::cancelled(id))))
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
