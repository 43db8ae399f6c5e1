//! [`Unblock`]: a blocking `Read`/`Write`/`Seek` object driven from async
//! code through the pool.
//!
//! # State machine
//!
//! The object lives in exactly one place at a time:
//!
//! - `Idle(io)`: owned here. `pending` may hold bytes read ahead by an
//!   earlier read job and not yet returned.
//! - `Reading`: a pool job owns the object and loops `io.read` into a
//!   bounded [pipe](crate::pipe) until end of stream, an error, or the
//!   pipe's reader is closed; `poll_read` takes bytes from the pipe.
//! - `Writing`: a pool job owns the object and loops reading the pipe and
//!   `io.write_all`-ing it until the pipe's writer is closed, then calls
//!   `io.flush()`; `poll_write` puts bytes into the pipe.
//! - `Seeking`: a pool job owns the object and runs one `io.seek`; the
//!   position asked for is kept, so a seek whose future was dropped is
//!   finished (not reported) when a different seek comes, and answers a
//!   retry of the same seek.
//!
//! Switching state first *stops* the current job: closing the pipe's
//! reader (keeping every byte already read, in `pending`) or its writer
//! (the job writes what is buffered and flushes), then awaiting the job to
//! get the object back. Read and write errors found by a job are returned
//! by the `poll_*` call that stops it; a stop that nobody can report
//! (from `get_mut`) keeps the error for the next I/O call.
//!
//! A job that panics, or that its pool cancelled (shut down), loses the
//! object: every later call returns an error saying so.

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_lite::future::{block_on, poll_fn};
use futures_lite::io::{AsyncRead, AsyncSeek, AsyncWrite};

use crate::handle::JoinHandle;
use crate::pipe::{self, Reader, Writer};
use crate::spawn_blocking;

/// The default buffer capacity of an [`Unblock`], and the most one blocking
/// `read` or `write` call moves: 64 KiB.
pub(crate) const DEFAULT_CAPACITY: usize = 64 * 1024;

struct ReadDone<T> {
    io: Box<T>,
    result: io::Result<()>,
    /// Bytes read from `io` that did not fit in the pipe before it closed.
    leftover: Vec<u8>,
}

struct WriteDone<T> {
    io: Box<T>,
    result: io::Result<()>,
}

enum State<T> {
    Idle(Option<Box<T>>),
    Reading(Option<Reader>, JoinHandle<ReadDone<T>>),
    Writing(Option<Writer>, JoinHandle<WriteDone<T>>),
    /// The position the caller asked for, and the job seeking there.
    Seeking(SeekFrom, JoinHandle<(Box<T>, io::Result<u64>)>),
}

/// Runs a blocking I/O object on the thread pool, as an async object.
///
/// `Unblock<T>` implements [`AsyncRead`] if `T: Read`, [`AsyncWrite`] if
/// `T: Write` and [`AsyncSeek`] if `T: Seek` (the `futures-io` traits, so
/// `futures_lite::io` helpers work on it). It is meant for objects that
/// have no non-blocking mode: files, stdin/stdout, a blocking library's
/// stream.
///
/// Reading and writing go through a buffer of
/// [`capacity`](Unblock::with_capacity) bytes (default 64 KiB): a pool job
/// reads ahead (or writes behind) while async code moves bytes in and out
/// of the buffer, so small reads and writes cost no thread hop each.
///
/// # Flushing
///
/// Writes are accepted into the buffer and written by a pool job in the
/// background. [`flush`](futures_lite::AsyncWriteExt::flush) (or `close`)
/// waits until every byte accepted so far has been written with
/// `write_all`, then calls the object's own `flush`, and returns the first
/// error met on the way. Dropping an `Unblock` without flushing still
/// writes the buffered bytes (in the background), but nobody sees the
/// errors: flush before dropping.
///
/// # Reading ahead
///
/// Reading moves the object's own position ahead of what was returned, by
/// up to the capacity. Bytes read ahead are never lost: they are kept and
/// returned by later reads, and a seek accounts for them
/// (`SeekFrom::Current` is relative to the position of the last byte
/// returned). Writing after reading without a seek in between, however,
/// writes at the object's real position, which is ahead: seek (for
/// example `SeekFrom::Current(0)`) before writing to write where you
/// stopped reading. Through [`get_mut`](Unblock::get_mut) and
/// [`into_inner`](Unblock::into_inner) the object's position is likewise
/// ahead by the bytes read but not yet returned.
///
/// # Blocking calls cannot be interrupted
///
/// A read job blocked in `read` (say, on a terminal) keeps its pool thread
/// until the call returns; stopping it (to write, seek or get the object
/// back) waits for that. So `Unblock` is for one direction at a time: for
/// a full-duplex object (a blocking socket), wrap each direction in its own
/// `Unblock` (for example over a `try_clone`), or better, use the reactor.
///
/// # Which pool
///
/// Jobs go to the [current pool](crate::Pool::current) of the thread that
/// polls the `Unblock` (inside a tulipa runtime, the runtime's pool).
///
/// # Examples
///
/// ```
/// use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
/// use tulipa_blocking::Unblock;
///
/// future::block_on(async {
///     let path = std::env::temp_dir().join(format!("unblock-doc-{}", std::process::id()));
///     let mut file = Unblock::new(std::fs::File::create(&path)?);
///     file.write_all(b"hello").await?;
///     file.flush().await?;
///
///     let mut file = Unblock::new(std::fs::File::open(&path)?);
///     let mut s = String::new();
///     file.read_to_string(&mut s).await?;
///     assert_eq!(s, "hello");
///     std::fs::remove_file(&path)
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Unblock<T> {
    state: State<T>,
    cap: usize,
    /// Bytes read ahead and not yet returned (only while `Idle`).
    pending: Vec<u8>,
    /// How many of `pending` have been returned.
    pending_pos: usize,
    /// An error from a stop that could not report it.
    error: Option<io::Error>,
}

