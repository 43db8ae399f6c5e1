//! [`read_dir`] and its [`ReadDir`] stream of [`DirEntry`]s, batched: each
//! blocking job reads up to [`BATCH`] entries (and their file types, which
//! Linux gives for free), so listing a directory costs one thread hop per
//! batch rather than per entry. The job that opens the directory also
//! reads the first batch.
//!
//! # State machine
//!
//! `Idle(dir, batch)`: entries are handed out of `batch`; when it is empty
//! and the directory is not exhausted, a job takes `dir`, fills a new batch
//! and the stream is `Busy(job)` until it returns both. An error of reading
//! an entry is yielded in order, with the directory's path in its message,
//! and the stream goes on.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::future::Future;
use std::io;
use std::os::unix::fs::DirEntryExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_lite::Stream;
use tulipa_blocking::JoinHandle;

use crate::error::with_path;

/// How many entries one blocking job reads.
pub const BATCH: usize = 256;

/// Opens a directory for listing (`std::fs::read_dir`); the returned
/// [`ReadDir`] is a [`Stream`] of its entries (not `.` and `..`), in the
/// order the OS gives them.
///
/// # Errors
///
/// The OS error with the path in its message (`NotFound`,
/// `NotADirectory`, `PermissionDenied`, ...).
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
///
/// # futures_lite::future::block_on(async {
/// let dir = std::env::temp_dir().join(format!("tulipa-fs-doc-dir-{}", std::process::id()));
/// tulipa_fs::create_dir_all(&dir).await?;
/// tulipa_fs::write(dir.join("a.txt"), "a").await?;
///
/// let mut names = Vec::new();
/// let mut entries = tulipa_fs::read_dir(&dir).await?;
/// while let Some(entry) = entries.next().await {
///     names.push(entry?.file_name());
/// }
/// assert_eq!(names, ["a.txt"]);
/// tulipa_fs::remove_dir_all(&dir).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path: Arc<Path> = Arc::from(path.as_ref());
    let p = Arc::clone(&path);
    let batch = tulipa_blocking::unblock(move || match std::fs::read_dir(&p) {
        Ok(dir) => Ok(Batch::new(dir, p).fill()),
        Err(e) => Err(with_path(e, "read directory", &p)),
    })
    .await?;
    Ok(ReadDir {
        state: State::Idle(Some(batch)),
    })
}

/// The directory and the entries read ahead from it.
struct Batch {
    dir: std::fs::ReadDir,
    path: Arc<Path>,
    entries: VecDeque<io::Result<DirEntry>>,
    exhausted: bool,
}

impl Batch {
    fn new(dir: std::fs::ReadDir, path: Arc<Path>) -> Batch {
        Batch {
            dir,
            path,
            entries: VecDeque::with_capacity(BATCH),
            exhausted: false,
        }
    }

    /// Job side: reads up to `BATCH` entries.
    fn fill(mut self) -> Batch {
        while self.entries.len() < BATCH {
            match self.dir.next() {
                None => {
                    self.exhausted = true;
                    break;
                }
                Some(Ok(e)) => {
                    let file_type = e.file_type().ok();
                    self.entries.push_back(Ok(DirEntry {
                        inner: Arc::new(e),
                        file_type,
                    }));
                }
                Some(Err(e)) => {
                    self.entries
                        .push_back(Err(with_path(e, "read directory", &self.path)))
                }
            }
        }
        self
    }
}

enum State {
    /// `None` only while a job is being submitted.
    Idle(Option<Batch>),
    Busy(JoinHandle<Batch>, Arc<Path>),
    /// A job failed (the pool was shut down or the job panicked).
    Failed,
}

/// The entries of a directory, as a [`Stream`] of
/// `io::Result<`[`DirEntry`]`>`; made by [`read_dir`].
///
/// # Cancel safety
///
/// [`next_entry`](ReadDir::next_entry) (and `StreamExt::next`) are cancel
/// safe: entries read by a job whose future was dropped stay in the stream.
pub struct ReadDir {
    state: State,
}

impl ReadDir {
    /// The next entry, or `None` at the end.
    ///
    /// # Errors
    ///
    /// The OS error of reading an entry, with the directory's path in its
    /// message; the listing may go on after it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        futures_lite::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx))
            .await
            .transpose()
    }
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match &mut self.state {
                State::Idle(slot) => {
                    let Some(batch) = slot.as_mut() else {
                        unreachable!("ReadDir idle without its batch")
                    };
                    if let Some(entry) = batch.entries.pop_front() {
                        return Poll::Ready(Some(entry));
                    }
                    if batch.exhausted {
                        return Poll::Ready(None);
                    }
                    let Some(batch) = slot.take() else {
                        unreachable!("checked above")
                    };
                    let path = Arc::clone(&batch.path);
                    self.state =
                        State::Busy(tulipa_blocking::spawn_blocking(move || batch.fill()), path);
                }
                State::Busy(job, path) => match ready!(Pin::new(job).poll(cx)) {
                    Ok(batch) => self.state = State::Idle(Some(batch)),
                    Err(e) => {
                        let err =
                            with_path(io::Error::other(e.to_string()), "read directory", path);
                        self.state = State::Failed;
                        return Poll::Ready(Some(Err(err)));
                    }
                },
                State::Failed => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.state {
            State::Idle(Some(b)) => (b.entries.len(), b.exhausted.then_some(b.entries.len())),
            State::Failed => (0, Some(0)),
            _ => (0, None),
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ReadDir");
        match &self.state {
            State::Idle(Some(b)) => d.field("path", &b.path).field("buffered", &b.entries.len()),
            State::Busy(_, path) => d.field("path", path).field("state", &"busy"),
            State::Idle(None) | State::Failed => d.field("state", &"failed"),
        };
        d.finish()
    }
}

/// One entry of a directory listing.
///
/// Cheap to clone. The file type came with the listing (no extra system
/// call on Linux); [`metadata`](DirEntry::metadata) asks the OS.
#[derive(Clone)]
pub struct DirEntry {
    inner: Arc<std::fs::DirEntry>,
    file_type: Option<FileType>,
}

impl DirEntry {
    /// The full path: the directory given to [`read_dir`] joined with
    /// [`file_name`](DirEntry::file_name).
    pub fn path(&self) -> PathBuf {
        self.inner.path()
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> OsString {
        self.inner.file_name()
    }

    /// The inode number from the listing.
    pub fn ino(&self) -> u64 {
        self.inner.ino()
    }

    /// The entry's file type (not following a symbolic link), as read with
    /// the listing; asks the OS only if the file system did not say.
    ///
    /// # Errors
    ///
    /// The OS error with the path in its message, if it had to ask and
    /// that failed (for example the entry was removed meanwhile).
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(t) = self.file_type {
            return Ok(t);
        }
        let inner = Arc::clone(&self.inner);
        tulipa_blocking::unblock(move || {
            inner
                .file_type()
                .map_err(|e| with_path(e, "read file type of", &inner.path()))
        })
        .await
    }

    /// The entry's metadata, not following a symbolic link
    /// (`std::fs::DirEntry::metadata`).
    ///
    /// # Errors
    ///
    /// The OS error with the path in its message (for example `NotFound` if
    /// the entry was removed meanwhile).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let inner = Arc::clone(&self.inner);
        tulipa_blocking::unblock(move || {
            inner
                .metadata()
                .map_err(|e| with_path(e, "read metadata of", &inner.path()))
        })
        .await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.inner.path()).finish()
    }
}
