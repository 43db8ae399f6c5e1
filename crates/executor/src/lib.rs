//! tulipa's executors: a current-thread executor and a work-stealing
//! multi-thread executor, on `async-task` and `concurrent-queue`.
//!
//! The executors know nothing of I/O or timers. They sleep through a
//! [`tulipa_core::Driver`] given at construction: a plain
//! [`ThreadParker`](tulipa_core::ThreadParker) in tests, the reactor wrapped
//! in the timer layer in a runtime.
//!
//! - [`CurrentThread`]: every task runs on the thread inside
//!   [`CurrentThread::block_on`].
//! - [`MultiThread`]: a pool of workers with per-worker queues, a shared
//!   injector, stealing and a LIFO slot (see the `multi` module docs in the
//!   source for the full design).
//! - [`spawn_local`]: futures that are not `Send` run on the thread that
//!   spawned them, inside whichever tulipa `block_on` runs there.
//!
//! Every task carries metadata from its first line ([`TaskInfo`]: id, name,
//! spawn location; a poll count), is awaited through a [`JoinHandle`], and
//! has its panics caught: a panicking task yields a [`JoinError`] and the
//! worker and every other task go on.
//!
//! Files and who uses whom: `task.rs` is the generic task (metadata, the
//! poll wrapper, scheduling) and sees its executor only through the `Owner`
//! trait and the `FastPath` type parameter of the spawn (`owner.rs`: each
//! executor's scheduling of a wake on its own thread, called directly);
//! `context.rs` holds the budget, the runtime-context flag and the yield
//! barrier; `block_on.rs` (the loop), `current.rs` and `multi.rs` (the two
//! executors; `multi/worker.rs` is a worker thread's loop, `local_queue.rs`
//! a worker's run queue) build on those
//! and on nothing of each other except that the current-thread executor
//! runs the `block_on` loop.
//!
//! Unsafe code is denied crate-wide and allowed file by file where it pays:
//! `task.rs` (one `spawn_unchecked` call, so a task's future can borrow its
//! own metadata, two reads of the current task's metadata and waker
//! through the pointers its poll publishes, and the reference a waiting
//! task holds to itself; the task wrapper's pin projection is
//! `pin-project-lite`'s), `registry.rs` (an intrusive list threaded through
//! task metadata, and wakers made from a task's waker parts), `done.rs` (task
//! metadata read through a pointer it keeps valid), `local_queue.rs` (a
//! single-producer ring whose slots are owned through their stamps),
//! `dump.rs` (the await point a task published) and `trace.rs` (the traced
//! waker's vtable, feature `tracing`), all with
//! their proofs beside them.
#![deny(unsafe_code)]

mod barrier;
mod block_on;
mod context;
mod current;
mod diag;
mod done;
mod dump;
mod idle;
mod join;
mod local;
mod local_queue;
mod meta;
mod multi;
mod owner;
mod registry;
mod sync;
mod task;
#[cfg(feature = "tracing")]
mod trace;
mod wake_flag;

use std::future::Future;
use std::sync::Arc;

pub use block_on::Quiescence;
pub use context::in_runtime_context;
pub use current::CurrentThread;
pub use diag::{
    debug_from_env, Diagnostic, Diagnostics, DiagnosticsBuilder, PanicPolicy, Reporter,
    DEFAULT_SLOW_POLL_THRESHOLD,
};
pub use done::{CallSoon, CancelHandle, TaskOutcome};
pub use dump::{AwaitPoint, Dump, TaskDump, TaskState};
pub use join::{JoinError, JoinHandle};
pub use local::{local_task_count, spawn_local, try_spawn_local};
pub use meta::{TaskId, TaskInfo};
pub use multi::{MultiThread, MultiThreadBuilder, MultiThreadHandle, ThreadWrapper};
pub use task::{current_id, current_info, outside_task, yield_now, SpawnOptions, YieldNow};

use tulipa_core::Driver;

#[doc(hidden)]
pub use tulipa_future as __tulipa_future;

/// The message of a panic payload (a `&str` or `String`), or the
/// placeholder `<a non-string panic payload>`.
///
/// One function does this for every crate: [`tulipa_core::panic_message`],
/// which returns `None` instead of a placeholder and borrows instead of
/// allocating.
#[deprecated(
    since = "0.1.0",
    note = "use tulipa_core::panic_message(payload) (Option<&str>; add your own placeholder)"
)]
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    diag::panic_message(payload)
}

