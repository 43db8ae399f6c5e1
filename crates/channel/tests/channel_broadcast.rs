//! The broadcast channel: fan-out, lagging, closing, subscribing,
//! release of read messages, waking and threads.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::thread;

use common::{counting_waker, poll_boxed};
use futures_lite::future::block_on;
use tulipa_channel::broadcast::{channel, RecvError, TryRecvError};
use tulipa_channel::SendError;

#[test]
fn every_receiver_sees_every_message() {
    let (tx, mut a) = channel(8);
    let mut b = tx.subscribe();
    let mut c = a.clone();
    for i in 0..5 {
        assert_eq!(tx.send(i), Ok(3));
    }
    for rx in [&mut a, &mut b, &mut c] {
        for i in 0..5 {
            assert_eq!(rx.try_recv(), Ok(i));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
    assert!(tx.is_empty(), "messages every receiver read are released");
}

#[test]
fn a_slow_receiver_learns_how_many_it_missed_then_continues() {
    let (tx, mut slow) = channel(3);
    let mut fast = tx.subscribe();
    for i in 0..10 {
        tx.send(i).unwrap();
        assert_eq!(fast.try_recv(), Ok(i));
    }
    assert_eq!(slow.len(), 3);
    assert_eq!(block_on(slow.recv()), Err(RecvError::Lagged(7)));
    assert_eq!(block_on(slow.recv()), Ok(7));
    assert_eq!(slow.try_recv(), Ok(8));
    assert_eq!(slow.recv_blocking(), Ok(9));
    assert_eq!(slow.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.len(), 0);
}

#[test]
fn send_without_receivers_hands_the_value_back() {
    let (tx, rx) = channel(2);
    drop(rx);
    assert_eq!(tx.receiver_count(), 0);
    assert_eq!(tx.send(1), Err(SendError(1)));
    let mut rx = tx.subscribe();
    assert_eq!(tx.send(2), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn subscribers_only_see_later_messages() {
    let (tx, mut rx) = channel(4);
    tx.send('a').unwrap();
    let mut late = tx.subscribe();
    let mut re = rx.resubscribe();
    tx.send('b').unwrap();
    assert_eq!(late.try_recv(), Ok('b'));
    assert_eq!(re.try_recv(), Ok('b'));
    assert_eq!(rx.try_recv(), Ok('a'));
    assert_eq!(rx.try_recv(), Ok('b'));
}

#[test]
fn closing_lets_receivers_drain_then_errors() {
    let (tx, mut rx) = channel(4);
    let tx2 = tx.clone();
    assert_eq!(tx.sender_count(), 2);
    tx.send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(block_on(rx.recv()), Err(RecvError::Closed));
    assert_eq!(rx.recv_blocking(), Err(RecvError::Closed));
}

#[test]
fn recv_is_woken_by_send_and_by_close() {
    let (tx, mut rx) = channel(2);
    let (counter, waker) = counting_waker();
    {
        let mut recv = Box::pin(rx.recv());
        assert!(poll_boxed(&mut recv, &waker).is_pending());
        tx.send(4).unwrap();
        assert_eq!(counter.count(), 1);
        assert_eq!(poll_boxed(&mut recv, &waker), Poll::Ready(Ok(4)));
    }
    let mut recv = Box::pin(rx.recv());
    assert!(poll_boxed(&mut recv, &waker).is_pending());
    drop(tx);
    assert_eq!(counter.count(), 2);
    assert_eq!(
        poll_boxed(&mut recv, &waker),
        Poll::Ready(Err(RecvError::Closed))
    );
}

#[test]
fn dropping_a_receiver_releases_what_only_it_had_left() {
    struct Counted(Arc<AtomicUsize>);
    impl Clone for Counted {
        fn clone(&self) -> Self {
            Counted(self.0.clone())
        }
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = channel(8);
    let lazy = tx.subscribe();
    for _ in 0..3 {
        assert!(tx.send(Counted(drops.clone())).is_ok());
    }
    for _ in 0..3 {
        drop(rx.try_recv().ok().unwrap());
    }
    assert_eq!(tx.len(), 3, "the lazy receiver has not read them");
    let clones_dropped = drops.load(Ordering::SeqCst);
    drop(lazy);
    assert_eq!(tx.len(), 0);
    assert_eq!(drops.load(Ordering::SeqCst), clones_dropped + 3);
}

#[test]
fn a_cloned_receiver_starts_where_the_original_is() {
    let (tx, mut rx) = channel(4);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    let mut twin = rx.clone();
    assert_eq!(twin.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(2));
    assert!(twin.is_empty() && rx.is_empty());
}

#[test]
fn threads_each_see_the_whole_sequence() {
    let (tx, rx) = channel(16);
    let receivers: Vec<_> = (0..3)
        .map(|_| {
            let mut rx = rx.resubscribe();
            thread::spawn(move || {
                let mut next = 0u64;
                let mut lagged = 0u64;
                loop {
                    match rx.recv_blocking() {
                        Ok(v) => {
                            assert!(v >= next, "went backwards");
                            next = v + 1;
                        }
                        Err(RecvError::Lagged(n)) => lagged += n,
                        Err(RecvError::Closed) => return (next, lagged),
                        Err(other) => panic!("unexpected {other:?}"),
                    }
                }
            })
        })
        .collect();
    drop(rx);
    for i in 0..5_000u64 {
        tx.send(i).unwrap();
    }
    drop(tx);
    for r in receivers {
        let (next, _lagged) = r.join().unwrap();
        assert_eq!(next, 5_000, "the last message always arrives");
    }
}

#[test]
#[should_panic(expected = "capacity of at least 1")]
fn zero_capacity_panics() {
    let _ = channel::<u8>(0);
}

#[test]
fn errors_print_lowercase() {
    assert!(RecvError::Lagged(3)
        .to_string()
        .contains("missed 3 messages"));
    assert!(RecvError::Closed
        .to_string()
        .starts_with("receiving from a closed"));
    assert!(TryRecvError::Empty
        .to_string()
        .starts_with("no new broadcast message"));
    assert_eq!(
        TryRecvError::Lagged(2).to_string(),
        RecvError::Lagged(2).to_string()
    );
    let (tx, rx) = channel::<u8>(1);
    assert_eq!(tx.capacity(), 1);
    assert!(format!("{tx:?} {rx:?}").contains("broadcast::Receiver"));
}
