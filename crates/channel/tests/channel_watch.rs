//! The watch channel: latest value, `changed`, `send_modify`, subscribing,
//! closing on both sides, `wait_for` and threads.

mod common;

use std::task::Poll;
use std::thread;

use common::{counting_waker, poll_boxed};
use futures_lite::future::block_on;
use tulipa_channel::watch::{channel, RecvError};
use tulipa_channel::SendError;

#[test]
fn borrow_sees_the_latest_value() {
    let (tx, rx) = channel(1);
    assert_eq!(*rx.borrow(), 1);
    tx.send(2).unwrap();
    tx.send(3).unwrap();
    assert_eq!(*rx.borrow(), 3);
    assert_eq!(*tx.borrow(), 3);
}

#[test]
fn changed_reports_each_new_version_once() {
    let (tx, mut rx) = channel(0);
    assert_eq!(rx.has_changed(), Ok(false));
    tx.send(1).unwrap();
    assert_eq!(rx.has_changed(), Ok(true));
    block_on(rx.changed()).unwrap();
    assert_eq!(rx.has_changed(), Ok(false));
    tx.send_modify(|v| *v += 10);
    assert_eq!(*rx.borrow_and_update(), 11);
    assert_eq!(rx.has_changed(), Ok(false));
    tx.send(12).unwrap();
    rx.mark_unchanged();
    assert_eq!(rx.has_changed(), Ok(false));
}

#[test]
fn changed_waits_and_is_woken() {
    let (tx, mut rx) = channel("a");
    let (counter, waker) = counting_waker();
    let mut changed = Box::pin(rx.changed());
    assert!(poll_boxed(&mut changed, &waker).is_pending());
    tx.send("b").unwrap();
    assert_eq!(counter.count(), 1);
    assert_eq!(poll_boxed(&mut changed, &waker), Poll::Ready(Ok(())));
    drop(changed);
    assert_eq!(*rx.borrow(), "b");
}

#[test]
fn sender_drop_ends_changed_after_the_last_change() {
    let (tx, mut rx) = channel(0);
    let tx2 = tx.clone();
    assert_eq!(tx.sender_count(), 2);
    tx.send(1).unwrap();
    drop(tx);
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(
        block_on(rx.changed()),
        Ok(()),
        "the last change is still seen"
    );
    assert_eq!(block_on(rx.changed()), Err(RecvError));
    assert_eq!(rx.has_changed(), Err(RecvError));
    assert_eq!(*rx.borrow(), 1, "the last value stays readable");
}

#[test]
fn a_waiting_changed_wakes_when_the_sender_drops() {
    let (tx, mut rx) = channel(());
    let (counter, waker) = counting_waker();
    let mut changed = Box::pin(rx.changed());
    assert!(poll_boxed(&mut changed, &waker).is_pending());
    drop(tx);
    assert_eq!(counter.count(), 1);
    assert_eq!(
        poll_boxed(&mut changed, &waker),
        Poll::Ready(Err(RecvError))
    );
}

#[test]
fn send_without_receivers_fails_but_send_replace_stores() {
    let (tx, rx) = channel(1);
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(*tx.borrow(), 1);
    assert_eq!(tx.send_replace(3), 1);
    assert_eq!(*tx.borrow(), 3);
    let rx = tx.subscribe();
    assert_eq!(
        rx.has_changed(),
        Ok(false),
        "a new subscriber has seen the value"
    );
    assert_eq!(tx.receiver_count(), 1);
}

#[test]
fn closed_completes_when_every_receiver_is_gone() {
    let (tx, rx) = channel(0);
    let rx2 = rx.clone();
    assert!(rx.same_channel(&rx2));
    let (counter, waker) = counting_waker();
    let mut closed = Box::pin(tx.closed());
    assert!(poll_boxed(&mut closed, &waker).is_pending());
    drop(rx);
    assert_eq!(counter.count(), 0);
    drop(rx2);
    assert_eq!(counter.count(), 1);
    assert_eq!(poll_boxed(&mut closed, &waker), Poll::Ready(()));
}

#[test]
fn wait_for_returns_the_first_value_matching() {
    let (tx, mut rx) = channel(0);
    let t = thread::spawn(move || {
        for i in 1..=10 {
            tx.send(i).unwrap_or_else(|_| panic!("receiver gone"));
        }
        tx
    });
    let got = *block_on(rx.wait_for(|v| *v >= 10)).unwrap();
    assert_eq!(got, 10);
    let tx = t.join().unwrap();
    drop(tx);
    assert_eq!(
        block_on(rx.wait_for(|v| *v > 100)).map(|r| *r),
        Err(RecvError)
    );
}

#[test]
fn a_thread_sees_the_final_value() {
    let (tx, mut rx) = channel(0u32);
    let t = thread::spawn(move || {
        let mut last = 0;
        while block_on(rx.changed()).is_ok() {
            let v = *rx.borrow_and_update();
            assert!(v >= last, "values went backwards");
            last = v;
        }
        last
    });
    for i in 1..=1_000 {
        tx.send_replace(i);
    }
    drop(tx);
    assert_eq!(t.join().unwrap(), 1_000);
}

#[test]
fn errors_and_debug() {
    assert!(RecvError
        .to_string()
        .starts_with("watching a closed channel"));
    struct NoDebug;
    let (tx, rx) = channel(NoDebug);
    assert!(format!("{tx:?} {rx:?}").contains("watch::Receiver"));
    let (_tx, rx) = channel(5);
    assert_eq!(format!("{:?}", rx.borrow()), "5");
}
