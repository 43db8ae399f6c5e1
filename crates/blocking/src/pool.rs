//! [`Pool`]: the handle, its [`Builder`], the current-pool context
//! ([`Pool::enter`], [`Pool::current`]) and the worker threads.
//!
//! A `Pool` is an `Arc` of the shared part: the configuration and the
//! scheduler core (`sched.rs`, which holds the queue, the counts and the
//! idle/notify handshake). Submitting a job takes the scheduler lock once:
//! it checks the pool is open (and, for `try_spawn`, not full), queues the
//! job's `Runnable`, and either wakes an idle thread or reserves a new one,
//! which is then started with the lock released. A worker thread enters
//! its pool (so `spawn_blocking` inside a job goes to the same pool) and
//! loops on the scheduler until it has been idle for the idle timeout or
//! the pool is shut down.
//!
//! Worker threads hold a `Pool` handle, so dropping every user handle does
//! not stop queued or running jobs: the threads finish them and exit after
//! their idle timeout. [`Pool::shutdown_timeout`] is the way to stop a pool.
//!
//! Lock order: the scheduler lock is the only lock; the thread-locals
//! (`CURRENT`, `WORKER_OF`) are never borrowed across a call that could
//! re-enter them.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Duration;

use crate::handle::{self, JoinHandle, Runnable, UnblockFuture};
use crate::sched::{Refused, Sched};

/// The default cap on threads, as in tokio and smol's `blocking`.
pub const DEFAULT_MAX_THREADS: usize = 512;
/// How long an idle thread waits for a job before it exits by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// The default name of pool threads.
pub const DEFAULT_THREAD_NAME: &str = "tulipa-blocking";

struct Config {
    max_threads: usize,
    idle_timeout: Duration,
    queue_bound: Option<usize>,
    thread_name: String,
    stack_size: Option<usize>,
}

struct Shared {
    config: Config,
    sched: Sched<Runnable>,
}

/// A pool of threads for blocking work (asyncio's `ThreadPoolExecutor`
/// behind `run_in_executor`).
///
/// `Pool` is a cheap handle (an `Arc`): clones share one pool. Threads
/// start on demand, only when a job arrives and no idle thread can take it,
/// up to [`max_threads`](Builder::max_threads); jobs beyond the cap wait in
/// a FIFO queue (unbounded unless [`queue_bound`](Builder::queue_bound) is
/// set, which [`try_spawn`](Pool::try_spawn) honours). A thread that has
/// been idle for the [`idle_timeout`](Builder::idle_timeout) exits, so an
/// idle pool holds no threads.
///
/// A job may spawn more jobs (they go to the same pool) and may `block_on`
/// them, but a job that blocks until another job of its pool finishes
/// deadlocks if every thread is taken by such waiters at the cap: keep the
/// cap above the nesting depth, or await instead of blocking.
///
/// # Examples
///
/// ```
/// use tulipa_blocking::Pool;
///
/// let pool = Pool::builder().max_threads(4).build()?;
/// let sum = pool.spawn(|| (1..=10).sum::<u32>());
/// assert_eq!(futures_lite::future::block_on(sum).unwrap(), 55);
/// assert_eq!(pool.shutdown_timeout(std::time::Duration::from_secs(1)), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

/// Configures a [`Pool`]; made by [`Pool::builder`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let pool = tulipa_blocking::Pool::builder()
///     .max_threads(8)
///     .idle_timeout(Duration::from_secs(1))
///     .queue_bound(Some(100))
///     .thread_name("db-worker")
///     .build()?;
/// assert_eq!(pool.max_threads(), 8);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Builder does nothing until .build() is called"]
pub struct Builder {
    max_threads: usize,
    idle_timeout: Duration,
    queue_bound: Option<usize>,
    thread_name: String,
    stack_size: Option<usize>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            max_threads: DEFAULT_MAX_THREADS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            queue_bound: None,
            thread_name: DEFAULT_THREAD_NAME.to_owned(),
            stack_size: None,
        }
    }
}

