//! Task metadata: who a task is, where it came from, how often it ran.
//!
//! Every task carries a [`TaskMeta`] inside its async-task allocation from
//! the moment it is spawned: a process-unique [`TaskId`], an optional name,
//! the spawn location (captured with `#[track_caller]`) and a poll count.
//!
//! What most tasks never use (a given name, debug-mode times, done
//! callbacks, a panic message) is in a [`Cold`] part, boxed on first use:
//! the metadata is most of a task's allocation, so its size is the memory
//! and the page faults a spawn costs.
//!
//! A task given no name is called `Task-N`, N its id (asyncio's default
//! name). That name is never stored: [`TaskInfo`] formats it on demand into
//! an inline buffer, so spawning an unnamed task allocates no string.
//! Debug tooling (slow-poll reports, task dumps) reads it; the executor's
//! cancellation flag lives here too.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, OnceLock};

use once_cell::race::OnceBox;

use crate::done::{DoneCallback, DoneState};
use crate::dump::Timing;
use crate::owner::Owner;
use crate::sync::Mutex;
pub use tulipa_core::TaskId;

/// Per-task data stored inside the task allocation.
pub(crate) struct TaskMeta {
    pub(crate) id: TaskId,
    pub(crate) location: &'static Location<'static>,
    /// Incremented by the one thread polling the task; read by anyone.
    pub(crate) polls: AtomicU64,
    /// Set by `JoinHandle::cancel`; checked at the start of every poll.
    pub(crate) cancelled: AtomicBool,
    /// This task's place in its owner's registry (see the `registry`
    /// module).
    pub(crate) links: crate::registry::Links<TaskMeta>,
    /// The executor that owns the task: schedules it and holds its registry.
    pub(crate) owner: Arc<dyn Owner>,
    /// Debug mode was on for the owner at spawn: time every poll.
    pub(crate) debug: bool,
    /// The unhandled-panic handshake (see the `diag` module).
    pub(crate) observe: crate::diag::Observe,
    /// Where the task is, for yield barriers (see the `barrier` module).
    pub(crate) step: crate::barrier::StepState,
    /// The owner has yield barriers (multi-thread): `step` is kept up to
    /// date. Other executors skip that cost.
    pub(crate) track_steps: bool,
    /// How the task ended (see the `done` module).
    pub(crate) done: DoneState,
    /// The task holds a reference to itself: taken when a poll first
    /// returns `Pending`, given back when its future is dropped (see
    /// `hold_self` in the `task` module).
    pub(crate) holds_self: AtomicBool,
    /// What most tasks never use; see [`Cold`]. One word (a `OnceLock` of
    /// the box would be two).
    cold: OnceBox<Cold>,
    /// Its state for task dumps, and whether `trace_point` is exact (see the
    /// `dump` module).
    pub(crate) trace: crate::dump::Trace,
    /// Where it last waited, for task dumps (see the `dump` module).
    pub(crate) trace_point: crate::dump::TracePoint,
    /// Feature `tracing`: the task's traced waker (see the `trace` module).
    #[cfg(feature = "tracing")]
    pub(crate) tracing: crate::trace::TaskTrace,
}

/// The rarely used part of a task's metadata, allocated on first use: at
/// spawn for a named task or in debug mode, later by a done callback or a
/// panic. A task that needs none of it carries one null pointer for all.
#[derive(Default)]
pub(crate) struct Cold {
    /// The name it was spawned with (set at spawn only).
    pub(crate) name: Option<Arc<str>>,
    /// Debug mode only (set at spawn only): when it was spawned and when
    /// its last poll ended.
    pub(crate) timing: Option<Timing>,
    /// Its done callbacks (see the `done` module).
    pub(crate) callbacks: Mutex<Vec<DoneCallback>>,
    /// Its panic message, once it panicked (see `diag::Observe`).
    pub(crate) panic_message: OnceLock<String>,
}

