//! TaskGroup and TaskScope on both runtime flavours, on virtual time:
//! results in spawn order, cancel-on-first-failure (counting tasks that
//! completed vs were cancelled), a group error with every failure, child
//! handles that cancel one task (not a failure), `len` counting unfinished
//! tasks, `join_next`, drop semantics, spawning while joining, names, and
//! borrowing scopes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulipa::task::{ChildTask, GroupError, GroupSpawner, TaskFailure, TaskGroup, TaskScope};
use tulipa::time::{self, sleep};

mod common;
use common::paused;

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
            assert_eq!(err.failures().len(), 1, "cancelled tasks are not failures");
            match err.first() {
                TaskFailure::Panicked(j) => {
                    assert!(j.is_panic());
                    assert_eq!(j.id(), boom.id());
                }
                other => panic!("expected the panic, got {other:?}"),
            }
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
        let err = out.unwrap_err();
        assert_eq!(err.failures().len(), 1);
        match err.into_first() {
            TaskFailure::Failed { error, .. } => assert_eq!(error, "bad input"),
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
fn cancel_all_cancels_without_failing_the_group() {
    // asyncio: a cancelled child is not a failure. Before issue 13 the
    // first cancellation failed the join.
    for rt in paused() {
        let t = Tally::default();
        rt.block_on(async {
            let mut group = TaskGroup::new();
            group.spawn(t.sleeper(1, 100));
            for i in 0..4 {
                group.spawn(t.sleeper(10, i));
            }
            sleep(Duration::from_secs(2)).await;
            group.cancel_all();
            assert_eq!(
                group.join().await.unwrap(),
                [100],
                "only the finished task's output"
            );
        });
        assert_eq!((t.completed(), t.dropped()), (1, 5));
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
                scope.push(async move {
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
                scope.push(async move { Ok(body.await) });
            }
            scope.push(async {
                sleep(Duration::from_secs(1)).await;
                Err("stop")
            });
            assert_eq!(scope.try_join().await, Err("stop"));
        });
        assert_eq!((t.completed(), t.dropped()), (0, 4));
    }
}

