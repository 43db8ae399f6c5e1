//! Read and write halves of a stream socket ([`TcpStream`](crate::TcpStream),
//! [`UnixStream`](crate::UnixStream)).
//!
//! A socket's two directions are independent in the kernel, and the
//! reactor keeps separate waiters per direction, so the halves need no
//! lock: the borrowed halves hold `&S`; the owned halves share one
//! `Arc<S>`. An owned write half shuts the write direction down when
//! dropped (the peer reads end of file), unless it was
//! [reunited](OwnedReadHalf::reunite) or
//! [`forget_shutdown`](OwnedWriteHalf::forget_shutdown) was called.
//!
//! [`OwnedWriteHalf::close_connection`] closes the whole connection
//! instead (asyncio's `StreamWriter.close()`): it shuts both directions
//! down and marks the shared stream closed, so the read half reads end of
//! file from then on, even if the peer's data is still queued in the
//! kernel (asyncio's transport stops reading when it closes).
//!
//! The halves are generic over the stream; `tulipa_net::tcp` and
//! `tulipa_net::unix` name them for their stream type.

use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, AsyncWrite};

/// Implements `AsyncRead` and `AsyncWrite` for a stream socket type and
/// for a shared reference to it, by delegating to its `io: Async<_>` field.
/// Flushing does nothing (a socket has no user-space buffer); closing shuts
/// the write direction down through [`SplitStream::shutdown_write`], and
/// the stream can still read.
macro_rules! stream_io {
    ($t:ty) => {
        impl ::futures_lite::io::AsyncRead for $t {
            fn poll_read(
                mut self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::futures_lite::io::AsyncRead::poll_read(
                    ::std::pin::Pin::new(&mut self.io),
                    cx,
                    buf,
                )
            }

            fn poll_read_vectored(
                mut self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &mut [::std::io::IoSliceMut<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::futures_lite::io::AsyncRead::poll_read_vectored(
                    ::std::pin::Pin::new(&mut self.io),
                    cx,
                    bufs,
                )
            }
        }

        impl ::futures_lite::io::AsyncRead for &$t {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::futures_lite::io::AsyncRead::poll_read(
                    ::std::pin::Pin::new(&mut &self.io),
                    cx,
                    buf,
                )
            }

            fn poll_read_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &mut [::std::io::IoSliceMut<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::futures_lite::io::AsyncRead::poll_read_vectored(
                    ::std::pin::Pin::new(&mut &self.io),
                    cx,
                    bufs,
                )
            }
        }

        impl ::futures_lite::io::AsyncWrite for $t {
            fn poll_write(
                mut self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::futures_lite::io::AsyncWrite::poll_write(
                    ::std::pin::Pin::new(&mut self.io),
                    cx,
                    buf,
                )
            }

            fn poll_write_vectored(
                mut self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::futures_lite::io::AsyncWrite::poll_write_vectored(
                    ::std::pin::Pin::new(&mut self.io),
                    cx,
                    bufs,
                )
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready(Ok(()))
            }

            /// Shuts down the write direction (the peer reads end of
            /// file); the stream can still read.
            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready($crate::split::SplitStream::shutdown_write(&*self))
            }
        }

        impl ::futures_lite::io::AsyncWrite for &$t {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::futures_lite::io::AsyncWrite::poll_write(
                    ::std::pin::Pin::new(&mut &self.io),
                    cx,
                    buf,
                )
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::futures_lite::io::AsyncWrite::poll_write_vectored(
                    ::std::pin::Pin::new(&mut &self.io),
                    cx,
                    bufs,
                )
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready(Ok(()))
            }

            /// Shuts down the write direction, as for the owned stream.
            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready($crate::split::SplitStream::shutdown_write(&**self))
            }
        }
    };
}
pub(crate) use stream_io;

/// A stream socket that can be split: reads and writes through `&Self`,
/// and can shut its write direction down.
pub trait SplitStream {
    /// Shuts down the write direction (`shutdown(SHUT_WR)`); a peer that
    /// is already gone is not an error.
    ///
    /// # Errors
    ///
    /// Fails as `shutdown(2)` does.
    fn shutdown_write(&self) -> io::Result<()>;

    /// Shuts down both directions (`shutdown(SHUT_RDWR)`); a peer that is
    /// already gone is not an error. By default only the write direction.
    ///
    /// # Errors
    ///
    /// Fails as `shutdown(2)` does.
    fn shutdown_both(&self) -> io::Result<()> {
        self.shutdown_write()
    }
}

/// The read half of a stream, borrowed; from `split()`.
#[derive(Debug)]
pub struct ReadHalf<'a, S>(&'a S);

/// The write half of a stream, borrowed; from `split()`. Closing it shuts
/// the write direction down.
#[derive(Debug)]
pub struct WriteHalf<'a, S>(&'a S);

impl<'a, S> ReadHalf<'a, S> {
    /// The stream both halves borrow.
    pub fn as_stream(&self) -> &'a S {
        self.0
    }
}

impl<'a, S> WriteHalf<'a, S> {
    /// The stream both halves borrow.
    pub fn as_stream(&self) -> &'a S {
        self.0
    }
}

pub(crate) fn split<S>(stream: &S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    (ReadHalf(stream), WriteHalf(stream))
}

