//! Cooperative scheduling: a budget of ready operations per task poll.
//!
//! A task whose socket is always readable, or whose channel always has a
//! message, never returns `Pending` on its own, so it keeps its worker
//! forever and the tasks queued behind it wait (an echo server then serves
//! a few connections in a hot loop and the rest stall). tokio's answer,
//! used here too: each task poll gets a budget of [`BUDGET`] operations.
//! Every tulipa I/O operation and lock or permit acquisition that is
//! *ready* spends one unit ([`poll_proceed`]); once the budget is spent,
//! the next one returns `Pending` after waking its own task, which goes to
//! the back of the run queue. A task that waits for real never notices.
//!
//! Channel receives spend it too (tulipa-channel's `recv`, the broadcast
//! `recv` and the asyncio-style `Queue::get`). On a multi-thread runtime
//! that needs one more rule, tokio's: a task its budget made yield
//! ([`take_ran_out`]) is *deferred*, kept on the worker that ran it, behind
//! that worker's ready tasks, until the worker's queue runs dry or it next
//! polls the driver. Put in the stealable queue like a `yield_now`, a
//! channel consumer (`cargo xtask bench -- chan_mpsc`: 4 producers, one
//! consumer, bounded(256), two workers) was taken by whichever worker went
//! idle next and moved between cores every 128 messages: 130 ms against
//! 39 ms without the budget. Deferred, the budget costs `chan_mpsc` 12 ms
//! → 21–27 ms on two workers (tokio: 53–56 ms) and nothing measurable on
//! one thread.
//!
//! Executors run each poll inside [`with_budget`]; outside it (a future
//! polled by another runtime, a plain `block_on` of `futures-lite`) the
//! budget is unlimited, so nothing changes for code that does not run on
//! tulipa. The cost is one thread-local access per operation.
//!
//! # Examples
//!
//! ```
//! use std::task::{Context, Poll};
//! use tulipa_core::coop;
//!
//! let waker = std::task::Waker::noop();
//! let mut cx = Context::from_waker(&waker);
//! let spent = coop::with_budget(|| {
//!     let mut n = 0;
//!     while let std::task::Poll::Ready(progress) = coop::poll_proceed(&mut cx) {
//!         progress.made_progress(); // the operation completed
//!         n += 1;
//!     }
//!     n
//! });
//! assert_eq!(spent, coop::BUDGET);
//! // Outside a budgeted poll, every operation may proceed.
//! assert!(coop::poll_proceed(&mut cx).is_ready());
//! ```

use std::cell::Cell;
use std::task::{Context, Poll};

/// Ready operations one task poll may perform before it yields: tokio's
/// figure, large enough that the self-wake costs nothing measurable
/// (under 1% of a 128-message batch) and small enough that a connection
/// waits at most a few hundred microseconds behind a busy neighbour.
pub const BUDGET: u32 = 128;

thread_local! {
    /// Units left in the current poll; `None` outside a budgeted poll.
    static LEFT: Cell<Option<u32>> = const { Cell::new(None) };
    /// Whether an operation on this thread returned `Pending` because its
    /// poll's budget was spent, since [`take_ran_out`] last looked.
    static RAN_OUT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (one poll of a task) with a fresh budget of [`BUDGET`],
/// restoring the caller's budget afterwards (polls nest: a `block_on`
/// inside a task).
#[inline]
pub fn with_budget<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            let _ = LEFT.try_with(|c| c.set(self.0));
        }
    }
    let prev = LEFT.try_with(|c| c.replace(Some(BUDGET))).ok().flatten();
    let _restore = Restore(prev);
    f()
}

/// Takes one unit of the current task's budget for an operation about to
/// run: `Ready` with a [`Progress`] guard if it may proceed, else wakes the
/// task and returns `Pending` (it then goes to the back of the run queue
/// and gets a fresh budget on its next poll).
///
/// Call [`Progress::made_progress`] when the operation completed; dropping
/// the guard without it gives the unit back, so an operation that found
/// nothing to do (and returns `Pending`) costs no budget. That matters for
/// a future polling many idle sources in one poll: it must not run out and
/// spin.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<Progress> {
    let left = LEFT.try_with(Cell::get).ok().flatten();
    match left {
        None => Poll::Ready(Progress { refund: false }),
        Some(0) => {
            // Recorded here, on the rare path, not at the end of every
            // poll: see `take_ran_out`.
            let _ = RAN_OUT.try_with(|c| c.set(true));
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            let _ = LEFT.try_with(|c| c.set(Some(n - 1)));
            Poll::Ready(Progress { refund: true })
        }
    }
}

