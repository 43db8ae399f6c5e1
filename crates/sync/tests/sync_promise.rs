//! Promise: set once, cancel, any number of awaiters, done-callbacks
//! exactly once and scheduled on the runtime (both executors), removal of
//! callbacks, result()/exception(), errors as values.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{on_threads, Polled};
use futures_lite::future::block_on;
use tulipa_core::spawn::{BoxFuture, Spawn};
use tulipa_core::ThreadParker;
use tulipa_executor::{yield_now, CurrentThread, JoinHandle, MultiThreadBuilder, SpawnOptions};
use tulipa_sync::{InvalidStateError, Promise, PromiseError};

#[test]
fn set_completes_every_clone_once() {
    let p = Promise::new();
    assert!(!p.is_done());
    assert_eq!(p.try_get(), None);
    assert_eq!(format!("{p:?}"), "Promise { state: \"pending\" }");
    let mut waiting = Polled::new(p.wait());
    let mut by_value = Polled::new(p.clone().into_future_owned());
    waiting.pending();
    by_value.pending();
    p.clone().set(String::from("v")).unwrap();
    assert_eq!(waiting.wakes(), 1);
    assert_eq!(by_value.wakes(), 1);
    assert_eq!(waiting.ready(), Ok(&String::from("v")));
    assert_eq!(by_value.ready(), Ok(String::from("v")));
    assert!(p.is_done() && !p.is_cancelled());
    assert_eq!(p.try_get(), Some(Ok(&String::from("v"))));
    assert_eq!(format!("{p:?}"), "Promise { state: \"set\" }");
}

/// `IntoFuture` by value, spelled out.
trait Owned<T> {
    fn into_future_owned(self) -> tulipa_sync::futures::Value<T>;
}

impl<T: Clone> Owned<T> for Promise<T> {
    fn into_future_owned(self) -> tulipa_sync::futures::Value<T> {
        std::future::IntoFuture::into_future(self)
    }
}

#[test]
fn a_second_set_hands_the_value_back() {
    let p = Promise::new();
    p.set(1).unwrap();
    let err: InvalidStateError<i32> = p.set(2).unwrap_err();
    assert_eq!(err.0, 2);
    assert_eq!(format!("{err:?}"), "InvalidStateError(..)");
    assert!(err.to_string().starts_with("promise already done"));
    assert_eq!(err.into_inner(), 2);
    assert!(!p.cancel(), "cancel after set does nothing");
    assert_eq!(p.try_get(), Some(Ok(&1)));
}

#[test]
fn cancel_fails_awaiters_and_later_sets() {
    let p: Promise<u8> = Promise::new();
    let mut w = Polled::new(p.wait());
    w.pending();
    assert!(p.cancel());
    assert!(!p.cancel());
    assert_eq!(w.ready(), Err(PromiseError::Cancelled));
    assert!(p.is_cancelled() && p.is_done());
    assert_eq!(p.set(3).unwrap_err().0, 3);
    assert_eq!(
        Polled::new(p.clone().into_future_owned()).ready(),
        Err(PromiseError::Cancelled)
    );
    assert!(PromiseError::Cancelled
        .to_string()
        .starts_with("promise cancelled"));
    assert_eq!(format!("{p:?}"), "Promise { state: \"cancelled\" }");
}

#[test]
fn awaiting_a_reference_borrows() {
    let p = Promise::new();
    p.set(vec![1, 2]).unwrap();
    let r: Result<&Vec<i32>, PromiseError> = block_on(async { (&p).await });
    assert_eq!(r.unwrap().len(), 2);
}

#[test]
fn done_callbacks_run_exactly_once_in_order() {
    let p = Promise::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    for i in 0..3 {
        let log = log.clone();
        p.add_done_callback(move |r| log.lock().unwrap().push((i, r.copied())));
    }
    assert!(log.lock().unwrap().is_empty());
    p.set(5).unwrap();
    assert_eq!(*log.lock().unwrap(), [(0, Ok(5)), (1, Ok(5)), (2, Ok(5))]);
    // Already done, no runtime: runs at once.
    let log2 = log.clone();
    p.add_done_callback(move |r| log2.lock().unwrap().push((9, r.copied())));
    assert_eq!(log.lock().unwrap().len(), 4);
    assert!(p.set(6).is_err());
    assert_eq!(log.lock().unwrap().len(), 4, "no callback runs twice");
}

