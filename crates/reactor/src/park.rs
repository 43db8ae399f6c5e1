//! The park handshake: when an unpark must notify the OS poller.
//!
//! An unpark records itself in `notified`, then notifies the poller only if
//! `sleeping` is set; a blocking park sets `sleeping`, then reads (and
//! clears) `notified`, and does not block if it was set. A `SeqCst` fence
//! sits between each side's store and load, so at least one side sees the
//! other's write (the store-load handshake): either the park sees the unpark and does not
//! block, or the unparker sees `sleeping` and its notification ends the
//! wait. `sleeping` is cleared as soon as the wait returns, so the wakers
//! the parking thread then runs (which usually schedule a task and unpark
//! this very driver) cost no system call: their unpark stays in
//! `notified`, which the park's final [`consume`](Handshake::consume) or
//! the next park sees.

use std::sync::atomic::Ordering::SeqCst;

use crate::sync::{fence, AtomicBool};

pub(crate) struct Handshake {
    /// An unpark not yet seen by a blocking park.
    notified: AtomicBool,
    /// Set while a thread is (about to be) blocked in the poller.
    sleeping: AtomicBool,
}

impl Handshake {
    pub(crate) fn new() -> Handshake {
        Handshake {
            notified: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
        }
    }

    /// Before a blocking wait: marks the thread sleeping and returns
    /// whether an unpark is already pending (then the wait must not block).
    pub(crate) fn begin_blocking(&self) -> bool {
        self.sleeping.store(true, SeqCst);
        // The fence orders the store before the read below for every
        // observer (a store-load pair needs it; loom checks the handshake
        // with it).
        fence(SeqCst);
        self.notified.swap(false, SeqCst)
    }

    /// After any wait returned: awake again, unparks need no notification.
    pub(crate) fn end_wait(&self) {
        self.sleeping.store(false, SeqCst);
    }

    /// Records an unpark; returns whether the poller must be notified.
    pub(crate) fn unpark(&self) -> bool {
        self.notified.store(true, SeqCst);
        fence(SeqCst);
        self.sleeping.load(SeqCst)
    }

    /// At the end of a park: whatever unparked us has been seen. The swap
    /// (a read of the unparker's store) makes the unparker's earlier writes
    /// visible to the caller's re-check of its state.
    pub(crate) fn consume(&self) {
        self.notified.swap(false, SeqCst);
    }

    /// Whether an unpark is pending (tests).
    #[cfg(test)]
    pub(crate) fn is_notified(&self) -> bool {
        self.notified.load(SeqCst)
    }

    /// Whether a thread is marked sleeping (tests).
    #[cfg(test)]
    pub(crate) fn is_sleeping(&self) -> bool {
        self.sleeping.load(SeqCst)
    }
}

#[cfg(all(test, tulipa_loom))]
mod tests {
    use super::*;
    use loom::sync::Arc;

    /// One park and one unpark from another thread, in every interleaving:
    /// the park either sees the unpark (does not block) or the unparker
    /// notifies the poller, so the blocking wait always ends.
    #[test]
    fn loom_no_unpark_is_lost() {
        loom::model(|| {
            let h = Arc::new(Handshake::new());
            let notified_poller = Arc::new(AtomicBool::new(false));
            let unparker = {
                let (h, n) = (h.clone(), notified_poller.clone());
                loom::thread::spawn(move || {
                    if h.unpark() {
                        n.store(true, SeqCst);
                    }
                })
            };
            // The blocking wait: it ends only when the poller is
            // notified. A lost wakeup spins here forever, which loom
            // reports as a failure.
            if !h.begin_blocking() {
                while !notified_poller.load(SeqCst) {
                    loom::thread::yield_now();
                }
            }
            h.end_wait();
            h.consume();
            unparker.join().unwrap();
        });
    }

    /// An unpark that arrives while the parking thread is awake (dispatching)
    /// needs no notification, and is still seen by the next park.
    #[test]
    fn loom_an_unpark_while_awake_is_kept_for_the_next_park() {
        loom::model(|| {
            let h = Arc::new(Handshake::new());
            let _ = h.begin_blocking();
            h.end_wait();
            let t = {
                let h = h.clone();
                loom::thread::spawn(move || h.unpark())
            };
            let notify = t.join().unwrap();
            assert!(!notify, "nobody was sleeping");
            assert!(h.begin_blocking(), "the next park must not block");
        });
    }
}