fn lost() -> io::Error {
    io::Error::other(
        "the object inside Unblock was lost: a blocking call on it panicked, or its pool was \
         shut down before the call ran",
    )
}

fn join_error(e: crate::JoinError) -> io::Error {
    io::Error::other(format!("a blocking call inside Unblock failed: {e}"))
}

impl<T> Unblock<T> {
    /// Wraps `io` with the default capacity (64 KiB).
    pub fn new(io: T) -> Unblock<T> {
        Unblock::with_capacity(DEFAULT_CAPACITY, io)
    }

    /// Wraps `io` with a buffer of `cap` bytes (at least 1; 0 is taken as
    /// 1). Larger buffers mean fewer thread hops per byte.
    pub fn with_capacity(cap: usize, io: T) -> Unblock<T> {
        Unblock {
            state: State::Idle(Some(Box::new(io))),
            cap: cap.max(1),
            pending: Vec::new(),
            pending_pos: 0,
            error: None,
        }
    }

    /// The buffer capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Stops any running job and returns to `Idle`, reporting the job's
    /// error (read or write) if it had one.
    fn poll_stop(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match &mut self.state {
                State::Idle(_) => return Poll::Ready(Ok(())),
                State::Reading(reader, task) => {
                    if let Some(r) = reader.take() {
                        // Keep what was read ahead, in order: unread bytes
                        // first, then what is in the pipe, then the job's
                        // leftover (added when it ends).
                        let mut left = self.pending.split_off(self.pending_pos);
                        left.extend(r.close_and_take());
                        self.pending = left;
                        self.pending_pos = 0;
                    }
                    let done = ready!(Pin::new(task).poll(cx));
                    match done {
                        Ok(d) => {
                            self.pending.extend(d.leftover);
                            self.state = State::Idle(Some(d.io));
                            return Poll::Ready(d.result);
                        }
                        Err(e) => {
                            self.state = State::Idle(None);
                            return Poll::Ready(Err(join_error(e)));
                        }
                    }
                }
                State::Writing(writer, task) => {
                    // Closing the writer lets the job drain, flush, return.
                    drop(writer.take());
                    let done = ready!(Pin::new(task).poll(cx));
                    match done {
                        Ok(d) => {
                            self.state = State::Idle(Some(d.io));
                            return Poll::Ready(d.result);
                        }
                        Err(e) => {
                            self.state = State::Idle(None);
                            return Poll::Ready(Err(join_error(e)));
                        }
                    }
                }
                State::Seeking(_, task) => {
                    // A seek whose future was dropped: finish it, so the
                    // read-ahead bytes are dropped only if it moved.
                    let done = ready!(Pin::new(task).poll(cx));
                    self.finish_seek(done)?;
                }
            }
        }
    }

    /// Back to `Idle` after a seek job. A seek that succeeded makes the
    /// bytes read ahead stale; one that failed moved nothing, so they stay.
    fn finish_seek(
        &mut self,
        done: Result<(Box<T>, io::Result<u64>), crate::JoinError>,
    ) -> io::Result<u64> {
        match done {
            Ok((io, result)) => {
                self.state = State::Idle(Some(io));
                if result.is_ok() {
                    self.pending.clear();
                    self.pending_pos = 0;
                }
                result
            }
            Err(e) => {
                self.state = State::Idle(None);
                Err(join_error(e))
            }
        }
    }

    /// Like `poll_stop`, but keeps an error for the next I/O call instead
    /// of returning it.
    fn poll_stop_keep_error(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Err(e) = ready!(self.poll_stop(cx)) {
            self.error.get_or_insert(e);
        }
        Poll::Ready(())
    }

    /// Stops any background job and returns the object.
    ///
    /// A pending write is finished and flushed first; an error from it is
    /// kept and returned by the next I/O call on this `Unblock`.
    ///
    /// # Panics
    ///
    /// Panics if the object was lost: a blocking call on it panicked, or
    /// its pool was shut down before the call ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::{future, AsyncWriteExt};
    ///
    /// future::block_on(async {
    ///     let mut sink = tulipa_blocking::Unblock::new(Vec::<u8>::new());
    ///     sink.write_all(b"abc").await.unwrap();
    ///     assert_eq!(sink.get_mut().await.as_slice(), b"abc");
    /// });
    /// ```
    pub async fn get_mut(&mut self) -> &mut T {
        poll_fn(|cx| self.poll_stop_keep_error(cx)).await;
        match &mut self.state {
            State::Idle(Some(io)) => io,
            _ => panic!("Unblock::get_mut: {}", lost()),
        }
    }

    /// Stops any background job and returns the object, consuming the
    /// `Unblock`. Buffered writes are written and flushed first, but an
    /// error from them is dropped: call `flush` first to see it. Bytes read
    /// ahead and not yet returned are dropped too.
    ///
    /// # Panics
    ///
    /// Panics if the object was lost: a blocking call on it panicked, or
    /// its pool was shut down before the call ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::{future, AsyncWriteExt};
    ///
    /// let out = future::block_on(async {
    ///     let mut sink = tulipa_blocking::Unblock::with_capacity(2, Vec::<u8>::new());
    ///     sink.write_all(b"hello").await.unwrap();
    ///     sink.into_inner().await
    /// });
    /// assert_eq!(out, b"hello");
    /// ```
    pub async fn into_inner(mut self) -> T {
        poll_fn(|cx| self.poll_stop_keep_error(cx)).await;
        match &mut self.state {
            State::Idle(io) => match io.take() {
                Some(io) => *io,
                None => panic!("Unblock::into_inner: {}", lost()),
            },
            _ => unreachable!("poll_stop returns only when idle"),
        }
    }

    fn take_error(&mut self) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn idle_io(&mut self) -> io::Result<Box<T>> {
        match &mut self.state {
            State::Idle(io) => io.take().ok_or_else(lost),
            _ => unreachable!("called only when idle"),
        }
    }
}

