//! Diagnostics: asyncio's debug mode, and what happens to a panic nobody
//! will ever see.
//!
//! Each executor holds one [`Diagnostics`] (its owner hands it to every task
//! it spawns). It decides four things:
//!
//! 1. **Slow polls** (debug mode only). A task's poll that takes longer than
//!    the threshold is reported after it returns, with the task's id, name,
//!    spawn location and the duration ([`Diagnostic::SlowPoll`]).
//! 2. **Stuck polls** (debug mode only). A poll that has not returned yet
//!    is invisible to (1). A watchdog thread looks at every thread that is
//!    polling a debug-mode task and reports a poll running past the
//!    threshold while it still runs, once per poll, naming the task and the
//!    thread ([`Diagnostic::StuckPoll`]).
//! 3. **Unhandled panics** (always). A task that panicked when nobody can
//!    retrieve the panic any more (its `JoinHandle` was detached or dropped
//!    without being awaited to the end) is handled by the [`PanicPolicy`]:
//!    ignored, reported ([`Diagnostic::UnhandledPanic`], the default, as
//!    asyncio's "Task exception was never retrieved"), the process aborted,
//!    or the runtime asked to shut down.
//! 4. Where reports go: a reporter callback; by default a line on stderr.
//!
//! # Exactly one report per unhandled panic
//!
//! Two parties learn part of the story at different times: the task knows
//! it panicked, the handle knows it was dropped. Each sets its own bit in
//! the task's `observe` byte with one `fetch_or`; whoever sets the second
//! bit reports. The task stores the panic message *before* setting its bit,
//! so the handle side, seeing that bit, also sees the message. A handle that
//! returned the task's result sets nothing: the panic was observed.
//!
//! # Cost when off
//!
//! A task copies the `debug` flag into its metadata at spawn; each poll
//! tests that bool, nothing more. The unhandled-panic bookkeeping costs one
//! atomic `fetch_or` when a handle is dropped or detached before the task's
//! result was taken, and nothing on the poll path.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::meta::{TaskInfo, TaskMeta};
use crate::sync::AtomicU8;

/// What to do when a task panics and nobody can ever retrieve the panic.
///
/// A panic is *unhandled* when the task's `JoinHandle` was detached (or
/// dropped) before the task panicked, or is dropped afterwards without
/// having been awaited to the end. A panic that an `.await` on the handle
/// returned as a `JoinError` is handled, whatever the policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PanicPolicy {
    /// Say nothing; the panic payload is dropped.
    Ignore,
    /// Report it ([`Diagnostic::UnhandledPanic`]) and go on. The default.
    #[default]
    Log,
    /// Report it, then abort the process (for services that would rather
    /// restart than run on in an unknown state).
    Abort,
    /// Report it, then ask the runtime to shut down: the runtime's
    /// `block_on` panics and the runtime's tasks are cancelled when it is
    /// dropped.
    ShutdownRuntime,
}