impl TaskMeta {
    /// The metadata of a task spawned now; `debug` takes its spawn time,
    /// `track_steps` says whether its owner has yield barriers. Inlined
    /// into the spawn, which moves the result into the task's allocation.
    #[inline]
    pub(crate) fn new(
        id: TaskId,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
        owner: Arc<dyn Owner>,
        debug: bool,
        track_steps: bool,
        #[cfg(feature = "tracing")] tracing: crate::trace::TaskTrace,
    ) -> TaskMeta {
        let cold = if name.is_some() || debug {
            OnceBox::with_value(Box::new(Cold {
                name,
                timing: debug.then(Timing::now),
                ..Cold::default()
            }))
        } else {
            OnceBox::new()
        };
        TaskMeta {
            id,
            location,
            polls: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
            links: crate::registry::Links::new(),
            debug,
            observe: Default::default(),
            step: Default::default(),
            track_steps,
            done: DoneState::default(),
            holds_self: AtomicBool::new(false),
            cold,
            trace: crate::dump::Trace::new(),
            trace_point: crate::dump::TracePoint::new(),
            #[cfg(feature = "tracing")]
            tracing,
            owner,
        }
    }

    pub(crate) fn info(&self) -> TaskInfo {
        let name = self.cold().and_then(|c| c.name.clone());
        TaskInfo::new(self.id, name, self.location)
    }

    /// The cold part, if anything allocated it.
    pub(crate) fn cold(&self) -> Option<&Cold> {
        self.cold.get()
    }

    /// The cold part, allocated now if nothing did before.
    pub(crate) fn cold_or_init(&self) -> &Cold {
        self.cold.get_or_init(Box::default)
    }
}

/// A snapshot of a task's identity: id, name and spawn location.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    id: TaskId,
    name: Name,
    location: &'static Location<'static>,
}

/// "Task-" and the 20 digits of the largest `u64`.
const DEFAULT_NAME_MAX: usize = 25;

/// A task's name: the one it was given, or asyncio's default `Task-N`
/// formatted inline (no allocation).
#[derive(Clone)]
enum Name {
    Given(Arc<str>),
    Default {
        buf: [u8; DEFAULT_NAME_MAX],
        len: u8,
    },
}

impl Name {
    fn new(id: TaskId, given: Option<Arc<str>>) -> Name {
        if let Some(n) = given {
            return Name::Given(n);
        }
        let mut buf = [0u8; DEFAULT_NAME_MAX];
        buf[..5].copy_from_slice(b"Task-");
        let mut digits = [0u8; 20];
        let mut n = id.as_u64();
        let mut k = digits.len();
        loop {
            k -= 1;
            digits[k] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let count = digits.len() - k;
        buf[5..5 + count].copy_from_slice(&digits[k..]);
        Name::Default {
            buf,
            len: (5 + count) as u8,
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Name::Given(n) => n,
            // Only ASCII digits and "Task-" are ever written to `buf`.
            Name::Default { buf, len } => {
                std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or("Task-?")
            }
        }
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl TaskInfo {
    pub(crate) fn new(
        id: TaskId,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> TaskInfo {
        TaskInfo {
            id,
            name: Name::new(id, name),
            location,
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name (asyncio's `Task.get_name()`): the one it was
    /// spawned with, or asyncio's default `Task-N` where N is its
    /// [id](TaskInfo::id).
    ///
    /// Always `Some`: every task has a name. (The `Option` stays so code
    /// written when unnamed tasks had none still compiles.)
    pub fn name(&self) -> Option<&str> {
        Some(self.name.as_str())
    }

    /// Where the task was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task {} '{}' spawned at {}",
            self.id,
            self.name.as_str(),
            self.location
        )
    }
}

#[cfg(all(test, not(tulipa_loom)))]
mod tests {
    /// Every spawned task carries its metadata, so its size is spawn's
    /// memory cost (`spawn_many` spends a large part of its time in page
    /// faults): rarely used parts are in the boxed `Cold` (a given name,
    /// debug times, done callbacks, a panic message). A field added here
    /// should be worth its bytes. At 96 bytes, a task of a small future is
    /// a 152-byte allocation (async-task's 40-byte header around this, then
    /// the future or its output), a 160-byte glibc chunk; at 168 bytes,
    /// with the `JoinError` unboxed in the output, it was 240 bytes (a
    /// 256-byte chunk). `tests/executor_alloc.rs` checks the allocation.
    #[test]
    fn task_metadata_stays_small() {
        // Feature `tracing` adds the task's traced-waker state.
        #[cfg(feature = "tracing")]
        let tracing = std::mem::size_of::<crate::trace::TaskTrace>();
        #[cfg(not(feature = "tracing"))]
        let tracing = 0;
        let size = std::mem::size_of::<super::TaskMeta>() - tracing;
        assert!(size <= 96, "TaskMeta grew to {size} bytes (was 96)");
    }
}
