//! The asyncio tutorial's web crawler, on tulipa.
//!
//! ```text
//! $ cargo run --release -p crawler --example site -- --pages 10000 --port 8000 &
//! $ cat start.txt
//! # a start page, and one that is gone
//! http://127.0.0.1:8000/p/0
//! http://127.0.0.1:8000/p/12345
//! $ cargo run --release -p crawler -- start.txt --depth 3
//! crawler: GET http://127.0.0.1:8000/p/12345: error status 404 Not Found
//! crawler: 597 pages fetched, 1 failed, 6567 links found in 30.8ms (19387 pages/s)
//! $ head -2 results.txt | tr '\t' ' '
//! http://127.0.0.1:8000/p/0 http://127.0.0.1:8000/p/1010
//! http://127.0.0.1:8000/p/0 http://127.0.0.1:8000/p/2019
//! ```
//!
//! It is the exercise of Real Python's asyncio walkthrough (`areq.py`,
//! abridged below), with aiohttp's client and aiofiles' appends turned
//! into [`tulipa::http::Client`] and [`tulipa::fs`]:
//!
//! ```python
//! async def parse(url, session):
//!     resp = await session.request("GET", url)    # fetch_html
//!     resp.raise_for_status()
//!     html = await resp.text()
//!     return {urljoin(url, href) for href in HREF_RE.findall(html)}
//!
//! async def write_one(file, url, session):
//!     found = await parse(url, session)
//!     async with aiofiles.open(file, "a") as f:
//!         for link in found:
//!             await f.write(f"{url}\t{link}\n")
//!
//! async def bulk_crawl_and_write(file, urls):
//!     async with ClientSession() as session:
//!         await asyncio.gather(*(write_one(file, url, session) for url in urls))
//! ```
//!
//! with the tutorial's loose ends tied: a real HTML tokenizer instead of a
//! regular expression, a bound on concurrency, a timeout, and `--depth` to
//! follow links.
//!
//! # Design
//!
//! - **Concurrency is bounded by a worker pool**, asyncio's
//!   `Queue` pattern: [`crawl`] puts the listed URLs on a
//!   [`tulipa::queue::Queue`] and starts `--limit` workers; each takes a
//!   URL, fetches and reads it, puts the new URLs it leads to, and marks
//!   it [`task_done`](tulipa::queue::Queue::task_done). So at most
//!   `--limit` requests are in flight, however many URLs there are, and
//!   [`join`](tulipa::queue::Queue::join) returns when the last page is
//!   done (its new URLs were queued before its `task_done`). The workers
//!   run in a [`TaskGroup`], so a bug that makes
//!   one panic ends the crawl with that panic instead of a hang. They
//!   share one [`Client`] and its connection pool; its timeout
//!   (`--timeout`) bounds each request from sending to the body's last
//!   byte.
//! - **A URL that fails is reported and dropped**, on stderr as it
//!   happens and in the [`Summary`]: a connect error, a timeout, a non-2xx
//!   status, a non-HTML `Content-Type`, a body that does not decode
//!   ([`fetch::Problem`]). Nothing else stops.
//! - **Decoding** uses the `Content-Type`'s charset
//!   ([`Response::text`](tulipa::http::Response::text)), and without one
//!   the page's byte order mark or `<meta>` ([`links::decode`]).
//! - **Links** are the `href`s of `<a>` and `<area>` found by html5gum's
//!   tokenizer, resolved with the `url` crate against the page's URL after
//!   redirects (or its `<base href>`), `http`/`https` only, without
//!   fragments, each once per page; [`links`] says exactly what counts.
//! - **Each URL is fetched at most once**: URLs are normalised by the
//!   `url` crate (scheme and host lowercased, default port, `..`
//!   resolved, percent-encoding) with the fragment removed, and a
//!   frontier remembers every URL met, listed or found. With `--depth N`,
//!   links to the same host (name and port) as the page they are on are
//!   followed up to `N` links from a listed URL, and the frontier keeps
//!   depths exact under any timing (see its docs). A redirect is followed
//!   within its request: its target is not recorded as met, so a page
//!   that is both linked and redirected to is fetched once for each.
//! - **Results are appended** to `--out` (`SOURCE<TAB>LINK`, one line per
//!   link, SOURCE being the URL as listed or found) by one writer task
//!   that owns the file, opened in append mode: each worker sends the
//!   lines of a page at once over a bounded channel, and
//!   [`tulipa::fs::File`] collects writes in its buffer (64 KiB, growing
//!   to 1 MiB) and hands each buffer-full to the OS in one `write`, so
//!   there is no system call per line nor per page. If writing fails, the
//!   queue is shut down at once and [`crawl`] returns the error.
//! - **Progress**: when stderr is a terminal, a task rewrites one status
//!   line ten times a second; the [`Summary`] is printed at the end.
#![forbid(unsafe_code)]

