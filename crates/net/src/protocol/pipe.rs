//! Pipes as transports: asyncio's `connect_read_pipe` and
//! `connect_write_pipe`.
//!
//! # Design
//!
//! A pipe runs on the stream driver like a socket, through [`PipeIo`], an
//! [`Io`] over one registered descriptor that is either the read end or
//! the write end:
//!
//! - a **read pipe** reads like a socket (`data_received`,
//!   `eof_received`), and on EOF always closes, whatever `eof_received`
//!   answers (asyncio's read pipe transport does the same: a pipe cannot
//!   be half-open). It cannot write: a write ends the transport with
//!   `connection_lost(Some(err))` of kind
//!   [`Unsupported`](io::ErrorKind::Unsupported).
//! - a **write pipe** never reads (its transport starts with reading off,
//!   so the driver never calls `data_received`), writes like a socket
//!   (direct write first, then the buffer and flow control), and its
//!   `write_eof` closes the transport once flushed, as asyncio's does.
//!   The reader going away shows as a write error (`BrokenPipe`), which
//!   ends the transport.

use std::fs::File;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, AsyncWrite};
use tulipa_reactor::Async;

use super::stream::{write_slices, Io};
use super::{current_spawner, run_client, StreamProtocol, Transport};

/// Which end of a pipe a [`PipeIo`] is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Read,
    Write,
}

/// One end of a pipe (or a FIFO, a socket, a character device), as an
/// [`Io`]. See the module docs.
pub(crate) struct PipeIo {
    io: Async<File>,
    end: End,
}

impl PipeIo {
    /// Registers `fd`, after checking that it is a pipe-like descriptor
    /// (asyncio's check: a regular file is always "ready", so a reactor
    /// cannot drive it).
    fn new(fd: OwnedFd, end: End) -> io::Result<PipeIo> {
        let file = File::from(fd);
        let kind = file.metadata()?.file_type();
        if !(kind.is_fifo() || kind.is_socket() || kind.is_char_device()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "pipe transports are for pipes, FIFOs, sockets and character devices only: read \
                 a regular file with tulipa::fs instead",
            ));
        }
        Ok(PipeIo {
            io: Async::new(file)?,
            end,
        })
    }

    fn unsupported(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "this transport is a read pipe's: it cannot write (use connect_write_pipe for the \
             write end)",
        )
    }
}

