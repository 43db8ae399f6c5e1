//! The lifecycle every protocol connection shares, stream or datagram:
//! the transport's state flags, the driver's park/notify handshake, the
//! flow-control marks, the close waiters, and the one way a connection
//! ends.
//!
//! # Design
//!
//! A transport is an `Arc<`[`Shared`]`<X, I>>`: fixed facts `I` (addresses,
//! descriptor) and one mutex-protected [`State`]`<X>`, where `X` is what
//! differs between kinds ([`Outgoing`]: the socket and the write buffer or
//! datagram queue). Everything else lives here, once:
//!
//! - **Park/notify.** A transport operation that needs the driver records
//!   what it wants in the state and calls [`State::notify`], which marks it
//!   `dirty` and, if the driver is `parked`, hands back the waker to wake
//!   after unlocking ([`Shared::update`] does the three steps). The driver
//!   clears both flags when its turn starts ([`State::begin_turn`]) and
//!   parks only if nothing made the state dirty since ([`State::park`]),
//!   under the lock, so no wakeup is lost (`connection::loom_tests`).
//! - **Flow control.** [`State::check_high`] records a pause when the
//!   buffer goes above the high-water mark; the driver delivers it
//!   (`pause_pending`). [`State::check_low`] says when `resume_writing` is
//!   due; a pause that was never delivered is dropped with its resume, so
//!   the two callbacks always alternate. The marks are validated as
//!   asyncio's `_set_write_buffer_limits` does.
//! - **The end.** [`Runner`] is the future spawned per connection: it wraps
//!   a [`Connection`] (the kind's own read/write loop) and ends it exactly
//!   once, whatever way the end comes: the connection's turn returns
//!   `Ready(err)`, a callback panics (the runner's `poll` unwinds with
//!   `polling` still set, and `Drop` calls no more callbacks), or the
//!   runtime drops it (`Drop` calls `connection_lost(Some(err))`). The
//!   socket is forgotten first (its descriptor closes before the protocol
//!   hears of it), then `connection_lost` runs, then, even if it panicked,
//!   `lost` is set, [`wait_closed`](Shared::poll_closed) wakes and the end
//!   hook (a server forgetting the connection) runs.
//!
//! Lock order: the state lock, then (inside a socket call) the reactor's
//! source lock or a TLS session's lock. Wakers are woken, and user
//! callbacks run, only after unlocking.

use std::future::Future;
use std::io;
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::sync::{Mutex, MutexGuard};

/// Default high-water mark of the write buffer (asyncio's 64 KiB).
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;
/// Default low-water mark of the write buffer (asyncio's 16 KiB).
pub const DEFAULT_LOW_WATER: usize = 16 * 1024;

/// Runs when a connection ended (a server forgets it).
pub(crate) type OnEnd = Box<dyn FnOnce() + Send>;

/// What a kind of transport keeps in its state besides the lifecycle.
pub(crate) trait Outgoing: Send + 'static {
    /// The socket, as the state holds it.
    type Io: Send;
    /// Bytes accepted and not yet written: what the marks apply to.
    fn buffered(&self) -> usize;
    /// Drops what is buffered (abort, end).
    fn discard(&mut self);
    /// Forgets the socket (the caller drops it after unlocking).
    fn take_io(&mut self) -> Option<Self::Io>;
}

/// The locked state of a transport.
pub(crate) type StateGuard<'a, X> = MutexGuard<'a, State<X>>;

/// A transport's mutable state. See the module docs.
pub(crate) struct State<X> {
    /// The kind's own part: socket, buffer, its own flags.
    pub(crate) x: X,
    pub(crate) high: usize,
    pub(crate) low: usize,
    /// Above the high-water mark since the last resume (pause delivered or
    /// pending).
    pub(crate) protocol_paused: bool,
    /// `pause_writing` must be delivered by the driver.
    pub(crate) pause_pending: bool,
    pub(crate) closing: bool,
    pub(crate) aborted: bool,
    /// `connection_lost` was delivered (or never will be) and the end is
    /// complete.
    pub(crate) lost: bool,
    /// Something the driver must look at changed.
    dirty: bool,
    /// The driver returned `Pending` and waits for `waker` to be woken.
    parked: bool,
    waker: Option<Waker>,
    /// Tasks in `wait_closed`.
    closed_waiters: Vec<Waker>,
}

impl<X: Outgoing> State<X> {
    /// Marks the state for the driver; returns the waker to wake after
    /// unlocking if the driver is parked.
    pub(crate) fn notify(&mut self) -> Option<Waker> {
        self.dirty = true;
        if self.parked {
            self.parked = false;
            self.waker.take()
        } else {
            None
        }
    }

