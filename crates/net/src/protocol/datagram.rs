//! UDP endpoints driven by a [`DatagramProtocol`]: asyncio's
//! `create_datagram_endpoint`.
//!
//! # Design
//!
//! As for streams (see the `driver` module): one driver future per
//! endpoint owns the protocol and one 64 KiB receive buffer, and calls
//! `datagram_received(&buf[..n], addr)` for each datagram, with no
//! allocation. [`DatagramTransport::send_to`] sends straight to the socket
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
//! calling `connection_lost(None)` exactly once. As for streams, a callback
//! that panics ends the endpoint without any further callback (the driver
//! notices that its `poll` unwound), and even a panicking
//! `connection_lost` still wakes `wait_closed`.

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tulipa_reactor::Async;

use super::current_spawner;
use super::transport::{lock, DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER};

/// Bytes in an endpoint's receive buffer: the largest UDP payload fits.
const RECV_BUFFER: usize = 64 * 1024;
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

struct State {
    io: Option<Arc<Async<UdpSocket>>>,
    queue: VecDeque<(Box<[u8]>, Option<SocketAddr>)>,
    queued_bytes: usize,
    high: usize,
    low: usize,
    protocol_paused: bool,
    pause_pending: bool,
    errors: Vec<io::Error>,
    closing: bool,
    aborted: bool,
    lost: bool,
    dirty: bool,
    parked: bool,
    waker: Option<Waker>,
    closed_waiters: Vec<Waker>,
}

impl State {
    fn notify(&mut self) -> Option<Waker> {
        self.dirty = true;
        if self.parked {
            self.parked = false;
            self.waker.take()
        } else {
            None
        }
    }
}

struct Shared {
    state: Mutex<State>,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
}

/// The sending end of a UDP endpoint: asyncio's `DatagramTransport`.
///
/// Cheap to clone, `Send` and `Sync`.
#[derive(Clone)]
pub struct DatagramTransport {
    shared: Arc<Shared>,
}

impl DatagramTransport {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

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
        if let Some(remote) = self.shared.remote {
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
        if self.shared.remote.is_none() {
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
        let mut st = self.state();
        if st.closing || st.lost {
            return;
        }
        if st.queue.is_empty() {
            let Some(io) = st.io.as_deref() else { return };
            let res = loop {
                let r = match (addr, self.shared.remote) {
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
                Ok(_) => return,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    st.errors.push(e);
                    let w = st.notify();
                    drop(st);
                    if let Some(w) = w {
                        w.wake();
                    }
                    return;
                }
            }
        }
        let was_empty = st.queue.is_empty();
        st.queue.push_back((data.into(), addr));
        st.queued_bytes += data.len();
        let pause = !st.protocol_paused && st.queued_bytes > st.high;
        if pause {
            st.protocol_paused = true;
            st.pause_pending = true;
        }
        let w = if was_empty || pause {
            st.notify()
        } else {
            None
        };
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Closes the endpoint once the queued datagrams are sent; stops
    /// receiving at once. Idempotent.
    pub fn close(&self) {
        let mut st = self.state();
        if st.closing {
            return;
        }
        st.closing = true;
        let w = st.notify();
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Closes the endpoint now, dropping the queued datagrams.
    pub fn abort(&self) {
        let mut st = self.state();
        if st.lost {
            return;
        }
        st.closing = true;
        st.aborted = true;
        st.queue = VecDeque::new();
        st.queued_bytes = 0;
        let w = st.notify();
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Whether the endpoint is closing or closed.
    pub fn is_closing(&self) -> bool {
        let st = self.state();
        st.closing || st.lost
    }

    /// Bytes queued, not yet sent.
    pub fn get_write_buffer_size(&self) -> usize {
        self.state().queued_bytes
    }

    /// Sets the send queue's flow-control marks, as
    /// [`Transport::set_write_buffer_limits`](super::Transport::set_write_buffer_limits).
    ///
    /// # Errors
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] if `low > high`.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        let (high, low) = match (high, low) {
            (None, None) => (DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER),
            (Some(h), None) => (h, h / 4),
            (None, Some(l)) => (l.saturating_mul(4), l),
            (Some(h), Some(l)) => (h, l),
        };
        if low > high {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("write buffer limits need low <= high, got high={high} and low={low}"),
            ));
        }
        let mut st = self.state();
        st.high = high;
        st.low = low;
        Ok(())
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.local
    }

