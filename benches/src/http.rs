//! `http_hello` and `http_client`: HTTP/1.1 on hyper, tulipa-http against
//! hyper on tokio and hyper on smol.
//!
//! - `http_hello`: a "Hello world." server (`text/plain`) on the runtime
//!   under test, loaded by an external `wrk -t1 -c64 --latency` process,
//!   pinned to CPU 1 with `taskset` when it is on `$PATH`. Before wrk runs,
//!   one plain request checks the server answers `200`, `text/plain` and
//!   `Hello world.`. Figures: wall time per request (wrk's duration /
//!   requests: the inverse of requests/s, which the report's rates table
//!   prints), the bench process's CPU time per request (`/proc/self/stat`
//!   utime + stime, before and after the wrk run; the process hosts only
//!   the server while wrk runs), and wrk's p50 / p99 latency. wrk's socket
//!   errors and non-2xx responses become a warning on the sample. Every
//!   server speaks HTTP/1.1 only with no header-read timer: tulipa with
//!   `server::Builder::new().http2(false).header_read_timeout(None)` (the
//!   default `serve` also listens for HTTP/2 prior knowledge and arms a
//!   30 s header timer), tokio and smol with hyper's `http1::Builder`;
//!   smol's streams go through tulipa-http's futures-io adapter `Io`, the
//!   one tulipa's own server uses, so the two differ in runtime, not in
//!   the adapter. `TULIPA_BENCH_WRK_OUTPUT=1` echoes wrk's output to stderr.
//! - `http_client`: `requests` keep-alive GETs from 64 tasks against one
//!   hyper server that runs on a thread of its own (a current-thread tokio
//!   runtime, started once, outside the runtime under test). tulipa: one
//!   shared `tulipa::http::Client`; tokio: one shared hyper-util legacy
//!   client with its `HttpConnector`; smol: one shared hyper-util legacy
//!   client with a small connector here (smol `TcpStream` in `Io`) and an
//!   executor that spawns on the smol executor under test. Every client
//!   sets `TCP_NODELAY`.
//!
//! wrk is found through `cargo xtask peers` (`WRK=` in
//! `<target>/peers/env`), else on `$PATH`; without it `main` refuses to
//! run `http_hello` and says how to install it.

use std::any::TypeId;
use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::benches::{grouped, Sample, Size};
use crate::rt::{Rt, SmolLocal, SmolMulti, Tokio, Tulipa};

/// Connections wrk keeps open.
const WRK_CONNS: usize = 64;
/// Concurrent client tasks in `http_client`.
const TASKS: usize = 64;
/// The CPU wrk is pinned to.
const WRK_CPU: usize = 1;
/// The body every server answers.
const HELLO: &[u8] = b"Hello world.";

fn wrk_secs(size: Size) -> u64 {
    if size.quick {
        1
    } else {
        2
    }
}

/// The GETs of one `http_client` run.
pub(crate) fn requests(size: Size) -> usize {
    if size.quick {
        1_000
    } else {
        10_000
    }
}

/// One line for the report.
pub(crate) fn describe_hello(size: Size) -> String {
    let pinned = match on_path("taskset") {
        Some(_) => format!(
            "pinned to CPU {WRK_CPU} by taskset ({} CPUs here; the server is not pinned)",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        ),
        None => "not pinned (no taskset on $PATH)".to_string(),
    };
    format!(
        "http_hello: GET / -> `Hello world.` (text/plain) over HTTP/1.1 keep-alive, loaded by \
         `wrk -t1 -c{WRK_CONNS} -d{}s --latency` in another process, {pinned}; figures per \
         request: wall time (wrk's duration / requests = 1 / req/s), the server process's CPU \
         (utime + stime), wrk's p50 and p99; tulipa serves with tulipa::http::server::Builder \
         (HTTP/1 only, no header timer), tokio and smol with hyper's http1::Builder",
        wrk_secs(size)
    )
}

/// One line for the report.
pub(crate) fn describe_client(size: Size) -> String {
    format!(
        "http_client: {} keep-alive GETs from {TASKS} tasks against one hyper server on a \
         current-thread tokio runtime on a thread of its own (not the runtime under test); time \
         for all of them; tulipa: one shared tulipa::http::Client; tokio: one hyper-util legacy \
         Client (HttpConnector); smol: one hyper-util legacy Client with a smol connector and \
         executor",
        grouped(requests(size))
    )
}

