//! The embedded default: SQLite, through `rusqlite` (bundled, so nothing
//! needs installing), on tulipa's blocking pool.
//!
//! # Design
//!
//! SQLite calls block, so every one runs in a job on tulipa's blocking
//! pool ([`tulipa::spawn_blocking`]); the runtime's workers never wait on
//! the disk. A hop to the pool costs tens of microseconds, more than a
//! lookup in SQLite's page cache, so requests do not hop one by one: each
//! connection belongs to a task that takes every request queued for it (up
//! to [`MAX_BATCH`]), runs them all in one blocking job, and answers each
//! through its one-shot channel. The connection moves into the job and
//! back.
//!
//! - **Writes** queue for the one writer task, which owns the only write
//!   connection and applies a batch in one `BEGIN IMMEDIATE` transaction,
//!   in arrival order, then commits, and only then answers: a group
//!   commit. With `synchronous = FULL` a commit is on disk before any
//!   `201`/`200` goes out, yet one `fsync` covers every write that queued
//!   while the previous batch was committing, so throughput grows with
//!   concurrency instead of being one `fsync` per request.
//! - **Reads** queue for [`SqliteOptions::readers`] reader tasks, each
//!   with a read-only connection, all taking from one queue. The database
//!   is in WAL mode, so readers never wait for the writer, and a read
//!   queued after a write was answered sees it.
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
//! next job opens a fresh connection. Queues are bounded; a request waits
//! at most [`SqliteOptions::wait`] to be queued and answered, then gets
//! `503`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior};
use serde_json::Value;
use tulipa::channel::{self, oneshot, Receiver, Sender};

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
    /// Reader tasks, each with a read-only connection (default 2).
    pub readers: usize,
    /// How long SQLite waits for a lock another process holds before
    /// giving up with "busy" (default 5 s).
    pub busy_timeout: Duration,
    /// How long a request waits to be queued, and then for its answer (a
    /// write: its commit), before it is answered `503` (default 10 s).
    pub wait: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 2,
            busy_timeout: Duration::from_secs(5),
            wait: Duration::from_secs(10),
        }
    }
}

/// A request on its way to a connection's task, with the way back.
struct Job<Q, A> {
    query: Q,
    reply: oneshot::Sender<Result<A, StoreError>>,
}

/// What a batch returns: each request's answer, or one error for all.
type BatchResult<A> = Result<Vec<Result<A, StoreError>>, StoreError>;

/// How a connection's task opens its connection and runs a batch.
struct Worker<Q, A> {
    path: PathBuf,
    busy: Duration,
    open: fn(&Path, Duration) -> Result<Connection, StoreError>,
    run: fn(&mut Connection, Vec<Q>) -> BatchResult<A>,
}

/// A queue to connection tasks, and the tasks.
struct Queue<Q, A> {
    sender: Sender<Job<Q, A>>,
    tasks: Mutex<Vec<tulipa::JoinHandle<()>>>,
}

impl<Q: Send + 'static, A: Send + 'static> Queue<Q, A> {
    /// Starts `tasks` tasks of `worker` on one queue; the first gets
    /// `conn`, the others open theirs when their first batch comes.
    fn start(worker: Worker<Q, A>, tasks: usize, mut conn: Option<Connection>) -> Queue<Q, A> {
        let (sender, receiver) = channel::bounded(4 * MAX_BATCH);
        let worker = Arc::new(worker);
        let tasks = (0..tasks.max(1))
            .map(|_| tulipa::spawn(work(worker.clone(), conn.take(), receiver.clone())))
            .collect();
        Queue {
            sender,
            tasks: Mutex::new(tasks),
        }
    }

    /// Queues `query` and waits for its answer, each for at most `wait`.
    async fn ask(&self, query: Q, wait: Duration) -> Result<A, StoreError> {
        let (reply, answer) = oneshot::channel();
        let late = || {
            StoreError::Unavailable(format!(
                "SQLite did not answer within {wait:?} (a write may still be committed)"
            ))
        };
        tulipa::time::timeout(wait, self.sender.send(Job { query, reply }))
            .await
            .map_err(|_| late())?
            .map_err(|_| StoreError::Unavailable("the server is shutting down".to_owned()))?;
        tulipa::time::timeout(wait, answer)
            .await
            .map_err(|_| late())?
            .map_err(|_| StoreError::Failed("the SQLite task stopped".to_owned()))?
    }

