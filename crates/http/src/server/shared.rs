//! The state a server shares with its connections: counts, and the two
//! flags of graceful shutdown.
//!
//! Shutdown is two flags and an [`Event`] for them:
//!
//! 1. `closing`: the accept loop stops and drops the listener (new
//!    connections are refused by the OS); every connection is told to
//!    finish gracefully (HTTP/1: finish the request in flight, then close;
//!    idle keep-alive connections close at once; HTTP/2: `GOAWAY`, then
//!    finish the open streams).
//! 2. `cut`: the grace period is over; connections still open drop their
//!    hyper connection (closing the socket) and count themselves, and the
//!    requests they had in flight, as cut.
//!
//! `flags` is notified when one of the flags is set (connections and the
//! accept loop wait on it), `closed` when a connection ends (the drain and
//! a full accept loop wait on it). They are separate so that a connection
//! ending never wakes every other connection. Every wait is "listen,
//! re-check the condition, then sleep", so no notification is missed.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use event_listener::Event;
use tulipa_timer::{Instant, TimerHandle};

/// The server's settings that connections read.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) max_body_size: Option<u64>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) tls: Option<tulipa_net::tls::TlsAcceptor>,
    pub(crate) tls_handshake_timeout: Duration,
}

/// One connection's own count of requests in flight.
#[derive(Default)]
pub(crate) struct Conn {
    pub(crate) in_flight: AtomicUsize,
}

/// What a server and its connections share.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) timer: TimerHandle,
    /// Notified when `closing` or `cut` is set.
    flags: Event,
    /// Notified when a connection ends.
    closed: Event,
    closing: AtomicBool,
    cut: AtomicBool,
    /// Open connections.
    pub(crate) active: AtomicUsize,
    pub(crate) accepted: AtomicU64,
    /// Requests whose response head is not ready yet.
    pub(crate) in_flight: AtomicUsize,
    pub(crate) requests: AtomicU64,
    cut_connections: AtomicUsize,
    cut_requests: AtomicUsize,
    /// Set by the first call to `begin_close`: (connections open then, the
    /// deadline of the grace period).
    close: Mutex<Option<(usize, Option<Instant>)>>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Shared {
        Shared {
            config,
            timer: TimerHandle::current(),
            flags: Event::new(),
            closed: Event::new(),
            closing: AtomicBool::new(false),
            cut: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            cut_connections: AtomicUsize::new(0),
            cut_requests: AtomicUsize::new(0),
            close: Mutex::new(None),
        }
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    pub(crate) fn is_cut(&self) -> bool {
        self.cut.load(Ordering::Acquire)
    }

    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Waits until `cond` holds, re-checking it when `event` fires.
    async fn until(event: &Event, cond: impl Fn() -> bool) {
        loop {
            if cond() {
                return;
            }
            let listener = event.listen();
            if cond() {
                return;
            }
            listener.await;
        }
    }

    /// Waits until a shutdown begins.
    pub(crate) async fn closing(&self) {
        Shared::until(&self.flags, || self.is_closing()).await;
    }

    /// Waits until the grace period of a shutdown is over.
    pub(crate) async fn cut(&self) {
        Shared::until(&self.flags, || self.is_cut()).await;
    }

    /// Waits until fewer than `n` connections are open.
    pub(crate) async fn fewer_than(&self, n: usize) {
        Shared::until(&self.closed, || self.active() < n).await;
    }

    /// Starts a graceful shutdown with `grace` to finish (forever if
    /// `None`). Only the first call's grace period counts.
    pub(crate) fn begin_close(&self, grace: Option<Duration>) {
        let mut close = self.close.lock().unwrap_or_else(|e| e.into_inner());
        if close.is_none() {
            let deadline = grace.map(|g| {
                let now = self.timer.now();
                now.checked_add(g)
                    .unwrap_or(now + Duration::from_secs(86400 * 365))
            });
            *close = Some((self.active(), deadline));
            self.closing.store(true, Ordering::Release);
        }
        drop(close);
        self.flags.notify(usize::MAX);
    }

    /// Counts one connection as cut, with the requests it had in flight.
    pub(crate) fn record_cut(&self, in_flight: usize) {
        self.cut_connections.fetch_add(1, Ordering::AcqRel);
        self.cut_requests.fetch_add(in_flight, Ordering::AcqRel);
    }

    /// Waits for the connections to finish, cutting them at the deadline,
    /// and reports. Call after [`begin_close`](Shared::begin_close); any
    /// number of callers get the same report.
    pub(crate) async fn drain(&self) -> ShutdownReport {
        let (open, deadline) = self
            .close
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or((0, None));
        let all_done = self.fewer_than(1);
        match deadline {
            None => all_done.await,
            Some(deadline) => {
                let in_time = self.timer.sleep_until(deadline);
                let finished = futures_lite::future::or(
                    async {
                        all_done.await;
                        true
                    },
                    async {
                        in_time.await;
                        false
                    },
                )
                .await;
                if !finished {
                    self.cut.store(true, Ordering::Release);
                    self.flags.notify(usize::MAX);
                    self.fewer_than(1).await;
                }
            }
        }
        let cut = self.cut_connections.load(Ordering::Acquire);
        ShutdownReport {
            connections_finished: open.saturating_sub(cut),
            connections_cut: cut,
            requests_cut: self.cut_requests.load(Ordering::Acquire),
            requests_served: self.requests.load(Ordering::Acquire),
        }
    }
}

/// Counts a connection as open until dropped.
pub(crate) struct ActiveGuard(pub(crate) Arc<Shared>);

impl ActiveGuard {
    pub(crate) fn new(shared: Arc<Shared>) -> ActiveGuard {
        shared.active.fetch_add(1, Ordering::AcqRel);
        shared.accepted.fetch_add(1, Ordering::Relaxed);
        ActiveGuard(shared)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
        self.0.closed.notify(usize::MAX);
    }
}

/// What a graceful shutdown finished and what it had to cut.
///
/// Returned by [`ServerHandle::shutdown`](super::ServerHandle::shutdown)
/// and by a [`Serve`](super::Serve) future that was shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections open when the shutdown began that finished their
    /// requests and closed within the grace period.
    pub connections_finished: usize,
    /// Connections still open at the deadline, closed without finishing.
    pub connections_cut: usize,
    /// Requests in those connections whose response was not complete.
    pub requests_cut: usize,
    /// Requests the server received in its whole life.
    pub requests_served: u64,
}

impl ShutdownReport {
    /// Whether nothing was cut: every request got its whole response.
    pub fn is_clean(&self) -> bool {
        self.connections_cut == 0 && self.requests_cut == 0
    }
}

impl std::fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |n: u64| if n == 1 { "" } else { "s" };
        let (served, finished, cut, unfinished) = (
            self.requests_served,
            self.connections_finished as u64,
            self.connections_cut as u64,
            self.requests_cut as u64,
        );
        write!(
            f,
            "{served} request{} served; at shutdown {finished} connection{} finished, \
             {cut} cut with {unfinished} request{} unfinished",
            s(served),
            s(finished),
            s(unfinished)
        )
    }
}
