//! The parent's ends of a child's pipes: [`ChildStdin`], [`ChildStdout`],
//! [`ChildStderr`].
//!
//! Each wraps `std`'s pipe end in a [`tulipa_reactor::Async`]: the
//! descriptor is switched to non-blocking mode (only the parent's end: the
//! two ends of a pipe are separate open file descriptions, so the child's
//! end stays blocking) and registered with the reactor current when the
//! child was spawned. Reads and writes wait for readiness instead of
//! blocking a thread.
//!
//! To hand a pipe end to another child (a pipeline, `ls -l | wc -l`),
//! convert it into a [`Stdio`] with `Stdio::try_from`: that deregisters it
//! and puts it back into blocking mode, which is what the next program
//! expects of its standard input or output.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, AsyncWrite};
use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
use tulipa_reactor::Async;

/// Deregisters `io` and puts its descriptor back into blocking mode.
fn into_blocking<T: AsFd>(io: Async<T>) -> io::Result<T> {
    let io = io.into_inner()?;
    let flags = fcntl_getfl(io.as_fd())?;
    fcntl_setfl(io.as_fd(), flags - OFlags::NONBLOCK)?;
    Ok(io)
}

/// The parent's end of a child's standard input: an async writer.
///
/// Dropping it closes the pipe, so the child reads end-of-file; a write
/// after the child closed its end (or exited) fails with
/// [`BrokenPipe`](io::ErrorKind::BrokenPipe) (the process does not die of
/// `SIGPIPE`; see [`signal`](crate::signal)).
///
/// # Examples
///
/// ```
/// use std::process::Stdio;
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use tulipa_process::Command;
///
/// # futures_lite::future::block_on(async {
/// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
/// let mut stdin = child.stdin.take().unwrap();
/// stdin.write_all(b"hello").await?;
/// drop(stdin); // end-of-file for `cat`
/// let mut out = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut out).await?;
/// assert_eq!(out, "hello");
/// assert!(child.wait().await?.success());
/// # std::io::Result::Ok(()) })?;
/// # std::io::Result::Ok(())
/// ```
pub struct ChildStdin {
    inner: Async<std::process::ChildStdin>,
}

/// The parent's end of a child's standard output: an async reader.
///
/// Reading returns 0 (end-of-file) once the child, and every process it
/// shared the pipe with, closed its end.
pub struct ChildStdout {
    inner: Async<std::process::ChildStdout>,
}

/// The parent's end of a child's standard error: an async reader.
///
/// As [`ChildStdout`].
pub struct ChildStderr {
    inner: Async<std::process::ChildStderr>,
}

impl ChildStdin {
    /// Wraps `std`'s pipe end: makes it non-blocking and registers it with
    /// the current reactor.
    ///
    /// # Errors
    ///
    /// Fails if the descriptor cannot be made non-blocking or registered.
    pub fn from_std(io: std::process::ChildStdin) -> io::Result<ChildStdin> {
        Ok(ChildStdin {
            inner: Async::new(io)?,
        })
    }

    /// Deregisters the pipe end and returns it as `std`'s type, in blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// Fails if the reactor or `fcntl` refuses; the pipe end is closed then.
    pub fn into_std(self) -> io::Result<std::process::ChildStdin> {
        into_blocking(self.inner)
    }

    /// Deregisters the pipe end and returns its descriptor, in blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// As for [`into_std`](ChildStdin::into_std).
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        self.into_std().map(OwnedFd::from)
    }

    /// Ready once the child's end of the pipe is closed (every reader
    /// gone): the write end then reports an error condition, which the
    /// reactor delivers as read readiness (a write end is never readable
    /// otherwise). This is how asyncio's write-pipe transport notices a
    /// closed pipe with nothing to write.
    pub(crate) fn poll_reader_gone(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_readable(cx)
    }
}

impl ChildStdout {
    /// Wraps `std`'s pipe end: makes it non-blocking and registers it with
    /// the current reactor.
    ///
    /// # Errors
    ///
    /// Fails if the descriptor cannot be made non-blocking or registered.
    pub fn from_std(io: std::process::ChildStdout) -> io::Result<ChildStdout> {
        Ok(ChildStdout {
            inner: Async::new(io)?,
        })
    }

    /// Deregisters the pipe end and returns it as `std`'s type, in blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// Fails if the reactor or `fcntl` refuses; the pipe end is closed then.
    pub fn into_std(self) -> io::Result<std::process::ChildStdout> {
        into_blocking(self.inner)
    }

    /// Deregisters the pipe end and returns its descriptor, in blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// As for [`into_std`](ChildStdout::into_std).
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        self.into_std().map(OwnedFd::from)
    }
}

impl ChildStderr {
    /// Wraps `std`'s pipe end: makes it non-blocking and registers it with
    /// the current reactor.
    ///
    /// # Errors
    ///
    /// Fails if the descriptor cannot be made non-blocking or registered.
    pub fn from_std(io: std::process::ChildStderr) -> io::Result<ChildStderr> {
        Ok(ChildStderr {
            inner: Async::new(io)?,
        })
    }

    /// Deregisters the pipe end and returns it as `std`'s type, in blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// Fails if the reactor or `fcntl` refuses; the pipe end is closed then.
    pub fn into_std(self) -> io::Result<std::process::ChildStderr> {
        into_blocking(self.inner)
    }

    /// Deregisters the pipe end and returns its descriptor, in blocking
    /// mode.
    ///
    /// # Errors
    ///
    /// As for [`into_std`](ChildStderr::into_std).
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        self.into_std().map(OwnedFd::from)
    }
}

impl AsyncWrite for ChildStdin {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// Flushes (a pipe has nothing buffered); drop the `ChildStdin` to
    /// close the pipe.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

impl AsyncRead for ChildStdout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read_vectored(cx, bufs)
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read_vectored(cx, bufs)
    }
}

impl TryFrom<ChildStdin> for Stdio {
    type Error = io::Error;

    /// Hands the pipe end to another child, in blocking mode.
    fn try_from(io: ChildStdin) -> io::Result<Stdio> {
        io.into_std().map(Stdio::from)
    }
}

impl TryFrom<ChildStdout> for Stdio {
    type Error = io::Error;

    /// Hands the pipe end to another child (`a | b`), in blocking mode.
    fn try_from(io: ChildStdout) -> io::Result<Stdio> {
        io.into_std().map(Stdio::from)
    }
}

impl TryFrom<ChildStderr> for Stdio {
    type Error = io::Error;

    /// Hands the pipe end to another child, in blocking mode.
    fn try_from(io: ChildStderr) -> io::Result<Stdio> {
        io.into_std().map(Stdio::from)
    }
}

impl AsFd for ChildStdin {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsFd for ChildStdout {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsFd for ChildStderr {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for ChildStdin {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}

impl AsRawFd for ChildStdout {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}

impl AsRawFd for ChildStderr {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdin")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl fmt::Debug for ChildStdout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdout")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl fmt::Debug for ChildStderr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStderr")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}
