//! The `block_on` loop shared by the current-thread executor and bare
//! `block_on`: poll the main future when woken, run ready tasks, sleep on
//! the driver when there is nothing to do.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tulipa_core::Driver;

use crate::local::LocalEnter;
use crate::signal::Signal;

/// How many tasks run between two polls of the main future and two
/// non-blocking driver polls, so neither I/O nor the main future starves.
pub(crate) const BUDGET: usize = 61;

thread_local! {
    /// Set while this thread runs a tulipa `block_on` or is an executor worker.
    static IN_RUNTIME: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside a tulipa `block_on` or is a worker thread
/// of a tulipa executor. Blocking such a thread in another `block_on` would
/// stall every task it is responsible for.
pub fn in_runtime_context() -> bool {
    IN_RUNTIME.with(Cell::get)
}

pub(crate) struct RuntimeContextGuard(bool);

impl RuntimeContextGuard {
    #[track_caller]
    pub(crate) fn enter() -> RuntimeContextGuard {
        let was = IN_RUNTIME.with(|c| c.replace(true));
        if was {
            IN_RUNTIME.with(|c| c.set(was));
            panic!(
                "block_on called from inside a tulipa runtime (a worker thread or another \
                 block_on): this would block the thread that runs your tasks. Use `.await` \
                 instead, or move blocking work to `spawn_blocking`"
            );
        }
        RuntimeContextGuard(was)
    }

    /// Marks a worker thread for its whole life.
    pub(crate) fn worker() -> RuntimeContextGuard {
        RuntimeContextGuard(IN_RUNTIME.with(|c| c.replace(true)))
    }
}

impl Drop for RuntimeContextGuard {
    fn drop(&mut self) {
        IN_RUNTIME.with(|c| c.set(self.0));
    }
}

struct MainWaker {
    woken: AtomicBool,
    signal: Arc<Signal>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.signal.notify();
    }
}

/// A source of tasks for the loop besides the thread's local tasks.
pub(crate) trait TaskSource {
    /// Runs one ready task; returns `false` if there was none.
    fn run_one(&self) -> bool;
    /// Whether any task is queued.
    fn has_work(&self) -> bool;
}

/// Runs `future` to completion on this thread, running local tasks and the
/// tasks of `extra` meanwhile, sleeping on `driver`.
///
/// `signal` must be built from `driver`'s unparker.
pub(crate) fn run_loop<F: Future>(
    driver: &dyn Driver,
    signal: Arc<Signal>,
    extra: Option<&dyn TaskSource>,
    future: F,
) -> F::Output {
    let local = LocalEnter::new(signal.clone());
    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        signal: signal.clone(),
    });
    let waker = Waker::from(main.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let mut ticks: usize = 0;
    loop {
        if main.woken.swap(false, Ordering::SeqCst) {
            if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
                return v;
            }
        }
        let mut ran = 0;
        while ran < BUDGET {
            let did = match local.queue().pop() {
                Ok(r) => {
                    r.run();
                    true
                }
                Err(_) => extra.is_some_and(|e| e.run_one()),
            };
            if !did {
                break;
            }
            ran += 1;
            if main.woken.load(Ordering::Relaxed) {
                break;
            }
        }
        ticks = ticks.wrapping_add(ran);
        if ran == BUDGET || ticks >= BUDGET {
            // Busy: still let I/O and timers make progress, without blocking.
            ticks = 0;
            driver.park(Some(Duration::ZERO));
        }
        if ran > 0 {
            continue;
        }
        signal.set_sleeping(true);
        let idle = !main.woken.load(Ordering::SeqCst)
            && local.queue().is_empty()
            && !extra.is_some_and(|e| e.has_work());
        if idle && !driver.park(None) {
            // Another thread holds the driver; it will run the I/O and
            // timers. Nothing to do here but wait to be unparked by our
            // signal, which goes to the same driver: yield instead of
            // spinning hard.
            std::thread::sleep(Duration::from_micros(50));
        }
        signal.set_sleeping(false);
    }
}
