//! [`OpenOptions`]: how to open a file (std's options, opened on the
//! blocking pool, with the path in every error).

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::with_path;
use crate::File;

/// Options and flags to open a [`File`] with, as `std::fs::OpenOptions`.
///
/// # Examples
///
/// ```
/// use futures_lite::AsyncWriteExt;
///
/// # futures_lite::future::block_on(async {
/// let path = std::env::temp_dir().join(format!("tulipa-fs-doc-opts-{}", std::process::id()));
/// let mut log = tulipa_fs::OpenOptions::new()
///     .append(true)
///     .create(true)
///     .mode(0o600)
///     .open(&path)
///     .await?;
/// log.write_all(b"one line\n").await?;
/// log.flush().await?;
/// # tulipa_fs::remove_file(&path).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// All options off: set at least one of `read`, `write`, `append`.
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Open for appending: every write goes to the end of the file, whatever
    /// the position (implies `write`).
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncate the file to 0 bytes when opening (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists (atomic;
    /// `create` and `truncate` are then ignored).
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// The Unix permission bits of a newly created file (before the umask);
    /// default `0o666`.
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.0.mode(mode);
        self
    }

    /// Extra `open(2)` flags (`libc::O_*`), or'ed with the ones the options
    /// above imply.
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.0.custom_flags(flags);
        self
    }

    /// Opens `path` with these options, on the blocking pool.
    ///
    /// # Errors
    ///
    /// The OS error, with the path in its message and its kind kept:
    /// `NotFound`, `PermissionDenied`, `AlreadyExists` (`create_new`),
    /// `InvalidInput` (no access mode set), ...
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_path_buf();
        let options = self.0.clone();
        tulipa_blocking::unblock(move || match options.open(&path) {
            Ok(f) => Ok(File::with_path(f, Some(path))),
            Err(e) => Err(with_path(e, "open", &path)),
        })
        .await
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options)
    }
}
