//! [`Io`]: any `futures-io` stream as hyper's [`Read`] + [`Write`].
//!
//! hyper reads into a [`ReadBufCursor`] over memory that may be
//! uninitialised, while a `futures-io` [`AsyncRead`] wants `&mut [u8]`.
//! Casting the uninitialised bytes to `&mut [u8]` is undefined behaviour,
//! and zeroing them first (`initialize_unfilled`) costs a `memset` of the
//! whole free buffer, several KiB, on every read, since hyper hands a fresh
//! cursor each time.
//!
//! `Io` instead owns a small scratch buffer, zeroed once when the
//! connection starts and reused for its whole life: a read fills the
//! scratch buffer, at most as many bytes as hyper has room for, and
//! [`ReadBufCursor::put_slice`] copies exactly the bytes that arrived. The
//! cost is one copy of the bytes read (tens of bytes for a typical request
//! head), instead of a `memset` of the free buffer, and there is no
//! `unsafe` anywhere. A read larger than the scratch buffer is split over
//! several polls, which hyper loops over anyway.
//!
//! Writes pass through, vectored writes included: [`Io::new`] tells hyper
//! the stream writes vectors natively (`writev`), as tulipa's TCP and Unix
//! streams do, so hyper queues a response's head and body as separate
//! buffers instead of copying them together; [`Io::with_vectored`] turns
//! that off for streams whose `poll_write_vectored` writes one buffer at a
//! time (TLS).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::{Read, ReadBufCursor, Write};

/// Size of the scratch buffer reads go through.
const SCRATCH: usize = 16 * 1024;

pin_project_lite::pin_project! {
    /// A `futures-io` [`AsyncRead`] + [`AsyncWrite`] stream (TCP, Unix, TLS)
    /// as hyper's [`Read`] + [`Write`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let tcp = tulipa_net::TcpStream::connect("127.0.0.1:8080").await?;
    /// let io = tulipa_http::Io::new(tcp);
    /// let (sender, conn) = hyper::client::conn::http1::handshake::<_, String>(io)
    ///     .await
    ///     .map_err(std::io::Error::other)?;
    /// # drop((sender, conn)); Ok(()) }
    /// ```
    pub struct Io<T> {
        #[pin]
        inner: T,
        scratch: Box<[u8]>,
        vectored: bool,
    }
}

impl<T> Io<T> {
    /// Wraps `inner`, telling hyper it writes vectors natively.
    pub fn new(inner: T) -> Io<T> {
        Io::with_vectored(inner, true)
    }

    /// Wraps `inner`; `vectored` says whether its `poll_write_vectored`
    /// writes several buffers in one call (`writev`) or only the first.
    pub fn with_vectored(inner: T, vectored: bool) -> Io<T> {
        Io {
            inner,
            scratch: vec![0; SCRATCH].into_boxed_slice(),
            vectored,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead> Read for Io<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let room = buf.remaining().min(this.scratch.len());
        if room == 0 {
            return Poll::Ready(Ok(()));
        }
        let scratch = &mut this.scratch[..room];
        let n = std::task::ready!(this.inner.poll_read(cx, scratch))?;
        // A stream that claims more than it was given is broken; refuse it
        // rather than panic in the slice below.
        if n > room {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the stream reported reading more bytes than the buffer holds",
            )));
        }
        buf.put_slice(&scratch[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> Write for Io<T> {
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
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Io<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io")
            .field("inner", &self.inner)
            .field("vectored", &self.vectored)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::io::Cursor;
    use hyper::rt::ReadBuf;
    use std::mem::MaybeUninit;

    /// Reads through `Io` into an uninitialised buffer smaller and larger
    /// than the scratch buffer: every byte arrives once, in order.
    #[test]
    fn reads_every_byte_through_the_scratch_buffer() {
        let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let mut io = Io::new(Cursor::new(data.clone()));
        let mut out = Vec::new();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        for room in [1usize, 7, 100, 20_000, 65_536].iter().cycle() {
            let mut raw = vec![MaybeUninit::<u8>::uninit(); *room];
            let mut rb = ReadBuf::uninit(&mut raw);
            match Pin::new(&mut io).poll_read(&mut cx, rb.unfilled()) {
                Poll::Ready(Ok(())) => {}
                other => panic!("unexpected {other:?}"),
            }
            if rb.filled().is_empty() {
                break;
            }
            assert!(rb.filled().len() <= SCRATCH.min(*room));
            out.extend_from_slice(rb.filled());
        }
        assert_eq!(out, data);
    }
}
