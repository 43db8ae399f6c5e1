//! The server: [`serve`] any tower [`Service`](tower_service::Service) (an axum `Router`, a
//! [`service_fn`]) on a listener, with limits and
//! graceful shutdown.
//!
//! # Design
//!
//! [`serve`] returns a [`Serve`] future that runs the accept loop. Each
//! accepted connection becomes a task of its own, spawned through
//! `tulipa-core`'s spawn hook, running hyper-util's automatic HTTP/1.1 or
//! HTTP/2 connection (HTTP/2 is recognised by its preface, so cleartext
//! prior knowledge and `h2` over TLS ALPN both work) on tulipa's
//! [`rt`](crate::rt) bridge and [`Io`] adapter. A connection's
//! error, a malformed request (hyper answers `400` and closes), or a
//! handler's panic (answered `500`, then closed) ends that connection
//! only; the accept loop goes on, and survives running out of descriptors
//! by backing off (the [`Listener`]s' accept streams).
//!
//! Limits:
//!
//! | limit | default | what happens past it |
//! | --- | --- | --- |
//! | [`header_read_timeout`](Builder::header_read_timeout) | 30 s | the connection is closed (also a client sending headers one byte a second) |
//! | [`max_header_size`](Builder::max_header_size) | 64 KiB | `431 Request Header Fields Too Large`, closed |
//! | [`max_body_size`](Builder::max_body_size) | 1 MiB (aiohttp's `client_max_size`) | a declared `Content-Length` over it: `413`, closed, before a byte is read; a chunked body: the handler's body read fails with [`LengthLimitError`](http_body_util::LengthLimitError), which axum answers with `413` |
//! | [`max_connections`](Builder::max_connections) | none | the accept loop waits; new connections queue in the kernel's backlog |
//!
//! A client that never reads its response costs bounded memory: hyper
//! stops pulling the response body when the socket's send buffer is full.
//!
//! Graceful shutdown ([`ServerHandle::shutdown`],
//! [`Serve::with_graceful_shutdown`]) stops accepting, lets every request
//! already received finish up to a deadline, closes idle keep-alive
//! connections at once, cuts what is left at the deadline, and returns a
//! [`ShutdownReport`] of what finished and what was cut.

mod listener;
mod service;
mod shared;

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::future::or;
use futures_lite::StreamExt;
use http::{Request, Response};
use hyper_util::server::conn::auto;
use tulipa_core::spawn::SpawnOptions;

use crate::io::Io;
use crate::rt::{TulipaExecutor, TulipaTimer};
pub use listener::{Listener, UnixAddr};
pub use service::{
    service_fn, FromHyper, HttpBody, HttpService, InFlight, RequestBody, ResponseBody, ServiceFn,
};
use service::{BoxError, Guarded};
pub use shared::ShutdownReport;
use shared::{ActiveGuard, Config, Conn, Shared};

/// Serves `service` on every connection `listener` accepts, with the
/// default [`Builder`] settings.
///
/// The returned [`Serve`] runs the accept loop when awaited (or spawned);
/// each connection runs in a task of its own on the current runtime.
///
/// # Examples
///
/// An axum router (axum with `default-features = false`: no tokio runtime):
///
/// ```no_run
/// use axum::{routing::get, Router};
///
/// # tulipa::run(async {
/// let app = Router::new().route("/", get(|| async { "Hello world." }));
/// let listener = tulipa_net::TcpListener::bind("127.0.0.1:8080").await?;
/// tulipa_http::serve(listener, app).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
///
/// # Errors
///
/// The [`Serve`] future fails if the listener fails for good, or when it
/// has no runtime to run connections on: await it inside `tulipa::run` or
/// `Runtime::block_on`, not a bare `block_on`.
///
/// # Tasks
///
/// Each connection task is named after the server and the peer (`serve
/// 127.0.0.1:8080: connection from 127.0.0.1:54321`) and records the line
/// that called `serve` as its spawn location, so task listings, debug
/// reports and panic reports point at your code.
#[track_caller]
pub fn serve<L, S, B>(listener: L, service: S) -> Serve
where
    L: Listener,
    S: HttpService<B>,
    B: HttpBody,
{
    Builder::new().serve(listener, service)
}

