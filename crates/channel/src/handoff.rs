//! The crate's lock-free hand-offs, and all of its unsafe code:
//! [`AtomicWaker`] (one waiter's waker) and the oneshot's value cell
//! ([`pair`] → [`Putter`], [`Taker`]).
//!
//! # `AtomicWaker`
//!
//! One `Option<Waker>` in an `UnsafeCell` and a state word with two bits,
//! `REGISTERING` and `WAKING`. The cell is touched only by the thread that
//! moved the state from `WAITING` (no bit set) to `REGISTERING`
//! ([`register`](AtomicWaker::register)) or to `WAKING`
//! ([`take`](AtomicWaker::take)); while a bit is set nobody else can make
//! that move, so the two never touch the cell at the same time:
//!
//! - a `take` that finds `REGISTERING` only sets `WAKING` and leaves; the
//!   registering thread sees the bit when it tries to go back to `WAITING`,
//!   takes the waker it just stored and wakes it;
//! - a `register` that finds `WAKING` wakes its own waker at once: its
//!   waker is not stored, so its task must poll (and register) again.
//!
//! No wakeup is lost: the waiter registers, then re-checks its condition;
//! the waking side makes its change, then calls `take`. Both are
//! read-modify-writes of `state`, so one comes first in its modification
//! order. If the `take` comes first, the waiter's `register` reads (with
//! Acquire) what the `take` wrote (with Release), so the change happens
//! before the re-check, which sees it. If the `register` finishes first,
//! the `take` finds the waker and wakes it; if they overlap, the register
//! sees `WAKING` and wakes itself.
//!
//! # The oneshot's value
//!
//! The value lives in an `UnsafeCell<Option<T>>` whose owner is given by
//! the state word:
//!
//! | flag | set by | meaning |
//! | --- | --- | --- |
//! | `VALUE` | [`Putter::put`], with Release, after writing the cell | the cell holds a value nobody took; cleared by the taker |
//! | `TX_GONE` | `put`, or the putter's drop | no value will come after what is stored |
//! | `RX_CLOSED` | [`Taker::close`] (and the taker's drop) | a later `put` fails and hands the value back |
//!
//! Until `VALUE` is set, the cell belongs to the one [`Putter`] (`put`
//! consumes it): it writes the value, then publishes it with one
//! compare-exchange that sets `VALUE | TX_GONE` unless `RX_CLOSED` is set;
//! if it is, `VALUE` is never set and the putter takes its value back.
//! Once `VALUE` is set, the cell belongs to the one caller whose
//! `fetch_and(!VALUE)` (Acquire) found the bit; only `put` sets it, once,
//! so at most one caller ever wins. A value nobody took is dropped with
//! the shared state (the `Option` drops it), exactly once.
#![allow(unsafe_code)]

use std::task::{Context, Poll, Waker};

use crate::error::{RecvError, TryRecvError};
use crate::sync::{Arc, AtomicUsize, Ordering, UnsafeCell};

/// Nobody registers or wakes: the cell is free.
const WAITING: usize = 0;
/// A `register` owns the cell.
const REGISTERING: usize = 0b01;
/// A `take` owns the cell (or, with `REGISTERING`, asked the registering
/// thread to wake).
const WAKING: usize = 0b10;

