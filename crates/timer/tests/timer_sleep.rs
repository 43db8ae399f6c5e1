//! Sleep on a `TimerDriver`: virtual time (auto-advance, `advance`), drop
//! cancellation, waker updates, and a real-clock sleep.

mod common;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use common::{block_on, paused, poll_with, CountingWaker};
use tulipa_core::ThreadParker;
use tulipa_timer::{sleep, sleep_until, Instant, TimerDriver, TimerHandle};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Polls every future until all are done.
async fn join_all(mut futures: Vec<Pin<Box<dyn Future<Output = ()>>>>) {
    std::future::poll_fn(move |cx| {
        futures.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if futures.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

#[test]
fn sleeps_fire_in_deadline_order_under_auto_advance() {
    let (driver, handle) = paused();
    let t0 = handle.now();
    let order = Rc::new(RefCell::new(Vec::new()));
    let durations = [500u64, 20, 3_600_000, 20, 1, 86_400_000, 64, 4097];
    block_on(&driver, async {
        let futures = durations
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let order = order.clone();
                let handle = handle.clone();
                Box::pin(async move {
                    sleep(ms(d)).await;
                    order.borrow_mut().push((i, handle.now() - t0));
                }) as Pin<Box<dyn Future<Output = ()>>>
            })
            .collect();
        join_all(futures).await;
    });
    let got = order.borrow().clone();
    let mut want: Vec<(usize, Duration)> = durations
        .iter()
        .enumerate()
        .map(|(i, &d)| (i, ms(d)))
        .collect();
    want.sort_by_key(|&(i, d)| (d, i));
    assert_eq!(
        got, want,
        "each sleep wakes at exactly its virtual deadline"
    );
    assert_eq!(handle.pending(), 0);
}

#[test]
fn advance_fires_exactly_the_due_timers() {
    let (_driver, handle) = paused();
    let _guard = handle.enter();
    let t0 = handle.now();
    let mut sleeps: Vec<_> = [10u64, 20, 30].iter().map(|&d| sleep(ms(d))).collect();
    let wakers: Vec<_> = sleeps
        .iter_mut()
        .map(|s| {
            let (count, waker) = CountingWaker::new();
            assert!(poll_with(s, &waker).is_pending());
            count
        })
        .collect();
    assert_eq!(handle.pending(), 3);

    handle.advance(ms(19)).unwrap();
    assert_eq!(
        wakers.iter().map(|w| w.count()).collect::<Vec<_>>(),
        [1, 0, 0]
    );
    handle.advance(ms(1)).unwrap();
    assert_eq!(
        wakers.iter().map(|w| w.count()).collect::<Vec<_>>(),
        [1, 1, 0]
    );
    assert_eq!(handle.pending(), 1);
    assert_eq!(handle.now() - t0, ms(20));

    let (_, waker) = CountingWaker::new();
    assert!(poll_with(&mut sleeps[0], &waker).is_ready());
    assert!(poll_with(&mut sleeps[1], &waker).is_ready());
    assert!(poll_with(&mut sleeps[2], &waker).is_pending());
    assert!(sleeps[1].is_elapsed());
    assert!(!sleeps[2].is_elapsed());
}

#[test]
fn advance_needs_paused_time() {
    let driver = TimerDriver::new(ThreadParker::new());
    let err = driver.handle().advance(ms(1)).unwrap_err();
    assert!(err.to_string().contains("not paused"), "{err}");
    assert!(!driver.handle().is_paused());
}

#[test]
fn dropping_a_sleep_cancels_it() {
    let (_driver, handle) = paused();
    let _guard = handle.enter();
    let (count, waker) = CountingWaker::new();
    let mut a = sleep(ms(100));
    let mut b = sleep(ms(200));
    assert_eq!(handle.pending(), 0, "sleeps register lazily");
    assert!(poll_with(&mut a, &waker).is_pending());
    assert!(poll_with(&mut b, &waker).is_pending());
    assert_eq!(handle.pending(), 2);
    drop(a);
    assert_eq!(handle.pending(), 1);
    handle.advance(ms(150)).unwrap();
    assert_eq!(count.count(), 0, "a dropped sleep never wakes");
    drop(b);
    assert_eq!(handle.pending(), 0);
}

#[test]
fn an_elapsed_deadline_completes_without_registering() {
    let (_driver, handle) = paused();
    let _guard = handle.enter();
    let (_, waker) = CountingWaker::new();
    let mut s = sleep_until(handle.now());
    assert!(poll_with(&mut s, &waker).is_ready());
    let mut s = sleep(Duration::ZERO);
    assert!(poll_with(&mut s, &waker).is_ready());
    assert_eq!(handle.pending(), 0);
}

#[test]
fn the_latest_waker_is_woken() {
    let (_driver, handle) = paused();
    let _guard = handle.enter();
    let (first, w1) = CountingWaker::new();
    let (second, w2) = CountingWaker::new();
    let mut s = sleep(ms(10));
    assert!(poll_with(&mut s, &w1).is_pending());
    assert!(poll_with(&mut s, &w1).is_pending());
    assert!(poll_with(&mut s, &w2).is_pending());
    assert_eq!(handle.pending(), 1);
    handle.advance(ms(10)).unwrap();
    assert_eq!((first.count(), second.count()), (0, 1));
}

#[test]
fn reset_moves_a_registered_sleep_and_keeps_its_waker() {
    let (_driver, handle) = paused();
    let _guard = handle.enter();
    let t0 = handle.now();
    let (count, waker) = CountingWaker::new();
    let mut s = sleep(ms(100));
    assert!(poll_with(&mut s, &waker).is_pending());
    s.reset(t0 + ms(10));
    assert_eq!(s.deadline(), t0 + ms(10));
    assert_eq!(handle.pending(), 1);
    handle.advance(ms(10)).unwrap();
    assert_eq!(count.count(), 1);
    assert!(poll_with(&mut s, &waker).is_ready());
    // Reset after completion: waits again.
    s.reset(t0 + ms(30));
    assert!(poll_with(&mut s, &waker).is_pending());
    handle.advance(ms(20)).unwrap();
    assert_eq!(count.count(), 2);
}

#[test]
fn instant_now_follows_the_entered_clock() {
    let (_driver, handle) = paused();
    let outside = Instant::now();
    {
        let _guard = handle.enter();
        let t0 = Instant::now();
        assert_eq!(t0, handle.now());
        handle.advance(Duration::from_secs(3600)).unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(3600));
        assert_eq!(
            TimerHandle::try_current().map(|h| h.is_paused()),
            Some(true)
        );
        // Nesting restores the outer handle.
        let (_d2, h2) = paused();
        {
            let _inner = h2.enter();
            assert_eq!(Instant::now(), h2.now());
        }
        assert_eq!(Instant::now(), handle.now());
    }
    assert!(TimerHandle::try_current().is_none());
    assert!(Instant::now() >= outside);
}

#[test]
fn a_real_sleep_completes_under_a_bare_block_on() {
    let start = std::time::Instant::now();
    futures_lite::future::block_on(sleep(ms(20)));
    assert!(start.elapsed() >= ms(20));
    assert!(!TimerHandle::current().is_paused());
}

#[test]
fn a_real_sleep_completes_on_a_timer_driver() {
    let driver = TimerDriver::new(ThreadParker::new());
    let start = std::time::Instant::now();
    block_on(&driver, sleep(ms(20)));
    assert!(start.elapsed() >= ms(20));
    assert_eq!(driver.handle().pending(), 0);
}
