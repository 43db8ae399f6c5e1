//! [`StreamReader`]: asyncio's `StreamReader` over any [`AsyncRead`].
//!
//! # Buffer
//!
//! One `Vec<u8>` whose whole length is initialized; the unread data is
//! `buf[start..end]`. A fill reads into `buf[end..]`, first moving the
//! unread data to the front when that frees enough room, else growing the
//! vector (zeroing only the new part). Nothing is ever read past what a
//! caller asked for *plus one read's worth*: a fill asks the inner reader
//! for at most the free room, at least [`MIN_READ`] bytes.
//!
//! # Limit
//!
//! [`read_line`](StreamReader::read_line) and
//! [`read_until`](StreamReader::read_until) hold the whole line in the
//! buffer before returning it, so they stop with a [`LimitOverrun`] error
//! when more than `limit` bytes (default 64 KiB) come before the
//! separator; as in asyncio the limit counts the data, not the separator.
//! The rules are asyncio's `readuntil` and `readline`: after an overrun,
//! `read_until` has consumed nothing (the caller can read the long line
//! with [`read`](StreamReader::read), or raise the limit), while
//! `read_line` drops the overlong line so the next call reads on (see its
//! docs for the case where the line's end has not arrived yet). A search
//! resumes where the previous fill's search stopped, so a long line costs
//! linear time.
//!
//! # End of file
//!
//! [`at_eof`](StreamReader::at_eof) is true once the stream has ended and
//! every byte was consumed. With no loop reading in the background (as
//! asyncio's transport does), it checks for the end itself when the buffer
//! is empty: one read that does not wait. So asyncio's
//! `while not reader.at_eof(): line = await reader.readline()` gets no
//! extra empty line when the peer's end of file has already arrived.

use std::error::Error;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_lite::io::{AsyncBufRead, AsyncRead};

/// The default line limit of a [`StreamReader`]: 64 KiB, as asyncio's.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// The smallest read a fill asks for.
const MIN_READ: usize = 8 * 1024;

/// The inner error of [`StreamReader::read_line`] and
/// [`StreamReader::read_until`] when more than the limit's bytes come
/// before the separator (asyncio's `LimitOverrunError`).
///
/// After `read_until` the buffered data was **not** consumed: read it
/// with [`StreamReader::read`], or raise the limit with
/// [`StreamReader::set_limit`] and retry. After `read_line` the overlong
/// line was dropped (see [`StreamReader::read_line`]). Reach it with
/// [`io::Error::get_ref`] and `downcast_ref`, or
/// [`LimitOverrun::from_io`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitOverrun {
    /// asyncio's `consumed`: where the separator starts when it was found
    /// past the limit, else how many buffered bytes were searched without
    /// finding it.
    pub consumed: usize,
    /// The reader's limit at the time.
    pub limit: usize,
    /// Whether `read_line` dropped the data (else it is still buffered).
    dropped: bool,
}

impl LimitOverrun {
    /// The [`LimitOverrun`] inside `e`, if that is what `e` is.
    pub fn from_io(e: &io::Error) -> Option<&LimitOverrun> {
        e.get_ref()?.downcast_ref()
    }
}

impl fmt::Display for LimitOverrun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dropped {
            write!(
                f,
                "line longer than the stream reader's limit of {} bytes; it was dropped \
                 and reading goes on after it: raise the limit with set_limit to accept \
                 longer lines",
                self.limit
            )
        } else {
            write!(
                f,
                "separator not found within the stream reader's limit of {} bytes \
                 ({} bytes searched); the data is still buffered: read it with \
                 read(n) or raise the limit with set_limit",
                self.limit, self.consumed
            )
        }
    }
}

impl Error for LimitOverrun {}

/// The inner error of [`StreamReader::read_exact`] and
/// [`StreamReader::read_until`] when the stream ends first (asyncio's
/// `IncompleteReadError`): it hands back the bytes that were read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IncompleteRead {
    /// The bytes read before the end of the stream (consumed from the
    /// reader).
    pub partial: Vec<u8>,
    /// How many bytes were asked for; `None` for a separator search.
    pub expected: Option<usize>,
}

impl IncompleteRead {
    /// The [`IncompleteRead`] inside `e`, if that is what `e` is.
    pub fn from_io(e: &io::Error) -> Option<&IncompleteRead> {
        e.get_ref()?.downcast_ref()
    }

