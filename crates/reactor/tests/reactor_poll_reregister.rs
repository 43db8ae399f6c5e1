//! Readiness is registered once (edge-triggered) and remembered per
//! direction: an operation runs while its direction reads ready, and its
//! `WouldBlock` (or, on a byte stream, a short read) clears the readiness
//! it saw. These tests pin the operation counts that design promises and
//! check that nothing waits for an edge that already came.

mod common;

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_lite::io::AsyncRead;
use tulipa_core::Driver;
use tulipa_reactor::{Async, Reactor};

/// A stream that counts its read calls.
struct Counting {
    stream: UnixStream,
    reads: Arc<AtomicUsize>,
}

impl AsFd for Counting {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.stream.read(buf)
    }
}

/// Counts its wakeups.
#[derive(Default)]
struct Flag(AtomicUsize);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Parks `reactor` until `flag` counts more than `before` wakeups. Each
/// park returns with an event here (data is already written), so the
/// loop is bounded by count, not time.
fn drive_until_woken(reactor: &Reactor, flag: &Flag, before: usize) {
    for _ in 0..100 {
        if flag.0.load(Ordering::SeqCst) > before {
            return;
        }
        assert!(reactor.park(None));
    }
    panic!("not woken after 100 turns: lost wakeup");
}

fn counting_pair(reactor: &Reactor) -> (Async<Counting>, UnixStream, Arc<AtomicUsize>) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let reads = Arc::new(AtomicUsize::new(0));
    let a = Async::new_in(
        Counting {
            stream: a,
            reads: reads.clone(),
        },
        reactor,
    )
    .unwrap();
    (a, b, reads)
}

#[test]
fn a_read_that_found_nothing_waits_without_reading_again() {
    common::within(|| {
        let reactor = Reactor::new().unwrap();
        let (mut a, mut b, reads) = counting_pair(&reactor);
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 16];

        // A fresh source is tried once; its `WouldBlock` clears readiness.
        assert!(Pin::new(&mut a).poll_read(&mut cx, &mut buf).is_pending());
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // Polled again with no event in between: no read at all, even after
        // a turn that reports it writable only.
        reactor.park(Some(std::time::Duration::ZERO));
        assert!(Pin::new(&mut a).poll_read(&mut cx, &mut buf).is_pending());
        assert_eq!(reads.load(Ordering::SeqCst), 1);

        for round in 0..3u8 {
            let woken = flag.0.load(Ordering::SeqCst);
            b.write_all(&[round]).unwrap();
            drive_until_woken(&reactor, &flag, woken);
            let before = reads.load(Ordering::SeqCst);
            match Pin::new(&mut a).poll_read(&mut cx, &mut buf) {
                Poll::Ready(Ok(1)) => assert_eq!(buf[0], round),
                other => panic!("round {round}: expected one byte, got {other:?}"),
            }
            assert_eq!(reads.load(Ordering::SeqCst) - before, 1, "round {round}");
            // Not marked a byte stream: the short read proves nothing, so
            // the next poll reads once, fails, and waits.
            let before = reads.load(Ordering::SeqCst);
            assert!(Pin::new(&mut a).poll_read(&mut cx, &mut buf).is_pending());
            assert_eq!(reads.load(Ordering::SeqCst) - before, 1, "round {round}");
        }
    });
}

#[test]
fn on_a_byte_stream_a_short_read_skips_the_failing_read() {
    common::within(|| {
        let reactor = Reactor::new().unwrap();
        let drains = reactor.backend() == "epoll";
        let (mut a, mut b, reads) = counting_pair(&reactor);
        a.set_byte_stream();
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 16];
        assert!(Pin::new(&mut a).poll_read(&mut cx, &mut buf).is_pending());

        for round in 0..3u8 {
            let woken = flag.0.load(Ordering::SeqCst);
            b.write_all(&[round, round]).unwrap();
            drive_until_woken(&reactor, &flag, woken);
            let before = reads.load(Ordering::SeqCst);
            assert!(matches!(
                Pin::new(&mut a).poll_read(&mut cx, &mut buf),
                Poll::Ready(Ok(2))
            ));
            assert!(Pin::new(&mut a).poll_read(&mut cx, &mut buf).is_pending());
            // Two bytes of sixteen: drained, so one read, not two (on the
            // portable backend, which cannot report a half-close apart
            // from data, the shortcut is off and it takes two).
            let expected = if drains { 1 } else { 2 };
            assert_eq!(reads.load(Ordering::SeqCst) - before, expected);
        }
    });
}

