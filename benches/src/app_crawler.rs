//! `crawl_site`: the crawler app (apps/crawler) on tulipa against the same
//! crawl written here for tokio.
//!
//! A generated site of [`pages`] pages is served on loopback by hyper on a
//! current-thread tokio runtime on a thread of its own, started once,
//! outside the runtime under test. Page `i` is about 2 KB of HTML with 10
//! links, to pages `(10 i + k) % n` for `k` in 1..=10, all on the one
//! host, so every page is reachable from page 0 within 5 links. Each run
//! crawls from `/p/0` with depth [`DEPTH`] and at most [`LIMIT`] requests
//! in flight, appending `SOURCE<TAB>LINK` lines to a file in the temp
//! directory, and checks that every page was fetched.
//!
//! - tulipa: `crawler::crawl` (the app's library: a worker pool over a
//!   `tulipa::queue::Queue`, `tulipa::http::Client`, html5gum, a writer
//!   task on `tulipa::fs::File`).
//! - tokio: the same logic, compact: [`LIMIT`] worker tasks over an
//!   unbounded tokio mpsc queue with a pending counter, one shared
//!   hyper-util legacy client (`HttpConnector`, `TCP_NODELAY`), html5gum
//!   for the links, `url` to resolve them, a writer task appending with
//!   `tokio::fs::File` behind a `BufWriter`.
//! - smol: n/a (the crawler has no smol port).

use std::any::TypeId;
use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use url::Url;

use crate::benches::{grouped, Sample, Size};
use crate::rt::{Rt, Tokio, Tulipa};

/// The most requests in flight.
const LIMIT: usize = 100;
/// How far from the start page links are followed: more than enough.
const DEPTH: u32 = 10;

const FILLER: &str = "Some text around the links, so that a page is about the size of a \
    small real one; the crawler decodes it and tokenizes every byte of it. ";

/// Pages of the site.
pub(crate) fn pages(size: Size) -> usize {
    if size.quick {
        1_000
    } else {
        10_000
    }
}

/// One line for the report.
pub(crate) fn describe(size: Size) -> String {
    format!(
        "crawl_site: crawl a generated {}-page loopback site (hyper on a current-thread tokio \
         runtime on its own thread; ~2 KB pages with 10 same-host links each) from /p/0 at depth \
         {DEPTH}, {LIMIT} requests in flight, links appended to a temp file; time for the whole \
         crawl (pages/s in the rates table); tulipa: crawler::crawl (apps/crawler); tokio: the \
         same logic here on hyper-util's legacy client, html5gum, url and tokio::fs; smol: n/a",
        grouped(pages(size))
    )
}

fn page(i: usize, n: usize) -> Bytes {
    let mut body = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>Page {i}</title></head>\n\
         <body><h1>Page {i}</h1>\n"
    );
    for k in 1..=10 {
        let to = (i * 10 + k) % n;
        body.push_str(&format!(
            "<p>{FILLER}<a href=\"/p/{to}\">page {to}</a>.</p>\n"
        ));
    }
    body.push_str("</body></html>\n");
    Bytes::from(body)
}

/// The address of the site of `n` pages, started on first use (one
/// server per size).
fn site(n: usize) -> SocketAddr {
    static SITES: OnceLock<Mutex<Vec<(usize, SocketAddr)>>> = OnceLock::new();
    let mut sites = SITES
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .expect("sites");
    if let Some(&(_, addr)) = sites.iter().find(|(m, _)| *m == n) {
        return addr;
    }
    let pages: Vec<Bytes> = (0..n).map(|i| page(i, n)).collect();
    let addr = crate::http::serve_on_own_thread("crawl-site-server", move |path| {
        let page = path
            .strip_prefix("/p/")
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| pages.get(i).cloned());
        let response = match page {
            Some(body) => http::Response::builder()
                .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(Full::new(body)),
            None => http::Response::builder()
                .status(http::StatusCode::NOT_FOUND)
                .body(Full::new(Bytes::from_static(b"not found"))),
        };
        response.expect("response")
    });
    sites.push((n, addr));
    addr
}

/// A fresh path in the temp directory, removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(what: &str) -> TempPath {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        TempPath(std::env::temp_dir().join(format!(
            "tulipa-bench-crawl-{}-{}-{what}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `crawl_site` on `R`.
pub(crate) fn run<R: Rt>(_rt: R, size: Size) -> Pin<Box<dyn Future<Output = Sample> + Send>> {
    let n = pages(size);
    let t = TypeId::of::<R>();
    if t == TypeId::of::<Tulipa>() {
        Box::pin(tulipa_crawl(n))
    } else if t == TypeId::of::<Tokio>() {
        Box::pin(tokio_crawl(n))
    } else {
        unreachable!("crawl_site runs on tulipa and tokio only")
    }
}

/// Checks the results file: one line per link of every page.
fn check(out: &TempPath, n: usize) {
    let text = std::fs::read_to_string(&out.0).expect("read the results file");
    let lines = text.lines().count();
    assert_eq!(
        lines,
        n * 10,
        "crawl_site: {lines} result lines, not {}",
        n * 10
    );
}

async fn tulipa_crawl(n: usize) -> Sample {
    let addr = site(n);
    let urls = TempPath::new("urls.txt");
    let out = TempPath::new("results.txt");
    std::fs::write(&urls.0, format!("http://{addr}/p/0\n")).expect("write the URL list");
    let mut config = crawler::config::Config::new(&urls.0);
    config.out = out.0.clone();
    config.limit = LIMIT;
    config.depth = DEPTH;
    let start = Instant::now();
    let summary = crawler::crawl(&config).await.expect("crawl");
    let elapsed = start.elapsed();
    assert_eq!(summary.fetched, n, "crawl_site (tulipa): {summary}");
    assert!(
        summary.failures.is_empty(),
        "crawl_site (tulipa): {summary}"
    );
    check(&out, n);
    Sample::one(elapsed)
}

type TokioClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Empty<Bytes>,
>;

/// The tokio workers' queue: a URL and its depth, or `None`: stop.
type Receiver = tokio::sync::mpsc::UnboundedReceiver<Option<(Url, u32)>>;

/// What the tokio workers share.
struct Shared {
    client: TokioClient,
    /// Every URL met, with the depth it was met at.
    seen: Mutex<HashSet<Url>>,
    /// URLs queued or being crawled; the crawl is over at 0.
    pending: AtomicUsize,
    queue: tokio::sync::mpsc::UnboundedSender<Option<(Url, u32)>>,
    fetched: AtomicUsize,
}

impl Shared {
    /// Queues `url` at `depth` unless it was met.
    fn queue_new(&self, url: Url, depth: u32) {
        if self.seen.lock().expect("seen").insert(url.clone()) {
            self.pending.fetch_add(1, Ordering::SeqCst);
            let _ = self.queue.send(Some((url, depth)));
        }
    }

    /// One URL done: at 0, tells every worker to stop.
    fn done(&self) {
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            for _ in 0..LIMIT {
                let _ = self.queue.send(None);
            }
        }
    }
}

/// An `<a>` / `<area>` link's `href`s, resolved against `page`, `http(s)`
/// only, without fragments, each once (as the crawler's `links::links`,
/// without `<base>`).
fn links(html: &str, page: &Url) -> Vec<Url> {
    let mut emitter = html5gum::DefaultEmitter::default();
    emitter.naively_switch_states(true);
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for Ok(token) in html5gum::Tokenizer::new_with_emitter(html, emitter) {
        let html5gum::Token::StartTag(tag) = token else {
            continue;
        };
        if !matches!(tag.name.as_slice(), b"a" | b"area") {
            continue;
        }
        let Some(href) = tag.attributes.get(b"href".as_slice()) else {
            continue;
        };
        let Ok(mut url) = page.join(&String::from_utf8_lossy(href)) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        url.set_fragment(None);
        if seen.insert(url.clone()) {
            found.push(url);
        }
    }
    found
}

/// GETs `url`: its HTML as text, or why not.
async fn fetch(client: &TokioClient, url: &Url) -> Result<String, String> {
    let uri: http::Uri = url.as_str().parse().map_err(|e| format!("{e}"))?;
    let response = tokio::time::timeout(Duration::from_secs(10), async {
        let response = client.get(uri).await.map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok::<_, String>((parts, body))
    })
    .await
    .map_err(|_| "timed out".to_string())??;
    let (parts, body) = response;
    if !parts.status.is_success() {
        return Err(format!("error status {}", parts.status));
    }
    let html = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html {
        return Err("not HTML".to_string());
    }
    String::from_utf8(body.to_vec()).map_err(|e| e.to_string())
}

async fn tokio_worker(
    shared: Arc<Shared>,
    queue: Arc<tokio::sync::Mutex<Receiver>>,
    results: tokio::sync::mpsc::Sender<String>,
) {
    loop {
        let next = queue.lock().await.recv().await;
        let Some(Some((url, depth))) = next else {
            return;
        };
        match fetch(&shared.client, &url).await {
            Ok(html) => {
                let found = links(&html, &url);
                let mut lines = String::new();
                for link in &found {
                    lines.push_str(url.as_str());
                    lines.push('\t');
                    lines.push_str(link.as_str());
                    lines.push('\n');
                }
                if !lines.is_empty() {
                    let _ = results.send(lines).await;
                }
                shared.fetched.fetch_add(1, Ordering::Relaxed);
                if depth < DEPTH {
                    for link in found {
                        if link.host() == url.host()
                            && link.port_or_known_default() == url.port_or_known_default()
                        {
                            shared.queue_new(link, depth + 1);
                        }
                    }
                }
            }
            Err(problem) => eprintln!("crawl_site (tokio): GET {url}: {problem}"),
        }
        shared.done();
    }
}

async fn tokio_crawl(n: usize) -> Sample {
    use tokio::io::AsyncWriteExt;

    let addr = site(n);
    let out = TempPath::new("results.txt");
    let start = Instant::now();
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out.0)
        .await
        .expect("open the results file");
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(connector);
    let (queue, receiver) = tokio::sync::mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        client,
        seen: Mutex::new(HashSet::new()),
        pending: AtomicUsize::new(0),
        queue,
        fetched: AtomicUsize::new(0),
    });
    let (results, mut lines) = tokio::sync::mpsc::channel::<String>(LIMIT);
    let writer = tokio::spawn(async move {
        let mut file = tokio::io::BufWriter::with_capacity(64 * 1024, file);
        while let Some(batch) = lines.recv().await {
            file.write_all(batch.as_bytes()).await?;
        }
        file.flush().await?;
        Ok::<_, std::io::Error>(())
    });
    shared.queue_new(
        Url::parse(&format!("http://{addr}/p/0")).expect("start URL"),
        0,
    );
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let workers: Vec<_> = (0..LIMIT)
        .map(|_| {
            tokio::spawn(tokio_worker(
                shared.clone(),
                receiver.clone(),
                results.clone(),
            ))
        })
        .collect();
    drop(results);
    for w in workers {
        w.await.expect("a crawl worker panicked");
    }
    writer.await.expect("writer").expect("write the results");
    let elapsed = start.elapsed();
    let fetched = shared.fetched.load(Ordering::Relaxed);
    assert_eq!(fetched, n, "crawl_site (tokio): {fetched} pages fetched");
    check(&out, n);
    Sample::one(elapsed)
}
