//! Shared helpers of the REST tests: temporary directories, the service
//! on a runtime of its own over either store, an HTTP client with bounded
//! requests, and readers that look at the database directly (SQL, not the
//! service's code) to check what was stored.
#![allow(dead_code, unreachable_pub)]

pub mod peers;
pub mod pg;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rest::postgres::{PgOptions, PgStore};
use rest::sqlite::SqliteStore;
use rest::store::Store;
use serde_json::Value;
use tulipa::http::{Client, ServerHandle};

/// The limit on every request a test sends: a hang fails the test instead
/// of stalling it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A directory under the system's temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("rest-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The service on a 2-worker runtime of its own, on 127.0.0.1, port
/// chosen by the OS.
pub struct Service {
    pub rt: tulipa::Runtime,
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    pub client: Client,
}

impl Service {
    /// Serves documents kept in the SQLite file `path`.
    pub fn sqlite(path: &Path) -> Service {
        let path = path.to_path_buf();
        Service::start(async move { SqliteStore::open(&path).await.expect("open SQLite") })
    }

    /// Serves documents kept in PostgreSQL at `url`.
    pub fn postgres(url: &str, options: PgOptions) -> Service {
        let url = url.to_owned();
        Service::start(async move {
            PgStore::connect_with(&url, options)
                .await
                .expect("connect to PostgreSQL")
        })
    }

    fn start<S: Store>(store: impl std::future::Future<Output = S>) -> Service {
        let rt = tulipa::Runtime::builder()
            .worker_threads(2)
            .build()
            .expect("runtime");
        let (addr, handle) = rt.block_on(async move {
            let store = Arc::new(store.await);
            let listener = tulipa::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let server = tulipa::http::serve(listener, rest::api::router(store));
            let handle = server.handle();
            tulipa::spawn(server).detach();
            (addr, handle)
        });
        Service {
            rt,
            addr,
            handle,
            client: client(),
        }
    }

    /// `http://ADDR/stuff/{id}`.
    pub fn url(&self, id: impl std::fmt::Display) -> String {
        format!("http://{}/stuff/{id}", self.addr)
    }

    /// `http://ADDR` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        self.rt
            .block_on(async move { handle.shutdown(Duration::from_secs(5)).await });
    }
}

/// A client whose every request is bounded by [`REQUEST_TIMEOUT`].
pub fn client() -> Client {
    Client::builder()
        .timeout(Some(REQUEST_TIMEOUT))
        .build()
        .expect("client")
}

/// A response's status and its body as JSON (`Value::Null` when empty or
/// not JSON).
pub async fn status_json(response: tulipa::http::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("read the body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `PUT url` with `doc`; the status and the JSON answer.
pub async fn put(client: &Client, url: &str, doc: &Value) -> Result<(u16, Value), String> {
    match client.put(url).json(doc).send().await {
        Ok(response) => Ok(status_json(response).await),
        Err(e) => Err(e.to_string()),
    }
}

/// `GET url`; the status and the JSON answer.
pub async fn get(client: &Client, url: &str) -> Result<(u16, Value), String> {
    match client.get(url).send().await {
        Ok(response) => Ok(status_json(response).await),
        Err(e) => Err(e.to_string()),
    }
}

/// Every document in the SQLite file, read with plain SQL.
pub fn sqlite_docs(path: &Path) -> HashMap<i64, Value> {
    let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
    let mut select = conn.prepare("SELECT id, doc FROM stuff").expect("prepare");
    let rows = select
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })
        .expect("query");
    rows.map(|row| {
        let (id, text) = row.expect("a row");
        (id, serde_json::from_str(&text).expect("stored JSON"))
    })
    .collect()
}

/// Every document in PostgreSQL at 127.0.0.1:`port` (database `postgres`,
/// user `rest`), read with plain SQL over a connection of its own. Run it
/// inside a tulipa runtime.
pub async fn pg_docs(port: u16) -> HashMap<i64, Value> {
    use tulipa::compat::CompatExt;

    let stream = tulipa::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to PostgreSQL");
    let mut config = tokio_postgres::Config::new();
    config.user("rest").dbname("postgres");
    let (client, connection) = config
        .connect_raw(stream.compat(), tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL handshake");
    tulipa::spawn(connection).detach();
    client
        .query("SELECT id, doc FROM stuff", &[])
        .await
        .expect("query")
        .into_iter()
        .map(|row| (row.get::<_, i64>(0), row.get::<_, Value>(1)))
        .collect()
}
