//! [`UdpSocket`]: datagrams over UDP.
//!
//! An [`Async<std::net::UdpSocket>`](Async) in non-blocking mode; every
//! operation tries the system call first and waits for readiness only on
//! `WouldBlock`. A datagram is sent or received whole by one call, so the
//! futures are cancel safe: nothing is half-sent or half-received. Any
//! number of tasks may send and receive through `&UdpSocket` at once.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};

use socket2::SockRef;
use tulipa_reactor::Async;

use crate::addr::{resolve_nonempty, ToSocketAddrs};

/// A UDP socket.
///
/// # Examples
///
/// ```
/// use tulipa_net::UdpSocket;
///
/// tulipa::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"hello", b.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr()?));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct UdpSocket {
    io: Async<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr`, trying each address it resolves to.
    ///
    /// # Errors
    ///
    /// Fails when `addr` does not resolve, or with the last address's
    /// error when none binds.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let mut last = None;
        for addr in resolve_nonempty(&addr).await? {
            match std::net::UdpSocket::bind(addr) {
                Ok(s) => return UdpSocket::from_std(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to bind")))
    }

    /// Wraps a std socket, putting it in non-blocking mode and registering
    /// it with the current reactor.
    ///
    /// # Errors
    ///
    /// Fails if the socket cannot be made non-blocking or registered.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: Async::new(socket)?,
        })
    }

    /// Deregisters the socket and returns the std socket, back in blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// Fails if the reactor refuses to deregister it (it is closed then)
    /// or blocking mode cannot be restored.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        let s = self.io.into_inner()?;
        s.set_nonblocking(false)?;
        Ok(s)
    }

    /// The underlying [`Async`] of the std socket.
    pub fn as_async(&self) -> &Async<std::net::UdpSocket> {
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

    /// The address the socket is [connected](UdpSocket::connect) to.
    ///
    /// # Errors
    ///
    /// Fails with [`NotConnected`](io::ErrorKind::NotConnected) if it is
    /// not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets the default destination of [`send`](UdpSocket::send) and
    /// limits [`recv`](UdpSocket::recv) to datagrams from `addr` (the
    /// first address it resolves to that the socket accepts).
    ///
    /// # Errors
    ///
    /// Fails when `addr` does not resolve, or as `connect(2)` does.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn connect<'t0, A: ToSocketAddrs>(
        &'t0 self,
        addr: A,
    ) -> impl std::future::Future<Output = io::Result<()>> + use<'t0, A> {
        tulipa_core::await_point::track(async move {
            let mut last = None;
            for addr in resolve_nonempty(&addr).await? {
                match self.io.get_ref().connect(addr) {
                    Ok(()) => return Ok(()),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| io::Error::other("no address to connect to")))
        })
    }

    /// Sends a datagram to `target` (its first resolved address); returns
    /// the number of bytes sent.
    ///
    /// # Errors
    ///
    /// Fails when `target` does not resolve, or as `sendto(2)` does (e.g.
    /// a datagram larger than the socket allows).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the datagram is sent whole or not at all.
    #[track_caller]
    pub fn send_to<'t0, 't1, A: ToSocketAddrs>(
        &'t0 self,
        buf: &'t1 [u8],
        target: A,
    ) -> impl std::future::Future<Output = io::Result<usize>> + use<'t0, 't1, A> {
        tulipa_core::await_point::track(async move {
            let addr = match target.to_socket_addrs().await?.next() {
                Some(a) => a,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "the target resolved to no socket address: check the host name",
                    ))
                }
            };
            self.io.write_with(|s| s.send_to(buf, addr)).await
        })
    }

    /// Receives a datagram; returns its length and sender. A datagram
    /// longer than `buf` is truncated (the rest is lost).
    ///
    /// # Errors
    ///
    /// Fails as `recvfrom(2)` does.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: no datagram is received unless the future completes.
    #[track_caller]
    pub fn recv_from<'t0, 't1>(
        &'t0 self,
        buf: &'t1 mut [u8],
    ) -> impl std::future::Future<Output = io::Result<(usize, SocketAddr)>> + use<'t0, 't1> {
        tulipa_core::await_point::track(
            async move { self.io.read_with(|s| s.recv_from(buf)).await },
        )
    }

    /// Like [`recv_from`](UdpSocket::recv_from), leaving the datagram in
    /// the queue.
    ///
    /// # Errors
    ///
    /// As for [`recv_from`](UdpSocket::recv_from).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn peek_from<'t0, 't1>(
        &'t0 self,
        buf: &'t1 mut [u8],
    ) -> impl std::future::Future<Output = io::Result<(usize, SocketAddr)>> + use<'t0, 't1> {
        tulipa_core::await_point::track(
            async move { self.io.read_with(|s| s.peek_from(buf)).await },
        )
    }

    /// Sends a datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// Fails with [`NotConnected`](io::ErrorKind::NotConnected) if the
    /// socket is not connected, or as `send(2)` does, e.g.
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused) when an
    /// earlier datagram drew an ICMP "port unreachable".
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
    /// As for [`send`](UdpSocket::send).
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

    /// Like [`recv`](UdpSocket::recv), leaving the datagram in the queue.
    ///
    /// # Errors
    ///
    /// As for [`recv`](UdpSocket::recv).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[track_caller]
    pub fn peek<'t0, 't1>(
        &'t0 self,
        buf: &'t1 mut [u8],
    ) -> impl std::future::Future<Output = io::Result<usize>> + use<'t0, 't1> {
        tulipa_core::await_point::track(async move { self.io.read_with(|s| s.peek(buf)).await })
    }

    /// Polls to send a datagram to `target`.
    ///
    /// # Errors
    ///
    /// As for [`send_to`](UdpSocket::send_to).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.poll_io(cx, false, |s| s.send_to(buf, target))
    }

    /// Polls to receive a datagram.
    ///
    /// # Errors
    ///
    /// As for [`recv_from`](UdpSocket::recv_from).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.poll_io(cx, true, |s| s.recv_from(buf))
    }

    /// Polls to send a datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// As for [`send`](UdpSocket::send).
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_io(cx, false, |s| s.send(buf))
    }

    /// Polls to receive a datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// As for [`recv`](UdpSocket::recv).
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_io(cx, true, |s| s.recv(buf))
    }

    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        read: bool,
        mut op: impl FnMut(&std::net::UdpSocket) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match op(self.io.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                res => return Poll::Ready(res),
            }
            let ready = if read {
                self.io.poll_readable(cx)
            } else {
                self.io.poll_writable(cx)
            };
            match ready {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Sets `SO_BROADCAST`: allow sending to a broadcast address.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with
    /// address `interface` ([`Ipv4Addr::UNSPECIFIED`] lets the system pick).
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(IP_ADD_MEMBERSHIP)` does, e.g. when
    /// `multiaddr` is not a multicast address.
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`join_multicast_v4`](UdpSocket::join_multicast_v4).
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(IP_DROP_MEMBERSHIP)` does.
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on the interface with
    /// index `interface` (0 lets the system pick).
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(IPV6_ADD_MEMBERSHIP)` does.
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(IPV6_DROP_MEMBERSHIP)` does.
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(multiaddr, interface)
    }

    /// Sets `IP_MULTICAST_LOOP`: whether this host receives its own
    /// IPv4 multicast datagrams.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`, the hop limit of IPv4 multicast datagrams.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v6(on)
    }

    /// Sets the IP time-to-live of outgoing datagrams.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing datagrams.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets `SO_RCVBUF`, the kernel receive buffer size.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_recv_buffer_size(size)
    }

    /// Sets `SO_SNDBUF`, the kernel send buffer size.
    ///
    /// # Errors
    ///
    /// Fails as `setsockopt(2)` does.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_send_buffer_size(size)
    }

    /// Takes the pending socket error (`SO_ERROR`), e.g. an ICMP error a
    /// connected socket received.
    ///
    /// # Errors
    ///
    /// Fails as `getsockopt(2)` does.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UdpSocket");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl TryFrom<std::net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    fn try_from(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(socket)
    }
}

impl TryFrom<UdpSocket> for std::net::UdpSocket {
    type Error = io::Error;

    fn try_from(socket: UdpSocket) -> io::Result<std::net::UdpSocket> {
        socket.into_std()
    }
}

impl TryFrom<OwnedFd> for UdpSocket {
    type Error = io::Error;

    /// Wraps a descriptor that must be a UDP socket.
    fn try_from(fd: OwnedFd) -> io::Result<UdpSocket> {
        UdpSocket::from_std(std::net::UdpSocket::from(fd))
    }
}
