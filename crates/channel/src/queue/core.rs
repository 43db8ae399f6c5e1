//! The engine shared by [`Queue`](super::Queue),
//! [`PriorityQueue`](super::PriorityQueue) and
//! [`LifoQueue`](super::LifoQueue): asyncio's queue algorithm over a
//! storage order ([`Store`]).
//!
//! # State and invariants
//!
//! One `Mutex<State>` holds the items, `unfinished` (items put and not yet
//! marked done with `task_done`) and the `shutdown` flag. Invariants:
//!
//! - `store.len() <= maxsize` when `maxsize > 0`;
//! - `unfinished` goes up by one per item put and down by one per
//!   `task_done` (never below zero: a surplus call is an error) or per
//!   item drained by an immediate shutdown (while above zero, as asyncio
//!   does). Like asyncio, `task_done` may run before the matching `get`,
//!   so `unfinished` can be below `store.len()`;
//! - once `shutdown` is set it stays set, and no item is ever added.
//!
//! The lock is held only for a few instructions and never across an
//! `.await` or user code (items drained by an immediate shutdown are
//! dropped after the lock is released).
//!
//! # Waiting
//!
//! Three events: `getters` (an item arrived, or shutdown), `putters` (room
//! appeared, or shutdown) and `joiners` (`unfinished` reached zero). Each
//! put notifies one additional getter and each get one additional putter;
//! shutdown notifies everyone. Waiters follow the crate's protocol (try,
//! listen, try again, wait), and a notified waiter that is cancelled
//! passes its wakeup on (an `event-listener` guarantee).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::error::{GetError, GetNowaitError, PutError, PutNowaitError, TaskDoneError};
use crate::sync::{lock, Event, EventListener, Mutex};

/// The storage order of a queue.
pub(crate) trait Store: Default {
    type Item;
    fn push(&mut self, item: Self::Item);
    fn pop(&mut self) -> Option<Self::Item>;
    fn len(&self) -> usize;
}

/// First in, first out.
pub(crate) struct Fifo<T>(VecDeque<T>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}

impl<T> Store for Fifo<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Last in, first out.
pub(crate) struct Lifo<T>(Vec<T>);

impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}

impl<T> Store for Lifo<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// An item with its arrival number, ordered so that a max-heap pops the
/// smallest item first and, among equal items, the earliest.
struct Ranked<T> {
    item: T,
    seq: u64,
}

impl<T: Ord> PartialEq for Ranked<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T: Ord> Eq for Ranked<T> {}

impl<T: Ord> PartialOrd for Ranked<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> Ord for Ranked<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .item
            .cmp(&self.item)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// Smallest first, FIFO among equals.
pub(crate) struct Priority<T> {
    heap: BinaryHeap<Ranked<T>>,
    next_seq: u64,
}

impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<T: Ord> Store for Priority<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Ranked { item, seq });
    }
    fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|r| r.item)
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
}

struct State<S> {
    store: S,
    unfinished: usize,
    shutdown: bool,
}

/// The queue engine; the public queues hold it in an `Arc`.
pub(crate) struct Core<S> {
    state: Mutex<State<S>>,
    maxsize: usize,
    getters: Event,
    putters: Event,
    joiners: Event,
}

impl<S: Store> Core<S> {
    pub(crate) fn new(maxsize: usize) -> Self {
        Core {
            state: Mutex::new(State {
                store: S::default(),
                unfinished: 0,
                shutdown: false,
            }),
            maxsize,
            getters: Event::new(),
            putters: Event::new(),
            joiners: Event::new(),
        }
    }

    pub(crate) fn put_nowait(&self, item: S::Item) -> Result<(), PutNowaitError<S::Item>> {
        let mut state = lock(&self.state);
        if state.shutdown {
            return Err(PutNowaitError::Shutdown(item));
        }
        if self.maxsize > 0 && state.store.len() >= self.maxsize {
            return Err(PutNowaitError::Full(item));
        }
        state.store.push(item);
        state.unfinished += 1;
        drop(state);
        self.getters.notify_additional(1);
        Ok(())
    }

    pub(crate) fn get_nowait(&self) -> Result<S::Item, GetNowaitError> {
        let mut state = lock(&self.state);
        match state.store.pop() {
            Some(item) => {
                drop(state);
                if self.maxsize > 0 {
                    self.putters.notify_additional(1);
                }
                Ok(item)
            }
            None if state.shutdown => Err(GetNowaitError::Shutdown),
            None => Err(GetNowaitError::Empty),
        }
    }

