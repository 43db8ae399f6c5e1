//! What a spawn allocates: one block that outlives the spawn (the task, its
//! metadata inside), of a size that fits glibc's 160-byte chunk for a small
//! future. The metadata's rarely used part (a given name, done callbacks, a
//! panic message, debug times) is one more block, made only by the tasks
//! that use it. Counted with a global allocator that records this thread's
//! allocations and frees.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use tulipa_core::ThreadParker;
use tulipa_executor::{CurrentThread, SpawnOptions};

struct Recording;

thread_local! {
    /// Allocations less frees: the blocks still live.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the thread-local counters do not allocate.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|c| c.set(c.get() + 1));
        let _ = LARGEST.try_with(|c| c.set(c.get().max(layout.size())));
        // SAFETY: the caller's guarantees for `layout` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|c| c.set(c.get() - 1));
        // SAFETY: `ptr` was allocated by `System` with `layout` (above).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Recording = Recording;

/// The blocks `f` allocated on this thread that are still live when it
/// returns, and the largest block it allocated.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, isize, usize) {
    let live = LIVE.with(Cell::get);
    LARGEST.with(|c| c.set(0));
    let out = f();
    (out, LIVE.with(Cell::get) - live, LARGEST.with(Cell::get))
}

/// What feature `tracing` adds to a task's chunk: its span (in the task's
/// future) and the traced waker's record (in its metadata), 72 bytes
/// (measured), 80 in whole chunks.
const TRACING_BYTES: usize = if cfg!(feature = "tracing") { 80 } else { 0 };

/// glibc's chunk for a request of `size` bytes on 64-bit: the size plus an
/// 8-byte header, rounded up to 16.
fn chunk(size: usize) -> usize {
    (size + 8).div_ceil(16) * 16
}

#[test]
fn a_plain_task_is_one_block_of_at_most_160_bytes_of_heap() {
    let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    // Warm up: the first spawn on a thread sets up its thread-locals.
    ex.block_on(ex.spawn(SpawnOptions::new(), async {}))
        .unwrap();
    let (handle, count, largest) = allocations(|| ex.spawn(SpawnOptions::new(), async {}));
    assert_eq!(count, 1, "spawn left {count} blocks, not one");
    assert!(
        chunk(largest) <= 160 + TRACING_BYTES,
        "a task of an empty future takes {largest} bytes ({}-byte chunk): \
         the metadata grew (see meta.rs)",
        chunk(largest)
    );
    ex.block_on(handle).unwrap();
}

#[test]
fn a_join_handle_is_two_words() {
    // spawn_many keeps a million of them in a Vec: the id is read from the
    // task's metadata, not stored again.
    assert!(std::mem::size_of::<tulipa_executor::JoinHandle<()>>() <= 16);
}

#[test]
fn the_cold_part_is_allocated_only_by_the_tasks_that_use_it() {
    let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    ex.block_on(ex.spawn(SpawnOptions::new(), async {}))
        .unwrap();
    // A name: the task and its cold part (the name itself is the caller's).
    let name: Arc<str> = Arc::from("worker");
    let (handle, count, _) =
        allocations(|| ex.spawn(SpawnOptions::new().name(name.clone()), async {}));
    assert_eq!(count, 2, "a named task: the task and its cold part");
    ex.block_on(handle).unwrap();
    // A done callback: the cold part on the first add (and the boxed
    // callback and the list's buffer), nothing on the second but its box.
    let handle = ex.spawn(SpawnOptions::new(), async {});
    let ((), first, _) = allocations(|| handle.add_done_callback(|_| {}));
    let ((), second, _) = allocations(|| handle.add_done_callback(|_| {}));
    assert!(
        first > second,
        "the first callback allocates the cold part ({first} against {second})"
    );
    ex.block_on(handle).unwrap();
}

/// The reference a waiting task holds to itself (taken when its first poll
/// returns `Pending`, see `task.rs`) is given back when its future is
/// dropped, however it ends: the task's block is freed.
#[test]
fn a_task_that_waited_gives_back_its_block_however_it_ends() {
    let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    // Warm up the thread's locals and the run queue's buffer.
    ex.block_on(ex.spawn(SpawnOptions::new(), async {
        tulipa_executor::yield_now().await;
    }))
    .unwrap();

    // Ends normally after one wait.
    let (out, live, _) = allocations(|| {
        let h = ex.spawn(SpawnOptions::new(), async {
            tulipa_executor::yield_now().await;
            7
        });
        ex.block_on(h).unwrap()
    });
    assert_eq!(out, 7);
    assert_eq!(
        live, 0,
        "a task that waited once kept {live} blocks after it ended"
    );

    // Cancelled while it waits on something that never comes.
    let (cancelled, live, _) = allocations(|| {
        let h = ex.spawn(SpawnOptions::new(), std::future::pending::<()>());
        ex.block_on(tulipa_executor::yield_now());
        assert!(h.cancel());
        ex.block_on(h).unwrap_err().is_cancelled()
    });
    assert!(cancelled);
    assert_eq!(live, 0, "a cancelled waiting task kept {live} blocks");
}

/// A detached task that nobody can wake (no handle, no waker anywhere)
/// stays alive and listed until shutdown, which drops it: its own
/// reference keeps it, not the registry's.
#[test]
fn a_detached_task_nobody_can_wake_lives_until_shutdown() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    // Warm up this thread's locals with an executor of the same kind.
    {
        let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
        ex.spawn(SpawnOptions::new(), std::future::pending::<()>())
            .detach();
        ex.block_on(tulipa_executor::yield_now());
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let ((), live, _) = allocations(|| {
        let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
        let guard = Guard(drops.clone());
        ex.spawn(SpawnOptions::new(), async move {
            let _guard = guard;
            // Drops the waker it is given: nothing can wake the task.
            std::future::pending::<()>().await;
        })
        .detach();
        for _ in 0..3 {
            ex.block_on(tulipa_executor::yield_now());
        }
        assert_eq!(
            drops.load(Ordering::SeqCst),
            0,
            "the task was dropped before shutdown"
        );
        assert_eq!(ex.tasks().len(), 1, "the waiting task is not listed");
        drop(ex);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "shutdown did not drop the task"
        );
    });
    assert_eq!(live, 0, "{live} blocks were left after shutdown");
}
