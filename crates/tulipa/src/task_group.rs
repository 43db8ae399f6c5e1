//! `TaskGroup` (asyncio's `TaskGroup`): spawn tasks into a group, join them
//! all, and cancel the rest on the first failure; and `TaskScope`, its
//! borrowing, single-task variant.
//!
//! # Design
//!
//! A [`TaskGroup`] owns the `JoinHandle` of every task spawned into it, in a
//! [`FutureSet`] (per-task wakers, so joining N tasks costs O(N) polls).
//! Tasks spawned through a cloned [`GroupSpawner`] (for example from inside
//! a task of the group) go through a mutex-protected inbox that the joiner
//! drains on every poll; the inbox also holds the joiner's waker.
//!
//! The [`ChildTask`] returned by `spawn` holds the executor's
//! [`CancelHandle`](crate::task::CancelHandle) of the task: [`ChildTask::cancel`] is the
//! executor's cancellation (the task's future is dropped at its next poll
//! and its handle in the group gives a cancelled [`JoinError`]), and
//! [`ChildTask::is_finished`] its record of the task's end; the task's
//! identity is read from the task when first asked for. Each task's future
//! is wrapped (`child_body`) only to decrement the group's count of
//! unfinished tasks when it is dropped (after the future itself), so
//! [`TaskGroup::len`] counts tasks still running, whether or not their
//! results were taken yet. A spawn into a group allocates nothing beyond
//! the task itself (and the set's per-task waker).
//!
//! States: *open* (spawns accepted) then *closed* (spawns refused with
//! [`GroupClosed`]). The group closes when `join` finds nothing left to
//! wait for (set and inbox empty, checked under the inbox lock, so no spawn
//! slips in between), on the first failure, or when the group is dropped.
//!
//! Failure follows asyncio: a task that panics (or, with
//! [`TaskGroup::try_join`], returns `Err`) closes the group and cancels
//! every other task; the group still waits for all of them, and collects
//! the failure of every task that failed before its cancellation took
//! effect into one [`GroupError`] (asyncio's `ExceptionGroup`). A cancelled
//! task is not a failure: it just has no output. Dropping the group (or a
//! `join` future) cancels every task it holds, but cannot wait: their
//! futures are dropped at their next poll, on their worker.
//!
//! Lock order: the inbox mutex, and a child's waker mutex, never both, and
//! neither held while polling a task. A spawner spawns while holding the
//! inbox mutex, so a spawn cannot race the close.
//!
//! [`TaskScope`] runs borrowed futures inside the awaiting task instead of
//! spawning them; see its docs for why that, and only that, is sound.
//!
//! Why this lives in the facade and not beside the combinators in
//! `tulipa-future`: a group spawns named tasks on the current runtime and
//! keeps their `JoinHandle`s to cancel them, and the runtime-agnostic spawn
//! hook of `tulipa-core` spawns detached futures only. Moving it would make
//! `tulipa-future` depend on the executor, which depends on `tulipa-future`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tulipa_executor::SpawnOptions;
use tulipa_future::combinators::FutureSet;

use crate::task::{JoinError, JoinHandle, TaskId};

mod child;
mod error;

use child::spawn_child;
pub use child::ChildTask;
pub use error::{GroupClosed, GroupError, TaskFailure};

/// A group of tasks joined together (asyncio's `TaskGroup`).
///
/// - [`spawn`](TaskGroup::spawn) starts a task on the current runtime,
///   keeps its `JoinHandle` in the group, and returns a [`ChildTask`] to
///   name or cancel that task (asyncio's `tg.create_task`).
/// - [`join`](TaskGroup::join) waits for every task and returns the outputs
///   in spawn order. The first task to panic makes the group cancel all the
///   others; `join` still waits for them and returns a [`GroupError`] with
///   every failure (asyncio's `ExceptionGroup`), the first one first.
/// - [`try_join`](TaskGroup::try_join), for tasks returning `Result`, also
///   treats an `Err` as a failure.
/// - [`join_next`](TaskGroup::join_next) takes results one at a time, in
///   completion order.
/// - A cancelled task (through its [`ChildTask`],
///   [`cancel_all`](TaskGroup::cancel_all), or the group's own failure
///   handling) is not a failure, as in asyncio: it has no output, and
///   `join` leaves it out.
/// - Dropping the group without joining cancels every task it holds.
///
/// # Examples
///
/// ```
/// use tulipa::task::TaskGroup;
///
/// tulipa::run(async {
///     let mut group = TaskGroup::new();
///     for i in 0..3 {
///         group.spawn(async move { i * 10 });
///     }
///     assert_eq!(group.join().await.unwrap(), [0, 10, 20]);
/// });
/// ```
pub struct TaskGroup<T> {
    set: FutureSet<JoinHandle<T>>,
    /// The id of each task, by its index in `set`.
    ids: Vec<TaskId>,
    inbox: Arc<Inbox<T>>,
}

