//! The Linux backend: epoll and an eventfd on `rustix`, one system call
//! per wait (see the [parent module](super) for why it exists).
// Unsafe here: the epoll FFI edge: raw descriptors and the event buffer (each block has its SAFETY proof).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags};
use rustix::io::Errno;
use rustix::time::Timespec;

use super::Ev;

/// The key of the notification eventfd; the reactor's keys stay below it.
const NOTIFY_KEY: u64 = u64::MAX;

/// The longest wait `epoll_pwait` takes (its timeout is an `int` of
/// milliseconds); a longer one returns early, which parks allow.
const MAX_WAIT: Duration = Duration::from_millis(i32::MAX as u64);

/// The buffer `epoll_pwait` fills.
pub(crate) struct EventBuf(Vec<epoll::Event>);

// SAFETY: `epoll::Event` is `!Send` only because its data field is a union
// that may hold a raw pointer. Every event this backend registers carries a
// plain `u64` key (`EventData::new_u64`), so the buffer never holds a
// pointer, and moving plain integers between threads is sound.
unsafe impl Send for EventBuf {}

impl EventBuf {
    pub(crate) fn new() -> EventBuf {
        EventBuf(Vec::with_capacity(1024))
    }
}

pub(crate) struct Epoll {
    epoll: OwnedFd,
    notify: OwnedFd,
}

impl Epoll {
    pub(crate) fn new() -> io::Result<Epoll> {
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        let notify = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        // Edge-triggered: every write to the eventfd is a new edge, so it
        // never has to be read (or re-armed) for the next notification.
        epoll::add(
            &epoll,
            &notify,
            EventData::new_u64(NOTIFY_KEY),
            EventFlags::IN | EventFlags::ET,
        )?;
        Ok(Epoll { epoll, notify })
    }

    /// # Safety
    ///
    /// `fd` must stay open until it is deleted.
    pub(crate) unsafe fn add(&self, fd: RawFd, key: usize) -> io::Result<()> {
        // SAFETY: the caller keeps `fd` open until it is deleted, which
        // covers this call.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        epoll::add(
            &self.epoll,
            fd,
            EventData::new_u64(key as u64),
            EventFlags::IN | EventFlags::OUT | EventFlags::RDHUP | EventFlags::ET,
        )?;
        Ok(())
    }

    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        epoll::delete(&self.epoll, fd)?;
        Ok(())
    }

    pub(crate) fn wait(
        &self,
        buf: &mut EventBuf,
        out: &mut Vec<Ev>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let buf = &mut buf.0;
        buf.clear();
        let timeout = timeout.map(|t| {
            let t = t.min(MAX_WAIT);
            Timespec {
                tv_sec: t.as_secs() as i64,
                tv_nsec: i64::from(t.subsec_nanos()),
            }
        });
        match epoll::wait(
            &self.epoll,
            rustix::buffer::spare_capacity(buf),
            timeout.as_ref(),
        ) {
            Ok(_) => {}
            Err(Errno::INTR) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let full = buf.len() == buf.capacity();
        out.extend(
            buf.iter()
                .filter(|ev| ev.data.u64() != NOTIFY_KEY)
                .map(|ev| {
                    let flags = ev.flags;
                    // A hangup ends both directions for good. An error is
                    // only readiness: on a datagram socket it is transient
                    // (an ICMP error is read once, then the socket works).
                    let hangup = flags.contains(EventFlags::HUP);
                    let err = flags.contains(EventFlags::ERR);
                    Ev {
                        key: ev.data.u64() as usize,
                        readable: hangup
                            || err
                            || flags
                                .intersects(EventFlags::IN | EventFlags::PRI | EventFlags::RDHUP),
                        writable: hangup || err || flags.contains(EventFlags::OUT),
                        read_closed: hangup || flags.contains(EventFlags::RDHUP),
                        write_closed: hangup,
                    }
                }),
        );
        if full {
            // A busy reactor: take more per wait next time.
            buf.reserve(buf.capacity());
        }
        Ok(())
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        let one = 1u64.to_ne_bytes();
        loop {
            match rustix::io::write(&self.notify, &one) {
                Ok(_) => return Ok(()),
                Err(Errno::INTR) => {}
                // The counter is full (2^64 - 2 writes never read): empty
                // it and write again. Nothing else reads it.
                Err(Errno::AGAIN) => {
                    let mut drain = [0u8; 8];
                    match rustix::io::read(self.notify.as_fd(), &mut drain) {
                        Ok(_) | Err(Errno::AGAIN) | Err(Errno::INTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
