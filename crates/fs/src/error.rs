//! Errors that name the path: every path-taking function wraps the OS error
//! in a [`PathError`] so the message says which file failed and why.
//!
//! The wrapped error is an [`io::Error`] with the *same* [`io::ErrorKind`]
//! as the OS error, so `err.kind() == ErrorKind::NotFound` checks keep
//! working. The message reads
//! ``failed to open `/x/y`: No such file or directory (os error 2)``. The OS
//! error itself (with its `raw_os_error`) stays reachable through
//! [`PathError::io_error`]: `err.get_ref()` downcasts to a [`PathError`].

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An I/O error together with the operation and path(s) it concerned.
///
/// Functions in this crate return it inside an [`io::Error`] of the same
/// kind as the OS error; downcast with `err.get_ref()` and
/// [`downcast_ref`](std::error::Error) to reach the path.
///
/// # Examples
///
/// ```
/// use std::io::ErrorKind;
/// use tulipa_fs::PathError;
///
/// let err = futures_lite::future::block_on(tulipa_fs::read("/no/such/file")).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert!(err.to_string().starts_with("failed to read `/no/such/file`: "));
/// let inner = err.get_ref().unwrap().downcast_ref::<PathError>().unwrap();
/// assert_eq!(inner.path(), std::path::Path::new("/no/such/file"));
/// assert_eq!(inner.io_error().raw_os_error(), Some(2));
/// ```
pub struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
}

impl PathError {
    /// What was attempted, as a verb: `"open"`, `"read"`, `"rename"`, ...
    pub fn operation(&self) -> &'static str {
        self.op
    }

    /// The path the operation was given (the source path of a two-path
    /// operation such as `rename` or `copy`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The destination path of a two-path operation (`rename`, `copy`,
    /// `hard_link`), if any.
    pub fn destination(&self) -> Option<&Path> {
        self.to.as_deref()
    }

    /// The OS error, with its `raw_os_error`.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// Takes the OS error out.
    pub fn into_io_error(self) -> io::Error {
        self.source
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.to {
            Some(to) => write!(
                f,
                "failed to {} `{}` to `{}`: {}",
                self.op,
                self.path.display(),
                to.display(),
                self.source
            ),
            None => write!(
                f,
                "failed to {} `{}`: {}",
                self.op,
                self.path.display(),
                self.source
            ),
        }
    }
}

impl fmt::Debug for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathError")
            .field("op", &self.op)
            .field("path", &self.path)
            .field("to", &self.to)
            .field("source", &self.source)
            .finish()
    }
}

// The OS error is part of the message, so it is not also reported as
// `source()`: error-chain printers would show it twice.
impl Error for PathError {}

/// Wraps `err` so its message names `op` and `path`, keeping its kind.
pub(crate) fn with_path(err: io::Error, op: &'static str, path: &Path) -> io::Error {
    wrap(err, op, path.to_path_buf(), None)
}

/// Wraps `err` so its message names `op`, `from` and `to`, keeping its kind.
pub(crate) fn with_paths(err: io::Error, op: &'static str, from: &Path, to: &Path) -> io::Error {
    wrap(err, op, from.to_path_buf(), Some(to.to_path_buf()))
}

fn wrap(source: io::Error, op: &'static str, path: PathBuf, to: Option<PathBuf>) -> io::Error {
    let kind = source.kind();
    io::Error::new(
        kind,
        PathError {
            op,
            path,
            to,
            source,
        },
    )
}
