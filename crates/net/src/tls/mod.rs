//! TLS on rustls (feature `tls`): asyncio's `ssl=` and `start_tls`.
//!
//! | asyncio | here |
//! | --- | --- |
//! | `ssl.create_default_context()` (client) | [`TlsConnector::with_root_certificates`], [`TlsConnector::new`] |
//! | server `SSLContext.load_cert_chain` | [`TlsAcceptor::from_single_cert`], [`TlsAcceptor::from_pem`] |
//! | `open_connection(ssl=ctx, server_hostname=name)` | [`open_tls_connection`]; [`TlsConnector::connect`] over any stream |
//! | `start_server(cb, ssl=ctx)` | [`start_tls_server`] |
//! | `StreamWriter.start_tls(ctx)` | [`StreamWriter::start_tls`](crate::StreamWriter::start_tls), [`StreamWriter::start_tls_server`](crate::StreamWriter::start_tls_server) |
//! | `loop.start_tls` | [`start_tls`] over any stream |
//! | `create_server(ssl=ctx)`, `create_connection(ssl=ctx)` | `protocol::create_tls_server`, `protocol::create_tls_connection` |
//! | `get_extra_info("peercert" / "cipher" / "ssl_object")` | [`TlsStream::info`], `Transport::tls_info` |
//!
//! # Design
//!
//! [`TlsStream<S>`] is a thin adapter of our own between a
//! [`rustls::Connection`] and any `S: AsyncRead + AsyncWrite + Unpin` (a
//! `TcpStream`, a `UnixStream`, an `Async<T>`): rustls does the protocol,
//! on its own buffers; the adapter moves TLS records between those buffers
//! and `S`, turning `Pending` into `WouldBlock` for rustls's
//! `read_tls`/`write_tls` (see `SyncIo`). So it works with the streams API
//! (anything generic over `AsyncRead`/`AsyncWrite`) and with the protocol
//! API (whose driver reads and writes it like a socket).
//!
//! - **Reading** hands out plaintext rustls already decrypted; when there is
//!   none it reads records from `S`, decrypts, and tries again. A peer that
//!   closes TCP without a TLS `close_notify` ends the stream like a clean
//!   EOF (Python's `suppress_ragged_eofs=True`, the default for asyncio);
//!   a corrupted or forged record is an [`InvalidData`](io::ErrorKind::InvalidData)
//!   error.
//! - **Writing** first pushes out records still pending; while some remain
//!   (the socket is full) it accepts no new plaintext and returns `Pending`,
//!   so memory stays bounded by rustls's own buffer. New plaintext is
//!   encrypted and sent as far as the socket takes it; `poll_flush` sends
//!   the rest.
//! - **Closing** (`poll_close`) sends `close_notify`, flushes, then closes
//!   `S`. TLS has no half-close here: asyncio's SSL transports cannot
//!   `write_eof` either.
//!
//! The crypto provider is *ring* (smaller and faster to build than
//! aws-lc-rs); configs built by the caller may use any provider.
//!
//! # Why not `futures-rustls`
//!
//! `futures-rustls` (the rustls organisation's futures-io adapter) does the
//! record shuttling above too, and we would rather not keep an adapter of
//! our own. We keep this one (about 300 lines, no `unsafe`) for what that
//! crate does differently, measured against a branch that used it:
//!
//! - **Ragged EOF.** It passes rustls's `UnexpectedEof` through when a peer
//!   closes without `close_notify`; asyncio's default
//!   (`suppress_ragged_eofs=True`) is a clean end of stream, so we would wrap
//!   its reads to undo that.
//! - **One type for both sides.** It has separate client and server stream
//!   types (and an enum over them whose accessors give rustls's
//!   `CommonState`); ours is one `TlsStream<S>` whose `session()` and
//!   `into_inner()` give the `rustls::Connection` (public API), which
//!   `start_tls`, the stream API's split halves and the protocol API's TLS
//!   glue (`protocol/tls_glue.rs`, which drives TLS for transports, where
//!   there is no `AsyncRead`/`AsyncWrite` to adapt) all share.
//! - **Speed.** No reason either way: in one interleaved run of the TLS
//!   throughput and ping-pong benchmarks, ours moved 1,228–1,278 MB/s
//!   against 830–1,264 MB/s, at 7.9–10.2 µs against 8.0–8.5 µs per round
//!   trip.
//!
//! A `futures-rustls` release that can suppress ragged EOFs and expose the
//! `Connection` of either side would let us drop this adapter.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, AsyncWrite};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{
    ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig, ServerConnection,
};

