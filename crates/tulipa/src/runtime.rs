//! `Runtime`, its `Builder`, and the cloneable `Handle`.
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
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tulipa_core::{Driver, MockClock, ThreadParker};
use tulipa_executor::{
    CurrentThread, Diagnostic, Diagnostics, MultiThread, MultiThreadBuilder, MultiThreadHandle,
    PanicPolicy, TaskInfo,
};
use tulipa_reactor::Reactor;
use tulipa_timer::{TimerDriver, TimerHandle};

use crate::callbacks::Callbacks;

type Hook = Arc<dyn Fn() + Send + Sync>;

/// Configures and builds a [`Runtime`].
///
/// # Examples
///
/// ```
/// let rt = tulipa::Runtime::builder()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    current_thread: bool,
    workers: Option<usize>,
    thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
    on_start: Option<Hook>,
    on_stop: Option<Hook>,
    start_paused: bool,
    stack_size: Option<usize>,
    debug: Option<bool>,
    slow_poll_threshold: Duration,
    unhandled_panic: PanicPolicy,
    reporter: Option<tulipa_executor::Reporter>,
    blocking: tulipa_blocking::Builder,
    dump_on_signal: Option<bool>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("current_thread", &self.current_thread)
            .field("workers", &self.workers)
            .field("start_paused", &self.start_paused)
            .field("debug", &self.debug)
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("unhandled_panic", &self.unhandled_panic)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder for a multi-thread runtime with one worker per CPU.
    pub fn new() -> Builder {
        Builder {
            current_thread: false,
            workers: None,
            thread_name: Arc::new(|i| format!("tulipa-worker-{i}")),
            on_start: None,
            on_stop: None,
            start_paused: false,
            stack_size: None,
            debug: None,
            slow_poll_threshold: tulipa_executor::DEFAULT_SLOW_POLL_THRESHOLD,
            unhandled_panic: PanicPolicy::Log,
            reporter: None,
            blocking: tulipa_blocking::Pool::builder(),
            dump_on_signal: None,
        }
    }

    /// Runs every task on the thread that calls [`Runtime::block_on`]
    /// (asyncio's single-threaded loop). Tasks spawned from elsewhere run
    /// the next time a thread is inside `block_on`.
    pub fn current_thread(mut self) -> Builder {
        self.current_thread = true;
        self
    }

    /// Uses a pool of worker threads (the default).
    pub fn multi_thread(mut self) -> Builder {
        self.current_thread = false;
        self
    }

    /// Sets the number of worker threads of a multi-thread runtime.
    /// Zero is rejected by [`build`](Builder::build).
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// Names worker threads `"{name}-{index}"`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        let name: String = name.into();
        self.thread_name = Arc::new(move |i| format!("{name}-{i}"));
        self
    }

    /// Names worker threads with a function of their index.
    pub fn thread_name_fn(mut self, f: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.thread_name = Arc::new(f);
        self
    }

    /// Sets worker threads' stack size.
    pub fn thread_stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs `f` on each worker thread when it starts, inside the runtime's
    /// context.
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Builder {
        self.on_start = Some(Arc::new(f));
        self
    }

    /// Runs `f` on each worker thread just before it stops.
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Builder {
        self.on_stop = Some(Arc::new(f));
        self
    }

    /// Starts the runtime on virtual time, for tests.
    ///
    /// Time stands still until [`time::advance`](crate::time::advance) moves
    /// it, or until every task is idle, at which point it jumps to the next
    /// timer's deadline (auto-advance): timers fire in deadline order with
    /// no real waiting. I/O stays live. Works on both runtime flavours.
    ///
    /// Caveat: while tasks wait only on I/O, auto-advance may fire their
    /// timeouts at once; keep I/O tests on real time.
    pub fn start_paused(mut self, paused: bool) -> Builder {
        self.start_paused = paused;
        self
    }

    /// Caps the runtime's blocking pool (asyncio's default executor, used by
    /// [`spawn_blocking`](crate::spawn_blocking) and
    /// [`unblock`](crate::unblock)) at `n` threads; default 512. Work beyond
    /// the cap queues. Zero is rejected by [`build`](Builder::build).
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.blocking = self.blocking.max_threads(n);
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits
    /// (default 10 s).
    pub fn blocking_idle_timeout(mut self, timeout: Duration) -> Builder {
        self.blocking = self.blocking.idle_timeout(timeout);
        self
    }

    /// Bounds the blocking pool's queue of jobs waiting for a thread; when
    /// every thread is busy at the cap and the queue is full,
    /// [`try_spawn_blocking`](crate::try_spawn_blocking) fails fast (while
    /// `spawn_blocking` still queues). `None`, the default, is unbounded.
    pub fn blocking_queue_bound(mut self, bound: Option<usize>) -> Builder {
        self.blocking = self.blocking.queue_bound(bound);
        self
    }

    /// Turns asyncio's debug mode on or off (`PYTHONASYNCIODEBUG=1`).
    ///
    /// Unset, it follows the `TULIPA_DEBUG` environment variable (on for any
    /// value but empty and `0`). In debug mode the runtime reports, through
    /// the [reporter](Builder::on_diagnostic) (stderr by default):
    ///
    /// - every task poll and every callback that runs longer than the
    ///   [threshold](Builder::slow_poll_threshold), with the task's id, name
    ///   and spawn location (or the callback's location) and the duration;
    /// - a poll that is *still running* past the threshold, while it runs,
    ///   naming the task and the thread (a watchdog thread looks every
    ///   10 ms), so a task blocked forever is found;
    ///
    /// Unhandled panics are reported whether or not debug mode is on; see
    /// [`unhandled_panic`](Builder::unhandled_panic). With debug mode off,
    /// each poll pays one test of a flag.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let reports = Arc::new(Mutex::new(Vec::new()));
    /// let sink = reports.clone();
    /// let rt = tulipa::Runtime::builder()
    ///     .debug(true)
    ///     .slow_poll_threshold(Duration::from_millis(20))
    ///     .on_diagnostic(move |d| sink.lock().unwrap().push(d.to_string()))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     tulipa::task::Builder::new()
    ///         .name("hog")
    ///         .spawn(async { std::thread::sleep(Duration::from_millis(50)) })
    ///         .unwrap()
    ///         .await
    ///         .unwrap();
    /// });
    /// let reports = reports.lock().unwrap();
    /// assert!(reports.iter().any(|r| r.starts_with("slow poll") && r.contains("'hog'")));
    /// ```
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = Some(on);
        self
    }

    /// Sets debug mode's threshold for slow polls and callbacks (default
    /// 100 ms, asyncio's `slow_callback_duration`).
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.slow_poll_threshold = threshold;
        self
    }

    /// Decides what happens when a task panics and nobody can retrieve the
    /// panic: its `JoinHandle` was detached or dropped without being
    /// awaited (asyncio's "Task exception was never retrieved"). Applies on
    /// both runtime flavours, debug mode or not. The default is
    /// [`PanicPolicy::Log`].
    ///
    /// With [`PanicPolicy::ShutdownRuntime`], every `block_on` running on
    /// the runtime (and any later one) panics, saying which task panicked;
    /// the runtime's tasks are cancelled when it is dropped, as it is when
    /// that panic unwinds out of [`tulipa::run`](crate::run).
    pub fn unhandled_panic(mut self, policy: PanicPolicy) -> Builder {
        self.unhandled_panic = policy;
        self
    }

    /// Sends every [`Diagnostic`] (debug-mode findings and unhandled panics)
    /// to `f` instead of printing it on stderr: to a logging framework, a
    /// metrics counter, or a test. `f` runs on the thread that found the
    /// problem (a worker, the watchdog thread, or whichever thread drops a
    /// `JoinHandle` of a task that panicked); keep it short. A panic in `f`
    /// is caught and printed on stderr.
    ///
    /// A callback stuck past the threshold is reported as a stuck poll of
    /// the runtime's callback runner task, named `tulipa-callbacks`.
    pub fn on_diagnostic(mut self, f: impl Fn(&Diagnostic) + Send + Sync + 'static) -> Builder {
        self.reporter = Some(Arc::new(f));
        self
    }

    /// Prints a task dump ([`Handle::dump`]) each time the process gets
    /// `SIGQUIT` (Ctrl-\\ in a terminal, `kill -QUIT <pid>`), as Go does:
    /// every live task, how long it has been idle and the line it waits
    /// at. The dump goes where diagnostics go: to
    /// [`on_diagnostic`](Builder::on_diagnostic) as a
    /// [`Diagnostic::TaskDump`], else to stderr.
    ///
    /// Off by default; on by default in debug mode ([`debug`](Builder::debug)
    /// or `TULIPA_DEBUG=1`). Listening for `SIGQUIT` replaces its default
    /// action (quit with a core dump) for the rest of the process. The dump
    /// is taken by a small task of the runtime: a current-thread runtime
    /// answers while a thread is inside [`Runtime::block_on`].
    pub fn dump_on_signal(mut self, on: bool) -> Builder {
        self.dump_on_signal = Some(on);
        self
    }

    /// Builds the runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `worker_threads(0)` was asked for; otherwise the
    /// OS error if the poller or a worker thread could not be created, or
    /// if [`dump_on_signal`](Builder::dump_on_signal) could not listen for
    /// `SIGQUIT`.
    pub fn build(self) -> io::Result<Runtime> {
        if self.workers == Some(0) && !self.current_thread {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "worker_threads(0) is invalid: a multi-thread runtime needs at least 1 worker; \
                 use Builder::current_thread() to run tasks on the calling thread only",
            ));
        }
        let blocking = self.blocking.build()?;
        let reactor = Reactor::new()?;
        let timer = if self.start_paused {
            TimerDriver::with_clock(reactor.clone(), MockClock::new())
        } else {
            TimerDriver::new(reactor.clone())
        };
        let timers = timer.handle();
        let timer = Arc::new(timer);
        let driver: Arc<dyn Driver> = timer.clone();
        let quiescence = tulipa_executor::Quiescence::new();

        let shared = Arc::new_cyclic(|weak: &Weak<Shared>| {
            let mut diag = Diagnostics::builder()
                .slow_poll_threshold(self.slow_poll_threshold)
                .unhandled_panic(self.unhandled_panic);
            if let Some(on) = self.debug {
                diag = diag.debug(on);
            }
            let user = self.reporter.clone();
            let on_slow = weak.clone();
            diag = diag.reporter(move |d| {
                // A slow callback is reported as such; the callback runner
                // task's poll that ran it is not reported on top.
                if let Diagnostic::SlowPoll { task, .. } = d {
                    let runner = on_slow.upgrade();
                    if runner.is_some_and(|s| s.callbacks.is_runner(task.id())) {
                        return;
                    }
                }
                match &user {
                    Some(r) => r(d),
                    None => eprintln!("tulipa: {d}"),
                }
            });
            let on_panic = weak.clone();
            let diagnostics = diag
                .on_shutdown(move || {
                    if let Some(shared) = on_panic.upgrade() {
                        shared.panic_shutdown.request();
                    }
                })
                .build();
            let exec = OnceLock::new();
            if self.current_thread {
                let ct = CurrentThread::with_diagnostics(driver.clone(), diagnostics.clone());
                ct.set_call_soon(call_soon_hook(weak.clone()));
                let _ = exec.set(Exec::Current(ct));
            }
            Shared {
                blocking: blocking.clone(),
                diagnostics,
                panic_shutdown: PanicShutdown::default(),
                exec,
                reactor: reactor.clone(),
                timers: timers.clone(),
                callbacks: Callbacks::new(weak.clone()),
                quiescence: quiescence.clone(),
            }
        });
        let handle = Handle { shared };

        let mut owner = None;
        if !self.current_thread {
            let h = handle.clone();
            let on_start = self.on_start.clone();
            let on_stop = self.on_stop.clone();
            // Workers start inside `build` below, before the handle knows its
            // executor: they wait for that (or for the build to fail) so an
            // `on_thread_start` hook may already spawn.
            let installed = Arc::new((
                std::sync::Mutex::new(None::<bool>),
                std::sync::Condvar::new(),
            ));
            let gate = installed.clone();
            let wrapper: tulipa_executor::ThreadWrapper =
                Arc::new(move |run: &mut dyn FnMut()| {
                    {
                        let (lock, cv) = &*gate;
                        let mut ok = lock.lock().unwrap_or_else(|e| e.into_inner());
                        while ok.is_none() {
                            ok = cv.wait(ok).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                    let _enter = h.enter();
                    if let Some(f) = &on_start {
                        f();
                    }
                    run();
                    if let Some(f) = &on_stop {
                        f();
                    }
                });
            let mut b = MultiThreadBuilder::new()
                .thread_name({
                    let f = self.thread_name.clone();
                    move |i| f(i)
                })
                .wrap_threads(wrapper)
                .wake_driver_when_idle(self.start_paused)
                .diagnostics(handle.shared.diagnostics.clone());
            if let Some(n) = self.workers {
                b = b.workers(n);
            }
            if let Some(s) = self.stack_size {
                b = b.stack_size(s);
            }
            let release = |ok: bool| {
                let (lock, cv) = &*installed;
                *lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(ok);
                cv.notify_all();
            };
            let mt = match b.build(driver.clone()) {
                Ok(mt) => mt,
                Err(e) => {
                    // Let the started workers see the shutdown and exit.
                    release(false);
                    return Err(e);
                }
            };
            let mth = mt.handle();
            mth.set_call_soon(call_soon_hook(Arc::downgrade(&handle.shared)));
            if self.start_paused {
                // Virtual time jumps only when every worker is idle and so
                // is every thread inside `Runtime::block_on` (its future and
                // its local tasks); such a thread going idle pokes the
                // driver to re-check.
                let probe = mth.idle_probe();
                let q = quiescence.clone();
                timer.set_idle_probe(Arc::new(move || probe() && q.is_quiet()));
                quiescence.on_quiet(driver.unparker());
            }
            let _ = handle.shared.exec.set(Exec::Multi(mth));
            release(true);
            owner = Some(mt);
        }
        // A current-thread runtime has no threads of its own: its start and
        // stop hooks run around each `block_on` instead.
        let dump_on_signal = self
            .dump_on_signal
            .unwrap_or_else(|| handle.shared.diagnostics.is_debug());
        let rt = Runtime {
            handle,
            multi: owner,
            on_start: self.current_thread.then(|| self.on_start.clone()).flatten(),
            on_stop: self.current_thread.then(|| self.on_stop.clone()).flatten(),
            shut_down: AtomicBool::new(false),
        };
        if dump_on_signal {
            crate::dump_signal::install(rt.handle())?;
        }
        Ok(rt)
    }
}

