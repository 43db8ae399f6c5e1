//! The current-thread executor: every task runs on the thread that calls
//! [`CurrentThread::block_on`].
//!
//! Tasks spawned from any thread (`Send` futures) go into one shared FIFO
//! queue; the thread inside `block_on` runs them, along with its thread's
//! local (`!Send`) tasks, between polls of the main future, and sleeps on
//! the executor's driver when nothing is ready. Only one thread at a time
//! runs the executor (holds the "core"); a second concurrent `block_on`
//! polls only its own future and local tasks, sleeping on a private parker,
//! and takes the core over when it is released.
//!
//! Two run queues: a task woken or spawned on the thread that holds the
//! core goes into that thread's own queue (a `VecDeque` in a thread-local:
//! no atomic operation and, unless the loop is parked in the driver, no
//! signal, since the loop is right there), and one
//! woken or spawned from any other thread into the shared `ConcurrentQueue`
//! (then the loop is signalled). Before each task it runs, the loop moves
//! whatever the shared queue holds to the back of its own, so both are
//! served in the order the loop learns of them and neither starves the
//! other. When the core is released the thread's queue moves to the shared
//! one, where the next holder finds it.
//!
//! Instructions per operation, from callgrind (no hardware counters on
//! our CI machines): the difference between a full and a `--quick` run
//! (1,000,000 and 100,000 operations; 100,000 and 10,000 spawns for
//! `chained_spawn`) divided by the difference in operations, so startup
//! and runtime construction cancel out. It includes the benchmark's own
//! loop, the same for every runtime.
//!
//! | per | before the own queue | slab registry (`df5dc2f`) | `b06626d` | `7845e78` | `877f372` | tulipa | tokio | smol |
//! | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
//! | yield (`yield_many`) | 597 | 528 | 481 | 481 | 380 | 384 | 506 | 593 |
//! | spawn + join (`spawn_many`) | 1,901 | 1,824 | 1,497 | 1,424 | 1,377 | 1,370 | 1,963 | 1,340 |
//! | spawn (`chained_spawn`) | | | 1,308 | 1,246 | 1,192 | 1,141 | 1,787 | 1,071 |
//!
//! ```text
//! valgrind --tool=callgrind target/release/tulipa-benches \
//!     --runtime tulipa-current [--quick] --rounds 1 --no-warmup yield_many
//! ```
//!
//! (`tokio-current`, `smol-current` for the others; valgrind prints the
//! total.) From `df5dc2f` to `b06626d`: the registry became an intrusive
//! list (no slab entry to insert, grow and remove), a task's done path
//! with no callbacks stays inline and leaves no empty vector to drop, and
//! the `block_on` loop looks at the local queue before popping it (an
//! empty `pop` costs a full fence). Since `b06626d` the task is smaller:
//! its metadata went from 168 to 96 bytes (what most tasks never use, a
//! given name, done callbacks, a panic message, debug-mode times, is boxed
//! on first use), its output boxes the `JoinError`, and a `JoinHandle` is
//! two words. A task of a small future is one 160-byte chunk of glibc's
//! heap instead of 256, which matters more than the instructions:
//! `spawn_many` touches a million of them. smol's spawn is still about 170
//! instructions cheaper (its task carries no metadata, while ours has an
//! id, location, poll count, flags and registry links, and is linked into
//! the registry for cancellation, the dump and shutdown), and its task is
//! smaller by those 96 bytes. Since `7845e78` a task's poll inlines its
//! bookkeeping (the yield-barrier step, which is one branch here, the
//! current-task guard, the cooperative budget, `yield_now`'s poll): each
//! was a call with its own prologue, a fifth of a yield's instructions.
//! Since `877f372` the registry holds no reference to a task (it keeps
//! its waker's parts; a waiting task holds itself, see `registry.rs`): a
//! task that ends in its first poll keeps async-task's paths for a task
//! with one reference, 51 instructions less per chained spawn, and a
//! task's poll checks one more flag when it returns `Pending` (4 per
//! yield). smol's spawn is now 70 instructions cheaper; the registry's
//! insert and remove are about 95.
//!
//! Instruction counts are not the whole story: callgrind's cache
//! simulation of the `7845e78` build put nine of a chained spawn's hot
//! code lines in one set of the 8-way instruction cache, so each spawn
//! missed 8 times (804,000 misses in a run, against 3,400 for the next
//! build, whose code moved; `chained_spawn` went from 1.26-1.31 to
//! 1.09-1.23 × smol in alternated runs). Code layout changes with every build;
//! fewer and smaller hot functions make such a conflict less likely.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_task::{Runnable, ScheduleInfo};
use concurrent_queue::ConcurrentQueue;
use tulipa_core::{Driver, ThreadParker};

