//! The registry of live tasks (the `Owner` trait that gives one to each
//! task is in `owner.rs`).
//!
//! Every live task has one entry in its executor's registry: its waker and
//! its identity. The registry is what makes three things possible without a
//! reference cycle inside the task:
//!
//! - `JoinHandle::cancel` sets the task's flag and wakes it through the
//!   registry's waker, so the task is polled, sees the flag and drops its
//!   future at its next suspension point;
//! - shutdown wakes every task so each is scheduled onto a closed executor
//!   and dropped: nothing is forgotten, even tasks nobody will ever wake;
//! - `tasks()` lists what is alive (asyncio's `all_tasks`).
//!
//! The registry is split in shards to keep spawns on different threads off
//! one lock. An entry is inserted at spawn and removed when the task's future
//! is dropped (completion, cancellation or shutdown).
//!
//! Shutdown [`close`](Registry::close)s it: each shard refuses inserts from
//! the moment its lock is taken by `close`, so once `close` returns, the set
//! of registered tasks can only shrink. A task spawned after that is built
//! unregistered (with [`UNREGISTERED`] as its key) and its spawner drops it
//! at once. That is what bounds the shutdown sweep (see `multi.rs`).
//!
//! Lock order: a shard lock is a leaf. Nothing is woken and no task is
//! dropped while it is held (wakers are cloned out first).
// Unsafe here: the registry reads task metadata through pointers it keeps while the task lives; every block carries its SAFETY proof.
#![allow(unsafe_code)]

use std::panic::Location;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use crate::meta::{TaskId, TaskInfo, TaskMeta};

const SHARDS: usize = 16;

struct Entry {
    waker: Option<Waker>,
    id: TaskId,
    name: Option<Arc<str>>,
    location: &'static Location<'static>,
    meta: Option<MetaPtr>,
}

/// The task's metadata, readable while its entry exists.
struct MetaPtr(NonNull<TaskMeta>);

// SAFETY: a `MetaPtr` is only dereferenced to a shared `&TaskMeta`, and
// `TaskMeta` is `Send + Sync` (checked in `done.rs`).
unsafe impl Send for MetaPtr {}
// SAFETY: as above.
unsafe impl Sync for MetaPtr {}

#[derive(Default)]
struct Shard {
    entries: slab::Slab<Entry>,
    /// Set by [`Registry::close`]: no more inserts.
    closed: bool,
}

/// The key of a task spawned into a closed registry: matches no entry, so
/// its removal, waking and lookups are no-ops.
pub(crate) const UNREGISTERED: usize = usize::MAX;

pub(crate) struct Registry {
    shards: Box<[Mutex<Shard>]>,
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // No code panics while holding a shard lock, but if a waker's clone or
    // drop panicked the slab is still consistent: recover.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    /// Registers a task: `make(key)` builds it (under the shard lock, so
    /// one lock per spawn) and returns the value to hand back and the
    /// task's waker. The shard is chosen from the task id, which spreads
    /// spawns from different threads over different locks.
    ///
    /// Returns `false` beside the value when the registry is closed: the
    /// task was built with the key [`UNREGISTERED`] and is not listed; the
    /// caller must drop it without running it.
    pub(crate) fn insert<R>(
        &self,
        id: TaskId,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
        make: impl FnOnce(usize) -> (R, Waker, Option<NonNull<TaskMeta>>),
    ) -> (R, bool) {
        let shard = (id.as_u64() as usize) % SHARDS;
        let mut slab = lock(&self.shards[shard]);
        if slab.closed {
            drop(slab);
            let (out, _waker, _meta) = make(UNREGISTERED);
            return (out, false);
        }
        let index = slab.entries.vacant_key();
        let (out, waker, meta) = make(index * SHARDS + shard);
        slab.entries.insert(Entry {
            waker: Some(waker),
            id,
            name,
            location,
            meta: meta.map(MetaPtr),
        });
        (out, true)
    }

    /// Refuses every later insert (shutdown). Tasks already registered stay
    /// until their futures are dropped.
    pub(crate) fn close(&self) {
        for shard in self.shards.iter() {
            lock(shard).closed = true;
        }
    }

    pub(crate) fn remove(&self, key: usize) {
        let waker = {
            let mut slab = lock(&self.shards[key % SHARDS]);
            let Some(entry) = slab.entries.try_remove(key / SHARDS) else {
                return;
            };
            entry.waker
        };
        // Dropped outside the lock: dropping the last waker may free a task.
        drop(waker);
    }

