//! The stream driver: the future that runs one connection's protocol.
//!
//! One driver is spawned per connection (through `tulipa_core::spawn`). It
//! owns the protocol and the connection's single read buffer
//! ([`READ_BUFFER`] bytes, allocated once), so a read is one system call
//! into that buffer and one `data_received(&buf[..n])`: no allocation, no
//! channel hop, no copy. Each turn of its loop:
//!
//! 1. takes what the [`Transport`] recorded (`pause_pending`, a write
//!    error, `abort`) and calls `pause_writing` if due;
//! 2. flushes the write buffer while the socket takes bytes, then calls
//!    `resume_writing` if the buffer drained to the low-water mark;
//! 3. with an empty buffer: finishes a `close` (graceful TLS close, then
//!    the end) or sends a requested EOF;
//! 4. reads once, if reading, and calls `data_received` or, on EOF,
//!    `eof_received` (whose `false` closes the transport); after a short
//!    read of a plain socket (the kernel had no more) it waits for
//!    readiness first instead of making a read that would only say
//!    `WouldBlock`, as libuv does;
//! 5. with nothing ready, parks: under the state lock, if nothing changed
//!    since step 1, it stores its waker and sets `parked` so the transport
//!    wakes it; the socket's readiness wakes it through the reactor.
//!
//! After [`READ_BUDGET`] reads in one poll it yields, so one busy
//! connection cannot starve the other tasks of its worker.
//!
//! The end is [`Driver::finish`], reached exactly once: by a read or write
//! error (`connection_lost(Some(err))`), by `abort`, by `close` once
//! flushed, or when both directions saw EOF (`connection_lost(None)`), or,
//! if the runtime drops the driver mid-connection, from `Drop`
//! (`connection_lost(Some(err))`). A callback that panics unwinds out of
//! `poll` with `polling` still set; `Drop` sees that (the executor drops
//! the future after catching the panic, so `thread::panicking()` cannot
//! tell) and calls no more callbacks. Whatever way the end comes, even
//! when `connection_lost` itself panics, the bookkeeping is finished
//! ([`Driver::complete`], by `finish` or else by `Drop`): the socket
//! closes, `lost` is set, `wait_closed` wakes and the server forgets the
//! connection.
//! Callback order is therefore always `connection_made`, then
//! `data_received`*, then at most one `eof_received`, then exactly one
//! `connection_lost`; `pause_writing`/`resume_writing` alternate in
//! between.

use std::future::Future;
use std::io::{self, IoSlice};
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::stream::Io;
use super::transport::{lock_state, Shared, Transport};
use super::Protocol;

/// Bytes in a connection's read buffer.
pub(crate) const READ_BUFFER: usize = 64 * 1024;
/// Reads per poll before the driver yields to other tasks.
pub(crate) const READ_BUDGET: usize = 16;

/// Runs when a connection ended (a server forgets it).
pub(crate) type OnEnd = Box<dyn FnOnce() + Send>;

/// The future that runs one connection. See the module docs.
pub(crate) struct Driver<P: Protocol, I: Io> {
    protocol: P,
    io: Option<Arc<I>>,
    shared: Arc<Shared>,
    buf: Box<[u8]>,
    /// `connection_made` was called.
    started: bool,
    /// `connection_lost` was called (or will never be).
    done: bool,
    /// `lost` was set, the waiters woken and `on_end` run.
    completed: bool,
    /// Inside `poll`: still true in `Drop` when a callback panicked.
    polling: bool,
    read_eof: bool,
    eof_sent: bool,
    /// The last read was short on a stream where that means "drained":
    /// wait for readiness before reading again.
    drained: bool,
    on_end: Option<OnEnd>,
}

// The driver never pins the protocol or the I/O object: moving it is fine.
impl<P: Protocol, I: Io> Unpin for Driver<P, I> {}

impl<P: Protocol, I: Io> Driver<P, I> {
    /// A driver for a connection whose `connection_made` it calls on its
    /// first poll (`started == false`), or that the caller already
    /// announced (`started == true`).
    pub(crate) fn new(protocol: P, io: Arc<I>, shared: Arc<Shared>, started: bool) -> Self {
        Driver {
            protocol,
            io: Some(io),
            shared,
            buf: vec![0; READ_BUFFER].into_boxed_slice(),
            started,
            done: false,
            completed: false,
            polling: false,
            read_eof: false,
            eof_sent: false,
            drained: false,
            on_end: None,
        }
    }

    /// The protocol, for a caller that announces the connection itself.
    pub(crate) fn protocol_mut(&mut self) -> &mut P {
        &mut self.protocol
    }

    /// Runs `f` once the connection ended.
    pub(crate) fn on_end(mut self, f: OnEnd) -> Self {
        self.on_end = Some(f);
        self
    }

