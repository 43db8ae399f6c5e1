//! The free functions: whole-file reads and writes, copies, renames,
//! directories, links and metadata. Each is one std call on the blocking
//! pool, and every error names the path(s) it concerned (see
//! [`PathError`](crate::PathError)) with the OS error's kind kept.
//!
//! # Cancel safety
//!
//! None of these can be stopped once started: dropping the future leaves the
//! operation running on the pool, and its result is dropped. A dropped
//! `write` may still create or overwrite the file, a dropped `rename` may
//! still rename.

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{with_path, with_paths};

/// Runs `f(path)` on the blocking pool, naming `op` and the path in errors.
async fn one<T, F>(path: &Path, op: &'static str, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
{
    let path = path.to_path_buf();
    tulipa_blocking::unblock(move || f(&path).map_err(|e| with_path(e, op, &path))).await
}

/// Runs `f(from, to)` on the blocking pool, naming `op` and both paths in
/// errors.
async fn two<T, F>(from: &Path, to: &Path, op: &'static str, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
{
    let (from, to) = (from.to_path_buf(), to.to_path_buf());
    tulipa_blocking::unblock(move || f(&from, &to).map_err(|e| with_paths(e, op, &from, &to))).await
}

/// Reads a whole file into a `Vec<u8>` (`std::fs::read`), in one blocking
/// call.
///
/// # Errors
///
/// The OS error with the path in its message, e.g.
/// ``failed to read `/x/y`: No such file or directory (os error 2)``
/// (kind `NotFound`).
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let path = std::env::temp_dir().join(format!("tulipa-fs-doc-read-{}", std::process::id()));
/// tulipa_fs::write(&path, b"data").await?;
/// assert_eq!(tulipa_fs::read(&path).await?, b"data");
/// tulipa_fs::remove_file(&path).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    one(path.as_ref(), "read", |p| std::fs::read(p)).await
}

/// Reads a whole UTF-8 file into a `String` (`std::fs::read_to_string`).
///
/// # Errors
///
/// The OS error with the path in its message; `InvalidData` if the file is
/// not UTF-8.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    one(path.as_ref(), "read", |p| std::fs::read_to_string(p)).await
}

/// Writes `contents` to a file, creating or truncating it
/// (`std::fs::write`). The bytes are handed to the OS, not synced to disk.
///
/// # Errors
///
/// The OS error with the path in its message.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_vec();
    one(path.as_ref(), "write", move |p| std::fs::write(p, contents)).await
}

/// Copies a file's contents and permissions to another path, returning the
/// number of bytes copied (`std::fs::copy`; the kernel copies in place where
/// it can).
///
/// # Errors
///
/// The OS error, naming both paths.
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    two(from.as_ref(), to.as_ref(), "copy", |a, b| {
        std::fs::copy(a, b)
    })
    .await
}

/// Renames a file or directory, replacing `to` if it exists (on the same
/// file system; `std::fs::rename`).
///
/// # Errors
///
/// The OS error, naming both paths.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    two(from.as_ref(), to.as_ref(), "rename", |a, b| {
        std::fs::rename(a, b)
    })
    .await
}

/// Creates a hard link `link` to the file `original`
/// (`std::fs::hard_link`).
///
/// # Errors
///
/// The OS error, naming both paths.
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    two(original.as_ref(), link.as_ref(), "hard-link", |a, b| {
        std::fs::hard_link(a, b)
    })
    .await
}

/// Creates a symbolic link `link` pointing at `original`
/// (`std::os::unix::fs::symlink`).
///
/// # Errors
///
/// The OS error, naming both paths.
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    two(original.as_ref(), link.as_ref(), "symlink", |a, b| {
        std::os::unix::fs::symlink(a, b)
    })
    .await
}

/// Removes a file or symbolic link (`std::fs::remove_file`).
///
/// # Errors
///
/// The OS error with the path in its message (`NotFound`, `IsADirectory`,
/// ...).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    one(path.as_ref(), "remove file", |p| std::fs::remove_file(p)).await
}

/// Creates a directory; its parent must exist (`std::fs::create_dir`).
///
/// # Errors
///
/// The OS error with the path in its message (`AlreadyExists`,
/// `NotFound` for a missing parent, ...).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    one(path.as_ref(), "create directory", |p| {
        std::fs::create_dir(p)
    })
    .await
}

/// Creates a directory and all its missing parents; succeeds if it exists
/// (`std::fs::create_dir_all`).
///
/// # Errors
///
/// The OS error with the path in its message.
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    one(path.as_ref(), "create directory", |p| {
        std::fs::create_dir_all(p)
    })
    .await
}

/// Removes an empty directory (`std::fs::remove_dir`).
///
/// # Errors
///
/// The OS error with the path in its message (`DirectoryNotEmpty`,
/// `NotFound`, ...).
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    one(path.as_ref(), "remove directory", |p| {
        std::fs::remove_dir(p)
    })
    .await
}

/// Removes a directory and everything in it, without following symbolic
/// links (`std::fs::remove_dir_all`).
///
/// # Errors
///
/// The OS error with the path in its message.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    one(path.as_ref(), "remove directory", |p| {
        std::fs::remove_dir_all(p)
    })
    .await
}

/// The metadata of the file a path names, following symbolic links
/// (`std::fs::metadata`).
///
/// # Errors
///
/// The OS error with the path in its message.
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    one(path.as_ref(), "read metadata of", |p| std::fs::metadata(p)).await
}

/// The metadata of a path itself, not following a final symbolic link
/// (`std::fs::symlink_metadata`).
///
/// # Errors
///
/// The OS error with the path in its message.
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    one(path.as_ref(), "read metadata of", |p| {
        std::fs::symlink_metadata(p)
    })
    .await
}

/// The absolute path with every `.`, `..` and symbolic link resolved
/// (`std::fs::canonicalize`).
///
/// # Errors
///
/// The OS error with the path in its message (the path must exist).
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    one(path.as_ref(), "canonicalize", |p| std::fs::canonicalize(p)).await
}

/// Where a symbolic link points (`std::fs::read_link`).
///
/// # Errors
///
/// The OS error with the path in its message (`InvalidInput` if it is not
/// a link).
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    one(path.as_ref(), "read link", |p| std::fs::read_link(p)).await
}

/// Changes the permissions of the file a path names
/// (`std::fs::set_permissions`).
///
/// # Errors
///
/// The OS error with the path in its message.
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    one(path.as_ref(), "set permissions of", move |p| {
        std::fs::set_permissions(p, perm)
    })
    .await
}

/// Whether a path exists (following symbolic links): `Ok(false)` only if
/// it certainly does not (`std::fs::exists`).
///
/// # Errors
///
/// The OS error with the path in its message, if existence cannot be
/// decided (for example `PermissionDenied` on a parent directory).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    one(path.as_ref(), "check existence of", |p| p.try_exists()).await
}
