//! TaskGroup and TaskScope on both runtime flavours, on virtual time:
//! results in spawn order, cancel-on-first-failure (counting tasks that
//! completed vs were cancelled), drop semantics, spawning while joining,
//! names, and borrowing scopes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulipa::task::{GroupError, GroupSpawner, TaskGroup, TaskScope};
use tulipa::time::{self, sleep};
use tulipa::Runtime;

fn paused() -> Vec<Runtime> {
    vec![
        Runtime::builder()
            .current_thread()
            .start_paused(true)
            .build()
            .unwrap(),
        Runtime::builder()
            .worker_threads(2)
            .start_paused(true)
            .build()
            .unwrap(),
    ]
}

/// Counts tasks that ran to the end and futures that were dropped.
#[derive(Clone, Default)]
struct Tally {
    completed: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

struct OnDrop(Arc<AtomicUsize>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Tally {
    /// A task body: sleeps `secs` virtual seconds, then counts itself
    /// complete; its drop is counted either way.
    fn sleeper(&self, secs: u64, value: u64) -> impl std::future::Future<Output = u64> + Send {
        let completed = self.completed.clone();
        let guard = OnDrop(self.dropped.clone());
        async move {
            let _guard = guard;
            sleep(Duration::from_secs(secs)).await;
            completed.fetch_add(1, Ordering::SeqCst);
            value
        }
    }
    fn completed(&self) -> usize {
        self.completed.load(Ordering::SeqCst)
    }
    fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

#[test]
fn join_returns_outputs_in_spawn_order() {
    for rt in paused() {
        let t = Tally::default();
        let out = rt.block_on(async {
            let mut group = TaskGroup::new();
            for (i, secs) in [50u64, 10, 40, 20, 30].into_iter().enumerate() {
                group.spawn(t.sleeper(secs, i as u64));
            }
            assert_eq!(group.len(), 5);
            group.join().await.unwrap()
        });
        assert_eq!(out, [0, 1, 2, 3, 4]);
        assert_eq!((t.completed(), t.dropped()), (5, 5));
    }
}

#[test]
fn an_empty_group_joins_at_once() {
    for rt in paused() {
        let out = rt.block_on(TaskGroup::<u8>::new().join());
        assert!(out.unwrap().is_empty());
    }
}

#[test]
fn the_first_panic_cancels_the_rest_and_join_waits_for_them() {
    for rt in paused() {
        let t = Tally::default();
        let t2 = t.clone();
        rt.block_on(async move {
            let mut group = TaskGroup::new();
            for i in 0..8 {
                group.spawn(t2.sleeper(100, i));
            }
            group.spawn(t2.sleeper(1, 99));
            let boom = group.spawn(async {
                sleep(Duration::from_secs(5)).await;
                panic!("task fails")
            });
            let err = group.join().await.unwrap_err();
            assert!(err.is_panic());
            assert_eq!(err.id(), boom);
            // join waited: every cancelled task's future is already dropped.
            assert_eq!(t2.completed(), 1, "only the 1 s task finished");
            assert_eq!(t2.dropped(), 9);
        });
        assert_eq!(t.completed(), 1);
    }
}

#[test]
fn try_join_cancels_the_rest_on_the_first_err() {
    for rt in paused() {
        let t = Tally::default();
        let out = rt.block_on(async {
            let mut group = TaskGroup::new();
            for i in 0..5 {
                let body = t.sleeper(10 + i, i);
                group.spawn(async move { Ok::<_, String>(body.await) });
            }
            group.spawn(async {
                sleep(Duration::from_millis(11_500)).await;
                Err("bad input".to_string())
            });
            group.try_join().await
        });
        match out {
            Err(GroupError::Failed(e)) => assert_eq!(e, "bad input"),
            other => panic!("expected the task's error, got {other:?}"),
        }
        // 10 s and 11 s finished before the failure at 11.5 s; 3 were cancelled.
        assert_eq!((t.completed(), t.dropped()), (2, 5));
    }
}

#[test]
fn try_join_all_ok() {
    for rt in paused() {
        let out = rt.block_on(async {
            let mut group = TaskGroup::new();
            for i in 0..4u32 {
                group.spawn(async move { Ok::<_, ()>(i) });
            }
            group.try_join().await
        });
        assert_eq!(out.unwrap(), [0, 1, 2, 3]);
    }
}

#[test]
fn dropping_the_group_cancels_every_task() {
    for rt in paused() {
        let t = Tally::default();
        rt.block_on(async {
            let mut group = TaskGroup::new();
            for i in 0..10 {
                group.spawn(t.sleeper(10, i));
            }
            time::advance(Duration::from_secs(1)).await;
            drop(group);
            sleep(Duration::from_secs(60)).await;
        });
        assert_eq!((t.completed(), t.dropped()), (0, 10));
    }
}

#[test]
fn dropping_a_join_cancels_the_tasks() {
    for rt in paused() {
        let t = Tally::default();
        rt.block_on(async {
            let mut group = TaskGroup::new();
            group.spawn(t.sleeper(1, 0));
            for i in 1..6 {
                group.spawn(t.sleeper(100, i));
            }
            let r = time::timeout(Duration::from_secs(10), group.join()).await;
            assert!(r.is_err());
            sleep(Duration::from_secs(200)).await;
        });
        assert_eq!((t.completed(), t.dropped()), (1, 6));
    }
}

#[test]
fn tasks_spawn_into_the_group_while_it_joins() {
    for rt in paused() {
        let out = rt.block_on(async {
            let mut group: TaskGroup<u32> = TaskGroup::new();
            let spawner = group.spawner();
            group.spawn(async move {
                sleep(Duration::from_secs(1)).await;
                for i in 1..=3 {
                    spawner
                        .spawn(async move {
                            sleep(Duration::from_secs(i as u64)).await;
                            i * 10
                        })
                        .unwrap();
                }
                0
            });
            let late = group.spawner();
            let out = group.join().await.unwrap();
            assert!(!late.is_open());
            let refused = late.spawn(async { 99 });
            assert!(refused.is_err(), "a joined group refuses tasks");
            let fut = refused.unwrap_err().0;
            assert_eq!(fut.await, 99, "the future is handed back");
            out
        });
        assert_eq!(out, [0, 10, 20, 30]);
    }
}

#[test]
fn cancel_all_fails_the_join_with_a_cancellation() {
    for rt in paused() {
        let t = Tally::default();
        rt.block_on(async {
            let mut group = TaskGroup::new();
            for i in 0..4 {
                group.spawn(t.sleeper(10, i));
            }
            group.cancel_all();
            let err = group.join().await.unwrap_err();
            assert!(err.is_cancelled());
        });
        assert_eq!((t.completed(), t.dropped()), (0, 4));
    }
}

#[test]
fn named_tasks_know_who_they_are() {
    for rt in paused() {
        let names = rt.block_on(async {
            let mut group = TaskGroup::new();
            for n in ["fetch", "parse"] {
                group.spawn_named(n, async {
                    let me = tulipa::task::current().expect("inside a task");
                    assert_eq!(me.id(), tulipa::task::current_id().unwrap());
                    me.name().map(str::to_owned)
                });
            }
            group.join().await.unwrap()
        });
        assert_eq!(names, [Some("fetch".into()), Some("parse".into())]);
    }
}

#[test]
fn a_scope_runs_borrowing_futures_in_the_calling_task() {
    for rt in paused() {
        rt.block_on(async {
            let hits = AtomicUsize::new(0);
            let words = ["a".to_string(), "bcd".to_string(), "ef".to_string()];
            let mut scope = TaskScope::new();
            for (i, w) in words.iter().enumerate() {
                let hits = &hits;
                scope.spawn(async move {
                    sleep(Duration::from_secs(3 - i as u64)).await;
                    hits.fetch_add(1, Ordering::SeqCst);
                    w.len()
                });
            }
            assert_eq!(scope.len(), 3);
            assert_eq!(scope.join().await, [1, 3, 2]);
            assert_eq!(hits.load(Ordering::SeqCst), 3);
        });
    }
}

#[test]
fn a_scope_drops_the_rest_on_the_first_err() {
    for rt in paused() {
        let t = Tally::default();
        rt.block_on(async {
            let mut scope = TaskScope::new();
            for i in 0..4 {
                let body = t.sleeper(10, i);
                scope.spawn(async move { Ok(body.await) });
            }
            scope.spawn(async {
                sleep(Duration::from_secs(1)).await;
                Err("stop")
            });
            assert_eq!(scope.try_join().await, Err("stop"));
        });
        assert_eq!((t.completed(), t.dropped()), (0, 4));
    }
}

#[test]
fn group_types_are_send_and_sync() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<TaskGroup<u8>>();
    // Not Sync: it buffers task results, and a JoinError's panic payload is
    // Send only. Nothing needs it: the group is used through `&mut`.
    send::<GroupSpawner<u8>>();
    sync::<GroupSpawner<u8>>();
    send::<TaskScope<'static, u8>>();
    send::<GroupError<String>>();
    fn join_is_send(g: TaskGroup<u8>) -> impl Send {
        g.join()
    }
    let _ = join_is_send;
}