struct Inbox<T> {
    state: Mutex<InboxState<T>>,
    /// Tasks of the group whose future has not finished.
    running: Arc<AtomicUsize>,
}

struct InboxState<T> {
    handles: Vec<JoinHandle<T>>,
    closed: bool,
    waker: Option<Waker>,
}

impl<T> Inbox<T> {
    fn lock(&self) -> MutexGuard<'_, InboxState<T>> {
        // Nothing panics while the lock is held except a spawn that found
        // no runtime, which leaves the state consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<T: Send + 'static> Default for TaskGroup<T> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<T: Send + 'static> TaskGroup<T> {
    /// An empty, open group.
    pub fn new() -> TaskGroup<T> {
        TaskGroup {
            set: FutureSet::new(),
            ids: Vec::new(),
            inbox: Arc::new(Inbox {
                state: Mutex::new(InboxState {
                    handles: Vec::new(),
                    closed: false,
                    waker: None,
                }),
                running: Arc::new(AtomicUsize::new(0)),
            }),
        }
    }

    /// Spawns `future` as a task of the group on the current runtime
    /// (asyncio's `tg.create_task(coro)`); returns a [`ChildTask`] to name
    /// or cancel it. Its output comes back from [`join`](TaskGroup::join)
    /// or [`join_next`](TaskGroup::join_next).
    ///
    /// # Panics
    ///
    /// Panics outside a runtime, as [`spawn`](crate::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::pending;
    /// use tulipa::task::TaskGroup;
    ///
    /// tulipa::run(async {
    ///     let mut group = TaskGroup::new();
    ///     group.spawn(async { 1 });
    ///     let stuck = group.spawn(pending());
    ///     assert!(stuck.cancel());
    ///     // A cancelled task is not a failure; it has no output.
    ///     assert_eq!(group.join().await.unwrap(), [1]);
    ///     assert!(stuck.is_finished());
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> ChildTask
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.spawn_with(SpawnOptions::new(), future)
    }

    /// Like [`spawn`](TaskGroup::spawn), naming the task
    /// (`create_task(coro, name=...)`).
    ///
    /// # Panics
    ///
    /// Panics outside a runtime, as [`spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn_named<F>(&mut self, name: &str, future: F) -> ChildTask
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.spawn_with(SpawnOptions::new().name(name), future)
    }

    #[track_caller]
    fn spawn_with<F>(&mut self, options: SpawnOptions, future: F) -> ChildTask
    where
        F: Future<Output = T> + Send + 'static,
    {
        let options = options.location(std::panic::Location::caller());
        let (task, child) = spawn_child("TaskGroup::spawn", options, &self.inbox.running, future);
        self.push(task);
        child
    }

    fn push(&mut self, task: JoinHandle<T>) {
        self.ids.push(task.id());
        let index = self.set.push(task);
        debug_assert_eq!(index + 1, self.ids.len());
    }

    /// A cloneable, `Send` handle that spawns into this group from anywhere,
    /// for example from inside one of its tasks, while the group is being
    /// joined.
    pub fn spawner(&self) -> GroupSpawner<T> {
        GroupSpawner {
            inbox: self.inbox.clone(),
        }
    }

    /// How many tasks of the group have not finished yet (still running or
    /// waiting to run). A task that finished counts no more, even before
    /// its result is taken.
    pub fn len(&self) -> usize {
        self.inbox.running.load(Ordering::SeqCst)
    }

    /// Whether every task of the group has finished (or none was spawned).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cancels every task the group holds, now. A cancelled task is not a
    /// failure: `join` then returns the outputs of the tasks that finished
    /// before the cancellation took effect.
    pub fn cancel_all(&self) {
        for (_, h) in self.set.iter_pending() {
            cancel(h);
        }
        for h in &self.inbox.lock().handles {
            cancel(h);
        }
    }

    /// Waits for every task, including tasks spawned meanwhile through a
    /// [`GroupSpawner`]; returns their outputs in spawn order, without the
    /// tasks that were cancelled or whose results
    /// [`join_next`](TaskGroup::join_next) already took.
    ///
    /// # Errors
    ///
    /// A [`GroupError`] with every task that panicked, in the order the
    /// group saw them; the first one made the group cancel all the others,
    /// which have finished when this returns.
    ///
    /// # Cancel safety
    ///
    /// Dropping the `join` future cancels every task still in the group.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::pending;
    /// use tulipa::task::{TaskFailure, TaskGroup};
    ///
    /// tulipa::run(async {
    ///     let mut group = TaskGroup::new();
    ///     let bad = group.spawn(async { panic!("bad input") });
    ///     group.spawn(pending()); // cancelled by the failure
    ///     let err = group.join().await.unwrap_err();
    ///     assert_eq!(err.failures().len(), 1);
    ///     match err.first() {
    ///         TaskFailure::Panicked(p) => assert_eq!(p.id(), bad.id()),
    ///         other => unreachable!("{other:?}"),
    ///     }
    /// });
    /// ```
    pub async fn join(self) -> Result<Vec<T>, GroupError> {
        self.run(|_, r| match r {
            Ok(v) => Outcome::Value(v),
            Err(j) if j.is_cancelled() => Outcome::Cancelled,
            Err(j) => Outcome::Failed(TaskFailure::Panicked(j)),
        })
        .await
    }

    /// Waits for the next task to finish and returns its result, in
    /// completion order; `None` when the group holds no task whose result
    /// was not taken (the group stays open: spawn more and call it again).
    ///
    /// A task that panicked closes the group and cancels every other task,
    /// as in [`join`](TaskGroup::join); its error comes back here, and the
    /// cancelled tasks then come back as cancelled [`JoinError`]s (or with
    /// their output, if they finished first). A result taken here is not
    /// returned again by `join`.
    ///
    /// # Errors
    ///
    /// The task's [`JoinError`] if it panicked or was cancelled.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no result
    /// is lost; the next call returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulipa::task::TaskGroup;
    /// use tulipa::time::sleep;
    ///
    /// tulipa::run(async {
    ///     let mut group = TaskGroup::new();
    ///     for ms in [30u64, 10, 20] {
    ///         group.spawn(async move {
    ///             sleep(Duration::from_millis(ms)).await;
    ///             ms
    ///         });
    ///     }
    ///     let mut order = Vec::new();
    ///     while let Some(r) = group.join_next().await {
    ///         order.push(r.unwrap());
    ///     }
    ///     assert_eq!(order, [10, 20, 30]);
    /// });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        let (_, result) = std::future::poll_fn(|cx| self.poll_next(cx, false)).await?;
        if result.as_ref().is_err_and(JoinError::is_panic) {
            self.close_and_cancel();
        }
        Some(result)
    }

    async fn run<U, E>(
        mut self,
        mut check: impl FnMut(TaskId, Result<T, JoinError>) -> Outcome<U, E>,
    ) -> Result<Vec<U>, GroupError<E>> {
        let mut outputs: Vec<Option<U>> = Vec::new();
        let mut failures = Vec::new();
        while let Some((index, result)) = std::future::poll_fn(|cx| self.poll_next(cx, true)).await
        {
            match check(self.ids[index], result) {
                Outcome::Value(v) if failures.is_empty() => {
                    if outputs.len() <= index {
                        outputs.resize_with(index + 1, || None);
                    }
                    outputs[index] = Some(v);
                }
                Outcome::Value(_) | Outcome::Cancelled => {}
                Outcome::Failed(f) => {
                    if failures.is_empty() {
                        self.close_and_cancel();
                        outputs = Vec::new();
                    }
                    failures.push(f);
                }
            }
        }
        if failures.is_empty() {
            Ok(outputs.into_iter().flatten().collect())
        } else {
            Err(GroupError::new(failures))
        }
    }

    /// The next finished task, with its index; `None` once nothing is left
    /// (and then, if `close_when_empty`, the group is closed).
    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        close_when_empty: bool,
    ) -> Poll<Option<(usize, Result<T, JoinError>)>> {
        loop {
            {
                let mut inbox = self.inbox.lock();
                if !inbox
                    .waker
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    inbox.waker = Some(cx.waker().clone());
                }
                for h in inbox.handles.drain(..) {
                    // `push`, on the fields: the inbox stays borrowed.
                    self.ids.push(h.id());
                    self.set.push(h);
                }
                if self.set.is_empty() {
                    if close_when_empty {
                        inbox.closed = true;
                    }
                    return Poll::Ready(None);
                }
            }
            match self.set.poll_next(cx) {
                Poll::Ready(None) => continue,
                Poll::Ready(Some((index, result))) => return Poll::Ready(Some((index, result))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn close_and_cancel(&mut self) {
        let handles = {
            let mut inbox = self.inbox.lock();
            inbox.closed = true;
            std::mem::take(&mut inbox.handles)
        };
        for h in handles {
            cancel(&h);
            self.push(h);
        }
        for (_, h) in self.set.iter_pending() {
            cancel(h);
        }
    }
}

impl<U: Send + 'static, E: Send + 'static> TaskGroup<Result<U, E>> {
    /// Like [`join`](TaskGroup::join), for tasks that return `Result`: an
    /// `Err` is a failure too. The first failure cancels every other task;
    /// this waits for them and returns every failure.
    ///
    /// # Errors
    ///
    /// A [`GroupError`] with a [`TaskFailure::Failed`] for each task that
    /// returned `Err` and a [`TaskFailure::Panicked`] for each that
    /// panicked, in the order the group saw them.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels every task still in the group.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::task::{TaskFailure, TaskGroup};
    ///
    /// tulipa::run(async {
    ///     let mut group = TaskGroup::new();
    ///     group.spawn(async { Ok(1) });
    ///     group.spawn(async { Err("bad input") });
    ///     group.spawn(std::future::pending()); // cancelled by the failure
    ///     let err = group.try_join().await.unwrap_err();
    ///     match err.first() {
    ///         TaskFailure::Failed { error, .. } => assert_eq!(*error, "bad input"),
    ///         other => unreachable!("{other:?}"),
    ///     }
    /// });
    /// ```
    pub async fn try_join(self) -> Result<Vec<U>, GroupError<E>> {
        self.run(|id, r| match r {
            Ok(Ok(v)) => Outcome::Value(v),
            Ok(Err(error)) => Outcome::Failed(TaskFailure::Failed { id, error }),
            Err(j) if j.is_cancelled() => Outcome::Cancelled,
            Err(j) => Outcome::Failed(TaskFailure::Panicked(j)),
        })
        .await
    }
}

/// What a task's result means to the group.
enum Outcome<U, E> {
    Value(U),
    Cancelled,
    Failed(TaskFailure<E>),
}

impl<T> Drop for TaskGroup<T> {
    fn drop(&mut self) {
        let handles = {
            let mut inbox = self.inbox.lock();
            inbox.closed = true;
            inbox.waker = None;
            std::mem::take(&mut inbox.handles)
        };
        for h in handles {
            cancel(&h);
        }
        for (_, h) in self.set.take_pending() {
            cancel(&h);
        }
    }
}

impl<T> fmt::Debug for TaskGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("tasks", &self.set)
            .field("running", &self.inbox.running.load(Ordering::SeqCst))
            .finish()
    }
}

