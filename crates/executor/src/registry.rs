//! The registry of live tasks (the `Owner` trait that gives one to each
//! task is in `owner.rs`).
//!
//! Every live task is in its executor's registry, with a waker for it. The
//! registry is what makes three things possible without a reference cycle
//! inside the task:
//!
//! - `JoinHandle::cancel` sets the task's flag and wakes it through the
//!   registry's waker, so the task is polled, sees the flag and drops its
//!   future at its next suspension point;
//! - shutdown wakes every task so each is scheduled onto a closed executor
//!   and dropped: nothing is forgotten, even tasks nobody will ever wake;
//! - `tasks()` lists what is alive (asyncio's `all_tasks`).
//!
//! # An intrusive list
//!
//! The registry is a doubly linked list threaded through the tasks
//! themselves: each task's metadata holds its [`Links`] (previous, next,
//! and the task's waker), so registering allocates nothing and removing is
//! O(1), with no table to grow, copy or walk past vacant slots. The list is
//! split in shards, each behind its own lock; a task's shard is a function
//! of its id ([`Node::shard`]), which never changes, so removal locks only
//! that shard. Task ids are handed out in per-thread blocks of 256, and the
//! shard is the block's number, so the tasks one thread spawns share a
//! shard and two spawning threads rarely meet on one lock.
//!
//! A task is inserted at spawn, after it is built and before it is first
//! scheduled, and removed when its future is dropped (completion,
//! cancellation or shutdown).
//!
//! # Why the pointers are valid
//!
//! A linked node's `Links` hold the task's waker, and a waker keeps the
//! task's allocation (which holds the metadata, and so the node) alive. A
//! node leaves the list before its waker is dropped, and that happens when
//! the task's future is dropped, which async-task always does before it
//! frees the allocation. So every pointer in a list (a shard's head, a
//! node's previous and next) points to a live node, and every node's links
//! are read and written only under its shard's lock.
//!
//! # Closing
//!
//! Shutdown [`close`](Registry::close)s it: each shard refuses inserts from
//! the moment its lock is taken by `close`, so once `close` returns, the set
//! of registered tasks can only shrink. A task spawned after that is not
//! linked and its spawner drops it at once. That is what bounds the shutdown
//! sweep (see `multi.rs`).
//!
//! Lock order: a shard lock is a leaf. Nothing is woken and no task is
//! dropped while it is held (wakers are cloned out first, and a removed
//! node's waker is dropped after the lock is released).
// Unsafe here: the list's pointers to task metadata, and the links read through them; every block carries its SAFETY proof.
#![allow(unsafe_code)]

use std::ptr::NonNull;
use std::task::Waker;

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

/// A node's place in its shard's list. Read and written only under the
/// shard's lock.
pub(crate) struct Links<T> {
    cell: UnsafeCell<Link<T>>,
}

struct Link<T> {
    prev: Option<NonNull<T>>,
    next: Option<NonNull<T>>,
    /// The task's waker while it is linked; `None` before it is inserted
    /// and after it is removed (or when the registry refused it).
    waker: Option<Waker>,
}

impl<T> Links<T> {
    /// Links of a node that is in no list.
    pub(crate) fn new() -> Links<T> {
        Links {
            cell: UnsafeCell::new(Link {
                prev: None,
                next: None,
                waker: None,
            }),
        }
    }
}

// SAFETY: the raw pointers in a `Link` are only followed under the shard
// lock, to nodes that are `Sync` (the `Node` bound), and the waker is
// `Send + Sync`; nothing in a `Link` is tied to a thread.
unsafe impl<T: Sync> Send for Links<T> {}
// SAFETY: every access to the cell goes through the shard's lock (see the
// module docs), so shared references never race.
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

    /// Links `node`, which keeps `waker` until it is removed, at the head
    /// of its shard: one lock, no allocation.
    ///
    /// Returns `false` when the registry is closed: the node is not linked
    /// (and `waker` is dropped); the caller must drop the task without
    /// running it.
    ///
    /// # Safety
    ///
    /// `node` must not move or be freed until [`remove`](Self::remove) has
    /// been called for it (for a task: its metadata lives in the task's
    /// allocation, which `waker` keeps alive, and the task's future removes
    /// it when it is dropped). It must not be linked already.
    pub(crate) unsafe fn insert(&self, node: &T, waker: Waker) -> bool {
        let mut shard = lock(self.shard_of(node));
        if shard.closed {
            drop(shard);
            drop(waker);
            return false;
        }
        let me = NonNull::from(node);
        let old_head = shard.head;
        // SAFETY: we hold the shard lock; `node` is alive (the caller's
        // contract) and not yet in any list, so only we touch its links.
        unsafe {
            link_of(me, |l| {
                debug_assert!(l.waker.is_none(), "registry: node inserted twice");
                l.prev = None;
                l.next = old_head;
                l.waker = Some(waker);
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

    /// Unlinks `node` if it is linked (a node the registry refused, or one
    /// already removed, is left alone), and drops its waker after the lock
    /// is released: dropping the last waker may free the task.
    pub(crate) fn remove(&self, node: &T) {
        let waker = {
            let mut shard = lock(self.shard_of(node));
            let me = NonNull::from(node);
            // SAFETY: we hold the lock of `node`'s shard and `node` is alive
            // (borrowed); if it is linked, only this lock's holder touches
            // its links, and if not, nobody else does either.
            let (prev, next, waker) =
                unsafe { link_of(me, |l| (l.prev.take(), l.next.take(), l.waker.take())) };
            if waker.is_none() {
                return;
            }
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
            waker
        };
        drop(waker);
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

    /// The registered waker of `node`, if it is still registered.
    pub(crate) fn waker_of(&self, node: &T) -> Option<Waker> {
        let _shard = lock(self.shard_of(node));
        // SAFETY: we hold `node`'s shard lock and `node` is alive
        // (borrowed), so this access is exclusive.
        unsafe { link_of(NonNull::from(node), |l| l.waker.clone()) }
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
                at = unsafe {
                    link_of(node, |l| {
                        wakers.extend(l.waker.clone());
                        l.next
                    })
                };
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
                        // removed below before the vector drops it.
                        let linked = unsafe { reg.insert(&node, Waker::from(count.clone())) };
                        prop_assert_eq!(linked, !closed);
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
                        // The registry let go of its waker.
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
                    // SAFETY: the node is in an `Arc` the test keeps, and
                    // is removed before the test ends.
                    unsafe { reg.insert(&node, Waker::from(count)) }
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
            assert!(unsafe { reg.insert(&nodes[0], Waker::noop().clone()) });
            let mut threads = Vec::new();
            for node in &nodes[1..] {
                let (reg, node) = (reg.clone(), node.clone());
                threads.push(loom::thread::spawn(move || {
                    // SAFETY: as above.
                    assert!(unsafe { reg.insert(&node, Waker::noop().clone()) });
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
