//! A worker's run queue on the multi-thread executor: bounded, filled by
//! its one owner thread and emptied by the owner and by thieves.
//!
//! It was a `ConcurrentQueue::bounded`, which serves any number of
//! producers: every push claimed its position with a CAS on the tail. Only
//! the worker's own thread ever pushes here (wakes from other threads go
//! to the injector), so the tail needs no read-modify-write: a push is a
//! slot write and two release stores, and a yield (push, then pop) costs
//! one locked instruction instead of two. callgrind, `yield_many` on the
//! multi-thread runtime ((full − `--quick`) / 900,000 yields): 643 to 557
//! instructions per yield (tokio 579).
//!
//! # The algorithm
//!
//! A ring of `cap` slots (a power of two, at least 2), positions counting up forever
//! (`usize` wrapping), slot `p % cap` for position `p`. Each slot has a
//! stamp saying whose turn it is:
//!
//! - `stamp == p`: empty, free for the push at position `p`;
//! - `stamp == p + 1`: holds the value pushed at position `p`, for the pop
//!   at position `p`.
//!
//! The owner pushes at `tail`: if the slot's stamp is `tail` it writes the
//! value, then stores the stamp `tail + 1` (Release: the value is visible
//! to whoever sees the stamp) and then `tail + 1`. Any other stamp means
//! the slot still holds, or is still being read for, the value pushed one
//! lap earlier: the queue is full.
//!
//! A pop at `head` reads the slot's stamp (Acquire). `head + 1` means the
//! value is there: it claims the position with a CAS of `head` to
//! `head + 1`, and only the one winner reads the value, then stores the
//! stamp `head + cap` (Release: the read is done before the owner, seeing
//! that stamp one lap later, writes the slot again). A stamp of `head`
//! means nothing was pushed there yet: empty. Anything else means `head`
//! was stale (another pop took it): read it again.
//!
//! This is the bounded queue of Dmitry Vyukov (as in `concurrent-queue`)
//! with a single producer, so the producer's side needs no CAS. The loom
//! models below check it: every value is popped exactly once, by the owner
//! or a thief racing it, across laps of a two-slot ring.
// Unsafe here: the ring's slots are written and read through `UnsafeCell`; each access is owned through the stamp protocol above, and every block carries its SAFETY proof.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::sync::atomic::Ordering;

use crate::sync::{AtomicUsize, UnsafeCell};

struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// See the module docs. `push` may be called from one thread at a time
/// only (the owner: see [`push`](LocalQueue::push)); everything else from
/// any thread.
pub(crate) struct LocalQueue<T> {
    /// The next position to pop; every pop advances it with a CAS.
    head: Padded,
    /// The next position to push; written by the owner only. On a cache
    /// line of its own: thieves CAS `head` while the owner stores `tail`.
    tail: Padded,
    slots: Box<[Slot<T>]>,
    /// `cap - 1`, `cap` a power of two.
    mask: usize,
}

/// A counter on its own cache lines (two: the adjacent-line prefetcher
/// pulls pairs).
#[repr(align(128))]
struct Padded(AtomicUsize);

impl std::ops::Deref for Padded {
    type Target = AtomicUsize;
    fn deref(&self) -> &AtomicUsize {
        &self.0
    }
}

// SAFETY: values move between threads through the queue (a push on the
// owner, a pop anywhere), so `T: Send` is all it needs; the slots are only
// touched under the stamp protocol (module docs), which gives each value
// one owner at a time.
unsafe impl<T: Send> Send for LocalQueue<T> {}
// SAFETY: as above: shared references only push (one thread at a time, by
// `push`'s contract) and pop (claimed by CAS), never alias a value.
unsafe impl<T: Send> Sync for LocalQueue<T> {}

