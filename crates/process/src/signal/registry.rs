//! The process-wide signal table: the one place in this crate that talks
//! to the signal machinery, and the only module with `unsafe` code (two
//! blocks, each with its proof).
//!
//! # Design
//!
//! **Handlers.** The first listener for a signal installs, through
//! `signal-hook-registry` (the field standard, which chains to any handler
//! installed before it and keeps `errno` intact), a low-level handler that
//! does two async-signal-safe things: it bumps that signal's delivery
//! counter in [`DELIVERIES`] (a static array of atomics) and writes to one
//! process-wide eventfd. The handler is never removed (see the crate docs:
//! the signal's default action is gone for the rest of the process).
//!
//! **Dispatch.** The eventfd is registered with the process-wide reactor
//! (`Reactor::global`). A reactor callback (see `serial.rs`), woken by the
//! reactor's thread when the eventfd becomes readable, drains it, compares
//! every counter with the value it saw last time and wakes the listeners
//! of each signal whose counter moved. Only the
//! dispatcher drains the eventfd: if listeners drained it themselves, one
//! listener could empty it between a write and the moment the kernel
//! re-checks readiness for another, which would then never be woken.
//!
//! **Listeners.** A [`Listener`] remembers, per signal it watches, the
//! counter value it has seen. It yields a signal when the counter moved
//! (every delivery after the listener was made is seen, by every
//! listener); otherwise it stores its waker in the signal's waiter map
//! ([`WAITERS`], keyed by listener id, so a dropped listener removes its
//! entry) and only then re-checks the counter, so a delivery between the
//! check and the wait is never lost. The dispatcher takes a signal's whole
//! map under its lock and wakes the wakers after releasing it: wakers are
//! never called (nor a replaced one dropped) under a lock, so a waker
//! that does work inline (the orphan reaper, see `serial.rs`) may create,
//! poll or drop listeners itself. (That is
//! why this is not an `event_listener::Event`, which wakes under its lock.)
//! Deliveries that arrive between two polls of one listener coalesce into
//! one item; the kernel itself already merges a
//! standard signal delivered while it is pending.
//!
//! Ordering: the handler increments the counter before it writes the
//! eventfd; the dispatcher reads the counter after it drained the eventfd
//! and takes the waiters after that; a listener stores its waker, then
//! reads the counter.
//! All of it is `SeqCst`, so a listener either sees the new count or is
//! registered before the notification.

#![allow(unsafe_code)]

use rustix::event::{eventfd, EventfdFlags};
use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use tulipa_reactor::{Async, Reactor};

use super::Signal;
use crate::serial::ReactorTask;

/// One more than the highest signal number on Linux (`SIGRTMAX` is 64).
pub(crate) const NSIG: usize = 65;

/// Deliveries seen by the low-level handler, per signal number (wrapping).
static DELIVERIES: [AtomicUsize; NSIG] = [const { AtomicUsize::new(0) }; NSIG];
/// Per signal, the wakers of the listeners waiting for it, by listener id.
static WAITERS: [Mutex<BTreeMap<u64, Waker>>; NSIG] = [const { Mutex::new(BTreeMap::new()) }; NSIG];
/// Whether the low-level handler is installed, per signal number.
static INSTALLED: [AtomicBool; NSIG] = [const { AtomicBool::new(false) }; NSIG];
/// The eventfd the handler writes to, or -1 before it exists. Set once,
/// never changed: the descriptor is owned by [`DISPATCHER`] forever.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// Serialises installation (of the dispatcher and of each handler).
static INSTALL: Mutex<()> = Mutex::new(());
/// The dispatcher; it lives in a static, so it is never dropped.
static DISPATCHER: OnceLock<Arc<ReactorTask<Dispatch>>> = OnceLock::new();
/// Set when the dispatcher could not re-arm its eventfd.
static DISPATCH_FAILED: AtomicBool = AtomicBool::new(false);

/// The dispatcher's state: the eventfd and the counters it saw last.
struct Dispatch {
    wakeup: Async<OwnedFd>,
    seen: [usize; NSIG],
}