/// One waiter's waker, registered and woken without a lock.
///
/// One waiter at a time: if two tasks register concurrently, the later
/// one replaces the earlier one's waker (callers that may have several
/// waiters keep the others elsewhere, as the mpmc channel does).
pub(crate) struct AtomicWaker {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cell (a `Waker`, which is `Send + Sync`) is only accessed by
// the thread that moved `state` away from `WAITING` (see the module doc),
// so sharing `&AtomicWaker` between threads never makes two accesses
// overlap; everything else is an atomic.
unsafe impl Sync for AtomicWaker {}

impl AtomicWaker {
    pub(crate) fn new() -> Self {
        AtomicWaker {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// Stores `waker` (keeping the stored one if it wakes the same task).
    /// The caller must re-check its condition afterwards.
    pub(crate) fn register(&self, waker: &Waker) {
        match self.state.compare_exchange(
            WAITING,
            REGISTERING,
            Ordering::Acquire,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // SAFETY: this thread moved `state` from WAITING to
                // REGISTERING, and no other thread touches the cell until
                // it is WAITING again (only the WAITING → REGISTERING or
                // WAITING → WAKING mover may). The Acquire pairs with the
                // Release that last stored WAITING, so the previous
                // owner's accesses happen before these.
                let old = self.waker.with_mut(|slot| unsafe {
                    match &*slot {
                        Some(stored) if stored.will_wake(waker) => None,
                        _ => (*slot).replace(waker.clone()),
                    }
                });
                if let Err(actual) = self.state.compare_exchange(
                    REGISTERING,
                    WAITING,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    // A `take` came meanwhile, set WAKING and left the
                    // waking to us.
                    debug_assert_eq!(actual, REGISTERING | WAKING);
                    // SAFETY: REGISTERING is still set: the cell is still
                    // ours alone (a `take` that finds it set never touches
                    // the cell).
                    let stored = self.waker.with_mut(|slot| unsafe { (*slot).take() });
                    self.state.swap(WAITING, Ordering::AcqRel);
                    if let Some(w) = stored {
                        w.wake();
                    }
                }
                drop(old);
            }
            // A wake is taking the stored waker right now, or another
            // register is under way (two waiters at once, against the
            // contract): this waker is not stored, so poll again rather
            // than sleep unregistered. The state is held for a few
            // instructions only.
            Err(_) => {
                crate::sync::spin_hint();
                waker.wake_by_ref();
            }
        }
    }

    /// Takes the stored waker out, if any and if no other `take` or
    /// `register` holds the cell (a concurrent `register` then wakes its
    /// waker itself). Call after making the change the waiter waits for.
    pub(crate) fn take(&self) -> Option<Waker> {
        match self.state.fetch_or(WAKING, Ordering::AcqRel) {
            WAITING => {
                // SAFETY: this call moved `state` from WAITING to WAKING,
                // so the cell is ours alone until WAKING is cleared below;
                // the AcqRel pairs with the Release that stored WAITING,
                // so the registering thread's write happens before this.
                let stored = self.waker.with_mut(|slot| unsafe { (*slot).take() });
                self.state.fetch_and(!WAKING, Ordering::Release);
                stored
            }
            // REGISTERING: that thread wakes; WAKING: another take does.
            _ => None,
        }
    }

    /// Wakes the stored waker, if any (see [`take`](Self::take)).
    pub(crate) fn wake(&self) {
        if let Some(w) = self.take() {
            w.wake();
        }
    }
}

/// The cell holds a value nobody took.
const VALUE: usize = 0b001;
/// The putter sent or dropped: no value will come after what is stored.
const TX_GONE: usize = 0b010;
/// The taker closed or dropped: a later `put` fails.
const RX_CLOSED: usize = 0b100;

/// The oneshot's shared state: one allocation.
struct Shared<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    /// The taker's waker: woken by the put or the putter's drop.
    rx_waker: AtomicWaker,
    /// The putter's waker ([`Putter::poll_closed`]): woken by the close.
    tx_waker: AtomicWaker,
}

// SAFETY: the value cell is accessed only by its owner as the state word
// assigns it (the module doc): the one `Putter` before `VALUE` is set, the
// one caller that cleared `VALUE` after, or the last `Arc` in `drop`. So a
// `&Shared` used from several threads never makes two accesses overlap,
// and a `T` only moves between threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for Shared<T> {}

/// Creates the two ends of a oneshot hand-off.
pub(crate) fn pair<T>() -> (Putter<T>, Taker<T>) {
    let shared = Arc::new(Shared {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: AtomicWaker::new(),
        tx_waker: AtomicWaker::new(),
    });
    (
        Putter {
            shared: shared.clone(),
            done: false,
        },
        Taker { shared },
    )
}

/// The sending end: puts one value, once.
pub(crate) struct Putter<T> {
    shared: Arc<Shared<T>>,
    /// Set by `put`, which sets `TX_GONE` itself, so `Drop` need not.
    done: bool,
}

impl<T> Putter<T> {
    /// Puts `value` unless the taker closed; hands it back if so.
    pub(crate) fn put(mut self, value: T) -> Result<(), T> {
        self.done = true;
        let s = &*self.shared;
        // SAFETY: VALUE is not set (only `put` sets it, and `put` consumes
        // the one `Putter`), so nobody else touches the cell: a taker
        // reads only after clearing a VALUE it saw set, and `Shared` is
        // not dropped while this `Arc` lives.
        s.value.with_mut(|cell| unsafe { *cell = Some(value) });
        let mut state = s.state.load(Ordering::Relaxed);
        loop {
            if state & RX_CLOSED != 0 {
                // SAFETY: VALUE was not published, so the cell is still
                // ours alone (as above).
                let back = s.value.with_mut(|cell| unsafe { (*cell).take() });
                s.state.fetch_or(TX_GONE, Ordering::Release);
                return Err(back.expect("the value was written above"));
            }
            // Release: the write above happens before any read by the
            // taker that sees VALUE (with Acquire).
            match s.state.compare_exchange_weak(
                state,
                state | VALUE | TX_GONE,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(now) => state = now,
            }
        }
        s.rx_waker.wake();
        Ok(())
    }

