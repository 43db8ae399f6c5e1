//! The TimerDriver's virtual-time park: auto-advance, the idle probe, and
//! non-blocking parks.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{paused, poll_with, CountingWaker};
use tulipa_core::Driver;
use tulipa_timer::sleep;

#[test]
fn park_auto_advances_to_the_earliest_deadline() {
    let (driver, handle) = paused();
    let _guard = handle.enter();
    let t0 = handle.now();
    let (count, waker) = CountingWaker::new();
    let mut later = sleep(Duration::from_secs(90));
    let mut sooner = sleep(Duration::from_secs(30));
    assert!(poll_with(&mut later, &waker).is_pending());
    assert!(poll_with(&mut sooner, &waker).is_pending());

    assert!(driver.park(None));
    assert_eq!(handle.now() - t0, Duration::from_secs(30));
    assert_eq!(count.count(), 1);
    assert!(driver.park(None));
    assert_eq!(handle.now() - t0, Duration::from_secs(90));
    assert_eq!(count.count(), 2);
    assert_eq!(handle.pending(), 0);
}

#[test]
fn a_zero_timeout_park_never_moves_time() {
    let (driver, handle) = paused();
    let _guard = handle.enter();
    let t0 = handle.now();
    let (count, waker) = CountingWaker::new();
    let mut s = sleep(Duration::from_secs(1));
    assert!(poll_with(&mut s, &waker).is_pending());
    assert!(driver.park(Some(Duration::ZERO)));
    assert_eq!(handle.now(), t0);
    assert_eq!(count.count(), 0);
}

#[test]
fn the_idle_probe_can_hold_time_still() {
    let (driver, handle) = paused();
    let _guard = handle.enter();
    let busy = Arc::new(AtomicBool::new(true));
    let probe_busy = busy.clone();
    driver.set_idle_probe(Arc::new(move || !probe_busy.load(Ordering::SeqCst)));
    let t0 = handle.now();
    let (count, waker) = CountingWaker::new();
    let mut s = sleep(Duration::from_secs(1));
    assert!(poll_with(&mut s, &waker).is_pending());

    // Not idle: parks for the caller's (real) timeout; time stays put.
    assert!(driver.park(Some(Duration::from_millis(1))));
    assert_eq!(handle.now(), t0);
    assert_eq!(count.count(), 0);

    busy.store(false, Ordering::SeqCst);
    assert!(driver.park(None));
    assert_eq!(handle.now() - t0, Duration::from_secs(1));
    assert_eq!(count.count(), 1);
}

#[test]
fn a_timer_registered_while_parked_idle_unparks_for_auto_advance() {
    let (driver, handle) = paused();
    let driver = Arc::new(driver);
    let t0 = handle.now();
    let parker = {
        let driver = driver.clone();
        let handle = handle.clone();
        // No timers yet: the first park blocks until a timer arrives.
        std::thread::spawn(move || {
            while handle.now() == t0 {
                assert!(driver.park(None));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(10));
    let _guard = handle.enter();
    let (count, waker) = CountingWaker::new();
    let mut s = sleep(Duration::from_secs(5));
    assert!(poll_with(&mut s, &waker).is_pending());
    parker.join().unwrap();
    assert_eq!(handle.now() - t0, Duration::from_secs(5));
    assert_eq!(count.count(), 1);
}