/// One finding of the diagnostics, handed to the reporter.
///
/// Its `Display` is the line the default reporter prints.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Diagnostic {
    /// A task's poll returned after running longer than the threshold.
    SlowPoll {
        /// The task.
        task: TaskInfo,
        /// How long the poll took.
        duration: Duration,
        /// The threshold it exceeded.
        threshold: Duration,
    },
    /// A task's poll has been running longer than the threshold and has not
    /// returned yet: the thread is stuck (blocking call, endless loop).
    StuckPoll {
        /// The task being polled.
        task: TaskInfo,
        /// The name of the stuck thread (a worker name, or `<unnamed>`).
        thread: String,
        /// How long the poll has been running when the watchdog looked.
        running_for: Duration,
        /// The threshold it exceeded.
        threshold: Duration,
    },
    /// A callback (`call_soon`, `call_later`, `call_at`) ran longer than
    /// the threshold.
    SlowCallback {
        /// Where the callback was scheduled.
        location: &'static Location<'static>,
        /// How long it ran.
        duration: Duration,
        /// The threshold it exceeded.
        threshold: Duration,
    },
    /// A callback (`call_soon`, `call_later`, `call_at`) panicked; the loop
    /// goes on (asyncio's "Exception in callback").
    CallbackPanic {
        /// Where the callback was scheduled.
        location: &'static Location<'static>,
        /// The panic message, or a placeholder for a non-string payload.
        message: String,
    },
    /// A task panicked and nobody can retrieve the panic (see
    /// [`PanicPolicy`]).
    UnhandledPanic {
        /// The task.
        task: TaskInfo,
        /// The panic message, or a placeholder for a non-string payload.
        message: String,
    },
    /// A task dump asked for from outside the program: every live task and
    /// where it waits (the facade sends one on `SIGQUIT` when
    /// `Builder::dump_on_signal` or debug mode is on).
    TaskDump {
        /// The dump; its `Display` is the table.
        dump: crate::dump::Dump,
        /// What asked for it (for example `SIGQUIT`).
        trigger: &'static str,
    },
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnostic::SlowPoll {
                task,
                duration,
                threshold,
            } => write!(
                f,
                "slow poll: {task} ran for {duration:?} in one poll (threshold {threshold:?}); \
                 move blocking work to spawn_blocking or split it with yield_now"
            ),
            Diagnostic::StuckPoll {
                task,
                thread,
                running_for,
                threshold,
            } => write!(
                f,
                "stuck poll: thread '{thread}' has been polling {task} for {running_for:?} \
                 (threshold {threshold:?}) and it has not returned; is it blocking?"
            ),
            Diagnostic::SlowCallback {
                location,
                duration,
                threshold,
            } => write!(
                f,
                "slow callback: the callback scheduled at {location} ran for {duration:?} \
                 (threshold {threshold:?})"
            ),
            Diagnostic::CallbackPanic { location, message } => write!(
                f,
                "the callback scheduled at {location} panicked: {message}"
            ),
            Diagnostic::UnhandledPanic { task, message } => write!(
                f,
                "{task} panicked and nobody retrieved the panic (its JoinHandle was dropped \
                 or detached): {message}"
            ),
            Diagnostic::TaskDump { dump, trigger } => write!(f, "{trigger}: {dump}"),
        }
    }
}

/// A function that receives every [`Diagnostic`].
pub type Reporter = Arc<dyn Fn(&Diagnostic) + Send + Sync>;

/// An executor's diagnostics settings: debug mode, its threshold, the
/// unhandled-panic policy and where reports go.
///
/// Cheap to clone (one `Arc`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_executor::{Diagnostics, PanicPolicy};
///
/// let diag = Diagnostics::builder()
///     .debug(true)
///     .slow_poll_threshold(Duration::from_millis(50))
///     .unhandled_panic(PanicPolicy::Log)
///     .build();
/// assert!(diag.is_debug());
/// ```
#[derive(Clone)]
pub struct Diagnostics {
    inner: Arc<Inner>,
}

struct Inner {
    debug: bool,
    threshold: Duration,
    policy: PanicPolicy,
    reporter: Option<Reporter>,
    on_shutdown: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// Builds a [`Diagnostics`]; from [`Diagnostics::builder`].
#[must_use = "call .build() to get the Diagnostics"]
pub struct DiagnosticsBuilder {
    debug: Option<bool>,
    threshold: Duration,
    policy: PanicPolicy,
    reporter: Option<Reporter>,
    on_shutdown: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// The default slow-poll threshold, as asyncio's `slow_callback_duration`.
pub const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

impl Diagnostics {
    /// A builder with the defaults: debug mode from the `TULIPA_DEBUG`
    /// environment variable (on for any value but empty and `0`), a 100 ms
    /// threshold, [`PanicPolicy::Log`], reports to stderr.
    pub fn builder() -> DiagnosticsBuilder {
        DiagnosticsBuilder {
            debug: None,
            threshold: DEFAULT_SLOW_POLL_THRESHOLD,
            policy: PanicPolicy::Log,
            reporter: None,
            on_shutdown: None,
        }
    }

