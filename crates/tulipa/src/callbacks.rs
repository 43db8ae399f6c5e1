//! Event-loop callbacks: asyncio's `call_soon`, `call_later`, `call_at`.
//!
//! Callbacks are not tasks. Every callback of a runtime goes through one
//! FIFO queue drained by one runner task, so callbacks run one at a time in
//! the order they became due: `call_soon` order for `call_soon`, deadline
//! order for `call_later`/`call_at` (a timed callback is pushed onto the
//! queue by its timer's waker when the timer fires, and the timer fires in
//! deadline order).
//!
//! A timed callback is a [`Sleep`] registered with the runtime's timer and
//! a waker that moves the callback onto the queue. The pending sleeps live
//! in a slab owned by the runtime, not in the [`CallbackHandle`]: dropping
//! the handle does not cancel the callback (as in asyncio), and shutdown
//! clears the slab, which cancels every pending timer.
//!
//! A panicking callback is caught and reported with its location
//! ([`Diagnostic::CallbackPanic`](crate::Diagnostic::CallbackPanic), through
//! the runtime's reporter: stderr by default), and the loop goes on (asyncio
//! logs "Exception in callback").
//!
//! Lock order: slab lock, then the timer's lock (inside `Sleep::poll` and
//! `Sleep::drop`). The timer wakes wakers after releasing its lock, so a
//! waker that takes the slab lock never inverts it.
//!
//! Why this lives in the facade: the queue, its runner task and the slab of
//! pending timers belong to one runtime (they are created by
//! `Builder::build`, cleared by its shutdown, and reached through
//! [`Handle`]), and the callbacks combine the executor (the runner task) with
//! the timer (the sleeps). A crate of its own would have to take both and a
//! runtime handle trait for this one module; the facade is the one place that
//! already holds all three.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use concurrent_queue::ConcurrentQueue;
use tulipa_timer::{Instant, Sleep};

use crate::runtime::{Handle, Shared};
use crate::task::TaskId;

/// The name of the task that runs callbacks. The runner is hidden from
/// `Handle::tasks` and from slow-poll reports by its id, never by this
/// name: a user task may be called anything.
const RUNNER_NAME: &str = "tulipa-callbacks";

/// How many callbacks the runner runs before yielding to other tasks.
const BATCH: usize = 64;

struct Entry {
    f: Box<dyn FnOnce() + Send>,
    state: Arc<CbState>,
}

struct CbState {
    cancelled: AtomicBool,
    done: AtomicBool,
    location: &'static Location<'static>,
    /// (slot, generation) of the pending timer, for timed callbacks.
    timer: Mutex<Option<(usize, u64)>>,
}

/// A scheduled callback: cancel it, or ask whether it ran (asyncio's
/// `Handle` / `TimerHandle`).
///
/// Dropping this handle does **not** cancel the callback.
#[derive(Clone)]
pub struct CallbackHandle {
    state: Arc<CbState>,
    shared: Weak<Shared>,
}

impl fmt::Debug for CallbackHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackHandle")
            .field("cancelled", &self.is_cancelled())
            .field("done", &self.is_done())
            .field("location", &self.state.location)
            .finish()
    }
}

impl CallbackHandle {
    /// Cancels the callback if it has not run yet; a cancelled timed
    /// callback's timer is removed at once. Cancelling twice, or after the
    /// callback ran, does nothing.
    pub fn cancel(&self) {
        if self.state.cancelled.swap(true, Ordering::AcqRel) {
            return;
        }
        let timer = self
            .state
            .timer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let (Some(slot), Some(shared)) = (timer, self.shared.upgrade()) {
            shared.callbacks.remove_timer(slot);
        }
    }

    /// Whether [`cancel`](CallbackHandle::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.state.cancelled.load(Ordering::Acquire)
    }

    /// Whether the callback has run.
    pub fn is_done(&self) -> bool {
        self.state.done.load(Ordering::Acquire)
    }
}

/// The pending timers of timed callbacks, each with the generation it was
/// stored under: a handle that outlived its timer (fired, or removed at
/// close) finds another generation in a reused slot and leaves it alone.
#[derive(Default)]
struct Slab {
    timers: slab::Slab<(u64, Sleep)>,
    last_generation: u64,
}

pub(crate) struct Callbacks {
    queue: ConcurrentQueue<Entry>,
    runner: Mutex<Option<Waker>>,
    started: AtomicBool,
    /// The runner task's id, once spawned (0: none yet).
    runner_id: AtomicU64,
    closed: AtomicBool,
    timers: Mutex<Slab>,
    shared: Weak<Shared>,
}

