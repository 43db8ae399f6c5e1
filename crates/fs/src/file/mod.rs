//! [`File`]: an open file, read and written asynchronously through the
//! blocking pool, with an internal buffer so small reads and writes do not
//! each cost a thread hop.
//!
//! # State machine
//!
//! A file is either **Idle** (the async side owns the buffer) or **Busy**
//! (one blocking job owns the buffer and is running; its join handle is
//! kept). At most one job is in flight per file, so operations on the OS
//! file happen in the order they were issued. The `std::fs::File` sits in
//! an `Arc` shared with the jobs; the buffer moves into the job and comes
//! back with its result.
//!
//! While Idle the buffer is in one of two modes:
//!
//! - **Read**: `data[pos..]` holds bytes read ahead from the OS and not yet
//!   returned. The OS position is ahead of the logical position by that
//!   many bytes. `pos == data.len()` means the buffer is empty ("clean").
//! - **Write**: `data` holds bytes accepted by `poll_write` and not yet
//!   handed to the OS. The OS position is behind the logical one by that
//!   many bytes (in append mode the OS appends them at the end anyway).
//!
//! Transitions (each "job" is one blocking call on the pool; a seek that
//! fails moved nothing, so it keeps the read-ahead):
//!
//! | operation | Idle, Read mode | Idle, Write mode | Busy |
//! | --- | --- | --- | --- |
//! | `poll_read` | copy unread bytes out; if none, job: one `read` into the buffer (up to its capacity) | job: write the bytes out, then read | wait for the job |
//! | `poll_write` | unread bytes: job: seek back over them; then Write mode | copy into the buffer; job when the buffer is full (returns at once: write-behind) | wait for the job |
//! | `poll_flush` | nothing to do | job: write the bytes out | wait for the job |
//! | `poll_seek` | job: seek (a relative seek subtracts the unread bytes) | job: write the bytes out, then seek | wait (returns the result if it is this seek) |
//! | `set_len`, `sync_*`, `metadata` | (seek back over unread bytes for `set_len`) job | job: write out; then the job | wait |
//!
//! `poll_fill_buf` / `consume` (`AsyncBufRead`) work on the same read-ahead
//! bytes as `poll_read`. A read job that hits the end of the file sets an
//! `eof` flag, so asking again before anything else happens (futures-lite's
//! `fill_buf` polls twice) gives the same empty answer without a hop; a
//! `poll_read` that returns 0, a `consume`, or any new job clears it, so a
//! file that grows can be read further.
//!
//! The buffer starts at 64 KiB and doubles (up to 1 MiB) each time a read
//! fills it or a write fills it, so a sequential reader or writer soon
//! moves 1 MiB per hop while a file used for small random access keeps a
//! small buffer. A read into a large destination uses a buffer as large as
//! the destination (up to 1 MiB).
//!
//! # Errors of writes in flight
//!
//! A write job's error is put in the file's error slot (see the
//! `background` module) and returned by the next operation on the file
//! (write, flush, read, seek, ...). If the file was dropped meanwhile, it
//! goes to the registry read by [`settle`](crate::settle).
//!
//! # Dropping
//!
//! Dropping a file with bytes still in its buffer submits one more job that
//! writes them (the file is closed when that job ends). A job already in
//! flight runs on. See [`File`]'s docs for the guarantees.