/// Settings of a server; [`serve`] uses the defaults.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use axum::{routing::get, Router};
///
/// # tulipa::run(async {
/// let app = Router::new().route("/", get(|| async { "Hello world." }));
/// let listener = tulipa_net::TcpListener::bind("127.0.0.1:8080").await?;
/// let server = tulipa_http::server::Builder::new()
///     .header_read_timeout(Some(Duration::from_secs(5)))
///     .max_body_size(Some(64 * 1024))
///     .max_connections(Some(10_000))
///     .serve(listener, app);
/// let handle = server.handle();
/// tulipa::spawn(server).detach();
/// // ... later, on a signal:
/// let report = handle.shutdown(Duration::from_secs(10)).await;
/// println!("{report}");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct Builder {
    http1: bool,
    http2: bool,
    keep_alive: bool,
    header_read_timeout: Option<Duration>,
    max_header_size: usize,
    config: Config,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: HTTP/1.1 with keep-alive and HTTP/2, a 30 s header
    /// read timeout, 64 KiB of headers, 1 MiB bodies, no connection limit,
    /// no TLS.
    pub fn new() -> Builder {
        Builder {
            http1: true,
            http2: true,
            keep_alive: true,
            header_read_timeout: Some(Duration::from_secs(30)),
            max_header_size: 64 * 1024,
            config: Config {
                max_body_size: Some(1024 * 1024),
                max_connections: None,
                tls: None,
                tls_handshake_timeout: Duration::from_secs(10),
            },
        }
    }

    /// Whether HTTP/1.1 connections are kept open for further requests
    /// (default `true`).
    pub fn keep_alive(mut self, keep_alive: bool) -> Builder {
        self.keep_alive = keep_alive;
        self
    }

    /// Whether to speak HTTP/1.x (default `true`).
    ///
    /// # Panics
    ///
    /// [`serve`](Builder::serve) panics if both HTTP/1 and HTTP/2 are off.
    pub fn http1(mut self, on: bool) -> Builder {
        self.http1 = on;
        self
    }

    /// Whether to speak HTTP/2: with prior knowledge in cleartext, and
    /// through ALPN `h2` over TLS (default `true`).
    pub fn http2(mut self, on: bool) -> Builder {
        self.http2 = on;
        self
    }

    /// How long a client may take to send a request's headers, from the
    /// first byte (or from the end of the previous response on a
    /// keep-alive connection); `None` waits forever. Default 30 s.
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Builder {
        self.header_read_timeout = timeout;
        self
    }

    /// The largest request head (request line and headers) accepted; a
    /// larger one is answered `431`. At least 8 KiB; default 64 KiB.
    pub fn max_header_size(mut self, bytes: usize) -> Builder {
        self.max_header_size = bytes.max(8192);
        self
    }

    /// The largest request body accepted, `None` for no limit. Default
    /// 1 MiB, as aiohttp's `client_max_size`.
    pub fn max_body_size(mut self, bytes: Option<u64>) -> Builder {
        self.config.max_body_size = bytes;
        self
    }

    /// The most connections open at once; past it, the server stops
    /// accepting until one closes. `None` (the default) for no limit.
    pub fn max_connections(mut self, limit: Option<usize>) -> Builder {
        self.config.max_connections = limit.map(|l| l.max(1));
        self
    }

    /// Serves over TLS with `acceptor`. Unless its config already lists
    /// ALPN protocols, it offers `h2` (when HTTP/2 is on) and `http/1.1`.
    pub fn tls(mut self, acceptor: tulipa_net::tls::TlsAcceptor) -> Builder {
        self.config.tls = Some(acceptor);
        self
    }

    /// How long a TLS handshake may take (default 10 s).
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Builder {
        self.config.tls_handshake_timeout = timeout;
        self
    }

    fn protocols(&self) -> Protocols {
        let mut h1 = hyper::server::conn::http1::Builder::new();
        h1.timer(TulipaTimer::new())
            .keep_alive(self.keep_alive)
            .header_read_timeout(self.header_read_timeout)
            .max_buf_size(self.max_header_size);
        let mut h2 = hyper::server::conn::http2::Builder::new(TulipaExecutor::new());
        h2.timer(TulipaTimer::new())
            .max_header_list_size(u32::try_from(self.max_header_size).unwrap_or(u32::MAX));
        match (self.http1, self.http2) {
            (true, true) => {
                let mut auto = auto::Builder::new(TulipaExecutor::new());
                auto.http1()
                    .timer(TulipaTimer::new())
                    .keep_alive(self.keep_alive)
                    .header_read_timeout(self.header_read_timeout)
                    .max_buf_size(self.max_header_size);
                auto.http2()
                    .timer(TulipaTimer::new())
                    .max_header_list_size(u32::try_from(self.max_header_size).unwrap_or(u32::MAX));
                Protocols::Auto(auto)
            }
            (true, false) => Protocols::Http1(h1),
            (false, true) => Protocols::Http2(h2),
            (false, false) => {
                panic!("server::Builder: HTTP/1 and HTTP/2 are both off; turn one on")
            }
        }
    }

    /// Serves `service` on `listener` with these settings; see [`serve`]
    /// (connection tasks record the caller of this method as their spawn
    /// location).
    ///
    /// # Panics
    ///
    /// Panics if both HTTP/1 and HTTP/2 are off.
    #[track_caller]
    pub fn serve<L, S, B>(self, listener: L, service: S) -> Serve
    where
        L: Listener,
        S: HttpService<B>,
        B: HttpBody,
    {
        let names = TaskNames {
            server: match listener.local_addr() {
                Ok(addr) => format!("serve {addr}"),
                Err(_) => "serve".to_owned(),
            },
            location: Location::caller(),
        };
        let hyper = Arc::new(self.protocols());
        let mut config = self.config;
        if let Some(acceptor) = config.tls.take() {
            let acceptor = if acceptor.config().alpn_protocols.is_empty() {
                let protocols: &[&[u8]] = match (self.http1, self.http2) {
                    (true, true) => &[b"h2", b"http/1.1"],
                    (false, true) => &[b"h2"],
                    _ => &[b"http/1.1"],
                };
                acceptor.with_alpn_protocols(protocols)
            } else {
                acceptor
            };
            config.tls = Some(acceptor);
        }
        let shared = Arc::new(Shared::new(config));
        let handle = ServerHandle {
            shared: shared.clone(),
        };
        let fut = accept_loop(listener, service, hyper, shared, names);
        Serve {
            fut: Box::pin(fut),
            handle,
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("http1", &self.http1)
            .field("http2", &self.http2)
            .field("keep_alive", &self.keep_alive)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_header_size", &self.max_header_size)
            .field("max_body_size", &self.config.max_body_size)
            .field("max_connections", &self.config.max_connections)
            .field("tls", &self.config.tls.is_some())
            .finish()
    }
}

