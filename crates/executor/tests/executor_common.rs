//! Behaviour every executor flavour shares: join, panics, cancellation,
//! metadata, wakeups from other threads, fairness. Each test runs on the
//! current-thread executor and on the multi-thread executor.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tulipa_core::ThreadParker;
use tulipa_executor::{
    block_on, spawn_local, yield_now, CurrentThread, JoinHandle, MultiThread, MultiThreadBuilder,
    SpawnOptions,
};

/// A gate a std thread can open, waking whoever waits on it.
#[derive(Clone, Default)]
struct Gate(Arc<Mutex<(bool, Vec<Waker>)>>);

impl Gate {
    fn open(&self) {
        let wakers = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            std::mem::take(&mut g.1)
        };
        wakers.into_iter().for_each(Waker::wake);
    }
    fn wait(&self) -> GateWait {
        GateWait(self.clone())
    }
}

struct GateWait(Gate);

impl Future for GateWait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = (self.0).0.lock().unwrap();
        if g.0 {
            Poll::Ready(())
        } else {
            g.1.push(cx.waker().clone());
            Poll::Pending
        }
    }
}

enum Flavor {
    Current(CurrentThread),
    Multi(MultiThread),
}

impl Flavor {
    #[track_caller]
    fn spawn<F>(&self, name: Option<&str>, f: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let mut o = SpawnOptions::new();
        if let Some(n) = name {
            o = o.name(n);
        }
        match self {
            Flavor::Current(c) => c.spawn(o, f),
            Flavor::Multi(m) => m.spawn(o, f),
        }
    }
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        match self {
            Flavor::Current(c) => c.block_on(f),
            Flavor::Multi(_) => block_on(&ThreadParker::new(), f),
        }
    }
    fn task_count(&self) -> usize {
        match self {
            Flavor::Current(c) => c.task_count(),
            Flavor::Multi(m) => m.task_count(),
        }
    }
    fn shutdown(&self) {
        match self {
            Flavor::Current(c) => c.shutdown(),
            Flavor::Multi(m) => {
                m.shutdown(Some(Duration::from_secs(10)));
            }
        }
    }
}

fn flavors() -> Vec<Flavor> {
    vec![
        Flavor::Current(CurrentThread::new(Arc::new(ThreadParker::new()))),
        Flavor::Multi(
            MultiThreadBuilder::new()
                .workers(2)
                .build(Arc::new(ThreadParker::new()))
                .unwrap(),
        ),
    ]
}

