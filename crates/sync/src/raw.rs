//! The raw semaphore every lock in this crate is built on: a permit count
//! in one atomic word, and a FIFO queue of waiters behind a mutex that only
//! the slow path touches.
//!
//! # State word
//!
//! `state = permits << 2 | WAITERS | CLOSED`:
//!
//! - `CLOSED` (bit 0): set once by [`RawSemaphore::close`], under the queue
//!   lock; never cleared.
//! - `WAITERS` (bit 1): the queue is not empty. Set and cleared only under
//!   the queue lock.
//! - `permits` (the rest): free permits, at most [`MAX_PERMITS`].
//!
//! # Invariants
//!
//! 1. (FIFO policy.) While the queue is not empty and the semaphore is
//!    open, the free count is 0: a release while waiters exist hands its permits to the
//!    waiters, oldest first (a waiter may receive part of what it needs and
//!    keep it while it waits for the rest), and only what is left after the
//!    queue empties goes to the count. So the fast path (a CAS that takes
//!    permits from the count) can never overtake a queued waiter: FIFO.
//! 2. A release reads `WAITERS` in the same CAS that adds permits, so it
//!    either adds to the count while the queue is empty or takes the slow
//!    path (queue lock) and hands the permits over. A waiter sets
//!    `WAITERS` in the CAS that takes the last free permits, under the
//!    queue lock; the two CASes on one word cannot both miss each other.
//! 3. Every permit is in exactly one place: the count, a queued waiter's
//!    `assigned`, or a holder (a guard or permit of the public types). A
//!    waiter that gives up (its future is dropped, or the semaphore closed)
//!    returns what it was assigned through the same hand-off path, and a
//!    waiter that was granted everything but dropped before it noticed
//!    returns all of it. Nothing is lost.
//!
//! # Policies
//!
//! - **FIFO hand-off** ([`RawSemaphore::new`]; `Mutex::new`,
//!   `Semaphore::new`, `RwLock`, `OnceCell`): as above, released permits go to the oldest waiter.
//!   Strictly fair, but a task that releases and re-acquires at once under
//!   contention queues behind everyone (a "lock convoy").
//! - **Barging with a starvation guard** ([`RawSemaphore::new_barging`];
//!   `Mutex::new_unfair`, `Semaphore::new_unfair`): a release puts the permits in the count and wakes the head
//!   of the queue; whoever runs first takes them (a running task, or the
//!   head when it is polled). Invariant 1 is relaxed to: whenever the count
//!   grows while waiters exist, the head is woken (`woken` marks it, so one
//!   wakeup is outstanding at a time); a head that leaves the queue wakes
//!   the next one if permits are still free. A woken head that finds the
//!   permits taken has lost a wakeup; after [`STARVE_AFTER`] losses it
//!   *starves*: it takes what is free and from then on releases hand their
//!   permits straight to it (FIFO for that waiter), so no waiter waits
//!   forever. Waiters still queue in FIFO order; only the head competes.
//!
//! # Fast paths
//!
//! An uncontended acquire is one CAS on the state word; an uncontended
//! release is one CAS too (it only fails, and goes slow, if `WAITERS` is
//! set). A mutex's lock and unlock are a single `compare_exchange` each
//! ([`RawSemaphore::try_acquire_one_exact`], [`RawSemaphore::release_one`]).
//!
//! # Lock order
//!
//! One lock (the queue). Wakers are never woken while it is held: they are
//! collected into [`Wakers`] and woken after the guard is dropped, so a
//! waker that re-enters the semaphore cannot deadlock. Nor are they
//! dropped under it: a waker replaced by a newer one, or left in a freed
//! slot, is dropped after the guard (a waker's drop may run any code, such
//! as dropping another future queued here).

use std::panic::Location;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker};

use crate::sync::{AtomicUsize, Mutex};

const CLOSED: usize = 1;
const WAITERS: usize = 2;
const SHIFT: u32 = 2;
const ONE: usize = 1 << SHIFT;
const NIL: usize = usize::MAX;

/// Barging mode: wakeups a queued head may lose to barging tasks before
/// releases hand permits straight to it.
pub(crate) const STARVE_AFTER: u32 = 2;

/// The most permits a semaphore can hold: `usize::MAX >> 3`.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

/// The semaphore is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

/// Why a non-waiting acquire failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryError {
    NoPermits,
    Closed,
}

