//! `AsyncRead`, `AsyncWrite` and `AsyncSeek` for [`File`], its `Drop`
//! (the background flush) and `Debug`: the transitions of the state machine
//! described in the parent module.

use std::fmt;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_lite::io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::{Buf, Done, File, Mode, Op, State, MAX_BUF};
use crate::background::{self, Ticket};

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
        loop {
            if let Some(done) = ready!(this.poll_job(cx)) {
                match done {
                    Done::Read(Err(e)) | Done::Failed(e) => return Poll::Ready(Err(e)),
                    Done::Read(Ok(n)) => {
                        if n == 0 {
                            // End of file: nothing was installed.
                            return Poll::Ready(this.shared.errors.take().map_or(Ok(0), Err));
                        }
                        if n >= this.cap {
                            this.cap = (this.cap * 2).min(MAX_BUF);
                        }
                    }
                    other => this.absorb(other),
                }
            }
            if let Some(e) = this.shared.errors.take() {
                return Poll::Ready(Err(e));
            }
            let buf = this.buf();
            if buf.dirty() > 0 {
                this.start(Op::Write);
                continue;
            }
            let unread = buf.unread();
            if unread > 0 {
                let n = unread.min(dst.len());
                dst[..n].copy_from_slice(&buf.data[buf.pos..buf.pos + n]);
                buf.pos += n;
                return Poll::Ready(Ok(n));
            }
            if dst.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let cap = this.cap.max(dst.len().min(MAX_BUF));
            this.start(Op::Read(cap));
        }
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
