//! The oneshot channel: send, receive, drops on either side, `closed`,
//! `try_recv`, cancellation and threads.

mod common;

use std::task::Poll;
use std::thread;

use common::{counting_waker, poll, poll_boxed};
use futures_lite::future::block_on;
use tulipa_channel::oneshot::channel;
use tulipa_channel::{RecvError, SendError, TryRecvError};

#[test]
fn send_then_await() {
    let (tx, rx) = channel();
    assert!(!tx.is_closed());
    tx.send("v").unwrap();
    assert_eq!(block_on(rx), Ok("v"));
}

#[test]
fn await_then_send_wakes_the_receiver() {
    let (tx, mut rx) = channel();
    let (counter, waker) = counting_waker();
    assert!(poll(&mut rx, &waker).is_pending());
    tx.send(1).unwrap();
    assert!(counter.count() >= 1);
    assert_eq!(poll(&mut rx, &waker), Poll::Ready(Ok(1)));
}

#[test]
fn sender_drop_without_send_wakes_with_error() {
    let (tx, mut rx) = channel::<u8>();
    let (counter, waker) = counting_waker();
    assert!(poll(&mut rx, &waker).is_pending());
    drop(tx);
    assert!(counter.count() >= 1);
    assert_eq!(poll(&mut rx, &waker), Poll::Ready(Err(RecvError)));
}

#[test]
fn send_to_a_dropped_receiver_hands_the_value_back() {
    let (tx, rx) = channel();
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(vec![1, 2]), Err(SendError(vec![1, 2])));
}

#[test]
fn receiver_close_refuses_later_sends_but_keeps_an_earlier_value() {
    let (tx, mut rx) = channel();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(1), Err(SendError(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    let (tx, mut rx) = channel();
    tx.send(2).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(2));

    // Closed with the sender still alive: nothing can come any more.
    let (tx, mut rx) = channel::<u8>();
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(block_on(&mut rx), Err(RecvError));
    drop(tx);
}

#[test]
fn try_recv_states() {
    let (tx, rx) = channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(5).unwrap();
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    let (tx, rx) = channel::<u8>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn closed_completes_when_the_receiver_goes() {
    let (tx, rx) = channel::<u8>();
    let (counter, waker) = counting_waker();
    let mut closed = Box::pin(tx.closed());
    assert!(poll_boxed(&mut closed, &waker).is_pending());
    drop(rx);
    assert!(counter.count() >= 1);
    assert_eq!(poll_boxed(&mut closed, &waker), Poll::Ready(()));
    drop(closed);
    // Already closed: completes at once.
    block_on(tx.closed());
}

#[test]
fn a_cancelled_await_leaves_the_value() {
    let (tx, mut rx) = channel();
    let (_, waker) = counting_waker();
    assert!(poll(&mut rx, &waker).is_pending());
    tx.send(3).unwrap();
    // The receiver's pending await is abandoned; the value stays.
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn blocking_receive_across_threads() {
    for i in 0..200 {
        let (tx, rx) = channel();
        let t = thread::spawn(move || tx.send(i));
        assert_eq!(rx.recv_blocking(), Ok(i));
        t.join().unwrap().unwrap();
    }
    let (tx, rx) = channel::<u8>();
    let t = thread::spawn(move || drop(tx));
    assert_eq!(rx.recv_blocking(), Err(RecvError));
    t.join().unwrap();
}

#[test]
fn send_races_receiver_drop_without_losing_the_value() {
    // Either the send succeeds (and the receiver had the chance to take
    // it) or the value comes back: it is never silently lost while the
    // receiver is alive to take it.
    for _ in 0..200 {
        let (tx, rx) = channel();
        let t = thread::spawn(move || rx.try_recv().ok());
        let sent = tx.send(9);
        let received = t.join().unwrap();
        match (sent, received) {
            (Ok(()), Some(9)) | (Ok(()), None) | (Err(SendError(9)), None) => {}
            other => panic!("impossible outcome {other:?}"),
        }
    }
}

#[test]
fn debug_needs_no_debug_bound() {
    struct NoDebug;
    let (tx, rx) = channel::<NoDebug>();
    assert!(format!("{tx:?}").contains("closed: false"));
    assert!(format!("{rx:?}").starts_with("oneshot::Receiver"));
    assert!(format!("{:?}", tx.closed()).starts_with("oneshot::Closed"));
}

/// Counts its drops in a shared counter.
struct DropCount(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn drops() -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    std::sync::Arc::default()
}

fn count(c: &std::sync::atomic::AtomicUsize) -> usize {
    c.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn a_value_sent_and_never_received_is_dropped_exactly_once() {
    // Sent, then the receiver dropped without looking.
    let n = drops();
    let (tx, rx) = channel();
    tx.send(DropCount(n.clone()))
        .unwrap_or_else(|_| panic!("receiver alive"));
    assert_eq!(count(&n), 0, "kept while the receiver lives");
    drop(rx);
    assert_eq!(count(&n), 1);

    // Sent after a close: handed back, dropped by the caller, once.
    let n = drops();
    let (tx, mut rx) = channel();
    rx.close();
    let back = tx.send(DropCount(n.clone()));
    assert_eq!(count(&n), 0, "handed back, not dropped");
    drop(back);
    drop(rx);
    assert_eq!(count(&n), 1);

    // Sent, received: dropped by the receiver's owner, once.
    let n = drops();
    let (tx, rx) = channel();
    tx.send(DropCount(n.clone()))
        .unwrap_or_else(|_| panic!("receiver alive"));
    let got = rx.try_recv().unwrap_or_else(|_| panic!("value sent"));
    drop(rx);
    assert_eq!(count(&n), 0);
    drop(got);
    assert_eq!(count(&n), 1);

    // Sent while the receiver drops on another thread: once, either way.
    for _ in 0..200 {
        let n = drops();
        let (tx, rx) = channel();
        let t = thread::spawn(move || drop(rx));
        let back = tx.send(DropCount(n.clone()));
        t.join().unwrap();
        drop(back);
        assert_eq!(count(&n), 1);
    }
}

#[test]
fn a_pending_receiver_dropped_before_the_send_loses_nothing() {
    let n = drops();
    let (tx, mut rx) = channel::<DropCount>();
    let (_, waker) = counting_waker();
    assert!(poll(&mut rx, &waker).is_pending());
    drop(rx);
    assert!(tx.is_closed());
    let back = tx.send(DropCount(n.clone()));
    assert!(back.is_err());
    drop(back);
    assert_eq!(count(&n), 1);
}
