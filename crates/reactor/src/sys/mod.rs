//! The OS poller behind the reactor, edge-triggered, in two backends.
//!
//! Every descriptor is registered **once**, edge-triggered, for both
//! directions; the reactor keeps the readiness it learned in each source
//! (see `source`), so waiting never costs an `epoll_ctl`. What a backend
//! must give is: `add` (edge-triggered, read and write, with the key),
//! `delete`, a `wait` that reports `(key, readable, writable, closed)`
//! events, and a thread-safe `notify` that ends a `wait`.
//!
//! # Why two backends
//!
//! - **`epoll`** (Linux): a wait is exactly one `epoll_pwait` system call.
//!   The notification is an eventfd registered edge-triggered, so waking a
//!   blocked thread is one `write` and nothing has to read or re-arm it
//!   afterwards (the counter only needs resetting after 2⁶⁴−2 writes, which
//!   `notify` handles). The timeout goes to `epoll_pwait` in milliseconds,
//!   rounded up, so a timer may fire up to a millisecond late but never
//!   early.
//! - **`portable`** (the [`polling`] crate, every Unix it supports with
//!   edge-triggered mode): used everywhere else, and on Linux when the
//!   environment variable `TULIPA_POLLER=portable` is set (CI runs the
//!   reactor, net, process and fs suites that way too). polling 3.11's epoll
//!   backend disarms and re-arms a timerfd and reads and re-arms its
//!   notification eventfd on every `wait`, four extra system calls per
//!   turn even with no timeout and no notification; it also reports no
//!   `EPOLLRDHUP`, so a peer's half-close cannot be told from data, and
//!   the "a short read drained the socket" shortcut is off on it.
//!
//! The Linux backend can go once a polling release waits with one system
//! call when no timeout and no notification are pending, and reports
//! read-hangup; upstream has merged the timerfd half of that after 3.11.0.
//!
//! The backend is chosen per reactor when it is created (an enum, not a
//! cfg), so one build runs both.
// Unsafe here: `Poller::add` takes a raw descriptor the caller keeps open (each block has its SAFETY proof).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

#[cfg(target_os = "linux")]
mod epoll;
mod portable;
#[cfg(target_os = "linux")]
pub(crate) mod tcp_inq;

/// The environment variable that picks a backend: `epoll` (Linux only) or
/// `portable`. Unset means the best one for the platform.
pub(crate) const POLLER_ENV: &str = "TULIPA_POLLER";

/// One event, in the reactor's own terms.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Ev {
    /// The key the descriptor was added with.
    pub(crate) key: usize,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// The read side is finished for good (peer's FIN, hangup, error):
    /// reads will not block again.
    pub(crate) read_closed: bool,
    /// The write side is finished for good (hangup, error).
    pub(crate) write_closed: bool,
}

/// Buffers for [`Poller::wait`], owned by the parking thread.
pub(crate) struct Events {
    #[cfg(target_os = "linux")]
    epoll: epoll::EventBuf,
    portable: polling::Events,
    /// The events of the last `wait`.
    pub(crate) list: Vec<Ev>,
}

impl Events {
    pub(crate) fn new() -> Events {
        Events {
            #[cfg(target_os = "linux")]
            epoll: epoll::EventBuf::new(),
            portable: polling::Events::new(),
            list: Vec::new(),
        }
    }
}

/// An edge-triggered OS poller (see the module docs).
pub(crate) enum Poller {
    #[cfg(target_os = "linux")]
    Epoll(epoll::Epoll),
    Portable(portable::Portable),
}

impl Poller {
    /// Creates the backend [`POLLER_ENV`] names, else the platform's best.
    pub(crate) fn new() -> io::Result<Poller> {
        let choice = std::env::var(POLLER_ENV).ok();
        match choice.as_deref() {
            None | Some("") => Poller::best(),
            #[cfg(target_os = "linux")]
            Some("epoll") => Ok(Poller::Epoll(epoll::Epoll::new()?)),
            Some("portable") => Ok(Poller::Portable(portable::Portable::new()?)),
            Some(other) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{POLLER_ENV}={other:?} names no poller backend: use `portable`{}, \
                     or unset it for the platform's best",
                    if cfg!(target_os = "linux") {
                        " or `epoll`"
                    } else {
                        ""
                    }
                ),
            )),
        }
    }

    #[cfg(target_os = "linux")]
    fn best() -> io::Result<Poller> {
        Ok(Poller::Epoll(epoll::Epoll::new()?))
    }

    #[cfg(not(target_os = "linux"))]
    fn best() -> io::Result<Poller> {
        Ok(Poller::Portable(portable::Portable::new()?))
    }

    /// The backend's name, as [`POLLER_ENV`] spells it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(_) => "epoll",
            Poller::Portable(_) => "portable",
        }
    }

    /// Whether events report a read-side close (`read_closed`) reliably,
    /// which makes "a short read drained the stream" safe to assume.
    pub(crate) fn reports_read_closed(&self) -> bool {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(_) => true,
            Poller::Portable(_) => false,
        }
    }

    /// Adds `fd`, edge-triggered for reading and writing, under `key`.
    ///
    /// # Safety
    ///
    /// `fd` must stay open until it is [deleted](Poller::delete).
    pub(crate) unsafe fn add(&self, fd: RawFd, key: usize) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            // SAFETY: forwarded from the caller.
            Poller::Epoll(p) => unsafe { p.add(fd, key) },
            // SAFETY: forwarded from the caller.
            Poller::Portable(p) => unsafe { p.add(fd, key) },
        }
    }

    /// Removes `fd`.
    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.delete(fd),
            Poller::Portable(p) => p.delete(fd),
        }
    }

    /// Waits for events (at most `timeout`; `None` waits until one arrives
    /// or [`notify`](Poller::notify)) into `events.list`. An interrupted
    /// wait returns `Ok` with no events.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.list.clear();
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.wait(&mut events.epoll, &mut events.list, timeout),
            Poller::Portable(p) => p.wait(&mut events.portable, &mut events.list, timeout),
        }
    }

    /// Ends the current or next `wait`. Thread-safe.
    pub(crate) fn notify(&self) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            Poller::Epoll(p) => p.notify(),
            Poller::Portable(p) => p.notify(),
        }
    }
}
