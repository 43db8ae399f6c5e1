//! timeout and timeout_at: the Ok and Err paths on virtual time, nested
//! timeouts (the outermost expired one reports, as asyncio), no deadline,
//! and the TimeoutHandle (`when`, `reschedule`, `expired`).

mod common;

use std::future::pending;
use std::time::Duration;

use common::{block_on, paused};
use tulipa_timer::{
    sleep, timeout, timeout_at, timeout_at_with, timeout_with, Elapsed, Timeout, TimeoutHandle,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn completes_in_time() {
    let (driver, handle) = paused();
    let t0 = handle.now();
    let out = block_on(&driver, async {
        timeout(ms(100), async {
            sleep(ms(40)).await;
            7
        })
        .await
    });
    assert_eq!(out, Ok(7));
    assert_eq!(handle.now() - t0, ms(40));
    assert_eq!(handle.pending(), 0, "the deadline's timer is cancelled");
}

#[test]
fn elapses() {
    let (driver, handle) = paused();
    let t0 = handle.now();
    let out = block_on(&driver, async { timeout(ms(100), pending::<()>()).await });
    let err: Elapsed = out.unwrap_err();
    assert_eq!(err.to_string(), "deadline has elapsed");
    let _: &dyn std::error::Error = &err;
    assert_eq!(handle.now() - t0, ms(100));
    assert_eq!(handle.pending(), 0);
}

#[test]
fn timeout_at_and_accessors() {
    let (driver, handle) = paused();
    let t0 = handle.now();
    block_on(&driver, async {
        let t = timeout_at(t0 + ms(50), sleep(ms(80)));
        assert_eq!(t.when(), Some(t0 + ms(50)));
        assert_eq!(t.get_ref().deadline(), t0 + ms(80));
        assert!(t.await.is_err());
        assert_eq!(handle.now() - t0, ms(50));
        // The inner future wins a tie: it is polled first.
        assert_eq!(timeout(ms(10), sleep(ms(10))).await, Ok(()));
    });
}

#[test]
fn dropping_a_timeout_cancels_its_timer() {
    let (_driver, handle) = paused();
    let _guard = handle.enter();
    let mut t = timeout(ms(10), pending::<()>());
    let (_, waker) = common::CountingWaker::new();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(std::pin::Pin::new(&mut t).poll(&mut cx).is_pending());
    assert_eq!(handle.pending(), 1);
    drop(t);
    assert_eq!(handle.pending(), 0);
}

use std::future::Future;

#[test]
fn elapsed_converts_to_a_timed_out_io_error() {
    let (driver, _handle) = paused();
    let err = block_on(&driver, async { timeout(ms(1), pending::<()>()).await }).unwrap_err();
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
}

// ---- nested timeouts (issue 13): the outermost expired timeout reports ----

#[test]
fn nested_timeouts_with_the_same_deadline_the_outer_one_reports() {
    let (driver, handle) = paused();
    let t0 = handle.now();
    block_on(&driver, async {
        let inner = timeout(ms(100), pending::<()>());
        let inner_cm = inner.handle();
        let outer = timeout(ms(100), inner);
        let outer_cm = outer.handle();
        // Before the fix this was Ok(Err(Elapsed)): the inner error wrapped
        // in an outer Ok.
        let r: Result<Result<(), Elapsed>, Elapsed> = outer.await;
        assert!(r.is_err(), "the outer timeout reports, got {r:?}");
        assert!(outer_cm.expired());
        assert!(inner_cm.expired(), "asyncio: the inner one expired too");
    });
    assert_eq!(handle.now() - t0, ms(100));
    assert_eq!(handle.pending(), 0);
}

#[test]
fn nested_through_an_async_block_and_three_levels() {
    let (driver, handle) = paused();
    block_on(&driver, async {
        let r = timeout(ms(50), async {
            let r = timeout(ms(50), async {
                let r = timeout(ms(50), sleep(ms(500))).await;
                unreachable!("the innermost block is dropped, not resumed: {r:?}")
            })
            .await;
            unreachable!("the middle block is dropped, not resumed: {r:?}")
        })
        .await;
        assert!(r.is_err(), "the outermost reports");
    });
    assert_eq!(handle.pending(), 0);
}

#[test]
fn an_inner_timeout_that_expires_first_reports_itself() {
    let (driver, handle) = paused();
    let t0 = handle.now();
    block_on(&driver, async {
        let inner = timeout(ms(30), pending::<()>());
        let inner_cm = inner.handle();
        let outer = timeout(ms(100), inner);
        let outer_cm = outer.handle();
        assert!(matches!(outer.await, Ok(Err(_))));
        assert!(inner_cm.expired());
        assert!(!outer_cm.expired(), "the outer one finished in time");
    });
    assert_eq!(handle.now() - t0, ms(30));
}

#[test]
fn both_expired_before_the_task_resumes_the_outer_one_reports() {
    // asyncio: both timer callbacks fire before the task runs again, so the
    // task holds two cancel requests and only the outer timeout converts.
    let (_driver, handle) = paused();
    let _guard = handle.enter();
    let mut outer = timeout(ms(100), timeout(ms(30), pending::<()>()));
    let (_, waker) = common::CountingWaker::new();
    assert!(common::poll_with(&mut outer, &waker).is_pending());
    handle.advance(ms(150)).unwrap();
    match common::poll_with(&mut outer, &waker) {
        std::task::Poll::Ready(Err(_)) => {}
        other => panic!("expected the outer Elapsed, got {other:?}"),
    }
}

#[test]
fn only_the_outer_deadline_passed_the_inner_is_dropped_unexpired() {
    let (driver, _handle) = paused();
    block_on(&driver, async {
        let inner = timeout(ms(300), pending::<()>());
        let inner_cm = inner.handle();
        assert!(timeout(ms(100), inner).await.is_err());
        assert!(!inner_cm.expired());
        assert!(
            inner_cm.reschedule(None).is_err(),
            "it finished when dropped"
        );
    });
}

#[test]
fn a_timeout_that_deferred_and_is_polled_again_reports_itself() {
    let (driver, _handle) = paused();
    block_on(&driver, async {
        let mut inner = timeout(ms(20), pending::<()>());
        let r = timeout(ms(20), &mut inner).await;
        assert!(r.is_err(), "the outer reports: {r:?}");
        // The inner one outlived the outer: awaiting it again gives its own
        // error instead of hanging.
        assert!((&mut inner).await.is_err());
    });
}

#[test]
fn a_panicking_future_leaves_no_enclosing_timeout_behind() {
    let (driver, handle) = paused();
    let _guard = handle.enter();
    let boom = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut t = Box::pin(timeout(ms(5), async { panic!("inside a timeout") }));
        let (_, waker) = common::CountingWaker::new();
        let _ = t.as_mut().poll(&mut std::task::Context::from_waker(&waker));
    }));
    assert!(boom.is_err());
    // With a stale enclosing frame the timeout below would defer to it and
    // never report; it must report on its own.
    let r = block_on(&driver, async { timeout(ms(1), pending::<()>()).await });
    assert!(r.is_err());
}