pub mod config;
pub mod fetch;
mod frontier;
pub mod links;

use std::fmt::{self, Write as _};
use std::io::{self, IsTerminal, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tulipa::channel::{Receiver, Sender};
use tulipa::fs::{File, OpenOptions};
use tulipa::http::Client;
use tulipa::io::AsyncWriteExt;
use tulipa::queue::Queue;
use tulipa::task::TaskGroup;
use url::Url;

use crate::config::Config;
use crate::fetch::{Failure, Problem};
use crate::frontier::Frontier;

/// What a crawl did.
#[derive(Debug)]
pub struct Summary {
    /// Pages fetched and read.
    pub fetched: usize,
    /// The URLs that failed, in the order they failed.
    pub failures: Vec<Failure>,
    /// Lines appended to the results file (links found, each once per
    /// page).
    pub links: usize,
    /// How long the crawl took.
    pub elapsed: Duration,
}

impl Summary {
    /// Pages done (fetched or failed) per second.
    pub fn pages_per_sec(&self) -> f64 {
        (self.fetched + self.failures.len()) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} pages fetched, {} failed, {} links found in {:.1?} ({:.0} pages/s)",
            self.fetched,
            self.failures.len(),
            self.links,
            self.elapsed,
            self.pages_per_sec()
        )
    }
}

/// Runs a crawl as `config` says: reads the URL list, fetches every URL
/// (and, with a depth, the same-host pages they lead to), appends the
/// links found to the results file, and reports failed URLs on stderr as
/// they happen.
///
/// # Errors
///
/// The URL list cannot be read, the results file cannot be opened or
/// written, or a worker panicked (which stops the crawl). A URL that fails is not an error: it is
/// reported and listed in [`Summary::failures`].
pub async fn crawl(config: &Config) -> io::Result<Summary> {
    let started = Instant::now();
    let list = tulipa::fs::read_to_string(&config.urls_file)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read the URL list: {e}")))?;
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&config.out)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open the results file: {e}")))?;
    let shared = Arc::new(Shared {
        client: Client::builder().timeout(Some(config.timeout)).build()?,
        queue: Queue::new(0),
        frontier: Mutex::new(Frontier::new(config.depth)),
        failures: Mutex::new(Vec::new()),
        fetched: AtomicUsize::new(0),
        links: AtomicUsize::new(0),
        terminal: io::stderr().is_terminal(),
    });
    for line in list.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match Url::parse(line) {
            Ok(mut url) if matches!(url.scheme(), "http" | "https") => {
                url.set_fragment(None);
                shared.queue_new(url, 0);
            }
            Ok(url) => shared.fail(
                line,
                Problem::InvalidUrl(format!("{} is not http or https", url.scheme())),
            ),
            Err(e) => shared.fail(line, Problem::InvalidUrl(e.to_string())),
        }
    }

    let (results, lines) = tulipa::channel::bounded(config.limit);
    let writer = tulipa::spawn(write_results(out, lines, shared.queue.clone()));
    let progress = shared
        .terminal
        .then(|| tulipa::spawn(progress(shared.clone(), started)));
    let mut group = TaskGroup::new();
    for _ in 0..config.limit {
        group.spawn(worker(shared.clone(), results.clone()));
    }
    drop(results);
    let queue = shared.queue.clone();
    group.spawn(async move {
        queue.join().await;
        queue.shutdown(false); // the idle workers' `get` fails: they return
    });
    // A worker that panicked cancels the others (asyncio's TaskGroup):
    // the crawl stops with its error instead of waiting for its page.
    let finished = group.join().await;
    if let Some(progress) = progress {
        progress.cancel();
        let _ = progress.await;
        to_stderr("\r\x1b[K");
    }
    finished?;
    writer.await??;
    let failures = std::mem::take(&mut *lock(&shared.failures));
    Ok(Summary {
        fetched: shared.fetched.load(Ordering::Relaxed),
        failures,
        links: shared.links.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    })
}