impl Builder {
    /// A builder with the defaults: 512 threads, 10 s idle timeout, an
    /// unbounded queue, threads named `tulipa-blocking`.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The most threads the pool runs at once (default 512). Must be at
    /// least 1 ([`build`](Builder::build) fails otherwise).
    pub fn max_threads(mut self, n: usize) -> Builder {
        self.max_threads = n;
        self
    }

    /// How long a thread waits for a job before it exits (default 10 s).
    /// Zero makes a thread exit as soon as it finds the queue empty.
    pub fn idle_timeout(mut self, timeout: Duration) -> Builder {
        self.idle_timeout = timeout;
        self
    }

    /// How many jobs may wait for a thread before
    /// [`try_spawn`](Pool::try_spawn) refuses more (default `None`:
    /// unbounded). `Some(0)` makes `try_spawn` fail whenever no thread is
    /// free. [`spawn`](Pool::spawn) and [`unblock`](Pool::unblock) always
    /// queue: they have no way to refuse.
    pub fn queue_bound(mut self, bound: Option<usize>) -> Builder {
        self.queue_bound = bound;
        self
    }

    /// The name of the pool's threads (default `tulipa-blocking`), as shown
    /// by debuggers and `top -H`. Linux shows its first 15 bytes.
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// The stack size of the pool's threads, in bytes (default: Rust's,
    /// 2 MiB unless `RUST_MIN_STACK` says otherwise).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Builds the pool. No thread starts until the first job.
    ///
    /// # Errors
    ///
    /// Returns an [`io::ErrorKind::InvalidInput`] error if `max_threads` is
    /// 0 or the thread name contains a NUL byte.
    pub fn build(self) -> io::Result<Pool> {
        if self.max_threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "blocking pool max_threads is 0: a pool needs at least one thread to run jobs",
            ));
        }
        if self.thread_name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "blocking pool thread name contains a NUL byte, which thread names cannot hold",
            ));
        }
        Ok(Pool {
            shared: Arc::new(Shared {
                sched: Sched::new(self.max_threads),
                config: Config {
                    max_threads: self.max_threads,
                    idle_timeout: self.idle_timeout,
                    queue_bound: self.queue_bound,
                    thread_name: self.thread_name,
                    stack_size: self.stack_size,
                },
            }),
        })
    }
}

/// A snapshot of a pool's counts, from [`Pool::stats`]. The counts are read
/// together under the pool's lock, so they are consistent with each other,
/// but may be stale by the time they are looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Threads alive (or being started).
    pub threads: usize,
    /// Threads running a job.
    pub busy: usize,
    /// Threads waiting for a job.
    pub idle: usize,
    /// Jobs waiting for a thread.
    pub queued: usize,
    /// Jobs that have run to the end (returned or panicked).
    pub completed: u64,
    /// Threads started over the pool's life.
    pub threads_started: u64,
    /// The cap on threads.
    pub max_threads: usize,
    /// Whether [`Pool::shutdown_timeout`] has been called.
    pub shut_down: bool,
}

/// Why [`Pool::try_spawn`] refused a job; holds the closure so nothing is
/// lost.
#[non_exhaustive]
pub enum TrySpawnError<F> {
    /// Every thread is busy at the cap and the queue holds its bound.
    Full(F),
    /// The pool has been shut down.
    Shutdown(F),
}

impl<F> TrySpawnError<F> {
    /// The closure that was not run.
    pub fn into_inner(self) -> F {
        match self {
            TrySpawnError::Full(f) | TrySpawnError::Shutdown(f) => f,
        }
    }

    /// Whether the pool was full (retrying later may succeed).
    pub fn is_full(&self) -> bool {
        matches!(self, TrySpawnError::Full(_))
    }

    /// Whether the pool was shut down (retrying never succeeds).
    pub fn is_shutdown(&self) -> bool {
        matches!(self, TrySpawnError::Shutdown(_))
    }
}

impl<F> fmt::Debug for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySpawnError::Full(_) => f.write_str("Full(..)"),
            TrySpawnError::Shutdown(_) => f.write_str("Shutdown(..)"),
        }
    }
}

