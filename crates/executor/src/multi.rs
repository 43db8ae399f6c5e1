//! The multi-thread work-stealing executor.
//!
//! # Design
//!
//! - **Queues.** Each worker owns a bounded FIFO run queue (256 slots) that
//!   other workers may steal from, and a private LIFO slot. A shared
//!   unbounded *injector* takes tasks spawned or woken from outside the
//!   workers, and a worker's overflow.
//! - **LIFO slot.** A task woken by the task running on a worker goes into
//!   that worker's LIFO slot and runs next, which keeps a message and its
//!   receiver hot in cache (ping-pong latency). The slot is used at most 3
//!   times in a row before its task goes to the back of the queue, and a
//!   task that wakes *itself* (`yield_now`) always goes to the back: a
//!   task that yields forever cannot starve the others.
//! - **Deferred yields.** A task that yields because its cooperative budget
//!   ran out (`tulipa_core::coop`: 128 ready operations in one poll) goes to
//!   a list of its worker's own that nobody steals from. The worker runs it
//!   once its queue is empty, and moves the list behind its queue after
//!   each non-blocking driver poll. In the stealable queue such a task (a
//!   channel consumer that always finds a message) was taken by whichever
//!   worker went idle next, and moved between cores at every yield.
//! - **Fairness.** Every 61st task a worker takes comes from the injector
//!   first, so local work never starves the injector; and every 61 tasks the
//!   worker polls the driver without blocking, so I/O and timers progress
//!   even when every worker is busy.
//! - **Finding work.** LIFO slot, local queue, deferred yields, injector
//!   (taking a batch), then stealing half of another worker's queue.
//! - **Sleeping.** An idle worker registers in the idle list, re-checks the
//!   queues (so a concurrent push is never missed), then tries to take the
//!   driver (reactor + timers): at most one worker at a time sleeps inside
//!   it; the others sleep on their own parker. Nobody spins.
//! - **Waking.** Queueing a task wakes one idle worker, and only if no
//!   worker is already searching for work (a searching worker will find it;
//!   the last searcher to give up re-checks every queue before sleeping).
//!   Workers sleeping on their parker are preferred, so the driver's holder
//!   keeps driving.
//! - **What the driver wakes runs here.** An idle worker blocked in the
//!   driver runs the first task the driver wakes itself (it goes to the
//!   LIFO slot, and no other worker is woken for it); only further tasks
//!   are pushed where others can steal them, with one idle worker woken,
//!   as tokio does ("notify only when work is stealable"). A ping-pong over
//!   a socket thus stays on one worker with no futex per message. The
//!   driver is then free: the next worker to go idle takes it, and a
//!   worker that went idle on its parker meanwhile is woken by the next
//!   task queued. (Before, every return from the driver woke another
//!   worker to take it over: one wakeup per I/O event.) A worker that has
//!   run `BUDGET` tasks since it last slept polls the driver without
//!   blocking (what that poll wakes is queued as shareable work); the
//!   count restarts at every sleep, so a worker that sleeps between
//!   messages never makes that poll.
//!
//! - **Shutdown** ([`MultiThread::shutdown`], also on drop), in order:
//!   1. `shutdown` is set and every worker and the driver are unparked. A
//!      worker finishes the poll it is in, moves its LIFO task, its
//!      deferred yields and its queue to the injector and exits; from now
//!      on a wake on a worker thread goes to the injector, where the sweep
//!      finds it.
//!   2. The workers are joined, each up to the deadline (a worker stuck in
//!      a poll longer is detached and counted in the return value; when its
//!      poll ends it sees `closed` and drops what is queued itself).
//!   3. `closed` is set: a task woken from now on is queued without waking
//!      anyone.
//!   4. If shutdown runs inside one of this executor's tasks, that worker's
//!      LIFO slot is emptied.
//!   5. The registry is closed: every later spawn gets a cancelled task
//!      (its `JoinHandle` reports cancellation) and is never queued. A spawn
//!      registered just before the close checks `closed` after queueing and
//!      drops what is queued itself.
//!   6. The sweep: wake every registered task, drop every queued one; repeat
//!      until a round drops nothing. It ends because the registered set only
//!      shrinks and each productive round ends one of its tasks for good.
//!
//!   Every task is dropped on the thread calling `shutdown`, so a future's
//!   `Drop` runs there, and may spawn (refused) or wake (swept).
//!
//! Lock order: the idle-list lock and registry shard locks are leaves;
//! nothing is woken, run or dropped while holding them.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

