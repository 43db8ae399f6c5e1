//! [`Event`]: asyncio's `Event`, a flag that tasks wait on until it is set.
//!
//! An `AtomicBool` and an `event_listener::Event`. `set` stores the flag
//! and then notifies every listener; `wait` checks the flag, registers a
//! listener, checks again, and sleeps. That second check closes the race
//! with a concurrent `set` (the store is sequentially consistent and
//! event-listener fences its notification). A woken waiter returns without
//! looking at the flag again, so, as in asyncio, a `set` followed at once
//! by `clear` still releases every task that was waiting.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// A settable flag to wait on (asyncio's `Event`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulipa_sync::Event;
///
/// let ready = Arc::new(Event::new());
/// let waiter = {
///     let ready = ready.clone();
///     std::thread::spawn(move || futures_lite::future::block_on(ready.wait()))
/// };
/// ready.set();
/// waiter.join().unwrap();
/// assert!(ready.is_set());
/// ```
#[derive(Default)]
pub struct Event {
    flag: AtomicBool,
    event: event_listener::Event,
}

impl Event {
    /// A new, unset event.
    pub fn new() -> Event {
        Event::default()
    }

    /// Sets the flag and wakes every waiting task. Later `wait`s return at
    /// once until [`clear`](Event::clear) is called.
    pub fn set(&self) {
        if !self.flag.swap(true, Ordering::SeqCst) {
            self.event.notify(usize::MAX);
        }
    }

    /// Clears the flag: later `wait`s block until the next `set`.
    pub fn clear(&self) {
        self.flag.store(false, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Waits until the flag is set; returns at once if it is.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: `set` wakes every waiter, so a dropped waiter takes
    /// nothing from the others.
    #[track_caller]
    pub fn wait(&self) -> impl std::future::Future<Output = ()> + '_ {
        tulipa_core::await_point::track(async move {
            if self.is_set() {
                return;
            }
            let listener = self.event.listen();
            if self.is_set() {
                return;
            }
            listener.await;
        })
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}
