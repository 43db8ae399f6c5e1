//! [`Server`]: the accept loops behind [`start_server`](crate::start_server)
//! and [`start_unix_server`](crate::start_unix_server).
//!
//! # Design
//!
//! One accept-loop task per listening socket, spawned through
//! [`tulipa_core::spawn`] on the runtime that was current when the server
//! started; each accepted connection becomes a task of its own, made by
//! the server's connection function (plain: split the socket into a
//! [`StreamReader`]/[`StreamWriter`] pair and call the user's handler; TLS:
//! handshake first, in the task), so a slow handler or handshake never
//! delays accepting. A handler whose call panics fails that connection
//! only; the panic goes to the runtime's panic policy. The loop yields to
//! the scheduler after 64 connections in a row.
//!
//! Every task is spawned with [`SpawnOptions`]: named after the server and
//! the peer (`start_server 127.0.0.1:8000: connection from
//! 127.0.0.1:54321`), with the user's call of the public constructor
//! (captured by `#[track_caller]`) as its spawn location, so reports point
//! at the user's code.
//!
//! The loop skips per-connection `accept` errors and backs off (10 ms
//! doubling to 160 ms) on resource exhaustion (`EMFILE`, ...) and on any
//! other error, so the server survives running out of descriptors and
//! resumes when they free up (the crate's accept policy, see
//! [`TcpListener::incoming`](crate::TcpListener::incoming)).
//!
//! # State
//!
//! `Shared` holds, under one mutex (a leaf: no other lock is taken under
//! it, and wakers are woken after it is released): `closed`, the wakers of
//! the accept loops (woken by `close` so they drop their listeners), the
//! number of loops still running, the number of live connection tasks, and
//! the wakers of `wait_closed` / `serve_forever` callers. A connection
//! task holds a guard that decrements the count when the task ends or is
//! dropped unfinished (runtime shutdown), so `wait_closed` cannot hang on a
//! task that no longer exists; an accept loop likewise holds a guard made
//! before it is spawned (even a loop dropped unpolled is counted out).
//!
//! The user's [`Server`] handles share an inner `Arc`. As in asyncio (and
//! as a [`protocol::Server`](crate::protocol::Server)), dropping the last
//! handle does not stop the server: the accept loops keep their own
//! reference and serve until [`Server::close`] or the runtime's shutdown.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use std::panic::Location;

use tulipa_core::spawn::{Spawn, SpawnOptions};

use crate::accept::{poll_accept_with_backoff, Backoff};
use crate::split::{OwnedReadHalf, OwnedWriteHalf, SplitStream};
use crate::stream::{StreamReader, StreamWriter};

/// Connections an accept loop takes in a row before it yields.
const ACCEPT_BATCH: usize = 64;

/// A listening socket the server's accept loop can poll.
pub(crate) trait Listener: Send + Sync + 'static {
    type Stream: Send + 'static;
    /// Accepts one connection: the stream and its peer's address.
    fn poll_accept_stream(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Stream, PeerAddr)>>;
}

/// The peer of an accepted connection, for naming its task.
#[derive(Debug)]
pub(crate) enum PeerAddr {
    Inet(std::net::SocketAddr),
    Unix(std::os::unix::net::SocketAddr),
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddr::Inet(a) => a.fmt(f),
            PeerAddr::Unix(a) => match a.as_pathname() {
                Some(p) => p.display().fmt(f),
                None => f.write_str("an unnamed socket"),
            },
        }
    }
}