    /// The defaults (see [`builder`](Diagnostics::builder)), shared by every
    /// executor built without its own settings.
    pub fn global() -> Diagnostics {
        static GLOBAL: OnceLock<Diagnostics> = OnceLock::new();
        GLOBAL
            .get_or_init(|| Diagnostics::builder().build())
            .clone()
    }

    /// Whether debug mode is on.
    pub fn is_debug(&self) -> bool {
        self.inner.debug
    }

    /// The slow-poll threshold.
    pub fn slow_poll_threshold(&self) -> Duration {
        self.inner.threshold
    }

    /// The unhandled-panic policy.
    pub fn unhandled_panic(&self) -> PanicPolicy {
        self.inner.policy
    }

    /// Hands `d` to the reporter (stderr by default). A reporter that
    /// panics is caught and said so on stderr: reporting never unwinds into
    /// the executor, the watchdog or a `JoinHandle`'s drop.
    pub fn report(&self, d: &Diagnostic) {
        #[cfg(feature = "tracing")]
        crate::trace::diagnostic(d);
        match &self.inner.reporter {
            Some(r) => {
                let r = std::panic::AssertUnwindSafe(r);
                if let Err(p) = std::panic::catch_unwind(move || r(d)) {
                    eprintln!(
                        "tulipa: the diagnostics reporter panicked ({}) while reporting: {d}",
                        panic_message(&*p)
                    );
                }
            }
            None => eprintln!("tulipa: {d}"),
        }
    }

