//! The registry of live tasks (the `Owner` trait that gives one to each
//! task is in `owner.rs`).
//!
//! Every live task is in its executor's registry, which can make a waker
//! for it. The registry is what makes three things possible without a
//! reference cycle inside the task:
//!
//! - `JoinHandle::cancel` sets the task's flag and wakes it through a
//!   waker the registry makes, so the task is polled, sees the flag and
//!   drops its future at its next suspension point;
//! - shutdown wakes every task so each is scheduled onto a closed executor
//!   and dropped: nothing is forgotten, even tasks nobody will ever wake;
//! - `tasks()` lists what is alive (asyncio's `all_tasks`).
//!
//! # An intrusive list
//!
//! The registry is a doubly linked list threaded through the tasks
//! themselves: each task's metadata holds its [`Links`] (previous, next,
//! and the parts of the task's waker), so registering allocates nothing and
//! removing is O(1), with no table to grow, copy or walk past vacant slots.
//! The list is split in shards, each behind its own lock; a task's shard is
//! a function of its id ([`Node::shard`]), which never changes, so removal
//! locks only that shard. Task ids are handed out in per-thread blocks of
//! 256, and the shard is the block's number, so the tasks one thread spawns
//! share a shard and two spawning threads rarely meet on one lock.
//!
//! A task is inserted at spawn, after it is built and before it is first
//! scheduled, and removed when its future is dropped (completion,
//! cancellation or shutdown).
//!
//! # Why the pointers are valid
//!
//! A node lives in its task's allocation, and the task's future removes it
//! from the list when it is dropped. async-task drops a task's future
//! before it frees the allocation in every case but one: when the last
//! reference to a task goes away at the end of a poll that returned
//! `Pending` (no waker, no handle, not woken), it frees the allocation and
//! leaks the future. A linked task never gets there: it holds a reference
//! to itself from the end of its first `Pending` poll until its future is
//! dropped (`hold_self` in `task.rs`), and before that its runnable holds
//! one. So every pointer in a list (a shard's head, a node's previous and
//! next) points to a live node, and every node's links are read and
//! written only under its shard's lock.
//!
//! The registry itself holds no reference to a task: a node keeps its
//! task's waker as [`WakerParts`] (the data pointer and vtable, no count),
//! and the registry makes an owned waker from them only under the shard
//! lock while the node is linked, when the task's allocation is alive
//! (above). The task's reference to itself is also what keeps a waiting
//! task that nobody else references alive until `cancel` or the shutdown
//! sweep reaches it through the registry, as the registry's own waker did
//! before. A task that ends in its first poll never takes it, so
//! async-task's paths for a task with a single reference (detaching its
//! handle, completing) stay its fast ones.
//!
//! # Closing
//!
//! Shutdown [`close`](Registry::close)s it: each shard refuses inserts from
//! the moment its lock is taken by `close`, so once `close` returns, the set
//! of registered tasks can only shrink. A task spawned after that is not
//! linked, has no waker parts, and its spawner discards it at once (a run
//! that finds it cancelled). That is what bounds the shutdown sweep (see
//! `multi.rs`).
//!
//! # What it costs, and why the lock stays
//!
//! At `ac61583` (when the registry held a waker of each task), on the
//! current-thread runtime's `chained_spawn` benchmark (one spawn, link,
//! poll, unlink per task): 1,193 instructions per spawn, 975 with the
//! registry skipped (a throwaway build that breaks cancel, shutdown and the
//! dump), so the registry and its effects cost about 218. Wall clock,
//! medians of five alternated runs against smol's `LocalExecutor`:
//! 1.06-1.10 × with the registry, 0.92 × without it. Throwaway builds
//! located that cost:
//!
//! - the shard lock as a spin lock (one compare-exchange to take it, a
//!   plain store to release it, no poison check): 31 instructions and two
//!   locked instructions fewer per task, and no change in wall clock
//!   (1.08 ×); with no lock at all (unsound, single-threaded benchmark
//!   only): 1.07 ×;
//! - the list linked as before but holding no waker: 1.04 ×. With a second
//!   reference alive, async-task takes its slower paths when the handle is
//!   detached and when the task ends. That is why the registry now keeps
//!   waker parts, not a waker.
//!
//! So a lock-free list (its compare-exchanges cost what the lock does)
//! would not close the gap; what is left is the registry's existence, and
//! that is what gives `cancel`, the shutdown sweep and `tasks()` / the
//! dump from any thread. The lock stays a `std` mutex: it sleeps rather
//! than spins when a dump walks a long shard.
//!
//! Lock order: a shard lock is a leaf. Nothing is woken and no task is
//! dropped while it is held (wakers are made under it, and woken or
//! dropped after it is released).
// Unsafe here: the list's pointers to task metadata, the links read through them, and wakers made from a task's waker parts; every block carries its SAFETY proof.
#![allow(unsafe_code)]

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use crate::meta::{TaskInfo, TaskMeta};
use crate::sync::{Mutex, UnsafeCell};

