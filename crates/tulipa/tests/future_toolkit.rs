//! The facade's task toolkit on both runtime flavours, on virtual time:
//! gather and as_completed over tasks, wait with a timeout, shield, select,
//! and task-locals across a runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::StreamExt;
use tulipa::future::{as_completed, gather, select, shield, try_gather, wait, WaitMode};
use tulipa::task::TaskGroup;
use tulipa::time::{self, sleep, Instant};

mod common;
use common::paused;

fn sleeper(secs: u64) -> tulipa::JoinHandle<u64> {
    tulipa::spawn(async move {
        sleep(Duration::from_secs(secs)).await;
        secs
    })
}

#[test]
fn gather_of_tasks_keeps_order_and_runs_them_concurrently() {
    for rt in paused() {
        rt.block_on(async {
            let start = Instant::now();
            let out = gather([30, 10, 20].map(sleeper)).await;
            let out: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
            assert_eq!(out, [30, 10, 20]);
            assert_eq!(
                start.elapsed(),
                Duration::from_secs(30),
                "concurrent, not 60 s"
            );
        });
    }
}

#[test]
fn gather_macro_over_mixed_futures() {
    for rt in paused() {
        rt.block_on(async {
            let (a, b) = tulipa::gather!(sleeper(2), async {
                sleep(Duration::from_secs(1)).await;
                "b"
            })
            .await;
            assert_eq!((a.unwrap(), b), (2, "b"));
        });
    }
}

#[test]
fn try_gather_over_tasks_returns_the_first_join_error() {
    for rt in paused() {
        rt.block_on(async {
            let boom = tulipa::spawn(async {
                sleep(Duration::from_secs(1)).await;
                panic!("boom")
            });
            let slow = sleeper(100);
            let slow_id = slow.id();
            let err = try_gather([sleeper(2), boom, slow]).await.unwrap_err();
            assert!(err.is_panic());
            // A dropped JoinHandle detaches: the slow task still runs.
            assert!(rt_has_task(slow_id));
        });
    }
}

fn rt_has_task(id: tulipa::task::TaskId) -> bool {
    tulipa::Handle::current()
        .tasks()
        .iter()
        .any(|t| t.id() == id)
}

#[test]
fn as_completed_over_tasks_in_finishing_order() {
    for rt in paused() {
        rt.block_on(async {
            let order: Vec<_> = as_completed([40, 10, 30, 20].map(sleeper))
                .indexed()
                .map(|(i, r)| (i, r.unwrap()))
                .collect()
                .await;
            assert_eq!(order, [(1, 10), (3, 20), (2, 30), (0, 40)]);
        });
    }
}

#[test]
fn wait_with_a_timeout_returns_what_finished_and_leaves_the_rest_running() {
    for rt in paused() {
        rt.block_on(async {
            let start = Instant::now();
            let out = wait(
                [5, 50, 1, 60].map(sleeper),
                WaitMode::AllCompleted,
                Some(Duration::from_secs(10)),
            )
            .await;
            assert_eq!(start.elapsed(), Duration::from_secs(10));
            let mut done: Vec<_> = out.done.into_iter().map(|(i, r)| (i, r.unwrap())).collect();
            done.sort();
            assert_eq!(done, [(0, 5), (2, 1)]);
            let pending: Vec<usize> = out.pending.iter().map(|(i, _)| *i).collect();
            assert_eq!(pending, [1, 3]);
            // Not cancelled: they finish when awaited.
            for (_, h) in out.pending {
                assert!(h.await.unwrap() >= 50);
            }
        });
    }
}

#[test]
fn wait_first_completed_and_first_exception() {
    for rt in paused() {
        rt.block_on(async {
            let out = wait([30, 10, 20].map(sleeper), WaitMode::FirstCompleted, None).await;
            assert_eq!(out.done.len(), 1);
            assert_eq!(out.done[0].0, 1);
            assert_eq!(out.pending.len(), 2);

            let fails = tulipa::spawn(async {
                sleep(Duration::from_secs(3)).await;
                panic!("fails")
            });
            let start = Instant::now();
            let out = wait(
                vec![sleeper(1), fails, sleeper(100)],
                WaitMode::FirstException,
                None,
            )
            .await;
            assert_eq!(start.elapsed(), Duration::from_secs(3));
            assert_eq!(out.done.len(), 2);
            assert!(out
                .done
                .iter()
                .any(|(i, r)| *i == 1 && r.as_ref().unwrap_err().is_panic()));
            assert_eq!(out.pending.len(), 1);
            for (_, h) in out.pending {
                h.cancel();
            }
        });
    }
}

#[test]
fn shield_survives_a_timeout_and_a_failing_group() {
    for rt in paused() {
        let finished = Arc::new(AtomicUsize::new(0));
        let f = finished.clone();
        rt.block_on(async move {
            let f2 = f.clone();
            let work = shield(async move {
                sleep(Duration::from_secs(5)).await;
                f2.fetch_add(1, Ordering::SeqCst);
                "committed"
            });
            assert!(time::timeout(Duration::from_secs(1), work).await.is_err());

            // Inside a group task that gets cancelled by a sibling's panic.
            let mut group = TaskGroup::new();
            let f3 = f.clone();
            group.spawn(async move {
                let inner = shield(async move {
                    sleep(Duration::from_secs(5)).await;
                    f3.fetch_add(1, Ordering::SeqCst);
                });
                let _ = inner.await;
            });
            group.spawn(async {
                sleep(Duration::from_secs(1)).await;
                panic!("sibling fails")
            });
            assert!(group.join().await.is_err());
            sleep(Duration::from_secs(10)).await;
            assert_eq!(
                f.load(Ordering::SeqCst),
                2,
                "both shielded futures ran to the end"
            );

            // Awaited, a shield gives the result; into_handle can still cancel.
            assert_eq!(shield(async { 7 }).await.unwrap(), 7);
            let h = shield(sleep(Duration::from_secs(100))).into_handle();
            h.cancel();
            assert!(h.await.unwrap_err().is_cancelled());
        });
        assert_eq!(finished.load(Ordering::SeqCst), 2);
    }
}

#[test]
fn select_over_tasks_picks_the_first_and_drops_the_other_handles() {
    for rt in paused() {
        rt.block_on(async {
            let (out, index) = select([30, 5, 20].map(sleeper)).await;
            assert_eq!((out.unwrap(), index), (5, 1));
        });
    }
}

tulipa::task::task_local! {
    static REQUEST: u32;
}

#[test]
fn task_locals_follow_their_task_across_workers_and_are_not_inherited() {
    for rt in paused() {
        rt.block_on(async {
            let handles: Vec<_> = (0..16u32)
                .map(|i| {
                    tulipa::spawn(REQUEST.scope(i, async move {
                        for _ in 0..5 {
                            sleep(Duration::from_millis(u64::from(i))).await;
                            tulipa::task::yield_now().await;
                            assert_eq!(REQUEST.get(), i);
                        }
                        let child = tulipa::spawn(async { REQUEST.try_get().is_err() });
                        child.await.unwrap()
                    }))
                })
                .collect();
            for h in handles {
                assert!(h.await.unwrap(), "a child task does not inherit the value");
            }
        });
    }
}

#[test]
fn current_is_none_outside_tasks() {
    for rt in paused() {
        rt.block_on(async {
            assert!(tulipa::task::current().is_none());
            let h = tulipa::spawn(async { tulipa::task::current().map(|t| t.id()) });
            let id = h.id();
            assert_eq!(h.await.unwrap(), Some(id));
        });
    }
}