use async_task::{Runnable, ScheduleInfo};
use concurrent_queue::ConcurrentQueue;
use tulipa_core::{Driver, Unparker};

use crate::context::YieldBarrier;
use crate::diag::Diagnostics;
use crate::done::CallSoon;
use crate::idle::Idle;
use crate::join::JoinHandle;
use crate::local_queue::LocalQueue;
use crate::meta::{TaskInfo, TaskMeta};
use crate::owner::{FastPath, Owner};
use crate::registry::Registry;
use crate::task::{spawn_send, SpawnOptions};

mod worker;

use worker::worker_main;

const LOCAL_QUEUE_CAP: usize = 256;
const MAX_LIFO_IN_A_ROW: u32 = 3;

type Task = Runnable<TaskMeta>;

/// A function the executor runs each worker's main loop inside, so the
/// caller can set up and tear down thread-local context around it.
pub type ThreadWrapper = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

/// Configures a [`MultiThread`] executor.
pub struct MultiThreadBuilder {
    workers: usize,
    thread_name: Arc<dyn Fn(usize) -> String + Send + Sync>,
    wrapper: Option<ThreadWrapper>,
    stack_size: Option<usize>,
    wake_driver_when_idle: bool,
    diagnostics: Option<Diagnostics>,
}

impl fmt::Debug for MultiThreadBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiThreadBuilder")
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

impl Default for MultiThreadBuilder {
    fn default() -> Self {
        MultiThreadBuilder::new()
    }
}

impl MultiThreadBuilder {
    /// Defaults: one worker per CPU, threads named `tulipa-worker-N`.
    pub fn new() -> MultiThreadBuilder {
        MultiThreadBuilder {
            workers: thread::available_parallelism().map_or(1, |n| n.get()),
            thread_name: Arc::new(|i| format!("tulipa-worker-{i}")),
            wrapper: None,
            stack_size: None,
            wake_driver_when_idle: false,
            diagnostics: None,
        }
    }

    /// Sets the diagnostics (debug mode, unhandled-panic policy); the
    /// default is [`Diagnostics::global`].
    pub fn diagnostics(mut self, diagnostics: Diagnostics) -> MultiThreadBuilder {
        self.diagnostics = Some(diagnostics);
        self
    }

    /// Sets the number of worker threads.
    pub fn workers(mut self, n: usize) -> MultiThreadBuilder {
        self.workers = n;
        self
    }

    /// Names worker threads: `f(index)` gives the name of worker `index`.
    pub fn thread_name(mut self, f: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.thread_name = Arc::new(f);
        self
    }

    /// Sets the stack size of worker threads.
    pub fn stack_size(mut self, bytes: usize) -> MultiThreadBuilder {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs each worker's main loop inside `wrapper` (which must call the
    /// loop it is given exactly once).
    pub fn wrap_threads(mut self, wrapper: ThreadWrapper) -> MultiThreadBuilder {
        self.wrapper = Some(wrapper);
        self
    }

    /// Unparks the driver whenever the last busy worker goes idle, so a
    /// driver that acts on quiescence (virtual time auto-advance) notices.
    pub fn wake_driver_when_idle(mut self, on: bool) -> MultiThreadBuilder {
        self.wake_driver_when_idle = on;
        self
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    ///
    /// Fails with `InvalidInput` if the worker count is zero, or with the
    /// OS error if a thread cannot be started (already started workers are
    /// stopped first).
    pub fn build(self, driver: Arc<dyn Driver>) -> std::io::Result<MultiThread> {
        if self.workers == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "worker thread count must be at least 1; use a current-thread executor for \
                 single-threaded use",
            ));
        }
        let mut parkers = Vec::with_capacity(self.workers);
        let workers = (0..self.workers)
            .map(|_| {
                let (p, u) = parking::pair();
                parkers.push(p);
                WorkerShared {
                    queue: LocalQueue::new(LOCAL_QUEUE_CAP),
                    unparker: u,
                }
            })
            .collect();
        let shared = Arc::new(MtShared {
            injector: ConcurrentQueue::unbounded(),
            workers,
            registry: Registry::new(),
            diagnostics: self.diagnostics.clone().unwrap_or_else(Diagnostics::global),
            driver_unparker: driver.unparker(),
            driver,
            idle: Idle::new(self.workers),
            shutdown: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            wake_driver_when_idle: self.wake_driver_when_idle,
            call_soon: OnceLock::new(),
            barrier_remaining: Default::default(),
            barrier_waiters: Mutex::new(Vec::new()),
        });
        let mut threads = Vec::with_capacity(self.workers);
        for (index, parker) in parkers.into_iter().enumerate() {
            let s = shared.clone();
            let wrapper = self.wrapper.clone();
            let mut b = thread::Builder::new().name((self.thread_name)(index));
            if let Some(size) = self.stack_size {
                b = b.stack_size(size);
            }
            let spawned = b.spawn(move || {
                let mut parker = Some(parker);
                let mut main = || {
                    if let Some(p) = parker.take() {
                        worker_main(&s, index, p);
                    }
                };
                match wrapper {
                    Some(w) => w(&mut main),
                    None => main(),
                }
                // A wrapper that forgot to run the loop still gets a
                // working worker (outside its context); otherwise a no-op.
                main();
            });
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    let ex = MultiThread {
                        shared,
                        threads: Mutex::new(threads),
                    };
                    ex.shutdown(Some(Duration::from_secs(5)));
                    return Err(e);
                }
            }
        }
        Ok(MultiThread {
            shared,
            threads: Mutex::new(threads),
        })
    }
}

