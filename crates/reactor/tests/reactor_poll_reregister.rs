//! The `AsyncRead`/`AsyncWrite` impls poll readiness only right after their
//! operation said `WouldBlock`; a shared registration that an event already
//! answered is then restarted instead of reported ready (which would cost
//! one more failing operation). These tests pin the operation count and
//! check that the restarted registration, and a raw `poll_readable` caller
//! sharing it, are still woken by the next data.

mod common;

use std::io::{self, Read, Write};
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

#[test]
fn a_read_after_a_consumed_event_fails_once_and_is_woken_by_new_data() {
    common::within(|| {
        let reactor = Reactor::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let reads = Arc::new(AtomicUsize::new(0));
        let mut a = Async::new_in(
            Counting {
                stream: a,
                reads: reads.clone(),
            },
            &reactor,
        )
        .unwrap();
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 16];

        for round in 0..3u8 {
            // Nothing there: one failing read, then registered.
            let before = reads.load(Ordering::SeqCst);
            assert!(Pin::new(&mut a).poll_read(&mut cx, &mut buf).is_pending());
            assert_eq!(reads.load(Ordering::SeqCst) - before, 1, "round {round}");

            let woken = flag.0.load(Ordering::SeqCst);
            b.write_all(&[round]).unwrap();
            drive_until_woken(&reactor, &flag, woken);
            let before = reads.load(Ordering::SeqCst);
            match Pin::new(&mut a).poll_read(&mut cx, &mut buf) {
                Poll::Ready(Ok(1)) => assert_eq!(buf[0], round),
                other => panic!("round {round}: expected one byte, got {other:?}"),
            }
            assert_eq!(reads.load(Ordering::SeqCst) - before, 1, "round {round}");
        }
        // The last event was used up by the successful read: the next
        // poll fails once (not twice) and waits.
        let before = reads.load(Ordering::SeqCst);
        assert!(Pin::new(&mut a).poll_read(&mut cx, &mut buf).is_pending());
        assert_eq!(reads.load(Ordering::SeqCst) - before, 1);
    });
}

#[test]
fn a_raw_poll_readable_caller_sharing_a_restarted_registration_is_woken() {
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

        // Both register on the shared read registration.
        assert!(a.poll_readable(&mut raw_cx).is_pending());
        assert!(Pin::new(&mut &a)
            .poll_read(&mut io_cx, &mut buf)
            .is_pending());
        b.write_all(b"x").unwrap();
        drive_until_woken(&reactor, &raw, 0);
        assert_eq!(io.0.load(Ordering::SeqCst), 1, "one event wakes both");

        // The data is consumed behind both callers' backs; the I/O impl
        // then fails and restarts the registration.
        let mut other = a.get_ref().try_clone().unwrap();
        other.set_nonblocking(true).unwrap();
        assert_eq!(other.read(&mut buf).unwrap(), 1);
        assert!(Pin::new(&mut &a)
            .poll_read(&mut io_cx, &mut buf)
            .is_pending());
        // The raw caller now shares the fresh registration (the readiness
        // it was woken for is known to be used up)...
        assert!(a.poll_readable(&mut raw_cx).is_pending());
        // ...and both are woken by the next data.
        let (raw_before, io_before) = (raw.0.load(Ordering::SeqCst), io.0.load(Ordering::SeqCst));
        b.write_all(b"y").unwrap();
        drive_until_woken(&reactor, &raw, raw_before);
        assert!(io.0.load(Ordering::SeqCst) > io_before);
        assert!(matches!(a.poll_readable(&mut raw_cx), Poll::Ready(Ok(()))));
        match Pin::new(&mut &a).poll_read(&mut io_cx, &mut buf) {
            Poll::Ready(Ok(1)) => assert_eq!(buf[0], b'y'),
            other => panic!("expected one byte, got {other:?}"),
        }
    });
}
