//! The concurrency shim: every primitive the channels and queues share
//! between threads comes from here, so the loom models
//! (`cargo xtask loom`) check the real channel code.
//!
//! Normally the shim is std's atomics, `Arc` and `Mutex`, plus
//! `concurrent-queue` (the lock-free message storage) and `event-listener`
//! (every "wait until something changes"). Those two crates do not switch
//! to loom under our `tulipa_loom` cfg, and loom can only explore what it
//! sees, so under `--cfg tulipa_loom` they are replaced by small models
//! built on loom's `Mutex` and `Condvar` with the same API and the same
//! contract:
//!
//! - [`Queue`]: `push` fails with `Full`/`Closed` and hands the value
//!   back; `pop` drains a closed queue before it reports `Closed`.
//! - [`Event`]: a listener created before a state change, then notified,
//!   always completes; `notify(n)` tops the notified-but-not-yet-woken
//!   listeners up to `n`; `notify_additional(n)` notifies `n` more; a
//!   notified listener that is dropped passes its notification on to the
//!   next listener (so a wakeup given to a waiter that goes away is not
//!   lost).
//!
//! The channel code relies only on that contract: it always creates a
//! listener, re-checks the state, and only then waits.

#[cfg(not(tulipa_loom))]
pub(crate) use concurrent_queue::ConcurrentQueue as Queue;
#[cfg(not(tulipa_loom))]
pub(crate) use event_listener::{Event, EventListener, Listener};
#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(tulipa_loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

pub(crate) use concurrent_queue::{PopError, PushError};

/// An `UnsafeCell` with loom's API (loom's own under loom).
pub(crate) use tulipa_core::cell::UnsafeCell;

#[cfg(tulipa_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(tulipa_loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};
#[cfg(tulipa_loom)]
pub(crate) use loom_model::{Event, EventListener, Listener, Queue};

/// A `SeqCst` fence (loom's under loom), the one `Waiters` and the
/// receive slot issue on every push and pop that may have to wake a
/// waiter.
///
/// On x86 this is an `mfence`. event-listener and concurrent-queue use a
/// locked instruction instead, said to be cheaper. That variant (an
/// `asm!` `lock not` of a stack word) was measured against this one,
/// interleaved, on `chan_mpsc`, `chan_unbounded` and `chan_ping_pong`
/// (current-thread, 4 runs each): the ratios to tokio did not separate
/// (locked instruction 0.45-0.51 against `mfence` 0.46, 0.25-0.33
/// against 0.24-0.27, 0.76-0.89 against 0.55-0.80), so the channels keep
/// the plain fence and no `unsafe`.
#[inline]
pub(crate) fn full_fence() {
    #[cfg(not(tulipa_loom))]
    std::sync::atomic::fence(Ordering::SeqCst);
    #[cfg(tulipa_loom)]
    loom::sync::atomic::fence(Ordering::SeqCst);
}

/// Tells loom's scheduler that this thread cannot progress until another
/// one does (a wait that polls again at once); nothing otherwise.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(tulipa_loom)]
    loom::thread::yield_now();
}

/// Locks `mutex`, ignoring poisoning: every critical section in this crate
/// leaves the state consistent before anything that can panic (user code
/// never runs under a lock, except `watch::Sender::send_modify`, which
/// documents it).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Aborts the process if a handle count grew past `isize::MAX`, as `Arc`
/// does: only leaked handles (`mem::forget` in a loop) get there.
pub(crate) fn check_count(previous: usize) {
    if previous > isize::MAX as usize {
        std::process::abort();
    }
}

/// Runs a future to completion on this thread, parking it between
/// wakeups (for the `_blocking` methods).
#[cfg(not(tulipa_loom))]
pub(crate) use futures_lite::future::block_on;

/// `block_on` for loom models: polls on the current loom thread and
/// waits on a loom condvar between wakeups (not `thread::park`: loom
/// confuses a late `unpark` with the wakeup of a later `join`).
#[cfg(tulipa_loom)]
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};

    struct Parker {
        woken: Mutex<bool>,
        cv: loom::sync::Condvar,
    }

    impl Wake for Parker {
        fn wake(self: std::sync::Arc<Self>) {
            *self.woken.lock().unwrap() = true;
            self.cv.notify_one();
        }
    }

    let parker = std::sync::Arc::new(Parker {
        woken: Mutex::new(false),
        cv: loom::sync::Condvar::new(),
    });
    let waker = Waker::from(parker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        let mut woken = parker.woken.lock().unwrap();
        while !*woken {
            woken = parker.cv.wait(woken).unwrap();
        }
        *woken = false;
    }
}

#[cfg(tulipa_loom)]
mod loom_model {
    //! Loom stand-ins for `concurrent-queue` and `event-listener`, with the
    //! contract stated in the parent module.

    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use loom::sync::{Arc, Condvar, Mutex};

    use super::{PopError, PushError};

    /// A queue under one loom mutex.
    pub(crate) struct Queue<T> {
        state: Mutex<(VecDeque<T>, bool)>,
        cap: Option<usize>,
    }

    impl<T> Queue<T> {
        pub(crate) fn bounded(cap: usize) -> Self {
            assert!(cap > 0, "capacity must be positive");
            Queue {
                state: Mutex::new((VecDeque::new(), false)),
                cap: Some(cap),
            }
        }

        pub(crate) fn unbounded() -> Self {
            Queue {
                state: Mutex::new((VecDeque::new(), false)),
                cap: None,
            }
        }

