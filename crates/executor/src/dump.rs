//! Task dumps: every live task and the await point it is suspended at
//! (asyncio's `Task.print_stack()`, Go's SIGQUIT dump).
//!
//! # What each task records
//!
//! Every task's metadata holds a [`Trace`] (one byte) and a [`TracePoint`]:
//!
//! - its state: *scheduled* (set by the schedule function, before the task
//!   is queued), *running* (set when a poll starts), *idle* (set when a poll
//!   returns `Pending`). async-task calls the schedule function only when
//!   the task is not running, or after the poll that was woken has
//!   returned, so the three writes never race each other: each one is made
//!   by the one thread that owns the task at that moment, and plain relaxed
//!   loads and stores suffice. A dump reads them without synchronising: it
//!   is a snapshot for people, not a synchronisation point.
//! - its await point: before each poll the executor clears
//!   [`tulipa_core::await_point`]'s thread-local, and after a `Pending`
//!   poll it stores the location a tulipa future recorded there. When no
//!   tulipa future recorded one (the task waits on a future tulipa does not
//!   know), the previous point is kept and flagged as only the last known
//!   (the flag is a bit of the state byte).
//! - in debug mode only, the spawn time and the end of the last poll: debug
//!   mode reads the clock around every poll already, so ages and idle times
//!   cost nothing more there; without debug mode they are unknown (the dump
//!   says `-`), because a clock read on every poll would cost more than the
//!   whole await-point recording.
//!
//! # Cost with debug mode off
//!
//! Per poll: two thread-local accesses (clear, take), a relaxed load and two
//! relaxed stores of the state byte, and a relaxed store of the await point
//! when it changed. Per wake: a relaxed load and store. Nothing allocates.
// Unsafe here: reads the await-point pointer a task published (see the SAFETY proof there); every block carries its SAFETY proof.
#![allow(unsafe_code)]

use std::fmt;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::meta::{TaskInfo, TaskMeta};

const SCHEDULED: u8 = 0;
const RUNNING: u8 = 1;
const IDLE: u8 = 2;
const STATE: u8 = 0b11;
/// Whether the last `Pending` poll recorded the await point (else it is
/// only the last known point).
const EXACT: u8 = 0b100;

/// The per-task record a dump reads (see the module docs): the state and
/// whether the await point is exact, in one byte, and the await point
/// itself in a [`TracePoint`] beside it in the metadata (one struct of
/// both would be padded to 16 bytes in every task).
pub(crate) struct Trace(AtomicU8);

/// The last await point recorded by a tulipa future; null if none yet.
pub(crate) struct TracePoint(AtomicPtr<Location<'static>>);

impl TracePoint {
    pub(crate) fn new() -> TracePoint {
        TracePoint(AtomicPtr::new(ptr::null_mut()))
    }
}

/// A task's times in debug mode, kept in the metadata's cold part
/// ([`Cold::timing`](crate::meta::Cold)): most tasks carry none.
pub(crate) struct Timing {
    /// When the task was spawned.
    spawned: Instant,
    /// Nanoseconds from `spawned` to the end of the last poll, plus one;
    /// zero before the first poll ends.
    last_poll: AtomicU64,
}

impl Timing {
    /// Times a task spawned now.
    pub(crate) fn now() -> Timing {
        Timing {
            spawned: Instant::now(),
            last_poll: AtomicU64::new(0),
        }
    }

    /// A poll ended at `end`.
    pub(crate) fn poll_end(&self, end: Instant) {
        let nanos = end.saturating_duration_since(self.spawned).as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX - 1);
        self.last_poll.store(nanos + 1, Ordering::Relaxed);
    }
}

impl Trace {
    /// A fresh record: scheduled, no await point yet.
    pub(crate) fn new() -> Trace {
        Trace(AtomicU8::new(SCHEDULED))
    }

    /// Sets the state, keeping the exact bit. Only the thread that owns
    /// the task at that moment writes (see the module docs), so a load and
    /// a store lose nothing.
    #[inline]
    fn set_state(&self, state: u8) {
        let byte = self.0.load(Ordering::Relaxed);
        self.0.store(byte & EXACT | state, Ordering::Relaxed);
    }

    /// The task is about to be queued.
    #[inline]
    pub(crate) fn scheduled(&self) {
        self.set_state(SCHEDULED);
    }

    /// A poll starts: clears the thread's await point.
    #[inline]
    pub(crate) fn poll_start(&self) {
        self.set_state(RUNNING);
        tulipa_core::await_point::clear();
    }

    /// A poll returned `Pending`: stores where it waits in `point`.
    #[inline]
    pub(crate) fn poll_pending(&self, point: &TracePoint) {
        let exact = match tulipa_core::await_point::take() {
            Some(location) => {
                let location = ptr::from_ref(location).cast_mut();
                if point.0.load(Ordering::Relaxed) != location {
                    point.0.store(location, Ordering::Relaxed);
                }
                EXACT
            }
            None => 0,
        };
        self.0.store(IDLE | exact, Ordering::Relaxed);
    }

    fn snapshot(meta: &TaskMeta, now: Instant) -> TaskDump {
        let byte = meta.trace.0.load(Ordering::Relaxed);
        let state = match byte & STATE {
            RUNNING => TaskState::Running,
            IDLE => TaskState::Idle,
            _ => TaskState::Scheduled,
        };
        let point = meta.trace_point.0.load(Ordering::Relaxed);
        // SAFETY: `point` is null or was made from a `&'static Location`
        // in `poll_pending`: it is valid for reads forever.
        let point = unsafe { point.as_ref() }.map(|location| AwaitPoint {
            location,
            last_known: byte & EXACT == 0,
        });
        let timing = meta.cold().and_then(|c| c.timing.as_ref());
        let age = timing.map(|t| now.saturating_duration_since(t.spawned));
        let idle = timing.and_then(|t| {
            let n = t.last_poll.load(Ordering::Relaxed);
            (n > 0).then(|| now.saturating_duration_since(t.spawned + Duration::from_nanos(n - 1)))
        });
        TaskDump {
            info: meta.info(),
            state,
            polls: meta.polls.load(Ordering::Relaxed),
            age,
            idle,
            await_point: point,
        }
    }
}

