//! One registered file descriptor: its interest, its waiters, its events.
//!
//! A [`Source`] is shared (`Arc`) between the [`Async`](crate::Async) that
//! owns the descriptor and the thread running [`Driver::park`], which holds
//! a clone only for the length of one dispatch.
//!
//! # Per-direction state
//!
//! Each direction (read, write) counts the events delivered for it in
//! `ticks`. A waiter remembers the count it saw when it registered and is
//! ready as soon as the count differs: *an event arrived after it
//! registered*. Delivering an event bumps the count and takes every waker
//! of that direction (broadcast), so any number of tasks can wait on the same
//! source and direction and all of them are woken; none has to hand a wakeup
//! on to another, which is what makes dropping a waiting future (cancelling)
//! lose nothing.
//!
//! Waiting futures ([`Waiter`], used by `readable`, `read_with` and friends)
//! each own a slot in the direction's waker slab. The `poll_readable` /
//! `poll_writable` API (and the `AsyncRead`/`AsyncWrite` impls built on it)
//! has no future to remember anything in, so each direction keeps one
//! shared registration for it: a list of the distinct wakers that polled
//! (`poll_wakers`, deduplicated with `Waker::will_wake`, emptied by every
//! event) and the ticks when the first of them registered (`poll_seen`).
//! Every task that polls is woken by the next event, so several tasks may
//! read through one `&Async` without starving each other; because the
//! registration is shared, a task that polls again after another one
//! consumed the readiness registers afresh, which costs at most one more
//! turn of the reactor (arming re-checks the current readiness). The I/O
//! impls, which poll only right after their operation said `WouldBlock`,
//! restart a registration that an event already answered instead of
//! returning `Ready`: that event was used up, and retrying would only
//! fail once more (see [`Source::poll_ready`]).
//!
//! # Interest and arming
//!
//! Sources are registered in [`PollMode::Oneshot`]: a delivered event
//! disarms the descriptor until it is re-armed with `modify`. Re-arming
//! makes the kernel check the *current* readiness (`EPOLL_CTL_MOD` with
//! `EPOLLONESHOT`, `EV_ADD | EV_ONESHOT` on kqueue), so a waiter that found
//! `WouldBlock`, then registers and arms, cannot miss data that arrived in
//! between: that is why oneshot and not edge mode (an edge that fired before
//! the waiter registered would be gone). `armed` mirrors what the kernel
//! holds, so a second waiter in an already armed direction costs no system
//! call. The dispatching thread clears `armed` for every event it handles
//! (the kernel disarmed the whole descriptor) and re-arms the directions
//! that still have waiters.
//!
//! Every change of `armed`, every `modify` and the final `delete` happen
//! under the source's `state` lock, with `registered` checked first; this is
//! also what makes it sound for the dispatching thread to borrow the raw
//! descriptor: while `registered` is true the owning `Async` still holds the
//! descriptor open.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use polling::{Event, PollMode, Poller};

use crate::reactor::{shutdown_error, Inner};
use crate::slab::Slab;

/// Index of the read direction in [`State::dirs`].
pub(crate) const READ: usize = 0;
/// Index of the write direction in [`State::dirs`].
pub(crate) const WRITE: usize = 1;

/// Locks `m`, ignoring poisoning: every critical section in this crate
/// leaves its data consistent before it could panic (wakers are woken only
/// after locks are released).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A registered file descriptor.
pub(crate) struct Source {
    /// The descriptor; valid while `state.registered` is true (see the
    /// module docs).
    fd: RawFd,
    /// The key given to the poller: slot index in the low half, a
    /// generation in the high half (see `reactor`).
    pub(crate) key: usize,
    state: Mutex<State>,
}

struct State {
    /// False once the owner deregistered; nothing may touch `fd` after.
    registered: bool,
    /// What the kernel is armed for, as `(readable, writable)`.
    armed: [bool; 2],
    dirs: [Direction; 2],
}

