//! Why asyncio: the same 20 GETs one after another, all at once with
//! `gather`, and on a pool of 4 threads doing blocking I/O, with the three
//! times side by side.
//!
//! It mirrors this asyncio program (aiohttp for the async client, a
//! hand-written blocking HTTP/1.1 GET on the thread pool):
//!
//! ```python
//! import asyncio, socket, sys, time
//! from concurrent.futures import ThreadPoolExecutor
//! import aiohttp
//!
//! async def fetch(session, url):
//!     async with session.get(url) as resp:
//!         return len(await resp.read())
//!
//! def blocking_get(url):                      # socket + HTTP/1.1 by hand
//!     ...
//!
//! async def main(urls):
//!     async with aiohttp.ClientSession() as session:
//!         start = time.perf_counter()
//!         for url in urls:                    # one after another
//!             await fetch(session, url)
//!         sequential = time.perf_counter() - start
//!
//!         start = time.perf_counter()         # all at once
//!         await asyncio.gather(*(fetch(session, url) for url in urls))
//!         gathered = time.perf_counter() - start
//!
//!     loop = asyncio.get_running_loop()
//!     start = time.perf_counter()             # 4 threads, blocking I/O
//!     with ThreadPoolExecutor(4) as pool:
//!         await asyncio.gather(*(loop.run_in_executor(pool, blocking_get, url)
//!                                for url in urls))
//!     threads = time.perf_counter() - start
//!
//! asyncio.run(main(sys.argv[1:]))
//! ```
//!
//! With no URLs on the command line it starts a server of its own on a
//! loopback port (an axum router served with `tulipa::http::serve`) that
//! answers each request after 50 ms, and fetches 20 pages from it: about
//! 1 s one after another, 50 ms with `gather`, 250 ms on 4 threads. With
//! URLs, it fetches those instead (the hand-written blocking client speaks
//! plain `http://` only, so it skips `https://` URLs):
//!
//! ```sh
//! cargo run -p tulipa --example http_gather
//! cargo run -p tulipa --example http_gather -- http://example.com/ http://example.org/
//! ```

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use tulipa::future::{gather, try_gather};
use tulipa::http::{Client, Error};

/// How many GETs to make of the local server.
const REQUESTS: usize = 20;
/// How long the local server takes to answer each one.
const DELAY: Duration = Duration::from_millis(50);
/// The threads of the blocking pool: `ThreadPoolExecutor(4)`.
const THREADS: usize = 4;

/// `GET /page/N`: a small page, after [`DELAY`].
async fn page(Path(n): Path<usize>) -> String {
    tulipa::time::sleep(DELAY).await;
    format!("page {n}: {}\n", "lorem ipsum ".repeat(n + 1))
}

/// One GET with the async client: the size of the body.
async fn fetch(client: &Client, url: &str) -> Result<usize, Error> {
    Ok(client.get(url).send().await?.bytes().await?.len())
}

/// One GET with a blocking socket and HTTP/1.1 written by hand: the size of
/// the body. Only `http://host[:port]/path` URLs; the connection is closed
/// after the response (`Connection: close`), so the body is everything
/// after the head, decoded if the server chunked it.
fn blocking_get(url: &str) -> io::Result<usize> {
    let invalid =
        |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {what}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid("only http:// URLs (no TLS in this small client)"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().map_err(|_| invalid("bad port"))?),
        None => (authority, 80),
    };

    let mut stream = TcpStream::connect((host, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: http_gather\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;

    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{url}: {what}"));
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of the response head"))?;
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    if !head.starts_with("http/1.") {
        return Err(bad("not an HTTP/1 response"));
    }
    let body = &response[end + 4..];
    if head.contains("\r\ntransfer-encoding: chunked") {
        dechunked_len(body).ok_or_else(|| bad("malformed chunked body"))
    } else {
        Ok(body.len())
    }
}

/// The length of a chunked body once decoded: each chunk is its size in
/// hex, CRLF, the data, CRLF; a size of 0 ends it.
fn dechunked_len(mut body: &[u8]) -> Option<usize> {
    let mut len = 0;
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(len);
        }
        len += size;
        body = body.get(line_end + 2 + size + 2..)?;
    }
}

