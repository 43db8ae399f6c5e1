//! Compile-time checks of `Send`, `Sync` and `Unpin` for every public type
//! (with a `Send` payload; `Sync` where the type is shared by reference).

use std::cell::Cell;

use tulipa_channel::{broadcast, oneshot, queue, watch};

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn unpin<T: Unpin>() {}

#[test]
fn channel_types_are_send_sync_and_unpin() {
    // `Cell` is `Send` but not `Sync`: the handles must still be both.
    type P = Cell<u8>;
    send::<tulipa_channel::Sender<P>>();
    sync::<tulipa_channel::Sender<P>>();
    send::<tulipa_channel::Receiver<P>>();
    sync::<tulipa_channel::Receiver<P>>();
    unpin::<tulipa_channel::Receiver<P>>();
    send::<tulipa_channel::Send<'static, P>>();
    unpin::<tulipa_channel::Send<'static, P>>();
    send::<tulipa_channel::Recv<'static, P>>();
    unpin::<tulipa_channel::Recv<'static, P>>();
    send::<tulipa_channel::SendError<P>>();
    send::<tulipa_channel::TrySendError<P>>();
    send::<tulipa_channel::RecvError>();
    sync::<tulipa_channel::TryRecvError>();

    send::<oneshot::Sender<P>>();
    sync::<oneshot::Sender<P>>();
    send::<oneshot::Receiver<P>>();
    sync::<oneshot::Receiver<P>>();
    unpin::<oneshot::Receiver<P>>();
    send::<oneshot::Closed<'static, P>>();

    send::<broadcast::Sender<u8>>();
    sync::<broadcast::Sender<u8>>();
    send::<broadcast::Receiver<u8>>();
    sync::<broadcast::Receiver<u8>>();
    send::<broadcast::Recv<'static, u8>>();
    unpin::<broadcast::Recv<'static, u8>>();
    sync::<broadcast::RecvError>();
    sync::<broadcast::TryRecvError>();

    send::<watch::Sender<u8>>();
    sync::<watch::Sender<u8>>();
    send::<watch::Receiver<u8>>();
    sync::<watch::Receiver<u8>>();
    send::<watch::Changed<'static, u8>>();
    send::<watch::Closed<'static, u8>>();
    sync::<watch::RecvError>();
}

#[test]
fn queue_types_and_futures_are_send_and_sync() {
    type P = Cell<u8>;
    send::<queue::Queue<P>>();
    sync::<queue::Queue<P>>();
    send::<queue::LifoQueue<P>>();
    sync::<queue::LifoQueue<P>>();
    send::<queue::PriorityQueue<u8>>();
    sync::<queue::PriorityQueue<u8>>();
    send::<queue::PutError<P>>();
    send::<queue::PutNowaitError<P>>();
    sync::<queue::GetError>();
    sync::<queue::GetNowaitError>();
    sync::<queue::TaskDoneError>();

    // The futures of the async methods can move to another thread.
    fn future_is_send<F: std::future::Future + Send>(_: F) {}
    let q: queue::Queue<u8> = queue::Queue::new(1);
    future_is_send(q.put(1));
    future_is_send(q.get());
    future_is_send(q.join());
    let p: queue::PriorityQueue<u8> = queue::PriorityQueue::new(1);
    future_is_send(p.put(1));
    future_is_send(p.get());
}
