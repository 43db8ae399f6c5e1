//! asyncio's `loop.add_signal_handler` / `remove_signal_handler`.
//!
//! # Design
//!
//! A handler is a task, started through the spawn hook
//! (`tulipa_core::spawn`) on the runtime current when it is added, that
//! loops on a [`Listener`] for its one signal and calls the callback for
//! each item: the callback runs as ordinary code on the runtime, never
//! inside the signal handler. The listener is made *before*
//! `add_signal_handler` returns, so a signal sent right after is seen.
//!
//! A process-wide table maps each signal to its current handler: an id and
//! a stop flag (an [`AtomicBool`] with an [`Event`] to wake the task).
//! Adding a handler for a signal that has one replaces it (asyncio does the
//! same): the old one is stopped. Removing sets the flag and wakes the
//! task, which checks the flag before each call of the callback. The check
//! and the call are not one atomic step, so a call the task had already
//! decided to make on another thread may still start (see
//! [`remove_signal_handler`]). When the task ends (removed, replaced, its
//! runtime shut down, or its callback panicked) a guard, made before the
//! task and moved into it, takes its entry out of the table if it is still
//! its own: also when the task is dropped before its first poll.
//!
//! Lock order: the table lock is never held while calling out (stopping a
//! task wakes it, and a waker may drop the task inline, whose guard then
//! takes the table lock).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};

use event_listener::Event;
use futures_lite::future;

use super::{Listener, Signal};

/// What stops one handler task.
struct Stop {
    stopped: AtomicBool,
    event: Event,
}

impl Stop {
    fn stop(&self) {
        self.stopped.store(true, SeqCst);
        self.event.notify(usize::MAX);
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(SeqCst)
    }

    /// Resolves once [`stop`](Stop::stop) was called.
    async fn stopped(&self) {
        loop {
            if self.is_stopped() {
                return;
            }
            let listener = self.event.listen();
            if self.is_stopped() {
                return;
            }
            listener.await;
        }
    }
}

/// The installed handlers: signal number to (handler id, stop flag).
static TABLE: Mutex<BTreeMap<i32, (u64, Arc<Stop>)>> = Mutex::new(BTreeMap::new());

fn table() -> MutexGuard<'static, BTreeMap<i32, (u64, Arc<Stop>)>> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes the handler `id` out of the table when its task ends, and marks
/// it stopped (a handler whose task is gone is not active).
struct Deregister {
    signal: i32,
    id: u64,
    stop: Arc<Stop>,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        // Only the flag: nobody waits for the event of an ending task. Set
        // before the table lock, so a failed `add_signal_handler` that
        // puts this handler back (under the lock) sees it is gone.
        self.stop.stopped.store(true, SeqCst);
        let mut table = table();
        if table
            .get(&self.signal)
            .is_some_and(|(id, _)| *id == self.id)
        {
            table.remove(&self.signal);
        }
    }
}