#[test]
fn data_and_end_of_file_in_one_event_are_both_read() {
    common::within(|| {
        let reactor = Reactor::new().unwrap();
        let (mut a, mut b, _reads) = counting_pair(&reactor);
        a.set_byte_stream();
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 16];
        assert!(Pin::new(&mut a).poll_read(&mut cx, &mut buf).is_pending());

        // Data and the FIN arrive before the reactor turns: one edge.
        b.write_all(b"abc").unwrap();
        b.shutdown(Shutdown::Write).unwrap();
        drive_until_woken(&reactor, &flag, 0);
        assert!(matches!(
            Pin::new(&mut a).poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(3))
        ));
        // The short read must not hide the end-of-file behind an edge that
        // will never come.
        assert!(matches!(
            Pin::new(&mut a).poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(0))
        ));
    });
}

#[test]
fn a_raw_poll_readable_caller_is_ready_once_per_event() {
    common::within(|| {
        let reactor = Reactor::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &reactor).unwrap();
        let raw = Arc::new(Flag::default());
        let raw_waker = Waker::from(raw.clone());
        let mut raw_cx = Context::from_waker(&raw_waker);
        let io = Arc::new(Flag::default());
        let io_waker = Waker::from(io.clone());
        let mut io_cx = Context::from_waker(&io_waker);
        let mut buf = [0u8; 16];

        // Before the first event readiness is only assumed, so a raw
        // poller (which may use readiness as a signal) asks the kernel:
        // nothing to read, so it waits.
        assert!(a.poll_readable(&mut raw_cx).is_pending());
        assert!(Pin::new(&mut &a)
            .poll_read(&mut io_cx, &mut buf)
            .is_pending());

        b.write_all(b"x").unwrap();
        drive_until_woken(&reactor, &raw, 0);
        assert_eq!(io.0.load(Ordering::SeqCst), 1, "one event wakes both");
        assert!(matches!(a.poll_readable(&mut raw_cx), Poll::Ready(Ok(()))));
        // The caller reads; coming back at the same tick (as if its next
        // read failed) means the readiness was used up.
        assert_eq!(a.get_ref().read(&mut buf).unwrap(), 1);
        assert!(a.poll_readable(&mut raw_cx).is_pending());
        b.write_all(b"w").unwrap();
        drive_until_woken(&reactor, &raw, 1);
        assert!(matches!(a.poll_readable(&mut raw_cx), Poll::Ready(Ok(()))));

        // The data is consumed behind the I/O impl's back: it fails once
        // and waits again, and both callers are woken by the next data.
        let mut other = a.get_ref().try_clone().unwrap();
        other.set_nonblocking(true).unwrap();
        assert_eq!(other.read(&mut buf).unwrap(), 1);
        assert!(Pin::new(&mut &a)
            .poll_read(&mut io_cx, &mut buf)
            .is_pending());
        assert!(a.poll_readable(&mut raw_cx).is_pending());
        let (raw_before, io_before) = (raw.0.load(Ordering::SeqCst), io.0.load(Ordering::SeqCst));
        b.write_all(b"y").unwrap();
        drive_until_woken(&reactor, &raw, raw_before);
        assert!(io.0.load(Ordering::SeqCst) > io_before);
        match Pin::new(&mut &a).poll_read(&mut io_cx, &mut buf) {
            Poll::Ready(Ok(1)) => assert_eq!(buf[0], b'y'),
            other => panic!("expected one byte, got {other:?}"),
        }
    });
}

