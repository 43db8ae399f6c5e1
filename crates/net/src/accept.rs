//! What an accept loop does with `accept(2)` errors.
//!
//! Three kinds of error come out of `accept`:
//!
//! - **per connection**: the peer went away between the SYN and our
//!   `accept` (`ECONNABORTED`), or a pending network error of the new
//!   socket (`EPROTO`, `ENETDOWN`, `EHOSTUNREACH`, ... which Linux's
//!   `accept(2)` says to treat like `EAGAIN`), or a firewall veto
//!   (`EPERM`). The listener is fine: skip it and accept the next one.
//! - **resource exhaustion**: out of descriptors (`EMFILE`, `ENFILE`) or
//!   kernel memory (`ENOBUFS`, `ENOMEM`). Retrying at once spins at 100%
//!   CPU, since the pending connection keeps the listener readable; the
//!   loop sleeps instead, 10 ms at first, doubling up to
//!   [`MAX_BACKOFF`] while the condition lasts, and resumes as soon as an
//!   accept succeeds (the delay then starts again from 10 ms).
//! - anything else (`EBADF`, `EINVAL` on a listener that is not listening):
//!   the listener itself is broken and the error is returned.
//!
//! [`Backoff`] is that policy as a small state machine, shared by every
//! accept loop in the crate (TCP and Unix `incoming`, the streams server).

use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

use tulipa_timer::{sleep, Sleep};

/// The first sleep after a resource-exhaustion error.
pub(crate) const MIN_BACKOFF: Duration = Duration::from_millis(10);
/// The longest sleep between two accept attempts while out of resources.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_millis(160);

/// How an accept loop should treat an `accept(2)` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AcceptError {
    /// About that one connection only: accept the next.
    Connection,
    /// Out of descriptors or memory: back off, then retry.
    Resources,
    /// The listener is broken: give the error to the caller.
    Fatal,
}

/// Classifies an error returned by `accept(2)`.
pub(crate) fn classify(e: &io::Error) -> AcceptError {
    use rustix::io::Errno;
    let Some(code) = e.raw_os_error() else {
        return match e.kind() {
            io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted => AcceptError::Connection,
            _ => AcceptError::Fatal,
        };
    };
    let errno = Errno::from_raw_os_error(code);
    if [Errno::MFILE, Errno::NFILE, Errno::NOBUFS, Errno::NOMEM].contains(&errno) {
        AcceptError::Resources
    } else if [
        Errno::CONNABORTED,
        Errno::CONNRESET,
        Errno::INTR,
        Errno::PROTO,
        Errno::PERM,
        Errno::NETDOWN,
        Errno::NOPROTOOPT,
        Errno::HOSTDOWN,
        // Linux's "machine is not on the network"; other systems lack it.
        #[cfg(target_os = "linux")]
        Errno::NONET,
        Errno::HOSTUNREACH,
        Errno::OPNOTSUPP,
        Errno::NETUNREACH,
        Errno::TIMEDOUT,
    ]
    .contains(&errno)
    {
        AcceptError::Connection
    } else {
        AcceptError::Fatal
    }
}

/// The back-off state of one accept loop.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    /// The sleep in progress, if the loop is backing off.
    sleep: Option<Sleep>,
    /// The next delay; zero until the first exhaustion error.
    next: Duration,
}

impl Backoff {
    /// Records a resource-exhaustion error and starts the next sleep.
    pub(crate) fn start(&mut self) {
        self.next = if self.next.is_zero() {
            MIN_BACKOFF
        } else {
            (self.next * 2).min(MAX_BACKOFF)
        };
        self.sleep = Some(sleep(self.next));
    }

    /// Polls the current sleep, if any: `Ready` when the loop may try to
    /// accept again.
    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(s) = &mut self.sleep {
            if std::pin::Pin::new(s).poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        Poll::Ready(())
    }

    /// An accept succeeded: the next exhaustion starts from the minimum.
    pub(crate) fn reset(&mut self) {
        self.next = Duration::ZERO;
    }

    /// Whether the loop is sleeping or has slept since its last success.
    #[cfg(test)]
    pub(crate) fn is_backing_off(&self) -> bool {
        !self.next.is_zero()
    }
}

use std::future::Future as _;

/// Runs one step of an accept loop over `poll_accept`: skips
/// per-connection errors, backs off on resource exhaustion, returns
/// successes and fatal errors.
pub(crate) fn poll_accept_with_backoff<T>(
    backoff: &mut Backoff,
    cx: &mut Context<'_>,
    mut poll_accept: impl FnMut(&mut Context<'_>) -> Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    loop {
        if backoff.poll_wait(cx).is_pending() {
            return Poll::Pending;
        }
        match poll_accept(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(v)) => {
                backoff.reset();
                return Poll::Ready(Ok(v));
            }
            Poll::Ready(Err(e)) => match classify(&e) {
                AcceptError::Connection => continue,
                AcceptError::Resources => backoff.start(),
                AcceptError::Fatal => return Poll::Ready(Err(e)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(e: rustix::io::Errno) -> io::Error {
        io::Error::from_raw_os_error(e.raw_os_error())
    }

    #[test]
    fn classifies_errors() {
        use rustix::io::Errno;
        assert_eq!(classify(&os(Errno::MFILE)), AcceptError::Resources);
        assert_eq!(classify(&os(Errno::NFILE)), AcceptError::Resources);
        assert_eq!(classify(&os(Errno::NOBUFS)), AcceptError::Resources);
        assert_eq!(classify(&os(Errno::CONNABORTED)), AcceptError::Connection);
        assert_eq!(classify(&os(Errno::PROTO)), AcceptError::Connection);
        assert_eq!(classify(&os(Errno::BADF)), AcceptError::Fatal);
        assert_eq!(classify(&os(Errno::INVAL)), AcceptError::Fatal);
        let other = io::Error::other("x");
        assert_eq!(classify(&other), AcceptError::Fatal);
    }

    #[test]
    fn backoff_escalates_and_resets() {
        let mut b = Backoff::default();
        assert!(!b.is_backing_off());
        b.start();
        assert_eq!(b.next, MIN_BACKOFF);
        for _ in 0..10 {
            b.start();
        }
        assert_eq!(b.next, MAX_BACKOFF);
        b.reset();
        assert!(!b.is_backing_off());
        b.start();
        assert_eq!(b.next, MIN_BACKOFF);
    }
}