#[test]
#[allow(deprecated)]
fn the_old_scope_spawn_name_still_pushes() {
    for rt in paused() {
        rt.block_on(async {
            let mut scope = TaskScope::new();
            assert_eq!(scope.spawn(async { 1 }), 0);
            assert_eq!(scope.push(async { 2 }), 1);
            assert_eq!(scope.join().await, [1, 2]);
        });
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
    send::<TaskFailure<String>>();
    send::<ChildTask>();
    sync::<ChildTask>();
    fn join_is_send(g: TaskGroup<u8>) -> impl Send {
        g.join()
    }
    let _ = join_is_send;
}

// ---- issue 13: child handles, len, join_next, every failure ----

#[test]
fn spawn_returns_a_handle_that_cancels_that_child_only() {
    for rt in paused() {
        let t = Tally::default();
        rt.block_on(async {
            let mut group = TaskGroup::new();
            let children: Vec<ChildTask> = (0..3).map(|i| group.spawn(t.sleeper(10, i))).collect();
            assert_eq!(children[1].info().id(), children[1].id());
            sleep(Duration::from_secs(1)).await;
            assert!(children[1].cancel(), "a running child can be cancelled");
            sleep(Duration::from_secs(1)).await;
            assert!(children[1].is_finished(), "its future was dropped");
            assert!(!children[0].is_finished());
            assert_eq!(group.len(), 2);
            // Not a failure: the group joins normally, without its output.
            assert_eq!(group.join().await.unwrap(), [0, 2]);
            assert!(
                !children[0].cancel(),
                "a finished child cannot be cancelled"
            );
        });
        assert_eq!((t.completed(), t.dropped()), (2, 3));
    }
}

#[test]
fn a_childs_identity_stays_readable_after_it_ended() {
    for rt in paused() {
        rt.block_on(async {
            let mut group = TaskGroup::new();
            let named = group.spawn_named("short", async { 1 });
            let unnamed = group.spawn(async { 2 });
            let location = line!() - 1;
            assert_eq!(group.join().await.unwrap(), [1, 2]);
            assert!(named.is_finished() && unnamed.is_finished());
            assert!(!named.cancel(), "an ended child cannot be cancelled");
            // Read for the first time after the end (the identity is
            // looked up lazily, from the task the handle keeps).
            assert_eq!(named.info().name(), Some("short"));
            assert_eq!(named.info().id(), named.id());
            let default = format!("Task-{}", unnamed.id());
            assert_eq!(unnamed.info().name(), Some(default.as_str()));
            assert_eq!(unnamed.info().location().line(), location);
            assert_eq!(unnamed.info().location().file(), file!());
            let debug = format!("{unnamed:?}");
            assert!(
                debug.contains(&default) && debug.contains("finished: true"),
                "{debug}"
            );
        });
    }
}

#[test]
fn children_cancelled_at_once_give_no_output() {
    // Whether or not a worker started them already (multi-thread), they
    // are dropped at their first suspension point.
    for rt in paused() {
        let t = Tally::default();
        rt.block_on(async {
            let mut group = TaskGroup::new();
            let child = group.spawn(t.sleeper(10, 1));
            assert!(child.cancel());
            let spawner = group.spawner();
            let late = spawner.spawn(t.sleeper(10, 2)).unwrap();
            assert!(late.cancel());
            assert_eq!(group.join().await.unwrap(), Vec::<u64>::new());
        });
        assert_eq!((t.completed(), t.dropped()), (0, 2));
    }
}

#[test]
fn len_counts_only_unfinished_children() {
    for rt in paused() {
        rt.block_on(async {
            let t = Tally::default();
            let mut group = TaskGroup::new();
            for secs in [1, 2, 3] {
                group.spawn(t.sleeper(secs, secs));
            }
            assert_eq!(group.len(), 3);
            sleep(Duration::from_millis(1500)).await;
            // Before issue 13 this was 3: finished tasks counted until joined.
            assert_eq!(group.len(), 2);
            sleep(Duration::from_secs(1)).await;
            assert_eq!(group.len(), 1);
            assert!(!group.is_empty());
            sleep(Duration::from_secs(1)).await;
            assert!(group.is_empty());
            assert_eq!(group.join().await.unwrap(), [1, 2, 3]);
        });
    }
}

#[test]
fn join_next_returns_results_in_completion_order() {
    for rt in paused() {
        rt.block_on(async {
            let t = Tally::default();
            let mut group = TaskGroup::new();
            for secs in [30, 10, 20] {
                group.spawn(t.sleeper(secs, secs));
            }
            let mut seen = Vec::new();
            while let Some(r) = group.join_next().await {
                seen.push(r.unwrap());
                assert_eq!(group.len(), 3 - seen.len());
            }
            assert_eq!(seen, [10, 20, 30]);
            // The group stays open: more tasks, more results.
            group.spawn(t.sleeper(1, 7));
            assert_eq!(group.join_next().await.unwrap().unwrap(), 7);
            assert!(group.join_next().await.is_none());
            assert!(
                group.join().await.unwrap().is_empty(),
                "join_next took them all"
            );
        });
    }
}

#[test]
fn join_next_after_a_panic_gets_the_cancelled_rest() {
    for rt in paused() {
        let t = Tally::default();
        rt.block_on(async {
            let mut group = TaskGroup::new();
            for i in 0..3 {
                group.spawn(t.sleeper(100, i));
            }
            let boom = group.spawn(async {
                sleep(Duration::from_secs(1)).await;
                panic!("child fails")
            });
            let first = group.join_next().await.unwrap().unwrap_err();
            assert!(first.is_panic());
            assert_eq!(first.id(), boom.id());
            assert!(!group.spawner().is_open(), "the failure closed the group");
            let mut cancelled = 0;
            while let Some(r) = group.join_next().await {
                assert!(r.unwrap_err().is_cancelled());
                cancelled += 1;
            }
            assert_eq!(cancelled, 3);
        });
        assert_eq!((t.completed(), t.dropped()), (0, 3));
    }
}

#[test]
fn the_group_error_carries_every_failure() {
    for rt in paused() {
        let t = Tally::default();
        rt.block_on(async {
            let mut group: TaskGroup<Result<u64, String>> = TaskGroup::new();
            let bad = group.spawn(async {
                sleep(Duration::from_secs(1)).await;
                Err("bad input".to_string())
            });
            let boom = group.spawn(async {
                sleep(Duration::from_secs(2)).await;
                panic!("child fails")
            });
            let body = t.sleeper(100, 0);
            group.spawn(async move { Ok(body.await) });
            // Both fail before the group is joined, so both are collected;
            // the sleeper is cancelled and is not a failure.
            for _ in 0..10 {
                if bad.is_finished() && boom.is_finished() {
                    break;
                }
                sleep(Duration::from_secs(1)).await;
            }
            let err = group.try_join().await.unwrap_err();
            let ids: Vec<_> = err.failures().iter().map(TaskFailure::id).collect();
            assert_eq!(
                ids,
                [bad.id(), boom.id()],
                "before issue 13 only the first came back"
            );
            assert!(
                matches!(err.first(), TaskFailure::Failed { error, .. } if error == "bad input")
            );
            assert!(matches!(&err.failures()[1], TaskFailure::Panicked(j) if j.is_panic()));
            let text = err.to_string();
            assert!(
                text.starts_with("2 tasks of the group failed; the first: "),
                "{text}"
            );
            assert!(text.contains("bad input"), "{text}");
            assert_eq!(err.into_iter().count(), 2);
        });
        assert_eq!((t.completed(), t.dropped()), (0, 1));
    }
}

#[test]
fn join_reports_every_panic_as_a_group_error() {
    for rt in paused() {
        rt.block_on(async {
            let mut group = TaskGroup::new();
            let a = group.spawn(async {
                sleep(Duration::from_secs(1)).await;
                panic!("first")
            });
            let b = group.spawn(async {
                sleep(Duration::from_secs(1)).await;
                panic!("second")
            });
            for _ in 0..10 {
                if a.is_finished() && b.is_finished() {
                    break;
                }
                sleep(Duration::from_secs(1)).await;
            }
            let err: GroupError = group.join().await.unwrap_err();
            let mut ids: Vec<_> = err.failures().iter().map(TaskFailure::id).collect();
            ids.sort();
            let mut want = [a.id(), b.id()];
            want.sort();
            assert_eq!(ids, want);
            let io: std::io::Error = err.into();
            assert!(
                io.to_string().starts_with("2 tasks of the group failed"),
                "{io}"
            );
        });
    }
}
