//! Knowing when a child exits, and reaping the children nobody waits for.
//!
//! # Exit watches
//!
//! A [`Watch`] says "this child may have exited, call `waitpid` again":
//!
//! - **pidfd** (Linux 5.3 and later): `pidfd_open(pid)` gives a descriptor
//!   that becomes readable when the process exits; it is registered with
//!   the reactor like any socket, so a waiting task is woken directly by
//!   the reactor, and no signal handler is installed at all.
//! - **`SIGCHLD`** (older kernels, seccomp policies that refuse
//!   `pidfd_open`, or `TULIPA_NO_PIDFD=1` in the environment): a
//!   [`Listener`] for `SIGCHLD` (see [`signal`](crate::signal)); every
//!   `SIGCHLD` wakes every waiting child, which calls
//!   `waitpid(its pid, WNOHANG)`. `waitpid(-1)` is never called: it would
//!   steal the children of other libraries.
//!
//! The first `ENOSYS` or `EPERM` from `pidfd_open` switches the process to
//! `SIGCHLD` for good; any other failure (out of descriptors) falls back to
//! `SIGCHLD` for that one child.
//!
//! Race freedom: a `SIGCHLD` listener only reports deliveries made after it
//! was created, so a child creates its watch *before* the `waitpid` that
//! decides to sleep. A pidfd reports the exit as a level (readable for
//! ever after), so creating it after that `waitpid` would be fine too.
//!
//! # The orphan reaper
//!
//! A [`Child`](crate::Child) dropped before its process was reaped hands
//! the process to the process-wide reaper ([`adopt`]), which reaps it in
//! the background, so no zombie is left behind. The reaper is a reactor
//! callback (see `serial.rs`) on the process-wide reactor: its orphans'
//! pidfds are registered there (a pidfd that was registered with a
//! runtime's reactor is moved), or, in `SIGCHLD` mode, it holds one
//! `SIGCHLD` listener. Woken by the reactor's thread, it calls `waitpid`
//! for each orphan that may have exited and forgets the reaped ones (which
//! closes their pidfds). So orphans are reaped even with no runtime
//! running, and after every runtime shut down; no thread is added.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tulipa_reactor::{Async, Reactor};

use crate::serial::ReactorTask;
use crate::signal::{Listener, SIGCHLD};

// Platform choice by module: pidfds on Linux, none elsewhere (there every
// wait goes through the `SIGCHLD` listener).
#[cfg(target_os = "linux")]
mod pidfd_linux;
#[cfg(not(target_os = "linux"))]
mod pidfd_none;
#[cfg(target_os = "linux")]
use pidfd_linux as pidfd;
#[cfg(not(target_os = "linux"))]
use pidfd_none as pidfd;

use pidfd::open_pidfd;

/// What tells a waiting child that its process may have exited.
pub(crate) enum Watch {
    /// The process's pidfd, readable once it exited.
    Pidfd(Async<OwnedFd>),
    /// Every `SIGCHLD` after the watch was made.
    Sigchld(Listener),
}

impl Watch {
    /// Starts watching child `pid` (unreaped), registering a pidfd with
    /// the current reactor when it can (the process-wide one if the
    /// current one was shut down). In `SIGCHLD` mode, call `waitpid`
    /// once more after this (see [`needs_recheck`](Watch::needs_recheck)).
    ///
    /// # Errors
    ///
    /// Fails only if neither a pidfd nor the `SIGCHLD` listener can be set
    /// up (out of descriptors).
    pub(crate) fn new(pid: u32) -> io::Result<Watch> {
        if let Some(fd) = open_pidfd(pid) {
            let current = Reactor::current();
            let registered = if current.is_shutdown() {
                // A runtime that is gone (or going): the process-wide
                // reactor still works, and needs no `SIGCHLD` handler.
                Async::new_in(fd, Reactor::global())
            } else {
                // Only readiness is ever asked of a pidfd, never a read, so
                // its blocking mode does not matter: skip the two `fcntl`
                // calls.
                Async::new_nonblocking(fd)
            };
            if let Ok(fd) = registered {
                return Ok(Watch::Pidfd(fd));
            }
        }
        let mut listener = Listener::empty();
        listener.add(SIGCHLD)?;
        Ok(Watch::Sigchld(listener))
    }