impl Callbacks {
    pub(crate) fn new(shared: Weak<Shared>) -> Callbacks {
        Callbacks {
            queue: ConcurrentQueue::unbounded(),
            runner: Mutex::new(None),
            started: AtomicBool::new(false),
            runner_id: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            timers: Mutex::new(Slab::default()),
            shared,
        }
    }

    /// Queues `entry`; gives it back if the runtime is shut down.
    fn push(&self, entry: Entry) -> Result<(), Entry> {
        if self.closed.load(Ordering::Acquire) {
            return Err(entry);
        }
        if let Err(e) = self.queue.push(entry) {
            return Err(e.into_inner());
        }
        if !self.started.swap(true, Ordering::AcqRel) {
            if let Some(shared) = self.shared.upgrade() {
                let weak = self.shared.clone();
                let runner = Handle { shared }.spawn_with(
                    tulipa_executor::SpawnOptions::new().name(RUNNER_NAME),
                    Runner { shared: weak },
                );
                // The runner records its id itself on its first poll too,
                // in case that poll ends before this line runs.
                self.runner_id
                    .store(runner.id().as_u64(), Ordering::Release);
                runner.detach();
            }
        }
        let w = self.runner.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = w {
            w.wake();
        }
        Ok(())
    }

    /// Whether `task` is the runtime's callback runner (not a user task).
    pub(crate) fn is_runner(&self, task: TaskId) -> bool {
        self.runner_id.load(Ordering::Acquire) == task.as_u64()
    }

    fn remove_timer(&self, (slot, generation): (usize, u64)) {
        let sleep = {
            let mut slab = self.timers.lock().unwrap_or_else(|e| e.into_inner());
            match slab.timers.get(slot) {
                Some((g, _)) if *g == generation => Some(slab.timers.remove(slot).1),
                _ => None,
            }
        };
        // Dropped outside the slab lock: this cancels the timer.
        drop(sleep);
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.queue.close();
        let sleeps: Vec<Sleep> = {
            let mut slab = self.timers.lock().unwrap_or_else(|e| e.into_inner());
            slab.timers.drain().map(|(_, s)| s).collect()
        };
        drop(sleeps);
        while self.queue.pop().is_ok() {}
        self.runner.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

fn run_entry(entry: Entry, diag: &tulipa_executor::Diagnostics) {
    let Entry { f, state } = entry;
    let location = state.location;
    let start = diag.is_debug().then(std::time::Instant::now);
    // Everything that runs user code (the callback, or the destructor of a
    // cancelled one) is inside `catch_unwind`: the runner must never die.
    // Callbacks are not tasks: inside one, `task::current()` is `None`,
    // although the runner task is what calls it.
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        tulipa_executor::outside_task(|| {
            if state.cancelled.load(Ordering::Acquire) {
                drop(f);
            } else {
                f();
                state.done.store(true, Ordering::Release);
            }
        })
    }));
    if let Some(start) = start {
        let duration = start.elapsed();
        let threshold = diag.slow_poll_threshold();
        if duration > threshold {
            diag.report(&tulipa_executor::Diagnostic::SlowCallback {
                location,
                duration,
                threshold,
            });
        }
    }
    if let Err(p) = result {
        diag.report(&tulipa_executor::Diagnostic::CallbackPanic {
            location,
            message: tulipa_core::panic_message(&*p)
                .unwrap_or("<a non-string panic payload>")
                .to_owned(),
        });
    }
}

struct Runner {
    shared: Weak<Shared>,
}

impl Future for Runner {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(shared) = self.shared.upgrade() else {
            return Poll::Ready(());
        };
        let cbs = &shared.callbacks;
        if let Some(id) = tulipa_executor::current_id() {
            cbs.runner_id.store(id.as_u64(), Ordering::Release);
        }
        let mut ran = 0;
        loop {
            match cbs.queue.pop() {
                Ok(e) => {
                    run_entry(e, &shared.diagnostics);
                    ran += 1;
                    if ran == BATCH {
                        // Let other tasks run; come back at once.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                Err(_) => {
                    if cbs.closed.load(Ordering::Acquire) {
                        return Poll::Ready(());
                    }
                    *cbs.runner.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(cx.waker().clone());
                    // Re-check after registering: a push in between found
                    // no waker to wake.
                    if cbs.queue.is_empty() {
                        return Poll::Pending;
                    }
                }
            }
        }
    }
}

/// Moves a timed callback onto the queue when its timer fires.
struct FireWaker {
    entry: Mutex<Option<Entry>>,
    shared: Weak<Shared>,
}