/// Calls `callback` on the current runtime each time `signal` is delivered
/// (asyncio's `loop.add_signal_handler`).
///
/// The callback runs in a task on the runtime current on this thread
/// (started through the spawn hook), never inside the signal handler, so
/// it may do anything a task may do. Deliveries that arrive while the
/// callback runs coalesce into one more call (see the
/// [module docs](super)). A handler already installed for `signal` is
/// replaced, as in asyncio. The handler stays until
/// [`remove_signal_handler`] or [`SignalHandler::remove`], or until its
/// runtime shuts down; dropping the returned [`SignalHandler`] does not
/// remove it.
///
/// # Errors
///
/// Fails with [`InvalidInput`](io::ErrorKind::InvalidInput) for a signal
/// that cannot be listened for (see [`Signals::new`](super::Signals::new)),
/// with [`NotFound`](io::ErrorKind::NotFound) when no runtime is current on
/// this thread (call it from a task or inside `Runtime::block_on`), or with
/// the runtime's error when it is shutting down. The first two install
/// nothing: the signal keeps its default action. On any error, the
/// handler the signal had before (if any) stays in place.
///
/// # Panics
///
/// A panic in `callback` ends the handler task (the runtime's panic policy
/// applies) and removes the handler; the caller does not panic.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use tulipa_process::signal::{add_signal_handler, raise, Signals, SIGUSR1};
///
/// tulipa::run(async {
///     let (tx, rx) = std::sync::mpsc::channel();
///     let handler = add_signal_handler(SIGUSR1, move || {
///         let _ = tx.send(());
///     })?;
///     raise(SIGUSR1)?;
///     tulipa::unblock(move || rx.recv()).await.unwrap();
///     assert!(handler.remove());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn add_signal_handler<F>(signal: Signal, mut callback: F) -> io::Result<SignalHandler>
where
    F: FnMut() + Send + 'static,
{
    // Checked before anything is installed: a refused call must not take
    // the signal's default action away.
    super::registry::check(signal)?;
    let spawner = tulipa_core::spawn::current().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "add_signal_handler({signal}) needs a tulipa runtime to run the callback on: \
                 call it from inside one (a task, or Runtime::block_on)"
            ),
        )
    })?;
    let mut listener = Listener::empty();
    listener.add(signal)?;
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    let id = NEXT_ID.fetch_add(1, SeqCst);
    let stop = Arc::new(Stop {
        stopped: AtomicBool::new(false),
        event: Event::new(),
    });
    let raw = signal.as_raw();
    // The replaced handler is stopped only once this one runs: if the
    // spawn fails, it goes back.
    let replaced = table().insert(raw, (id, stop.clone()));
    let task_stop = stop.clone();
    // Made out here and moved in, so it runs even if the task is dropped
    // before its first poll (a runtime shut down right after this call).
    let deregister = Deregister {
        signal: raw,
        id,
        stop: stop.clone(),
    };
    let task = async move {
        let _deregister = deregister;
        loop {
            let delivered = future::or(
                async {
                    futures_lite::future::poll_fn(|cx| listener.poll_recv(cx)).await;
                    true
                },
                async {
                    task_stop.stopped().await;
                    false
                },
            )
            .await;
            if !delivered || task_stop.is_stopped() {
                return;
            }
            callback();
        }
    };
    if let Err(e) = spawner.spawn_detached(Box::pin(task)) {
        // The task (and its `Deregister`) was dropped unrun, which took
        // this handler's entry out. The one it replaced was not stopped:
        // it goes back, unless its task ended meanwhile or another call
        // took the slot.
        stop.stop();
        if let Some(old) = replaced {
            let mut table = table();
            if !old.1.is_stopped() {
                table.entry(raw).or_insert(old);
            }
        }
        return Err(e);
    }
    if let Some((_, old)) = replaced {
        old.stop();
    }
    Ok(SignalHandler { signal, id, stop })
}

/// Removes the handler of `signal`, if any (asyncio's
/// `loop.remove_signal_handler`); returns whether there was one.
///
/// No call of the callback starts after this returns, except possibly one
/// whose task had already passed its check on another thread (a call in
/// progress also finishes). The signal's low-level handler stays
/// installed: the signal's default action does not come back (see the
/// [module docs](super)).
///
/// # Examples
///
/// ```
/// use tulipa_process::signal::{add_signal_handler, remove_signal_handler, SIGUSR2};
///
/// tulipa::run(async {
///     add_signal_handler(SIGUSR2, || println!("got SIGUSR2"))?;
///     assert!(remove_signal_handler(SIGUSR2));
///     assert!(!remove_signal_handler(SIGUSR2));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn remove_signal_handler(signal: Signal) -> bool {
    let removed = table().remove(&signal.as_raw());
    match removed {
        Some((_, stop)) => {
            stop.stop();
            true
        }
        None => false,
    }
}

/// A handler installed by [`add_signal_handler`].
///
/// Dropping it leaves the handler installed.
pub struct SignalHandler {
    signal: Signal,
    id: u64,
    stop: Arc<Stop>,
}

impl SignalHandler {
    /// The signal this handler is for.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Whether this handler is still installed (not removed, replaced, or
    /// ended with its runtime).
    pub fn is_active(&self) -> bool {
        !self.stop.is_stopped()
            && table()
                .get(&self.signal.as_raw())
                .is_some_and(|(id, _)| *id == self.id)
    }

    /// Removes this handler if it is still the signal's handler; returns
    /// whether it was. As [`remove_signal_handler`], but never removes a
    /// newer handler that replaced this one.
    pub fn remove(&self) -> bool {
        let mut table = table();
        let ours = table
            .get(&self.signal.as_raw())
            .is_some_and(|(id, _)| *id == self.id);
        if ours {
            table.remove(&self.signal.as_raw());
        }
        drop(table);
        self.stop.stop();
        ours
    }
}

impl fmt::Debug for SignalHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalHandler")
            .field("signal", &self.signal)
            .field("active", &self.is_active())
            .finish()
    }
}
