//! One registered file descriptor: the readiness the reactor learned for
//! it, and the tasks waiting on it.
//!
//! A [`Source`] is shared (`Arc`) between the [`Async`](crate::Async) that
//! owns the descriptor and the thread running [`Driver::park`], which holds
//! a clone only for the length of one dispatch.
//!
//! # Readiness, registered once
//!
//! The descriptor is added to the OS poller once, edge-triggered, for both
//! directions, and never modified again: the kernel reports each *change*
//! (new data, new buffer space, a hangup), and the source remembers it in
//! one atomic word, [`Readiness`]: a *ready* bit per direction, a sticky
//! *closed* bit per direction, and a tick counting the events delivered.
//!
//! - An event sets its bits and bumps the tick (`dispatch`), then wakes the
//!   tasks waiting in those directions.
//! - An operation runs only while its direction reads ready. When it
//!   returns `WouldBlock`, the bit is cleared, but only if the tick is still
//!   the one read before the operation ([`Source::clear`]): an event that
//!   arrived meanwhile keeps the bit set, so no edge is ever lost.
//! - A short read of a byte stream (fewer bytes than asked) also means the
//!   receive buffer was drained, so the bit is cleared then too and the
//!   read that could only say `WouldBlock` is skipped. That needs the peer's
//!   half-close to be reported as its own sticky bit (the data and the FIN
//!   can arrive in one edge, and the FIN is not consumed by the short
//!   read): only backends that report read-hangup enable it (see
//!   [`sys`](crate::sys)), and only for sources marked as streams.
//! - A closed bit is never cleared: reads after the peer's FIN return
//!   end-of-file at once, and writes after a hangup return the error.
//!
//! So a wait costs no system call at all: registering a waker is a lock and
//! a store, and the next edge wakes it. This is the design tokio's
//! readiness word made common; the difference from the oneshot mode this
//! crate used before is one `epoll_ctl` per wait and one `read` per message.
//!
//! # Waiters
//!
//! Waiting futures ([`Waiter`], used by `readable`, `read_with` and
//! friends) each own a slot in the direction's waker slab. The
//! `poll_readable` / `poll_writable` API has no future to keep anything in,
//! so each direction keeps one list of the distinct wakers that polled
//! (`poll_wakers`, deduplicated with `Waker::will_wake`, emptied by every
//! event). An event wakes every waiter of its direction (broadcast), so any
//! number of tasks may wait on one source and a cancelled waiter takes no
//! wakeup from another.
//!
//! A waker is registered under the source's `state` lock and the readiness
//! re-read under it; `dispatch` updates the readiness word *before* taking
//! that lock to collect the wakers. Either the waiter's critical section
//! comes first (its waker is collected) or the event's does (the re-read
//! sees the new bits): no wakeup is lost.
//!
//! `deregister` clears `registered` and deletes the descriptor under the
//! same lock, which is what makes it sound for a waiter to borrow the raw
//! descriptor while it sees `registered`.
// Unsafe here: borrows the registered descriptor, valid while `registered` is true (each block has its SAFETY proof).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::reactor::{shutdown_error, Inner};
use crate::sys::{Ev, Poller};
use slab::Slab;

/// Index of the read direction in [`State::dirs`].
pub(crate) const READ: usize = 0;
/// Index of the write direction in [`State::dirs`].
pub(crate) const WRITE: usize = 1;

/// The ready bit of each direction.
const READY: [usize; 2] = [1 << 0, 1 << 1];
/// The sticky closed bit of each direction.
const CLOSED: [usize; 2] = [1 << 2, 1 << 3];
/// The tick lives above the bits.
const TICK_SHIFT: u32 = 4;
const TICK_ONE: usize = 1 << TICK_SHIFT;

/// Locks `m`, ignoring poisoning: every critical section in this crate
/// leaves its data consistent before it could panic (wakers are woken only
/// after locks are released).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A snapshot of a source's readiness word.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Readiness(usize);

