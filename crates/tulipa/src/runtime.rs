//! `Runtime` and the cloneable `Handle` (the `builder` module builds
//! them).
//!
//! A runtime owns one driver stack (the reactor, wrapped by the timer layer)
//! and one executor (current-thread or multi-thread). Its [`Handle`] is
//! entered on every worker thread and inside [`Runtime::block_on`], which is
//! how [`spawn`](crate::spawn), [`time::sleep`](crate::time::sleep) and
//! [`Async::new`](crate::reactor::Async::new) find it.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tulipa_core::ThreadParker;
use tulipa_executor::{CurrentThread, Diagnostics, MultiThread, MultiThreadHandle, TaskInfo};
use tulipa_reactor::Reactor;
use tulipa_timer::TimerHandle;

use crate::callbacks::Callbacks;
use crate::Builder;

pub(crate) type Hook = Arc<dyn Fn() + Send + Sync>;

pub(crate) enum Exec {
    Current(CurrentThread),
    Multi(MultiThreadHandle),
}

pub(crate) struct Shared {
    /// Set once while building, before the handle is shared.
    pub(crate) exec: OnceLock<Exec>,
    /// The runtime's blocking pool, current on its threads.
    pub(crate) blocking: tulipa_blocking::Pool,
    /// Debug mode and the unhandled-panic policy, shared with the executor.
    pub(crate) diagnostics: Diagnostics,
    /// Set by `PanicPolicy::ShutdownRuntime`; every `block_on` watches it.
    pub(crate) panic_shutdown: PanicShutdown,
    pub(crate) reactor: Reactor,
    pub(crate) timers: TimerHandle,
    pub(crate) callbacks: Callbacks,
    /// Watches the threads inside `Runtime::block_on` (multi-thread).
    pub(crate) quiescence: tulipa_executor::Quiescence,
}

/// A handle to a runtime: spawn onto it, schedule callbacks, read its
/// clock, from any thread.
///
/// Cloning is cheap. A handle outlives its runtime safely: after shutdown,
/// spawned tasks are cancelled at once and callbacks are dropped.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// Libraries that start background work (a server's accept loop, a child
/// reaper) reach the current runtime through this hook, without knowing the
/// executor.
impl tulipa_core::spawn::Spawn for Handle {
    fn spawn_detached(&self, future: tulipa_core::spawn::BoxFuture) -> std::io::Result<()> {
        self.spawn(future).detach();
        Ok(())
    }

    fn spawn_detached_with(
        &self,
        options: tulipa_core::spawn::SpawnOptions,
        future: tulipa_core::spawn::BoxFuture,
    ) -> std::io::Result<()> {
        self.spawn_with(options, future).detach();
        Ok(())
    }
}

/// Makes a runtime's handle current until dropped; see [`Handle::enter`].
pub struct EnterGuard<'a> {
    previous: Option<Handle>,
    _reactor: tulipa_reactor::EnterGuard<'a>,
    _timer: tulipa_timer::EnterGuard,
    _spawn: tulipa_core::spawn::SpawnGuard,
    _blocking: tulipa_blocking::EnterGuard,
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        crate::context::replace(self.previous.take());
    }
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