/// The low-level handler: async-signal-safe (atomics and one `write`).
fn on_signal(signal: usize) {
    DELIVERIES[signal].fetch_add(1, SeqCst);
    let fd = WAKE_FD.load(SeqCst);
    if fd >= 0 {
        // SAFETY: `WAKE_FD` is set once, to the eventfd inside the
        // dispatcher's `Async<OwnedFd>`, after that `Async` was stored in
        // the `DISPATCHER` static. The dispatcher state never replaces or
        // drops that field and a static is never dropped, so the
        // descriptor stays open for the rest of the process: the borrow
        // cannot outlive it. (In a child between `fork` and `exec` the
        // descriptor is still open too: it is only closed by the `exec`.)
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        // A full eventfd counter (`EAGAIN`) still wakes the dispatcher.
        let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
    }
}

/// Drains the eventfd and notifies every signal whose counter moved.
fn dispatch(state: &mut Dispatch, cx: &mut Context<'_>) {
    loop {
        let mut buf = [0u8; 8];
        // `EAGAIN` (nothing to drain) is the common case; nothing else can
        // fail on an eventfd we own with an 8-byte buffer.
        let _ = rustix::io::read(state.wakeup.get_ref(), &mut buf);
        for (signal, seen) in state.seen.iter_mut().enumerate() {
            let now = DELIVERIES[signal].load(SeqCst);
            if now != *seen {
                *seen = now;
                let waiters = std::mem::take(&mut *waiters(signal));
                // Woken with no lock of ours held but the dispatcher's own
                // (a waker that re-enters `poll_now` just re-runs it).
                for (_, waker) in waiters {
                    waker.wake();
                }
            }
        }
        match state.wakeup.poll_readable(cx) {
            Poll::Pending => return,
            Poll::Ready(Ok(())) => continue,
            // The process-wide reactor is never shut down; a failing
            // `epoll_ctl` is retried by the next `Listener::add`.
            Poll::Ready(Err(_)) => {
                DISPATCH_FAILED.store(true, SeqCst);
                return;
            }
        }
    }
}

/// The dispatcher, created on first use. Called with `INSTALL` held.
fn dispatcher() -> io::Result<&'static Arc<ReactorTask<Dispatch>>> {
    if let Some(task) = DISPATCHER.get() {
        return Ok(task);
    }
    let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
    let raw = fd.as_raw_fd();
    let wakeup = Async::new_in(fd, Reactor::global())?;
    let task = DISPATCHER.get_or_init(|| {
        ReactorTask::new(
            Dispatch {
                wakeup,
                seen: [0; NSIG],
            },
            dispatch,
        )
    });
    WAKE_FD.store(raw, SeqCst);
    // The first pass registers the eventfd's waker. It runs under the
    // `INSTALL` lock, which is safe because it wakes nobody: no handler was
    // installed before the dispatcher existed, so no counter moved and no
    // listener waits.
    task.poll_now();
    Ok(task)
}

fn waiters(signal: usize) -> MutexGuard<'static, BTreeMap<u64, Waker>> {
    WAITERS[signal].lock().unwrap_or_else(|e| e.into_inner())
}

/// The signal numbers this system has (platform choice by module).
#[cfg(target_os = "linux")]
mod limits {
    /// The highest signal number.
    pub(super) fn max() -> i32 {
        libc::SIGRTMAX()
    }

    /// Whether the C library keeps `raw` for its own threads (glibc and
    /// musl use the first real-time signals, below `SIGRTMIN()`).
    pub(super) fn reserved_by_libc(raw: i32) -> bool {
        raw < libc::SIGRTMIN() && raw > libc::SIGSYS
    }
}

/// The signal numbers this system has (platform choice by module).
#[cfg(not(target_os = "linux"))]
mod limits {
    /// The highest signal number the tables here hold.
    pub(super) fn max() -> i32 {
        (super::NSIG - 1) as i32
    }

    /// No C library reservation known here.
    pub(super) fn reserved_by_libc(_raw: i32) -> bool {
        false
    }
}

/// Why `signal` cannot be listened for, if it cannot.
pub(crate) fn check(signal: Signal) -> io::Result<()> {
    let raw = signal.as_raw();
    let max = limits::max();
    if raw < 1 || raw > max || raw as usize >= NSIG {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{signal} is not a signal number on this system: use one of 1..={max}"),
        ));
    }
    let why = match raw {
        libc::SIGKILL | libc::SIGSTOP => "the kernel never lets a process catch it",
        libc::SIGSEGV
        | libc::SIGBUS
        | libc::SIGILL
        | libc::SIGFPE
        | libc::SIGTRAP
        | libc::SIGSYS => {
            "it reports a fault in the thread that caused it, and a handler that \
             returns makes the thread fault again, forever"
        }
        _ if limits::reserved_by_libc(raw) => {
            "it is reserved by the C library for its own threads (use SIGRTMIN or above)"
        }
        _ => return Ok(()),
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("cannot listen for {signal}: {why}"),
    ))
}