pub use rustls;
pub use stream::{
    from_tls, open_tls_connection, split, start_tls_server, TlsReadHalf, TlsReader, TlsWriteHalf,
    TlsWriter, DEFAULT_HANDSHAKE_TIMEOUT,
};

mod stream;

/// The crypto provider tulipa's convenience constructors use.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(context: &str, e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{context}: {e}"))
}

/// What a finished handshake agreed on: asyncio's `get_extra_info`
/// `"peercert"`, `"cipher"`, `"ssl_object"` facts.
#[derive(Clone)]
pub struct TlsInfo {
    version: Option<rustls::ProtocolVersion>,
    cipher_suite: Option<rustls::CipherSuite>,
    alpn: Option<Vec<u8>>,
    server_name: Option<String>,
    peer_certificates: Vec<CertificateDer<'static>>,
}

impl TlsInfo {
    fn of(conn: &Connection) -> TlsInfo {
        TlsInfo {
            version: conn.protocol_version(),
            cipher_suite: conn.negotiated_cipher_suite().map(|s| s.suite()),
            alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
            server_name: match conn {
                Connection::Server(s) => s.server_name().map(str::to_owned),
                Connection::Client(_) => None,
            },
            peer_certificates: conn
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
        }
    }

    /// The TLS version, e.g. `TLSv1_3`.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.version
    }

    /// The cipher suite.
    pub fn cipher_suite(&self) -> Option<rustls::CipherSuite> {
        self.cipher_suite
    }

    /// The ALPN protocol both sides agreed on (asyncio's
    /// `selected_alpn_protocol()`).
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.alpn.as_deref()
    }

    /// On a server: the name the client asked for (SNI).
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// The peer's certificate chain, end entity first (DER); empty when the
    /// peer sent none (a client without a client certificate).
    pub fn peer_certificates(&self) -> &[CertificateDer<'static>] {
        &self.peer_certificates
    }
}

impl fmt::Debug for TlsInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsInfo")
            .field("version", &self.version)
            .field("cipher_suite", &self.cipher_suite)
            .field("alpn", &self.alpn)
            .field("server_name", &self.server_name)
            .field("peer_certificates", &self.peer_certificates.len())
            .finish()
    }
}

/// Makes client TLS sessions: the client half of an `SSLContext`.
///
/// Cheap to clone (an `Arc` of the rustls config).
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl TlsConnector {
    /// A connector for a rustls client config you built.
    pub fn new(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector { config }
    }

    /// A connector that trusts `roots`, with rustls's safe defaults (TLS
    /// 1.2 and 1.3, the ring provider, no client certificate).
    ///
    /// # Errors
    ///
    /// Fails only if the provider supports none of the default versions.
    pub fn with_roots(roots: RootCertStore) -> io::Result<TlsConnector> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("cannot build the TLS client config", e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConnector::new(Arc::new(config)))
    }

    /// A connector that trusts the given CA certificates (DER), e.g. a
    /// test CA or a private PKI.
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidData`](io::ErrorKind::InvalidData) if a
    /// certificate cannot be parsed.
    pub fn with_root_certificates(
        certs: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> io::Result<TlsConnector> {
        let mut roots = RootCertStore::empty();
        for c in certs {
            roots
                .add(c)
                .map_err(|e| tls_error("cannot use this root certificate", e))?;
        }
        TlsConnector::with_roots(roots)
    }

    /// The same connector offering these ALPN protocols, most preferred
    /// first (asyncio's `set_alpn_protocols`).
    pub fn with_alpn_protocols(mut self, protocols: &[&[u8]]) -> TlsConnector {
        Arc::make_mut(&mut self.config).alpn_protocols =
            protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// The rustls config.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Runs a client handshake over `stream`, checking the server's
    /// certificate against `server_name` (a DNS name or an IP address).
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidInput`](io::ErrorKind::InvalidInput) for a bad
    /// `server_name`, [`InvalidData`](io::ErrorKind::InvalidData) when the
    /// handshake fails (untrusted certificate, wrong name, protocol
    /// error), [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) when the
    /// peer hangs up during it, or with `stream`'s I/O error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future mid-handshake drops the stream
    /// with it.
    pub async fn connect<S>(&self, server_name: &str, stream: S) -> io::Result<TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(server_name.to_owned()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "`{server_name}` is not a valid TLS server name (a DNS name or an IP address)"
                ),
            )
        })?;
        let conn = ClientConnection::new(self.config.clone(), name)
            .map_err(|e| tls_error("cannot start a TLS client session", e))?;
        TlsStream::handshake(stream, conn.into()).await
    }
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

