//! Task-local values: scoping, nesting, restoring on panic, isolation
//! between tasks interleaved on one thread, non-inheritance by spawned
//! tasks, destructors seeing the value, on both executor flavours.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_lite::future::block_on;
use tulipa_core::ThreadParker;
use tulipa_executor::{yield_now, CurrentThread, JoinHandle, MultiThreadBuilder, SpawnOptions};
use tulipa_future::task_local;

task_local! {
    static NAME: &'static str;
    /// A number.
    pub(crate) static NUM: u32;
}

task_local!(static LIST: Vec<u32>);

#[test]
fn scope_sets_the_value_for_the_future_only() {
    assert!(NAME.try_get().is_err());
    let seen = block_on(NAME.scope("outer", async {
        yield_now().await;
        NAME.get()
    }));
    assert_eq!(seen, "outer");
    assert!(NAME.try_get().is_err(), "the value is gone after the scope");
}

#[test]
fn nested_scopes_shadow_and_restore() {
    block_on(NUM.scope(1, async {
        assert_eq!(NUM.get(), 1);
        let inner = NUM
            .scope(2, async {
                yield_now().await;
                NUM.get()
            })
            .await;
        assert_eq!(inner, 2);
        assert_eq!(NUM.get(), 1, "the outer value is back");
        let sync = NUM.sync_scope(3, || NUM.sync_scope(4, || NUM.get()) + NUM.get());
        assert_eq!(sync, 7);
        assert_eq!(NUM.get(), 1);
    }));
}

#[test]
fn with_borrows_without_cloning() {
    let len = LIST.sync_scope(vec![1, 2, 3], || LIST.with(|v| v.len()));
    assert_eq!(len, 3);
    assert!(LIST.try_with(|v| v.len()).is_err());
}

#[test]
#[should_panic(expected = "outside any scope")]
fn with_outside_a_scope_panics_with_advice() {
    NUM.with(|_| ());
}

#[test]
fn a_panic_restores_the_previous_value() {
    NUM.sync_scope(10, || {
        let r = std::panic::catch_unwind(|| NUM.sync_scope(11, || panic!("inside")));
        assert!(r.is_err());
        assert_eq!(NUM.get(), 10);
        let r = std::panic::catch_unwind(|| {
            block_on(NUM.scope(12, async {
                yield_now().await;
                panic!("inside a future")
            }))
        });
        assert!(r.is_err());
        assert_eq!(NUM.get(), 10);
    });
    assert!(NUM.try_get().is_err());
}

#[test]
fn interleaved_scopes_on_one_thread_do_not_see_each_other() {
    // Two scoped futures polled alternately by one task.
    let a = NUM.scope(1, async {
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(NUM.get());
            yield_now().await;
        }
        seen
    });
    let b = NUM.scope(2, async {
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(NUM.get());
            yield_now().await;
        }
        seen
    });
    let (sa, sb) = block_on(futures_lite::future::zip(a, b));
    assert_eq!(sa, [1, 1, 1]);
    assert_eq!(sb, [2, 2, 2]);
}

struct ReadsOnDrop(Arc<std::sync::Mutex<Option<u32>>>);

impl Drop for ReadsOnDrop {
    fn drop(&mut self) {
        *self.0.lock().unwrap() = NUM.try_get().ok();
    }
}

#[test]
fn dropping_a_scope_drops_its_future_inside_the_scope() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let guard = ReadsOnDrop(seen.clone());
    let fut = NUM.scope(42, async move {
        let _g = guard;
        std::future::pending::<()>().await;
    });
    let mut fut = Box::pin(fut);
    assert!(futures_lite::future::block_on(futures_lite::future::poll_once(&mut fut)).is_none());
    drop(fut);
    assert_eq!(*seen.lock().unwrap(), Some(42));
}

type Spawner = Arc<
    dyn Fn(Pin<Box<dyn Future<Output = Option<u32>> + Send>>) -> JoinHandle<Option<u32>>
        + Send
        + Sync,
>;

/// The test body: a scoped task that spawns children through `spawn`.
fn scoped_body(spawn: Spawner) -> impl Future<Output = ()> + Send {
    NUM.scope(5, async move {
        // A child spawned from inside the scope sees nothing...
        let child = spawn(Box::pin(async { NUM.try_get().ok() }));
        assert_eq!(child.await.unwrap(), None);
        // ...unless the value is passed in explicitly.
        let v = NUM.get();
        let child = spawn(Box::pin(NUM.scope(v, async { Some(NUM.get()) })));
        assert_eq!(child.await.unwrap(), Some(5));
        // The value survives suspension points (and moves between workers
        // on the multi-thread executor).
        for _ in 0..20 {
            yield_now().await;
            assert_eq!(NUM.get(), 5);
        }
    })
}

#[test]
fn spawned_tasks_do_not_inherit_and_values_follow_their_task() {
    let current = Arc::new(CurrentThread::new(Arc::new(ThreadParker::new())));
    let c = current.clone();
    let spawn: Spawner = Arc::new(move |f| c.spawn(SpawnOptions::new(), f));
    let h = current.spawn(SpawnOptions::new(), scoped_body(spawn));
    current.block_on(h).unwrap();

    let multi = Arc::new(
        MultiThreadBuilder::new()
            .workers(2)
            .build(Arc::new(ThreadParker::new()))
            .unwrap(),
    );
    let m = multi.clone();
    let spawn: Spawner = Arc::new(move |f| m.spawn(SpawnOptions::new(), f));
    let h = multi.spawn(SpawnOptions::new(), scoped_body(spawn));
    tulipa_executor::block_on(&ThreadParker::new(), h).unwrap();
    multi.shutdown(None);
}

#[test]
fn tasks_on_one_worker_keep_their_own_values() {
    let multi = MultiThreadBuilder::new()
        .workers(2)
        .build(Arc::new(ThreadParker::new()))
        .unwrap();
    let handles: Vec<_> = (0..32u32)
        .map(|i| {
            multi.spawn(
                SpawnOptions::new(),
                NUM.scope(i, async move {
                    let mut ok = true;
                    for _ in 0..10 {
                        yield_now().await;
                        ok &= NUM.get() == i;
                    }
                    ok
                }),
            )
        })
        .collect();
    for h in handles {
        assert!(tulipa_executor::block_on(&ThreadParker::new(), h).unwrap());
    }
    multi.shutdown(None);
}

#[test]
fn scope_inside_with_on_the_same_key_panics() {
    thread_local!(static HIT: Cell<bool> = const { Cell::new(false) });
    let r = std::panic::catch_unwind(|| {
        NUM.sync_scope(1, || {
            NUM.with(|_| {
                HIT.with(|h| h.set(true));
                NUM.sync_scope(2, || ());
            })
        })
    });
    assert!(HIT.with(Cell::get));
    assert!(r.is_err());
}