    /// Ends the connection: forgets the socket, calls `connection_lost`,
    /// wakes `wait_closed`. Runs once.
    fn finish(&mut self, err: Option<io::Error>) {
        if self.done {
            return;
        }
        self.done = true;
        self.close_io();
        // A panicking `connection_lost` must not leave `wait_closed`
        // waiting or the server counting the connection: complete first,
        // then let the panic go on to the runtime's panic policy.
        let protocol = &mut self.protocol;
        let res = panic::catch_unwind(AssertUnwindSafe(|| protocol.connection_lost(err)));
        self.complete();
        if let Err(payload) = res {
            panic::resume_unwind(payload);
        }
    }

    /// Forgets the socket: the descriptor closes here (the state held the
    /// only other reference), before the protocol hears of it.
    fn close_io(&mut self) {
        let io = {
            let mut st = lock_state(&self.shared.state);
            st.closing = true;
            st.buf = Default::default();
            st.parked = false;
            st.waker = None;
            st.io.take()
        };
        drop(io);
        self.io = None;
    }

    /// Marks the connection lost, wakes `wait_closed` and runs the end
    /// hook. Runs once; called by `finish` and, in case `connection_lost`
    /// panicked, by `Drop`.
    fn complete(&mut self) {
        if self.completed {
            return;
        }
        self.completed = true;
        let waiters = {
            let mut st = lock_state(&self.shared.state);
            st.closing = true;
            st.lost = true;
            mem::take(&mut st.closed_waiters)
        };
        for w in waiters {
            w.wake();
        }
        if let Some(f) = self.on_end.take() {
            f();
        }
    }

    /// Writes the buffer out while the socket takes it. Returns whether
    /// `resume_writing` is due and whether everything (buffer and the
    /// stream's own buffers) is flushed.
    fn flush(&mut self, io: &I, cx: &mut Context<'_>) -> io::Result<(bool, bool)> {
        let mut st = lock_state(&self.shared.state);
        while !st.buf.is_empty() {
            let (a, b) = st.buf.as_slices();
            let slices = [IoSlice::new(a), IoSlice::new(b)];
            let bufs = if b.is_empty() {
                &slices[..1]
            } else {
                &slices[..]
            };
            match io.poll_write(cx, bufs) {
                Poll::Ready(Ok(0)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the socket accepted no bytes of a write",
                    ))
                }
                Poll::Ready(Ok(n)) => {
                    st.buf.drain(..n);
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        let mut flushed = st.buf.is_empty();
        if flushed {
            // A burst may have grown the buffer far past the marks: give
            // the memory back.
            if st.buf.capacity() > 4 * st.high.max(super::transport::DEFAULT_HIGH_WATER) {
                st.buf = Default::default();
            }
            match io.poll_flush(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => flushed = false,
            }
        }
        let mut resume = false;
        if st.protocol_paused && st.buf.len() <= st.low {
            st.protocol_paused = false;
            if st.pause_pending {
                // Paused and drained before the pause was delivered: the
                // protocol hears neither.
                st.pause_pending = false;
            } else {
                resume = true;
            }
        }
        Ok((resume, flushed))
    }
}

impl<P: Protocol, I: Io> Future for Driver<P, I> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        // Left set if a callback panics out of `poll_inner`.
        this.polling = true;
        let res = this.poll_inner(cx);
        this.polling = false;
        res
    }
}