#[test]
fn join_returns_output() {
    for ex in flavors() {
        let hs: Vec<_> = (0..100)
            .map(|i| ex.spawn(None, async move { i * 2 }))
            .collect();
        let sum: i32 = ex.block_on(async {
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, (0..100).map(|i| i * 2).sum::<i32>());
        ex.shutdown();
    }
}

#[test]
fn panic_is_caught_and_others_run() {
    for ex in flavors() {
        let seven = std::hint::black_box(7);
        let bad = ex.spawn(None, async move { panic!("boom {seven}") });
        let good = ex.spawn(None, async { 5 });
        ex.block_on(async {
            let err = bad.await.unwrap_err();
            assert!(err.is_panic());
            assert!(!err.is_cancelled());
            assert_eq!(
                err.to_string(),
                format!("task {} panicked: boom 7", err.id())
            );
            let payload = err.into_panic();
            assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom 7");
            assert_eq!(good.await.unwrap(), 5);
        });
        // The executor still works after the panic.
        let again = ex.spawn(None, async { 1 });
        assert_eq!(ex.block_on(again).unwrap(), 1);
        ex.shutdown();
    }
}

#[test]
fn cancel_pending_task_drops_future() {
    for ex in flavors() {
        struct SetOnDrop(Arc<AtomicBool>);
        impl Drop for SetOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let gate = Gate::default();
        let g = gate.clone();
        let d = SetOnDrop(dropped.clone());
        let h = ex.spawn(None, async move {
            let _d = d;
            g.wait().await;
            "finished"
        });
        ex.block_on(async {
            // Let it start and block on the gate.
            for _ in 0..10 {
                yield_now().await;
            }
            assert!(!h.is_finished());
            h.cancel();
            h.cancel(); // twice is harmless
            let err = h.await.unwrap_err();
            assert!(err.is_cancelled());
            assert!(err.to_string().contains("was cancelled"));
        });
        assert!(dropped.load(Ordering::SeqCst));
        assert_eq!(ex.task_count(), 0);
        ex.shutdown();
    }
}

#[test]
fn cancel_after_completion_keeps_result() {
    for ex in flavors() {
        let h = ex.spawn(None, async { 9 });
        ex.block_on(async {
            while !h.is_finished() {
                yield_now().await;
            }
            h.cancel();
            assert_eq!(h.await.unwrap(), 9);
        });
        ex.shutdown();
    }
}

#[test]
fn cancel_a_task_that_yields_forever() {
    for ex in flavors() {
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let h = ex.spawn(Some("spinner"), async move {
            loop {
                p.fetch_add(1, Ordering::Relaxed);
                yield_now().await;
            }
        });
        ex.block_on(async {
            while polls.load(Ordering::Relaxed) < 10 {
                yield_now().await;
            }
            h.cancel();
            assert!(h.await.unwrap_err().is_cancelled());
        });
        ex.shutdown();
    }
}

#[test]
fn dropping_handle_detaches() {
    for ex in flavors() {
        let gate = Gate::default();
        let g = gate.clone();
        drop(ex.spawn(None, async move { g.open() }));
        ex.block_on(gate.wait());
        ex.shutdown();
    }
}

#[test]
fn metadata_is_recorded() {
    for ex in flavors() {
        let line = line!() + 1;
        let h = ex.spawn(Some("worker-7"), async {
            yield_now().await;
            tulipa_executor::current_id()
        });
        let info = h.info();
        assert_eq!(info.name(), Some("worker-7"));
        assert_eq!(info.location().line(), line);
        assert!(info.location().file().ends_with("executor_common.rs"));
        assert!(info.to_string().contains("'worker-7'"));
        let id = h.id();
        let h2 = ex.spawn(None, async { 0 });
        assert!(h2.id() > id, "ids increase");
        // asyncio's default name, Task-N with N the id (issue 13).
        let default = format!("Task-{}", h2.id());
        assert_eq!(h2.info().name(), Some(default.as_str()));
        assert!(h2.info().to_string().contains(&format!("'{default}'")));
        let current = ex.block_on(async {
            let c = h.await.unwrap();
            h2.await.unwrap();
            c
        });
        assert_eq!(current, Some(id), "current_id inside the task is its id");
        ex.shutdown();
    }
}

#[test]
fn poll_count_counts() {
    for ex in flavors() {
        let gate = Gate::default();
        let g = gate.clone();
        let h = ex.spawn(None, async move {
            for _ in 0..4 {
                yield_now().await;
            }
            g.wait().await;
        });
        ex.block_on(async {
            while h.poll_count() < 5 {
                yield_now().await;
            }
            assert_eq!(h.poll_count(), 5);
            gate.open();
            let mut h = h;
            (&mut h).await.unwrap();
        });
        ex.shutdown();
    }
}

#[test]
fn wakeup_from_a_std_thread() {
    for ex in flavors() {
        let gate = Gate::default();
        let g = gate.clone();
        let h = ex.spawn(None, async move {
            g.wait().await;
            42
        });
        let opener = std::thread::spawn({
            let gate = gate.clone();
            move || {
                std::thread::sleep(Duration::from_millis(20));
                gate.open();
            }
        });
        assert_eq!(ex.block_on(h).unwrap(), 42);
        opener.join().unwrap();
        ex.shutdown();
    }
}

#[test]
fn a_task_that_yields_forever_does_not_starve_others() {
    for ex in flavors() {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let hog = ex.spawn(None, async move {
            while !s.load(Ordering::Relaxed) {
                yield_now().await;
            }
        });
        // Many short tasks spawned while the hog runs all complete.
        let hs: Vec<_> = (0..200).map(|i| ex.spawn(None, async move { i })).collect();
        let total = ex.block_on(async {
            let mut t = 0;
            for h in hs {
                t += h.await.unwrap();
            }
            t
        });
        assert_eq!(total, (0..200).sum::<i32>());
        stop.store(true, Ordering::Relaxed);
        ex.block_on(hog).unwrap();
        ex.shutdown();
    }
}

#[test]
fn shutdown_cancels_what_is_left() {
    for ex in flavors() {
        let gate = Gate::default();
        let hs: Vec<_> = (0..10)
            .map(|_| {
                let g = gate.clone();
                ex.spawn(None, async move { g.wait().await })
            })
            .collect();
        // Let them all start waiting.
        ex.block_on(async {
            for _ in 0..20 {
                yield_now().await;
            }
        });
        ex.shutdown();
        assert_eq!(ex.task_count(), 0);
        for h in hs {
            let err = block_on(&ThreadParker::new(), h).unwrap_err();
            assert!(err.is_cancelled());
        }
        // Spawning after shutdown cancels at once instead of losing the task.
        let late = ex.spawn(None, async { 1 });
        assert!(block_on(&ThreadParker::new(), late)
            .unwrap_err()
            .is_cancelled());
    }
}

/// Spawns a task onto the executor under test from anywhere (a `Drop`).
type Spawner =
    Arc<dyn Fn(Pin<Box<dyn Future<Output = ()> + Send>>) -> JoinHandle<()> + Send + Sync>;

/// Pending until dropped; its drop opens `gate` (waking the waiters: a wake
/// during the shutdown sweep) and spawns its successor while `left > 0` (a
/// spawn into a closed registry), keeping the successor's handle.
struct Respawn {
    spawn: Spawner,
    left: usize,
    drops: Arc<AtomicUsize>,
    gate: Gate,
    late: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Future for Respawn {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for Respawn {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        self.gate.open();
        if self.left > 0 {
            let next = Respawn {
                spawn: self.spawn.clone(),
                left: self.left - 1,
                drops: self.drops.clone(),
                gate: self.gate.clone(),
                late: self.late.clone(),
            };
            let h = (self.spawn)(Box::pin(next));
            self.late.lock().unwrap().push(h);
        }
    }
}

/// Counts its drop.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn shutdown_drops_every_task_even_when_drops_spawn_and_wake() {
    for ex in flavors() {
        let spawn: Spawner = match &ex {
            Flavor::Current(c) => {
                let c = c.clone();
                Arc::new(move |f| c.spawn(SpawnOptions::new(), f))
            }
            Flavor::Multi(m) => {
                let h = m.handle();
                Arc::new(move |f| h.spawn(SpawnOptions::new(), f))
            }
        };
        let drops = Arc::new(AtomicUsize::new(0));
        let gate = Gate::default();
        let late = Arc::new(Mutex::new(Vec::new()));
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let (g, counted) = (gate.clone(), Counted(drops.clone()));
                ex.spawn(None, async move {
                    let _counted = counted;
                    g.wait().await;
                    // Woken by a drop during shutdown: never gets here, as
                    // the sweep drops it instead of running it.
                    std::future::pending::<()>().await
                })
            })
            .collect();
        let respawns: Vec<_> = (0..5)
            .map(|_| {
                ex.spawn(
                    None,
                    Respawn {
                        spawn: spawn.clone(),
                        left: 3,
                        drops: drops.clone(),
                        gate: gate.clone(),
                        late: late.clone(),
                    },
                )
            })
            .collect();
        ex.block_on(async {
            for _ in 0..20 {
                yield_now().await;
            }
        });
        assert_eq!(ex.task_count(), 15);
        ex.shutdown();
        assert_eq!(ex.task_count(), 0, "no task left registered");
        // 10 waiters, and 5 chains of 4 (the original and 3 successors).
        assert_eq!(drops.load(Ordering::SeqCst), 10 + 5 * 4);
        for h in waiters.into_iter().chain(respawns) {
            assert!(block_on(&ThreadParker::new(), h)
                .unwrap_err()
                .is_cancelled());
        }
        let late = std::mem::take(&mut *late.lock().unwrap());
        assert_eq!(late.len(), 5 * 3);
        for h in late {
            assert!(block_on(&ThreadParker::new(), h)
                .unwrap_err()
                .is_cancelled());
        }
        drop(spawn);
    }
}

