//! tulipa: Python's asyncio, in Rust.
//!
//! One dependency gives the whole runtime: an event loop with callbacks
//! ([`Handle::call_soon`], [`Handle::call_later`], [`Handle::call_at`]),
//! tasks with names and cancellation ([`spawn`], [`task::Builder`],
//! [`JoinHandle::cancel`]), asyncio's combinators and task groups
//! ([`future`], [`task::TaskGroup`]), timers ([`time`]), locks, events and
//! settable futures ([`sync`]), channels and queues ([`channel`],
//! [`queue`]), a pool for blocking work ([`spawn_blocking`], [`unblock`],
//! [`blocking`]), sockets, streams, protocols and TLS ([`net`]),
//! subprocesses and signals ([`process`], [`signal`]), files ([`fs`]), I/O
//! readiness ([`reactor::Async`]), and a debug mode ([`Builder::debug`]).
//!
//! | asyncio | tulipa |
//! | --- | --- |
//! | `asyncio.run(main())` | [`run`]`(main())`, `#[tulipa::main] async fn main()` |
//! | `loop.run_until_complete(f)` | [`Runtime::block_on`], [`block_on`] |
//! | `loop.call_soon(cb)` / `call_soon_threadsafe` | [`Handle::call_soon`] |
//! | `loop.call_later`, `call_at`, `time()` | [`Handle::call_later`], [`Handle::call_at`], [`Handle::time`] |
//! | `asyncio.create_task(c)`, `task.cancel()` | [`spawn`], [`JoinHandle::cancel`] |
//! | `asyncio.sleep(d)`, `asyncio.sleep(0)` | [`time::sleep`], [`task::yield_now`] |
//! | `asyncio.wait_for(f, t)` | [`time::timeout`] |
//! | `asyncio.all_tasks()`, `current_task()` | [`Handle::tasks`], [`task::current`] |
//! | `gather`, `wait`, `as_completed`, `shield`, `TaskGroup` | [`future`], [`task::TaskGroup`] |
//! | `Lock`, `Event`, `Semaphore`, `Future` | [`sync`] |
//! | `Queue`, `PriorityQueue`, `LifoQueue` | [`queue`] |
//! | `run_in_executor`, `to_thread` | [`spawn_blocking`], [`unblock`] |
//! | `open_connection`, `start_server`, `create_server` | [`net`], [`net::protocol`] |
//! | `create_subprocess_exec`, `add_signal_handler` | [`process`], [`signal`] |
//! | debug mode | [`Builder::debug`], [`Builder::unhandled_panic`] |
//! | `aiohttp.ClientSession`, `web.run_app` | `http::Client`, `http::serve`, `http::web::run_app` (feature `http`, on by default) |
//! | motor / asyncpg (via `tokio-postgres`) | `compat`: tokio-io libraries over tulipa's sockets (feature `compat`, on by default) |
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! let total = tulipa::run(async {
//!     let a = tulipa::spawn(async {
//!         tulipa::time::sleep(Duration::from_millis(10)).await;
//!         1
//!     });
//!     let b = tulipa::spawn(async { 2 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(total, 3);
//! ```
//!
//! # Crates
//!
//! tulipa is a facade over small crates that also work alone:
//! `tulipa-core` (the traits they meet through), `tulipa-reactor` (I/O
//! readiness), `tulipa-timer` (timers), `tulipa-executor` (executors,
//! combinators, diagnostics), `tulipa-blocking` (the blocking pool),
//! `tulipa-sync`, `tulipa-channel`, `tulipa-net`, `tulipa-process`, `tulipa-fs` and `tulipa-http` (feature `http`, on by
//! default). The `tls` feature turns on [`net`]'s TLS. `tulipa-compat`
//! (feature `compat`, on by default) runs tokio-io libraries on tulipa's
//! sockets as `compat`; its `tokio-compat` feature (off by default) runs
//! futures that need a tokio runtime. The `macros` feature (on by default)
//! gives `#[tulipa::main]` and `#[tulipa::test]` (`tulipa-macros`).
#![forbid(unsafe_code)]

mod builder;
mod callbacks;
mod context;
mod current_task;
mod dump_signal;
mod runtime;

/// The guide (`docs/guide.md`): its snippets run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide.md")]
mod guide {}
pub mod task;
mod task_group;
pub mod time;
mod wait;

pub use tulipa_blocking as blocking;
pub use tulipa_channel as channel;
pub use tulipa_channel::queue;
#[cfg(feature = "compat")]
pub use tulipa_compat as compat;
pub use tulipa_fs as fs;
#[cfg(feature = "http")]
pub use tulipa_http as http;
pub use tulipa_net as net;
pub use tulipa_process as process;
pub use tulipa_process::signal;
pub use tulipa_sync as sync;

pub use builder::Builder;
pub use callbacks::CallbackHandle;
pub use runtime::{EnterGuard, Handle, Runtime, ShutdownReport};
pub use task::{spawn, spawn_local, try_spawn, JoinError, JoinHandle, SpawnError};
pub use tulipa_blocking::{spawn_blocking, try_spawn_blocking, unblock};
pub use tulipa_executor::{Diagnostic, PanicPolicy};
#[cfg(feature = "macros")]
pub use tulipa_macros::{main, test};

use std::future::Future;

/// Runs a future to completion on a new default runtime, then shuts the
/// runtime down (asyncio's `asyncio.run`).
///
/// The runtime is multi-threaded with one worker per CPU; use
/// [`Runtime::builder`] for anything else.
///
/// # Panics
///
/// Panics if the runtime cannot be built (the OS refused a thread or the
/// poller), or if called from inside a runtime (use `.await` there).
///
/// # Examples
///
/// ```
/// assert_eq!(tulipa::run(async { 6 * 7 }), 42);
/// ```
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    let rt =
        Runtime::new().unwrap_or_else(|e| panic!("tulipa::run could not build a runtime: {e}"));
    rt.block_on(future)
}

/// Runs a future to completion on the current thread, with no runtime
/// needed (asyncio's `loop.run_until_complete` on a bare thread).
///
/// I/O and timers work: they are driven by lazily started global driver
/// threads. Local tasks ([`spawn_local`]) run meanwhile. Inside a runtime's
/// context (for example in [`Runtime::block_on`]) prefer `.await`.
///
/// # Panics
///
/// Panics if called on a runtime worker thread or inside another
/// `block_on`: that would stall the tasks the thread runs. Use `.await`, or
/// move blocking work off the runtime.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// tulipa::block_on(tulipa::time::sleep(Duration::from_millis(1)));
/// ```
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    let parker = tulipa_core::ThreadParker::new();
    tulipa_executor::block_on(&parker, future)
}