#[test]
fn done_callbacks_run_on_cancel() {
    let p: Promise<u8> = Promise::new();
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    p.add_done_callback(move |r| *s.lock().unwrap() = Some(r.copied()));
    p.cancel();
    assert_eq!(*seen.lock().unwrap(), Some(Err(PromiseError::Cancelled)));
}

#[test]
fn a_callback_may_use_the_promise() {
    let p = Promise::new();
    let again = p.clone();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    p.add_done_callback(move |_| {
        // No lock is held while callbacks run.
        assert!(again.is_done());
        let r2 = r.clone();
        again.add_done_callback(move |_| {
            r2.fetch_add(1, Ordering::SeqCst);
        });
        r.fetch_add(1, Ordering::SeqCst);
    });
    p.set(()).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}

#[test]
fn with_no_runtime_a_panicking_callback_does_not_reach_set_and_the_others_run() {
    let p = Promise::new();
    let ran = Arc::new(AtomicUsize::new(0));
    p.add_done_callback(|_| panic!("first callback"));
    let r = ran.clone();
    p.add_done_callback(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    // No runtime on this thread: the callbacks run inside `set`, but a
    // panic stays there.
    assert!(p.set(1).is_ok());
    assert_eq!(ran.load(Ordering::SeqCst), 1, "the second callback ran");
    assert_eq!(p.try_get(), Some(Ok(&1)), "the value was set");
}

#[test]
fn remove_done_callback_removes_only_a_pending_callback() {
    let p = Promise::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let ids: Vec<_> = (0..3)
        .map(|i| {
            let log = log.clone();
            p.add_done_callback(move |_| log.lock().unwrap().push(i))
        })
        .collect();
    assert!(p.remove_done_callback(ids[1]));
    assert!(!p.remove_done_callback(ids[1]), "already removed");
    p.set(()).unwrap();
    assert_eq!(*log.lock().unwrap(), [0, 2]);
    assert!(
        !p.remove_done_callback(ids[0]),
        "done: nothing left to remove"
    );
    let late = p.add_done_callback(|_| {});
    assert!(!p.remove_done_callback(late), "scheduled at once when done");
}

#[test]
fn result_and_exception_follow_asyncio() {
    let p: Promise<Result<u8, String>> = Promise::new();
    assert_eq!(p.result(), Err(PromiseError::NotDone));
    assert_eq!(p.exception(), Err(PromiseError::NotDone));
    let e = p.result().unwrap_err().to_string();
    assert!(e.starts_with("promise not done yet"), "{e}");
    p.set(Err("bad".into())).unwrap();
    assert_eq!(p.exception(), Ok(Some(&"bad".to_string())));
    assert_eq!(p.result(), Ok(&Err("bad".to_string())));

    let ok: Promise<Result<u8, String>> = Promise::new();
    ok.set(Ok(4)).unwrap();
    assert_eq!(ok.exception(), Ok(None));

    let cancelled: Promise<Result<u8, String>> = Promise::new();
    cancelled.cancel();
    assert_eq!(cancelled.result(), Err(PromiseError::Cancelled));
    assert_eq!(cancelled.exception(), Err(PromiseError::Cancelled));
}

/// A runtime's spawn hook over a tulipa executor; keeps the handles so
/// the test can see how the callback task ended.
struct Spawner {
    spawn: Box<dyn Fn(BoxFuture) -> JoinHandle<()> + Send + Sync>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Spawn for Spawner {
    fn spawn_detached(&self, future: BoxFuture) -> std::io::Result<()> {
        let handle = (self.spawn)(future);
        self.handles.lock().unwrap().push(handle);
        Ok(())
    }
}

impl Spawner {
    fn take(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut *self.handles.lock().unwrap())
    }
}

/// Three callbacks, the middle one panicking, logging the thread they
/// run on.
fn three_callbacks(p: &Promise<u8>) -> Arc<Mutex<Vec<(u8, std::thread::ThreadId)>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    p.add_done_callback(move |r| {
        l.lock()
            .unwrap()
            .push((*r.unwrap(), std::thread::current().id()))
    });
    p.add_done_callback(|_| panic!("a callback panics"));
    let l = log.clone();
    p.add_done_callback(move |r| {
        l.lock()
            .unwrap()
            .push((*r.unwrap() + 1, std::thread::current().id()))
    });
    log
}