const SHARDS: usize = 16;

/// Something the registry can link: a task's metadata (a test type in the
/// models).
pub(crate) trait Node: Sync + Sized {
    /// The node's links, used only by the registry.
    fn links(&self) -> &Links<Self>;
    /// The shard this node belongs to; must not change while it is linked.
    fn shard(&self) -> usize;
}

/// A node's place in its shard's list, and its task's waker parts.
pub(crate) struct Links<T> {
    /// Read and written only under the shard's lock.
    cell: UnsafeCell<Link<T>>,
    /// Written once, by [`Registry::insert`] before the node is linked;
    /// read under the shard's lock, or by the task's own poll or drop
    /// ([`Registry::parts_of`]), which come after the insert.
    parts: UnsafeCell<Option<WakerParts>>,
}

struct Link<T> {
    prev: Option<NonNull<T>>,
    next: Option<NonNull<T>>,
}

/// A waker taken apart: its data pointer and vtable, holding no reference.
/// An owned waker can be made from it only while the task it names is
/// alive ([`WakerParts::to_waker`]).
#[derive(Clone, Copy)]
pub(crate) struct WakerParts {
    data: *const (),
    vtable: &'static RawWakerVTable,
}

impl WakerParts {
    fn of(waker: &Waker) -> WakerParts {
        WakerParts {
            data: waker.data(),
            vtable: waker.vtable(),
        }
    }

    /// A new owned waker (one more reference to the task).
    ///
    /// # Safety
    ///
    /// The parts come from a waker of a task whose allocation has not been
    /// freed and will not be during this call.
    pub(crate) unsafe fn to_waker(self) -> Waker {
        // SAFETY: the parts are those of a valid waker (`of`), and its task
        // is alive (the caller's contract), so the borrowed waker is valid;
        // it is never dropped (`ManuallyDrop`), so it gives up no
        // reference, and `clone` takes one of its own.
        let borrowed =
            ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(self.data, self.vtable)) });
        Waker::clone(&borrowed)
    }

    /// Gives back one reference taken with [`to_waker`](Self::to_waker) and
    /// forgotten.
    ///
    /// # Safety
    ///
    /// The caller holds such a forgotten reference, and gives it up here.
    pub(crate) unsafe fn release(self) {
        // SAFETY: the caller owns one reference of a waker with exactly
        // these parts, so rebuilding that waker and dropping it releases
        // that reference and no other.
        drop(unsafe { Waker::from_raw(RawWaker::new(self.data, self.vtable)) });
    }
}

impl<T> Links<T> {
    /// Links of a node that is in no list.
    pub(crate) fn new() -> Links<T> {
        Links {
            cell: UnsafeCell::new(Link {
                prev: None,
                next: None,
            }),
            parts: UnsafeCell::new(None),
        }
    }
}

// SAFETY: the raw pointers in a `Link` are only followed under the shard
// lock, to nodes that are `Sync` (the `Node` bound); the waker parts are
// those of a `Waker`, which is `Send + Sync`, and are only turned back into
// one while the task is alive. Nothing in `Links` is tied to a thread.
unsafe impl<T: Sync> Send for Links<T> {}
// SAFETY: every access to `cell` goes through the shard's lock (see the
// module docs); `parts` is written once before the node is shared with any
// other thread through the list, and only read afterwards.
unsafe impl<T: Sync> Sync for Links<T> {}

struct Shard<T> {
    head: Option<NonNull<T>>,
    len: usize,
    /// Set by [`Registry::close`]: no more inserts.
    closed: bool,
}

// SAFETY: the head points to a node that is `Sync` (so it may be reached
// from any thread), followed only under this shard's lock.
unsafe impl<T: Sync> Send for Shard<T> {}

