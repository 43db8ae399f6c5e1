//! The byte streams a protocol driver runs over, behind one small trait.
//!
//! [`Io`] is what the stream driver and the [`Transport`](super::Transport)
//! need from a connected stream, with every method on `&self` so the driver
//! (reading) and the transport (direct writes from any thread) can share
//! one `Arc<I>`:
//!
//! - plain sockets (`Async<TcpStream>`, `Async<UnixStream>`) implement it
//!   directly: reads and writes are single system calls on the shared
//!   descriptor, and [`Io::try_write`] is the uvloop fast path (a write
//!   straight to the socket, no readiness registration);
//! - TLS streams implement it in `super::tls_glue` behind a mutex (a rustls
//!   session is not shareable), and always buffer (`try_write` says
//!   `WouldBlock`), leaving the flush to the driver.
//!
//! Readiness registration follows the reactor's rules: a `poll_*` that
//! returns `Pending` has registered the caller's waker.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, AsyncWrite};
use tulipa_reactor::Async;

/// A connected byte stream the protocol machinery can drive.
pub(crate) trait Io: Send + Sync + 'static {
    /// Reads into `buf`; `Pending` registers `cx` for read readiness.
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Waits for read readiness without reading; `Pending` registers `cx`.
    /// Only called when [`short_read_drains`](Io::short_read_drains).
    fn poll_read_ready(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Whether a read that returned less than asked means the stream had
    /// nothing more at that moment (true for stream sockets; false for TLS,
    /// which may hold decrypted bytes). The driver then waits for
    /// readiness instead of making a read that would say `WouldBlock`: one
    /// system call saved per message (libuv does the same).
    fn short_read_drains(&self) -> bool {
        false
    }

    /// Whether a read is worth trying without waiting first (no lock, no
    /// system call): `false` sends a drained stream to
    /// [`poll_read_ready`](Io::poll_read_ready).
    fn readable_hint(&self) -> bool {
        false
    }

    /// Writes without waiting and without registering: `WouldBlock` when
    /// nothing can be written now.
    fn try_write(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;

    /// Writes; `Pending` registers `cx` for write readiness.
    fn poll_write(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>>;

    /// Pushes out whatever the stream itself buffered (TLS records).
    fn poll_flush(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Whether [`poll_flush`](Io::poll_flush) may have work to do: `false`
    /// for streams that keep no bytes of their own (plain sockets, pipes),
    /// which lets the driver skip its flush step while its write buffer is
    /// empty.
    fn needs_flush(&self) -> bool {
        true
    }

    /// Shuts the write half down (TCP FIN), after everything was written.
    fn poll_shutdown_write(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Ends the session gracefully before the descriptor is closed (a TLS
    /// `close_notify`); plain sockets have nothing to do.
    fn poll_close(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Whether the transport reads at all (false for a pipe's write end).
    fn reads(&self) -> bool {
        true
    }

    /// Whether an EOF closes the whole transport: the peer's EOF whatever
    /// `eof_received` answers, and `write_eof` (true for pipes, which
    /// cannot be half-open).
    fn eof_closes(&self) -> bool {
        false
    }

    /// Whether [`poll_shutdown_write`](Io::poll_shutdown_write) is supported.
    fn can_write_eof(&self) -> bool {
        true
    }

    /// The underlying descriptor.
    fn raw_fd(&self) -> RawFd;
}

/// A socket type with a `shutdown` method (TCP and Unix streams).
pub(crate) trait ShutdownWrite {
    fn shutdown_write(&self) -> io::Result<()>;
}

impl ShutdownWrite for TcpStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl ShutdownWrite for UnixStream {
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// Writes `bufs` with one system call (`write` for one slice, `writev`
/// for more).
pub(crate) fn write_slices<W: Write>(mut w: W, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    match bufs {
        [] => Ok(0),
        [one] => w.write(one),
        _ => w.write_vectored(bufs),
    }
}

impl<T> Io for Async<T>
where
    T: AsFd + ShutdownWrite + Send + Sync + 'static,
    for<'a> &'a T: Read + Write,
{
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut this: &Async<T> = self;
        Pin::new(&mut this).poll_read(cx, buf)
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_readable(cx)
    }

    fn short_read_drains(&self) -> bool {
        true
    }

    fn readable_hint(&self) -> bool {
        Async::readable_hint(self)
    }

    fn needs_flush(&self) -> bool {
        false
    }

    /// `T` is a connected stream socket (the `ShutdownWrite` bound: TCP
    /// or Unix): `send(2)` with `MSG_NOSIGNAL` for one buffer, as the
    /// standard library's `TcpStream::write` does, and `writev(2)` for
    /// more, as direct system calls (rustix), without the C library's
    /// cancellation-point bookkeeping around each.
    fn try_write(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let fd = self.get_ref().as_fd();
        match bufs {
            [] => Ok(0),
            [one] => rustix::net::send(fd, one, rustix::net::SendFlags::NOSIGNAL),
            _ => rustix::io::writev(fd, bufs),
        }
        .map_err(io::Error::from)
    }

    fn poll_write(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let mut this: &Async<T> = self;
        match bufs {
            [one] => Pin::new(&mut this).poll_write(cx, one),
            _ => Pin::new(&mut this).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_shutdown_write(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(match self.get_ref().shutdown_write() {
            // The peer already went away: the write half is shut either way.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            res => res,
        })
    }

    fn raw_fd(&self) -> RawFd {
        self.get_ref().as_fd().as_raw_fd()
    }
}
