//! Promise: set once, cancel, any number of awaiters, done-callbacks
//! exactly once, errors as values.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{on_threads, Polled};
use futures_lite::future::block_on;
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
    // Already done: runs at once.
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
fn a_panicking_callback_does_not_stop_the_others() {
    let p = Promise::new();
    let ran = Arc::new(AtomicUsize::new(0));
    p.add_done_callback(|_| panic!("first callback"));
    let r = ran.clone();
    p.add_done_callback(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let setter = p.clone();
    let result = std::panic::catch_unwind(move || setter.set(1));
    assert!(result.is_err(), "the panic reached set()");
    assert_eq!(ran.load(Ordering::SeqCst), 1, "the second callback ran");
    assert_eq!(p.try_get(), Some(Ok(&1)), "the value was set");
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