/// Installs the low-level handler for `signal` (once per process).
pub(crate) fn install(signal: Signal) -> io::Result<()> {
    check(signal)?;
    let n = signal.as_raw() as usize;
    if INSTALLED[n].load(SeqCst) {
        return Ok(());
    }
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if INSTALLED[n].load(SeqCst) {
        return Ok(());
    }
    dispatcher()?;
    // SAFETY: `register` requires the action to be async-signal-safe.
    // `on_signal` only does an atomic `fetch_add` and an atomic load on
    // statics (lock-free atomics: `AtomicUsize`/`AtomicI32` on every Linux
    // target), and one `write(2)` system call on a descriptor that is open
    // for the rest of the process (see `on_signal`); it allocates nothing,
    // takes no lock and cannot panic (the index is below `NSIG`, checked
    // above). `signal-hook-registry` saves and restores `errno` around it.
    // `check` rejected the signals the registry forbids.
    unsafe { signal_hook_registry::register(signal.as_raw(), move || on_signal(n)) }?;
    INSTALLED[n].store(true, SeqCst);
    Ok(())
}

/// Watches a set of signals; see the module docs.
pub(crate) struct Listener {
    /// Unique: the key of this listener's wakers in [`WAITERS`].
    id: u64,
    /// `(signal number, deliveries seen)`.
    signals: Vec<(usize, usize)>,
    /// Where the next scan starts, so one busy signal starves no other.
    next: usize,
}

impl Listener {
    /// A listener for no signal yet.
    pub(crate) fn empty() -> Listener {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Listener {
            id: NEXT_ID.fetch_add(1, SeqCst),
            signals: Vec::new(),
            next: 0,
        }
    }

    /// Watches `signal` too, from now on; installs its handler if needed.
    pub(crate) fn add(&mut self, signal: Signal) -> io::Result<()> {
        install(signal)?;
        let n = signal.as_raw() as usize;
        if !self.signals.iter().any(|&(s, _)| s == n) {
            self.signals.push((n, DELIVERIES[n].load(SeqCst)));
        }
        // A dispatcher whose `epoll_ctl` once failed gets another chance.
        // (Not otherwise: `add` may run inside the orphan reaper's pass,
        // and a dispatcher pass there could wake a task whose destructor
        // needs the reaper.)
        if DISPATCH_FAILED.swap(false, SeqCst) {
            if let Some(task) = DISPATCHER.get() {
                task.poll_now();
            }
        }
        Ok(())
    }

    /// The signals watched, in the order they were added.
    pub(crate) fn signals(&self) -> impl Iterator<Item = Signal> + '_ {
        self.signals
            .iter()
            .map(|&(n, _)| Signal::from_raw(n as i32))
    }

    /// A signal whose counter moved since this listener last looked.
    fn take_pending(&mut self) -> Option<Signal> {
        let len = self.signals.len();
        for k in 0..len {
            let i = (self.next + k) % len;
            let (n, seen) = &mut self.signals[i];
            let now = DELIVERIES[*n].load(SeqCst);
            if now != *seen {
                *seen = now;
                self.next = (i + 1) % len;
                return Some(Signal::from_raw(*n as i32));
            }
        }
        None
    }

    /// Polls for the next delivery of a watched signal.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Signal> {
        if let Some(signal) = self.take_pending() {
            return Poll::Ready(signal);
        }
        // Store the waker first, then look again: a delivery in between is
        // then either seen here or wakes the stored waker.
        for &(n, _) in &self.signals {
            let stale = {
                let mut waiters = waiters(n);
                match waiters.get_mut(&self.id) {
                    Some(w) if w.will_wake(cx.waker()) => None,
                    Some(w) => Some(std::mem::replace(w, cx.waker().clone())),
                    None => waiters.insert(self.id, cx.waker().clone()),
                }
            };
            // Dropped after the lock is released: a waker's drop may run
            // any code (even drop a listener of this signal).
            drop(stale);
        }
        match self.take_pending() {
            Some(signal) => Poll::Ready(signal),
            None => Poll::Pending,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        for &(n, _) in &self.signals {
            let removed = waiters(n).remove(&self.id);
            // Dropped after the lock is released: a waker's destructor may
            // run arbitrary code.
            drop(removed);
        }
    }
}
