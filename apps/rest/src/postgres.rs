//! The real server: PostgreSQL, through `tokio-postgres` with its default
//! features off, so no tokio runtime runs.
//!
//! # Design
//!
//! tokio-postgres is sans-runtime at heart: [`Config::connect_raw`] speaks
//! the protocol over any stream with tokio's I/O traits and returns a
//! `Client` and a `Connection` future that does the socket work. So a
//! connection here is a [`tulipa::net::TcpStream`] (or
//! [`tulipa::net::UnixStream`] for a `host=/socket/dir`), adapted from
//! futures-io to tokio-io with [`tulipa::compat`]'s `.compat()`, and its
//! `Connection` future is a tulipa task. When the server goes away the
//! task ends and the `Client` reports itself closed.
//!
//! Connections sit in a pool of [`PgOptions::pool_size`]
//! (a semaphore in front of the idle ones). Each keeps its two prepared
//! statements. A request:
//!
//! 1. waits up to [`PgOptions::wait`] for a permit, else `503`;
//! 2. takes an idle connection, drops it if it is closed, and opens a new
//!    one when there is none (bounded by [`PgOptions::connect_timeout`]);
//!    a refused or failed connect is `503`;
//! 3. runs its statement, bounded by [`PgOptions::query_timeout`];
//! 4. gives the connection back, unless the statement failed in a way that
//!    says the connection is gone (closed, an I/O error, PostgreSQL
//!    shutting down, or the timeout), in which case it is dropped and
//!    a later request opens a fresh one.
//!
//! So while PostgreSQL is down every request fails fast with `503`, and
//! once it is back the next requests reconnect: the service recovers by
//! itself. A statement is never retried: a write whose answer was lost may
//! have been committed, and only PostgreSQL's answer is an
//! acknowledgement.
//!
//! Documents are `jsonb`; the upsert reports whether it inserted through
//! the system column `xmax`, which is `0` on a freshly inserted row
//! version and the locking transaction's id on an updated one:
//!
//! ```sql
//! INSERT INTO stuff (id, doc) VALUES ($1, $2)
//! ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc
//! RETURNING (xmax = 0) AS inserted
//! ```
//!
//! Concurrent upserts of one id are serialised by the row lock, so exactly
//! one reports the insert. A commit is durable when PostgreSQL answers it
//! (`synchronous_commit` on, its default), and only then is the request
//! answered.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls, Statement};
use tulipa::compat::CompatExt;

use crate::pool::Pool;
use crate::store::{Put, Store, StoreError};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS stuff (id BIGINT PRIMARY KEY, doc JSONB NOT NULL)";
const SELECT: &str = "SELECT doc FROM stuff WHERE id = $1";
const UPSERT: &str = "INSERT INTO stuff (id, doc) VALUES ($1, $2) \
    ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc \
    RETURNING (xmax = 0) AS inserted";

/// Settings of a [`PgStore`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PgOptions {
    /// The most connections open at once (default 8).
    pub pool_size: usize,
    /// How long a request waits for a free connection before it is
    /// answered `503` (default 5 s).
    pub wait: Duration,
    /// How long opening a connection may take, TCP and startup together,
    /// unless the URL sets `connect_timeout` (default 3 s).
    pub connect_timeout: Duration,
    /// How long one statement may take before its connection is dropped
    /// and the request answered `503` (default 10 s).
    pub query_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            pool_size: 8,
            wait: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            query_timeout: Duration::from_secs(10),
        }
    }
}

/// One connection and its prepared statements.
struct PgConn {
    client: Client,
    select: Statement,
    upsert: Statement,
}

