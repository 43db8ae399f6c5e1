//! The current-thread executor's two run queues: the core holder's own
//! (tasks woken or spawned on its thread) and the shared one (other
//! threads). Neither starves the other, and nothing left in the holder's
//! queue is lost when its `block_on` returns.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tulipa_core::ThreadParker;
use tulipa_executor::{yield_now, CurrentThread, SpawnOptions};

fn executor() -> CurrentThread {
    CurrentThread::new(Arc::new(ThreadParker::new()))
}

#[test]
fn tasks_queued_on_the_core_thread_survive_the_end_of_its_block_on() {
    let ex = executor();
    let ran = Arc::new(AtomicUsize::new(0));
    // Spawned on the thread holding the core, into its own queue; the main
    // future returns before any of them runs.
    let handles: Vec<_> = ex.block_on(async {
        (0..10)
            .map(|i| {
                let ran = ran.clone();
                ex.spawn(SpawnOptions::new(), async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                    i
                })
            })
            .collect()
    });
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "the main future returned first"
    );
    // Another thread takes the core over and runs them, in spawn order.
    let outputs = std::thread::scope(|s| {
        s.spawn(|| {
            ex.block_on(async {
                // Bounded: a lost task fails here instead of hanging.
                for _ in 0..1_000 {
                    if ran.load(Ordering::SeqCst) == 10 {
                        break;
                    }
                    yield_now().await;
                }
                assert_eq!(ran.load(Ordering::SeqCst), 10, "tasks were lost");
                let mut out = Vec::new();
                for h in handles {
                    out.push(h.await.unwrap());
                }
                out
            })
        })
        .join()
        .unwrap()
    });
    assert_eq!(outputs, (0..10).collect::<Vec<_>>());
    assert_eq!(ran.load(Ordering::SeqCst), 10);
}

#[test]
fn a_task_yielding_forever_does_not_starve_wakes_from_other_threads() {
    let ex = executor();
    let remote_ran = Arc::new(AtomicBool::new(false));
    let yields = ex.block_on(async {
        // Always ready: it keeps the core thread's own queue non-empty.
        let seen = remote_ran.clone();
        let yielder = ex.spawn(SpawnOptions::new(), async move {
            let mut n = 0u64;
            while !seen.load(Ordering::SeqCst) {
                assert!(n < 10_000_000, "the remote task never ran: starved");
                yield_now().await;
                n += 1;
            }
            n
        });
        // Spawned from another thread: into the shared queue.
        let (ex2, flag) = (ex.clone(), remote_ran.clone());
        let remote = std::thread::spawn(move || {
            ex2.spawn(SpawnOptions::new(), async move {
                flag.store(true, Ordering::SeqCst);
            })
        })
        .join()
        .unwrap();
        remote.await.unwrap();
        yielder.await.unwrap()
    });
    assert!(remote_ran.load(Ordering::SeqCst));
    assert!(yields < 10_000_000);
}