/// Adding the permits would pass [`MAX_PERMITS`]; nothing was released
/// (neither to the count nor to a waiter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

/// One queued waiter.
struct Slot {
    need: usize,
    assigned: usize,
    waker: Option<Waker>,
    prev: usize,
    next: usize,
    /// In the queue. A slot that left the queue but is still owned by its
    /// future was granted everything (or the semaphore closed and it was
    /// told so); its future frees it.
    linked: bool,
    /// Barging mode: the head was woken to try and has not polled since.
    woken: bool,
    /// Barging mode: wakeups this waiter lost to a barging task.
    lost: u32,
    /// Barging mode: lost [`STARVE_AFTER`] times; releases now hand their
    /// permits straight to it.
    starving: bool,
}

/// The FIFO queue: a slab of slots with an intrusive doubly linked list
/// through `prev`/`next` indices, and a free list through `next`. Slots
/// are reused, so the queue allocates only when it grows past its peak.
struct WaitList {
    slots: Vec<Slot>,
    head: usize,
    tail: usize,
    free: usize,
}

impl WaitList {
    const fn new() -> WaitList {
        WaitList {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
        }
    }

    fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// Appends a waiter and returns its key.
    fn push(&mut self, need: usize, assigned: usize, waker: Waker) -> usize {
        let slot = Slot {
            need,
            assigned,
            waker: Some(waker),
            prev: self.tail,
            next: NIL,
            linked: true,
            woken: false,
            lost: 0,
            starving: false,
        };
        let key = if self.free == NIL {
            self.slots.push(slot);
            self.slots.len() - 1
        } else {
            let key = self.free;
            self.free = self.slots[key].next;
            self.slots[key] = slot;
            key
        };
        if self.tail == NIL {
            self.head = key;
        } else {
            self.slots[self.tail].next = key;
        }
        self.tail = key;
        key
    }

    /// Takes a linked slot out of the queue (it stays allocated).
    fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let slot = &mut self.slots[key];
            debug_assert!(slot.linked);
            slot.linked = false;
            (slot.prev, slot.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next].prev = prev;
        }
    }

    /// Returns an unlinked slot to the free list, and its waker, which the
    /// caller drops after releasing the queue lock (a waker's drop may run
    /// any code, even code that needs this lock).
    #[must_use = "drop the waker after the queue lock is released"]
    fn free(&mut self, key: usize) -> Option<Waker> {
        let slot = &mut self.slots[key];
        debug_assert!(!slot.linked);
        slot.next = self.free;
        self.free = key;
        slot.waker.take()
    }
}

/// Wakers collected under the queue lock, woken after it is released.
/// Holds one waker inline; a mutex hand-off never allocates.
#[derive(Default)]
pub(crate) struct Wakers {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Wakers {
    fn push(&mut self, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.rest.push(waker);
        }
    }

    fn wake(self) {
        if let Some(w) = self.first {
            w.wake();
        }
        for w in self.rest {
            w.wake();
        }
    }
}

/// The acquire state of one future: how many permits it needs and, once
/// queued, its slot. Owned by the public future types, which call
/// [`RawSemaphore::poll_acquire`] and, from `Drop`,
/// [`RawSemaphore::cancel`].
#[derive(Debug)]
pub(crate) struct Waiter {
    need: usize,
    key: usize,
    /// Where the waiting future was created in the user's code: the task's
    /// await point while it waits (see `tulipa_core::await_point`).
    location: &'static Location<'static>,
}

impl Waiter {
    /// A waiter for `need` permits, not queued yet, created at its
    /// caller's location (the public constructors carry `#[track_caller]`
    /// so this is the user's `lock()` or `acquire()` line).
    #[track_caller]
    pub(crate) const fn new(need: usize) -> Waiter {
        Waiter {
            need,
            key: NIL,
            location: Location::caller(),
        }
    }

    /// Where the waiting future was created.
    pub(crate) const fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The permits this waiter asks for.
    pub(crate) const fn need(&self) -> usize {
        self.need
    }

    /// Whether it holds a place in the queue (so the fast path is over).
    pub(crate) const fn is_queued(&self) -> bool {
        self.key != NIL
    }
}

