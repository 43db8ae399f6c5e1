//! [`Transport`]: the handle a stream protocol writes through.
//!
//! # Design
//!
//! A transport is an `Arc<Shared>`: the connection's fixed facts
//! ([`Info`]: addresses, descriptor, TLS session) and one mutex-protected
//! state that every operation goes through. The flags, the park/notify
//! handshake with the driver, the flow-control marks and the close waiters
//! are the lifecycle every transport shares (`super::lifecycle`); this
//! module adds what is particular to streams ([`StreamOut`]). The
//! connection's *driver* (`super::driver`) owns the protocol, reads the
//! socket and calls the callbacks; the transport never calls the protocol
//! itself (it may be borrowed by the very callback that is writing).
//!
//! **Writes.** `write` appends to a `VecDeque<u8>` write buffer. When that
//! buffer is empty it first writes straight to the socket with one
//! non-blocking system call (the uvloop fast path) and buffers only what
//! the kernel did not take. Every socket write happens under the state
//! lock, so bytes leave in the order they were written whichever thread
//! writes. The driver flushes the buffer when the socket is writable.
//!
//! **Flow control.** When the buffer grows above the high-water mark the
//! transport records a pause; the driver calls
//! [`Protocol::pause_writing`](super::Protocol::pause_writing) right after
//! the callback that crossed the mark returns (or promptly, when the write
//! came from another task). When a flush drains it to the low-water mark,
//! the driver calls `resume_writing`. The two always alternate.
//!
//! **Closing.** `close` stops reading, lets the driver flush, and then ends
//! the connection; `abort` drops the buffer and ends it now; the end itself
//! is the shared lifecycle's.

use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::os::fd::RawFd;
use std::sync::Arc;

use super::buffered::sealed::Callbacks;
use super::buffered::StreamProtocol;
use super::lifecycle::{self, Outgoing};
use super::stream::Io;

/// Locks `m`, ignoring poisoning: no critical section here leaves the
/// state inconsistent when it panics (user callbacks never run under it).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The address of one end of a connection: an IP socket address or a Unix
/// socket address (asyncio's `peername` / `sockname` extra info).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SocketAddress {
    /// A TCP or UDP address.
    Inet(std::net::SocketAddr),
    /// A Unix-domain socket address (possibly unnamed).
    Unix(std::os::unix::net::SocketAddr),
}

impl SocketAddress {
    /// The IP address, if this is one.
    pub fn as_inet(&self) -> Option<std::net::SocketAddr> {
        match self {
            SocketAddress::Inet(a) => Some(*a),
            SocketAddress::Unix(_) => None,
        }
    }

    /// The Unix socket address, if this is one.
    pub fn as_unix(&self) -> Option<&std::os::unix::net::SocketAddr> {
        match self {
            SocketAddress::Unix(a) => Some(a),
            SocketAddress::Inet(_) => None,
        }
    }
}

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddress::Inet(a) => a.fmt(f),
            SocketAddress::Unix(a) => match a.as_pathname() {
                Some(p) => write!(f, "{}", p.display()),
                None => f.write_str("(unnamed unix socket)"),
            },
        }
    }
}

/// What never changes over a connection's life.
pub(crate) struct Info {
    pub(crate) peer: Option<SocketAddress>,
    pub(crate) local: Option<SocketAddress>,
    pub(crate) fd: RawFd,
    pub(crate) can_write_eof: bool,
    /// A pipe: `write_eof` closes the transport.
    pub(crate) eof_closes: bool,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsInfo>,
}

/// What a stream transport's state holds besides the shared lifecycle.
pub(crate) struct StreamOut {
    /// The socket; `None` once the connection ended.
    pub(crate) io: Option<Arc<dyn Io>>,
    /// Bytes accepted by `write` and not yet written to the socket.
    pub(crate) buf: VecDeque<u8>,
    pub(crate) reading: bool,
    pub(crate) eof_requested: bool,
    /// A write error the driver must end the connection with.
    pub(crate) error: Option<io::Error>,
    /// A protocol given to `set_protocol`, for the driver to switch to.
    pub(crate) replacement: Option<Box<dyn Callbacks>>,
}

impl Outgoing for StreamOut {
    type Io = Arc<dyn Io>;
    fn buffered(&self) -> usize {
        self.buf.len()
    }
    fn discard(&mut self) {
        self.buf = VecDeque::new();
    }
    fn take_io(&mut self) -> Option<Arc<dyn Io>> {
        self.io.take()
    }
}

/// Everything behind a [`Transport`].
pub(crate) type Shared = lifecycle::Shared<StreamOut, Info>;
/// A stream transport's state.
pub(crate) type State = lifecycle::State<StreamOut>;

