//! Multi-producer multi-consumer channels: [`bounded`] and [`unbounded`].
//!
//! # Design
//!
//! One `Arc<Channel>` holds a `concurrent-queue` (a lock-free array ring
//! when bounded, a lock-free list of blocks when unbounded), two events
//! and two handle counts:
//!
//! - `recv_ops`: receivers (futures, streams, blocking calls) wait here for
//!   a message. Every successful push notifies one *additional* listener.
//! - `send_ops`: senders wait here for room (bounded only). Every
//!   successful pop of a bounded channel notifies one additional listener;
//!   an unbounded channel never notifies it, as no sender ever waits.
//!
//! Both events are `Waiters` (`waiters.rs`): an `event-listener` event
//! and a count of its listeners not yet notified, notified only when that
//! count is not zero (event-listener 5 takes a lock on every notify, and
//! a full channel's senders are all notified after the first few pops).
//!
//! The fast path is one lock-free push or pop, one fence and one or two
//! atomic loads to see that nobody waits: no lock, no wakeup.
//!
//! # The receive slot (no allocation per wait)
//!
//! An `event-listener` listener is one allocation per wait. Most channels
//! have one receiver, waiting in one task at a time, so the channel also
//! has one lock-free waker slot for receivers (`AtomicWaker`,
//! `handoff.rs`) and a flag that says whether it is free. The slot is used
//! only while there is one `Receiver`: with several, their waits would
//! take turns in it and every push would touch its state word, which
//! doubled `chan_mpmc`'s time, so they wait on the event as before. A
//! receive that must wait first claims the slot (a swap of the flag) and
//! registers its waker there; only if another waiter holds it does it
//! create a listener. The holder keeps the slot until its receive
//! completes or is dropped. A push wakes one receiver: the slot's waker
//! if one is registered, else one more listener. When the holder's
//! receive is dropped before it completes and its waker is no longer in
//! the slot, a push took it to wake this receive, which did not use that
//! wakeup, so it passes one on to the event, as a dropped listener does
//! (a receive that completes took a message, which is what the wakeup was
//! for). A close wakes everyone, slot included.
//!
//! # The waiting protocol (no lost wakeup)
//!
//! A waiter tries the operation; if it cannot proceed it creates a
//! listener (or registers in the receive slot), tries again, and only then
//! waits. Any push, pop or close that happens after the listener exists
//! notifies it; any that happened before it is seen by the second try. A
//! notified listener that is dropped (its future was cancelled) hands its
//! notification to the next listener, so a wakeup is never swallowed by a
//! waiter that left.
//!
//! # Closing
//!
//! The channel closes when [`Sender::close`]/[`Receiver::close`] is called,
//! when the last sender drops, or when the last receiver drops. Closing
//! makes every send fail (handing the message back) and wakes every
//! waiter; messages already queued can still be received, and receivers
//! see [`RecvError`] only once the closed channel is empty. Messages left
//! in a channel whose receivers are all gone are dropped with the channel.
//!
//! # Capacity zero
//!
//! `bounded(0)` panics: there is no rendezvous mode. A rendezvous hands
//! each message over only when a receiver is waiting; use
//! [`oneshot`](crate::oneshot) for a single hand-off, or `bounded(1)`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::Stream;

use crate::error::{RecvError, SendError, TryRecvError, TrySendError};
use crate::handoff::AtomicWaker;
use crate::sync::{
    check_count, full_fence, Arc, AtomicBool, AtomicUsize, EventListener, Ordering, PopError,
    PushError, Queue,
};
use crate::waiters::Waiters;

/// The state every handle of one channel shares.
struct Channel<T> {
    queue: Queue<T>,
    /// Receivers wait here for a message or for the close, when the
    /// receive slot is taken.
    recv_ops: Waiters,
    /// The receive slot: one waiting receiver's waker, no allocation.
    recv_slot: AtomicWaker,
    /// Whether no receive holds `recv_slot`.
    recv_slot_free: AtomicBool,
    /// Senders wait here for room or for the close (bounded only).
    send_ops: Waiters,
    senders: AtomicUsize,
    receivers: AtomicUsize,
}

