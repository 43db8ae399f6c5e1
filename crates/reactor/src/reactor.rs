//! The reactor: one OS poller, the table of registered sources, and the
//! [`Driver`] implementation that waits on the poller and wakes tasks.
//!
//! See the [crate docs](crate) for the design and the lock order.
// Unsafe here: registration takes a raw descriptor the caller keeps open (each block has its SAFETY proof).
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::task::Waker;
use std::thread;
use std::time::Duration;

use tulipa_core::{Driver, Unpark, Unparker};

use crate::park::Handshake;
use crate::source::{lock, Source};
use crate::sys::{Ev, Events, Poller};
use slab::Slab;

/// Bits of a poller key that hold the slot index; the rest hold the
/// generation.
const INDEX_BITS: u32 = usize::BITS / 2;
/// Mask extracting the slot index from a poller key.
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Slot indices must stay below this, which also keeps every key below
/// `usize::MAX` (reserved by `polling` for its own notifications).
const MAX_SOURCES: usize = INDEX_MASK;

/// The error every wait on a shut-down reactor fails with.
pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other(
        "the runtime owning this reactor was shut down; \
         I/O objects registered with it can no longer wait for readiness",
    )
}

/// Handle to a reactor: an OS poller (epoll, kqueue, event ports through
/// `polling`) plus the table of registered I/O sources.
///
/// Cloning is cheap and every clone refers to the same reactor. A reactor
/// does nothing until some thread drives it with [`Driver::park`]; the
/// [`global`](Reactor::global) reactor has a background thread that does
/// so forever. See the [crate docs](crate) for the design.
///
/// # Examples
///
/// Driving a private reactor from a helper thread:
///
/// ```
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tulipa_core::Driver;
/// use tulipa_reactor::{Async, Reactor};
///
/// let reactor = Reactor::new()?;
/// let stop = Arc::new(AtomicBool::new(false));
/// let driver = {
///     let (reactor, stop) = (reactor.clone(), stop.clone());
///     std::thread::spawn(move || {
///         while !stop.load(Ordering::SeqCst) {
///             reactor.park(Some(Duration::from_millis(10)));
///         }
///     })
/// };
///
/// let (a, mut b) = UnixStream::pair()?;
/// let a = Async::new_in(a, &reactor)?;
/// b.write_all(b"x")?;
/// futures_lite::future::block_on(a.readable())?;
///
/// stop.store(true, Ordering::SeqCst);
/// reactor.unparker().unpark();
/// driver.join().unwrap();
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct Reactor {
    pub(crate) inner: Arc<Inner>,
}

/// The shared state behind every [`Reactor`] clone.
pub(crate) struct Inner {
    pub(crate) poller: Poller,
    /// Set once by [`Reactor::shutdown`]; read under a source's state lock.
    pub(crate) shutdown: AtomicBool,
    sources: Mutex<Sources>,
    /// Held by the one thread inside `park` (try-locked).
    park: Mutex<ParkState>,
    /// When an unpark must notify the poller (see [`Handshake`]).
    handshake: Handshake,
    /// Notifications sent to the poller (for tests).
    #[cfg(test)]
    notifies: std::sync::atomic::AtomicUsize,
}

struct Sources {
    slab: Slab<Arc<Source>>,
    /// Bumped for every registration; the high half of the key.
    next_generation: usize,
}

impl Sources {
    /// The live source registered under `key`. A stale key (its source was
    /// freed, the slot maybe reused by a later registration) names a slot
    /// whose key differs, and yields `None`.
    fn get(&self, key: usize) -> Option<&Arc<Source>> {
        self.slab
            .get(key & INDEX_MASK)
            .filter(|source| source.key == key)
    }
}

/// Buffers owned by the parking thread, kept to avoid allocating per park.
struct ParkState {
    events: Events,
    batch: Vec<(Arc<Source>, Ev)>,
    wakers: Vec<Waker>,
}

thread_local! {
    static CURRENT: RefCell<Option<Reactor>> = const { RefCell::new(None) };
}

