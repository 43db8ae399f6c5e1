//! Proptest: both mutex policies under random lock, poll, cancel, unlock
//! and `try_lock` sequences, polled by hand. Checks mutual exclusion, that
//! a free lock with waiters always has a woken waiter (no lost wakeup),
//! and that the lock is free at the end. The FIFO mutex must also hand the
//! lock out in arrival order: only the oldest waiter ever gets it, a
//! newcomer or `try_lock` never while anyone waits (even a woken waiter
//! that has not run, or was cancelled after its wakeup), and a waiter is
//! woken once. The barging mutex must bound the wakeups a waiter loses
//! (the starvation guard).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use proptest::prelude::*;
use proptest::sample::Index;
use tulipa_sync::futures::Lock;
use tulipa_sync::{Mutex, MutexGuard};

#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Pending<'a> {
    future: Pin<Box<Lock<'a, u32>>>,
    counter: Arc<Counter>,
    waker: Waker,
    /// Wakes already answered by a poll.
    seen: usize,
}

impl<'a> Pending<'a> {
    fn new(m: &'a Mutex<u32>) -> Self {
        let counter = Arc::new(Counter::default());
        Pending {
            future: Box::pin(m.lock()),
            waker: Waker::from(counter.clone()),
            counter,
            seen: 0,
        }
    }

    fn wakes(&self) -> usize {
        self.counter.0.load(Ordering::SeqCst)
    }

    fn poll(&mut self) -> Poll<MutexGuard<'a, u32>> {
        self.seen = self.wakes();
        let mut cx = Context::from_waker(&self.waker);
        self.future.as_mut().poll(&mut cx)
    }
}

/// Records a newly taken guard; there may be only one.
fn take<'a>(held: &mut Option<MutexGuard<'a, u32>>, g: MutexGuard<'a, u32>) {
    assert!(held.is_none(), "two guards at once");
    *held = Some(g);
}

#[derive(Debug, Clone)]
enum Op {
    /// A new `lock()` future, polled once.
    Lock,
    /// Poll a pending future.
    Poll(Index),
    /// Poll every pending future that was woken (what an executor does).
    PollWoken,
    /// Drop a pending future.
    Cancel(Index),
    /// Drop the guard.
    Unlock,
    /// `try_lock` from outside (a barging task).
    TryLock,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Lock),
        2 => any::<Index>().prop_map(Op::Poll),
        3 => Just(Op::PollWoken),
        1 => any::<Index>().prop_map(Op::Cancel),
        3 => Just(Op::Unlock),
        2 => Just(Op::TryLock),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fifo_mutex_keeps_its_promises(ops in prop::collection::vec(op(), 1..80)) {
        check(Mutex::new(0u32), true, ops)?;
    }

    #[test]
    fn barging_mutex_keeps_its_promises(ops in prop::collection::vec(op(), 1..80)) {
        check(Mutex::new_unfair(0u32), false, ops)?;
    }
}

/// Runs `ops` on `m`; `fifo` says which policy `m` has.
fn check(m: Mutex<u32>, fifo: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
    {
        let mut pending: Vec<Pending<'_>> = Vec::new();
        let mut held: Option<MutexGuard<'_, u32>> = None;
        for op in ops {
            match op {
                Op::Lock => {
                    let mut p = Pending::new(&m);
                    match p.poll() {
                        Poll::Ready(g) => {
                            prop_assert!(!fifo || pending.is_empty(), "a newcomer went first");
                            take(&mut held, g);
                        }
                        Poll::Pending => pending.push(p),
                    }
                }
                Op::Poll(i) if !pending.is_empty() => {
                    let k = i.index(pending.len());
                    if let Poll::Ready(g) = pending[k].poll() {
                        prop_assert!(!fifo || k == 0, "waiter {} went before the oldest", k);
                        pending.remove(k);
                        take(&mut held, g);
                    }
                }
                Op::PollWoken => {
                    let mut k = 0;
                    while k < pending.len() {
                        if pending[k].wakes() > pending[k].seen {
                            if let Poll::Ready(g) = pending[k].poll() {
                                prop_assert!(
                                    !fifo || k == 0,
                                    "waiter {} went before the oldest",
                                    k
                                );
                                pending.remove(k);
                                take(&mut held, g);
                                continue;
                            }
                        }
                        k += 1;
                    }
                }
                Op::Cancel(i) if !pending.is_empty() => {
                    drop(pending.remove(i.index(pending.len())));
                }
                Op::Unlock => {
                    if let Some(mut g) = held.take() {
                        *g += 1;
                    }
                }
                Op::TryLock if held.is_none() => {
                    if let Some(g) = m.try_lock() {
                        prop_assert!(!fifo || pending.is_empty(), "try_lock went first");
                        take(&mut held, g);
                    }
                }
                _ => {}
            }
            if held.is_some() {
                prop_assert!(m.is_locked());
            }
            if held.is_none() && !pending.is_empty() {
                // The lock is free (or handed to a waiter): someone must
                // have an unanswered wakeup, or nobody would ever take it.
                prop_assert!(
                    pending.iter().any(|p| p.wakes() > p.seen),
                    "lost wakeup: free lock, {} waiters, none woken",
                    pending.len()
                );
            }
            for p in &pending {
                // FIFO: a wakeup is a hand-off, never lost. Barging: the
                // starvation guard; a waiter loses at most STARVE_AFTER (2)
                // wakeups, then gets the lock handed to it.
                let most = if fifo { 1 } else { 3 };
                prop_assert!(p.wakes() <= most, "a waiter was woken {} times", p.wakes());
            }
        }
        drop(held);
        // Everyone left gets the lock in turn.
        let mut rounds = 0;
        while !pending.is_empty() {
            rounds += 1;
            prop_assert!(rounds < 1_000, "the remaining waiters never got the lock");
            let k = pending
                .iter()
                .position(|p| p.wakes() > p.seen)
                .expect("a free lock with waiters and no wakeup");
            if let Poll::Ready(g) = pending[k].poll() {
                prop_assert!(!fifo || k == 0, "waiter {} went before the oldest", k);
                pending.remove(k);
                drop(g);
            }
        }
        prop_assert!(!m.is_locked(), "the lock is free at the end");
    }
    Ok(())
}
