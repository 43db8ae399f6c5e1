//! The ready list behind every combinator over many futures: one waker per
//! child future, and a shared list of the children that were woken.
//!
//! # Design
//!
//! A combinator over N futures must not poll all N on every wake-up (that is
//! O(N) per wake and O(N²) to finish). Instead each child is polled with its
//! own waker, which knows the child's index. Waking a child pushes its index
//! onto the shared ready list and wakes the parent task; the parent then
//! polls only the children on the list.
//!
//! State per child: a `queued` flag (an `AtomicBool`) is true while its
//! index sits on the ready list, so a child woken many times before the
//! parent gets to it is listed once. The parent clears `queued` *before*
//! polling the child, so a wake that arrives during or after that poll lists
//! it again: no wake is lost.
//!
//! The flags of 64 consecutive children live in one [`Chunk`], shared by
//! their wakers through one reference count: a child's waker is the
//! chunk's address with the child's place in it in the low bits (the chunk
//! is aligned to 64 bytes, so they are free). Making a child's waker
//! allocates nothing (one new chunk per 64 children). With an `Arc` per
//! child, `malloc`, `free` and glibc's consolidation of the freed blocks
//! were a large part of a task group's cost: `group_10k` on the
//! current-thread runtime went from 3,336 to 2,862 instructions per child
//! (callgrind, full run minus `--quick`, over 9,000 children).
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
//! Children that never return `Pending` never get a waker.
// Unsafe here: the child waker's vtable (a tagged pointer to its chunk and
// the chunk's reference count); every block carries its SAFETY proof.
#![allow(unsafe_code)]

use std::mem;
use std::sync::Arc;
use std::task::{Context, RawWaker, RawWakerVTable, Waker};

use crate::sync::{AtomicBool, Mutex};
use std::sync::atomic::Ordering;

/// Children per chunk. A child's slot in its chunk is stored in the low
/// bits of its waker's pointer, so a chunk's alignment must be at least
/// this (checked below).
const CHUNK: usize = 64;

/// The list and the parent waker, shared with every child waker.
struct Shared {
    inner: Mutex<Inner>,
}

struct Inner {
    ready: Vec<usize>,
    parent: Option<Waker>,
}

/// The `queued` flags of children `base .. base + CHUNK`, owned jointly by
/// the set and by those children's wakers (an `Arc`).
#[repr(align(64))]
struct Chunk {
    /// The index of the chunk's first child.
    base: usize,
    /// `queued[k]`: child `base + k` is on the ready list.
    queued: [AtomicBool; CHUNK],
    shared: Arc<Shared>,
}

// The slot must fit in the bits a chunk's alignment leaves free.
const _: () = assert!(std::mem::align_of::<Chunk>() >= CHUNK);

impl Chunk {
    fn new(base: usize, shared: Arc<Shared>) -> Chunk {
        Chunk {
            base,
            queued: std::array::from_fn(|_| AtomicBool::new(false)),
            shared,
        }
    }

    /// Child `base + slot` was woken: list it, unless it is listed.
    fn wake(&self, slot: usize) {
        if self.queued[slot].swap(true, Ordering::AcqRel) {
            return;
        }
        let parent = {
            let mut inner = lock(&self.shared.inner);
            inner.ready.push(self.base + slot);
            inner.parent.take()
        };
        if let Some(w) = parent {
            w.wake();
        }
    }
}

/// A child's waker: the address of its chunk (the value inside an
/// `Arc<Chunk>`) plus its slot, and one strong count of that `Arc`, which
/// the waker owns.
static CHILD_WAKER: RawWakerVTable =
    RawWakerVTable::new(clone_child, wake_child, wake_child_by_ref, drop_child);

/// The waker of child `base + slot` of `chunk`; it owns a strong count.
fn child_waker(chunk: &Arc<Chunk>, slot: usize) -> Waker {
    debug_assert!(slot < CHUNK);
    let data = Arc::into_raw(chunk.clone())
        .cast::<u8>()
        .wrapping_add(slot)
        .cast::<()>();
    // SAFETY: `data` and `CHILD_WAKER` keep `RawWaker`'s contract: the
    // functions below are thread-safe (a chunk is `Send + Sync`: atomics,
    // an index and an `Arc` of a mutex) and treat `data` as one owned
    // strong count of the `Arc<Chunk>` just leaked with `into_raw`
    // (`clone_child` takes another, `drop_child` and `wake_child` give it
    // back), so the chunk lives as long as any waker of it.
    unsafe { Waker::from_raw(RawWaker::new(data, &CHILD_WAKER)) }
}

