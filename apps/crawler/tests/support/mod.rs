//! A generated web site for the crawler's tests, served on 127.0.0.1 by
//! tulipa's own server, which knows the links every page must yield and
//! counts the requests for each path.
//!
//! The site: pages `/p/0` to `/p/{n-1}`, each linking to the next (the
//! last to the first: a cycle) through relative links written several
//! ways (duplicates, fragments, `./`), to its children `2i+1` and `2i+2`
//! (a binary tree, so depth 11 reaches 3,000 pages), through `<area>` to
//! a page far away, and now and then to itself (`#top`), to another host,
//! and to a missing page. Every page also holds what is not a link:
//! `<link href>`, `mailto:`, `javascript:`, an `<a href>` in a script and
//! in a comment. A few pages link to the special paths:
//!
//! | path | what it is |
//! | --- | --- |
//! | `/old` | a redirect to `/r/new/page`, whose relative link `leaf` resolves to `/r/new/leaf` only against the final URL |
//! | `/latin1` | ISO-8859-1 by its `Content-Type`, linking to `/café` |
//! | `/meta` | no charset in its `Content-Type`, windows-1252 by its `<meta>`, linking to `/naïve` |
//! | `/slow` | answers after 5 s, past the tests' 1 s timeout |
//! | `/bad-utf8` | not UTF-8, with no charset anywhere |
//! | `/bad-declared` | not valid in the UTF-8 its `Content-Type` names |
//! | `/data.json` | JSON, not HTML |
//! | `/missing/...` and anything else | 404 |
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::Response;
use axum::Router;

/// A link a page holds, as the crawler must report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// A path on the site itself (followed with `--depth`).
    Here(String),
    /// An absolute URL on another host (listed, never followed).
    Away(String),
}

/// What the server answers for a path.
pub struct Resource {
    pub status: StatusCode,
    pub content_type: Option<&'static str>,
    pub location: Option<&'static str>,
    pub body: Vec<u8>,
    pub slow: bool,
    /// The links the crawler must find, for a page that must succeed;
    /// `None` for a failure or a redirect.
    pub links: Option<Vec<Link>>,
}

/// The generated site, and the requests it got.
pub struct Site {
    pub pages: usize,
    hits: Mutex<HashMap<String, usize>>,
}