impl Handle {
    /// The handle of the runtime this thread is in.
    ///
    /// # Panics
    ///
    /// Panics outside a runtime, with advice; use
    /// [`try_current`](Handle::try_current) to check instead.
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().unwrap_or_else(|| {
            panic!(
                "Handle::current() called outside a tulipa runtime: call it from inside \
                 Runtime::block_on, tulipa::run or a spawned task, or keep a Handle from \
                 Runtime::handle() and pass it along"
            )
        })
    }

    /// The handle of the runtime this thread is in, if any.
    pub fn try_current() -> Option<Handle> {
        crate::context::current()
    }

    /// Makes this runtime current on this thread until the guard is dropped:
    /// `spawn`, timers and I/O registrations then use it. Guards nest.
    pub fn enter(&self) -> EnterGuard<'_> {
        let reactor = self.shared.reactor.enter();
        let timer = self.shared.timers.enter();
        let spawn = tulipa_core::spawn::enter(Arc::new(self.clone()));
        let blocking = self.shared.blocking.enter();
        let previous = crate::context::replace(Some(self.clone()));
        EnterGuard {
            previous,
            _reactor: reactor,
            _timer: timer,
            _spawn: spawn,
            _blocking: blocking,
        }
    }

    /// Spawns a task onto this runtime.
    ///
    /// On a current-thread runtime the task runs the next time a thread is
    /// inside [`Runtime::block_on`].
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> crate::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(tulipa_executor::SpawnOptions::new(), future)
    }

    #[track_caller]
    pub(crate) fn spawn_with<F>(
        &self,
        options: tulipa_executor::SpawnOptions,
        future: F,
    ) -> crate::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self.shared.exec.get() {
            Some(Exec::Current(c)) => c.spawn(options, future),
            Some(Exec::Multi(m)) => m.spawn(options, future),
            None => unreachable!("the executor is installed before the handle is shared"),
        }
    }

    /// Runs `f` on this runtime's blocking pool (asyncio's
    /// `loop.run_in_executor(None, f)`); see [`spawn_blocking`](crate::spawn_blocking).
    pub fn spawn_blocking<F, T>(&self, f: F) -> tulipa_blocking::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.shared.blocking.spawn(f)
    }

    /// This runtime's blocking pool: its [statistics](tulipa_blocking::Pool::stats),
    /// or to hand to code that takes a pool.
    pub fn blocking_pool(&self) -> &tulipa_blocking::Pool {
        &self.shared.blocking
    }

    /// The runtime's clock (asyncio's `loop.time()`): virtual time on a
    /// paused runtime.
    pub fn time(&self) -> tulipa_timer::Instant {
        self.shared.timers.now()
    }

    /// The tasks alive on this runtime, oldest first (asyncio's
    /// `all_tasks()`).
    pub fn tasks(&self) -> Vec<TaskInfo> {
        let mut tasks = match self.shared.exec.get() {
            Some(Exec::Current(c)) => c.tasks(),
            Some(Exec::Multi(m)) => m.tasks(),
            None => Vec::new(),
        };
        // The runtime's own helper tasks (the callback runner, the
        // dump-on-signal listener) are not user tasks.
        tasks.retain(|t| {
            !self.shared.callbacks.is_runner(t.id()) && !crate::dump_signal::is_helper(t.id())
        });
        tasks
    }

    /// Every task alive on this runtime, with its state, poll count and
    /// the await point it is suspended at: the line of the tulipa future
    /// (`lock()`, `recv()`, `sleep(..)`, ...) it waits on (asyncio's
    /// `Task.print_stack()` for all tasks). Its `Display` is a table,
    /// longest idle first. Ages and idle times are known in debug mode
    /// only. See [`Dump`](crate::task::Dump).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = tulipa::Runtime::builder().current_thread().build().unwrap();
    /// let lock = std::sync::Arc::new(tulipa::sync::Mutex::new(()));
    /// let held = lock.clone();
    /// let line = line!() + 1;
    /// let waiter = rt.spawn(async move { drop(held.lock().await) });
    /// let guard = lock.try_lock().unwrap();
    /// rt.block_on(tulipa::task::yield_now());
    /// let dump = rt.handle().dump();
    /// let task = &dump.tasks()[0];
    /// assert_eq!(task.await_point().unwrap().location().line(), line);
    /// println!("{dump}");
    /// drop(guard);
    /// rt.block_on(waiter).unwrap();
    /// ```
    pub fn dump(&self) -> crate::task::Dump {
        let mut dump = match self.shared.exec.get() {
            Some(Exec::Current(c)) => c.dump(),
            Some(Exec::Multi(m)) => m.dump(),
            None => crate::task::Dump::default(),
        };
        // The runtime's own helper tasks are not user tasks.
        dump.retain(|t| {
            let id = t.info().id();
            !self.shared.callbacks.is_runner(id) && !crate::dump_signal::is_helper(id)
        });
        dump
    }

    /// Hands `d` to the runtime's diagnostics (`on_diagnostic`, or stderr).
    pub(crate) fn report(&self, d: &tulipa_executor::Diagnostic) {
        self.shared.diagnostics.report(d);
    }

    /// Whether the runtime runs on virtual time.
    pub fn is_paused(&self) -> bool {
        self.shared.timers.is_paused()
    }

    /// Whether debug mode is on (asyncio's `loop.get_debug()`): set by
    /// [`Builder::debug`], or else by `TULIPA_DEBUG`.
    pub fn is_debug(&self) -> bool {
        self.shared.diagnostics.is_debug()
    }

    pub(crate) fn timers(&self) -> &TimerHandle {
        &self.shared.timers
    }
}

