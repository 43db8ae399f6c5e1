//! The `Driver` contract, as executors rely on it, and `enter`/`current`.

mod common;

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::{within, LIMIT};
use tulipa_core::Driver;
use tulipa_reactor::Reactor;

#[test]
fn park_with_timeout_returns() {
    let reactor = Reactor::new().unwrap();
    let start = Instant::now();
    assert!(reactor.park(Some(Duration::from_millis(20))));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(15), "returned after {took:?}");
    assert!(took < LIMIT);
    assert!(reactor.park(Some(Duration::ZERO)));
}

#[test]
fn unpark_from_another_thread_wakes_park_none() {
    within(|| {
        let reactor = Reactor::new().unwrap();
        let unparker = reactor.unparker();
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            unparker.unpark();
        });
        assert!(reactor.park(None));
        t.join().unwrap();
    });
}

#[test]
fn unpark_before_park_is_not_lost() {
    within(|| {
        let reactor = Reactor::new().unwrap();
        reactor.unparker().unpark();
        // Must return at once, not sleep forever.
        assert!(reactor.park(None));
        // The wakeup is consumed: the next park with a timeout sleeps.
        let start = Instant::now();
        assert!(reactor.park(Some(Duration::from_millis(20))));
        assert!(start.elapsed() >= Duration::from_millis(15));
    });
}

#[test]
fn concurrent_park_returns_false() {
    within(|| {
        let reactor = Reactor::new().unwrap();
        let holder = {
            let (reactor, (tx, rx)) = (reactor.clone(), mpsc::channel());
            let t = thread::spawn(move || {
                tx.send(()).unwrap();
                reactor.park(None)
            });
            rx.recv().unwrap();
            t
        };
        let mut refused = false;
        for _ in 0..2000 {
            let start = Instant::now();
            if !reactor.park(Some(Duration::ZERO)) {
                assert!(
                    start.elapsed() < Duration::from_secs(1),
                    "refusal must be immediate"
                );
                refused = true;
                break;
            }
            thread::sleep(Duration::from_millis(1));
        }
        reactor.unparker().unpark();
        assert!(holder.join().unwrap());
        assert!(
            refused,
            "a park while another thread holds the driver must return false"
        );
    });
}

#[test]
fn driver_trait_object_and_arc() {
    let reactor: Arc<dyn Driver> = Arc::new(Reactor::new().unwrap());
    reactor.unparker().unpark();
    assert!(reactor.park(None));
}

#[test]
fn enter_nests_and_restores() {
    let outer = Reactor::new().unwrap();
    let inner = Reactor::new().unwrap();
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    assert!(Reactor::try_current().is_none());
    {
        let _g1 = outer.enter();
        {
            let _g2 = inner.enter();
            let _a = tulipa_reactor::Async::new(a).unwrap();
            // `Async::new` registered with the entered reactor.
            assert_eq!(inner.source_count(), 1);
            assert_eq!(outer.source_count(), 0);
        }
        assert_eq!(inner.source_count(), 0);
        let current = Reactor::try_current().unwrap();
        let (c, _d) = std::os::unix::net::UnixStream::pair().unwrap();
        let _c = tulipa_reactor::Async::new_in(c, &current).unwrap();
        assert_eq!(outer.source_count(), 1);
    }
    assert!(Reactor::try_current().is_none());
    // Not entered: `current` is the global reactor.
    let _ = Reactor::current();
    // Other threads do not see this thread's entered reactor.
    let _g = outer.enter();
    thread::spawn(|| assert!(Reactor::try_current().is_none()))
        .join()
        .unwrap();
}
