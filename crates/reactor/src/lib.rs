//! tulipa's reactor: I/O readiness, registered once, edge-triggered.
//!
//! A [`Reactor`] owns one OS poller (epoll on Linux, kqueue on the BSDs and
//! macOS) and a table of registered sources. An [`Async<T>`] wraps a
//! non-blocking socket, pipe or other descriptor, registers it, and gives
//! it async methods ([`Async::readable`], [`Async::read_with`], the
//! `AsyncRead`/`AsyncWrite` impls) that wait for readiness. The reactor
//! implements [`tulipa_core::Driver`], so an executor's idle worker (or any
//! `block_on`) sleeps *in* the OS poller and wakes the tasks whose
//! descriptors became ready. A lazily created [global
//! reactor](Reactor::global), driven by its own background thread, makes
//! `Async<T>` work under a bare `block_on` with no runtime.
//!
//! # Design
//!
//! **Sources and keys.** Registered sources live in a slab; the key handed
//! to the OS is the slot index in the low half of a `usize` and a
//! registration counter (the *generation*) in the high half. Dropping an
//! `Async` deletes the descriptor from the poller and frees the slot, which
//! the next registration reuses with a new generation. An event already
//! fetched from the kernel for a freed slot no longer matches the key
//! stored in the slot and is ignored, so a stale event never reaches the
//! slot's next owner.
//!
//! **Readiness, registered once.** Each descriptor is added once,
//! edge-triggered, for reading and writing, and never modified: the kernel
//! reports changes, and each source keeps what it learned in one atomic
//! readiness word (a ready bit and a sticky closed bit per direction, and a
//! tick counting events). An operation runs while its direction reads
//! ready; its `WouldBlock` clears the bit unless an event arrived since the
//! word was read (the tick moved), so no edge is lost. Waiting is then a
//! lock and a stored waker, with no system call; one event wakes every
//! task waiting in its direction, so any number of tasks may wait on one
//! source and a cancelled waiter takes no wakeup from another. A byte
//! stream ([`Async::set_byte_stream`]) also treats a short read as
//! drained, which skips the read that could only fail; a TCP stream
//! ([`Async::set_tcp_stream`]) on Linux also learns from each read
//! (`TCP_INQ`) whether it left the socket empty, so a read that filled its
//! buffer exactly skips it too. The `source` module docs have the details
//! and the argument.
//!
//! **Backends.** On Linux the reactor waits with its own small epoll
//! backend on `rustix` (one `epoll_pwait` per wait, an edge-triggered
//! eventfd for wakeups that is never read); elsewhere, and on Linux with
//! `TULIPA_POLLER=portable`, it uses the [`polling`] crate in edge mode.
//! [`Reactor::backend`] says which; the `sys` module docs say why the
//! Linux one exists and what would let it go.
//!
//! **Parking.** [`Driver::park`](tulipa_core::Driver::park) try-locks the
//! reactor's park state (a concurrent `park` returns `false` at once),
//! waits on the poller, maps the events to sources, updates each source's
//! readiness, and wakes the collected wakers after releasing every lock
//! but the park lock. The [`Unparker`](tulipa_core::Unparker) notifies the
//! poller only while a thread is blocked (or about to block) in it; the
//! `park` module has that handshake and its loom model. An unpark before a
//! park therefore makes that park return at once, and the common unpark, a
//! task woken by the parking thread itself while it dispatches events,
//! costs no system call.
//!
//! **Shutdown.** [`Reactor::shutdown`] sets a flag and wakes every waiter;
//! a waiter checks the flag under its source's lock on every poll, so it
//! either sees the flag or is registered in time to be woken by the
//! shutdown. Waits then fail with an [`io::Error`](std::io::Error) of kind
//! `Other`.
//!
//! **Fairness.** Every operation that is ready spends one unit of the
//! running task's cooperative budget ([`tulipa_core::coop`]), so a task
//! whose socket is always ready yields now and then.
//!
//! # Lock order
//!
//! 1. the park lock (only the thread in `park`; try-locked, or blocking in
//!    the global reactor's thread);
//! 2. then *either* the sources lock (the slab) *or* one source's state
//!    lock, never both at once and never two source locks together.
//!
//! No lock except the park lock is held while waking a waker.
//!
//! # Platform
//!
//! Unix only (the crate uses `AsFd` and `O_NONBLOCK`), and the OS poller
//! must have an edge-triggered mode (epoll, kqueue); Linux is the tested
//! target.
#![cfg(unix)]
// Unsafe only in the files that allow it: the OS edge (`sys`), and the
// registration of raw descriptors (`reactor`, `source`, `async_fd`).
#![deny(unsafe_code)]

mod async_fd;
mod park;
mod reactor;
mod source;
mod sync;
mod sys;

pub use async_fd::Async;
pub use reactor::{EnterGuard, Reactor};
