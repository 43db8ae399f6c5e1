//! Read and write halves of a [`TcpStream`].
//!
//! A socket's two directions are independent in the kernel, and the
//! reactor keeps separate waiters per direction, so the halves need no lock:
//! the borrowed halves hold `&TcpStream`; the owned halves share one
//! `Arc<TcpStream>`. [`OwnedWriteHalf`] shuts the write direction down
//! when dropped (the peer reads end of file), unless it was
//! [reunited](OwnedReadHalf::reunite) or
//! [`forget_shutdown`](OwnedWriteHalf::forget_shutdown) was called.

use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, AsyncWrite};

use crate::tcp::stream::shutdown_write;
use crate::TcpStream;

/// The read half of a [`TcpStream`], borrowed; from
/// [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a [`TcpStream`], borrowed; from
/// [`TcpStream::split`]. Closing it shuts the write direction down.
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

pub(crate) fn split(stream: &TcpStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf(stream), WriteHalf(stream))
}

/// The read half of a [`TcpStream`], owned; from
/// [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<TcpStream>,
}

/// The write half of a [`TcpStream`], owned; from
/// [`TcpStream::into_split`].
///
/// Dropping it shuts down the write direction (the peer reads end of file)
/// while the read half keeps working.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<TcpStream>,
    shutdown_on_drop: bool,
}

pub(crate) fn into_split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let inner = Arc::new(stream);
    (
        OwnedReadHalf {
            inner: inner.clone(),
        },
        OwnedWriteHalf {
            inner,
            shutdown_on_drop: true,
        },
    )
}

/// The error of [`OwnedReadHalf::reunite`]: the halves came from two
/// different streams. Both are handed back.
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuniteError").finish_non_exhaustive()
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "tried to reunite halves of two different TCP streams: \
             pass the write half that came from the same `into_split`",
        )
    }
}

impl Error for ReuniteError {}

impl OwnedReadHalf {
    /// Puts the halves back together into the [`TcpStream`] they came from.
    ///
    /// # Errors
    ///
    /// Fails, handing both halves back, if they come from different
    /// streams.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        reunite(self, other)
    }

    /// The remote address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Receives data without consuming it; see [`TcpStream::peek`].
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::peek`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(buf).await
    }

    /// The stream both halves share.
    pub fn as_stream(&self) -> &TcpStream {
        &self.inner
    }
}

impl OwnedWriteHalf {
    /// Puts the halves back together; see [`OwnedReadHalf::reunite`].
    ///
    /// # Errors
    ///
    /// As for [`OwnedReadHalf::reunite`].
    pub fn reunite(self, other: OwnedReadHalf) -> Result<TcpStream, ReuniteError> {
        reunite(other, self)
    }

    /// Drops the half without shutting down the write direction.
    pub fn forget_shutdown(mut self) {
        self.shutdown_on_drop = false;
    }

    /// The remote address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// As for [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The stream both halves share.
    pub fn as_stream(&self) -> &TcpStream {
        &self.inner
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.shutdown(Shutdown::Write);
        }
    }
}

fn reunite(read: OwnedReadHalf, mut write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
    if !Arc::ptr_eq(&read.inner, &write.inner) {
        return Err(ReuniteError(read, write));
    }
    write.shutdown_on_drop = false;
    let inner = write.inner.clone();
    drop(write);
    drop(read);
    match Arc::try_unwrap(inner) {
        Ok(stream) => Ok(stream),
        Err(_) => unreachable!("the two halves held the only references to the stream"),
    }
}

macro_rules! read_impl {
    ($ty:ty) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let s: &TcpStream = Half::stream(&*self);
                Pin::new(&mut &*s).poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                let s: &TcpStream = Half::stream(&*self);
                Pin::new(&mut &*s).poll_read_vectored(cx, bufs)
            }
        }
    };
}

macro_rules! write_impl {
    ($ty:ty) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                let s: &TcpStream = Half::stream(&*self);
                Pin::new(&mut &*s).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let s: &TcpStream = Half::stream(&*self);
                Pin::new(&mut &*s).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts down the write direction; the read half keeps working.
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let s: &TcpStream = Half::stream(&*self);
                Poll::Ready(shutdown_write(s.io.get_ref()))
            }
        }
    };
}

/// The stream under a half.
trait Half {
    fn stream(&self) -> &TcpStream;
}

impl Half for ReadHalf<'_> {
    fn stream(&self) -> &TcpStream {
        self.0
    }
}

impl Half for WriteHalf<'_> {
    fn stream(&self) -> &TcpStream {
        self.0
    }
}

impl Half for OwnedReadHalf {
    fn stream(&self) -> &TcpStream {
        &self.inner
    }
}

impl Half for OwnedWriteHalf {
    fn stream(&self) -> &TcpStream {
        &self.inner
    }
}

read_impl!(ReadHalf<'_>);
write_impl!(WriteHalf<'_>);
read_impl!(OwnedReadHalf);
write_impl!(OwnedWriteHalf);
