//! Channels and asyncio's queues, runtime-agnostic: they work under any
//! executor (tulipa's, or a bare `futures_lite::future::block_on`) and from
//! synchronous threads (`send_blocking`, `recv_blocking`).
//!
//! | kind | what it is | asyncio / Rust analogue |
//! | --- | --- | --- |
//! | [`bounded`], [`unbounded`] | multi-producer multi-consumer channels: each message goes to one receiver | `asyncio.Queue` without `join`; async-channel |
//! | [`oneshot`] | one value, once | a `Future` used as a reply slot |
//! | [`broadcast`] | every receiver sees every message; a slow one learns what it missed | — |
//! | [`watch`] | the latest value, and a wakeup when it changes | — |
//! | [`queue`] | `Queue`, `PriorityQueue`, `LifoQueue` with `task_done`/`join`/`shutdown` | `asyncio.Queue` and friends |
//!
//! # Design
//!
//! Built on `concurrent-queue` (lock-free message storage) and
//! `event-listener` (every wait), like the smol family; no dependency on
//! an executor. Every wait follows one protocol: try the operation; if it
//! cannot proceed, create a listener, try again, and only then wait. A
//! state change after the listener exists notifies it; one before is seen
//! by the second try, so no wakeup is lost. A notified listener that is
//! dropped (its future cancelled) hands the notification to the next
//! listener. Fast paths take no lock and wake nobody when nobody waits.
//!
//! Errors hand back what could not be delivered
//! ([`SendError`]`(pub T)`, [`TrySendError::Full`]), never require
//! `T: Debug`, and print lowercase messages.
//!
//! All concurrency primitives come through one `sync` shim so the loom
//! models (`cargo xtask loom`) check the real code of the mpmc channel and
//! the oneshot.
//!
//! The crate denies unsafe code except in one file, `handoff.rs`: the
//! lock-free waker slot (`AtomicWaker`) and the oneshot's value cell, each
//! access proved in a `SAFETY` comment and checked by the loom models.
//!
//! # Example
//!
//! ```
//! use futures_lite::future::block_on;
//!
//! let (tx, rx) = tulipa_channel::bounded(8);
//! let producers: Vec<_> = (0..4)
//!     .map(|p| {
//!         let tx = tx.clone();
//!         std::thread::spawn(move || {
//!             for i in 0..100 {
//!                 tx.send_blocking(p * 1000 + i).unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//! drop(tx); // the channel closes when the producers' clones drop
//! let mut count = 0;
//! block_on(async {
//!     while let Ok(_msg) = rx.recv().await {
//!         count += 1;
//!     }
//! });
//! assert_eq!(count, 400);
//! for p in producers {
//!     p.join().unwrap();
//! }
//! ```
#![deny(unsafe_code)]

pub mod broadcast;
mod error;
mod handoff;
mod mpmc;
pub mod oneshot;
pub mod queue;
mod sync;
mod waiters;
pub mod watch;

pub use error::{RecvError, SendError, TryRecvError, TrySendError};
pub use mpmc::{bounded, unbounded, Receiver, Recv, Send, Sender};
