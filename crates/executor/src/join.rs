//! `JoinHandle` and `JoinError`: awaiting, detaching and cancelling a task.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use async_task::Task;

use crate::meta::{TaskId, TaskInfo, TaskMeta};

/// An owned handle to a spawned task: await it for the task's result.
///
/// - Awaiting gives `Ok(output)`, or a [`JoinError`] if the task panicked
///   or was cancelled.
/// - Dropping the handle *detaches* the task: it runs on to completion and
///   its output is dropped.
/// - [`cancel`](JoinHandle::cancel) asks the task to stop: its future is
///   dropped at its next suspension point (immediately if it is not running),
///   and awaiting the handle then gives a cancelled `JoinError`.
///
/// # Cancel safety
///
/// Awaiting is cancel safe: dropping the `.await` (for example in a
/// `select`) leaves the task running and the handle usable.
#[must_use = "dropping a JoinHandle detaches the task; await it or call .detach() to say so"]
pub struct JoinHandle<T> {
    /// Kept after completion so the metadata stays readable.
    task: Option<Task<Result<T, JoinError>, TaskMeta>>,
    /// The output has been returned by `poll`.
    done: bool,
    id: TaskId,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: Task<Result<T, JoinError>, TaskMeta>, id: TaskId) -> Self {
        JoinHandle {
            task: Some(task),
            done: false,
            id,
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's identity: id, name and spawn location.
    pub fn info(&self) -> TaskInfo {
        match &self.task {
            Some(t) => t.metadata().info(),
            // Only `detach` and `drop` take the task, and both consume the
            // handle.
            None => unreachable!("JoinHandle used after detach"),
        }
    }

    /// How many times the task has been polled so far.
    pub fn poll_count(&self) -> u64 {
        self.task
            .as_ref()
            .map_or(0, |t| t.metadata().polls.load(Ordering::Relaxed))
    }

    /// Whether the task has finished (completed, panicked or been cancelled
    /// and dropped). Awaiting a finished task returns at once.
    pub fn is_finished(&self) -> bool {
        self.done || self.task.as_ref().is_none_or(Task::is_finished)
    }

    /// Cancels the task (asyncio's `Task.cancel()`).
    ///
    /// The task's future is dropped the next time it would be polled: at
    /// once if it is waiting, or when its current poll returns if it is
    /// running on another thread. Awaiting the handle afterwards gives a
    /// [`JoinError`] with [`is_cancelled`](JoinError::is_cancelled) true,
    /// unless the task had already finished, in which case its real result
    /// is kept. Cancelling twice is harmless.
    pub fn cancel(&self) {
        let Some(task) = &self.task else { return };
        if self.done || task.is_finished() {
            // Finished: its registry slot may already belong to another
            // task, and there is nothing left to cancel.
            return;
        }
        let meta = task.metadata();
        if !meta.cancelled.swap(true, Ordering::AcqRel) {
            meta.owner.registry().wake(meta.key);
        }
    }

    /// Detaches the task: it runs on and its output is dropped. Same as
    /// dropping the handle, but says so.
    pub fn detach(mut self) {
        self.release();
    }

    /// Lets go of the task. If its result was never taken, a panic in it
    /// is now unhandled: the diagnostics' panic policy deals with it.
    fn release(&mut self) {
        if let Some(t) = self.task.take() {
            if !self.done {
                crate::diag::Observe::handle_gone(t.metadata());
            }
            t.detach();
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.done {
            panic!("JoinHandle polled after it returned its result; await a handle only once")
        }
        let Some(task) = self.task.as_mut() else {
            unreachable!("JoinHandle used after detach")
        };
        match Pin::new(task).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(out) => {
                // Executors never drop a task unrun: shutdown cancels and
                // runs it, so it always completes with an output.
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

pub use tulipa_core::JoinError;
