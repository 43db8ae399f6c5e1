//! The small traits and types that cross tulipa's crate lines.
//!
//! tulipa is a workspace of small crates. The executor does not know the
//! reactor, the timer does not know the executor, and the network crate does
//! not know the executor either. They meet here, through three small pieces:
//!
//! - [`Driver`]: "park this thread until woken or until a timeout, doing your
//!   work meanwhile". A plain thread parker ([`ThreadParker`]) implements it,
//!   which is all an executor needs in its own tests; the reactor implements
//!   it by waiting on the OS; the timer layer wraps any driver and shortens
//!   the park to the next deadline. Executors and `block_on` sleep through a
//!   driver and never learn what it does.
//! - [`Unparker`]: the cloneable, thread-safe handle that wakes a parked
//!   driver. Wakers built by executors end in one of these.
//! - [`Clock`]: where "now" comes from. [`SystemClock`] reads the monotonic
//!   clock; [`MockClock`] only moves when told to, so timer logic is tested
//!   without sleeping and users get paused (virtual) time.
//!
//! - [`TaskId`] and [`JoinError`]: who a task is and why it produced no
//!   output, shared by the executors and the blocking pool.
//! - [`coop`]: the per-poll budget that keeps an always-ready task from
//!   monopolising its worker.
//! - [`await_point`]: how a waiting future tells the executor where in the
//!   user's code its task waits (for task dumps).
//! - [`spawn`]: the hook through which a crate that must start background
//!   work (a server's accept loop) reaches the current runtime.
//! - [`cell`]: an `UnsafeCell` with loom's API, so the crates whose unsafe
//!   cells loom models check share one shim.
//!
//! Nothing here allocates per operation or spawns threads.
#![forbid(unsafe_code)]

pub mod await_point;
pub mod cell;
mod clock;
pub mod coop;
mod driver;
pub mod spawn;
mod task;

pub use clock::{Clock, MockClock, SystemClock};
pub use driver::{Driver, ThreadParker, Unpark, Unparker};
pub use task::{panic_message, JoinError, TaskId};
