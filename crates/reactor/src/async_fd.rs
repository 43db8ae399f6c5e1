//! [`Async<T>`]: an I/O object registered with a reactor.
// Unsafe here: registers the descriptor it owns (each block has its SAFETY proof).
#![allow(unsafe_code)]

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, AsyncWrite};
use tulipa_core::coop;

use crate::reactor::{Inner, Reactor};
use crate::source::{Source, WaitFor, Waiter, READ, WRITE};

/// An I/O object (socket, pipe, ...) registered with a [`Reactor`], with
/// async methods that wait for readiness.
///
/// The usual way to use it: call the non-blocking operation of the inner
/// object through [`read_with`](Async::read_with) /
/// [`write_with`](Async::write_with), which retry after waiting whenever
/// the operation says [`WouldBlock`](io::ErrorKind::WouldBlock); or use the
/// [`AsyncRead`] / [`AsyncWrite`] impls (through
/// `futures_lite::{AsyncReadExt, AsyncWriteExt}`), available for
/// `Async<T>` when `T: Read`/`Write` and for `&Async<T>` when `&T` is.
///
/// Any number of tasks, on any threads, may wait on the same `Async` in the
/// same direction at once; an event wakes them all. Readiness is a hint: a
/// woken task retries its operation and waits again if it still would
/// block.
///
/// Dropping it deregisters the descriptor from the reactor, then drops
/// (closes) the inner object.
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
/// use tulipa_reactor::Async;
///
/// future::block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     let (mut a, mut b) = (Async::new(a)?, Async::new(b)?);
///     a.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Async<T: AsFd> {
    source: Arc<Source>,
    reactor: Reactor,
    /// `None` only inside `into_inner`, after the value was taken.
    io: Option<T>,
}

// `Async` never hands out `Pin<&mut T>`: the inner value is not
// structurally pinned, so moving an `Async` is always fine.
impl<T: AsFd> Unpin for Async<T> {}

/// Puts `fd` in non-blocking mode (`O_NONBLOCK`).
fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    if !flags.contains(rustix::fs::OFlags::NONBLOCK) {
        rustix::fs::fcntl_setfl(fd, flags | rustix::fs::OFlags::NONBLOCK)?;
    }
    Ok(())
}