/// What a task was doing when the dump was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Being polled on some thread.
    Running,
    /// Woken and queued: it runs when a worker gets to it.
    Scheduled,
    /// Suspended, waiting for a wake-up.
    Idle,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            TaskState::Running => "running",
            TaskState::Scheduled => "scheduled",
            TaskState::Idle => "idle",
        })
    }
}

/// Where a task is suspended: the source location of the tulipa future it
/// waits on (the `mutex.lock()`, `rx.recv()` or `sleep(..)` in the user's
/// code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AwaitPoint {
    location: &'static Location<'static>,
    last_known: bool,
}

impl AwaitPoint {
    /// The source location where the waiting future was created.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// Whether this is only the last point known: the task's latest poll
    /// returned `Pending` from a future that is not tulipa's (it recorded
    /// no point), so the task may wait elsewhere now.
    pub fn is_last_known(&self) -> bool {
        self.last_known
    }
}

impl fmt::Display for AwaitPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.last_known {
            write!(
                f,
                "{} (last known; now on a non-tulipa future)",
                self.location
            )
        } else {
            write!(f, "{}", self.location)
        }
    }
}

/// One task in a [`Dump`].
#[derive(Clone, Debug)]
pub struct TaskDump {
    info: TaskInfo,
    state: TaskState,
    polls: u64,
    age: Option<Duration>,
    idle: Option<Duration>,
    await_point: Option<AwaitPoint>,
}

impl TaskDump {
    /// The task's id, name and spawn location.
    pub fn info(&self) -> &TaskInfo {
        &self.info
    }

    /// Running, scheduled or idle.
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// How many times the task has been polled.
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// How long ago the task was spawned; `None` unless the executor runs
    /// in debug mode (see [`Dump`]).
    pub fn age(&self) -> Option<Duration> {
        self.age
    }

    /// How long ago the task's last poll ended; `None` unless the executor
    /// runs in debug mode, or if it was never polled.
    pub fn idle_for(&self) -> Option<Duration> {
        self.idle
    }

    /// Where the task is suspended, if any tulipa future recorded it.
    pub fn await_point(&self) -> Option<AwaitPoint> {
        self.await_point
    }
}

/// Every live task of an executor (or a runtime) at one moment: from
/// `CurrentThread::dump`, `MultiThreadHandle::dump` or the facade's
/// `Handle::dump`.
///
/// `Display` prints a table, longest idle first (tasks whose idle time is
/// unknown last, by id): a deadlock shows as tasks idle for a long time at
/// `lock()` calls in the user's code.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulipa_core::ThreadParker;
/// use tulipa_executor::{CurrentThread, SpawnOptions, TaskState};
///
/// let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
/// let _stuck = ex.spawn(SpawnOptions::new().name("stuck"), std::future::pending::<()>());
/// ex.block_on(tulipa_executor::yield_now());
/// let dump = ex.dump();
/// assert_eq!(dump.tasks()[0].info().name(), Some("stuck"));
/// assert_eq!(dump.tasks()[0].state(), TaskState::Idle);
/// println!("{dump}");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Dump {
    tasks: Vec<TaskDump>,
}

impl Dump {
    /// Reads every task of `registry`.
    pub(crate) fn collect(registry: &crate::registry::Registry) -> Dump {
        let now = Instant::now();
        let mut tasks = Vec::new();
        registry.for_each(|m| tasks.push(Trace::snapshot(m, now)));
        let mut dump = Dump { tasks };
        dump.sort();
        dump
    }

    fn sort(&mut self) {
        self.tasks.sort_by(|a, b| {
            // Longest idle first; unknown idle times after, by id.
            b.idle
                .cmp(&a.idle)
                .then_with(|| a.info.id().cmp(&b.info.id()))
        });
    }

    /// The tasks, longest idle first.
    pub fn tasks(&self) -> &[TaskDump] {
        &self.tasks
    }

    /// The number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Keeps only the tasks for which `f` returns true (a runtime leaves
    /// out its own helper tasks).
    pub fn retain(&mut self, f: impl FnMut(&TaskDump) -> bool) {
        self.tasks.retain(f);
    }
}

/// A duration for the table, or `-` when unknown.
struct Cell(Option<Duration>);

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => f.pad(&format!("{d:.1?}")),
            None => f.pad("-"),
        }
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tulipa task dump: {} live task(s)", self.tasks.len())?;
        let name_width = self
            .tasks
            .iter()
            .map(|t| t.info.name().unwrap_or("").len())
            .max()
            .unwrap_or(0)
            .max(4);
        writeln!(
            f,
            "{:>6}  {:<name_width$}  {:<9}  {:>6}  {:>9}  {:>9}  waiting at / spawned at",
            "id", "name", "state", "polls", "age", "idle",
        )?;
        for t in &self.tasks {
            write!(
                f,
                "{:>6}  {:<name_width$}  {:<9}  {:>6}  {:>9}  {:>9}  ",
                t.info.id(),
                t.info.name().unwrap_or(""),
                t.state,
                t.polls,
                Cell(t.age),
                Cell(t.idle),
            )?;
            match t.await_point {
                Some(p) => write!(f, "{p}")?,
                None => write!(f, "-")?,
            }
            writeln!(f, " / {}", t.info.location())?;
        }
        Ok(())
    }
}