impl Readiness {
    /// Whether an operation in `dir` may not block: ready, or closed.
    pub(crate) fn is_ready(self, dir: usize) -> bool {
        self.0 & (READY[dir] | CLOSED[dir]) != 0
    }

    /// Whether `dir` is closed for good.
    pub(crate) fn is_closed(self, dir: usize) -> bool {
        self.0 & CLOSED[dir] != 0
    }

    fn tick(self) -> usize {
        self.0 >> TICK_SHIFT
    }

    /// Whether any event was delivered for the source yet.
    pub(crate) fn has_events(self) -> bool {
        self.tick() != 0
    }
}

/// A registered file descriptor.
pub(crate) struct Source {
    /// The descriptor; valid while `state.registered` is true (see the
    /// module docs).
    fd: RawFd,
    /// The key given to the poller: slot index in the low half, a
    /// generation in the high half (see `reactor`).
    pub(crate) key: usize,
    /// The readiness word (see the module docs).
    readiness: AtomicUsize,
    /// A short read drains the read side (a byte stream, on a backend that
    /// reports read-hangup).
    short_read_drains: AtomicBool,
    /// Reads go through `recvmsg` with `TCP_INQ`, which says whether they
    /// left the socket empty (a TCP stream on Linux; see `sys::tcp_inq`).
    tcp_inq: AtomicBool,
    state: Mutex<State>,
}

struct State {
    /// False once the owner deregistered; nothing may touch `fd` after.
    registered: bool,
    dirs: [Direction; 2],
}

#[derive(Default)]
struct Direction {
    /// Wakers of waiting futures; `None` once woken (the slot stays until
    /// its future is polled again or dropped).
    waiters: Slab<Option<Waker>>,
    /// How many `waiters` slots hold `Some`.
    waiting: usize,
    /// Wakers of the `poll_readable`/`poll_writable` callers since the
    /// last event (distinct by `will_wake`).
    poll_wakers: Vec<Waker>,
    /// The tick at which `poll_ready` last answered `Ready`.
    poll_handed: Option<usize>,
}

impl Direction {
    /// Takes every waker of this direction into `out`.
    fn drain_wakers(&mut self, out: &mut Vec<Waker>) {
        if self.waiting > 0 {
            out.extend(self.waiters.iter_mut().filter_map(|(_, w)| w.take()));
            self.waiting = 0;
        }
        out.append(&mut self.poll_wakers);
    }

    /// Removes a `poll_ready` caller's waker. Returns it, to be dropped
    /// after the lock is released.
    #[must_use]
    fn forget_poller(&mut self, waker: &Waker) -> Option<Waker> {
        self.poll_wakers
            .iter()
            .position(|w| w.will_wake(waker))
            .map(|i| self.poll_wakers.swap_remove(i))
    }
}

