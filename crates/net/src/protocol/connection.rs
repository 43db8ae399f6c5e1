//! The connection future: the loop that runs one stream connection's protocol.
//!
//! One such future is spawned per connection (through `tulipa_core::spawn`),
//! as a [`Runner`](super::lifecycle::Runner) around a [`Stream`]: the
//! runner owns the connection's lifecycle (see `super::lifecycle`: how it
//! ends exactly once, and what happens when a callback panics), the
//! [`Stream`] its reading and writing. The stream owns the protocol and no
//! read buffer: a read borrows the worker thread's buffer
//! (`super::read_buf`) for one system call and one
//! `data_received(&buf[..n])`, or reads straight into the buffer a
//! [`BufferedProtocol`](super::BufferedProtocol) lends
//! (`get_buffer` / `buffer_updated`): no allocation, no channel hop, no
//! copy, and an idle connection holds no buffer. Each turn of its loop:
//!
//! 1. takes what the [`Transport`] recorded (a pause, a write error,
//!    `abort`) and calls `pause_writing` if due;
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
//!    since step 1, it stores its waker so the transport wakes it; the
//!    socket's readiness wakes it through the reactor.
//!
//! After [`READ_BUDGET`] reads in one poll it yields, so one busy
//! connection cannot starve the other tasks of its worker.
//!
//! The connection ends (`connection_lost`) by a read or write error
//! (`Some(err)`), by `abort`, by `close` once flushed, or when both
//! directions saw EOF (`None`), or when the runtime drops the driver
//! mid-connection (`Some(err)`, from the runner's `Drop`). Callback order
//! is therefore always `connection_made`, then `data_received`*, then at
//! most one `eof_received`, then exactly one `connection_lost`;
//! `pause_writing`/`resume_writing` alternate in between.

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::buffered::sealed::{Callbacks, Read};
use super::buffered::StreamProtocol;
use super::lifecycle::{Connection, DEFAULT_HIGH_WATER};
use super::stream::Io;
use super::transport::{Info, Shared, StreamOut, Transport};

/// The protocol a stream's callbacks go to: the one it was made with, or
/// one given to [`Transport::set_protocol`] since. A match per callback,
/// so the common case stays a static call.
enum Current<P> {
    Own(P),
    Set(Box<dyn Callbacks>),
}

impl<P: StreamProtocol> Callbacks for Current<P> {
    fn made(&mut self, transport: Transport) {
        match self {
            Current::Own(p) => p.made(transport),
            Current::Set(p) => p.made(transport),
        }
    }
    fn receive(&mut self, read: &mut Read<'_>) -> Poll<io::Result<usize>> {
        match self {
            Current::Own(p) => p.receive(read),
            Current::Set(p) => p.receive(read),
        }
    }
    fn eof(&mut self) -> bool {
        match self {
            Current::Own(p) => p.eof(),
            Current::Set(p) => p.eof(),
        }
    }
    fn lost(&mut self, err: Option<io::Error>) {
        match self {
            Current::Own(p) => p.lost(err),
            Current::Set(p) => p.lost(err),
        }
    }
    fn pause(&mut self) {
        match self {
            Current::Own(p) => p.pause(),
            Current::Set(p) => p.pause(),
        }
    }
    fn resume(&mut self) {
        match self {
            Current::Own(p) => p.resume(),
            Current::Set(p) => p.resume(),
        }
    }
}

/// Reads per poll before the driver yields to other tasks.
pub(crate) const READ_BUDGET: usize = 16;

/// One stream connection's loop. See the module docs.
pub(crate) struct Stream<P, I> {
    protocol: Current<P>,
    io: Option<Arc<I>>,
    read_eof: bool,
    eof_sent: bool,
    /// The last read was short on a stream where that means "drained":
    /// wait for readiness before reading again.
    drained: bool,
}

impl<P: StreamProtocol, I: Io> Stream<P, I> {
    pub(crate) fn new(protocol: P, io: Arc<I>) -> Self {
        Stream {
            protocol: Current::Own(protocol),
            io: Some(io),
            read_eof: false,
            eof_sent: false,
            drained: false,
        }
    }