// ---- no deadline, when(), reschedule(), expired() ----

#[test]
fn no_deadline_never_expires() {
    let (driver, handle) = paused();
    let t0 = handle.now();
    let out = block_on(&driver, async {
        let t = timeout(None, async {
            sleep(Duration::from_secs(3600)).await;
            1
        });
        assert_eq!(t.when(), None);
        let at = timeout_at(None, async { 2 });
        assert_eq!(at.when(), None);
        (t.await, at.await)
    });
    assert_eq!(out, (Ok(1), Ok(2)));
    assert_eq!(handle.now() - t0, Duration::from_secs(3600));
    assert_eq!(handle.pending(), 0);
}

#[test]
fn reschedule_from_inside_extends_and_shrinks_the_deadline() {
    let (driver, handle) = paused();
    let t0 = handle.now();
    block_on(&driver, async {
        // Extended twice: finishes at 90 ms though the first deadline was 50.
        let out = timeout_with(ms(50), |cm: TimeoutHandle| async move {
            for _ in 0..3 {
                sleep(ms(30)).await;
                let now = tulipa_timer::Instant::now();
                cm.reschedule(now + ms(50)).unwrap();
                assert_eq!(cm.when(), Some(now + ms(50)));
            }
            "done"
        })
        .await;
        assert_eq!(out, Ok("done"));
        assert_eq!(handle.now() - t0, ms(90));

        // Shrunk to a deadline already past: expires at the next poll.
        let t1 = handle.now();
        let t = timeout_at_with(t1 + ms(1000), |cm| async move {
            sleep(ms(10)).await;
            cm.reschedule(tulipa_timer::Instant::now()).unwrap();
            sleep(ms(1000)).await;
        });
        let cm = t.handle();
        assert!(t.await.is_err());
        assert!(cm.expired());
        assert_eq!(handle.now() - t1, ms(10));
    });
    assert_eq!(handle.pending(), 0);
}

#[test]
fn reschedule_to_none_removes_the_deadline() {
    let (driver, handle) = paused();
    let t0 = handle.now();
    let out = block_on(&driver, async {
        timeout_with(ms(10), |cm| async move {
            cm.reschedule(None).unwrap();
            sleep(ms(500)).await;
            7
        })
        .await
    });
    assert_eq!(out, Ok(7));
    assert_eq!(handle.now() - t0, ms(500));
}

#[test]
fn reschedule_from_another_future_wakes_the_timeout() {
    let (driver, handle) = paused();
    let t0 = handle.now();
    block_on(&driver, async {
        let t = timeout(Duration::from_secs(3600), pending::<()>());
        let cm = t.handle();
        let moved = async move {
            sleep(ms(20)).await;
            cm.reschedule(tulipa_timer::Instant::now() + ms(5)).unwrap();
        };
        let (r, ()) = futures_lite::future::zip(t, moved).await;
        assert!(r.is_err());
    });
    assert_eq!(handle.now() - t0, ms(25), "the new deadline, not an hour");
}

#[test]
fn an_ended_timeout_cannot_be_rescheduled() {
    let (driver, _handle) = paused();
    block_on(&driver, async {
        let t = timeout(ms(5), pending::<()>());
        let expired = t.handle();
        assert!(t.await.is_err());
        let err = expired.reschedule(None).unwrap_err();
        assert!(err.expired());
        assert!(err.to_string().contains("has expired"), "{err}");

        let t = timeout(ms(5), async {});
        let finished = t.handle();
        assert_eq!(t.await, Ok(()));
        assert!(!finished.expired());
        let err = finished.reschedule(None).unwrap_err();
        assert!(!err.expired());
        assert!(err.to_string().contains("has finished"), "{err}");
        let _: &dyn std::error::Error = &err;
    });
}

#[test]
fn timeout_handle_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<TimeoutHandle>();
    send_sync::<tulipa_timer::TimeoutEnded>();
    fn unpin<T: Unpin>() {}
    unpin::<Timeout<std::future::Pending<()>>>();
}