#[derive(Default)]
struct Direction {
    /// Events delivered in this direction so far (wrapping).
    ticks: u64,
    /// Wakers of waiting futures; `None` once woken (the slot stays until
    /// its future is polled again or dropped).
    waiters: Slab<Option<Waker>>,
    /// How many `waiters` slots hold `Some`.
    waiting: usize,
    /// Wakers of the `poll_readable`/`poll_writable` callers since the
    /// last event (distinct by `will_wake`).
    poll_wakers: Vec<Waker>,
    /// `ticks` when the shared poll registration was made.
    poll_seen: Option<u64>,
}

impl Direction {
    fn has_interest(&self) -> bool {
        self.waiting > 0 || !self.poll_wakers.is_empty()
    }

    /// Takes every waker of this direction into `out`.
    fn drain_wakers(&mut self, out: &mut Vec<Waker>) {
        if self.waiting > 0 {
            out.extend(self.waiters.iter_mut().filter_map(Option::take));
            self.waiting = 0;
        }
        out.append(&mut self.poll_wakers);
    }

    /// Ends a `poll_ready` caller's registration: removes its waker and,
    /// if it was the last one, the shared registration. Returns the removed
    /// waker, to be dropped after the lock is released.
    #[must_use]
    fn forget_poller(&mut self, waker: &Waker) -> Option<Waker> {
        let removed = self
            .poll_wakers
            .iter()
            .position(|w| w.will_wake(waker))
            .map(|i| self.poll_wakers.swap_remove(i));
        if self.poll_wakers.is_empty() {
            self.poll_seen = None;
        }
        removed
    }