impl Wake for FireWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let Some(entry) = self.entry.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let slot = entry
            .state
            .timer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        // Shut down: the callback is dropped, like every pending one.
        let _ = shared.callbacks.push(entry);
        if let Some(slot) = slot {
            shared.callbacks.remove_timer(slot);
        }
    }
}

impl Handle {
    /// Schedules `f` to run on the runtime as soon as possible (asyncio's
    /// `loop.call_soon` and `call_soon_threadsafe`: this is thread-safe).
    ///
    /// Callbacks run one at a time, in the order they were scheduled. A
    /// panicking callback is reported on stderr and the loop goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// let rt = tulipa::Runtime::new().unwrap();
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// for i in 0..3 {
    ///     let log = log.clone();
    ///     rt.handle().call_soon(move || log.lock().unwrap().push(i));
    /// }
    /// rt.block_on(async {
    ///     while log.lock().unwrap().len() < 3 {
    ///         tulipa::task::yield_now().await;
    ///     }
    /// });
    /// assert_eq!(*log.lock().unwrap(), [0, 1, 2]);
    /// ```
    #[track_caller]
    pub fn call_soon(&self, f: impl FnOnce() + Send + 'static) -> CallbackHandle {
        let state = self.new_state();
        // Shut down: the callback is dropped (see `Handle`).
        let _ = self.shared.callbacks.push(Entry {
            f: Box::new(f),
            state: state.clone(),
        });
        CallbackHandle {
            state,
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// Schedules `f` to run once `delay` has passed on the runtime's clock
    /// (asyncio's `loop.call_later`).
    #[track_caller]
    pub fn call_later(&self, delay: Duration, f: impl FnOnce() + Send + 'static) -> CallbackHandle {
        let deadline = self
            .time()
            .checked_add(delay)
            .unwrap_or_else(|| self.time());
        self.call_at(deadline, f)
    }

    /// Schedules `f` to run at `when` on the runtime's clock (asyncio's
    /// `loop.call_at`; read the clock with [`Handle::time`]). A time in the
    /// past runs it as soon as possible.
    #[track_caller]
    pub fn call_at(&self, when: Instant, f: impl FnOnce() + Send + 'static) -> CallbackHandle {
        let state = self.new_state();
        let handle = CallbackHandle {
            state: state.clone(),
            shared: Arc::downgrade(&self.shared),
        };
        let entry = Entry {
            f: Box::new(f),
            state: state.clone(),
        };
        let cbs = &self.shared.callbacks;
        if cbs.closed.load(Ordering::Acquire) {
            return handle;
        }
        let sleep = {
            let _t = self.timers().enter();
            tulipa_timer::sleep_until(when)
        };
        let fire = Arc::new(FireWaker {
            entry: Mutex::new(Some(entry)),
            shared: Arc::downgrade(&self.shared),
        });
        let waker = Waker::from(fire.clone());
        let mut slab = cbs.timers.lock().unwrap_or_else(|e| e.into_inner());
        slab.last_generation += 1;
        let generation = slab.last_generation;
        let slot = slab.timers.insert((generation, sleep));
        // Recorded before the timer can fire (on another thread, right after
        // the poll registers it), so the firing waker finds and frees it.
        *state.timer.lock().unwrap_or_else(|e| e.into_inner()) = Some((slot, generation));
        let ready = Pin::new(&mut slab.timers[slot].1)
            .poll(&mut Context::from_waker(&waker))
            .is_ready();
        if ready {
            let fired = slab.timers.remove(slot);
            drop(slab);
            // Dropped outside the slab lock (lock order).
            drop(fired);
            state.timer.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(entry) = fire.entry.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = cbs.push(entry);
            }
        }
        handle
    }

    #[track_caller]
    fn new_state(&self) -> Arc<CbState> {
        new_state(Location::caller())
    }

    /// Queues a callback registered at `location` (a task's done callback)
    /// like `call_soon`; once the runtime is shut down, when nothing would
    /// run the queue any more, runs it at once instead.
    pub(crate) fn call_soon_from(
        &self,
        location: &'static Location<'static>,
        f: Box<dyn FnOnce() + Send>,
    ) {
        let entry = Entry {
            f,
            state: new_state(location),
        };
        if let Err(entry) = self.shared.callbacks.push(entry) {
            run_entry(entry, &self.shared.diagnostics);
        }
    }
}

fn new_state(location: &'static Location<'static>) -> Arc<CbState> {
    Arc::new(CbState {
        cancelled: AtomicBool::new(false),
        done: AtomicBool::new(false),
        location,
        timer: Mutex::new(None),
    })
}