        pub(crate) fn push(&self, value: T) -> Result<(), PushError<T>> {
            let mut s = self.state.lock().unwrap();
            if s.1 {
                return Err(PushError::Closed(value));
            }
            if self.cap.is_some_and(|c| s.0.len() >= c) {
                return Err(PushError::Full(value));
            }
            s.0.push_back(value);
            Ok(())
        }

        pub(crate) fn pop(&self) -> Result<T, PopError> {
            let mut s = self.state.lock().unwrap();
            match s.0.pop_front() {
                Some(v) => Ok(v),
                None if s.1 => Err(PopError::Closed),
                None => Err(PopError::Empty),
            }
        }

        pub(crate) fn close(&self) -> bool {
            let mut s = self.state.lock().unwrap();
            !std::mem::replace(&mut s.1, true)
        }

        pub(crate) fn is_closed(&self) -> bool {
            self.state.lock().unwrap().1
        }

        pub(crate) fn len(&self) -> usize {
            self.state.lock().unwrap().0.len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.len() == 0
        }

        pub(crate) fn is_full(&self) -> bool {
            self.cap.is_some_and(|c| self.len() >= c)
        }

        pub(crate) fn capacity(&self) -> Option<usize> {
            self.cap
        }
    }

    struct Entry {
        id: usize,
        notified: bool,
        waker: Option<Waker>,
    }

    #[derive(Default)]
    struct Listeners {
        next_id: usize,
        entries: VecDeque<Entry>,
    }

    impl Listeners {
        /// Notifies up to `n` entries not yet notified, oldest first.
        fn notify_fresh(&mut self, mut n: usize) -> usize {
            let mut done = 0;
            for e in self.entries.iter_mut() {
                if n == 0 {
                    break;
                }
                if !e.notified {
                    e.notified = true;
                    if let Some(w) = e.waker.take() {
                        w.wake();
                    }
                    n -= 1;
                    done += 1;
                }
            }
            done
        }
    }

    #[derive(Default)]
    struct Shared {
        list: Mutex<Listeners>,
        cv: Condvar,
    }

    /// An event under one loom mutex and condvar.
    pub(crate) struct Event {
        shared: Arc<Shared>,
    }

    impl Event {
        pub(crate) fn new() -> Self {
            Event {
                shared: Arc::new(Shared::default()),
            }
        }

        pub(crate) fn listen(&self) -> EventListener {
            let mut list = self.shared.list.lock().unwrap();
            let id = list.next_id;
            list.next_id += 1;
            list.entries.push_back(Entry {
                id,
                notified: false,
                waker: None,
            });
            EventListener {
                shared: self.shared.clone(),
                id,
                done: false,
            }
        }

        pub(crate) fn notify(&self, n: usize) -> usize {
            let mut list = self.shared.list.lock().unwrap();
            let already = list.entries.iter().filter(|e| e.notified).count();
            let done = list.notify_fresh(n.saturating_sub(already));
            self.shared.cv.notify_all();
            done
        }

        pub(crate) fn notify_additional(&self, n: usize) -> usize {
            let mut list = self.shared.list.lock().unwrap();
            let done = list.notify_fresh(n);
            self.shared.cv.notify_all();
            done
        }

        /// As `notify`, without event-listener's fence (the lock orders it).
        pub(crate) fn notify_relaxed(&self, n: usize) -> usize {
            self.notify(n)
        }

        /// As `notify_additional`, without event-listener's fence.
        pub(crate) fn notify_additional_relaxed(&self, n: usize) -> usize {
            self.notify_additional(n)
        }
    }

    /// A listener of the loom [`Event`].
    pub(crate) struct EventListener {
        shared: Arc<Shared>,
        id: usize,
        done: bool,
    }

    /// Blocking wait and discard, as `event_listener::Listener`'s.
    pub(crate) trait Listener {
        fn wait(self);
        /// Removes the listener without passing its notification on;
        /// `true` if it had one.
        fn discard(self) -> bool;
    }

    impl EventListener {
        /// Takes the notification if there is one (removing the entry).
        fn take(&mut self, waker: Option<&Waker>) -> bool {
            let mut list = self.shared.list.lock().unwrap();
            let pos = list
                .entries
                .iter()
                .position(|e| e.id == self.id)
                .expect("listener entry exists until taken");
            if list.entries[pos].notified {
                list.entries.remove(pos);
                self.done = true;
                true
            } else {
                list.entries[pos].waker = waker.cloned();
                false
            }
        }
    }

    impl Listener for EventListener {
        fn wait(mut self) {
            loop {
                if self.take(None) {
                    return;
                }
                let list = self.shared.list.lock().unwrap();
                let notified = list.entries.iter().any(|e| e.id == self.id && e.notified);
                if !notified {
                    drop(self.shared.cv.wait(list).unwrap());
                }
            }
        }

        fn discard(mut self) -> bool {
            if self.done {
                return false;
            }
            self.done = true;
            let mut list = self.shared.list.lock().unwrap();
            match list.entries.iter().position(|e| e.id == self.id) {
                Some(pos) => {
                    list.entries
                        .remove(pos)
                        .expect("position is in range")
                        .notified
                }
                None => false,
            }
        }
    }

    impl Future for EventListener {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.take(Some(cx.waker())) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl Drop for EventListener {
        fn drop(&mut self) {
            if self.done {
                return;
            }
            let mut list = self.shared.list.lock().unwrap();
            if let Some(pos) = list.entries.iter().position(|e| e.id == self.id) {
                let entry = list.entries.remove(pos).expect("position is in range");
                if entry.notified {
                    // Pass the notification on, as event-listener does.
                    list.notify_fresh(1);
                    self.shared.cv.notify_all();
                }
            }
        }
    }
}
