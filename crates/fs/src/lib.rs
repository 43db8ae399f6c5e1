//! Async files, directories and standard streams for tulipa (asyncio's
//! `aiofiles`).
//!
//! The OS offers no readiness notification for regular files, so every
//! file system call runs on the blocking pool (`tulipa-blocking`) and the
//! calling task waits for it. This crate makes those hops few:
//!
//! - [`File`] keeps a buffer (64 KiB growing to 1 MiB): a sequential reader
//!   gets one blocking `read` per buffer-full, and writes collect in the
//!   buffer and go out in one blocking call (write-behind). Its module
//!   docs describe the Idle/Busy state machine.
//! - [`read_dir`] fetches [`BATCH`] entries per hop.
//! - Whole-file functions ([`read`], [`write()`], [`copy`], ...) are one hop
//!   each.
//! - [`stdin`], [`stdout`] and [`stderr`] are async handles usable from any
//!   number of tasks.
//!
//! Every function that takes a path names it in its errors (see
//! [`PathError`]), keeping the OS error's [`ErrorKind`](std::io::ErrorKind).
//!
//! The crate does not depend on an executor: its futures run under any
//! (`tulipa::run`, `tulipa::block_on`, `futures_lite::future::block_on`).
//!
//! # Examples
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
//! use std::io::SeekFrom;
//!
//! # futures_lite::future::block_on(async {
//! let dir = std::env::temp_dir().join(format!("tulipa-fs-doc-lib-{}", std::process::id()));
//! tulipa_fs::create_dir_all(&dir).await?;
//! let path = dir.join("notes.txt");
//!
//! let mut f = tulipa_fs::OpenOptions::new()
//!     .read(true).write(true).create(true).truncate(true)
//!     .open(&path).await?;
//! f.write_all(b"hello, world").await?;
//! f.seek(SeekFrom::Start(7)).await?;
//! let mut word = String::new();
//! f.read_to_string(&mut word).await?;
//! assert_eq!(word, "world");
//! f.sync_all().await?;
//! drop(f);
//!
//! assert_eq!(tulipa_fs::read_to_string(&path).await?, "hello, world");
//! tulipa_fs::remove_dir_all(&dir).await?;
//! # std::io::Result::Ok(()) }).unwrap();
//! ```
#![forbid(unsafe_code)]

mod background;
mod error;
mod file;
mod functions;
mod open_options;
mod read_dir;
mod stdio;
mod sync;

pub use error::PathError;
pub use file::File;
pub use functions::{
    canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read, read_link,
    read_to_string, remove_dir, remove_dir_all, remove_file, rename, set_permissions, symlink,
    symlink_metadata, try_exists, write,
};
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir, BATCH};
pub use std::fs::{FileType, Metadata, Permissions};
pub use stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout, STDIO_CHUNK};

/// Waits until every background write submitted before this call has
/// ended, and returns the errors of those whose [`File`] was already
/// dropped (so no one else could see them).
///
/// A `File` writes behind: bytes accepted by `write` reach the OS in a
/// blocking job, and dropping a file with bytes still buffered submits one
/// more job to write them. `settle` is the documented way to wait for all
/// of that, for example before checking a file's contents after dropping
/// it unflushed, or before exiting. It waits only for writes submitted
/// before it was called, so a busy writer elsewhere cannot starve it. It
/// does not `fsync`: use [`File::sync_all`] for durability.
///
/// # Errors
///
/// The first error recorded by a background write whose file had been
/// dropped, since the last `settle` (its message names the file and how
/// many later errors there were); each error is returned once.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future loses nothing (errors stay recorded
/// until a `settle` returns them).
///
/// # Examples
///
/// ```
/// use futures_lite::AsyncWriteExt;
///
/// # futures_lite::future::block_on(async {
/// let path = std::env::temp_dir().join(format!("tulipa-fs-doc-settle-{}", std::process::id()));
/// let mut f = tulipa_fs::File::create(&path).await?;
/// f.write_all(b"not flushed").await?;
/// drop(f); // the buffered bytes are written in the background
///
/// tulipa_fs::settle().await?;
/// assert_eq!(tulipa_fs::read(&path).await?, b"not flushed");
/// tulipa_fs::remove_file(&path).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn settle() -> std::io::Result<()> {
    background::settle().await
}
