//! [`Server`]: listening sockets whose accepted connections run protocols.
//!
//! # Design
//!
//! One *accept loop* future per listening socket, spawned on the runtime.
//! Each accepted connection is handed to a [`Handler`] (plain: make the
//! protocol and spawn its driver; TLS: spawn a task that handshakes first),
//! so the loop itself never runs user code but the protocol factory (a
//! factory that panics fails that connection only: the panic is caught and
//! handed to the runtime's panic policy as a task's). The loop accepts up
//! to [`ACCEPT_BUDGET`] connections per poll, then yields.
//!
//! `accept(2)` errors never end the loop: per-connection errors
//! (`ECONNABORTED`, `EPROTO`, ...) are skipped, resource exhaustion
//! (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`) backs off (10 ms doubling to
//! 160 ms, the crate's accept policy), and anything else backs off too, so
//! a server stops only when [`Server::close`] is called. Each error is
//! counted in [`Server::accept_errors`].
//!
//! [`ServerShared`] holds, under one mutex: whether the server is closed,
//! the accept loops' wakers (so `close` wakes them and they drop their
//! listeners), the number of loops still running, the live connections'
//! transports (for `close_clients` / `abort_clients`, and for
//! `wait_closed`, which waits until the loops and the connections are all
//! gone), and the tasks waiting in `wait_closed` / `serve_forever`.
//! The tasks a server spawns (accept loops, connections) are named after
//! the server's first address and the peer, and carry the location of the
//! user's call that made the server (captured with `#[track_caller]`) as
//! their spawn location.
//!
//! Lock order: the server lock, then a transport's state lock (never the
//! reverse: the driver's end hook runs after the transport lock is
//! released).

use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::os::unix::net::{UnixListener, UnixStream};
use std::panic::{self, AssertUnwindSafe, Location};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tulipa_core::spawn::{Spawn, SpawnOptions};
use tulipa_reactor::Async;

use super::stream::Io;
use super::transport::{lock, SocketAddress, Transport};
use super::{current_spawner, start, StreamProtocol};
use crate::accept::{poll_accept_with_backoff, Backoff};
use crate::ToSocketAddrs;

/// Connections accepted per poll of an accept loop before it yields.
const ACCEPT_BUDGET: usize = 64;

/// A listening socket an accept loop can poll.
pub(crate) trait Listener: Send + 'static {
    type Stream: Io;
    /// Accepts one connection: the stream, its peer and local addresses.
    #[allow(clippy::type_complexity)]
    fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Stream, Option<SocketAddress>, Option<SocketAddress>)>>;
    /// Called when the loop ends (a Unix listener removes its file).
    fn cleanup(&self) {}
}

impl Listener for crate::TcpListener {
    type Stream = Async<std::net::TcpStream>;

    fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Stream, Option<SocketAddress>, Option<SocketAddress>)>> {
        crate::TcpListener::poll_accept(self, cx).map_ok(|(stream, peer)| {
            let io = stream.io;
            let _ = io.get_ref().set_nodelay(true);
            let local = io.get_ref().local_addr().ok().map(SocketAddress::Inet);
            (io, Some(SocketAddress::Inet(peer)), local)
        })
    }
}

/// A Unix listener that removes its socket file when the server closes
/// (if the file is still its own).
pub(crate) struct UnixListen {
    io: Async<UnixListener>,
    file: Option<crate::unix::SocketFile>,
}

impl Listener for UnixListen {
    type Stream = Async<UnixStream>;

    fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Stream, Option<SocketAddress>, Option<SocketAddress>)>> {
        // Accepts only while the listener reads ready (see
        // `TcpListener::poll_accept`).
        self.io.poll_read_with(cx, UnixListener::accept).map(|r| {
            r.and_then(|(stream, peer)| {
                let local = stream.local_addr().ok().map(SocketAddress::Unix);
                let s = Async::new(stream)?;
                // A stream socket: a short read means its buffer is empty.
                s.set_byte_stream();
                Ok((s, Some(SocketAddress::Unix(peer)), local))
            })
        })
    }

    fn cleanup(&self) {
        if let Some(file) = &self.file {
            file.remove_if_ours();
        }
    }
}