/// One shard on its own cache lines, so spawns on two threads that use
/// different shards do not share one.
#[repr(align(128))]
struct Padded<T>(Mutex<Shard<T>>);

pub(crate) struct Registry<T: Node = TaskMeta> {
    shards: Box<[Padded<T>]>,
}

fn lock<T>(m: &Mutex<Shard<T>>) -> crate::sync::MutexGuard<'_, Shard<T>> {
    // No code panics while holding a shard lock, but if a waker's clone
    // panicked the list is still consistent: recover.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` on a linked node's links.
///
/// # Safety
///
/// `node` is linked in (or being linked into, or unlinked from) the shard
/// whose lock the caller holds, so it is alive and nobody else touches its
/// links.
unsafe fn link_of<T: Node, R>(node: NonNull<T>, f: impl FnOnce(&mut Link<T>) -> R) -> R {
    // SAFETY: the caller's contract: the node is alive, and its links are
    // accessed only under the lock it holds.
    let links = unsafe { node.as_ref() }.links();
    // SAFETY: as above, the lock gives this access exclusivity.
    links.cell.with_mut(|l| f(unsafe { &mut *l }))
}

impl<T: Node> Registry<T> {
    pub(crate) fn new() -> Registry<T> {
        Registry {
            shards: (0..SHARDS)
                .map(|_| {
                    Padded(Mutex::new(Shard {
                        head: None,
                        len: 0,
                        closed: false,
                    }))
                })
                .collect(),
        }
    }

    fn shard_of(&self, node: &T) -> &Mutex<Shard<T>> {
        &self.shards[node.shard() % SHARDS].0
    }

    /// Links `node` at the head of its shard, with the parts of `waker`
    /// (no reference is kept): one lock, no allocation.
    ///
    /// Returns `false` when the registry is closed: the node is not linked
    /// and gets no waker parts; the caller must discard the task (cancel it
    /// before its first poll).
    ///
    /// # Safety
    ///
    /// `node` must not move or be freed until [`remove`](Self::remove) has
    /// been called for it, and `waker`'s task must stay alive until then
    /// too (for a task: its metadata lives in the task's allocation, which
    /// stays alive until its future, which calls `remove`, is dropped; see
    /// the module docs). It must not have been inserted before, and no
    /// other thread may reach it yet.
    pub(crate) unsafe fn insert(&self, node: &T, waker: &Waker) -> bool {
        let me = NonNull::from(node);
        let mut shard = lock(self.shard_of(node));
        if shard.closed {
            // No parts either: a refused task never holds itself
            // (`hold_self` finds none), so nothing outside the sweep's
            // reach can keep it alive.
            return false;
        }
        // SAFETY: nobody else reaches the node yet (the caller's contract),
        // so this first and only write of its parts is exclusive; every
        // later read comes after it (under this lock, or in the task's own
        // poll or drop, which the spawn happens before).
        node.links()
            .parts
            .with_mut(|p| unsafe { *p = Some(WakerParts::of(waker)) });
        let old_head = shard.head;
        // SAFETY: we hold the shard lock; `node` is alive (the caller's
        // contract) and not yet in any list, so only we touch its links.
        unsafe {
            link_of(me, |l| {
                debug_assert!(
                    l.prev.is_none() && l.next.is_none(),
                    "registry: node inserted twice"
                );
                l.next = old_head;
            });
        }
        if let Some(h) = old_head {
            // SAFETY: the old head is linked in this shard, whose lock we
            // hold: alive (see the module docs) and ours to change.
            unsafe { link_of(h, |l| l.prev = Some(me)) };
        }
        shard.head = Some(me);
        shard.len += 1;
        true
    }

    /// Refuses every later insert (shutdown). Tasks already registered stay
    /// until their futures are dropped.
    pub(crate) fn close(&self) {
        for shard in self.shards.iter() {
            lock(&shard.0).closed = true;
        }
    }

    /// Whether `node` is linked: the head of its shard, or after another
    /// node. Call under that shard's lock (`shard`).
    ///
    /// # Safety
    ///
    /// The caller holds the lock of `node`'s shard, and `node` is alive.
    unsafe fn is_linked(shard: &Shard<T>, node: NonNull<T>) -> bool {
        // SAFETY: the caller's contract.
        shard.head == Some(node) || unsafe { link_of(node, |l| l.prev.is_some()) }
    }

