//! The ready list behind every combinator over many futures: one waker per
//! child future, and a shared list of the children that were woken.
//!
//! # Design
//!
//! A combinator over N futures must not poll all N on every wake-up (that is
//! O(N) per wake and O(N²) to finish). Instead each child is polled with its
//! own waker, a [`Child`] that knows its index. Waking a child pushes its
//! index onto the shared ready list and wakes the parent task; the parent
//! then polls only the children on the list.
//!
//! State per child: `queued` (an `AtomicBool`) is true while its index sits
//! on the ready list, so a child woken many times before the parent gets to
//! it is listed once. The parent clears `queued` *before* polling the child,
//! so a wake that arrives during or after that poll lists it again: no wake
//! is lost.
//!
//! The parent's waker is kept in the same mutex as the list. A child wake
//! *takes* it (so a burst of child wakes wakes the parent once), and the
//! parent stores its waker again every time it takes a batch. Every
//! `Poll::Pending` a combinator returns follows a [`ReadySet::take_batch`]
//! in the same poll, so the parent waker is always registered (or was
//! already taken by a wake that will re-poll the parent).
//!
//! Fairness: a combinator polls one batch (the list as it was when taken)
//! per poll of its own; children that wake themselves while being polled go
//! to the next batch, after the parent has yielded to the executor.
//!
//! Lock order: only the one mutex, never held while polling or waking.
//! Children that never return `Pending` never get a waker allocated.

use std::mem;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use crate::sync::{AtomicBool, Mutex};
use std::sync::atomic::Ordering;

/// The list and the parent waker, shared with every child waker.
struct Shared {
    inner: Mutex<Inner>,
}

struct Inner {
    ready: Vec<usize>,
    parent: Option<Waker>,
}

/// A child's waker.
struct Child {
    index: usize,
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for Child {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let parent = {
            let mut inner = lock(&self.shared.inner);
            inner.ready.push(self.index);
            inner.parent.take()
        };
        if let Some(w) = parent {
            w.wake();
        }
    }
}

fn lock(m: &Mutex<Inner>) -> impl std::ops::DerefMut<Target = Inner> + '_ {
    // Nothing panics while the lock is held (pushes and takes only), so a
    // poisoned lock still holds consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The parent's side: per-child wakers and the ready list.
pub(crate) struct ReadySet {
    shared: Arc<Shared>,
    /// `children[i]` is created the first time child `i` is polled.
    children: Vec<Option<(Arc<Child>, Waker)>>,
    /// A spare buffer swapped with the shared list, so taking a batch does
    /// not allocate.
    spare: Vec<usize>,
}

impl ReadySet {
    /// A set of `len` children, all listed as ready (so each is polled once
    /// at the start).
    pub(crate) fn with_len(len: usize) -> ReadySet {
        let mut children = Vec::with_capacity(len);
        children.resize_with(len, || None);
        ReadySet {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    ready: (0..len).collect(),
                    parent: None,
                }),
            }),
            children,
            spare: Vec::new(),
        }
    }

    /// Adds a child, listed as ready; returns its index.
    pub(crate) fn push(&mut self) -> usize {
        let index = self.children.len();
        self.children.push(None);
        lock(&self.shared.inner).ready.push(index);
        index
    }

    /// Takes the list of children woken since the last batch and registers
    /// the parent's waker for the next wake. The caller polls each index
    /// with [`waker`](ReadySet::waker) and hands the buffer back with
    /// [`recycle`](ReadySet::recycle).
    pub(crate) fn take_batch(&mut self, cx: &Context<'_>) -> Vec<usize> {
        let mut batch = mem::take(&mut self.spare);
        batch.clear();
        let mut inner = lock(&self.shared.inner);
        match &inner.parent {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.parent = Some(cx.waker().clone()),
        }
        mem::swap(&mut inner.ready, &mut batch);
        batch
    }

    /// Lists `indices` again (children taken in a batch but not polled,
    /// because an earlier child's poll panicked).
    pub(crate) fn relist(&mut self, indices: &[usize]) {
        if !indices.is_empty() {
            lock(&self.shared.inner).ready.extend_from_slice(indices);
        }
    }

    /// Gives a batch buffer back for reuse.
    pub(crate) fn recycle(&mut self, batch: Vec<usize>) {
        if batch.capacity() > self.spare.capacity() {
            self.spare = batch;
        }
    }

    /// The waker to poll child `index` with, marking the child as no longer
    /// listed: call it right before polling the child.
    pub(crate) fn waker(&mut self, index: usize) -> &Waker {
        let shared = &self.shared;
        let slot = self.children[index].get_or_insert_with(|| {
            let child = Arc::new(Child {
                index,
                queued: AtomicBool::new(false),
                shared: shared.clone(),
            });
            let waker = Waker::from(child.clone());
            (child, waker)
        });
        slot.0.queued.store(false, Ordering::Release);
        &slot.1
    }

    /// Drops the waker of a finished child (a late wake of a finished child
    /// is harmless either way; this only frees memory early).
    pub(crate) fn forget(&mut self, index: usize) {
        self.children[index] = None;
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_ready {
    use super::*;
    use loom::thread;
    use std::task::Wake;

    struct Flag(loom::sync::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// A child woken from another thread while the parent takes a batch and
    /// polls it is never lost: either the batch the parent took lists it, or
    /// the parent's waker was woken (so a later batch will).
    #[test]
    fn loom_ready_no_lost_wake() {
        loom::model(|| {
            let mut set = ReadySet::with_len(1);
            let flag = Arc::new(Flag(loom::sync::atomic::AtomicBool::new(false)));
            let parent = Waker::from(flag.clone());
            let cx = Context::from_waker(&parent);
            let first = set.take_batch(&cx);
            assert_eq!(first, vec![0]);
            let child = set.waker(0).clone();
            set.recycle(first);
            let t = thread::spawn(move || child.wake());
            let batch = set.take_batch(&cx);
            t.join().unwrap();
            let listed = batch.contains(&0);
            let woken = flag.0.load(Ordering::SeqCst);
            assert!(listed || woken, "the child's wake was lost");
            if !listed {
                // The wake came after the batch: the next batch lists it.
                set.recycle(batch);
                assert_eq!(set.take_batch(&cx), vec![0]);
            }
        });
    }
}