/// The `futures-lite` future combinators (`zip`, `race`, `or`,
/// `poll_fn`, `ready`, `pending`, ...), so one dependency is enough.
///
/// Plus asyncio's combinators over many futures: [`gather`](future::gather()),
/// [`try_gather`](future::try_gather()), [`select`](future::select),
/// [`wait`](future::wait) (with a timeout), [`as_completed`](future::as_completed),
/// [`shield`](future::shield), the [`gather!`](crate::gather!) and
/// [`try_gather!`](crate::try_gather!) macros, and [`FutureSet`](future::FutureSet).
pub mod future {
    pub use futures_lite::future::*;
    pub use tulipa_future::combinators::{
        as_completed, gather, select, try_gather, AsCompleted, AsCompletedIndexed, FutureSet,
        Gather, Select, TryGather, Wait, WaitMode, WaitOutcome,
    };
    pub use tulipa_future::{gather, try_gather};

    pub use crate::wait::{shield, wait, Shield};
}

pub use tulipa_future::{gather, task_local, try_gather};

/// The `futures-lite` stream combinators.
pub mod stream {
    pub use futures_lite::stream::*;
}

/// Async I/O traits and helpers (`AsyncRead`, `AsyncWrite`, `copy`, ...),
/// from `futures-lite`.
pub mod io {
    pub use futures_lite::io::*;
    pub use tulipa_fs::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
}

/// The `futures-lite` prelude: the extension traits for futures, streams
/// and I/O.
pub mod prelude {
    pub use futures_lite::prelude::*;
}

/// I/O readiness: [`Async`](reactor::Async) turns any non-blocking file
/// descriptor into async I/O.
pub mod reactor {
    pub use tulipa_reactor::*;
}

/// The traits tulipa's crates meet through (driver, clock).
pub mod core {
    pub use tulipa_core::*;
}
