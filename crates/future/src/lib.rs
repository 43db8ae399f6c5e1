//! asyncio's combinators over futures, and task-local values, for tulipa.
//!
//! - The [`combinators`] module: [`gather`](combinators::gather),
//!   [`try_gather`](combinators::try_gather), [`select`](combinators::select),
//!   [`wait`](combinators::wait), [`as_completed`](combinators::as_completed),
//!   the [`gather!`] and [`try_gather!`] macros for futures of mixed types,
//!   and [`FutureSet`](combinators::FutureSet), the growable set they share
//!   with tulipa's `TaskGroup`.
//! - [`task_local!`], [`LocalKey`]: values set for the duration of a future
//!   (asyncio's `contextvars`).
//!
//! Nothing here spawns or sleeps: the combinators run their futures inside
//! the task that awaits them, so this crate needs no executor, reactor or
//! timer, and works under any executor (`futures_lite::future::block_on`
//! included). The `tulipa` facade re-exports all of it as `tulipa::future`
//! and `tulipa::task_local!`.
//!
//! Unsafe code, in two modules, each with its proofs: the pin projection
//! from the pinned boxed slice of [`gather`](combinators::gather)'s
//! futures to one of its slots (`slots`; a safe version would need a box
//! per future instead of one allocation for all of them), and the child
//! wakers of the combinators over many futures (`ready`: a waker is a
//! tagged pointer into a block of 64 children's wake flags, so a child's
//! waker costs no allocation). Every other projection goes through
//! `pin-project-lite`.
#![deny(unsafe_code)]

pub mod combinators;
mod sync;
mod task_local;

pub use task_local::{AccessError, LocalKey, TaskLocalFuture};