    /// Records a pause if the buffer is above the high-water mark; returns
    /// whether it did.
    pub(crate) fn check_high(&mut self) -> bool {
        if !self.protocol_paused && self.x.buffered() > self.high {
            self.protocol_paused = true;
            self.pause_pending = true;
            true
        } else {
            false
        }
    }

    /// After a flush: whether `resume_writing` is due (the buffer drained
    /// to the low-water mark after a delivered pause).
    pub(crate) fn check_low(&mut self) -> bool {
        if !self.protocol_paused || self.x.buffered() > self.low {
            return false;
        }
        self.protocol_paused = false;
        // Paused and drained before the pause was delivered: the protocol
        // hears neither.
        !mem::take(&mut self.pause_pending)
    }

    /// Starts a driver turn: nothing is dirty, the driver is not parked.
    /// Returns whether `pause_writing` is due.
    pub(crate) fn begin_turn(&mut self) -> bool {
        self.dirty = false;
        self.parked = false;
        mem::take(&mut self.pause_pending)
    }

    /// Whether something changed since the driver's turn began.
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Parks the driver unless something changed since its turn began;
    /// returns whether it parked (else it must take another turn).
    pub(crate) fn park(&mut self, cx: &Context<'_>) -> bool {
        if self.dirty {
            return false;
        }
        self.parked = true;
        match &self.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => self.waker = Some(cx.waker().clone()),
        }
        true
    }

    /// Whether writes and sends are accepted.
    pub(crate) fn open(&self) -> bool {
        !self.closing && !self.lost
    }
}

/// Everything behind a transport: the state and the fixed facts.
pub(crate) struct Shared<X, I> {
    pub(crate) state: Mutex<State<X>>,
    pub(crate) info: I,
}

impl<X: Outgoing, I> Shared<X, I> {
    pub(crate) fn new(x: X, info: I) -> Arc<Shared<X, I>> {
        Arc::new(Shared {
            state: Mutex::new(State {
                x,
                high: DEFAULT_HIGH_WATER,
                low: DEFAULT_LOW_WATER,
                protocol_paused: false,
                pause_pending: false,
                closing: false,
                aborted: false,
                lost: false,
                dirty: false,
                parked: false,
                waker: None,
                closed_waiters: Vec::new(),
            }),
            info,
        })
    }

    /// Locks the state, ignoring poisoning: no critical section leaves it
    /// inconsistent when it panics (user callbacks never run under it).
    pub(crate) fn lock(&self) -> StateGuard<'_, X> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` under the lock; if it returns true the driver is notified
    /// (and woken after unlocking, if parked).
    pub(crate) fn update(&self, f: impl FnOnce(&mut State<X>) -> bool) {
        let mut st = self.lock();
        let w = if f(&mut st) { st.notify() } else { None };
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
    }

    /// asyncio's `close`: stop receiving, flush, then end. Idempotent.
    pub(crate) fn close(&self) {
        self.update(|st| !mem::replace(&mut st.closing, true));
    }

    /// asyncio's `abort`: drop the buffer and end now.
    pub(crate) fn abort(&self) {
        self.update(|st| {
            if st.lost {
                return false;
            }
            st.closing = true;
            st.aborted = true;
            st.x.discard();
            true
        });
    }

    /// Whether the transport is closing or closed.
    pub(crate) fn is_closing(&self) -> bool {
        !self.lock().open()
    }

