//! A broadcast channel: every receiver sees every message, through a
//! bounded ring; a receiver that falls behind learns how many messages it
//! missed and carries on from the oldest one still kept.
//!
//! # Design
//!
//! One `Mutex<Ring>` holds the last `cap` messages, each tagged with its
//! sequence number and the number of receivers that still have to read
//! it. A receiver is a cursor: the sequence number of the next message it
//! wants. So:
//!
//! - `send` appends (dropping the oldest message if the ring is full) and
//!   never waits: a slow receiver never slows a sender down.
//! - `recv` clones the message at the cursor. If the cursor points before
//!   the oldest kept message, the receiver lagged: it gets
//!   [`RecvError::Lagged`]`(missed)` and its cursor jumps to the oldest kept
//!   message.
//! - A message every receiver has read is released at once (the front of
//!   the ring is popped while its count is zero), so values are not kept
//!   alive longer than needed.
//!
//! Receivers wait on one event (notified for all on every send and on
//! close), with the crate's try / listen / try again / wait protocol.
//! Lock order: only the ring lock exists; no user code runs under it
//! except `T::clone`.
//!
//! The channel is closed for receivers when the last [`Sender`] drops:
//! they read what is left, then get [`RecvError::Closed`]. A send with no
//! receiver fails and hands the message back.

use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::SendError;
use crate::sync::{check_count, lock, Arc, Event, EventListener, Listener, Mutex};

struct Slot<T> {
    value: T,
    /// Receivers that have not read this message yet.
    unread: usize,
}

struct Ring<T> {
    slots: VecDeque<Slot<T>>,
    /// The sequence number of `slots[0]`.
    head: u64,
    cap: usize,
    senders: usize,
    receivers: usize,
}

impl<T> Ring<T> {
    /// The sequence number the next message will get.
    fn tail(&self) -> u64 {
        self.head + self.slots.len() as u64
    }

    /// Pops messages every receiver has read.
    fn release_read(&mut self) {
        while self.slots.front().is_some_and(|s| s.unread == 0) {
            self.slots.pop_front();
            self.head += 1;
        }
    }

    /// Forgets the cursor `next` of a receiver that goes away.
    fn unsubscribe(&mut self, next: u64) {
        let from = next.saturating_sub(self.head) as usize;
        for slot in self.slots.iter_mut().skip(from) {
            slot.unread -= 1;
        }
        self.receivers -= 1;
        self.release_read();
    }

    /// Adds a receiver whose cursor is `next`.
    fn subscribe(&mut self, next: u64) {
        let from = next.saturating_sub(self.head) as usize;
        for slot in self.slots.iter_mut().skip(from) {
            slot.unread += 1;
        }
        check_count(self.receivers);
        self.receivers += 1;
    }
}

struct Shared<T> {
    ring: Mutex<Ring<T>>,
    /// Receivers wait here; notified for all on send and on close.
    event: Event,
}

/// Creates a broadcast channel that keeps the last `cap` messages for
/// receivers that have not read them yet.
///
/// # Panics
///
/// Panics if `cap` is 0: a receiver could never read anything.
///
/// # Examples
///
/// ```
/// use futures_lite::future::block_on;
///
/// let (tx, mut rx1) = tulipa_channel::broadcast::channel(16);
/// let mut rx2 = tx.subscribe();
/// assert_eq!(tx.send("hello").unwrap(), 2);
/// block_on(async {
///     assert_eq!(rx1.recv().await.unwrap(), "hello");
///     assert_eq!(rx2.recv().await.unwrap(), "hello");
/// });
/// ```
pub fn channel<T: Clone>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        cap > 0,
        "tulipa_channel::broadcast::channel(0): a broadcast channel needs a capacity of at least 1"
    );
    let shared = Arc::new(Shared {
        ring: Mutex::new(Ring {
            slots: VecDeque::with_capacity(cap.min(1024)),
            head: 0,
            cap,
            senders: 1,
            receivers: 1,
        }),
        event: Event::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            next: 0,
            listener: None,
        },
    )
}

