//! The futures returned by the waiting methods of this crate's types.
//!
//! They are named after what they wait for, not after the type that
//! returns them: [`Lock`] is the future of [`Mutex::lock`](crate::Mutex::lock)
//! (asyncio's `Lock` is [`Mutex`](crate::Mutex) itself), [`Acquire`] the
//! future of [`Semaphore::acquire`](crate::Semaphore::acquire). They live in
//! their own module, as in async-lock, so the crate root holds only the
//! primitives, their guards and their errors. You rarely name them: await
//! them, or name them to store a pending wait in a struct.

pub use crate::barrier::BarrierWait;
pub use crate::mutex::{Lock, LockArc};
pub use crate::promise::{Value, Wait};
pub use crate::rwlock::{
    Read, ReadArc, UpgradableRead, UpgradableReadArc, Upgrade, UpgradeArc, Write, WriteArc,
};
pub use crate::semaphore::{Acquire, AcquireArc};
