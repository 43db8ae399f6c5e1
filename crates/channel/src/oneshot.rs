//! A one-shot channel: one value, sent once, from one task to another
//! (asyncio's `Future` used as a reply slot).
//!
//! # Design
//!
//! The shared state is one allocation: the value in a `Mutex<Option<T>>`
//! (held only to move the value in or out), a state word with two flags,
//! and two waker slots (`waker_slot.rs`): the receiver's waker and the
//! waker of [`Sender::closed`]. Nothing else is allocated, and nobody is
//! woken unless someone actually waits.
//!
//! | flag | set by | meaning |
//! | --- | --- | --- |
//! | `TX_GONE` | the sender's `send` (after storing the value) or drop | no value will come after what is stored |
//! | `RX_CLOSED` | the receiver's `close` or drop | a later `send` fails and hands the value back |
//!
//! `send` stores the value under the lock unless `RX_CLOSED` is set, then
//! sets `TX_GONE` and wakes the receiver. The receiver takes the value
//! under the lock; finding none, it reads `TX_GONE` (still under the lock,
//! so a value stored before the flag is always seen) to tell "not yet"
//! from "never". A value stored just before the receiver dropped is
//! dropped with the shared state. A waiter registers its waker, then
//! re-checks (the waker slot's protocol), so no wakeup is lost; the loom
//! models below check it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{RecvError, SendError, TryRecvError};
use crate::sync::{lock, Arc, AtomicUsize, Mutex, Ordering};
use crate::waker_slot::WakerSlot;

/// The sender sent or dropped: no value will come after what is stored.
const TX_GONE: usize = 1;
/// The receiver closed or dropped: sends fail.
const RX_CLOSED: usize = 2;

struct Inner<T> {
    state: AtomicUsize,
    value: Mutex<Option<T>>,
    /// The receiver's waker: woken by the send or the sender's drop.
    rx_waker: WakerSlot,
    /// [`Sender::closed`]'s waker: woken by the receiver's close or drop.
    tx_waker: WakerSlot,
}

impl<T> Inner<T> {
    fn rx_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & RX_CLOSED != 0
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut value = lock(&self.value);
        match value.take() {
            Some(v) => Ok(v),
            // Under the lock: a value stored before TX_GONE is seen above,
            // and no send stores one after RX_CLOSED.
            None if self.state.load(Ordering::Acquire) & (TX_GONE | RX_CLOSED) != 0 => {
                Err(TryRecvError::Closed)
            }
            None => Err(TryRecvError::Empty),
        }
    }
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
        state: AtomicUsize::new(0),
        value: Mutex::new(None),
        rx_waker: WakerSlot::new(),
        tx_waker: WakerSlot::new(),
    });
    (
        Sender {
            inner: inner.clone(),
            sent: false,
        },
        Receiver { inner },
    )
}

/// The sending half of a one-shot channel.
pub struct Sender<T> {
    inner: Arc<Inner<T>>,
    /// Set by `send`, which closes and notifies itself, so `Drop` need not.
    sent: bool,
}

impl<T> Sender<T> {
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
        self.sent = true;
        let inner = &*self.inner;
        let result = {
            let mut slot = lock(&inner.value);
            if inner.rx_closed() {
                Err(SendError(value))
            } else {
                *slot = Some(value);
                Ok(())
            }
        };
        inner.state.fetch_or(TX_GONE, Ordering::AcqRel);
        inner.rx_waker.wake();
        result
    }

    /// Whether the receiver was dropped or closed: a send would fail.
    pub fn is_closed(&self) -> bool {
        self.inner.rx_closed()
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
        Closed { inner: &self.inner }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if !self.sent {
            self.inner.state.fetch_or(TX_GONE, Ordering::AcqRel);
            self.inner.rx_waker.wake();
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
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let inner = self.inner;
        if inner.rx_closed() {
            return Poll::Ready(());
        }
        inner.tx_waker.register(cx.waker());
        if inner.rx_closed() {
            Poll::Ready(())
        } else {
            Poll::Pending
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
        self.inner.try_recv()
    }

    /// Waits for the value, blocking the thread (for synchronous code).
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender dropped without sending.
    pub fn recv_blocking(self) -> Result<T, RecvError> {
        crate::sync::block_on(self)
    }

    /// Refuses the value: a later [`Sender::send`] fails and hands it back,
    /// and [`Sender::closed`] completes. A value sent before the close can
    /// still be taken.
    pub fn close(&mut self) {
        if self.inner.state.fetch_or(RX_CLOSED, Ordering::AcqRel) & RX_CLOSED == 0 {
            self.inner.tx_waker.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.try_recv() {
            Ok(v) => return Poll::Ready(Ok(v)),
            Err(TryRecvError::Closed) => return Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => {}
        }
        this.inner.rx_waker.register(cx.waker());
        match this.try_recv() {
            Ok(v) => Poll::Ready(Ok(v)),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => Poll::Pending,
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
            crate::sync::block_on(tx.closed());
            assert!(tx.is_closed());
            assert_eq!(tx.send(1), Err(SendError(1)));
            t.join().unwrap();
        });
    }

    /// The receiver's close racing a send: the send succeeds exactly when
    /// the receiver then finds the value; otherwise the value comes back.
    #[test]
    fn loom_oneshot_close_races_send() {
        loom::model(|| {
            let (tx, mut rx) = channel::<u32>();
            let t = thread::spawn(move || tx.send(4));
            rx.close();
            let got = rx.try_recv();
            let sent = t.join().unwrap();
            match (sent, got) {
                (Ok(()), Ok(4)) | (Err(SendError(4)), Err(TryRecvError::Closed)) => {}
                (sent, got) => panic!("send {sent:?} but receive {got:?}"),
            }
        });
    }

    /// An async receiver on one thread, the send on another.
    #[test]
    fn loom_oneshot_async_recv() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let t = thread::spawn(move || tx.send(3).unwrap());
            assert_eq!(crate::sync::block_on(rx), Ok(3));
            t.join().unwrap();
        });
    }
}