#[test]
fn readable_asks_the_kernel_before_trusting_used_up_readiness() {
    common::within(|| {
        let reactor = Reactor::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &reactor).unwrap();
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        // Readiness is assumed for a fresh source, but nothing is there:
        // `readable()` asks the kernel and waits instead of spinning.
        let mut readable = Box::pin(a.readable());
        assert!(readable.as_mut().poll(&mut cx).is_pending());
        b.write_all(b"z").unwrap();
        drive_until_woken(&reactor, &flag, 0);
        assert!(matches!(
            readable.as_mut().poll(&mut cx),
            Poll::Ready(Ok(()))
        ));
        drop(readable);
        // Still there: a new `readable()` resolves at once...
        let mut again = Box::pin(a.readable());
        assert!(matches!(again.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
        drop(again);
        // ...but once it is read behind the reactor's back, `readable()`
        // asks the kernel, finds nothing, and waits instead of spinning.
        let mut buf = [0u8; 4];
        assert_eq!(a.get_ref().read(&mut buf).unwrap(), 1);
        let mut third = Box::pin(a.readable());
        assert!(third.as_mut().poll(&mut cx).is_pending());
        b.write_all(b"q").unwrap();
        drive_until_woken(&reactor, &flag, 1);
        assert!(matches!(third.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    });
}

/// A connected loopback TCP pair: the reactor's end marked a TCP stream,
/// and the peer.
#[cfg(target_os = "linux")]
fn tcp_pair(reactor: &Reactor) -> (Async<std::net::TcpStream>, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (a, _) = listener.accept().unwrap();
    let a = Async::new_in(a, reactor).unwrap();
    a.set_tcp_stream();
    (a, peer)
}

/// A reactor, a TCP pair on it (see [`tcp_pair`]), and a waker that
/// counts its wakes.
#[cfg(target_os = "linux")]
fn tcp_fixture() -> (
    Reactor,
    Async<std::net::TcpStream>,
    std::net::TcpStream,
    Arc<Flag>,
    Waker,
) {
    let reactor = Reactor::new().unwrap();
    let (a, peer) = tcp_pair(&reactor);
    let flag = Arc::new(Flag::default());
    let waker = Waker::from(flag.clone());
    (reactor, a, peer, flag, waker)
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_tcp_stream_a_read_that_fills_the_buffer_and_empties_the_socket_waits_for_the_next_event() {
    common::within(|| {
        let (reactor, a, mut peer, flag, waker) = tcp_fixture();
        peer.set_nodelay(true).unwrap();
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 4];
        assert!(Pin::new(&mut &a).poll_read(&mut cx, &mut buf).is_pending());

        for round in 0..3u8 {
            let woken = flag.0.load(Ordering::SeqCst);
            peer.write_all(&[round; 4]).unwrap();
            drive_until_woken(&reactor, &flag, woken);
            // Exactly the buffer's size: the count alone cannot say the
            // socket is empty; the kernel's hint does.
            match Pin::new(&mut &a).poll_read(&mut cx, &mut buf) {
                Poll::Ready(Ok(4)) => assert_eq!(buf, [round; 4]),
                other => panic!("round {round}: expected four bytes, got {other:?}"),
            }
            // The next message is already queued on loopback, but no event
            // has been dispatched for it: a reader that kept the readiness
            // (and would have paid a failing read had it not been there)
            // reads it now; the drained one waits for the event.
            peer.write_all(&[round + 100; 4]).unwrap();
            let woken = flag.0.load(Ordering::SeqCst);
            assert!(
                Pin::new(&mut &a).poll_read(&mut cx, &mut buf).is_pending(),
                "round {round}: the read that emptied the socket left it marked ready"
            );
            drive_until_woken(&reactor, &flag, woken);
            match Pin::new(&mut &a).poll_read(&mut cx, &mut buf) {
                Poll::Ready(Ok(4)) => assert_eq!(buf, [round + 100; 4]),
                other => panic!("round {round}: expected the second message, got {other:?}"),
            }
            assert!(Pin::new(&mut &a).poll_read(&mut cx, &mut buf).is_pending());
        }
    });
}

#[cfg(target_os = "linux")]
#[test]
fn on_a_tcp_stream_an_exact_read_before_the_fin_does_not_hide_the_end_of_file() {
    common::within(|| {
        let (reactor, a, mut peer, flag, waker) = tcp_fixture();
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 3];
        assert!(Pin::new(&mut &a).poll_read(&mut cx, &mut buf).is_pending());

        // Data and the FIN arrive before the reactor turns: one edge.
        peer.write_all(b"abc").unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        drive_until_woken(&reactor, &flag, 0);
        assert!(matches!(
            Pin::new(&mut &a).poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(3))
        ));
        // The read emptied the socket of data, but the FIN is still there:
        // the kernel reports a byte left, so the end of file is read now.
        assert!(matches!(
            Pin::new(&mut &a).poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(0))
        ));
    });
}

