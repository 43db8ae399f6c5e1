//! The yield barrier's two small state machines: where a task is (its
//! `StepState`), and how many counted steps are still running
//! (`BarrierCount`). See `MtShared`'s `YieldBarrier` implementation in
//! `multi.rs` for how they are used; the loom model below checks them.
//!
//! A task's step state moves `IDLE -> QUEUED` (scheduled), `QUEUED ->
//! RUNNING` (a poll starts), `RUNNING -> IDLE` (the poll ends), or
//! `RUNNING -> QUEUED` when the task yielded and async-task is about to
//! reschedule it. A barrier turns `QUEUED` into `AWAITED` and `RUNNING`
//! into `RUNNING_AWAITED` with a CAS and counts each success; the poll
//! that swaps such a value out counts down when it ends.

use std::sync::atomic::Ordering;

use crate::sync::{AtomicIsize, AtomicU8};

/// Not in a run queue (waiting, or never scheduled).
const IDLE: u8 = 0;
/// In a run queue.
const QUEUED: u8 = 1;
/// In a run queue, and a barrier counts its next step.
const AWAITED: u8 = 2;
/// Being polled.
const RUNNING: u8 = 3;
/// Being polled, and a barrier counts this poll.
const RUNNING_AWAITED: u8 = 4;

/// Where a task is, for yield barriers.
#[derive(Default)]
pub(crate) struct StepState(AtomicU8);

impl StepState {
    /// The task was put in a run queue. A task is never queued twice; only
    /// a task that yielded is already marked queued by [`end`](Self::end),
    /// possibly `AWAITED`, which must stay.
    ///
    /// No read-modify-write: a task woken while running is rescheduled by
    /// async-task on the thread that just polled it, after its `end`, and
    /// only that thread ever stores `IDLE` (a barrier moves `QUEUED` and
    /// `RUNNING` only). So if this thread's load sees `IDLE` nobody else
    /// can change it before the store, and if it sees anything else the
    /// task is already marked queued (by `end`, perhaps `AWAITED` since),
    /// which must stay. A yield in the multi-thread executor was one locked
    /// instruction more with the compare-exchange this replaces.
    pub(crate) fn scheduled(&self, woken_while_running: bool) {
        if !woken_while_running || self.0.load(Ordering::Relaxed) == IDLE {
            self.0.store(QUEUED, Ordering::Release);
        }
    }

    /// A poll starts; returns whether a barrier counted this step while
    /// the task was queued.
    pub(crate) fn start(&self) -> bool {
        self.0.swap(RUNNING, Ordering::AcqRel) == AWAITED
    }

    /// The poll ends; `requeued` if async-task reschedules the task right
    /// after it (it yielded). Returns how many barrier counts this step
    /// settles: `counted_at_start` plus one if a barrier counted it while
    /// it ran.
    pub(crate) fn end(&self, counted_at_start: bool, requeued: bool) -> isize {
        let now = if requeued { QUEUED } else { IDLE };
        let was = self.0.swap(now, Ordering::AcqRel);
        isize::from(counted_at_start) + isize::from(was == RUNNING_AWAITED)
    }

    /// A barrier counts this task if it is queued or running; returns
    /// whether it did.
    pub(crate) fn mark(&self) -> bool {
        let mark = |from, to| {
            self.0
                .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        };
        mark(QUEUED, AWAITED) || mark(RUNNING, RUNNING_AWAITED)
    }
}

/// The steps counted by barriers and not yet ended. It may dip below zero
/// while a barrier is being set up (a counted step can end before the
/// barrier adds its count); the barrier adds its count in one step and
/// sees the result, so no end is missed.
#[derive(Default)]
pub(crate) struct BarrierCount(AtomicIsize);

impl BarrierCount {
    /// Adds `n` counted steps; returns whether some are still running.
    pub(crate) fn add(&self, n: isize) -> bool {
        self.0.fetch_add(n, Ordering::AcqRel) + n > 0
    }

    /// `n` counted steps ended; returns whether that ended the last one.
    pub(crate) fn settle(&self, n: isize) -> bool {
        let before = self.0.fetch_sub(n, Ordering::AcqRel);
        before > 0 && before - n <= 0
    }

    /// Whether no counted step is running.
    pub(crate) fn is_clear(&self) -> bool {
        self.0.load(Ordering::Acquire) <= 0
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_barrier {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// A task takes a step (or yields and takes another) while the main
    /// thread sets up a barrier. If the barrier must wait, it is woken: either the
    /// task's settle ended the count (it wakes the waiters) or the barrier's
    /// re-check after registering sees it clear. The count never leaks.
    #[test]
    fn loom_yield_barrier_never_misses_an_end() {
        for requeued in [false, true] {
            loom::model(move || {
                let state = Arc::new(StepState::default());
                let count = Arc::new(BarrierCount::default());
                state.scheduled(false);
                let (s, c) = (state.clone(), count.clone());
                let task = thread::spawn(move || {
                    let mut woke = false;
                    // A task that yields is polled again (async-task
                    // reschedules it): two steps, the first requeued.
                    for again in [requeued, false]
                        .into_iter()
                        .take(1 + usize::from(requeued))
                    {
                        let counted = s.start();
                        let n = s.end(counted, again);
                        woke |= n > 0 && c.settle(n);
                        if again {
                            // async-task reschedules the yielded task.
                            s.scheduled(true);
                        }
                    }
                    woke
                });
                let counted = isize::from(state.mark());
                let must_wait = counted > 0 && count.add(counted);
                // `park_on`: register, then re-check.
                let clear_on_recheck = must_wait && count.is_clear();
                let task_woke = task.join().unwrap();
                assert!(!must_wait || clear_on_recheck || task_woke, "lost wake-up");
                assert_eq!(count.0.load(Ordering::Acquire), 0, "no count leaks");
            });
        }
    }
}
