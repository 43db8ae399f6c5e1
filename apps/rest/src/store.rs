//! The storage interface: one small async trait, [`Store`], that the HTTP
//! layer knows, and the two outcomes and three failures it reports.
//!
//! The trait is generic (its futures are `impl Future + Send`), not a
//! `dyn` object: the router is built for one concrete store, chosen once at
//! start-up, so no call goes through a box.

use std::fmt;
use std::future::Future;

use serde_json::Value;

/// What a [`Store::put`] did: the HTTP layer answers `201 Created` or
/// `200 OK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Put {
    /// No document had this id; one was stored.
    Created,
    /// A document had this id; it was replaced.
    Replaced,
}

/// Where JSON documents are kept, by `i64` id.
///
/// Both operations are atomic: a [`put`](Store::put) that returns `Ok` has
/// been committed durably (it survives the process ending right after),
/// and of several concurrent puts of one id exactly the first to commit
/// reports [`Put::Created`]; the last to commit is what [`get`](Store::get)
/// returns afterwards.
pub trait Store: Send + Sync + 'static {
    /// The document stored under `id`, or `None`.
    ///
    /// # Errors
    ///
    /// A [`StoreError`] when the database cannot answer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read has no effect to lose.
    fn get(&self, id: i64) -> impl Future<Output = Result<Option<Value>, StoreError>> + Send;

    /// Stores `doc` under `id`, creating or replacing it.
    ///
    /// # Errors
    ///
    /// A [`StoreError`] when the database cannot take the write; the
    /// write may then have happened or not (as with any request whose
    /// answer was lost).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes leaves the write undecided:
    /// it may still be committed. Only an `Ok` is an acknowledgement.
    fn put(&self, id: i64, doc: Value) -> impl Future<Output = Result<Put, StoreError>> + Send;

    /// Says where the documents are kept, for the start-up message (no
    /// password).
    fn describe(&self) -> String;
}

/// Why a [`Store`] could not do what was asked.
///
/// Messages are lowercase and say what to do; the HTTP layer sends them
/// to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The database cannot be reached now: down, restarting, or every
    /// connection busy past the wait limit. Trying again later may work.
    /// The HTTP answer is `503 Service Unavailable`.
    Unavailable(String),
    /// The database refused this document (PostgreSQL's `jsonb` takes no
    /// `\u0000` in strings, for example). The HTTP answer is `400`.
    Rejected(String),
    /// The database failed otherwise (a full disk, a corrupt file). The
    /// HTTP answer is `500`.
    Failed(String),
}

impl StoreError {
    /// The message without the kind.
    pub fn message(&self) -> &str {
        match self {
            StoreError::Unavailable(m) | StoreError::Rejected(m) | StoreError::Failed(m) => m,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(m) => write!(f, "database unavailable: {m}"),
            StoreError::Rejected(m) => write!(f, "the database refused the document: {m}"),
            StoreError::Failed(m) => write!(f, "database error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}
