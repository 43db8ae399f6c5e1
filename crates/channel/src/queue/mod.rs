//! asyncio's queues: [`Queue`] (FIFO), [`PriorityQueue`] (smallest first)
//! and [`LifoQueue`] (last in, first out), with `task_done`/`join`
//! accounting and Python 3.13's `shutdown`.
//!
//! | asyncio | tulipa |
//! | --- | --- |
//! | `Queue(maxsize=0)` | [`Queue::new`]`(0)` (0 means unbounded) |
//! | `await q.put(x)`, `q.put_nowait(x)` | [`Queue::put`], [`Queue::put_nowait`] |
//! | `await q.get()`, `q.get_nowait()` | [`Queue::get`], [`Queue::get_nowait`] |
//! | `q.task_done()`, `await q.join()` | [`Queue::task_done`], [`Queue::join`] |
//! | `q.qsize()`, `q.maxsize`, `q.empty()`, `q.full()` | [`Queue::qsize`], [`Queue::maxsize`], [`Queue::empty`], [`Queue::full`] |
//! | `q.shutdown(immediate=False)` | [`Queue::shutdown`] |
//! | `QueueFull`, `QueueEmpty` | [`PutNowaitError::Full`], [`GetNowaitError::Empty`] |
//! | `QueueShutDown` | [`PutError`], [`PutNowaitError::Shutdown`], [`GetError`], [`GetNowaitError::Shutdown`] |
//! | `ValueError` from `task_done` | [`TaskDoneError`] |
//!
//! # Handles
//!
//! A queue is a cheap cloneable handle (an `Arc` inside): clone it into
//! every task that uses it; all clones are the same queue. Every method
//! takes `&self`. Unlike the channels, a queue never closes by itself
//! when handles drop: it ends with [`shutdown`](Queue::shutdown), as in
//! asyncio.
//!
//! # Shutdown (Python 3.13)
//!
//! After `shutdown(false)`, `put` and `put_nowait` fail (handing the item
//! back), `get` returns the items still queued and then fails, and
//! waiting putters and getters wake. `shutdown(true)` also drains the
//! queue, counts every drained item as done for `join`, and wakes waiting
//! getters, putters and, if that leaves nothing unfinished, joiners.
//! `task_done` keeps working after a shutdown.
//!
//! # Design
//!
//! The three queues share one engine (a short mutex around the items and
//! the unfinished count, and three `event-listener` events); see the
//! `core` module's docs for the invariants. The lock is never held across
//! an `.await`. For the fastest message passing between tasks use the
//! lock-free channels ([`bounded`](crate::bounded)); the queues are for
//! asyncio's work-queue pattern.
//!
//! # Example
//!
//! ```
//! use tulipa_channel::queue::Queue;
//!
//! futures_lite::future::block_on(async {
//!     let queue = Queue::new(2);
//!     let worker = {
//!         let queue = queue.clone();
//!         std::thread::spawn(move || {
//!             futures_lite::future::block_on(async {
//!                 let mut sum = 0;
//!                 while let Ok(n) = queue.get().await {
//!                     sum += n;
//!                     queue.task_done().unwrap();
//!                 }
//!                 sum
//!             })
//!         })
//!     };
//!     for n in 1..=10 {
//!         queue.put(n).await.unwrap();
//!     }
//!     queue.join().await; // every item was taken and marked done
//!     queue.shutdown(false);
//!     assert_eq!(worker.join().unwrap(), 55);
//! });
//! ```

mod core;
mod error;

pub use error::{GetError, GetNowaitError, PutError, PutNowaitError, TaskDoneError};

use std::fmt;

use self::core::{Core, Fifo, Lifo, Priority};
use crate::sync::Arc;

