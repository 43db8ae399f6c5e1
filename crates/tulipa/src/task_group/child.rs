//! The task side of a group: the wrapper each task runs in (`child_body`)
//! and the [`ChildTask`] a spawn returns (see the [parent module](super)
//! for the design).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tulipa_executor::SpawnOptions;

#[cfg(doc)]
use super::TaskGroup;
use crate::task::{CancelHandle, JoinHandle, TaskId, TaskInfo};

/// Spawns `future` wrapped for the group on the current runtime (its
/// handle borrowed, not cloned); counts it as running.
///
/// # Panics
///
/// Outside a runtime, naming `what` (the caller's API).
#[track_caller]
pub(super) fn spawn_child<F>(
    what: &str,
    options: SpawnOptions,
    running: &Arc<AtomicUsize>,
    future: F,
) -> (JoinHandle<F::Output>, ChildTask)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = crate::context::with_current(|h| {
        h.map(|h| {
            running.fetch_add(1, Ordering::SeqCst);
            h.spawn_with(options, child_body(Finished(running.clone()), future))
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "{what} called outside a tulipa runtime: call it from inside tulipa::run, \
             Runtime::block_on or a task"
        )
    });
    let child = ChildTask {
        cancel: task.cancel_handle(),
        info: OnceLock::new(),
    };
    (task, child)
}

/// A task of a group: runs `future`, then counts the task as finished, when
/// the wrapper is dropped (after the future, also when it is cancelled).
async fn child_body<F: Future>(finished: Finished, future: F) -> F::Output {
    let _finished = finished;
    future.await
}

/// Decrements the group's count of unfinished tasks when dropped.
struct Finished(Arc<AtomicUsize>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A handle to one task of a [`TaskGroup`], returned by its `spawn`
/// (asyncio's `Task` from `tg.create_task`): its identity, whether it
/// finished, and [`cancel`](ChildTask::cancel). Cloneable, `Send` and
/// `Sync`.
///
/// The task's output is not here: the group collects it
/// ([`join`](TaskGroup::join), [`join_next`](TaskGroup::join_next)).
#[derive(Clone)]
pub struct ChildTask {
    /// The executor's cancel handle of the task; it keeps the task's
    /// allocation (not its future), so its identity stays readable.
    cancel: CancelHandle,
    /// The identity, read on first use (a default name is formatted then).
    info: OnceLock<TaskInfo>,
}

impl ChildTask {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.cancel.id()
    }

    /// The task's identity: id, name and spawn location.
    pub fn info(&self) -> &TaskInfo {
        self.info.get_or_init(|| self.cancel.info())
    }

    /// Whether the task's future has finished: completed, panicked, or
    /// dropped after a cancellation.
    pub fn is_finished(&self) -> bool {
        self.cancel.is_finished()
    }

    /// Cancels the task (asyncio's `Task.cancel()`): its future is dropped
    /// at its next suspension point, and the group sees it as cancelled,
    /// which is not a failure. Returns `false` if the task had already
    /// finished, `true` otherwise.
    pub fn cancel(&self) -> bool {
        self.cancel.cancel()
    }
}

impl fmt::Debug for ChildTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildTask")
            .field("id", &self.id())
            .field("name", &self.info().name())
            .field("finished", &self.is_finished())
            .finish()
    }
}
