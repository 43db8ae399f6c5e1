//! Task metadata: who a task is, where it came from, how often it ran.
//!
//! Every task carries a [`TaskMeta`] inside its async-task allocation from
//! the moment it is spawned: a process-unique [`TaskId`], an optional name,
//! the spawn location (captured with `#[track_caller]`) and a poll count.
//! Debug tooling (slow-poll reports, task dumps) reads it; the executor's
//! cancellation flag lives here too.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use crate::registry::Owner;
pub use tulipa_core::TaskId;

/// Per-task data stored inside the task allocation.
pub(crate) struct TaskMeta {
    pub(crate) id: TaskId,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) location: &'static Location<'static>,
    /// Incremented by the one thread polling the task; read by anyone.
    pub(crate) polls: AtomicU64,
    /// Set by `JoinHandle::cancel`; checked at the start of every poll.
    pub(crate) cancelled: AtomicBool,
    /// Key of this task's entry in its owner's registry.
    pub(crate) key: usize,
    /// The executor that owns the task: schedules it and holds its registry.
    pub(crate) owner: Arc<dyn Owner>,
    /// Debug mode was on for the owner at spawn: time every poll.
    pub(crate) debug: bool,
    /// The unhandled-panic handshake (see the `diag` module).
    pub(crate) observe: crate::diag::Observe,
}

impl TaskMeta {
    pub(crate) fn info(&self) -> TaskInfo {
        TaskInfo {
            id: self.id,
            name: self.name.clone(),
            location: self.location,
        }
    }
}

/// A snapshot of a task's identity: id, name and spawn location.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    id: TaskId,
    name: Option<Arc<str>>,
    location: &'static Location<'static>,
}

impl TaskInfo {
    pub(crate) fn new(
        id: TaskId,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> TaskInfo {
        TaskInfo { id, name, location }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the task was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " '{name}'")?;
        }
        write!(f, " spawned at {}", self.location)
    }
}