impl<T: AsFd> Async<T> {
    /// Puts `io` in non-blocking mode and registers it with the
    /// [current](Reactor::current) reactor (the entered one, else the
    /// global one).
    ///
    /// # Errors
    ///
    /// Fails if the descriptor cannot be made non-blocking or registered
    /// (for example it is a regular file, which epoll refuses, or the
    /// reactor was [shut down](Reactor::shutdown)); `io` is dropped then.
    ///
    /// # Panics
    ///
    /// Panics only where [`Reactor::global`] does, if no reactor was
    /// entered and the global one cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::TcpListener;
    /// use tulipa_reactor::Async;
    ///
    /// let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// println!("listening on {}", listener.get_ref().local_addr()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new(io: T) -> io::Result<Async<T>> {
        Async::new_in(io, &Reactor::current())
    }

    /// Puts `io` in non-blocking mode and registers it with `reactor`.
    ///
    /// # Errors
    ///
    /// As for [`Async::new`].
    pub fn new_in(io: T, reactor: &Reactor) -> io::Result<Async<T>> {
        set_nonblocking(io.as_fd())?;
        Async::register(io, reactor)
    }

    /// Registers `io`, which the caller promises is already in
    /// non-blocking mode, with the [current](Reactor::current) reactor.
    ///
    /// If `io` is in fact blocking, operations through this `Async` block
    /// the calling thread instead of returning `WouldBlock`.
    ///
    /// # Errors
    ///
    /// Fails if the descriptor cannot be registered (see [`Async::new`]).
    ///
    /// # Panics
    ///
    /// Panics only where [`Reactor::global`] does.
    pub fn new_nonblocking(io: T) -> io::Result<Async<T>> {
        Async::register(io, &Reactor::current())
    }

    fn register(io: T, reactor: &Reactor) -> io::Result<Async<T>> {
        // SAFETY: the returned `Async` owns `io` and runs
        // `Source::deregister` (which deletes the descriptor from the
        // poller) in `Drop` and in `into_inner`, before `io` is dropped or
        // handed back; on error nothing stays registered. If the `Async` is
        // leaked, an owned `io` is leaked with it and never closed. The one
        // gap is a leaked `Async` over a *borrowed* descriptor whose owner
        // later closes it: on the Unix backends this crate supports (epoll,
        // kqueue, event ports) the kernel then drops the registration
        // itself, and any event still queued under the key names a slot
        // the leaked source keeps occupied forever, so it reaches only that
        // source's (unreachable) waiters. No memory is touched unsoundly.
        let source = unsafe { reactor.inner.register(io.as_fd())? };
        Ok(Async {
            source,
            reactor: reactor.clone(),
            io: Some(io),
        })
    }

    /// The inner I/O object.
    pub fn get_ref(&self) -> &T {
        match &self.io {
            Some(io) => io,
            None => unreachable!("`io` is only taken by `into_inner`, which consumes `self`"),
        }
    }

    /// Split borrow: the source, the reactor and the inner object.
    fn parts_mut(&mut self) -> (&Source, &Inner, &mut T) {
        match &mut self.io {
            Some(io) => (&self.source, &self.reactor.inner, io),
            None => unreachable!("`io` is only taken by `into_inner`, which consumes `self`"),
        }
    }

    fn inner(&self) -> &Inner {
        &self.reactor.inner
    }

    /// The reactor this object is registered with.
    pub fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// Deregisters the I/O object and returns it.
    ///
    /// The object is left in non-blocking mode; clear `O_NONBLOCK` yourself
    /// (for sockets, `set_nonblocking(false)`) before using it for blocking
    /// I/O.
    ///
    /// # Errors
    ///
    /// Fails if the OS poller refuses to delete the descriptor; the object
    /// is dropped (closed) in that case.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::TcpListener;
    /// use tulipa_reactor::Async;
    ///
    /// let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let listener: TcpListener = listener.into_inner()?;
    /// listener.set_nonblocking(false)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn into_inner(mut self) -> io::Result<T> {
        let res = self.deregister();
        let io = self.io.take();
        drop(self);
        res?;
        match io {
            Some(io) => Ok(io),
            None => unreachable!("`io` is only taken here"),
        }
    }

    /// Deletes the descriptor from the poller and frees the slot.
    fn deregister(&self) -> io::Result<()> {
        let Some(io) = &self.io else { return Ok(()) };
        let res = self.source.deregister(&self.inner().poller, io.as_fd());
        self.inner().remove(&self.source);
        match res {
            // Already gone from the poller: the goal is reached.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOENT.raw_os_error()) => Ok(()),
            res => res,
        }
    }

    /// Waits until the object may be readable.
    ///
    /// Resolves at once if the descriptor is readable now (readiness the
    /// reactor remembers is confirmed with a zero-timeout `poll(2)`, since
    /// an operation outside this crate may have used it up), else after the
    /// next read event. Readiness is a hint: another task may consume the
    /// data first, so retry the read and wait again on `WouldBlock` (or use
    /// [`read_with`](Async::read_with), which does that without the extra
    /// system call).
    ///
    /// # Errors
    ///
    /// Fails if the reactor was [shut down](Reactor::shutdown) or the OS
    /// poller refuses to watch the descriptor.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only removes its waker; no other
    /// waiter misses a wakeup because of it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use tulipa_reactor::Async;
    ///
    /// let (a, mut b) = UnixStream::pair()?;
    /// let a = Async::new(a)?;
    /// b.write_all(b"x")?;
    /// futures_lite::future::block_on(a.readable())?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        Waiter::new(&self.source, self.inner(), READ, WaitFor::Fresh).await
    }

    /// Waits until the object may be writable.
    ///
    /// As [`readable`](Async::readable), for writing.
    ///
    /// # Errors
    ///
    /// As for [`readable`](Async::readable).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`readable`](Async::readable).
    pub async fn writable(&self) -> io::Result<()> {
        Waiter::new(&self.source, self.inner(), WRITE, WaitFor::Fresh).await
    }

    /// Polls for read readiness, for a caller that runs its own
    /// non-blocking operation: try the operation first, and poll only when
    /// it says `WouldBlock`.
    ///
    /// Returns `Ready(Ok(()))` while the direction is ready as the kernel
    /// last reported it (before the first event the kernel is asked with a
    /// zero-timeout `poll(2)`) and the caller was not already told so since
    /// the last event; a caller that comes back
    /// without a new event has used that readiness up, so the poll clears
    /// it, registers `cx`'s waker and returns `Pending` until the next
    /// event. Several tasks may poll at once and each is woken by the next
    /// event. For independent waits use [`readable`](Async::readable).
    ///
    /// # Errors
    ///
    /// As for [`readable`](Async::readable).
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.source.poll_ready(self.inner(), READ, cx)
    }

    /// Whether the reactor records the descriptor as readable right now:
    /// one atomic load, no lock and no system call.
    ///
    /// A hint, for a caller that must decide whether to prepare a read
    /// (lease a buffer, say) before making it: `true` means an event or
    /// the registration's initial assumption said readable and no read
    /// has since found the descriptor empty, so a read may still return
    /// `WouldBlock` (which clears it); `false` means the last read found
    /// it drained and nothing arrived since, so wait with
    /// [`poll_readable`](Async::poll_readable), which registers the task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use tulipa_reactor::Async;
    ///
    /// let (a, mut b) = UnixStream::pair()?;
    /// let a = Async::new(a)?;
    /// b.write_all(b"x")?;
    /// assert!(a.readable_hint()); // nothing read yet
    /// # std::io::Result::Ok(())
    /// ```
    pub fn readable_hint(&self) -> bool {
        self.source.readiness().is_ready(READ)
    }

    /// Polls for write readiness; as [`poll_readable`](Async::poll_readable).
    ///
    /// # Errors
    ///
    /// As for [`readable`](Async::readable).
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.source.poll_ready(self.inner(), WRITE, cx)
    }

    /// Polls a non-blocking read-side operation: runs `op` only while the
    /// source reads ready, and when `op` says `WouldBlock` clears that
    /// readiness, registers `cx`'s waker and returns `Pending` until the
    /// next event. The poll form of [`read_with`](Async::read_with), for
    /// `poll_*` methods (an accept loop): unlike trying `op` first and then
    /// asking [`poll_readable`](Async::poll_readable), it never runs an
    /// operation that can only fail.
    ///
    /// # Errors
    ///
    /// As for [`read_with`](Async::read_with).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::{TcpListener, TcpStream};
    /// use tulipa_reactor::Async;
    ///
    /// let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    /// let _client = TcpStream::connect(listener.get_ref().local_addr()?)?;
    /// let (_stream, _addr) = futures_lite::future::block_on(futures_lite::future::poll_fn(
    ///     |cx| listener.poll_read_with(cx, |l| l.accept()),
    /// ))?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.get_ref();
        poll_io(&self.source, self.inner(), cx, READ, None, || {
            op(io).map(Opaque)
        })
        .map_ok(|r| r.0)
    }

    /// Runs a non-blocking read-side operation until it stops saying
    /// `WouldBlock`, waiting for read readiness between tries.
    ///
    /// # Errors
    ///
    /// Returns the first error of `op` other than
    /// [`WouldBlock`](io::ErrorKind::WouldBlock), or an error from waiting
    /// (see [`readable`](Async::readable)).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe if `op` is: nothing happens between the tries, so
    /// dropping the future loses only what a completed `op` would have
    /// returned, and that never happens while it is pending.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::{TcpListener, TcpStream};
    /// use tulipa_reactor::Async;
    ///
    /// futures_lite::future::block_on(async {
    ///     let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    ///     let _client = TcpStream::connect(listener.get_ref().local_addr()?)?;
    ///     let (_stream, _addr) = listener.read_with(|l| l.accept()).await?;
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut waiter = Waiter::new(&self.source, self.inner(), READ, WaitFor::Retry);
        loop {
            let seen = self.source.readiness();
            if seen.is_ready(READ) || self.inner().is_shut_down() {
                let progress = futures_lite::future::poll_fn(coop::poll_proceed).await;
                match op(self.get_ref()) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.source.clear(READ, seen)
                    }
                    res => {
                        progress.made_progress();
                        return res;
                    }
                }
            }
            (&mut waiter).await?;
        }
    }

    /// Like [`read_with`](Async::read_with), with mutable access.
    ///
    /// # Errors
    ///
    /// As for [`read_with`](Async::read_with).
    ///
    /// # Cancel safety
    ///
    /// As for [`read_with`](Async::read_with).
    pub async fn read_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let (source, inner, io) = self.parts_mut();
        let mut waiter = Waiter::new(source, inner, READ, WaitFor::Retry);
        loop {
            let seen = source.readiness();
            if seen.is_ready(READ) || inner.is_shut_down() {
                let progress = futures_lite::future::poll_fn(coop::poll_proceed).await;
                match op(io) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => source.clear(READ, seen),
                    res => {
                        progress.made_progress();
                        return res;
                    }
                }
            }
            (&mut waiter).await?;
        }
    }

    /// Runs a non-blocking write-side operation until it stops saying
    /// `WouldBlock`, waiting for write readiness between tries.
    ///
    /// # Errors
    ///
    /// As for [`read_with`](Async::read_with).
    ///
    /// # Cancel safety
    ///
    /// As for [`read_with`](Async::read_with).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use tulipa_reactor::Async;
    ///
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::new(a)?;
    /// let n = futures_lite::future::block_on(a.write_with(|mut s| s.write(b"hi")))?;
    /// assert_eq!(n, 2);
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut waiter = Waiter::new(&self.source, self.inner(), WRITE, WaitFor::Retry);
        loop {
            let seen = self.source.readiness();
            if seen.is_ready(WRITE) || self.inner().is_shut_down() {
                let progress = futures_lite::future::poll_fn(coop::poll_proceed).await;
                match op(self.get_ref()) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.source.clear(WRITE, seen)
                    }
                    res => {
                        progress.made_progress();
                        return res;
                    }
                }
            }
            (&mut waiter).await?;
        }
    }

    /// Like [`write_with`](Async::write_with), with mutable access.
    ///
    /// # Errors
    ///
    /// As for [`read_with`](Async::read_with).
    ///
    /// # Cancel safety
    ///
    /// As for [`read_with`](Async::read_with).
    pub async fn write_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let (source, inner, io) = self.parts_mut();
        let mut waiter = Waiter::new(source, inner, WRITE, WaitFor::Retry);
        loop {
            let seen = source.readiness();
            if seen.is_ready(WRITE) || inner.is_shut_down() {
                let progress = futures_lite::future::poll_fn(coop::poll_proceed).await;
                match op(io) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => source.clear(WRITE, seen),
                    res => {
                        progress.made_progress();
                        return res;
                    }
                }
            }
            (&mut waiter).await?;
        }
    }

    /// Runs `op` through [`poll_io`] on the shared object.
    fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        dir: usize,
        want: Option<usize>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>>
    where
        R: Counted,
    {
        let mut op = op;
        let io = self.get_ref();
        poll_io(&self.source, self.inner(), cx, dir, want, || op(io))
    }

    /// Runs `op` through [`poll_io`] with mutable access.
    fn poll_op_mut<R>(
        &mut self,
        cx: &mut Context<'_>,
        dir: usize,
        want: Option<usize>,
        mut op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> Poll<io::Result<R>>
    where
        R: Counted,
    {
        let (source, inner, io) = self.parts_mut();
        poll_io(source, inner, cx, dir, want, || op(io))
    }

    /// Declares the descriptor a byte stream: a TCP or Unix stream socket
    /// or a pipe, where a read that returns fewer bytes than asked has
    /// emptied the receive buffer. The [`AsyncRead`] impls then skip the
    /// read that could only say `WouldBlock` and wait for the next event
    /// straight away (one system call fewer per message).
    ///
    /// Do not call it for descriptors whose reads return one record at a
    /// time (a terminal in canonical mode, a TUN device, a `SOCK_SEQPACKET`
    /// socket): there a short read does not mean empty, and the next record
    /// would wait for the one after it. It has an effect only on a reactor
    /// whose backend reports the peer's half-close on its own (Linux's
    /// epoll backend), since data and the end-of-file can arrive in one
    /// event and a short read does not consume the end-of-file.
    pub fn set_byte_stream(&self) {
        self.source.set_short_read_drains(&self.inner().poller);
    }

    /// A read of a source marked by [`Async::set_tcp_stream`]: one
    /// `recvmsg` that also says whether it left the socket empty.
    #[cfg(target_os = "linux")]
    fn poll_hinted_read(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let want = bufs.iter().map(|b| b.len()).sum();
        let fd = self.get_ref().as_fd();
        poll_io(&self.source, self.inner(), cx, READ, Some(want), || {
            hinted_read(fd, bufs)
        })
        .map_ok(|r| r.n)
    }

    /// A write to a TCP socket declared with `set_tcp_stream` (see
    /// [`tcp_write`]).
    #[cfg(target_os = "linux")]
    fn poll_tcp_write(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let fd = self.get_ref().as_fd();
        poll_io(&self.source, self.inner(), cx, WRITE, None, || {
            tcp_write(fd, bufs)
        })
    }
}