    /// Unlinks `node` if it is linked (a node the registry refused, or one
    /// already removed, is left alone).
    pub(crate) fn remove(&self, node: &T) {
        let mut shard = lock(self.shard_of(node));
        let me = NonNull::from(node);
        // SAFETY: we hold the lock of `node`'s shard and `node` is alive
        // (borrowed).
        if !unsafe { Self::is_linked(&shard, me) } {
            return;
        }
        // SAFETY: `node` is linked in the shard whose lock we hold, so only
        // we touch its links.
        let (prev, next) = unsafe { link_of(me, |l| (l.prev.take(), l.next.take())) };
        match prev {
            // SAFETY: `prev` is linked in this shard (the list is
            // consistent under the lock we hold), so alive and ours.
            Some(p) => unsafe { link_of(p, |l| l.next = next) },
            None => shard.head = next,
        }
        if let Some(n) = next {
            // SAFETY: as for `prev`.
            unsafe { link_of(n, |l| l.prev = prev) };
        }
        shard.len -= 1;
    }

    /// The parts of the waker `node` was inserted with, if it was.
    ///
    /// # Safety
    ///
    /// The call comes after `node`'s insert (for a task: from its own poll
    /// or drop, which its spawn happens before).
    pub(crate) unsafe fn parts_of(node: &T) -> Option<WakerParts> {
        // SAFETY: the parts were written once, by the insert, which this
        // call comes after (the caller's contract); nothing writes them
        // again, so this read races with no write. It may run at the same
        // time as another read (`waker_of_linked` on another thread), which
        // is why it is a read-only access.
        node.links().parts.with(|p| unsafe { *p })
    }

    /// A waker of a linked node's task, made under its shard's lock.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of `node`'s shard and `node` is linked.
    unsafe fn waker_of_linked(node: NonNull<T>) -> Option<Waker> {
        // SAFETY: a linked node was inserted, and its parts written before
        // (under or before the lock the caller holds).
        let parts = unsafe { Self::parts_of(node.as_ref()) }?;
        // SAFETY: the node is linked, so its task's allocation is alive
        // (see the module docs), and the future's drop, which would unlink
        // it first, waits for the lock the caller holds.
        Some(unsafe { parts.to_waker() })
    }

    /// Runs `f` on every registered node, shard by shard, under each
    /// shard's lock (so `f` must not touch the registry).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
        for shard in self.shards.iter() {
            let shard = lock(&shard.0);
            let mut at = shard.head;
            while let Some(node) = at {
                // SAFETY: `node` is linked in this shard, whose lock we
                // hold: alive (see the module docs). The reference does not
                // outlive this iteration.
                f(unsafe { node.as_ref() });
                // SAFETY: as above.
                at = unsafe { link_of(node, |l| l.next) };
            }
        }
    }

    /// A waker of `node`'s task, if it is still registered.
    pub(crate) fn waker_of(&self, node: &T) -> Option<Waker> {
        let shard = lock(self.shard_of(node));
        let me = NonNull::from(node);
        // SAFETY: we hold `node`'s shard lock and `node` is alive
        // (borrowed); the waker is made only if it is linked.
        unsafe {
            Self::is_linked(&shard, me)
                .then(|| Self::waker_of_linked(me))
                .flatten()
        }
    }

    /// Wakes `node`'s task, if it is still registered.
    pub(crate) fn wake(&self, node: &T) {
        if let Some(w) = self.waker_of(node) {
            w.wake();
        }
    }

    /// Wakes every registered task (used by shutdown).
    pub(crate) fn wake_all(&self) {
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            let shard = lock(&shard.0);
            wakers.reserve(shard.len);
            let mut at = shard.head;
            while let Some(node) = at {
                // SAFETY: `node` is linked in this shard, whose lock we
                // hold: alive and ours to read.
                wakers.extend(unsafe { Self::waker_of_linked(node) });
                // SAFETY: as above.
                at = unsafe { link_of(node, |l| l.next) };
            }
        }
        for w in wakers {
            w.wake();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).len).sum()
    }
}

impl Node for TaskMeta {
    fn links(&self) -> &Links<TaskMeta> {
        &self.links
    }

