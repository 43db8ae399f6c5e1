//! Protocols over TLS (feature `tls`): `create_tls_server`,
//! `create_tls_connection`, and the [`Io`] of a TLS session.
//!
//! The handshake runs first, in the connection's own task (never in the
//! accept loop), bounded by [`HANDSHAKE_TIMEOUT`] (asyncio's
//! `ssl_handshake_timeout` default); only then is the protocol made and
//! `connection_made` called, so a protocol never sees a connection whose
//! handshake failed. A failed server-side handshake just closes that
//! socket; a client-side one is `create_tls_connection`'s error.
//!
//! [`TlsIo`] puts the [`TlsStream`] behind a mutex (a rustls session is one
//! state machine) and never writes from `Transport::write` directly
//! (`try_write` says `WouldBlock`): the driver flushes the transport's
//! buffer right after the callback that wrote, in the same poll. The mutex
//! is taken by the driver only, reading and flushing in turn, so it is
//! never contended; it comes after the transport's state lock.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::io::{AsyncRead, AsyncWrite};
use tulipa_core::spawn::Spawn;
use tulipa_reactor::Async;

use super::server::{bind_all, serve, Handler, ServerOptions, ServerShared};
use super::stream::Io;
use super::transport::{lock, SocketAddress, Transport};
use super::{current_spawner, run_client, start, Server, StreamProtocol};
use crate::tls::{TlsAcceptor, TlsConnector, TlsStream};
use crate::ToSocketAddrs;

/// How long a TLS handshake may take before the connection is dropped.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// A TLS session over a registered socket, as an [`Io`].
pub(crate) struct TlsIo<T: AsFd> {
    inner: Mutex<TlsStream<Async<T>>>,
    fd: RawFd,
}

impl<T: AsFd> TlsIo<T> {
    fn new(stream: TlsStream<Async<T>>) -> TlsIo<T> {
        let fd = stream.get_ref().as_fd().as_raw_fd();
        TlsIo {
            inner: Mutex::new(stream),
            fd,
        }
    }
}

impl<T> Io for TlsIo<T>
where
    T: AsFd + Send + Sync + 'static,
    Async<T>: AsyncRead + AsyncWrite,
{
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *lock(&self.inner)).poll_read(cx, buf)
    }

    fn try_write(&self, _bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    fn poll_write(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let buf = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        Pin::new(&mut *lock(&self.inner)).poll_write(cx, buf)
    }

    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.inner)).poll_flush(cx)
    }

    fn poll_shutdown_write(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "a TLS transport cannot half-close",
        )))
    }

    fn poll_close(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *lock(&self.inner)).poll_close(cx)
    }

    fn can_write_eof(&self) -> bool {
        false
    }

    fn raw_fd(&self) -> RawFd {
        self.fd
    }
}

/// TLS connections: handshake in the connection's task, then the driver.
struct TlsHandler<F> {
    factory: Arc<F>,
    acceptor: TlsAcceptor,
}

impl<P, F> Handler<Async<TcpStream>> for TlsHandler<F>
where
    P: StreamProtocol,
    F: Fn() -> P + Send + Sync + 'static,
{
    fn handle(
        &self,
        stream: Async<TcpStream>,
        peer: Option<SocketAddress>,
        local: Option<SocketAddress>,
        server: &Arc<ServerShared>,
        spawner: &dyn Spawn,
    ) {
        let acceptor = self.acceptor.clone();
        let factory = self.factory.clone();
        let options = server.connection_task(peer.as_ref());
        let server = server.clone();
        let _ = spawner.spawn_detached_with(
            options,
            Box::pin(async move {
                let tls =
                    match tulipa_timer::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => tls,
                        // A failed or stalled handshake concerns that peer only.
                        _ => return,
                    };
                let info = tls.info();
                let (transport, driver) =
                    start(factory(), TlsIo::new(tls), peer, local, Some(info));
                driver.on_end(server.register(transport)).await;
            }),
        );
    }
}

/// [`create_server`](super::create_server) over TLS: every accepted
/// connection first completes a TLS handshake with `acceptor`, then runs a
/// protocol made by `factory` on the plaintext (asyncio's
/// `create_server(..., ssl=context)`).
///
/// Handshakes run in each connection's own task, bounded by 60 seconds
/// (asyncio's default `ssl_handshake_timeout`); a connection whose
/// handshake fails is closed without a protocol ever being made, and a
/// connection counts in [`Server::connection_count`] (and for
/// [`Server::wait_closed`] and `close_clients`) from the end of its
/// handshake on. The
/// transports cannot `write_eof` ([`Transport::can_write_eof`] is false);
/// [`Transport::close`] sends a TLS `close_notify` before closing, and
/// [`Transport::tls_info`] gives the session's facts.
///
/// # Errors
///
/// As for [`create_server`](super::create_server).
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes what it bound.
#[track_caller]
pub fn create_tls_server<P, F, A>(
    factory: F,
    addr: A,
    acceptor: TlsAcceptor,
) -> impl Future<Output = io::Result<Server>>
where
    P: StreamProtocol,
    F: Fn() -> P + Send + Sync + 'static,
    A: ToSocketAddrs,
{
    let location = Location::caller();
    async move {
        current_spawner()?;
        let (listeners, addrs) = bind_all(addr).await?;
        let handler = TlsHandler {
            factory: Arc::new(factory),
            acceptor,
        };
        serve(listeners, addrs, handler, &ServerOptions::new(), location)
    }
}

/// [`create_connection`](super::create_connection) over TLS: connects,
/// completes a TLS handshake with `connector`, checking the server's
/// certificate against `server_name`, then runs the protocol (asyncio's
/// `create_connection(..., ssl=context, server_hostname=...)`).
///
/// # Errors
///
/// As for [`create_connection`](super::create_connection), plus the
/// handshake's errors (see [`TlsConnector::connect`]) and
/// [`TimedOut`](io::ErrorKind::TimedOut) after 60 seconds of handshake.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes the socket and never calls the
/// factory.
pub async fn create_tls_connection<P, F, A>(
    factory: F,
    addr: A,
    connector: &TlsConnector,
    server_name: &str,
) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
    A: ToSocketAddrs,
{
    current_spawner()?;
    let stream = crate::TcpStream::connect(addr).await?;
    let io = stream.io;
    let (peer, local) = super::tcp_addrs(&io);
    let tls = tulipa_timer::timeout(HANDSHAKE_TIMEOUT, connector.connect(server_name, io))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                "the TLS handshake did not finish within 60 seconds",
            )
        })??;
    let info = tls.info();
    run_client(factory, TlsIo::new(tls), peer, local, Some(info))
}