#[test]
fn callbacks_are_scheduled_on_the_current_thread_runtime_not_run_inside_set() {
    let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    let ex2 = ex.clone();
    let spawner = Arc::new(Spawner {
        spawn: Box::new(move |f| ex2.spawn(SpawnOptions::new(), f)),
        handles: Mutex::new(Vec::new()),
    });
    let _entered = tulipa_core::spawn::enter(spawner.clone());
    let p = Promise::new();
    let log = three_callbacks(&p);
    let order = Arc::new(Mutex::new(Vec::new()));
    {
        let order = order.clone();
        p.add_done_callback(move |_| order.lock().unwrap().push("callbacks"));
    }
    ex.block_on(async {
        let awaiter = {
            let (p, order) = (p.clone(), order.clone());
            ex.spawn(SpawnOptions::new(), async move {
                p.wait().await.unwrap();
                order.lock().unwrap().push("awaiter");
            })
        };
        yield_now().await; // the awaiter waits
        assert!(p.set(7).is_ok(), "a panicking callback does not reach set");
        assert!(log.lock().unwrap().is_empty(), "nothing ran inside set");
        let handles = spawner.take();
        assert_eq!(handles.len(), 1, "one task runs the callbacks");
        for h in handles {
            let e = h.await.expect_err("the callback task reports the panic");
            assert!(e.is_panic());
        }
        awaiter.await.unwrap();
    });
    let me = std::thread::current().id();
    assert_eq!(
        *log.lock().unwrap(),
        [(7, me), (8, me)],
        "in order, all but the panicking one"
    );
    // The callback task was queued before the awaiter was woken.
    assert_eq!(*order.lock().unwrap(), ["callbacks", "awaiter"]);
}

#[test]
fn callbacks_are_scheduled_on_the_multi_thread_runtime() {
    let ex = MultiThreadBuilder::new()
        .workers(2)
        .build(Arc::new(ThreadParker::new()))
        .expect("cannot start the executor");
    let ex2 = ex.handle();
    let spawner = Arc::new(Spawner {
        spawn: Box::new(move |f| ex2.spawn(SpawnOptions::new(), f)),
        handles: Mutex::new(Vec::new()),
    });
    let _entered = tulipa_core::spawn::enter(spawner.clone());
    let p = Promise::new();
    let log = three_callbacks(&p);
    assert!(p.set(7).is_ok(), "a panicking callback does not reach set");
    let handles = spawner.take();
    assert_eq!(handles.len(), 1);
    tulipa_executor::block_on(&ThreadParker::new(), async {
        for h in handles {
            assert!(h.await.expect_err("the panic is the task's").is_panic());
        }
    });
    let log = log.lock().unwrap();
    assert_eq!(log.iter().map(|e| e.0).collect::<Vec<_>>(), [7, 8]);
    let me = std::thread::current().id();
    assert!(
        log.iter().all(|e| e.1 != me),
        "the callbacks ran on a worker"
    );
    // Already done: a new callback is scheduled too, not run here.
    let (tx, rx) = std::sync::mpsc::channel();
    p.add_done_callback(move |_| tx.send(std::thread::current().id()).unwrap());
    let handles = spawner.take();
    assert_eq!(handles.len(), 1);
    assert_ne!(rx.recv().unwrap(), me);
    drop(handles);
}

#[test]
fn errors_as_values_stand_in_for_set_exception() {
    let p: Promise<Result<u8, String>> = Promise::new();
    p.set(Err("bad input".into())).unwrap();
    let r = block_on(p.wait());
    assert_eq!(r, Ok(&Err(String::from("bad input"))));
}

#[test]
fn many_threads_await_one_promise() {
    let p = Promise::new();
    let p2 = p.clone();
    let setter = std::thread::spawn(move || p2.set(42u32).unwrap());
    let p3 = p.clone();
    let got = on_threads(4, move |_| block_on(async { p3.clone().await }).unwrap());
    setter.join().unwrap();
    assert_eq!(got, [42; 4]);
}

#[test]
fn dropped_awaiters_take_nothing_from_others() {
    let p = Promise::new();
    let mut a = Polled::new(p.wait());
    let mut b = Polled::new(p.wait());
    a.pending();
    b.pending();
    drop(a);
    p.set(1).unwrap();
    assert_eq!(b.ready(), Ok(&1));
}