    /// Runs `f` on the metadata of every registered task.
    pub(crate) fn for_each_meta(&self, mut f: impl FnMut(&TaskMeta)) {
        for shard in self.shards.iter() {
            let slab = lock(shard);
            for (_, e) in slab.entries.iter() {
                if let (Some(m), Some(_)) = (&e.meta, &e.waker) {
                    // SAFETY: the entry holds a waker of the task (checked
                    // just above), which keeps the task allocation, and the
                    // metadata inside it, alive; async-task drops metadata
                    // only when it frees the allocation. The entry cannot be
                    // removed while the shard lock is held, and the
                    // reference does not outlive this iteration.
                    f(unsafe { m.0.as_ref() });
                }
            }
        }
    }

    /// Wakes the task with this key, if it is still registered.
    pub(crate) fn wake(&self, key: usize) {
        let waker = {
            let slab = lock(&self.shards[key % SHARDS]);
            slab.entries.get(key / SHARDS).and_then(|e| e.waker.clone())
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The waker of the task with this key, if it is still registered and
    /// is task `id` (keys are reused once a task is gone).
    pub(crate) fn waker_of(&self, key: usize, id: TaskId) -> Option<Waker> {
        let slab = lock(&self.shards[key % SHARDS]);
        slab.entries
            .get(key / SHARDS)
            .filter(|e| e.id == id)
            .and_then(|e| e.waker.clone())
    }

    /// Wakes every registered task (used by shutdown).
    pub(crate) fn wake_all(&self) {
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            let slab = lock(shard);
            wakers.extend(slab.entries.iter().filter_map(|(_, e)| e.waker.clone()));
        }
        for w in wakers {
            w.wake();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).entries.len()).sum()
    }

    pub(crate) fn tasks(&self) -> Vec<TaskInfo> {
        let mut out = Vec::with_capacity(self.len());
        for shard in self.shards.iter() {
            let slab = lock(shard);
            out.extend(
                slab.entries
                    .iter()
                    .map(|(_, e)| TaskInfo::new(e.id, e.name.clone(), e.location)),
            );
        }
        out.sort_by_key(TaskInfo::id);
        out
    }
}

#[cfg(all(test, not(tulipa_loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Insert,
        Remove(usize),
        Wake(usize),
        Close,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Insert),
            2 => any::<usize>().prop_map(Op::Remove),
            1 => any::<usize>().prop_map(Op::Wake),
            1 => Just(Op::Close),
        ]
    }

    proptest! {
        /// The registry against a map model: every live task is listed once,
        /// in id order, `len` matches, removing one task never disturbs
        /// another even though slots are reused, and after `close` no
        /// insert registers while removals go on.
        #[test]
        fn registry_matches_a_map_model(ops in proptest::collection::vec(op(), 1..300)) {
            let reg = Registry::new();
            let mut model: BTreeMap<u64, usize> = BTreeMap::new();
            let mut closed = false;
            for op in ops {
                match op {
                    Op::Insert => {
                        let id = TaskId::next();
                        let (key, registered) = reg.insert(id, None, Location::caller(), |key| {
                            (key, Waker::noop().clone(), None)
                        });
                        prop_assert_eq!(registered, !closed);
                        if registered {
                            prop_assert!(!model.values().any(|k| *k == key), "key reused while live");
                            model.insert(id.as_u64(), key);
                        } else {
                            prop_assert_eq!(key, UNREGISTERED);
                            // Its removal (the task's drop) touches nothing.
                            reg.remove(key);
                        }
                    }
                    Op::Remove(i) if !model.is_empty() => {
                        let id = *model.keys().nth(i % model.len()).unwrap();
                        let key = model.remove(&id).unwrap();
                        reg.remove(key);
                    }
                    Op::Wake(i) if !model.is_empty() => {
                        let key = *model.values().nth(i % model.len()).unwrap();
                        reg.wake(key);
                    }
                    Op::Close => {
                        reg.close();
                        closed = true;
                    }
                    _ => {}
                }
                prop_assert_eq!(reg.len(), model.len());
                let listed: Vec<u64> = reg.tasks().iter().map(|t| t.id().as_u64()).collect();
                let expected: Vec<u64> = model.keys().copied().collect();
                prop_assert_eq!(listed, expected);
            }
        }
    }
}
