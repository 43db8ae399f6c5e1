//! A one-shot channel: one value, sent once, from one task to another
//! (asyncio's `Future` used as a reply slot).
//!
//! # Design
//!
//! The shared state is one allocation with no lock (`handoff.rs`, the
//! crate's only unsafe code): the value in an `UnsafeCell<Option<T>>`
//! whose owner is given by a state word, and two lock-free waker slots:
//! the receiver's waker and the waker of [`Sender::closed`]. Nothing else
//! is allocated, and nobody is woken unless someone actually waits.
//!
//! | flag | set by | meaning |
//! | --- | --- | --- |
//! | `VALUE` | the sender's `send`, after writing the value | a value is stored; cleared by the one receive that takes it |
//! | `TX_GONE` | the sender's `send` or drop | no value will come after what is stored |
//! | `RX_CLOSED` | the receiver's `close` or drop | a later `send` fails and hands the value back |
//!
//! `send` writes the value, then sets `VALUE | TX_GONE` in one
//! compare-exchange unless `RX_CLOSED` is set (then it takes the value
//! back and fails), and wakes the receiver. The receiver takes the value
//! only after clearing a `VALUE` it saw set; finding none, `TX_GONE` tells
//! "never" from "not yet". A value sent but never received is dropped
//! with the shared state, exactly once. A waiter registers its waker, then
//! re-checks, so no wakeup is lost; the loom models below check it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{RecvError, SendError, TryRecvError};
use crate::handoff::{pair, Putter, Taker};

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
    let (tx, rx) = pair();
    (Sender { tx }, Receiver { rx })
}

/// The sending half of a one-shot channel.
pub struct Sender<T> {
    tx: Putter<T>,
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
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        self.tx.put(value).map_err(SendError)
    }

    /// Whether the receiver was dropped or closed: a send would fail.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
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
        Closed { tx: &self.tx }
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
    tx: &'a Putter<T>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.tx.poll_closed(cx)
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
    rx: Taker<T>,
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
        self.rx.try_take()
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
        self.rx.close();
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().rx.poll_take(cx)
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
    use loom::sync::Arc;
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

    /// A receive poll (register, re-check) racing the send, with a
    /// waker that records its wake: the poll either returns the value or
    /// is woken, never neither.
    #[test]
    fn loom_oneshot_recv_poll_races_send() {
        loom::model(|| {
            let (tx, mut rx) = channel::<u32>();
            let t = thread::spawn(move || tx.send(8).unwrap());
            let (woken, waker) = loom_waker();
            let mut cx = Context::from_waker(&waker);
            match Pin::new(&mut rx).poll(&mut cx) {
                Poll::Ready(v) => assert_eq!(v, Ok(8)),
                Poll::Pending => {
                    t.join().unwrap();
                    assert!(woken.load(loom::sync::atomic::Ordering::SeqCst));
                    assert_eq!(rx.try_recv(), Ok(8));
                    return;
                }
            }
            t.join().unwrap();
        });
    }

    /// `Sender::closed` polled while the receiver drops: it completes or
    /// is woken.
    #[test]
    fn loom_oneshot_closed_wakes_on_receiver_drop() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let t = thread::spawn(move || drop(rx));
            let (woken, waker) = loom_waker();
            let mut cx = Context::from_waker(&waker);
            let ready = Pin::new(&mut tx.closed()).poll(&mut cx).is_ready();
            t.join().unwrap();
            assert!(ready || woken.load(loom::sync::atomic::Ordering::SeqCst));
            assert!(tx.is_closed());
        });
    }

    /// A value sent while the receiver drops is dropped exactly once,
    /// whichever side wins, and never leaks.
    #[test]
    fn loom_oneshot_send_races_drop_drops_value_once() {
        loom::model(|| {
            let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let (tx, rx) = channel::<DropCount>();
            let t = thread::spawn(move || drop(rx));
            let back = tx.send(DropCount(drops.clone()));
            t.join().unwrap();
            drop(back);
            assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1);
        });
    }

    /// Two threads calling `try_recv` on one receiver while the send
    /// lands: the value is taken at most once.
    #[test]
    fn loom_oneshot_two_try_recv_take_once() {
        loom::model(|| {
            let (tx, rx) = channel::<u32>();
            let rx = Arc::new(rx);
            let rx2 = rx.clone();
            let t = thread::spawn(move || rx2.try_recv().ok());
            tx.send(5).unwrap();
            let mine = rx.try_recv().ok();
            let theirs = t.join().unwrap();
            assert!(mine.is_none() || theirs.is_none(), "taken twice");
        });
    }

    struct DropCount(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// A waker that sets a loom flag when woken.
    fn loom_waker() -> (Arc<loom::sync::atomic::AtomicBool>, std::task::Waker) {
        struct Flag(Arc<loom::sync::atomic::AtomicBool>);
        impl std::task::Wake for Flag {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.store(true, loom::sync::atomic::Ordering::SeqCst);
            }
        }
        let flag = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let waker = std::task::Waker::from(std::sync::Arc::new(Flag(flag.clone())));
        (flag, waker)
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
