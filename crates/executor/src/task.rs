//! Spawning: the wrapper future every task runs in, and how a task is made.
//!
//! A spawned future `F` is wrapped in a [`TaskFuture`] that, on every poll:
//! counts the poll in the task's metadata, makes the task "current" for
//! [`current`], honours a pending cancellation (drops `F` and completes with
//! a cancelled [`JoinError`]) and catches a panic from `F` (completes with a
//! panic `JoinError`, so the worker thread and every other task go on).
//! When the wrapper is dropped, for whatever reason, it removes the task's
//! registry entry.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_task::{Runnable, ScheduleInfo, WithInfo};

use crate::diag::{panic_message, Observe, PollTimer};
use crate::join::{JoinError, JoinHandle};
use crate::meta::{TaskId, TaskInfo, TaskMeta};
use crate::registry::Owner;

thread_local! {
    /// The metadata of the task being polled on this thread: set by
    /// `TaskFuture::poll` for the duration of the poll, restored after.
    static CURRENT: Cell<Option<NonNull<TaskMeta>>> = const { Cell::new(None) };
}

/// The id of the task being polled on this thread, if any.
///
/// Returns `None` outside a task (for example in a `block_on` future).
pub fn current_id() -> Option<TaskId> {
    with_current_meta(|m| m.map(|m| m.id))
}

/// The identity (id, name, spawn location) of the task being polled on
/// this thread, if any (asyncio's `current_task()`); O(1).
///
/// Returns `None` outside a task (for example in a `block_on` future).
pub fn current_info() -> Option<TaskInfo> {
    with_current_meta(|m| m.map(TaskMeta::info))
}

fn with_current_meta<R>(f: impl FnOnce(Option<&TaskMeta>) -> R) -> R {
    let ptr = CURRENT.try_with(Cell::get).ok().flatten();
    // SAFETY: `CURRENT` holds a pointer only while `TaskFuture::poll` of
    // that task runs on this thread (a `CurrentGuard` restores the previous
    // value when the poll ends, also on unwind), and the metadata lives in
    // the task's allocation, which async-task keeps alive during the poll.
    // This function runs on the same thread, inside that poll, and the
    // reference does not escape `f`.
    let meta = ptr.map(|p| unsafe { p.as_ref() });
    f(meta)
}

pub use tulipa_core::spawn::SpawnOptions;

struct TaskFuture<'a, F> {
    meta: &'a TaskMeta,
    future: Option<F>,
}

impl<F> Drop for TaskFuture<'_, F> {
    fn drop(&mut self) {
        // Drop the user's future first, while the task still counts as live;
        // a panicking destructor must not unwind into the executor.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| self.future = None));
        self.meta.owner.registry().remove(self.meta.key);
    }
}

struct CurrentGuard(Option<NonNull<TaskMeta>>);

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

impl<F: Future> Future for TaskFuture<'_, F> {
    type Output = Result<F::Output, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // the `Option` (only dropped in place by assigning `None`, which runs
        // its destructor where it lies), and `TaskFuture` has no `Unpin`
        // impl that would let it move. `meta` is a plain shared reference.
        let this = unsafe { self.get_unchecked_mut() };
        let meta = this.meta;
        // Only the polling thread writes the counter: a load and a store
        // are enough and avoid a locked instruction.
        meta.polls
            .store(meta.polls.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        if meta.cancelled.load(Ordering::Acquire) {
            // A panic in the future's destructor must not escape into the
            // worker (or into shutdown): it is swallowed; the task reports
            // its cancellation.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| this.future = None));
            return Poll::Ready(Err(JoinError::cancelled(meta.id)));
        }
        let Some(future) = this.future.as_mut() else {
            // Polled after completion: async-task never does this.
            return Poll::Pending;
        };
        // SAFETY: see above; the future stays where it is inside the task
        // allocation, which async-task never moves.
        let future = unsafe { Pin::new_unchecked(future) };
        let _current = CurrentGuard(CURRENT.with(|c| c.replace(Some(NonNull::from(meta)))));
        let timer = meta.debug.then(|| PollTimer::start(meta));
        let polled = catch_unwind_poll(|| future.poll(cx));
        if let Some(timer) = timer {
            timer.finish(meta);
        }
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(v)) => {
                // The future's destructor runs here; a panic in it is the
                // task's failure, never the worker's.
                match std::panic::catch_unwind(AssertUnwindSafe(|| this.future = None)) {
                    Ok(()) => Poll::Ready(Ok(v)),
                    Err(panic) => Poll::Ready(Err(panicked(meta, panic))),
                }
            }
            Poll::Ready(Err(panic)) => {
                // Drop the future now; a panic in its destructor is caught
                // as well and the first payload wins.
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| this.future = None));
                Poll::Ready(Err(panicked(meta, panic)))
            }
        }
    }
}