/// Prints one way's line: how long it took, how many bytes it got, how
/// much faster than one after another, how many connections the local
/// server accepted for it, and the first failure if any.
fn report<E: std::fmt::Display>(
    way: &str,
    took: Duration,
    sequential: Duration,
    sizes: Vec<Result<usize, E>>,
    connections: Option<u64>,
) {
    let bytes: usize = sizes.iter().flatten().sum();
    let failed = sizes.iter().filter(|s| s.is_err()).count();
    let speedup = sequential.as_secs_f64() / took.as_secs_f64();
    let connections = match connections {
        Some(1) => "   1 connection".to_owned(),
        Some(n) => format!("{n:>4} connections"),
        None => String::new(),
    };
    println!(
        "  {way:<18} {:>7.1} ms  {bytes:>7} bytes  {speedup:>5.1}x  {connections}{}",
        took.as_secs_f64() * 1e3,
        if failed > 0 {
            format!("  ({failed} failed)")
        } else {
            String::new()
        }
    );
    if let Some(Err(e)) = sizes.iter().find(|s| s.is_err()) {
        println!("    the first failure: {e}");
    }
}

#[tulipa::main]
async fn main() {
    let urls: Vec<String> = std::env::args().skip(1).collect();
    // With no URLs given, serve REQUESTS pages ourselves on a loopback port.
    let (urls, server) = if urls.is_empty() {
        let app = Router::new().route("/page/{n}", get(page));
        let listener = tulipa::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("the listener is bound");
        let server = tulipa::http::serve(listener, app);
        let handle = server.handle();
        tulipa::spawn(server).detach();
        println!(
            "serving on http://{addr}: each answer takes {} ms",
            DELAY.as_millis()
        );
        let urls = (0..REQUESTS)
            .map(|n| format!("http://{addr}/page/{n}"))
            .collect();
        (urls, Some(handle))
    } else {
        (urls, None)
    };
    let n = urls.len();
    let client = Client::new();
    // The connections the local server accepted since the last call.
    let mut seen = 0;
    let mut new_connections = || {
        let handle = server.as_ref()?;
        let now = handle.accepted_connections();
        Some(now - std::mem::replace(&mut seen, now))
    };
    println!("{n} GETs, three ways:");

    // 1. One after another: each GET waits for the one before.
    let start = Instant::now();
    let mut sizes = Vec::with_capacity(n);
    for url in &urls {
        sizes.push(fetch(&client, url).await);
    }
    let sequential = start.elapsed();
    report(
        "one after another",
        sequential,
        sequential,
        sizes,
        new_connections(),
    );

    // 2. gather: all at once, concurrently in this one task. (try_gather
    //    would stop at the first error, as gather(...) raises it.)
    let start = Instant::now();
    let sizes = gather(urls.iter().map(|url| fetch(&client, url))).await;
    report(
        "gather",
        start.elapsed(),
        sequential,
        sizes,
        new_connections(),
    );

    // 3. A pool of 4 threads doing blocking I/O: run_in_executor(pool,
    //    blocking_get, url) for each URL, gathered. At most 4 GETs run
    //    at once, each holding a thread while it waits.
    let pool = tulipa::blocking::Pool::new(THREADS);
    let start = Instant::now();
    let jobs = urls.iter().map(|url| {
        let url = url.clone();
        pool.spawn(move || blocking_get(&url))
    });
    // try_gather fails only if a job panicked; each item is still
    // blocking_get's io::Result.
    let sizes = try_gather(jobs)
        .await
        .expect("blocking_get neither panics nor is cancelled");
    report(
        &format!("{THREADS} threads"),
        start.elapsed(),
        sequential,
        sizes,
        new_connections(),
    );
    // From async code, shut a pool down without waiting: its threads
    // are idle by now.
    pool.shutdown_timeout(Duration::ZERO);

    if server.is_some() {
        println!(
            "(each answer takes {} ms: {n} in a row take {} ms, {n} at once about {} ms, \
             {n} on {THREADS} threads about {} ms)",
            DELAY.as_millis(),
            DELAY.as_millis() * n as u128,
            DELAY.as_millis(),
            DELAY.as_millis() * n.div_ceil(THREADS) as u128,
        );
    }

    if let Some(handle) = server {
        let report = handle.shutdown(Duration::from_secs(5)).await;
        println!("server shut down: {report}");
    }
}