/// A work-stealing executor running tasks on a pool of worker threads.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulipa_core::ThreadParker;
/// use tulipa_executor::{MultiThreadBuilder, SpawnOptions};
///
/// let ex = MultiThreadBuilder::new().workers(2).build(Arc::new(ThreadParker::new())).unwrap();
/// let h = ex.spawn(SpawnOptions::new(), async { 40 + 2 });
/// assert_eq!(futures_lite::future::block_on(h).unwrap(), 42);
/// ex.shutdown(None);
/// ```
pub struct MultiThread {
    shared: Arc<MtShared>,
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
}

/// A cloneable handle that spawns onto a [`MultiThread`] executor.
#[derive(Clone)]
pub struct MultiThreadHandle {
    shared: Arc<MtShared>,
}

struct WorkerShared {
    /// Pushed to only by this worker's own thread (see `local_queue`).
    queue: LocalQueue<Task>,
    unparker: parking::Unparker,
}

struct MtShared {
    injector: ConcurrentQueue<Task>,
    workers: Box<[WorkerShared]>,
    registry: Registry,
    diagnostics: Diagnostics,
    driver: Arc<dyn Driver>,
    driver_unparker: Unparker,
    idle: Idle,
    shutdown: AtomicBool,
    closed: AtomicBool,
    wake_driver_when_idle: bool,
    /// The runtime's loop, for done callbacks.
    call_soon: OnceLock<CallSoon>,
    /// Tasks counted by yield barriers and not yet polled (may dip below
    /// zero while a barrier is being set up).
    barrier_remaining: crate::barrier::BarrierCount,
    /// The `block_on` futures waiting for `barrier_remaining` to reach 0.
    barrier_waiters: Mutex<Vec<std::task::Waker>>,
}

struct WorkerTls {
    /// The executor this thread works for (set for the worker's life).
    shared: RefCell<Option<Arc<MtShared>>>,
    index: Cell<usize>,
    polling: Cell<bool>,
    /// Set while this worker is blocked in (or dispatching from) the
    /// driver with nothing else to do: what the driver wakes is this
    /// worker's next work.
    driving: Cell<bool>,
    lifo: RefCell<Option<Task>>,
    /// Tasks their cooperative budget made yield, in order: this worker's
    /// own, not stealable, run once its queue is empty or moved to the
    /// back of its queue after each driver poll (see
    /// `MtShared::schedule_local`).
    deferred: RefCell<Vec<Task>>,
}

thread_local! {
    static WORKER: WorkerTls = const {
        WorkerTls {
            shared: RefCell::new(None),
            index: Cell::new(0),
            polling: Cell::new(false),
            driving: Cell::new(false),
            lifo: RefCell::new(None),
            deferred: RefCell::new(Vec::new()),
        }
    };
}