impl<T> Channel<T> {
    fn close(&self) -> bool {
        if self.queue.close() {
            self.send_ops.notify_all();
            self.recv_ops.notify_all();
            self.recv_slot.wake();
            true
        } else {
            false
        }
    }

    fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        match self.queue.push(msg) {
            Ok(()) => {
                self.wake_one_receiver();
                Ok(())
            }
            Err(PushError::Full(m)) => Err(TrySendError::Full(m)),
            Err(PushError::Closed(m)) => Err(TrySendError::Closed(m)),
        }
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.queue.pop() {
            Ok(m) => {
                if self.queue.capacity().is_some() {
                    self.send_ops.notify_additional(1);
                }
                Ok(m)
            }
            Err(PopError::Empty) => Err(TryRecvError::Empty),
            Err(PopError::Closed) => Err(TryRecvError::Closed),
        }
    }

    /// Wakes one waiting receiver: the receive slot's holder if it is
    /// registered there, else one more listener of the event.
    ///
    /// The fence orders the push before the loads of the slot's flag and
    /// the unnotified-listener count (`Waiters`' argument): a receive
    /// that claims the slot issues a fence after registering, then
    /// re-checks, so either it sees the message or this sees the slot
    /// taken. A slot taken but
    /// not yet registered is the `AtomicWaker`'s case: `take` then finds
    /// nothing, and the registering receive re-checks after it.
    fn wake_one_receiver(&self) {
        full_fence();
        if !self.recv_slot_free.load(Ordering::Relaxed) {
            if let Some(w) = self.recv_slot.take() {
                w.wake();
                return;
            }
        }
        // Nobody registered in the slot (or a register under way, which
        // wakes its own task): wake the next listener instead (the fence
        // above is the one `Waiters` needs).
        self.recv_ops.notify_additional_fenced(1);
    }

    /// One poll of a receive: the try / register / try again / wait loop.
    ///
    /// A receive spends one unit of the task's cooperative budget
    /// (`tulipa_core::coop`); with none left it returns `Pending` before
    /// touching the channel, keeping its place in the wait (a consumer that
    /// always finds a message must still let the other tasks run).
    fn poll_recv(&self, wait: &mut Wait, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let Poll::Ready(progress) = tulipa_core::coop::poll_proceed(cx) else {
            return Poll::Pending;
        };
        let mut registered = false;
        loop {
            match self.try_recv() {
                Ok(m) => {
                    progress.made_progress();
                    self.end_wait(wait, true);
                    return Poll::Ready(Ok(m));
                }
                Err(TryRecvError::Closed) => {
                    progress.made_progress();
                    self.end_wait(wait, true);
                    return Poll::Ready(Err(RecvError));
                }
                Err(TryRecvError::Empty) => {}
            }
            match wait {
                // Only a channel with one receiver uses the slot: with
                // several, receivers that wait at once would take turns in
                // it and every push would touch its state word (measured:
                // chan_mpmc, 4 consumers, took twice as long); they use the
                // event, as before. Either choice is correct: the count is
                // a policy, not part of the protocol.
                Wait::Idle
                    if self.receivers.load(Ordering::Relaxed) == 1
                        && self.recv_slot_free.swap(false, Ordering::Acquire) =>
                {
                    *wait = Wait::Slot;
                    self.recv_slot.register(cx.waker());
                    // See `wake_one_receiver`.
                    full_fence();
                    registered = true;
                }
                Wait::Idle => *wait = Wait::Listener(self.recv_ops.listen()),
                Wait::Slot if registered => return Poll::Pending,
                Wait::Slot => {
                    self.recv_slot.register(cx.waker());
                    registered = true;
                }
                Wait::Listener(l) => match Pin::new(l).poll(cx) {
                    Poll::Ready(()) => {
                        if let Wait::Listener(l) = std::mem::replace(wait, Wait::Idle) {
                            self.recv_ops.finished(l);
                        }
                    }
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }

    /// Ends a receive's wait: abandons its listener, which passes on a
    /// notification it had (`Waiters::abandon`), or frees the receive
    /// slot.
    ///
    /// `completed` says whether the receive took a message (or saw the
    /// close). A slot holder's waker is registered from the moment it
    /// takes the slot; if it is gone, a push took it to wake this receive.
    /// A receive that then took a message used that wakeup: each push
    /// wakes at most one waiter and each completed receive consumed one
    /// message, so nothing is owed. A receive dropped before completing
    /// did not use it, so it goes to the next listener, as a dropped
    /// event-listener listener passes its notification on.
    fn end_wait(&self, wait: &mut Wait, completed: bool) {
        match std::mem::replace(wait, Wait::Idle) {
            Wait::Idle => {}
            Wait::Slot => {
                if self.recv_slot.take().is_none() && !completed {
                    self.recv_ops.notify_additional(1);
                }
                self.recv_slot_free.store(true, Ordering::Release);
            }
            Wait::Listener(l) => self.recv_ops.abandon(l),
        }
    }
}

/// Where a receive waits.
enum Wait {
    /// Not waiting.
    Idle,
    /// Holds the channel's receive slot.
    Slot,
    /// On the event, behind the slot's holder.
    Listener(EventListener),
}

/// Creates a channel that holds at most `cap` messages.
///
/// Senders wait (or [`Sender::try_send`] fails with
/// [`TrySendError::Full`]) while `cap` messages are queued.
///
/// # Panics
///
/// Panics if `cap` is 0: there is no rendezvous mode; use
/// [`oneshot`](crate::oneshot) or a capacity of at least 1.
///
/// # Examples
///
/// ```
/// use futures_lite::future::block_on;
///
/// let (tx, rx) = tulipa_channel::bounded(1);
/// tx.try_send(1).unwrap();
/// assert!(tx.try_send(2).unwrap_err().is_full());
/// assert_eq!(block_on(rx.recv()), Ok(1));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        cap > 0,
        "tulipa_channel::bounded(0): a channel needs a capacity of at least 1; \
         for a single hand-off use tulipa_channel::oneshot"
    );
    new(Queue::bounded(cap))
}

