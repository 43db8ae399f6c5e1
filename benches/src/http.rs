//! `http_hello` and `http_client`: HTTP/1.1 on hyper, tulipa-http against
//! hyper on tokio and hyper on smol.
//!
//! - `http_hello`: a "Hello world." server on the runtime under test,
//!   loaded by an external `wrk -t1 -c64` process (pinned to CPU 1 with
//!   `taskset` when it exists). Figures: wall time per request (wrk's
//!   duration / requests: the inverse of requests/s), the bench process's
//!   CPU time per request (`/proc/self/stat`; the process hosts only the
//!   server while wrk runs), and wrk's p50 / p99 latency. Every server
//!   speaks HTTP/1.1 only with no header-read timer: tulipa with
//!   `server::Builder::new().http2(false).header_read_timeout(None)`, tokio
//!   and smol with hyper's `http1::Builder` (smol through tulipa-http's
//!   futures-io adapter `Io`, the same one tulipa uses).
//! - `http_client`: `REQUESTS` keep-alive GETs from 64 tasks against one
//!   hyper server that runs on a thread of its own (a current-thread tokio
//!   runtime, started once, outside the runtime under test). tulipa:
//!   one shared `tulipa::http::Client`; tokio: one shared hyper-util
//!   legacy client; smol, which has no pooled hyper client: one hyper
//!   http1 connection per task over `Io`.
//!
//! wrk is found through `cargo xtask peers` (`<target>/peers/env`), else
//! on `$PATH`; without it the benchmark fails saying how to install it.

use std::any::TypeId;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::benches::{grouped, Sample, Size};
use crate::rt::{Rt, SmolLocal, SmolMulti, Tokio, Tulipa};

/// Connections wrk keeps open.
const WRK_CONNS: usize = 64;
/// Concurrent client tasks in `http_client`.
const TASKS: usize = 64;

fn wrk_secs(size: Size) -> u64 {
    if size.quick {
        1
    } else {
        3
    }
}

fn requests(size: Size) -> usize {
    if size.quick {
        2_048
    } else {
        10_048
    }
}

/// One line for the report.
pub(crate) fn describe_hello(size: Size) -> String {
    format!(
        "http_hello: GET / -> `Hello world.` over HTTP/1.1 keep-alive, loaded by \
         `wrk -t1 -c{WRK_CONNS} -d{}s` in another process; figures per request: wall time \
         (1 / requests per second), server CPU, p50, p99",
        wrk_secs(size)
    )
}

/// One line for the report.
pub(crate) fn describe_client(size: Size) -> String {
    format!(
        "http_client: {} keep-alive GETs from {TASKS} tasks against one hyper server on its own \
         thread; tulipa Client vs hyper-util's pooled client on tokio vs a hyper connection per \
         task on smol",
        grouped(requests(size))
    )
}

/// The answer of every server.
fn hello() -> http::Response<Full<Bytes>> {
    http::Response::new(Full::new(Bytes::from_static(b"Hello world.")))
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
struct WrkRun {
    requests: u64,
    duration: Duration,
    p50: Duration,
    p99: Duration,
}

/// Runs wrk against `addr` on a plain thread (the runtime under test keeps
/// serving meanwhile) and turns its figures into a sample.
async fn load(addr: SocketAddr, secs: u64) -> Sample {
    let cpu_before = process_cpu();
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_wrk(addr, secs));
    });
    let run = rx.await.expect("the wrk thread died");
    let cpu = process_cpu().saturating_sub(cpu_before);
    let per = |d: Duration| d / u32::try_from(run.requests.max(1)).unwrap_or(u32::MAX);
    Sample {
        values: vec![per(run.duration), per(cpu), run.p50, run.p99],
        warning: None,
    }
}

fn wrk_path() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));
    if let Ok(env) = std::fs::read_to_string(target.join("peers/env")) {
        if let Some(path) = env.lines().find_map(|l| l.strip_prefix("WRK=")) {
            return path.into();
        }
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let candidate = std::path::Path::new(dir).join("wrk");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("http_hello needs wrk: run `cargo xtask peers` (or `apt-get install wrk`)");
}

fn run_wrk(addr: SocketAddr, secs: u64) -> WrkRun {
    let wrk = wrk_path();
    let url = format!("http://{addr}/");
    let args = [
        "-t1".to_owned(),
        format!("-c{WRK_CONNS}"),
        format!("-d{secs}s"),
        "--latency".to_owned(),
        url,
    ];
    let taskset = std::path::Path::new("/usr/bin/taskset");
    let output = if taskset.is_file() {
        std::process::Command::new(taskset)
            .arg("-c")
            .arg("1")
            .arg(&wrk)
            .args(&args)
            .output()
    } else {
        std::process::Command::new(&wrk).args(&args).output()
    }
    .expect("run wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}");
    assert!(!text.contains("Non-2xx"), "wrk saw errors: {text}");
    parse_wrk(&text).unwrap_or_else(|| panic!("cannot read wrk's output:\n{text}"))
}

/// Reads `N requests in Xs`, and the 50% / 99% lines of `--latency`.
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
    Some(WrkRun {
        requests,
        duration,
        p50: percentile("50%")?,
        p99: percentile("99%")?,
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

/// The address of the `http_client` server: hyper on a current-thread
/// tokio runtime on a thread of its own, started on first use.
fn client_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        listener.set_nonblocking(true).expect("nonblocking");
        std::thread::Builder::new()
            .name("http-client-bench-server".into())
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
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(|_req| async {
                                Ok::<_, std::convert::Infallible>(hello())
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
    })
}

async fn tulipa_client<R: Rt>(rt: R, n: usize) -> Sample {
    let url = format!("http://{}/", client_server());
    let client = tulipa::http::Client::new();
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            rt.spawn(async move {
                for _ in 0..n / TASKS {
                    let body = client
                        .get(&url)
                        .send()
                        .await
                        .expect("send")
                        .bytes()
                        .await
                        .expect("body");
                    assert_eq!(body.len(), 12);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    Sample::one(start.elapsed())
}

async fn tokio_client<R: Rt>(rt: R, n: usize) -> Sample {
    let uri: http::Uri = format!("http://{}/", client_server()).parse().expect("uri");
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (client, uri) = (client.clone(), uri.clone());
            rt.spawn(async move {
                for _ in 0..n / TASKS {
                    let response = client.get(uri.clone()).await.expect("send");
                    let body = response
                        .into_body()
                        .collect()
                        .await
                        .expect("body")
                        .to_bytes();
                    assert_eq!(body.len(), 12);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    Sample::one(start.elapsed())
}

async fn smol_client<R: Rt>(rt: R, n: usize) -> Sample {
    let addr = client_server();
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            rt.spawn(async move {
                let stream = smol::net::TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let (mut sender, conn) = hyper::client::conn::http1::handshake::<
                    _,
                    http_body_util::Empty<Bytes>,
                >(tulipa::http::Io::new(stream))
                .await
                .expect("handshake");
                rt.spawn_detached(async move {
                    let _ = conn.await;
                });
                for _ in 0..n / TASKS {
                    sender.ready().await.expect("ready");
                    let request = http::Request::builder()
                        .uri("/")
                        .header(http::header::HOST, addr.to_string())
                        .body(http_body_util::Empty::new())
                        .expect("request");
                    let response = sender.send_request(request).await.expect("send");
                    let body = response
                        .into_body()
                        .collect()
                        .await
                        .expect("body")
                        .to_bytes();
                    assert_eq!(body.len(), 12);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    Sample::one(start.elapsed())
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
    }
}