    /// Takes the [`IncompleteRead`] out of `e`, or gives `e` back.
    ///
    /// # Errors
    ///
    /// Returns `e` unchanged when it is another error.
    pub fn try_from_io(e: io::Error) -> Result<IncompleteRead, io::Error> {
        if IncompleteRead::from_io(&e).is_none() {
            return Err(e);
        }
        match e.into_inner().map(|b| b.downcast::<IncompleteRead>()) {
            Some(Ok(b)) => Ok(*b),
            _ => unreachable!("checked above that the inner error is an IncompleteRead"),
        }
    }
}

impl fmt::Display for IncompleteRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(n) => write!(
                f,
                "the stream ended after {} of {n} expected bytes",
                self.partial.len()
            ),
            None => write!(
                f,
                "the stream ended after {} bytes without the separator",
                self.partial.len()
            ),
        }
    }
}

impl Error for IncompleteRead {}

/// A buffered reader with asyncio's `StreamReader` methods:
/// [`read`](StreamReader::read), [`read_exact`](StreamReader::read_exact),
/// [`read_line`](StreamReader::read_line),
/// [`read_until`](StreamReader::read_until), [`at_eof`](StreamReader::at_eof).
///
/// It also implements [`AsyncRead`] and [`AsyncBufRead`], so the
/// `futures-lite` extension traits work on it, sharing the buffer.
///
/// # Examples
///
/// ```
/// use tulipa_net::StreamReader;
///
/// tulipa::run(async {
///     let mut r = StreamReader::new(&b"hello\nworld"[..]);
///     assert_eq!(r.read_line().await?, b"hello\n");
///     assert_eq!(r.read_line().await?, b"world");
///     assert!(r.at_eof());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct StreamReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    limit: usize,
    /// An error met by [`StreamReader::at_eof`]'s read, for the next call.
    error: Option<io::Error>,
}

impl<R> StreamReader<R> {
    /// A reader over `inner` with the default limit (64 KiB).
    pub fn new(inner: R) -> StreamReader<R> {
        StreamReader::with_limit(inner, DEFAULT_LIMIT)
    }

    /// A reader over `inner` with a line limit of `limit` bytes.
    ///
    /// # Panics
    ///
    /// Panics if `limit` is zero: no line could ever be read.
    pub fn with_limit(inner: R, limit: usize) -> StreamReader<R> {
        assert!(limit > 0, "the stream reader limit must be at least 1 byte");
        StreamReader {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            limit,
            error: None,
        }
    }

    /// Sets the line limit.
    ///
    /// # Panics
    ///
    /// Panics if `limit` is zero.
    pub fn set_limit(&mut self, limit: usize) {
        assert!(limit > 0, "the stream reader limit must be at least 1 byte");
        self.limit = limit;
    }

    /// The line limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The bytes read from the inner reader and not yet consumed.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably (reading from it directly skips the
    /// buffer).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader; buffered bytes are dropped (take them with
    /// [`buffer`](StreamReader::buffer) first).
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Removes and returns the first `n` buffered bytes.
    fn take(&mut self, n: usize) -> Vec<u8> {
        debug_assert!(n <= self.buffered());
        let out = self.buf[self.start..self.start + n].to_vec();
        self.consume_n(n);
        out
    }

    fn consume_n(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Makes room for at least `MIN_READ` bytes after `end`.
    fn reserve(&mut self) {
        if self.buf.len() - self.end >= MIN_READ {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() - self.end >= MIN_READ {
                return;
            }
        }
        let want = (self.end + MIN_READ).max(self.buf.len() * 2);
        self.buf.resize(want, 0);
    }
}

impl<R: AsyncRead + Unpin> StreamReader<R> {
    /// Reads once more from the inner reader into the buffer; `Ok(0)` at
    /// end of file.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if let Some(e) = self.error.take() {
            return Poll::Ready(Err(e));
        }
        if self.eof {
            return Poll::Ready(Ok(0));
        }
        self.reserve();
        let n = loop {
            match Pin::new(&mut self.inner).poll_read(cx, &mut self.buf[self.end..]) {
                Poll::Ready(Ok(n)) => break n,
                // Interrupted is not the end of the stream: try again.
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        Poll::Ready(Ok(n))
    }

    async fn fill(&mut self) -> io::Result<usize> {
        poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// Whether the stream ended and every byte was consumed (asyncio's
    /// `at_eof`).
    ///
    /// When the buffer is empty and the end was not seen yet, this makes
    /// one read that does not wait, so an end of file that has already
    /// arrived counts (asyncio's transport would have delivered it in the
    /// background); data it reads stays buffered, and an error it meets is
    /// returned by the next read.
    ///
    /// # Examples
    ///
    /// asyncio's `while not reader.at_eof(): await reader.readline()` loop:
    ///
    /// ```
    /// use tulipa_net::StreamReader;
    ///
    /// tulipa::run(async {
    ///     let mut r = StreamReader::new(&b"one\ntwo\n"[..]);
    ///     let mut lines = Vec::new();
    ///     while !r.at_eof() {
    ///         lines.push(r.read_line().await?);
    ///     }
    ///     assert_eq!(lines, [b"one\n", b"two\n"]);
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn at_eof(&mut self) -> bool {
        if self.buffered() == 0 && !self.eof && self.error.is_none() {
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(Err(e)) = self.poll_fill(&mut cx) {
                self.error = Some(e);
            }
        }
        self.eof && self.buffered() == 0
    }

    /// Reads up to `n` bytes: what is buffered, or else one read from the
    /// stream. An empty vector means end of file (or `n == 0`).
    ///
    /// # Errors
    ///
    /// Fails with the inner reader's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: data read from the stream stays buffered until a call
    /// returns it.
    #[track_caller]
    pub fn read<'t0>(
        &'t0 mut self,
        n: usize,
    ) -> impl std::future::Future<Output = io::Result<Vec<u8>>> + use<'t0, R> {
        tulipa_core::await_point::track(async move {
            if n == 0 {
                return Ok(Vec::new());
            }
            if self.buffered() == 0 {
                if self.eof {
                    return Ok(Vec::new());
                }
                self.fill().await?;
            }
            let k = n.min(self.buffered());
            Ok(self.take(k))
        })
    }