/// A counting semaphore with FIFO hand-off; see the module docs.
pub(crate) struct RawSemaphore {
    state: AtomicUsize,
    list: Mutex<WaitList>,
    /// The policy: FIFO hand-off (`false`) or barging with a starvation
    /// guard (`true`); see the module docs.
    barging: bool,
}

impl RawSemaphore {
    /// A semaphore with `permits` free permits.
    ///
    /// # Panics
    ///
    /// Panics if `permits` exceeds [`MAX_PERMITS`].
    pub(crate) fn new(permits: usize) -> RawSemaphore {
        assert!(
            permits <= MAX_PERMITS,
            "a semaphore holds at most {MAX_PERMITS} permits, not {permits}"
        );
        RawSemaphore {
            state: AtomicUsize::new(permits << SHIFT),
            list: Mutex::new(WaitList::new()),
            barging: false,
        }
    }

    /// A semaphore with the barging policy (see the module docs).
    ///
    /// # Panics
    ///
    /// Panics if `permits` exceeds [`MAX_PERMITS`].
    pub(crate) fn new_barging(permits: usize) -> RawSemaphore {
        RawSemaphore {
            barging: true,
            ..RawSemaphore::new(permits)
        }
    }

    fn lock_list(&self) -> crate::sync::MutexGuard<'_, WaitList> {
        // Nothing panics while the queue lock is held (wakers run after),
        // so a poisoned lock still guards a consistent queue.
        self.list.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Free permits right now.
    pub(crate) fn available(&self) -> usize {
        self.state.load(Acquire) >> SHIFT
    }

