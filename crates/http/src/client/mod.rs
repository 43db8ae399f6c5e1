//! The client: aiohttp's `ClientSession`, on hyper.
//!
//! # Design
//!
//! A [`Client`] is a handle (cheap to clone, share it) to one connection
//! pool: hyper-util's pooling client, running on tulipa's
//! [`rt`](crate::rt) bridge, with a connector of our own (DNS through
//! tulipa's resolver, happy eyeballs through
//! [`TcpStream::connect_with`](tulipa_net::TcpStream::connect_with), TLS
//! through tulipa's rustls streams with ALPN `h2` / `http/1.1`). Around it
//! the client adds what aiohttp has and hyper has not: a per-host limit,
//! connect / read / total timeouts, bounded redirects, body helpers that
//! decode the charset, and errors that name the method, the URL and what
//! failed.
//!
//! | aiohttp | tulipa-http |
//! | --- | --- |
//! | `aiohttp.ClientSession()` | [`Client::new`], [`Client::builder`] |
//! | `TCPConnector(limit_per_host=n)` | [`ClientBuilder::limit_per_host`] |
//! | `ClientTimeout(total, connect, sock_read)` | [`ClientBuilder::timeout`], [`connect_timeout`](ClientBuilder::connect_timeout), [`read_timeout`](ClientBuilder::read_timeout) |
//! | `keepalive_timeout` | [`ClientBuilder::pool_idle_timeout`] |
//! | `session.get(url)`, `post`, `put`, `delete` | [`Client::get`], [`post`](Client::post), [`put`](Client::put), [`delete`](Client::delete), [`request`](Client::request) |
//! | `resp.status`, `resp.headers`, `resp.url` | [`Response::status`], [`headers`](Response::headers), [`url`](Response::url) |
//! | `await resp.read()`, `text()`, `json()` | [`Response::bytes`], [`text`](Response::text), [`json`](Response::json) |
//! | `resp.content.iter_any()` | [`Response::bytes_stream`], [`Response::chunk`] |
//! | `resp.raise_for_status()` | [`Response::error_for_status`] |
//! | `max_redirects=10` | [`ClientBuilder::max_redirects`] |
//! | `ssl=ssl_context` with a private CA | [`ClientBuilder::add_root_certificate`] |

mod body;
mod connector;
mod error;
mod limit;
mod response;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Uri};
use hyper_util::client::legacy;
use rustls::pki_types::CertificateDer;
use tulipa_net::tls::TlsConnector;
use tulipa_net::ConnectOptions;
use tulipa_timer::TimerHandle;

pub use body::Body;
pub use error::{Error, ErrorKind};
pub use response::{BytesStream, Response};

use connector::Connector;
use error::ConnectFailure;
use limit::{HostLimit, HostPermit};
use response::Timers;

use crate::rt::{TulipaExecutor, TulipaTimer};

/// An HTTP client with a connection pool: aiohttp's `ClientSession`.
///
/// Make one and share it (clones share the pool): a new client per request
/// throws away the pool and its warm connections.
///
/// # Examples
///
/// ```no_run
/// # tulipa::run(async {
/// let client = tulipa_http::Client::new();
/// let response = client.get("http://127.0.0.1:8080/").send().await?;
/// println!("{} {}", response.status(), response.text().await?);
/// # Ok::<(), tulipa_http::client::Error>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    hyper: legacy::Client<Connector, Body>,
    timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    max_redirects: usize,
    limit_per_host: Option<usize>,
    default_headers: HeaderMap,
    hosts: Mutex<HashMap<String, Arc<HostLimit>>>,
}

impl Client {
    /// A client with the default settings ([`ClientBuilder::new`]).
    ///
    /// # Panics
    ///
    /// Panics if the TLS configuration cannot be built (the platform's
    /// crypto provider is unusable); [`ClientBuilder::build`] returns the
    /// error instead.
    pub fn new() -> Client {
        ClientBuilder::new()
            .build()
            .expect("the default TLS configuration could not be built")
    }

