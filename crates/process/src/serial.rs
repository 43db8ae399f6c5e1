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
//! on one thread at a time and that no wake is lost, with one atomic
//! state word:
//!
//! ```text
//!            run: CAS IDLE→RUNNING (this thread owns the work)
//!   IDLE ───────────────────────────────────────────────► RUNNING
//!    ▲                                                      │  ▲
//!    │ owner, after a pass: CAS RUNNING→IDLE                │  │ owner, after a pass:
//!    └──────────────────────────────────────────────────────┘  │ NOTIFIED→RUNNING, run again
//!                          another run: CAS RUNNING→NOTIFIED   ▼  │
//!                                                           NOTIFIED
//! ```
//!
//! A `run` that finds the state `RUNNING` marks it `NOTIFIED` and returns;
//! one that finds it `NOTIFIED` just returns. The owner, after each pass
//! over the work, leaves only by moving `RUNNING` to `IDLE`; if that fails
//! the state is `NOTIFIED`, so it resets it to `RUNNING` and makes another
//! pass. Every transition is a read-modify-write of the one word, so they
//! are totally ordered: a wake either becomes the owner or lands before
//! the owner's exit CAS, which then fails. (An earlier version marked a
//! flag and used a mutex's `try_lock`; the loom model found the lost wake
//! in that store-then-try-lock pattern, which needs fences to be sound.)
//!
//! Invariant: after a `run` call returns, the work has run at least once,
//! on some thread, entirely after that call began. The loom model
//! `loom_serial_never_loses_a_wake` checks it.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use crate::sync::{AtomicUsize, Mutex, MutexGuard};

const IDLE: usize = 0;
const RUNNING: usize = 1;
const NOTIFIED: usize = 2;

/// A state that one thread at a time works on, with wakes coalesced.
pub(crate) struct Serial<S> {
    /// `IDLE`, `RUNNING` or `NOTIFIED`: see the module docs.
    run_state: AtomicUsize,
    /// Locked by the owner for each pass, and by `with`.
    state: Mutex<S>,
}

impl<S> Serial<S> {
    pub(crate) fn new(state: S) -> Serial<S> {
        Serial {
            run_state: AtomicUsize::new(IDLE),
            state: Mutex::new(state),
        }
    }

    /// Runs `work` on the state until no wake is left unhandled, or leaves
    /// it to the thread that is running it now (see the module docs).
    pub(crate) fn run(&self, mut work: impl FnMut(&mut S)) {
        // Become the owner, or hand the wake to the owner.
        let mut current = IDLE;
        loop {
            let next = match current {
                IDLE => RUNNING,
                RUNNING => NOTIFIED,
                _ => return, // NOTIFIED: the owner will make another pass
            };
            match self
                .run_state
                .compare_exchange(current, next, SeqCst, SeqCst)
            {
                Ok(_) if next == RUNNING => break,
                Ok(_) => return, // marked NOTIFIED for the owner
                Err(actual) => current = actual,
            }
        }
        loop {
            work(&mut self.lock());
            match self
                .run_state
                .compare_exchange(RUNNING, IDLE, SeqCst, SeqCst)
            {
                Ok(_) => return,
                // NOTIFIED: take the notification and make another pass.
                Err(_) => self.run_state.store(RUNNING, SeqCst),
            }
        }
    }

    /// Runs `f` on the state under the lock, waiting for a running pass.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        f(&mut self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, S> {
        // A pass that panicked left the state consistent at every point
        // where it could panic: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
