//! `WakeFlag`: how a thread that runs tasks is told "there is work" (a
//! flag and an unparker; nothing to do with Unix signals, which live in
//! `tulipa-process`).
//!
//! A thread about to sleep sets `sleeping`, re-checks its queues, then parks
//! its driver. Whoever queues work pushes first, then reads `sleeping` and
//! unparks only if it is set. Both sides use `SeqCst`, so at least one of
//! them sees the other's write (each side puts a `SeqCst` fence between its
//! store and its load, which is what the memory model requires): either the sleeper sees the work, or the
//! pusher sees the sleeper (the classic store-load handshake). A thread that
//! is awake costs the pusher one load and no syscall.

use std::sync::atomic::Ordering;

use crate::sync::{fence, AtomicBool};

use tulipa_core::Unparker;

pub(crate) struct WakeFlag {
    sleeping: AtomicBool,
    unparker: Unparker,
}

impl WakeFlag {
    pub(crate) fn new(unparker: Unparker) -> WakeFlag {
        WakeFlag {
            sleeping: AtomicBool::new(false),
            unparker,
        }
    }

    /// Wakes the thread if it is (about to be) asleep.
    #[inline]
    pub(crate) fn notify(&self) {
        // The fence orders the caller's push before this load for every
        // sleeper (a SeqCst load alone does not, in the C++ model).
        fence(Ordering::SeqCst);
        // The swap clears `sleeping` so a watcher ([`crate::Quiescence`])
        // sees the thread as busy from the moment it is woken; the load
        // first keeps the common case (thread awake) free of writes.
        if self.sleeping.load(Ordering::SeqCst) && self.sleeping.swap(false, Ordering::SeqCst) {
            self.unparker.unpark();
        }
    }

    /// Whether the thread is asleep (or about to be) and nobody has
    /// notified it since.
    pub(crate) fn is_sleeping(&self) -> bool {
        self.sleeping.load(Ordering::SeqCst)
    }

    pub(crate) fn set_sleeping(&self, sleeping: bool) {
        self.sleeping.store(sleeping, Ordering::SeqCst);
        // Orders the store before the sleeper's re-check of its queues.
        fence(Ordering::SeqCst);
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_signal {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;
    use tulipa_core::Unpark;

    struct ThreadUnpark(thread::Thread);

    impl Unpark for ThreadUnpark {
        fn unpark(&self) {
            self.0.unpark();
        }
    }

    /// A sleeper following the documented protocol never misses work
    /// pushed concurrently: loom explores every interleaving and reports a
    /// deadlock if the sleeper could park forever.
    #[test]
    fn loom_signal_no_lost_wakeup() {
        loom::model(|| {
            let work = Arc::new(AtomicBool::new(false));
            let signal = Arc::new(WakeFlag::new(tulipa_core::Unparker::new(ThreadUnpark(
                thread::current(),
            ))));
            let (w, s) = (work.clone(), signal.clone());
            let producer = thread::spawn(move || {
                w.store(true, Ordering::SeqCst);
                s.notify();
            });
            loop {
                if work.load(Ordering::SeqCst) {
                    break;
                }
                signal.set_sleeping(true);
                if work.load(Ordering::SeqCst) {
                    signal.set_sleeping(false);
                    break;
                }
                thread::park();
                signal.set_sleeping(false);
            }
            producer.join().unwrap();
        });
    }
}
