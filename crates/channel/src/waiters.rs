//! `Waiters`: an `event-listener` `Event` that is not touched when nobody
//! listens.
//!
//! `Event::notify` in event-listener 5 takes the event's list lock on
//! every call, listeners or not (and allocates the list on the first
//! call). A channel notifies on every push and pop, so that lock was on
//! every message's path. `Waiters` counts its live listeners and notifies
//! the event only when the count is not zero.
//!
//! # Why no wakeup is lost
//!
//! A waiter increments the count and creates its listener, then issues a
//! `SeqCst` fence, then re-checks its condition. A notifier makes its
//! change, issues a `SeqCst` fence, then loads the count. The two fences
//! are ordered one way or the other: if the waiter's comes first, the
//! notifier sees the count (and, taking the event's lock after the
//! waiter released it, the listener) and notifies; if the notifier's
//! comes first, the waiter's re-check sees the change. The fence is the
//! one `Event::notify` would issue itself; the notifications are then
//! the "relaxed" ones, which skip it.

use crate::sync::{fence, AtomicUsize, Event, EventListener, Listener, Ordering};

/// An event and the number of its live listeners.
pub(crate) struct Waiters {
    event: Event,
    listeners: AtomicUsize,
}

impl Waiters {
    pub(crate) fn new() -> Self {
        Waiters {
            event: Event::new(),
            listeners: AtomicUsize::new(0),
        }
    }

    /// A new listener; the caller re-checks its condition before waiting
    /// and ends it with [`release`](Self::release) or
    /// [`released`](Self::released).
    pub(crate) fn listen(&self) -> EventListener {
        self.listeners.fetch_add(1, Ordering::Relaxed);
        let listener = self.event.listen();
        fence(Ordering::SeqCst);
        listener
    }

    /// Drops a listener from [`listen`](Self::listen) (passing on a
    /// notification it had, as event-listener does).
    pub(crate) fn release(&self, listener: EventListener) {
        drop(listener);
        self.released();
    }

    /// Counts a listener from [`listen`](Self::listen) as gone (it was
    /// consumed by a blocking wait).
    pub(crate) fn released(&self) {
        self.listeners.fetch_sub(1, Ordering::Release);
    }

    /// Blocks the thread until `attempt` succeeds: try, listen, try again,
    /// and only then wait (so a change between the first try and the
    /// listen is not missed). `attempt` gets `state` and hands it back
    /// when it cannot proceed (a send's message). Ends the listener either
    /// way.
    pub(crate) fn block_until<S, R>(
        &self,
        mut state: S,
        mut attempt: impl FnMut(S) -> Result<R, S>,
    ) -> R {
        let mut listener: Option<EventListener> = None;
        let result = loop {
            match attempt(state) {
                Ok(r) => break r,
                Err(s) => state = s,
            }
            match listener.take() {
                None => listener = Some(self.listen()),
                Some(l) => {
                    l.wait();
                    self.released();
                }
            }
        };
        if let Some(l) = listener {
            self.release(l);
        }
        result
    }

    /// Notifies `n` more listeners; call after making the change.
    pub(crate) fn notify_additional(&self, n: usize) {
        fence(Ordering::SeqCst);
        if self.listeners.load(Ordering::Relaxed) != 0 {
            self.event.notify_additional_relaxed(n);
        }
    }

    /// As [`notify_additional`](Self::notify_additional), for a caller
    /// that issued the `SeqCst` fence itself after making the change.
    pub(crate) fn notify_additional_fenced(&self, n: usize) {
        if self.listeners.load(Ordering::Relaxed) != 0 {
            self.event.notify_additional_relaxed(n);
        }
    }

    /// Notifies every listener; call after making the change.
    pub(crate) fn notify_all(&self) {
        fence(Ordering::SeqCst);
        if self.listeners.load(Ordering::Relaxed) != 0 {
            self.event.notify_relaxed(usize::MAX);
        }
    }
}
