//! asyncio's streams over TLS: [`open_tls_connection`]
//! (`open_connection(ssl=ctx)`), [`start_tls_server`]
//! (`start_server(ssl=ctx)`), and [`StreamWriter::start_tls`] /
//! [`StreamWriter::start_tls_server`] (`StreamWriter.start_tls`, which
//! upgrades an open stream pair).
//!
//! # Design
//!
//! A TLS session cannot be split the way a socket is: reading may have to
//! write (alerts, key updates), and both directions share rustls's state.
//! So the two halves share the [`TlsStream`] under a mutex that is held
//! for one poll only, never across an `.await`. The socket's readiness is
//! broadcast to every task that polled it (see `tulipa-reactor`), so a
//! reader task and a writer task can both wait on the socket without
//! taking each other's wakeups.
//!
//! Closing the writer ([`StreamWriter::wait_closed`]) sends `close_notify`,
//! shuts the socket down in both directions and marks the session closed,
//! so the paired reader reads end of file, as with a plain socket. TLS has
//! no half-close: [`StreamWriter::write_eof`] is unsupported, as on
//! asyncio's SSL transports.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::io::{AsyncRead, AsyncWrite};

use super::{TlsAcceptor, TlsConnector, TlsInfo, TlsStream};
use crate::addr::ToSocketAddrs;
use crate::split::{OwnedReadHalf, OwnedWriteHalf, SplitStream};
use crate::stream::{Server, StreamReader, StreamWriter};
use crate::TcpStream;

/// How long a server waits for a client's TLS handshake: asyncio's
/// default `ssl_handshake_timeout`, 60 seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// The reader of a TLS stream pair, over a [`TcpStream`] by default.
pub type TlsReader<S = TcpStream> = StreamReader<TlsReadHalf<S>>;
/// The writer of a TLS stream pair, over a [`TcpStream`] by default.
pub type TlsWriter<S = TcpStream> = StreamWriter<TlsWriteHalf<S>>;

struct Shared<S> {
    tls: Mutex<TlsStream<S>>,
    /// The writer closed the connection: the reader reads end of file.
    closed: AtomicBool,
}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, TlsStream<S>> {
        self.tls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The read half of a TLS stream; from [`split`].
pub struct TlsReadHalf<S> {
    shared: Arc<Shared<S>>,
}

/// The write half of a TLS stream; from [`split`]. Closing it sends
/// `close_notify` and closes the stream underneath.
pub struct TlsWriteHalf<S> {
    shared: Arc<Shared<S>>,
}

/// Splits a TLS stream into halves that two tasks can use at once.
pub fn split<S>(stream: TlsStream<S>) -> (TlsReadHalf<S>, TlsWriteHalf<S>) {
    let shared = Arc::new(Shared {
        tls: Mutex::new(stream),
        closed: AtomicBool::new(false),
    });
    (
        TlsReadHalf {
            shared: shared.clone(),
        },
        TlsWriteHalf { shared },
    )
}

/// Splits a TLS stream over a socket into a stream reader and writer, as
/// [`from_tcp`](crate::stream::from_tcp) does for a plain one; the writer's
/// `wait_closed` closes the whole connection.
pub fn from_tls<S>(stream: TlsStream<S>) -> (TlsReader<S>, TlsWriter<S>)
where
    S: AsyncRead + AsyncWrite + SplitStream + Unpin,
{
    let (rd, wr) = split(stream);
    (
        StreamReader::new(rd),
        StreamWriter::with_close_connection(wr, close_connection::<S>),
    )
}

fn close_connection<S: SplitStream>(half: &TlsWriteHalf<S>) -> io::Result<()> {
    half.shared.closed.store(true, Ordering::Release);
    half.shared.lock().get_ref().shutdown_both()
}

impl<S> TlsReadHalf<S> {
    /// What the handshake agreed on.
    pub fn info(&self) -> TlsInfo {
        self.shared.lock().info()
    }
}

impl<S> TlsWriteHalf<S> {
    /// What the handshake agreed on (asyncio's `get_extra_info("peercert")`,
    /// `"cipher"`, ...).
    pub fn info(&self) -> TlsInfo {
        self.shared.lock().info()
    }

    /// Runs `f` on the stream under the session (for its addresses or
    /// socket options). Reading or writing it directly corrupts the
    /// session.
    pub fn with_stream<T>(&self, f: impl FnOnce(&S) -> T) -> T {
        f(self.shared.lock().get_ref())
    }
}

impl TlsWriteHalf<TcpStream> {
    /// The remote address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.with_stream(TcpStream::peer_addr)
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.with_stream(TcpStream::local_addr)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsReadHalf<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Poll::Ready(Ok(0));
        }
        Pin::new(&mut *self.shared.lock()).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsWriteHalf<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.shared.lock()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.shared.lock()).poll_flush(cx)
    }

    /// Sends `close_notify` and closes the stream underneath.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.shared.lock()).poll_close(cx)
    }
}

