//! [`stdin`], [`stdout`] and [`stderr`]: the process's standard streams as
//! async handles, on the blocking pool.
//!
//! # Standard input
//!
//! All [`Stdin`] handles share one buffer and at most one blocking read in
//! flight (both process-wide). A handle that finds the buffer empty starts
//! the read (if none runs) and waits for the shared "stdin changed" event;
//! the job puts what it read into the shared buffer, so bytes are never
//! lost, even if the handle that asked is dropped meanwhile: the next
//! reader gets them. Bytes go to whichever handle reads first; each byte is
//! delivered exactly once. End of input (a read of 0 bytes) is handed to
//! one reader; the next read asks the OS again (a terminal may send more
//! after Ctrl-D). A read of stdin may block a pool thread for as long as no
//! input comes.
//!
//! # Standard output and error
//!
//! A [`Stdout`] / [`Stderr`] handle writes behind: `poll_write` copies up to
//! [`STDIO_CHUNK`] bytes, submits one blocking job that writes them all and
//! flushes, under std's lock of the stream, and returns; the next
//! operation on the handle waits for that job and returns its error, if
//! any. So one accepted chunk is never interleaved with other output of
//! the process that goes through std's handles (`println!`, other tulipa
//! handles); chunks of different `write` calls from different handles may
//! interleave with each other. Write whole lines in one `write_all` of at
//! most `STDIO_CHUNK` bytes to keep lines whole. Output of one handle stays
//! in order.
//!
//! Flush before the process exits: a chunk still in flight when `main`
//! returns may be lost. If a handle is dropped, its job in flight still
//! runs, but its error (say, a closed pipe) is not reported.

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use event_listener::{Event, EventListener};
use futures_lite::io::{AsyncRead, AsyncWrite};
use tulipa_blocking::JoinHandle;

/// The most bytes one `poll_write` on [`Stdout`] / [`Stderr`] accepts (and
/// writes as one uninterrupted chunk).
pub const STDIO_CHUNK: usize = 256 * 1024;

/// How many bytes one blocking read of stdin asks for.
const STDIN_BUF: usize = 64 * 1024;

struct StdinState {
    buf: Vec<u8>,
    pos: usize,
    /// A blocking read is in flight.
    reading: bool,
    /// The last read returned 0 bytes, not yet reported to a reader.
    eof: bool,
    /// The last read failed, not yet reported to a reader.
    error: Option<io::Error>,
}

static STDIN: Mutex<StdinState> = Mutex::new(StdinState {
    buf: Vec::new(),
    pos: 0,
    reading: false,
    eof: false,
    error: None,
});
static STDIN_CHANGED: Event = Event::new();

fn stdin_state() -> MutexGuard<'static, StdinState> {
    // No user code runs under this lock, so poisoning cannot leave it
    // inconsistent.
    STDIN.lock().unwrap_or_else(|p| p.into_inner())
}

/// A handle to the process's standard input; see [`stdin`].
///
/// # Cancel safety
///
/// Reads are cancel safe: bytes read for a dropped read stay in the shared
/// buffer for the next one.
pub struct Stdin {
    listener: Option<EventListener>,
}

/// A new handle to the process's standard input. Handles are cheap and
/// share one buffer (see the module docs): use as many as you like, from
/// any task.
///
/// # Examples
///
/// ```no_run
/// use futures_lite::{AsyncBufReadExt, StreamExt};
///
/// # futures_lite::future::block_on(async {
/// let mut lines = futures_lite::io::BufReader::new(tulipa_fs::stdin()).lines();
/// while let Some(line) = lines.next().await {
///     println!("got {}", line?);
/// }
/// # std::io::Result::Ok(()) });
/// ```
pub fn stdin() -> Stdin {
    Stdin { listener: None }
}

impl AsyncRead for Stdin {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            {
                let mut s = stdin_state();
                if s.pos < s.buf.len() {
                    let n = (s.buf.len() - s.pos).min(dst.len());
                    dst[..n].copy_from_slice(&s.buf[s.pos..s.pos + n]);
                    s.pos += n;
                    self.listener = None;
                    return Poll::Ready(Ok(n));
                }
                if dst.is_empty() {
                    return Poll::Ready(Ok(0));
                }
                if let Some(e) = s.error.take() {
                    self.listener = None;
                    return Poll::Ready(Err(e));
                }
                if s.eof {
                    s.eof = false;
                    self.listener = None;
                    return Poll::Ready(Ok(0));
                }
                if !s.reading {
                    s.reading = true;
                    let buf = std::mem::take(&mut s.buf);
                    s.pos = 0;
                    drop(s);
                    tulipa_blocking::spawn_blocking(move || read_stdin(buf)).detach();
                }
            }
            match &mut self.listener {
                // Listen, then look at the state again: a job that ended in
                // between is seen by the second look.
                None => self.listener = Some(STDIN_CHANGED.listen()),
                Some(l) => {
                    ready!(Pin::new(l).poll(cx));
                    self.listener = None;
                }
            }
        }
    }
}

