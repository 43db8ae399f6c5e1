//! Work that runs inside a waker: the crate's two pieces of background
//! work (the signal dispatcher and the orphan reaper) are *reactor
//! callbacks*, not tasks.
//!
//! A [`ReactorTask`] is an `Arc` that implements [`Wake`]: waking it polls
//! its state right there, on the waking thread, with itself as the waker.
//! Registered with the process-wide reactor (`tulipa_reactor::Reactor::global`),
//! it is woken by that reactor's own thread when one of its descriptors
//! becomes ready. So the work needs no runtime, survives every runtime's
//! shutdown, and costs no thread of its own; the price is that the work
//! must be short and non-blocking (a `read` of an eventfd, a few
//! `waitpid(pid, WNOHANG)` calls, an `epoll_ctl`), because it runs on the
//! reactor's thread.
//!
//! # The coalescing runner ([`Serial`])
//!
//! Wakes may come from several threads at once (the reactor's thread, a
//! user thread adding an orphan). [`Serial::run`] makes sure the work runs
//! on one thread at a time and that no wake is lost:
//!
//! 1. set `notified`;
//! 2. try to take the state lock; if another thread holds it, return: that
//!    thread is running the work and will see `notified`;
//! 3. while `notified` can be swapped from true to false, run the work;
//! 4. release the lock, then look at `notified` once more: a wake that
//!    failed to take the lock after step 3's last swap set it, and nobody
//!    else will run the work for it, so go back to step 2.
//!
//! Invariant: after a `run` call returns, the work has run at least once,
//! on some thread, entirely after that call's step 1. The loom model
//! `loom_serial_never_loses_a_wake` checks it.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, TryLockError};
use std::task::{Context, Wake, Waker};

use crate::sync::{AtomicBool, Mutex};

/// A state that one thread at a time works on, with wakes coalesced.
pub(crate) struct Serial<S> {
    notified: AtomicBool,
    state: Mutex<S>,
}

impl<S> Serial<S> {
    pub(crate) fn new(state: S) -> Serial<S> {
        Serial {
            notified: AtomicBool::new(false),
            state: Mutex::new(state),
        }
    }

    /// Runs `work` on the state until no wake is left unhandled, or leaves
    /// it to the thread that is running it now (see the module docs).
    pub(crate) fn run(&self, mut work: impl FnMut(&mut S)) {
        self.notified.store(true, SeqCst);
        loop {
            let mut state = match self.state.try_lock() {
                Ok(guard) => guard,
                // The work never leaves the state half-changed across a
                // panic point that matters: keep going.
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            while self.notified.swap(false, SeqCst) {
                work(&mut state);
            }
            drop(state);
            if !self.notified.load(SeqCst) {
                return;
            }
        }
    }

    /// Runs `f` on the state under the lock, waiting for a running `work`.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }
}

/// A [`Serial`] state with a poll function, woken as a [`Waker`].
pub(crate) struct ReactorTask<S> {
    serial: Serial<S>,
    poll: fn(&mut S, &mut Context<'_>),
}

impl<S: Send + 'static> ReactorTask<S> {
    pub(crate) fn new(state: S, poll: fn(&mut S, &mut Context<'_>)) -> Arc<ReactorTask<S>> {
        Arc::new(ReactorTask {
            serial: Serial::new(state),
            poll,
        })
    }

    /// Runs `f` on the state under the lock.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        self.serial.with(f)
    }

    /// Polls the state now (or has the thread polling it poll again).
    pub(crate) fn poll_now(self: &Arc<Self>) {
        let waker = Waker::from(Arc::clone(self));
        let mut cx = Context::from_waker(&waker);
        self.serial.run(|state| (self.poll)(state, &mut cx));
    }
}

impl<S: Send + 'static> Wake for ReactorTask<S> {
    fn wake(self: Arc<Self>) {
        self.poll_now();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.poll_now();
    }
}

#[cfg(all(test, tulipa_loom))]
mod tests {
    use super::Serial;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;
    use std::sync::atomic::Ordering::SeqCst;

    /// Two threads each publish an event, then run the work; the work must
    /// have seen both events by the time both `run` calls returned.
    #[test]
    fn loom_serial_never_loses_a_wake() {
        loom::model(|| {
            let events = Arc::new(AtomicUsize::new(0));
            let serial = Arc::new(Serial::new(0usize));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let (events, serial) = (events.clone(), serial.clone());
                    loom::thread::spawn(move || {
                        events.fetch_add(1, SeqCst);
                        serial.run(|seen| *seen = events.load(SeqCst));
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(serial.with(|seen| *seen), 2);
        });
    }
}
