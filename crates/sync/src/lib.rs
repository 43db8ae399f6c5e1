//! Async synchronization primitives: asyncio's locks, events, conditions,
//! semaphores and futures, for any executor.
//!
//! | asyncio | tulipa-sync |
//! | --- | --- |
//! | `asyncio.Lock` | [`Mutex`] (owns its data; [`Mutex::lock_arc`] for an owned guard) |
//! | the future of `lock.acquire()`, `sem.acquire()`, ... | [`futures`]: [`futures::Lock`], [`futures::Acquire`], ... |
//! | `asyncio.Semaphore`, `BoundedSemaphore` | [`Semaphore::new`], [`Semaphore::bounded`] |
//! | `asyncio.Event` | [`Event`] |
//! | `asyncio.Condition`, `Condition(lock)` | [`Condition`] (owns its lock, or shares one: [`Condition::with_lock`]); [`Condvar`] beside a [`Mutex`] |
//! | `asyncio.Barrier` | [`Barrier`] |
//! | `asyncio.Future` | [`Promise`] |
//! | (no asyncio equivalent) | [`RwLock`] with upgradable reads, [`OnceCell`] |
//!
//! Nothing here knows an executor: every wait is a plain future woken
//! through its `Waker`, so these types work under tulipa's runtimes, any
//! other executor, or `futures_lite::future::block_on` on a bare thread.
//!
//! # Design
//!
//! Two foundations:
//!
//! - The locks ([`Mutex`], [`RwLock`], [`Semaphore`], and the initializer
//!   lock of [`OnceCell`]) share one state machine, `raw::RawSemaphore`: a
//!   permit count in one atomic word, and a FIFO queue of waiters behind a
//!   mutex that only the slow path takes. Uncontended lock/unlock and
//!   acquire/release are one CAS each. Its invariants are in its module
//!   docs; loom models check it (`cargo xtask loom`).
//! - The notifications ([`Event`], [`Condvar`] and [`Condition`] on it,
//!   [`Barrier`], [`Promise`])
//!   are built on `event-listener`, as in smol: register a listener,
//!   re-check the condition, sleep.
//!
//! Why the locks do not sit on `event-listener` as well: a FIFO hand-off
//! (and a semaphore's partial hand-off to an `acquire_many`) must know
//! *which* waiter receives the permits and how many it still needs, which
//! an anonymous listener list cannot say; and a state machine built only
//! on our `sync` shim can be checked by loom end to end, wakeups included.
//!
//! # Fairness
//!
//! Waiters always queue in FIFO order. What a release does depends on the
//! policy:
//!
//! - **FIFO hand-off**, the default of every lock ([`Mutex::new`],
//!   [`Semaphore::new`], [`Semaphore::bounded`], [`RwLock`],
//!   [`OnceCell`]), as asyncio's `Lock` and `Semaphore`: a release while
//!   tasks wait gives the lock or permits directly to the oldest waiter.
//!   Until that waiter runs they are not free: a task arriving later, a
//!   `try_lock` / `try_acquire`, or the releasing task asking again, waits
//!   behind it. A woken waiter dropped before it ran passes what it was
//!   given to the next waiter, never to a newcomer. No waiter is starved,
//!   a writer is not starved by readers (readers that arrive after a
//!   waiting writer queue behind it), and an `acquire_many(n)` at the head
//!   collects released permits until it has `n` (smaller requests queue
//!   behind it, as in asyncio and tokio).
//! - **Barging with a starvation guard**, opt-in ([`Mutex::new_unfair`],
//!   [`Semaphore::new_unfair`], [`Semaphore::bounded_unfair`]): a release
//!   frees the lock and wakes the oldest waiter, and a task that is
//!   already running may take the lock before the woken waiter runs. That
//!   avoids a lock convoy (with strict hand-off, every contended unlock
//!   waits for a task switch) and is faster under contention. The guard: a
//!   waiter that was woken and lost the race twice gets the next release
//!   handed to it, so every waiter gets the lock after a bounded number of
//!   releases.
//!
//! # Cancel safety
//!
//! Every waiting method documents its `# Cancel safety`. In short:
//! dropping a pending `lock`, `acquire`, `read`, `write`, `wait` or
//! `get_or_init` future never loses a permit, a lock hand-off or a
//! notification. A waiter dropped after it was handed permits returns them
//! to the next waiter; a [`Condvar`] notification given to a dropped waiter
//! passes to the next one; a dropped [`Barrier`] waiter withdraws its
//! arrival; a cancelled [`OnceCell`] initializer lets the next caller try.
//!
//! # Unsafe
//!
//! Only [`Mutex`] and [`RwLock`] use `unsafe` (an `UnsafeCell` behind
//! their guards); every block has a `// SAFETY:` proof. Everything else is
//! safe code.
#![deny(unsafe_code)]

mod barrier;
mod condition;
mod condvar;
mod event;
pub mod futures;
mod mutex;
mod once_cell;
mod promise;
mod raw;
mod rwlock;
mod semaphore;
mod sync;

pub use barrier::{Barrier, BarrierWaitResult, BrokenBarrierError};
pub use condition::{Condition, ConditionGuard};
pub use condvar::Condvar;
pub use event::Event;
pub use mutex::{Mutex, MutexGuard, MutexGuardArc};
pub use once_cell::{OnceCell, SetError};
pub use promise::{CallbackId, InvalidStateError, Promise, PromiseError};
pub use rwlock::{
    RwLock, RwLockReadGuard, RwLockReadGuardArc, RwLockUpgradableReadGuard,
    RwLockUpgradableReadGuardArc, RwLockWriteGuard, RwLockWriteGuardArc, MAX_READERS,
};
pub use semaphore::{
    AcquireError, ReleaseError, Semaphore, SemaphorePermit, SemaphorePermitArc, TryAcquireError,
};
