//! `tulipa::task::yield_now()` in the future given to `block_on` / `run` is
//! asyncio's `sleep(0)` there too: every task that was ready runs one step
//! before the main future goes on, on both runtime flavours (issue 13).

use std::sync::{Arc, Mutex};

use tulipa::Runtime;

type Log = Arc<Mutex<Vec<String>>>;

async fn steps(log: Log, name: &'static str, n: usize) {
    for i in 1..=n {
        log.lock().unwrap().push(format!("{name}{i}"));
        tulipa::task::yield_now().await;
    }
}

fn has_all(log: &Log, names: &[&str]) -> bool {
    let log = log.lock().unwrap();
    names.iter().all(|n| log.iter().any(|l| l == n))
}

#[test]
fn one_yield_in_block_on_gives_every_ready_task_a_step() {
    let flavours = [
        (
            "current",
            Runtime::builder().current_thread().build().unwrap(),
        ),
        (
            "multi",
            Runtime::builder().worker_threads(2).build().unwrap(),
        ),
    ];
    for (what, rt) in flavours {
        for round in 0..20 {
            let log = Log::default();
            let (first, second) = rt.block_on(async {
                let names = ["a", "b", "c", "d", "e"];
                let hs: Vec<_> = names
                    .iter()
                    .map(|n| tulipa::spawn(steps(log.clone(), n, 3)))
                    .collect();
                tulipa::task::yield_now().await;
                let first = has_all(&log, &["a1", "b1", "c1", "d1", "e1"]);
                tulipa::task::yield_now().await;
                let second = has_all(&log, &["a2", "b2", "c2", "d2", "e2"]);
                for h in hs {
                    h.await.unwrap();
                }
                (first, second)
            });
            let log = log.lock().unwrap();
            assert!(first, "{what} round {round}: after one yield: {log:?}");
            assert!(second, "{what} round {round}: after two yields: {log:?}");
        }
    }
}

#[test]
fn current_thread_steps_run_in_fifo_order_behind_the_main_future() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let log = Log::default();
    let (first, second) = rt.block_on(async {
        for n in ["a", "b", "c"] {
            tulipa::spawn(steps(log.clone(), n, 2)).detach();
        }
        tulipa::task::yield_now().await;
        let first = log.lock().unwrap().clone();
        tulipa::task::yield_now().await;
        (first, log.lock().unwrap().clone())
    });
    assert_eq!(first, ["a1", "b1", "c1"]);
    assert_eq!(second, ["a1", "b1", "c1", "a2", "b2", "c2"]);
}