/// The task's panic: recorded for the unhandled-panic handshake, then
/// wrapped for its handle.
fn panicked(meta: &TaskMeta, panic: Box<dyn Any + Send>) -> JoinError {
    Observe::task_panicked(meta, panic_message(&*panic));
    JoinError::panic(meta.id, panic)
}

/// Runs a poll, turning a panic into `Ready(Err(payload))`.
fn catch_unwind_poll<T>(f: impl FnOnce() -> Poll<T>) -> Poll<Result<T, Box<dyn Any + Send>>> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
        Err(p) => Poll::Ready(Err(p)),
    }
}

impl<'a, F> TaskFuture<'a, F> {
    fn new(meta: &'a TaskMeta, future: F) -> Self {
        TaskFuture {
            meta,
            future: Some(future),
        }
    }
}

fn schedule(runnable: Runnable<TaskMeta>, info: ScheduleInfo) {
    // Fast path: a wake on a worker thread of the task's own executor goes
    // through the worker's thread-local handle, without touching the
    // shared reference count in the metadata.
    let runnable = match crate::multi::schedule_on_worker(runnable, info) {
        Ok(()) => return,
        Err(r) => r,
    };
    let owner = runnable.metadata().owner.clone();
    owner.schedule(runnable, info);
}

/// Creates a task owned by `owner` and returns its first runnable (not yet
/// scheduled) and its join handle.
///
/// A future that is not `Send` may only be given here by the thread-local
/// task set (`local.rs`), whose owner runs and drops it on its own thread.
#[track_caller]
pub(crate) fn spawn_task<F>(
    owner: Arc<dyn Owner>,
    options: SpawnOptions,
    future: F,
) -> (Runnable<TaskMeta>, JoinHandle<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
{
    let location = match options.location {
        Some(l) => l,
        None => Location::caller(),
    };
    let id = TaskId::next();
    let name = options.name;
    let registry_owner = owner.clone();
    registry_owner
        .registry()
        .insert(id, name.clone(), location, move |key| {
            let meta = TaskMeta {
                id,
                name,
                location,
                polls: Default::default(),
                cancelled: Default::default(),
                debug: owner.debug(),
                observe: Default::default(),
                key,
                owner,
            };
            let builder = async_task::Builder::new().metadata(meta);
            let make = move |meta| TaskFuture::new(meta, future);
            // SAFETY: `spawn_unchecked` asks for three things. (1) A future
            // that is not `Send` must be polled and dropped on the spawning
            // thread only: such tasks come from the thread-local task set,
            // which runs and drops its runnables only on its own thread;
            // wakers on other threads only push the runnable into a queue
            // that the owning thread drains, and that thread drains and
            // drops the queue when it exits. Other tasks are `Send` (see
            // `spawn_send`). (2) Borrowed data other than the metadata must
            // outlive the runnable: the future borrows only the metadata,
            // which async-task keeps alive as long as the future. (3) The
            // schedule function is a plain `fn`, so it is `Send + Sync +
            // 'static`.
            let (runnable, task) = unsafe { builder.spawn_unchecked(make, WithInfo(schedule)) };
            let waker = runnable.waker();
            ((runnable, JoinHandle::new(task, id)), waker)
        })
}

/// Spawns a `Send` task; the only entry point for the non-local path.
#[track_caller]
pub(crate) fn spawn_send<F>(
    owner: Arc<dyn Owner>,
    options: SpawnOptions,
    future: F,
) -> (Runnable<TaskMeta>, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_task(owner, options, future)
}

/// Yields once to the executor: the task goes to the back of the run queue
/// so every other ready task runs first (asyncio's `await asyncio.sleep(0)`).
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// tulipa_executor::yield_now().await;
/// # });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Cancels a task that is being thrown away (shutdown, thread exit) and runs
/// it once so its future is dropped here and its `JoinHandle` sees a
/// cancelled `JoinError` rather than a missing output.
pub(crate) fn discard(runnable: Runnable<TaskMeta>) {
    runnable.metadata().cancelled.store(true, Ordering::Release);
    runnable.run();
}