/// Creates a channel with no capacity limit: sends never wait.
///
/// # Examples
///
/// ```
/// use futures_lite::future::block_on;
///
/// let (tx, rx) = tulipa_channel::unbounded();
/// for i in 0..3 {
///     tx.try_send(i).unwrap();
/// }
/// drop(tx);
/// let got: Vec<i32> = block_on(futures_lite::StreamExt::collect(rx));
/// assert_eq!(got, [0, 1, 2]);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    new(Queue::unbounded())
}

fn new<T>(queue: Queue<T>) -> (Sender<T>, Receiver<T>) {
    let channel = Arc::new(Channel {
        queue,
        recv_ops: Waiters::new(),
        recv_slot: AtomicWaker::new(),
        recv_slot_free: AtomicBool::new(true),
        send_ops: Waiters::new(),
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
    });
    (
        Sender {
            channel: channel.clone(),
        },
        Receiver {
            channel,
            wait: Wait::Idle,
        },
    )
}

/// The sending half of a channel; clone it for more producers.
///
/// The channel closes when the last `Sender` is dropped (receivers then
/// drain what is queued and get [`RecvError`]).
///
/// [`send`](Self::send) is the sink side: a future that waits for room
/// (back-pressure) and hands the message back if the channel closes. There
/// is no `futures::Sink` implementation, to keep the dependency on
/// `futures-sink` out; `while let Some(x) = stream.next().await {
/// tx.send(x).await? }` forwards a stream.
pub struct Sender<T> {
    channel: Arc<Channel<T>>,
}