    /// Applies the policy to an unhandled panic of `task`.
    pub(crate) fn unhandled_panic_of(&self, task: TaskInfo, message: String) {
        match self.inner.policy {
            PanicPolicy::Ignore => {}
            PanicPolicy::Log => self.report(&Diagnostic::UnhandledPanic { task, message }),
            PanicPolicy::Abort => {
                self.report(&Diagnostic::UnhandledPanic { task, message });
                eprintln!("tulipa: aborting the process (PanicPolicy::Abort)");
                std::process::abort();
            }
            PanicPolicy::ShutdownRuntime => {
                self.report(&Diagnostic::UnhandledPanic { task, message });
                if let Some(f) = &self.inner.on_shutdown {
                    f();
                }
            }
        }
    }
}

impl fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostics")
            .field("debug", &self.inner.debug)
            .field("slow_poll_threshold", &self.inner.threshold)
            .field("unhandled_panic", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

impl DiagnosticsBuilder {
    /// Turns debug mode on or off, whatever `TULIPA_DEBUG` says.
    pub fn debug(mut self, on: bool) -> DiagnosticsBuilder {
        self.debug = Some(on);
        self
    }

    /// Sets the slow-poll threshold (default 100 ms).
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> DiagnosticsBuilder {
        self.threshold = threshold;
        self
    }

    /// Sets the unhandled-panic policy (default [`PanicPolicy::Log`]).
    pub fn unhandled_panic(mut self, policy: PanicPolicy) -> DiagnosticsBuilder {
        self.policy = policy;
        self
    }

    /// Sends every report to `f` instead of stderr (for logging
    /// frameworks, tests and dashboards). `f` runs on the thread that found
    /// the problem (a worker, or the watchdog): keep it short.
    pub fn reporter(mut self, f: impl Fn(&Diagnostic) + Send + Sync + 'static) -> Self {
        self.reporter = Some(Arc::new(f));
        self
    }

    /// What [`PanicPolicy::ShutdownRuntime`] calls: the runtime that owns
    /// the executor sets it to stop itself.
    pub fn on_shutdown(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_shutdown = Some(Arc::new(f));
        self
    }

    /// Builds the settings.
    pub fn build(self) -> Diagnostics {
        let debug = self.debug.unwrap_or_else(debug_from_env);
        Diagnostics {
            inner: Arc::new(Inner {
                debug,
                threshold: self.threshold,
                policy: self.policy,
                reporter: self.reporter,
                on_shutdown: self.on_shutdown,
            }),
        }
    }
}

impl fmt::Debug for DiagnosticsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiagnosticsBuilder")
            .field("debug", &self.debug)
            .field("slow_poll_threshold", &self.threshold)
            .field("unhandled_panic", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Whether `TULIPA_DEBUG` asks for debug mode: set, not empty, not `0`.
pub fn debug_from_env() -> bool {
    std::env::var_os("TULIPA_DEBUG").is_some_and(|v| !v.is_empty() && v != "0")
}

// ---------------------------------------------------------------------------
// Unhandled panics: the two-bit handshake between task and handle.

/// The task completed with a panic (its message is stored).
const PANICKED: u8 = 1;
/// The handle is gone (dropped or detached) without taking the result.
const HANDLE_GONE: u8 = 2;

/// Per-task state for the unhandled-panic handshake (see module docs). The
/// panic message lives in the metadata's cold part
/// ([`Cold::panic_message`](crate::meta::Cold)), which only a task that
/// panicked (or has other rare state) allocates.
#[derive(Default)]
pub(crate) struct Observe {
    bits: AtomicU8,
}

impl Observe {
    /// Sets `mine`; true if the other party's bit was already set, which
    /// makes the caller the one to report. AcqRel: the task side's message,
    /// written before its bit, is visible to a handle side that sees it.
    fn mark(bits: &AtomicU8, mine: u8, theirs: u8) -> bool {
        bits.fetch_or(mine, Ordering::AcqRel) & theirs != 0
    }

    /// The task side: it completed with a panic whose message is `message`.
    pub(crate) fn task_panicked(meta: &TaskMeta, message: String) {
        let _ = meta.cold_or_init().panic_message.set(message);
        if Observe::mark(&meta.observe.bits, PANICKED, HANDLE_GONE) {
            report_unhandled(meta);
        }
    }

    /// The task's panic message, once the task side recorded it.
    pub(crate) fn message(meta: &TaskMeta) -> Option<&str> {
        meta.cold()?.panic_message.get().map(String::as_str)
    }

    /// The handle side: it goes away without having taken the result.
    pub(crate) fn handle_gone(meta: &TaskMeta) {
        if Observe::mark(&meta.observe.bits, HANDLE_GONE, PANICKED) {
            report_unhandled(meta);
        }
    }
}

fn report_unhandled(meta: &TaskMeta) {
    let message = Observe::message(meta).unwrap_or("<no message>").to_owned();
    meta.owner
        .diagnostics()
        .unhandled_panic_of(meta.info(), message);
}

/// The message of a panic payload (a `&str` or `String`), or a placeholder:
/// [`tulipa_core::panic_message`] with the placeholder the diagnostics print.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    tulipa_core::panic_message(payload)
        .unwrap_or("<a non-string panic payload>")
        .to_owned()
}

// ---------------------------------------------------------------------------
// Slow and stuck polls (debug mode).

/// What a thread is polling right now, for the watchdog.
struct Running {
    task: TaskInfo,
    start: Instant,
    diag: Diagnostics,
    reported: bool,
}

/// One thread's slot: `Some` while it polls a debug-mode task.
struct Slot {
    thread: String,
    running: Mutex<Option<Running>>,
}

/// Every thread that has polled a debug-mode task; the watchdog drops the
/// entries of threads that have exited.
struct Watchdog {
    slots: Mutex<Vec<Weak<Slot>>>,
    started: OnceLock<()>,
}

static WATCHDOG: Watchdog = Watchdog {
    slots: Mutex::new(Vec::new()),
    started: OnceLock::new(),
};

thread_local! {
    static SLOT: Arc<Slot> = {
        let slot = Arc::new(Slot {
            thread: std::thread::current().name().unwrap_or("<unnamed>").to_owned(),
            running: Mutex::new(None),
        });
        lock(&WATCHDOG.slots).push(Arc::downgrade(&slot));
        start_watchdog();
        slot
    };
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How often the watchdog looks. Debug mode only: the thread does not
/// exist until a debug-mode task is polled.
const WATCHDOG_TICK: Duration = Duration::from_millis(10);

fn start_watchdog() {
    WATCHDOG.started.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("tulipa-watchdog".into())
            .spawn(|| loop {
                std::thread::sleep(WATCHDOG_TICK);
                watchdog_tick();
            });
        if let Err(e) = spawned {
            eprintln!("tulipa: debug mode could not start its watchdog thread: {e}");
        }
    });
}

fn watchdog_tick() {
    let mut findings = Vec::new();
    lock(&WATCHDOG.slots).retain(|weak| {
        let Some(slot) = weak.upgrade() else {
            return false;
        };
        let mut running = lock(&slot.running);
        if let Some(r) = running.as_mut() {
            let running_for = r.start.elapsed();
            let threshold = r.diag.slow_poll_threshold();
            if !r.reported && running_for > threshold {
                r.reported = true;
                findings.push((
                    r.diag.clone(),
                    Diagnostic::StuckPoll {
                        task: r.task.clone(),
                        thread: slot.thread.clone(),
                        running_for,
                        threshold,
                    },
                ));
            }
        }
        true
    });
    // Report outside the locks: a reporter may take its time.
    for (diag, d) in findings {
        diag.report(&d);
    }
}

/// Times one poll of a debug-mode task: publishes it to the watchdog while
/// it runs and reports it afterwards if it was slow.
pub(crate) struct PollTimer {
    start: Instant,
}

impl PollTimer {
    pub(crate) fn start(meta: &TaskMeta) -> PollTimer {
        let start = Instant::now();
        let _ = SLOT.try_with(|slot| {
            *lock(&slot.running) = Some(Running {
                task: meta.info(),
                start,
                diag: meta.owner.diagnostics(),
                reported: false,
            });
        });
        PollTimer { start }
    }

