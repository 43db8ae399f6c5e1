//! A one-shot channel: one value, sent once, from one task to another
//! (asyncio's `Future` used as a reply slot).
//!
//! # Design
//!
//! The shared state is a one-slot `concurrent-queue` (lock-free) and two
//! events: the receiver waits on `rx_event`, the sender's
//! [`closed`](Sender::closed) waits on `tx_event`. The whole state machine
//! is the slot's own:
//!
//! | slot | meaning |
//! | --- | --- |
//! | empty, open | nothing sent yet, both halves alive |
//! | full, open | impossible: the sender closes right after pushing |
//! | full, closed | the value was sent; the receiver may take it |
//! | empty, closed | the sender dropped without sending, the value was taken, or the receiver closed (or dropped) |
//!
//! The sender pushes, closes the slot and notifies the receiver; dropping
//! the sender without sending closes and notifies too. The receiver
//! closing (or dropping) makes a later push fail, which hands the value
//! back to [`Sender::send`]. A value pushed just before the receiver
//! dropped is dropped with the shared state. Waiting follows the crate's
//! protocol: try, listen, try again, wait.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{RecvError, SendError, TryRecvError};
use crate::sync::{Arc, Event, EventListener, Listener, PopError, Queue};

struct Inner<T> {
    slot: Queue<T>,
    /// The receiver waits here for the value or the sender's drop.
    rx_event: Event,
    /// [`Sender::closed`] waits here for the receiver's close or drop.
    tx_event: Event,
}

/// Creates a one-shot channel.
///
/// # Examples
///
/// ```
/// use futures_lite::future::block_on;
///
/// let (tx, rx) = tulipa_channel::oneshot::channel();
/// std::thread::spawn(move || tx.send(42).unwrap());
/// assert_eq!(block_on(rx), Ok(42));
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        slot: Queue::bounded(1),
        rx_event: Event::new(),
        tx_event: Event::new(),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver {
            inner,
            listener: None,
        },
    )
}

/// The sending half of a one-shot channel.
pub struct Sender<T> {
    /// `None` only after `send` consumed it (so `Drop` does nothing).
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    fn inner(&self) -> &Inner<T> {
        self.inner
            .as_ref()
            .expect("a oneshot::Sender is only emptied by send, which consumes it")
    }

    /// Sends the value, consuming the sender; never waits.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver was dropped or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulipa_channel::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(3).unwrap_err().0, 3);
    /// ```
    pub fn send(mut self, value: T) -> Result<(), SendError<T>> {
        let inner = self
            .inner
            .take()
            .expect("a oneshot::Sender is only emptied by send, which consumes it");
        let result = inner.slot.push(value).map_err(|e| SendError(e.into_inner()));
        inner.slot.close();
        inner.rx_event.notify(usize::MAX);
        result
    }

    /// Whether the receiver was dropped or closed: a send would fail.
    pub fn is_closed(&self) -> bool {
        self.inner().slot.is_closed()
    }

    /// Waits until the receiver is dropped or closed (for example to stop
    /// computing a reply nobody wants).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes; dropping it changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::future::block_on;
    ///
    /// let (tx, rx) = tulipa_channel::oneshot::channel::<()>();
    /// std::thread::spawn(move || drop(rx));
    /// block_on(tx.closed());
    /// assert!(tx.is_closed());
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            inner: self.inner(),
            listener: None,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.slot.close();
            inner.rx_event.notify(usize::MAX);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Closed<'a, T> {
    inner: &'a Inner<T>,
    listener: Option<EventListener>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            if this.inner.slot.is_closed() {
                this.listener = None;
                return Poll::Ready(());
            }
            match &mut this.listener {
                None => this.listener = Some(this.inner.tx_event.listen()),
                Some(l) => match Pin::new(l).poll(cx) {
                    Poll::Ready(()) => this.listener = None,
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Closed").finish_non_exhaustive()
    }
}

/// The receiving half of a one-shot channel; await it for the value.
///
/// # Cancel safety
///
/// Awaiting it is cancel safe: the value is taken only by the poll that
/// returns it, so dropping the `Receiver`'s await (for example in a
/// `race`) leaves the value in place for a later poll or `try_recv`.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
    listener: Option<EventListener>,
}

impl<T> Receiver<T> {
    /// Takes the value if it was sent.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing was sent yet,
    /// [`TryRecvError::Closed`] if the sender dropped without sending, the
    /// value was already taken, or the receiver was closed before a send.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_channel::TryRecvError;
    ///
    /// let (tx, rx) = tulipa_channel::oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.inner.slot.pop() {
            Ok(v) => Ok(v),
            Err(PopError::Empty) => Err(TryRecvError::Empty),
            Err(PopError::Closed) => Err(TryRecvError::Closed),
        }
    }

    /// Waits for the value, blocking the thread (for synchronous code).
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender dropped without sending.
    pub fn recv_blocking(self) -> Result<T, RecvError> {
        let mut listener: Option<EventListener> = None;
        loop {
            match self.try_recv() {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Closed) => return Err(RecvError),
                Err(TryRecvError::Empty) => {}
            }
            match listener.take() {
                None => listener = Some(self.inner.rx_event.listen()),
                Some(l) => l.wait(),
            }
        }
    }

    /// Refuses the value: a later [`Sender::send`] fails and hands it back,
    /// and [`Sender::closed`] completes. A value sent before the close can
    /// still be taken.
    pub fn close(&mut self) {
        if self.inner.slot.close() {
            self.inner.tx_event.notify(usize::MAX);
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match this.try_recv() {
                Ok(v) => {
                    this.listener = None;
                    return Poll::Ready(Ok(v));
                }
                Err(TryRecvError::Closed) => {
                    this.listener = None;
                    return Poll::Ready(Err(RecvError));
                }
                Err(TryRecvError::Empty) => {}
            }
            match &mut this.listener {
                None => this.listener = Some(this.inner.rx_event.listen()),
                Some(l) => match Pin::new(l).poll(cx) {
                    Poll::Ready(()) => this.listener = None,
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_oneshot {
    use super::*;
    use loom::thread;

    /// Send on one thread, blocking receive on another: the value arrives.
    #[test]
    fn loom_oneshot_send_recv() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let t = thread::spawn(move || tx.send(7));
            assert_eq!(rx.recv_blocking(), Ok(7));
            assert_eq!(t.join().unwrap(), Ok(()));
        });
    }

    /// The sender dropping without a send wakes the receiver with an
    /// error.
    #[test]
    fn loom_oneshot_sender_drop() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let t = thread::spawn(move || drop(tx));
            assert_eq!(rx.recv_blocking(), Err(RecvError));
            t.join().unwrap();
        });
    }

    /// Send racing the receiver's drop: either the send succeeds (and the
    /// value is dropped with the channel) or it hands the value back;
    /// `closed()` completes either way.
    #[test]
    fn loom_oneshot_send_races_receiver_drop() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let t = thread::spawn(move || drop(rx));
            crate::sync::loom_block_on(tx.closed());
            assert!(tx.is_closed());
            assert_eq!(tx.send(1), Err(SendError(1)));
            t.join().unwrap();
        });
    }

    /// An async receiver on one thread, the send on another.
    #[test]
    fn loom_oneshot_async_recv() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let t = thread::spawn(move || tx.send(3).unwrap());
            assert_eq!(crate::sync::loom_block_on(rx), Ok(3));
            t.join().unwrap();
        });
    }
}