use std::fs::{Metadata, Permissions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use std::future::Future;
use tulipa_blocking::JoinHandle;

use crate::background::{self, ErrorSlot, Ticket};
use crate::open_options::OpenOptions;

mod io_impls;

/// The smallest buffer: what a freshly opened file starts with.
pub(crate) const MIN_BUF: usize = 64 * 1024;
/// The largest buffer a file grows to.
pub(crate) const MAX_BUF: usize = 1024 * 1024;

/// What a file shares with its jobs.
struct Shared {
    file: std::fs::File,
    errors: ErrorSlot,
    /// For the messages of errors that outlive the file.
    path: Option<PathBuf>,
}

impl Shared {
    /// A write job failed: the file reports it, or the registry keeps it.
    fn report(&self, err: io::Error) {
        self.errors
            .report(err, |e| background::record(self.orphan_error(e)));
    }

    fn orphan_error(&self, e: io::Error) -> io::Error {
        let what = match &self.path {
            Some(p) => format!("`{}`", p.display()),
            None => "a file".to_string(),
        };
        io::Error::new(
            e.kind(),
            format!("background write to {what} (after the File was dropped) failed: {e}"),
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Read,
    Write,
}

/// The buffer and what its bytes mean (see the module docs).
struct Buf {
    data: Vec<u8>,
    pos: usize,
    mode: Mode,
}

impl Buf {
    fn new() -> Buf {
        Buf {
            data: Vec::new(),
            pos: 0,
            mode: Mode::Read,
        }
    }

    /// Bytes read ahead and not yet returned.
    fn unread(&self) -> usize {
        match self.mode {
            Mode::Read => self.data.len() - self.pos,
            Mode::Write => 0,
        }
    }

    /// Bytes accepted and not yet handed to the OS.
    fn dirty(&self) -> usize {
        match self.mode {
            Mode::Write => self.data.len(),
            Mode::Read => 0,
        }
    }

    fn discard(&mut self) {
        self.data.clear();
        self.pos = 0;
        self.mode = Mode::Read;
    }

    /// Job side: writes the dirty bytes out and empties the buffer. On
    /// failure the bytes are dropped and the error is reported to the slot.
    fn write_out(&mut self, shared: &Shared) -> bool {
        let result = (&shared.file).write_all(&self.data);
        self.discard();
        match result {
            Ok(()) => true,
            Err(e) => {
                shared.report(e);
                false
            }
        }
    }
}

/// A blocking operation submitted to the pool.
enum Op {
    Read(usize),
    Write,
    /// `user` is what the caller asked; `os` the same, corrected for
    /// read-ahead. `None` user: an internal seek back over unread bytes.
    Seek {
        user: Option<SeekFrom>,
        os: SeekFrom,
    },
    SetLen(u64),
    SyncAll,
    SyncData,
    Metadata,
    SetPermissions(Permissions),
}

/// What a job did.
enum Done {
    Read(io::Result<usize>),
    Write,
    Seek(Option<SeekFrom>, io::Result<u64>),
    SetLen(io::Result<()>),
    Sync(io::Result<()>),
    Metadata(io::Result<Metadata>),
    SetPermissions(io::Result<()>),
    /// The job panicked or was refused by a shut-down pool.
    Failed(io::Error),
}

fn run(shared: &Shared, buf: &mut Buf, op: Op) -> Done {
    let file = &shared.file;
    match op {
        Op::Read(cap) => {
            debug_assert_eq!(buf.dirty(), 0);
            buf.pos = 0;
            buf.mode = Mode::Read;
            if buf.data.len() < cap {
                buf.data.resize(cap, 0);
            }
            let result = loop {
                match (&shared.file).read(&mut buf.data[..cap]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            buf.data.truncate(*result.as_ref().unwrap_or(&0));
            Done::Read(result)
        }
        Op::Write => {
            buf.write_out(shared);
            Done::Write
        }
        Op::Seek { user, os } => {
            if buf.dirty() > 0 && !buf.write_out(shared) {
                // The seek does not happen: the file reports the write error
                // first, and this result is then dropped.
                return Done::Seek(user, Err(io::Error::other("seek skipped: write failed")));
            }
            let result = (&shared.file).seek(os);
            // A failed seek moved nothing: the read-ahead is still valid.
            if result.is_ok() {
                buf.discard();
            }
            match (user, result) {
                // An internal seek has no caller waiting for it: its error
                // goes where write errors go.
                (None, Err(e)) => {
                    shared.report(e);
                    Done::Seek(None, Ok(0))
                }
                (user, result) => Done::Seek(user, result),
            }
        }
        Op::SetLen(n) => Done::SetLen(file.set_len(n)),
        Op::SyncAll => Done::Sync(file.sync_all()),
        Op::SyncData => Done::Sync(file.sync_data()),
        Op::Metadata => Done::Metadata(file.metadata()),
        Op::SetPermissions(p) => Done::SetPermissions(file.set_permissions(p)),
    }
}

enum State {
    Idle(Buf),
    Busy(JoinHandle<(Buf, Done)>),
}

/// An open file with asynchronous reads, writes and seeks.
///
/// `File` implements [`AsyncRead`](futures_lite::AsyncRead),
/// [`AsyncBufRead`](futures_lite::AsyncBufRead) (it is its own buffered
/// reader: `lines()` and `read_line` need no `BufReader`),
/// [`AsyncWrite`](futures_lite::AsyncWrite) and
/// [`AsyncSeek`](futures_lite::AsyncSeek) (use
/// the extension traits in `futures_lite::io` / `tulipa::io`); each OS call
/// runs on the blocking pool. An internal buffer batches small operations:
/// one blocking `read` fills up to 1 MiB, and writes collect in the buffer
/// and reach the OS in one blocking call when it fills or on `flush`.
///
/// # Durability
///
/// - A successful [`flush`](futures_lite::AsyncWriteExt::flush) (or
///   [`close`](futures_lite::AsyncWriteExt::close)) means every byte a
///   `write` accepted has been handed to the OS: other readers of the file
///   see it. It is not yet on stable storage.
/// - A successful [`sync_all`](File::sync_all) /
///   [`sync_data`](File::sync_data) means it is on stable storage too
///   (survives a power loss), as far as the OS and disk keep their promise.
/// - Dropping a `File` without flushing never discards accepted bytes: the
///   drop submits a job that writes them out, and a job already in flight
///   runs to the end. The file descriptor closes when that job ends. Such a
///   background write can fail with no one to tell; its error is kept for
///   [`settle`](crate::settle), which also waits until every background
///   write submitted before it has ended. Call `settle` (or simply flush
///   before dropping) when you must know.
/// - If the process exits (`std::process::exit`, returning from `main`)
///   before a background write ends, the bytes are lost: flush first (or
///   `settle`). Dropping a runtime does not wait for blocking jobs, and a
///   blocking pool that is shut down (`Runtime::shutdown_timeout`) cancels
///   the jobs still queued when its time is up, background writes
///   included; an operation whose job is refused that way fails with an
///   error saying so.
///
/// # Errors of buffered writes
///
/// A `write` that only copied into the buffer cannot fail; the OS error of
/// writing the buffer out later is returned by the next operation on the
/// file (usually `flush`). The bytes of a failed write are dropped, and the
/// file stays usable.
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
///
/// # futures_lite::future::block_on(async {
/// let path = std::env::temp_dir().join(format!("tulipa-fs-doc-file-{}", std::process::id()));
/// let mut f = tulipa_fs::File::create(&path).await?;
/// f.write_all(b"hello").await?;
/// f.flush().await?;
///
/// let mut s = String::new();
/// tulipa_fs::File::open(&path).await?.read_to_string(&mut s).await?;
/// assert_eq!(s, "hello");
/// tulipa_fs::remove_file(&path).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct File {
    shared: Arc<Shared>,
    state: State,
    /// Buffer size for the next read job or write batch.
    cap: usize,
    /// The user seek in flight, if any (to match `poll_seek` calls to it).
    seeking: Option<SeekFrom>,
    /// The last read job hit the end of the file and no one has acted on
    /// it yet (`poll_fill_buf` may be asked again before `consume`).
    eof: bool,
}

impl File {
    /// Opens a file for reading (`std::fs::File::open`).
    ///
    /// # Errors
    ///
    /// The OS error, with the path in its message (kind kept), if the file
    /// does not exist or cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// # futures_lite::future::block_on(async {
    /// let err = tulipa_fs::File::open("/no/such/dir/f").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// assert!(err.to_string().contains("`/no/such/dir/f`"));
    /// # });
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file for writing, creating it or truncating it
    /// (`std::fs::File::create`).
    ///
    /// # Errors
    ///
    /// The OS error, with the path in its message (kind kept).
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates a new file for reading and writing; fails if it exists
    /// (`std::fs::File::create_new`).
    ///
    /// # Errors
    ///
    /// `AlreadyExists` if the path exists, or another OS error, with the
    /// path in its message.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// Options to open a file with (read, write, append, create, mode...).
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`. Its current position is where async
    /// reads and writes start.
    pub fn from_std(file: std::fs::File) -> File {
        File::with_path(file, None)
    }

    pub(crate) fn with_path(file: std::fs::File, path: Option<PathBuf>) -> File {
        File {
            shared: Arc::new(Shared {
                file,
                errors: ErrorSlot::new(),
                path,
            }),
            state: State::Idle(Buf::new()),
            cap: MIN_BUF,
            seeking: None,
            eof: false,
        }
    }

    /// Finishes every pending operation (writes out buffered bytes, seeks
    /// back over read-ahead) and returns the `std::fs::File`, positioned
    /// where the async reads and writes left off.
    ///
    /// # Errors
    ///
    /// The error of writing out the buffer or of seeking back; the file is
    /// lost then (dropped, which still writes out what remains).
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        futures_lite::future::poll_fn(|cx| self.poll_settle(cx, true)).await?;
        self.try_into_std().map_err(|_| {
            io::Error::other("tulipa-fs: a job was still in flight after into_std settled")
        })
    }

    /// Returns the `std::fs::File` at once if nothing is pending: no job in
    /// flight and no buffered written bytes. Read-ahead bytes are given back
    /// to the OS with one `lseek` on this thread.
    ///
    /// # Errors
    ///
    /// Returns `Err(self)` if an operation is pending; use
    /// [`into_std`](File::into_std) then.
    pub fn try_into_std(mut self) -> Result<std::fs::File, File> {
        let State::Idle(buf) = &mut self.state else {
            return Err(self);
        };
        if buf.dirty() > 0 || self.shared.errors.has_error() {
            return Err(self);
        }
        let unread = buf.unread();
        if unread > 0 {
            let Ok(back) = i64::try_from(unread) else {
                return Err(self);
            };
            if (&self.shared.file).seek(SeekFrom::Current(-back)).is_err() {
                return Err(self);
            }
            buf.discard();
        }
        // Jobs drop their handle on the file before they complete, so with
        // no job in flight this is the only one.
        if Arc::strong_count(&self.shared) != 1 {
            return Err(self);
        }
        let shared = Arc::clone(&self.shared);
        // Nothing to flush now: dropping `self` submits no job.
        drop(self);
        Arc::try_unwrap(shared)
            .map(|s| s.file)
            .map_err(|shared| File {
                shared,
                state: State::Idle(Buf::new()),
                cap: MIN_BUF,
                seeking: None,
                eof: false,
            })
    }

    /// Attempts to sync all OS-internal metadata and data to disk, after
    /// writing out the buffer (`std::fs::File::sync_all`).
    ///
    /// # Errors
    ///
    /// An error of writing out the buffer, or of the sync.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped, the sync may still run; the file stays
    /// usable.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        match self.job(Op::SyncAll, false).await? {
            Done::Sync(r) => r,
            _ => unreachable!("a sync job ends with Done::Sync"),
        }
    }

    /// Like [`sync_all`](File::sync_all) but may skip metadata such as the
    /// modification time (`std::fs::File::sync_data`).
    ///
    /// # Errors
    ///
    /// An error of writing out the buffer, or of the sync.
    ///
    /// # Cancel safety
    ///
    /// As for `sync_all`.
    pub async fn sync_data(&mut self) -> io::Result<()> {
        match self.job(Op::SyncData, false).await? {
            Done::Sync(r) => r,
            _ => unreachable!("a sync job ends with Done::Sync"),
        }
    }

    /// Truncates or extends the file to `size` bytes, after writing out the
    /// buffer (`std::fs::File::set_len`). The position does not change.
    ///
    /// # Errors
    ///
    /// An error of writing out the buffer, or of the resize (for example if
    /// the file is not open for writing).
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped, the resize may still happen.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        match self.job(Op::SetLen(size), true).await? {
            Done::SetLen(r) => r,
            _ => unreachable!("a set_len job ends with Done::SetLen"),
        }
    }

    /// The file's metadata, after writing out the buffer (so the size
    /// counts every accepted byte).
    ///
    /// # Errors
    ///
    /// An error of writing out the buffer, or of `fstat`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is lost if the future is dropped.
    pub async fn metadata(&mut self) -> io::Result<Metadata> {
        match self.job(Op::Metadata, false).await? {
            Done::Metadata(r) => r,
            _ => unreachable!("a metadata job ends with Done::Metadata"),
        }
    }

    /// Changes the file's permissions (`std::fs::File::set_permissions`).
    ///
    /// # Errors
    ///
    /// An error of writing out the buffer, or of `fchmod`.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped, the change may still happen.
    pub async fn set_permissions(&mut self, perm: Permissions) -> io::Result<()> {
        match self.job(Op::SetPermissions(perm), false).await? {
            Done::SetPermissions(r) => r,
            _ => unreachable!("a set_permissions job ends with Done::SetPermissions"),
        }
    }

    /// Settles the file, then runs `op` as one job and returns what it did.
    async fn job(&mut self, op: Op, discard_read_ahead: bool) -> io::Result<Done> {
        futures_lite::future::poll_fn(|cx| self.poll_settle(cx, discard_read_ahead)).await?;
        self.start(op);
        futures_lite::future::poll_fn(|cx| {
            let done = ready!(self.poll_job(cx));
            Poll::Ready(done)
        })
        .await
        .ok_or_else(|| io::Error::other("tulipa-fs: the job was lost"))
        .and_then(|d| match d {
            Done::Failed(e) => Err(e),
            d => Ok(d),
        })
    }

    /// Submits `op`; the state must be Idle.
    fn start(&mut self, op: Op) {
        self.eof = false;
        let State::Idle(mut buf) = std::mem::replace(&mut self.state, State::Idle(Buf::new()))
        else {
            unreachable!("File::start called while a job is in flight")
        };
        // Taken here, at submission, so a `settle` called from now on waits
        // for this job.
        let ticket = (buf.dirty() > 0).then(Ticket::new);
        let shared = Arc::clone(&self.shared);
        let handle = tulipa_blocking::spawn_blocking(move || {
            let _ticket = ticket;
            let done = run(&shared, &mut buf, op);
            (buf, done)
        });
        self.state = State::Busy(handle);
    }

    /// Waits for the job in flight, if any, and puts its buffer back.
    /// `Ready(None)`: there was no job.
    fn poll_job(&mut self, cx: &mut Context<'_>) -> Poll<Option<Done>> {
        let State::Busy(handle) = &mut self.state else {
            return Poll::Ready(None);
        };
        let (buf, done) = match ready!(Pin::new(handle).poll(cx)) {
            Ok(out) => out,
            Err(e) => (
                Buf::new(),
                Done::Failed(io::Error::other(format!(
                    "tulipa-fs: blocking job failed: {e}"
                ))),
            ),
        };
        self.state = State::Idle(buf);
        Poll::Ready(Some(done))
    }

    /// Absorbs the result of a job the current caller did not start.
    fn absorb(&mut self, done: Done) {
        if let Done::Seek(Some(_), _) = done {
            self.seeking = None;
        }
        // Other results belong to futures that were dropped: a cancelled
        // read's bytes stay in the buffer (already installed), and the
        // results of cancelled syncs and seeks are dropped.
    }

    fn buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(b) => b,
            State::Busy(_) => unreachable!("the buffer is used only while Idle"),
        }
    }

    /// Drives the file until Idle with nothing to write out (and, if
    /// `discard_read_ahead`, no read-ahead), returning the first error.
    fn poll_settle(
        &mut self,
        cx: &mut Context<'_>,
        discard_read_ahead: bool,
    ) -> Poll<io::Result<()>> {
        loop {
            if let Some(done) = ready!(self.poll_job(cx)) {
                if let Done::Failed(e) = done {
                    return Poll::Ready(Err(e));
                }
                self.absorb(done);
            }
            if let Some(e) = self.shared.errors.take() {
                return Poll::Ready(Err(e));
            }
            let buf = self.buf();
            if buf.dirty() > 0 {
                self.grow_if_full();
                self.start(Op::Write);
            } else if discard_read_ahead && buf.unread() > 0 {
                self.start_rewind();
            } else {
                return Poll::Ready(Ok(()));
            }
        }
    }

    /// Submits a seek back over the read-ahead bytes.
    fn start_rewind(&mut self) {
        let unread = self.buf().unread();
        // The buffer is at most MAX_BUF bytes, so this never saturates.
        let back = i64::try_from(unread).unwrap_or(i64::MAX);
        self.start(Op::Seek {
            user: None,
            os: SeekFrom::Current(-back),
        });
    }

    /// A full buffer went out: the next one may be larger.
    fn grow_if_full(&mut self) {
        let cap = self.cap;
        if self.buf().data.len() >= cap {
            self.cap = (cap * 2).min(MAX_BUF);
        }
    }
}
