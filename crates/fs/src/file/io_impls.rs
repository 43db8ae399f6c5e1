//! `AsyncRead`, `AsyncWrite` and `AsyncSeek` for [`File`], its `Drop`
//! (the background flush) and `Debug`: the transitions of the state machine
//! described in the parent module.

use std::fmt;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_lite::io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use super::{Buf, Done, File, Mode, Op, State, MAX_BUF};
use crate::background::{self, Ticket};

impl File {
    /// Drives the file until read-ahead bytes are buffered (`Ok(true)`) or
    /// the end of the file is reached (`Ok(false)`). `want` sizes the read
    /// job: the buffer's capacity, at least `want` (at most 1 MiB).
    fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<bool>> {
        loop {
            if let Some(done) = ready!(self.poll_job(cx)) {
                match done {
                    Done::Read(Err(e)) | Done::Failed(e) => return Poll::Ready(Err(e)),
                    Done::Read(Ok(n)) => {
                        if n == 0 {
                            // End of file: nothing was installed. Remember
                            // it, so asking again (as `FillBuf` does) gives
                            // the same answer without another hop.
                            self.eof = true;
                            return Poll::Ready(self.shared.errors.take().map_or(Ok(false), Err));
                        }
                        if n >= self.cap {
                            self.cap = (self.cap * 2).min(MAX_BUF);
                        }
                    }
                    other => self.absorb(other),
                }
            }
            if let Some(e) = self.shared.errors.take() {
                return Poll::Ready(Err(e));
            }
            let buf = self.buf();
            if buf.dirty() > 0 {
                self.start(Op::Write);
                continue;
            }
            if buf.unread() > 0 {
                return Poll::Ready(Ok(true));
            }
            if self.eof {
                return Poll::Ready(Ok(false));
            }
            let cap = self.cap.max(want.min(MAX_BUF));
            self.start(Op::Read(cap));
        }
    }
}

impl AsyncRead for File {
    /// Copies read-ahead bytes out, or reads up to the buffer's capacity
    /// (at least `dst.len()`, at most 1 MiB) in one blocking call.
    ///
    /// # Cancel safety
    ///
    /// If the read is dropped while its job runs, the bytes it reads stay in
    /// the buffer for the next read.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if dst.is_empty() {
            return Poll::Ready(this.shared.errors.take().map_or(Ok(0), Err));
        }
        if !ready!(this.poll_fill(cx, dst.len()))? {
            // The end of the file is reported once; the next read asks the
            // OS again (the file may have grown).
            this.eof = false;
            return Poll::Ready(Ok(0));
        }
        let buf = this.buf();
        let n = buf.unread().min(dst.len());
        dst[..n].copy_from_slice(&buf.data[buf.pos..buf.pos + n]);
        buf.pos += n;
        Poll::Ready(Ok(n))
    }
}

impl AsyncBufRead for File {
    /// The read-ahead bytes, reading the next buffer-full (one blocking
    /// call) if there are none; empty at the end of the file. `File` is
    /// its own buffered reader: no `BufReader` needed for `lines()` or
    /// `read_line`.
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if !ready!(this.poll_fill(cx, 0))? {
            return Poll::Ready(Ok(&[]));
        }
        let buf = this.buf();
        Poll::Ready(Ok(&buf.data[buf.pos..]))
    }

    /// Marks `amt` read-ahead bytes as read.
    ///
    /// # Panics
    ///
    /// Panics if `amt` is more than the last `poll_fill_buf` returned.
    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        let State::Idle(buf) = &mut this.state else {
            panic!("File::consume called while a read is in flight; call it after poll_fill_buf");
        };
        assert!(
            amt <= buf.unread(),
            "File::consume({amt}) is more than the {} bytes poll_fill_buf returned",
            buf.unread()
        );
        buf.pos += amt;
        // An end of file seen by `poll_fill_buf` has been acted on.
        this.eof = false;
    }
}