impl<F> fmt::Display for TrySpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySpawnError::Full(_) => f.write_str(
                "the blocking pool is full: every thread is busy at max_threads and the queue \
                 holds its bound; retry later, use spawn to queue anyway, or raise the bound",
            ),
            TrySpawnError::Shutdown(_) => f.write_str(
                "the blocking pool has been shut down and accepts no more jobs; \
                 build a new pool",
            ),
        }
    }
}

impl<F> std::error::Error for TrySpawnError<F> {}

thread_local! {
    /// The pool entered on this thread, if any.
    static CURRENT: RefCell<Option<Pool>> = const { RefCell::new(None) };
}

static GLOBAL: OnceLock<Pool> = OnceLock::new();

/// The environment variable that sets the global pool's thread cap.
pub const MAX_THREADS_ENV: &str = "TULIPA_BLOCKING_MAX_THREADS";

fn global() -> &'static Pool {
    GLOBAL.get_or_init(|| {
        let max = std::env::var(MAX_THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(DEFAULT_MAX_THREADS);
        Pool::builder()
            .max_threads(max)
            .build()
            .unwrap_or_else(|e| unreachable!("the default blocking pool config is valid: {e}"))
    })
}

/// Runs `f` with the current pool: the entered one, else the global one.
pub(crate) fn with_current<R>(f: impl FnOnce(&Pool) -> R) -> R {
    CURRENT.with(|c| match &*c.borrow() {
        Some(pool) => f(pool),
        None => f(global()),
    })
}

