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
//! States: *open* (spawns accepted) then *closed* (spawns refused with
//! [`GroupClosed`]). The group closes when `join` finds nothing left to
//! wait for (set and inbox empty, checked under the inbox lock, so no spawn
//! slips in between), on the first failure, or when the group is dropped.
//!
//! Failure (a panic, a cancellation, or with [`TaskGroup::try_join`] an
//! `Err`) closes the group, cancels every other task, and waits for them to
//! finish, so when `join` returns no task of the group is still running
//! (as asyncio, which also waits for the cancelled tasks). Dropping the
//! group (or a `join` future) cancels every task it holds, but cannot wait:
//! their futures are dropped at their next poll, on their worker.
//!
//! Lock order: only the inbox mutex; never held while polling a task. A
//! spawner spawns while holding it, so a spawn cannot race the close.
//!
//! [`TaskScope`] runs borrowed futures inside the awaiting task instead of
//! spawning them; see its docs for why that, and only that, is sound.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tulipa_executor::combinators::FutureSet;
use tulipa_executor::SpawnOptions;

use crate::runtime::Handle;
use crate::task::{JoinError, JoinHandle, TaskId};

/// A group of tasks joined together (asyncio's `TaskGroup`).
///
/// - [`spawn`](TaskGroup::spawn) starts a task on the current runtime and
///   keeps its handle in the group.
/// - [`join`](TaskGroup::join) waits for every task and returns the outputs
///   in spawn order; the first task to panic or be cancelled makes `join`
///   cancel all the others, wait for them, and return that error.
/// - [`try_join`](TaskGroup::try_join), for tasks returning `Result`, also
///   treats the first `Err` as the group's failure.
/// - Dropping the group without joining cancels every task it holds.
///
/// Differences from asyncio: the first failure is returned, not an
/// `ExceptionGroup` of all of them (the others were cancelled; their
/// failures, if any, are dropped); a task cancelled through some other
/// handle fails the group (asyncio ignores cancelled children), since there
/// is no output to put in its place.
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
    inbox: Arc<Inbox<T>>,
}

struct Inbox<T> {
    state: Mutex<InboxState<T>>,
}

struct InboxState<T> {
    handles: Vec<JoinHandle<T>>,
    closed: bool,
    waker: Option<Waker>,
}

impl<T> Inbox<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, InboxState<T>> {
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
            inbox: Arc::new(Inbox {
                state: Mutex::new(InboxState {
                    handles: Vec::new(),
                    closed: false,
                    waker: None,
                }),
            }),
        }
    }

    /// Spawns `future` as a task of the group on the current runtime and
    /// returns its id (asyncio's `tg.create_task(coro)`).
    ///
    /// # Panics
    ///
    /// Panics outside a runtime, as [`spawn`](crate::spawn).
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> TaskId
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
    pub fn spawn_named<F>(&mut self, name: &str, future: F) -> TaskId
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.spawn_with(SpawnOptions::new().name(name), future)
    }

    #[track_caller]
    fn spawn_with<F>(&mut self, options: SpawnOptions, future: F) -> TaskId
    where
        F: Future<Output = T> + Send + 'static,
    {
        let handle = current_handle("TaskGroup::spawn");
        let options = options.location(std::panic::Location::caller());
        let task = handle.spawn_with(options, future);
        let id = task.id();
        self.set.push(task);
        id
    }

    /// A cloneable, `Send` handle that spawns into this group from anywhere,
    /// for example from inside one of its tasks, while the group is being
    /// joined.
    pub fn spawner(&self) -> GroupSpawner<T> {
        GroupSpawner {
            inbox: self.inbox.clone(),
        }
    }

    /// How many tasks the group holds that were not joined yet.
    pub fn len(&self) -> usize {
        self.set.len() + self.inbox.lock().handles.len()
    }

    /// Whether the group holds no task.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cancels every task the group holds, now; `join` then reports the
    /// first cancellation it sees as the group's failure.
    pub fn cancel_all(&self) {
        for (_, h) in self.set.iter_pending() {
            h.cancel();
        }
        for h in &self.inbox.lock().handles {
            h.cancel();
        }
    }

    /// Waits for every task, including tasks spawned meanwhile through a
    /// [`GroupSpawner`]; returns their outputs in spawn order.
    ///
    /// # Errors
    ///
    /// The [`JoinError`] of the first task to panic or be cancelled; every
    /// other task was cancelled and has finished when this returns.
    ///
    /// # Cancel safety
    ///
    /// Dropping the `join` future cancels every task still in the group.
    pub async fn join(self) -> Result<Vec<T>, JoinError> {
        self.run::<T, std::convert::Infallible>(|r| r.map_err(Failure::Join))
            .await
            .map_err(|f| match f {
                Failure::Join(e) => e,
                Failure::Task(never) => match never {},
            })
    }

    async fn run<U, E>(
        mut self,
        mut check: impl FnMut(Result<T, JoinError>) -> Result<U, Failure<E>>,
    ) -> Result<Vec<U>, Failure<E>> {
        let mut outputs: Vec<Option<U>> = Vec::new();
        let mut failure = None;
        loop {
            let next = std::future::poll_fn(|cx| self.poll_next(cx)).await;
            let Some((index, result)) = next else { break };
            match check(result) {
                Ok(v) if failure.is_none() => {
                    if outputs.len() <= index {
                        outputs.resize_with(index + 1, || None);
                    }
                    outputs[index] = Some(v);
                }
                Ok(_) => {}
                Err(e) => {
                    if failure.is_none() {
                        failure = Some(e);
                        self.close_and_cancel();
                        outputs = Vec::new();
                    }
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(outputs.into_iter().flatten().collect()),
        }
    }

    /// The next finished task; `None` once nothing is left (and then the
    /// group is closed).
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Result<T, JoinError>)>> {
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
                    self.set.push(h);
                }
                if self.set.is_empty() {
                    inbox.closed = true;
                    return Poll::Ready(None);
                }
            }
            match self.set.poll_next(cx) {
                Poll::Ready(None) => continue,
                other => return other,
            }
        }
    }

    fn close_and_cancel(&mut self) {
        let mut inbox = self.inbox.lock();
        inbox.closed = true;
        for h in inbox.handles.drain(..) {
            h.cancel();
            self.set.push(h);
        }
        drop(inbox);
        for (_, h) in self.set.iter_pending() {
            h.cancel();
        }
    }
}