impl<S> fmt::Debug for TlsReadHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsReadHalf").finish_non_exhaustive()
    }
}

impl<S> fmt::Debug for TlsWriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsWriteHalf").finish_non_exhaustive()
    }
}

/// Connects to `addr` over TCP, runs a TLS client handshake checking the
/// server's certificate against `server_name`, and returns a reader and a
/// writer: asyncio's `open_connection(host, port, ssl=ctx,
/// server_hostname=name)`.
///
/// # Errors
///
/// As for [`open_connection`](crate::open_connection), then as for
/// [`TlsConnector::connect`] (an untrusted certificate or a wrong name is
/// [`InvalidData`](io::ErrorKind::InvalidData)).
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes the connection.
///
/// # Examples
///
/// ```no_run
/// use tulipa_net::tls::{open_tls_connection, TlsConnector};
///
/// tulipa::run(async {
///     # let ca: rustls::pki_types::CertificateDer<'static> = unimplemented!();
///     let connector = TlsConnector::with_root_certificates([ca])?;
///     let (mut reader, mut writer) =
///         open_tls_connection("example.com:443", &connector, "example.com").await?;
///     writer.write(b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n")?;
///     writer.drain().await?;
///     let status = reader.read_line().await?;
///     println!("{}", String::from_utf8_lossy(&status));
///     writer.close();
///     writer.wait_closed().await
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn open_tls_connection<A: ToSocketAddrs>(
    addr: A,
    connector: &TlsConnector,
    server_name: &str,
) -> io::Result<(TlsReader, TlsWriter)> {
    let options = crate::ConnectOptions::new().nodelay(true);
    let tcp = TcpStream::connect_with(addr, &options).await?;
    Ok(from_tls(connector.connect(server_name, tcp).await?))
}

/// Starts a TLS server on every address `addr` resolves to: each
/// connection's handshake runs in a task of its own, then
/// `handler(reader, writer)` with the decrypted streams (asyncio's
/// `start_server(cb, host, port, ssl=ctx)`).
///
/// A client that fails the handshake, or does not finish it within
/// [`DEFAULT_HANDSHAKE_TIMEOUT`] (asyncio's `ssl_handshake_timeout`), is
/// dropped without reaching the handler. Otherwise as
/// [`start_server`](crate::start_server).
///
/// # Errors
///
/// As for [`start_server`](crate::start_server).
///
/// # Cancel safety
///
/// Cancel safe, as [`start_server`](crate::start_server).
#[track_caller]
pub fn start_tls_server<A, H, F>(
    addr: A,
    acceptor: TlsAcceptor,
    handler: H,
) -> impl Future<Output = io::Result<Server>>
where
    A: ToSocketAddrs,
    H: Fn(TlsReader, TlsWriter) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let origin = crate::stream::Origin::here("start_tls_server");
    async move {
        let listeners = crate::stream::bind_tcp(&addr).await?;
        let handler = Arc::new(handler);
        Server::start(listeners, origin, move |tcp: TcpStream| {
            let acceptor = acceptor.clone();
            let handler = handler.clone();
            async move {
                let handshake =
                    tulipa_timer::timeout(DEFAULT_HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
                if let Ok(Ok(tls)) = handshake.await {
                    let (reader, writer) = from_tls(tls);
                    handler(reader, writer).await;
                }
            }
        })
    }
}

