//! Fairness of the multi-thread executor on a single worker, where nothing
//! can hide a starvation bug: local work never starves the injector, and
//! the LIFO slot never starves the run queue.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use std::time::{Duration, Instant};

use tulipa_core::ThreadParker;
use tulipa_executor::{block_on, yield_now, JoinHandle, MultiThreadBuilder, SpawnOptions};

/// Waits for `h` with a liveness bound, so a starvation bug fails the test
/// instead of hanging it. (Not a performance assertion: the bound is
/// orders of magnitude above the expected time.)
fn join_within<T>(h: JoinHandle<T>, what: &str) -> T {
    let start = Instant::now();
    while !h.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} never ran: starved"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    block_on(&ThreadParker::new(), h).unwrap()
}

fn one_worker() -> tulipa_executor::MultiThread {
    MultiThreadBuilder::new()
        .workers(1)
        .build(Arc::new(ThreadParker::new()))
        .unwrap()
}

#[test]
fn local_work_does_not_starve_the_injector() {
    let ex = one_worker();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    // Keeps the worker's local queue busy forever.
    let hog = ex.spawn(SpawnOptions::new(), async move {
        while !s.load(Ordering::Relaxed) {
            yield_now().await;
        }
    });
    // Spawned from outside the worker: goes through the injector.
    for i in 0..20 {
        let h = ex.spawn(SpawnOptions::new(), async move { i });
        assert_eq!(join_within(h, "an injected task"), i);
    }
    stop.store(true, Ordering::Relaxed);
    block_on(&ThreadParker::new(), hog).unwrap();
}

/// Two tasks that wake each other forever would live in the LIFO slot;
/// a third task waiting in the worker's run queue must still get to run.
#[test]
fn lifo_ping_pong_does_not_starve_the_queue() {
    #[derive(Default)]
    struct Slot {
        waker: Option<Waker>,
        turn: usize,
    }
    struct Player {
        me: usize,
        spawner: tulipa_executor::MultiThreadHandle,
        third: Arc<Mutex<Option<JoinHandle<&'static str>>>>,
        shared: Arc<Mutex<[Slot; 2]>>,
        stop: Arc<AtomicBool>,
        rounds: Arc<AtomicUsize>,
    }
    impl Future for Player {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.stop.load(Ordering::Relaxed) {
                let mut s = self.shared.lock().unwrap();
                if let Some(w) = s[1 - self.me].waker.take() {
                    w.wake();
                }
                return Poll::Ready(());
            }
            let mut s = self.shared.lock().unwrap();
            s[self.me].turn += 1;
            if self.rounds.fetch_add(1, Ordering::Relaxed) == 100 {
                // Spawned on the worker: it takes the LIFO slot, and the
                // wake below pushes it into the run queue behind the slot.
                let h = self.spawner.spawn(SpawnOptions::new(), async { "ran" });
                *self.third.lock().unwrap() = Some(h);
            }
            s[self.me].waker = Some(cx.waker().clone());
            // Wake the other player: it lands in this worker's LIFO slot.
            if let Some(w) = s[1 - self.me].waker.take() {
                drop(s);
                w.wake();
            }
            Poll::Pending
        }
    }

    let ex = one_worker();
    let shared = Arc::new(Mutex::new([Slot::default(), Slot::default()]));
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let third = Arc::new(Mutex::new(None));
    let players: Vec<_> = (0..2)
        .map(|me| {
            ex.spawn(
                SpawnOptions::new(),
                Player {
                    me,
                    spawner: ex.handle(),
                    third: third.clone(),
                    shared: shared.clone(),
                    stop: stop.clone(),
                    rounds: rounds.clone(),
                },
            )
        })
        .collect();
    let start = Instant::now();
    let third = loop {
        if let Some(h) = third.lock().unwrap().take() {
            break h;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "players never started"
        );
        std::thread::yield_now();
    };
    assert_eq!(join_within(third, "the queued task"), "ran");
    stop.store(true, Ordering::Relaxed);
    // Nudge both so they observe `stop`.
    for slot in shared.lock().unwrap().iter_mut() {
        if let Some(w) = slot.waker.take() {
            w.wake();
        }
    }
    for p in players {
        block_on(&ThreadParker::new(), p).unwrap();
    }
}

/// Regression (review): with `wake_driver_when_idle` (virtual time), the
/// last worker to go idle unparked the driver it was itself about to take,
/// so an idle runtime spun through park calls forever. Counted, not timed:
/// an idle pool parks a handful of times, a spinning one millions.
#[test]
fn an_idle_pool_that_wakes_its_driver_does_not_spin() {
    struct Counting {
        inner: ThreadParker,
        parks: AtomicUsize,
    }
    impl tulipa_core::Driver for Counting {
        fn park(&self, timeout: Option<Duration>) -> bool {
            self.parks.fetch_add(1, Ordering::Relaxed);
            self.inner.park(timeout)
        }
        fn unparker(&self) -> tulipa_core::Unparker {
            self.inner.unparker()
        }
    }
    for workers in [1, 2] {
        let driver = Arc::new(Counting {
            inner: ThreadParker::new(),
            parks: AtomicUsize::new(0),
        });
        let ex = MultiThreadBuilder::new()
            .workers(workers)
            .wake_driver_when_idle(true)
            .build(driver.clone())
            .unwrap();
        let h = ex.spawn(SpawnOptions::new(), async { 1 });
        assert_eq!(block_on(&ThreadParker::new(), h).unwrap(), 1);
        let before = driver.parks.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(200));
        let during = driver.parks.load(Ordering::Relaxed) - before;
        assert!(
            during < 100,
            "{workers} idle worker(s) parked {during} times in 200 ms"
        );
        ex.shutdown(Some(Duration::from_secs(10)));
    }
}
