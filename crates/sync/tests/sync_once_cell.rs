//! OnceCell: one initializer runs, others wait; failures and cancellation
//! let the next caller try; set errors.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{on_threads, Polled};
use futures_lite::future::{block_on, yield_now};
use tulipa_sync::{Event, OnceCell, SetError};

#[test]
fn get_or_init_runs_the_initializer_once() {
    let cell = OnceCell::new();
    assert_eq!(cell.get(), None);
    assert!(!cell.is_initialized());
    let runs = AtomicUsize::new(0);
    for _ in 0..3 {
        let v = Polled::new(cell.get_or_init(|| async {
            runs.fetch_add(1, Ordering::SeqCst);
            7
        }))
        .ready();
        assert_eq!(*v, 7);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(format!("{cell:?}"), "OnceCell { value: Some(7) }");
}

#[test]
fn concurrent_callers_wait_for_the_running_initializer() {
    let cell = OnceCell::new();
    let gate = Event::new();
    let mut first = Polled::new(cell.get_or_init(|| async {
        gate.wait().await;
        1
    }));
    let mut second = Polled::new(cell.get_or_init(|| async { 2 }));
    first.pending();
    second.pending();
    gate.set();
    assert_eq!(*first.ready(), 1);
    assert_eq!(second.wakes(), 1);
    assert_eq!(*second.ready(), 1, "the second initializer never ran");
}

#[test]
fn a_cancelled_initializer_lets_the_next_caller_try() {
    let cell = OnceCell::new();
    let mut first = Polled::new(cell.get_or_init(|| async {
        std::future::pending::<()>().await;
        1
    }));
    let mut second = Polled::new(cell.get_or_init(|| async { 2 }));
    first.pending();
    second.pending();
    drop(first);
    assert_eq!(second.wakes(), 1);
    assert_eq!(*second.ready(), 2);
}

#[test]
fn a_failed_initializer_leaves_the_cell_empty_for_the_next() {
    let cell = OnceCell::new();
    let gate = Event::new();
    let mut failing = Polled::new(cell.get_or_try_init(|| async {
        gate.wait().await;
        Err::<u8, &str>("boom")
    }));
    let mut next = Polled::new(cell.get_or_try_init(|| async { Ok::<u8, &str>(3) }));
    failing.pending();
    next.pending();
    gate.set();
    assert_eq!(failing.ready(), Err("boom"));
    assert_eq!(next.ready(), Ok(&3));
    assert_eq!(
        Polled::new(cell.get_or_try_init(|| async { Err::<u8, &str>("unused") })).ready(),
        Ok(&3)
    );
}

#[test]
fn set_fills_an_empty_cell_and_hands_the_value_back_otherwise() {
    let cell = OnceCell::new();
    cell.set(1).unwrap();
    match cell.set(2) {
        Err(SetError::AlreadyInitialized(v)) => assert_eq!(v, 2),
        other => panic!("expected AlreadyInitialized, got {other:?}"),
    }
    let busy = OnceCell::new();
    let mut init = Polled::new(busy.get_or_init(|| async {
        std::future::pending::<()>().await;
        0
    }));
    init.pending();
    let err = busy.set(5).unwrap_err();
    assert_eq!(format!("{err:?}"), "Initializing(..)");
    assert!(err.to_string().starts_with("an initializer is running"));
    assert_eq!(err.into_inner(), 5);
    drop(init);
    busy.set(6).unwrap();
    assert_eq!(busy.get(), Some(&6));
    assert!(SetError::AlreadyInitialized(1)
        .to_string()
        .starts_with("the cell is already initialized"));
}

#[test]
fn with_value_take_into_inner_default_from() {
    let mut cell = OnceCell::with_value(String::from("a"));
    assert_eq!(cell.take().as_deref(), Some("a"));
    assert_eq!(cell.take(), None);
    assert_eq!(OnceCell::from(3).into_inner(), Some(3));
    assert_eq!(OnceCell::<u8>::default().into_inner(), None);
}

#[test]
fn threads_race_to_initialize_and_one_wins() {
    let cell = Arc::new(OnceCell::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let (c, r) = (cell.clone(), runs.clone());
    let seen = on_threads(4, move |t| {
        block_on(async {
            *c.get_or_init(|| async {
                r.fetch_add(1, Ordering::SeqCst);
                yield_now().await;
                t
            })
            .await
        })
    });
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(seen.iter().all(|&v| v == seen[0]));
}