    pub(crate) fn finish(self, meta: &TaskMeta) {
        let end = Instant::now();
        let duration = end.saturating_duration_since(self.start);
        if let Some(timing) = meta.cold().and_then(|c| c.timing.as_ref()) {
            timing.poll_end(end);
        }
        let _ = SLOT.try_with(|slot| lock(&slot.running).take());
        let diag = meta.owner.diagnostics();
        let threshold = diag.slow_poll_threshold();
        if duration > threshold {
            diag.report(&Diagnostic::SlowPoll {
                task: meta.info(),
                duration,
                threshold,
            });
        }
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_observe {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;
    use loom::thread;

    /// Task and handle race: exactly one of them reports, and the reporter
    /// sees the message the task stored before its bit.
    #[test]
    fn loom_unhandled_panic_reported_exactly_once() {
        loom::model(|| {
            let bits = Arc::new(AtomicU8::new(0));
            let message = Arc::new(AtomicBool::new(false));
            let (b, m) = (bits.clone(), message.clone());
            let task = thread::spawn(move || {
                m.store(true, Ordering::Relaxed);
                Observe::mark(&b, PANICKED, HANDLE_GONE).then_some(true)
            });
            let handle = Observe::mark(&bits, HANDLE_GONE, PANICKED)
                .then(|| message.load(Ordering::Relaxed));
            let task = task.join().unwrap();
            match (task, handle) {
                (Some(_), None) => {}
                (None, Some(saw_message)) => assert!(saw_message),
                other => panic!("reported {other:?}: must be exactly once"),
            }
        });
    }
}
