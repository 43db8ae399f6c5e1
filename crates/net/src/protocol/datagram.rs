//! UDP endpoints driven by a [`DatagramProtocol`]: asyncio's
//! `create_datagram_endpoint`.
//!
//! # Design
//!
//! As for streams (see the `connection` and `lifecycle` modules): one driver
//! future per endpoint owns the protocol and calls
//! `datagram_received(&buf[..n], addr)` for each datagram, with no
//! allocation: `buf` is the worker thread's read buffer (`read_buf`), lent
//! for that one receive, so an idle endpoint holds none. [`DatagramTransport::send_to`] sends straight to the socket
//! when nothing is queued; a datagram the kernel refuses for now
//! (`WouldBlock`) is copied into a queue that the driver flushes when the
//! socket is writable, in order. The queue's byte count drives
//! `pause_writing` / `resume_writing` with the same marks as streams.
//!
//! Errors on one datagram never end the endpoint: a send or receive error
//! (an ICMP "port unreachable" reported as `ConnectionRefused` on a
//! connected socket, an oversized datagram) is handed to
//! `error_received`, from the driver, after the call that caused it.
//! The endpoint ends with `close` (after the queue is flushed) or `abort`,
//! calling `connection_lost(None)` exactly once. The end is the shared
//! lifecycle's, as for streams: a callback that panics ends the endpoint
//! without any further callback, and even a panicking `connection_lost`
//! still wakes `wait_closed`.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::task::{Context, Poll};

use tulipa_reactor::Async;

use super::current_spawner;
use super::lifecycle::{self, Connection, Outgoing, Runner};
use super::read_buf;

/// Datagrams received per poll before the driver yields.
const RECV_BUDGET: usize = 32;

/// The callbacks of a datagram endpoint: asyncio's `DatagramProtocol`.
///
/// Called from the endpoint's driver task, one at a time:
/// `connection_made` first, `connection_lost` exactly once last (unless a
/// callback panicked: the endpoint then closes with no further callback).
pub trait DatagramProtocol: Send + 'static {
    /// The endpoint is ready; `transport` sends from it. Keep a clone.
    fn connection_made(&mut self, transport: DatagramTransport) {
        let _ = transport;
    }

    /// A datagram arrived from `addr`. `data` is only valid during the call.
    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr);

    /// A send or receive failed (for example `ConnectionRefused`, when a
    /// connected endpoint's peer has no listener). The endpoint stays open.
    fn error_received(&mut self, err: io::Error) {
        let _ = err;
    }

    /// The endpoint closed. `err` is `None` after `close` or `abort`, or
    /// `Some` if the runtime dropped the endpoint while it was open.
    fn connection_lost(&mut self, err: Option<io::Error>) {
        let _ = err;
    }

    /// The send queue went above its high-water mark.
    fn pause_writing(&mut self) {}

    /// The send queue drained to its low-water mark.
    fn resume_writing(&mut self) {}
}

/// What a datagram transport's state holds besides the shared lifecycle.
struct DgramOut {
    io: Option<Arc<Async<UdpSocket>>>,
    queue: VecDeque<(Box<[u8]>, Option<SocketAddr>)>,
    queued_bytes: usize,
    /// Send errors for `error_received`.
    errors: Vec<io::Error>,
}

impl Outgoing for DgramOut {
    type Io = Arc<Async<UdpSocket>>;
    fn buffered(&self) -> usize {
        self.queued_bytes
    }
    fn discard(&mut self) {
        self.queue = VecDeque::new();
        self.queued_bytes = 0;
    }
    fn take_io(&mut self) -> Option<Self::Io> {
        self.io.take()
    }
}

/// An endpoint's fixed facts.
struct Addrs {
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
}

type Shared = lifecycle::Shared<DgramOut, Addrs>;

/// The sending end of a UDP endpoint: asyncio's `DatagramTransport`.
///
/// Cheap to clone, `Send` and `Sync`.
#[derive(Clone)]
pub struct DatagramTransport {
    shared: Arc<Shared>,
}