impl Site {
    pub fn new(pages: usize) -> Site {
        Site {
            pages,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// The requests for each path so far.
    pub fn hits(&self) -> HashMap<String, usize> {
        self.hits.lock().unwrap().clone()
    }

    /// What `path` (as sent: percent-encoded) is.
    pub fn resource(&self, path: &str) -> Resource {
        if let Some(i) = path
            .strip_prefix("/p/")
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|&i| i < self.pages)
        {
            return self.page(i);
        }
        let utf8 = Some("text/html; charset=utf-8");
        match path {
            "/old" => Resource {
                location: Some("/r/new/page"),
                ..failure(StatusCode::FOUND, None, b"moved")
            },
            "/r/new/page" => html(
                utf8,
                br#"<p>moved here: <a href="leaf">leaf</a> <a href="../new/leaf#again">again</a>"#,
                vec![Link::Here("/r/new/leaf".into())],
            ),
            "/r/new/leaf" => html(
                utf8,
                br#"<a href="/p/0">home</a>"#,
                vec![Link::Here("/p/0".into())],
            ),
            "/latin1" => html(
                Some("text/html; charset=ISO-8859-1"),
                b"<p>caf\xe9 au lait: <a href=\"/caf\xe9\">caf\xe9</a>",
                vec![Link::Here("/caf%C3%A9".into())],
            ),
            "/meta" => html(
                Some("text/html"),
                b"<head><meta charset=\"windows-1252\"></head><a href=\"/na\xefve\">na\xefve</a> \x93quoted\x94",
                vec![Link::Here("/na%C3%AFve".into())],
            ),
            "/caf%C3%A9" | "/na%C3%AFve" => html(
                utf8,
                br#"<a href="p/1">one</a>"#,
                vec![Link::Here("/p/1".into())],
            ),
            "/slow" => Resource {
                slow: true,
                ..html(utf8, b"<a href=/never>too late</a>", vec![])
            },
            "/bad-utf8" => failure(StatusCode::OK, Some("text/html"), b"<a href=/x>caf\xe9</a>"),
            "/bad-declared" => failure(StatusCode::OK, utf8, b"<a href=/x>\xff\xfe</a>"),
            "/data.json" => failure(
                StatusCode::OK,
                Some("application/json"),
                br#"{"href": "/p/1"}"#,
            ),
            _ => failure(StatusCode::NOT_FOUND, Some("text/html"), b"<a href=/>not found</a>"),
        }
    }

    /// Page `i`, and the links it must yield.
    fn page(&self, i: usize) -> Resource {
        let n = self.pages;
        let next = (i + 1) % n;
        let here = |path: String| Some(Link::Here(path));
        // (href as written, the link it must yield)
        let mut anchors = vec![
            (format!("{next}"), here(format!("/p/{next}"))),
            (format!("{next}#frag"), here(format!("/p/{next}"))),
            (format!("./{next}"), here(format!("/p/{next}"))),
            ("mailto:web@site.invalid".to_owned(), None),
            ("javascript:void(0)".to_owned(), None),
        ];
        for child in [2 * i + 1, 2 * i + 2].into_iter().filter(|&c| c < n) {
            let href = if !child.is_multiple_of(2) {
                format!("/p/{child}")
            } else {
                format!("../p/{child}")
            };
            anchors.push((href, here(format!("/p/{child}"))));
        }
        if i.is_multiple_of(50) {
            anchors.push(("#top".into(), here(format!("/p/{i}"))));
        }
        if i.is_multiple_of(10) {
            let away = Link::Away(format!("http://other.invalid/from/{i}"));
            anchors.push((format!("HTTP://Other.INVALID/from/{i}"), Some(away)));
        }
        if i % 100 == 7 {
            anchors.push((format!("/missing/{i}"), here(format!("/missing/{i}"))));
        }
        let special = match i {
            3 => "/old",
            4 => "/latin1",
            5 => "/meta",
            6 => "/slow",
            8 => "/bad-utf8",
            9 => "/data.json",
            11 => "/bad-declared",
            _ => "",
        };
        if !special.is_empty() {
            anchors.push((special.into(), here(special.into())));
        }
        let far = (i * 31 + 17) % n;
        let area = i
            .is_multiple_of(7)
            .then(|| (format!("/p/{far}"), here(format!("/p/{far}"))));

        let mut body = format!(
            "<!DOCTYPE html>\n<html><head><title>page {i} &lt;a href=/in-title&gt;</title>\n\
             <link rel=stylesheet href=\"/style.css\">\n\
             <script>var s = '<a href=\"/in-script\">';</script></head>\n\
             <body><h1 id=top>Page {i}</h1>\n<!-- <a href=\"/in-comment\">old</a> -->\n"
        );
        for (href, _) in &anchors {
            body.push_str(&format!(
                "<p>See <a class=nav href=\"{href}\">this</a>, {FILLER}</p>\n"
            ));
        }
        if let Some((href, _)) = &area {
            body.push_str(&format!(
                "<map name=m><area shape=rect coords=0,0,9,9 href={href}></map>\n"
            ));
        }
        body.push_str("</body></html>\n");
        let mut links = Vec::new();
        for link in anchors.into_iter().chain(area).filter_map(|(_, link)| link) {
            if !links.contains(&link) {
                links.push(link);
            }
        }
        html(Some("text/html; charset=utf-8"), body.as_bytes(), links)
    }
}

const FILLER: &str = "a page of the generated site, with some words around its links so \
    that it is about the size of a small real page.";

fn html(content_type: Option<&'static str>, body: &[u8], links: Vec<Link>) -> Resource {
    Resource {
        status: StatusCode::OK,
        content_type,
        location: None,
        body: body.to_vec(),
        slow: false,
        links: Some(links),
    }
}

fn failure(status: StatusCode, content_type: Option<&'static str>, body: &[u8]) -> Resource {
    Resource {
        status,
        links: None,
        ..html(content_type, body, Vec::new())
    }
}

async fn serve_path(State(site): State<Arc<Site>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    *site.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let resource = site.resource(&path);
    if resource.slow {
        tulipa::time::sleep(Duration::from_secs(5)).await;
    }
    let mut response = Response::builder().status(resource.status);
    if let Some(content_type) = resource.content_type {
        response = response.header(header::CONTENT_TYPE, content_type);
    }
    if let Some(location) = resource.location {
        response = response.header(header::LOCATION, location);
    }
    response.body(Body::from(resource.body)).unwrap()
}

/// The site served on 127.0.0.1 by a runtime of its own.
pub struct Server {
    pub site: Arc<Site>,
    pub addr: SocketAddr,
    rt: tulipa::Runtime,
    handle: tulipa::http::ServerHandle,
}

impl Server {
    pub fn start(pages: usize) -> Server {
        let site = Arc::new(Site::new(pages));
        let app = Router::new().fallback(serve_path).with_state(site.clone());
        let rt = tulipa::Runtime::builder()
            .worker_threads(2)
            .build()
            .expect("runtime");
        let (addr, handle) = rt.block_on(async move {
            let listener = tulipa::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let serve = tulipa::http::serve(listener, app);
            let handle = serve.handle();
            tulipa::spawn(serve).detach();
            (addr, handle)
        });
        Server {
            site,
            addr,
            rt,
            handle,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The absolute URL of `link`.
    pub fn url(&self, link: &Link) -> String {
        match link {
            Link::Here(path) => format!("{}{path}", self.origin()),
            Link::Away(url) => url.clone(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Cut the slow request still sleeping, if any.
        let handle = self.handle.clone();
        self.rt
            .block_on(async move { handle.shutdown(Duration::from_millis(100)).await });
    }
}

/// What a crawl of the site must do: the result lines, and the requests
/// for each path.
#[derive(Debug, Default)]
pub struct Expected {
    /// `SOURCE<TAB>LINK` lines, with how many times each must appear.
    pub lines: BTreeMap<String, usize>,
    /// Requests per path.
    pub hits: BTreeMap<String, usize>,
    /// The site's URLs that must fail.
    pub failed: HashSet<String>,
}

/// What crawling `seeds` (paths on the site) with `depth` must do, found
/// by a breadth-first search of the site's links (the shortest distance
/// of every page from a seed).
pub fn expect(server: &Server, seeds: &[&str], depth: u32) -> Expected {
    let site = &server.site;
    let mut expected = Expected::default();
    let mut distance: HashMap<String, u32> = HashMap::new();
    let mut queue = VecDeque::new();
    for seed in seeds {
        if !distance.contains_key(*seed) {
            distance.insert(seed.to_string(), 0);
            queue.push_back(seed.to_string());
        }
    }
    while let Some(path) = queue.pop_front() {
        let d = distance[&path];
        *expected.hits.entry(path.clone()).or_default() += 1;
        let mut resource = site.resource(&path);
        if let Some(location) = resource.location {
            // The client follows the redirect within the same request.
            *expected.hits.entry(location.to_owned()).or_default() += 1;
            resource = site.resource(location);
        }
        let Some(links) = resource.links.filter(|_| !resource.slow) else {
            expected.failed.insert(format!("{}{path}", server.origin()));
            continue;
        };
        let source = format!("{}{path}", server.origin());
        for link in &links {
            *expected
                .lines
                .entry(format!("{source}\t{}", server.url(link)))
                .or_default() += 1;
            if let Link::Here(next) = link {
                if d < depth && !distance.contains_key(next) {
                    distance.insert(next.clone(), d + 1);
                    queue.push_back(next.clone());
                }
            }
        }
    }
    expected
}

/// The lines of `path`, counted.
pub fn read_lines(path: &Path) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(path).expect("results file");
    let mut lines = BTreeMap::new();
    for line in text.lines() {
        *lines.entry(line.to_owned()).or_default() += 1;
    }
    lines
}

/// Asserts two counted sets of lines are equal, showing the differences
/// (not thousands of lines) when they are not.
pub fn assert_same_lines(got: &BTreeMap<String, usize>, want: &BTreeMap<String, usize>) {
    let diff: Vec<String> = got
        .keys()
        .chain(want.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|line| got.get(*line) != want.get(*line))
        .take(20)
        .map(|line| {
            format!(
                "{line:?}: got {:?}, want {:?}",
                got.get(line),
                want.get(line)
            )
        })
        .collect();
    assert!(diff.is_empty(), "results differ:\n{}", diff.join("\n"));
}

/// A fresh directory for one test's files.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crawler-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
