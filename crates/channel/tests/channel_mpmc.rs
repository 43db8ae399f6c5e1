//! The mpmc channels (`bounded`, `unbounded`): every method, every error
//! path, closing, waking, cancellation and many threads.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;

use common::{counting_waker, poll, poll_boxed};
use futures_lite::future::block_on;
use futures_lite::{Stream, StreamExt};
use tulipa_channel::{
    bounded, unbounded, Receiver, RecvError, SendError, Sender, TryRecvError, TrySendError,
};

#[test]
fn bounded_try_send_until_full_then_try_recv_in_order() {
    let (tx, rx) = bounded(3);
    assert_eq!(tx.capacity(), Some(3));
    assert!(tx.is_empty() && rx.is_empty());
    for i in 0..3 {
        assert_eq!(tx.try_send(i), Ok(()));
    }
    assert!(tx.is_full() && rx.is_full());
    assert_eq!(tx.len(), 3);
    assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(rx.try_recv(), Ok(0));
    assert!(!tx.is_full());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(rx.len(), 0);
}

#[test]
fn unbounded_is_never_full() {
    let (tx, rx) = unbounded();
    assert_eq!(rx.capacity(), None);
    for i in 0..10_000 {
        tx.try_send(i).unwrap();
    }
    assert!(!tx.is_full());
    assert_eq!(rx.len(), 10_000);
    for i in 0..10_000 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
}

#[test]
#[should_panic(expected = "use tulipa_channel::oneshot")]
fn bounded_zero_panics_naming_the_fix() {
    let _ = bounded::<u8>(0);
}

#[test]
fn last_sender_drop_closes_and_receivers_drain_first() {
    let (tx, rx) = bounded(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "one sender is still alive");
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(block_on(rx.recv()), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(block_on(rx.recv()), Err(RecvError));
    assert_eq!(rx.recv_blocking(), Err(RecvError));
}

#[test]
fn last_receiver_drop_closes_and_hands_messages_back() {
    let (tx, rx) = bounded(1);
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed());
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
    assert_eq!(block_on(tx.send(2)), Err(SendError(2)));
    assert_eq!(tx.send_blocking(3), Err(SendError(3)));
}

#[test]
fn close_is_idempotent_and_keeps_queued_messages() {
    let (tx, rx) = unbounded();
    tx.try_send('a').unwrap();
    assert!(rx.close());
    assert!(!tx.close());
    assert!(tx.is_closed() && rx.is_closed());
    assert_eq!(tx.try_send('b'), Err(TrySendError::Closed('b')));
    assert_eq!(rx.try_recv(), Ok('a'));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn handle_counts_follow_clones_and_drops() {
    let (tx, rx) = bounded::<()>(1);
    assert_eq!((tx.sender_count(), tx.receiver_count()), (1, 1));
    let tx2 = tx.clone();
    let rx2 = rx.clone();
    let rx3 = rx2.clone();
    assert_eq!((rx.sender_count(), rx.receiver_count()), (2, 3));
    drop(tx2);
    drop(rx3);
    assert_eq!((tx.sender_count(), tx.receiver_count()), (1, 2));
    assert!(tx.same_channel(&tx.clone()));
    assert!(rx.same_channel(&rx2));
    let (other, _keep) = bounded::<()>(1);
    assert!(!tx.same_channel(&other));
}

#[test]
fn send_waits_for_room_and_is_woken_by_recv() {
    let (tx, rx) = bounded(1);
    tx.try_send(1).unwrap();
    let (counter, waker) = counting_waker();
    let mut send = tx.send(2);
    assert!(poll(&mut send, &waker).is_pending());
    assert_eq!(counter.count(), 0);
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(
        counter.count() >= 1,
        "taking a message wakes a waiting sender"
    );
    assert_eq!(poll(&mut send, &waker), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn recv_waits_and_is_woken_by_send() {
    let (tx, rx) = unbounded();
    let (counter, waker) = counting_waker();
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &waker).is_pending());
    tx.try_send(5).unwrap();
    assert_eq!(counter.count(), 1);
    assert_eq!(poll(&mut recv, &waker), Poll::Ready(Ok(5)));
}

#[test]
fn close_wakes_waiting_senders_and_receivers() {
    let (tx, rx) = bounded(1);
    let (rc, rw) = counting_waker();
    let mut recv = rx.recv();
    assert!(poll(&mut recv, &rw).is_pending());
    tx.try_send(0).unwrap();
    assert_eq!(poll(&mut recv, &rw), Poll::Ready(Ok(0)));
    tx.try_send(1).unwrap();

    let (sc, sw) = counting_waker();
    let mut send = tx.send(2);
    assert!(poll(&mut send, &sw).is_pending());
    rx.close();
    assert!(sc.count() >= 1);
    assert_eq!(poll(&mut send, &sw), Poll::Ready(Err(SendError(2))));
    assert!(rc.count() >= 1);
    // The queued message is still there after the close.
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn cancelled_send_sends_nothing_and_passes_its_wakeup_on() {
    let (tx, rx) = bounded(1);
    tx.try_send(0).unwrap();
    let (c1, w1) = counting_waker();
    let (c2, w2) = counting_waker();
    let mut first = Box::pin(tx.send(1));
    let mut second = Box::pin(tx.send(2));
    assert!(poll_boxed(&mut first, &w1).is_pending());
    assert!(poll_boxed(&mut second, &w2).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(c1.count(), 1, "the oldest waiting sender is woken");
    assert_eq!(c2.count(), 0);
    drop(first);
    assert_eq!(c2.count(), 1, "the dropped sender's wakeup passes on");
    assert_eq!(poll_boxed(&mut second, &w2), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "1 was never sent");
}

#[test]
fn cancelled_recv_loses_no_message_and_passes_its_wakeup_on() {
    let (tx, rx) = unbounded();
    let (c1, w1) = counting_waker();
    let (c2, w2) = counting_waker();
    let mut first = Box::pin(rx.recv());
    let mut second = Box::pin(rx.recv());
    assert!(poll_boxed(&mut first, &w1).is_pending());
    assert!(poll_boxed(&mut second, &w2).is_pending());
    tx.try_send(7).unwrap();
    assert_eq!((c1.count(), c2.count()), (1, 0));
    drop(first);
    assert_eq!(c2.count(), 1);
    assert_eq!(poll_boxed(&mut second, &w2), Poll::Ready(Ok(7)));
}

#[test]
fn receiver_is_a_stream_that_ends_on_close() {
    let (tx, rx) = bounded(10);
    for i in 0..5 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.size_hint(), (5, None));
    drop(tx);
    let all: Vec<i32> = block_on(rx.collect());
    assert_eq!(all, [0, 1, 2, 3, 4]);
}

#[test]
fn stream_waits_and_wakes() {
    let (tx, mut rx) = unbounded();
    let (counter, waker) = counting_waker();
    let mut next = rx.next();
    assert!(poll(&mut next, &waker).is_pending());
    tx.try_send("x").unwrap();
    assert_eq!(counter.count(), 1);
    assert_eq!(poll(&mut next, &waker), Poll::Ready(Some("x")));
    drop(tx);
    assert_eq!(block_on(rx.next()), None);
}

#[test]
fn unreceived_messages_are_dropped_with_the_channel() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = bounded(4);
    for _ in 0..3 {
        assert!(tx.try_send(Counted(drops.clone())).is_ok());
    }
    drop(rx);
    // A send into the closed channel hands the value back, not dropped.
    let back = tx
        .try_send(Counted(drops.clone()))
        .unwrap_err()
        .into_inner();
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(back);
    drop(tx);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

/// Four producers, four consumers, a small buffer: every message arrives
/// exactly once, and each consumer sees each producer's messages in order.
fn many_to_many(tx: Sender<(usize, usize)>, rx: Receiver<(usize, usize)>, blocking: bool) {
    const PRODUCERS: usize = 4;
    const PER: usize = 2_000;
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..PER {
                    if blocking {
                        tx.send_blocking((p, i)).unwrap();
                    } else {
                        block_on(tx.send((p, i))).unwrap();
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let msg = if blocking {
                        rx.recv_blocking()
                    } else {
                        block_on(rx.recv())
                    };
                    match msg {
                        Ok(m) => got.push(m),
                        Err(RecvError) => return got,
                    }
                }
            })
        })
        .collect();
    drop(rx);
    for p in producers {
        p.join().unwrap();
    }
    let mut seen = HashSet::new();
    for c in consumers {
        let got = c.join().unwrap();
        let mut last = [None; PRODUCERS];
        for (p, i) in got {
            assert!(last[p] < Some(i), "producer {p}'s messages reordered");
            last[p] = Some(i);
            assert!(seen.insert((p, i)), "message {p}/{i} received twice");
        }
    }
    assert_eq!(seen.len(), PRODUCERS * PER, "messages lost");
}

