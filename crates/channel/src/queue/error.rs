//! The errors of the queues (asyncio's `QueueFull`, `QueueEmpty`,
//! `QueueShutDown` and the `ValueError` of a surplus `task_done`).
//!
//! Put errors hand the item back; none needs `T: Debug`; messages are
//! lowercase and say what to do.

use std::error::Error;
use std::fmt;

/// [`put`](super::Queue::put) failed: the queue was shut down. The item
/// is handed back in the field (asyncio's `QueueShutDown`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PutError<T>(pub T);

impl<T> PutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PutError(..)")
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("putting into a queue that was shut down")
    }
}

impl<T> Error for PutError<T> {}

/// Why [`put_nowait`](super::Queue::put_nowait) failed; the item is handed
/// back in either variant.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PutNowaitError<T> {
    /// The queue holds `maxsize` items (asyncio's `QueueFull`).
    Full(T),
    /// The queue was shut down (asyncio's `QueueShutDown`).
    Shutdown(T),
}

impl<T> PutNowaitError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutNowaitError::Full(t) | PutNowaitError::Shutdown(t) => t,
        }
    }

    /// Whether the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, PutNowaitError::Full(_))
    }

    /// Whether the queue was shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, PutNowaitError::Shutdown(_))
    }
}

impl<T> fmt::Debug for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(_) => f.write_str("Full(..)"),
            PutNowaitError::Shutdown(_) => f.write_str("Shutdown(..)"),
        }
    }
}

impl<T> fmt::Display for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(_) => {
                f.write_str("putting into a full queue: await `put` to wait for room")
            }
            PutNowaitError::Shutdown(_) => f.write_str("putting into a queue that was shut down"),
        }
    }
}

impl<T> Error for PutNowaitError<T> {}

impl<T> From<PutError<T>> for PutNowaitError<T> {
    fn from(e: PutError<T>) -> Self {
        PutNowaitError::Shutdown(e.0)
    }
}

/// [`get`](super::Queue::get) failed: the queue was shut down and is empty
/// (asyncio's `QueueShutDown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetError;

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("getting from a queue that was shut down and is empty")
    }
}

impl Error for GetError {}

/// Why [`get_nowait`](super::Queue::get_nowait) got no item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GetNowaitError {
    /// The queue is empty (asyncio's `QueueEmpty`).
    Empty,
    /// The queue was shut down and is empty (asyncio's `QueueShutDown`).
    Shutdown,
}

impl GetNowaitError {
    /// Whether the queue was empty but not shut down.
    pub fn is_empty(&self) -> bool {
        matches!(self, GetNowaitError::Empty)
    }

    /// Whether the queue was shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, GetNowaitError::Shutdown)
    }
}

impl fmt::Display for GetNowaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetNowaitError::Empty => {
                f.write_str("getting from an empty queue: await `get` to wait for an item")
            }
            GetNowaitError::Shutdown => GetError.fmt(f),
        }
    }
}

impl Error for GetNowaitError {}

impl From<GetError> for GetNowaitError {
    fn from(_: GetError) -> Self {
        GetNowaitError::Shutdown
    }
}

/// [`task_done`](super::Queue::task_done) was called more times than items
/// were put (asyncio raises `ValueError`). Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "task_done() called more times than items were put: call it once per item taken with get",
        )
    }
}

impl Error for TaskDoneError {}