use crate::block_on::{run_loop, TaskSource};
use crate::context::RuntimeContextGuard;
use crate::diag::Diagnostics;
use crate::done::CallSoon;
use crate::join::JoinHandle;
use crate::meta::{TaskInfo, TaskMeta};
use crate::owner::{FastPath, Owner};
use crate::registry::Registry;
use crate::task::{spawn_send, SpawnOptions};
use crate::wake_flag::WakeFlag;

/// A single-threaded executor that runs tasks inside `block_on`.
///
/// Cloning gives another handle to the same executor; it is `Send + Sync`,
/// so tasks may be spawned onto it from any thread.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulipa_core::ThreadParker;
/// use tulipa_executor::{CurrentThread, SpawnOptions};
///
/// let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
/// let ex2 = ex.clone();
/// let out = ex.block_on(async move {
///     let h = ex2.spawn(SpawnOptions::new(), async { 1 + 1 });
///     h.await.unwrap()
/// });
/// assert_eq!(out, 2);
/// ```
///
/// When the last clone is dropped, every task left is cancelled (its future
/// dropped), as [`shutdown`](CurrentThread::shutdown) does.
#[derive(Clone)]
pub struct CurrentThread {
    shared: Arc<CtShared>,
    _last: Arc<ShutdownOnDrop>,
}

/// Held by every `CurrentThread` clone, never by tasks (they hold
/// `CtShared`), so its drop means "no handle left": nobody can run the
/// remaining tasks any more.
struct ShutdownOnDrop(Arc<CtShared>);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

thread_local! {
    /// The executor whose core this thread holds (inside its `block_on`),
    /// by address; only compared, never dereferenced.
    static CORE: Cell<*const CtShared> = const { Cell::new(std::ptr::null()) };
    /// The run queue of tasks woken or spawned on this thread while it holds
    /// that core.
    static RUNQ: RefCell<VecDeque<Runnable<TaskMeta>>> = const { RefCell::new(VecDeque::new()) };
}

/// Whether this thread holds `shared`'s core.
fn holds_core(shared: *const CtShared) -> bool {
    CORE.with(|c| std::ptr::eq(c.get(), shared))
}

/// The current-thread executor's fast path: a wake on the thread that holds
/// the task's executor's core goes to that thread's own queue.
struct OnCoreThread;

impl FastPath for OnCoreThread {
    const YIELD_BARRIERS: bool = false;

    #[inline]
    fn schedule(
        runnable: Runnable<TaskMeta>,
        _info: ScheduleInfo,
    ) -> Result<(), Runnable<TaskMeta>> {
        let owner = Arc::as_ptr(&runnable.metadata().owner) as *const CtShared;
        if holds_core(owner) {
            runnable.metadata().owner.queued_on_loop_thread();
            RUNQ.with(|q| q.borrow_mut().push_back(runnable));
            Ok(())
        } else {
            Err(runnable)
        }
    }
}

struct CtShared {
    /// Tasks woken or spawned on other threads than the core's holder.
    queue: ConcurrentQueue<Runnable<TaskMeta>>,
    registry: Registry,
    diagnostics: Diagnostics,
    driver: Arc<dyn Driver>,
    signal: Arc<WakeFlag>,
    core: AtomicBool,
    /// `block_on` futures of other threads waiting for the core.
    waiting: Mutex<Vec<std::task::Waker>>,
    closed: AtomicBool,
    /// The runtime's loop, for done callbacks.
    call_soon: OnceLock<CallSoon>,
}

