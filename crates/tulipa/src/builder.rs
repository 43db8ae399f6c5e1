//! [`Builder`]: configures a [`Runtime`] and builds it in named steps
//! (check the settings, make the driver stack, the diagnostics, the shared
//! state, then start the workers of a multi-thread runtime).

use std::fmt;
use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tulipa_core::{Driver, MockClock};
use tulipa_executor::{
    CurrentThread, Diagnostic, Diagnostics, MultiThread, MultiThreadBuilder, PanicPolicy,
};
use tulipa_reactor::Reactor;
use tulipa_timer::{TimerDriver, TimerHandle};

use crate::callbacks::Callbacks;
use crate::runtime::{Exec, Handle, Hook, PanicShutdown, Runtime, Shared};

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
    /// it, or until every task is idle while a thread is inside
    /// [`Runtime::block_on`] (asyncio's loop is running), at which point it
    /// jumps to the next timer's deadline (auto-advance): timers fire in
    /// deadline order with no real waiting. Between two `block_on` calls
    /// the clock stands still even on the multi-thread runtime, whose
    /// workers keep running tasks, so callbacks and sleeps scheduled there
    /// keep their order. I/O stays live. Works on both runtime flavours.
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
    pub fn build(mut self) -> io::Result<Runtime> {
        self.check()?;
        let blocking = std::mem::take(&mut self.blocking).build()?;
        let drivers = self.drivers()?;
        let handle = self.shared(blocking, &drivers);
        let multi = if self.current_thread {
            None
        } else {
            Some(self.start_workers(&handle, &drivers)?)
        };
        let dump_on_signal = self
            .dump_on_signal
            .unwrap_or_else(|| handle.shared.diagnostics.is_debug());
        // A current-thread runtime has no threads of its own: its start and
        // stop hooks run around each `block_on` instead.
        let rt = Runtime {
            handle,
            multi,
            on_start: self.current_thread.then(|| self.on_start.clone()).flatten(),
            on_stop: self.current_thread.then(|| self.on_stop.clone()).flatten(),
            shut_down: AtomicBool::new(false),
        };
        if dump_on_signal {
            crate::dump_signal::install(rt.handle())?;
        }
        Ok(rt)
    }

    /// Step 1: rejects settings that cannot make a runtime.
    fn check(&self) -> io::Result<()> {
        if self.workers == Some(0) && !self.current_thread {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "worker_threads(0) is invalid: a multi-thread runtime needs at least 1 worker; \
                 use Builder::current_thread() to run tasks on the calling thread only",
            ));
        }
        Ok(())
    }

    /// Step 2: the driver stack, the reactor wrapped in the timer layer
    /// (on a mock clock if the runtime starts paused).
    fn drivers(&self) -> io::Result<Drivers> {
        let reactor = Reactor::new()?;
        let timer = if self.start_paused {
            TimerDriver::with_clock(reactor.clone(), MockClock::new())
        } else {
            TimerDriver::new(reactor.clone())
        };
        let timers = timer.handle();
        let timer = Arc::new(timer);
        let driver: Arc<dyn Driver> = timer.clone();
        Ok(Drivers {
            reactor,
            timer,
            timers,
            driver,
            quiescence: tulipa_executor::Quiescence::new(),
        })
    }

    /// Step 3: the diagnostics (debug mode, the panic policy, the reporter
    /// that leaves out the callback runner's own slow polls), holding the
    /// runtime weakly.
    fn diagnostics(&self, weak: &Weak<Shared>) -> Diagnostics {
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
        diag.on_shutdown(move || {
            if let Some(shared) = on_panic.upgrade() {
                shared.panic_shutdown.request();
            }
        })
        .build()
    }

    /// Step 4: the state every handle shares; a current-thread runtime's
    /// executor is made here, a multi-thread one's in
    /// [`start_workers`](Builder::start_workers).
    fn shared(&self, blocking: tulipa_blocking::Pool, drivers: &Drivers) -> Handle {
        let shared = Arc::new_cyclic(|weak: &Weak<Shared>| {
            let diagnostics = self.diagnostics(weak);
            let exec = OnceLock::new();
            if self.current_thread {
                let ct =
                    CurrentThread::with_diagnostics(drivers.driver.clone(), diagnostics.clone());
                ct.set_call_soon(call_soon_hook(weak.clone()));
                let _ = exec.set(Exec::Current(ct));
            }
            Shared {
                blocking,
                diagnostics,
                panic_shutdown: PanicShutdown::default(),
                exec,
                reactor: drivers.reactor.clone(),
                timers: drivers.timers.clone(),
                callbacks: Callbacks::new(weak.clone()),
                quiescence: drivers.quiescence.clone(),
            }
        });
        Handle { shared }
    }

    /// Step 5 (multi-thread): starts the workers, each inside the handle,
    /// and installs the executor in the handle.
    fn start_workers(&self, handle: &Handle, drivers: &Drivers) -> io::Result<MultiThread> {
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
        let wrapper: tulipa_executor::ThreadWrapper = Arc::new(move |run: &mut dyn FnMut()| {
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
        let mt = match b.build(drivers.driver.clone()) {
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
            // Virtual time jumps only while a thread is inside
            // `Runtime::block_on` (asyncio's clock moves only while its
            // loop runs: without this, time could race ahead of a thread
            // still scheduling `call_later`s or spawning sleepers between
            // two `block_on`s), and only when every worker is idle and so
            // is every such thread (its future and its local tasks); such
            // a thread going idle pokes the driver to re-check.
            let probe = mth.idle_probe();
            let q = drivers.quiescence.clone();
            drivers
                .timer
                .set_idle_probe(Arc::new(move || q.is_running() && probe() && q.is_quiet()));
            drivers.quiescence.on_quiet(drivers.driver.unparker());
        }
        let _ = handle.shared.exec.set(Exec::Multi(mth));
        release(true);
        Ok(mt)
    }
}

/// What [`Builder::drivers`] makes: the driver stack and the watch on the
/// threads inside `Runtime::block_on`.
struct Drivers {
    reactor: Reactor,
    timer: Arc<TimerDriver<Reactor>>,
    timers: TimerHandle,
    driver: Arc<dyn Driver>,
    quiescence: tulipa_executor::Quiescence,
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
