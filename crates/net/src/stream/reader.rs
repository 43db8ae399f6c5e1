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
//! when the separator is not within the first `limit` bytes (default 64
//! KiB). The data stays buffered and readable with
//! [`read`](StreamReader::read), so a caller can skip or stream a long
//! line; nothing is lost. A search resumes where the previous fill's
//! search stopped, so a long line costs linear time.

use std::error::Error;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncBufRead, AsyncRead};

/// The default line limit of a [`StreamReader`]: 64 KiB, as asyncio's.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// The smallest read a fill asks for.
const MIN_READ: usize = 8 * 1024;

/// The inner error of [`StreamReader::read_line`] and
/// [`StreamReader::read_until`] when the separator is not found within
/// the limit (asyncio's `LimitOverrunError`).
///
/// The buffered data was **not** consumed: read it with
/// [`StreamReader::read`], or raise the limit with
/// [`StreamReader::set_limit`] and retry. Reach it with
/// [`io::Error::get_ref`] and `downcast_ref`, or
/// [`LimitOverrun::from_io`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitOverrun {
    /// How many bytes a successful call would have consumed: the buffered
    /// bytes searched so far, or up to the end of the separator when it
    /// was found past the limit.
    pub consumed: usize,
    /// The reader's limit at the time.
    pub limit: usize,
}

impl LimitOverrun {
    /// The [`LimitOverrun`] inside `e`, if that is what `e` is.
    pub fn from_io(e: &io::Error) -> Option<&LimitOverrun> {
        e.get_ref()?.downcast_ref()
    }
}

impl fmt::Display for LimitOverrun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "separator not found within the stream reader's limit of {} bytes \
             ({} bytes would be consumed); the data is still buffered: read it with \
             read(n) or raise the limit with set_limit",
            self.limit, self.consumed
        )
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

    /// Whether the stream ended and every byte was consumed.
    pub fn at_eof(&self) -> bool {
        self.eof && self.start == self.end
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
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
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
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        while self.fill().await? > 0 {}
        let n = self.buffered();
        Ok(self.take(n))
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
    pub async fn read_exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
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
    }

    /// Reads one line, ending with `\n` (included). At end of file returns
    /// the partial last line, or an empty vector when nothing is left.
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidData`](io::ErrorKind::InvalidData) and a
    /// [`LimitOverrun`] when no `\n` is within the limit (the data stays
    /// buffered), or with the inner reader's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the line stays buffered until it returns.
    pub async fn read_line(&mut self) -> io::Result<Vec<u8>> {
        match self.read_until(b"\n").await {
            Ok(line) => Ok(line),
            Err(e) => match IncompleteRead::try_from_io(e) {
                Ok(inc) => Ok(inc.partial),
                Err(e) => Err(e),
            },
        }
    }

    /// Reads until `separator` (included), asyncio's `readuntil`.
    ///
    /// # Errors
    ///
    /// - [`InvalidData`](io::ErrorKind::InvalidData) with a
    ///   [`LimitOverrun`] when the separator does not end within the limit;
    ///   the data stays buffered.
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
    pub async fn read_until(&mut self, separator: &[u8]) -> io::Result<Vec<u8>> {
        if separator.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the separator is empty: pass at least one byte, e.g. b\"\\n\"",
            ));
        }
        // Buffered offsets (from `start`) already searched without a match.
        let mut searched = 0;
        loop {
            let data = self.buffer();
            if let Some(i) = find(&data[searched..], separator) {
                let end = searched + i + separator.len();
                if end > self.limit {
                    return Err(overrun(end, self.limit));
                }
                return Ok(self.take(end));
            }
            // Resume the next search where a separator could still start.
            searched = data.len().saturating_sub(separator.len() - 1);
            if data.len() > self.limit {
                return Err(overrun(data.len(), self.limit));
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
        }
    }
}

fn overrun(consumed: usize, limit: usize) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, LimitOverrun { consumed, limit })
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