impl<T: Read + Send + 'static> AsyncRead for Unblock<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            match &mut this.state {
                State::Reading(Some(reader), _) => {
                    let n = ready!(reader.poll_read(cx, buf));
                    if n > 0 {
                        return Poll::Ready(Ok(n));
                    }
                    // End of stream or an error: the job has ended; get
                    // the object (and the error) back.
                    ready!(this.poll_stop(cx))?;
                    return Poll::Ready(Ok(0));
                }
                State::Idle(_) => {
                    this.take_error()?;
                    if this.pending_pos < this.pending.len() {
                        let left = &this.pending[this.pending_pos..];
                        let n = left.len().min(buf.len());
                        buf[..n].copy_from_slice(&left[..n]);
                        this.pending_pos += n;
                        if this.pending_pos == this.pending.len() {
                            this.pending.clear();
                            this.pending_pos = 0;
                        }
                        return Poll::Ready(Ok(n));
                    }
                    let io = this.idle_io()?;
                    let (reader, writer) = pipe::pipe(this.cap);
                    // One `read` call fills at most 64 KiB of the buffer.
                    let chunk = this.cap.min(DEFAULT_CAPACITY);
                    let task = spawn_blocking(move || read_job(io, writer, chunk));
                    this.state = State::Reading(Some(reader), task);
                }
                _ => ready!(this.poll_stop(cx))?,
            }
        }
    }
}