impl Owner for MtShared {
    /// The slow path: a wake from a thread that is not one of this
    /// executor's workers (the fast path is [`schedule_on_worker`]).
    fn schedule(&self, runnable: Task, _info: ScheduleInfo) {
        let _ = self.injector.push(runnable);
        if !self.closed.load(Ordering::Acquire) {
            self.notify_one(false);
        }
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

    fn call_soon(&self, location: &'static Location<'static>, f: Box<dyn FnOnce() + Send>) {
        match self.call_soon.get() {
            Some(hook) => hook(location, f),
            None => crate::done::run_now(&self.diagnostics, location, f),
        }
    }

    fn yield_barrier_settle(&self, n: isize) {
        if self.barrier_remaining.settle(n) {
            self.wake_barrier_waiters();
        }
    }
}

/// The yield barrier: how `yield_now()` in a `block_on` future beside a
/// multi-thread executor lets every ready task take a step first (asyncio's
/// `sleep(0)`). The main future runs on the caller's thread, in parallel
/// with the workers, so "first" means: the main future is polled again
/// only once every task that was in a run queue (injector, a worker's
/// queue or LIFO slot) when it yielded has run its next step (one poll),
/// and every task that was in the middle of a step has finished it.
///
/// Every task's metadata has a step state (see the `barrier` module): the
/// barrier walks the registry and marks every task that is queued or
/// running, counting them in `barrier_remaining`; each marked step counts
/// down when it ends, and the last one wakes the waiting `block_on`s.
/// Concurrent barriers share the count: each waits until it is clear,
/// which includes its own steps.
impl YieldBarrier for MtShared {
    fn wait(&self, waker: &std::task::Waker) -> bool {
        let mut counted: isize = 0;
        self.registry
            .for_each(|m| counted += isize::from(m.step.mark()));
        if counted == 0 || !self.barrier_remaining.add(counted) {
            // Nothing to wait for, or every counted step already ended.
            return false;
        }
        self.park_on(waker)
    }
}

impl MtShared {
    /// Registers `waker` for the barrier's end (woken at once if it ended
    /// in the meantime).
    fn park_on(&self, waker: &std::task::Waker) -> bool {
        self.barrier_waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(waker.clone());
        if self.barrier_remaining.is_clear() {
            self.wake_barrier_waiters();
        }
        true
    }

    fn wake_barrier_waiters(&self) {
        let waiters = std::mem::take(
            &mut *self
                .barrier_waiters
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for w in waiters {
            w.wake();
        }
    }
}

/// The multi-thread executor's fast path for its tasks' wakes: through the
/// worker's thread-local context, without touching the shared reference
/// count in the metadata.
pub(crate) struct OnWorker;

impl FastPath for OnWorker {
    const YIELD_BARRIERS: bool = true;

    /// Schedules `runnable` through this thread's worker context if this
    /// thread is a worker of the task's executor; gives it back otherwise.
    #[inline]
    fn schedule(runnable: Task, info: ScheduleInfo) -> Result<(), Task> {
        schedule_on_worker(runnable, info)
    }
}

#[inline]
fn schedule_on_worker(runnable: Task, info: ScheduleInfo) -> Result<(), Task> {
    WORKER.with(|w| {
        let shared = w.shared.borrow();
        let Some(s) = &*shared else {
            return Err(runnable);
        };
        if s.shutdown.load(Ordering::Acquire) {
            // Shutting down: everything goes to the injector, where the
            // drain finds it (a worker's local slots may never be looked at
            // again).
            return Err(runnable);
        }
        let theirs = Arc::as_ptr(&runnable.metadata().owner) as *const u8;
        if Arc::as_ptr(s) as *const u8 != theirs {
            return Err(runnable);
        }
        s.schedule_local(w, runnable, info);
        Ok(())
    })
}

impl MtShared {
    fn schedule_local(&self, w: &WorkerTls, runnable: Task, info: ScheduleInfo) {
        let index = w.index.get();
        if info.woken_while_running {
            // A yield (async-task calls this on the thread that ran the
            // task, right after its poll). This worker is awake and will
            // get to it, so nobody else needs waking.
            if tulipa_core::coop::take_ran_out() {
                // Made to yield by its cooperative budget: deferred, behind
                // everything ready on this worker and out of the other
                // workers' reach until this worker's queue runs dry or it
                // next polls the driver (tokio's rule). In the stealable
                // queue, a channel consumer that yields every 128 messages
                // was taken by whichever worker went idle next, and moved
                // between cores at every yield.
                w.deferred.borrow_mut().push(runnable);
            } else if let Err(runnable) = self.workers[index].queue.push(runnable) {
                // A `yield_now`: to the back of this worker's queue, behind
                // everything ready, stealable (deferred too, they doubled
                // `yield_many`'s time: a worker that ran dry could take
                // none until the other released its deferred ones). If the
                // queue is full, only this task goes to the injector.
                let _ = self.injector.push(runnable);
            }
            return;
        }
        if w.polling.get() {
            let prev = w.lifo.borrow_mut().replace(runnable);
            if let Some(prev) = prev {
                self.push_local(index, prev);
                self.notify_one(false);
            }
        } else if w.driving.get() {
            // Woken by the driver this idle worker holds: the first task
            // is this worker's own next task (LIFO slot, no other worker
            // woken); only more than that is work to share.
            let mut lifo = w.lifo.borrow_mut();
            if lifo.is_none() {
                *lifo = Some(runnable);
            } else {
                drop(lifo);
                self.push_local(index, runnable);
                self.notify_one(false);
            }
        } else {
            self.push_local(index, runnable);
            self.notify_one(false);
        }
    }