    /// A builder for a client with other settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A request with `method` to `url`, to add headers and a body to,
    /// then [`send`](RequestBuilder::send).
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method,
            url: url.to_owned(),
            headers: HeaderMap::new(),
            body: Body::empty(),
            timeout: None,
            error: None,
        }
    }

    /// A `GET` request (aiohttp's `session.get(url)`).
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A `HEAD` request.
    pub fn head(&self, url: &str) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// A `POST` request.
    pub fn post(&self, url: &str) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A `PUT` request.
    pub fn put(&self, url: &str) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A `PATCH` request.
    pub fn patch(&self, url: &str) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A `DELETE` request.
    pub fn delete(&self, url: &str) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// The limit of `uri`'s origin, when the client has one per host.
    fn host_limit(&self, uri: &Uri) -> Option<Arc<HostLimit>> {
        let limit = self.inner.limit_per_host?;
        // Formatted only here: with no limit (the default), a request
        // does not pay for it (2,300 instructions, measured by callgrind).
        let origin = &origin(uri);
        let mut hosts = self.inner.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if hosts.len() >= 1024 && !hosts.contains_key(origin) {
            // A crawler meets thousands of hosts: forget the idle ones
            // (nobody holds or waits for a permit) instead of growing.
            hosts.retain(|_, limit| Arc::strong_count(limit) > 1);
        }
        Some(
            hosts
                .entry(origin.to_owned())
                .or_insert_with(|| Arc::new(HostLimit::new(limit)))
                .clone(),
        )
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.inner.timeout)
            .field("read_timeout", &self.inner.read_timeout)
            .field("max_redirects", &self.inner.max_redirects)
            .field("limit_per_host", &self.inner.limit_per_host)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Client`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let client = tulipa_http::Client::builder()
///     .timeout(Some(Duration::from_secs(10)))
///     .connect_timeout(Some(Duration::from_secs(2)))
///     .limit_per_host(Some(8))
///     .max_redirects(3)
///     .build()?;
/// # drop(client); std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    limit_per_host: Option<usize>,
    max_redirects: usize,
    http2: bool,
    happy_eyeballs_delay: Option<Duration>,
    roots: Vec<CertificateDer<'static>>,
    webpki_roots: bool,
    default_headers: HeaderMap,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder::new()
    }
}

impl ClientBuilder {
    /// aiohttp's defaults: a 5 minute total timeout, no separate connect or
    /// read timeout, idle connections kept 15 s, no per-host limit, 10
    /// redirects; HTTP/2 when the server offers it over TLS; the Mozilla
    /// root certificates (`webpki-roots`).
    pub fn new() -> ClientBuilder {
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static(concat!("tulipa-http/", env!("CARGO_PKG_VERSION"))),
        );
        ClientBuilder {
            timeout: Some(Duration::from_secs(300)),
            connect_timeout: None,
            read_timeout: None,
            pool_idle_timeout: Some(Duration::from_secs(15)),
            pool_max_idle_per_host: usize::MAX,
            limit_per_host: None,
            max_redirects: 10,
            http2: true,
            happy_eyeballs_delay: Some(tulipa_net::DEFAULT_HAPPY_EYEBALLS_DELAY),
            roots: Vec::new(),
            webpki_roots: true,
            default_headers,
        }
    }

    /// The limit on a whole request, from the first byte sent to the last
    /// byte of the body read; `None` for none. Default 5 minutes.
    pub fn timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.timeout = timeout;
        self
    }

    /// The limit on making a connection: DNS, TCP (all addresses raced)
    /// and TLS. Default none (the total timeout still applies).
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// The limit on waiting for the response head and then for each chunk
    /// of the body (aiohttp's `sock_read`). Default none.
    pub fn read_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.read_timeout = timeout;
        self
    }

    /// How long an idle connection stays in the pool (aiohttp's
    /// `keepalive_timeout`, 15 s); `None` keeps it until the server closes.
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.pool_idle_timeout = timeout;
        self
    }

    /// The most idle connections kept per host (default: no limit); `0`
    /// turns keep-alive off.
    pub fn pool_max_idle_per_host(mut self, max: usize) -> ClientBuilder {
        self.pool_max_idle_per_host = max;
        self
    }

    /// The most requests in flight to one origin (scheme, host, port) at
    /// once, so the most HTTP/1.1 connections busy with it; further
    /// requests wait their turn (aiohttp's `limit_per_host`). A request
    /// holds its slot until its body is read to the end or the response is
    /// dropped. `None` (default) for none.
    pub fn limit_per_host(mut self, limit: Option<usize>) -> ClientBuilder {
        self.limit_per_host = limit.map(|l| l.max(1));
        self
    }

    /// How many redirects to follow (default 10); `0` returns redirects as
    /// responses. Past the limit a request fails with
    /// [`ErrorKind::Redirect`].
    pub fn max_redirects(mut self, max: usize) -> ClientBuilder {
        self.max_redirects = max;
        self
    }

    /// Whether to speak HTTP/2 with servers that offer it through TLS ALPN
    /// (default `true`).
    pub fn http2(mut self, on: bool) -> ClientBuilder {
        self.http2 = on;
        self
    }

    /// The happy eyeballs delay between connection attempts to a host's
    /// addresses (RFC 8305; default 250 ms); `None` tries them in turn.
    pub fn happy_eyeballs_delay(mut self, delay: Option<Duration>) -> ClientBuilder {
        self.happy_eyeballs_delay = delay;
        self
    }

    /// Trusts `cert` (DER) as a root certificate too: a test CA, a private
    /// PKI.
    pub fn add_root_certificate(mut self, cert: CertificateDer<'static>) -> ClientBuilder {
        self.roots.push(cert);
        self
    }

    /// Trusts every certificate in `pem` as a root too.
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidData`](io::ErrorKind::InvalidData) if `pem`
    /// holds no certificate or a malformed one.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> io::Result<ClientBuilder> {
        use rustls::pki_types::pem::PemObject;
        let before = self.roots.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("malformed PEM certificate: {e:?}"),
                )
            })?;
            self.roots.push(cert);
        }
        if self.roots.len() == before {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "no `-----BEGIN CERTIFICATE-----` block in the PEM given",
            ));
        }
        Ok(self)
    }

    /// Whether to trust the Mozilla root certificates shipped in
    /// `webpki-roots` (default `true`); turn off to trust only the roots
    /// added.
    pub fn webpki_roots(mut self, on: bool) -> ClientBuilder {
        self.webpki_roots = on;
        self
    }

    /// A header sent with every request (unless the request sets it).
    pub fn default_header(mut self, name: HeaderName, value: HeaderValue) -> ClientBuilder {
        self.default_headers.insert(name, value);
        self
    }

    /// The client.
    ///
    /// # Errors
    ///
    /// Fails if an added root certificate is invalid, or the TLS
    /// configuration cannot be built.
    pub fn build(self) -> io::Result<Client> {
        let mut roots = rustls::RootCertStore::empty();
        if self.webpki_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for cert in self.roots {
            roots.add(cert).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("invalid root certificate: {e}"),
                )
            })?;
        }
        let alpn: &[&[u8]] = if self.http2 {
            &[b"h2", b"http/1.1"]
        } else {
            &[b"http/1.1"]
        };
        let tls = TlsConnector::with_roots(roots)?.with_alpn_protocols(alpn);
        let connector = Connector {
            tls,
            options: ConnectOptions::new()
                .happy_eyeballs_delay(self.happy_eyeballs_delay)
                .nodelay(true),
            connect_timeout: self.connect_timeout,
        };
        let mut builder = legacy::Client::builder(TulipaExecutor::new());
        builder
            .timer(TulipaTimer::new())
            .pool_timer(TulipaTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host);
        let hyper = builder.build(connector);
        Ok(Client {
            inner: Arc::new(Inner {
                hyper,
                timeout: self.timeout,
                read_timeout: self.read_timeout,
                max_redirects: self.max_redirects,
                limit_per_host: self.limit_per_host,
                default_headers: self.default_headers,
                hosts: Mutex::new(HashMap::new()),
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("limit_per_host", &self.limit_per_host)
            .field("max_redirects", &self.max_redirects)
            .field("http2", &self.http2)
            .finish_non_exhaustive()
    }
}

/// A request being built; from [`Client::get`] and its siblings. Nothing
/// is sent until [`send`](RequestBuilder::send).
#[must_use = "a request is sent only by `send().await`"]
pub struct RequestBuilder {
    client: Client,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Body,
    timeout: Option<Duration>,
    error: Option<Error>,
}

impl RequestBuilder {
    /// Adds a header (a bad name or value fails the request at
    /// [`send`](RequestBuilder::send), naming it).
    pub fn header<K, V>(mut self, name: K, value: V) -> RequestBuilder
    where
        K: TryInto<HeaderName>,
        K::Error: Into<http::Error>,
        V: TryInto<HeaderValue>,
        V::Error: Into<http::Error>,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(e), _) => self.fail(e.into(), "bad header name"),
            (_, Err(e)) => self.fail(e.into(), "bad header value"),
        }
        self
    }

    fn fail(&mut self, e: http::Error, what: &str) {
        if self.error.is_none() {
            self.error = Some(
                Error::new(ErrorKind::Request, &self.method, &self.url)
                    .with_detail(what.to_owned())
                    .with_source(e),
            );
        }
    }

    /// Adds all of `headers`.
    pub fn headers(mut self, headers: HeaderMap) -> RequestBuilder {
        for (name, value) in headers {
            if let Some(name) = name {
                self.headers.append(name, value);
            }
        }
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Body>) -> RequestBuilder {
        self.body = body.into();
        self
    }

    /// Sets the body to `value` as JSON, with `Content-Type:
    /// application/json` (aiohttp's `json=`).
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> RequestBuilder {
        match serde_json::to_vec(value) {
            Ok(bytes) => {
                self.body = Body::from(bytes);
                self.headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            Err(e) => {
                if self.error.is_none() {
                    self.error = Some(
                        Error::new(ErrorKind::Request, &self.method, &self.url)
                            .with_detail("the JSON body could not be serialized")
                            .with_source(e),
                    );
                }
            }
        }
        self
    }

    /// A total timeout for this request, instead of the client's.
    pub fn timeout(mut self, timeout: Duration) -> RequestBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request and waits for the response head, following
    /// redirects.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the method, the URL and what failed: an invalid
    /// URL or header, DNS, connect, TLS, a timeout, the connection failing
    /// before the response head, too many redirects. A 4xx or 5xx status is
    /// a response, not an error (see [`Response::error_for_status`]).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the request; its connection is closed,
    /// not reused.
    pub async fn send(self) -> Result<Response, Error> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let inner = self.client.inner.clone();
        let timer = TimerHandle::current();
        let total = self.timeout.or(inner.timeout);
        let deadline = total.and_then(|t| timer.now().checked_add(t));
        let method = self.method.clone();
        let url = self.url.clone();
        // Boxed: the attempt (hyper's request future, the redirect loop,
        // the read timeout) is several KiB, and unboxed it was copied
        // whole each time it moved: into the timeout, into the caller's
        // state, on every await (callgrind: about 1,900 instructions of
        // `memcpy` per request, against one allocation).
        let attempt = Box::pin(send_following_redirects(self, timer.clone(), deadline));
        match deadline {
            None => attempt.await,
            Some(deadline) => match tulipa_timer::timeout_at(deadline, attempt).await {
                Ok(result) => result,
                Err(_) => Err(
                    Error::new(ErrorKind::Timeout, &method, &url).with_detail(format!(
                        "no response within the request's total timeout of {:?}",
                        total.unwrap_or_default()
                    )),
                ),
            },
        }
    }
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// Parses `url` as an absolute http or https URL.
fn parse_url(method: &Method, url: &str) -> Result<Uri, Error> {
    let uri: Uri = url
        .parse()
        .map_err(|e| Error::new(ErrorKind::InvalidUrl, method, url).with_source(e))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(
                Error::new(ErrorKind::InvalidUrl, method, url).with_detail(format!(
                    "scheme `{other}` is not supported: use http or https"
                )),
            )
        }
        None => {
            return Err(Error::new(ErrorKind::InvalidUrl, method, url)
                .with_detail("not an absolute URL: write it as http://host/path"))
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(Error::new(ErrorKind::InvalidUrl, method, url).with_detail("no host"));
    }
    Ok(uri)
}

