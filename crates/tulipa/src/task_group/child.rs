//! The task side of a group: the wrapper each task runs in (`child_body`),
//! the state it shares with its [`ChildTask`], and the `ChildTask` itself
//! (see the [parent module](super) for the design and the no-lost-cancel
//! argument).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use tulipa_executor::SpawnOptions;

#[cfg(doc)]
use super::TaskGroup;
use crate::runtime::Handle;
use crate::task::{JoinHandle, TaskId, TaskInfo};

/// Spawns `future` wrapped for the group; counts it as running.
pub(super) fn spawn_child<F>(
    handle: &Handle,
    options: SpawnOptions,
    running: &Arc<AtomicUsize>,
    future: F,
) -> (JoinHandle<Option<F::Output>>, ChildTask)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let state = Arc::new(ChildState {
        cancel: AtomicBool::new(false),
        finished: AtomicBool::new(false),
        waker: Mutex::new(None),
        running: running.clone(),
    });
    running.fetch_add(1, Ordering::SeqCst);
    let task = handle.spawn_with(options, child_body(state.clone(), future));
    let child = ChildTask {
        info: task.info(),
        state,
    };
    (task, child)
}

/// A task of a group: runs `future` unless cancelled through its
/// [`ChildTask`] (then `None`, with the future dropped); marks the task
/// finished when dropped, after the future.
async fn child_body<F: Future>(state: Arc<ChildState>, future: F) -> Option<F::Output> {
    let _finished = Finished(state.clone());
    let mut future = std::pin::pin!(future);
    let mut stored: Option<Waker> = None;
    std::future::poll_fn(|cx| {
        if state.cancel_requested(&mut stored, cx.waker()) {
            return Poll::Ready(None);
        }
        future.as_mut().poll(cx).map(Some)
    })
    .await
}

/// What a [`ChildTask`] shares with its task's wrapper.
struct ChildState {
    cancel: AtomicBool,
    finished: AtomicBool,
    /// The task's waker, for `cancel` to wake it.
    waker: Mutex<Option<Waker>>,
    /// The group's count of unfinished tasks.
    running: Arc<AtomicUsize>,
}

impl ChildState {
    fn waker(&self) -> MutexGuard<'_, Option<Waker>> {
        // Only a clone or a take happens under the lock.
        self.waker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `waker` if it is not the one stored (`stored` is the
    /// wrapper's copy, to skip the lock), then reads the cancel flag.
    fn cancel_requested(&self, stored: &mut Option<Waker>, waker: &Waker) -> bool {
        if !stored.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *stored = Some(waker.clone());
            let old = self.waker().replace(waker.clone());
            drop(old);
        }
        self.cancel.load(Ordering::SeqCst)
    }
}

/// Marks a task finished when its wrapper is dropped.
struct Finished(Arc<ChildState>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.finished.store(true, Ordering::SeqCst);
        self.0.running.fetch_sub(1, Ordering::SeqCst);
        let waker = self.0.waker().take();
        drop(waker);
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
    info: TaskInfo,
    state: Arc<ChildState>,
}

impl ChildTask {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.info.id()
    }

    /// The task's identity: id, name and spawn location.
    pub fn info(&self) -> &TaskInfo {
        &self.info
    }

    /// Whether the task's future has finished: completed, panicked, or
    /// dropped after a cancellation.
    pub fn is_finished(&self) -> bool {
        self.state.finished.load(Ordering::SeqCst)
    }

    /// Cancels the task (asyncio's `Task.cancel()`): its future is dropped
    /// at its next suspension point, and the group sees it as cancelled,
    /// which is not a failure. Returns `false` if the task had already
    /// finished, `true` otherwise.
    pub fn cancel(&self) -> bool {
        if self.is_finished() {
            return false;
        }
        self.state.cancel.store(true, Ordering::SeqCst);
        let waker = self.state.waker().clone();
        if let Some(w) = waker {
            w.wake();
        }
        true
    }
}

impl fmt::Debug for ChildTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildTask")
            .field("id", &self.id())
            .field("name", &self.info.name())
            .field("finished", &self.is_finished())
            .finish()
    }
}