impl<T> Sender<T> {
    /// Sends `msg` now if there is room.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the channel is at capacity,
    /// [`TrySendError::Closed`] if it is closed; both hand `msg` back.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_channel::TrySendError;
    ///
    /// let (tx, rx) = tulipa_channel::bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.channel.try_send(msg)
    }

    /// Sends `msg`, waiting for room while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `msg` if the channel is (or becomes) closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, `msg`
    /// was not sent (it is dropped with the future) and no other sender
    /// loses its turn: a wakeup this future had received passes to the
    /// next waiting sender.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::future::block_on;
    ///
    /// let (tx, rx) = tulipa_channel::bounded(1);
    /// block_on(async {
    ///     tx.send("hi").await.unwrap();
    ///     assert_eq!(rx.recv().await, Ok("hi"));
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, msg: T) -> Send<'_, T> {
        Send {
            sender: self,
            msg: Some(msg),
            listener: None,
            location: std::panic::Location::caller(),
        }
    }

    /// Sends `msg`, blocking the thread while the channel is full.
    ///
    /// For synchronous code; in async code use [`send`](Self::send), as
    /// this would block the executor's thread.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `msg` if the channel is (or becomes) closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulipa_channel::bounded(1);
    /// let t = std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send_blocking(i).unwrap();
    ///     }
    /// });
    /// assert_eq!(rx.recv_blocking(), Ok(0));
    /// assert_eq!(rx.recv_blocking(), Ok(1));
    /// assert_eq!(rx.recv_blocking(), Ok(2));
    /// t.join().unwrap();
    /// ```
    pub fn send_blocking(&self, msg: T) -> Result<(), SendError<T>> {
        self.channel
            .send_ops
            .block_until(msg, |m| match self.channel.try_send(m) {
                Ok(()) => Ok(Ok(())),
                Err(TrySendError::Closed(m)) => Ok(Err(SendError(m))),
                Err(TrySendError::Full(m)) => Err(m),
            })
    }

    /// Closes the channel for everyone; returns `true` if this call closed
    /// it, `false` if it was already closed.
    ///
    /// Queued messages can still be received; every waiting sender and
    /// receiver wakes.
    pub fn close(&self) -> bool {
        self.channel.close()
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.channel.queue.is_closed()
    }

    /// The number of queued messages.
    pub fn len(&self) -> usize {
        self.channel.queue.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.channel.queue.is_empty()
    }

    /// Whether the channel is at capacity (never for an unbounded one).
    pub fn is_full(&self) -> bool {
        self.channel.queue.is_full()
    }

    /// The capacity: `Some(cap)` when bounded, `None` when unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.channel.queue.capacity()
    }

    /// The number of live senders of this channel.
    pub fn sender_count(&self) -> usize {
        self.channel.senders.load(Ordering::SeqCst)
    }

    /// The number of live receivers of this channel.
    pub fn receiver_count(&self) -> usize {
        self.channel.receivers.load(Ordering::SeqCst)
    }

    /// Whether `self` and `other` send into the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.channel, &other.channel)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        check_count(self.channel.senders.fetch_add(1, Ordering::Relaxed));
        Sender {
            channel: self.channel.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.channel.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.channel.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of a channel; clone it for more consumers (each
/// message goes to exactly one receiver).
///
/// It is a [`Stream`] of messages that ends when the channel is closed and
/// empty. The channel closes when the last `Receiver` is dropped.
pub struct Receiver<T> {
    channel: Arc<Channel<T>>,
    /// The wait of the `Stream` implementation, kept across polls.
    wait: Wait,
}

impl<T> Receiver<T> {
    /// Takes a message now if one is queued.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if the channel is empty but open,
    /// [`TryRecvError::Closed`] if it is closed and empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_channel::TryRecvError;
    ///
    /// let (tx, rx) = tulipa_channel::unbounded();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.channel.try_recv()
    }

    /// Receives a message, waiting while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a message is taken from the channel only in the poll
    /// that returns it, so dropping the future never loses one; a wakeup
    /// this future had received passes to the next waiting receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::future::block_on;
    ///
    /// let (tx, rx) = tulipa_channel::unbounded();
    /// std::thread::spawn(move || tx.send_blocking(7).unwrap());
    /// assert_eq!(block_on(rx.recv()), Ok(7));
    /// ```
    #[track_caller]
    pub fn recv(&self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            wait: Wait::Idle,
            location: std::panic::Location::caller(),
        }
    }

    /// Receives a message, blocking the thread while the channel is empty.
    ///
    /// For synchronous code; in async code use [`recv`](Self::recv).
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and empty.
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        self.channel
            .recv_ops
            .block_until((), |()| match self.channel.try_recv() {
                Ok(m) => Ok(Ok(m)),
                Err(TryRecvError::Closed) => Ok(Err(RecvError)),
                Err(TryRecvError::Empty) => Err(()),
            })
    }

    /// Closes the channel for everyone; returns `true` if this call closed
    /// it. Queued messages can still be received.
    pub fn close(&self) -> bool {
        self.channel.close()
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.channel.queue.is_closed()
    }

    /// The number of queued messages.
    pub fn len(&self) -> usize {
        self.channel.queue.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.channel.queue.is_empty()
    }

    /// Whether the channel is at capacity (never for an unbounded one).
    pub fn is_full(&self) -> bool {
        self.channel.queue.is_full()
    }

    /// The capacity: `Some(cap)` when bounded, `None` when unbounded.
    pub fn capacity(&self) -> Option<usize> {
        self.channel.queue.capacity()
    }

    /// The number of live senders of this channel.
    pub fn sender_count(&self) -> usize {
        self.channel.senders.load(Ordering::SeqCst)
    }

    /// The number of live receivers of this channel.
    pub fn receiver_count(&self) -> usize {
        self.channel.receivers.load(Ordering::SeqCst)
    }

    /// Whether `self` and `other` receive from the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.channel, &other.channel)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        check_count(self.channel.receivers.fetch_add(1, Ordering::Relaxed));
        Receiver {
            channel: self.channel.clone(),
            wait: Wait::Idle,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.channel.end_wait(&mut self.wait, false);
        if self.channel.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.channel.close();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Cancel safe like [`Receiver::recv`]: a message is taken only by the
/// poll that yields it.
///
/// Unlike a [`Recv`] future, the stream keeps its place in the line of
/// waiters inside the `Receiver` after a poll that returned `Pending`
/// (there is no future to drop). If you stop polling it (a `select` took
/// another branch) while other receivers of the same channel wait, the
/// next message's wakeup goes to this receiver's task, not to them, and
/// the message waits until this receiver is polled again or dropped. Use
/// [`recv`](Receiver::recv) in such loops, or keep one receiver per task.
impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.channel.poll_recv(&mut this.wait, cx).map(Result::ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}

/// The future of [`Sender::send`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Send<'a, T> {
    sender: &'a Sender<T>,
    msg: Option<T>,
    listener: Option<EventListener>,
    /// Where the future was created: the task's await point while it
    /// waits (see `tulipa_core::await_point`).
    location: &'static std::panic::Location<'static>,
}

