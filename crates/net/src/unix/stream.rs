//! [`UnixStream`]: a connected Unix domain stream socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};
use tulipa_reactor::Async;

use crate::split::{self, SplitStream};
use crate::unix::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};

/// A Unix domain stream socket.
///
/// Read and write through the [`AsyncRead`](futures_lite::io::AsyncRead)/[`AsyncWrite`](futures_lite::io::AsyncWrite) impls, for
/// `UnixStream` and `&UnixStream`.
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use tulipa_net::UnixStream;
///
/// tulipa::run(async {
///     let (mut a, mut b) = UnixStream::pair()?;
///     a.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct UnixStream {
    pub(crate) io: Async<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Errors
    ///
    /// Fails as `connect(2)` does: [`NotFound`](io::ErrorKind::NotFound)
    /// when nothing is at `path`,
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused) when no one
    /// listens there, [`WouldBlock`](io::ErrorKind::WouldBlock) when the
    /// listener's backlog is full.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future closes the socket.
    #[track_caller]
    pub fn connect<P: AsRef<Path>>(
        path: P,
    ) -> impl std::future::Future<Output = io::Result<UnixStream>> + use<P> {
        tulipa_core::await_point::track(async move {
            let addr = SockAddr::unix(path)?;
            let socket = Socket::new(Domain::UNIX, Type::STREAM.nonblocking(), None)?;
            match socket.connect(&addr) {
                Ok(()) => {}
                Err(e)
                    if e.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) => {}
                Err(e) => return Err(e),
            }
            let stream = UnixStream::from_nonblocking(socket.into())?;
            loop {
                if let Some(e) = stream.io.get_ref().take_error()? {
                    return Err(e);
                }
                match stream.io.get_ref().peer_addr() {
                    Ok(_) => return Ok(stream),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                    Err(e) => return Err(e),
                }
                stream.io.writable().await?;
            }
        })
    }

    /// A pair of connected sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// Fails as `socketpair(2)` does, or if a socket cannot be registered.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM.nonblocking(), None)?;
        Ok((
            UnixStream::from_nonblocking(a.into())?,
            UnixStream::from_nonblocking(b.into())?,
        ))
    }

    /// Wraps a connected std socket, putting it in non-blocking mode and
    /// registering it with the current reactor.
    ///
    /// # Errors
    ///
    /// Fails if the socket cannot be made non-blocking or registered.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        let io = Async::new(stream)?;
        // A stream socket: a short read means its buffer is empty.
        io.set_byte_stream();
        Ok(UnixStream { io })
    }

    pub(crate) fn from_nonblocking(
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<UnixStream> {
        let io = Async::new_nonblocking(stream)?;
        // A stream socket: a short read means its buffer is empty.
        io.set_byte_stream();
        Ok(UnixStream { io })
    }

    /// Deregisters the socket and returns the std socket, back in blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// Fails if the reactor refuses to deregister it (it is closed then)
    /// or blocking mode cannot be restored.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        let s = self.io.into_inner()?;
        s.set_nonblocking(false)?;
        Ok(s)
    }

    /// The underlying [`Async`] of the std socket.
    pub fn as_async(&self) -> &Async<std::os::unix::net::UnixStream> {
        &self.io
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// Fails as `getsockname(2)` does.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// Fails as `getpeername(2)` does.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the read half, the write half, or both; see
    /// [`TcpStream::shutdown`](crate::TcpStream::shutdown).
    ///
    /// # Errors
    ///
    /// Fails as `shutdown(2)` does.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Waits until the socket may be readable.
    ///
    /// # Errors
    ///
    /// Fails if the reactor was shut down.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn readable<'t0>(
        &'t0 self,
    ) -> impl std::future::Future<Output = io::Result<()>> + use<'t0> {
        tulipa_core::await_point::track(async move { self.io.readable().await })
    }

    /// Waits until the socket may be writable.
    ///
    /// # Errors
    ///
    /// Fails if the reactor was shut down.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn writable<'t0>(
        &'t0 self,
    ) -> impl std::future::Future<Output = io::Result<()>> + use<'t0> {
        tulipa_core::await_point::track(async move { self.io.writable().await })
    }

    /// Splits the stream into borrowed read and write halves.
    pub fn split(&self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Splits the stream into owned halves; see
    /// [`TcpStream::into_split`](crate::TcpStream::into_split).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }
}

impl SplitStream for UnixStream {
    fn shutdown_write(&self) -> io::Result<()> {
        match self.io.get_ref().shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        }
    }

    fn shutdown_both(&self) -> io::Result<()> {
        match self.io.get_ref().shutdown(Shutdown::Both) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        }
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl TryFrom<std::os::unix::net::UnixStream> for UnixStream {
    type Error = io::Error;

    fn try_from(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_std(s)
    }
}

impl TryFrom<UnixStream> for std::os::unix::net::UnixStream {
    type Error = io::Error;

    fn try_from(s: UnixStream) -> io::Result<std::os::unix::net::UnixStream> {
        s.into_std()
    }
}

impl TryFrom<OwnedFd> for UnixStream {
    type Error = io::Error;

    /// Wraps a descriptor that must be a connected Unix stream socket.
    fn try_from(fd: OwnedFd) -> io::Result<UnixStream> {
        UnixStream::from_std(std::os::unix::net::UnixStream::from(fd))
    }
}

split::stream_io!(UnixStream);