/// Cancels a task of the group; whether the call did anything (if
/// `JoinHandle::cancel` reports it) does not matter here.
fn cancel<T>(h: &JoinHandle<T>) {
    #[allow(clippy::let_unit_value)]
    let _ = h.cancel();
}

/// Spawns into a [`TaskGroup`] from anywhere (asyncio's `tg.create_task`
/// from inside a child task). Cloneable and `Send`.
pub struct GroupSpawner<T> {
    inbox: Arc<Inbox<T>>,
}

impl<T> Clone for GroupSpawner<T> {
    fn clone(&self) -> Self {
        GroupSpawner {
            inbox: self.inbox.clone(),
        }
    }
}

impl<T: Send + 'static> GroupSpawner<T> {
    /// Spawns `future` into the group on the current runtime.
    ///
    /// # Errors
    ///
    /// [`GroupClosed`] (holding the future) if the group has finished
    /// joining, failed, or was dropped.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime, as [`spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Result<ChildTask, GroupClosed<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.spawn_with(SpawnOptions::new(), future)
    }

    /// Like [`spawn`](GroupSpawner::spawn), naming the task.
    ///
    /// # Errors
    ///
    /// [`GroupClosed`] if the group no longer accepts tasks.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime.
    #[track_caller]
    pub fn spawn_named<F>(&self, name: &str, future: F) -> Result<ChildTask, GroupClosed<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.spawn_with(SpawnOptions::new().name(name), future)
    }

    #[track_caller]
    fn spawn_with<F>(&self, options: SpawnOptions, future: F) -> Result<ChildTask, GroupClosed<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let location = std::panic::Location::caller();
        let mut inbox = self.inbox.lock();
        if inbox.closed {
            return Err(GroupClosed(future));
        }
        let (task, child) = spawn_child(
            "GroupSpawner::spawn",
            options.location(location),
            &self.inbox.running,
            future,
        );
        inbox.handles.push(task);
        let waker = inbox.waker.clone();
        drop(inbox);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(child)
    }

    /// Whether the group still accepts tasks.
    pub fn is_open(&self) -> bool {
        !self.inbox.lock().closed
    }
}