    /// Closes the queue; the tasks finish what is queued, close their
    /// connections and end.
    async fn close(&self) {
        self.sender.close();
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// A connection's task: runs the queued requests in batches until the
/// queue is closed and empty.
async fn work<Q: Send + 'static, A: Send + 'static>(
    worker: Arc<Worker<Q, A>>,
    mut conn: Option<Connection>,
    queue: Receiver<Job<Q, A>>,
) {
    while let Ok(first) = queue.recv().await {
        let mut queries = vec![first.query];
        let mut replies = vec![first.reply];
        while queries.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => {
                    queries.push(job.query);
                    replies.push(job.reply);
                }
                Err(_) => break,
            }
        }
        let taken = conn.take();
        let job_worker = worker.clone();
        let job = tulipa::spawn_blocking(move || {
            let mut conn = match taken {
                Some(conn) => conn,
                None => match (job_worker.open)(&job_worker.path, job_worker.busy) {
                    Ok(conn) => conn,
                    Err(e) => return (None, Err(e)),
                },
            };
            let answers = (job_worker.run)(&mut conn, queries);
            (Some(conn), answers)
        });
        let answers = match job.await {
            Ok((back, answers)) => {
                conn = back;
                answers
            }
            Err(e) => Err(StoreError::Failed(format!("a SQLite job failed: {e}"))),
        };
        // A requester that went away no longer needs its answer (its
        // write is committed all the same).
        match answers {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
    // Closed: the connection closes (the last one checkpoints) on the pool.
    if let Some(conn) = conn {
        let _ = tulipa::unblock(move || drop(conn)).await;
    }
}

/// JSON documents in a SQLite file: see the [module docs](self).
pub struct SqliteStore {
    path: PathBuf,
    wait: Duration,
    reads: Queue<i64, Option<Value>>,
    writes: Queue<(i64, String), Put>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with the default
    /// [`SqliteOptions`], and starts its connection tasks.
    ///
    /// # Errors
    ///
    /// [`StoreError::Failed`] when the file cannot be opened or set up,
    /// with SQLite's reason and the path.
    ///
    /// # Panics
    ///
    /// Outside a tulipa runtime (the connections belong to tasks).
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
        let busy = options.busy_timeout;
        // The writer's connection first: it makes the file, WAL mode and
        // the table, which the readers need.
        let conn = {
            let path = path.clone();
            tulipa::unblock(move || open_writer(&path, busy)).await?
        };
        let writer = Worker {
            path: path.clone(),
            busy,
            open: open_writer,
            run: commit,
        };
        let reader = Worker {
            path: path.clone(),
            busy,
            open: open_reader,
            run: read,
        };
        let writes = Queue::start(writer, 1, Some(conn));
        let reads = Queue::start(reader, options.readers, None);
        Ok(SqliteStore {
            path,
            wait: options.wait,
            reads,
            writes,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops taking requests, lets the tasks finish what is queued
    /// (committing the writes), and waits for them to close their
    /// connections. Requests after this fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.writes.close().await;
        self.reads.close().await;
    }
}

impl Store for SqliteStore {
    async fn get(&self, id: i64) -> Result<Option<Value>, StoreError> {
        self.reads.ask(id, self.wait).await
    }

    async fn put(&self, id: i64, doc: Value) -> Result<Put, StoreError> {
        self.writes.ask((id, doc.to_string()), self.wait).await
    }

    fn describe(&self) -> String {
        format!("SQLite file {}", self.path.display())
    }
}

/// Applies `rows` in one transaction; what each did, in order.
fn commit(conn: &mut Connection, rows: Vec<(i64, String)>) -> BatchResult<Put> {
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
            puts.push(Ok(if revision == 1 {
                Put::Created
            } else {
                Put::Replaced
            }));
        }
    }
    tx.commit().map_err(|e| classify(&e, "commit"))?;
    Ok(puts)
}

/// Reads `ids`, each on its own: one document stored wrong fails only
/// its own request.
fn read(conn: &mut Connection, ids: Vec<i64>) -> BatchResult<Option<Value>> {
    let mut select = conn
        .prepare_cached(SELECT)
        .map_err(|e| classify(&e, "prepare the read"))?;
    Ok(ids
        .into_iter()
        .map(|id| {
            let text: Option<String> = select
                .query_row([id], |row| row.get(0))
                .optional()
                .map_err(|e| classify(&e, &format!("read {id}")))?;
            text.map(|text| {
                serde_json::from_str(&text).map_err(|e| {
                    StoreError::Failed(format!(
                        "the document stored under {id} is not JSON ({e}); was the file \
                         edited by hand?"
                    ))
                })
            })
            .transpose()
        })
        .collect())
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