    /// Reads until end of file and returns everything.
    ///
    /// # Errors
    ///
    /// Fails with the inner reader's error; what was read stays buffered.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is consumed unless it returns.
    #[track_caller]
    pub fn read_to_end<'t0>(
        &'t0 mut self,
    ) -> impl std::future::Future<Output = io::Result<Vec<u8>>> + use<'t0, R> {
        tulipa_core::await_point::track(async move {
            while self.fill().await? > 0 {}
            let n = self.buffered();
            Ok(self.take(n))
        })
    }

    /// Reads exactly `n` bytes.
    ///
    /// # Errors
    ///
    /// When the stream ends first, fails with
    /// [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) whose inner error
    /// is an [`IncompleteRead`] holding the bytes that were read (they are
    /// consumed). Fails with the inner reader's error otherwise.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the bytes stay buffered until it returns.
    #[track_caller]
    pub fn read_exact<'t0>(
        &'t0 mut self,
        n: usize,
    ) -> impl std::future::Future<Output = io::Result<Vec<u8>>> + use<'t0, R> {
        tulipa_core::await_point::track(async move {
            while self.buffered() < n {
                if self.fill().await? == 0 {
                    let partial = self.take(self.buffered());
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        IncompleteRead {
                            partial,
                            expected: Some(n),
                        },
                    ));
                }
            }
            Ok(self.take(n))
        })
    }

    /// Reads one line, ending with `\n` (included). At end of file returns
    /// the partial last line, or an empty vector when nothing is left.
    ///
    /// The limit counts the bytes before the `\n`: a line of exactly
    /// [`limit`](StreamReader::limit) bytes plus its `\n` is returned.
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidData`](io::ErrorKind::InvalidData) and a
    /// [`LimitOverrun`] when the line is longer than the limit. As in
    /// asyncio's `readline`, the overlong data is dropped so the next call
    /// reads on:
    ///
    /// - when the `\n` was already buffered, the whole overlong line is
    ///   consumed, up to and including its `\n`: the next call returns the
    ///   next line;
    /// - when it was not (more than `limit` bytes arrived without a `\n`),
    ///   everything buffered is dropped; the rest of that line is still to
    ///   come from the stream, and the next call returns it (up to its
    ///   `\n`) as if it were a line of its own. Use
    ///   [`read_until`](StreamReader::read_until), which consumes nothing
    ///   on an overrun, to handle long lines yourself.
    ///
    /// Fails with the inner reader's error otherwise.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the line stays buffered until it returns.
    #[track_caller]
    pub fn read_line<'t0>(
        &'t0 mut self,
    ) -> impl std::future::Future<Output = io::Result<Vec<u8>>> + use<'t0, R> {
        tulipa_core::await_point::track(async move {
            match self.read_until(b"\n").await {
                Ok(line) => Ok(line),
                Err(e) => {
                    if let Some(lo) = LimitOverrun::from_io(&e) {
                        // `consumed` is where the separator starts when it was
                        // found, else how much was searched (all of the buffer).
                        if self.buffer().get(lo.consumed) == Some(&b'\n') {
                            self.consume_n(lo.consumed + 1);
                        } else {
                            self.consume_n(self.buffered());
                        }
                        let dropped = LimitOverrun {
                            dropped: true,
                            ..lo.clone()
                        };
                        return Err(io::Error::new(io::ErrorKind::InvalidData, dropped));
                    }
                    match IncompleteRead::try_from_io(e) {
                        Ok(inc) => Ok(inc.partial),
                        Err(e) => Err(e),
                    }
                }
            }
        })
    }

    /// Reads until `separator` (included), asyncio's `readuntil`.
    ///
    /// # Errors
    ///
    /// - [`InvalidData`](io::ErrorKind::InvalidData) with a
    ///   [`LimitOverrun`] when more than [`limit`](StreamReader::limit)
    ///   bytes come before the separator (the limit counts the data, not
    ///   the separator); nothing is consumed, as in asyncio: read the data
    ///   with [`read`](StreamReader::read), or raise the limit and retry.
    /// - [`UnexpectedEof`](io::ErrorKind::UnexpectedEof) with an
    ///   [`IncompleteRead`] holding the rest of the stream when it ends
    ///   without the separator (that data is consumed).
    /// - [`InvalidInput`](io::ErrorKind::InvalidInput) for an empty
    ///   separator.
    /// - The inner reader's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is consumed unless it returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_net::StreamReader;
    ///
    /// tulipa::run(async {
    ///     let mut r = StreamReader::new(&b"a\r\nb\r\n"[..]);
    ///     assert_eq!(r.read_until(b"\r\n").await?, b"a\r\n");
    ///     assert_eq!(r.read_until(b"\r\n").await?, b"b\r\n");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[track_caller]
    pub fn read_until<'t0, 't1>(
        &'t0 mut self,
        separator: &'t1 [u8],
    ) -> impl std::future::Future<Output = io::Result<Vec<u8>>> + use<'t0, 't1, R> {
        tulipa_core::await_point::track(async move {
            let sep_len = separator.len();
            if sep_len == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the separator is empty: pass at least one byte, e.g. b\"\\n\"",
                ));
            }
            // asyncio's `readuntil`: `offset` is where the next search starts
            // (everything before it was searched without a match).
            let mut offset = 0;
            let at = loop {
                let data = self.buffer();
                if data.len() - offset >= sep_len {
                    if let Some(i) = find(&data[offset..], separator) {
                        break offset + i;
                    }
                    offset = data.len() + 1 - sep_len;
                    if offset > self.limit {
                        return Err(overrun(offset, self.limit));
                    }
                }
                if self.fill().await? == 0 {
                    let partial = self.take(self.buffered());
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        IncompleteRead {
                            partial,
                            expected: None,
                        },
                    ));
                }
            };
            // The limit counts the data before the separator.
            if at > self.limit {
                return Err(overrun(at, self.limit));
            }
            Ok(self.take(at + sep_len))
        })
    }
}

fn overrun(consumed: usize, limit: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        LimitOverrun {
            consumed,
            limit,
            dropped: false,
        },
    )
}

/// The offset of the first `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if let [b] = needle {
        return hay.iter().position(|x| x == b);
    }
    if hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|&x| x == first)
        {
            None => return None,
            Some(p) => {
                let at = i + p;
                if &hay[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
        }
    }
    None
}

