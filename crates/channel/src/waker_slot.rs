//! `WakerSlot`: one waiting task's waker, for a single-waiter hand-off
//! (the oneshot). No allocation and, when nobody waits, no lock: the
//! waking side pays one fence and one relaxed load.
//!
//! # Protocol (no lost wakeup)
//!
//! The waiter stores its waker and sets `registered` under the mutex, then
//! issues a `SeqCst` fence and re-checks its condition. The waking side
//! makes its change, issues a `SeqCst` fence, and only then loads
//! `registered`. The two fences are ordered one way or the other: if the
//! waiter's comes first, the waker sees `registered` and wakes it; if the
//! waking side's comes first, the waiter's re-check sees the change. The
//! loom models of the oneshot check this.

use std::task::Waker;

use crate::sync::{fence, lock, AtomicBool, Mutex, Ordering};

/// One waiter's waker.
pub(crate) struct WakerSlot {
    registered: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl WakerSlot {
    pub(crate) fn new() -> Self {
        WakerSlot {
            registered: AtomicBool::new(false),
            waker: Mutex::new(None),
        }
    }

    /// Stores `waker` (keeping the stored one if it wakes the same task).
    /// The caller must re-check its condition afterwards.
    pub(crate) fn register(&self, waker: &Waker) {
        {
            let mut slot = lock(&self.waker);
            match &*slot {
                Some(old) if old.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
            self.registered.store(true, Ordering::Relaxed);
        }
        fence(Ordering::SeqCst);
    }

    /// Wakes the stored waker, if any; call after making the change the
    /// waiter waits for.
    pub(crate) fn wake(&self) {
        fence(Ordering::SeqCst);
        if self.registered.load(Ordering::Relaxed) {
            let waker = {
                let mut slot = lock(&self.waker);
                self.registered.store(false, Ordering::Relaxed);
                slot.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}