/// What a server does with an accepted connection.
pub(crate) trait Handler<S>: Send + Sync + 'static {
    fn handle(
        &self,
        stream: S,
        peer: Option<SocketAddress>,
        local: Option<SocketAddress>,
        server: &Arc<ServerShared>,
        spawner: &dyn Spawn,
    );
}

/// Plain connections: make the protocol, spawn its driver.
pub(crate) struct Plain<F>(pub(crate) F);

impl<S, P, F> Handler<S> for Plain<F>
where
    S: Io,
    P: StreamProtocol,
    F: Fn() -> P + Send + Sync + 'static,
{
    fn handle(
        &self,
        stream: S,
        peer: Option<SocketAddress>,
        local: Option<SocketAddress>,
        server: &Arc<ServerShared>,
        spawner: &dyn Spawn,
    ) {
        // The factory is user code run by the accept loop: a panic in it
        // must fail this connection only, not end the loop (the server
        // would stop accepting while `is_serving` still said true).
        let protocol = match panic::catch_unwind(AssertUnwindSafe(|| (self.0)())) {
            Ok(p) => p,
            Err(payload) => {
                drop(stream);
                report_panic(spawner, payload);
                return;
            }
        };
        let options = server.connection_task(peer.as_ref());
        let (transport, driver) = start(
            protocol,
            stream,
            peer,
            local,
            #[cfg(feature = "tls")]
            None,
        );
        let driver = driver.on_end(server.register(transport));
        // A runtime that refuses work is shutting down: the driver is
        // dropped unstarted, which closes the socket and unregisters it.
        let _ = spawner.spawn_detached_with(options, Box::pin(driver));
    }
}

/// Hands a panic caught in the accept loop to the runtime's panic policy,
/// as the panic of a task of its own.
fn report_panic(spawner: &dyn Spawn, payload: Box<dyn std::any::Any + Send>) {
    let _ = spawner.spawn_detached(Box::pin(async move { panic::resume_unwind(payload) }));
}

struct ServerState {
    closed: bool,
    /// The accept loops accept (asyncio's `start_serving`); until then
    /// they wait, and connections queue in the listeners' backlogs.
    serving: bool,
    /// One slot per accept loop.
    loop_wakers: Vec<Option<Waker>>,
    loops_running: usize,
    conns: HashMap<u64, Transport>,
    next_id: u64,
    /// Tasks in `wait_closed` / `serve_forever`.
    waiters: Vec<Waker>,
}

/// The state behind a [`Server`].
pub(crate) struct ServerShared {
    state: Mutex<ServerState>,
    addrs: Vec<SocketAddress>,
    accept_errors: AtomicU64,
    /// Where the user made the server: the spawn location of its tasks.
    location: &'static Location<'static>,
}

impl ServerShared {
    fn new(
        addrs: Vec<SocketAddress>,
        loops: usize,
        serving: bool,
        location: &'static Location<'static>,
    ) -> Arc<ServerShared> {
        Arc::new(ServerShared {
            location,
            state: Mutex::new(ServerState {
                closed: false,
                serving,
                loop_wakers: vec![None; loops],
                loops_running: loops,
                conns: HashMap::new(),
                next_id: 0,
                waiters: Vec::new(),
            }),
            addrs,
            accept_errors: AtomicU64::new(0),
        })
    }

    /// How a connection's task is spawned: named after the server and the
    /// peer, located where the user made the server.
    pub(crate) fn connection_task(&self, peer: Option<&SocketAddress>) -> SpawnOptions {
        let peer = peer.map_or_else(|| "(unknown peer)".to_string(), ToString::to_string);
        SpawnOptions::new()
            .name(format!("connection {peer} to server {}", self.name()))
            .location(self.location)
    }

