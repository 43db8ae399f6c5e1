//! Model tests: random operation sequences on the mpmc channels and the
//! broadcast channel, checked step by step against a `VecDeque` model.
//! No message may be lost, duplicated or reordered; every error must be
//! the one the model predicts, with the value handed back.

mod common;

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::Poll;

use common::{counting_waker, poll_boxed};
use proptest::prelude::*;
use tulipa_channel::broadcast;
use tulipa_channel::{bounded, unbounded, SendError, TryRecvError, TrySendError};

#[derive(Clone, Debug)]
enum Op {
    TrySend(u32),
    TryRecv,
    /// Polls a new send future once; it waits if the channel is full.
    StartSend(u32),
    /// Polls the waiting send future at this index (modulo their number).
    PollSend(usize),
    /// Drops the waiting send future at this index: its value is not sent.
    CancelSend(usize),
    Close,
    CloneSender,
    DropSender,
    CloneReceiver,
    DropReceiver,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u32>().prop_map(Op::TrySend),
        4 => Just(Op::TryRecv),
        2 => any::<u32>().prop_map(Op::StartSend),
        2 => any::<usize>().prop_map(Op::PollSend),
        1 => any::<usize>().prop_map(Op::CancelSend),
        1 => Just(Op::Close),
        1 => Just(Op::CloneSender),
        1 => Just(Op::DropSender),
        1 => Just(Op::CloneReceiver),
        1 => Just(Op::DropReceiver),
    ]
}

type PendingSend<'a> = (Pin<Box<tulipa_channel::Send<'a, u32>>>, u32);

fn run_mpmc(cap: Option<usize>, ops: Vec<Op>) {
    let (tx, rx) = match cap {
        Some(c) => bounded(c),
        None => unbounded(),
    };
    // The first handle of each kind stays for the whole run (send futures
    // borrow it); the extra clones come and go.
    let mut extra_tx = Vec::new();
    let mut extra_rx = Vec::new();
    let mut model: VecDeque<u32> = VecDeque::new();
    let mut closed = false;
    let (_, waker) = counting_waker();
    let mut pending: Vec<PendingSend<'_>> = Vec::new();
    let full = |m: &VecDeque<u32>| cap.is_some_and(|c| m.len() >= c);

    for op in ops {
        match op {
            Op::TrySend(v) => {
                let expected = if closed {
                    Err(TrySendError::Closed(v))
                } else if full(&model) {
                    Err(TrySendError::Full(v))
                } else {
                    model.push_back(v);
                    Ok(())
                };
                assert_eq!(tx.try_send(v), expected);
            }
            Op::TryRecv => {
                let expected = match model.pop_front() {
                    Some(v) => Ok(v),
                    None if closed => Err(TryRecvError::Closed),
                    None => Err(TryRecvError::Empty),
                };
                assert_eq!(rx.try_recv(), expected);
            }
            Op::StartSend(v) => {
                let mut fut = Box::pin(tx.send(v));
                match poll_boxed(&mut fut, &waker) {
                    Poll::Ready(Ok(())) => {
                        assert!(!closed && !full(&model));
                        model.push_back(v);
                    }
                    Poll::Ready(Err(SendError(back))) => {
                        assert!(closed);
                        assert_eq!(back, v);
                    }
                    Poll::Pending => {
                        assert!(!closed && full(&model));
                        pending.push((fut, v));
                    }
                }
            }
            Op::PollSend(i) if !pending.is_empty() => {
                let i = i % pending.len();
                let v = pending[i].1;
                match poll_boxed(&mut pending[i].0, &waker) {
                    Poll::Ready(Ok(())) => {
                        assert!(!closed && !full(&model));
                        model.push_back(v);
                        drop(pending.remove(i));
                    }
                    Poll::Ready(Err(SendError(back))) => {
                        assert!(closed);
                        assert_eq!(back, v);
                        drop(pending.remove(i));
                    }
                    Poll::Pending => assert!(!closed && full(&model)),
                }
            }
            Op::CancelSend(i) if !pending.is_empty() => {
                drop(pending.remove(i % pending.len()));
            }
            Op::PollSend(_) | Op::CancelSend(_) => {}
            Op::Close => {
                assert_eq!(rx.close(), !closed);
                closed = true;
            }
            Op::CloneSender => extra_tx.push(tx.clone()),
            Op::DropSender => drop(extra_tx.pop()),
            Op::CloneReceiver => extra_rx.push(rx.clone()),
            Op::DropReceiver => drop(extra_rx.pop()),
        }
        assert_eq!(rx.len(), model.len());
        assert_eq!(tx.is_closed(), closed);
        assert_eq!(tx.sender_count(), 1 + extra_tx.len());
        assert_eq!(rx.receiver_count(), 1 + extra_rx.len());
    }
    // Drain: exactly the model's messages, in order.
    drop(pending);
    let mut rest = Vec::new();
    while let Ok(v) = rx.try_recv() {
        rest.push(v);
    }
    assert_eq!(rest, Vec::from(model));
}

