//! The thread's runtime context, shared by every executor flavour: whether
//! this thread runs a `block_on` or is a worker ([`RuntimeContextGuard`]),
//! the scheduling budget, and the yield barrier the `block_on` loop asks of
//! a multi-thread executor.
//!
//! It exists so the `block_on` loop and the multi-thread executor depend on
//! it and not on each other.

use std::cell::Cell;
use std::task::Waker;

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

    /// Marks a worker thread for its whole life.
    pub(crate) fn worker() -> RuntimeContextGuard {
        RuntimeContextGuard(IN_RUNTIME.with(|c| c.replace(true)))
    }
}

impl Drop for RuntimeContextGuard {
    fn drop(&mut self) {
        IN_RUNTIME.with(|c| c.set(self.0));
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
