//! The portable backend: the [`polling`] crate in edge-triggered mode.
// Unsafe here: hands a raw descriptor to polling's `add` (each block has its SAFETY proof).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

use polling::{Event, Events, PollMode, Poller};

use super::Ev;

pub(crate) struct Portable {
    poller: Poller,
}

impl Portable {
    pub(crate) fn new() -> io::Result<Portable> {
        let poller = Poller::new()?;
        if !poller.supports_edge() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this platform's OS poller has no edge-triggered mode, which tulipa's \
                 reactor needs (epoll and kqueue have it; event ports do not)",
            ));
        }
        Ok(Portable { poller })
    }

    /// # Safety
    ///
    /// `fd` must stay open until it is deleted.
    pub(crate) unsafe fn add(&self, fd: RawFd, key: usize) -> io::Result<()> {
        // SAFETY: forwarded from the caller.
        unsafe {
            self.poller
                .add_with_mode(fd, Event::all(key), PollMode::Edge)
        }
    }

    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.poller.delete(fd)
    }

    pub(crate) fn wait(
        &self,
        events: &mut Events,
        out: &mut Vec<Ev>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        events.clear();
        match self.poller.wait(events, timeout) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        out.extend(events.iter().map(|ev| {
            // A hangup ends both directions; an error is only readiness
            // (transient on datagram sockets), as polling reports it.
            let hangup = ev.is_interrupt();
            Ev {
                key: ev.key,
                readable: ev.readable,
                writable: ev.writable,
                read_closed: hangup,
                write_closed: hangup,
            }
        }));
        Ok(())
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        self.poller.notify()
    }
}