/// wrk's path: `WRK=` in `<target>/peers/env` (written by `cargo xtask
/// peers`), else `wrk` on `$PATH`.
///
/// # Errors
///
/// Says how to install it when neither has it.
pub(crate) fn wrk() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));
    let env = target.join("peers/env");
    if let Ok(text) = std::fs::read_to_string(&env) {
        if let Some(path) = text.lines().find_map(|l| l.strip_prefix("WRK=")) {
            let path = PathBuf::from(path);
            if path.is_file() {
                return Ok(path);
            }
        }
    }
    on_path("wrk").ok_or_else(|| {
        format!(
            "http_hello needs wrk, found neither as WRK= in {} nor on $PATH: run `cargo xtask \
             peers` or apt-get install wrk",
            env.display()
        )
    })
}

/// `name` in a directory of `$PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// The answer of every server.
fn hello() -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from_static(HELLO)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    response
}

/// Runs `http_hello` on `R`.
pub(crate) fn run_hello<R: Rt>(rt: R, size: Size) -> Pin<Box<dyn Future<Output = Sample> + Send>> {
    let secs = wrk_secs(size);
    let t = TypeId::of::<R>();
    if t == TypeId::of::<Tulipa>() {
        Box::pin(tulipa_hello(secs))
    } else if t == TypeId::of::<Tokio>() {
        Box::pin(tokio_hello(secs))
    } else if t == TypeId::of::<SmolMulti>() || t == TypeId::of::<SmolLocal>() {
        Box::pin(smol_hello(rt, secs))
    } else {
        unreachable!("a runtime without networking in the benchmarks")
    }
}

/// Runs `http_client` on `R`.
pub(crate) fn run_client<R: Rt>(rt: R, size: Size) -> Pin<Box<dyn Future<Output = Sample> + Send>> {
    let n = requests(size);
    let t = TypeId::of::<R>();
    if t == TypeId::of::<Tulipa>() {
        Box::pin(tulipa_client(rt, n))
    } else if t == TypeId::of::<Tokio>() {
        Box::pin(tokio_client(rt, n))
    } else if t == TypeId::of::<SmolMulti>() || t == TypeId::of::<SmolLocal>() {
        Box::pin(smol_client(rt, n))
    } else {
        unreachable!("a runtime without networking in the benchmarks")
    }
}

async fn tulipa_hello(secs: u64) -> Sample {
    let listener = tulipa::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let service =
        tulipa::http::service_fn(|_req| async { Ok::<_, std::convert::Infallible>(hello()) });
    let server = tulipa::http::server::Builder::new()
        .http2(false)
        .header_read_timeout(None)
        .serve(listener, service);
    let handle = server.handle();
    tulipa::spawn(server).detach();
    let sample = load(addr, secs).await;
    handle.shutdown(Duration::from_secs(5)).await;
    sample
}

async fn tokio_hello(secs: u64) -> Sample {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let (stop, stopped) = futures_channel::oneshot::channel::<()>();
    let accept = tokio::spawn(async move {
        let accept_loop = async {
            loop {
                let (stream, _) = listener.accept().await.expect("accept");
                stream.set_nodelay(true).expect("nodelay");
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(hello())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        };
        futures_lite::future::or(accept_loop, async {
            let _ = stopped.await;
        })
        .await;
    });
    let sample = load(addr, secs).await;
    let _ = stop.send(());
    accept.await.expect("accept loop");
    sample
}

async fn smol_hello<R: Rt>(rt: R, secs: u64) -> Sample {
    let listener = smol::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let (stop, stopped) = futures_channel::oneshot::channel::<()>();
    let accept = rt.spawn(async move {
        let accept_loop = async {
            loop {
                let (stream, _) = listener.accept().await.expect("accept");
                stream.set_nodelay(true).expect("nodelay");
                rt.spawn_detached(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(hello())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(tulipa::http::Io::new(stream), service)
                        .await;
                });
            }
        };
        futures_lite::future::or(accept_loop, async {
            let _ = stopped.await;
        })
        .await;
    });
    let sample = load(addr, secs).await;
    let _ = stop.send(());
    accept.await;
    sample
}

/// What one wrk run measured.
#[derive(Debug)]
struct WrkRun {
    requests: u64,
    duration: Duration,
    p50: Duration,
    p99: Duration,
    /// wrk's `Socket errors:` line, if it printed one.
    socket_errors: Option<String>,
    /// wrk's `Non-2xx or 3xx responses:` count.
    non_2xx: u64,
}