/// Stores `waker` in `slot`, cloning only if it would wake a different
/// task. Returns the replaced waker, to be dropped after the lock is
/// released.
#[must_use]
fn store_waker(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    match slot {
        Some(w) if w.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}

impl Source {
    /// A source for `fd`, both directions assumed ready: the first
    /// operation is tried at once (a fresh connection usually has room to
    /// write, often data to read), and its `WouldBlock`, if any, clears the
    /// bit. Starting from "not ready" would make the first operation on
    /// every new socket wait for a turn of the reactor, and callers that
    /// try an operation with a no-op waker (a stream writer flushing what
    /// it can) would never try it at all.
    pub(crate) fn new(fd: RawFd, key: usize) -> Source {
        Source {
            fd,
            key,
            readiness: AtomicUsize::new(READY[READ] | READY[WRITE]),
            short_read_drains: AtomicBool::new(false),
            tcp_inq: AtomicBool::new(false),
            state: Mutex::new(State {
                registered: true,
                dirs: Default::default(),
            }),
        }
    }

    /// The current readiness.
    pub(crate) fn readiness(&self) -> Readiness {
        Readiness(self.readiness.load(Ordering::Acquire))
    }

    /// Clears `dir`'s ready bit if no event arrived since `seen` was read.
    pub(crate) fn clear(&self, dir: usize, seen: Readiness) {
        let mut cur = self.readiness.load(Ordering::Acquire);
        while cur >> TICK_SHIFT == seen.tick() && cur & READY[dir] != 0 {
            match self.readiness.compare_exchange_weak(
                cur,
                cur & !READY[dir],
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Marks the source a byte stream on a backend that reports
    /// read-hangup, so a short read clears read readiness.
    pub(crate) fn set_short_read_drains(&self, poller: &Poller) {
        if poller.reports_read_closed() {
            self.short_read_drains.store(true, Ordering::Relaxed);
        }
    }

    /// Whether a short read drained the read side.
    pub(crate) fn short_read_drains(&self) -> bool {
        self.short_read_drains.load(Ordering::Relaxed)
    }

    /// Marks the source a TCP stream whose reads report the bytes left.
    pub(crate) fn set_tcp_inq(&self) {
        self.tcp_inq.store(true, Ordering::Relaxed);
    }

    /// Whether reads go through `recvmsg` with `TCP_INQ`.
    pub(crate) fn tcp_inq(&self) -> bool {
        self.tcp_inq.load(Ordering::Relaxed)
    }

    /// Handles one delivered event: records it in the readiness word, then
    /// collects the wakers of its directions into `out`.
    pub(crate) fn dispatch(&self, ev: &Ev, out: &mut Vec<Waker>) {
        let mut bits = 0;
        if ev.readable {
            bits |= READY[READ];
        }
        if ev.writable {
            bits |= READY[WRITE];
        }
        if ev.read_closed {
            bits |= CLOSED[READ];
        }
        if ev.write_closed {
            bits |= CLOSED[WRITE];
        }
        // The tick wraps: it only has to differ from a recent snapshot.
        let mut cur = self.readiness.load(Ordering::Acquire);
        loop {
            // The first event replaces the readiness assumed at creation
            // (see `new`) with the kernel's report, which is complete: an
            // edge-triggered event carries every ready direction.
            let base = if cur >> TICK_SHIFT == 0 { 0 } else { cur };
            let new = (base | bits).wrapping_add(TICK_ONE);
            match self.readiness.compare_exchange_weak(
                cur,
                new,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        let mut st = lock(&self.state);
        if !st.registered {
            return;
        }
        if bits & (READY[READ] | CLOSED[READ]) != 0 {
            st.dirs[READ].drain_wakers(out);
        }
        if bits & (READY[WRITE] | CLOSED[WRITE]) != 0 {
            st.dirs[WRITE].drain_wakers(out);
        }
    }

    /// Takes every waker without recording an event (used by shutdown:
    /// woken waiters observe the shutdown flag instead).
    pub(crate) fn wake_all(&self, out: &mut Vec<Waker>) {
        let mut st = lock(&self.state);
        st.dirs[READ].drain_wakers(out);
        st.dirs[WRITE].drain_wakers(out);
    }

    /// Marks the source deregistered and deletes `fd` from the poller,
    /// under the state lock so no waiter can borrow the descriptor after.
    ///
    /// `fd` must be the descriptor this source was registered with; the
    /// caller closes or returns it only after this returns.
    pub(crate) fn deregister(&self, poller: &Poller, fd: BorrowedFd<'_>) -> io::Result<()> {
        let mut st = lock(&self.state);
        if !st.registered {
            return Ok(());
        }
        st.registered = false;
        // No waiter can exist (they borrow the owning `Async`), but drop
        // any stale waker now rather than with the last `Arc`.
        let mut stale = Vec::new();
        st.dirs[READ].drain_wakers(&mut stale);
        st.dirs[WRITE].drain_wakers(&mut stale);
        let res = poller.delete(fd);
        drop(st);
        drop(stale);
        res
    }

    /// Registers `cx`'s waker for `dir` in the shared poll list unless the
    /// direction turned ready meanwhile; the slow path of every `poll_*`
    /// I/O method. `Ready(Ok)` means "try the operation again".
    pub(crate) fn poll_register(
        &self,
        reactor: &Inner,
        dir: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut st = lock(&self.state);
        if self.readiness().is_ready(dir) {
            return Poll::Ready(Ok(()));
        }
        // Checked under the state lock: `Reactor::shutdown` sets the flag
        // before it locks any source to take its wakers.
        if reactor.shutdown.load(Ordering::SeqCst) {
            return Poll::Ready(Err(shutdown_error()));
        }
        let d = &mut st.dirs[dir];
        if !d.poll_wakers.iter().any(|w| w.will_wake(cx.waker())) {
            d.poll_wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// The public `poll_readable` / `poll_writable`: `Ready` while the
    /// direction reads ready, except that a caller coming back at the tick
    /// it was last answered `Ready` at has used that readiness up (its
    /// operation said `WouldBlock`, the documented contract), which clears
    /// the bit and waits for the next event.
    pub(crate) fn poll_ready(
        &self,
        reactor: &Inner,
        dir: usize,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        // Declared before the guard so it is dropped after it: dropping a
        // waker may run arbitrary code, never under our lock.
        let mut _stale: Option<Waker> = None;
        let mut st = lock(&self.state);
        let d = &mut st.dirs[dir];
        if reactor.shutdown.load(Ordering::SeqCst) {
            _stale = d.forget_poller(cx.waker());
            return Poll::Ready(Err(shutdown_error()));
        }
        let mut r = self.readiness();
        let used_up = d.poll_handed == Some(r.tick());
        // Before the first event, readiness is only assumed (see `new`):
        // a caller that uses readiness as a signal (a pidfd, a pipe's
        // error condition) must not see it, so ask the kernel.
        let assumed = r.is_ready(dir) && !r.has_events() && !self.kernel_ready_locked(&st, dir);
        let d = &mut st.dirs[dir];
        if r.is_ready(dir) && (used_up || assumed) && !r.is_closed(dir) {
            self.clear(dir, r);
            r = self.readiness();
        }
        if r.is_ready(dir) && (d.poll_handed != Some(r.tick()) || r.is_closed(dir)) {
            d.poll_handed = Some(r.tick());
            _stale = d.forget_poller(cx.waker());
            return Poll::Ready(Ok(()));
        }
        if !d.poll_wakers.iter().any(|w| w.will_wake(cx.waker())) {
            d.poll_wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Whether the descriptor is ready in `dir` right now, asked of the
    /// kernel with a zero-timeout `poll(2)`: what `readable()` uses to tell
    /// fresh readiness from readiness the caller already used up.
    fn kernel_ready(&self, dir: usize) -> bool {
        let st = lock(&self.state);
        self.kernel_ready_locked(&st, dir)
    }

    /// [`kernel_ready`](Source::kernel_ready) with the state lock held.
    fn kernel_ready_locked(&self, st: &State, dir: usize) -> bool {
        use rustix::event::{poll, PollFd, PollFlags};
        if !st.registered {
            return true;
        }
        // SAFETY: `registered` is true and we hold the state lock, so the
        // owning `Async` has not run `deregister` (which clears it under
        // this lock before the descriptor is closed or handed back): `fd`
        // is open for the whole borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let flags = if dir == READ {
            PollFlags::IN | PollFlags::PRI | PollFlags::RDHUP
        } else {
            PollFlags::OUT
        };
        let mut fds = [PollFd::new(&fd, flags)];
        let zero = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        match poll(&mut fds, Some(&zero)) {
            Ok(n) => n > 0 && !fds[0].revents().is_empty(),
            // Let the caller try its operation and see the error.
            Err(_) => true,
        }
    }
}

/// What a [`Waiter`] is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitFor {
    /// `read_with` and friends: the caller's operation said `WouldBlock`
    /// and cleared the bit; wait until the direction reads ready.
    Retry,
    /// `readable()` / `writable()`: the caller has not tried anything, so
    /// readiness the reactor remembers is checked with the kernel first
    /// (it may have been used up by an operation outside this crate).
    Fresh,
}

/// A future that resolves once one direction of a source reads ready.
///
/// Registration happens on the first poll that finds the direction not
/// ready; dropping the future removes its waker slot. Awaited through
/// `&mut` so `read_with` can reuse one `Waiter` across retries.
pub(crate) struct Waiter<'a> {
    source: &'a Source,
    reactor: &'a Inner,
    dir: usize,
    mode: WaitFor,
    /// The slot in the waker slab while registered.
    slot: Option<usize>,
}

impl<'a> Waiter<'a> {
    pub(crate) fn new(
        source: &'a Source,
        reactor: &'a Inner,
        dir: usize,
        mode: WaitFor,
    ) -> Waiter<'a> {
        Waiter {
            source,
            reactor,
            dir,
            mode,
            slot: None,
        }
    }

    /// Frees this waiter's slot; called with the state lock held. Returns
    /// the waker it held, to be dropped after the lock is released.
    #[must_use]
    fn unregister(&mut self, st: &mut State) -> Option<Waker> {
        let idx = self.slot.take()?;
        let d = &mut st.dirs[self.dir];
        let waker = d.waiters.try_remove(idx).flatten();
        if waker.is_some() {
            d.waiting -= 1;
        }
        waker
    }
}

impl std::future::Future for Waiter<'_> {
    type Output = io::Result<()>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // Every wait fails after shutdown, even one that would not block
        // (the flag is checked again under the lock below, for waits that
        // register).
        if this.reactor.shutdown.load(Ordering::SeqCst) {
            let mut st = lock(&this.source.state);
            let removed = this.unregister(&mut st);
            drop(st);
            drop(removed);
            return Poll::Ready(Err(shutdown_error()));
        }
        if this.mode == WaitFor::Fresh && this.slot.is_none() {
            // Only before registering: once registered, readiness comes
            // from an event that arrived after, which is fresh.
            let r = this.source.readiness();
            if r.is_ready(this.dir) {
                if r.is_closed(this.dir) || this.source.kernel_ready(this.dir) {
                    return Poll::Ready(Ok(()));
                }
                this.source.clear(this.dir, r);
            }
        }
        // Declared before the guard so it is dropped after it.
        let mut _stale: Option<Waker> = None;
        let mut st = lock(&this.source.state);
        // Checked under the state lock: `Reactor::shutdown` sets the flag
        // before it locks any source to take its wakers, so either we see
        // the flag here or our waker is taken (and woken) by it later.
        if this.reactor.shutdown.load(Ordering::SeqCst) {
            _stale = this.unregister(&mut st);
            return Poll::Ready(Err(shutdown_error()));
        }
        if this.source.readiness().is_ready(this.dir) {
            _stale = this.unregister(&mut st);
            return Poll::Ready(Ok(()));
        }
        let d = &mut st.dirs[this.dir];
        match this.slot {
            None => {
                let idx = d.waiters.insert(Some(cx.waker().clone()));
                d.waiting += 1;
                this.slot = Some(idx);
            }
            Some(idx) => {
                let slot = d
                    .waiters
                    .get_mut(idx)
                    .expect("a registered waiter's slot is only freed by the waiter");
                if slot.is_none() {
                    d.waiting += 1;
                }
                _stale = store_waker(slot, cx.waker());
            }
        }
        Poll::Pending
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if self.slot.is_some() {
            let mut st = lock(&self.source.state);
            let removed = self.unregister(&mut st);
            drop(st);
            drop(removed);
        }
    }
}
