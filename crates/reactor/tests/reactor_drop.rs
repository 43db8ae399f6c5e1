//! Registrations are freed on drop and their slots reused.

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::task::Poll;
use std::thread;
use std::time::Duration;

use common::{within, Driven};
use futures_lite::future;
use tulipa_reactor::{Async, Reactor};

#[test]
fn drop_frees_the_registration() {
    let reactor = Reactor::new().unwrap();
    assert_eq!(reactor.source_count(), 0);
    let mut kept = Vec::new();
    for i in 0..10 {
        let (a, b) = UnixStream::pair().unwrap();
        kept.push((Async::new_in(a, &reactor).unwrap(), b));
        assert_eq!(reactor.source_count(), i + 1);
    }
    kept.truncate(3);
    assert_eq!(reactor.source_count(), 3);
    drop(kept);
    assert_eq!(reactor.source_count(), 0);
}

#[test]
fn churn_reuses_slots_and_keeps_count_exact() {
    let reactor = Reactor::new().unwrap();
    let (keep, _peer) = UnixStream::pair().unwrap();
    let keep = Async::new_in(keep, &reactor).unwrap();
    for _ in 0..1000 {
        let (a, _b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &reactor).unwrap();
        assert_eq!(reactor.source_count(), 2);
        drop(a);
    }
    assert_eq!(reactor.source_count(), 1);
    drop(keep);
    assert_eq!(reactor.source_count(), 0);
}

#[test]
fn a_reused_slot_does_not_inherit_old_readiness() {
    // The old source becomes readable and is dropped with a waiter armed;
    // the new source in the same slot must not be woken by it.
    within(|| {
        let driven = Driven::new();
        let (old, mut old_peer) = UnixStream::pair().unwrap();
        let old = Async::new_in(old, &driven.reactor).unwrap();
        let mut waiter = Box::pin(old.readable());
        future::block_on(future::poll_fn(|cx| {
            assert!(std::future::Future::poll(waiter.as_mut(), cx).is_pending());
            Poll::Ready(())
        }));
        old_peer.write_all(b"x").unwrap();
        drop(waiter);
        drop(old);

        let (new, mut new_peer) = UnixStream::pair().unwrap();
        let new = Async::new_in(new, &driven.reactor).unwrap();
        assert_eq!(driven.reactor.source_count(), 1);
        let mut fut = Box::pin(new.readable());
        let mut polls = 0;
        future::block_on(future::poll_fn(|cx| {
            polls += 1;
            let p = std::future::Future::poll(fut.as_mut(), cx);
            if polls == 1 {
                assert!(p.is_pending());
                thread::sleep(Duration::from_millis(50));
                // Give the driver a chance to deliver anything stale: the
                // future must still be pending before the peer writes.
                assert!(std::future::Future::poll(fut.as_mut(), cx).is_pending());
                new_peer.write_all(b"y").unwrap();
            }
            p
        }))
        .unwrap();
    });
}

#[test]
fn drop_while_driver_is_parked() {
    within(|| {
        let driven = Driven::new();
        for _ in 0..100 {
            let (a, mut b) = UnixStream::pair().unwrap();
            let a = Async::new_in(a, &driven.reactor).unwrap();
            let mut w = Box::pin(a.readable());
            future::block_on(future::poll_fn(|cx| {
                let _ = std::future::Future::poll(w.as_mut(), cx);
                Poll::Ready(())
            }));
            b.write_all(b"x").unwrap();
            drop(w);
            drop(a);
        }
        assert_eq!(driven.reactor.source_count(), 0);
    });
}