impl Reactor {
    /// Creates a new reactor with its own OS poller.
    ///
    /// Nothing drives it until a thread calls [`Driver::park`] on it (an
    /// executor's worker, a `block_on`, or your own loop).
    ///
    /// # Errors
    ///
    /// Fails if the OS poller cannot be created (for example when the
    /// process is out of file descriptors).
    pub fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            inner: Arc::new(Inner {
                poller: Poller::new()?,
                shutdown: AtomicBool::new(false),
                sources: Mutex::new(Sources {
                    slab: Slab::new(),
                    next_generation: 0,
                }),
                park: Mutex::new(ParkState {
                    events: Events::new(),
                    batch: Vec::new(),
                    wakers: Vec::new(),
                }),
                handshake: Handshake::new(),
                #[cfg(test)]
                notifies: std::sync::atomic::AtomicUsize::new(0),
            }),
        })
    }

    /// The process-wide reactor, created on first use.
    ///
    /// Creating it also starts one background thread named
    /// `tulipa-reactor` that drives it forever, so [`Async`](crate::Async)
    /// values registered with it make progress under any `block_on`, with
    /// no runtime at all. The thread holds the reactor's park lock almost
    /// always, so other threads calling [`Driver::park`] on the global
    /// reactor usually get `false` back and should sleep on their own
    /// parker.
    ///
    /// # Panics
    ///
    /// Panics if the OS poller cannot be created or the thread cannot be
    /// spawned on first use; the process is then out of file descriptors or
    /// threads and no I/O could work anyway. Use [`Reactor::new`] to handle
    /// that error instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::net::UnixStream;
    /// use tulipa_reactor::{Async, Reactor};
    ///
    /// let (a, mut b) = UnixStream::pair()?;
    /// let a = Async::new_in(a, Reactor::global())?;
    /// b.write_all(b"ping")?;
    /// futures_lite::future::block_on(a.readable())?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn global() -> &'static Reactor {
        static GLOBAL: OnceLock<Reactor> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let reactor = Reactor::new().unwrap_or_else(|e| {
                panic!("tulipa-reactor: cannot create the global reactor's OS poller: {e}")
            });
            let driver = reactor.clone();
            thread::Builder::new()
                .name("tulipa-reactor".into())
                .spawn(move || driver.drive_forever())
                .unwrap_or_else(|e| {
                    panic!("tulipa-reactor: cannot spawn the global reactor's thread: {e}")
                });
            reactor
        })
    }

    /// The reactor [entered](Reactor::enter) on this thread, else the
    /// [global](Reactor::global) one.
    ///
    /// # Panics
    ///
    /// Panics only where [`Reactor::global`] does.
    pub fn current() -> Reactor {
        Reactor::try_current().unwrap_or_else(|| Reactor::global().clone())
    }

    /// The reactor [entered](Reactor::enter) on this thread, if any (never
    /// the global one unless it was entered).
    pub fn try_current() -> Option<Reactor> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }

    /// Makes this reactor the thread's [current](Reactor::current) one
    /// until the guard is dropped.
    ///
    /// Guards nest: dropping one restores whatever was current before it
    /// was created. Drop them in reverse order of creation.
    ///
    /// # Panics
    ///
    /// Panics if called while the thread's locals are being destroyed.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_reactor::Reactor;
    ///
    /// let reactor = Reactor::new()?;
    /// assert!(Reactor::try_current().is_none());
    /// {
    ///     let _guard = reactor.enter();
    ///     assert!(Reactor::try_current().is_some());
    /// }
    /// assert!(Reactor::try_current().is_none());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        let prev = CURRENT.with(|c| c.replace(Some(self.clone())));
        EnterGuard {
            prev,
            _reactor: PhantomData,
        }
    }

    /// Shuts the reactor down: every task waiting on one of its sources is
    /// woken, and every wait from now on fails.
    ///
    /// Waits (`readable`, `read_with`, `poll_readable`, the `AsyncRead`
    /// and `AsyncWrite` impls, ...) then return an [`io::Error`] of kind
    /// [`Other`](io::ErrorKind::Other) saying the runtime owning the
    /// reactor was shut down, and registering new sources fails the same
    /// way. Operations that do not need to wait (a read with data already
    /// buffered) still succeed. Calling it again does nothing more.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use tulipa_reactor::{Async, Reactor};
    ///
    /// let reactor = Reactor::new()?;
    /// let (a, _b) = UnixStream::pair()?;
    /// let a = Async::new_in(a, &reactor)?;
    /// reactor.shutdown();
    /// let err = futures_lite::future::block_on(a.readable()).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::Other);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown(&self) {
        // Set before locking any source: see `Waiter::poll`.
        self.inner.shutdown.store(true, Ordering::SeqCst);
        let sources: Vec<Arc<Source>> = lock(&self.inner.sources)
            .slab
            .iter()
            .map(|(_, s)| s.clone())
            .collect();
        let mut wakers = Vec::new();
        for source in &sources {
            source.wake_all(&mut wakers);
        }
        drop(sources);
        for waker in wakers {
            waker.wake();
        }
        // Let a parked thread notice promptly. A failed notify is harmless.
        let _ = self.inner.poller.notify();
    }

    /// The OS poller backend this reactor waits on: `"epoll"` (Linux's
    /// own, one system call per wait) or `"portable"` (the `polling`
    /// crate). The environment variable `TULIPA_POLLER` picks one when the
    /// reactor is created; see the [crate docs](crate#backends).
    pub fn backend(&self) -> &'static str {
        self.inner.poller.name()
    }

    /// Whether [`shutdown`](Reactor::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.shutdown.load(Ordering::SeqCst)
    }

    /// The number of registered sources (live [`Async`](crate::Async)
    /// values); dropping one frees its registration.
    pub fn source_count(&self) -> usize {
        lock(&self.inner.sources).slab.len()
    }

    /// Drives the reactor on this thread forever (the global thread).
    fn drive_forever(self) {
        loop {
            // A waker that panics must not kill the only thread driving
            // the global reactor.
            let res = panic::catch_unwind(AssertUnwindSafe(|| {
                let mut park = lock(&self.inner.park);
                self.inner.park_blocking(&mut park, None)
            }));
            if !matches!(res, Ok(Ok(()))) {
                // Back off instead of spinning on a persistent error.
                thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

impl Inner {
    /// Whether the reactor was shut down (then no event will ever come).
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// Registers `fd` with the poller (no interest yet) and returns its
    /// source.
    ///
    /// # Safety
    ///
    /// The caller must own (or borrow for at least as long) the descriptor
    /// and call [`Source::deregister`] then [`Inner::remove`] before the
    /// descriptor is closed.
    pub(crate) unsafe fn register(&self, fd: BorrowedFd<'_>) -> io::Result<Arc<Source>> {
        let mut sources = lock(&self.sources);
        // Checked under the sources lock: `shutdown` sets the flag before
        // taking it, so a source registered after shutdown is impossible.
        if self.shutdown.load(Ordering::SeqCst) {
            return Err(shutdown_error());
        }
        let index = sources.slab.vacant_key();
        if index >= MAX_SOURCES {
            return Err(io::Error::other(format!(
                "too many I/O sources registered with one reactor (limit {MAX_SOURCES}); \
                 drop some or use another reactor"
            )));
        }
        let generation = sources.next_generation;
        sources.next_generation = generation.wrapping_add(1);
        // Bits shifted out of the top are simply lost: the generation
        // wraps, which only matters if a stale event survives 2^32
        // (2^16 on 32-bit targets) registrations.
        let key = index | (generation << INDEX_BITS);
        // SAFETY: the caller promises to delete the descriptor from this
        // poller (`Source::deregister`) before closing it. An event may
        // name `key` as soon as it is added, but the dispatching thread
        // looks keys up under the sources lock, which we hold until the
        // source is in the slab below.
        unsafe {
            self.poller.add(fd.as_raw_fd(), key)?;
        }
        let source = Arc::new(Source::new(fd.as_raw_fd(), key));
        let inserted = sources.slab.insert(source.clone());
        debug_assert_eq!(inserted, index);
        Ok(source)
    }

    /// Frees `source`'s slot (after [`Source::deregister`]).
    pub(crate) fn remove(&self, source: &Source) {
        let mut sources = lock(&self.sources);
        if sources.get(source.key).is_some() {
            sources.slab.try_remove(source.key & INDEX_MASK);
        }
    }

    /// A turn that may block: ends at once if an unpark is pending, else
    /// waits up to `timeout` (the [`Handshake`] says when an unpark must
    /// notify the poller). The caller holds the park lock.
    fn park_blocking(&self, park: &mut ParkState, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = if self.handshake.begin_blocking() {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        self.turn(park, timeout)
    }

    /// One turn: wait on the poller, then wake the tasks whose sources
    /// became ready. The caller holds the park lock, and clears
    /// `sleeping` after the wait (set only by `park_blocking`).
    fn turn(&self, park: &mut ParkState, mut timeout: Option<Duration>) -> io::Result<()> {
        if !park.wakers.is_empty() {
            // A waker panicked during the previous turn: wake the rest now
            // and do not sleep, so none of them is lost.
            wake_all(&mut park.wakers);
            timeout = Some(Duration::ZERO);
        }
        let res = self.poller.wait(&mut park.events, timeout);
        // Awake again: from here on an unpark needs no notification.
        self.handshake.end_wait();
        if !park.events.list.is_empty() {
            {
                let sources = lock(&self.sources);
                for ev in &park.events.list {
                    if let Some(source) = sources.get(ev.key) {
                        park.batch.push((source.clone(), *ev));
                    }
                }
            }
            for (source, ev) in park.batch.drain(..) {
                source.dispatch(&ev, &mut park.wakers);
            }
            // No lock but the park lock is held while waking.
            wake_all(&mut park.wakers);
        }
        res.map(drop)
    }
}

/// Wakes and removes every waker in `wakers`, first to last, one at a
/// time, so that if a waker panics the ones not yet woken stay in the
/// vector, still in order.
///
/// First to last matters: the wakers are collected in the order the
/// poller reported the events, which for epoll is the order the sources
/// became ready, and a waker queues its task at the back of a run queue.
/// Waking last to first (popping) served every batch in reverse, so the
/// connection that had waited longest ran last: on a 50-connection echo
/// server that cost a third more p99 latency and a 1.13 spread between
/// the busiest and the idlest connection.
fn wake_all(wakers: &mut Vec<Waker>) {
    /// Removes the woken prefix, also when a waker panics.
    struct Woken<'a> {
        wakers: &'a mut Vec<Waker>,
        n: usize,
    }
    impl Drop for Woken<'_> {
        fn drop(&mut self) {
            self.wakers.drain(..self.n);
        }
    }
    let mut woken = Woken { wakers, n: 0 };
    while woken.n < woken.wakers.len() {
        let waker = std::mem::replace(&mut woken.wakers[woken.n], Waker::noop().clone());
        woken.n += 1;
        waker.wake();
    }
}

/// Wakes the reactor: records the unpark, and calls `Poller::notify` only
/// while a thread is blocked in the poller (see `Inner::park_blocking`).
struct NotifyPoller(Arc<Inner>);

impl Unpark for NotifyPoller {
    fn unpark(&self) {
        // Recorded first, then `sleeping` read: the handshake described at
        // `Inner::park_blocking`. A thread that is not blocked in the
        // poller (running tasks, dispatching events, or in a non-blocking
        // turn) sees the flag before its next blocking wait.
        if self.0.handshake.unpark() {
            #[cfg(test)]
            self.0.notifies.fetch_add(1, Ordering::Relaxed);
            // Can only fail if the notification pipe/eventfd is broken;
            // there is nobody to report it to, and parks may return
            // spuriously.
            let _ = self.0.poller.notify();
        }
    }
}

impl Driver for Reactor {
    /// Waits on the OS poller for at most `timeout`, then wakes the tasks
    /// of every source that became ready.
    ///
    /// Returns `false` at once if another thread is inside `park`. An
    /// error from the OS poller is treated as a spurious return.
    fn park(&self, timeout: Option<Duration>) -> bool {
        let mut park = match self.inner.park.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::WouldBlock) => return false,
            // The buffers are cleared before each use.
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
        };
        // A non-blocking turn with nothing registered has nothing to
        // collect: skip the poller's syscalls (busy executors call this
        // every few dozen tasks). A pending notification stays pending and
        // ends the next blocking park early, as documented.
        if timeout == Some(Duration::ZERO) {
            if park.wakers.is_empty() && self.source_count() == 0 {
                return true;
            }
            // Does not touch `notified`, nor set `sleeping` (it does not
            // block): an unpark meanwhile stays recorded for the next
            // blocking park.
            let _ = self.inner.turn(&mut park, timeout);
            return true;
        }
        // A wakeup that arrived earlier ends this park at once.
        let _ = self.inner.park_blocking(&mut park, timeout);
        // Whatever unparked us has been seen: callers re-check their state
        // after every park, and the swap (a read of the unparker's store)
        // makes the unparker's earlier writes visible to that re-check. A
        // poller notification still pending only causes one early return.
        self.inner.handshake.consume();
        true
    }

    /// Returns a handle whose `unpark` wakes the thread blocked inside
    /// `park` (through `Poller::notify`), or, if no thread is blocked in
    /// the poller, makes the next blocking `park` return at once (through
    /// a flag, with no system call).
    fn unparker(&self) -> Unparker {
        Unparker::new(NotifyPoller(self.inner.clone()))
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &self.source_count())
            .field("shutdown", &self.is_shutdown())
            .finish_non_exhaustive()
    }
}

