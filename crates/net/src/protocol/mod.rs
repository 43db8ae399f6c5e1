//! asyncio's transports and protocols: callback-driven connections.
//!
//! A [`Protocol`] is an object whose methods the runtime calls as things
//! happen on a connection (`connection_made`, `data_received`,
//! `eof_received`, `connection_lost`, `pause_writing`, `resume_writing`);
//! it answers by calling its [`Transport`] (`write`, `close`, ...). This is
//! asyncio's lowest-level and fastest networking API, and tulipa's too.
//!
//! | asyncio | here |
//! | --- | --- |
//! | `loop.create_server(factory, host, port)` | [`create_server`] |
//! | `loop.create_server(factory, sock=sock)` | [`create_server_with_listener`] |
//! | `create_server(..., start_serving=False)`, `Server.start_serving()` | [`create_server_with`], [`Server::start_serving`] |
//! | `loop.connect_accepted_socket(factory, sock)` | [`connect_accepted_socket`] |
//! | `loop.create_connection(factory, host, port)` | [`create_connection`] |
//! | `create_connection(..., local_addr=...)` | [`create_connection_bound`] |
//! | `loop.create_unix_server`, `create_unix_connection` | [`create_unix_server`], [`create_unix_connection`] |
//! | `loop.create_datagram_endpoint` | [`create_datagram_endpoint`] |
//! | `loop.connect_read_pipe`, `connect_write_pipe` | [`connect_read_pipe`], [`connect_write_pipe`] |
//! | `ssl=` on those calls | `create_tls_server`, `create_tls_connection` (feature `tls`) |
//! | `asyncio.Protocol`, `DatagramProtocol` | [`Protocol`], [`DatagramProtocol`] |
//! | `asyncio.BufferedProtocol` (`get_buffer`, `buffer_updated`) | [`BufferedProtocol`], run as [`Buffered`]`(protocol)` |
//! | `Transport`, `DatagramTransport`, `Server` | [`Transport`], [`DatagramTransport`], [`Server`] |
//!
//! # Design
//!
//! Each connection is run by one *connection* future, spawned on the current
//! runtime through [`tulipa_core::spawn`] (so the crate knows no executor;
//! calling these functions outside a runtime fails with
//! [`NotFound`](io::ErrorKind::NotFound)). The driver owns the protocol;
//! every read is one system call into the worker thread's read buffer
//! (64 KiB, one per thread, lent for the read and its callback) followed by
//! `data_received(&buf[..n])` — no per-read allocation, no channel, no
//! copy, and no buffer held by an idle connection; a [`BufferedProtocol`]
//! gets the bytes straight in its own buffer. A [`Transport`] is a cheap, thread-safe handle to
//! the connection's state; `write` sends straight to the socket when
//! nothing is buffered and buffers the rest for the driver. The callbacks
//! of one connection never run concurrently (the driver calls them, from
//! one poll at a time), so a protocol needs no locking of its own.
//!
//! Because the transport may be used from inside a callback while the
//! driver holds the protocol, the transport never calls the protocol:
//! `pause_writing` is delivered by the driver right after the callback
//! that overfilled the buffer returns (or promptly, for a write from
//! another task). See the `transport` and `connection` module docs for the
//! state machine and the lock order.
//!
//! Callbacks run in this order, per connection: `connection_made` once,
//! `data_received` any number of times, `eof_received` at most once, and
//! `connection_lost` exactly once (`pause_writing` and `resume_writing`
//! alternate anywhere in between). A panic in a callback ends that
//! connection (its socket is closed, `wait_closed` returns, a server
//! forgets it) and reaches the runtime's panic policy; no further callback
//! of that protocol runs (not even `connection_lost`); other connections
//! carry on.
//!
//! # Examples
//!
//! An echo server and a client that reports what came back:
//!
//! ```
//! use std::sync::mpsc;
//! use tulipa_net::protocol::{create_connection, create_server, Protocol, Transport};
//!
//! struct Echo(Option<Transport>);
//! impl Protocol for Echo {
//!     fn connection_made(&mut self, t: Transport) { self.0 = Some(t); }
//!     fn data_received(&mut self, data: &[u8]) { self.0.as_ref().unwrap().write(data); }
//! }
//!
//! struct Client(mpsc::Sender<Vec<u8>>);
//! impl Protocol for Client {
//!     fn connection_made(&mut self, t: Transport) { t.write(b"hello"); }
//!     fn data_received(&mut self, data: &[u8]) { self.0.send(data.to_vec()).unwrap(); }
//! }
//!
//! tulipa::run(async {
//!     let server = create_server(|| Echo(None), "127.0.0.1:0").await?;
//!     let (tx, rx) = mpsc::channel();
//!     let addr = server.local_addr().unwrap();
//!     let transport = create_connection(move || Client(tx), addr).await?;
//!     let mut got = Vec::new();
//!     while got.len() < 5 {
//!         got.extend(rx.recv().unwrap());
//!     }
//!     assert_eq!(got, b"hello");
//!     transport.close();
//!     transport.wait_closed().await;
//!     server.close();
//!     server.wait_closed().await;
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

