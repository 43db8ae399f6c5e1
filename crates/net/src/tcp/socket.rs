//! [`TcpSocket`]: a TCP socket before it listens or connects, to set
//! options that must come first (backlog, `SO_REUSEADDR`, `SO_REUSEPORT`,
//! buffer sizes, binding the local end of a client).
//!
//! It owns a [`socket2::Socket`] created non-blocking and close-on-exec;
//! [`listen`](TcpSocket::listen) and [`connect`](TcpSocket::connect)
//! consume it and register the result with the reactor.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::{TcpListener, TcpStream};

/// A TCP socket that is not yet listening or connected: the builder of
/// [`TcpListener`]s and client [`TcpStream`]s with custom options.
///
/// # Examples
///
/// ```
/// use tulipa_net::TcpSocket;
///
/// tulipa::run(async {
///     let socket = TcpSocket::new_v4()?;
///     socket.set_reuseaddr(true)?;
///     socket.set_reuseport(true)?;
///     socket.bind("127.0.0.1:0".parse().unwrap())?;
///     let listener = socket.listen(4096)?;
///     let client = TcpSocket::new_v4()?.connect(listener.local_addr()?).await?;
///     assert_eq!(client.peer_addr()?, listener.local_addr()?);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket.
    ///
    /// # Errors
    ///
    /// Fails as `socket(2)` does (e.g. out of descriptors).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket.
    ///
    /// # Errors
    ///
    /// Fails as `socket(2)` does.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    /// A new TCP socket of the family of `addr`.
    ///
    /// # Errors
    ///
    /// Fails as `socket(2)` does.
    pub fn for_addr(addr: SocketAddr) -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::for_address(addr))
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let inner = Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))?;
        Ok(TcpSocket { inner })
    }

    /// The underlying [`socket2::Socket`], for options not wrapped here.
    pub fn as_socket2(&self) -> &Socket {
        &self.inner
    }

    /// Sets `SO_REUSEADDR`: bind a listening port that still has
    /// connections in `TIME_WAIT`.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_reuseaddr(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuse)
    }

    /// Whether `SO_REUSEADDR` is set.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several sockets (of the same user) may bind
    /// the same address and port, and the kernel spreads connections over
    /// them.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_reuseport(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuse)
    }

    /// Whether `SO_REUSEPORT` is set.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets `TCP_NODELAY` (inherited by a connected stream).
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Sets `SO_KEEPALIVE`.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Sets `SO_LINGER`; see [`TcpStream::set_linger`].
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// Sets `SO_SNDBUF`, the kernel send buffer size (Linux doubles it).
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_send_buffer_size(size)
    }

    /// The kernel send buffer size.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        self.inner.send_buffer_size()
    }

    /// Sets `SO_RCVBUF`, the kernel receive buffer size (Linux doubles it).
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size)
    }

    /// The kernel receive buffer size.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.inner.recv_buffer_size()
    }

    /// Sets `IPV6_V6ONLY` on an IPv6 socket: when `false`, a listener on
    /// `[::]` also accepts IPv4 connections.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does, e.g. on an IPv4 socket.
    pub fn set_only_v6(&self, only_v6: bool) -> io::Result<()> {
        self.inner.set_only_v6(only_v6)
    }

    /// Binds the local end of the socket.
    ///
    /// # Errors
    ///
    /// Fails as `bind(2)` does, e.g. with
    /// [`AddrInUse`](io::ErrorKind::AddrInUse); the message names `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner
            .bind(&addr.into())
            .map_err(|e| crate::addr::bind_error(&addr, true, e))
    }

    /// The bound local address.
    ///
    /// # Errors
    ///
    /// Fails as `getsockname(2)` does, or when the address is not an IP
    /// address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()?.as_socket().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket is not bound to an IP address",
            )
        })
    }

    /// Starts listening with room for `backlog` pending connections (the
    /// kernel caps it at `net.core.somaxconn`), and registers the listener
    /// with the current reactor.
    ///
    /// # Errors
    ///
    /// Fails as `listen(2)` does, or if the listener cannot be registered.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        TcpListener::from_nonblocking(self.inner.into())
    }

    /// Connects to `addr`, waiting until the connection is established.
    ///
    /// # Errors
    ///
    /// Fails as `connect(2)` does, e.g. with
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future closes the socket.
    #[track_caller]
    pub fn connect(
        self,
        addr: SocketAddr,
    ) -> impl std::future::Future<Output = io::Result<TcpStream>> + use<> {
        tulipa_core::await_point::track(async move {
            match self.inner.connect(&addr.into()) {
                Ok(()) => {}
                Err(e)
                    if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
                Err(e) => return Err(e),
            }
            let stream = TcpStream::from_nonblocking(self.inner.into())?;
            loop {
                if let Some(e) = stream.io.get_ref().take_error()? {
                    return Err(e);
                }
                match stream.peer_addr() {
                    Ok(_) => return Ok(stream),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                    Err(e) => return Err(e),
                }
                stream.io.writable().await?;
            }
        })
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl TryFrom<OwnedFd> for TcpSocket {
    type Error = io::Error;

    /// Wraps a descriptor that must be a TCP socket, putting it in
    /// non-blocking mode.
    fn try_from(fd: OwnedFd) -> io::Result<TcpSocket> {
        let inner = Socket::from(fd);
        inner.set_nonblocking(true)?;
        Ok(TcpSocket { inner })
    }
}

impl From<TcpSocket> for Socket {
    fn from(socket: TcpSocket) -> Socket {
        socket.inner
    }
}