/// Why a broadcast receive got no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvError {
    /// Every sender is gone and this receiver read every kept message.
    Closed,
    /// This receiver fell behind by this many messages, which are gone; the
    /// next receive returns the oldest message still kept.
    Lagged(u64),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => {
                f.write_str("receiving from a closed broadcast channel: every sender is gone")
            }
            RecvError::Lagged(n) => write!(
                f,
                "the receiver lagged behind and missed {n} messages; receive again to go on \
                 from the oldest one kept, or give the channel more capacity"
            ),
        }
    }
}

impl Error for RecvError {}

/// Why [`Receiver::try_recv`] got no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryRecvError {
    /// No new message yet.
    Empty,
    /// Every sender is gone and this receiver read every kept message.
    Closed,
    /// This receiver missed this many messages (see [`RecvError::Lagged`]).
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => {
                f.write_str("no new broadcast message yet: await `recv` to wait for one")
            }
            TryRecvError::Closed => RecvError::Closed.fmt(f),
            TryRecvError::Lagged(n) => RecvError::Lagged(*n).fmt(f),
        }
    }
}

impl Error for TryRecvError {}

/// The sending half of a broadcast channel; clone it for more producers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Clone> Sender<T> {
    /// Sends `value` to every current receiver; returns how many there
    /// are. Never waits: if the ring is full the oldest message is dropped
    /// and receivers that had not read it will see
    /// [`RecvError::Lagged`].
    ///
    /// # Errors
    ///
    /// [`SendError`] with `value` if there is no receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulipa_channel::broadcast::channel(4);
    /// assert_eq!(tx.send(1).unwrap(), 1);
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut ring = lock(&self.shared.ring);
        if ring.receivers == 0 {
            return Err(SendError(value));
        }
        let receivers = ring.receivers;
        if ring.slots.len() == ring.cap {
            // The ring is full: the oldest message goes.
            ring.slots.pop_front();
            ring.head += 1;
        }
        ring.slots.push_back(Slot {
            value,
            unread: receivers,
        });
        drop(ring);
        self.shared.event.notify(usize::MAX);
        Ok(receivers)
    }

    /// A new receiver that sees every message sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut ring = lock(&self.shared.ring);
        let next = ring.tail();
        ring.subscribe(next);
        Receiver {
            shared: self.shared.clone(),
            next,
            listener: None,
        }
    }

    /// The number of live receivers.
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.ring).receivers
    }

    /// The number of live senders.
    pub fn sender_count(&self) -> usize {
        lock(&self.shared.ring).senders
    }

    /// The number of kept messages some receiver has not read yet.
    pub fn len(&self) -> usize {
        lock(&self.shared.ring).slots.len()
    }

    /// Whether every receiver read every message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many messages the ring keeps.
    pub fn capacity(&self) -> usize {
        lock(&self.shared.ring).cap
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        let mut ring = lock(&self.shared.ring);
        check_count(ring.senders);
        ring.senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut ring = lock(&self.shared.ring);
        ring.senders -= 1;
        let last = ring.senders == 0;
        drop(ring);
        if last {
            self.shared.event.notify(usize::MAX);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

/// The receiving half of a broadcast channel: a cursor into the ring.
///
/// Cloning it gives a receiver at the same position (it will see the same
/// messages); [`resubscribe`](Self::resubscribe) gives one that sees only
/// new messages.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The sequence number of the next message this receiver wants.
    next: u64,
    listener: Option<EventListener>,
}

impl<T: Clone> Receiver<T> {
    /// Takes the next message now if there is one.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if there is no new message,
    /// [`TryRecvError::Lagged`] if messages were missed (the next call
    /// returns the oldest kept one), [`TryRecvError::Closed`] if every
    /// sender is gone and nothing is left.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_channel::broadcast::{channel, TryRecvError};
    ///
    /// let (tx, mut rx) = channel(2);
    /// for i in 0..5 {
    ///     tx.send(i).unwrap();
    /// }
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(3)));
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// assert_eq!(rx.try_recv(), Ok(4));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut ring = lock(&self.shared.ring);
        if self.next < ring.head {
            let missed = ring.head - self.next;
            self.next = ring.head;
            return Err(TryRecvError::Lagged(missed));
        }
        let index = (self.next - ring.head) as usize;
        let closed = ring.senders == 0;
        let Some(slot) = ring.slots.get_mut(index) else {
            return Err(if closed {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        };
        slot.unread -= 1;
        let last_reader = slot.unread == 0;
        self.next += 1;
        if last_reader && index == 0 {
            // The last reader of the oldest message takes it: no clone.
            if let Some(front) = ring.slots.pop_front() {
                ring.head += 1;
                ring.release_read();
                return Ok(front.value);
            }
        }
        Ok(ring.slots[index].value.clone())
    }

    /// Receives the next message, waiting until one is sent.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged`] if messages were missed (the next call returns
    /// the oldest kept one), [`RecvError::Closed`] once every sender is
    /// gone and nothing is left.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the cursor moves only in the poll that returns a
    /// message, so dropping the future loses nothing.
    #[track_caller]
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            location: std::panic::Location::caller(),
        }
    }

    /// Receives the next message, blocking the thread (for synchronous
    /// code).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        let mut listener: Option<EventListener> = None;
        loop {
            match self.try_recv() {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Empty) => {}
            }
            match listener.take() {
                None => listener = Some(self.shared.event.listen()),
                Some(l) => l.wait(),
            }
        }
    }

    /// One unit of the task's cooperative budget per receive
    /// (`tulipa_core::coop`): with none left, `Pending` at once.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let Poll::Ready(progress) = tulipa_core::coop::poll_proceed(cx) else {
            return Poll::Pending;
        };
        loop {
            let result = match self.try_recv() {
                Ok(v) => Ok(v),
                Err(TryRecvError::Closed) => Err(RecvError::Closed),
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                Err(TryRecvError::Empty) => {
                    match &mut self.listener {
                        None => self.listener = Some(self.shared.event.listen()),
                        Some(l) => match Pin::new(l).poll(cx) {
                            Poll::Ready(()) => self.listener = None,
                            Poll::Pending => return Poll::Pending,
                        },
                    }
                    continue;
                }
            };
            progress.made_progress();
            self.listener = None;
            return Poll::Ready(result);
        }
    }
}