    /// After a read that drained the socket: if nothing changed since the
    /// turn began (the protocol's writes all went straight to the socket,
    /// no close, pause or error was recorded: all of those mark the state
    /// dirty) and reading is on, steps 1 to 5 of another pass would only
    /// find an empty buffer and then wait for readability. Do that last
    /// part at once, under one lock: register for readability (the state
    /// lock, then the source's, the documented order) and park. Returns
    /// whether it parked; `false` sends the caller round the loop.
    ///
    /// Saves two lock round trips and a flush per echoed message.
    fn park_drained(shared: &Shared, io: &I, cx: &mut Context<'_>) -> Result<bool, io::Error> {
        let mut st = shared.lock();
        if st.is_dirty() || !st.x.reading || st.closing {
            return Ok(false);
        }
        match io.poll_read_ready(cx) {
            Poll::Ready(Ok(())) => Ok(false),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => Ok(st.park(cx)),
        }
    }

    /// Writes the buffer out while the socket takes it. Returns whether
    /// `resume_writing` is due and whether everything (buffer and the
    /// stream's own buffers) is flushed.
    fn flush(shared: &Shared, io: &I, cx: &mut Context<'_>) -> io::Result<(bool, bool)> {
        let mut st = shared.lock();
        while !st.x.buf.is_empty() {
            let (a, b) = st.x.buf.as_slices();
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
                    st.x.buf.drain(..n);
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        let mut flushed = st.x.buf.is_empty();
        if flushed {
            // A burst may have grown the buffer far past the marks: give
            // the memory back.
            if st.x.buf.capacity() > 4 * st.high.max(DEFAULT_HIGH_WATER) {
                st.x.buf = Default::default();
            }
            match io.poll_flush(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => flushed = false,
            }
        }
        Ok((st.check_low(), flushed))
    }
}

impl<P: StreamProtocol, I: Io> Connection for Stream<P, I> {
    type Out = StreamOut;
    type Info = Info;
    const DROPPED: &'static str = "the connection's driver was dropped (the runtime shut down) \
                                   before the connection ended";

    fn made(&mut self, shared: &Arc<Shared>) {
        self.protocol.made(Transport {
            shared: shared.clone(),
        });
    }

    fn lost(&mut self, err: Option<io::Error>) {
        self.protocol.lost(err);
    }

    fn release(&mut self) {
        self.io = None;
    }

