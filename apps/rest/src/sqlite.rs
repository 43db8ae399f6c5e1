//! The embedded default: SQLite, through `rusqlite` (bundled, so nothing
//! needs installing), on tulipa's blocking pool.
//!
//! # Design
//!
//! SQLite calls block, so every one runs in a job on tulipa's blocking
//! pool ([`tulipa::spawn_blocking`]); the runtime's workers never wait on
//! the disk. A connection is moved into the job and handed back with the
//! result.
//!
//! - **Reads** take one of a few read-only connections from a pool (a
//!   semaphore in front of the idle connections, so waiting for a
//!   connection is async and never parks a pool thread).
//!   The database is in WAL mode, so readers never wait for the writer.
//! - **Writes** go through one writer task that owns the only write
//!   connection: `put` sends its document down a channel with a one-shot
//!   for the answer. The writer takes everything queued (up to
//!   [`MAX_BATCH`]), applies it in one `BEGIN IMMEDIATE` transaction, in
//!   arrival order, commits, and only then answers each request: a group
//!   commit. With `synchronous = FULL`, a commit is on disk before any
//!   `201`/`200` goes out, yet one `fsync` covers every write that queued
//!   while the previous batch was committing, so throughput grows with
//!   concurrency instead of being one `fsync` per request.
//!
//! Each write is an upsert that says whether it created the row:
//!
//! ```sql
//! INSERT INTO stuff (id, doc) VALUES (?1, ?2)
//! ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, revision = revision + 1
//! RETURNING revision
//! ```
//!
//! `revision` counts the writes of a document; `1` means this write made
//! it. Writes of one id apply in the order they reached the writer, so
//! exactly one of several concurrent creations answers `201`, and the
//! document left is the last one committed.
//!
//! A connection that fails to open, or a job that panics, costs the
//! requests of that batch (answered with an error) and nothing more: the
//! next job opens a fresh connection.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use serde_json::Value;
use tulipa::channel::{self, oneshot, Receiver, Sender};

use crate::pool::Pool;
use crate::store::{Put, Store, StoreError};

/// The most writes committed in one transaction.
pub const MAX_BATCH: usize = 512;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS stuff (
    id INTEGER PRIMARY KEY,
    doc TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1
)";
const SELECT: &str = "SELECT doc FROM stuff WHERE id = ?1";
const UPSERT: &str = "INSERT INTO stuff (id, doc) VALUES (?1, ?2) \
    ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, revision = revision + 1 \
    RETURNING revision";

/// Settings of a [`SqliteStore`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Read-only connections for `GET`s (default 4).
    pub readers: usize,
    /// How long SQLite waits for a lock another process holds before
    /// giving up with "busy" (default 5 s).
    pub busy_timeout: Duration,
    /// How long a request waits for a read connection, or for its write to
    /// be committed, before it is answered `503` (default 10 s).
    pub wait: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            wait: Duration::from_secs(10),
        }
    }
}

/// A write on its way to the writer task.
struct Write {
    id: i64,
    doc: String,
    reply: oneshot::Sender<Result<Put, StoreError>>,
}

/// JSON documents in a SQLite file: see the [module docs](self).
pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    readers: Pool<Connection>,
    writes: Sender<Write>,
    writer: Mutex<Option<tulipa::JoinHandle<()>>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with the default
    /// [`SqliteOptions`], and starts its writer task.
    ///
    /// # Errors
    ///
    /// [`StoreError::Failed`] when the file cannot be opened or set up,
    /// with SQLite's reason and the path.
    ///
    /// # Panics
    ///
    /// Outside a tulipa runtime (the writer is a task).
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, SqliteOptions::default()).await
    }

    /// [`open`](SqliteStore::open) with other settings.
    ///
    /// # Errors
    ///
    /// As [`open`](SqliteStore::open).
    ///
    /// # Panics
    ///
    /// As [`open`](SqliteStore::open).
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = {
            let path = path.clone();
            let busy = options.busy_timeout;
            tulipa::unblock(move || open_writer(&path, busy)).await?
        };
        let (writes, queue) = channel::bounded(4 * MAX_BATCH);
        let writer = tulipa::spawn(write_loop(
            path.clone(),
            options.busy_timeout,
            Some(conn),
            queue,
        ));
        Ok(SqliteStore {
            readers: Pool::new(options.readers, Vec::new()),
            path,
            options,
            writes,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops taking writes, lets the writer commit what is queued, and
    /// waits for it to close its connection. Puts after this fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.writes.close();
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
    }
}