    /// The server's first address, as task names show it.
    fn name(&self) -> String {
        self.addrs
            .first()
            .map_or_else(|| "(no address)".to_string(), ToString::to_string)
    }

    /// Remembers a live connection; the returned hook forgets it.
    pub(crate) fn register(self: &Arc<Self>, transport: Transport) -> Box<dyn FnOnce() + Send> {
        let mut st = lock(&self.state);
        let id = st.next_id;
        st.next_id += 1;
        st.conns.insert(id, transport);
        drop(st);
        let server = self.clone();
        Box::new(move || {
            let mut st = lock(&server.state);
            st.conns.remove(&id);
            let waiters = server.take_waiters_if_done(&mut st);
            drop(st);
            waiters.into_iter().for_each(Waker::wake);
        })
    }

    fn take_waiters_if_done(&self, st: &mut ServerState) -> Vec<Waker> {
        if st.closed && st.loops_running == 0 && st.conns.is_empty() {
            std::mem::take(&mut st.waiters)
        } else {
            Vec::new()
        }
    }
}

/// One listening socket's accept loop. See the module docs.
pub(crate) struct AcceptLoop<L: Listener, H> {
    listener: L,
    handler: Arc<H>,
    server: Arc<ServerShared>,
    index: usize,
    backoff: Backoff,
    spawner: Arc<dyn Spawn>,
    ended: bool,
}

// Nothing in the loop is pinned.
impl<L: Listener, H> Unpin for AcceptLoop<L, H> {}

impl<L: Listener, H: Handler<L::Stream>> Future for AcceptLoop<L, H> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        {
            let mut st = lock(&this.server.state);
            if st.closed {
                drop(st);
                this.end();
                return Poll::Ready(());
            }
            match &st.loop_wakers[this.index] {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.loop_wakers[this.index] = Some(cx.waker().clone()),
            }
            if !st.serving {
                // `start_serving` wakes the loop.
                return Poll::Pending;
            }
        }
        for _ in 0..ACCEPT_BUDGET {
            let errors = &this.server.accept_errors;
            let listener = &this.listener;
            let res = poll_accept_with_backoff(&mut this.backoff, cx, |cx| {
                let r = listener.poll_accept(cx);
                if let Poll::Ready(Err(_)) = &r {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                r
            });
            match res {
                Poll::Ready(Ok((stream, peer, local))) => {
                    this.handler
                        .handle(stream, peer, local, &this.server, &*this.spawner);
                }
                // A broken listener: back off like for exhaustion rather than
                // spin or stop serving.
                Poll::Ready(Err(_)) => this.backoff.start(),
                Poll::Pending => return Poll::Pending,
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<L: Listener, H> AcceptLoop<L, H> {
    fn end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.listener.cleanup();
        let mut st = lock(&self.server.state);
        st.loops_running -= 1;
        st.loop_wakers[self.index] = None;
        let waiters = self.server.take_waiters_if_done(&mut st);
        drop(st);
        waiters.into_iter().for_each(Waker::wake);
    }
}

impl<L: Listener, H> Drop for AcceptLoop<L, H> {
    fn drop(&mut self) {
        self.end();
    }
}

/// Spawns one accept loop per listener.
pub(crate) fn serve<L: Listener, H: Handler<L::Stream>>(
    listeners: Vec<L>,
    addrs: Vec<SocketAddress>,
    handler: H,
    options: &ServerOptions,
    location: &'static Location<'static>,
) -> io::Result<Server> {
    let spawner = current_spawner()?;
    let shared = ServerShared::new(addrs, listeners.len(), options.start_serving, location);
    let accept_task = SpawnOptions::new()
        .name(format!("accept loop of server {}", shared.name()))
        .location(location);
    let handler = Arc::new(handler);
    for (index, listener) in listeners.into_iter().enumerate() {
        let accept = AcceptLoop {
            listener,
            handler: handler.clone(),
            server: shared.clone(),
            index,
            backoff: Backoff::default(),
            spawner: spawner.clone(),
            ended: false,
        };
        if let Err(e) = spawner.spawn_detached_with(accept_task.clone(), Box::pin(accept)) {
            Server {
                shared: shared.clone(),
            }
            .close();
            return Err(e);
        }
    }
    Ok(Server { shared })
}

/// Binds TCP listeners for every address `addr` resolves to.
pub(crate) async fn bind_all<A: ToSocketAddrs>(
    addr: A,
) -> io::Result<(Vec<crate::TcpListener>, Vec<SocketAddress>)> {
    let resolved = addr.to_socket_addrs().await?;
    let mut listeners = Vec::new();
    let mut addrs = Vec::new();
    for a in resolved {
        let l = crate::TcpListener::bind(a).await?;
        addrs.push(SocketAddress::Inet(l.local_addr()?));
        listeners.push(l);
    }
    if listeners.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the server address resolved to no address: give a host and port such as \
             \"127.0.0.1:8000\"",
        ));
    }
    Ok((listeners, addrs))
}