/// `scheme://host:port` of `uri`, the key of the per-host limit.
fn origin(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    format!("{scheme}://{}:{port}", uri.host().unwrap_or_default())
}

async fn send_following_redirects(
    request: RequestBuilder,
    timer: TimerHandle,
    deadline: Option<tulipa_timer::Instant>,
) -> Result<Response, Error> {
    let RequestBuilder {
        client,
        mut method,
        url,
        mut headers,
        mut body,
        ..
    } = request;
    let inner = &client.inner;
    let mut uri = parse_url(&method, &url)?;
    let mut redirects = 0;
    loop {
        let permit: Option<HostPermit> = match client.host_limit(&uri) {
            Some(limit) => Some(limit.acquire().await),
            None => None,
        };
        let replay = body.try_clone();
        let mut req = http::Request::new(std::mem::take(&mut body));
        *req.method_mut() = method.clone();
        *req.uri_mut() = uri.clone();
        for (name, value) in &inner.default_headers {
            if !headers.contains_key(name) {
                req.headers_mut().insert(name.clone(), value.clone());
            }
        }
        req.headers_mut().extend(headers.clone());
        let sent = inner.hyper.request(req);
        let response = match inner.read_timeout {
            None => sent.await,
            Some(limit) => match tulipa_timer::timeout(limit, sent).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(Error::new(ErrorKind::Timeout, &method, &uri)
                        .with_detail(format!("no response within the read timeout of {limit:?}")))
                }
            },
        }
        .map_err(|e| classify(e, &method, &uri))?;

        let status = response.status();
        let location = response.headers().get(header::LOCATION).cloned();
        let follow = inner.max_redirects > 0
            && matches!(
                status,
                StatusCode::MOVED_PERMANENTLY
                    | StatusCode::FOUND
                    | StatusCode::SEE_OTHER
                    | StatusCode::TEMPORARY_REDIRECT
                    | StatusCode::PERMANENT_REDIRECT
            )
            && location.is_some();
        if !follow {
            let timers = Timers {
                timer,
                read_timeout: inner.read_timeout,
                deadline,
                read_sleep: None,
                deadline_sleep: None,
            };
            return Ok(Response::new(response, uri, method, timers, permit));
        }
        redirects += 1;
        if redirects > inner.max_redirects {
            return Err(Error::new(ErrorKind::Redirect, &method, &uri).with_detail(format!(
                "too many redirects (more than {}); raise ClientBuilder::max_redirects if this is expected",
                inner.max_redirects
            )));
        }
        let location = location.expect("checked above");
        // Servers send raw UTF-8 in Location too; `url` percent-encodes it.
        let next = std::str::from_utf8(location.as_bytes())
            .ok()
            .and_then(|l| resolve(&uri, l))
            .ok_or_else(|| {
                Error::new(ErrorKind::Redirect, &method, &uri)
                    .with_detail(format!("cannot follow the redirect to {location:?}"))
            })?;
        // Read a small redirect body to its end so the connection goes
        // back to the pool; a large one just closes it.
        let small = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|len| len <= 64 * 1024);
        if small {
            use http_body_util::BodyExt;
            let _ = response.into_body().collect().await;
        }
        drop(permit);
        match status {
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => {
                body = replay.ok_or_else(|| {
                    Error::new(ErrorKind::Redirect, &method, &uri).with_detail(
                        "a 307/308 redirect asks to send the body again, and a streamed body cannot be",
                    )
                })?;
            }
            _ => {
                // 301/302/303: the next request is a GET without a body
                // (HEAD stays HEAD), as browsers and aiohttp do.
                if method != Method::HEAD {
                    method = Method::GET;
                }
                body = Body::empty();
                headers.remove(header::CONTENT_TYPE);
                headers.remove(header::CONTENT_LENGTH);
            }
        }
        if origin(&next) != origin(&uri) {
            // Credentials are for the origin they were given to.
            headers.remove(header::AUTHORIZATION);
            headers.remove(header::COOKIE);
            headers.remove(header::PROXY_AUTHORIZATION);
        }
        uri = next;
    }
}