impl Owner for CtShared {
    fn schedule(&self, runnable: Runnable<TaskMeta>, _info: ScheduleInfo) {
        if self.closed.load(Ordering::Acquire) {
            // Shutting down: the shutdown loop drops what it finds queued.
            let _ = self.queue.push(runnable);
            return;
        }
        // Unbounded queue: push only fails once closed, handled above; a
        // racing close still leaves the runnable queued for the drain.
        let _ = self.queue.push(runnable);
        self.signal.notify();
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn diagnostics(&self) -> Diagnostics {
        self.diagnostics.clone()
    }

    fn debug(&self) -> bool {
        self.diagnostics.is_debug()
    }

    /// A wake on the loop's own thread needs no signal, except while the
    /// loop is parked in the driver (a wake from the reactor or a timer,
    /// dispatched inside the park): then the driver must learn that work is
    /// waiting, or on virtual time it would jump the clock past it. The
    /// same signal the shared queue uses, so that case costs what it did.
    fn queued_on_loop_thread(&self) {
        if self.signal.is_sleeping() {
            self.signal.notify();
        }
    }

    fn call_soon(&self, location: &'static Location<'static>, f: Box<dyn FnOnce() + Send>) {
        match self.call_soon.get() {
            Some(hook) => hook(location, f),
            None => crate::done::run_now(&self.diagnostics, location, f),
        }
    }
}

impl CtShared {
    fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        // Close the registry, then wake every idle task so it is queued and
        // drop what is queued; repeat while a dropped future wakes others.
        // With the registry closed no task is added (a spawn from a drop is
        // refused and dropped at once), and every round that drops something
        // ends a registered task for good, so the loop ends (the proof is in
        // `MultiThread::shutdown`). A task registered just before the close
        // and pushed after the sweep is caught by the drain after the queue
        // closes, below.
        self.registry.close();
        loop {
            self.registry.wake_all();
            let mut dropped = 0;
            while let Some(r) = self.pop_for_shutdown() {
                crate::task::discard(r);
                dropped += 1;
            }
            if dropped == 0 {
                break;
            }
        }
        self.queue.close();
        while let Some(r) = self.pop_for_shutdown() {
            crate::task::discard(r);
        }
    }

    /// A queued task to drop: from this thread's queue too if shutdown runs
    /// on the thread holding the core (the runtime dropped inside its own
    /// `block_on`).
    fn pop_for_shutdown(&self) -> Option<Runnable<TaskMeta>> {
        if holds_core(self) {
            if let Some(r) = RUNQ.with(|q| q.borrow_mut().pop_front()) {
                return Some(r);
            }
        }
        self.queue.pop().ok()
    }

    /// Moves what other threads queued behind this thread's queue (the
    /// caller holds the core).
    fn take_remote(&self) {
        if self.queue.is_empty() {
            return;
        }
        RUNQ.with(|q| {
            let mut q = q.borrow_mut();
            while let Ok(r) = self.queue.pop() {
                q.push_back(r);
            }
        });
    }
}

/// Called only by the thread holding the core (the `block_on` loop).
impl TaskSource for CtShared {
    fn run_one(&self) -> bool {
        self.take_remote();
        // The borrow ends before the task runs (it may wake itself).
        match RUNQ.with(|q| q.borrow_mut().pop_front()) {
            Some(r) => {
                r.run();
                true
            }
            None => false,
        }
    }

    fn has_work(&self) -> bool {
        !self.queue.is_empty() || RUNQ.with(|q| !q.borrow().is_empty())
    }

    fn queued(&self) -> usize {
        self.queue.len() + RUNQ.with(|q| q.borrow().len())
    }
}

impl CurrentThread {
    /// Creates an executor that sleeps on `driver` when idle, with the
    /// default [`Diagnostics`].
    pub fn new(driver: Arc<dyn Driver>) -> CurrentThread {
        CurrentThread::with_diagnostics(driver, Diagnostics::global())
    }

    /// Creates an executor that sleeps on `driver` when idle, with its own
    /// diagnostics settings (debug mode, unhandled-panic policy).
    pub fn with_diagnostics(driver: Arc<dyn Driver>, diagnostics: Diagnostics) -> CurrentThread {
        let signal = Arc::new(WakeFlag::new(driver.unparker()));
        let shared = Arc::new(CtShared {
            queue: ConcurrentQueue::unbounded(),
            registry: Registry::new(),
            diagnostics,
            driver,
            signal,
            core: AtomicBool::new(false),
            waiting: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            call_soon: OnceLock::new(),
        });
        CurrentThread {
            _last: Arc::new(ShutdownOnDrop(shared.clone())),
            shared,
        }
    }

