//! Loom models of the mpmc channel (`cargo xtask loom`), in a file of
//! their own to keep `mpmc.rs` under tidy's 1,000 lines.

use super::*;
use loom::thread;

/// A sender blocked on a full channel and a receiver taking the
/// message: both finish, the messages arrive in order.
#[test]
fn loom_bounded_send_recv() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let t = thread::spawn(move || {
            tx.send_blocking(1).unwrap();
            tx.send_blocking(2).unwrap();
        });
        assert_eq!(rx.recv_blocking(), Ok(1));
        assert_eq!(rx.recv_blocking(), Ok(2));
        assert_eq!(rx.recv_blocking(), Err(RecvError));
        t.join().unwrap();
    });
}

/// The last sender dropping while a receiver waits: the receiver wakes
/// with the queued message, then with `RecvError`.
#[test]
fn loom_close_wakes_receiver() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let rx2 = rx.clone();
        let t = thread::spawn(move || rx2.recv_blocking());
        tx.try_send(5).unwrap();
        drop(tx);
        let mine = rx.recv_blocking();
        let theirs = t.join().unwrap();
        assert!(
            (mine == Ok(5) && theirs == Err(RecvError))
                || (mine == Err(RecvError) && theirs == Ok(5))
        );
    });
}

/// A sender waiting for room while the receiver drops: it wakes with
/// its message handed back.
#[test]
fn loom_receiver_drop_wakes_sender() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(1);
        tx.try_send(1).unwrap();
        let t = thread::spawn(move || tx.send_blocking(2));
        drop(rx);
        assert_eq!(t.join().unwrap(), Err(SendError(2)));
    });
}

/// A receive poll in the receive slot (register, re-check) racing a
/// send on another thread: the poll returns the message or its waker
/// is woken, never neither.
#[test]
fn loom_slot_recv_poll_races_send() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let t = thread::spawn(move || tx.try_send(6).unwrap());
        let woken = std::sync::Arc::new(Flag(loom::sync::atomic::AtomicBool::new(false)));
        let waker = std::task::Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = Box::pin(rx.recv());
        let first = fut.as_mut().poll(&mut cx);
        t.join().unwrap();
        match first {
            Poll::Ready(got) => assert_eq!(got, Ok(6)),
            Poll::Pending => {
                assert!(woken.0.load(loom::sync::atomic::Ordering::SeqCst));
                assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(Ok(6)));
            }
        }
    });
}

/// Two async receivers on two threads (one in the receive slot, the
/// other on the event, in either order) and two sends: each receiver
/// gets one message, whichever wakeup it used.
#[test]
fn loom_slot_and_listener_both_receive() {
    check_two_preemptions(|| {
        let (tx, rx) = unbounded::<u32>();
        let rx = shared_receiver(rx);
        let rx2 = rx.clone();
        let t = thread::spawn(move || crate::sync::block_on(rx2.recv()));
        let mine = {
            let tx = tx.clone();
            thread::spawn(move || {
                tx.try_send(1).unwrap();
                tx.try_send(2).unwrap();
            })
        };
        let got = crate::sync::block_on(rx.recv());
        let theirs = t.join().unwrap();
        mine.join().unwrap();
        let mut both = [got.unwrap(), theirs.unwrap()];
        both.sort_unstable();
        assert_eq!(both, [1, 2]);
        drop(tx);
    });
}

/// The slot holder and a listener wait while a third receiver takes
/// messages on the fast path (no wait): whichever wakeup each waiter
/// gets and whatever the third one steals, both waiters complete (a
/// completed slot receive passes no wakeup on; nothing is owed).
#[test]
fn loom_slot_listener_and_fast_path_receiver() {
    check_two_preemptions(|| {
        let (tx, rx) = unbounded::<u32>();
        let rx = shared_receiver(rx);
        let rx2 = rx.clone();
        let rx3 = rx.clone();
        let t = thread::spawn(move || crate::sync::block_on(rx2.recv()));
        // The main thread keeps `tx`: no close wakes a waiter.
        let tx2 = tx.clone();
        let sender = thread::spawn(move || {
            for i in 0..3 {
                tx2.try_send(i).unwrap();
            }
            rx3.try_recv().ok()
        });
        let mine = crate::sync::block_on(rx.recv()).unwrap();
        let theirs = t.join().unwrap().unwrap();
        let stolen = sender.join().unwrap();
        let mut got: Vec<u32> = [mine, theirs].into_iter().chain(stolen).collect();
        got.extend(rx.try_recv().ok());
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2]);
        drop(tx);
    });
}

/// Runs a model with at most two preemptions (the models with three
/// threads and several waits are too large for the default bound).
fn check_two_preemptions(model: impl Fn() + Sync + std::marker::Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(model);
}

/// One receiver shared between threads, not cloned: only a channel
/// with one `Receiver` uses the receive slot.
fn shared_receiver(rx: Receiver<u32>) -> std::sync::Arc<Receiver<u32>> {
    std::sync::Arc::new(rx)
}

/// A waker that sets a loom flag.
struct Flag(loom::sync::atomic::AtomicBool);

impl std::task::Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, loom::sync::atomic::Ordering::SeqCst);
    }
}

/// A waiting async send whose future is dropped after a pop may have
/// notified it passes the notification on: the other waiting sender
/// still gets the room (`Waiters::abandon`; without the pass-on, or
/// with a count that dropped below the real waiters, loom reports a
/// deadlock).
#[test]
fn loom_cancelled_send_passes_wakeup() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(1);
        tx.try_send(1).unwrap();
        let tx2 = tx.clone();
        let t = thread::spawn(move || tx2.send_blocking(2));
        {
            let mut fut = Box::pin(tx.send(3));
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            assert_eq!(rx.try_recv(), Ok(1));
            // Dropped without polling again.
        }
        assert_eq!(rx.recv_blocking(), Ok(2));
        t.join().unwrap().unwrap();
    });
}

/// Two senders wait on a full channel; the receiver's pops notify
/// each once (the count of unnotified listeners goes 2, 1, 0 in some
/// interleaving): both complete.
#[test]
fn loom_two_waiting_senders_both_complete() {
    check_two_preemptions(|| {
        let (tx, rx) = bounded::<u32>(1);
        tx.try_send(0).unwrap();
        let tx2 = tx.clone();
        let a = thread::spawn(move || tx2.send_blocking(1));
        let b = thread::spawn(move || tx.send_blocking(2));
        let mut got = [0; 3];
        for slot in got.iter_mut() {
            *slot = rx.recv_blocking().unwrap();
        }
        a.join().unwrap().unwrap();
        b.join().unwrap().unwrap();
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2]);
    });
}

/// An async receiver whose future is dropped after being woken passes
/// the wakeup on: the other receiver still gets the message.
#[test]
fn loom_cancelled_recv_passes_wakeup() {
    loom::model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let rx = shared_receiver(rx);
        let rx2 = rx.clone();
        let t = thread::spawn(move || rx2.recv_blocking());
        {
            let mut fut = Box::pin(rx.recv());
            let mut cx = Context::from_waker(std::task::Waker::noop());
            if let Poll::Ready(got) = fut.as_mut().poll(&mut cx) {
                // Cannot happen: nothing was sent yet.
                panic!("received {got:?} before any send");
            }
            tx.try_send(9).unwrap();
            // Dropped without polling again: its wakeup passes on.
        }
        assert_eq!(t.join().unwrap(), Ok(9));
    });
}
