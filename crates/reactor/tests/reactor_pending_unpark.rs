//! Regression: a non-blocking turn (what busy executors do every few dozen
//! tasks) consumed a pending unpark, so the thread about to block in the
//! reactor slept through it.

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use tulipa_core::Driver;
use tulipa_reactor::{Async, Reactor};

#[test]
fn a_zero_timeout_park_keeps_a_pending_unpark() {
    let reactor = Reactor::new().unwrap();
    // With a source registered the reactor really polls the OS.
    let (a, _b) = UnixStream::pair().unwrap();
    let _a = Async::new_in(a, &reactor).unwrap();
    reactor.unparker().unpark();
    assert!(reactor.park(Some(Duration::ZERO)));
    let start = Instant::now();
    // The 30 s bound only keeps a regression from hanging the suite.
    assert!(reactor.park(Some(Duration::from_secs(30))));
    assert!(start.elapsed() < Duration::from_secs(30));
}
