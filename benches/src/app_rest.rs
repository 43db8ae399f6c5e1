//! `rest_get_put`: the REST service (apps/rest) on tulipa against the
//! same service on tokio, both loaded by wrk with apps/rest/wrk's scripts.
//!
//! Each run makes a fresh SQLite file in the temp directory holding
//! documents 1..=10,000 (written directly with rusqlite before the server
//! starts, so every GET finds its id), starts the service on the runtime
//! under test, checks `GET /stuff/1` answers `200`, then runs
//! `wrk -t1 -c64 -dNs -s apps/rest/wrk/put.lua` and then the same with
//! `get.lua` from a plain thread. Figures: wall time per request (wrk's
//! duration / requests, the inverse of requests/s) for PUT and for GET.
//! wrk's socket errors and non-2xx responses become a warning.
//!
//! - tulipa: `rest::sqlite::SqliteStore::open` and `rest::api::router`,
//!   served by `tulipa::http::server::Builder::new()` as `run_app` serves
//!   it (its default settings): the app's group commit, one writer and
//!   two reader tasks batching onto tulipa's blocking pool.
//! - tokio: the same routes and answers with axum on tokio (`axum::serve`,
//!   `TCP_NODELAY`) and rusqlite, one `tokio::task::spawn_blocking` per
//!   request: PUTs share one write connection behind a mutex (WAL,
//!   `synchronous = FULL`, one commit per PUT), GETs use a read connection
//!   per blocking thread.
//! - smol: n/a (the service has no smol port). PostgreSQL: not run here
//!   (SQLite only).

use std::any::TypeId;
use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::benches::{Sample, Size};
use crate::rt::{Rt, Tokio, Tulipa};

/// Connections wrk keeps open.
const WRK_CONNS: usize = 64;
/// Documents in the database before a run (the ids the scripts use).
const DOCS: i64 = 10_000;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS stuff (
    id INTEGER PRIMARY KEY,
    doc TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1
)";
const SELECT: &str = "SELECT doc FROM stuff WHERE id = ?1";
const UPSERT: &str = "INSERT INTO stuff (id, doc) VALUES (?1, ?2) \
    ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, revision = revision + 1 \
    RETURNING revision";

fn wrk_secs(size: Size) -> u64 {
    if size.quick {
        1
    } else {
        3
    }
}

/// One line for the report.
pub(crate) fn describe(size: Size) -> String {
    format!(
        "rest_get_put: the REST service with SQLite (a fresh temp file holding ids 1..=10,000), \
         loaded by `wrk -t1 -c{WRK_CONNS} -d{}s` with apps/rest/wrk/put.lua, then get.lua; \
         wall time per request (1 / req/s) for each; tulipa: apps/rest (rest::api::router on \
         SqliteStore, group commit, served with tulipa's server defaults as run_app); tokio: \
         axum::serve + rusqlite, one spawn_blocking per request, one commit per PUT; smol: n/a; \
         PostgreSQL backend skipped",
        wrk_secs(size)
    )
}

/// A fresh SQLite file holding documents 1..=DOCS, removed when dropped
/// (with its WAL files).
struct Db(PathBuf);