    /// The remote address it is connected to, if any
    /// (`get_extra_info("peername")`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.shared.remote
    }

    /// Waits until the endpoint closed and `connection_lost` returned.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes.
    pub async fn wait_closed(&self) {
        poll_fn(|cx| {
            let mut st = self.state();
            if st.lost {
                return Poll::Ready(());
            }
            if !st.closed_waiters.iter().any(|w| w.will_wake(cx.waker())) {
                st.closed_waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

impl fmt::Debug for DatagramTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramTransport")
            .field("local", &self.shared.local)
            .field("remote", &self.shared.remote)
            .finish_non_exhaustive()
    }
}

/// The future that runs one endpoint.
struct Driver<P: DatagramProtocol> {
    protocol: P,
    io: Arc<Async<UdpSocket>>,
    shared: Arc<Shared>,
    buf: Box<[u8]>,
    /// `connection_lost` was called (or will never be).
    done: bool,
    /// `lost` was set and the waiters woken.
    completed: bool,
    /// Inside `poll`: still true in `Drop` when a callback panicked.
    polling: bool,
}

// The driver never pins the protocol: moving it is fine.
impl<P: DatagramProtocol> Unpin for Driver<P> {}

impl<P: DatagramProtocol> Driver<P> {
    fn finish(&mut self, err: Option<io::Error>) {
        if self.done {
            return;
        }
        self.done = true;
        self.close_io();
        // Complete even if `connection_lost` panics, then let the panic go
        // on to the runtime's panic policy.
        let protocol = &mut self.protocol;
        let res = panic::catch_unwind(AssertUnwindSafe(|| protocol.connection_lost(err)));
        self.complete();
        if let Err(payload) = res {
            panic::resume_unwind(payload);
        }
    }

    /// Takes the socket out of the state (the driver's own reference goes
    /// when the driver is dropped).
    fn close_io(&mut self) {
        let io = {
            let mut st = lock(&self.shared.state);
            st.closing = true;
            st.queue = VecDeque::new();
            st.queued_bytes = 0;
            st.parked = false;
            st.waker = None;
            st.io.take()
        };
        drop(io);
    }

    /// Marks the endpoint lost and wakes `wait_closed`; runs once.
    fn complete(&mut self) {
        if self.completed {
            return;
        }
        self.completed = true;
        let waiters = {
            let mut st = lock(&self.shared.state);
            st.closing = true;
            st.lost = true;
            mem::take(&mut st.closed_waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Sends queued datagrams while the socket takes them; errors are
    /// collected for `error_received`. Returns whether `resume_writing`
    /// is due and whether the queue is empty.
    fn flush(&mut self, cx: &mut Context<'_>, errors: &mut Vec<io::Error>) -> (bool, bool) {
        let mut st = lock(&self.shared.state);
        while let Some((data, addr)) = st.queue.front() {
            let res = match addr {
                Some(a) if self.shared.remote.is_none() => self.io.get_ref().send_to(data, *a),
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
            if let Some((data, _)) = st.queue.pop_front() {
                st.queued_bytes -= data.len();
            }
        }
        let mut resume = false;
        if st.protocol_paused && st.queued_bytes <= st.low {
            st.protocol_paused = false;
            if st.pause_pending {
                st.pause_pending = false;
            } else {
                resume = true;
            }
        }
        (resume, st.queue.is_empty())
    }
}

impl<P: DatagramProtocol> Future for Driver<P> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        // Left set if a callback panics out of `poll_inner`.
        this.polling = true;
        let res = this.poll_inner(cx);
        this.polling = false;
        res
    }
}

impl<P: DatagramProtocol> Driver<P> {
    /// One poll: deliver what the transport recorded, flush, receive, park.
    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        let mut budget = RECV_BUDGET;
        loop {
            let (pause, mut errors, aborted, closing) = {
                let mut st = lock(&this.shared.state);
                st.dirty = false;
                st.parked = false;
                (
                    mem::take(&mut st.pause_pending),
                    mem::take(&mut st.errors),
                    st.aborted,
                    st.closing,
                )
            };
            if aborted {
                this.finish(None);
                return Poll::Ready(());
            }
            if pause {
                this.protocol.pause_writing();
            }
            for e in errors.drain(..) {
                this.protocol.error_received(e);
            }
            let (resume, empty) = this.flush(cx, &mut errors);
            for e in errors {
                this.protocol.error_received(e);
            }
            if resume {
                this.protocol.resume_writing();
            }
            if closing && empty {
                this.finish(None);
                return Poll::Ready(());
            }
            if !closing {
                if budget == 0 {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                match this.io.get_ref().recv_from(&mut this.buf) {
                    Ok((n, addr)) => {
                        budget -= 1;
                        this.protocol.datagram_received(&this.buf[..n], addr);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        match this.io.poll_readable(cx) {
                            Poll::Ready(Ok(())) => continue,
                            Poll::Ready(Err(e)) => {
                                this.finish(Some(e));
                                return Poll::Ready(());
                            }
                            Poll::Pending => {}
                        }
                    }
                    Err(e) => {
                        budget = budget.saturating_sub(1);
                        this.protocol.error_received(e);
                        continue;
                    }
                }
            }
            let mut st = lock(&this.shared.state);
            if st.dirty {
                continue;
            }
            st.parked = true;
            match &st.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
    }
}

impl<P: DatagramProtocol> Drop for Driver<P> {
    fn drop(&mut self) {
        if !self.done {
            if !self.polling && !std::thread::panicking() {
                self.finish(Some(io::Error::other(
                    "the endpoint's driver was dropped (the runtime shut down) before it closed",
                )));
            } else {
                // A callback panicked: no more callbacks.
                self.done = true;
                self.close_io();
            }
        }
        self.complete();
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
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            io: Some(io.clone()),
            queue: VecDeque::new(),
            queued_bytes: 0,
            high: DEFAULT_HIGH_WATER,
            low: DEFAULT_LOW_WATER,
            protocol_paused: false,
            pause_pending: false,
            errors: Vec::new(),
            closing: false,
            aborted: false,
            lost: false,
            dirty: false,
            parked: false,
            waker: None,
            closed_waiters: Vec::new(),
        }),
        local,
        remote: remote_addr,
    });
    let transport = DatagramTransport { shared };
    let mut driver = Driver {
        protocol: factory(),
        io,
        shared: transport.shared.clone(),
        buf: vec![0; RECV_BUFFER].into_boxed_slice(),
        done: false,
        completed: false,
        polling: false,
    };
    driver.protocol.connection_made(transport.clone());
    spawner.spawn_detached(Box::pin(driver))?;
    Ok(transport)
}