fn read_job<T: Read>(mut io: Box<T>, mut pipe: Writer, chunk: usize) -> ReadDone<T> {
    let mut buf = vec![0u8; chunk];
    loop {
        let n = match io.read(&mut buf) {
            Ok(0) => {
                return ReadDone {
                    io,
                    result: Ok(()),
                    leftover: Vec::new(),
                }
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return ReadDone {
                    io,
                    result: Err(e),
                    leftover: Vec::new(),
                }
            }
        };
        let mut sent = 0;
        while sent < n {
            match block_on(poll_fn(|cx| pipe.poll_write(cx, &buf[sent..n]))) {
                Ok(k) => sent += k,
                Err(pipe::Closed) => {
                    return ReadDone {
                        io,
                        result: Ok(()),
                        leftover: buf[sent..n].to_vec(),
                    }
                }
            }
        }
    }
}

fn write_job<T: Write>(mut io: Box<T>, mut pipe: Reader, chunk: usize) -> WriteDone<T> {
    let mut buf = vec![0u8; chunk];
    loop {
        let n = block_on(poll_fn(|cx| pipe.poll_read(cx, &mut buf)));
        if n == 0 {
            let result = io.flush();
            return WriteDone { io, result };
        }
        if let Err(e) = io.write_all(&buf[..n]) {
            // Dropping the pipe's reader makes later async writes fail, so
            // the async side comes for this error.
            return WriteDone { io, result: Err(e) };
        }
    }
}

impl<T: Write + Send + 'static> AsyncWrite for Unblock<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            match &mut this.state {
                State::Writing(Some(writer), _) => match ready!(writer.poll_write(cx, buf)) {
                    Ok(n) => return Poll::Ready(Ok(n)),
                    Err(pipe::Closed) => {
                        // The job stopped on an error; fetch it.
                        ready!(this.poll_stop(cx))?;
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::BrokenPipe,
                            "the blocking writer inside Unblock stopped",
                        )));
                    }
                },
                State::Idle(_) => {
                    this.take_error()?;
                    let io = this.idle_io()?;
                    let (reader, writer) = pipe::pipe(this.cap);
                    let chunk = this.cap.min(DEFAULT_CAPACITY);
                    let task = spawn_blocking(move || write_job(io, reader, chunk));
                    this.state = State::Writing(Some(writer), task);
                }
                _ => ready!(this.poll_stop(cx))?,
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.state {
            State::Writing(..) => ready!(this.poll_stop(cx))?,
            // Nothing is buffered for writing; a read job stays running.
            State::Reading(..) | State::Idle(_) => {}
            State::Seeking(..) => ready!(this.poll_stop(cx))?,
        }
        Poll::Ready(this.take_error())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: Seek + Send + 'static> AsyncSeek for Unblock<T> {
    fn poll_seek(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Idle(_) => {
                    this.take_error()?;
                    let ahead =
                        i64::try_from(this.pending.len() - this.pending_pos).unwrap_or(i64::MAX);
                    let adjusted = match pos {
                        SeekFrom::Current(n) => match n.checked_sub(ahead) {
                            Some(n) => SeekFrom::Current(n),
                            None => {
                                return Poll::Ready(Err(io::Error::new(
                                    io::ErrorKind::InvalidInput,
                                    "seek offset out of range",
                                )))
                            }
                        },
                        other => other,
                    };
                    let mut io = this.idle_io()?;
                    let task = spawn_blocking(move || {
                        let r = io.seek(adjusted);
                        (io, r)
                    });
                    this.state = State::Seeking(pos, task);
                }
                State::Seeking(asked, task) => {
                    let same = *asked == pos;
                    let done = ready!(Pin::new(task).poll(cx));
                    if same {
                        return Poll::Ready(this.finish_seek(done));
                    }
                    // The seek of a dropped future, not this one: finish
                    // it (its outcome is nobody's; a failed seek moved
                    // nothing) and start the one asked for.
                    let _ = this.finish_seek(done);
                }
                _ => ready!(this.poll_stop(cx))?,
            }
        }
    }
}

impl<T> fmt::Debug for Unblock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(Some(_)) => "idle",
            State::Idle(None) => "lost",
            State::Reading(..) => "reading",
            State::Writing(..) => "writing",
            State::Seeking(..) => "seeking",
        };
        f.debug_struct("Unblock")
            .field("state", &state)
            .field("capacity", &self.cap)
            .finish()
    }
}
