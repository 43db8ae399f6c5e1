//! An unpark skips the poller's notification while no thread is blocked
//! in it; these tests hammer the handshake that makes that safe: every
//! unpark must end a blocking park (the one in progress or the next one),
//! whatever the interleaving.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use common::within;
use tulipa_core::Driver;
use tulipa_reactor::Reactor;

/// One thread parks with no timeout until a flag is set; another sets it
/// and unparks, many times. A lost unpark hangs the parking thread (and
/// `within` fails the test).
#[test]
fn no_unpark_is_lost_between_two_threads() {
    within(|| {
        let reactor = Reactor::new().unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let (ack_tx, ack_rx) = mpsc::channel();
        let parker = {
            let (reactor, flag) = (reactor.clone(), flag.clone());
            thread::spawn(move || {
                for _ in 0..20_000 {
                    let mut parks = 0usize;
                    while !flag.swap(false, Ordering::SeqCst) {
                        assert!(reactor.park(None));
                        parks += 1;
                    }
                    ack_tx.send(parks).unwrap();
                }
            })
        };
        let unparker = reactor.unparker();
        for _ in 0..20_000 {
            flag.store(true, Ordering::SeqCst);
            unparker.unpark();
            ack_rx.recv().unwrap();
        }
        parker.join().unwrap();
    });
}

/// Mixes non-blocking turns (which must not eat an unpark) and blocking
/// parks on the parking side.
#[test]
fn non_blocking_turns_do_not_eat_unparks() {
    within(|| {
        let reactor = Reactor::new().unwrap();
        let pending = Arc::new(AtomicUsize::new(0));
        let (ack_tx, ack_rx) = mpsc::channel::<()>();
        let parker = {
            let (reactor, pending) = (reactor.clone(), pending.clone());
            thread::spawn(move || {
                for i in 0..10_000usize {
                    if i % 3 == 0 {
                        assert!(reactor.park(Some(std::time::Duration::ZERO)));
                    }
                    while pending.load(Ordering::SeqCst) == 0 {
                        assert!(reactor.park(None));
                    }
                    pending.fetch_sub(1, Ordering::SeqCst);
                    ack_tx.send(()).unwrap();
                }
            })
        };
        let unparker = reactor.unparker();
        for _ in 0..10_000 {
            pending.fetch_add(1, Ordering::SeqCst);
            unparker.unpark();
            ack_rx.recv().unwrap();
        }
        parker.join().unwrap();
    });
}
