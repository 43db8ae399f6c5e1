//! [`TcpStream`]: a TCP connection registered with the reactor.
//!
//! The stream is an [`Async<std::net::TcpStream>`](Async) in non-blocking
//! mode. Reads and writes try the system call first and wait for readiness
//! only on `WouldBlock`, so a ready socket costs one system call. Both
//! directions may be used at once from different tasks: through `&TcpStream`
//! (which implements `AsyncRead`/`AsyncWrite` too), the borrowed
//! [`split`](TcpStream::split), or the owned
//! [`into_split`](TcpStream::into_split) halves.

use std::fmt;
use std::io::{self, Read as _};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use socket2::SockRef;
use tulipa_reactor::Async;

use crate::addr::ToSocketAddrs;
use crate::connect::{self, ConnectOptions};
use crate::split::{self, SplitStream};
use crate::tcp::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};

/// A TCP connection.
///
/// Created by [`connect`](TcpStream::connect) (or
/// [`connect_with`](TcpStream::connect_with) for a timeout and the happy
/// eyeballs delay), by [`TcpListener::accept`](crate::TcpListener::accept),
/// or from a std stream with [`from_std`](TcpStream::from_std).
///
/// Read and write through the [`AsyncRead`](futures_lite::io::AsyncRead)/[`AsyncWrite`](futures_lite::io::AsyncWrite) impls (with
/// `futures_lite::{AsyncReadExt, AsyncWriteExt}`); they exist for
/// `TcpStream` and for `&TcpStream`, so one task may read while another
/// writes. Dropping the stream closes the connection.
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use tulipa_net::{TcpListener, TcpStream};
///
/// tulipa::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = tulipa::spawn(async move {
///         let (mut conn, _) = listener.accept().await?;
///         let mut buf = [0; 4];
///         conn.read_exact(&mut buf).await?;
///         conn.write_all(&buf).await?;
///         std::io::Result::Ok(())
///     });
///     let mut client = TcpStream::connect(addr).await?;
///     client.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     client.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     server.await.unwrap()
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct TcpStream {
    pub(crate) io: Async<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying every address it resolves to.
    ///
    /// With several addresses (a host name with IPv6 and IPv4 records),
    /// the attempts follow RFC 8305 "happy eyeballs": address families
    /// interleaved, the next attempt started 250 ms after the previous one
    /// or as soon as it fails, the first success kept and the others
    /// dropped. See [`connect_with`](TcpStream::connect_with) to change the
    /// delay or add a timeout.
    ///
    /// # Errors
    ///
    /// Fails when the name does not resolve, or when every attempt fails;
    /// the error is then the last attempt's, with its address in the
    /// message (the inner error is a [`ConnectError`](crate::ConnectError)).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future closes every socket it opened.
    #[track_caller]
    pub fn connect<A: ToSocketAddrs>(
        addr: A,
    ) -> impl std::future::Future<Output = io::Result<TcpStream>> + use<A> {
        tulipa_core::await_point::track(async move {
            connect::connect(&addr, &ConnectOptions::default()).await
        })
    }

    /// Connects to `addr` with the given [`ConnectOptions`].
    ///
    /// # Errors
    ///
    /// As for [`connect`](TcpStream::connect); when the options' timeout
    /// passes first, fails with [`TimedOut`](io::ErrorKind::TimedOut).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`connect`](TcpStream::connect).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulipa_net::{ConnectOptions, TcpListener, TcpStream};
    ///
    /// tulipa::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let options = ConnectOptions::new()
    ///         .timeout(Duration::from_secs(5))
    ///         .happy_eyeballs_delay(Some(Duration::from_millis(100)));
    ///     let stream = TcpStream::connect_with(listener.local_addr()?, &options).await?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[track_caller]
    pub fn connect_with<'t0, A: ToSocketAddrs>(
        addr: A,
        options: &'t0 ConnectOptions,
    ) -> impl std::future::Future<Output = io::Result<TcpStream>> + use<'t0, A> {
        tulipa_core::await_point::track(async move { connect::connect(&addr, options).await })
    }

    /// Connects to `addr`, failing with
    /// [`TimedOut`](io::ErrorKind::TimedOut) if no connection is
    /// established (including the name lookup) within `timeout`.
    ///
    /// # Errors
    ///
    /// As for [`connect_with`](TcpStream::connect_with).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`connect`](TcpStream::connect).
    #[track_caller]
    pub fn connect_timeout<A: ToSocketAddrs>(
        addr: A,
        timeout: Duration,
    ) -> impl std::future::Future<Output = io::Result<TcpStream>> + use<A> {
        tulipa_core::await_point::track(async move {
            connect::connect(&addr, &ConnectOptions::new().timeout(timeout)).await
        })
    }

    /// Wraps a connected std stream, putting it in non-blocking mode and
    /// registering it with the current reactor.
    ///
    /// # Errors
    ///
    /// Fails if the socket cannot be made non-blocking or registered.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let io = Async::new(stream)?;
        // A TCP stream: a short read means its buffer is empty, and on
        // Linux every read says whether it emptied it.
        io.set_tcp_stream();
        Ok(TcpStream { io })
    }

    /// Wraps a socket that is already in non-blocking mode.
    pub(crate) fn from_nonblocking(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let io = Async::new_nonblocking(stream)?;
        // A TCP stream: a short read means its buffer is empty, and on
        // Linux every read says whether it emptied it.
        io.set_tcp_stream();
        Ok(TcpStream { io })
    }

    /// Deregisters the stream and returns the std stream, back in blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// Fails if the reactor refuses to deregister it (the stream is closed
    /// then) or blocking mode cannot be restored.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        let stream = self.io.into_inner()?;
        stream.set_nonblocking(false)?;
        Ok(stream)
    }

    /// The underlying [`Async`] of the std stream, for operations this type
    /// does not wrap.
    pub fn as_async(&self) -> &Async<std::net::TcpStream> {
        &self.io
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// Fails as `getsockname(2)` does.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The remote address of the connection.
    ///
    /// # Errors
    ///
    /// Fails as `getpeername(2)` does, e.g. with
    /// [`NotConnected`](io::ErrorKind::NotConnected) after the peer reset
    /// the connection.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `TCP_NODELAY`: when `true`, small writes are sent at once
    /// instead of being coalesced (Nagle's algorithm off).
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Turns TCP keepalive probes on (`Some(idle)`: the first probe after
    /// `idle` without traffic) or off (`None`).
    ///
    /// For the probe interval and count, use [`socket2::SockRef`] on
    /// [`as_async`](TcpStream::as_async)`().get_ref()`.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        let sock = SockRef::from(self.io.get_ref());
        match idle {
            None => sock.set_keepalive(false),
            Some(idle) => sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(idle)),
        }
    }

    /// Whether keepalive probes are on (`SO_KEEPALIVE`).
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn keepalive(&self) -> io::Result<bool> {
        SockRef::from(self.io.get_ref()).keepalive()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes dropping the stream
    /// reset the connection (RST) instead of closing it gracefully (FIN)
    /// and discards unsent data.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self.io.get_ref()).linger()
    }

    /// Sets the IP time-to-live of outgoing packets.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// Shutting down writing sends a FIN: the peer reads end of file, and
    /// this side can still read what the peer sends (a half-close).
    ///
    /// # Errors
    ///
    /// Fails as `shutdown(2)` does, e.g. with
    /// [`NotConnected`](io::ErrorKind::NotConnected) after a reset.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Receives data without removing it from the queue: the next read sees
    /// it again. Waits until data (or end of file, `Ok(0)`) is there.
    ///
    /// # Errors
    ///
    /// Fails as `recv(2)` does.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is consumed.
    #[track_caller]
    pub fn peek<'t0, 't1>(
        &'t0 self,
        buf: &'t1 mut [u8],
    ) -> impl std::future::Future<Output = io::Result<usize>> + use<'t0, 't1> {
        tulipa_core::await_point::track(async move { self.io.read_with(|s| s.peek(buf)).await })
    }

    /// Waits until the stream may be readable (see
    /// [`Async::readable`]).
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

    /// Waits until the stream may be writable (see
    /// [`Async::writable`]).
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

    /// Reads without waiting: [`WouldBlock`](io::ErrorKind::WouldBlock)
    /// when no data is there.
    ///
    /// # Errors
    ///
    /// Fails as `read(2)` does.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&mut self.io.get_ref()).read(buf)
    }

    /// Writes without waiting: [`WouldBlock`](io::ErrorKind::WouldBlock)
    /// when the send buffer is full.
    ///
    /// # Errors
    ///
    /// Fails as `write(2)` does.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        io::Write::write(&mut self.io.get_ref(), buf)
    }

    /// Splits the stream into a read half and a write half that borrow it,
    /// usable from two tasks at once (e.g. with a scoped join).
    pub fn split(&self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Splits the stream into owned read and write halves, each `'static`
    /// and [`Send`], to move into separate tasks.
    ///
    /// Dropping the write half shuts down the write direction (the peer
    /// reads end of file); [`OwnedReadHalf::reunite`] puts the halves back
    /// together.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    /// use tulipa_net::{TcpListener, TcpStream};
    ///
    /// tulipa::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     let (mut rd, mut wr) = client.into_split();
    ///     let writer = tulipa::spawn(async move { wr.write_all(b"hi").await.map(|_| wr) });
    ///     let (mut srd, mut swr) = server.into_split();
    ///     let mut buf = [0; 2];
    ///     srd.read_exact(&mut buf).await?;
    ///     swr.write_all(&buf).await?;
    ///     rd.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hi");
    ///     let wr = writer.await.unwrap()?;
    ///     let _client: TcpStream = rd.reunite(wr).expect("halves of one stream");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    fn try_from(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(stream)
    }
}

