//! A watch channel: one latest value, which receivers read and are told
//! about when it changes (a configuration, a status, a progress figure).
//!
//! # Design
//!
//! The value sits in an `RwLock`; a version counter counts the changes.
//! Each receiver remembers the version it last saw, so "has it changed?"
//! is one atomic load. Receivers wait on one event, notified for all on
//! every change and when the last sender drops. Only the latest value is
//! kept: a receiver that looks late sees the newest value, not every one
//! in between (use [`broadcast`](crate::broadcast) for that).
//!
//! Lock order: only the value lock exists. The version is bumped while the
//! write lock is held, so a reader that sees version `v` under the read
//! lock sees the value of `v` or a newer one.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::SendError;
use crate::sync::{
    check_count, Arc, AtomicU64, AtomicUsize, Event, EventListener, Ordering, RwLock,
    RwLockReadGuard,
};

struct Shared<T> {
    value: RwLock<T>,
    version: AtomicU64,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    /// Receivers wait here for a change or the last sender's drop.
    changed: Event,
    /// [`Sender::closed`] waits here for the last receiver's drop.
    receivers_gone: Event,
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Creates a watch channel holding `init`.
///
/// # Examples
///
/// ```
/// use futures_lite::future::block_on;
///
/// let (tx, mut rx) = tulipa_channel::watch::channel("starting");
/// std::thread::spawn(move || tx.send("ready").unwrap());
/// block_on(rx.changed()).unwrap();
/// assert_eq!(*rx.borrow_and_update(), "ready");
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        version: AtomicU64::new(0),
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
        changed: Event::new(),
        receivers_gone: Event::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, seen: 0 },
    )
}

/// Every sender is gone: the value will never change again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watching a closed channel: every sender is gone, the value will not change")
    }
}

impl Error for RecvError {}

/// A read lock on the current value: hold it briefly, as senders wait for
/// it to be released.
///
/// A send (or a `send_modify`) blocks its thread while any `Ref` lives, so
/// do not hold one across an `.await` (it is not `Send` anyway), and never
/// send on a thread that holds one: the send would wait for itself
/// (`std::sync::RwLock` deadlocks or panics then).
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The sending half of a watch channel; clone it for more writers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and tells every receiver.
    ///
    /// # Errors
    ///
    /// [`SendError`] with `value` if there is no receiver; the stored value
    /// is then left unchanged (use [`send_replace`](Self::send_replace) to
    /// store it anyway).
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.load(Ordering::SeqCst) == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value whether or not anyone watches, tells every
    /// receiver, and returns the old value.
    pub fn send_replace(&self, value: T) -> T {
        let mut old = value;
        self.send_modify(|v| std::mem::swap(v, &mut old));
        old
    }

    /// Changes the value in place and tells every receiver.
    ///
    /// `modify` runs with the value's write lock held: it must not borrow
    /// or send on this channel (that would wait for itself).
    ///
    /// # Panics
    ///
    /// If `modify` panics the panic propagates; the value keeps whatever
    /// `modify` did before it panicked, the version is not bumped and no
    /// receiver is told.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulipa_channel::watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        {
            let mut value = self.shared.value.write().unwrap_or_else(|e| e.into_inner());
            modify(&mut value);
            self.shared.version.fetch_add(1, Ordering::SeqCst);
        }
        self.shared.changed.notify(usize::MAX);
    }

    /// Reads the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
        }
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        check_count(self.shared.receivers.fetch_add(1, Ordering::SeqCst));
        Receiver {
            shared: self.shared.clone(),
            seen: self.shared.version.load(Ordering::SeqCst),
        }
    }

    /// The number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(Ordering::SeqCst)
    }

    /// The number of live senders.
    pub fn sender_count(&self) -> usize {
        self.shared.senders.load(Ordering::SeqCst)
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes.
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            listener: None,
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        check_count(self.shared.senders.fetch_add(1, Ordering::Relaxed));
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.changed.notify(usize::MAX);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").finish_non_exhaustive()
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Closed<'a, T> {
    shared: &'a Shared<T>,
    listener: Option<EventListener>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            if this.shared.receivers.load(Ordering::SeqCst) == 0 {
                this.listener = None;
                return Poll::Ready(());
            }
            match &mut this.listener {
                None => this.listener = Some(this.shared.receivers_gone.listen()),
                Some(l) => match Pin::new(l).poll(cx) {
                    Poll::Ready(()) => this.listener = None,
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Closed").finish_non_exhaustive()
    }
}

/// The receiving half of a watch channel; clone it for more watchers
/// (the clone has seen what this one has seen).
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver last saw.
    seen: u64,
}

