//! Writes that outlive their [`File`](crate::File): the error hand-off and
//! the registry behind [`settle`](crate::settle).
//!
//! # The error hand-off ([`ErrorSlot`])
//!
//! A `File` hands buffered bytes to a blocking job and returns at once
//! (write-behind), so a failed write can only be reported later. Each file
//! owns one `ErrorSlot`, shared with its jobs. A job that fails calls
//! [`ErrorSlot::report`]; the file takes the error on its next operation.
//! When the file is dropped it calls [`ErrorSlot::orphan`]. Both run under
//! the slot's one mutex, so exactly one of two things happens to every
//! error:
//!
//! - reported before the orphaning: it sits in the slot, and `orphan` moves
//!   it to the global registry;
//! - reported after: `report` sees the slot orphaned and puts it straight in
//!   the registry.
//!
//! Either way it ends in the registry, where [`settle`](crate::settle)
//! returns it: no write error is lost silently, even after the file is
//! gone. The `has_error` flag lets the file skip the mutex on its fast path;
//! it is set under the mutex and only read as a hint.
//!
//! # The registry
//!
//! Every job that carries written bytes takes a [`Ticket`] when it is
//! submitted and releases it when it ends (a guard, so a panic releases it
//! too). Tickets are numbered in submission order; `settle` records the next
//! number when it is called and waits until no ticket below it is
//! outstanding. It does not wait for writes submitted after it started, so
//! it cannot be starved by a busy writer.
//!
//! Lock order: a slot's mutex may be held while taking the registry's
//! (`orphan` and `report` record into it); never the other way round.

use std::collections::BTreeSet;
use std::io;
use std::sync::atomic::Ordering;

use event_listener::Event;

use crate::sync::{AtomicBool, Mutex};

/// The per-file place where a background write leaves its error.
pub(crate) struct ErrorSlot {
    state: Mutex<SlotState>,
    has_error: AtomicBool,
}

struct SlotState {
    /// The first error not yet reported (later ones while it waits are
    /// counted into its message rather than kept).
    error: Option<io::Error>,
    /// How many further errors happened while `error` was waiting.
    more: usize,
    /// The file was dropped: errors go to the registry.
    orphaned: bool,
}

impl ErrorSlot {
    pub(crate) fn new() -> ErrorSlot {
        ErrorSlot {
            state: Mutex::new(SlotState {
                error: None,
                more: 0,
                orphaned: false,
            }),
            has_error: AtomicBool::new(false),
        }
    }

    /// A job failed: keep the error for the file, or give it to `sink` (the
    /// registry) if the file is gone.
    pub(crate) fn report(&self, err: io::Error, sink: impl FnOnce(io::Error)) {
        let mut s = lock(&self.state);
        if s.orphaned {
            drop(s);
            sink(err);
        } else if s.error.is_none() {
            s.error = Some(err);
            self.has_error.store(true, Ordering::Release);
        } else {
            s.more += 1;
        }
    }

    /// Whether an error is waiting (a hint: it may be taken meanwhile).
    pub(crate) fn has_error(&self) -> bool {
        self.has_error.load(Ordering::Acquire)
    }

    /// The waiting error, if any, for the file's next operation to return.
    pub(crate) fn take(&self) -> Option<io::Error> {
        if !self.has_error.load(Ordering::Acquire) {
            return None;
        }
        let mut s = lock(&self.state);
        self.has_error.store(false, Ordering::Relaxed);
        let more = std::mem::take(&mut s.more);
        s.error.take().map(|e| with_more(e, more))
    }

    /// The file is being dropped: hand a waiting error to `sink`, and send
    /// every later one there too.
    pub(crate) fn orphan(&self, sink: impl FnOnce(io::Error)) {
        let mut s = lock(&self.state);
        s.orphaned = true;
        let more = std::mem::take(&mut s.more);
        let err = s.error.take().map(|e| with_more(e, more));
        drop(s);
        if let Some(e) = err {
            sink(e);
        }
    }
}

fn with_more(err: io::Error, more: usize) -> io::Error {
    if more == 0 {
        err
    } else {
        io::Error::new(err.kind(), format!("{err} (and {more} later write errors)"))
    }
}

fn lock<T>(m: &Mutex<T>) -> crate::sync::MutexGuard<'_, T> {
    // The critical sections cannot panic (no user code runs in them), so a
    // poisoned lock still holds consistent data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The global registry of in-flight background writes and orphaned errors.
struct Registry {
    next: u64,
    in_flight: BTreeSet<u64>,
    errors: Vec<io::Error>,
}

static REGISTRY: std::sync::Mutex<Registry> = std::sync::Mutex::new(Registry {
    next: 0,
    in_flight: BTreeSet::new(),
    errors: Vec::new(),
});
static SETTLED: Event = Event::new();

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keeps an error no file is left to report, for [`settle`](crate::settle).
pub(crate) fn record(err: io::Error) {
    registry().errors.push(err);
}

/// A background write in flight: taken at submission, released on drop.
pub(crate) struct Ticket(u64);

impl Ticket {
    pub(crate) fn new() -> Ticket {
        let mut r = registry();
        let n = r.next;
        r.next += 1;
        r.in_flight.insert(n);
        Ticket(n)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        registry().in_flight.remove(&self.0);
        SETTLED.notify(usize::MAX);
    }
}

/// See [`crate::settle`].
pub(crate) async fn settle() -> io::Result<()> {
    let target = registry().next;
    loop {
        let listener = SETTLED.listen();
        {
            let mut r = registry();
            if r.in_flight.range(..target).next().is_none() {
                let mut errors = std::mem::take(&mut r.errors).into_iter();
                return match errors.next() {
                    None => Ok(()),
                    Some(first) => {
                        let more = errors.count();
                        Err(with_more(first, more))
                    }
                };
            }
        }
        listener.await;
    }
}

#[cfg(all(test, tulipa_loom))]
mod tests {
    use super::*;
    use loom::sync::Arc;

    /// A job's error and the file's drop race: the error ends either with
    /// the file (taken before the drop) or in the sink, exactly once.
    #[test]
    fn loom_error_handoff_loses_nothing() {
        loom::model(|| {
            let slot = Arc::new(ErrorSlot::new());
            let sunk = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
            let job = {
                let slot = slot.clone();
                let sunk = sunk.clone();
                loom::thread::spawn(move || {
                    slot.report(io::Error::other("disk full"), |_| {
                        sunk.fetch_add(1, Ordering::SeqCst);
                    });
                })
            };
            let taken = usize::from(slot.take().is_some());
            slot.orphan(|_| {
                sunk.fetch_add(1, Ordering::SeqCst);
            });
            job.join().unwrap();
            assert_eq!(taken + sunk.load(Ordering::SeqCst), 1);
        });
    }
}