impl TryFrom<TcpStream> for std::net::TcpStream {
    type Error = io::Error;

    fn try_from(stream: TcpStream) -> io::Result<std::net::TcpStream> {
        stream.into_std()
    }
}

impl TryFrom<OwnedFd> for TcpStream {
    type Error = io::Error;

    /// Wraps a descriptor that must be a connected TCP socket.
    fn try_from(fd: OwnedFd) -> io::Result<TcpStream> {
        TcpStream::from_std(std::net::TcpStream::from(fd))
    }
}

split::stream_io!(TcpStream);

/// `shutdown(SHUT_WR)`, where a peer that is already gone is not an error:
/// the goal (no more writes) is reached.
pub(crate) fn shutdown_write(s: &std::net::TcpStream) -> io::Result<()> {
    match s.shutdown(Shutdown::Write) {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        res => res,
    }
}

impl SplitStream for TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        shutdown_write(self.io.get_ref())
    }

    fn shutdown_both(&self) -> io::Result<()> {
        match self.io.get_ref().shutdown(Shutdown::Both) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        }
    }
}

impl crate::split::OwnedReadHalf<TcpStream> {
    /// The remote address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.as_stream().peer_addr()
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.as_stream().local_addr()
    }

    /// Receives data without consuming it; see [`TcpStream::peek`].
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::peek`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn peek<'t0, 't1>(
        &'t0 self,
        buf: &'t1 mut [u8],
    ) -> impl std::future::Future<Output = io::Result<usize>> + use<'t0, 't1> {
        tulipa_core::await_point::track(async move { self.as_stream().peek(buf).await })
    }
}

impl crate::split::OwnedWriteHalf<TcpStream> {
    /// The remote address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.as_stream().peer_addr()
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.as_stream().local_addr()
    }
}
