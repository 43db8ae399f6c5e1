//! The size of each page of a list, fetched at most three at a time, printed
//! in the order the downloads finish.
//!
//! It mirrors this asyncio program (aiohttp for HTTP):
//!
//! ```python
//! import asyncio, sys, time
//! import aiohttp
//!
//! async def get_size(session, semaphore, url):
//!     async with semaphore:                    # at most 3 downloads at once
//!         async with session.get(url) as resp:
//!             return url, len(await resp.read())
//!
//! async def main(urls):
//!     start = time.perf_counter()
//!     semaphore = asyncio.Semaphore(3)
//!     async with aiohttp.ClientSession() as session:
//!         for next_done in asyncio.as_completed(
//!                 [get_size(session, semaphore, url) for url in urls]):
//!             url, size = await next_done
//!             print(f"{size:>8} bytes  {url}")
//!     print(f"took {time.perf_counter() - start:.3f} s")
//!
//! asyncio.run(main(sys.argv[1:]))
//! ```
//!
//! With no URLs on the command line it starts a server of its own on a
//! loopback port (an axum router served with `tulipa::http::serve`, like
//! httpbin's `/bytes/N`): eight pages of different sizes, each answered
//! after a delay, so the pages finish in another order than they were
//! asked for. With URLs, it fetches those:
//!
//! ```sh
//! cargo run -p tulipa --example http_sizes
//! cargo run -p tulipa --example http_sizes -- https://www.rust-lang.org/ https://example.com/
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query};
use axum::routing::get;
use axum::Router;
use futures_lite::StreamExt;
use tulipa::future::as_completed;
use tulipa::http::{Client, Error};
use tulipa::sync::Semaphore;

/// The most downloads at once: `asyncio.Semaphore(3)`.
const AT_ONCE: usize = 3;

/// The local server's pages: (size in bytes, delay before answering).
const PAGES: [(usize, u64); 8] = [
    (512, 120),
    (64 * 1024, 20),
    (2_000, 60),
    (300_000, 10),
    (10, 90),
    (8 * 1024, 40),
    (100_000, 30),
    (100, 5),
];

/// The query of `/bytes/N?delay_ms=D`.
#[derive(serde::Deserialize)]
struct Delay {
    delay_ms: Option<u64>,
}

/// `GET /bytes/N?delay_ms=D`: N bytes, after D milliseconds.
async fn bytes(Path(n): Path<usize>, Query(delay): Query<Delay>) -> Vec<u8> {
    tulipa::time::sleep(Duration::from_millis(delay.delay_ms.unwrap_or(0))).await;
    vec![b'x'; n]
}

/// How many downloads run now, and the most that ever ran at once.
#[derive(Default)]
struct Running {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// `get_size(semaphore, url)`: waits for a permit, then downloads `url`
/// whole and returns its size.
async fn get_size<'a>(
    client: &Client,
    semaphore: &Semaphore,
    running: &Running,
    url: &'a str,
) -> (&'a str, Result<usize, Error>) {
    // `async with semaphore:` is a permit, given back when dropped.
    let _permit = semaphore
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let now = running.now.fetch_add(1, Ordering::SeqCst) + 1;
    running.peak.fetch_max(now, Ordering::SeqCst);
    let size = async { Ok(client.get(url).send().await?.bytes().await?.len()) }.await;
    running.now.fetch_sub(1, Ordering::SeqCst);
    (url, size)
}

#[tulipa::main]
async fn main() {
    let urls: Vec<String> = std::env::args().skip(1).collect();
    // With no URLs given, serve the pages ourselves on a loopback port.
    let (urls, server) = if urls.is_empty() {
        let app = Router::new().route("/bytes/{n}", get(bytes));
        let listener = tulipa::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("the listener is bound");
        let server = tulipa::http::serve(listener, app);
        let handle = server.handle();
        // The accept loop runs in a task of its own; the handle shuts
        // it down at the end.
        tulipa::spawn(server).detach();
        println!("serving {} pages on http://{addr}", PAGES.len());
        let urls = PAGES
            .iter()
            .map(|(size, ms)| format!("http://{addr}/bytes/{size}?delay_ms={ms}"))
            .collect();
        (urls, Some(handle))
    } else {
        (urls, None)
    };

    let client = Client::new();
    let semaphore = Semaphore::new(AT_ONCE);
    let running = Running::default();
    println!(
        "fetching {} URLs, at most {AT_ONCE} at once, in the order they finish:",
        urls.len()
    );
    let start = Instant::now();
    // as_completed runs the downloads concurrently inside this task
    // (so they may borrow the client, the semaphore and the counters:
    // no Arc) and yields each result as soon as it is ready.
    let mut done = as_completed(
        urls.iter()
            .map(|url| get_size(&client, &semaphore, &running, url)),
    );
    let (mut total, mut failed) = (0, 0);
    while let Some((url, size)) = done.next().await {
        let at = start.elapsed().as_secs_f64() * 1e3;
        match size {
            Ok(size) => {
                total += size;
                println!("  at {at:>6.1} ms  {size:>8} bytes  {url}");
            }
            Err(e) => {
                failed += 1;
                println!("  at {at:>6.1} ms  failed: {e}");
            }
        }
    }
    let took = start.elapsed();
    println!(
        "{} URLs, {total} bytes, {failed} failed; at most {} downloads ran at once",
        urls.len(),
        running.peak.load(Ordering::SeqCst)
    );
    if server.is_some() {
        let delays: u64 = PAGES.iter().map(|(_, ms)| ms).sum();
        println!("(one after another the delays alone would take {delays} ms)");
    }
    println!("took {:.1} ms", took.as_secs_f64() * 1e3);

    if let Some(handle) = server {
        let report = handle.shutdown(Duration::from_secs(5)).await;
        println!("server shut down: {report}");
    }
}
