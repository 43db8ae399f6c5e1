//! The `block_on` loop shared by the current-thread executor and bare
//! `block_on`: poll the main future when woken, run ready tasks, sleep on
//! the driver when there is nothing to do.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tulipa_core::{Driver, Unparker};

use crate::context::{YieldBarrier, BUDGET};
use crate::diag::Diagnostics;
use crate::local::LocalEnter;
use crate::wake_flag::WakeFlag;

struct MainWaker {
    woken: AtomicBool,
    signal: Arc<WakeFlag>,
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
    /// How many tasks are queued (FIFO: they run in this order).
    fn queued(&self) -> usize;
}

/// How many tasks of each queue must run before the main future is polled
/// again.
#[derive(Default)]
struct Owed {
    local: usize,
    extra: usize,
}

impl Owed {
    fn snapshot(local: &LocalEnter, extra: Option<&dyn TaskSource>) -> Owed {
        Owed {
            local: local.queue().len(),
            extra: extra.map_or(0, |e| e.queued()),
        }
    }

    fn is_empty(&self) -> bool {
        self.local == 0 && self.extra == 0
    }
}

/// Runs `future` to completion on this thread, running local tasks and the
/// tasks of `extra` meanwhile, sleeping on `driver`.
///
/// `signal` must be built from `driver`'s unparker.
pub(crate) fn run_loop<F: Future>(
    driver: &dyn Driver,
    signal: Arc<WakeFlag>,
    extra: Option<&dyn TaskSource>,
    beside: Option<&dyn YieldBarrier>,
    watch: Option<&Quiescence>,
    diag: Option<&Diagnostics>,
    future: F,
) -> F::Output {
    let local = LocalEnter::new(signal.clone(), diag);
    let main = Arc::new(MainWaker {
        woken: AtomicBool::new(true),
        signal: signal.clone(),
    });
    let _watched = watch.map(|w| {
        let (signal, main, local) = (signal.clone(), main.clone(), local.shared());
        w.watch(Arc::new(move || {
            signal.is_sleeping() && !main.woken.load(Ordering::SeqCst) && local.queue.is_empty()
        }))
    });
    let waker = Waker::from(main.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let mut ticks: usize = 0;
    // Tasks that were ready when the main future was woken, per queue:
    // like asyncio's ready queue, the woken main future waits behind them,
    // so each gets one step first (`yield_now` in the main future is
    // asyncio's `sleep(0)`). Both queues are FIFO, so "the next `n` pops"
    // are exactly the tasks that were queued at that moment.
    let mut owed = Owed::default();
    // The main future is woken and queued behind `owed`.
    let mut main_queued = false;
    loop {
        if owed.is_empty() && main.woken.swap(false, Ordering::SeqCst) {
            main_queued = false;
            // A main future that only yields still counts as work, so the
            // driver below is polled now and then and I/O and timers make
            // progress (else tasks waiting on them starve).
            ticks = ticks.wrapping_add(1);
            if let Poll::Ready(v) = tulipa_core::coop::with_budget(|| future.as_mut().poll(&mut cx))
            {
                return v;
            }
            if main.woken.load(Ordering::SeqCst) {
                // It yielded (or was woken during its poll).
                owed = Owed::snapshot(&local, extra);
                main_queued = true;
                if let Some(b) = beside {
                    // The barrier wakes it again once the tasks queued on
                    // the other threads have started their step.
                    main.woken.store(false, Ordering::SeqCst);
                    if !b.wait(&waker) {
                        main.woken.store(true, Ordering::SeqCst);
                    }
                }
            }
        }
        let mut ran = 0;
        while ran < BUDGET {
            let did = if owed.local > 0 {
                owed.local -= 1;
                local.queue().pop().map(|r| r.run()).is_ok()
            } else if owed.extra > 0 {
                owed.extra -= 1;
                extra.is_some_and(|e| e.run_one())
            } else {
                // Look before popping: this thread's local queue is
                // usually empty, and concurrent-queue's `pop` of an empty
                // queue issues a full fence, one per task the loop runs;
                // `is_empty` is two plain loads. Either is a snapshot: a
                // task pushed just after is found on the next pass, and
                // the check before sleeping (below) is what guards
                // against a lost wake-up.
                let queue = local.queue();
                let next = if queue.is_empty() {
                    None
                } else {
                    queue.pop().ok()
                };
                match next {
                    Some(r) => {
                        r.run();
                        true
                    }
                    None => extra.is_some_and(|e| e.run_one()),
                }
            };
            if !did && owed.is_empty() {
                break;
            }
            ran += usize::from(did);
            if owed.is_empty() {
                if main_queued {
                    break;
                }
                if main.woken.load(Ordering::Relaxed) {
                    // Woken by a task: behind whatever is queued now.
                    owed = Owed::snapshot(&local, extra);
                    main_queued = true;
                    if owed.is_empty() {
                        break;
                    }
                }
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
        if idle {
            if let Some(w) = watch {
                w.poke();
            }
            // The blocking park below polls the driver: the count of work
            // since its last poll starts again (else a ping-pong that
            // sleeps between messages pays an extra non-blocking poll
            // every `BUDGET` messages).
            ticks = 0;
        }
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

/// Tells whether the `block_on` loops it watches are all asleep with
/// nothing to do: how a runtime on virtual time knows that the thread in
/// `Runtime::block_on` (its future and its local tasks) is idle, before it
/// lets the clock jump.
///
/// A loop counts as busy from the moment anything wakes it (its future, a
/// local task) until it has run out of work and is about to sleep: it is
/// quiet only while it sleeps (or is about to), nobody has notified it,
/// its future is not woken and its local queue is empty.
#[derive(Clone, Default)]
pub struct Quiescence {
    inner: Arc<QuiescenceInner>,
}

type QuietProbe = Arc<dyn Fn() -> bool + Send + Sync>;

#[derive(Default)]
struct QuiescenceInner {
    loops: Mutex<Vec<QuietProbe>>,
    poke: Mutex<Option<Unparker>>,
}

impl std::fmt::Debug for Quiescence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quiescence")
            .field("quiet", &self.is_quiet())
            .finish()
    }
}

impl Quiescence {
    /// A watcher with no loops (quiet).
    pub fn new() -> Quiescence {
        Quiescence::default()
    }

    /// Unparks `unparker` whenever a watched loop runs out of work, so a
    /// driver that waits for quiescence re-checks.
    pub fn on_quiet(&self, unparker: Unparker) {
        *self.inner.poke.lock().unwrap_or_else(|e| e.into_inner()) = Some(unparker);
    }

    /// Whether any thread is inside a watched `block_on` now: on virtual
    /// time, the "loop is running" that lets the clock jump.
    pub fn is_running(&self) -> bool {
        !self
            .inner
            .loops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Whether every watched loop is asleep with nothing to do.
    pub fn is_quiet(&self) -> bool {
        self.inner
            .loops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .all(|quiet| quiet())
    }

    fn poke(&self) {
        if let Some(u) = &*self.inner.poke.lock().unwrap_or_else(|e| e.into_inner()) {
            u.unpark();
        }
    }

    fn watch(&self, probe: QuietProbe) -> Watched<'_> {
        self.inner
            .loops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(probe.clone());
        Watched { watch: self, probe }
    }
}

struct Watched<'a> {
    watch: &'a Quiescence,
    probe: QuietProbe,
}

impl Drop for Watched<'_> {
    fn drop(&mut self) {
        let mut loops = self
            .watch
            .inner
            .loops
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(i) = loops.iter().position(|p| Arc::ptr_eq(p, &self.probe)) {
            loops.swap_remove(i);
        }
    }
}