impl<P: Protocol, I: Io> Driver<P, I> {
    /// One poll of the loop described in the module docs.
    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        if !this.started {
            this.started = true;
            this.protocol.connection_made(Transport {
                shared: this.shared.clone(),
            });
        }
        let Some(io) = this.io.clone() else {
            return Poll::Ready(());
        };
        let mut budget = READ_BUDGET;
        loop {
            // 1. What the transport recorded.
            let (pause, error, aborted, closing, eof_requested, reading) = {
                let mut st = lock_state(&this.shared.state);
                st.dirty = false;
                st.parked = false;
                (
                    mem::take(&mut st.pause_pending),
                    st.error.take(),
                    st.aborted,
                    st.closing,
                    st.eof_requested,
                    st.reading,
                )
            };
            if let Some(e) = error {
                this.finish(Some(e));
                return Poll::Ready(());
            }
            if aborted {
                this.finish(None);
                return Poll::Ready(());
            }
            if pause {
                this.protocol.pause_writing();
            }

            // 2. Flush.
            let flushed = match this.flush(&io, cx) {
                Ok((resume, flushed)) => {
                    if resume {
                        this.protocol.resume_writing();
                    }
                    flushed
                }
                Err(e) => {
                    this.finish(Some(e));
                    return Poll::Ready(());
                }
            };

            // 3. Close or half-close once flushed.
            if flushed && closing {
                match io.poll_close(cx) {
                    Poll::Ready(_) => {
                        this.finish(None);
                        return Poll::Ready(());
                    }
                    Poll::Pending => {}
                }
            } else if flushed && eof_requested && !this.eof_sent {
                match io.poll_shutdown_write(cx) {
                    Poll::Ready(Ok(())) => {
                        this.eof_sent = true;
                        if this.read_eof {
                            this.finish(None);
                            return Poll::Ready(());
                        }
                    }
                    Poll::Ready(Err(e)) => {
                        this.finish(Some(e));
                        return Poll::Ready(());
                    }
                    Poll::Pending => {}
                }
            }

            // 4. Read.
            if reading && !closing && !this.read_eof {
                if budget == 0 {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                if this.drained {
                    match io.poll_read_ready(cx) {
                        Poll::Ready(Ok(())) => this.drained = false,
                        Poll::Ready(Err(e)) => {
                            this.finish(Some(e));
                            return Poll::Ready(());
                        }
                        Poll::Pending => {}
                    }
                }
                let read = if this.drained {
                    Poll::Pending
                } else {
                    io.poll_read(cx, &mut this.buf)
                };
                match read {
                    Poll::Ready(Ok(0)) => {
                        this.read_eof = true;
                        if !this.protocol.eof_received() {
                            Transport {
                                shared: this.shared.clone(),
                            }
                            .close();
                        } else if this.eof_sent {
                            this.finish(None);
                            return Poll::Ready(());
                        }
                        continue;
                    }
                    Poll::Ready(Ok(n)) => {
                        budget -= 1;
                        this.drained = n < this.buf.len() && io.short_read_drains();
                        this.protocol.data_received(&this.buf[..n]);
                        continue;
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(Err(e)) => {
                        this.finish(Some(e));
                        return Poll::Ready(());
                    }
                    Poll::Pending => {}
                }
            }

            // 5. Park, unless something changed meanwhile.
            let mut st = lock_state(&this.shared.state);
            if st.dirty {
                continue;
            }
            st.parked = true;
            match &st.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
    }
}

impl<P: Protocol, I: Io> Drop for Driver<P, I> {
    fn drop(&mut self) {
        if !self.done {
            if self.started && !self.polling && !std::thread::panicking() {
                self.finish(Some(io::Error::other(
                    "the connection's driver was dropped (the runtime shut down) before the \
                     connection ended",
                )));
            } else {
                // Never announced, or a callback panicked: no more
                // callbacks, but the socket still closes.
                self.done = true;
                self.close_io();
            }
        }
        // Also after a `connection_lost` that panicked: waiters still wake
        // and the server still forgets the connection.
        self.complete();
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_tests {
    //! The park/notify handshake between the driver and a transport used
    //! from another thread: a write or close made while the driver is
    //! between "nothing to do" and "parked" must not be lost.

    use std::io::{self, IoSlice};
    use std::os::fd::RawFd;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use super::super::stream::Io;
    use super::super::transport::{Info, Shared, Transport};
    use super::super::Protocol;
    use super::Driver;

    /// A socket with nothing to read that takes every write the driver
    /// offers but none from `try_write`, so bytes always go through the
    /// buffer and the driver.
    struct MockIo {
        written: Arc<AtomicUsize>,
    }

    impl Io for MockIo {
        fn poll_read(&self, _: &mut Context<'_>, _: &mut [u8]) -> Poll<io::Result<usize>> {
            Poll::Pending
        }
        fn try_write(&self, _: &[IoSlice<'_>]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }
        fn poll_write(&self, _: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
            let n: usize = bufs.iter().map(|b| b.len()).sum();
            self.written.fetch_add(n, Ordering::SeqCst);
            Poll::Ready(Ok(n))
        }
        fn poll_shutdown_write(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn raw_fd(&self) -> RawFd {
            -1
        }
    }

    struct Count(Arc<AtomicUsize>);

    impl Protocol for Count {
        fn data_received(&mut self, _: &[u8]) {}
        fn connection_lost(&mut self, _: Option<io::Error>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn loom_a_write_and_close_from_another_thread_reach_the_driver() {
        loom::model(|| {
            let written = Arc::new(AtomicUsize::new(0));
            let lost = Arc::new(AtomicUsize::new(0));
            let io = Arc::new(MockIo {
                written: written.clone(),
            });
            let info = Info {
                peer: None,
                local: None,
                fd: -1,
                can_write_eof: true,
                #[cfg(feature = "tls")]
                tls: None,
            };
            let shared = Shared::new(io.clone(), info);
            let transport = Transport {
                shared: shared.clone(),
            };
            let driver = Driver::new(Count(lost.clone()), io, shared, true);
            let writer = loom::thread::spawn(move || {
                transport.write(b"abc");
                transport.close();
            });
            // Deadlocks (and loom says so) if a wakeup is lost.
            loom::future::block_on(driver);
            writer.join().unwrap();
            assert_eq!(written.load(Ordering::SeqCst), 3);
            assert_eq!(lost.load(Ordering::SeqCst), 1);
        });
    }
}