/// Makes a pool [`Pool::current`] on this thread until dropped; made by
/// [`Pool::enter`]. Guards nest: dropping one restores the pool that was
/// current before it, so drop them in reverse order of creation.
#[must_use = "the pool is current only while the guard lives"]
pub struct EnterGuard {
    previous: Option<Pool>,
    _not_send: PhantomData<Rc<()>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let replaced = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), previous));
        // Dropped outside the borrow: the last handle's drop runs no user
        // code, but keep the thread-local free while it runs anyway.
        drop(replaced);
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool of at most `max_threads` threads, other settings default.
    ///
    /// # Panics
    ///
    /// Panics if `max_threads` is 0; use [`Pool::builder`] to get an error
    /// instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa_blocking::Pool::new(2);
    /// assert_eq!(pool.stats().threads, 0); // threads start on demand
    /// ```
    #[track_caller]
    pub fn new(max_threads: usize) -> Pool {
        assert!(
            max_threads > 0,
            "Pool::new(0): a blocking pool needs at least one thread; pass max_threads >= 1"
        );
        Pool::builder()
            .max_threads(max_threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A [`Builder`] with the default settings.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The pool that [`spawn_blocking`](crate::spawn_blocking) and
    /// [`unblock`](crate::unblock) use on this thread: the one entered with
    /// [`Pool::enter`] (a runtime enters its pool on its threads, and pool
    /// threads enter their own pool), else a global pool created on first
    /// use with the default settings (its cap can be set with the
    /// `TULIPA_BLOCKING_MAX_THREADS` environment variable).
    pub fn current() -> Pool {
        with_current(Pool::clone)
    }

    /// Makes this pool [`Pool::current`] on this thread until the guard is
    /// dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_blocking::Pool;
    ///
    /// let pool = Pool::new(1);
    /// let guard = pool.enter();
    /// assert!(Pool::current().same_pool(&pool));
    /// drop(guard);
    /// assert!(!Pool::current().same_pool(&pool));
    /// ```
    pub fn enter(&self) -> EnterGuard {
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard {
            previous,
            _not_send: PhantomData,
        }
    }

    /// Whether two handles refer to the same pool.
    pub fn same_pool(&self, other: &Pool) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The cap on threads.
    pub fn max_threads(&self) -> usize {
        self.shared.config.max_threads
    }

    /// Runs `f` on the pool and returns a handle to await its result.
    ///
    /// The job is queued even if the queue is at its
    /// [`queue_bound`](Builder::queue_bound) (use
    /// [`try_spawn`](Pool::try_spawn) to be refused instead). If the pool
    /// has been shut down, `f` is dropped unrun and the handle resolves to
    /// a cancelled [`JoinError`](tulipa_core::JoinError).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa_blocking::Pool::new(2);
    /// let h = pool.spawn(|| std::fs::metadata("/").is_ok());
    /// assert!(futures_lite::future::block_on(h).unwrap());
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (handle, leftover) = self.submit(f);
        leftover.finish();
        handle
    }

    /// `spawn`, leaving the jobs it could not queue to the caller, who
    /// finishes them once no thread-local borrow is held (finishing drops
    /// closures, which may run user code that enters a pool).
    pub(crate) fn submit<F, T>(&self, f: F) -> (JoinHandle<T>, Leftover)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // The task is allocated before the lock is taken; `try_spawn`
        // cannot do that, as it must be able to hand `f` back.
        let (runnable, handle) = handle::job(f);
        let leftover = match self.shared.sched.admit(None) {
            Ok(admitted) => {
                if admitted.push(runnable) {
                    self.start_thread()
                } else {
                    Leftover::None
                }
            }
            // Refused (shut down): the handle resolves to a cancelled
            // JoinError.
            Err(_) => Leftover::Refused(runnable),
        };
        (handle, leftover)
    }

    /// Like [`spawn`](Pool::spawn), but refuses at once, handing `f` back,
    /// when the pool cannot take the job.
    ///
    /// # Errors
    ///
    /// - [`TrySpawnError::Full`] if the pool has a
    ///   [`queue_bound`](Builder::queue_bound), every thread is busy at the
    ///   cap, and that many jobs already wait.
    /// - [`TrySpawnError::Shutdown`] if the pool has been shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa_blocking::Pool::builder().queue_bound(Some(0)).build()?;
    /// match pool.try_spawn(|| 1) {
    ///     Ok(h) => assert_eq!(futures_lite::future::block_on(h).unwrap(), 1),
    ///     Err(e) => assert!(e.is_full()),
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, TrySpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (result, leftover) = self.try_submit(f);
        leftover.finish();
        result
    }

    /// `try_spawn`, leaving what it could not queue to the caller, as
    /// [`submit`](Pool::submit) does.
    pub(crate) fn try_submit<F, T>(
        &self,
        f: F,
    ) -> (Result<JoinHandle<T>, TrySpawnError<F>>, Leftover)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.shared.sched.admit(self.shared.config.queue_bound) {
            Ok(admitted) => {
                let (runnable, handle) = handle::job(f);
                let leftover = if admitted.push(runnable) {
                    self.start_thread()
                } else {
                    Leftover::None
                };
                (Ok(handle), leftover)
            }
            Err(Refused::Full) => (Err(TrySpawnError::Full(f)), Leftover::None),
            Err(Refused::Closed) => (Err(TrySpawnError::Shutdown(f)), Leftover::None),
        }
    }

    /// Runs `f` on the pool and resolves to its value (asyncio's
    /// `to_thread`). A panic in `f` is resumed in the task awaiting the
    /// future.
    ///
    /// # Panics
    ///
    /// Awaiting the future panics if `f` panicked (with `f`'s payload), or
    /// if the pool was shut down before `f` ran.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tulipa_blocking::Pool::new(1);
    /// let n = futures_lite::future::block_on(pool.unblock(|| 2 + 2));
    /// assert_eq!(n, 4);
    /// ```
    pub fn unblock<F, T>(&self, f: F) -> UnblockFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        UnblockFuture::new(self.spawn(f))
    }

    /// The pool's counts now.
    pub fn stats(&self) -> PoolStats {
        let st = self.shared.sched.lock();
        PoolStats {
            threads: st.threads,
            busy: st.busy,
            idle: st.idle,
            queued: st.queue.len(),
            completed: st.completed,
            threads_started: st.started,
            max_threads: self.shared.config.max_threads,
            shut_down: st.closed,
        }
    }

    /// Shuts the pool down: no new job is accepted
    /// ([`spawn`](Pool::spawn) returns a cancelled handle,
    /// [`try_spawn`](Pool::try_spawn) a [`TrySpawnError::Shutdown`]), idle
    /// threads exit, and the call waits up to `timeout` for the running
    /// and queued jobs to finish. Jobs still queued when the timeout passes
    /// are dropped unrun and their handles resolve to a cancelled
    /// `JoinError`; jobs still running cannot be interrupted and finish in
    /// the background.
    ///
    /// Returns how many jobs did not finish in time: those left running
    /// plus those cancelled unstarted (0 means a clean shutdown). Called
    /// from inside one of the pool's own jobs, it does not wait for (or
    /// count) that job. Calling it again waits again and counts what is
    /// still running.
    ///
    /// Never hangs past `timeout` (plus the time to take the pool's lock),
    /// whatever the jobs do. It blocks the calling thread: from async code
    /// call it with a zero timeout or from a blocking context.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = tulipa_blocking::Pool::new(1);
    /// let h = pool.spawn(|| 1);
    /// assert_eq!(pool.shutdown_timeout(Duration::from_secs(5)), 0);
    /// assert_eq!(futures_lite::future::block_on(h).unwrap(), 1);
    /// assert!(pool.try_spawn(|| 2).unwrap_err().is_shutdown());
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) -> usize {
        let me = usize::from(self.is_current_worker());
        let (unstarted, running) = self.shared.sched.shutdown(timeout, me);
        let n = unstarted.len() + running;
        // Cancelling drops the closures, which may run user code: outside
        // the lock.
        handle::cancel(unstarted);
        n
    }

    /// Whether [`shutdown_timeout`](Pool::shutdown_timeout) has been called.
    pub fn is_shut_down(&self) -> bool {
        self.shared.sched.lock().closed
    }

    fn is_current_worker(&self) -> bool {
        WORKER_OF.with(|w| {
            w.borrow()
                .as_ref()
                .is_some_and(|p| Arc::ptr_eq(p, &self.shared))
        })
    }

    /// Starts a thread already counted by the scheduler. If that fails and
    /// no thread is left, returns the stranded jobs to fail.
    fn start_thread(&self) -> Leftover {
        let config = &self.shared.config;
        let mut builder = thread::Builder::new().name(config.thread_name.clone());
        if let Some(size) = config.stack_size {
            builder = builder.stack_size(size);
        }
        let pool = self.clone();
        match builder.spawn(move || pool.work()) {
            Ok(_) => Leftover::None,
            Err(e) => {
                let stranded = self.shared.sched.start_failed();
                if stranded.is_empty() {
                    // Another thread exists and will run the queue.
                    Leftover::None
                } else {
                    let message = format!(
                        "the blocking pool could not start a thread to run this job ({e}); \
                         lower max_threads or the stack size, or free system resources"
                    );
                    Leftover::Stranded(stranded, message)
                }
            }
        }
    }

    /// The body of a pool thread.
    fn work(self) {
        let _enter = self.enter();
        WORKER_OF.with(|w| *w.borrow_mut() = Some(self.shared.clone()));
        let idle_timeout = self.shared.config.idle_timeout;
        let mut finished = None;
        while let Some(runnable) = self.shared.sched.next(finished, idle_timeout) {
            finished = Some(handle::run(runnable));
        }
        WORKER_OF.with(|w| w.borrow_mut().take());
    }
}

/// Jobs a submission could not queue: cancelled (the pool was shut down)
/// or failed (no thread could be started). [`Leftover::finish`] settles
/// their handles.
#[must_use = "a leftover job's handle never resolves unless finish() is called"]
pub(crate) enum Leftover {
    None,
    Refused(Runnable),
    Stranded(std::collections::VecDeque<Runnable>, String),
}

impl Leftover {
    /// Cancels or fails the jobs, dropping their closures.
    pub(crate) fn finish(self) {
        match self {
            Leftover::None => {}
            Leftover::Refused(r) => handle::cancel([r]),
            Leftover::Stranded(jobs, message) => handle::fail(jobs, &message),
        }
    }
}

thread_local! {
    /// On a pool thread: its pool.
    static WORKER_OF: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

impl Drop for Shared {
    /// Defensive: the queue is empty whenever the last handle goes (a job
    /// is queued only while a thread, which holds a handle, will run it),
    /// but if a job were left, its handle must still resolve.
    fn drop(&mut self) {
        let left = std::mem::take(&mut self.sched.lock().queue);
        handle::cancel(left);
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("stats", &self.stats())
            .finish()
    }
}
