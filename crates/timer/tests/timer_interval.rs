//! Interval tick sequences for each MissedTickBehavior, checked against
//! virtual time.

mod common;

use std::time::Duration;

use common::{block_on, paused};
use tulipa_timer::{interval, interval_at, try_interval, MissedTickBehavior};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Period 10 ms from 0; ticks on time at 0 and 10, then the task stalls
/// until 35 and takes four more ticks. Returns (scheduled, taken at) pairs
/// relative to the start.
fn stalled_run(behavior: MissedTickBehavior) -> Vec<(Duration, Duration)> {
    let (driver, handle) = paused();
    block_on(&driver, async {
        let t0 = handle.now();
        let mut every = interval(ms(10));
        assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Burst);
        every.set_missed_tick_behavior(behavior);
        assert_eq!(every.missed_tick_behavior(), behavior);
        let mut seen = Vec::new();
        for _ in 0..2 {
            let at = every.tick().await;
            seen.push((at - t0, handle.now() - t0));
        }
        handle.advance(ms(25)).unwrap(); // stall: now = 35
        for _ in 0..4 {
            let at = every.tick().await;
            seen.push((at - t0, handle.now() - t0));
        }
        seen
    })
}

#[test]
fn burst_catches_up_back_to_back() {
    let want = [(0, 0), (10, 10), (20, 35), (30, 35), (40, 40), (50, 50)];
    let want: Vec<_> = want.iter().map(|&(a, b)| (ms(a), ms(b))).collect();
    assert_eq!(stalled_run(MissedTickBehavior::Burst), want);
}

#[test]
fn delay_restarts_from_the_late_tick() {
    let want = [(0, 0), (10, 10), (20, 35), (45, 45), (55, 55), (65, 65)];
    let want: Vec<_> = want.iter().map(|&(a, b)| (ms(a), ms(b))).collect();
    assert_eq!(stalled_run(MissedTickBehavior::Delay), want);
}

#[test]
fn skip_drops_missed_ticks() {
    let want = [(0, 0), (10, 10), (20, 35), (40, 40), (50, 50), (60, 60)];
    let want: Vec<_> = want.iter().map(|&(a, b)| (ms(a), ms(b))).collect();
    assert_eq!(stalled_run(MissedTickBehavior::Skip), want);
}

#[test]
fn a_late_tick_within_one_period_keeps_the_schedule() {
    for behavior in [
        MissedTickBehavior::Burst,
        MissedTickBehavior::Delay,
        MissedTickBehavior::Skip,
    ] {
        let (driver, handle) = paused();
        let ticks = block_on(&driver, async {
            let t0 = handle.now();
            let mut every = interval(ms(10));
            every.set_missed_tick_behavior(behavior);
            every.tick().await;
            handle.advance(ms(15)).unwrap(); // tick 10 taken at 15
            let late = every.tick().await - t0;
            let next = every.tick().await - t0;
            (late, next, handle.now() - t0)
        });
        assert_eq!(ticks, (ms(10), ms(20), ms(20)), "{behavior:?}");
    }
}

#[test]
fn interval_at_reset_and_period() {
    let (driver, handle) = paused();
    block_on(&driver, async {
        let t0 = handle.now();
        let mut every = interval_at(t0 + ms(100), ms(30));
        assert_eq!(every.period(), ms(30));
        assert_eq!(every.tick().await - t0, ms(100));
        assert_eq!(handle.now() - t0, ms(100));
        handle.advance(ms(5)).unwrap();
        every.reset();
        assert_eq!(every.next_tick() - t0, ms(135));
        assert_eq!(every.tick().await - t0, ms(135));
        assert_eq!(every.tick().await - t0, ms(165));
    });
}

#[test]
fn zero_period_is_an_error() {
    let err = try_interval(Duration::ZERO).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("interval period must be non-zero; "),
        "{err}"
    );
    let _: &dyn std::error::Error = &err;
    let panic = std::panic::catch_unwind(|| interval(Duration::ZERO)).unwrap_err();
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap();
    assert!(message.contains("try_interval"), "{message}");
}

#[test]
fn dropping_a_tick_future_loses_no_tick() {
    let (driver, handle) = paused();
    block_on(&driver, async {
        let t0 = handle.now();
        let mut every = interval(ms(10));
        every.tick().await;
        // Poll a tick once, then drop it (cancel) before it is due.
        assert!(futures_lite::future::poll_once(every.tick())
            .await
            .is_none());
        assert_eq!(every.tick().await - t0, ms(10));
    });
}

#[test]
fn an_interval_is_a_stream_of_ticks() {
    use futures_lite::StreamExt;
    let (driver, handle) = paused();
    block_on(&driver, async {
        let t0 = handle.now();
        let ticks: Vec<_> = interval(ms(7)).take(3).map(|t| t - t0).collect().await;
        assert_eq!(ticks, [ms(0), ms(7), ms(14)]);
    });
}
