//! Spawning: the wrapper future every task runs in, and how a task is made.
//!
//! A spawned future `F` is wrapped in a [`TaskFuture`] that, on every poll:
//! counts the poll in the task's metadata, makes the task "current" for
//! [`current`], honours a pending cancellation (drops `F` and completes with
//! a cancelled [`JoinError`]) and catches a panic from `F` (completes with a
//! panic `JoinError`, so the worker thread and every other task go on).
//! When the wrapper is dropped, for whatever reason, it removes the task's
//! registry entry.
// Unsafe here: `spawn_unchecked` (a task's future borrows its own metadata), the current task's metadata and waker read through the pointers a poll publishes, and the registry insert and the reference a waiting task holds to itself (`hold_self`); every block carries its SAFETY proof. The wrapper's pin projection is `pin-project-lite`'s.
#![allow(unsafe_code)]

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_task::{Runnable, ScheduleInfo, WithInfo};
use pin_project_lite::pin_project;

use crate::diag::{panic_message, Observe, PollTimer};
use crate::join::{JoinError, JoinHandle};
use crate::meta::{TaskId, TaskInfo, TaskMeta};
use crate::owner::{FastPath, Owner};
use crate::registry::Registry;

thread_local! {
    /// The metadata of the task being polled on this thread: set by
    /// `TaskFuture::poll` for the duration of the poll, restored after.
    static CURRENT: Cell<Option<NonNull<TaskMeta>>> = const { Cell::new(None) };
    /// Set by `yield_now` during a task's poll: the task woke itself and
    /// will be rescheduled when the poll returns.
    static YIELDED: Cell<bool> = const { Cell::new(false) };
    /// The task's own waker during its poll (see `Step`), so `yield_now`
    /// can tell a wake of the task from a wake of a combinator's child.
    static TASK_WAKER: Cell<Option<NonNull<Waker>>> = const { Cell::new(None) };
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
    // SAFETY: `CURRENT` holds a pointer only while `TaskFuture::poll` or
    // `TaskFuture::drop` of that task runs on this thread (a `CurrentGuard`
    // restores the previous value when it ends, also on unwind), and the
    // metadata lives in the task's allocation, which async-task keeps alive
    // for as long as the future (the future borrows it; see `spawn_task`).
    // This function runs on the same thread, inside that poll or drop, and
    // the reference does not escape `f`.
    let meta = ptr.map(|p| unsafe { p.as_ref() });
    f(meta)
}

pub use tulipa_core::spawn::SpawnOptions;

/// Feature `tracing`: the task's `runtime.spawn` span; nothing without it.
#[cfg(feature = "tracing")]
type TaskSpan = tracing::Span;
#[cfg(not(feature = "tracing"))]
type TaskSpan = ();

pin_project! {
    /// The future async-task runs for a task: the user's future, polled
    /// inside the task's context (current task, budget, step, timers).
    struct TaskFuture<'a, F> {
        meta: &'a TaskMeta,
        // Structurally pinned: never moved out, only dropped in place by
        // `Pin::set(None)`.
        #[pin]
        future: Option<F>,
        // Feature `tracing`: the task's span, entered for each poll and
        // closed when this wrapper (the task's future) is dropped.
        span: TaskSpan,
    }

    impl<'a, F> PinnedDrop for TaskFuture<'a, F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            let meta = *this.meta;
            // Drop the user's future first, while the task still counts as
            // live and as the current task (its destructor is the task's
            // `finally:`); a panicking destructor must not unwind into the
            // executor.
            if this.future.is_some() {
                let _current = CurrentGuard::enter(meta);
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| this.future.set(None)));
            }
            #[cfg(feature = "tracing")]
            meta.tracing.future_dropped();
            // Dropped without an outcome (never polled to the end): cancelled.
            crate::done::finish(meta, &Ok(()), true);
            meta.owner.registry().remove(meta);
            release_self(meta);
        }
    }
}