impl Store for SqliteStore {
    async fn get(&self, id: i64) -> Result<Option<Value>, StoreError> {
        let mut lease = self
            .readers
            .acquire(self.options.wait)
            .await
            .ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "all {} read connections stayed busy for {:?}; try again",
                    self.readers.size(),
                    self.options.wait
                ))
            })?;
        let conn = lease.take();
        let path = self.path.clone();
        let busy = self.options.busy_timeout;
        let job = tulipa::spawn_blocking(move || {
            let conn = match conn {
                Some(conn) => conn,
                None => match open_reader(&path, busy) {
                    Ok(conn) => conn,
                    Err(e) => return (None, Err(e)),
                },
            };
            let doc = read(&conn, id);
            (Some(conn), doc)
        });
        match job.await {
            Ok((conn, doc)) => {
                if let Some(conn) = conn {
                    lease.put(conn);
                }
                doc
            }
            Err(e) => Err(StoreError::Failed(format!("a read of {id} failed: {e}"))),
        }
    }

    async fn put(&self, id: i64, doc: Value) -> Result<Put, StoreError> {
        let doc = doc.to_string();
        let (reply, answer) = oneshot::channel();
        let wait = self.options.wait;
        let stopped = || StoreError::Unavailable("the server is shutting down".to_owned());
        let late = || {
            StoreError::Unavailable(format!(
                "the write was not committed within {wait:?}; it may still be"
            ))
        };
        tulipa::time::timeout(wait, self.writes.send(Write { id, doc, reply }))
            .await
            .map_err(|_| late())?
            .map_err(|_| stopped())?;
        tulipa::time::timeout(wait, answer)
            .await
            .map_err(|_| late())?
            .map_err(|_| StoreError::Failed("the writer stopped".to_owned()))?
    }

    fn describe(&self) -> String {
        format!("SQLite file {}", self.path.display())
    }
}

/// The writer task: batches queued writes into transactions until the
/// channel is closed and empty.
async fn write_loop(
    path: PathBuf,
    busy: Duration,
    mut conn: Option<Connection>,
    queue: Receiver<Write>,
) {
    while let Ok(first) = queue.recv().await {
        let mut rows = vec![(first.id, first.doc)];
        let mut replies = vec![first.reply];
        while rows.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(write) => {
                    rows.push((write.id, write.doc));
                    replies.push(write.reply);
                }
                Err(_) => break,
            }
        }
        let taken = conn.take();
        let path = path.clone();
        let job = tulipa::spawn_blocking(move || {
            let mut conn = match taken {
                Some(conn) => conn,
                None => match open_writer(&path, busy) {
                    Ok(conn) => conn,
                    Err(e) => return (None, Err(e)),
                },
            };
            let done = commit(&mut conn, &rows);
            (Some(conn), done)
        });
        let done = match job.await {
            Ok((back, done)) => {
                conn = back;
                done
            }
            Err(e) => Err(StoreError::Failed(format!("the write job failed: {e}"))),
        };
        match done {
            Ok(puts) => {
                for (reply, put) in replies.into_iter().zip(puts) {
                    // A requester that went away no longer needs the
                    // answer; its write is committed all the same.
                    let _ = reply.send(Ok(put));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
    // Closed: the connection closes (and checkpoints) on the pool.
    if let Some(conn) = conn {
        let _ = tulipa::unblock(move || drop(conn)).await;
    }
}

/// Applies `rows` in one transaction; what each did, in order.
fn commit(conn: &mut Connection, rows: &[(i64, String)]) -> Result<Vec<Put>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| classify(&e, "begin a write"))?;
    let mut puts = Vec::with_capacity(rows.len());
    {
        let mut upsert = tx
            .prepare_cached(UPSERT)
            .map_err(|e| classify(&e, "prepare the upsert"))?;
        for (id, doc) in rows {
            let revision: i64 = upsert
                .query_row((id, doc), |row| row.get(0))
                .map_err(|e| classify(&e, &format!("write {id}")))?;
            puts.push(if revision == 1 {
                Put::Created
            } else {
                Put::Replaced
            });
        }
    }
    tx.commit().map_err(|e| classify(&e, "commit"))?;
    Ok(puts)
}

fn read(conn: &Connection, id: i64) -> Result<Option<Value>, StoreError> {
    let text: Option<String> = conn
        .prepare_cached(SELECT)
        .and_then(|mut select| select.query_row([id], |row| row.get(0)).optional())
        .map_err(|e| classify(&e, &format!("read {id}")))?;
    text.map(|text| {
        serde_json::from_str(&text).map_err(|e| {
            StoreError::Failed(format!(
                "the document stored under {id} is not JSON ({e}); was the file edited by hand?"
            ))
        })
    })
    .transpose()
}

/// The write connection: WAL, `synchronous = FULL`, the table.
fn open_writer(path: &Path, busy: Duration) -> Result<Connection, StoreError> {
    let conn = open(path, busy)?;
    let setup = |conn: &Connection| -> rusqlite::Result<()> {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            eprintln!(
                "warning: SQLite kept journal_mode={mode} for {} (WAL unsupported here?); \
                 readers will wait for writers",
                path.display()
            );
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)
    };
    setup(&conn).map_err(|e| {
        StoreError::Failed(format!(
            "cannot set up the SQLite database {}: {e}",
            path.display()
        ))
    })?;
    Ok(conn)
}

/// A read-only connection.
fn open_reader(path: &Path, busy: Duration) -> Result<Connection, StoreError> {
    let conn = open(path, busy)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(|e| classify(&e, "set up a read connection"))?;
    Ok(conn)
}

fn open(path: &Path, busy: Duration) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| {
        StoreError::Failed(format!(
            "cannot open the SQLite database {}: {e} (does its directory exist, and may this \
             user write there?)",
            path.display()
        ))
    })?;
    conn.busy_timeout(busy)
        .map_err(|e| classify(&e, "set the busy timeout"))?;
    Ok(conn)
}

/// A rusqlite error as a [`StoreError`]: a lock held past the busy timeout
/// is a passing condition (`503`), anything else a failure (`500`).
fn classify(e: &rusqlite::Error, doing: &str) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Unavailable(
            format!("could not {doing}: another process holds the SQLite database locked ({e})"),
        ),
        _ => StoreError::Failed(format!("could not {doing}: {e}")),
    }
}
