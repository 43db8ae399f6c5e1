//! The thread pool for blocking work (asyncio's `run_in_executor` and `to_thread`).
//!
//! Async tasks must not block their thread. Work that does (file system
//! calls, DNS lookups, CPU-heavy loops, blocking libraries) goes to a pool
//! of OS threads:
//!
//! - [`spawn_blocking`] runs a closure on the [current pool](Pool::current)
//!   and returns a [`JoinHandle`] that resolves to `Result<T, JoinError>`
//!   (the same [`JoinError`] the tulipa executors use).
//! - [`unblock`] does the same and resolves to the closure's value,
//!   resuming a panic in the awaiting task (asyncio's `to_thread`).
//! - [`Unblock`] wraps a blocking `Read`/`Write`/`Seek` object as
//!   `AsyncRead`/`AsyncWrite`/`AsyncSeek`, moving it to the pool and
//!   buffering, so small reads and writes do not cost a thread hop each.
//! - [`Pool`] is a pool you build yourself ([`Pool::builder`]): a thread
//!   cap, an idle timeout, an optional queue bound for
//!   [`Pool::try_spawn`], [`Pool::stats`], and
//!   [`Pool::shutdown_timeout`].
//!
//! # Design
//!
//! A job is an `async_task` task whose future calls the closure once,
//! catching a panic into a [`JoinError`]; its `Runnable` goes into the
//! pool's FIFO queue and its `Task` into the [`JoinHandle`]. The queue, the
//! thread counts and the idle/notify handshake live behind one mutex with
//! two condition variables (`sched.rs`, with a loom model): a submitter
//! wakes an idle thread if one is not already woken, else starts a thread
//! if under the cap, else leaves the job queued for the next thread that
//! finishes. Threads exit after an idle timeout. Jobs never run under the
//! lock. A pool thread is a plain thread: a job may call a `block_on`, and
//! may spawn more jobs (they go to the same pool).
//!
//! A queued job can be [cancelled](JoinHandle::cancel) (its closure never
//! runs); a running one cannot be interrupted, so dropping a handle only
//! detaches it.
//!
//! # Using it from a runtime
//!
//! A runtime builds its own [`Pool`] (from its builder's settings), makes
//! it current with [`Pool::enter`] on each of its threads and inside its
//! `block_on` (so [`spawn_blocking`] and [`unblock`] reach it), and calls
//! [`Pool::shutdown_timeout`] when it shuts down. Without a runtime, a
//! global pool is created on first use.
//!
//! This crate does not know the executor: it needs only `tulipa-core`
//! (task ids and `JoinError`), `async-task`, `parking` and `futures-lite`,
//! so the network and file system crates can use it directly.
//!
//! # Examples
//!
//! ```
//! use futures_lite::future;
//!
//! future::block_on(async {
//!     let len = tulipa_blocking::unblock(|| std::fs::read_dir("/").map(|d| d.count())).await;
//!     assert!(len.unwrap() > 0);
//!
//!     let h = tulipa_blocking::spawn_blocking(|| panic!("boom"));
//!     assert!(h.await.unwrap_err().is_panic());
//! });
//! ```
#![forbid(unsafe_code)]

mod handle;
mod io;
mod pipe;
mod pool;
mod sched;
mod sync;

pub use handle::{JoinHandle, UnblockFuture};
pub use io::Unblock;
pub use pool::{
    Builder, EnterGuard, Pool, PoolStats, TrySpawnError, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_THREADS,
    DEFAULT_THREAD_NAME, MAX_THREADS_ENV,
};
pub use tulipa_core::{JoinError, TaskId};

/// Runs `f` on the [current pool](Pool::current) and returns a handle to
/// await its result (tokio's `spawn_blocking`, asyncio's
/// `run_in_executor(None, f)`).
///
/// A panic in `f` reaches the handle as a [`JoinError`] with
/// [`is_panic`](JoinError::is_panic). Dropping the handle does not stop
/// `f`: a running thread cannot be interrupted. If the current pool has
/// been shut down, `f` is dropped unrun and the handle resolves to a
/// cancelled `JoinError`.
///
/// # Examples
///
/// ```
/// let h = tulipa_blocking::spawn_blocking(|| std::thread::current().name().map(String::from));
/// let name = futures_lite::future::block_on(h).unwrap();
/// assert_eq!(name.as_deref(), Some("tulipa-blocking"));
/// ```
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // Closures of jobs that cannot be queued are dropped after the
    // current-pool borrow ends: their destructors may enter a pool.
    let (handle, leftover) = pool::with_current(|pool| pool.submit(f));
    leftover.finish();
    handle
}

/// Like [`spawn_blocking`], but refuses at once, handing `f` back, when
/// the current pool is full or shut down; see [`Pool::try_spawn`].
///
/// # Errors
///
/// [`TrySpawnError::Full`] if the current pool has a queue bound, every
/// thread is busy at the cap and that many jobs wait;
/// [`TrySpawnError::Shutdown`] if it has been shut down.
///
/// # Examples
///
/// ```
/// let h = tulipa_blocking::try_spawn_blocking(|| 1).unwrap_or_else(|e| panic!("{e}"));
/// assert_eq!(futures_lite::future::block_on(h).unwrap(), 1);
/// ```
pub fn try_spawn_blocking<F, T>(f: F) -> Result<JoinHandle<T>, TrySpawnError<F>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (result, leftover) = pool::with_current(|pool| pool.try_submit(f));
    leftover.finish();
    result
}

/// Runs `f` on the [current pool](Pool::current) and resolves to its value
/// (asyncio's `to_thread`).
///
/// # Panics
///
/// A panic in `f` is resumed in the task awaiting the future (with `f`'s
/// own payload). Awaiting also panics if the pool was shut down before `f`
/// ran. Use [`spawn_blocking`] to get these as a [`JoinError`].
///
/// # Cancel safety
///
/// Dropping the future does not stop `f`; its value is then dropped on the
/// pool thread.
///
/// # Examples
///
/// ```
/// let contents = futures_lite::future::block_on(tulipa_blocking::unblock(|| {
///     std::fs::read_to_string("/proc/self/comm")
/// }));
/// assert!(contents.is_ok());
/// ```
pub fn unblock<F, T>(f: F) -> UnblockFuture<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    UnblockFuture::new(spawn_blocking(f))
}