    #[track_caller]
    pub(crate) fn put(&self, item: S::Item) -> Put<'_, S> {
        Put {
            core: self,
            item: Some(item),
            listener: None,
            location: std::panic::Location::caller(),
        }
    }

    #[track_caller]
    pub(crate) fn get(&self) -> Get<'_, S> {
        Get {
            core: self,
            listener: None,
            location: std::panic::Location::caller(),
        }
    }

    pub(crate) fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut state = lock(&self.state);
        if state.unfinished == 0 {
            return Err(TaskDoneError);
        }
        state.unfinished -= 1;
        let finished = state.unfinished == 0;
        drop(state);
        if finished {
            self.joiners.notify(usize::MAX);
        }
        Ok(())
    }

    #[track_caller]
    pub(crate) fn join(&self) -> Join<'_, S> {
        Join {
            core: self,
            listener: None,
            location: std::panic::Location::caller(),
        }
    }

    pub(crate) fn shutdown(&self, immediate: bool) {
        let mut drained = Vec::new();
        let mut state = lock(&self.state);
        state.shutdown = true;
        if immediate {
            while let Some(item) = state.store.pop() {
                drained.push(item);
                // Counted as done, as asyncio does.
                state.unfinished = state.unfinished.saturating_sub(1);
            }
        }
        let finished = state.unfinished == 0;
        drop(state);
        self.getters.notify(usize::MAX);
        self.putters.notify(usize::MAX);
        if finished {
            self.joiners.notify(usize::MAX);
        }
        // The items' destructors run outside the lock.
        drop(drained);
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        lock(&self.state).shutdown
    }

    pub(crate) fn qsize(&self) -> usize {
        lock(&self.state).store.len()
    }

    pub(crate) fn maxsize(&self) -> usize {
        self.maxsize
    }

    pub(crate) fn full(&self) -> bool {
        self.maxsize > 0 && self.qsize() >= self.maxsize
    }

    pub(crate) fn unfinished_tasks(&self) -> usize {
        lock(&self.state).unfinished
    }
}

/// Polls `listener`, creating it first if there is none; `true` means
/// "try again now", `false` means pending.
fn wait_on(event: &Event, listener: &mut Option<EventListener>, cx: &mut Context<'_>) -> bool {
    match listener {
        None => {
            *listener = Some(event.listen());
            true
        }
        Some(l) => match Pin::new(l).poll(cx) {
            Poll::Ready(()) => {
                *listener = None;
                true
            }
            Poll::Pending => false,
        },
    }
}

/// The future of `put`.
pub(crate) struct Put<'a, S: Store> {
    core: &'a Core<S>,
    item: Option<S::Item>,
    listener: Option<EventListener>,
    /// Where the future was created: the task's await point while it
    /// waits (see `tulipa_core::await_point`).
    location: &'static std::panic::Location<'static>,
}

// The item is moved in and out by value and never pinned.
impl<S: Store> Unpin for Put<'_, S> {}

impl<S: Store> Future for Put<'_, S> {
    type Output = Result<(), PutError<S::Item>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let location = self.location;
        #[allow(clippy::redundant_closure_call)]
        let polled = (move || -> Poll<Self::Output> {
            let this = &mut *self;
            loop {
                let item = this
                    .item
                    .take()
                    .expect("a queue put polled after it completed");
                match this.core.put_nowait(item) {
                    Ok(()) => return Poll::Ready(Ok(())),
                    Err(PutNowaitError::Shutdown(item)) => return Poll::Ready(Err(PutError(item))),
                    Err(PutNowaitError::Full(item)) => this.item = Some(item),
                }
                if !wait_on(&this.core.putters, &mut this.listener, cx) {
                    return Poll::Pending;
                }
            }
        })();
        if polled.is_pending() {
            tulipa_core::await_point::set(location);
        }
        polled
    }
}

/// The future of `get`.
pub(crate) struct Get<'a, S: Store> {
    core: &'a Core<S>,
    listener: Option<EventListener>,
    /// Where the future was created: the task's await point while it
    /// waits (see `tulipa_core::await_point`).
    location: &'static std::panic::Location<'static>,
}

impl<S: Store> Future for Get<'_, S> {
    type Output = Result<S::Item, GetError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let location = self.location;
        #[allow(clippy::redundant_closure_call)]
        let polled = (move || -> Poll<Self::Output> {
            let this = &mut *self;
            // One unit of the task's cooperative budget per get (see
            // `tulipa_core::coop`): with none left, `Pending` at once.
            let Poll::Ready(progress) = tulipa_core::coop::poll_proceed(cx) else {
                return Poll::Pending;
            };
            loop {
                match this.core.get_nowait() {
                    Ok(item) => {
                        progress.made_progress();
                        return Poll::Ready(Ok(item));
                    }
                    Err(GetNowaitError::Shutdown) => {
                        progress.made_progress();
                        return Poll::Ready(Err(GetError));
                    }
                    Err(GetNowaitError::Empty) => {}
                }
                if !wait_on(&this.core.getters, &mut this.listener, cx) {
                    return Poll::Pending;
                }
            }
        })();
        if polled.is_pending() {
            tulipa_core::await_point::set(location);
        }
        polled
    }
}

/// The future of `join`.
pub(crate) struct Join<'a, S: Store> {
    core: &'a Core<S>,
    listener: Option<EventListener>,
    /// Where the future was created: the task's await point while it
    /// waits (see `tulipa_core::await_point`).
    location: &'static std::panic::Location<'static>,
}

impl<S: Store> Future for Join<'_, S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let location = self.location;
        #[allow(clippy::redundant_closure_call)]
        let polled = (move || -> Poll<()> {
            let this = &mut *self;
            loop {
                if this.core.unfinished_tasks() == 0 {
                    return Poll::Ready(());
                }
                if !wait_on(&this.core.joiners, &mut this.listener, cx) {
                    return Poll::Pending;
                }
            }
        })();
        if polled.is_pending() {
            tulipa_core::await_point::set(location);
        }
        polled
    }
}