    fn shard(&self) -> usize {
        // Ids come in per-thread blocks of 256 (`TaskId::next`): one shard
        // per block.
        (self.id.as_u64() >> 8) as usize
    }
}

impl Registry<TaskMeta> {
    /// Every registered task, in id order.
    pub(crate) fn tasks(&self) -> Vec<TaskInfo> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|m| out.push(m.info()));
        out.sort_by_key(TaskInfo::id);
        out
    }
}

/// A node for the models: an id (its shard is `id % 3`, so shards are
/// shared and many stay empty) and its links.
#[cfg(test)]
struct TestNode {
    id: u64,
    links: Links<TestNode>,
}

#[cfg(test)]
impl TestNode {
    fn new(id: u64) -> TestNode {
        TestNode {
            id,
            links: Links::new(),
        }
    }
}

#[cfg(test)]
impl Node for TestNode {
    fn links(&self) -> &Links<TestNode> {
        &self.links
    }

    fn shard(&self) -> usize {
        (self.id % 3) as usize
    }
}

#[cfg(all(test, not(tulipa_loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker that counts its wakes.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert,
        Remove(usize),
        RemoveAgain(usize),
        Wake(usize),
        WakeAll,
        Close,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => Just(Op::Insert),
            3 => any::<usize>().prop_map(Op::Remove),
            1 => any::<usize>().prop_map(Op::RemoveAgain),
            1 => any::<usize>().prop_map(Op::Wake),
            1 => Just(Op::WakeAll),
            1 => Just(Op::Close),
        ]
    }

    proptest! {
        /// The registry against a map model: every linked node is listed
        /// once (in any order), `len` matches, removing a node (from the
        /// head, the middle or the tail of its shard's list) never disturbs
        /// another, removing twice or removing a refused node is a no-op,
        /// waking reaches exactly the nodes still linked, and after `close`
        /// no insert links while removals go on.
        #[test]
        fn registry_matches_a_map_model(ops in proptest::collection::vec(op(), 1..300)) {
            let reg: Registry<TestNode> = Registry::new();
            // Boxed: a node must not move while linked.
            let mut nodes: Vec<(Box<TestNode>, Arc<Count>)> = Vec::new();
            let mut model: BTreeMap<u64, usize> = BTreeMap::new(); // id -> wakes expected
            let mut removed: Vec<usize> = Vec::new();
            let mut closed = false;
            for op in ops {
                match op {
                    Op::Insert => {
                        let id = nodes.len() as u64;
                        let count = Arc::new(Count(AtomicUsize::new(0)));
                        let node = Box::new(TestNode::new(id));
                        // SAFETY: the node is boxed (it never moves) and is
                        // removed below before the vector drops it; its
                        // waker's `Arc` is kept in the vector too.
                        let linked = unsafe { reg.insert(&node, &Waker::from(count.clone())) };
                        prop_assert_eq!(linked, !closed);
                        // The registry keeps waker parts, not a reference.
                        prop_assert_eq!(Arc::strong_count(&count), 1);
                        if linked {
                            model.insert(id, 0);
                        } else {
                            // Its removal (the task's drop) touches nothing.
                            reg.remove(&node);
                            removed.push(nodes.len());
                        }
                        nodes.push((node, count));
                    }
                    Op::Remove(i) if !model.is_empty() => {
                        let id = *model.keys().nth(i % model.len()).unwrap();
                        model.remove(&id);
                        reg.remove(&nodes[id as usize].0);
                        removed.push(id as usize);
                        // No reference was taken or left behind.
                        prop_assert_eq!(Arc::strong_count(&nodes[id as usize].1), 1);
                    }
                    Op::RemoveAgain(i) if !removed.is_empty() => {
                        // Removing or waking a removed node does nothing.
                        let n = removed[i % removed.len()];
                        let wakes = nodes[n].1.0.load(Ordering::SeqCst);
                        reg.remove(&nodes[n].0);
                        reg.wake(&nodes[n].0);
                        prop_assert!(reg.waker_of(&nodes[n].0).is_none());
                        prop_assert_eq!(nodes[n].1.0.load(Ordering::SeqCst), wakes);
                    }
                    Op::Wake(i) if !model.is_empty() => {
                        let id = *model.keys().nth(i % model.len()).unwrap();
                        reg.wake(&nodes[id as usize].0);
                        *model.get_mut(&id).unwrap() += 1;
                    }
                    Op::WakeAll => {
                        reg.wake_all();
                        for wakes in model.values_mut() {
                            *wakes += 1;
                        }
                    }
                    Op::Close => {
                        reg.close();
                        closed = true;
                    }
                    _ => {}
                }
                prop_assert_eq!(reg.len(), model.len());
                let mut listed = Vec::new();
                reg.for_each(|n| listed.push(n.id));
                listed.sort_unstable();
                let expected: Vec<u64> = model.keys().copied().collect();
                prop_assert_eq!(listed, expected);
                for (id, wakes) in &model {
                    prop_assert_eq!(nodes[*id as usize].1.0.load(Ordering::SeqCst), *wakes);
                }
            }
            for (node, _) in &nodes {
                reg.remove(node);
            }
            prop_assert_eq!(reg.len(), 0);
            for (_, count) in &nodes {
                prop_assert_eq!(Arc::strong_count(count), 1, "a waker was kept after removal");
            }
        }
    }
}

