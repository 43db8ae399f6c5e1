//! [`Condvar`]: a condition variable beside this crate's [`Mutex`] (the
//! shape of `std::sync::Condvar`); [`Condition`](crate::Condition) is
//! asyncio's shape, built on it.
//!
//! # Design
//!
//! An `event_listener::Event<bool>`. `wait` registers a listener *before*
//! it unlocks the mutex, so a notification sent between the unlock and the
//! sleep is not missed. `notify(n)` notifies `n` *additional* listeners
//! (ones not notified yet), so two `notify_one` calls wake two waiters.
//!
//! A notification is never lost to a cancelled waiter:
//!
//! - dropped while still asleep, a notified listener passes its
//!   notification to the next listener (event-listener does this);
//! - dropped after it woke but before it re-took the mutex, the waiter
//!   sends one notification on itself. The tag says whether it came from
//!   `notify`/`notify_one` (pass it on) or `notify_all` (everyone was woken
//!   anyway, nothing to pass on).
//!
//! Like every condition variable, it may wake a waiter that finds its
//! condition still false (another task got there first); re-check it, or
//! use [`Condvar::wait_while`].

use std::fmt;

use event_listener::IntoNotification;

use crate::mutex::{MutexGuard, MutexGuardArc};

/// A condition variable (asyncio's `Condition`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulipa_sync::{Condvar, Mutex};
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let worker = {
///     let pair = pair.clone();
///     std::thread::spawn(move || {
///         futures_lite::future::block_on(async {
///             let (lock, cvar) = &*pair;
///             *lock.lock().await = true;
///             cvar.notify_one();
///         })
///     })
/// };
/// futures_lite::future::block_on(async {
///     let (lock, cvar) = &*pair;
///     let ready = cvar.wait_while(lock.lock().await, |ready| !*ready).await;
///     assert!(*ready);
/// });
/// worker.join().unwrap();
/// ```
pub struct Condvar {
    event: event_listener::Event<bool>,
}

impl Condvar {
    /// A new condition variable.
    pub fn new() -> Condvar {
        Condvar {
            event: event_listener::Event::with_tag(),
        }
    }

    /// Unlocks the mutex, waits for a notification, then locks the mutex
    /// again and returns its guard.
    ///
    /// # Cancel safety
    ///
    /// The guard is moved in, so dropping the future before it completes
    /// leaves the mutex unlocked. A notification given to this waiter is
    /// passed on to the next one, whether the future is dropped while it
    /// sleeps or while it waits to re-lock; see the module docs.
    #[track_caller]
    pub fn wait<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
    ) -> impl std::future::Future<Output = MutexGuard<'a, T>> + use<'a, '_, T> {
        tulipa_core::await_point::track(async move {
            let mutex = MutexGuard::source(&guard);
            let listener = self.event.listen();
            drop(guard);
            let pass_on = listener.await;
            let relay = Relay {
                event: &self.event,
                armed: pass_on,
            };
            let guard = mutex.lock().await;
            relay.disarm();
            guard
        })
    }

    /// Waits while `condition` holds, re-checking it (under the lock)
    /// after each wakeup; returns the guard once it is false.
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Condvar::wait).
    #[track_caller]
    pub fn wait_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> impl std::future::Future<Output = MutexGuard<'a, T>> + use<'a, '_, T, F>
    where
        F: FnMut(&mut T) -> bool,
    {
        tulipa_core::await_point::track(async move {
            while condition(&mut *guard) {
                guard = self.wait(guard).await;
            }
            guard
        })
    }

    /// [`wait`](Condvar::wait) with an owned guard ([`Mutex::lock_arc`](crate::Mutex::lock_arc)).
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Condvar::wait).
    #[track_caller]
    pub fn wait_arc<T: ?Sized>(
        &self,
        guard: MutexGuardArc<T>,
    ) -> impl std::future::Future<Output = MutexGuardArc<T>> + use<'_, T> {
        tulipa_core::await_point::track(async move {
            let mutex = MutexGuardArc::source(&guard).clone();
            let listener = self.event.listen();
            drop(guard);
            let pass_on = listener.await;
            let relay = Relay {
                event: &self.event,
                armed: pass_on,
            };
            let guard = mutex.lock_arc().await;
            relay.disarm();
            guard
        })
    }

    /// [`wait_while`](Condvar::wait_while) with an owned guard.
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Condvar::wait).
    #[track_caller]
    pub fn wait_while_arc<T: ?Sized, F>(
        &self,
        mut guard: MutexGuardArc<T>,
        mut condition: F,
    ) -> impl std::future::Future<Output = MutexGuardArc<T>> + use<'_, T, F>
    where
        F: FnMut(&mut T) -> bool,
    {
        tulipa_core::await_point::track(async move {
            while condition(&mut *guard) {
                guard = self.wait_arc(guard).await;
            }
            guard
        })
    }

    /// Wakes one waiter (one not woken yet); returns how many it woke
    /// (0 or 1). A notification with nobody waiting is dropped.
    pub fn notify_one(&self) -> usize {
        self.notify(1)
    }

    /// Wakes up to `n` waiters not woken yet; returns how many it woke.
    pub fn notify(&self, n: usize) -> usize {
        self.event.notify(n.additional().tag(true))
    }

    /// Wakes every waiter; returns how many it woke.
    pub fn notify_all(&self) -> usize {
        self.event.notify(usize::MAX.additional().tag(false))
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}

/// Passes a consumed `notify`/`notify_one` notification on if the waiter
/// is dropped before it re-took the mutex.
struct Relay<'a> {
    event: &'a event_listener::Event<bool>,
    armed: bool,
}

impl Relay<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Relay<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.event.notify(1.additional().tag(true));
        }
    }
}