/// How connection tasks are named and located: the server's name and the
/// user's call of [`serve`] (captured by `#[track_caller]`), so a panic or
/// a debug report points at the user's code, not at this crate's spawn.
struct TaskNames {
    /// e.g. `serve 127.0.0.1:8080`.
    server: String,
    location: &'static Location<'static>,
}

impl TaskNames {
    fn connection(&self, peer: Option<&str>) -> SpawnOptions {
        let name = match peer {
            Some(peer) => format!("{}: connection from {peer}", self.server),
            None => format!("{}: connection", self.server),
        };
        SpawnOptions::new().name(name).location(self.location)
    }
}

/// The accept loop: accepts until the listener fails or shutdown begins,
/// then drops the listener and waits for the connections.
async fn accept_loop<L, S, B>(
    listener: L,
    service: S,
    hyper: Arc<Protocols>,
    shared: Arc<Shared>,
    names: TaskNames,
) -> io::Result<ShutdownReport>
where
    L: Listener,
    S: HttpService<B>,
    B: HttpBody,
{
    let vectored = listener.writes_vectored();
    {
        let mut incoming = listener.incoming();
        loop {
            if let Some(max) = shared.config.max_connections {
                or(shared.fewer_than(max), shared.closing()).await;
            }
            let next = or(async { Some(incoming.next().await) }, async {
                shared.closing().await;
                None
            })
            .await;
            let stream = match next {
                // Shutdown began, or the listener's stream ended.
                None | Some(None) => break,
                Some(Some(Err(e))) => return Err(e),
                Some(Some(Ok(stream))) => stream,
            };
            let options = names.connection(listener.peer(&stream).as_deref());
            if let Err(e) = spawn_connection(
                options,
                stream,
                vectored,
                service.clone(),
                hyper.clone(),
                shared.clone(),
            ) {
                // No runtime to run connections on (a bare `block_on`), or
                // it is shutting down: serving cannot go on.
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "serve: cannot run a connection: {e} (await the server inside \
                         tulipa::run or Runtime::block_on)"
                    ),
                ));
            }
        }
    }
    // Stop accepting: the OS refuses new connections from here on.
    drop(listener);
    if !shared.is_closing() {
        shared.begin_close(None);
    }
    Ok(shared.drain().await)
}

