//! [`UnixListener`] and its [`Incoming`] stream; the accept loop follows
//! the same error policy as TCP's (see
//! [`TcpListener::incoming`](crate::TcpListener::incoming)).

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::Stream;
use rustix::net::SocketFlags;
use tulipa_reactor::Async;

use crate::accept::{poll_accept_with_backoff, Backoff};
use crate::UnixStream;

/// A Unix domain socket listening for connections.
///
/// Binding creates the socket file; dropping the listener does not remove
/// it (remove it yourself, as with std).
///
/// # Examples
///
/// ```
/// use tulipa_net::{UnixListener, UnixStream};
///
/// tulipa::run(async {
///     let dir = std::env::temp_dir().join(format!("tulipa-doc-{}", std::process::id()));
///     std::fs::create_dir_all(&dir)?;
///     let path = dir.join("sock");
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path)?;
///     let _client = UnixStream::connect(&path).await?;
///     let (_conn, _addr) = listener.accept().await?;
///     std::fs::remove_dir_all(&dir)
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct UnixListener {
    io: Async<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Creates a socket file at `path` and listens on it.
    ///
    /// # Errors
    ///
    /// Fails as `bind(2)` does, e.g. with
    /// [`AddrInUse`](io::ErrorKind::AddrInUse) when the file already
    /// exists (remove a stale socket file first); the message names the
    /// path.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let listener = std::os::unix::net::UnixListener::bind(path)
            .map_err(|e| crate::addr::bind_error(&path.display(), false, e))?;
        UnixListener::from_std(listener)
    }

    /// Wraps a listening std socket, putting it in non-blocking mode and
    /// registering it with the current reactor.
    ///
    /// # Errors
    ///
    /// Fails if the socket cannot be made non-blocking or registered.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Async::new(listener)?,
        })
    }

    /// Deregisters the listener and returns the std listener, back in
    /// blocking mode.
    ///
    /// # Errors
    ///
    /// Fails if the reactor refuses to deregister it (it is closed then)
    /// or blocking mode cannot be restored.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        let l = self.io.into_inner()?;
        l.set_nonblocking(false)?;
        Ok(l)
    }

    /// The underlying [`Async`] of the std listener.
    pub fn as_async(&self) -> &Async<std::os::unix::net::UnixListener> {
        &self.io
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// Fails as `getsockname(2)` does.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Accepts a connection; returns every `accept(2)` error as it is.
    ///
    /// # Errors
    ///
    /// Fails as `accept4(2)` does.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: no connection is accepted unless the future completes.
    #[track_caller]
    pub fn accept<'t0>(
        &'t0 self,
    ) -> impl std::future::Future<Output = io::Result<(UnixStream, SocketAddr)>> + use<'t0> {
        tulipa_core::await_point::track(async move {
            std::future::poll_fn(|cx| self.poll_accept(cx)).await
        })
    }

    /// Polls for a connection; see [`accept`](UnixListener::accept).
    ///
    /// # Errors
    ///
    /// As for [`accept`](UnixListener::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        // Accepts only while the listener reads ready (see
        // `TcpListener::poll_accept`).
        self.io.poll_read_with(cx, accept_raw).map(|r| {
            r.and_then(|s| {
                s.peer_addr()
                    .and_then(|addr| Ok((UnixStream::from_nonblocking(s)?, addr)))
            })
        })
    }

    /// A stream of accepted connections that never ends, skipping
    /// per-connection errors and backing off while out of descriptors; see
    /// [`TcpListener::incoming`](crate::TcpListener::incoming).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe between items.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            backoff: Backoff::default(),
        }
    }
}

/// The socket file of a server's Unix listener, remembered by device and
/// inode, so that closing the server removes the file only while it is
/// still the one the server bound (asyncio's `cleanup_socket`): a file
/// another server has put there since is left alone.
#[derive(Debug)]
pub(crate) struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketFile {
    /// Removes the file if it is still this server's.
    pub(crate) fn remove_if_ours(&self) {
        if let Ok(meta) = std::fs::metadata(&self.path) {
            if meta.dev() == self.dev && meta.ino() == self.ino {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// Binds a server's listener at `path` the way asyncio's
/// `start_unix_server` and `create_unix_server` do: a socket file already
/// there (a stale one, left by a server that did not clean up) is
/// replaced; any other kind of file is refused. Both the stream and the
/// protocol servers bind through here.
pub(crate) fn bind_server(
    path: &Path,
) -> io::Result<(std::os::unix::net::UnixListener, SocketFile)> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(path).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot replace the stale socket file {}: {e}",
                        path.display()
                    ),
                )
            })?;
        }
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "{} exists and is not a socket: a Unix server replaces only a stale \
                     socket file there; remove the file or choose another path",
                    path.display()
                ),
            ))
        }
        Err(_) => {}
    }
    let listener = std::os::unix::net::UnixListener::bind(path)
        .map_err(|e| crate::addr::bind_error(&path.display(), false, e))?;
    let meta = std::fs::metadata(path)?;
    let file = SocketFile {
        path: path.to_path_buf(),
        dev: meta.dev(),
        ino: meta.ino(),
    };
    Ok((listener, file))
}

fn accept_raw(
    listener: &std::os::unix::net::UnixListener,
) -> io::Result<std::os::unix::net::UnixStream> {
    let fd = rustix::net::accept_with(listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)?;
    Ok(std::os::unix::net::UnixStream::from(fd))
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixListener");
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        d.field("fd", &self.as_raw_fd()).finish()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl TryFrom<std::os::unix::net::UnixListener> for UnixListener {
    type Error = io::Error;

    fn try_from(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_std(l)
    }
}

impl TryFrom<UnixListener> for std::os::unix::net::UnixListener {
    type Error = io::Error;

    fn try_from(l: UnixListener) -> io::Result<std::os::unix::net::UnixListener> {
        l.into_std()
    }
}

impl TryFrom<OwnedFd> for UnixListener {
    type Error = io::Error;

    /// Wraps a descriptor that must be a listening Unix stream socket.
    fn try_from(fd: OwnedFd) -> io::Result<UnixListener> {
        UnixListener::from_std(std::os::unix::net::UnixListener::from(fd))
    }
}

/// The stream of connections of [`UnixListener::incoming`]; never ends.
pub struct Incoming<'a> {
    listener: &'a UnixListener,
    backoff: Backoff,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let listener = this.listener;
        poll_accept_with_backoff(&mut this.backoff, cx, |cx| listener.poll_accept(cx))
            .map(|res| Some(res.map(|(s, _)| s)))
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish_non_exhaustive()
    }
}