impl<T> Receiver<T> {
    /// Reads the current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.read(),
        }
    }

    /// Reads the current value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.read();
        self.seen = self.shared.version.load(Ordering::SeqCst);
        Ref { guard }
    }

    /// Whether the value changed since this receiver last marked it seen.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if every sender is gone and nothing new is left to
    /// see.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let changed = self.shared.version.load(Ordering::SeqCst) != self.seen;
        if !changed && self.shared.senders.load(Ordering::SeqCst) == 0 {
            return Err(RecvError);
        }
        Ok(changed)
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.version.load(Ordering::SeqCst);
    }

    /// Waits until the value changes (compared with what this receiver last
    /// saw), then marks it seen. Returns at once if it already changed.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if every sender is gone and nothing new is left.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the change is marked seen only in the poll that
    /// returns `Ok`, so dropping the future leaves it to the next call.
    #[track_caller]
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed {
            shared: &self.shared,
            seen: &mut self.seen,
            listener: None,
            location: std::panic::Location::caller(),
        }
    }

    /// Waits until the value satisfies `pred` (checking the current value
    /// first), marks it seen and returns a read lock on it.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if every sender is gone before the value satisfies
    /// `pred`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, like [`changed`](Self::changed).
    #[track_caller]
    pub fn wait_for<P: FnMut(&T) -> bool>(
        &mut self,
        mut pred: P,
    ) -> impl std::future::Future<Output = Result<Ref<'_, T>, RecvError>> + use<'_, T, P> {
        tulipa_core::await_point::track(async move {
            let shared: &Shared<T> = &self.shared;
            let seen = &mut self.seen;
            loop {
                {
                    let guard = shared.read();
                    *seen = shared.version.load(Ordering::SeqCst);
                    if pred(&guard) {
                        return Ok(Ref { guard });
                    }
                }
                Changed {
                    shared,
                    seen: &mut *seen,
                    listener: None,
                    location: std::panic::Location::caller(),
                }
                .await?;
            }
        })
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.senders.load(Ordering::SeqCst) == 0
    }

    /// Whether `self` and `other` watch the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        check_count(self.shared.receivers.fetch_add(1, Ordering::Relaxed));
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.receivers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.receivers_gone.notify(usize::MAX);
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

/// The future of [`Receiver::changed`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Changed<'a, T> {
    shared: &'a Shared<T>,
    seen: &'a mut u64,
    listener: Option<EventListener>,
    /// Where the future was created: the task's await point while it
    /// waits (see `tulipa_core::await_point`).
    location: &'static std::panic::Location<'static>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let location = self.location;
        #[allow(clippy::redundant_closure_call)]
        let polled = (move || -> Poll<Self::Output> {
            let this = &mut *self;
            loop {
                let shared = this.shared;
                let version = shared.version.load(Ordering::SeqCst);
                if version != *this.seen {
                    *this.seen = version;
                    this.listener = None;
                    return Poll::Ready(Ok(()));
                }
                if shared.senders.load(Ordering::SeqCst) == 0 {
                    this.listener = None;
                    return Poll::Ready(Err(RecvError));
                }
                match &mut this.listener {
                    None => this.listener = Some(shared.changed.listen()),
                    Some(l) => match Pin::new(l).poll(cx) {
                        Poll::Ready(()) => this.listener = None,
                        Poll::Pending => return Poll::Pending,
                    },
                }
            }
        })();
        if polled.is_pending() {
            tulipa_core::await_point::set(location);
        }
        polled
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Changed").finish_non_exhaustive()
    }
}