impl<R: fmt::Debug> fmt::Debug for StreamReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("inner", &self.inner)
            .field("buffered", &(self.end - self.start))
            .field("eof", &self.eof)
            .field("limit", &self.limit)
            .finish()
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for StreamReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(e) = this.error.take() {
            return Poll::Ready(Err(e));
        }
        if this.buffered() == 0 {
            // Large reads bypass the buffer.
            if out.len() >= MIN_READ && !this.eof {
                let res = Pin::new(&mut this.inner).poll_read(cx, out);
                if let Poll::Ready(Ok(0)) = res {
                    if !out.is_empty() {
                        this.eof = true;
                    }
                }
                return res;
            }
            match this.poll_fill(cx) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = out.len().min(this.buffered());
        out[..n].copy_from_slice(&this.buf[this.start..this.start + n]);
        this.consume_n(n);
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for StreamReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.buffered() == 0 {
            match this.poll_fill(cx) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(&this.buf[this.start..this.end]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.consume_n(amt.min(this.buffered()));
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn find_matches_naive_search() {
        let hay = b"abcabcabd\r\n\r\nxx";
        for needle in [
            &b"abd"[..],
            b"\r\n",
            b"\r\n\r\n",
            b"x",
            b"zz",
            b"abcabcabd\r\n\r\nxxy",
        ] {
            let naive = hay.windows(needle.len()).position(|w| w == needle);
            assert_eq!(find(hay, needle), naive, "{needle:?}");
        }
    }
}