// The message is moved in and out by value and never pinned.
impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let location = self.location;
        #[allow(clippy::redundant_closure_call)]
        let polled = (move || -> Poll<Self::Output> {
            let this = &mut *self;
            loop {
                let msg = this
                    .msg
                    .take()
                    .expect("tulipa_channel::Send polled after it completed");
                match this.sender.channel.try_send(msg) {
                    Ok(()) => {
                        this.end_wait();
                        return Poll::Ready(Ok(()));
                    }
                    Err(TrySendError::Closed(m)) => {
                        this.end_wait();
                        return Poll::Ready(Err(SendError(m)));
                    }
                    Err(TrySendError::Full(m)) => this.msg = Some(m),
                }
                match &mut this.listener {
                    None => this.listener = Some(this.sender.channel.send_ops.listen()),
                    Some(l) => match Pin::new(l).poll(cx) {
                        Poll::Ready(()) => {
                            if let Some(l) = this.listener.take() {
                                this.sender.channel.send_ops.finished(l);
                            }
                        }
                        Poll::Pending => return Poll::Pending,
                    },
                }
            }
        })();
        if polled.is_pending() {
            tulipa_core::await_point::set(location);
        }
        polled
    }
}

impl<T> Send<'_, T> {
    /// Abandons the listener, if any (passing on a notification it had).
    fn end_wait(&mut self) {
        if let Some(l) = self.listener.take() {
            self.sender.channel.send_ops.abandon(l);
        }
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        self.end_wait();
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send").finish_non_exhaustive()
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Recv<'a, T> {
    receiver: &'a Receiver<T>,
    wait: Wait,
    /// Where the future was created: the task's await point while it
    /// waits (see `tulipa_core::await_point`).
    location: &'static std::panic::Location<'static>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let location = self.location;
        #[allow(clippy::redundant_closure_call)]
        let polled = (move || -> Poll<Self::Output> {
            let this = &mut *self;
            this.receiver.channel.poll_recv(&mut this.wait, cx)
        })();
        if polled.is_pending() {
            tulipa_core::await_point::set(location);
        }
        polled
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.receiver.channel.end_wait(&mut self.wait, false);
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_mpmc;