impl<S> StreamWriter<OwnedWriteHalf<S>>
where
    S: AsyncRead + AsyncWrite + SplitStream + Unpin,
    for<'a> &'a S: AsyncRead + AsyncWrite,
{
    /// Upgrades an open connection to TLS as the client (asyncio's
    /// `await writer.start_tls(ctx, server_hostname=name)`), for
    /// STARTTLS-style protocols: sends what this writer still buffers,
    /// runs the handshake on the connection, and returns the TLS reader
    /// and writer that replace `reader` and this writer. The limit and the
    /// water marks carry over.
    ///
    /// # Errors
    ///
    /// - [`InvalidData`](io::ErrorKind::InvalidData) when `reader` still
    ///   buffers bytes that arrived in plain text: the peer sent them
    ///   before the handshake, and taking them as if they came through TLS
    ///   would let anyone on the path inject them (read them before
    ///   upgrading); also when the handshake fails.
    /// - [`InvalidInput`](io::ErrorKind::InvalidInput) when `reader` is
    ///   not this writer's partner, or for a bad `server_name`.
    /// - The write error met flushing, or the connection's error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: the pair is consumed; dropping the future closes
    /// the connection.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use tulipa_net::open_connection;
    /// use tulipa_net::tls::TlsConnector;
    ///
    /// tulipa::run(async {
    ///     # let connector: TlsConnector = unimplemented!();
    ///     let (mut reader, mut writer) = open_connection("mail.example.com:587").await?;
    ///     reader.read_line().await?; // the greeting
    ///     writer.write(b"STARTTLS\r\n")?;
    ///     reader.read_line().await?; // "220 go ahead"
    ///     let (mut reader, mut writer) =
    ///         writer.start_tls(reader, &connector, "mail.example.com").await?;
    ///     writer.write(b"EHLO me\r\n")?;
    ///     writer.drain().await?;
    ///     reader.read_line().await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn start_tls(
        self,
        reader: StreamReader<OwnedReadHalf<S>>,
        connector: &TlsConnector,
        server_name: &str,
    ) -> io::Result<(TlsReader<S>, TlsWriter<S>)> {
        let (stream, limit, marks) = self.into_plain(reader).await?;
        let tls = connector.connect(server_name, stream).await?;
        Ok(upgraded(tls, limit, marks))
    }

    /// Upgrades an open connection to TLS as the server (what asyncio's
    /// `writer.start_tls(ctx)` does on a connection from `start_server`);
    /// see [`start_tls`](StreamWriter::start_tls).
    ///
    /// # Errors
    ///
    /// As for [`start_tls`](StreamWriter::start_tls), then as for
    /// [`TlsAcceptor::accept`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe, as [`start_tls`](StreamWriter::start_tls).
    pub async fn start_tls_server(
        self,
        reader: StreamReader<OwnedReadHalf<S>>,
        acceptor: &TlsAcceptor,
    ) -> io::Result<(TlsReader<S>, TlsWriter<S>)> {
        let (stream, limit, marks) = self.into_plain(reader).await?;
        let tls = acceptor.accept(stream).await?;
        Ok(upgraded(tls, limit, marks))
    }

    /// Flushes, checks that nothing plain is left unread, and puts the
    /// socket back together.
    async fn into_plain(
        mut self,
        reader: StreamReader<OwnedReadHalf<S>>,
    ) -> io::Result<(S, usize, (usize, usize))> {
        if !reader.buffer().is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} bytes arrived in plain text before the TLS handshake and are still \
                     unread: read them before start_tls (a peer must wait for the go-ahead \
                     before it starts TLS)",
                    reader.buffer().len()
                ),
            ));
        }
        self.flush().await?;
        let limit = reader.limit();
        let marks = self.write_buffer_limits();
        reader
            .into_inner()
            .reunite(self.into_half())
            .map(|s| (s, limit, marks))
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "start_tls was given the reader of another connection: pass the reader \
                     that came with this writer",
                )
            })
    }
}

fn upgraded<S>(
    tls: TlsStream<S>,
    limit: usize,
    marks: (usize, usize),
) -> (TlsReader<S>, TlsWriter<S>)
where
    S: AsyncRead + AsyncWrite + SplitStream + Unpin,
{
    let (mut reader, mut writer) = from_tls(tls);
    reader.set_limit(limit);
    let (low, high) = marks;
    // The marks came from a writer, so low <= high.
    let _ = writer.set_write_buffer_limits(Some(high), Some(low));
    (reader, writer)
}