/// Checks the server answers, then runs wrk against `addr` on a plain
/// thread (the runtime under test keeps serving meanwhile) and turns its
/// figures into a sample.
async fn load(addr: SocketAddr, secs: u64) -> Sample {
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::spawn(move || {
        // Checked before the CPU clock starts; a wrong answer is a bug in
        // the server, and no figure about it means anything.
        if let Err(e) = check_hello(addr) {
            panic!("http_hello: the server at {addr} answers wrong: {e}");
        }
        let cpu_before = process_cpu();
        let run = run_wrk(addr, secs);
        let _ = tx.send((run, process_cpu().saturating_sub(cpu_before)));
    });
    let (run, cpu) = rx.await.expect("the wrk thread died");
    let per = |d: Duration| d / u32::try_from(run.requests.max(1)).unwrap_or(u32::MAX);
    let mut warnings = Vec::new();
    if let Some(errors) = &run.socket_errors {
        warnings.push(format!("wrk: socket errors: {errors}"));
    }
    if run.non_2xx > 0 {
        warnings.push(format!("wrk: {} non-2xx or 3xx responses", run.non_2xx));
    }
    Sample {
        values: vec![per(run.duration), per(cpu), run.p50, run.p99],
        warning: (!warnings.is_empty()).then(|| warnings.join("; ")),
    }
}

/// `GET path` with `Connection: close` on a plain socket: the whole
/// answer, head and body, as text.
pub(crate) fn get_close(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// One `GET /` with `Connection: close` on a plain socket: the answer must
/// be `200`, `text/plain` and `Hello world.`.
fn check_hello(addr: SocketAddr) -> Result<(), String> {
    let answer = get_close(addr, "/")?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no end of head in {answer:?}"))?;
    let head = head.to_ascii_lowercase();
    if !head.starts_with("http/1.1 200 ") {
        return Err(format!("not 200: {answer:?}"));
    }
    if !head.contains("\r\ncontent-type: text/plain") {
        return Err(format!("not text/plain: {answer:?}"));
    }
    if body.as_bytes() != HELLO {
        return Err(format!("body is not `Hello world.`: {answer:?}"));
    }
    Ok(())
}

fn run_wrk(addr: SocketAddr, secs: u64) -> WrkRun {
    let wrk = wrk().unwrap_or_else(|e| panic!("{e}"));
    let mut command = match on_path("taskset") {
        Some(taskset) => {
            let mut c = std::process::Command::new(taskset);
            c.arg("-c").arg(WRK_CPU.to_string()).arg(&wrk);
            c
        }
        None => std::process::Command::new(&wrk),
    };
    command
        .arg("-t1")
        .arg(format!("-c{WRK_CONNS}"))
        .arg(format!("-d{secs}s"))
        .arg("--latency")
        .arg(format!("http://{addr}/"));
    let output = command.output().expect("run wrk");
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

/// Reads `N requests in Xs`, the 50% / 99% lines of `--latency`, and the
/// error lines.
fn parse_wrk(text: &str) -> Option<WrkRun> {
    let (requests, duration) = text.lines().find_map(|line| {
        let (n, rest) = line.trim().split_once(" requests in ")?;
        let d = rest.split(',').next()?;
        Some((n.parse().ok()?, parse_duration(d)?))
    })?;
    let percentile = |p: &str| {
        text.lines().find_map(|line| {
            let mut parts = line.split_whitespace();
            (parts.next()? == p).then(|| parse_duration(parts.next()?))?
        })
    };
    let after = |prefix: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(prefix).map(str::trim))
    };
    Some(WrkRun {
        requests,
        duration,
        p50: percentile("50%")?,
        p99: percentile("99%")?,
        socket_errors: after("Socket errors:").map(str::to_owned),
        non_2xx: after("Non-2xx or 3xx responses:").map_or(Some(0), |n| n.parse().ok())?,
    })
}

/// wrk's `123.45us`, `1.20ms`, `3.00s`, `1.00m`.
fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    Some(Duration::from_secs_f64(number.parse::<f64>().ok()? * scale))
}

/// This process's user + system CPU time so far.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised name; utime and stime are the 14th
    // and 15th fields of the whole line, in clock ticks (100 per second).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// The address of the `http_client` server, started on first use.
fn client_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| serve_on_own_thread("http-client-bench-server", |_path| hello()))
}

/// Serves `answer(path)` for every request with hyper on a current-thread
/// tokio runtime on a thread of its own, outside the runtime under test;
/// returns its address. The benchmarks' fixed peer server.
pub(crate) fn serve_on_own_thread<F>(name: &str, answer: F) -> SocketAddr
where
    F: Fn(&str) -> http::Response<Full<Bytes>> + Send + Sync + 'static,
{
    let answer = std::sync::Arc::new(answer);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let (stream, _) = listener.accept().await.expect("accept");
                    stream.set_nodelay(true).expect("nodelay");
                    let answer = answer.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req: http::Request<_>| {
                            let response = answer(req.uri().path());
                            async move { Ok::<_, std::convert::Infallible>(response) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        })
        .expect("server thread");
    addr
}

/// The GETs task `i` of [`TASKS`] sends, so that all of them send `n`.
fn share(n: usize, i: usize) -> usize {
    n / TASKS + usize::from(i < n % TASKS)
}