impl Async<std::net::TcpStream> {
    /// Declares the socket a connected TCP stream: as
    /// [`set_byte_stream`](Async::set_byte_stream), and on Linux each read
    /// also asks the kernel how many bytes it left queued (`TCP_INQ`). A
    /// read that fills the buffer exactly and empties the socket (a
    /// `read_exact` of a whole message, the usual request-response client)
    /// then also skips the read that could only say `WouldBlock`: one
    /// system call fewer per message on that side.
    ///
    /// The hint is safe across a half-close: after the peer's FIN the
    /// kernel reports a byte left, so the next read runs and returns end of
    /// file. Reads then go to the socket with `recvmsg(2)`, which is what
    /// the stream's own `read` does with `recv(2)`. On a kernel that lacks
    /// the option (before 4.18), or off Linux, only the byte-stream rule
    /// applies.
    ///
    /// With the option on, writes also go straight to the kernel (`send(2)`
    /// with `MSG_NOSIGNAL`, or `writev(2)`), skipping the C library's
    /// cancellation-point bookkeeping around each call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use std::net::{TcpListener, TcpStream};
    /// use futures_lite::AsyncReadExt;
    /// use tulipa_reactor::Async;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let mut peer = TcpStream::connect(listener.local_addr()?)?;
    /// let stream = Async::new(listener.accept()?.0)?;
    /// stream.set_tcp_stream();
    /// peer.write_all(b"ping")?;
    /// let mut buf = [0u8; 4];
    /// futures_lite::future::block_on((&stream).read_exact(&mut buf))?;
    /// assert_eq!(&buf, b"ping");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_tcp_stream(&self) {
        self.set_byte_stream();
        #[cfg(target_os = "linux")]
        if crate::sys::tcp_inq::enable(self.get_ref().as_fd()) {
            self.source.set_tcp_inq();
        }
    }
}

