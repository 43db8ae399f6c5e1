//! [`StreamWriter`]: asyncio's `StreamWriter` over any [`AsyncWrite`].
//!
//! # Buffer and flow control
//!
//! [`write`](StreamWriter::write) is synchronous, as in asyncio. It first
//! tries to hand the bytes to the inner writer at once (one poll with a
//! no-op waker: a socket write that would block just returns), and keeps
//! whatever was not taken in a user-space buffer, `buf[start..]`, behind
//! bytes already waiting. [`drain`](StreamWriter::drain) is the flow
//! control point: while the buffer holds more than the high-water mark
//! (default 64 KiB) it waits for the writer and flushes down to the
//! low-water mark (default a quarter of the high mark), then pushes what it
//! can of the rest without waiting. A peer that never reads therefore
//! cannot make a writer that awaits `drain` buffer without bound: the
//! buffer stays below the high mark plus one write.
//!
//! Unlike an asyncio transport there is no event loop writing in the
//! background: bytes left in the buffer below the low-water mark go out on
//! the next `write`, `drain`, [`flush`](StreamWriter::flush) or
//! [`wait_closed`](StreamWriter::wait_closed). Call `flush` when the peer
//! must see everything before you wait for its answer (for example before
//! reading a reply to a large request).
//!
//! Dropping a writer drops what is still buffered: finish with
//! `wait_closed` (or `flush`) to send it.
//!
//! # Errors
//!
//! A write error met by the synchronous `write` is kept and returned by
//! the next async call (`drain`, `flush`, `wait_closed`); after it, every
//! write fails. Writing after [`close`](StreamWriter::close) fails with
//! [`BrokenPipe`](io::ErrorKind::BrokenPipe).

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_lite::io::AsyncWrite;

use crate::split::{OwnedWriteHalf, SplitStream};

/// The default high-water mark of a [`StreamWriter`]: 64 KiB, as asyncio's
/// transports.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// A buffered writer with asyncio's `StreamWriter` methods:
/// [`write`](StreamWriter::write), [`writelines`](StreamWriter::writelines),
/// [`drain`](StreamWriter::drain), [`close`](StreamWriter::close),
/// [`wait_closed`](StreamWriter::wait_closed),
/// [`write_eof`](StreamWriter::write_eof).
///
/// See the module docs for when buffered bytes are sent.
///
/// # Examples
///
/// ```
/// use tulipa_net::StreamWriter;
///
/// tulipa::run(async {
///     let mut w = StreamWriter::new(Vec::new());
///     w.write(b"hello ")?;
///     w.writelines([&b"wor"[..], b"ld"])?;
///     w.drain().await?;
///     w.close();
///     w.wait_closed().await?;
///     assert_eq!(w.get_ref(), b"hello world");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct StreamWriter<W> {
    inner: W,
    buf: Vec<u8>,
    start: usize,
    high: usize,
    low: usize,
    /// `close` was called: no more writes.
    closing: bool,
    /// The inner writer was closed (`wait_closed` or `write_eof` done).
    closed: bool,
    /// An error met by a synchronous write, for the next async call.
    error: Option<io::Error>,
    /// Whether `poll_close` of `inner` shuts down only the write direction.
    can_write_eof: bool,
    eof_written: bool,
    /// How `wait_closed` closes the whole connection (a socket's write
    /// half: both directions, and the paired read half reads EOF).
    close_connection: Option<fn(&W) -> io::Result<()>>,
}

impl<W> StreamWriter<W> {
    /// A writer over `inner` with the default water marks.
    ///
    /// [`can_write_eof`](StreamWriter::can_write_eof) is `false`: use
    /// [`with_write_eof`](StreamWriter::with_write_eof) for a socket half
    /// whose `poll_close` shuts down only the write direction.
    pub fn new(inner: W) -> StreamWriter<W> {
        StreamWriter {
            inner,
            buf: Vec::new(),
            start: 0,
            high: DEFAULT_HIGH_WATER,
            low: DEFAULT_HIGH_WATER / 4,
            closing: false,
            closed: false,
            error: None,
            can_write_eof: false,
            eof_written: false,
            close_connection: None,
        }
    }

