//! `Waiters`: an `event-listener` `Event` that is not touched when no
//! listener waits for a notification.
//!
//! `Event::notify` in event-listener 5 takes the event's list lock on
//! every call, listeners or not (and allocates the list on the first
//! call). A channel notifies on every push and pop, so that lock was on
//! every message's path. `Waiters` counts its listeners that have not
//! been notified yet and calls into the event only when that count is not
//! zero.
//!
//! Counting only the *unnotified* ones matters under load: when a bounded
//! channel is full, every sender waits, the receiver's first pops notify
//! them all, and each later pop would take the lock only to find nobody
//! left to notify (`chan_mpsc`: the event's mutex was contended, 20 % of
//! the run's samples in `lock_contended` and the list code).
//!
//! # The count
//!
//! `unnotified` is incremented before a listener is inserted and
//! decremented once for each listener that leaves the unnotified state:
//! by a notifier, by the number `notify` reports it notified (counted
//! under the event's lock, so exact), or by [`Waiters::abandon`] for a
//! listener removed before any notification. Each decrement follows its
//! listener's increment in the count's modification order (the insert
//! and the notify are ordered by the event's lock), so the count is never
//! below the number of listeners really waiting: it can only lag above
//! it, which costs a lock that finds nobody, never a lost wakeup.
//!
//! # Why no wakeup is lost
//!
//! A waiter increments the count and creates its listener, then issues a
//! `SeqCst` fence, then re-checks its condition. A notifier makes its
//! change, issues a `SeqCst` fence, then loads the count. The two fences
//! are ordered one way or the other: if the waiter's comes first, the
//! notifier sees a count of at least one (the argument above) and, taking
//! the event's lock after the waiter released it, notifies the listener;
//! if the notifier's comes first, the waiter's re-check sees the change.
//! The fence is the one `Event::notify` would issue itself; the
//! notifications are then the "relaxed" ones, which skip it.
//!
//! # Ending a listener
//!
//! A listener that completed (its poll returned `Ready`, or its blocking
//! wait returned) was notified and counted by its notifier: end it with
//! [`Waiters::finished`]. One given up before that (its future dropped,
//! or the re-check succeeded) ends with [`Waiters::abandon`], which
//! discards it under the lock and learns whether a notification was on
//! it. If so, nobody used that notification and it goes to the next
//! listener (event-listener's own drop does the same, but behind the
//! count's back); if not, the listener leaves the count.

use crate::sync::{full_fence, AtomicUsize, Event, EventListener, Listener, Ordering};

/// An event and the number of its listeners not yet notified.
pub(crate) struct Waiters {
    event: Event,
    unnotified: AtomicUsize,
}

impl Waiters {
    pub(crate) fn new() -> Self {
        Waiters {
            event: Event::new(),
            unnotified: AtomicUsize::new(0),
        }
    }

    /// A new listener; the caller re-checks its condition before waiting
    /// and ends it with [`finished`](Self::finished) or
    /// [`abandon`](Self::abandon).
    pub(crate) fn listen(&self) -> EventListener {
        self.unnotified.fetch_add(1, Ordering::Relaxed);
        let listener = self.event.listen();
        full_fence();
        listener
    }

    /// Ends a listener that completed: it took the notification its
    /// notifier counted.
    pub(crate) fn finished(&self, listener: EventListener) {
        drop(listener);
    }

    /// Ends a listener that did not complete, passing on a notification
    /// it held (see the module doc).
    pub(crate) fn abandon(&self, listener: EventListener) {
        if listener.discard() {
            self.notify_additional(1);
        } else {
            self.unnotified.fetch_sub(1, Ordering::Relaxed);
        }
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
                // `wait` returns only with the notification.
                Some(l) => l.wait(),
            }
        };
        if let Some(l) = listener {
            self.abandon(l);
        }
        result
    }

    /// Notifies `n` more listeners; call after making the change.
    pub(crate) fn notify_additional(&self, n: usize) {
        full_fence();
        self.notify_additional_fenced(n);
    }

    /// As [`notify_additional`](Self::notify_additional), for a caller
    /// that issued the `SeqCst` fence itself after making the change.
    pub(crate) fn notify_additional_fenced(&self, n: usize) {
        if self.unnotified.load(Ordering::Relaxed) != 0 {
            let done = self.event.notify_additional_relaxed(n);
            self.counted(done);
        }
    }

    /// Notifies every listener; call after making the change.
    pub(crate) fn notify_all(&self) {
        full_fence();
        if self.unnotified.load(Ordering::Relaxed) != 0 {
            let done = self.event.notify_relaxed(usize::MAX);
            self.counted(done);
        }
    }

    /// Takes `done` newly notified listeners off the count.
    fn counted(&self, done: usize) {
        if done != 0 {
            self.unnotified.fetch_sub(done, Ordering::Relaxed);
        }
    }
}