/// Writes on a TCP stream go to the kernel directly (`send`, `writev`):
/// bytes arrive whole and in order, a full socket waits for writability
/// and resumes on it, and a write to a closed peer fails (with
/// `MSG_NOSIGNAL`: no SIGPIPE even where it is not ignored).
#[cfg(target_os = "linux")]
#[test]
fn on_a_tcp_stream_writes_keep_order_wait_when_full_and_fail_once_the_peer_is_gone() {
    use futures_lite::io::AsyncWrite;
    use std::io::IoSlice;
    common::within(|| {
        let (reactor, a, mut peer, flag, waker) = tcp_fixture();
        let mut cx = Context::from_waker(&waker);

        let slices = [IoSlice::new(b"ab"), IoSlice::new(b"cd"), IoSlice::new(b"e")];
        match Pin::new(&mut &a).poll_write_vectored(&mut cx, &slices) {
            Poll::Ready(Ok(5)) => {}
            other => panic!("expected the 5 bytes of a writev, got {other:?}"),
        }
        assert!(matches!(
            Pin::new(&mut &a).poll_write(&mut cx, b"fg"),
            Poll::Ready(Ok(2))
        ));
        let mut got = [0u8; 7];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abcdefg");

        // Fill the socket until the kernel takes no more.
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0usize;
        let mut writes = 0;
        loop {
            writes += 1;
            assert!(writes < 10_000, "the socket never filled up");
            match Pin::new(&mut &a).poll_write(&mut cx, &chunk) {
                Poll::Ready(Ok(n)) => sent += n,
                Poll::Ready(Err(e)) => panic!("write failed: {e}"),
                Poll::Pending => break,
            }
        }
        // The peer drains everything: writability comes back as an event.
        let woken = flag.0.load(Ordering::SeqCst);
        let mut drained = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        while drained < sent {
            let n = peer.read(&mut buf).unwrap();
            assert!(
                buf[..n].iter().all(|&b| b == 7),
                "a byte changed on the way"
            );
            drained += n;
        }
        drive_until_woken(&reactor, &flag, woken);
        assert!(matches!(
            Pin::new(&mut &a).poll_write(&mut cx, b"h"),
            Poll::Ready(Ok(1))
        ));

        // The peer goes away: the write errors (reset or broken pipe)
        // within a few tries, and the process lives on.
        drop(peer);
        let mut failed = None;
        for _ in 0..100 {
            match Pin::new(&mut &a).poll_write(&mut cx, b"late") {
                Poll::Ready(Err(e)) => {
                    failed = Some(e);
                    break;
                }
                Poll::Ready(Ok(_)) => std::thread::sleep(std::time::Duration::from_millis(5)),
                Poll::Pending => {
                    let woken = flag.0.load(Ordering::SeqCst);
                    drive_until_woken(&reactor, &flag, woken);
                }
            }
        }
        let e = failed.expect("writes to a closed peer kept succeeding");
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "unexpected error: {e}"
        );
    });
}

#[test]
fn poll_read_with_runs_the_operation_only_while_ready() {
    common::within(|| {
        let reactor = Reactor::new().unwrap();
        let (a, mut b, reads) = counting_pair(&reactor);
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 16];
        let read = |cx: &mut Context<'_>, buf: &mut [u8]| {
            a.poll_read_with(cx, |c| {
                c.reads.fetch_add(1, Ordering::SeqCst);
                (&c.stream).read(buf)
            })
        };

        // Assumed ready at first: one try, whose `WouldBlock` clears it.
        assert!(read(&mut cx, &mut buf).is_pending());
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // No event since: polling again runs nothing.
        assert!(read(&mut cx, &mut buf).is_pending());
        assert!(read(&mut cx, &mut buf).is_pending());
        assert_eq!(reads.load(Ordering::SeqCst), 1);

        for round in 0..3u8 {
            let woken = flag.0.load(Ordering::SeqCst);
            b.write_all(&[round]).unwrap();
            drive_until_woken(&reactor, &flag, woken);
            let before = reads.load(Ordering::SeqCst);
            match read(&mut cx, &mut buf) {
                Poll::Ready(Ok(1)) => assert_eq!(buf[0], round),
                other => panic!("round {round}: expected one byte, got {other:?}"),
            }
            // Then one failing try, and none after it.
            assert!(read(&mut cx, &mut buf).is_pending());
            assert!(read(&mut cx, &mut buf).is_pending());
            assert_eq!(reads.load(Ordering::SeqCst) - before, 2, "round {round}");
        }
    });
}