    /// One poll of the loop described in the module docs.
    fn turn(&mut self, shared: &Arc<Shared>, cx: &mut Context<'_>) -> Poll<Option<io::Error>> {
        let Some(io) = self.io.as_deref() else {
            return Poll::Ready(None);
        };
        let mut budget = READ_BUDGET;
        loop {
            // 1. What the transport recorded; with nothing buffered (and a
            //    stream that keeps no bytes of its own) step 2 has nothing
            //    to write, so its answer is taken under this same lock.
            let (pause, error, aborted, closing, eof_requested, reading, settled) = {
                let mut st = shared.lock();
                let pause = st.begin_turn();
                if let Some(replacement) = st.x.replacement.take() {
                    // `set_protocol`: the old protocol is dropped after
                    // unlocking, with the replacement slot emptied.
                    drop(st);
                    self.protocol = Current::Set(replacement);
                    st = shared.lock();
                }
                let settled = if st.x.buf.is_empty() && !io.needs_flush() {
                    Some(st.check_low())
                } else {
                    None
                };
                (
                    pause,
                    st.x.error.take(),
                    st.aborted,
                    st.closing,
                    st.x.eof_requested,
                    st.x.reading,
                    settled,
                )
            };
            if let Some(e) = error {
                return Poll::Ready(Some(e));
            }
            if aborted {
                return Poll::Ready(None);
            }
            if pause {
                self.protocol.pause();
            }

            // 2. Flush.
            let (resume, flushed) = match settled {
                Some(resume) => (resume, true),
                None => match Self::flush(shared, io, cx) {
                    Ok(done) => done,
                    Err(e) => return Poll::Ready(Some(e)),
                },
            };
            if resume {
                self.protocol.resume();
            }

            // 3. Close or half-close once flushed.
            if flushed && closing {
                if io.poll_close(cx).is_ready() {
                    return Poll::Ready(None);
                }
            } else if flushed && eof_requested && !self.eof_sent {
                match io.poll_shutdown_write(cx) {
                    Poll::Ready(Ok(())) => {
                        self.eof_sent = true;
                        if self.read_eof {
                            return Poll::Ready(None);
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(e)),
                    Poll::Pending => {}
                }
            }

            // 4. Read.
            if reading && !closing && !self.read_eof {
                if budget == 0 {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                if self.drained {
                    // Woken because data arrived: the reactor's readiness
                    // says so without the lock `poll_read_ready` takes (one
                    // of its two calls per echoed message). A read that
                    // then finds nothing registers the task itself.
                    if io.readable_hint() {
                        self.drained = false;
                    } else {
                        match io.poll_read_ready(cx) {
                            Poll::Ready(Ok(())) => self.drained = false,
                            Poll::Ready(Err(e)) => return Poll::Ready(Some(e)),
                            Poll::Pending => {}
                        }
                    }
                }
                let read = if self.drained {
                    Poll::Pending
                } else {
                    let drains = io.short_read_drains();
                    let mut drained = false;
                    let read = self.protocol.receive(&mut |buf| {
                        let r = io.poll_read(cx, buf);
                        if let Poll::Ready(Ok(n)) = r {
                            drained = drains && n < buf.len();
                        }
                        r
                    });
                    self.drained = drained;
                    read
                };
                match read {
                    Poll::Ready(Ok(0)) => {
                        self.read_eof = true;
                        if !self.protocol.eof() || io.eof_closes() {
                            shared.close();
                        } else if self.eof_sent {
                            return Poll::Ready(None);
                        }
                        continue;
                    }
                    Poll::Ready(Ok(_)) => {
                        budget -= 1;
                        if self.drained && budget > 0 {
                            match Self::park_drained(shared, io, cx) {
                                Ok(true) => return Poll::Pending,
                                Ok(false) => {}
                                Err(e) => return Poll::Ready(Some(e)),
                            }
                        }
                        continue;
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Some(e)),
                    Poll::Pending => {}
                }
            }

            // 5. Park, unless something changed meanwhile.
            if shared.lock().park(cx) {
                return Poll::Pending;
            }
        }
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

    use super::super::lifecycle::Runner;
    use super::super::stream::Io;
    use super::super::transport::{Info, Shared, StreamOut, Transport};
    use super::super::Protocol;
    use super::Stream;

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

    /// The transport state of a connection over `io`.
    fn mock_shared(io: &Arc<MockIo>) -> Arc<Shared> {
        let info = Info {
            peer: None,
            local: None,
            fd: -1,
            can_write_eof: true,
            eof_closes: false,
            #[cfg(feature = "tls")]
            tls: None,
        };
        Shared::new(StreamOut::new(io.clone()), info)
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
            let shared = mock_shared(&io);
            let transport = Transport {
                shared: shared.clone(),
            };
            let mut driver = Runner::new(Stream::new(Count(lost.clone()), io), shared);
            driver.announce();
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

    /// `set_protocol` then `close` from another thread: the driver always
    /// switches before it ends, so the end reaches the new protocol only.
    #[test]
    fn loom_set_protocol_from_another_thread_switches_before_the_end() {
        loom::model(|| {
            let written = Arc::new(AtomicUsize::new(0));
            let old_lost = Arc::new(AtomicUsize::new(0));
            let new_lost = Arc::new(AtomicUsize::new(0));
            let io = Arc::new(MockIo { written });
            let shared = mock_shared(&io);
            let transport = Transport {
                shared: shared.clone(),
            };
            let mut driver = Runner::new(Stream::new(Count(old_lost.clone()), io), shared);
            driver.announce();
            let replacement = Count(new_lost.clone());
            let switcher = loom::thread::spawn(move || {
                transport.set_protocol(replacement);
                transport.close();
            });
            loom::future::block_on(driver);
            switcher.join().unwrap();
            assert_eq!(old_lost.load(Ordering::SeqCst), 0);
            assert_eq!(new_lost.load(Ordering::SeqCst), 1);
        });
    }
}