/// Moved to the `tulipa-future` crate: use `tulipa_future::combinators`
/// (or `tulipa::future`). This module re-exports it for old imports.
#[deprecated(
    since = "0.1.0",
    note = "moved to the tulipa-future crate: use tulipa_future::combinators or tulipa::future"
)]
pub mod combinators {
    pub use tulipa_future::combinators::*;
}

/// Moved to `tulipa_future::LocalKey` (also `tulipa::task::LocalKey`).
#[deprecated(
    since = "0.1.0",
    note = "moved to the tulipa-future crate: use tulipa_future::LocalKey or tulipa::task::LocalKey"
)]
pub type LocalKey<T> = tulipa_future::LocalKey<T>;

/// Moved to `tulipa_future::AccessError` (also `tulipa::task::AccessError`).
#[deprecated(
    since = "0.1.0",
    note = "moved to the tulipa-future crate: use tulipa_future::AccessError or tulipa::task::AccessError"
)]
pub type AccessError = tulipa_future::AccessError;

/// Moved to `tulipa_future::TaskLocalFuture` (also
/// `tulipa::task::TaskLocalFuture`).
#[deprecated(
    since = "0.1.0",
    note = "moved to the tulipa-future crate: use tulipa_future::TaskLocalFuture or tulipa::task::TaskLocalFuture"
)]
pub type TaskLocalFuture<T, F> = tulipa_future::TaskLocalFuture<T, F>;

/// Moved to `tulipa_future::task_local!` (also `tulipa::task_local!`).
#[deprecated(
    since = "0.1.0",
    note = "moved to the tulipa-future crate: use tulipa_future::task_local! or tulipa::task_local!"
)]
#[macro_export]
macro_rules! task_local {
    ($($tokens:tt)*) => {
        $crate::__tulipa_future::task_local! { $($tokens)* }
    };
}

/// Moved to `tulipa_future::gather!` (also `tulipa::gather!`).
#[deprecated(
    since = "0.1.0",
    note = "moved to the tulipa-future crate: use tulipa_future::gather! or tulipa::gather!"
)]
#[macro_export]
macro_rules! gather {
    ($($tokens:tt)*) => {
        $crate::__tulipa_future::gather!($($tokens)*)
    };
}

/// Moved to `tulipa_future::try_gather!` (also `tulipa::try_gather!`).
#[deprecated(
    since = "0.1.0",
    note = "moved to the tulipa-future crate: use tulipa_future::try_gather! or tulipa::try_gather!"
)]
#[macro_export]
macro_rules! try_gather {
    ($($tokens:tt)*) => {
        $crate::__tulipa_future::try_gather!($($tokens)*)
    };
}

/// Runs `future` to completion on this thread, sleeping on `driver`, and
/// runs this thread's local tasks meanwhile.
///
/// # Panics
///
/// Panics if called inside another tulipa `block_on` or on a worker thread:
/// blocking there would stall the tasks that thread runs. Use `.await`.
#[track_caller]
pub fn block_on<F: Future>(driver: &dyn Driver, future: F) -> F::Output {
    let _rt = context::RuntimeContextGuard::enter();
    let signal = Arc::new(wake_flag::WakeFlag::new(driver.unparker()));
    block_on::run_loop(driver, signal, None, None, None, None, future)
}

/// Like [`block_on`], beside the multi-thread executor `tasks` (a
/// runtime's `block_on`): reports to `watch` whether this thread is idle
/// (see [`Quiescence`]); local tasks spawned meanwhile follow `diagnostics`
/// (the runtime's debug mode and panic policy) instead of the global ones;
/// and [`yield_now`] in `future` is asyncio's `sleep(0)` for `tasks` too:
/// `future` is polled again only once every task that was queued on the
/// executor when it yielded has run its next step (and every local task
/// that was ready has run one).
///
/// # Panics
///
/// As [`block_on`].
#[track_caller]
pub fn block_on_watched<F: Future>(
    driver: &dyn Driver,
    watch: &Quiescence,
    diagnostics: &Diagnostics,
    tasks: &MultiThreadHandle,
    future: F,
) -> F::Output {
    let _rt = context::RuntimeContextGuard::enter();
    let signal = Arc::new(wake_flag::WakeFlag::new(driver.unparker()));
    let beside = Some(tasks.barrier());
    block_on::run_loop(
        driver,
        signal,
        None,
        beside,
        Some(watch),
        Some(diagnostics),
        future,
    )
}
