//! timeout and timeout_at: the Ok and Err paths on virtual time.

mod common;

use std::future::pending;
use std::time::Duration;

use common::{block_on, paused};
use tulipa_timer::{sleep, timeout, timeout_at, Elapsed};

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
        assert_eq!(t.deadline(), t0 + ms(50));
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