/// Loom models of the registry's hand-offs: spawns racing shutdown's close
/// and sweep, and concurrent links and unlinks in one shard. Run with
/// `cargo xtask loom`.
#[cfg(all(test, tulipa_loom))]
mod loom_models {
    use super::*;
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> Arc<Count> {
        Arc::new(Count(AtomicUsize::new(0)))
    }

    /// A spawn (insert) races shutdown (close, then wake everything): the
    /// spawn is either refused, or linked early enough that the sweep wakes
    /// it. No task is registered and missed.
    #[test]
    fn loom_insert_races_close_and_sweep() {
        loom::model(|| {
            let reg: Arc<Registry<TestNode>> = Arc::new(Registry::new());
            let node = Arc::new(TestNode::new(1));
            let count = counter();
            let spawner = {
                let (reg, node, count) = (reg.clone(), node.clone(), count.clone());
                loom::thread::spawn(move || {
                    // SAFETY: the node and the waker's `Arc` are kept by
                    // the test, and the node is removed before it ends.
                    unsafe { reg.insert(&node, &Waker::from(count)) }
                })
            };
            reg.close();
            reg.wake_all();
            let linked = spawner.join().unwrap();
            let woken = count.0.load(Ordering::SeqCst);
            if linked {
                assert_eq!(woken, 1, "a task registered before the close was not swept");
            } else {
                assert_eq!(woken, 0);
                assert!(reg.waker_of(&node).is_none());
            }
            reg.remove(&node);
            assert_eq!(reg.len(), 0);
        });
    }

    /// Two nodes of one shard are linked by two threads while a third
    /// node, linked first, is unlinked by a third thread and the main
    /// thread walks the list: every access to a node's links is ordered by
    /// the shard lock (loom checks each cell access), and the list ends
    /// with exactly the two.
    #[test]
    fn loom_links_and_unlinks_in_one_shard() {
        loom::model(|| {
            let reg: Arc<Registry<TestNode>> = Arc::new(Registry::new());
            // Ids 0, 3, 6: one shard.
            let nodes: Vec<Arc<TestNode>> = [0, 3, 6].map(|id| Arc::new(TestNode::new(id))).into();
            // SAFETY: every node is in an `Arc` the test keeps until the
            // end, and removed before then.
            assert!(unsafe { reg.insert(&nodes[0], Waker::noop()) });
            let mut threads = Vec::new();
            for node in &nodes[1..] {
                let (reg, node) = (reg.clone(), node.clone());
                threads.push(loom::thread::spawn(move || {
                    // SAFETY: as above.
                    assert!(unsafe { reg.insert(&node, Waker::noop()) });
                }));
            }
            {
                let (reg, node) = (reg.clone(), nodes[0].clone());
                threads.push(loom::thread::spawn(move || reg.remove(&node)));
            }
            let mut seen = 0;
            reg.for_each(|_| seen += 1);
            assert!(seen <= 3);
            for t in threads {
                t.join().unwrap();
            }
            let mut listed = Vec::new();
            reg.for_each(|n| listed.push(n.id));
            listed.sort_unstable();
            assert_eq!(listed, [3, 6]);
            assert_eq!(reg.len(), 2);
            for n in &nodes {
                reg.remove(n);
            }
            assert_eq!(reg.len(), 0);
        });
    }
}