/// An asyncio event loop: a driver (I/O and timers) and an executor.
///
/// Dropping a runtime cancels every task that is left (their futures are
/// dropped) and joins its worker threads; use
/// [`shutdown_timeout`](Runtime::shutdown_timeout) to bound the wait for a
/// task stuck in a long poll.
pub struct Runtime {
    pub(crate) handle: Handle,
    pub(crate) multi: Option<MultiThread>,
    pub(crate) on_start: Option<Hook>,
    pub(crate) on_stop: Option<Hook>,
    pub(crate) shut_down: AtomicBool,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("multi_thread", &self.multi.is_some())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Builds the default runtime: multi-thread, one worker per CPU.
    ///
    /// # Errors
    ///
    /// The OS error if the poller or a worker thread could not be created.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A builder to configure a runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A cloneable handle to this runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Spawns a task onto this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> crate::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a future to completion on the calling thread, inside this
    /// runtime (asyncio's `run_until_complete`).
    ///
    /// On a current-thread runtime the calling thread also runs every task;
    /// on a multi-thread runtime the workers do, and the calling thread runs
    /// only `future` and its [`spawn_local`](crate::spawn_local) tasks.
    ///
    /// # Panics
    ///
    /// Panics if called from inside a runtime (a worker thread or another
    /// `block_on`): use `.await` there.
    ///
    /// With [`PanicPolicy::ShutdownRuntime`](crate::PanicPolicy::ShutdownRuntime), panics once a task's panic
    /// went unhandled.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = self.handle.enter();
        let future = WatchPanicShutdown {
            future: Box::pin(future),
            shutdown: &self.handle.shared.panic_shutdown,
            waker: None,
        };
        let exec = match self.handle.shared.exec.get() {
            Some(Exec::Current(c)) => Some(c.clone()),
            _ => None,
        };
        match exec {
            Some(ct) => {
                if let Some(f) = &self.on_start {
                    f();
                }
                let out = ct.block_on(future);
                if let Some(f) = &self.on_stop {
                    f();
                }
                out
            }
            None => {
                let parker = ThreadParker::new();
                let shared = &self.handle.shared;
                let Some(Exec::Multi(tasks)) = shared.exec.get() else {
                    unreachable!("the executor is installed before the runtime is returned")
                };
                tulipa_executor::block_on_watched(
                    &parker,
                    &shared.quiescence,
                    &shared.diagnostics,
                    tasks,
                    future,
                )
            }
        }
    }

    /// Shuts the runtime down, waiting at most `timeout` in all for worker
    /// threads to finish the poll they are in and for blocking jobs to
    /// finish. Never waits longer, whatever the tasks and jobs do.
    ///
    /// Every task left is cancelled (its future dropped). Worker threads
    /// still stuck in a poll when the time is up are detached; their tasks
    /// are dropped when their poll returns. The blocking pool stops taking
    /// jobs; jobs still queued when the time is up are cancelled, and jobs
    /// still running (which no one can interrupt) finish in the background.
    /// The report says how many of each were left.
    ///
    /// Dropping a runtime instead waits for its workers without a bound,
    /// and does not wait for blocking jobs at all: the pool's threads finish
    /// the jobs already queued, then exit when idle.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = tulipa::Runtime::new().unwrap();
    /// let job = rt.handle().spawn_blocking(|| 7);
    /// assert_eq!(rt.block_on(job).unwrap(), 7);
    /// let report = rt.shutdown_timeout(Duration::from_secs(1));
    /// assert_eq!(report.stuck_workers, 0);
    /// assert_eq!(report.blocking_jobs_left, 0);
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) -> ShutdownReport {
        // `Duration::MAX` (wait as long as it takes) cannot be added to now.
        let deadline = std::time::Instant::now().checked_add(timeout);
        let stuck_workers = self.shutdown(Some(timeout));
        let left = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(std::time::Instant::now())
        });
        let blocking_jobs_left = self.handle.shared.blocking.shutdown_timeout(left);
        ShutdownReport {
            stuck_workers,
            blocking_jobs_left,
        }
    }

    fn shutdown(&self, timeout: Option<Duration>) -> usize {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return 0;
        }
        self.handle.shared.callbacks.close();
        let stuck = match &self.multi {
            Some(mt) => mt.shutdown(timeout),
            None => {
                if let Some(Exec::Current(c)) = self.handle.shared.exec.get() {
                    c.shutdown();
                }
                0
            }
        };
        self.handle.shared.reactor.shutdown();
        stuck
    }
}