/// JSON documents in PostgreSQL: see the [module docs](self).
pub struct PgStore {
    config: Config,
    options: PgOptions,
    pool: Pool<PgConn>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`,
    /// or libpq's `host=... dbname=...`) with the default [`PgOptions`],
    /// and creates the table `stuff` if it is not there.
    ///
    /// # Errors
    ///
    /// [`StoreError::Failed`] when `url` does not parse, and the error of
    /// the first connection when PostgreSQL cannot be reached (the service
    /// does not start without its database; once started, it outlives the
    /// database's restarts).
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        PgStore::connect_with(url, PgOptions::default()).await
    }

    /// [`connect`](PgStore::connect) with other settings.
    ///
    /// # Errors
    ///
    /// As [`connect`](PgStore::connect).
    pub async fn connect_with(url: &str, options: PgOptions) -> Result<PgStore, StoreError> {
        let config: Config = url.parse().map_err(|e| {
            StoreError::Failed(format!(
                "DATABASE_URL is not a PostgreSQL connection string: {e} \
                 (expected postgres://USER@HOST:PORT/DBNAME)"
            ))
        })?;
        let first = open(&config, &options, true).await?;
        let pool = Pool::new(options.pool_size, vec![first]);
        Ok(PgStore {
            config,
            options,
            pool,
        })
    }

    /// A connection that was open when checked, with the permit to use it.
    async fn checkout(&self) -> Result<(crate::pool::Lease<'_, PgConn>, PgConn), StoreError> {
        let mut lease = self.pool.acquire(self.options.wait).await.ok_or_else(|| {
            StoreError::Unavailable(format!(
                "all {} PostgreSQL connections stayed busy for {:?}; try again",
                self.pool.size(),
                self.options.wait
            ))
        })?;
        let conn = match lease.take() {
            Some(conn) if !conn.client.is_closed() => conn,
            // None idle, or the server closed it (a restart): a new one.
            _ => open(&self.config, &self.options, false).await?,
        };
        Ok((lease, conn))
    }

    /// Runs a statement's future with the query timeout; `Ok` gives `conn`
    /// back to `lease`, a failure that leaves the connection unusable
    /// drops it.
    fn finish<T>(
        &self,
        lease: &mut crate::pool::Lease<'_, PgConn>,
        conn: PgConn,
        result: Result<Result<T, tokio_postgres::Error>, tulipa::time::Elapsed>,
        doing: &str,
    ) -> Result<T, StoreError> {
        match result {
            Ok(Ok(value)) => {
                lease.put(conn);
                Ok(value)
            }
            Ok(Err(e)) => {
                let (error, broken) = classify(&e, doing);
                if !broken {
                    lease.put(conn);
                }
                Err(error)
            }
            Err(_) => Err(StoreError::Unavailable(format!(
                "PostgreSQL did not {doing} within {:?}",
                self.options.query_timeout
            ))),
        }
    }
}

impl Store for PgStore {
    async fn get(&self, id: i64) -> Result<Option<Value>, StoreError> {
        let (mut lease, conn) = self.checkout().await?;
        let result = tulipa::time::timeout(
            self.options.query_timeout,
            conn.client.query_opt(&conn.select, &[&id]),
        )
        .await;
        let row = self.finish(&mut lease, conn, result, &format!("read {id}"))?;
        row.map(|row| row.try_get::<_, Value>(0))
            .transpose()
            .map_err(|e| StoreError::Failed(format!("the document stored under {id}: {e}")))
    }

    async fn put(&self, id: i64, doc: Value) -> Result<Put, StoreError> {
        let (mut lease, conn) = self.checkout().await?;
        let result = tulipa::time::timeout(
            self.options.query_timeout,
            conn.client.query_one(&conn.upsert, &[&id, &doc]),
        )
        .await;
        let row = self.finish(&mut lease, conn, result, &format!("write {id}"))?;
        let inserted: bool = row
            .try_get(0)
            .map_err(|e| StoreError::Failed(format!("the answer to write {id}: {e}")))?;
        Ok(if inserted {
            Put::Created
        } else {
            Put::Replaced
        })
    }

    fn describe(&self) -> String {
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|host| match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(dir) => dir.display().to_string(),
            })
            .collect();
        format!(
            "PostgreSQL database {} on {} (port {}) as {}",
            self.config.get_dbname().unwrap_or("(default)"),
            hosts.join(","),
            self.config
                .get_ports()
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(","),
            self.config.get_user().unwrap_or("(default)")
        )
    }
}

/// Opens a connection, spawns its I/O task and prepares the statements;
/// with `schema`, creates the table first.
async fn open(config: &Config, options: &PgOptions, schema: bool) -> Result<PgConn, StoreError> {
    let limit = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(options.connect_timeout);
    let conn = tulipa::time::timeout(limit, async {
        let client = connect(config).await?;
        let setup = async {
            if schema {
                client.batch_execute(SCHEMA).await?;
            }
            let select = client.prepare(SELECT).await?;
            let upsert = client.prepare(UPSERT).await?;
            Ok::<_, tokio_postgres::Error>((select, upsert))
        };
        let (select, upsert) = setup
            .await
            .map_err(|e| classify(&e, "set up a connection").0)?;
        Ok(PgConn {
            client,
            select,
            upsert,
        })
    })
    .await;
    conn.unwrap_or_else(|_| {
        Err(StoreError::Unavailable(format!(
            "could not connect to PostgreSQL within {limit:?}"
        )))
    })
}

/// Tries each host of `config` in turn; the client of the first that
/// answers, its connection future spawned as a task.
async fn connect(config: &Config) -> Result<Client, StoreError> {
    let ports = config.get_ports();
    let port_of = |i: usize| match ports {
        [] => 5432,
        [only] => *only,
        many => many.get(i).copied().unwrap_or(5432),
    };
    let mut last = None;
    for (i, host) in config.get_hosts().iter().enumerate() {
        let port = port_of(i);
        let attempt = match host {
            Host::Tcp(name) => {
                let target = match config.get_hostaddrs().get(i) {
                    Some(ip) => Target::Addr(SocketAddr::new(*ip, port)),
                    None => Target::Name(name.clone(), port),
                };
                let stream = match target {
                    Target::Addr(addr) => tulipa::net::TcpStream::connect(addr).await,
                    Target::Name(name, port) => {
                        tulipa::net::TcpStream::connect((name.as_str(), port)).await
                    }
                };
                match stream {
                    Ok(stream) => {
                        let _ = stream.set_nodelay(true);
                        handshake(config, stream).await
                    }
                    Err(e) => Err(refused(&format!("{name}:{port}"), &e)),
                }
            }
            Host::Unix(dir) => {
                let path: PathBuf = dir.join(format!(".s.PGSQL.{port}"));
                match tulipa::net::UnixStream::connect(&path).await {
                    Ok(stream) => handshake(config, stream).await,
                    Err(e) => Err(refused(&path.display().to_string(), &e)),
                }
            }
        };
        match attempt {
            Ok(client) => return Ok(client),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        StoreError::Failed("DATABASE_URL names no host to connect to".to_owned())
    }))
}

enum Target {
    Addr(SocketAddr),
    Name(String, u16),
}

/// The startup handshake over `stream`, then the connection's I/O as a
/// task of its own.
async fn handshake<S>(config: &Config, stream: S) -> Result<Client, StoreError>
where
    S: tulipa::io::AsyncRead + tulipa::io::AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = config
        .connect_raw(stream.compat(), NoTls)
        .await
        .map_err(|e| classify(&e, "connect").0)?;
    // Ends when the server closes the connection or the client is dropped;
    // either way the client sees it closed.
    tulipa::spawn(async move {
        let _ = connection.await;
    })
    .detach();
    Ok(client)
}

fn refused(target: &str, e: &io::Error) -> StoreError {
    // tulipa's connect errors already name the address; a Unix socket's
    // do not.
    let message = e.to_string();
    if message.contains(target) {
        StoreError::Unavailable(format!(
            "cannot reach PostgreSQL: {message} (is it running?)"
        ))
    } else {
        StoreError::Unavailable(format!(
            "cannot reach PostgreSQL at {target}: {message} (is it running?)"
        ))
    }
}

/// A tokio-postgres error as a [`StoreError`], and whether the connection
/// it happened on is unusable.
fn classify(e: &tokio_postgres::Error, doing: &str) -> (StoreError, bool) {
    if e.is_closed() {
        return (
            StoreError::Unavailable(format!(
                "could not {doing}: the connection to PostgreSQL closed"
            )),
            true,
        );
    }
    let Some(db) = e.as_db_error() else {
        // I/O or protocol trouble: the connection cannot be trusted.
        return (
            StoreError::Unavailable(format!("could not {doing}: {e}")),
            true,
        );
    };
    let code = db.code();
    let class = &code.code()[..2];
    let message = format!("could not {doing}: {} ({})", db.message(), code.code());
    match class {
        // Connection exception; operator intervention (shutdown, startup).
        "08" | "57" => (StoreError::Unavailable(message), true),
        // Too many connections; a serialization failure or deadlock.
        "53" | "40" => (StoreError::Unavailable(message), false),
        // Data exception: this document cannot be stored here.
        "22" => (StoreError::Rejected(message), false),
        _ => (StoreError::Failed(message), false),
    }
}
