//! The per-host connection limit (aiohttp's `limit_per_host`).
//!
//! A request takes a permit of its origin before it is sent and holds it
//! until its response body is read to the end (or the response dropped).
//! Over HTTP/1.1 a request in flight owns its connection, so this bounds
//! the connections busy with one host (the pool may keep a few more idle:
//! it takes a connection back in a task of its own, and a checkout that
//! loses that race connects anew); over HTTP/2 it bounds the streams.
//!
//! Waiting is "listen, re-check, sleep" on an [`Event`]; a released permit
//! wakes one waiter.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use event_listener::Event;

/// One origin's count of requests in flight.
pub(crate) struct HostLimit {
    limit: usize,
    used: AtomicUsize,
    released: Event,
}

impl HostLimit {
    pub(crate) fn new(limit: usize) -> HostLimit {
        HostLimit {
            limit,
            used: AtomicUsize::new(0),
            released: Event::new(),
        }
    }

    fn try_acquire(&self) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < self.limit).then_some(used + 1)
            })
            .is_ok()
    }

    /// Waits for a permit.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a permit is taken only when this returns it.
    pub(crate) async fn acquire(self: &Arc<Self>) -> HostPermit {
        loop {
            if self.try_acquire() {
                break;
            }
            let listener = self.released.listen();
            if self.try_acquire() {
                break;
            }
            listener.await;
        }
        HostPermit(self.clone())
    }
}

/// A request's slot on its host; released on drop.
pub(crate) struct HostPermit(Arc<HostLimit>);

impl Drop for HostPermit {
    fn drop(&mut self) {
        self.0.used.fetch_sub(1, Ordering::AcqRel);
        self.0.released.notify(1);
    }
}