/// Listens on `addr` and runs a protocol made by `factory` on every
/// accepted connection: asyncio's `loop.create_server(protocol_factory,
/// host, port)`.
///
/// The server starts serving at once (asyncio's `start_serving=True`). A
/// name that resolves to several addresses (`"localhost:8000"`) gets one
/// listening socket per address, as in asyncio. Listeners use
/// `SO_REUSEADDR`; accepted sockets get `TCP_NODELAY`. Dropping the
/// [`Server`] handle does not stop it: call [`Server::close`].
///
/// Each connection runs in a task of its own named
/// `connection <peer> to server <address>` (its accept loop:
/// `accept loop of server <address>`), whose spawn location is the call
/// of this function: that is what `task::current()`, `Handle::tasks()`
/// and debug mode's reports show. The other server constructors do the
/// same.
///
/// # Errors
///
/// Fails when no runtime is current ([`NotFound`](io::ErrorKind::NotFound)),
/// when `addr` does not resolve, or when an address cannot be bound (e.g.
/// [`AddrInUse`](io::ErrorKind::AddrInUse)).
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes what it bound.
#[track_caller]
pub fn create_server<P, F, A>(factory: F, addr: A) -> impl Future<Output = io::Result<Server>>
where
    P: StreamProtocol,
    F: Fn() -> P + Send + Sync + 'static,
    A: ToSocketAddrs,
{
    let location = Location::caller();
    async move {
        current_spawner()?;
        let (listeners, addrs) = bind_all(addr).await?;
        serve(
            listeners,
            addrs,
            Plain(factory),
            &ServerOptions::new(),
            location,
        )
    }
}

/// What [`create_server_with`] does besides listening: asyncio's
/// `create_server` keywords that are not addresses.
///
/// # Examples
///
/// ```
/// use tulipa_net::protocol::ServerOptions;
///
/// let options = ServerOptions::new().start_serving(false);
/// assert!(!options.get_start_serving());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    start_serving: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            start_serving: true,
        }
    }
}

impl ServerOptions {
    /// The defaults: the server serves at once.
    pub fn new() -> ServerOptions {
        ServerOptions::default()
    }

    /// Whether the server accepts connections as soon as it is made
    /// (asyncio's `start_serving`, `true` by default). With `false` it is
    /// bound and listening but accepts nothing until
    /// [`Server::start_serving`] or [`Server::serve_forever`]; clients that
    /// connect meanwhile wait in the listen backlog.
    pub fn start_serving(mut self, start: bool) -> ServerOptions {
        self.start_serving = start;
        self
    }

    /// Whether the server will serve at once.
    pub fn get_start_serving(&self) -> bool {
        self.start_serving
    }
}