/// Generates the shared interface of the three queue types.
macro_rules! queue_api {
    ($name:ident, [$($bound:tt)*]) => {
        impl<T $($bound)*> $name<T> {
            /// Creates a queue that holds at most `maxsize` items; `0` means
            /// no limit (as in asyncio).
            pub fn new(maxsize: usize) -> Self {
                $name {
                    core: Arc::new(Core::new(maxsize)),
                }
            }

            /// Puts `item`, waiting for room while the queue is full.
            ///
            /// # Errors
            ///
            /// [`PutError`] with the item if the queue is (or while
            /// waiting becomes) shut down.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: the item is added only in the poll that
            /// completes the future; if the future is dropped first, the
            /// item is dropped with it and was never put, and a wakeup it
            /// had received passes to the next waiting putter.
            #[track_caller]
            pub fn put(
                &self,
                item: T,
            ) -> impl std::future::Future<Output = Result<(), PutError<T>>> + '_ {
                self.core.put(item)
            }

            /// Puts `item` now if there is room.
            ///
            /// # Errors
            ///
            /// [`PutNowaitError::Full`] if the queue holds `maxsize` items,
            /// [`PutNowaitError::Shutdown`] if it was shut down; both hand
            /// the item back.
            pub fn put_nowait(&self, item: T) -> Result<(), PutNowaitError<T>> {
                self.core.put_nowait(item)
            }

            /// Removes and returns an item, waiting while the queue is
            /// empty.
            ///
            /// # Errors
            ///
            /// [`GetError`] once the queue was shut down and is empty.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: an item is removed only in the poll that
            /// returns it, so dropping the future never loses one; a wakeup
            /// it had received passes to the next waiting getter.
            #[track_caller]
            pub fn get(&self) -> impl std::future::Future<Output = Result<T, GetError>> + '_ {
                self.core.get()
            }

            /// Removes and returns an item now if there is one.
            ///
            /// # Errors
            ///
            /// [`GetNowaitError::Empty`] if the queue is empty,
            /// [`GetNowaitError::Shutdown`] if it was shut down and is
            /// empty.
            pub fn get_nowait(&self) -> Result<T, GetNowaitError> {
                self.core.get_nowait()
            }

            /// Marks one item taken with `get` as processed; when every
            /// item put has been marked, [`join`](Self::join) returns.
            ///
            /// # Errors
            ///
            /// [`TaskDoneError`] if called more times than items were put
            /// (nothing changes).
            pub fn task_done(&self) -> Result<(), TaskDoneError> {
                self.core.task_done()
            }

            /// Waits until every item ever put has been marked done with
            /// [`task_done`](Self::task_done) (or drained by an immediate
            /// shutdown). Returns at once if nothing is unfinished.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: it only observes.
            #[track_caller]
            pub fn join(&self) -> impl std::future::Future<Output = ()> + '_ {
                self.core.join()
            }

            /// Shuts the queue down (Python 3.13): puts fail from now on;
            /// gets return what is left, then fail. With `immediate`, the
            /// queue is also drained (dropping the items), each drained
            /// item counts as done for `join`, and gets fail at once.
            /// Every waiting putter and getter wakes; joiners wake if
            /// nothing is left unfinished. Calling it again is harmless.
            pub fn shutdown(&self, immediate: bool) {
                self.core.shutdown(immediate)
            }

            /// Whether [`shutdown`](Self::shutdown) was called.
            pub fn is_shutdown(&self) -> bool {
                self.core.is_shutdown()
            }

            /// The number of items in the queue.
            pub fn qsize(&self) -> usize {
                self.core.qsize()
            }

            /// The most items the queue holds; `0` means no limit.
            pub fn maxsize(&self) -> usize {
                self.core.maxsize()
            }

            /// Whether the queue holds no item.
            pub fn empty(&self) -> bool {
                self.qsize() == 0
            }

            /// Whether the queue holds `maxsize` items (never when
            /// `maxsize` is 0).
            pub fn full(&self) -> bool {
                self.core.full()
            }

            /// The number of items put and not yet marked done: what
            /// [`join`](Self::join) waits to reach zero.
            pub fn unfinished_tasks(&self) -> usize {
                self.core.unfinished_tasks()
            }
        }

        impl<T> Clone for $name<T> {
            /// Another handle to the same queue.
            fn clone(&self) -> Self {
                $name {
                    core: self.core.clone(),
                }
            }
        }

        impl<T $($bound)*> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("qsize", &self.qsize())
                    .field("maxsize", &self.maxsize())
                    .field("unfinished_tasks", &self.unfinished_tasks())
                    .field("shutdown", &self.is_shutdown())
                    .finish()
            }
        }
    };
}

/// A first-in, first-out queue (asyncio's `Queue`); a cloneable handle.
///
/// # Examples
///
/// ```
/// use tulipa_channel::queue::{GetNowaitError, PutNowaitError, Queue};
///
/// let q = Queue::new(2);
/// q.put_nowait('a').unwrap();
/// q.put_nowait('b').unwrap();
/// assert_eq!(q.put_nowait('c'), Err(PutNowaitError::Full('c')));
/// assert_eq!(q.get_nowait(), Ok('a'));
/// assert_eq!(q.get_nowait(), Ok('b'));
/// assert_eq!(q.get_nowait(), Err(GetNowaitError::Empty));
/// q.task_done().unwrap();
/// q.task_done().unwrap();
/// assert!(q.task_done().is_err()); // more task_done calls than items
/// ```
pub struct Queue<T> {
    core: Arc<Core<Fifo<T>>>,
}

queue_api!(Queue, []);

/// A queue that returns the smallest item first (asyncio's
/// `PriorityQueue`), and items that compare equal in the order they were
/// put (FIFO among equals, which asyncio's heap does not promise); a
/// cloneable handle. Use `(priority, value)` tuples or
/// `std::cmp::Reverse` to order by something else.
///
/// # Examples
///
/// ```
/// use tulipa_channel::queue::PriorityQueue;
///
/// let q = PriorityQueue::new(0);
/// for (prio, name) in [(2, "b"), (1, "a"), (3, "c"), (1, "a2")] {
///     q.put_nowait((prio, name)).unwrap();
/// }
/// let order: Vec<_> = std::iter::from_fn(|| q.get_nowait().ok()).collect();
/// assert_eq!(order, [(1, "a"), (1, "a2"), (2, "b"), (3, "c")]);
/// ```
pub struct PriorityQueue<T> {
    core: Arc<Core<Priority<T>>>,
}

queue_api!(PriorityQueue, [: Ord]);

/// A last-in, first-out queue (asyncio's `LifoQueue`); a cloneable handle.
///
/// # Examples
///
/// ```
/// use tulipa_channel::queue::LifoQueue;
///
/// let q = LifoQueue::new(0);
/// for n in 1..=3 {
///     q.put_nowait(n).unwrap();
/// }
/// let order: Vec<_> = std::iter::from_fn(|| q.get_nowait().ok()).collect();
/// assert_eq!(order, [3, 2, 1]);
/// ```
pub struct LifoQueue<T> {
    core: Arc<Core<Lifo<T>>>,
}

queue_api!(LifoQueue, []);