    /// Records an event and takes every waker into `out`.
    fn fire(&mut self, out: &mut Vec<Waker>) {
        self.ticks = self.ticks.wrapping_add(1);
        self.drain_wakers(out);
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
    pub(crate) fn new(fd: RawFd, key: usize) -> Source {
        Source {
            fd,
            key,
            state: Mutex::new(State {
                registered: true,
                armed: [false; 2],
                dirs: Default::default(),
            }),
        }
    }

    /// Re-arms the descriptor if a direction with interest is not armed.
    ///
    /// Called with the state lock held.
    fn arm(&self, poller: &Poller, st: &mut State) -> io::Result<()> {
        if !st.registered {
            return Ok(());
        }
        let want = [st.dirs[READ].has_interest(), st.dirs[WRITE].has_interest()];
        if (want[READ] && !st.armed[READ]) || (want[WRITE] && !st.armed[WRITE]) {
            // Keep a direction armed if it already is: re-arming replaces
            // the whole interest set.
            let read = want[READ] || st.armed[READ];
            let write = want[WRITE] || st.armed[WRITE];
            // SAFETY: `registered` is true and we hold the state lock, so
            // the owning `Async` has not yet run `deregister` (which clears
            // `registered` under this lock before its descriptor is closed
            // or handed back): `fd` is open and is the descriptor we added,
            // for the whole of this borrow.
            let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
            poller.modify_with_mode(fd, Event::new(self.key, read, write), PollMode::Oneshot)?;
            st.armed = [read, write];
        }
        Ok(())
    }

    /// Handles one delivered event: bumps the ticks of the ready
    /// directions, collects their wakers into `out` and re-arms whatever
    /// still has waiters.
    pub(crate) fn dispatch(&self, poller: &Poller, ev: &Event, out: &mut Vec<Waker>) {
        let mut st = lock(&self.state);
        if !st.registered {
            return;
        }
        // Oneshot: the kernel disarmed the descriptor when it delivered
        // this event, whatever its directions.
        st.armed = [false; 2];
        if ev.readable {
            st.dirs[READ].fire(out);
        }
        if ev.writable {
            st.dirs[WRITE].fire(out);
        }
        if self.arm(poller, &mut st).is_err() {
            // Nobody will be woken by the kernel for this source any more:
            // wake everyone so they retry their operation and meet the
            // error themselves when they re-arm.
            st.dirs[READ].fire(out);
            st.dirs[WRITE].fire(out);
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
    /// under the state lock so no re-arm can race with or follow it.
    ///
    /// `fd` must be the descriptor this source was registered with; the
    /// caller closes or returns it only after this returns.
    pub(crate) fn deregister(&self, poller: &Poller, fd: BorrowedFd<'_>) -> io::Result<()> {
        let mut st = lock(&self.state);
        if !st.registered {
            return Ok(());
        }
        st.registered = false;
        st.armed = [false; 2];
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

    /// The `poll_readable` / `poll_writable` state machine (one shared
    /// registration per direction, see the module docs).
    ///
    /// `after_miss` says the caller's operation has just failed with
    /// `WouldBlock`. An event recorded since the shared registration was
    /// made is then known to be used up (it happened before that failed
    /// try, or the re-check below catches it), so instead of answering
    /// `Ready` and having the caller try again only to fail again (one
    /// wasted system call per wait), the registration starts afresh. This
    /// loses no wakeup: the direction is (re-)armed below, and an armed
    /// oneshot registration is reported by the kernel whenever the
    /// descriptor is ready, including data that arrived between the
    /// caller's try and this call.
    pub(crate) fn poll_ready(
        &self,
        reactor: &Inner,
        dir: usize,
        cx: &mut Context<'_>,
        after_miss: bool,
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
        match d.poll_seen {
            // Every waker registered before the event was taken by it
            // (`fire`), so restarting the registration strands nobody.
            Some(seen) if seen != d.ticks && after_miss => d.poll_seen = Some(d.ticks),
            Some(seen) if seen != d.ticks => {
                _stale = d.forget_poller(cx.waker());
                return Poll::Ready(Ok(()));
            }
            Some(_) => {}
            None => d.poll_seen = Some(d.ticks),
        }
        if !d.poll_wakers.iter().any(|w| w.will_wake(cx.waker())) {
            d.poll_wakers.push(cx.waker().clone());
        }
        if let Err(e) = self.arm(&reactor.poller, &mut st) {
            _stale = st.dirs[dir].forget_poller(cx.waker());
            return Poll::Ready(Err(e));
        }
        Poll::Pending
    }
}

/// A future that resolves once an event arrives for one direction of a
/// source after the future first registered.
///
/// Registration happens on the first poll; dropping the future removes its
/// waker slot. Awaited through `&mut` so `read_with` can reuse one `Waiter`
/// across retries.
pub(crate) struct Waiter<'a> {
    source: &'a Source,
    reactor: &'a Inner,
    dir: usize,
    /// `(slot in the waker slab, ticks when registered)` while registered.
    slot: Option<(usize, u64)>,
}

impl<'a> Waiter<'a> {
    pub(crate) fn new(source: &'a Source, reactor: &'a Inner, dir: usize) -> Waiter<'a> {
        Waiter {
            source,
            reactor,
            dir,
            slot: None,
        }
    }

    /// Frees this waiter's slot; called with the state lock held. Returns
    /// the waker it held, to be dropped after the lock is released.
    #[must_use]
    fn unregister(&mut self, st: &mut State) -> Option<Waker> {
        let (idx, _) = self.slot.take()?;
        let d = &mut st.dirs[self.dir];
        let waker = d.waiters.remove(idx).flatten();
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
        let d = &mut st.dirs[this.dir];
        match this.slot {
            None => {
                let idx = d.waiters.insert(Some(cx.waker().clone()));
                d.waiting += 1;
                this.slot = Some((idx, d.ticks));
            }
            Some((_, seen)) if seen != d.ticks => {
                _stale = this.unregister(&mut st);
                return Poll::Ready(Ok(()));
            }
            Some((idx, _)) => {
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
        if let Err(e) = this.source.arm(&this.reactor.poller, &mut st) {
            let removed = this.unregister(&mut st);
            drop(st);
            drop(removed);
            return Poll::Ready(Err(e));
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
