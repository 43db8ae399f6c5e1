//! `Owner`: what an executor provides to the tasks it spawns (scheduling,
//! the registry of live tasks, diagnostics, `call_soon`, yield barriers).
//! The generic task code in `task.rs` sees its executor only through it.

use std::panic::Location;

use async_task::{Runnable, ScheduleInfo};

use crate::meta::TaskMeta;
use crate::registry::Registry;

/// What an executor provides to its tasks.
pub(crate) trait Owner: Send + Sync + 'static {
    /// Queue a woken task.
    fn schedule(&self, runnable: Runnable<TaskMeta>, info: ScheduleInfo);
    /// The registry of this executor's tasks.
    fn registry(&self) -> &Registry;
    /// The executor's diagnostics settings (for a report: a clone).
    fn diagnostics(&self) -> crate::diag::Diagnostics;
    /// Whether debug mode is on, read at every spawn: no clone.
    fn debug(&self) -> bool;
    /// Runs a done callback "soon, on the loop": through the runtime's
    /// [`CallSoon`](crate::CallSoon) if one is installed, else at once.
    fn call_soon(&self, location: &'static Location<'static>, f: Box<dyn FnOnce() + Send>) {
        crate::done::run_now(&self.diagnostics(), location, f);
    }
    /// `n` steps counted by yield barriers ended.
    fn yield_barrier_settle(&self, n: isize) {
        let _ = n;
    }
    /// A task was queued by a [`FastPath`] on the thread that runs this
    /// owner's loop, without the owner's `schedule` (and so without its
    /// signal): the owner tells its loop if it must (it is parked in the
    /// driver, which then must not treat the runtime as idle).
    fn queued_on_loop_thread(&self) {}
}

/// An executor's fast path for scheduling its own tasks, tried before
/// [`Owner::schedule`]: a type parameter of the spawn, so the generic task
/// code calls it directly (inlined) without naming the executor.
pub(crate) trait FastPath: 'static {
    /// Whether `block_on` futures may wait on the tasks of this path's
    /// executor with a yield barrier (then every task keeps its step state
    /// up to date). A constant of the spawn's type, not a virtual call on
    /// the owner: the multi-thread executor's path says yes, the others no.
    const YIELD_BARRIERS: bool;

    /// Schedules `runnable` if this thread can take it cheaply; gives it
    /// back otherwise, and the owner's `schedule` queues it.
    fn schedule(runnable: Runnable<TaskMeta>, info: ScheduleInfo)
        -> Result<(), Runnable<TaskMeta>>;
}

/// No fast path: every wake goes through [`Owner::schedule`].
pub(crate) struct NoFastPath;

impl FastPath for NoFastPath {
    const YIELD_BARRIERS: bool = false;

    fn schedule(
        runnable: Runnable<TaskMeta>,
        _info: ScheduleInfo,
    ) -> Result<(), Runnable<TaskMeta>> {
        Err(runnable)
    }
}