    /// Whether the taker closed or dropped.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) & RX_CLOSED != 0
    }

    /// `Ready` once the taker closed or dropped.
    pub(crate) fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_closed() {
            return Poll::Ready(());
        }
        self.shared.tx_waker.register(cx.waker());
        if self.is_closed() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<T> Drop for Putter<T> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.state.fetch_or(TX_GONE, Ordering::Release);
            self.shared.rx_waker.wake();
        }
    }
}

/// The receiving end: takes the value, once.
pub(crate) struct Taker<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Taker<T> {
    /// Takes the value if it was put.
    pub(crate) fn try_take(&self) -> Result<T, TryRecvError> {
        let s = &*self.shared;
        let state = s.state.load(Ordering::Acquire);
        if state & VALUE != 0 && s.state.fetch_and(!VALUE, Ordering::Acquire) & VALUE != 0 {
            // SAFETY: this call cleared VALUE, which `put` set (with
            // Release, after writing the cell, and never again): the write
            // happens before this read, the putter is done with the cell,
            // and no other caller can clear VALUE after us.
            let value = s.value.with_mut(|cell| unsafe { (*cell).take() });
            return Ok(value.expect("VALUE is set only with a value in the cell"));
        }
        // Without VALUE: TX_GONE means taken or never sent; RX_CLOSED means
        // no `put` can succeed any more.
        if state & (TX_GONE | RX_CLOSED) != 0 {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Takes the value, or registers `cx`'s waker and returns `Pending`.
    pub(crate) fn poll_take(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        for registered in [false, true] {
            match self.try_take() {
                Ok(v) => return Poll::Ready(Ok(v)),
                Err(TryRecvError::Closed) => return Poll::Ready(Err(RecvError)),
                Err(TryRecvError::Empty) if registered => {}
                Err(TryRecvError::Empty) => self.shared.rx_waker.register(cx.waker()),
            }
        }
        Poll::Pending
    }

    /// Refuses the value: a later `put` fails. Returns `true` if this call
    /// closed it (and woke the putter's `poll_closed`).
    pub(crate) fn close(&self) -> bool {
        let first = self.shared.state.fetch_or(RX_CLOSED, Ordering::AcqRel) & RX_CLOSED == 0;
        if first {
            self.shared.tx_waker.wake();
        }
        first
    }
}

impl<T> Drop for Taker<T> {
    fn drop(&mut self) {
        self.close();
    }
}