/// Job side: one read of the real stdin into the shared buffer.
fn read_stdin(mut buf: Vec<u8>) {
    buf.clear();
    buf.resize(STDIN_BUF, 0);
    let result = loop {
        match io::stdin().lock().read(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    let mut s = stdin_state();
    match result {
        Ok(n) => {
            buf.truncate(n);
            s.eof = n == 0;
        }
        Err(e) => {
            buf.clear();
            s.error = Some(e);
        }
    }
    s.buf = buf;
    s.pos = 0;
    s.reading = false;
    drop(s);
    STDIN_CHANGED.notify(usize::MAX);
}

impl fmt::Debug for Stdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdin").finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
enum Target {
    Out,
    Err,
}

enum WriterState {
    Idle(Vec<u8>),
    Busy(JoinHandle<(Vec<u8>, io::Result<()>)>),
}

/// The write-behind machine shared by [`Stdout`] and [`Stderr`].
struct Writer {
    target: Target,
    state: WriterState,
}

impl Writer {
    fn new(target: Target) -> Writer {
        Writer {
            target,
            state: WriterState::Idle(Vec::new()),
        }
    }

    /// Waits for the chunk in flight; its error, if any.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let WriterState::Busy(job) = &mut self.state else {
            return Poll::Ready(Ok(()));
        };
        let (buf, result) = match ready!(Pin::new(job).poll(cx)) {
            Ok(out) => out,
            Err(e) => (Vec::new(), Err(io::Error::other(e.to_string()))),
        };
        self.state = WriterState::Idle(buf);
        Poll::Ready(result)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_idle(cx))?;
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let WriterState::Idle(buf) = &mut self.state else {
            unreachable!("poll_idle returned Ready")
        };
        let mut buf = std::mem::take(buf);
        let n = src.len().min(STDIO_CHUNK);
        buf.clear();
        buf.extend_from_slice(&src[..n]);
        let target = self.target;
        self.state = WriterState::Busy(tulipa_blocking::spawn_blocking(move || {
            let result = match target {
                Target::Out => {
                    let mut out = io::stdout().lock();
                    out.write_all(&buf).and_then(|()| out.flush())
                }
                Target::Err => {
                    let mut err = io::stderr().lock();
                    err.write_all(&buf).and_then(|()| err.flush())
                }
            };
            (buf, result)
        }));
        Poll::Ready(Ok(n))
    }
}

macro_rules! writer_handle {
    ($name:ident, $fn_name:ident, $target:expr, $what:literal) => {
        #[doc = concat!("A handle to the process's standard ", $what, "; see [`", stringify!($fn_name), "`].")]
        ///
        /// # Cancel safety
        ///
        /// Writes are cancel safe: a `poll_write` that returned `Ready(Ok(n))`
        /// accepted `n` bytes, which reach the stream even if the handle is
        /// dropped (unless the process exits first).
        pub struct $name(Writer);

        #[doc = concat!("A new handle to the process's standard ", $what, ".")]
        ///
        /// Handles are cheap; each one keeps its own output in order, and
        /// every accepted chunk is written whole (see the module docs for
        /// interleaving). Flush before the process exits.
        ///
        /// # Examples
        ///
        /// ```
        /// use futures_lite::AsyncWriteExt;
        ///
        /// # futures_lite::future::block_on(async {
        #[doc = concat!("let mut out = tulipa_fs::", stringify!($fn_name), "();")]
        /// out.write_all(b"hello from tulipa\n").await?;
        /// out.flush().await?;
        /// # std::io::Result::Ok(()) }).unwrap();
        /// ```
        pub fn $fn_name() -> $name {
            $name(Writer::new($target))
        }

        impl AsyncWrite for $name {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
                self.get_mut().0.poll_write(cx, src)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().0.poll_idle(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().0.poll_idle(cx)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let busy = matches!(self.0.state, WriterState::Busy(_));
                f.debug_struct(stringify!($name)).field("busy", &busy).finish()
            }
        }
    };
}

writer_handle!(Stdout, stdout, Target::Out, "output");
writer_handle!(Stderr, stderr, Target::Err, "error");