/// What [`Runtime::shutdown_timeout`] left behind when its time was up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Worker threads still inside a task's poll (detached; their tasks
    /// are dropped when the poll returns).
    pub stuck_workers: usize,
    /// Blocking jobs not finished: still running (they finish in the
    /// background) or cancelled before they started.
    pub blocking_jobs_left: usize,
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} worker thread(s) stuck in a poll, {} blocking job(s) left unfinished",
            self.stuck_workers, self.blocking_jobs_left
        )
    }
}

/// The `PanicPolicy::ShutdownRuntime` request: a flag and the wakers of
/// the `block_on` calls to wake when it is set.
#[derive(Default)]
pub(crate) struct PanicShutdown {
    requested: AtomicBool,
    wakers: std::sync::Mutex<Vec<std::task::Waker>>,
}

impl PanicShutdown {
    pub(crate) fn request(&self) {
        self.requested.store(true, Ordering::Release);
        let wakers = std::mem::take(&mut *self.wakers.lock().unwrap_or_else(|e| e.into_inner()));
        for w in wakers {
            w.wake();
        }
    }
}

/// A `block_on` future that panics once the runtime was asked to shut down
/// by `PanicPolicy::ShutdownRuntime`. The future is boxed so the wrapper is
/// `Unpin` (the facade has no unsafe code): one allocation per `block_on`.
struct WatchPanicShutdown<'a, F> {
    future: std::pin::Pin<Box<F>>,
    shutdown: &'a PanicShutdown,
    /// The waker registered in `shutdown.wakers`, to remove on drop.
    waker: Option<std::task::Waker>,
}

impl<F> WatchPanicShutdown<'_, F> {
    #[track_caller]
    fn check(&self) {
        if self.shutdown.requested.load(Ordering::Acquire) {
            panic!(
                "the runtime is shutting down because a task panicked and nobody retrieved \
                 the panic (Builder::unhandled_panic(PanicPolicy::ShutdownRuntime)); the \
                 report before this panic names the task"
            );
        }
    }
}

impl<F: Future> Future for WatchPanicShutdown<'_, F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        self.check();
        let registered = self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if !registered {
            {
                let mut wakers = self
                    .shutdown
                    .wakers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if let Some(old) = &self.waker {
                    wakers.retain(|w| !w.will_wake(old));
                }
                wakers.push(cx.waker().clone());
            }
            self.waker = Some(cx.waker().clone());
            // A request between the check above and the registration found
            // no waker to wake.
            self.check();
        }
        self.future.as_mut().poll(cx)
    }
}

impl<F> Drop for WatchPanicShutdown<'_, F> {
    fn drop(&mut self) {
        if let Some(old) = self.waker.take() {
            let mut wakers = self
                .shutdown
                .wakers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            wakers.retain(|w| !w.will_wake(&old));
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}