impl<T> fmt::Debug for GroupSpawner<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GroupSpawner { .. }")
    }
}

/// A group of futures that may borrow from the enclosing stack, run
/// concurrently *inside the task that awaits* [`join`](TaskScope::join)
/// (a scoped `TaskGroup`).
///
/// Nothing is spawned: the futures run on the awaiting task's thread, one
/// poll at a time, so they may borrow local data (`&v`, `&mut counter`)
/// and the first failure simply drops the others.
///
/// # Why not spawn borrowed futures onto workers?
///
/// A scope that spawned borrowing futures onto other threads would rely on
/// its own destructor (or its `join`) to stop them before the borrow ends.
/// But a future can be leaked (`std::mem::forget`) without running its
/// destructor, so the borrowed data could be freed while a worker still
/// uses it: unsound in safe code. Keeping the futures inside this value
/// avoids that: if it is leaked, the futures are leaked with it and never
/// polled again, and the borrow checker keeps the data alive as long as the
/// `TaskScope` exists. For parallelism, spawn `'static` work into a
/// [`TaskGroup`].
///
/// # Examples
///
/// ```
/// use tulipa::task::TaskScope;
///
/// tulipa::run(async {
///     let words = vec!["a".to_string(), "bb".to_string()];
///     let mut scope = TaskScope::new();
///     for w in &words {
///         scope.push(async move { w.len() });
///     }
///     assert_eq!(scope.join().await, [1, 2]);
/// });
/// ```
pub struct TaskScope<'a, T> {
    set: FutureSet<Pin<Box<dyn Future<Output = T> + Send + 'a>>>,
}