    fn push_local(&self, index: usize, task: Task) {
        let q = &self.workers[index].queue;
        if let Err(task) = q.push(task) {
            // Full: move half of the queue to the injector, then the task.
            for _ in 0..LOCAL_QUEUE_CAP / 2 {
                match q.pop() {
                    Some(t) => {
                        let _ = self.injector.push(t);
                    }
                    None => break,
                }
            }
            let _ = self.injector.push(task);
        }
    }

    /// Cancels and drops every queued task (shutdown); returns how many.
    fn discard_queued(&self) -> usize {
        let mut dropped = 0;
        while let Ok(t) = self.injector.pop() {
            crate::task::discard(t);
            dropped += 1;
        }
        for w in self.workers.iter() {
            while let Some(t) = w.queue.pop() {
                crate::task::discard(t);
                dropped += 1;
            }
        }
        dropped
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.workers.iter().any(|w| !w.queue.is_empty())
    }

    /// Wakes one idle worker. Unless `force`, does nothing when a worker
    /// is already searching.
    fn notify_one(&self, force: bool) {
        if let Some(i) = self.idle.pick(force) {
            self.unpark_worker(i);
        }
    }

    fn unpark_worker(&self, i: usize) {
        self.idle.wake(
            i,
            || self.workers[i].unparker.unpark(),
            || self.driver_unparker.unpark(),
        );
    }

    fn is_idle(&self) -> bool {
        self.idle.num_idle() == self.workers.len() && !self.has_work()
    }

    fn steal_into(&self, index: usize, start: usize) -> Option<Task> {
        let n = self.workers.len();
        for k in 0..n {
            let victim = (start + k) % n;
            if victim == index {
                continue;
            }
            let q = &self.workers[victim].queue;
            let count = q.len().div_ceil(2);
            if count == 0 {
                continue;
            }
            // Emptied in between by its owner or another thief: next victim.
            let Some(first) = q.pop() else { continue };
            for _ in 1..count {
                match q.pop() {
                    Some(t) => self.push_local(index, t),
                    None => break,
                }
            }
            return Some(first);
        }
        None
    }

    fn take_from_injector(&self, index: usize) -> Option<Task> {
        let first = self.injector.pop().ok()?;
        // Take a fair share of the rest into the local queue, but never
        // more than half its free room, so it does not spill straight back.
        let room = LOCAL_QUEUE_CAP - self.workers[index].queue.len();
        let share = (self.injector.len() / self.workers.len())
            .min(LOCAL_QUEUE_CAP / 4)
            .min(room / 2);
        for _ in 0..share {
            match self.injector.pop() {
                Ok(t) => self.push_local(index, t),
                Err(_) => break,
            }
        }
        Some(first)
    }
}

impl MultiThread {
    /// Spawns a task onto the pool.
    #[track_caller]
    pub fn spawn<F>(&self, options: SpawnOptions, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn(options, future)
    }

    /// A cloneable handle for spawning from anywhere.
    pub fn handle(&self) -> MultiThreadHandle {
        MultiThreadHandle {
            shared: self.shared.clone(),
        }
    }

