//! `JoinHandle` and `JoinError`: awaiting, detaching and cancelling a task.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use async_task::Task;

use crate::done::{CancelHandle, TaskOutcome};
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
    /// Kept after completion so the metadata (the id too) stays readable.
    /// The error is boxed inside the task (see `TaskFuture`'s output).
    task: Option<Task<Result<T, Box<JoinError>>, TaskMeta>>,
    /// The output has been returned by `poll`.
    done: bool,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: Task<Result<T, Box<JoinError>>, TaskMeta>) -> Self {
        JoinHandle {
            task: Some(task),
            done: false,
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        match &self.task {
            Some(t) => t.metadata().id,
            // Only `detach` and `drop` take the task, and both consume the
            // handle.
            None => unreachable!("JoinHandle used after detach"),
        }
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
    /// and dropped). Awaiting a finished task returns at once (or as soon
    /// as the thread that finished it has stored its result).
    pub fn is_finished(&self) -> bool {
        self.done
            || self
                .task
                .as_ref()
                .is_none_or(|t| t.is_finished() || crate::done::is_done(t.metadata()))
    }

    /// Cancels the task (asyncio's `Task.cancel()`).
    ///
    /// The task's future is dropped the next time it would be polled: at
    /// once if it is waiting, or when its current poll returns if it is
    /// running on another thread. Code in its destructor still sees the
    /// task as [current](crate::current_info). Awaiting the handle
    /// afterwards gives a [`JoinError`] with
    /// [`is_cancelled`](JoinError::is_cancelled) true, unless the task
    /// returned in the poll it was running, in which case its real result is
    /// kept.
    ///
    /// Returns `false` if the task had already ended (asyncio: `cancel()` of
    /// a done task returns `False`), `true` otherwise, also when it was
    /// already cancelled and has not ended yet.
    pub fn cancel(&self) -> bool {
        let Some(task) = &self.task else { return false };
        if self.done || task.is_finished() {
            // Finished: there is nothing left to cancel.
            return false;
        }
        let meta = task.metadata();
        crate::done::cancel(meta, || meta.owner.registry().wake(meta))
    }

    /// A cloneable handle that can cancel the task from anywhere, while
    /// this `JoinHandle` keeps the output (asyncio code passes the task
    /// itself around to cancel it).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulipa_core::ThreadParker;
    /// use tulipa_executor::{CurrentThread, SpawnOptions};
    ///
    /// let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    /// let h = ex.spawn(SpawnOptions::new(), std::future::pending::<()>());
    /// let canceller = h.cancel_handle();
    /// std::thread::spawn(move || assert!(canceller.cancel())).join().unwrap();
    /// assert!(ex.block_on(h).unwrap_err().is_cancelled());
    /// ```
    pub fn cancel_handle(&self) -> CancelHandle {
        let Some(task) = &self.task else {
            unreachable!("JoinHandle used after detach")
        };
        let meta = task.metadata();
        let waker = if self.done || crate::done::is_done(meta) {
            None
        } else {
            meta.owner.registry().waker_of(meta)
        };
        CancelHandle::new(meta, waker)
    }

    /// Runs `callback` once the task has ended, with how it ended (asyncio's
    /// `task.add_done_callback`).
    ///
    /// Like asyncio's, the callback runs on the event loop, not inside the
    /// task: on a tulipa runtime it is queued like a
    /// `call_soon` callback (in order with them, after the task's last step;
    /// also when the task had already ended); on an executor used without a
    /// runtime it runs right after the task's last step, on that thread. In
    /// the callback no task is current. A panicking callback is reported as
    /// a callback panic (naming where it was added) and nothing else is
    /// affected. Callbacks run in the order they were added.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tulipa_core::ThreadParker;
    /// use tulipa_executor::{CurrentThread, SpawnOptions, TaskOutcome};
    ///
    /// let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    /// let seen = Arc::new(Mutex::new(None));
    /// let s = seen.clone();
    /// let h = ex.spawn(SpawnOptions::new(), async { 7 });
    /// h.add_done_callback(move |outcome| *s.lock().unwrap() = Some(outcome.clone()));
    /// assert_eq!(ex.block_on(h).unwrap(), 7);
    /// assert_eq!(*seen.lock().unwrap(), Some(TaskOutcome::Returned));
    /// ```
    #[track_caller]
    pub fn add_done_callback(&self, callback: impl FnOnce(&TaskOutcome) + Send + 'static) {
        let Some(task) = &self.task else {
            unreachable!("JoinHandle used after detach")
        };
        crate::done::add(task.metadata(), (Location::caller(), Box::new(callback)));
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
        // `.await` on a handle goes through `Future::poll`, which cannot
        // carry `#[track_caller]`: the await point recorded is where the
        // awaited task was spawned (see `tulipa_core::await_point`).
        let spawned_at = task.metadata().location;
        match Pin::new(task).poll(cx) {
            Poll::Pending => {
                tulipa_core::await_point::set(spawned_at);
                Poll::Pending
            }
            Poll::Ready(out) => {
                // Executors never drop a task unrun: shutdown cancels and
                // runs it, so it always completes with an output.
                self.done = true;
                Poll::Ready(out.map_err(|e| *e))
            }
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

pub use tulipa_core::JoinError;