impl Listener for crate::TcpListener {
    type Stream = crate::TcpStream;
    /// Accepts with `TCP_NODELAY` set, as asyncio's TCP transports do.
    fn poll_accept_stream(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(crate::TcpStream, PeerAddr)>> {
        self.poll_accept(cx).map_ok(|(s, peer)| {
            // Only fails for a connection that already died; its handler
            // then meets the error on its first read or write.
            let _ = s.set_nodelay(true);
            (s, PeerAddr::Inet(peer))
        })
    }
}

impl Listener for crate::UnixListener {
    type Stream = crate::UnixStream;
    fn poll_accept_stream(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(crate::UnixStream, PeerAddr)>> {
        self.poll_accept(cx)
            .map_ok(|(s, peer)| (s, PeerAddr::Unix(peer)))
    }
}

/// Makes a plain connection's task: splits the stream into a reader and a
/// writer and calls the user's handler (synchronously, in the accept
/// loop, so a panicking call is caught there).
pub(crate) fn plain<S, H, F>(handler: H) -> impl Fn(S) -> F + Send + Sync + 'static
where
    S: SplitStream + Send + Sync + 'static,
    for<'a> &'a S: futures_lite::AsyncRead + futures_lite::AsyncWrite,
    H: Fn(Reader<S>, Writer<S>) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    move |stream| {
        let (rd, wr) = crate::split::into_split(stream);
        handler(StreamReader::new(rd), StreamWriter::for_socket(wr))
    }
}

/// Who started a server, for naming and locating its tasks: the API's
/// name and the user's call site (captured by the `#[track_caller]`
/// public constructors), so a panic or a debug report in a connection
/// task points at the user's code, not at this crate's `spawn` line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin {
    api: &'static str,
    location: &'static Location<'static>,
}

impl Origin {
    /// The caller of the `#[track_caller]` function this is called in.
    #[track_caller]
    pub(crate) fn here(api: &'static str) -> Origin {
        Origin {
            api,
            location: Location::caller(),
        }
    }
}

/// What an accept loop spawns with: the server's name for its tasks and
/// the user's call site.
struct TaskNames {
    /// e.g. `start_server 127.0.0.1:8000`.
    server: String,
    location: &'static Location<'static>,
}

impl TaskNames {
    fn accept_loop(&self) -> SpawnOptions {
        SpawnOptions::new()
            .name(format!("{}: accept loop", self.server))
            .location(self.location)
    }

    /// A connection task: `start_server 127.0.0.1:8000: connection from
    /// 127.0.0.1:54321`.
    fn connection(&self, peer: &PeerAddr) -> SpawnOptions {
        SpawnOptions::new()
            .name(format!("{}: connection from {peer}", self.server))
            .location(self.location)
    }
}

/// A server's Unix listener, which removes its socket file when dropped
/// (the accept loop ends), if the file is still its own.
pub(crate) struct UnixServerListener {
    pub(crate) listener: crate::UnixListener,
    pub(crate) file: crate::unix::SocketFile,
}

impl Listener for UnixServerListener {
    type Stream = crate::UnixStream;
    fn poll_accept_stream(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(crate::UnixStream, PeerAddr)>> {
        self.listener.poll_accept_stream(cx)
    }
}

impl Drop for UnixServerListener {
    fn drop(&mut self) {
        self.file.remove_if_ours();
    }
}

/// The address a server listens on: an IP socket address or a Unix path.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ServerAddr {
    /// A TCP listener's address.
    Inet(std::net::SocketAddr),
    /// A Unix listener's address.
    Unix(std::os::unix::net::SocketAddr),
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Inet(a) => a.fmt(f),
            ServerAddr::Unix(a) => match a.as_pathname() {
                Some(p) => p.display().fmt(f),
                None => f.write_str("an unnamed Unix socket"),
            },
        }
    }
}

#[derive(Default)]
struct State {
    closed: bool,
    loop_wakers: Vec<Waker>,
    loops: usize,
    connections: usize,
    waiters: Vec<Waker>,
}

struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` under the lock, then wakes the `wait_closed` and
    /// `serve_forever` waiters if the accept loops are all gone: those
    /// waiting for the connections too check again and re-register.
    fn update(&self, f: impl FnOnce(&mut State)) {
        let wake = {
            let mut st = self.lock();
            f(&mut st);
            if st.closed && st.loops == 0 {
                std::mem::take(&mut st.waiters)
            } else {
                Vec::new()
            }
        };
        wake.into_iter().for_each(Waker::wake);
    }
}

/// Decrements the live-connection count when a connection task ends or
/// is dropped.
struct ConnectionGuard(Arc<Shared>);

/// Ends an accept loop's count on every exit path, drop included: made
/// before the loop is spawned and moved into it, so a loop the runtime
/// drops without ever polling it is counted out too.
struct LoopGuard(Arc<Shared>);

impl Drop for LoopGuard {
    fn drop(&mut self) {
        self.0.update(|st| st.loops -= 1);
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.update(|st| st.connections -= 1);
    }
}

/// A running stream server, from [`start_server`](crate::start_server) or
/// [`start_unix_server`](crate::start_unix_server) (asyncio's `Server`).
///
/// Cloning gives another handle to the same server. As in asyncio,
/// dropping every handle does not stop it: it serves until
/// [`close`](Server::close) is called or the runtime shuts down (the same
/// as a [`protocol::Server`](crate::protocol::Server)).
#[derive(Clone)]
pub struct Server {
    handle: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    addrs: Vec<ServerAddr>,
}

fn close(shared: &Shared) {
    let wake = {
        let mut st = shared.lock();
        st.closed = true;
        std::mem::take(&mut st.loop_wakers)
    };
    wake.into_iter().for_each(Waker::wake);
    shared.update(|_| {});
}

/// The type of a connection handler's reader for stream `S`.
pub(crate) type Reader<S> = StreamReader<OwnedReadHalf<S>>;
/// The type of a connection handler's writer for stream `S`.
pub(crate) type Writer<S> = StreamWriter<OwnedWriteHalf<S>>;

impl Server {
    /// Starts one accept loop per listener on the current runtime; each
    /// accepted connection runs `connection(stream)` in a task of its own.
    pub(crate) fn start<L, C, F>(
        listeners: Vec<(L, ServerAddr)>,
        origin: Origin,
        connection: C,
    ) -> io::Result<Server>
    where
        L: Listener,
        C: Fn(L::Stream) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let spawner = tulipa_core::spawn::current().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "start_server needs a running tulipa runtime for its accept loop and \
                 connection tasks: call it inside tulipa::run, Runtime::block_on or a task",
            )
        })?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
        });
        let connection = Arc::new(connection);
        let mut addrs = Vec::with_capacity(listeners.len());
        for (listener, addr) in listeners {
            let names = TaskNames {
                server: format!("{} {}", origin.api, addr),
                location: origin.location,
            };
            let options = names.accept_loop();
            addrs.push(addr);
            shared.lock().loops += 1;
            let guard = LoopGuard(shared.clone());
            let accept = accept_loop(listener, guard, spawner.clone(), names, connection.clone());
            // On failure the loop (and its guard) is dropped: counted out.
            if let Err(e) = spawner.spawn_detached_with(options, Box::pin(accept)) {
                close(&shared);
                return Err(e);
            }
        }
        Ok(Server {
            handle: Arc::new(Handle { shared, addrs }),
        })
    }

    /// The addresses the server listens on (one per bound address).
    pub fn addrs(&self) -> &[ServerAddr] {
        &self.handle.addrs
    }

    /// The first IP address the server listens on (handy with port 0);
    /// `None` for a Unix server (see [`addrs`](Server::addrs)). The same
    /// type as [`protocol::Server::local_addr`](crate::protocol::Server::local_addr).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.handle.addrs.iter().find_map(|a| match a {
            ServerAddr::Inet(a) => Some(*a),
            ServerAddr::Unix(_) => None,
        })
    }

    /// Whether the server is accepting connections (not closed).
    pub fn is_serving(&self) -> bool {
        !self.handle.shared.lock().closed
    }

    /// How many connection handlers are running.
    pub fn connections(&self) -> usize {
        self.handle.shared.lock().connections
    }

    /// Stops accepting: the listening sockets are closed (by their accept
    /// loops, promptly). Connections already accepted go on; await
    /// [`wait_closed`](Server::wait_closed) for them to finish.
    pub fn close(&self) {
        close(&self.handle.shared);
    }

    /// Waits until the server is closed, every accept loop has ended and
    /// every connection handler has finished. Returns at once if that is
    /// already so; waits even if [`close`](Server::close) was not called
    /// yet (another task may call it).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn wait_closed<'t0>(&'t0 self) -> impl std::future::Future<Output = ()> + use<'t0> {
        tulipa_core::await_point::track(async move {
            let shared = &self.handle.shared;
            poll_fn(|cx| {
                let mut st = shared.lock();
                if st.closed && st.loops == 0 && st.connections == 0 {
                    return Poll::Ready(());
                }
                register(&mut st.waiters, cx.waker());
                Poll::Pending
            })
            .await;
        })
    }

    /// Serves until the server is closed (by [`close`](Server::close) from
    /// another task, or another handle), then waits for the accept loops
    /// to end. asyncio's `serve_forever`; the server is already serving
    /// when `start_server` returns, so this only waits.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it leaves the server running.
    #[track_caller]
    pub fn serve_forever<'t0>(&'t0 self) -> impl std::future::Future<Output = ()> + use<'t0> {
        tulipa_core::await_point::track(async move {
            let shared = &self.handle.shared;
            poll_fn(|cx| {
                let mut st = shared.lock();
                if st.closed && st.loops == 0 {
                    return Poll::Ready(());
                }
                register(&mut st.waiters, cx.waker());
                Poll::Pending
            })
            .await;
        })
    }
}

fn register(wakers: &mut Vec<Waker>, waker: &Waker) {
    if !wakers.iter().any(|w| w.will_wake(waker)) {
        wakers.push(waker.clone());
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.handle.addrs)
            .field("serving", &self.is_serving())
            .finish_non_exhaustive()
    }
}

async fn accept_loop<L, C, F>(
    listener: L,
    guard: LoopGuard,
    spawner: Arc<dyn Spawn>,
    names: TaskNames,
    connection: Arc<C>,
) where
    L: Listener,
    C: Fn(L::Stream) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let shared = guard.0.clone();
    let mut backoff = Backoff::default();
    let mut accepted_in_a_row = 0;
    loop {
        // A flood of ready connections must not keep this task on its
        // thread forever: yield after a batch.
        if accepted_in_a_row == ACCEPT_BATCH {
            accepted_in_a_row = 0;
            futures_lite::future::yield_now().await;
        }
        let next = poll_fn(|cx| {
            {
                let mut st = shared.lock();
                if st.closed {
                    return Poll::Ready(None);
                }
                register(&mut st.loop_wakers, cx.waker());
            }
            match poll_accept_with_backoff(&mut backoff, cx, |cx| listener.poll_accept_stream(cx)) {
                Poll::Ready(Ok(s)) => Poll::Ready(Some(s)),
                Poll::Ready(Err(_)) => {
                    // The listener reported a non-transient error: keep
                    // the server alive, retrying after a pause.
                    backoff.start();
                    let _ = backoff.poll_wait(cx);
                    Poll::Pending
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        let Some((stream, peer)) = next else { break };
        accepted_in_a_row += 1;
        shared.lock().connections += 1;
        let conn = ConnectionGuard(shared.clone());
        // The handler is user code run by the accept loop: a panic in the
        // call fails this connection only (its halves are dropped, so it
        // closes), not the loop; the panic goes to the runtime's policy.
        let fut = match panic::catch_unwind(AssertUnwindSafe(|| connection(stream))) {
            Ok(fut) => fut,
            Err(payload) => {
                drop(conn);
                let _ = spawner.spawn_detached_with(
                    names.connection(&peer),
                    Box::pin(async move { panic::resume_unwind(payload) }),
                );
                continue;
            }
        };
        let task = async move {
            let _conn = conn;
            fut.await;
        };
        // If the runtime refuses (shutting down), the task is dropped and
        // its guard decrements the count.
        let _ = spawner.spawn_detached_with(names.connection(&peer), Box::pin(task));
    }
    drop(listener);
    drop(guard);
}