/// A task whose poll returns `Pending` for the first time takes one
/// reference to itself, so that while it waits it stays alive even if
/// nobody else holds its waker or handle: `cancel`, the dump and the
/// shutdown sweep reach it through the registry, which holds no reference
/// (see `registry.rs`). [`release_self`] gives it back when the future is
/// dropped (and clears the flag, so a task holds itself at most once). A
/// task that ends in its first poll never takes it.
///
/// This is also what the registry's pointers rest on: without it, a task
/// whose poll returned `Pending` with no waker kept anywhere and no handle
/// (detached or dropped) would lose its last reference when the poll ends,
/// and async-task would free it without dropping its future, leaving its
/// node linked (`a_detached_task_nobody_can_wake_lives_until_shutdown` in
/// `tests/executor_alloc.rs` crashes without this call). It runs before
/// the poll returns, while async-task still holds the runnable's
/// reference.
#[cold]
fn hold_self(meta: &TaskMeta) {
    // SAFETY: this runs in the task's poll, which its spawn (and so its
    // registry insert) happens before.
    let Some(parts) = (unsafe { Registry::parts_of(meta) }) else {
        return;
    };
    // SAFETY: the task is being polled, so its allocation is alive.
    std::mem::forget(unsafe { parts.to_waker() });
    // Only the task's polls and its future's drop touch the flag. They may
    // run on different threads, but each comes after the one before it:
    // async-task's state changes at the end and start of a run, and the
    // run queue's hand-offs, order them.
    meta.holds_self.store(true, Ordering::Relaxed);
}

/// Gives back the reference [`hold_self`] took, if it did. Called when the
/// task's future is dropped, and never the last reference: async-task
/// 4.7.1 drops a future only while it holds the runnable's reference
/// (`Runnable`'s drop, and `run`'s completed, closed and panic paths), and
/// releases that one after. Were it the last, async-task's waker drop would
/// reschedule a task whose future is half dropped. This rests on
/// async-task's internals, like the case in [`hold_self`]; the tests in
/// `tests/executor_alloc.rs` check both.
fn release_self(meta: &TaskMeta) {
    if meta.holds_self.load(Ordering::Relaxed) {
        meta.holds_self.store(false, Ordering::Relaxed);
        // SAFETY: `hold_self` stored the flag after taking the parts (set
        // at spawn, never changed), and forgot exactly one reference made
        // from them; the flag is cleared first, so it is given back once.
        unsafe {
            if let Some(parts) = Registry::parts_of(meta) {
                parts.release();
            }
        }
    }
}

/// Makes a task current on this thread (or none, for [`outside_task`]);
/// restores the previous one on drop, also on unwind. Does nothing while
/// the thread's locals are being torn down.
struct CurrentGuard {
    previous: Option<NonNull<TaskMeta>>,
    set: bool,
}

impl CurrentGuard {
    #[inline]
    fn enter(meta: &TaskMeta) -> CurrentGuard {
        CurrentGuard::replace(Some(NonNull::from(meta)))
    }

    #[inline]
    fn replace(with: Option<NonNull<TaskMeta>>) -> CurrentGuard {
        match CURRENT.try_with(|c| c.replace(with)) {
            Ok(previous) => CurrentGuard {
                previous,
                set: true,
            },
            Err(_) => CurrentGuard {
                previous: None,
                set: false,
            },
        }
    }
}

impl Drop for CurrentGuard {
    #[inline]
    fn drop(&mut self) {
        if self.set {
            let _ = CURRENT.try_with(|c| c.set(self.previous));
        }
    }
}

/// Runs `f` as no task: inside it, [`current_id`] and [`current_info`]
/// return `None`, even when called from a task's poll.
///
/// For code that a task runs on behalf of the event loop rather than as
/// itself, such as the runtime's `call_soon` callbacks: asyncio's callbacks
/// are not tasks and see no current task.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulipa_core::ThreadParker;
/// use tulipa_executor::{current_id, outside_task, CurrentThread, SpawnOptions};
///
/// let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
/// let h = ex.spawn(SpawnOptions::new(), async {
///     (current_id().is_some(), outside_task(|| current_id().is_some()))
/// });
/// assert_eq!(ex.block_on(h).unwrap(), (true, false));
/// ```
pub fn outside_task<R>(f: impl FnOnce() -> R) -> R {
    let _none = CurrentGuard::replace(None);
    f()
}

