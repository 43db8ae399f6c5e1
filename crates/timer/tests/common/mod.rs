//! Helpers shared by the timer's integration tests: a `block_on` that
//! sleeps through a `TimerDriver`, and a waker that counts wakes.

#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use tulipa_core::{Driver, MockClock, ThreadParker, Unparker};
use tulipa_timer::{TimerDriver, TimerHandle};

/// A driver on virtual time, with its handle.
pub(crate) fn paused() -> (TimerDriver<ThreadParker>, TimerHandle) {
    let driver = TimerDriver::with_clock(ThreadParker::new(), MockClock::new());
    let handle = driver.handle();
    (driver, handle)
}

struct UnparkWaker(Unparker);

impl Wake for UnparkWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to completion on this thread, parking in `driver` (with
/// its handle entered) whenever the future is pending.
pub(crate) fn block_on<D: Driver, F: Future>(driver: &TimerDriver<D>, future: F) -> F::Output {
    let _guard = driver.handle().enter();
    let waker = Waker::from(Arc::new(UnparkWaker(driver.unparker())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        assert!(driver.park(None), "the test thread must get the driver");
    }
}

/// A waker that counts how often it was woken.
#[derive(Default)]
pub(crate) struct CountingWaker(pub(crate) AtomicUsize);

impl CountingWaker {
    pub(crate) fn new() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());
        (counter, waker)
    }

    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `future` once with `waker`.
pub(crate) fn poll_with<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    std::pin::Pin::new(future).poll(&mut Context::from_waker(waker))
}