    /// A writer over `inner` whose `poll_close` shuts down the write
    /// direction only (a TCP or Unix socket, or its write half), so
    /// [`write_eof`](StreamWriter::write_eof) is supported.
    pub fn with_write_eof(inner: W) -> StreamWriter<W> {
        let mut w = StreamWriter::new(inner);
        w.can_write_eof = true;
        w
    }

    /// Sets the water marks [`drain`](StreamWriter::drain) works with, as
    /// asyncio's `transport.set_write_buffer_limits(high, low)`: with both
    /// `None` the defaults come back (64 KiB and 16 KiB); with one `None`
    /// it is derived from the other (`low = high / 4`, `high = 4 * low`).
    /// A high mark of 0 makes every `drain` send the whole buffer.
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidInput`](io::ErrorKind::InvalidInput) when `low`
    /// is above `high` (asyncio's `ValueError`); the marks are unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_net::StreamWriter;
    ///
    /// let mut w = StreamWriter::new(Vec::<u8>::new());
    /// w.set_write_buffer_limits(Some(1000), None)?;
    /// assert_eq!(w.write_buffer_limits(), (250, 1000));
    /// assert!(w.set_write_buffer_limits(Some(10), Some(20)).is_err());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_write_buffer_limits(
        &mut self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        let (high, low) = match (high, low) {
            (None, None) => (DEFAULT_HIGH_WATER, DEFAULT_HIGH_WATER / 4),
            (Some(h), None) => (h, h / 4),
            (None, Some(l)) => (l.saturating_mul(4), l),
            (Some(h), Some(l)) => (h, l),
        };
        if low > high {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "write buffer limits need low <= high, got high={high} and low={low}: \
                     lower `low` or raise `high`"
                ),
            ));
        }
        self.high = high;
        self.low = low;
        Ok(())
    }

    /// The water marks, `(low, high)`, as asyncio's
    /// `get_write_buffer_limits`.
    pub fn write_buffer_limits(&self) -> (usize, usize) {
        (self.low, self.high)
    }

    /// How many bytes wait in the buffer.
    pub fn buffer_size(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether [`write_eof`](StreamWriter::write_eof) is supported.
    pub fn can_write_eof(&self) -> bool {
        self.can_write_eof
    }

    /// Whether [`close`](StreamWriter::close) was called.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer, mutably (writing to it directly skips the
    /// buffer and its order).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Starts closing: later writes fail. Finish with
    /// [`wait_closed`](StreamWriter::wait_closed), which sends what is
    /// buffered and closes the inner writer; for a socket's writer (from
    /// [`open_connection`](crate::open_connection), a server's handler,
    /// [`from_tcp`](crate::stream::from_tcp), ...) that closes the whole
    /// connection, as asyncio's `StreamWriter.close()` closes the
    /// transport: the peer reads end of file, and so does the paired
    /// [`StreamReader`](crate::StreamReader) once its buffer is read.
    pub fn close(&mut self) {
        self.closing = true;
    }

    fn check_writable(&mut self) -> io::Result<()> {
        if let Some(e) = &self.error {
            return Err(io::Error::new(
                e.kind(),
                format!("the stream failed earlier: {e}"),
            ));
        }
        if self.closing || self.eof_written {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write on a closed stream writer (after close or write_eof)",
            ));
        }
        Ok(())
    }
}

impl<W: AsyncWrite + Unpin> StreamWriter<W> {
    /// Queues `data` for sending, trying to send it at once; never waits.
    ///
    /// # Errors
    ///
    /// Fails with [`BrokenPipe`](io::ErrorKind::BrokenPipe) after
    /// [`close`](StreamWriter::close) or
    /// [`write_eof`](StreamWriter::write_eof), or when an earlier write
    /// failed; `data` is not queued then.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.check_writable()?;
        if data.is_empty() {
            return Ok(());
        }
        let mut data = data;
        if self.buffer_size() == 0 {
            let n = self.try_write_now(data);
            data = &data[n..];
            if data.is_empty() {
                return Ok(());
            }
        } else {
            self.try_flush_now();
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Queues every buffer of `lines`, in order; see
    /// [`write`](StreamWriter::write).
    ///
    /// # Errors
    ///
    /// As for [`write`](StreamWriter::write).
    pub fn writelines<I, B>(&mut self, lines: I) -> io::Result<()>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        self.check_writable()?;
        for line in lines {
            self.write(line.as_ref())?;
        }
        Ok(())
    }

    /// One non-waiting attempt to write `data`; returns how much was taken.
    fn try_write_now(&mut self, data: &[u8]) -> usize {
        let mut cx = Context::from_waker(Waker::noop());
        let mut taken = 0;
        while taken < data.len() {
            match Pin::new(&mut self.inner).poll_write(&mut cx, &data[taken..]) {
                Poll::Ready(Ok(0)) => {
                    self.error = Some(write_zero());
                    break;
                }
                Poll::Ready(Ok(n)) => taken += n,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    self.error = Some(e);
                    break;
                }
                Poll::Pending => break,
            }
        }
        taken
    }

    /// Sends what it can of the buffer without waiting.
    fn try_flush_now(&mut self) {
        if self.error.is_some() {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        // Ignore Pending: the bytes stay buffered for the next call.
        let _ = self.poll_flush_to(&mut cx, 0);
    }

    /// Writes the buffer until at most `target` bytes remain.
    fn poll_flush_to(&mut self, cx: &mut Context<'_>, target: usize) -> Poll<io::Result<()>> {
        while self.buffer_size() > target {
            match Pin::new(&mut self.inner).poll_write(cx, &self.buf[self.start..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(write_zero())),
                Poll::Ready(Ok(n)) => {
                    self.start += n;
                    if self.start == self.buf.len() {
                        self.buf.clear();
                        self.start = 0;
                    }
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    fn take_error(&mut self) -> io::Result<()> {
        match self.error.take() {
            Some(e) => {
                // Keep failing later writes, with the same kind.
                self.error = Some(io::Error::new(e.kind(), e.to_string()));
                Err(e)
            }
            None => Ok(()),
        }
    }

    async fn flush_to(&mut self, target: usize) -> io::Result<()> {
        let res = poll_fn(|cx| self.poll_flush_to(cx, target)).await;
        if let Err(e) = &res {
            self.error = Some(io::Error::new(e.kind(), e.to_string()));
        }
        res
    }

    /// Waits until it is fine to write more: when the buffer is above the
    /// high-water mark, flushes it down to the low-water mark; then sends
    /// the rest, waiting only if the socket cannot take it now. (asyncio's
    /// `drain` returns at once below the high-water mark because its
    /// transport keeps sending in the background; nothing here does, so
    /// returning with bytes still buffered could leave them unsent.)
    ///
    /// # Errors
    ///
    /// Fails with the first write error (also one met by an earlier
    /// synchronous [`write`](StreamWriter::write)).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: buffered bytes stay buffered, and bytes already sent
    /// are gone from the buffer.
    #[track_caller]
    pub fn drain<'t0>(
        &'t0 mut self,
    ) -> impl std::future::Future<Output = io::Result<()>> + use<'t0, W> {
        tulipa_core::await_point::track(async move {
            self.take_error()?;
            if self.buffer_size() > self.high {
                self.flush_to(self.low).await?;
            }
            self.try_flush_now();
            if self.buffer_size() > 0 && self.error.is_none() {
                // No event loop sends the rest in the background as asyncio's
                // transport does: wait until the socket took it, or it would
                // sit here until the next write (a request never sent while its
                // writer waits for the response).
                self.flush_to(0).await?;
            }
            self.take_error()
        })
    }

    /// Sends every buffered byte and flushes the inner writer.
    ///
    /// # Errors
    ///
    /// Fails with the first write error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`drain`](StreamWriter::drain).
    #[track_caller]
    pub fn flush<'t0>(
        &'t0 mut self,
    ) -> impl std::future::Future<Output = io::Result<()>> + use<'t0, W> {
        tulipa_core::await_point::track(async move {
            self.take_error()?;
            self.flush_to(0).await?;
            poll_fn(|cx| Pin::new(&mut self.inner).poll_flush(cx)).await
        })
    }

    /// Sends what is buffered, then shuts down the write direction (the
    /// peer reads end of file); reading from the other half goes on.
    ///
    /// # Errors
    ///
    /// Fails with [`Unsupported`](io::ErrorKind::Unsupported) when
    /// [`can_write_eof`](StreamWriter::can_write_eof) is `false`, or with
    /// a write error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`drain`](StreamWriter::drain); the shutdown itself
    /// does not wait.
    #[track_caller]
    pub fn write_eof<'t0>(
        &'t0 mut self,
    ) -> impl std::future::Future<Output = io::Result<()>> + use<'t0, W> {
        tulipa_core::await_point::track(async move {
            if !self.can_write_eof {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "this stream writer cannot write end of file (half-close): \
                     it was not made with StreamWriter::with_write_eof",
                ));
            }
            if self.eof_written {
                return Ok(());
            }
            self.flush().await?;
            poll_fn(|cx| Pin::new(&mut self.inner).poll_close(cx)).await?;
            self.eof_written = true;
            Ok(())
        })
    }

    /// Closes the writer (if [`close`](StreamWriter::close) was not
    /// called, this does it), sends what is buffered and closes the inner
    /// writer. For a socket's writer this closes the whole connection
    /// (both directions): the paired [`StreamReader`](crate::StreamReader)
    /// reads end of file after what it has buffered, even if the peer's
    /// data is still on its way, as in asyncio. Use
    /// [`write_eof`](StreamWriter::write_eof) to stop writing but keep
    /// reading.
    ///
    /// # Errors
    ///
    /// Fails with the first write or close error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: calling it again finishes the job.
    #[track_caller]
    pub fn wait_closed<'t0>(
        &'t0 mut self,
    ) -> impl std::future::Future<Output = io::Result<()>> + use<'t0, W> {
        tulipa_core::await_point::track(async move {
            self.closing = true;
            if self.closed {
                return Ok(());
            }
            self.take_error()?;
            self.flush_to(0).await?;
            let res = if self.eof_written {
                Ok(())
            } else {
                poll_fn(|cx| Pin::new(&mut self.inner).poll_close(cx)).await
            };
            if let Some(close_connection) = self.close_connection {
                // The reader must see the end even if the goodbye failed.
                let closed = close_connection(&self.inner);
                self.closed = true;
                return res.and(closed);
            }
            res?;
            self.closed = true;
            Ok(())
        })
    }
}

impl<W> StreamWriter<W> {
    /// A writer whose `wait_closed` ends by calling `close_connection`
    /// (after closing `inner`): it closes the whole connection, so the
    /// paired reader reads end of file.
    pub(crate) fn with_close_connection(
        inner: W,
        close_connection: fn(&W) -> io::Result<()>,
    ) -> StreamWriter<W> {
        let mut w = StreamWriter::new(inner);
        w.close_connection = Some(close_connection);
        w
    }
}

impl<S: SplitStream> StreamWriter<OwnedWriteHalf<S>> {
    /// A writer over a socket's write half: `write_eof` shuts the write
    /// direction down, `wait_closed` closes the whole connection.
    pub(crate) fn for_socket(half: OwnedWriteHalf<S>) -> Self {
        let mut w = StreamWriter::with_close_connection(half, OwnedWriteHalf::close_connection);
        w.can_write_eof = true;
        w
    }

    /// The write half, for `start_tls`, which flushed the buffer first.
    #[cfg(feature = "tls")]
    pub(crate) fn into_half(self) -> OwnedWriteHalf<S> {
        debug_assert_eq!(self.buffer_size(), 0, "flush before taking the half out");
        self.inner
    }
}

fn write_zero() -> io::Error {
    io::Error::new(
        io::ErrorKind::WriteZero,
        "the writer accepted no bytes: it is closed",
    )
}

impl<W: fmt::Debug> fmt::Debug for StreamWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamWriter")
            .field("inner", &self.inner)
            .field("buffered", &self.buffer_size())
            .field("closing", &self.closing)
            .finish_non_exhaustive()
    }
}