    /// asyncio's `set_write_buffer_limits`, validated as asyncio does; a
    /// buffer already above the new high-water mark pauses the protocol.
    pub(crate) fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        let high = high.unwrap_or_else(|| match low {
            Some(l) => l.saturating_mul(4),
            None => DEFAULT_HIGH_WATER,
        });
        let low = low.unwrap_or(high / 4);
        if low > high {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "write buffer limits need high >= low, got high={high} and low={low}: raise \
                     high or lower low"
                ),
            ));
        }
        self.update(|st| {
            st.high = high;
            st.low = low;
            st.check_high()
        });
        Ok(())
    }

    /// The marks as `(low, high)`, asyncio's order.
    pub(crate) fn write_buffer_limits(&self) -> (usize, usize) {
        let st = self.lock();
        (st.low, st.high)
    }

    /// Bytes accepted and not yet written.
    pub(crate) fn write_buffer_size(&self) -> usize {
        self.lock().x.buffered()
    }

    /// Whether writing is paused (above the high-water mark since the last
    /// resume).
    pub(crate) fn is_writing_paused(&self) -> bool {
        self.lock().protocol_paused
    }

    /// `wait_closed`'s poll: ready once the end is complete.
    pub(crate) fn poll_closed(&self, cx: &Context<'_>) -> Poll<()> {
        let mut st = self.lock();
        if st.lost {
            return Poll::Ready(());
        }
        if !st.closed_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            st.closed_waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// One kind of connection's own loop (stream or datagram), run and ended
/// by a [`Runner`].
pub(crate) trait Connection: Send + 'static {
    /// The kind's part of the transport state.
    type Out: Outgoing;
    /// The kind's fixed facts.
    type Info: Send + Sync + 'static;
    /// What `connection_lost` hears when the runtime drops a live
    /// connection.
    const DROPPED: &'static str;

    /// Calls `connection_made`.
    fn made(&mut self, shared: &Arc<Shared<Self::Out, Self::Info>>);

    /// One turn of the loop: `Pending` once parked (or yielding),
    /// `Ready(err)` to end the connection with `connection_lost(err)`.
    fn turn(
        &mut self,
        shared: &Arc<Shared<Self::Out, Self::Info>>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Error>>;

    /// Calls `connection_lost`.
    fn lost(&mut self, err: Option<io::Error>);

    /// Drops the loop's own handle of the socket.
    fn release(&mut self);
}

/// The future that runs one connection and ends it exactly once. See the
/// module docs.
pub(crate) struct Runner<C: Connection> {
    conn: C,
    shared: Arc<Shared<C::Out, C::Info>>,
    /// `connection_made` was called.
    started: bool,
    /// `connection_lost` was called (or will never be).
    done: bool,
    /// `lost` was set, the waiters woken and `on_end` run.
    completed: bool,
    /// Inside `poll`: still true in `Drop` when a callback panicked.
    polling: bool,
    on_end: Option<OnEnd>,
}

// The runner never pins what it holds: moving it is fine.
impl<C: Connection> Unpin for Runner<C> {}

impl<C: Connection> Runner<C> {
    /// A runner that calls `connection_made` on its first poll.
    pub(crate) fn new(conn: C, shared: Arc<Shared<C::Out, C::Info>>) -> Self {
        Runner {
            conn,
            shared,
            started: false,
            done: false,
            completed: false,
            polling: false,
            on_end: None,
        }
    }

    /// Calls `connection_made` now, in the caller's task (the client side:
    /// asyncio's `create_connection` returns after it).
    pub(crate) fn announce(&mut self) {
        self.started = true;
        self.conn.made(&self.shared);
    }

    /// Runs `f` once the connection ended.
    pub(crate) fn on_end(mut self, f: OnEnd) -> Self {
        self.on_end = Some(f);
        self
    }

    /// Ends the connection: forgets the socket, calls `connection_lost`,
    /// completes. Runs once.
    fn finish(&mut self, err: Option<io::Error>) {
        if self.done {
            return;
        }
        self.done = true;
        self.close_io();
        // A panicking `connection_lost` must not leave `wait_closed`
        // waiting or a server counting the connection: complete first,
        // then let the panic go on to the runtime's panic policy.
        let conn = &mut self.conn;
        let res = panic::catch_unwind(AssertUnwindSafe(|| conn.lost(err)));
        self.complete();
        if let Err(payload) = res {
            panic::resume_unwind(payload);
        }
    }

    /// Forgets the socket: the descriptor closes here (the state held the
    /// only other reference), before the protocol hears of it.
    fn close_io(&mut self) {
        let io = {
            let mut st = self.shared.lock();
            st.closing = true;
            st.x.discard();
            st.parked = false;
            st.waker = None;
            st.x.take_io()
        };
        drop(io);
        self.conn.release();
    }

    /// Marks the connection lost, wakes `wait_closed` and runs the end
    /// hook. Runs once; by `finish` or, if `connection_lost` panicked or
    /// was skipped, by `Drop`.
    fn complete(&mut self) {
        if self.completed {
            return;
        }
        self.completed = true;
        let waiters = {
            let mut st = self.shared.lock();
            st.closing = true;
            st.lost = true;
            mem::take(&mut st.closed_waiters)
        };
        waiters.into_iter().for_each(Waker::wake);
        if let Some(f) = self.on_end.take() {
            f();
        }
    }
}

impl<C: Connection> Future for Runner<C> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        // Left set if a callback panics out of here.
        this.polling = true;
        if !this.started {
            this.announce();
        }
        let res = this.conn.turn(&this.shared, cx);
        this.polling = false;
        match res {
            Poll::Ready(err) => {
                this.finish(err);
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<C: Connection> Drop for Runner<C> {
    fn drop(&mut self) {
        if !self.done {
            if self.started && !self.polling && !std::thread::panicking() {
                self.finish(Some(io::Error::other(C::DROPPED)));
            } else {
                // Never announced, or a callback panicked: no more
                // callbacks, but the socket still closes.
                self.done = true;
                self.close_io();
            }
        }
        // Also after a `connection_lost` that panicked: waiters still wake
        // and a server still forgets the connection.
        self.complete();
    }
}
