//! [`TcpListener`] and its [`Incoming`] stream.
//!
//! Accepting uses `accept4(2)` with `SOCK_NONBLOCK | SOCK_CLOEXEC`, so a new
//! connection is non-blocking from birth and is registered with the reactor
//! without extra `fcntl` calls. [`accept`](TcpListener::accept) returns
//! every error as it comes; [`incoming`](TcpListener::incoming) is the
//! accept loop a server wants: it skips errors that concern one connection
//! and backs off while the process is out of descriptors (see the
//! `accept` module docs for the policy).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::Stream;
use rustix::net::SocketFlags;
use tulipa_reactor::Async;

use crate::accept::{poll_accept_with_backoff, Backoff};
use crate::addr::{resolve_nonempty, ToSocketAddrs};
use crate::tcp::socket::TcpSocket;
use crate::TcpStream;

/// A TCP socket listening for connections.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// use tulipa_net::{TcpListener, TcpStream};
///
/// tulipa::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let _client = TcpStream::connect(addr).await?;
///     let mut incoming = listener.incoming();
///     let conn = incoming.next().await.expect("the stream never ends")?;
///     assert_eq!(conn.local_addr()?, addr);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct TcpListener {
    io: Async<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds a listener to `addr` with `SO_REUSEADDR` and a backlog of
    /// 1024, trying each address `addr` resolves to until one binds.
    ///
    /// Port 0 picks a free port; read it with
    /// [`local_addr`](TcpListener::local_addr). For other options (backlog,
    /// `SO_REUSEPORT`, buffer sizes) use [`TcpSocket`].
    ///
    /// # Errors
    ///
    /// Fails when `addr` does not resolve, or with the last address's
    /// error when none binds (e.g. [`AddrInUse`](io::ErrorKind::AddrInUse));
    /// the message names the address.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: only the name lookup waits.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let mut last = None;
        for addr in resolve_nonempty(&addr).await? {
            match bind_one(addr) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to bind")))
    }

    /// Wraps a listening std socket, putting it in non-blocking mode and
    /// registering it with the current reactor.
    ///
    /// # Errors
    ///
    /// Fails if the socket cannot be made non-blocking or registered.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Async::new(listener)?,
        })
    }

    /// Wraps a listening socket that is already in non-blocking mode.
    pub(crate) fn from_nonblocking(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Async::new_nonblocking(listener)?,
        })
    }

    /// Deregisters the listener and returns the std listener, back in
    /// blocking mode.
    ///
    /// # Errors
    ///
    /// Fails if the reactor refuses to deregister it (it is closed then)
    /// or blocking mode cannot be restored.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        let listener = self.io.into_inner()?;
        listener.set_nonblocking(false)?;
        Ok(listener)
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// Fails as `getsockname(2)` does.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The underlying [`Async`] of the std listener.
    pub fn as_async(&self) -> &Async<std::net::TcpListener> {
        &self.io
    }

    /// Accepts a connection, returning it and the peer's address.
    ///
    /// Returns every `accept(2)` error as it is, including those about a
    /// single connection (`ECONNABORTED`) and resource exhaustion
    /// (`EMFILE`); [`incoming`](TcpListener::incoming) handles those.
    ///
    /// # Errors
    ///
    /// Fails as `accept4(2)` does.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: no connection is accepted unless the future completes.
    #[track_caller]
    pub fn accept<'t0>(
        &'t0 self,
    ) -> impl std::future::Future<Output = io::Result<(TcpStream, SocketAddr)>> + use<'t0> {
        tulipa_core::await_point::track(async move {
            std::future::poll_fn(|cx| self.poll_accept(cx)).await
        })
    }

    /// Polls for a connection; see [`accept`](TcpListener::accept).
    ///
    /// Only the waker of the latest call is woken (readiness is shared by
    /// every task polling this listener).
    ///
    /// # Errors
    ///
    /// As for [`accept`](TcpListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        // Accepts only while the listener reads ready: one `accept4` that
        // says `EAGAIN` per wait, not one before and one after the check.
        self.io
            .poll_read_with(cx, accept_raw)
            .map(|r| r.and_then(|(stream, addr)| Ok((TcpStream::from_nonblocking(stream)?, addr))))
    }

    /// A stream of accepted connections that never ends: the accept loop
    /// of a server.
    ///
    /// It skips errors that concern one connection (`ECONNABORTED`,
    /// `EPROTO`, ...), and while the process or system is out of
    /// descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`) it
    /// sleeps (10 ms, doubling up to 160 ms) and tries again, instead of
    /// spinning or failing; other errors are yielded.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe between items: a connection is accepted only when the
    /// item is returned.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            backoff: Backoff::default(),
        }
    }

    /// The `IP_TTL` of accepted sockets.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets the `IP_TTL` inherited by accepted sockets.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }
}

/// Binds one address with the defaults of [`TcpListener::bind`].
fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::for_addr(addr)?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// One non-blocking `accept4`, the new socket non-blocking and close-on-exec.
fn accept_raw(listener: &std::net::TcpListener) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let (fd, addr) =
        rustix::net::acceptfrom_with(listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)?;
    let stream = std::net::TcpStream::from(fd);
    let addr = match addr.and_then(|a| SocketAddr::try_from(a).ok()) {
        Some(addr) => addr,
        None => stream.peer_addr()?,
    };
    Ok((stream, addr))
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    fn try_from(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
    }
}

impl TryFrom<TcpListener> for std::net::TcpListener {
    type Error = io::Error;

    fn try_from(listener: TcpListener) -> io::Result<std::net::TcpListener> {
        listener.into_std()
    }
}

impl TryFrom<OwnedFd> for TcpListener {
    type Error = io::Error;

    /// Wraps a descriptor that must be a listening TCP socket.
    fn try_from(fd: OwnedFd) -> io::Result<TcpListener> {
        TcpListener::from_std(std::net::TcpListener::from(fd))
    }
}

/// The stream of connections of [`TcpListener::incoming`].
///
/// Never yields `None`; see [`TcpListener::incoming`] for the errors it
/// skips, backs off on, and yields.
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    backoff: Backoff,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let listener = this.listener;
        poll_accept_with_backoff(&mut this.backoff, cx, |cx| listener.poll_accept(cx))
            .map(|res| Some(res.map(|(s, _)| s)))
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish_non_exhaustive()
    }
}