/// Restores the previously [current](Reactor::current) reactor when
/// dropped; returned by [`Reactor::enter`].
///
/// Not `Send`: it must be dropped on the thread that created it.
#[must_use = "the reactor is only current until the guard is dropped"]
pub struct EnterGuard<'a> {
    prev: Option<Reactor>,
    /// Borrows the reactor and pins the guard to its thread.
    _reactor: PhantomData<(&'a Reactor, *const ())>,
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Context, Poll, Wake};

    fn notifies(reactor: &Reactor) -> usize {
        reactor.inner.notifies.load(Ordering::Relaxed)
    }

    #[test]
    fn unpark_while_nobody_waits_skips_the_poller_but_is_kept() {
        let reactor = Reactor::new().unwrap();
        reactor.unparker().unpark();
        reactor.unparker().unpark();
        assert_eq!(notifies(&reactor), 0, "nobody was blocked in the poller");
        // A non-blocking turn leaves it pending...
        assert!(reactor.park(Some(Duration::ZERO)));
        // ...and the blocking park returns at once instead of hanging.
        assert!(reactor.park(None));
        assert_eq!(notifies(&reactor), 0);
    }

    #[test]
    fn unpark_while_blocked_notifies_the_poller() {
        let reactor = Reactor::new().unwrap();
        let parked = {
            let reactor = reactor.clone();
            thread::spawn(move || reactor.park(None))
        };
        // Bounded: the thread marks itself sleeping right after it starts.
        let mut seen = false;
        for _ in 0..100_000 {
            if reactor.inner.handshake.is_sleeping() {
                seen = true;
                break;
            }
            thread::yield_now();
        }
        assert!(seen, "the parking thread never marked itself sleeping");
        reactor.unparker().unpark();
        assert!(parked.join().unwrap());
        assert_eq!(notifies(&reactor), 1);
        assert!(!reactor.inner.handshake.is_sleeping());
    }

    /// Unparks the reactor when woken, as an executor's task waker does.
    struct UnparkOnWake {
        unparker: Unparker,
        woken: AtomicUsize,
    }

    impl Wake for UnparkOnWake {
        fn wake(self: Arc<Self>) {
            self.woken.fetch_add(1, Ordering::SeqCst);
            self.unparker.unpark();
        }
    }

    #[test]
    fn a_waker_run_by_the_parking_thread_unparks_without_a_notification() {
        let reactor = Reactor::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = crate::Async::new_in(a, &reactor).unwrap();
        let wake = Arc::new(UnparkOnWake {
            unparker: reactor.unparker(),
            woken: AtomicUsize::new(0),
        });
        let waker = Waker::from(wake.clone());
        let mut cx = Context::from_waker(&waker);
        let mut readable = std::pin::pin!(a.readable());
        assert!(readable.as_mut().poll(&mut cx).is_pending());
        b.write_all(b"x").unwrap();
        // Bounded: the byte is already there, so each park returns with
        // the event (no timeout needed).
        for _ in 0..100 {
            if wake.woken.load(Ordering::SeqCst) > 0 {
                break;
            }
            assert!(reactor.park(None));
        }
        assert_eq!(wake.woken.load(Ordering::SeqCst), 1);
        assert!(matches!(
            readable.as_mut().poll(&mut cx),
            Poll::Ready(Ok(()))
        ));
        // The waker's unpark found the thread awake (dispatching) and the
        // park consumed it on its way out.
        assert_eq!(notifies(&reactor), 0);
        assert!(!reactor.inner.handshake.is_notified());
    }

    #[test]
    fn stale_keys_do_not_resolve_to_a_reused_slot() {
        let reactor = Reactor::new().unwrap();
        let inner = &reactor.inner;
        let (a, _pa) = UnixStream::pair().unwrap();
        // SAFETY: `a` outlives the registration: it is deregistered below,
        // before `a` is dropped at the end of the test.
        let old = unsafe { inner.register(a.as_fd()) }.unwrap();
        old.deregister(&inner.poller, a.as_fd()).unwrap();
        inner.remove(&old);

        let (b, _pb) = UnixStream::pair().unwrap();
        // SAFETY: as above, for `b`.
        let new = unsafe { inner.register(b.as_fd()) }.unwrap();
        assert_eq!(old.key & INDEX_MASK, new.key & INDEX_MASK, "slot reused");
        assert_ne!(old.key, new.key, "with a new generation");
        {
            let sources = lock(&inner.sources);
            assert!(sources.get(old.key).is_none());
            assert!(Arc::ptr_eq(sources.get(new.key).unwrap(), &new));
        }
        // Removing through the stale source frees nothing.
        inner.remove(&old);
        assert_eq!(reactor.source_count(), 1);
        new.deregister(&inner.poller, b.as_fd()).unwrap();
        inner.remove(&new);
        assert_eq!(reactor.source_count(), 0);
        assert_ne!(new.key, usize::MAX);
    }
}
