//! asyncio's streams: [`open_connection`], [`start_server`],
//! [`StreamReader`], [`StreamWriter`], [`Server`], and their Unix
//! counterparts.
//!
//! A connection is split into owned halves; the read half goes into a
//! [`StreamReader`] (a buffer with `read_line`, `read_until`,
//! `read_exact`, a line limit), the write half into a [`StreamWriter`]
//! (a buffer with synchronous `write` and the `drain` flow-control point).
//! The reader and writer are generic over any `AsyncRead`/`AsyncWrite`,
//! so they work on pipes, TLS streams or in-memory buffers too.
//!
//! # Examples
//!
//! An echo server and a client:
//!
//! ```
//! use tulipa_net::{open_connection, start_server};
//!
//! tulipa::run(async {
//!     let server = start_server("127.0.0.1:0", |mut reader, mut writer| async move {
//!         while let Ok(line) = reader.read_line().await {
//!             if line.is_empty() || writer.write(&line).is_err() || writer.drain().await.is_err() {
//!                 break;
//!             }
//!         }
//!         let _ = writer.wait_closed().await;
//!     })
//!     .await?;
//!     let (mut reader, mut writer) = open_connection(server.local_addr().unwrap()).await?;
//!     writer.write(b"hello\n")?;
//!     writer.drain().await?;
//!     assert_eq!(reader.read_line().await?, b"hello\n");
//!     writer.close();
//!     writer.wait_closed().await?;
//!     server.close();
//!     server.wait_closed().await;
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

mod reader;
mod server;
mod writer;

use std::future::Future;
use std::io;
use std::path::Path;

pub use reader::{IncompleteRead, LimitOverrun, StreamReader, DEFAULT_LIMIT};
pub(crate) use server::Origin;
pub use server::{Server, ServerAddr};
pub use writer::{StreamWriter, DEFAULT_HIGH_WATER};

use crate::addr::{resolve_nonempty, ToSocketAddrs};
use crate::{tcp, unix, TcpListener, TcpStream, UnixListener, UnixStream};

/// The reader half of a TCP connection from [`open_connection`].
pub type TcpReader = StreamReader<tcp::OwnedReadHalf>;
/// The writer half of a TCP connection from [`open_connection`].
pub type TcpWriter = StreamWriter<tcp::OwnedWriteHalf>;
/// The reader half of a Unix connection from [`open_unix_connection`].
pub type UnixReader = StreamReader<unix::OwnedReadHalf>;
/// The writer half of a Unix connection from [`open_unix_connection`].
pub type UnixWriter = StreamWriter<unix::OwnedWriteHalf>;

/// Connects to `addr` over TCP (with happy eyeballs, see
/// [`TcpStream::connect`]) and returns a reader and a writer
/// (asyncio's `open_connection`).
///
/// As in asyncio, `TCP_NODELAY` is set: the writer already coalesces
/// small writes in its buffer, so Nagle's algorithm would only add
/// latency.
///
/// # Errors
///
/// As for [`TcpStream::connect`].
///
/// # Cancel safety
///
/// Cancel safe.
#[track_caller]
pub fn open_connection<A: ToSocketAddrs>(
    addr: A,
) -> impl std::future::Future<Output = io::Result<(TcpReader, TcpWriter)>> + use<A> {
    tulipa_core::await_point::track(async move {
        let options = crate::ConnectOptions::new().nodelay(true);
        Ok(from_tcp(TcpStream::connect_with(addr, &options).await?))
    })
}

/// Splits a connected [`TcpStream`] into a stream reader and writer.
pub fn from_tcp(stream: TcpStream) -> (TcpReader, TcpWriter) {
    let (rd, wr) = stream.into_split();
    (StreamReader::new(rd), StreamWriter::for_socket(wr))
}

/// Connects to the Unix socket at `path` and returns a reader and a
/// writer (asyncio's `open_unix_connection`).
///
/// # Errors
///
/// As for [`UnixStream::connect`].
///
/// # Cancel safety
///
/// Cancel safe.
#[track_caller]
pub fn open_unix_connection<P: AsRef<Path>>(
    path: P,
) -> impl std::future::Future<Output = io::Result<(UnixReader, UnixWriter)>> + use<P> {
    tulipa_core::await_point::track(async move { Ok(from_unix(UnixStream::connect(path).await?)) })
}

/// Splits a connected [`UnixStream`] into a stream reader and writer.
pub fn from_unix(stream: UnixStream) -> (UnixReader, UnixWriter) {
    let (rd, wr) = stream.into_split();
    (StreamReader::new(rd), StreamWriter::for_socket(wr))
}