/// What the owned halves share: the stream, and whether the connection
/// was closed through [`OwnedWriteHalf::close_connection`].
#[derive(Debug)]
struct Shared<S> {
    stream: S,
    closed: AtomicBool,
}

impl<S> std::ops::Deref for Shared<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.stream
    }
}

/// The read half of a stream, owned; from `into_split()`.
///
/// After [`OwnedWriteHalf::close_connection`] on its write half, it reads
/// end of file.
#[derive(Debug)]
pub struct OwnedReadHalf<S> {
    inner: Arc<Shared<S>>,
}

/// The write half of a stream, owned; from `into_split()`.
///
/// Dropping it shuts down the write direction (the peer reads end of file)
/// while the read half keeps working.
#[derive(Debug)]
pub struct OwnedWriteHalf<S: SplitStream> {
    inner: Arc<Shared<S>>,
    shutdown_on_drop: bool,
}

pub(crate) fn into_split<S: SplitStream>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let inner = Arc::new(Shared {
        stream,
        closed: AtomicBool::new(false),
    });
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
pub struct ReuniteError<S: SplitStream>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S: SplitStream> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuniteError").finish_non_exhaustive()
    }
}

impl<S: SplitStream> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "tried to reunite halves of two different streams: \
             pass the write half that came from the same `into_split`",
        )
    }
}

impl<S: SplitStream> Error for ReuniteError<S> {}

impl<S: SplitStream> OwnedReadHalf<S> {
    /// Puts the halves back together into the stream they came from.
    ///
    /// # Errors
    ///
    /// Fails, handing both halves back, if they come from different
    /// streams.
    pub fn reunite(self, other: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        reunite(self, other)
    }
}

impl<S> OwnedReadHalf<S> {
    /// The stream both halves share.
    pub fn as_stream(&self) -> &S {
        &self.inner
    }
}

impl<S: SplitStream> OwnedWriteHalf<S> {
    /// Puts the halves back together; see [`OwnedReadHalf::reunite`].
    ///
    /// # Errors
    ///
    /// As for [`OwnedReadHalf::reunite`].
    pub fn reunite(self, other: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        reunite(other, self)
    }

    /// Closes the whole connection, as asyncio's `StreamWriter.close()`
    /// closes its transport: shuts both directions down (the peer reads
    /// end of file) and makes the read half read end of file from now on,
    /// even if data from the peer is still queued. The descriptor itself
    /// is closed when both halves are dropped.
    ///
    /// # Errors
    ///
    /// Fails as `shutdown(2)` does (a peer already gone is not an error);
    /// the read half reads end of file anyway.
    pub fn close_connection(&self) -> io::Result<()> {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.shutdown_both()
    }

    /// Drops the half without shutting down the write direction.
    pub fn forget_shutdown(mut self) {
        self.shutdown_on_drop = false;
    }

    /// The stream both halves share.
    pub fn as_stream(&self) -> &S {
        &self.inner
    }
}

impl<S: SplitStream> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.shutdown_write();
        }
    }
}

fn reunite<S: SplitStream>(
    read: OwnedReadHalf<S>,
    mut write: OwnedWriteHalf<S>,
) -> Result<S, ReuniteError<S>> {
    if !Arc::ptr_eq(&read.inner, &write.inner) {
        return Err(ReuniteError(read, write));
    }
    write.shutdown_on_drop = false;
    let inner = write.inner.clone();
    drop(write);
    drop(read);
    match Arc::try_unwrap(inner) {
        Ok(shared) => Ok(shared.stream),
        Err(_) => unreachable!("the two halves held the only references to the stream"),
    }
}

fn poll_read<S>(s: &S, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>
where
    for<'a> &'a S: AsyncRead,
{
    Pin::new(&mut &*s).poll_read(cx, buf)
}

fn poll_read_vectored<S>(
    s: &S,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
) -> Poll<io::Result<usize>>
where
    for<'a> &'a S: AsyncRead,
{
    Pin::new(&mut &*s).poll_read_vectored(cx, bufs)
}

fn poll_write<S>(s: &S, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>
where
    for<'a> &'a S: AsyncWrite,
{
    Pin::new(&mut &*s).poll_write(cx, buf)
}

fn poll_write_vectored<S>(
    s: &S,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>>
where
    for<'a> &'a S: AsyncWrite,
{
    Pin::new(&mut &*s).poll_write_vectored(cx, bufs)
}

impl<S> AsyncRead for ReadHalf<'_, S>
where
    for<'a> &'a S: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_read(self.0, cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_read_vectored(self.0, cx, bufs)
    }
}

impl<S> AsyncRead for OwnedReadHalf<S>
where
    for<'a> &'a S: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Poll::Ready(Ok(0));
        }
        poll_read(&self.inner.stream, cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Poll::Ready(Ok(0));
        }
        poll_read_vectored(&self.inner.stream, cx, bufs)
    }
}

impl<S: SplitStream> AsyncWrite for WriteHalf<'_, S>
where
    for<'a> &'a S: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(self.0, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_write_vectored(self.0, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write direction; the read half keeps working.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.shutdown_write())
    }
}

impl<S: SplitStream> AsyncWrite for OwnedWriteHalf<S>
where
    for<'a> &'a S: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&self.inner.stream, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_write_vectored(&self.inner.stream, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write direction; the read half keeps working.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.inner.shutdown_write())
    }
}