#[derive(Clone, Debug)]
enum BOp {
    Send(u32),
    Recv(usize),
    Subscribe,
    DropReceiver(usize),
    DropSender,
}

fn bop() -> impl Strategy<Value = BOp> {
    prop_oneof![
        4 => any::<u32>().prop_map(BOp::Send),
        4 => any::<usize>().prop_map(BOp::Recv),
        1 => Just(BOp::Subscribe),
        1 => any::<usize>().prop_map(BOp::DropReceiver),
        1 => Just(BOp::DropSender),
    ]
}

/// The broadcast model: the log of every message, the oldest kept sequence
/// number (`head`) and each receiver's cursor.
fn run_broadcast(cap: usize, ops: Vec<BOp>) {
    let (tx, rx) = broadcast::channel(cap);
    let mut tx = Some(tx);
    let mut rxs = vec![(rx, 0u64)];
    let mut log: Vec<u32> = Vec::new();
    let mut head = 0u64;
    let release = |head: &mut u64, tail: u64, cursors: &mut dyn Iterator<Item = u64>| {
        let min = cursors.min().unwrap_or(tail).min(tail);
        *head = (*head).max(min);
    };
    for op in ops {
        let tail = log.len() as u64;
        match op {
            BOp::Send(v) => {
                let Some(sender) = &tx else { continue };
                let got = sender.send(v);
                if rxs.is_empty() {
                    assert_eq!(got, Err(SendError(v)));
                } else {
                    assert_eq!(got, Ok(rxs.len()));
                    if tail - head == cap as u64 {
                        head += 1;
                    }
                    log.push(v);
                }
            }
            BOp::Recv(i) if !rxs.is_empty() => {
                let i = i % rxs.len();
                let (rx, cursor) = &mut rxs[i];
                let expected = if *cursor < head {
                    let missed = head - *cursor;
                    *cursor = head;
                    Err(broadcast::TryRecvError::Lagged(missed))
                } else if *cursor < tail {
                    *cursor += 1;
                    Ok(log[*cursor as usize - 1])
                } else if tx.is_none() {
                    Err(broadcast::TryRecvError::Closed)
                } else {
                    Err(broadcast::TryRecvError::Empty)
                };
                assert_eq!(rx.try_recv(), expected);
                release(&mut head, tail, &mut rxs.iter().map(|r| r.1));
            }
            BOp::Recv(_) => {}
            BOp::Subscribe => {
                if let Some(sender) = &tx {
                    rxs.push((sender.subscribe(), tail));
                }
            }
            BOp::DropReceiver(i) if !rxs.is_empty() => {
                drop(rxs.remove(i % rxs.len()));
                release(&mut head, tail, &mut rxs.iter().map(|r| r.1));
            }
            BOp::DropReceiver(_) => {}
            BOp::DropSender => tx = None,
        }
        if let Some(sender) = &tx {
            let kept = log.len() as u64 - head;
            assert_eq!(sender.len() as u64, kept, "kept messages");
            assert_eq!(sender.receiver_count(), rxs.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn bounded_matches_the_model(cap in 1usize..5, ops in proptest::collection::vec(op(), 0..120)) {
        run_mpmc(Some(cap), ops);
    }

    #[test]
    fn unbounded_matches_the_model(ops in proptest::collection::vec(op(), 0..120)) {
        run_mpmc(None, ops);
    }

    #[test]
    fn broadcast_matches_the_model(cap in 1usize..5, ops in proptest::collection::vec(bop(), 0..120)) {
        run_broadcast(cap, ops);
    }
}