/// Splits a child waker's pointer into its chunk and slot. The chunk's
/// address is a multiple of `CHUNK` (its alignment) and the slot is below
/// `CHUNK`, so the remainder is the slot.
fn untag(data: *const ()) -> (*const Chunk, usize) {
    let slot = data.addr() % CHUNK;
    (data.cast::<u8>().wrapping_sub(slot).cast::<Chunk>(), slot)
}

unsafe fn clone_child(data: *const ()) -> RawWaker {
    let (chunk, _) = untag(data);
    // SAFETY: `data` belongs to a live waker, which owns a strong count of
    // the `Arc<Chunk>` whose value `chunk` points to (see `child_waker`):
    // the count is at least one during this call, as
    // `increment_strong_count` needs. The new `RawWaker` owns the count
    // taken here.
    unsafe { Arc::increment_strong_count(chunk) };
    RawWaker::new(data, &CHILD_WAKER)
}

unsafe fn wake_child(data: *const ()) {
    // SAFETY: waking by value consumes the waker: it is woken while its
    // count still keeps the chunk alive, then its count is given back.
    unsafe {
        wake_child_by_ref(data);
        drop_child(data);
    }
}

unsafe fn wake_child_by_ref(data: *const ()) {
    let (chunk, slot) = untag(data);
    // SAFETY: the waker's strong count keeps the chunk alive for the
    // duration of this call (see `clone_child`); the reference does not
    // outlive it.
    unsafe { &*chunk }.wake(slot);
}

unsafe fn drop_child(data: *const ()) {
    let (chunk, _) = untag(data);
    // SAFETY: gives back the one strong count this waker owned (taken in
    // `child_waker` or `clone_child`); the waker is not used again.
    unsafe { Arc::decrement_strong_count(chunk) };
}

fn lock(m: &Mutex<Inner>) -> impl std::ops::DerefMut<Target = Inner> + '_ {
    // Nothing panics while the lock is held (pushes and takes only), so a
    // poisoned lock still holds consistent data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The parent's side: per-child wakers and the ready list.
pub(crate) struct ReadySet {
    shared: Arc<Shared>,
    /// `children[i]` is child `i`'s waker, created the first time it is
    /// polled and dropped by [`forget`](ReadySet::forget).
    children: Vec<Option<Waker>>,
    /// `chunks[k]`: the chunk of children `k * CHUNK ..` and how many of
    /// them have a waker in `children`. Dropped when that falls to zero
    /// (wakers given out keep it alive as long as they need it), so a
    /// long-lived set keeps no chunk of finished children.
    ///
    /// Invariant: if `children[i]` is `Some`, `chunks[i / CHUNK]` is
    /// `Some` and that waker points to it.
    chunks: Vec<Option<(Arc<Chunk>, usize)>>,
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
            chunks: Vec::new(),
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
        let (k, slot) = (index / CHUNK, index % CHUNK);
        if self.chunks.len() <= k {
            self.chunks.resize_with(k + 1, || None);
        }
        let shared = &self.shared;
        let (chunk, holders) = self.chunks[k]
            .get_or_insert_with(|| (Arc::new(Chunk::new(k * CHUNK, shared.clone())), 0));
        let waker = self.children[index].get_or_insert_with(|| {
            *holders += 1;
            child_waker(chunk, slot)
        });
        chunk.queued[slot].store(false, Ordering::Release);
        waker
    }

    /// Drops the waker of a finished child (a late wake of a finished child
    /// is harmless either way; this only frees memory early).
    pub(crate) fn forget(&mut self, index: usize) {
        if self.children[index].take().is_none() {
            return;
        }
        let k = index / CHUNK;
        if let Some((_, holders)) = &mut self.chunks[k] {
            *holders -= 1;
            if *holders == 0 {
                self.chunks[k] = None;
            }
        }
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