/// [`create_server`] with [`ServerOptions`]: asyncio's
/// `loop.create_server(protocol_factory, host, port, start_serving=...)`.
///
/// # Errors
///
/// As for [`create_server`].
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes what it bound.
///
/// # Examples
///
/// ```
/// use tulipa_net::protocol::{create_server_with, Protocol, ServerOptions};
///
/// struct Discard;
/// impl Protocol for Discard {
///     fn data_received(&mut self, _: &[u8]) {}
/// }
///
/// tulipa::run(async {
///     let options = ServerOptions::new().start_serving(false);
///     let server = create_server_with(|| Discard, "127.0.0.1:0", &options).await?;
///     assert!(!server.is_serving());
///     server.start_serving();
///     assert!(server.is_serving());
///     server.close();
///     server.wait_closed().await;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[track_caller]
pub fn create_server_with<P, F, A>(
    factory: F,
    addr: A,
    options: &ServerOptions,
) -> impl Future<Output = io::Result<Server>>
where
    P: StreamProtocol,
    F: Fn() -> P + Send + Sync + 'static,
    A: ToSocketAddrs,
{
    let location = Location::caller();
    let options = options.clone();
    async move {
        current_spawner()?;
        let (listeners, addrs) = bind_all(addr).await?;
        serve(listeners, addrs, Plain(factory), &options, location)
    }
}

/// Runs a protocol on every connection accepted by a listener you built
/// (asyncio's `create_server(factory, sock=...)`): use
/// [`TcpSocket`](crate::TcpSocket) for a backlog, `SO_REUSEPORT` or buffer
/// sizes that [`create_server`] does not set.
///
/// # Errors
///
/// Fails when no runtime is current
/// ([`NotFound`](io::ErrorKind::NotFound)) or the listener has no local
/// address.
///
/// # Examples
///
/// ```
/// use tulipa_net::protocol::{create_server_with_listener, Protocol};
/// use tulipa_net::TcpSocket;
///
/// struct Discard;
/// impl Protocol for Discard {
///     fn data_received(&mut self, _: &[u8]) {}
/// }
///
/// tulipa::run(async {
///     let socket = TcpSocket::new_v4()?;
///     socket.set_reuseaddr(true)?;
///     socket.bind("127.0.0.1:0".parse().unwrap())?;
///     let server = create_server_with_listener(|| Discard, socket.listen(4096)?)?;
///     assert!(server.local_addr().is_some());
///     server.close();
///     server.wait_closed().await;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[track_caller]
pub fn create_server_with_listener<P, F>(
    factory: F,
    listener: crate::TcpListener,
) -> io::Result<Server>
where
    P: StreamProtocol,
    F: Fn() -> P + Send + Sync + 'static,
{
    current_spawner()?;
    let addrs = vec![SocketAddress::Inet(listener.local_addr()?)];
    serve(
        vec![listener],
        addrs,
        Plain(factory),
        &ServerOptions::new(),
        Location::caller(),
    )
}

/// Binds a Unix listener at `path`, replacing a stale socket file (the
/// same rules as `start_unix_server`: see `unix::bind_server`).
pub(crate) fn bind_unix(path: &Path) -> io::Result<(UnixListen, Vec<SocketAddress>)> {
    let (listener, file) = crate::unix::bind_server(path)?;
    let local = listener.local_addr()?;
    let io = Async::new(listener)?;
    Ok((
        UnixListen {
            io,
            file: Some(file),
        },
        vec![SocketAddress::Unix(local)],
    ))
}

/// Listens on the Unix socket `path` and runs a protocol on every accepted
/// connection: asyncio's `loop.create_unix_server`.
///
/// A stale socket file at `path` is replaced, any other file refused; the
/// file is removed when the server closes, if it is still the one it bound
/// (asyncio's `cleanup_socket=True`).
///
/// # Errors
///
/// Fails when no runtime is current, or when `path` cannot be bound (it
/// exists and is not a socket, or its directory is missing).
#[track_caller]
pub fn create_unix_server<P, F>(factory: F, path: impl AsRef<Path>) -> io::Result<Server>
where
    P: StreamProtocol,
    F: Fn() -> P + Send + Sync + 'static,
{
    current_spawner()?;
    let (listener, addrs) = bind_unix(path.as_ref())?;
    serve(
        vec![listener],
        addrs,
        Plain(factory),
        &ServerOptions::new(),
        Location::caller(),
    )
}

