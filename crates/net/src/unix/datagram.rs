//! [`UnixDatagram`]: datagrams over Unix domain sockets.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{Domain, Socket, Type};
use tulipa_reactor::Async;

/// A Unix domain datagram socket.
///
/// Datagrams are sent and received whole, so every operation is cancel
/// safe. Unlike UDP, a Unix datagram socket is reliable and ordered: a send
/// to a full receiver waits instead of dropping the datagram.
///
/// # Examples
///
/// ```
/// use tulipa_net::UnixDatagram;
///
/// tulipa::run(async {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"one").await?;
///     let mut buf = [0; 8];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct UnixDatagram {
    io: Async<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Creates a socket bound to `path` (a new socket file).
    ///
    /// # Errors
    ///
    /// Fails as `bind(2)` does, e.g. with
    /// [`AddrInUse`](io::ErrorKind::AddrInUse) when the file exists.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// Creates a socket bound to no address: it can send (to a path, or
    /// after [`connect`](UnixDatagram::connect)) but nobody can address a
    /// reply to it.
    ///
    /// # Errors
    ///
    /// Fails as `socket(2)` does.
    pub fn unbound() -> io::Result<UnixDatagram> {
        let s = Socket::new(Domain::UNIX, Type::DGRAM.nonblocking(), None)?;
        UnixDatagram::from_nonblocking(s.into())
    }

    /// A pair of connected sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// Fails as `socketpair(2)` does.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::DGRAM.nonblocking(), None)?;
        Ok((
            UnixDatagram::from_nonblocking(a.into())?,
            UnixDatagram::from_nonblocking(b.into())?,
        ))
    }

    /// Wraps a std socket, putting it in non-blocking mode and registering
    /// it with the current reactor.
    ///
    /// # Errors
    ///
    /// Fails if the socket cannot be made non-blocking or registered.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Async::new(socket)?,
        })
    }

    fn from_nonblocking(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Async::new_nonblocking(socket)?,
        })
    }

    /// Deregisters the socket and returns the std socket, back in blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// Fails if the reactor refuses to deregister it (it is closed then)
    /// or blocking mode cannot be restored.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        let s = self.io.into_inner()?;
        s.set_nonblocking(false)?;
        Ok(s)
    }

    /// The underlying [`Async`] of the std socket.
    pub fn as_async(&self) -> &Async<std::os::unix::net::UnixDatagram> {
        &self.io
    }

    /// Sets the default destination of [`send`](UnixDatagram::send) and
    /// limits [`recv`](UnixDatagram::recv) to datagrams from `path`.
    ///
    /// # Errors
    ///
    /// Fails as `connect(2)` does.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// Fails as `getsockname(2)` does.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// Fails with [`NotConnected`](io::ErrorKind::NotConnected) if not
    /// connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sends a datagram to the socket at `path`.
    ///
    /// # Errors
    ///
    /// Fails as `sendto(2)` does, e.g.
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused) when no
    /// socket is bound at `path`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the datagram is sent whole or not at all.
    #[track_caller]
    pub fn send_to<'t0, 't1, P: AsRef<Path>>(
        &'t0 self,
        buf: &'t1 [u8],
        path: P,
    ) -> impl std::future::Future<Output = io::Result<usize>> + use<'t0, 't1, P> {
        tulipa_core::await_point::track(async move {
            let path = path.as_ref();
            self.io.write_with(|s| s.send_to(buf, path)).await
        })
    }

    /// Receives a datagram; returns its length and sender.
    ///
    /// # Errors
    ///
    /// Fails as `recvfrom(2)` does.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn recv_from<'t0, 't1>(
        &'t0 self,
        buf: &'t1 mut [u8],
    ) -> impl std::future::Future<Output = io::Result<(usize, SocketAddr)>> + use<'t0, 't1> {
        tulipa_core::await_point::track(
            async move { self.io.read_with(|s| s.recv_from(buf)).await },
        )
    }

    /// Sends a datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// Fails with [`NotConnected`](io::ErrorKind::NotConnected) if not
    /// connected, or as `send(2)` does.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn send<'t0, 't1>(
        &'t0 self,
        buf: &'t1 [u8],
    ) -> impl std::future::Future<Output = io::Result<usize>> + use<'t0, 't1> {
        tulipa_core::await_point::track(async move { self.io.write_with(|s| s.send(buf)).await })
    }

    /// Receives a datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// Fails as `recv(2)` does.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn recv<'t0, 't1>(
        &'t0 self,
        buf: &'t1 mut [u8],
    ) -> impl std::future::Future<Output = io::Result<usize>> + use<'t0, 't1> {
        tulipa_core::await_point::track(async move { self.io.read_with(|s| s.recv(buf)).await })
    }

    /// Shuts down reading, writing, or both.
    ///
    /// # Errors
    ///
    /// Fails as `shutdown(2)` does.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Takes the pending socket error (`SO_ERROR`).
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl TryFrom<std::os::unix::net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    fn try_from(s: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(s)
    }
}

impl TryFrom<UnixDatagram> for std::os::unix::net::UnixDatagram {
    type Error = io::Error;

    fn try_from(s: UnixDatagram) -> io::Result<std::os::unix::net::UnixDatagram> {
        s.into_std()
    }
}

impl TryFrom<OwnedFd> for UnixDatagram {
    type Error = io::Error;

    /// Wraps a descriptor that must be a Unix datagram socket.
    fn try_from(fd: OwnedFd) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::from(fd))
    }
}