use std::io;
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;

use tulipa_reactor::Async;

mod buffered;
mod connection;
mod datagram;
mod lifecycle;
mod pipe;
mod read_buf;
mod server;
mod stream;
mod sync;
#[cfg(feature = "tls")]
mod tls_glue;
mod transport;

pub use buffered::{Buffered, BufferedProtocol, StreamProtocol};
pub use datagram::{create_datagram_endpoint, DatagramProtocol, DatagramTransport};
pub use lifecycle::{DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER};
pub use pipe::{connect_read_pipe, connect_write_pipe};
pub use server::{
    create_server, create_server_with, create_server_with_listener, create_unix_server, Server,
    ServerOptions,
};
#[cfg(feature = "tls")]
pub use tls_glue::{create_tls_connection, create_tls_server};
pub use transport::{SocketAddress, Transport};

use self::connection::Stream;
use self::lifecycle::Runner;
use self::stream::Io;
use self::transport::{Info, Shared, StreamOut};
use crate::ToSocketAddrs;

/// The callbacks of a stream connection: asyncio's `Protocol`.
///
/// The runtime calls them from the connection's driver task, one at a
/// time, in the order `connection_made`, `data_received`*,
/// `eof_received`?, `connection_lost` (exactly once). Keep them short:
/// they run on the event loop, and a long callback delays every other task
/// of its worker. Start a task (`tulipa::spawn`) for long work.
///
/// Only `data_received` has no default; the others do what asyncio's
/// defaults do.
pub trait Protocol: Send + 'static {
    /// The connection is up; `transport` writes to it. Keep a clone.
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// Bytes arrived. `data` is only valid during the call (it is the
    /// worker thread's read buffer, lent for this call): copy what must
    /// outlive it, or use a [`BufferedProtocol`] to receive into your own
    /// buffer.
    fn data_received(&mut self, data: &[u8]);

    /// The peer closed its write half (TCP FIN). Return `true` to keep the
    /// connection half-open (no more reads, but the protocol may still
    /// write; it ends when the transport is closed or sends its own EOF),
    /// `false` (the default) to close the transport.
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The connection ended: `None` after an EOF, a `close` or an `abort`,
    /// `Some(error)` when a read or write failed (e.g. reset by the peer).
    /// Called exactly once, after every other callback (unless a callback
    /// panicked: then no callback runs any more, this one included).
    fn connection_lost(&mut self, err: Option<io::Error>) {
        let _ = err;
    }

    /// The transport's write buffer went above its high-water mark: stop
    /// writing until [`resume_writing`](Protocol::resume_writing).
    fn pause_writing(&mut self) {}

    /// The write buffer drained to its low-water mark: writing may resume.
    fn resume_writing(&mut self) {}
}

/// The future that runs one stream connection: its protocol, reads and
/// writes.
pub(crate) type Connection<P, I> = Runner<Stream<P, I>>;

/// Builds the shared state and the driver of a connected stream; the
/// driver calls `connection_made` on its first poll unless announced.
fn start<P: StreamProtocol, I: Io>(
    protocol: P,
    io: I,
    peer: Option<SocketAddress>,
    local: Option<SocketAddress>,
    #[cfg(feature = "tls")] tls: Option<crate::tls::TlsInfo>,
) -> (Transport, Connection<P, I>) {
    let io = Arc::new(io);
    let info = Info {
        peer,
        local,
        fd: io.raw_fd(),
        can_write_eof: io.can_write_eof(),
        eof_closes: io.eof_closes(),
        #[cfg(feature = "tls")]
        tls,
    };
    let shared = Shared::new(StreamOut::new(io.clone()), info);
    let transport = Transport {
        shared: shared.clone(),
    };
    (transport, Runner::new(Stream::new(protocol, io), shared))
}