impl<U: Send + 'static, E: Send + 'static> TaskGroup<Result<U, E>> {
    /// Like [`join`](TaskGroup::join), for tasks that return `Result`: the
    /// first `Err` (or panic, or cancellation) cancels every other task,
    /// waits for them, and is returned.
    ///
    /// # Errors
    ///
    /// [`GroupError::Failed`] with the first task error, or
    /// [`GroupError::Join`] if a task panicked or was cancelled first.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels every task still in the group.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa::task::{GroupError, TaskGroup};
    ///
    /// tulipa::run(async {
    ///     let mut group = TaskGroup::new();
    ///     group.spawn(async { Ok(1) });
    ///     group.spawn(async { Err("bad input") });
    ///     group.spawn(std::future::pending()); // cancelled by the failure
    ///     match group.try_join().await {
    ///         Err(GroupError::Failed(e)) => assert_eq!(e, "bad input"),
    ///         _ => unreachable!(),
    ///     }
    /// });
    /// ```
    pub async fn try_join(self) -> Result<Vec<U>, GroupError<E>> {
        self.run(|r| match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Failure::Task(e)),
            Err(j) => Err(Failure::Join(j)),
        })
        .await
        .map_err(|f| match f {
            Failure::Task(e) => GroupError::Failed(e),
            Failure::Join(j) => GroupError::Join(j),
        })
    }
}

enum Failure<E> {
    Task(E),
    Join(JoinError),
}

impl<T> Drop for TaskGroup<T> {
    fn drop(&mut self) {
        let mut inbox = self.inbox.lock();
        inbox.closed = true;
        inbox.waker = None;
        for h in inbox.handles.drain(..) {
            h.cancel();
        }
        drop(inbox);
        for (_, h) in self.set.take_pending() {
            h.cancel();
        }
    }
}

impl<T> fmt::Debug for TaskGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("tasks", &self.set)
            .finish()
    }
}

#[track_caller]
fn current_handle(what: &str) -> Handle {
    Handle::try_current().unwrap_or_else(|| {
        panic!(
            "{what} called outside a tulipa runtime: call it from inside tulipa::run, \
             Runtime::block_on or a task"
        )
    })
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
    pub fn spawn<F>(&self, future: F) -> Result<TaskId, GroupClosed<F>>
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
    pub fn spawn_named<F>(&self, name: &str, future: F) -> Result<TaskId, GroupClosed<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.spawn_with(SpawnOptions::new().name(name), future)
    }

    #[track_caller]
    fn spawn_with<F>(&self, options: SpawnOptions, future: F) -> Result<TaskId, GroupClosed<F>>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let location = std::panic::Location::caller();
        let mut inbox = self.inbox.lock();
        if inbox.closed {
            return Err(GroupClosed(future));
        }
        let handle = current_handle("GroupSpawner::spawn");
        let task = handle.spawn_with(options.location(location), future);
        let id = task.id();
        inbox.handles.push(task);
        let waker = inbox.waker.clone();
        drop(inbox);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(id)
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

/// A [`GroupSpawner`] found its group closed; holds the future it could
/// not spawn.
pub struct GroupClosed<F>(pub F);

impl<F> fmt::Debug for GroupClosed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GroupClosed(..)")
    }
}

impl<F> fmt::Display for GroupClosed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the task group no longer accepts tasks (it finished joining, failed or was dropped); \
             spawn into a new group or with tulipa::spawn",
        )
    }
}

impl<F> std::error::Error for GroupClosed<F> {}

/// Why [`TaskGroup::try_join`] failed: the first failure among its tasks.
#[non_exhaustive]
pub enum GroupError<E> {
    /// A task returned this error.
    Failed(E),
    /// A task panicked or was cancelled.
    Join(JoinError),
}

impl<E> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Failed(_) => f.write_str("GroupError::Failed(..)"),
            GroupError::Join(j) => f.debug_tuple("GroupError::Join").field(j).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Failed(e) => write!(f, "a task of the group failed: {e}"),
            GroupError::Join(j) => write!(f, "a task of the group did not finish: {j}"),
        }
    }
}

impl<E: fmt::Display> std::error::Error for GroupError<E> {}

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
///         scope.spawn(async move { w.len() });
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
    /// index (spawn order).
    pub fn spawn<F>(&mut self, future: F) -> usize
    where
        F: Future<Output = T> + Send + 'a,
    {
        self.set.push(Box::pin(future))
    }

    /// How many futures the scope holds.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether the scope holds no future.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Runs every future to completion; returns their outputs in spawn
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
    /// returned; otherwise the values in spawn order.
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