impl StreamOut {
    pub(crate) fn new(io: Arc<dyn Io>) -> StreamOut {
        StreamOut {
            reading: io.reads(),
            io: Some(io),
            buf: VecDeque::new(),
            eof_requested: false,
            error: None,
            replacement: None,
        }
    }
}

/// Whether writes are accepted.
fn accepts_writes(st: &State) -> bool {
    st.open() && !st.x.eof_requested && st.x.error.is_none() && st.x.io.is_some()
}

/// The writing end of a stream connection, handed to
/// [`Protocol::connection_made`](super::Protocol::connection_made): asyncio's
/// `Transport`.
///
/// Cheap to clone (one `Arc`), `Send` and `Sync`: a protocol keeps one, and
/// other tasks may hold clones and write from any thread. Every method is
/// non-blocking.
///
/// Writes are buffered without limit, as in asyncio; a protocol that may
/// produce faster than the peer reads should honour
/// [`pause_writing`](super::Protocol::pause_writing), which fires when
/// [`get_write_buffer_size`](Transport::get_write_buffer_size) goes above
/// the high-water mark (see
/// [`set_write_buffer_limits`](Transport::set_write_buffer_limits)).
///
/// Calls after the transport started closing are ignored, as in asyncio.
#[derive(Clone)]
pub struct Transport {
    pub(crate) shared: Arc<Shared>,
}