/// Calls `connection_made` in the caller's task, then runs the driver in
/// the background: the client side of every `create_*_connection`.
fn run_client<P: StreamProtocol, I: Io>(
    factory: impl FnOnce() -> P,
    io: I,
    peer: Option<SocketAddress>,
    local: Option<SocketAddress>,
    #[cfg(feature = "tls")] tls: Option<crate::tls::TlsInfo>,
) -> io::Result<Transport> {
    let spawner = current_spawner()?;
    let (transport, mut driver) = start(
        factory(),
        io,
        peer,
        local,
        #[cfg(feature = "tls")]
        tls,
    );
    driver.announce();
    // On failure the driver is dropped, which ends the connection with
    // `connection_lost(Some(..))` after the `connection_made` above.
    spawner.spawn_detached(Box::pin(driver))?;
    Ok(transport)
}

/// The runtime's spawner, or a clear error outside one.
fn current_spawner() -> io::Result<Arc<dyn tulipa_core::spawn::Spawn>> {
    tulipa_core::spawn::current().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no tulipa runtime is current on this thread to run the connection: call \
             create_server/create_connection from inside a runtime (a task, or \
             Runtime::block_on)",
        )
    })
}

/// Opens a TCP connection to `addr` and runs a protocol on it: asyncio's
/// `loop.create_connection(protocol_factory, host, port)`.
///
/// `factory` makes the protocol; its `connection_made` runs before this
/// returns, then the connection is driven in the background on the
/// current runtime. asyncio returns `(transport, protocol)`; here the
/// protocol belongs to the connection's driver, so only the [`Transport`]
/// comes back: share state with the protocol through what the factory
/// captures (an `Arc`, a channel). [`Transport::wait_closed`] waits for
/// `connection_lost`.
///
/// `TCP_NODELAY` is set, as asyncio does. Several resolved addresses are
/// tried as [`TcpStream::connect`](crate::TcpStream::connect) does.
///
/// # Errors
///
/// Fails when no runtime is current ([`NotFound`](io::ErrorKind::NotFound)),
/// when `addr` does not resolve, or when the connection cannot be made.
/// `factory` is not called then.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future before it completes closes the socket
/// and never calls the factory.
pub async fn create_connection<P, F, A>(factory: F, addr: A) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
    A: ToSocketAddrs,
{
    current_spawner()?;
    let stream = crate::TcpStream::connect(addr).await?;
    let io = stream.io;
    let (peer, local) = tcp_addrs(&io);
    run_client(
        factory,
        io,
        peer,
        local,
        #[cfg(feature = "tls")]
        None,
    )
}