#[test]
fn spawn_local_runs_non_send_futures() {
    for ex in flavors() {
        let out = ex.block_on(async {
            let rc = Rc::new(5);
            let r2 = rc.clone();
            let h = spawn_local(SpawnOptions::new(), async move {
                yield_now().await;
                *r2 + 1
            });
            h.await.unwrap() + *rc
        });
        assert_eq!(out, 11);
        ex.shutdown();
    }
}

#[test]
#[should_panic(expected = "spawn_local called outside a tulipa block_on")]
fn spawn_local_outside_block_on_panics() {
    drop(spawn_local(SpawnOptions::new(), async {}));
}

#[test]
fn nested_block_on_panics_with_advice() {
    let res = std::panic::catch_unwind(|| {
        block_on(&ThreadParker::new(), async {
            block_on(&ThreadParker::new(), async {});
        })
    });
    let msg = res.unwrap_err();
    let msg = msg
        .downcast_ref::<&str>()
        .copied()
        .map(String::from)
        .unwrap_or_else(|| msg.downcast_ref::<String>().cloned().unwrap_or_default());
    assert!(msg.contains("Use `.await`"), "{msg}");
    // The thread is usable again afterwards.
    assert_eq!(block_on(&ThreadParker::new(), async { 3 }), 3);
}

