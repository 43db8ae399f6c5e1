//! Pinned storage for N futures of one type, polled through a [`ReadySet`].
//!
//! The futures live in one boxed slice, allocated once and never resized,
//! so a future never moves after it is first polled: slot `i` is
//! structurally pinned. A finished future is dropped in place (its slot
//! set to `None`); the whole slice is dropped at once when a combinator
//! gives up the rest (first error, first winner).
//!
//! [`drive`] polls one batch of woken children and reports each finished
//! one to a callback, which may stop the batch early.

#![allow(unsafe_code)] // the one projection from the pinned slice to a slot, proved below

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ready::ReadySet;

/// N futures, each pinned in its own slot of one allocation.
pub(crate) struct Slots<F> {
    futures: Pin<Box<[Option<F>]>>,
    live: usize,
}

impl<F> Slots<F> {
    pub(crate) fn new(futures: Vec<F>) -> Slots<F> {
        let live = futures.len();
        let boxed: Box<[Option<F>]> = futures.into_iter().map(Some).collect();
        Slots {
            futures: Box::into_pin(boxed),
            live,
        }
    }

    /// How many slots there are, finished or not.
    pub(crate) fn len(&self) -> usize {
        self.futures.len()
    }

    /// How many futures are still pending.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    fn slot(&mut self, i: usize) -> Pin<&mut Option<F>> {
        // SAFETY: pinning is structural for the slots of the slice: the
        // boxed slice is never reallocated, resized or moved out of (it is
        // only dropped whole, in `clear` or with `self`), and a slot's
        // future is only ever dropped in place through `Pin::set`. So a
        // future that was pinned here stays at this address until it is
        // dropped, which is what `Pin` promises it.
        unsafe { self.futures.as_mut().map_unchecked_mut(|s| &mut s[i]) }
    }

    /// Drops every future still pending, in slot order.
    pub(crate) fn clear(&mut self) {
        self.futures = Box::into_pin(Box::default());
        self.live = 0;
    }
}

impl<F> fmt::Debug for Slots<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slots")
            .field("len", &self.len())
            .field("pending", &self.live)
            .finish()
    }
}

/// Polls the futures `ready` lists as woken, once each; calls `done(i,
/// output)` for every one that finished (its slot is already empty), and
/// stops early if `done` returns `true`. Returns whether it stopped early.
///
/// A child that panics is dropped and its panic unwinds out of here; the
/// children after it in this batch are relisted first, so a caller that
/// catches the panic and polls again loses none of the others.
pub(crate) fn drive<F: Future>(
    slots: &mut Slots<F>,
    ready: &mut ReadySet,
    cx: &Context<'_>,
    mut done: impl FnMut(usize, F::Output) -> bool,
) -> bool {
    let batch = ready.take_batch(cx);
    let mut stopped = false;
    for (pos, &i) in batch.iter().enumerate() {
        if i >= slots.len() {
            // The slots were cleared (a winner or an error): nothing left.
            break;
        }
        let mut slot = slots.slot(i);
        let Some(future) = slot.as_mut().as_pin_mut() else {
            continue;
        };
        let mut child_cx = Context::from_waker(ready.waker(i));
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(&mut child_cx)));
        let polled = match polled {
            Ok(p) => p,
            Err(payload) => {
                // A future that panicked cannot be polled again: drop it,
                // keep the others listed, and let the panic go on.
                slot.set(None);
                slots.live -= 1;
                ready.forget(i);
                ready.relist(&batch[pos + 1..]);
                std::panic::resume_unwind(payload)
            }
        };
        if let Poll::Ready(out) = polled {
            slot.set(None);
            slots.live -= 1;
            ready.forget(i);
            if done(i, out) {
                stopped = true;
                break;
            }
        }
    }
    ready.recycle(batch);
    stopped
}
