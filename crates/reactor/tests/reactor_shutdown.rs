//! Shutting a reactor down wakes every waiter with an error.

mod common;

use std::future::Future;
use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Barrier};
use std::task::Poll;
use std::thread;

use common::{within, Driven};
use futures_lite::{future, AsyncReadExt};
use tulipa_reactor::{Async, Reactor};

fn assert_shutdown_error(e: &std::io::Error) {
    assert_eq!(e.kind(), ErrorKind::Other);
    assert!(e.to_string().contains("shut down"), "message: {e}");
}

#[test]
fn shutdown_wakes_every_waiter_with_an_error() {
    const WAITERS: usize = 8;
    within(|| {
        let driven = Driven::new();
        let (a, _b) = UnixStream::pair().unwrap();
        let a = Arc::new(Async::new_in(a, &driven.reactor).unwrap());
        let barrier = Arc::new(Barrier::new(WAITERS + 1));
        let waiters: Vec<_> = (0..WAITERS)
            .map(|i| {
                let (a, barrier) = (a.clone(), barrier.clone());
                thread::spawn(move || {
                    let mut fut = Box::pin(async {
                        if i % 2 == 0 {
                            a.readable().await
                        } else {
                            let mut buf = [0; 1];
                            (&*a).read(&mut buf).await.map(drop)
                        }
                    });
                    // Register, then let the main thread shut down.
                    future::block_on(future::poll_fn(|cx| {
                        assert!(fut.as_mut().poll(cx).is_pending());
                        Poll::Ready(())
                    }));
                    barrier.wait();
                    future::block_on(fut)
                })
            })
            .collect();
        barrier.wait();
        driven.reactor.shutdown();
        assert!(driven.reactor.is_shutdown());
        for w in waiters {
            assert_shutdown_error(&w.join().unwrap().unwrap_err());
        }
        // Waits started after shutdown fail at once.
        assert_shutdown_error(&future::block_on(a.writable()).unwrap_err());
        assert_shutdown_error(
            &future::block_on(future::poll_fn(|cx| a.poll_readable(cx))).unwrap_err(),
        );
    });
}

#[test]
fn registering_after_shutdown_fails() {
    let reactor = Reactor::new().unwrap();
    reactor.shutdown();
    reactor.shutdown();
    let (a, _b) = UnixStream::pair().unwrap();
    let err = Async::new_in(a, &reactor).unwrap_err();
    assert_shutdown_error(&err);
    assert_eq!(reactor.source_count(), 0);
}

#[test]
fn ready_operations_still_succeed_after_shutdown() {
    use std::io::Write;
    let reactor = Reactor::new().unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let a = Async::new_in(a, &reactor).unwrap();
    b.write_all(b"x").unwrap();
    reactor.shutdown();
    let mut buf = [0; 1];
    let n = future::block_on(a.read_with(|mut s| std::io::Read::read(&mut s, &mut buf))).unwrap();
    assert_eq!(n, 1);
    drop(a);
    assert_eq!(reactor.source_count(), 0);
}