    /// Stops the workers and drops every task that is left.
    ///
    /// Waits up to `timeout` (forever if `None`) for the workers to finish
    /// the poll they are in; a worker stuck longer is left behind (its
    /// thread is detached) and the number of such workers is returned.
    /// Tasks are dropped on the calling thread.
    pub fn shutdown(&self, timeout: Option<Duration>) -> usize {
        let s = &self.shared;
        s.shutdown.store(true, Ordering::SeqCst);
        for i in 0..s.workers.len() {
            s.workers[i].unparker.unpark();
        }
        s.driver_unparker.unpark();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        // A timeout too large to add (`Duration::MAX`) means no deadline.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut stuck = 0;
        for t in threads {
            if t.thread().id() == thread::current().id() {
                // Shutdown from a worker (e.g. a dropped runtime inside a
                // task): cannot join ourselves.
                continue;
            }
            loop {
                if t.is_finished() {
                    let _ = t.join();
                    break;
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    stuck += 1;
                    break;
                }
                // Workers may be parked in the driver: keep nudging it.
                s.driver_unparker.unpark();
                thread::sleep(Duration::from_millis(1));
            }
        }
        s.closed.store(true, Ordering::SeqCst);
        // Shut down from inside one of our own tasks: this worker's LIFO
        // slot would never be looked at again.
        WORKER.with(|w| {
            let mine = w
                .shared
                .borrow()
                .as_ref()
                .is_some_and(|x| Arc::ptr_eq(x, s));
            if mine {
                if let Some(t) = w.lifo.borrow_mut().take() {
                    crate::task::discard(t);
                }
            }
        });
        // The sweep. The registry is closed, so the set of registered tasks
        // only shrinks: a task spawned from now on (say, by a future's
        // `drop` below) is refused and dropped by its spawner, never queued.
        // Every queued runnable belongs to a registered task, and dropping
        // it drops that task's future, which removes the task for good. A
        // round that drops nothing ends the sweep; every other round ends at
        // least one registered task, so there are at most as many rounds as
        // tasks registered at the close, plus one.
        s.registry.close();
        loop {
            s.registry.wake_all();
            if s.discard_queued() == 0 {
                break;
            }
        }
        stuck
    }

    /// Number of tasks alive on this executor.
    pub fn task_count(&self) -> usize {
        self.shared.registry.len()
    }
}

impl Drop for MultiThread {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for MultiThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiThread")
            .field("workers", &self.shared.workers.len())
            .field("tasks", &self.task_count())
            .finish_non_exhaustive()
    }
}

impl MultiThreadHandle {
    /// Spawns a task onto the pool.
    #[track_caller]
    pub fn spawn<F>(&self, options: SpawnOptions, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, handle, registered) =
            spawn_send::<OnWorker, F>(self.shared.clone(), options, future);
        if !registered {
            // Shut down (the registry is closed): the task is cancelled at
            // once.
            crate::task::discard(runnable);
        } else {
            runnable.schedule();
            if self.shared.closed.load(Ordering::SeqCst) {
                // Registered just before the registry closed: the sweep may
                // have missed this push; drop it (and anything else queued)
                // here.
                self.shared.discard_queued();
            }
        }
        handle
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
    /// `call_soon`. Without one they run right after the task's last step,
    /// on its worker. Only the first call has an effect; returns whether it
    /// did.
    pub fn set_call_soon(&self, hook: CallSoon) -> bool {
        self.shared.call_soon.set(hook).is_ok()
    }

    pub(crate) fn barrier(&self) -> &dyn YieldBarrier {
        &*self.shared
    }

    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.shared.workers.len()
    }

    /// Number of workers currently parked.
    pub fn idle_workers(&self) -> usize {
        self.shared.idle.num_idle()
    }

    /// Whether this thread is one of this executor's workers.
    pub fn is_worker_thread(&self) -> bool {
        WORKER.with(|w| {
            w.shared
                .borrow()
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(s, &self.shared))
        })
    }

    /// A probe that says whether every worker is parked and no task is
    /// queued; it holds the executor weakly (no reference cycle through the
    /// driver).
    pub fn idle_probe(&self) -> Arc<dyn Fn() -> bool + Send + Sync> {
        let weak: Weak<MtShared> = Arc::downgrade(&self.shared);
        Arc::new(move || weak.upgrade().is_some_and(|s| s.is_idle()))
    }
}

impl fmt::Debug for MultiThreadHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiThreadHandle")
            .field("workers", &self.shared.workers.len())
            .finish_non_exhaustive()
    }
}