impl Io for PipeIo {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self.end {
            End::Read => {
                let mut io: &Async<File> = &self.io;
                Pin::new(&mut io).poll_read(cx, buf)
            }
            // Never reached: a write pipe's transport does not read.
            End::Write => Poll::Pending,
        }
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_readable(cx)
    }

    fn short_read_drains(&self) -> bool {
        self.end == End::Read
    }

    fn reads(&self) -> bool {
        self.end == End::Read
    }

    fn eof_closes(&self) -> bool {
        true
    }

    fn needs_flush(&self) -> bool {
        false
    }

    fn try_write(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.end {
            End::Write => write_slices(self.io.get_ref(), bufs),
            End::Read => Err(self.unsupported()),
        }
    }

    fn poll_write(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        if self.end == End::Read {
            return Poll::Ready(Err(self.unsupported()));
        }
        let mut io: &Async<File> = &self.io;
        match bufs {
            [one] => Pin::new(&mut io).poll_write(cx, one),
            _ => Pin::new(&mut io).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_shutdown_write(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // `write_eof` on a pipe closes the transport instead (see
        // `eof_closes`): nothing to shut down on its own.
        Poll::Ready(Ok(()))
    }

    fn raw_fd(&self) -> RawFd {
        self.io.get_ref().as_fd().as_raw_fd()
    }
}

/// Runs a stream protocol on the read end of a pipe: asyncio's
/// `loop.connect_read_pipe(protocol_factory, pipe)`.
///
/// `pipe` is anything that owns a descriptor: a
/// [`ChildStdout`](std::process::ChildStdout), an [`OwnedFd`] from
/// `pipe(2)`, a FIFO opened as a [`File`]. The protocol hears
/// `data_received` for what arrives, `eof_received` when the writer
/// closes, and then `connection_lost(None)`: a pipe cannot stay half-open,
/// so the transport closes after EOF whatever `eof_received` returns, as
/// in asyncio. [`Transport::pause_reading`], `resume_reading`, `close` and
/// `wait_closed` work as for sockets; writing is not supported (it ends
/// the transport with an [`Unsupported`](io::ErrorKind::Unsupported)
/// error). `connection_made` runs before this returns. The descriptor is
/// made non-blocking and is closed when the transport ends.
///
/// # Errors
///
/// Fails when no runtime is current ([`NotFound`](io::ErrorKind::NotFound)),
/// when `pipe` is not a pipe, FIFO, socket or character device
/// ([`InvalidInput`](io::ErrorKind::InvalidInput); asyncio's
/// `ValueError`), or when it cannot be registered with the reactor.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use std::sync::{Arc, Mutex};
/// use tulipa_net::protocol::{connect_read_pipe, Protocol};
///
/// struct Collect(Arc<Mutex<Vec<u8>>>);
/// impl Protocol for Collect {
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.lock().unwrap().extend_from_slice(data);
///     }
/// }
///
/// tulipa::run(async {
///     let (reader, mut writer) = std::io::pipe()?;
///     let got = Arc::new(Mutex::new(Vec::new()));
///     let g = got.clone();
///     let transport = connect_read_pipe(move || Collect(g), reader)?;
///     writer.write_all(b"through the pipe")?;
///     drop(writer); // EOF: the transport closes
///     transport.wait_closed().await;
///     assert_eq!(*got.lock().unwrap(), b"through the pipe");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn connect_read_pipe<P, F>(factory: F, pipe: impl Into<OwnedFd>) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
{
    connect_pipe(factory, pipe.into(), End::Read)
}

/// Runs a protocol on the write end of a pipe: asyncio's
/// `loop.connect_write_pipe(protocol_factory, pipe)`.
///
/// `pipe` is anything that owns a descriptor: a
/// [`ChildStdin`](std::process::ChildStdin), an [`OwnedFd`] from
/// `pipe(2)`, a FIFO opened as a [`File`]. The [`Transport`] writes as a
/// socket's does (straight to the pipe when nothing is buffered, then
/// buffered with `pause_writing` / `resume_writing` flow control);
/// [`Transport::write_eof`] and [`Transport::close`] close the pipe once
/// the buffer is flushed, so the reader sees EOF; the protocol never
/// hears `data_received`. If the reader goes away, the next write fails
/// and the transport ends with `connection_lost(Some(err))`
/// ([`BrokenPipe`](io::ErrorKind::BrokenPipe)). `connection_made` runs
/// before this returns.
///
/// # Errors
///
/// As for [`connect_read_pipe`].
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use tulipa_net::protocol::{connect_write_pipe, Protocol, Transport};
///
/// struct Say(&'static [u8]);
/// impl Protocol for Say {
///     fn connection_made(&mut self, t: Transport) {
///         t.write(self.0);
///         t.write_eof().unwrap();
///     }
///     fn data_received(&mut self, _: &[u8]) {}
/// }
///
/// tulipa::run(async {
///     let (mut reader, writer) = std::io::pipe()?;
///     let transport = connect_write_pipe(|| Say(b"hello, pipe"), writer)?;
///     transport.wait_closed().await;
///     let mut got = String::new();
///     reader.read_to_string(&mut got)?;
///     assert_eq!(got, "hello, pipe");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn connect_write_pipe<P, F>(factory: F, pipe: impl Into<OwnedFd>) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
{
    connect_pipe(factory, pipe.into(), End::Write)
}

/// Runs a protocol on one end of a pipe, announced before this returns.
fn connect_pipe<P, F>(factory: F, fd: OwnedFd, end: End) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
{
    current_spawner()?;
    let io = PipeIo::new(fd, end)?;
    run_client(
        factory,
        io,
        None,
        None,
        #[cfg(feature = "tls")]
        None,
    )
}