/// What the workers share.
struct Shared {
    client: Client,
    queue: Queue<Url>,
    frontier: Mutex<Frontier>,
    failures: Mutex<Vec<Failure>>,
    fetched: AtomicUsize,
    links: AtomicUsize,
    /// Whether stderr is a terminal (with a progress line to clear).
    terminal: bool,
}

impl Shared {
    /// Queues `url`, `depth` links from a listed URL, unless it was met.
    fn queue_new(&self, url: Url, depth: u32) {
        let mut new = Vec::new();
        lock(&self.frontier).found(url, depth, &mut new);
        self.queue_all(new);
    }

    fn queue_all(&self, urls: Vec<Url>) {
        for url in urls {
            // The queue is unbounded, and shut down only when the crawl
            // is over or writing failed: then nothing more is wanted.
            let _ = self.queue.put_nowait(url);
        }
    }

    /// Reports a failed URL on stderr and keeps it for the summary.
    fn fail(&self, url: &str, problem: Problem) {
        let failure = Failure {
            url: url.to_owned(),
            problem,
        };
        let clear = if self.terminal { "\r\x1b[K" } else { "" };
        to_stderr(&format!("{clear}crawler: {failure}\n"));
        lock(&self.failures).push(failure);
    }

    /// The progress line: pages done, queued and failed, and the rate.
    fn progress(&self, started: Instant) -> String {
        let failed = lock(&self.failures).len();
        let done = self.fetched.load(Ordering::Relaxed) + failed;
        let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
        format!(
            "crawler: {done} done, {} queued, {failed} failed, {rate:.0} pages/s",
            self.queue.qsize()
        )
    }
}

/// Writes `text` to stderr in one system call (`eprintln!` makes one
/// per piece of its format string).
fn to_stderr(text: &str) {
    let _ = io::stderr().write_all(text.as_bytes());
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A worker: takes URLs until the queue is shut down, fetches each, sends
/// its links to the writer and queues the pages it leads to.
async fn worker(shared: Arc<Shared>, results: Sender<String>) {
    while let Ok(url) = shared.queue.get().await {
        match fetch::fetch(&shared.client, &url).await {
            Ok(page) => {
                let links = links::links(&page.html, &page.url);
                let mut lines = String::new();
                for link in &links {
                    let _ = writeln!(lines, "{url}\t{link}");
                }
                if !lines.is_empty() && results.send(lines).await.is_err() {
                    // The writer failed: stop the crawl (`crawl` returns
                    // its error).
                    shared.queue.shutdown(true);
                }
                shared.links.fetch_add(links.len(), Ordering::Relaxed);
                shared.fetched.fetch_add(1, Ordering::Relaxed);
                let mut new = Vec::new();
                let mut frontier = lock(&shared.frontier);
                if frontier.follows() {
                    let same_host = |link: &&Url| {
                        link.host() == page.url.host()
                            && link.port_or_known_default() == page.url.port_or_known_default()
                    };
                    let follow = links.iter().filter(same_host).cloned().collect();
                    frontier.fetched(&url, follow, &mut new);
                }
                drop(frontier);
                shared.queue_all(new);
            }
            Err(problem) => shared.fail(url.as_str(), problem),
        }
        // One `task_done` per `get`; cannot fail.
        let _ = shared.queue.task_done();
    }
}

/// The writer: appends each batch of lines to `out` (which buffers them),
/// until every worker is gone; then flushes.
async fn write_results(
    mut out: File,
    lines: Receiver<String>,
    queue: Queue<Url>,
) -> io::Result<()> {
    let written = async {
        while let Ok(batch) = lines.recv().await {
            out.write_all(batch.as_bytes()).await?;
        }
        out.flush().await
    };
    written.await.map_err(|e| {
        // Stop fetching pages whose links could not be kept.
        queue.shutdown(true);
        io::Error::new(e.kind(), format!("cannot write the results file: {e}"))
    })
}

/// Rewrites the progress line on stderr ten times a second.
async fn progress(shared: Arc<Shared>, started: Instant) {
    let mut tick = tulipa::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        to_stderr(&format!("\r\x1b[K{}", shared.progress(started)));
    }
}