/// Runs `TASKS` tasks, task `i` calling `get` `share(n, i)` times, and
/// times them all.
async fn gets<R, G, F>(rt: R, n: usize, get: G) -> Sample
where
    R: Rt,
    G: Fn() -> F + Clone + Send + 'static,
    F: Future<Output = Bytes> + Send + 'static,
{
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let get = get.clone();
            rt.spawn(async move {
                for _ in 0..share(n, i) {
                    assert_eq!(get().await, HELLO);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    Sample::one(start.elapsed())
}

async fn tulipa_client<R: Rt>(rt: R, n: usize) -> Sample {
    let url = format!("http://{}/", client_server());
    let client = tulipa::http::Client::new();
    gets(rt, n, move || {
        let request = client.get(&url);
        async move {
            request
                .send()
                .await
                .expect("send")
                .bytes()
                .await
                .expect("body")
        }
    })
    .await
}

async fn tokio_client<R: Rt>(rt: R, n: usize) -> Sample {
    let uri: http::Uri = format!("http://{}/", client_server()).parse().expect("uri");
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    gets(rt, n, move || {
        let response = client.get(uri.clone());
        async move { body(response.await.expect("send")).await }
    })
    .await
}

async fn smol_client<R: Rt>(rt: R, n: usize) -> Sample {
    let uri: http::Uri = format!("http://{}/", client_server()).parse().expect("uri");
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<Bytes>> =
        hyper_util::client::legacy::Client::builder(SmolExecutor(rt)).build(SmolConnector);
    gets(rt, n, move || {
        let response = client.get(uri.clone());
        async move { body(response.await.expect("send")).await }
    })
    .await
}

/// A hyper response's whole body.
async fn body(response: http::Response<hyper::body::Incoming>) -> Bytes {
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

/// hyper's executor on the smol executor under test (`R` is `SmolMulti`
/// or `SmolLocal`).
#[derive(Clone, Copy)]
struct SmolExecutor<R>(R);

impl<R: Rt, F> hyper::rt::Executor<F> for SmolExecutor<R>
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, fut: F) {
        self.0.spawn_detached(fut);
    }
}

/// Connects hyper-util's legacy client to an `http://ip:port` URI with a
/// smol `TcpStream` (`TCP_NODELAY` on), wrapped in tulipa-http's `Io`.
#[derive(Clone, Copy)]
struct SmolConnector;

impl tower_service::Service<http::Uri> for SmolConnector {
    type Response = SmolStream;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<SmolStream>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        Box::pin(async move {
            let ip: std::net::IpAddr = uri
                .host()
                .and_then(|h| h.parse().ok())
                .ok_or_else(|| std::io::Error::other(format!("not an IP address: {uri}")))?;
            let addr = SocketAddr::new(ip, uri.port_u16().unwrap_or(80));
            let stream = smol::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(SmolStream(tulipa::http::Io::new(stream)))
        })
    }
}

/// A smol TCP stream as hyper-util's client wants it: hyper I/O plus
/// `Connection`.
struct SmolStream(tulipa::http::Io<smol::net::TcpStream>);

impl hyper_util::client::legacy::connect::Connection for SmolStream {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        hyper_util::client::legacy::connect::Connected::new()
    }
}

impl hyper::rt::Read for SmolStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for SmolStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let text = "Running 1s test @ http://127.0.0.1:1/\n  1 threads and 64 connections\n  \
                    Latency Distribution\n     50%  310.00us\n     75%  400.00us\n     90%    1.10ms\n     \
                    99%    2.50ms\n  120000 requests in 1.00s, 10.00MB read\nRequests/sec: 120000.00\n";
        let run = parse_wrk(text).unwrap();
        assert_eq!(run.requests, 120_000);
        assert_eq!(run.duration, Duration::from_secs(1));
        assert_eq!(run.p50, Duration::from_micros(310));
        assert_eq!(run.p99, Duration::from_micros(2500));
        assert_eq!(run.socket_errors, None);
        assert_eq!(run.non_2xx, 0);
    }

    #[test]
    fn reads_wrk_errors() {
        let text =
            "     50%  310.00us\n     99%    2.50ms\n  120000 requests in 1.00s, 10.00MB read\n  \
                    Socket errors: connect 0, read 3, write 0, timeout 0\n  \
                    Non-2xx or 3xx responses: 17\nRequests/sec: 120000.00\n";
        let run = parse_wrk(text).unwrap();
        assert_eq!(
            run.socket_errors.as_deref(),
            Some("connect 0, read 3, write 0, timeout 0")
        );
        assert_eq!(run.non_2xx, 17);
    }

    #[test]
    fn shares_add_up() {
        for n in [1_000, 10_000, 63, 64, 65] {
            assert_eq!((0..TASKS).map(|i| share(n, i)).sum::<usize>(), n);
        }
    }
}