impl<F: Future> Future for TaskFuture<'_, F> {
    /// The error is boxed: a task's output shares its allocation with the
    /// future (a union of the two), and a `JoinError` is 24 bytes that
    /// only a cancelled or panicked task fills; boxed, a task returning
    /// `()` needs 8 bytes for its output, not 32.
    type Output = Result<F::Output, Box<JoinError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let meta = *this.meta;
        // Feature `tracing`: the poll runs inside the task's span, and the
        // future sees the traced waker (see the `trace` module).
        #[cfg(feature = "tracing")]
        let _entered = this.span.enter();
        #[cfg(feature = "tracing")]
        let traced = meta.tracing.waker(cx.waker());
        #[cfg(feature = "tracing")]
        let mut traced_cx = Context::from_waker(traced.as_ref().unwrap_or(cx.waker()));
        #[cfg(feature = "tracing")]
        let cx = &mut traced_cx;
        // A main future's `yield_now` may wait for this step: it is told
        // when the step ends (also on unwind), see `YieldBarrier`.
        let _step = Step::start(meta, cx.waker());
        // Only the polling thread writes the counter: a load and a store
        // are enough and avoid a locked instruction.
        meta.polls
            .store(meta.polls.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        if meta.cancelled.load(Ordering::Acquire) {
            // The future is dropped as the task: code in its destructor sees
            // `current_info()` naming it (asyncio runs `finally:` inside the
            // cancelled task). A panic in the destructor must not escape
            // into the worker (or into shutdown): it is swallowed; the task
            // reports its cancellation.
            {
                let _current = CurrentGuard::enter(meta);
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| this.future.set(None)));
            }
            crate::done::finish(meta, &Ok(()), true);
            return Poll::Ready(Err(Box::new(JoinError::cancelled(meta.id))));
        }
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            // Polled after completion: async-task never does this.
            return Poll::Pending;
        };
        let _current = CurrentGuard::enter(meta);
        let timer = meta.debug.then(|| PollTimer::start(meta));
        meta.trace.poll_start();
        let polled = catch_unwind_poll(|| tulipa_core::coop::with_budget(|| future.poll(cx)));
        if let Some(timer) = timer {
            timer.finish(meta);
        }
        let out = match polled {
            Poll::Pending => {
                meta.trace.poll_pending(&meta.trace_point);
                // Its first `Pending`: the task holds itself from now on.
                if !meta.holds_self.load(Ordering::Relaxed) {
                    hold_self(meta);
                }
                return Poll::Pending;
            }
            Poll::Ready(Ok(v)) => {
                // The future's destructor runs here; a panic in it is the
                // task's failure, never the worker's.
                match std::panic::catch_unwind(AssertUnwindSafe(|| this.future.set(None))) {
                    Ok(()) => Ok(v),
                    Err(panic) => Err(panicked(meta, panic)),
                }
            }
            Poll::Ready(Err(panic)) => {
                // Drop the future now; a panic in its destructor is caught
                // as well and the first payload wins.
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| this.future.set(None)));
                Err(panicked(meta, panic))
            }
        };
        // Done callbacks are dispatched as no task (they are the loop's).
        drop(_current);
        crate::done::finish(meta, &out.as_ref().map(|_| ()).map_err(|_| ()), false);
        Poll::Ready(out)
    }
}

/// One poll, as yield barriers see it: marks the task running, and when
/// the poll ends marks it idle and tells the owner's barrier about every
/// count it was part of (one taken while queued, one while running).
struct Step<'a> {
    meta: &'a TaskMeta,
    /// The owner has yield barriers (multi-thread): else this is a no-op.
    tracked: bool,
    counted_while_queued: bool,
    outer_waker: Option<NonNull<Waker>>,
}