    /// Whether [`close`](Self::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Acquire) & CLOSED != 0
    }

    /// Takes `n` permits if that many are free and the semaphore is open.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryError> {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & CLOSED != 0 {
                return Err(TryError::Closed);
            }
            if s >> SHIFT < n {
                return Err(TryError::NoPermits);
            }
            match self
                .state
                .compare_exchange_weak(s, s - (n << SHIFT), Acquire, Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => s = actual,
            }
        }
    }

    /// The single-CAS fast path of a one-permit lock: succeeds only if the
    /// state is exactly "one permit, open, no waiters".
    #[inline]
    pub(crate) fn try_acquire_one_exact(&self) -> bool {
        self.state
            .compare_exchange(ONE, 0, Acquire, Relaxed)
            .is_ok()
    }

    /// Releases one permit: a single CAS when no permit is free and nobody
    /// waits (a mutex unlock), else the general path.
    #[inline]
    pub(crate) fn release_one(&self) {
        if self
            .state
            .compare_exchange(0, ONE, Release, Relaxed)
            .is_err()
        {
            let released = self.release(1);
            debug_assert!(released.is_ok(), "a held permit cannot overflow");
        }
    }

    /// Adds `n` permits: to the waiters first (FIFO), the rest to the count.
    ///
    /// # Errors
    ///
    /// [`Overflow`] if what the waiters do not take would push the free
    /// count past [`MAX_PERMITS`]; nothing is released then.
    #[inline]
    pub(crate) fn release(&self, n: usize) -> Result<(), Overflow> {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & WAITERS != 0 {
                return self.release_slow(n);
            }
            if n > MAX_PERMITS - (s >> SHIFT) {
                return Err(Overflow);
            }
            match self
                .state
                .compare_exchange_weak(s, s + (n << SHIFT), Release, Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => s = actual,
            }
        }
    }

    /// The hand-off part of [`release`](Self::release).
    #[cold]
    fn release_slow(&self, n: usize) -> Result<(), Overflow> {
        let mut wakers = Wakers::default();
        let mut list = self.lock_list();
        let result = self.release_locked(&mut list, n, &mut wakers);
        drop(list);
        wakers.wake();
        result
    }

    /// The hand-off, under the queue lock: gives `n` permits to the oldest
    /// waiters (none if closed), then adds the rest to the count and
    /// clears `WAITERS` if the queue is now empty.
    fn release_locked(
        &self,
        list: &mut WaitList,
        mut n: usize,
        wakers: &mut Wakers,
    ) -> Result<(), Overflow> {
        // CLOSED only changes under this lock, so this read is current.
        let mut s = self.state.load(Acquire);
        if s & CLOSED == 0 && n > MAX_PERMITS - (s >> SHIFT) && !self.rest_fits(list, n, s) {
            // All or nothing: hand nothing to the waiters either, so the
            // caller still owns every permit it tried to release. (While
            // the queue is not empty the count only shrinks outside this
            // lock, so a rest that fits now still fits below.)
            return Err(Overflow);
        }
        if s & CLOSED == 0 {
            // FIFO: every waiter gets a hand-off. Barging: only a starving
            // head does; the rest of the permits go to the count.
            while n > 0 && !list.is_empty() && (!self.barging || list.slots[list.head].starving) {
                let head = list.head;
                let slot = &mut list.slots[head];
                let give = n.min(slot.need - slot.assigned);
                slot.assigned += give;
                n -= give;
                if slot.assigned == slot.need {
                    let waker = slot.waker.take();
                    list.unlink(head);
                    wakers.push(waker);
                }
            }
        }
        loop {
            let fits = n <= MAX_PERMITS - (s >> SHIFT);
            let mut new = if fits { s + (n << SHIFT) } else { s };
            if list.is_empty() {
                new &= !WAITERS;
            }
            if new != s {
                if let Err(actual) = self.state.compare_exchange_weak(s, new, AcqRel, Acquire) {
                    s = actual;
                    continue;
                }
            }
            if self.barging && new & CLOSED == 0 && new >> SHIFT > 0 {
                self.wake_head(list, wakers);
            }
            return if fits { Ok(()) } else { Err(Overflow) };
        }
    }

    /// Whether what is left of `n` after the hand-off of
    /// [`release_locked`](Self::release_locked) (to the queue, in the
    /// order and under the policy it uses) fits in the count of `s`.
    fn rest_fits(&self, list: &WaitList, n: usize, s: usize) -> bool {
        let mut rest = n;
        let mut key = list.head;
        while rest > 0 && key != NIL && (!self.barging || list.slots[key].starving) {
            let slot = &list.slots[key];
            rest -= rest.min(slot.need - slot.assigned);
            key = slot.next;
        }
        rest <= MAX_PERMITS - (s >> SHIFT)
    }

    /// Barging mode: free permits exist, so the head (if any, and not
    /// woken already) is woken to try for them. Keeps the invariant "while
    /// the count is not zero, the head is awake".
    fn wake_head(&self, list: &mut WaitList, wakers: &mut Wakers) {
        if list.is_empty() {
            return;
        }
        let head = list.head;
        let slot = &mut list.slots[head];
        if !slot.woken {
            slot.woken = true;
            wakers.push(slot.waker.take());
        }
    }

    /// Closes the semaphore: every queued waiter and every later acquire
    /// fails. Returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        let mut wakers = Wakers::default();
        let mut list = self.lock_list();
        if self.state.fetch_or(CLOSED, AcqRel) & CLOSED != 0 {
            return false;
        }
        let mut key = list.head;
        while key != NIL {
            let slot = &mut list.slots[key];
            wakers.push(slot.waker.take());
            key = slot.next;
        }
        drop(list);
        wakers.wake();
        true
    }

    /// Polls `waiter` for its permits: the fast path on the first poll,
    /// then a place in the queue.
    #[inline]
    pub(crate) fn poll_acquire(
        &self,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Closed>> {
        let polled = self.poll_acquire_inner(waiter, cx);
        if polled.is_pending() {
            tulipa_core::await_point::set(waiter.location);
        }
        polled
    }

    #[inline]
    fn poll_acquire_inner(
        &self,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Closed>> {
        if waiter.key == NIL {
            // The task's budget (`tulipa_core::coop`): a task that takes
            // free permits in a loop still yields now and then.
            let Poll::Ready(progress) = tulipa_core::coop::poll_proceed(cx) else {
                return Poll::Pending;
            };
            match self.try_acquire(waiter.need) {
                Ok(()) => {
                    progress.made_progress();
                    return Poll::Ready(Ok(()));
                }
                Err(TryError::Closed) => return Poll::Ready(Err(Closed)),
                Err(TryError::NoPermits) => {}
            }
        }
        self.poll_acquire_slow(waiter, cx)
    }

    /// The queue part of [`poll_acquire`](Self::poll_acquire).
    #[cold]
    fn poll_acquire_slow(
        &self,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Closed>> {
        if waiter.key == NIL {
            let mut list = self.lock_list();
            let mut s = self.state.load(Acquire);
            loop {
                if s & CLOSED != 0 {
                    return Poll::Ready(Err(Closed));
                }
                let avail = s >> SHIFT;
                if (list.is_empty() || self.barging) && avail >= waiter.need {
                    match self.state.compare_exchange_weak(
                        s,
                        s - (waiter.need << SHIFT),
                        Acquire,
                        Acquire,
                    ) {
                        Ok(_) => return Poll::Ready(Ok(())),
                        Err(actual) => {
                            s = actual;
                            continue;
                        }
                    }
                }
                // FIFO (invariant 1): with waiters queued the count is 0,
                // so this takes only what a newcomer may have: all of the
                // count. Barging: a newcomer takes nothing partially.
                let take = if self.barging {
                    0
                } else {
                    avail.min(waiter.need)
                };
                let new = (s & CLOSED) | WAITERS | ((avail - take) << SHIFT);
                match self.state.compare_exchange_weak(s, new, AcqRel, Acquire) {
                    Ok(_) => {
                        waiter.key = list.push(waiter.need, take, cx.waker().clone());
                        return Poll::Pending;
                    }
                    Err(actual) => s = actual,
                }
            }
        }

        let key = waiter.key;
        let mut list = self.lock_list();
        if !list.slots[key].linked {
            let stale = list.free(key);
            waiter.key = NIL;
            drop(list);
            drop(stale);
            return Poll::Ready(Ok(()));
        }
        if self.state.load(Acquire) & CLOSED != 0 {
            let returned = list.slots[key].assigned;
            list.unlink(key);
            let stale = list.free(key);
            waiter.key = NIL;
            let mut wakers = Wakers::default();
            let released = self.release_locked(&mut list, returned, &mut wakers);
            debug_assert!(released.is_ok(), "returned permits cannot overflow");
            drop(list);
            drop(stale);
            wakers.wake();
            return Poll::Ready(Err(Closed));
        }
        if self.barging {
            if let Poll::Ready(()) = self.try_take_queued(&mut list, key) {
                let stale = list.free(key);
                waiter.key = NIL;
                let mut wakers = Wakers::default();
                // Clears WAITERS if the queue emptied; wakes the next head
                // if permits are still free.
                let released = self.release_locked(&mut list, 0, &mut wakers);
                debug_assert!(released.is_ok(), "adding nothing cannot overflow");
                drop(list);
                drop(stale);
                wakers.wake();
                return Poll::Ready(Ok(()));
            }
        }
        let slot = &mut list.slots[key];
        let stale = match &slot.waker {
            Some(w) if w.will_wake(cx.waker()) => None,
            _ => slot.waker.replace(cx.waker().clone()),
        };
        drop(list);
        // The replaced waker is dropped with no lock held.
        drop(stale);
        Poll::Pending
    }

    /// Barging mode, under the queue lock: a queued waiter tries to take
    /// what it still needs from the count. On success its slot is unlinked
    /// (the caller frees it). A woken head that fails lost a wakeup to a barging task;
    /// after [`STARVE_AFTER`] losses it starves, and from then on releases
    /// hand their permits to it (taking what is free now as a start).
    fn try_take_queued(&self, list: &mut WaitList, key: usize) -> Poll<()> {
        let rest = {
            let slot = &list.slots[key];
            slot.need - slot.assigned
        };
        let mut s = self.state.load(Acquire);
        while s >> SHIFT >= rest {
            match self
                .state
                .compare_exchange_weak(s, s - (rest << SHIFT), Acquire, Acquire)
            {
                Ok(_) => {
                    list.unlink(key);
                    return Poll::Ready(());
                }
                Err(actual) => s = actual,
            }
        }
        let is_head = list.head == key;
        let slot = &mut list.slots[key];
        if slot.woken {
            slot.woken = false;
            slot.lost += 1;
            if is_head && !slot.starving && slot.lost >= STARVE_AFTER {
                slot.starving = true;
                // Take what is free now; releases bring the rest.
                let mut s = s;
                loop {
                    let take = (s >> SHIFT).min(rest);
                    match self
                        .state
                        .compare_exchange_weak(s, s - (take << SHIFT), AcqRel, Acquire)
                    {
                        Ok(_) => {
                            slot.assigned += take;
                            break;
                        }
                        Err(actual) => s = actual,
                    }
                }
            }
        }
        Poll::Pending
    }

    /// Gives up a waiter that has not returned `Ready`: leaves the queue
    /// and returns every permit it was assigned (all of them, if it was
    /// granted but had not seen it yet) to the next waiters.
    #[inline]
    pub(crate) fn cancel(&self, waiter: &mut Waiter) {
        if waiter.key != NIL {
            self.cancel_slow(waiter);
        }
    }

    #[cold]
    fn cancel_slow(&self, waiter: &mut Waiter) {
        let key = waiter.key;
        waiter.key = NIL;
        let mut list = self.lock_list();
        let returned = if list.slots[key].linked {
            list.unlink(key);
            list.slots[key].assigned
        } else {
            list.slots[key].need
        };
        let stale = list.free(key);
        let mut wakers = Wakers::default();
        let released = self.release_locked(&mut list, returned, &mut wakers);
        debug_assert!(released.is_ok(), "returned permits cannot overflow");
        drop(list);
        drop(stale);
        wakers.wake();
    }

    /// Queued waiters right now (for the loom models).
    #[cfg(all(test, tulipa_loom))]
    fn waiters(&self) -> usize {
        let list = self.lock_list();
        let mut n = 0;
        let mut key = list.head;
        while key != NIL {
            n += 1;
            key = list.slots[key].next;
        }
        n
    }
}

impl std::fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSemaphore")
            .field("available", &self.available())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_tests {
    //! Loom models of the hand-off state machine. Blocking happens only in
    //! `loom::future::block_on`, on loom primitives.

    use super::*;
    use loom::sync::atomic::AtomicUsize as LoomCounter;
    use loom::sync::Arc;
    use loom::thread;
    use std::sync::atomic::Ordering::SeqCst;

    /// Wakes a parked loom thread.
    struct Unpark(loom::thread::Thread);

    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }

    /// Polls until ready, parking the loom thread in between.
    fn acquire(sem: &RawSemaphore, n: usize) -> Result<(), Closed> {
        let mut w = Waiter::new(n);
        let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(thread::current())));
        let mut cx = Context::from_waker(&waker);
        let r = loop {
            match sem.poll_acquire(&mut w, &mut cx) {
                Poll::Ready(r) => break r,
                Poll::Pending => thread::park(),
            }
        };
        sem.cancel(&mut w);
        r
    }

    #[test]
    fn loom_mutex_handoff_excludes_and_loses_no_wakeup() {
        mutex_model(RawSemaphore::new);
    }

    #[test]
    fn loom_barging_mutex_excludes_and_loses_no_wakeup() {
        mutex_model(RawSemaphore::new_barging);
    }

    /// Three threads lock and unlock a one-permit semaphore built by `new`.
    fn mutex_model(new: fn(usize) -> RawSemaphore) {
        loom::model(move || {
            let sem = Arc::new(new(1));
            let inside = Arc::new(LoomCounter::new(0));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let sem = sem.clone();
                    let inside = inside.clone();
                    thread::spawn(move || {
                        if !sem.try_acquire_one_exact() {
                            acquire(&sem, 1).unwrap();
                        }
                        assert_eq!(inside.fetch_add(1, SeqCst), 0, "two holders at once");
                        inside.fetch_sub(1, SeqCst);
                        sem.release_one();
                    })
                })
                .collect();
            if !sem.try_acquire_one_exact() {
                acquire(&sem, 1).unwrap();
            }
            assert_eq!(inside.fetch_add(1, SeqCst), 0, "two holders at once");
            inside.fetch_sub(1, SeqCst);
            sem.release_one();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(sem.available(), 1);
            assert_eq!(sem.waiters(), 0);
        });
    }

    #[test]
    fn loom_cancelled_waiter_returns_its_permits() {
        loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(1));
            assert!(sem.try_acquire_one_exact());
            let waiter = {
                let sem = sem.clone();
                thread::spawn(move || {
                    // Polls once (it may queue, be granted, or neither),
                    // then gives up.
                    let mut w = Waiter::new(2);
                    let waker = std::task::Waker::noop();
                    let mut cx = Context::from_waker(waker);
                    let first = sem.poll_acquire(&mut w, &mut cx);
                    if first.is_ready() {
                        // Granted at once: hand both permits back.
                        sem.release(2).unwrap();
                    } else {
                        sem.cancel(&mut w);
                    }
                })
            };
            sem.release(1).unwrap();
            sem.release(1).unwrap();
            waiter.join().unwrap();
            assert_eq!(sem.available(), 2, "a permit was lost");
            assert_eq!(sem.waiters(), 0);
        });
    }

    #[test]
    fn loom_acquire_many_and_one_share_released_permits() {
        loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(0));
            let many = {
                let sem = sem.clone();
                thread::spawn(move || {
                    acquire(&sem, 2).unwrap();
                    sem.release(2).unwrap();
                })
            };
            let one = {
                let sem = sem.clone();
                thread::spawn(move || {
                    acquire(&sem, 1).unwrap();
                    sem.release_one();
                })
            };
            sem.release(2).unwrap();
            many.join().unwrap();
            one.join().unwrap();
            assert_eq!(sem.available(), 2);
        });
    }

    #[test]
    fn loom_fifo_newcomer_never_takes_a_handed_off_permit() {
        loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(1));
            assert!(sem.try_acquire_one_exact());
            // `w` queues before anything races.
            let mut w = Waiter::new(1);
            let mut cx = Context::from_waker(std::task::Waker::noop());
            assert!(sem.poll_acquire(&mut w, &mut cx).is_pending());
            let releaser = {
                let sem = sem.clone();
                thread::spawn(move || sem.release_one())
            };
            let newcomer = {
                let sem = sem.clone();
                thread::spawn(move || {
                    // Before or after the release, the permit is not free:
                    // the release hands it to `w`.
                    assert_eq!(sem.try_acquire(1), Err(TryError::NoPermits), "stole it");
                    let mut n = Waiter::new(1);
                    let mut cx = Context::from_waker(std::task::Waker::noop());
                    assert!(
                        sem.poll_acquire(&mut n, &mut cx).is_pending(),
                        "a newcomer went ahead of the woken waiter"
                    );
                    n
                })
            };
            releaser.join().unwrap();
            let mut n = newcomer.join().unwrap();
            // `w` is cancelled after its wakeup, before it ran: the permit
            // passes to the waiter behind it.
            sem.cancel(&mut w);
            assert!(
                sem.poll_acquire(&mut n, &mut cx).is_ready(),
                "the permit passed on to the next waiter"
            );
            assert_eq!(sem.available(), 0);
            sem.release_one();
            assert_eq!(sem.available(), 1);
            assert_eq!(sem.waiters(), 0);
        });
    }

    #[test]
    fn loom_fifo_waiter_cancelled_after_wakeup_passes_it_on() {
        cancelled_after_wakeup_model(RawSemaphore::new);
    }

    #[test]
    fn loom_barging_waiter_cancelled_after_wakeup_passes_it_on() {
        cancelled_after_wakeup_model(RawSemaphore::new_barging);
    }

    /// One waiter gives up (maybe after it was woken or handed the
    /// permit) while another waits and a release runs.
    fn cancelled_after_wakeup_model(new: fn(usize) -> RawSemaphore) {
        loom::model(move || {
            let sem = Arc::new(new(1));
            assert!(sem.try_acquire_one_exact());
            let quitter = {
                let sem = sem.clone();
                thread::spawn(move || {
                    // Queues (or barges in), then gives up.
                    let mut w = Waiter::new(1);
                    let waker = std::task::Waker::noop();
                    let mut cx = Context::from_waker(waker);
                    if sem.poll_acquire(&mut w, &mut cx).is_ready() {
                        sem.release_one();
                    } else {
                        sem.cancel(&mut w);
                    }
                })
            };
            let stayer = {
                let sem = sem.clone();
                thread::spawn(move || {
                    acquire(&sem, 1).unwrap();
                    sem.release_one();
                })
            };
            sem.release_one();
            quitter.join().unwrap();
            stayer.join().unwrap();
            assert_eq!(sem.available(), 1, "the permit was lost");
            assert_eq!(sem.waiters(), 0);
        });
    }

    #[test]
    fn loom_close_wakes_waiter_and_keeps_count() {
        loom::model(|| {
            let sem = Arc::new(RawSemaphore::new(1));
            let waiter = {
                let sem = sem.clone();
                thread::spawn(move || {
                    assert_eq!(acquire(&sem, 2), Err(Closed), "only one permit exists");
                })
            };
            assert!(sem.close());
            waiter.join().unwrap();
            assert_eq!(sem.available(), 1, "the partly assigned permit came back");
            assert_eq!(sem.waiters(), 0);
        });
    }
}
