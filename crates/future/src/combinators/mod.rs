//! Combinators over many futures, after asyncio: [`gather`],
//! [`try_gather`], [`select`], [`wait`], [`as_completed`], the
//! [`gather!`](crate::gather!) and [`try_gather!`](crate::try_gather!)
//! macros for mixed types, and [`FutureSet`], the growable set they share
//! with tulipa's `TaskGroup`.
//!
//! # Design
//!
//! Everything here runs its futures *inside the task that awaits the
//! combinator*: nothing is spawned, so the futures may borrow from that task
//! and need not be `Send`. To use several worker threads, spawn tasks and
//! pass their `JoinHandle`s (which are futures) to these combinators.
//!
//! Over many futures, each child is polled with its own waker that lists
//! its index on a shared ready list (the `ready` module); a wake-up polls
//! only the listed children, so N futures cost O(N) polls to finish, not
//! O(N²). Futures of one type are pinned in one boxed slice (the `slots`
//! module): one allocation for the futures, plus one small waker per
//! future that ever returns `Pending`.
//!
//! Cancellation is dropping: a combinator that decides early
//! ([`try_gather`] on the first error, [`select`] on the first winner)
//! drops the other futures at once. A dropped `JoinHandle` detaches its
//! task rather than stopping it; the module docs of each function say what
//! that means there.
//!
//! This crate knows no timer, so nothing here takes a timeout; the
//! `tulipa` facade adds `wait` with a timeout and `timeout` for any future.

mod as_completed;
mod gather;
mod ready;
mod set;
mod slots;
mod tuple;
mod wait;

pub use as_completed::{as_completed, AsCompleted, AsCompletedIndexed};
pub use gather::{gather, select, try_gather, Gather, Select, TryGather};
pub use set::FutureSet;
#[doc(hidden)]
pub use tuple::{GatherTuple, IntoGatherTuple, IntoTryGatherTuple, MaybeDone, TryGatherTuple};
pub use wait::{wait, Wait, WaitMode, WaitOutcome};