impl AsyncWrite for File {
    /// Copies into the buffer; when it fills, hands it to one blocking
    /// write and returns (write-behind). Errors of earlier buffered writes
    /// are returned here.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a write that returned `Ready(Ok(n))` accepted `n` bytes;
    /// one that did not accepted none.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if let Some(done) = ready!(this.poll_job(cx)) {
                if let Done::Failed(e) = done {
                    return Poll::Ready(Err(e));
                }
                this.absorb(done);
            }
            if let Some(e) = this.shared.errors.take() {
                return Poll::Ready(Err(e));
            }
            let cap = this.cap;
            let buf = this.buf();
            if buf.unread() > 0 {
                // Give the read-ahead back first, so the bytes land at the
                // logical position.
                this.start_rewind();
                continue;
            }
            if buf.mode == Mode::Read {
                buf.discard();
                buf.mode = Mode::Write;
            }
            if src.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if buf.data.len() >= cap {
                this.grow_if_full();
                this.start(Op::Write);
                continue;
            }
            if buf.data.capacity() < cap {
                buf.data.reserve_exact(cap - buf.data.len());
            }
            let n = (cap - buf.data.len()).min(src.len());
            buf.data.extend_from_slice(&src[..n]);
            if buf.data.len() >= cap {
                this.grow_if_full();
                this.start(Op::Write);
            }
            return Poll::Ready(Ok(n));
        }
    }

    /// Hands the buffered bytes to the OS (one blocking write) and waits for
    /// every write in flight. Not an `fsync`: see [`File::sync_all`].
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_settle(cx, false)
    }

    /// Same as flush; the file descriptor closes when the `File` is dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_settle(cx, false)
    }
}

impl AsyncSeek for File {
    /// Writes out the buffer and seeks, in one blocking job. A relative
    /// seek counts from the logical position (read-ahead is accounted for).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a position before the start of the file (from the
    /// OS), or an error of writing out the buffer.
    ///
    /// # Cancel safety
    ///
    /// If the seek is dropped while its job runs, the seek may still take
    /// effect. A later `poll_seek` with the same argument returns that
    /// seek's result instead of seeking twice.
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        loop {
            if let Some(done) = ready!(this.poll_job(cx)) {
                match done {
                    Done::Seek(Some(p), r) if p == pos && this.seeking == Some(pos) => {
                        this.seeking = None;
                        // A write error from the same job comes first.
                        return Poll::Ready(match this.shared.errors.take() {
                            Some(e) => Err(e),
                            None => r,
                        });
                    }
                    Done::Failed(e) => return Poll::Ready(Err(e)),
                    other => this.absorb(other),
                }
            }
            if let Some(e) = this.shared.errors.take() {
                return Poll::Ready(Err(e));
            }
            let unread = this.buf().unread();
            let os = match pos {
                SeekFrom::Current(n) if unread > 0 => {
                    let back = i64::try_from(unread).unwrap_or(i64::MAX);
                    match n.checked_sub(back) {
                        Some(n) => SeekFrom::Current(n),
                        None => {
                            return Poll::Ready(Err(io::Error::new(
                                io::ErrorKind::InvalidInput,
                                "seek offset out of range: SeekFrom::Current overflows i64",
                            )))
                        }
                    }
                }
                other => other,
            };
            this.seeking = Some(pos);
            this.start(Op::Seek {
                user: Some(pos),
                os,
            });
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared
            .errors
            .orphan(|e| background::record(shared.orphan_error(e)));
        if let State::Idle(buf) = &mut self.state {
            if buf.dirty() > 0 {
                let mut buf = std::mem::replace(buf, Buf::new());
                let shared = Arc::clone(&self.shared);
                let ticket = Ticket::new();
                tulipa_blocking::spawn_blocking(move || {
                    let _ticket = ticket;
                    buf.write_out(&shared);
                })
                .detach();
            }
        }
        // A job in flight runs on: it owns an `Arc` of the file and reports
        // a failure to the (now orphaned) error slot.
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("File");
        d.field("file", &self.shared.file);
        match &self.state {
            State::Idle(buf) => d
                .field("state", &"idle")
                .field("read_ahead", &buf.unread())
                .field("buffered_writes", &buf.dirty()),
            State::Busy(_) => d.field("state", &"busy"),
        };
        d.finish()
    }
}