/// A running server: asyncio's `Server`, from [`create_server`] and
/// friends.
///
/// Cheap to clone; every clone controls the same server.
#[derive(Clone)]
pub struct Server {
    pub(crate) shared: Arc<ServerShared>,
}

impl Server {
    /// The first IP address it listens on (handy with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        super::first_inet(&self.shared.addrs)
    }

    /// Every address it listens on (asyncio's `Server.sockets`).
    pub fn addrs(&self) -> &[SocketAddress] {
        &self.shared.addrs
    }

    /// Whether it accepts connections: started serving and not closed
    /// (asyncio's `is_serving`).
    pub fn is_serving(&self) -> bool {
        let st = lock(&self.shared.state);
        st.serving && !st.closed
    }

    /// Starts accepting connections, for a server made with
    /// [`ServerOptions::start_serving`]`(false)`: asyncio's
    /// `start_serving`. Idempotent; does nothing once the server is
    /// closed.
    pub fn start_serving(&self) {
        let mut st = lock(&self.shared.state);
        if st.serving || st.closed {
            return;
        }
        st.serving = true;
        let wake: Vec<Waker> = st.loop_wakers.iter_mut().filter_map(Option::take).collect();
        drop(st);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Stops accepting: the listening sockets close (soon, when their
    /// accept loops next run). Connections already accepted go on; see
    /// [`close_clients`](Server::close_clients). Idempotent.
    pub fn close(&self) {
        let mut st = lock(&self.shared.state);
        st.closed = true;
        let mut wake: Vec<Waker> = st.loop_wakers.iter_mut().filter_map(Option::take).collect();
        wake.extend(self.shared.take_waiters_if_done(&mut st));
        // serve_forever waiters return as soon as the server is closed.
        wake.append(&mut st.waiters);
        drop(st);
        wake.into_iter().for_each(Waker::wake);
    }

    /// Closes every live connection gracefully ([`Transport::close`]).
    pub fn close_clients(&self) {
        for t in self.transports() {
            t.close();
        }
    }

    /// Aborts every live connection ([`Transport::abort`]).
    pub fn abort_clients(&self) {
        for t in self.transports() {
            t.abort();
        }
    }

    fn transports(&self) -> Vec<Transport> {
        lock(&self.shared.state).conns.values().cloned().collect()
    }

    /// How many accepted connections are still live.
    pub fn connection_count(&self) -> usize {
        lock(&self.shared.state).conns.len()
    }

    /// How many `accept` errors the accept loops survived (out of
    /// descriptors, aborted handshakes, ...).
    pub fn accept_errors(&self) -> u64 {
        self.shared.accept_errors.load(Ordering::Relaxed)
    }

    /// Waits until the server is closed, its listening sockets are gone and
    /// every connection it accepted has ended (asyncio 3.12's
    /// `wait_closed`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes.
    pub async fn wait_closed(&self) {
        poll_fn(|cx| {
            let mut st = lock(&self.shared.state);
            if st.closed && st.loops_running == 0 && st.conns.is_empty() {
                return Poll::Ready(());
            }
            if !st.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                st.waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Serves until [`close`](Server::close) is called (from another task
    /// or a callback): asyncio's `serve_forever`. It starts serving first
    /// if the server was made with
    /// [`ServerOptions::start_serving`]`(false)`; otherwise it only waits.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it does not stop the server.
    pub async fn serve_forever(&self) {
        self.start_serving();
        poll_fn(|cx| {
            let mut st = lock(&self.shared.state);
            if st.closed {
                return Poll::Ready(());
            }
            if !st.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                st.waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.shared.addrs)
            .field("serving", &self.is_serving())
            .finish_non_exhaustive()
    }
}