/// `location` resolved against `base` as browsers do (RFC 3986 with the
/// WHATWG URL rules: query-only and dot-segment references, raw UTF-8
/// percent-encoded), through the `url` crate.
fn resolve(base: &Uri, location: &str) -> Option<Uri> {
    let base = url::Url::parse(&base.to_string()).ok()?;
    let mut next = base.join(location).ok()?;
    next.set_fragment(None);
    next.as_str().parse().ok()
}

/// Turns hyper-util's error into ours, finding the connector's kind.
fn classify(e: legacy::Error, method: &Method, uri: &Uri) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = source {
        if let Some(failure) = s.downcast_ref::<ConnectFailure>() {
            let kind = failure.kind;
            let error = io::Error::new(failure.error.kind(), failure.error.to_string());
            return Error::new(kind, method, uri).with_source(error);
        }
        source = s.source();
    }
    let kind = if e.is_connect() {
        ErrorKind::Connect
    } else {
        ErrorKind::Protocol
    };
    Error::new(kind, method, uri).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn redirect_locations_resolve_as_browsers_do() {
        let base: http::Uri = "http://h:8080/a/b?x=1".parse().unwrap();
        for (location, expected) in [
            ("/c", "http://h:8080/c"),
            ("c", "http://h:8080/a/c"),
            ("?q=1", "http://h:8080/a/b?q=1"),
            ("../x/./y", "http://h:8080/x/y"),
            ("//other/p", "http://other/p"),
            ("https://s/p#frag", "https://s/p"),
            ("/caf\u{e9}", "http://h:8080/caf%C3%A9"),
        ] {
            assert_eq!(
                resolve(&base, location).map(|u| u.to_string()).as_deref(),
                Some(expected),
                "{location}"
            );
        }
    }
}