impl<T> Default for TaskScope<'_, T> {
    fn default() -> Self {
        TaskScope::new()
    }
}

impl<'a, T> TaskScope<'a, T> {
    /// An empty scope.
    pub fn new() -> Self {
        TaskScope {
            set: FutureSet::new(),
        }
    }

    /// Adds a future; it first runs when the scope is joined. Returns its
    /// index (the order of `push` calls, which is the order of the outputs).
    ///
    /// Nothing is spawned, so nothing here needs `Send` for itself; the
    /// bound is what keeps the scope `Send`, so a task on a multi-thread
    /// runtime can hold it across `join().await`.
    pub fn push<F>(&mut self, future: F) -> usize
    where
        F: Future<Output = T> + Send + 'a,
    {
        self.set.push(Box::pin(future))
    }

    /// The old name of [`push`](TaskScope::push): a scope spawns nothing.
    #[deprecated(
        since = "0.1.0",
        note = "a TaskScope spawns nothing: use TaskScope::push (same arguments, same index)"
    )]
    pub fn spawn<F>(&mut self, future: F) -> usize
    where
        F: Future<Output = T> + Send + 'a,
    {
        self.push(future)
    }

    /// How many futures the scope holds.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether the scope holds no future.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Runs every future to completion; returns their outputs in push
    /// order.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops every future of the scope.
    pub async fn join(mut self) -> Vec<T> {
        let mut outputs: Vec<Option<T>> = Vec::new();
        outputs.resize_with(self.set.pushed(), || None);
        while let Some((i, v)) = std::future::poll_fn(|cx| self.set.poll_next(cx)).await {
            outputs[i] = Some(v);
        }
        outputs.into_iter().flatten().collect()
    }
}

impl<'a, U, E> TaskScope<'a, Result<U, E>> {
    /// Runs every future; the first `Err` drops all the others and is
    /// returned; otherwise the values in push order.
    ///
    /// # Errors
    ///
    /// The first error a future returned.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops every future of the scope.
    pub async fn try_join(mut self) -> Result<Vec<U>, E> {
        let mut outputs: Vec<Option<U>> = Vec::new();
        outputs.resize_with(self.set.pushed(), || None);
        while let Some((i, r)) = std::future::poll_fn(|cx| self.set.poll_next(cx)).await {
            outputs[i] = Some(r?);
        }
        Ok(outputs.into_iter().flatten().collect())
    }
}

impl<T> fmt::Debug for TaskScope<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskScope")
            .field("futures", &self.set)
            .finish()
    }
}
