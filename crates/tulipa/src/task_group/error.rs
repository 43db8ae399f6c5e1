//! The errors of a group: [`GroupError`] (every failure, asyncio's
//! `ExceptionGroup`), its items [`TaskFailure`], and [`GroupClosed`].

use std::convert::Infallible;
use std::fmt;

#[cfg(doc)]
use super::{GroupSpawner, TaskGroup};
use crate::task::{JoinError, TaskId};

/// A [`GroupSpawner`] found its group closed; holds the future it could
/// not spawn.
pub struct GroupClosed<F>(pub F);

impl<F> fmt::Debug for GroupClosed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GroupClosed(..)")
    }
}

impl<F> fmt::Display for GroupClosed<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the task group no longer accepts tasks (it finished joining, failed or was dropped); \
             spawn into a new group or with tulipa::spawn",
        )
    }
}

impl<F> std::error::Error for GroupClosed<F> {}

/// How one task of a group failed; an item of a [`GroupError`].
#[non_exhaustive]
pub enum TaskFailure<E> {
    /// The task returned `Err(error)` (with [`TaskGroup::try_join`]).
    Failed {
        /// The task's id.
        id: TaskId,
        /// The error it returned.
        error: E,
    },
    /// The task panicked; the [`JoinError`] holds the payload.
    Panicked(JoinError),
}

impl<E> TaskFailure<E> {
    /// The id of the task that failed.
    pub fn id(&self) -> TaskId {
        match self {
            TaskFailure::Failed { id, .. } => *id,
            TaskFailure::Panicked(j) => j.id(),
        }
    }
}

impl<E> fmt::Debug for TaskFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskFailure::Failed { id, .. } => f
                .debug_struct("Failed")
                .field("id", id)
                .finish_non_exhaustive(),
            TaskFailure::Panicked(j) => f.debug_tuple("Panicked").field(j).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for TaskFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskFailure::Failed { id, error } => write!(f, "task {id} failed: {error}"),
            TaskFailure::Panicked(j) => write!(f, "{j}"),
        }
    }
}

/// Why a [`TaskGroup`] failed: every task that failed (asyncio's
/// `ExceptionGroup`), in the order the group saw them; never empty.
///
/// The first failure is the one that made the group cancel the others;
/// the rest failed before their cancellation took effect. Cancelled tasks
/// are not failures and are not listed.
pub struct GroupError<E = Infallible> {
    failures: Vec<TaskFailure<E>>,
}

impl<E> GroupError<E> {
    /// A group error of `failures`, which must not be empty.
    pub(super) fn new(failures: Vec<TaskFailure<E>>) -> GroupError<E> {
        debug_assert!(
            !failures.is_empty(),
            "a group error lists at least one failure"
        );
        GroupError { failures }
    }

    /// The first failure: the one that cancelled the rest.
    pub fn first(&self) -> &TaskFailure<E> {
        &self.failures[0]
    }

    /// Every failure, the first one first.
    pub fn failures(&self) -> &[TaskFailure<E>] {
        &self.failures
    }

    /// The first failure, by value.
    pub fn into_first(self) -> TaskFailure<E> {
        self.into_failures().swap_remove(0)
    }

    /// Every failure, by value, the first one first.
    pub fn into_failures(self) -> Vec<TaskFailure<E>> {
        self.failures
    }
}

impl<E> IntoIterator for GroupError<E> {
    type Item = TaskFailure<E>;
    type IntoIter = std::vec::IntoIter<TaskFailure<E>>;

    fn into_iter(self) -> Self::IntoIter {
        self.failures.into_iter()
    }
}

impl<E> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GroupError").field(&self.failures).finish()
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failures.len() {
            1 => write!(f, "a task of the group failed: {}", self.first()),
            n => write!(
                f,
                "{n} tasks of the group failed; the first: {}",
                self.first()
            ),
        }
    }
}

impl<E: fmt::Display> std::error::Error for GroupError<E> {}

impl<E: fmt::Display> From<GroupError<E>> for std::io::Error {
    /// An [`ErrorKind::Other`](std::io::ErrorKind::Other) error with the
    /// group error's message, for I/O code that uses `?` on a join (as a
    /// [`JoinError`] converts).
    fn from(e: GroupError<E>) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
}