#[test]
fn block_on_inside_a_worker_panics_and_the_worker_survives() {
    let ex = MultiThreadBuilder::new()
        .workers(2)
        .build(Arc::new(ThreadParker::new()))
        .unwrap();
    let h = ex.spawn(SpawnOptions::new(), async {
        block_on(&ThreadParker::new(), async { 1 })
    });
    let err = block_on(&ThreadParker::new(), h).unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("spawn_blocking"), "{err}");
    let ok = ex.spawn(SpawnOptions::new(), async { 2 });
    assert_eq!(block_on(&ThreadParker::new(), ok).unwrap(), 2);
}

#[test]
fn zero_workers_is_an_error() {
    let err = MultiThreadBuilder::new()
        .workers(0)
        .build(Arc::new(ThreadParker::new()))
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("at least 1"));
}

#[test]
fn idle_workers_park() {
    let ex = MultiThreadBuilder::new()
        .workers(2)
        .build(Arc::new(ThreadParker::new()))
        .unwrap();
    let h = ex.handle();
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.idle_workers() < 2 {
        assert!(Instant::now() < deadline, "workers never went idle");
        std::thread::sleep(Duration::from_millis(1));
    }
    // And they wake for new work.
    let j = ex.spawn(SpawnOptions::new(), async { 7 });
    assert_eq!(block_on(&ThreadParker::new(), j).unwrap(), 7);
}

#[test]
fn many_tasks_across_threads() {
    let ex = MultiThreadBuilder::new()
        .workers(2)
        .build(Arc::new(ThreadParker::new()))
        .unwrap();
    let threads = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..2000)
        .map(|_| {
            let t = threads.clone();
            let c = count.clone();
            ex.spawn(SpawnOptions::new(), async move {
                t.lock().unwrap().insert(std::thread::current().id());
                yield_now().await;
                c.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    block_on(&ThreadParker::new(), async {
        for h in hs {
            h.await.unwrap();
        }
    });
    assert_eq!(count.load(Ordering::Relaxed), 2000);
    assert!(!threads
        .lock()
        .unwrap()
        .contains(&std::thread::current().id()));
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<CurrentThread>();
    send_sync::<MultiThread>();
    send_sync::<tulipa_executor::MultiThreadHandle>();
    send_sync::<tulipa_executor::TaskInfo>();
    send_sync::<tulipa_executor::TaskId>();
    send::<JoinHandle<u8>>();
    send::<tulipa_executor::JoinError>();
}

#[test]
fn a_second_block_on_takes_over_the_core_when_it_is_released() {
    let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    let gate = Gate::default();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    // Thread A holds the core until the gate opens.
    let a = {
        let ex = ex.clone();
        let gate = gate.clone();
        std::thread::spawn(move || {
            ex.block_on(async move {
                entered_tx.send(()).unwrap();
                gate.wait().await;
            })
        })
    };
    entered_rx.recv().unwrap();
    // A task that becomes runnable only when A is leaving: A returns as
    // soon as its own future is ready, leaving the task queued.
    let g = gate.clone();
    let task = ex.spawn(SpawnOptions::new(), async move {
        g.wait().await;
        5
    });
    // Thread B waits on the task from a second block_on; it must take the
    // core over once A leaves, and then run the task itself.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    {
        let ex = ex.clone();
        std::thread::spawn(move || done_tx.send(ex.block_on(task).unwrap()));
    }
    std::thread::sleep(Duration::from_millis(20));
    gate.open();
    a.join().unwrap();
    // Liveness bound only: a lost hand-off would hang forever.
    assert_eq!(done_rx.recv_timeout(Duration::from_secs(20)).unwrap(), 5);
}

/// Regression (review): a panic in the destructor of a future that had
/// just completed escaped into the worker and killed it.
#[test]
fn a_panicking_destructor_is_the_tasks_error_not_the_workers() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop panic (expected in this test)");
        }
    }
    for ex in flavors() {
        let h = ex.spawn(None, async {
            let _p = PanicOnDrop;
            yield_now().await;
            1
        });
        let err = ex.block_on(h).unwrap_err();
        assert!(err.is_panic());
        // The executor (and, multi-thread, its worker) is still alive.
        assert_eq!(ex.block_on(ex.spawn(None, async { 2 })).unwrap(), 2);
        ex.shutdown();
    }
}

/// Regression (review): dropping a standalone current-thread executor
/// without `shutdown` leaked its pending tasks forever.
#[test]
fn dropping_a_current_thread_executor_cancels_its_tasks() {
    let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    let gate = Gate::default();
    let g = gate.clone();
    let h = ex.spawn(SpawnOptions::new(), async move { g.wait().await });
    ex.block_on(yield_now());
    drop(ex);
    assert!(block_on(&ThreadParker::new(), h)
        .unwrap_err()
        .is_cancelled());
}
