//! `Signal`: how a thread that runs tasks is told "there is work".
//!
//! A thread about to sleep sets `sleeping`, re-checks its queues, then parks
//! its driver. Whoever queues work pushes first, then reads `sleeping` and
//! unparks only if it is set. Both sides use `SeqCst`, so at least one of
//! them sees the other's write: either the sleeper sees the work, or the
//! pusher sees the sleeper (the classic store-load handshake). A thread that
//! is awake costs the pusher one load and no syscall.

use std::sync::atomic::{AtomicBool, Ordering};

use tulipa_core::Unparker;

pub(crate) struct Signal {
    sleeping: AtomicBool,
    unparker: Unparker,
}

impl Signal {
    pub(crate) fn new(unparker: Unparker) -> Signal {
        Signal {
            sleeping: AtomicBool::new(false),
            unparker,
        }
    }

    /// Wakes the thread if it is (about to be) asleep.
    #[inline]
    pub(crate) fn notify(&self) {
        if self.sleeping.load(Ordering::SeqCst) {
            self.unparker.unpark();
        }
    }

    pub(crate) fn set_sleeping(&self, sleeping: bool) {
        self.sleeping.store(sleeping, Ordering::SeqCst);
    }
}