impl<'a> Step<'a> {
    /// Inlined into every task's poll: on an executor without yield
    /// barriers (current-thread) it is one load and one branch, and the
    /// tracking itself is out of line.
    #[inline]
    fn start(meta: &'a TaskMeta, waker: &Waker) -> Step<'a> {
        if !meta.track_steps {
            return Step {
                meta,
                tracked: false,
                counted_while_queued: false,
                outer_waker: None,
            };
        }
        Step::start_tracked(meta, waker)
    }

    #[inline(never)]
    fn start_tracked(meta: &'a TaskMeta, waker: &Waker) -> Step<'a> {
        let _ = YIELDED.try_with(|y| y.set(false));
        let outer_waker = TASK_WAKER
            .try_with(|w| w.replace(Some(NonNull::from(waker))))
            .ok()
            .flatten();
        Step {
            meta,
            tracked: true,
            counted_while_queued: meta.step.start(),
            outer_waker,
        }
    }

    #[inline(never)]
    fn end_tracked(&mut self) {
        // A task that called `yield_now` (and did not end in the same poll:
        // every ending records its outcome before this runs) is rescheduled
        // by async-task right after this poll: it counts as queued from now
        // on, so a barrier set up in between does not miss it.
        let yielded = YIELDED.try_with(|y| y.replace(false)).unwrap_or(false)
            && !crate::done::is_done(self.meta);
        let _ = TASK_WAKER.try_with(|w| w.set(self.outer_waker));
        let settled = self.meta.step.end(self.counted_while_queued, yielded);
        if settled > 0 {
            self.meta.owner.yield_barrier_settle(settled);
        }
    }
}

impl Drop for Step<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.tracked {
            self.end_tracked();
        }
    }
}

/// The task's panic: recorded for the unhandled-panic handshake, then
/// wrapped for its handle.
fn panicked(meta: &TaskMeta, panic: Box<dyn Any + Send>) -> Box<JoinError> {
    Observe::task_panicked(meta, panic_message(&*panic));
    Box::new(JoinError::panic(meta.id, panic))
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
    fn new(meta: &'a TaskMeta, future: F, span: TaskSpan) -> Self {
        TaskFuture {
            meta,
            future: Some(future),
            span,
        }
    }
}

fn schedule<P: FastPath>(runnable: Runnable<TaskMeta>, info: ScheduleInfo) {
    // Ready: a yield barrier may now wait for its next poll. A task is never
    // queued twice; only a task that yielded is already marked queued (see
    // `Step`), possibly `AWAITED`, which must stay.
    let meta = runnable.metadata();
    meta.trace.scheduled();
    if meta.track_steps {
        meta.step.scheduled(info.woken_while_running);
    }
    // The executor's fast path first (a multi-thread worker takes a wake of
    // its own task through its thread-local context, without touching the
    // shared reference count in the metadata).
    let runnable = match P::schedule(runnable, info) {
        Ok(()) => return,
        Err(r) => r,
    };
    let owner = runnable.metadata().owner.clone();
    owner.schedule(runnable, info);
}