/// Starts a TCP server on every address `addr` resolves to; each
/// connection runs `handler(reader, writer)` in a task of its own
/// (asyncio's `start_server`).
///
/// The server is serving when this returns; see [`Server`] for closing it.
/// A handler's writer shuts the connection's write direction down when it
/// is dropped.
///
/// # Errors
///
/// Fails when `addr` does not resolve or an address cannot be bound, or
/// with [`NotFound`](io::ErrorKind::NotFound) when no tulipa runtime is
/// current (the accept loop and the handlers need one to run on).
///
/// # Cancel safety
///
/// Cancel safe: only the name lookup waits; nothing is listening unless
/// it returns.
///
/// # Tasks
///
/// The accept loop and every connection task are named after the server
/// and the peer (`start_server 127.0.0.1:8000: connection from
/// 127.0.0.1:54321`), and record the line that called `start_server` as
/// their spawn location, so task listings, debug reports and panic
/// reports point at your code.
#[track_caller]
pub fn start_server<A, H, F>(addr: A, handler: H) -> impl Future<Output = io::Result<Server>>
where
    A: ToSocketAddrs,
    H: Fn(TcpReader, TcpWriter) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let origin = Origin::here("start_server");
    async move {
        let listeners = bind_tcp(&addr).await?;
        Server::start(listeners, origin, server::plain(handler))
    }
}

/// Binds a TCP listener on every address `addr` resolves to, for a
/// server; checks first that a runtime is current.
pub(crate) async fn bind_tcp<A: ToSocketAddrs>(
    addr: &A,
) -> io::Result<Vec<(TcpListener, ServerAddr)>> {
    // Check before binding, for a clear error with nothing left open.
    if tulipa_core::spawn::current().is_none() {
        return Err(no_runtime());
    }
    let mut listeners = Vec::new();
    for a in resolve_nonempty(addr).await? {
        let l = TcpListener::bind(a).await?;
        let local = l.local_addr()?;
        listeners.push((l, ServerAddr::Inet(local)));
    }
    Ok(listeners)
}

/// Like [`start_server`], for an already bound listener.
///
/// # Errors
///
/// Fails with [`NotFound`](io::ErrorKind::NotFound) when no tulipa
/// runtime is current.
#[track_caller]
pub fn start_server_on<H, F>(listener: TcpListener, handler: H) -> io::Result<Server>
where
    H: Fn(TcpReader, TcpWriter) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let origin = Origin::here("start_server");
    let local = listener.local_addr()?;
    Server::start(
        vec![(listener, ServerAddr::Inet(local))],
        origin,
        server::plain(handler),
    )
}

/// Starts a server on a new Unix socket at `path` (asyncio's
/// `start_unix_server`); see [`start_server`].
///
/// As in asyncio (and as
/// [`protocol::create_unix_server`](crate::protocol::create_unix_server)),
/// a socket file already at `path` is replaced, and the file is removed
/// when the server closes, if it is still the one the server bound.
///
/// # Errors
///
/// Fails with [`AddrInUse`](io::ErrorKind::AddrInUse) when `path` exists
/// and is not a socket, as [`UnixListener::bind`] does otherwise (e.g. a
/// missing directory), or with [`NotFound`](io::ErrorKind::NotFound) when
/// no tulipa runtime is current.
#[track_caller]
pub fn start_unix_server<P, H, F>(path: P, handler: H) -> io::Result<Server>
where
    P: AsRef<Path>,
    H: Fn(UnixReader, UnixWriter) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let origin = Origin::here("start_unix_server");
    if tulipa_core::spawn::current().is_none() {
        return Err(no_runtime());
    }
    let (listener, file) = unix::bind_server(path.as_ref())?;
    let listener = match UnixListener::from_std(listener) {
        Ok(listener) => server::UnixServerListener { listener, file },
        Err(e) => {
            file.remove_if_ours();
            return Err(e);
        }
    };
    let local = listener.listener.local_addr()?;
    Server::start(
        vec![(listener, ServerAddr::Unix(local))],
        origin,
        server::plain(handler),
    )
}

fn no_runtime() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "start_server needs a running tulipa runtime for its accept loop and \
         connection tasks: call it inside tulipa::run, Runtime::block_on or a task",
    )
}

impl TcpReader {
    /// The remote address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.get_ref().as_stream().peer_addr()
    }
}

impl TcpWriter {
    /// The remote address of the connection (asyncio's
    /// `get_extra_info("peername")`).
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.get_ref().as_stream().peer_addr()
    }

    /// The local address of the connection (`get_extra_info("sockname")`).
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.get_ref().as_stream().local_addr()
    }
}

impl UnixWriter {
    /// The peer's address.
    ///
    /// # Errors
    ///
    /// As for [`UnixStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<std::os::unix::net::SocketAddr> {
        self.get_ref().as_stream().peer_addr()
    }
}
