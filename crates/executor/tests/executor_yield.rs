//! `yield_now()` in the future given to `block_on` is asyncio's `sleep(0)`
//! there too: every task that was ready gets one step before the main
//! future runs again (issue 13).

use std::sync::{Arc, Mutex};

use tulipa_core::ThreadParker;
use tulipa_executor::{block_on, spawn_local, yield_now, CurrentThread, SpawnOptions};

type Log = Arc<Mutex<Vec<String>>>;

/// A task that logs `name1`, yields, logs `name2`.
async fn two_steps(log: Log, name: &'static str) {
    log.lock().unwrap().push(format!("{name}1"));
    yield_now().await;
    log.lock().unwrap().push(format!("{name}2"));
}

fn snapshot(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

#[test]
fn current_thread_main_yield_gives_every_ready_task_one_step() {
    let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    let log = Log::default();
    let (after_one, after_two) = ex.block_on(async {
        for name in ["a", "b", "c"] {
            drop(ex.spawn(SpawnOptions::new(), two_steps(log.clone(), name)));
        }
        yield_now().await;
        let one = snapshot(&log);
        yield_now().await;
        (one, snapshot(&log))
    });
    assert_eq!(after_one, ["a1", "b1", "c1"]);
    assert_eq!(after_two, ["a1", "b1", "c1", "a2", "b2", "c2"]);
}

#[test]
fn bare_block_on_main_yield_gives_every_local_task_one_step() {
    let log = Log::default();
    let (after_one, after_two) = block_on(&ThreadParker::new(), async {
        for name in ["a", "b", "c"] {
            drop(spawn_local(
                SpawnOptions::new(),
                two_steps(log.clone(), name),
            ));
        }
        yield_now().await;
        let one = snapshot(&log);
        yield_now().await;
        (one, snapshot(&log))
    });
    assert_eq!(after_one, ["a1", "b1", "c1"]);
    assert_eq!(after_two, ["a1", "b1", "c1", "a2", "b2", "c2"]);
}

/// A task that wakes the main future runs on; the main future waits behind
/// the tasks that were already ready (asyncio's FIFO ready queue).
#[test]
fn a_main_future_woken_by_a_task_waits_behind_the_ready_tasks() {
    let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    let log = Log::default();
    let seen = ex.block_on(async {
        let (tx, rx) = futures_lite::future::block_on(async { async_channel_pair() });
        let l = log.clone();
        drop(ex.spawn(SpawnOptions::new(), async move {
            l.lock().unwrap().push("waker".into());
            tx.lock().unwrap().take().unwrap().wake();
        }));
        for name in ["x", "y"] {
            drop(ex.spawn(SpawnOptions::new(), two_steps(log.clone(), name)));
        }
        rx.await;
        snapshot(&log)
    });
    assert_eq!(seen, ["waker", "x1", "y1"]);
}

/// A one-shot wake: the main future waits until the first task wakes it.
fn async_channel_pair() -> (Arc<Mutex<Option<std::task::Waker>>>, WaitWake) {
    let slot = Arc::new(Mutex::new(None));
    (
        slot.clone(),
        WaitWake {
            slot,
            polled: false,
        },
    )
}

struct WaitWake {
    slot: Arc<Mutex<Option<std::task::Waker>>>,
    polled: bool,
}

impl std::future::Future for WaitWake {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.polled {
            return std::task::Poll::Ready(());
        }
        self.polled = true;
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        std::task::Poll::Pending
    }
}