/// Creates a task owned by `owner` and returns its first runnable (not yet
/// scheduled), its join handle, and whether the owner's registry took it:
/// `false` once the registry is closed (shutdown), and then the caller must
/// drop the runnable (which cancels the task) instead of scheduling it.
///
/// A future that is not `Send` may only be given here by the thread-local
/// task set (`local.rs`), whose owner runs and drops it on its own thread.
#[track_caller]
pub(crate) fn spawn_task<P: FastPath, F>(
    owner: Arc<dyn Owner>,
    options: SpawnOptions,
    future: F,
) -> (Runnable<TaskMeta>, JoinHandle<F::Output>, bool)
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
    #[cfg(feature = "tracing")]
    let (span, task_trace) = crate::trace::TaskTrace::new(id, name.as_deref(), location);
    // One virtual call, not two: debug mode decides both the poll timer
    // and the dump's timestamps.
    let debug = owner.debug();
    let meta = TaskMeta::new(
        id,
        name,
        location,
        owner,
        debug,
        P::YIELD_BARRIERS,
        #[cfg(feature = "tracing")]
        task_trace,
    );
    let builder = async_task::Builder::new().metadata(meta);
    #[cfg(not(feature = "tracing"))]
    let make = move |meta| TaskFuture::new(meta, future, ());
    #[cfg(feature = "tracing")]
    let make = move |meta| TaskFuture::new(meta, future, span);
    // SAFETY: `spawn_unchecked` asks for three things. (1) A future that is
    // not `Send` must be polled and dropped on the spawning thread only: such
    // tasks come from the thread-local task set, which runs and drops its
    // runnables only on its own thread; wakers on other threads only push
    // the runnable into a queue that the owning thread drains, and that
    // thread drains and drops the queue when it exits. Other tasks are
    // `Send` (see `spawn_send`). (2) Borrowed data other than the metadata
    // must outlive the runnable: the future borrows only the metadata, which
    // async-task keeps alive as long as the future. (3) The schedule
    // function is a plain `fn`, so it is `Send + Sync + 'static`.
    let (runnable, task) = unsafe { builder.spawn_unchecked(make, WithInfo(schedule::<P>)) };
    let meta = runnable.metadata();
    // The registry keeps the parts of a waker, not a reference: this one is
    // dropped at once, so the task has one reference again before anyone
    // detaches, awaits or runs it (async-task's fast paths).
    let waker = runnable.waker();
    // SAFETY: the metadata lives in the task's allocation and never moves,
    // and no other thread can reach the task yet. The allocation, and so
    // the task the waker names, stays alive until the task's future
    // (`TaskFuture`, whose drop calls `remove`) is dropped. Until its first
    // `Pending` poll the task's runnable holds a reference (queued, running,
    // or discarded by the caller when the registry refuses the task: a run
    // that drops the future); from that poll on the task holds itself
    // (`hold_self`). async-task frees a task only when no reference is
    // left, and then it has dropped the future first in every case but
    // one: the last reference gone at the end of a `Pending` poll, which
    // `hold_self` rules out.
    let registered = unsafe { meta.owner.registry().insert(meta, &waker) };
    drop(waker);
    (runnable, JoinHandle::new(task), registered)
}

/// Spawns a `Send` task; the only entry point for the non-local path.
#[track_caller]
pub(crate) fn spawn_send<P: FastPath, F>(
    owner: Arc<dyn Owner>,
    options: SpawnOptions,
    future: F,
) -> (Runnable<TaskMeta>, JoinHandle<F::Output>, bool)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_task::<P, F>(owner, options, future)
}

/// Yields once to the executor: the task goes to the back of the run queue
/// so every other ready task runs first (asyncio's `await asyncio.sleep(0)`).
///
/// In the future given to a tulipa `block_on` it means the same: every task
/// that was ready (the executor's, on [`CurrentThread::block_on`], and this
/// thread's local tasks) runs one step, in FIFO order, before that future is
/// polled again. Beside a [`MultiThread`] executor (a runtime's `block_on`,
/// see [`block_on_watched`](crate::block_on_watched)), whose workers run in
/// parallel, the future is polled again once every task that was queued or
/// in the middle of a step has finished a step.
///
/// [`CurrentThread::block_on`]: crate::CurrentThread::block_on
/// [`MultiThread`]: crate::MultiThread
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

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        let task_waker = TASK_WAKER.try_with(Cell::get).ok().flatten();
        // SAFETY: `TASK_WAKER` holds the waker of the task being polled on
        // this thread, set by `Step::start` for the duration of that poll
        // (restored when it ends, also on unwind); this code runs inside
        // it, on the same thread, and the reference does not escape.
        let ours = task_waker.is_some_and(|w| cx.waker().will_wake(unsafe { w.as_ref() }));
        if ours {
            // The task itself is woken: async-task reschedules it when the
            // poll returns (see `Step`).
            let _ = YIELDED.try_with(|y| y.set(true));
        }
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