/// How much an operation did, to tell a short read.
#[derive(Clone, Copy)]
pub(crate) struct ReadCount {
    /// Bytes read, for a read.
    n: Option<usize>,
    /// The kernel said the read left nothing queued (`TCP_INQ`).
    drained: bool,
}

/// What an operation's result says about how much it read.
pub(crate) trait Counted {
    /// The count, if the result is a read's.
    fn read_count(&self) -> ReadCount;
}

impl Counted for usize {
    fn read_count(&self) -> ReadCount {
        let n = *self;
        ReadCount {
            n: Some(n),
            drained: false,
        }
    }
}

impl Counted for () {
    fn read_count(&self) -> ReadCount {
        ReadCount {
            n: None,
            drained: false,
        }
    }
}

/// The value of a [`Async::poll_read_with`] operation: says nothing about
/// a read count.
struct Opaque<R>(R);

impl<R> Counted for Opaque<R> {
    fn read_count(&self) -> ReadCount {
        ReadCount {
            n: None,
            drained: false,
        }
    }
}

/// A read that also reports whether it left the socket empty.
#[cfg(target_os = "linux")]
#[derive(Clone, Copy)]
struct HintedRead {
    n: usize,
    drained: bool,
}

#[cfg(target_os = "linux")]
impl Counted for HintedRead {
    fn read_count(&self) -> ReadCount {
        let r = self;
        ReadCount {
            n: Some(r.n),
            drained: r.drained,
        }
    }
}