/// One unit of budget taken by [`poll_proceed`]; given back when dropped
/// unless the operation [made progress](Progress::made_progress).
#[must_use = "drop it to give the unit back, or call made_progress()"]
#[derive(Debug)]
pub struct Progress {
    refund: bool,
}

impl Progress {
    /// The operation completed: the unit stays spent.
    #[inline]
    pub fn made_progress(mut self) {
        self.refund = false;
    }
}

impl Drop for Progress {
    #[inline]
    fn drop(&mut self) {
        if self.refund {
            let _ = LEFT.try_with(|c| c.set(c.get().map(|n| n.saturating_add(1))));
        }
    }
}

/// Whether an operation on this thread returned `Pending` because its
/// task's budget was spent since the last call; clears the record.
///
/// An executor asks this when a task woke itself during the poll that
/// just ended: such a task was made to yield by the budget (the spent
/// operation woke it), not by its own choice, and a multi-thread executor
/// keeps it on the worker that ran it instead of offering it to the others
/// (see the executor crate). A record nobody took (the task finished in
/// that poll anyway) can make the next self-woken task on this thread
/// count as one too; that only changes where it waits, not whether it
/// runs.
pub fn take_ran_out() -> bool {
    RAN_OUT.try_with(|c| c.replace(false)).unwrap_or(false)
}

/// Whether the current poll has budget left (without spending any).
pub fn has_budget_remaining() -> bool {
    !matches!(LEFT.try_with(Cell::get), Ok(Some(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_budget_runs_out_wakes_the_task_and_is_restored_after() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        with_budget(|| {
            for _ in 0..BUDGET {
                match poll_proceed(&mut cx) {
                    Poll::Ready(p) => p.made_progress(),
                    Poll::Pending => panic!("budget ran out early"),
                }
            }
            assert!(!has_budget_remaining());
            assert!(poll_proceed(&mut cx).is_pending());
            assert_eq!(count.0.load(Ordering::SeqCst), 1, "self-woken once");
            // A nested poll gets its own budget and gives the outer one back.
            with_budget(|| assert!(poll_proceed(&mut cx).is_ready()));
            assert!(poll_proceed(&mut cx).is_pending());
        });
        assert!(poll_proceed(&mut cx).is_ready(), "unlimited outside");
    }

    #[test]
    fn take_ran_out_tells_whether_an_operation_was_refused_and_clears() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let _ = take_ran_out();
        with_budget(|| {
            for _ in 0..BUDGET {
                let Poll::Ready(p) = poll_proceed(&mut cx) else {
                    panic!("budget ran out early")
                };
                p.made_progress();
            }
        });
        assert!(
            !take_ran_out(),
            "spent to the last unit, but nothing was refused"
        );
        with_budget(|| {
            while let Poll::Ready(p) = poll_proceed(&mut cx) {
                p.made_progress();
            }
        });
        assert!(take_ran_out());
        assert!(!take_ran_out(), "taking it clears it");
        // A nested poll that runs out is recorded too.
        with_budget(|| {
            with_budget(|| {
                while let Poll::Ready(p) = poll_proceed(&mut cx) {
                    p.made_progress();
                }
            });
        });
        assert!(take_ran_out());
    }

    #[test]
    fn an_operation_that_made_no_progress_gives_its_unit_back() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        with_budget(|| {
            // Polling many idle sources in one poll never runs out.
            for _ in 0..10 * BUDGET {
                match poll_proceed(&mut cx) {
                    Poll::Ready(p) => drop(p),
                    Poll::Pending => panic!("an idle poll spent the budget"),
                }
            }
            assert!(has_budget_remaining());
        });
    }
}