impl Db {
    fn new() -> Db {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "tulipa-bench-rest-{}-{}.db",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let db = Db(path);
        db.remove();
        let mut conn = rusqlite::Connection::open(&db.0).expect("open the bench database");
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .expect("WAL");
        assert!(mode.eq_ignore_ascii_case("wal"), "journal_mode {mode}");
        conn.execute_batch(SCHEMA).expect("schema");
        let tx = conn.transaction().expect("begin");
        {
            let mut insert = tx
                .prepare("INSERT INTO stuff (id, doc) VALUES (?1, ?2)")
                .expect("prepare");
            for id in 1..=DOCS {
                insert
                    .execute(rusqlite::params![
                        id,
                        format!(r#"{{"name":"doc {id}","tags":["seed"],"n":{id}}}"#)
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
        db
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Runs `rest_get_put` on `R`.
pub(crate) fn run<R: Rt>(_rt: R, size: Size) -> Pin<Box<dyn Future<Output = Sample> + Send>> {
    let secs = wrk_secs(size);
    let t = TypeId::of::<R>();
    if t == TypeId::of::<Tulipa>() {
        Box::pin(tulipa_rest(secs))
    } else if t == TypeId::of::<Tokio>() {
        Box::pin(tokio_rest(secs))
    } else {
        unreachable!("rest_get_put runs on tulipa and tokio only")
    }
}

async fn tulipa_rest(secs: u64) -> Sample {
    let db = Db::new();
    let store = Arc::new(
        rest::sqlite::SqliteStore::open(&db.0)
            .await
            .expect("open the SQLite store"),
    );
    let listener = tulipa::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let server =
        tulipa::http::server::Builder::new().serve(listener, rest::api::router(store.clone()));
    let handle = server.handle();
    tulipa::spawn(server).detach();
    let sample = load(addr, secs).await;
    handle.shutdown(Duration::from_secs(5)).await;
    store.close().await;
    drop(db);
    sample
}

/// The tokio service's state: the database file and its one write
/// connection.
struct TokioStore {
    path: PathBuf,
    writer: Mutex<rusqlite::Connection>,
}

thread_local! {
    /// A blocking thread's read connection, and the file it reads.
    static READER: RefCell<Option<(PathBuf, rusqlite::Connection)>> = const { RefCell::new(None) };
}

fn open_reader(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

fn read_doc(path: &Path, id: i64) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension as _;
    READER.with(|reader| {
        let mut reader = reader.borrow_mut();
        if reader.as_ref().is_none_or(|(p, _)| p != path) {
            *reader = Some((path.to_path_buf(), open_reader(path)?));
        }
        let (_, conn) = reader.as_ref().expect("just opened");
        let doc = conn
            .prepare_cached(SELECT)?
            .query_row([id], |row| row.get(0))
            .optional();
        doc
    })
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn parse_id(text: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("the id {text:?} is not a whole number: use one, as in /stuff/42"))
}

async fn tokio_get(State(store): State<Arc<TokioStore>>, UrlPath(id): UrlPath<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let read = tokio::task::spawn_blocking(move || read_doc(&store.path, id)).await;
    match read {
        Ok(Ok(Some(doc))) => match serde_json::from_str::<Value>(&doc) {
            Ok(doc) => Json(doc).into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        Ok(Ok(None)) => error(
            StatusCode::NOT_FOUND,
            format!("no document with id {id}; PUT one there first"),
        ),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn tokio_put(
    State(store): State<Arc<TokioStore>>,
    UrlPath(id): UrlPath<String>,
    body: axum::body::Bytes,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let doc: Value = match serde_json::from_slice(&body) {
        Ok(doc) => doc,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}; send a JSON document"),
            )
        }
    };
    let text = doc.to_string();
    let written = tokio::task::spawn_blocking(move || {
        let conn = store
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let revision = conn
            .prepare_cached(UPSERT)?
            .query_row(rusqlite::params![id, text], |row| row.get::<_, i64>(0));
        revision
    })
    .await;
    match written {
        Ok(Ok(1)) => {
            let location = HeaderValue::from_str(&format!("/stuff/{id}")).expect("location");
            (
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(json!({ "id": id, "created": true })),
            )
                .into_response()
        }
        Ok(Ok(_)) => Json(json!({ "id": id, "created": false })).into_response(),
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn tokio_rest(secs: u64) -> Sample {
    use axum::serve::{Listener as _, ListenerExt as _};

    let db = Db::new();
    let writer = rusqlite::Connection::open(&db.0).expect("open the write connection");
    writer.busy_timeout(Duration::from_secs(5)).expect("busy");
    writer
        .pragma_update(None, "synchronous", "FULL")
        .expect("synchronous");
    let store = Arc::new(TokioStore {
        path: db.0.clone(),
        writer: Mutex::new(writer),
    });
    let app = axum::Router::new()
        .route("/stuff/{id}", axum::routing::get(tokio_get).put(tokio_put))
        .with_state(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    let addr = listener.local_addr().expect("local_addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let sample = load(addr, secs).await;
    let _ = stop.send(());
    server.await.expect("server task").expect("serve");
    drop(db);
    sample
}

/// Checks the service answers, then runs wrk with put.lua and get.lua on
/// a plain thread.
async fn load(addr: SocketAddr, secs: u64) -> Sample {
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::spawn(move || {
        if let Err(e) = check(addr) {
            panic!("rest_get_put: the service at {addr} answers wrong: {e}");
        }
        let put = run_wrk(addr, secs, "put.lua");
        let get = run_wrk(addr, secs, "get.lua");
        let _ = tx.send((put, get));
    });
    let (put, get) = rx.await.expect("the wrk thread died");
    let mut warnings = Vec::new();
    for (name, run) in [("PUT", &put), ("GET", &get)] {
        if let Some(errors) = &run.socket_errors {
            warnings.push(format!("wrk {name}: socket errors: {errors}"));
        }
        if run.non_2xx > 0 {
            warnings.push(format!("wrk {name}: {} non-2xx responses", run.non_2xx));
        }
    }
    Sample {
        values: vec![get.per_request(), put.per_request()],
        warning: (!warnings.is_empty()).then(|| warnings.join("; ")),
    }
}

/// `GET /stuff/1` with `Connection: close`: must be `200` and JSON.
fn check(addr: SocketAddr) -> Result<(), String> {
    let answer = crate::http::get_close(addr, "/stuff/1")?;
    let head = answer.to_ascii_lowercase();
    if !head.starts_with("http/1.1 200 ") || !head.contains("application/json") {
        return Err(format!("not a 200 JSON answer: {answer:?}"));
    }
    if !answer.contains(r#""name":"doc 1""#) {
        return Err(format!("not document 1: {answer:?}"));
    }
    Ok(())
}

/// What one wrk run measured.
struct WrkRun {
    requests: u64,
    duration: Duration,
    socket_errors: Option<String>,
    non_2xx: u64,
}

impl WrkRun {
    fn per_request(&self) -> Duration {
        self.duration / u32::try_from(self.requests.max(1)).unwrap_or(u32::MAX)
    }
}

fn run_wrk(addr: SocketAddr, secs: u64, script: &str) -> WrkRun {
    let wrk = crate::http::wrk().unwrap_or_else(|e| panic!("{e}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("apps/rest/wrk")
        .join(script);
    let output = std::process::Command::new(&wrk)
        .arg("-t1")
        .arg(format!("-c{WRK_CONNS}"))
        .arg(format!("-d{secs}s"))
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{addr}"))
        .output()
        .expect("run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    if std::env::var_os("TULIPA_BENCH_WRK_OUTPUT").is_some() {
        eprintln!("\n{text}{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(
        output.status.success(),
        "wrk failed ({}): {text}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    parse_wrk(&text).unwrap_or_else(|| panic!("cannot read wrk's output:\n{text}"))
}

/// Reads `N requests in Xs` and the error lines.
fn parse_wrk(text: &str) -> Option<WrkRun> {
    let (requests, duration) = text.lines().find_map(|line| {
        let (n, rest) = line.trim().split_once(" requests in ")?;
        let d = rest.split(',').next()?.trim();
        let secs: f64 = if let Some(ms) = d.strip_suffix("ms") {
            ms.parse::<f64>().ok()? / 1e3
        } else if let Some(m) = d.strip_suffix('m') {
            m.parse::<f64>().ok()? * 60.0
        } else {
            d.strip_suffix('s')?.parse().ok()?
        };
        Some((n.parse().ok()?, Duration::from_secs_f64(secs)))
    })?;
    let after = |prefix: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(prefix).map(str::trim))
    };
    Some(WrkRun {
        requests,
        duration,
        socket_errors: after("Socket errors:").map(str::to_owned),
        non_2xx: after("Non-2xx or 3xx responses:").map_or(Some(0), |n| n.parse().ok())?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_wrk_output() {
        let text = "Running 3s test @ http://127.0.0.1:1\n  1 threads and 64 connections\n  \
                    30000 requests in 3.00s, 5.00MB read\n  Non-2xx or 3xx responses: 4\n\
                    Requests/sec:  10000.00\n";
        let run = super::parse_wrk(text).unwrap();
        assert_eq!(run.requests, 30_000);
        assert_eq!(run.per_request(), std::time::Duration::from_micros(100));
        assert_eq!(run.non_2xx, 4);
        assert!(run.socket_errors.is_none());
    }
}