    /// Whether an exit just before the watch was made could be missed by
    /// it: true for `SIGCHLD` (it reports later deliveries only), false for
    /// a pidfd (readable for ever once the process exited).
    pub(crate) fn needs_recheck(&self) -> bool {
        matches!(self, Watch::Sigchld(_))
    }

    /// Ready when the process may have exited.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Watch::Pidfd(fd) => fd.poll_readable(cx),
            Watch::Sigchld(listener) => listener.poll_recv(cx).map(|_| Ok(())),
        }
    }
}

/// An unreaped process whose `Child` was dropped.
struct Orphan {
    child: std::process::Child,
    /// Registered with the process-wide reactor; `None`: `SIGCHLD` mode.
    pidfd: Option<Async<OwnedFd>>,
}

/// The reaper's state.
struct Orphans {
    list: Vec<Orphan>,
    /// Held while some orphan has no pidfd.
    sigchld: Option<Listener>,
}

fn reaper() -> &'static Arc<ReactorTask<Orphans>> {
    static REAPER: OnceLock<Arc<ReactorTask<Orphans>>> = OnceLock::new();
    REAPER.get_or_init(|| {
        ReactorTask::new(
            Orphans {
                list: Vec::new(),
                sigchld: None,
            },
            reap,
        )
    })
}

/// Hands an unreaped child to the background reaper.
pub(crate) fn adopt(child: std::process::Child, watch: Option<Watch>) {
    let global = Reactor::global();
    let pidfd = match watch {
        Some(Watch::Pidfd(fd)) => fd.into_inner().ok(),
        _ => None,
    }
    .or_else(|| open_pidfd(child.id()))
    .and_then(|fd| Async::new_in(fd, global).ok());
    let reaper = reaper();
    reaper.with(|orphans| orphans.list.push(Orphan { child, pidfd }));
    reaper.poll_now();
}

/// How many orphans the reaper holds (for tests and diagnostics).
pub(crate) fn orphan_count() -> usize {
    reaper().with(|orphans| orphans.list.len())
}

/// The reaper's poll: reap what exited, wait for the rest.
fn reap(orphans: &mut Orphans, cx: &mut Context<'_>) {
    loop {
        // A `SIGCHLD` listener must exist before the `waitpid` calls that
        // decide to sleep. If it cannot be made (out of descriptors), the
        // next `adopt` tries again.
        let need_sigchld = orphans.list.iter().any(|o| o.pidfd.is_none());
        if !need_sigchld {
            orphans.sigchld = None;
        } else if orphans.sigchld.is_none() {
            let mut listener = Listener::empty();
            if listener.add(SIGCHLD).is_ok() {
                orphans.sigchld = Some(listener);
            }
        }
        let mut lost_pidfd = false;
        orphans.list.retain_mut(|orphan| loop {
            match orphan.child.try_wait() {
                // Reaped now, or not ours any more (`ECHILD`: someone
                // called `waitpid(-1)`): either way, forget it.
                Ok(Some(_)) | Err(_) => return false,
                Ok(None) => {}
            }
            let Some(fd) = &orphan.pidfd else {
                return true;
            };
            match fd.poll_readable(cx) {
                Poll::Pending => return true,
                Poll::Ready(Ok(())) => continue,
                // Never expected of the process-wide reactor; fall back.
                Poll::Ready(Err(_)) => {
                    orphan.pidfd = None;
                    lost_pidfd = true;
                    return true;
                }
            }
        });
        if lost_pidfd {
            continue;
        }
        match &mut orphans.sigchld {
            Some(listener) if need_sigchld => match listener.poll_recv(cx) {
                Poll::Ready(_) => continue,
                Poll::Pending => return,
            },
            _ => return,
        }
    }
}