/// [`create_connection`] from a given local address: asyncio's
/// `create_connection(protocol_factory, host, port, local_addr=...)`.
///
/// The socket is bound to `local_addr` (port 0 picks a free port) before
/// it connects. The addresses `addr` resolves to are tried in order, those
/// of `local_addr`'s family only, each from a socket of its own, until one
/// connects.
///
/// # Errors
///
/// As for [`create_connection`]; also
/// [`InvalidInput`](io::ErrorKind::InvalidInput) when `addr` resolves to
/// no address of `local_addr`'s family, and the error of `bind` (e.g.
/// [`AddrInUse`](io::ErrorKind::AddrInUse),
/// [`AddrNotAvailable`](io::ErrorKind::AddrNotAvailable)) when the local
/// address cannot be bound. With several addresses, the last error is
/// returned.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes the socket and never calls the
/// factory.
///
/// # Examples
///
/// ```
/// use tulipa_net::protocol::{create_connection_bound, create_server, Protocol};
///
/// struct Quiet;
/// impl Protocol for Quiet {
///     fn data_received(&mut self, _: &[u8]) {}
/// }
///
/// tulipa::run(async {
///     let server = create_server(|| Quiet, "127.0.0.1:0").await?;
///     let local = "127.0.0.1:0".parse().unwrap();
///     let t = create_connection_bound(|| Quiet, server.local_addr().unwrap(), local).await?;
///     assert_eq!(t.local_addr().unwrap().as_inet().unwrap().ip(), local.ip());
///     t.close();
///     server.close();
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn create_connection_bound<P, F, A>(
    factory: F,
    addr: A,
    local_addr: SocketAddr,
) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
    A: ToSocketAddrs,
{
    current_spawner()?;
    let mut last = None;
    for remote in addr.to_socket_addrs().await? {
        if remote.is_ipv4() != local_addr.is_ipv4() {
            continue;
        }
        let socket = crate::TcpSocket::for_addr(remote)?;
        if let Err(e) = socket.bind(local_addr) {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot bind the connection to local address {local_addr}: {e}"),
            ));
        }
        match socket.connect(remote).await {
            Ok(stream) => {
                let io = stream.io;
                let (peer, local) = tcp_addrs(&io);
                return run_client(
                    factory,
                    io,
                    peer,
                    local,
                    #[cfg(feature = "tls")]
                    None,
                );
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the address resolved to no {} address to connect to from local address \
                 {local_addr}: give a local address of the remote's family",
                if local_addr.is_ipv4() { "IPv4" } else { "IPv6" }
            ),
        )
    }))
}

/// Runs a protocol on an already connected std TCP stream (asyncio's
/// `create_connection(sock=...)`, `connect_accepted_socket`).
///
/// # Errors
///
/// Fails when no runtime is current or the socket cannot be registered
/// with the reactor.
pub fn connect_accepted_socket<P, F>(
    factory: F,
    stream: std::net::TcpStream,
) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
{
    current_spawner()?;
    let _ = stream.set_nodelay(true);
    let io = Async::new(stream)?;
    // A stream socket: a short read means its buffer is empty.
    io.set_byte_stream();
    let (peer, local) = tcp_addrs(&io);
    run_client(
        factory,
        io,
        peer,
        local,
        #[cfg(feature = "tls")]
        None,
    )
}

/// Opens a Unix-domain stream connection to `path` and runs a protocol
/// on it: asyncio's `loop.create_unix_connection`.
///
/// # Errors
///
/// As for [`create_connection`]; also fails when nothing listens at
/// `path`, and with [`WouldBlock`](io::ErrorKind::WouldBlock) when the
/// listener's backlog is full (as
/// [`UnixStream::connect`](crate::UnixStream::connect)).
///
/// # Cancel safety
///
/// Cancel safe, as [`create_connection`].
pub async fn create_unix_connection<P, F>(
    factory: F,
    path: impl AsRef<Path>,
) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
{
    current_spawner()?;
    let io = unix_connect(path.as_ref()).await?;
    let (peer, local) = unix_addrs(&io);
    run_client(
        factory,
        io,
        peer,
        local,
        #[cfg(feature = "tls")]
        None,
    )
}

/// Connects a Unix stream without blocking the thread, as
/// [`UnixStream::connect`](crate::UnixStream::connect) does: a full
/// backlog (`EAGAIN`: nothing in progress) is an error, not a connection.
async fn unix_connect(path: &Path) -> io::Result<Async<UnixStream>> {
    Ok(crate::UnixStream::connect(path).await?.io)
}

fn tcp_addrs(io: &Async<std::net::TcpStream>) -> (Option<SocketAddress>, Option<SocketAddress>) {
    let s = io.get_ref();
    let _ = s.set_nodelay(true);
    (
        s.peer_addr().ok().map(SocketAddress::Inet),
        s.local_addr().ok().map(SocketAddress::Inet),
    )
}

fn unix_addrs(io: &Async<UnixStream>) -> (Option<SocketAddress>, Option<SocketAddress>) {
    let s = io.get_ref();
    (
        s.peer_addr().ok().map(SocketAddress::Unix),
        s.local_addr().ok().map(SocketAddress::Unix),
    )
}

/// The first IP address of a list of [`SocketAddress`]es.
fn first_inet(addrs: &[SocketAddress]) -> Option<SocketAddr> {
    addrs.iter().find_map(SocketAddress::as_inet)
}