#[test]
fn many_to_many_bounded_async() {
    let (tx, rx) = bounded(8);
    many_to_many(tx, rx, false);
}

#[test]
fn many_to_many_bounded_blocking() {
    let (tx, rx) = bounded(1);
    many_to_many(tx, rx, true);
}

#[test]
fn many_to_many_unbounded() {
    let (tx, rx) = unbounded();
    many_to_many(tx, rx, false);
}

#[test]
fn errors_print_lowercase_and_need_no_debug() {
    struct NoDebug;
    let (tx, rx) = bounded(1);
    tx.try_send(NoDebug).ok().unwrap();
    let full = tx.try_send(NoDebug).unwrap_err();
    assert!(full.is_full() && !full.is_closed());
    assert_eq!(format!("{full:?}"), "Full(..)");
    assert!(full.to_string().starts_with("sending into a full channel"));
    drop(rx);
    let closed = tx.try_send(NoDebug).unwrap_err();
    assert!(closed.is_closed());
    assert_eq!(format!("{closed:?}"), "Closed(..)");
    let send = block_on(tx.send(NoDebug)).unwrap_err();
    assert_eq!(format!("{send:?}"), "SendError(..)");
    assert!(send
        .to_string()
        .starts_with("sending into a closed channel"));
    let _: Box<dyn std::error::Error> = Box::new(send);
    let try_from: TrySendError<u8> = SendError(1).into();
    assert_eq!(try_from, TrySendError::Closed(1));

    assert!(RecvError.to_string().starts_with("receiving from a closed"));
    assert!(TryRecvError::Empty.is_empty());
    assert!(TryRecvError::Closed.is_closed());
    assert!(TryRecvError::Empty
        .to_string()
        .starts_with("receiving from an empty"));
    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Closed);
    for msg in [
        RecvError.to_string(),
        TryRecvError::Closed.to_string(),
        full.to_string(),
    ] {
        assert!(msg.chars().next().unwrap().is_lowercase(), "{msg}");
    }
    // Debug of the handles works without T: Debug.
    let (tx, rx) = bounded::<NoDebug>(2);
    assert!(format!("{tx:?}").contains("capacity: Some(2)"));
    assert!(format!("{rx:?}").contains("closed: false"));
    assert!(format!("{:?}", rx.recv()).starts_with("Recv"));
    assert!(format!("{:?}", tx.send(NoDebug)).starts_with("Send"));
}
