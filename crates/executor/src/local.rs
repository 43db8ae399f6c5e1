//! Thread-local tasks: `spawn_local` for futures that are not `Send`.
//!
//! Local tasks belong to the *thread* that spawned them, not to a runtime:
//! every tulipa `block_on` running on that thread (a current-thread runtime,
//! the caller thread of a multi-thread runtime's `block_on`, or a bare
//! `block_on`) runs them while it waits. They are polled and dropped on that
//! thread only.
//!
//! A waker used on another thread pushes the task into this thread's queue
//! and signals whichever `block_on` is running here. If the thread has
//! already exited, the woken task cannot be dropped safely on the waking
//! thread (its future is not `Send`), so it is leaked instead; that is the
//! one case where a local task's memory is not reclaimed.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::sync::{Arc, Mutex};

use async_task::{Runnable, ScheduleInfo};
use concurrent_queue::ConcurrentQueue;

use crate::diag::Diagnostics;
use crate::join::JoinHandle;
use crate::meta::TaskMeta;
use crate::owner::Owner;
use crate::registry::Registry;
use crate::task::{spawn_task, SpawnOptions};
use crate::wake_flag::WakeFlag;

pub(crate) struct LocalShared {
    pub(crate) queue: ConcurrentQueue<Runnable<TaskMeta>>,
    registry: Registry,
    /// The diagnostics of the runtime whose `block_on` runs on this thread
    /// (swapped in and out by `LocalEnter`), else the global defaults.
    diagnostics: Mutex<Diagnostics>,
    debug: std::sync::atomic::AtomicBool,
    /// The signal of the `block_on` running on the owning thread, if any.
    signal: Mutex<Option<Arc<WakeFlag>>>,
}

impl Owner for LocalShared {
    fn schedule(&self, runnable: Runnable<TaskMeta>, _info: ScheduleInfo) {
        match self.queue.push(runnable) {
            Ok(()) => {
                let signal = self.signal.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(s) = &*signal {
                    s.notify();
                }
            }
            // The owning thread is gone: the task's future may not be `Send`,
            // so it must not be dropped here. Leak it (see module docs).
            Err(e) => std::mem::forget(e.into_inner()),
        }
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn diagnostics(&self) -> Diagnostics {
        self.diagnostics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn debug(&self) -> bool {
        self.debug.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl LocalShared {
    /// Installs `d`, returning what it replaces.
    fn set_diagnostics(&self, d: Diagnostics) -> Diagnostics {
        self.debug
            .store(d.is_debug(), std::sync::atomic::Ordering::Relaxed);
        std::mem::replace(
            &mut *self.diagnostics.lock().unwrap_or_else(|e| e.into_inner()),
            d,
        )
    }
}

struct LocalQueue {
    shared: Arc<LocalShared>,
    /// Nesting depth of tulipa `block_on` calls on this thread.
    depth: Cell<usize>,
}

impl Drop for LocalQueue {
    fn drop(&mut self) {
        // Wake every idle task so it lands in the queue, then close the
        // queue and drop everything in it here, on the owning thread. A
        // waker used later finds its task closed and schedules nothing.
        self.shared.registry.wake_all();
        self.shared.queue.close();
        while let Ok(r) = self.shared.queue.pop() {
            crate::task::discard(r);
        }
    }
}

thread_local! {
    static LOCAL: RefCell<Option<LocalQueue>> = const { RefCell::new(None) };
}

fn with_local<R>(f: impl FnOnce(&LocalQueue) -> R) -> R {
    LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        let q = l.get_or_insert_with(|| LocalQueue {
            shared: Arc::new(LocalShared {
                queue: ConcurrentQueue::unbounded(),
                registry: Registry::new(),
                diagnostics: Mutex::new(Diagnostics::global()),
                debug: std::sync::atomic::AtomicBool::new(Diagnostics::global().is_debug()),
                signal: Mutex::new(None),
            }),
            depth: Cell::new(0),
        });
        f(q)
    })
}

/// Spawns a future that need not be `Send` onto the current thread.
///
/// It runs while a tulipa `block_on` runs on this thread.
///
/// # Panics
///
/// Panics if no tulipa `block_on` is running on this thread: there would be
/// nothing to run the task. Call it from inside `Runtime::block_on`,
/// `tulipa::block_on` or a task spawned by them.
#[track_caller]
pub fn spawn_local<F>(options: SpawnOptions, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match try_spawn_local(options, future) {
        Ok(h) => h,
        Err(_) => panic!(
            "spawn_local called outside a tulipa block_on: local (non-Send) tasks run on the \
             thread that spawned them while a block_on runs there; call it from inside \
             Runtime::block_on or tulipa::block_on, or use spawn for Send futures"
        ),
    }
}

/// Like [`spawn_local`], but gives the future back instead of panicking.
///
/// # Errors
///
/// Returns `Err(future)` if no tulipa `block_on` is running on this thread.
#[track_caller]
pub fn try_spawn_local<F>(options: SpawnOptions, future: F) -> Result<JoinHandle<F::Output>, F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let shared = with_local(|q| (q.depth.get() > 0).then(|| q.shared.clone()));
    let Some(shared) = shared else {
        return Err(future);
    };
    let (runnable, handle, registered) =
        spawn_task::<crate::owner::NoFastPath, F>(shared, options, future);
    if registered {
        runnable.schedule();
    } else {
        // A thread's local set never closes its registry; should that
        // change, a refused task is cancelled, not lost.
        crate::task::discard(runnable);
    }
    Ok(handle)
}

/// Marks a `block_on` as running on this thread and installs its signal.
pub(crate) struct LocalEnter {
    shared: Arc<LocalShared>,
    previous: Option<Arc<WakeFlag>>,
    /// The diagnostics to restore, if this `block_on` brought its own.
    previous_diag: Option<Diagnostics>,
}

impl LocalEnter {
    /// Enters the thread's local task set for a `block_on` waking through
    /// `signal`; local tasks spawned meanwhile follow `diag` (the
    /// runtime's diagnostics) when given.
    pub(crate) fn new(signal: Arc<WakeFlag>, diag: Option<&Diagnostics>) -> LocalEnter {
        with_local(|q| {
            q.depth.set(q.depth.get() + 1);
            let previous = q
                .shared
                .signal
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .replace(signal);
            let previous_diag = diag.map(|d| q.shared.set_diagnostics(d.clone()));
            LocalEnter {
                shared: q.shared.clone(),
                previous,
                previous_diag,
            }
        })
    }

    pub(crate) fn shared(&self) -> Arc<LocalShared> {
        self.shared.clone()
    }

    pub(crate) fn queue(&self) -> &ConcurrentQueue<Runnable<TaskMeta>> {
        &self.shared.queue
    }
}

impl Drop for LocalEnter {
    fn drop(&mut self) {
        *self.shared.signal.lock().unwrap_or_else(|e| e.into_inner()) = self.previous.take();
        if let Some(d) = self.previous_diag.take() {
            self.shared.set_diagnostics(d);
        }
        // The thread-local may already be gone during thread teardown.
        let _ = LOCAL.try_with(|l| {
            if let Ok(l) = l.try_borrow() {
                if let Some(q) = &*l {
                    q.depth.set(q.depth.get().saturating_sub(1));
                }
            }
        });
    }
}

/// Number of local tasks alive on this thread.
pub fn local_task_count() -> usize {
    with_local(|q| q.shared.registry.len())
}
