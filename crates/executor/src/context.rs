//! The thread's runtime context, shared by every executor flavour: whether
//! this thread runs a `block_on` or is a worker ([`RuntimeContextGuard`]),
//! the scheduling budget, the yield barrier the `block_on` loop asks of a
//! multi-thread executor, and a worker's fast path for scheduling.
//!
//! It exists so the generic task code (`task.rs`), the `block_on` loop and
//! the multi-thread executor depend on it and not on each other: a worker
//! installs its scheduling function here when it starts
//! ([`RuntimeContextGuard::worker`]), and `task.rs` calls whatever is
//! installed without naming the executor that installed it.

use std::cell::Cell;
use std::task::Waker;

use async_task::{Runnable, ScheduleInfo};

use crate::meta::TaskMeta;

/// How many tasks run between two polls of the main future and two
/// non-blocking driver polls, so neither I/O nor the main future starves.
pub(crate) const BUDGET: usize = 61;

thread_local! {
    /// Set while this thread runs a tulipa `block_on` or is an executor worker.
    static IN_RUNTIME: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside a tulipa `block_on` or is a worker thread
/// of a tulipa executor. Blocking such a thread in another `block_on` would
/// stall every task it is responsible for.
pub fn in_runtime_context() -> bool {
    IN_RUNTIME.with(Cell::get)
}

pub(crate) struct RuntimeContextGuard(bool);

impl RuntimeContextGuard {
    #[track_caller]
    pub(crate) fn enter() -> RuntimeContextGuard {
        let was = IN_RUNTIME.with(|c| c.replace(true));
        if was {
            // The flag stays set: the outer `block_on` still owns it.
            panic!(
                "block_on called from inside a tulipa runtime (a worker thread or another \
                 block_on): this would block the thread that runs your tasks. Use `.await` \
                 instead, or move blocking work to `spawn_blocking`"
            );
        }
        RuntimeContextGuard(was)
    }

    /// Marks a worker thread for its whole life, with its executor's fast
    /// path for scheduling a task woken on this thread (see
    /// [`schedule_here`]).
    pub(crate) fn worker(schedule: LocalSchedule) -> RuntimeContextGuard {
        LOCAL_SCHEDULE.with(|c| c.set(Some(schedule)));
        RuntimeContextGuard(IN_RUNTIME.with(|c| c.replace(true)))
    }
}

impl Drop for RuntimeContextGuard {
    fn drop(&mut self) {
        IN_RUNTIME.with(|c| c.set(self.0));
        if !self.0 {
            // Leaving the outermost context: a worker's fast path goes too.
            LOCAL_SCHEDULE.with(|c| c.set(None));
        }
    }
}

/// A worker's fast path: schedules a task woken on this thread if it
/// belongs to the worker's executor, or gives it back.
pub(crate) type LocalSchedule =
    fn(Runnable<TaskMeta>, ScheduleInfo) -> Result<(), Runnable<TaskMeta>>;

thread_local! {
    /// The fast path of the worker running on this thread, if any.
    static LOCAL_SCHEDULE: Cell<Option<LocalSchedule>> = const { Cell::new(None) };
}

/// Schedules `runnable` through this thread's worker, if this thread is a
/// worker whose executor owns the task; gives it back otherwise (then the
/// task's owner queues it). One thread-local read on a thread that is no
/// worker.
pub(crate) fn schedule_here(
    runnable: Runnable<TaskMeta>,
    info: ScheduleInfo,
) -> Result<(), Runnable<TaskMeta>> {
    match LOCAL_SCHEDULE.with(Cell::get) {
        Some(schedule) => schedule(runnable, info),
        None => Err(runnable),
    }
}

/// Tasks that run beside the main future on other threads (a multi-thread
/// executor's workers): see `MtShared`'s implementation.
pub(crate) trait YieldBarrier {
    /// The main future yielded: returns `true` if it must wait until every
    /// task queued now has run a step, in which case `waker` is woken when
    /// they have (possibly at once).
    fn wait(&self, waker: &Waker) -> bool;
}