impl<T> Receiver<T> {
    /// A new receiver that sees only messages sent from now on.
    pub fn resubscribe(&self) -> Receiver<T> {
        let mut ring = lock(&self.shared.ring);
        let next = ring.tail();
        ring.subscribe(next);
        Receiver {
            shared: self.shared.clone(),
            next,
            listener: None,
        }
    }

    /// The number of kept messages this receiver has not read yet.
    pub fn len(&self) -> usize {
        let ring = lock(&self.shared.ring);
        (ring.tail() - self.next.max(ring.head)) as usize
    }

    /// Whether this receiver has read every kept message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone (messages may still be left to read).
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.ring).senders == 0
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        let mut ring = lock(&self.shared.ring);
        let next = self.next.max(ring.head);
        ring.subscribe(next);
        Receiver {
            shared: self.shared.clone(),
            next,
            listener: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        lock(&self.shared.ring).unsubscribe(self.next);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
    /// Where the future was created: the task's await point while it
    /// waits (see `tulipa_core::await_point`).
    location: &'static std::panic::Location<'static>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let location = self.location;
        #[allow(clippy::redundant_closure_call)]
        let polled = (move || -> Poll<Self::Output> { self.receiver.poll_recv(cx) })();
        if polled.is_pending() {
            tulipa_core::await_point::set(location);
        }
        polled
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Recv").finish_non_exhaustive()
    }
}