impl DatagramTransport {
    /// Sends `data` as one datagram to `addr`: asyncio's `sendto`.
    ///
    /// Straight to the socket when nothing is queued; otherwise (or when
    /// the kernel says `WouldBlock`) queued and sent in order by the
    /// endpoint's driver. Ignored once the transport is closing. An error
    /// from the socket goes to
    /// [`error_received`](DatagramProtocol::error_received).
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidInput`](io::ErrorKind::InvalidInput) when the
    /// endpoint is connected to a remote address and `addr` is another.
    pub fn send_to(&self, data: &[u8], addr: SocketAddr) -> io::Result<()> {
        if let Some(remote) = self.shared.info.remote {
            if remote != addr {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "this endpoint is connected to {remote} and cannot send to {addr}: use \
                         send(), or an unconnected endpoint"
                    ),
                ));
            }
        }
        self.send_inner(data, Some(addr));
        Ok(())
    }

    /// Sends `data` to the remote address the endpoint was connected to.
    ///
    /// # Errors
    ///
    /// Fails with [`NotConnected`](io::ErrorKind::NotConnected) when the
    /// endpoint was made without a remote address.
    pub fn send(&self, data: &[u8]) -> io::Result<()> {
        if self.shared.info.remote.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "this endpoint has no remote address: pass one to create_datagram_endpoint, or \
                 use send_to()",
            ));
        }
        self.send_inner(data, None);
        Ok(())
    }

    fn send_inner(&self, data: &[u8], addr: Option<SocketAddr>) {
        let remote = self.shared.info.remote;
        self.shared.update(|st| {
            if !st.open() {
                return false;
            }
            if st.x.queue.is_empty() {
                let Some(io) = st.x.io.as_deref() else {
                    return false;
                };
                let res = loop {
                    let r = match (addr, remote) {
                        (_, Some(_)) => io.get_ref().send(data),
                        (Some(a), None) => io.get_ref().send_to(data, a),
                        (None, None) => unreachable!("send() checks for a remote address"),
                    };
                    match r {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        r => break r,
                    }
                };
                match res {
                    Ok(_) => return false,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => {
                        st.x.errors.push(e);
                        return true;
                    }
                }
            }
            let was_empty = st.x.queue.is_empty();
            st.x.queue.push_back((data.into(), addr));
            st.x.queued_bytes += data.len();
            let paused = st.check_high();
            was_empty || paused
        });
    }

    /// Closes the endpoint once the queued datagrams are sent; stops
    /// receiving at once. Idempotent.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Closes the endpoint now, dropping the queued datagrams.
    pub fn abort(&self) {
        self.shared.abort();
    }

    /// Whether the endpoint is closing or closed.
    pub fn is_closing(&self) -> bool {
        self.shared.is_closing()
    }

    /// Bytes queued, not yet sent.
    pub fn get_write_buffer_size(&self) -> usize {
        self.shared.write_buffer_size()
    }

    /// Sets the send queue's flow-control marks, as
    /// [`Transport::set_write_buffer_limits`](super::Transport::set_write_buffer_limits)
    /// (the same defaults, derivation and validation; a queue already above
    /// the new `high` pauses the protocol).
    ///
    /// # Errors
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] (asyncio's `ValueError`)
    /// if `low > high`, whether given or derived.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        self.shared.set_write_buffer_limits(high, low)
    }

    /// The flow-control marks as `(low, high)`, in asyncio's order.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.shared.write_buffer_limits()
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.info.local
    }

    /// The remote address it is connected to, if any
    /// (`get_extra_info("peername")`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.shared.info.remote
    }

    /// Waits until the endpoint closed and `connection_lost` returned.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes.
    pub async fn wait_closed(&self) {
        poll_fn(|cx| self.shared.poll_closed(cx)).await
    }
}

impl fmt::Debug for DatagramTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramTransport")
            .field("local", &self.shared.info.local)
            .field("remote", &self.shared.info.remote)
            .finish_non_exhaustive()
    }
}

/// One endpoint's loop, run and ended by a [`Runner`].
struct Endpoint<P> {
    protocol: P,
    io: Arc<Async<UdpSocket>>,
}

impl<P: DatagramProtocol> Endpoint<P> {
    /// Sends queued datagrams while the socket takes them; errors are
    /// collected for `error_received`. Returns whether `resume_writing`
    /// is due and whether the queue is empty.
    fn flush(
        &self,
        shared: &Shared,
        cx: &mut Context<'_>,
        errors: &mut Vec<io::Error>,
    ) -> (bool, bool) {
        let mut st = shared.lock();
        while let Some((data, addr)) = st.x.queue.front() {
            let res = match addr {
                Some(a) if shared.info.remote.is_none() => self.io.get_ref().send_to(data, *a),
                _ => self.io.get_ref().send(data),
            };
            match res {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match self.io.poll_writable(cx) {
                        Poll::Ready(Ok(())) => continue,
                        Poll::Ready(Err(e)) => errors.push(e),
                        Poll::Pending => break,
                    }
                }
                Err(e) => errors.push(e),
                Ok(_) => {}
            }
            if let Some((data, _)) = st.x.queue.pop_front() {
                st.x.queued_bytes -= data.len();
            }
        }
        (st.check_low(), st.x.queue.is_empty())
    }
}

impl<P: DatagramProtocol> Connection for Endpoint<P> {
    type Out = DgramOut;
    type Info = Addrs;
    const DROPPED: &'static str =
        "the endpoint's driver was dropped (the runtime shut down) before it closed";

    fn made(&mut self, shared: &Arc<Shared>) {
        self.protocol.connection_made(DatagramTransport {
            shared: shared.clone(),
        });
    }

    fn lost(&mut self, err: Option<io::Error>) {
        self.protocol.connection_lost(err);
    }

    fn release(&mut self) {}

    /// One poll: deliver what the transport recorded, flush, receive, park.
    fn turn(&mut self, shared: &Arc<Shared>, cx: &mut Context<'_>) -> Poll<Option<io::Error>> {
        let mut budget = RECV_BUDGET;
        loop {
            let (pause, mut errors, aborted, closing) = {
                let mut st = shared.lock();
                let pause = st.begin_turn();
                (pause, mem::take(&mut st.x.errors), st.aborted, st.closing)
            };
            if aborted {
                return Poll::Ready(None);
            }
            if pause {
                self.protocol.pause_writing();
            }
            for e in errors.drain(..) {
                self.protocol.error_received(e);
            }
            let (resume, empty) = self.flush(shared, cx, &mut errors);
            for e in errors {
                self.protocol.error_received(e);
            }
            if resume {
                self.protocol.resume_writing();
            }
            if closing && empty {
                return Poll::Ready(None);
            }
            if !closing {
                if budget == 0 {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                let mut buf = read_buf::lease();
                match self.io.get_ref().recv_from(&mut buf) {
                    Ok((n, addr)) => {
                        budget -= 1;
                        self.protocol.datagram_received(&buf[..n], addr);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        drop(buf);
                        match self.io.poll_readable(cx) {
                            Poll::Ready(Ok(())) => continue,
                            Poll::Ready(Err(e)) => return Poll::Ready(Some(e)),
                            Poll::Pending => {}
                        }
                    }
                    Err(e) => {
                        drop(buf);
                        budget = budget.saturating_sub(1);
                        self.protocol.error_received(e);
                        continue;
                    }
                }
            }
            if shared.lock().park(cx) {
                return Poll::Pending;
            }
        }
    }
}

/// Opens a UDP endpoint and runs a [`DatagramProtocol`] on it: asyncio's
/// `loop.create_datagram_endpoint(factory, local_addr, remote_addr)`.
///
/// With `local_addr` the socket binds there; without it, it binds to an
/// ephemeral port of `remote_addr`'s family. With `remote_addr` the socket
/// is connected: it receives only from that address and sends with
/// [`DatagramTransport::send`]. `connection_made` runs before this
/// returns; the endpoint is then driven in the background.
///
/// # Errors
///
/// Fails when no runtime is current ([`NotFound`](io::ErrorKind::NotFound)),
/// when both addresses are `None`
/// ([`InvalidInput`](io::ErrorKind::InvalidInput)), or when binding or
/// connecting fails.
///
/// # Examples
///
/// ```
/// use std::net::SocketAddr;
/// use std::sync::mpsc;
/// use tulipa_net::protocol::{create_datagram_endpoint, DatagramProtocol, DatagramTransport};
///
/// struct Echo(Option<DatagramTransport>);
/// impl DatagramProtocol for Echo {
///     fn connection_made(&mut self, t: DatagramTransport) { self.0 = Some(t); }
///     fn datagram_received(&mut self, data: &[u8], from: SocketAddr) {
///         self.0.as_ref().unwrap().send_to(data, from).unwrap();
///     }
/// }
/// struct Client(mpsc::Sender<Vec<u8>>);
/// impl DatagramProtocol for Client {
///     fn connection_made(&mut self, t: DatagramTransport) { t.send(b"ping").unwrap(); }
///     fn datagram_received(&mut self, data: &[u8], _: SocketAddr) {
///         self.0.send(data.to_vec()).unwrap();
///     }
/// }
///
/// tulipa::run(async {
///     let server = create_datagram_endpoint(|| Echo(None), Some("127.0.0.1:0".parse().unwrap()), None)?;
///     let (tx, rx) = mpsc::channel();
///     let client = create_datagram_endpoint(move || Client(tx), None, server.local_addr())?;
///     assert_eq!(rx.recv().unwrap(), b"ping");
///     client.close();
///     server.close();
///     server.wait_closed().await;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn create_datagram_endpoint<P, F>(
    factory: F,
    local_addr: Option<SocketAddr>,
    remote_addr: Option<SocketAddr>,
) -> io::Result<DatagramTransport>
where
    P: DatagramProtocol,
    F: FnOnce() -> P,
{
    let spawner = current_spawner()?;
    let bind = match (local_addr, remote_addr) {
        (Some(l), _) => l,
        (None, Some(SocketAddr::V4(_))) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        (None, Some(SocketAddr::V6(_))) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        (None, None) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "create_datagram_endpoint needs a local address, a remote address, or both",
            ))
        }
    };
    let socket = UdpSocket::bind(bind)?;
    if let Some(remote) = remote_addr {
        socket.connect(remote)?;
    }
    let local = socket.local_addr().ok();
    let io = Arc::new(Async::new(socket)?);
    let out = DgramOut {
        io: Some(io.clone()),
        queue: VecDeque::new(),
        queued_bytes: 0,
        errors: Vec::new(),
    };
    let shared = Shared::new(
        out,
        Addrs {
            local,
            remote: remote_addr,
        },
    );
    let transport = DatagramTransport {
        shared: shared.clone(),
    };
    let endpoint = Endpoint {
        protocol: factory(),
        io,
    };
    let mut runner = Runner::new(endpoint, shared);
    runner.announce();
    spawner.spawn_detached(Box::pin(runner))?;
    Ok(transport)
}
