//! Event: set, clear, is_set, wait; waking everyone; asyncio's
//! set-then-clear semantics.

mod common;

use std::sync::Arc;

use common::{on_threads, Polled};
use futures_lite::future::block_on;
use tulipa_sync::Event;

#[test]
fn set_clear_and_is_set() {
    let e = Event::new();
    assert!(!e.is_set());
    e.set();
    assert!(e.is_set());
    Polled::new(e.wait()).ready();
    e.clear();
    assert!(!e.is_set());
    assert_eq!(format!("{e:?}"), "Event { is_set: false }");
    Polled::new(e.wait()).pending();
}

#[test]
fn set_wakes_every_waiter() {
    let e = Event::new();
    let mut waiters: Vec<_> = (0..3).map(|_| Polled::new(e.wait())).collect();
    for w in &mut waiters {
        w.pending();
    }
    e.set();
    for w in &mut waiters {
        assert_eq!(w.wakes(), 1);
        w.ready();
    }
}

#[test]
fn set_then_clear_still_releases_the_waiters_it_woke() {
    let e = Event::new();
    let mut w = Polled::new(e.wait());
    w.pending();
    e.set();
    e.clear();
    w.ready();
    // A new waiter after the clear waits for the next set.
    Polled::new(e.wait()).pending();
}

#[test]
fn a_dropped_waiter_takes_nothing_from_the_others() {
    let e = Event::new();
    let mut a = Polled::new(e.wait());
    let mut b = Polled::new(e.wait());
    a.pending();
    b.pending();
    drop(a);
    e.set();
    b.ready();
}

#[test]
fn setting_twice_is_harmless() {
    let e = Event::new();
    e.set();
    e.set();
    assert!(e.is_set());
}

#[test]
fn threads_blocked_on_wait_are_released_by_set() {
    let e = Arc::new(Event::new());
    let setter = {
        let e = e.clone();
        std::thread::spawn(move || e.set())
    };
    let e2 = e.clone();
    let done = on_threads(3, move |_| block_on(e2.wait()));
    setter.join().unwrap();
    assert_eq!(done.len(), 3);
}