fn spawn_connection<I, S, B>(
    options: SpawnOptions,
    stream: I,
    vectored: bool,
    service: S,
    hyper: Arc<Protocols>,
    shared: Arc<Shared>,
) -> io::Result<()>
where
    I: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
    S: HttpService<B>,
    B: HttpBody,
{
    // Made outside the task: if the runtime refuses the task, dropping it
    // still counts the connection out.
    let guard = ActiveGuard::new(shared.clone());
    let conn = Arc::new(Conn::default());
    let service = Guarded {
        inner: service,
        shared: shared.clone(),
        conn: conn.clone(),
    };
    let task = async move {
        let _guard = guard;
        match shared.config.tls.clone() {
            None => {
                run_connection(
                    &shared,
                    &hyper,
                    Io::with_vectored(stream, vectored),
                    service,
                    &conn,
                )
                .await
            }
            Some(acceptor) => {
                let handshake = tulipa_timer::timeout(
                    shared.config.tls_handshake_timeout,
                    acceptor.accept(stream),
                );
                let handshake = or(async { Some(handshake.await) }, async {
                    shared.closing().await;
                    None
                });
                // A failed, slow or interrupted handshake ends only this
                // connection.
                if let Some(Ok(Ok(tls))) = handshake.await {
                    run_connection(
                        &shared,
                        &hyper,
                        Io::with_vectored(tls, false),
                        service,
                        &conn,
                    )
                    .await;
                }
            }
        }
    };
    // If the runtime refuses the task, the task (and the socket) is
    // dropped, and the guard counts the connection out.
    tulipa_core::spawn::spawn_with(options, task)
}

