//! [`Compat`]: one wrapper that turns a futures-io stream into a tokio-io
//! one and a tokio-io stream into a futures-io one.
//!
//! # Design
//!
//! `Compat<T>` implements tokio's `AsyncRead`, `AsyncWrite` and
//! `AsyncBufRead` when `T` implements futures-io's, and futures-io's when
//! `T` implements tokio's. Each call is forwarded as it is, with these
//! translations:
//!
//! | tokio side | futures-io side |
//! | --- | --- |
//! | `poll_read(ReadBuf)` | `poll_read(&mut [u8])` on the unfilled part, initialized first |
//! | `poll_write_vectored`, `is_write_vectored` | `poll_write_vectored` (a `writev` on tulipa's sockets) |
//! | `poll_shutdown` | `poll_close` (on tulipa's sockets: `shutdown(SHUT_WR)`, reading goes on) |
//! | `poll_fill_buf` / `consume` | `poll_fill_buf` / `consume` |
//!
//! Reading into an uninitialized `ReadBuf`: futures-io reads into `&mut
//! [u8]`, which must be initialized memory, so the unfilled part is
//! zeroed before the read. `ReadBuf` remembers how much of its memory is
//! initialized, so a buffer is zeroed at most once, however many reads
//! fill it; a reader that hands a fresh uninitialized `ReadBuf` to every
//! read (tokio-util's codecs over `BytesMut` spare capacity) pays one
//! `memset` of that capacity per read. No `unsafe` is involved.
//!
//! Vectored writes: futures-io has no `is_write_vectored`, so the wrapper
//! cannot ask the stream. It answers `true` by default, which is right for
//! tulipa's `TcpStream` and `UnixStream` (their `poll_write_vectored` is
//! one `writev`) and is the hint hyper and tokio-util's codecs use to hand
//! over several buffers at once instead of copying them into one. For a
//! stream that writes one buffer at a time, say so with
//! [`Compat::with_write_vectored(false)`](Compat::with_write_vectored):
//! both answers are correct, only the number of calls differs.
//!
//! A read of zero bytes into a full `ReadBuf` returns at once without
//! touching the stream, as tokio's contract asks.

use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ::tokio::io as tio;
use futures_lite::io as fio;

pin_project_lite::pin_project! {
    /// A stream seen through the other ecosystem's I/O traits: tokio's
    /// when `T` has futures-io's, futures-io's when `T` has tokio's (see
    /// the [module docs](self)).
    ///
    /// Made by [`CompatExt::compat`] (futures-io to tokio),
    /// [`TokioCompatExt::compat`] (tokio to futures-io) or [`Compat::new`].
    ///
    /// # Examples
    ///
    /// A tulipa `TcpStream` handed to code written against tokio's traits:
    ///
    /// ```
    /// use tulipa_compat::CompatExt;
    /// use tokio::io::{AsyncRead, AsyncWrite};
    ///
    /// fn wants_tokio_io(_: impl AsyncRead + AsyncWrite + Unpin) {}
    ///
    /// # tulipa::run(async {
    /// let listener = tulipa::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = tulipa::net::TcpStream::connect(listener.local_addr()?).await?;
    /// wants_tokio_io(stream.compat());
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    #[derive(Debug)]
    pub struct Compat<T> {
        #[pin]
        inner: T,
        write_vectored: bool,
    }
}

impl<T> Compat<T> {
    /// Wraps `inner`. Its writes are reported as vectored
    /// ([`with_write_vectored`](Compat::with_write_vectored) changes that).
    pub fn new(inner: T) -> Compat<T> {
        Compat {
            inner,
            write_vectored: true,
        }
    }

    /// Sets what tokio's `is_write_vectored` answers for a futures-io
    /// stream (default `true`, right for tulipa's sockets). Say `false`
    /// for a stream whose `poll_write_vectored` writes only the first
    /// buffer, so that tokio-io code copies its buffers into one write
    /// instead of making one call per buffer.
    #[must_use]
    pub fn with_write_vectored(mut self, vectored: bool) -> Compat<T> {
        self.write_vectored = vectored;
        self
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably. Reading or writing through it directly
    /// is fine: the wrapper keeps no buffer of its own.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped stream, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// The stream's descriptor, for libraries that set socket options on it.
#[cfg(unix)]
impl<T: std::os::fd::AsFd> std::os::fd::AsFd for Compat<T> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

/// The stream's raw descriptor, as [`AsFd`](std::os::fd::AsFd).
#[cfg(unix)]
impl<T: std::os::fd::AsRawFd> std::os::fd::AsRawFd for Compat<T> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.inner.as_raw_fd()
    }
}

/// `.compat()` on any futures-io reader (tulipa's `TcpStream`,
/// `UnixStream`, TLS streams, files, `BufReader`s): the same stream with
/// tokio's I/O traits, for tokio-io libraries such as `tokio-postgres`.
///
/// A write-only futures-io stream (an owned write half) goes through
/// [`Compat::new`].
pub trait CompatExt: fio::AsyncRead + Sized {
    /// Wraps `self` in a [`Compat`] that implements tokio's `AsyncRead`
    /// (and `AsyncWrite` and `AsyncBufRead` when `self` implements
    /// futures-io's).
    fn compat(self) -> Compat<Self> {
        Compat::new(self)
    }
}

impl<T: fio::AsyncRead> CompatExt for T {}

/// `.compat()` on any tokio-io reader: the same stream with futures-io's
/// traits, so it works with `futures_lite::io` and tulipa's stream helpers.
///
/// A write-only tokio-io stream goes through [`Compat::new`].
pub trait TokioCompatExt: tio::AsyncRead + Sized {
    /// Wraps `self` in a [`Compat`] that implements futures-io's
    /// `AsyncRead` (and `AsyncWrite` and `AsyncBufRead` when `self`
    /// implements tokio's).
    fn compat(self) -> Compat<Self> {
        Compat::new(self)
    }
}

impl<T: tio::AsyncRead> TokioCompatExt for T {}

// === futures-io stream, tokio traits ===

impl<T: fio::AsyncRead> tio::AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tio::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // futures-io reads into initialized memory; ReadBuf zeroes only
        // what it has not initialized before.
        let unfilled = buf.initialize_unfilled();
        let n = ready!(self.project().inner.poll_read(cx, unfilled))?;
        // `advance` panics past the initialized part: a reader that claims
        // more than it was given is a bug in that reader.
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: fio::AsyncBufRead> tio::AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt);
    }
}

impl<T: fio::AsyncWrite> tio::AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.write_vectored
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    /// futures-io's `poll_close`: on tulipa's sockets, shuts the write
    /// direction down; the stream can still read.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}

// === tokio stream, futures-io traits ===

impl<T: tio::AsyncRead> fio::AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        slice: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = tio::ReadBuf::new(slice);
        ready!(self.project().inner.poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        // tokio's AsyncRead has no vectored read: fill the first non-empty
        // buffer, as std's default does.
        match bufs.iter_mut().find(|b| !b.is_empty()) {
            Some(first) => self.poll_read(cx, first),
            None => Poll::Ready(Ok(0)),
        }
    }
}

impl<T: tio::AsyncBufRead> fio::AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt);
    }
}

impl<T: tio::AsyncWrite> fio::AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    /// tokio's `poll_shutdown`.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}