/// Makes server TLS sessions: the server half of an `SSLContext`.
///
/// Cheap to clone (an `Arc` of the rustls config).
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
}

impl TlsAcceptor {
    /// An acceptor for a rustls server config you built.
    pub fn new(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor { config }
    }

    /// An acceptor presenting `cert_chain` (end entity first, DER) with
    /// its private `key`, with rustls's safe defaults (TLS 1.2 and 1.3, the
    /// ring provider, no client certificates).
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidData`](io::ErrorKind::InvalidData) when the key
    /// does not fit the certificate or is of an unsupported kind.
    pub fn from_single_cert(
        cert_chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> io::Result<TlsAcceptor> {
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("cannot build the TLS server config", e))?
            .with_no_client_auth()
            .with_single_cert(cert_chain, key)
            .map_err(|e| tls_error("cannot use this certificate and key", e))?;
        Ok(TlsAcceptor::new(Arc::new(config)))
    }

    /// As [`from_single_cert`](TlsAcceptor::from_single_cert), from PEM
    /// text: a certificate chain and a private key (PKCS#8, PKCS#1 or
    /// SEC1), as `load_cert_chain(certfile, keyfile)` reads them.
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidData`](io::ErrorKind::InvalidData) when the PEM
    /// holds no certificate or no key, or they do not fit.
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> io::Result<TlsAcceptor> {
        let certs = CertificateDer::pem_slice_iter(cert_chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad certificate PEM: {e}"),
                )
            })?;
        if certs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the certificate PEM holds no CERTIFICATE block",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the key PEM holds no usable private key: {e}"),
            )
        })?;
        TlsAcceptor::from_single_cert(certs, key)
    }

    /// The same acceptor choosing among these ALPN protocols, most
    /// preferred first.
    pub fn with_alpn_protocols(mut self, protocols: &[&[u8]]) -> TlsAcceptor {
        Arc::make_mut(&mut self.config).alpn_protocols =
            protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// The rustls config.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// Runs a server handshake over `stream`.
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidData`](io::ErrorKind::InvalidData) when the
    /// handshake fails, [`UnexpectedEof`](io::ErrorKind::UnexpectedEof)
    /// when the peer hangs up during it, or with `stream`'s I/O error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future mid-handshake drops the stream
    /// with it.
    pub async fn accept<S>(&self, stream: S) -> io::Result<TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let conn = ServerConnection::new(self.config.clone())
            .map_err(|e| tls_error("cannot start a TLS server session", e))?;
        TlsStream::handshake(stream, conn.into()).await
    }
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor").finish_non_exhaustive()
    }
}

/// Upgrades a connected stream to TLS as a client: asyncio's `start_tls`
/// (`loop.start_tls(transport, protocol, ctx, server_hostname=...)`,
/// `StreamWriter.start_tls`). Whatever was exchanged in plain text before
/// stays as it was (STARTTLS-style protocols).
///
/// For the server side, call [`TlsAcceptor::accept`] on the stream.
///
/// # Errors
///
/// As for [`TlsConnector::connect`].
///
/// # Cancel safety
///
/// Not cancel safe, as [`TlsConnector::connect`].
pub async fn start_tls<S>(
    stream: S,
    connector: &TlsConnector,
    server_name: &str,
) -> io::Result<TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    connector.connect(server_name, stream).await
}

/// `S` seen as a blocking `Read + Write` for rustls: `Pending` becomes
/// `WouldBlock`, with `cx`'s waker registered.
struct SyncIo<'a, 'b, S> {
    io: &'a mut S,
    cx: &'a mut Context<'b>,
}

impl<S: AsyncRead + Unpin> Read for SyncIo<'_, '_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match Pin::new(&mut *self.io).poll_read(self.cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl<S: AsyncWrite + Unpin> Write for SyncIo<'_, '_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match Pin::new(&mut *self.io).poll_write(self.cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match Pin::new(&mut *self.io).poll_write_vectored(self.cx, bufs) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match Pin::new(&mut *self.io).poll_flush(self.cx) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// A TLS session over a stream `S`: plaintext in and out through
/// [`AsyncRead`] and [`AsyncWrite`]. Made by [`TlsConnector::connect`],
/// [`TlsAcceptor::accept`] or [`start_tls`], after the handshake.
///
/// Call `close()` (`AsyncWriteExt::close`) to end it with a
/// `close_notify`; dropping it just closes `S`.
pub struct TlsStream<S> {
    io: S,
    conn: Connection,
    close_sent: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream<S> {
    async fn handshake(io: S, conn: Connection) -> io::Result<TlsStream<S>> {
        let mut stream = TlsStream {
            io,
            conn,
            close_sent: false,
        };
        poll_fn(|cx| stream.poll_handshake(cx)).await?;
        Ok(stream)
    }

    /// Moves pending records to the socket; `Pending` if it is full.
    fn poll_write_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.wants_write() {
            let mut io = SyncIo {
                io: &mut self.io,
                cx,
            };
            match self.conn.write_tls(&mut io) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the stream under the TLS session accepted no bytes",
                    )))
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Reads records and processes them; `Ok(false)` at the stream's EOF.
    fn poll_read_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let mut io = SyncIo {
            io: &mut self.io,
            cx,
        };
        let n = match self.conn.read_tls(&mut io) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
            Err(e) => return Poll::Ready(Err(e)),
        };
        if let Err(e) = self.conn.process_new_packets() {
            // Tell the peer why, best effort.
            let mut io = SyncIo {
                io: &mut self.io,
                cx,
            };
            let _ = self.conn.write_tls(&mut io);
            return Poll::Ready(Err(tls_error("TLS error", e)));
        }
        Poll::Ready(Ok(n > 0))
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.is_handshaking() {
            if self.conn.wants_write() {
                match self.poll_write_tls(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            if !self.conn.wants_read() {
                return Poll::Ready(Err(io::Error::other(
                    "the TLS handshake stalled: the session wants neither to read nor to write",
                )));
            }
            match self.poll_read_tls(cx) {
                Poll::Ready(Ok(true)) => {}
                Poll::Ready(Ok(false)) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed the connection during the TLS handshake",
                    )))
                }
                Poll::Ready(Err(e)) => {
                    if e.kind() == io::ErrorKind::InvalidData {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("TLS handshake failed: {e}"),
                        )));
                    }
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        // The last flight (client Finished, session tickets).
        match self.poll_write_tls(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.io).poll_flush(cx),
            other => other,
        }
    }
}

impl<S> TlsStream<S> {
    /// What the handshake agreed on.
    pub fn info(&self) -> TlsInfo {
        TlsInfo::of(&self.conn)
    }

    /// The rustls session, for anything [`info`](TlsStream::info) does not
    /// cover (exporting keying material, ...).
    pub fn session(&self) -> &Connection {
        &self.conn
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The stream underneath, mutably. Reading or writing it directly
    /// corrupts the TLS session.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// The stream underneath and the rustls session.
    pub fn into_inner(self) -> (S, Connection) {
        (self.io, self.conn)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match this.conn.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed TCP without close_notify: a ragged EOF,
                // tolerated as asyncio does.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Poll::Ready(Ok(0)),
                Err(e) => return Poll::Ready(Err(e)),
            }
            // Records queued by reading (alerts, key updates) go out when
            // they can; a full socket is not this read's problem.
            if this.conn.wants_write() {
                if let Poll::Ready(Err(e)) = this.poll_write_tls(cx) {
                    return Poll::Ready(Err(e));
                }
            }
            match this.poll_read_tls(cx) {
                Poll::Ready(Ok(true)) => {}
                Poll::Ready(Ok(false)) => {
                    // EOF: the reader now says Ok(0) or UnexpectedEof.
                    match this.conn.reader().read(buf) {
                        Ok(n) => return Poll::Ready(Ok(n)),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return Poll::Ready(Ok(0))
                        }
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            return Poll::Ready(Ok(0))
                        }
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.close_sent {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "cannot write to a TLS stream after close()",
            )));
        }
        // Backpressure: no new plaintext while old records wait.
        match this.poll_write_tls(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        let n = this.conn.writer().write(buf)?;
        // Send what the socket takes now; the rest goes on the next write
        // or flush (an error shows up there too).
        let _ = this.poll_write_tls(cx);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.conn.writer().flush()?;
        match this.poll_write_tls(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.io).poll_flush(cx),
            other => other,
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.close_sent {
            this.conn.send_close_notify();
            this.close_sent = true;
        }
        match this.poll_write_tls(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.io).poll_close(cx),
            other => other,
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for TlsStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("io", &self.io)
            .field("version", &self.conn.protocol_version())
            .finish_non_exhaustive()
    }
}
