//! A worker thread's loop: finding the next task (LIFO slot, local queue,
//! deferred yields, injector, stealing), running it, polling the driver
//! when busy, and sleeping through the idle list when there is nothing to
//! do. The scheduling state it works on (`MtShared`, the thread-local
//! `WORKER`) is the parent module's; see its docs for the design.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::context::{RuntimeContextGuard, BUDGET};
use crate::idle::Sleeper;

use super::{MtShared, Task, MAX_LIFO_IN_A_ROW, WORKER};

struct Worker<'a> {
    shared: &'a MtShared,
    index: usize,
    parker: parking::Parker,
    tick: u32,
    /// Tasks run since this worker last slept (in the driver or on its
    /// parker); after `BUDGET` of them it polls the driver without
    /// blocking.
    ran_since_sleep: u32,
    lifo_in_a_row: u32,
    rng: u32,
}

pub(super) fn worker_main(shared: &Arc<MtShared>, index: usize, parker: parking::Parker) {
    let _rt = RuntimeContextGuard::worker();
    WORKER.with(|w| {
        *w.shared.borrow_mut() = Some(shared.clone());
        w.index.set(index);
    });
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            WORKER.with(|w| {
                w.shared.borrow_mut().take();
                // `Worker::run` moves a LIFO task to the injector on a
                // normal exit; this only matters if the loop unwound. The
                // same for the deferred tasks.
                if let Some(t) = w.lifo.borrow_mut().take() {
                    crate::task::discard(t);
                }
                for t in w.deferred.borrow_mut().drain(..) {
                    crate::task::discard(t);
                }
            });
        }
    }
    let _reset = Reset;
    let mut worker = Worker {
        shared,
        index,
        parker,
        tick: 0,
        ran_since_sleep: 0,
        lifo_in_a_row: 0,
        rng: (index as u32).wrapping_mul(0x9E37_79B9) | 1,
    };
    worker.run();
}