/// Reads `bufs` from a TCP socket with `TCP_INQ` on.
#[cfg(target_os = "linux")]
fn hinted_read(fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> io::Result<HintedRead> {
    crate::sys::tcp_inq::recv(fd, bufs).map(|(n, drained)| HintedRead { n, drained })
}

/// Writes `bufs` to a connected TCP socket: `send(2)` with `MSG_NOSIGNAL`
/// for one buffer (what the standard library's `TcpStream::write` makes),
/// `writev(2)` for more, both as direct system calls (rustix). Through the
/// C library each of them is also a pthread cancellation point, which
/// switches asynchronous cancellation on and off around the call: 30 to 55
/// instructions per write on the echo servers (callgrind), for
/// `pthread_cancel`, which Rust code never uses.
#[cfg(target_os = "linux")]
fn tcp_write(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    match bufs {
        [one] => rustix::net::send(fd, one, rustix::net::SendFlags::NOSIGNAL),
        _ => rustix::io::writev(fd, bufs),
    }
    .map_err(io::Error::from)
}

/// The body of every `poll_*` I/O impl: runs `op` while `dir` reads ready,
/// clearing the readiness it saw when `op` says `WouldBlock` (or, for a
/// read of `want` bytes on a byte stream, returns fewer), and registers
/// for the next event when the direction is not ready.
fn poll_io<R>(
    source: &Source,
    inner: &Inner,
    cx: &mut Context<'_>,
    dir: usize,
    want: Option<usize>,
    mut op: impl FnMut() -> io::Result<R>,
) -> Poll<io::Result<R>>
where
    R: Counted,
{
    loop {
        let seen = source.readiness();
        // After shutdown no event will come: try the operation, which
        // may still succeed, and fail the wait if it would block.
        if seen.is_ready(dir) || inner.is_shut_down() {
            // The task's budget (see `tulipa_core::coop`): a task whose
            // descriptor is always ready yields now and then.
            let Poll::Ready(progress) = coop::poll_proceed(cx) else {
                return Poll::Pending;
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => source.clear(dir, seen),
                Ok(r) => {
                    progress.made_progress();
                    if let (
                        Some(want),
                        ReadCount {
                            n: Some(n),
                            drained,
                        },
                    ) = (want, r.read_count())
                    {
                        // The kernel's own "nothing left" (`TCP_INQ`, which
                        // reports a byte left after a FIN) is always safe.
                        // A short read counts only once the kernel has
                        // reported on the source: before its first event, a
                        // close that arrived with the data is not known
                        // yet, and a reader asking "end of file already?"
                        // must still see it.
                        let short = n < want && seen.has_events() && source.short_read_drains();
                        if n > 0 && (drained || short) {
                            source.clear(dir, seen);
                        }
                    }
                    return Poll::Ready(Ok(r));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        match source.poll_register(inner, dir, cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        // Errors are ignored: the descriptor is about to be closed, which
        // removes it from the kernel's interest list anyway.
        let _ = self.deregister();
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async")
            .field("io", &self.io)
            .finish_non_exhaustive()
    }
}

impl<T: AsFd + Read> AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let want = buf.len();
        #[cfg(target_os = "linux")]
        if self.source.tcp_inq() {
            return self.poll_hinted_read(cx, &mut [IoSliceMut::new(buf)]);
        }
        self.get_mut()
            .poll_op_mut(cx, READ, Some(want), |io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if self.source.tcp_inq() {
            return self.poll_hinted_read(cx, bufs);
        }
        let want = bufs.iter().map(|b| b.len()).sum();
        self.get_mut()
            .poll_op_mut(cx, READ, Some(want), |io| io.read_vectored(bufs))
    }
}

impl<T: AsFd> AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let want = buf.len();
        #[cfg(target_os = "linux")]
        if self.source.tcp_inq() {
            return self.poll_hinted_read(cx, &mut [IoSliceMut::new(buf)]);
        }
        self.poll_op(cx, READ, Some(want), |mut io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if self.source.tcp_inq() {
            return self.poll_hinted_read(cx, bufs);
        }
        let want = bufs.iter().map(|b| b.len()).sum();
        self.poll_op(cx, READ, Some(want), |mut io| io.read_vectored(bufs))
    }
}

impl<T: AsFd + Write> AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if self.source.tcp_inq() {
            return self.poll_tcp_write(cx, &[IoSlice::new(buf)]);
        }
        self.get_mut()
            .poll_op_mut(cx, WRITE, None, |io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if self.source.tcp_inq() {
            return self.poll_tcp_write(cx, bufs);
        }
        self.get_mut()
            .poll_op_mut(cx, WRITE, None, |io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_op_mut(cx, WRITE, None, |io| io.flush())
    }

    /// Flushes; does not shut the descriptor down (drop the `Async`, or
    /// call the inner object's `shutdown`, for that).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: AsFd> AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if self.source.tcp_inq() {
            return self.poll_tcp_write(cx, &[IoSlice::new(buf)]);
        }
        self.poll_op(cx, WRITE, None, |mut io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if self.source.tcp_inq() {
            return self.poll_tcp_write(cx, bufs);
        }
        self.poll_op(cx, WRITE, None, |mut io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_op(cx, WRITE, None, |mut io| io.flush())
    }

    /// Flushes; does not shut the descriptor down.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