impl Transport {
    fn state(&self) -> lifecycle::StateGuard<'_, StreamOut> {
        self.shared.lock()
    }

    /// Writes `data` to the connection.
    ///
    /// If nothing is buffered, the bytes go straight to the socket with one
    /// non-blocking system call; whatever the kernel does not take is
    /// buffered and written by the connection's driver as the socket
    /// becomes writable. Never blocks. Ignored (the bytes are dropped) once
    /// the transport is closing, after [`write_eof`](Transport::write_eof),
    /// or after the connection failed, as asyncio does.
    pub fn write(&self, data: &[u8]) {
        self.write_vectored(&[IoSlice::new(data)]);
    }

    /// Writes every buffer of `data` in order, as one
    /// [`write`](Transport::write) (asyncio's `writelines`); the fast path
    /// uses one `writev` system call.
    pub fn writelines<B: AsRef<[u8]>>(&self, data: &[B]) {
        let slices: Vec<IoSlice<'_>> = data.iter().map(|b| IoSlice::new(b.as_ref())).collect();
        self.write_vectored(&slices);
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>]) {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return;
        }
        self.shared.update(|st| {
            if !accepts_writes(st) {
                return false;
            }
            let mut written = 0;
            if st.x.buf.is_empty() {
                let res = match st.x.io.as_deref() {
                    Some(io) => loop {
                        match io.try_write(bufs) {
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            res => break res,
                        }
                    },
                    None => Ok(0),
                };
                match res {
                    Ok(n) => written = n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => {
                        st.x.error = Some(e);
                        return true;
                    }
                }
                if written == total {
                    return false;
                }
            }
            let was_empty = st.x.buf.is_empty();
            let mut skip = written;
            for b in bufs {
                if skip >= b.len() {
                    skip -= b.len();
                    continue;
                }
                st.x.buf.extend(&b[skip..]);
                skip = 0;
            }
            // The driver must flush a buffer that just became non-empty
            // (while non-empty it is registered for writability already)
            // and deliver a pause.
            let paused = st.check_high();
            was_empty || paused
        });
    }

    /// Closes the write half once the buffer is flushed (TCP `shutdown`),
    /// keeping the read half open: asyncio's `write_eof`. Later writes are
    /// ignored. If the peer already sent its EOF too, the connection ends
    /// once the EOF is sent.
    ///
    /// # Errors
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] when
    /// [`can_write_eof`](Transport::can_write_eof) is false (TLS transports:
    /// close the whole connection instead).
    pub fn write_eof(&self) -> io::Result<()> {
        if !self.shared.info.can_write_eof {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this transport cannot half-close (TLS): call close() instead of write_eof()",
            ));
        }
        if self.shared.info.eof_closes {
            // A pipe cannot be half-closed: its EOF is its close.
            self.close();
            return Ok(());
        }
        self.shared
            .update(|st| !st.closing && !std::mem::replace(&mut st.x.eof_requested, true));
        Ok(())
    }

    /// Replaces the protocol that receives this connection's callbacks:
    /// asyncio's `set_protocol`, for switching protocols mid-connection
    /// (an upgrade, a handshake done by one protocol and the traffic by
    /// another).
    ///
    /// The switch happens right after the running callback returns (or
    /// promptly, when called from another task), before any further
    /// callback; the old protocol is dropped then. As in asyncio the new
    /// protocol is not told `connection_made`: give it this transport
    /// yourself. It may be of another type than the first, and a
    /// [`Buffered`](super::Buffered) one. Once the connection has ended it
    /// is dropped unused.
    ///
    /// There is no `get_protocol`: the protocol belongs to the
    /// connection's driver (see the guide's differences from asyncio).
    pub fn set_protocol<P: StreamProtocol>(&self, protocol: P) {
        let mut new: Option<Box<dyn Callbacks>> = Some(Box::new(protocol));
        let mut old = None;
        self.shared.update(|st| {
            if st.lost {
                return false;
            }
            old = st.x.replacement.take();
            st.x.replacement = new.take();
            true
        });
        // User code (a protocol's `Drop`) never runs under the lock.
        drop(old);
        drop(new);
    }

    /// Whether [`write_eof`](Transport::write_eof) is supported: true for
    /// TCP and Unix sockets and pipes (where it closes the pipe), false for
    /// TLS.
    pub fn can_write_eof(&self) -> bool {
        self.shared.info.can_write_eof
    }

    /// Closes the connection gracefully: stops reading at once, writes out
    /// what is buffered, then closes the socket and calls
    /// [`connection_lost(None)`](super::Protocol::connection_lost).
    /// Idempotent.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Closes the connection now: the buffered bytes are dropped, the
    /// socket is closed and
    /// [`connection_lost(None)`](super::Protocol::connection_lost) is
    /// called soon.
    pub fn abort(&self) {
        self.shared.abort();
    }

    /// Whether the transport is closing or closed.
    pub fn is_closing(&self) -> bool {
        self.shared.is_closing()
    }

    /// Stops calling `data_received` until
    /// [`resume_reading`](Transport::resume_reading). Data the peer sends
    /// meanwhile waits in the kernel's buffer, which in turn slows the peer.
    /// Idempotent.
    pub fn pause_reading(&self) {
        self.state().x.reading = false;
    }

    /// Resumes reading after [`pause_reading`](Transport::pause_reading).
    /// Idempotent.
    pub fn resume_reading(&self) {
        self.shared
            .update(|st| !std::mem::replace(&mut st.x.reading, true));
    }

    /// Whether the transport is receiving (not paused, not closing).
    pub fn is_reading(&self) -> bool {
        let st = self.state();
        st.x.reading && st.open()
    }

    /// Sets the write buffer's flow-control marks, as asyncio does:
    /// `pause_writing` fires when the buffer grows above `high`,
    /// `resume_writing` when it drains to `low` or below. With both `None`
    /// the defaults are restored (64 KiB / 16 KiB); with only `high`,
    /// `low = high / 4`; with only `low`, `high = 4 * low`. A buffer already
    /// above the new `high` pauses the protocol, as in asyncio.
    ///
    /// # Errors
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] (asyncio's `ValueError`)
    /// if `low > high`, whether given or derived; the marks are then
    /// unchanged.
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

    /// Whether writing is paused: the buffer went above the high-water mark
    /// and has not drained to the low-water mark since.
    ///
    /// This is the flow-control state as of now, true from the `write`
    /// that overfilled the buffer on. The
    /// [`pause_writing`](super::Protocol::pause_writing) callback for it
    /// comes after the running callback returns, so a protocol that writes
    /// in a loop inside one callback checks this to stop in time.
    pub fn is_writing_paused(&self) -> bool {
        self.shared.is_writing_paused()
    }

    /// How many bytes are buffered, not yet written to the socket.
    pub fn get_write_buffer_size(&self) -> usize {
        self.shared.write_buffer_size()
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`).
    pub fn peer_addr(&self) -> Option<&SocketAddress> {
        self.shared.info.peer.as_ref()
    }

    /// This end's address (asyncio's `get_extra_info("sockname")`).
    pub fn local_addr(&self) -> Option<&SocketAddress> {
        self.shared.info.local.as_ref()
    }

    /// The socket's descriptor (asyncio's `get_extra_info("socket")`), for
    /// socket options; it stays owned by the transport and is closed when
    /// the connection ends.
    pub fn raw_fd(&self) -> RawFd {
        self.shared.info.fd
    }

    /// The TLS session's facts (asyncio's `get_extra_info("ssl_object")`,
    /// `"peercert"`, `"cipher"`), or `None` for a plain connection.
    #[cfg(feature = "tls")]
    pub fn tls_info(&self) -> Option<&crate::tls::TlsInfo> {
        self.shared.info.tls.as_ref()
    }

    /// Waits until the connection ended and
    /// [`connection_lost`](super::Protocol::connection_lost) returned (or
    /// panicked, or was skipped because an earlier callback panicked).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes.
    pub async fn wait_closed(&self) {
        poll_fn(|cx| self.shared.poll_closed(cx)).await
    }
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state();
        f.debug_struct("Transport")
            .field("peer", &self.shared.info.peer)
            .field("buffered", &st.x.buf.len())
            .field("closing", &st.closing)
            .field("lost", &st.lost)
            .finish_non_exhaustive()
    }
}
