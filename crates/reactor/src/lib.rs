//! tulipa's reactor: I/O readiness on the [`polling`] crate.
//!
//! A [`Reactor`] owns one OS poller (epoll on Linux, kqueue on the BSDs and
//! macOS, event ports on illumos) and a table of registered sources. An
//! [`Async<T>`] wraps a non-blocking socket, pipe or other descriptor,
//! registers it, and gives it async methods ([`Async::readable`],
//! [`Async::read_with`], the `AsyncRead`/`AsyncWrite` impls) that wait for
//! readiness. The reactor implements [`tulipa_core::Driver`], so an
//! executor's idle worker (or any `block_on`) sleeps *in* the OS poller and
//! wakes the tasks whose descriptors became ready. A lazily created
//! [global reactor](Reactor::global), driven by its own background thread,
//! makes `Async<T>` work under a bare `block_on` with no runtime.
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
//! **Oneshot arming.** Descriptors are registered in oneshot mode: each
//! delivered event disarms the descriptor, and it is re-armed (with
//! `modify`) only while some task waits on it. Re-arming makes the kernel
//! re-check the current readiness, so a task that got `WouldBlock`, then
//! registered its waker and armed, cannot miss data that arrived in
//! between; that is why oneshot rather than edge mode, where an edge that
//! fired before the registration would be lost. `polling`'s `modify` is
//! thread-safe, so a task on any thread may arm while another thread is
//! blocked in the poller.
//!
//! **Waiters and ticks.** Each source has, per direction (read, write), an
//! event counter (its *ticks*) and a list of wakers. A waiting future
//! records the ticks when it registers and is ready once they changed: an
//! event arrived after it registered. An event bumps the ticks and wakes
//! *every* waiter of its direction, so any number of tasks may wait on one
//! source, and a cancelled waiter takes no wakeup away from another.
//! Readiness is only a hint (another task may have consumed the data, or
//! the event may be spurious): [`Async::read_with`] and the I/O impls retry
//! the operation and wait again on `WouldBlock`.
//!
//! The life of one waiting direction:
//!
//! ```text
//!   idle ──(waiter registers, ticks = t)──► waiting ──(arm: modify)──► armed
//!     ▲                                                                  │
//!     │                         (event: ticks = t+1, take all wakers,    │
//!     └────── woken waiters see ticks != t ◄── re-arm if others wait) ◄──┘
//! ```
//!
//! **Parking.** [`Driver::park`](tulipa_core::Driver::park) try-locks the
//! reactor's park state (a concurrent `park` returns `false` at once),
//! waits on the poller, maps the events to sources, updates each source
//! under its own lock, and wakes the collected wakers after releasing every
//! lock but the park lock. The [`Unparker`](tulipa_core::Unparker) sets a
//! `notified` flag and calls `Poller::notify` only while a thread is
//! blocked (or about to block) in the poller; a blocking park first marks
//! itself sleeping, then consumes the flag and does not block if it was
//! set (a store-load handshake, so no unpark is lost). An unpark before a
//! park therefore makes that park return at once, and the common unpark,
//! a task woken by the parking thread itself while it dispatches events,
//! costs no system call.
//!
//! **Shutdown.** [`Reactor::shutdown`] sets a flag and wakes every waiter;
//! a waiter checks the flag under its source's lock on every poll, so it
//! either sees the flag or is registered in time to be woken by the
//! shutdown. Waits then fail with an [`io::Error`](std::io::Error) of kind
//! `Other`.
//!
//! # Lock order
//!
//! 1. the park lock (only the thread in `park`; try-locked, or blocking in
//!    the global reactor's thread);
//! 2. then *either* the sources lock (the slab) *or* one source's state
//!    lock, never both at once and never two source locks together.
//!
//! A source's state lock is held across `Poller::modify`/`delete` system
//! calls (short, never blocking) so the kernel's interest always matches
//! the recorded `armed` state and no re-arm can follow a deregistration.
//! No lock except the park lock is held while waking a waker.
//!
//! # Platform
//!
//! Unix only (the crate uses `AsFd` and `O_NONBLOCK`); Linux is the tested
//! target, and nothing here is specific to epoll.
#![cfg(unix)]

mod async_fd;
mod reactor;
mod slab;
mod source;

pub use async_fd::Async;
pub use reactor::{EnterGuard, Reactor};
