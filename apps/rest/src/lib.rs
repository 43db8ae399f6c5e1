//! The asyncio tutorial's REST service, on tulipa: JSON documents stored
//! by id, served over HTTP.
//!
//! ```text
//! $ cargo run -p rest -- --port 8080
//! rest: documents in SQLite file rest.db
//! ======== Running on http://127.0.0.1:8080 ========
//! $ curl -X PUT -d '{"name": "tulipa"}' localhost:8080/stuff/7     # 201
//! $ curl localhost:8080/stuff/7                                      # 200 {"name":"tulipa"}
//! ```
//!
//! `GET /stuff/{id}` returns the document or `404`; `PUT /stuff/{id}`
//! stores its JSON body, `201` when it created the document and `200` when
//! it replaced one. [`api`] lists every answer, errors included.
//!
//! # Design
//!
//! Three layers, each knowing only the one below:
//!
//! - [`api`]: an axum `Router` (axum without its tokio runtime), served by
//!   `tulipa::http::web::run_app`, which prints the address, and on Ctrl-C
//!   or SIGTERM stops accepting and lets the requests in flight finish.
//! - [`store`]: one small async trait, [`Store`]: `get(id)`,
//!   and `put(id, doc)` answering [`Put::Created`](store::Put::Created) or
//!   [`Put::Replaced`](store::Put::Replaced), with errors that map to
//!   `503` (database unreachable), `400` (document refused) or `500`.
//! - two stores:
//!   - [`sqlite`], the default: a SQLite file (`--db`, default `rest.db`;
//!     rusqlite's bundled SQLite, so nothing needs installing), in WAL
//!     mode, on tulipa's blocking pool; requests queue for the tasks that
//!     own the connections, which run each queue's requests in one
//!     blocking job: one writer, committing queued writes together (a
//!     group commit), and two readers;
//!   - [`postgres`], when `DATABASE_URL=postgres://...` is set:
//!     tokio-postgres without tokio, over tulipa's sockets, with a pool of
//!     eight connections (a semaphore and a list) that replaces broken
//!     ones, so the service rides out a database restart.
//!
//! What the service promises, and its tests check on both stores:
//!
//! - **an answered write is durable**: a `PUT` is answered `2xx` only
//!   after its commit (SQLite `synchronous = FULL`; PostgreSQL's commit),
//!   and a graceful shutdown finishes every request it accepted, so no
//!   acknowledged write is lost to SIGTERM;
//! - **no write is lost to concurrency**: each write is one atomic upsert,
//!   so of concurrent `PUT`s of a new id exactly one gets `201`, and the
//!   document left is the last one committed;
//! - **a database outage is an answer, not a hang**: waiting for a
//!   connection, connecting and each statement are bounded, past which the
//!   answer is `503`; when the database is back, new connections replace
//!   the dead ones without a restart.
//!
//! [`run`] puts it together; the `rest` binary parses [`config`] and calls
//! it.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
mod pool;
pub mod postgres;
pub mod sqlite;
pub mod store;

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;

use tulipa::http::ShutdownReport;

use crate::config::{Backend, Config};
use crate::store::Store;

/// Opens the store `config` names, serves the API on its address until
/// Ctrl-C or SIGTERM, shuts down gracefully, and returns what the shutdown
/// did.
///
/// It prints where the documents are, then run_app's
/// `======== Running on http://ADDR ========` (the real port when `--port
/// 0`).
///
/// # Errors
///
/// The store cannot be opened (a SQLite file in a missing directory,
/// PostgreSQL unreachable), the address cannot be bound, or the listener
/// fails.
pub async fn run(config: Config) -> Result<ShutdownReport, Box<dyn Error + Send + Sync>> {
    let addr = SocketAddr::new(config.host, config.port);
    match config.backend {
        Backend::Sqlite(path) => {
            let store = Arc::new(sqlite::SqliteStore::open(&path).await?);
            let served = serve(store.clone(), addr).await;
            // Every request has finished; commit what is queued (nothing,
            // after a clean drain) and close the file.
            store.close().await;
            served
        }
        Backend::Postgres(url) => {
            let store = Arc::new(postgres::PgStore::connect(&url).await?);
            serve(store, addr).await
        }
    }
}

async fn serve<S: Store>(
    store: Arc<S>,
    addr: SocketAddr,
) -> Result<ShutdownReport, Box<dyn Error + Send + Sync>> {
    println!("rest: documents in {}", store.describe());
    let report = tulipa::http::web::run_app(api::router(store), addr).await?;
    Ok(report)
}