impl<T> LocalQueue<T> {
    /// An empty queue of `cap` slots.
    ///
    /// # Panics
    ///
    /// If `cap` is not a power of two of at least 2 (with one slot, "empty
    /// for the push at `p`" and "full for the pop at `p - 1`" would be the
    /// same stamp).
    pub(crate) fn new(cap: usize) -> LocalQueue<T> {
        assert!(
            cap >= 2 && cap.is_power_of_two(),
            "LocalQueue capacity must be a power of two of at least 2"
        );
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        LocalQueue {
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            slots,
            mask: cap - 1,
        }
    }

    /// Appends `value`, or gives it back if the queue is full.
    ///
    /// Must be called by one thread at a time: the worker that owns the
    /// queue (the executor pushes only from the worker's own thread). Two
    /// concurrent pushes would write the same slot.
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        // Only the owner writes `tail`, and it is the caller.
        let tail = self.tail.load(Ordering::Relaxed);
        let slot = &self.slots[tail & self.mask];
        // Acquire: a pop that freed this slot (stamp `tail`) finished
        // reading the previous value before we overwrite it.
        if slot.stamp.load(Ordering::Acquire) != tail {
            return Err(value);
        }
        // SAFETY: stamp `tail` says the slot is empty and that no pop may
        // touch it until it reads stamp `tail + 1`, stored below; pushes
        // are not concurrent (this function's contract). So the write is
        // exclusive.
        slot.value
            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
        slot.stamp.store(tail.wrapping_add(1), Ordering::Release);
        self.tail.store(tail.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// Takes the oldest value, if any; from any thread.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = &self.slots[head & self.mask];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head.wrapping_add(1) {
                match self.head.compare_exchange_weak(
                    head,
                    head.wrapping_add(1),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: stamp `head + 1` (read with Acquire after
                        // the push's Release) says the slot holds the value
                        // pushed at `head`, fully written; the CAS made this
                        // call the only pop of position `head`, and the
                        // owner does not write the slot again before it
                        // reads stamp `head + cap`, stored below after the
                        // read.
                        let value = slot.value.with_mut(|p| unsafe { p.read().assume_init() });
                        slot.stamp
                            .store(head.wrapping_add(self.mask + 1), Ordering::Release);
                        return Some(value);
                    }
                    Err(now) => head = now,
                }
            } else if stamp.wrapping_sub(head) as isize <= 0 {
                // Stamp `head`: nothing pushed at `head` yet (or not yet
                // visible). An older stamp: the slot's previous value is
                // still being read by the pop that claimed it, so nothing
                // can have been pushed at `head` either. Empty, unless
                // `head` moved on meanwhile.
                let now = self.head.load(Ordering::Relaxed);
                if now == head {
                    return None;
                }
                head = now;
            } else {
                // `head` was stale: another pop took that position.
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// How many values are queued (a snapshot: it may change at once).
    pub(crate) fn len(&self) -> usize {
        let head = self.head.load(Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst);
        // A pop may take a value between the push's stamp and its `tail`
        // store, so `head` can be one past `tail`: count that as empty.
        let n = tail.wrapping_sub(head);
        if n > self.mask + 1 {
            0
        } else {
            n
        }
    }

    /// Whether nothing is queued (a snapshot).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for LocalQueue<T> {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

#[cfg(all(test, not(tulipa_loom)))]
mod tests {
    use super::LocalQueue;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[derive(Debug, Clone)]
    enum Op {
        Push(u32),
        Pop,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![any::<u32>().prop_map(Op::Push), Just(Op::Pop)]
    }

    proptest! {
        /// One thread: the queue is a bounded FIFO (a `VecDeque` capped at
        /// `cap`), across many laps of a small ring.
        #[test]
        fn local_queue_matches_a_bounded_fifo(
            cap_log in 1u32..5,
            ops in proptest::collection::vec(op(), 1..400),
        ) {
            let cap = 1usize << cap_log;
            let q = LocalQueue::new(cap);
            let mut model = VecDeque::new();
            for op in ops {
                match op {
                    Op::Push(v) => {
                        let got = q.push(v);
                        if model.len() < cap {
                            prop_assert_eq!(got, Ok(()));
                            model.push_back(v);
                        } else {
                            prop_assert_eq!(got, Err(v));
                        }
                    }
                    Op::Pop => prop_assert_eq!(q.pop(), model.pop_front()),
                }
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(q.is_empty(), model.is_empty());
            }
        }
    }

    #[test]
    fn values_left_in_the_queue_are_dropped_with_it() {
        let counter = std::sync::Arc::new(());
        let q = LocalQueue::new(4);
        for _ in 0..3 {
            q.push(counter.clone()).unwrap();
        }
        drop(q.pop());
        assert_eq!(std::sync::Arc::strong_count(&counter), 3);
        drop(q);
        assert_eq!(std::sync::Arc::strong_count(&counter), 1);
    }

    #[test]
    fn an_owner_and_two_thieves_take_every_value_once() {
        const N: usize = 20_000;
        let q = std::sync::Arc::new(LocalQueue::new(8));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                    while std::time::Instant::now() < deadline {
                        match q.pop() {
                            Some(usize::MAX) => break,
                            Some(v) => got.push(v),
                            None => std::thread::yield_now(),
                        }
                    }
                    got
                })
            })
            .collect();
        let mut mine = Vec::new();
        for v in 0..N {
            let mut v = v;
            loop {
                match q.push(v) {
                    Ok(()) => break,
                    Err(back) => {
                        v = back;
                        if let Some(t) = q.pop() {
                            mine.push(t);
                        }
                    }
                }
            }
        }
        // One stop mark per thief; a full queue is made room in by the
        // owner itself (the marks come after every value, so what it pops
        // there is a value), so this loop ends even if the thieves did.
        for _ in 0..2 {
            while q.push(usize::MAX).is_err() {
                if let Some(t) = q.pop() {
                    mine.push(t);
                }
            }
        }
        let mut all = mine;
        for t in thieves {
            all.extend(t.join().unwrap());
        }
        // What the owner left behind when both stop marks were taken.
        while let Some(v) = q.pop() {
            if v != usize::MAX {
                all.push(v);
            }
        }
        all.sort_unstable();
        assert_eq!(all, (0..N).collect::<Vec<_>>(), "every value exactly once");
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_local_queue {
    use super::LocalQueue;
    use loom::sync::Arc;
    use loom::thread;

    /// The owner pushes three values into a two-slot ring (a second lap),
    /// popping when full, while a thief pops: every value is taken exactly
    /// once and none is read before it was written or overwritten before
    /// it was read (loom checks each slot access).
    #[test]
    fn loom_owner_and_thief_take_every_value_once() {
        loom::model(|| {
            let q = Arc::new(LocalQueue::new(2));
            let thief = {
                let q = q.clone();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    for _ in 0..2 {
                        if let Some(v) = q.pop() {
                            got.push(v);
                        }
                    }
                    got
                })
            };
            let mut mine = Vec::new();
            for v in 0..3u32 {
                if let Err(v) = q.push(v) {
                    if let Some(t) = q.pop() {
                        mine.push(t);
                    }
                    if let Err(v) = q.push(v) {
                        // The thief holds a claimed slot it has not freed
                        // yet: the value stays ours.
                        mine.push(v);
                    }
                }
            }
            let mut all = thief.join().unwrap();
            all.extend(mine);
            while let Some(v) = q.pop() {
                all.push(v);
            }
            all.sort_unstable();
            assert_eq!(all, [0, 1, 2]);
        });
    }

    /// Two thieves race for one value: exactly one gets it.
    #[test]
    fn loom_two_thieves_one_value() {
        loom::model(|| {
            let q = Arc::new(LocalQueue::new(2));
            q.push(7u32).unwrap();
            let q2 = q.clone();
            let t = thread::spawn(move || q2.pop());
            let mine = q.pop();
            let theirs = t.join().unwrap();
            assert_eq!(
                usize::from(mine.is_some()) + usize::from(theirs.is_some()),
                1,
                "{mine:?} {theirs:?}"
            );
            assert_eq!(mine.or(theirs), Some(7));
        });
    }
}