/// Runs one connection until it ends, finishing gracefully when shutdown
/// begins and dropping it when the grace period is over.
async fn run_connection<I, S, B>(
    shared: &Shared,
    hyper: &Protocols,
    io: I,
    service: Guarded<S>,
    conn: &Conn,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: HttpService<B>,
    B: HttpBody,
{
    match hyper {
        // HTTP/2 is told from HTTP/1 by its preface; upgrades (WebSocket)
        // work on HTTP/1.
        Protocols::Auto(auto) => {
            drive(
                shared,
                conn,
                auto.serve_connection_with_upgrades(io, service),
            )
            .await
        }
        Protocols::Http1(h1) => {
            drive(
                shared,
                conn,
                h1.serve_connection(io, service).with_upgrades(),
            )
            .await
        }
        Protocols::Http2(h2) => drive(shared, conn, h2.serve_connection(io, service)).await,
    }
}

/// Runs a connection, telling it to finish gracefully when shutdown
/// begins, and dropping it (counting it as cut) when the grace period is
/// over.
async fn drive<C>(shared: &Shared, conn: &Conn, connection: C)
where
    C: Future + Graceful,
{
    let mut connection = pin!(connection);
    let finished = or(async { Some(connection.as_mut().await) }, async {
        shared.closing().await;
        None
    })
    .await;
    if finished.is_some() {
        // Errors of one connection (a reset, a malformed request already
        // answered 400, a timeout) are that client's business.
        return;
    }
    connection.as_mut().graceful();
    let finished = or(async { Some(connection.as_mut().await) }, async {
        shared.cut().await;
        None
    })
    .await;
    if finished.is_none() {
        shared.record_cut(conn.in_flight.load(Ordering::Acquire));
    }
}

/// The hyper connection builders a server uses, by protocol choice.
///
/// hyper-util's automatic connection reads the first bytes to tell HTTP/2
/// from HTTP/1 even when told to serve only one of them; with one protocol
/// on, hyper's own builder serves it, so the other is really refused.
enum Protocols {
    Auto(auto::Builder<TulipaExecutor>),
    Http1(hyper::server::conn::http1::Builder),
    Http2(hyper::server::conn::http2::Builder<TulipaExecutor>),
}

/// A hyper connection that can be told to finish gracefully.
trait Graceful {
    fn graceful(self: Pin<&mut Self>);
}

impl<I, S, B, E> Graceful for auto::UpgradeableConnection<'_, I, S, E>
where
    S: hyper::service::Service<Request<hyper::body::Incoming>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: http_body::Body + 'static,
    B::Error: Into<BoxError>,
    E: auto::HttpServerConnExec<S::Future, B>,
{
    fn graceful(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, B> Graceful for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    S: hyper::service::Service<Request<hyper::body::Incoming>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: http_body::Body + 'static,
    B::Error: Into<BoxError>,
{
    fn graceful(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, B, E> Graceful for hyper::server::conn::http2::Connection<I, S, E>
where
    S: hyper::service::Service<Request<hyper::body::Incoming>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: http_body::Body + 'static,
    B::Error: Into<BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn graceful(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// The accept loop of a server, as a future: from [`serve`] or
/// [`Builder::serve`].
///
/// Await it (or spawn it) to serve. It completes with
/// - `Ok(report)` after a graceful shutdown (see [`ServerHandle::shutdown`]
///   and [`Serve::with_graceful_shutdown`]) once every connection closed;
/// - `Err(e)` when the listener fails for good (not for errors of one
///   connection, nor for running out of descriptors), or when no runtime
///   runs its connections (awaited under a bare `block_on`, or the runtime
///   is shutting down). Connections already open go on; the
///   [`ServerHandle`] still shuts them down.
///
/// Dropping it stops accepting; connections already open go on.
#[must_use = "a server does nothing unless awaited or spawned"]
pub struct Serve {
    fut: Pin<Box<dyn Future<Output = io::Result<ShutdownReport>> + Send>>,
    handle: ServerHandle,
}

impl Serve {
    /// A handle to watch and shut down this server from elsewhere.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Shuts the server down gracefully when `signal` completes, giving
    /// requests in flight `grace` to finish (aiohttp's `shutdown_timeout`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use axum::Router;
    /// use std::time::Duration;
    /// use tulipa_process::signal::ctrl_c;
    ///
    /// # tulipa::run(async {
    /// # let app = Router::new();
    /// let listener = tulipa_net::TcpListener::bind("127.0.0.1:8080").await?;
    /// let report = tulipa_http::serve(listener, app)
    ///     .with_graceful_shutdown(async { let _ = ctrl_c().await; }, Duration::from_secs(30))
    ///     .await?;
    /// println!("{report}");
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub fn with_graceful_shutdown<F>(self, signal: F, grace: Duration) -> Serve
    where
        F: Future + Send + 'static,
    {
        let shared = self.handle.shared.clone();
        let inner = self.fut;
        let fut = async move {
            let trigger = async move {
                signal.await;
                shared.begin_close(Some(grace));
                std::future::pending::<io::Result<ShutdownReport>>().await
            };
            // `or` polls the accept loop first, so once the signal starts
            // the shutdown, the loop sees it and finishes the drain.
            or(inner, trigger).await
        };
        Serve {
            fut: Box::pin(fut),
            handle: self.handle,
        }
    }
}

impl Future for Serve {
    type Output = io::Result<ShutdownReport>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.fut.as_mut().poll(cx)
    }
}

impl fmt::Debug for Serve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("handle", &self.handle)
            .finish()
    }
}

/// Watches and shuts down a server; from [`Serve::handle`]. Cheap to clone.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
}

impl ServerHandle {
    /// Shuts the server down gracefully: stops accepting, closes idle
    /// connections, lets every request already received finish for up to
    /// `grace`, then cuts what is left, and reports.
    ///
    /// Calling it again (or from several tasks) waits for the same
    /// shutdown; only the first call's `grace` counts.
    ///
    /// # Cancel safety
    ///
    /// The shutdown, once begun, goes on if this future is dropped (the
    /// [`Serve`] future drives it too); dropping it only stops waiting.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownReport {
        self.shared.begin_close(Some(grace));
        self.shared.drain().await
    }

    /// Connections open now.
    pub fn active_connections(&self) -> usize {
        self.shared.active()
    }

    /// Connections accepted so far.
    pub fn accepted_connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Requests whose response is not sent yet.
    pub fn in_flight_requests(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Whether a shutdown has begun.
    pub fn is_closing(&self) -> bool {
        self.shared.is_closing()
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("active_connections", &self.active_connections())
            .field("in_flight_requests", &self.in_flight_requests())
            .field("closing", &self.is_closing())
            .finish()
    }
}