impl Worker<'_> {
    fn run(&mut self) {
        let mut searching = false;
        let mut just_drove = false;
        while !self.shared.shutdown.load(Ordering::Acquire) {
            self.tick = self.tick.wrapping_add(1);
            match self.next_task() {
                Some(task) => {
                    if searching {
                        searching = false;
                        if self.shared.idle.end_search() && self.shared.has_work() {
                            self.shared.notify_one(false);
                        }
                    }
                    if just_drove {
                        // Coming out of the driver with work: wake another
                        // worker only if there is work it could take
                        // (tokio's rule; what the driver woke beyond this
                        // task is already shared by `schedule_local`). The
                        // next worker to go idle takes the driver.
                        just_drove = false;
                        if !self.shared.workers[self.index].queue.is_empty() {
                            self.shared.notify_one(false);
                        }
                    }
                    WORKER.with(|w| w.polling.set(true));
                    task.run();
                    WORKER.with(|w| w.polling.set(false));
                    // Busy for `BUDGET` tasks in a row: let I/O and timers
                    // make progress. Counted from the last sleep, not by
                    // `tick` (which also counts sleeps): a worker that sleeps
                    // between tasks has just polled the driver, and a
                    // non-blocking poll right after a task would take the
                    // event a ping-pong's next message brings and hand the
                    // task to another worker (a futex and a thread wakeup
                    // every few dozen messages).
                    self.ran_since_sleep += 1;
                    if self.ran_since_sleep >= BUDGET as u32 {
                        self.ran_since_sleep = 0;
                        self.shared.driver.park(Some(Duration::ZERO));
                        // What yielded goes behind what the driver woke,
                        // where an idle worker may take it.
                        self.release_deferred();
                    }
                }
                None => {
                    if searching {
                        searching = false;
                        if self.shared.idle.end_search() && self.shared.has_work() {
                            continue;
                        }
                    }
                    let (notified, drove) = self.park();
                    self.ran_since_sleep = 0;
                    searching = notified;
                    just_drove = drove;
                }
            }
        }
        if searching {
            self.shared.idle.end_search();
        }
        // Leave the LIFO task, the deferred tasks and the local queue where
        // the shutdown drain will find them.
        if let Some(t) = WORKER.with(|w| w.lifo.borrow_mut().take()) {
            let _ = self.shared.injector.push(t);
        }
        WORKER.with(|w| {
            for t in w.deferred.borrow_mut().drain(..) {
                let _ = self.shared.injector.push(t);
            }
        });
        while let Some(t) = self.shared.workers[self.index].queue.pop() {
            let _ = self.shared.injector.push(t);
        }
        // A worker that was stuck past the shutdown timeout leaves after the
        // drain: it drops what is left itself.
        if self.shared.closed.load(Ordering::SeqCst) {
            self.shared.discard_queued();
        }
    }

    fn next_task(&mut self) -> Option<Task> {
        let s = self.shared;
        if self.tick.is_multiple_of(BUDGET as u32) {
            if let Some(t) = s.take_from_injector(self.index) {
                return Some(t);
            }
        }
        if let Some(t) = WORKER.with(|w| w.lifo.borrow_mut().take()) {
            if self.lifo_in_a_row < MAX_LIFO_IN_A_ROW {
                self.lifo_in_a_row += 1;
                return Some(t);
            }
            s.push_local(self.index, t);
        }
        self.lifo_in_a_row = 0;
        if let Some(t) = s.workers[self.index].queue.pop() {
            return Some(t);
        }
        if let Some(t) = self.take_deferred() {
            return Some(t);
        }
        if let Some(t) = s.take_from_injector(self.index) {
            return Some(t);
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        s.steal_into(self.index, self.rng as usize)
    }

    /// This worker's queue is empty: the first deferred task to run now,
    /// the others queued behind it (stealable from here on).
    fn take_deferred(&mut self) -> Option<Task> {
        WORKER.with(|w| {
            // Drained in place, so the vector keeps its room.
            let mut deferred = w.deferred.borrow_mut();
            let mut deferred = deferred.drain(..);
            let first = deferred.next()?;
            let mut shared = false;
            for t in deferred {
                self.shared.push_local(self.index, t);
                shared = true;
            }
            if shared {
                // Stealable work now: an idle worker may take some.
                self.shared.notify_one(false);
            }
            Some(first)
        })
    }

    /// Moves the deferred tasks to the back of this worker's queue, where
    /// a worker that is searching may take them; nobody is woken for them
    /// (this worker is awake and gets to them in turn).
    fn release_deferred(&mut self) {
        WORKER.with(|w| {
            for t in w.deferred.borrow_mut().drain(..) {
                self.shared.push_local(self.index, t);
            }
        });
    }

    /// Sleeps until there may be work. Returns (notified, drove).
    fn park(&mut self) -> (bool, bool) {
        let s = self.shared;
        let sleeper = WorkerSleeper {
            shared: s,
            index: self.index,
            parker: &self.parker,
        };
        s.idle.park_worker(
            self.index,
            || s.has_work() || s.shutdown.load(Ordering::SeqCst),
            &sleeper,
        )
    }
}

/// How a worker sleeps: its parker, and the executor's driver.
struct WorkerSleeper<'a> {
    shared: &'a MtShared,
    index: usize,
    parker: &'a parking::Parker,
}

impl Sleeper for WorkerSleeper<'_> {
    fn registered(&self) {
        let s = self.shared;
        if s.wake_driver_when_idle
            && s.idle.num_idle() == s.workers.len()
            && (0..s.workers.len()).any(|j| j != self.index && s.idle.in_driver(j))
        {
            // The last worker went idle: the one holding the driver must
            // re-check quiescence (virtual time). Nobody else to tell: if
            // no other worker holds it, this one takes it next.
            s.driver_unparker.unpark();
        }
    }

    fn take_token(&self) -> bool {
        self.parker.park_timeout(Duration::ZERO)
    }

    fn park(&self) {
        self.parker.park();
    }

    fn park_in_driver(&self) -> bool {
        WORKER.with(|w| w.driving.set(true));
        let parked = self.shared.driver.park(None);
        WORKER.with(|w| w.driving.set(false));
        parked
    }
}