    /// Spawns a task; it runs the next time a thread is in
    /// [`block_on`](CurrentThread::block_on).
    #[track_caller]
    pub fn spawn<F>(&self, options: SpawnOptions, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, handle, registered) =
            spawn_send::<OnCoreThread, F>(self.shared.clone(), options, future);
        if !registered {
            // Shut down (the registry is closed): the task is cancelled at
            // once.
            crate::task::discard(runnable);
        } else if holds_core(&*self.shared) {
            // Spawned on the thread running the loop: its own queue, in
            // order with the wakes of this thread.
            self.shared.queued_on_loop_thread();
            RUNQ.with(|q| q.borrow_mut().push_back(runnable));
        } else if let Err(e) = self.shared.queue.push(runnable) {
            // Registered just before the registry closed, pushed after the
            // queue closed (end of shutdown).
            crate::task::discard(e.into_inner());
        } else {
            self.shared.signal.notify();
        }
        handle
    }

    /// Runs `future` to completion on this thread, running the executor's
    /// tasks meanwhile.
    ///
    /// # Panics
    ///
    /// Panics if called from inside another tulipa `block_on` or a worker
    /// thread: use `.await` there instead.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _rt = RuntimeContextGuard::enter();
        let mut future = std::pin::pin!(future);
        loop {
            if self
                .shared
                .core
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                CORE.with(|c| c.set(Arc::as_ptr(&self.shared)));
                let _core = CoreGuard(&self.shared);
                return run_loop(
                    &*self.shared.driver,
                    self.shared.signal.clone(),
                    Some(&*self.shared),
                    None,
                    None,
                    Some(&self.shared.diagnostics),
                    future,
                );
            }
            // Someone else runs the tasks: poll our own future (and this
            // thread's local tasks) until it is done or the core is free.
            let parker = ThreadParker::new();
            let signal = Arc::new(WakeFlag::new(parker.unparker()));
            let waiter = WaitCore {
                future: future.as_mut(),
                shared: &self.shared,
            };
            let diag = Some(&self.shared.diagnostics);
            if let Some(v) = run_loop(&parker, signal, None, None, None, diag, waiter) {
                return v;
            }
        }
    }

    /// Number of tasks alive on this executor.
    pub fn task_count(&self) -> usize {
        self.shared.registry.len()
    }

    /// The tasks alive on this executor, oldest first.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.shared.registry.tasks()
    }

    /// Every task alive on this executor, with its state and the await
    /// point it is suspended at (see [`Dump`](crate::Dump)).
    pub fn dump(&self) -> crate::Dump {
        crate::Dump::collect(&self.shared.registry)
    }

    /// Routes the done callbacks of this executor's tasks
    /// ([`JoinHandle::add_done_callback`]) through `hook`: a runtime's
    /// `call_soon`. Without one they run right after the task's last step.
    /// Only the first call has an effect; returns whether it did.
    pub fn set_call_soon(&self, hook: CallSoon) -> bool {
        self.shared.call_soon.set(hook).is_ok()
    }

    /// Cancels every task: each one's future is dropped on this thread.
    /// Tasks spawned afterwards are dropped unpolled.
    ///
    /// Must not be called while another thread is inside `block_on` on this
    /// executor; the runtime's shutdown guarantees that.
    pub fn shutdown(&self) {
        self.shared.shutdown();
    }
}

impl fmt::Debug for CurrentThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentThread")
            .field("tasks", &self.task_count())
            .finish_non_exhaustive()
    }
}

struct CoreGuard<'a>(&'a CtShared);

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        // This thread's queue goes to the shared one, where the next holder
        // of the core (or shutdown) finds it.
        CORE.with(|c| c.set(std::ptr::null()));
        let left = RUNQ.with(|q| std::mem::take(&mut *q.borrow_mut()));
        for r in left {
            if let Err(e) = self.0.queue.push(r) {
                // Closed (shut down): nobody will run it.
                crate::task::discard(e.into_inner());
            }
        }
        self.0.core.store(false, Ordering::Release);
        let waiting =
            std::mem::take(&mut *self.0.waiting.lock().unwrap_or_else(|e| e.into_inner()));
        for w in waiting {
            w.wake();
        }
    }
}

/// Polls the caller's future while another thread holds the core; yields
/// `None` when the core becomes free so the caller can take it.
struct WaitCore<'a, F> {
    future: std::pin::Pin<&'a mut F>,
    shared: &'a CtShared,
}

impl<F: Future> Future for WaitCore<'_, F> {
    type Output = Option<F::Output>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        if let std::task::Poll::Ready(v) = self.future.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(v));
        }
        if !self.shared.core.load(Ordering::Acquire) {
            return std::task::Poll::Ready(None);
        }
        // Ask to be woken when the core is released, then re-check: the
        // release may have happened before we were on the list.
        {
            let mut waiting = self
                .shared
                .waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
                waiting.push(cx.waker().clone());
            }
        }
        if !self.shared.core.load(Ordering::Acquire) {
            return std::task::Poll::Ready(None);
        }
        std::task::Poll::Pending
    }
}