/// Done callbacks of the runtime's tasks run as its `call_soon` callbacks
/// (asyncio schedules them with `call_soon`). Holds the runtime weakly: the
/// executor must not keep it alive.
fn call_soon_hook(shared: Weak<Shared>) -> tulipa_executor::CallSoon {
    Arc::new(move |location, f| match shared.upgrade() {
        Some(shared) => Handle { shared }.call_soon_from(location, f),
        // The runtime is gone: nothing will run a queue any more.
        None => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || tulipa_executor::outside_task(f),
        ))),
    })
}

enum Exec {
    Current(CurrentThread),
    Multi(MultiThreadHandle),
}

pub(crate) struct Shared {
    /// Set once while building, before the handle is shared.
    exec: OnceLock<Exec>,
    /// The runtime's blocking pool, current on its threads.
    blocking: tulipa_blocking::Pool,
    /// Debug mode and the unhandled-panic policy, shared with the executor.
    pub(crate) diagnostics: Diagnostics,
    /// Set by `PanicPolicy::ShutdownRuntime`; every `block_on` watches it.
    panic_shutdown: PanicShutdown,
    reactor: Reactor,
    pub(crate) timers: TimerHandle,
    pub(crate) callbacks: Callbacks,
    /// Watches the threads inside `Runtime::block_on` (multi-thread).
    quiescence: tulipa_executor::Quiescence,
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
    pub(crate) fn report(&self, d: &Diagnostic) {
        self.shared.diagnostics.report(d);
    }

    /// Whether the runtime runs on virtual time.
    pub fn is_paused(&self) -> bool {
        self.shared.timers.is_paused()
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
    handle: Handle,
    multi: Option<MultiThread>,
    on_start: Option<Hook>,
    on_stop: Option<Hook>,
    shut_down: AtomicBool,
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
    /// With [`PanicPolicy::ShutdownRuntime`], panics once a task's panic
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
struct PanicShutdown {
    requested: AtomicBool,
    wakers: std::sync::Mutex<Vec<std::task::Waker>>,
}

impl PanicShutdown {
    fn request(&self) {
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
