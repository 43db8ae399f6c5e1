//! [`Sleep`]: a future that completes at a deadline.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::handle::TimerHandle;
use crate::instant::Instant;
use crate::wheel::Key;

/// Waits until `duration` has elapsed on the current timer's clock.
///
/// The timer is the one [`TimerHandle::current`] returns when `sleep` is
/// called. A duration too large to represent sleeps for about thirty years.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// futures_lite::future::block_on(async {
///     tulipa_timer::sleep(Duration::from_millis(1)).await;
/// });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let handle = TimerHandle::current();
    let deadline = handle.now().saturating_add(duration);
    Sleep::new(handle, deadline)
}

/// Waits until `deadline` on the current timer's clock.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_timer::{sleep_until, Instant};
///
/// futures_lite::future::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(1);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(TimerHandle::current(), deadline)
}

/// A future that completes at its deadline; returned by [`sleep`] and
/// [`sleep_until`].
///
/// It registers with the timer on its first poll (a deadline already passed
/// by then completes without registering) and unregisters in O(1) when it
/// completes or is dropped. It is [`Unpin`], so `&mut sleep` can be awaited
/// and polled again, for example in a loop with [`reset`](Sleep::reset).
///
/// When polled again with a different waker (the future moved to another
/// task), the latest waker is the one woken.
///
/// # Cancel safety
///
/// Dropping a `Sleep` before it completes cancels the timer and loses
/// nothing.
pub struct Sleep {
    handle: TimerHandle,
    deadline: Instant,
    /// The registration, if the timer is in the wheel.
    key: Option<Key>,
    /// A clone of the waker stored in the wheel, to skip the lock when a
    /// repoll brings the same waker.
    waker: Option<Waker>,
    /// Where it was created: the task's await point while it sleeps.
    location: &'static Location<'static>,
}

impl Sleep {
    #[track_caller]
    pub(crate) fn new(handle: TimerHandle, deadline: Instant) -> Sleep {
        Sleep {
            handle,
            deadline,
            key: None,
            waker: None,
            location: Location::caller(),
        }
    }

    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed on the timer's clock.
    pub fn is_elapsed(&self) -> bool {
        self.handle.now() >= self.deadline
    }

    /// Changes the deadline, whether or not the sleep already completed.
    ///
    /// If the sleep is registered, the registration moves to the new
    /// deadline and keeps its waker, so a task waiting on it is woken at the
    /// new time without polling it first.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulipa_timer::{sleep, Instant};
    ///
    /// futures_lite::future::block_on(async {
    ///     let mut s = sleep(Duration::from_secs(3600));
    ///     s.reset(Instant::now() + Duration::from_millis(1));
    ///     (&mut s).await;
    ///     assert!(s.is_elapsed());
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if let Some(key) = self.key.take() {
            self.handle.shared.cancel(key);
            if let Some(waker) = &self.waker {
                let key = self
                    .handle
                    .shared
                    .register(deadline.into_std(), waker.clone());
                self.key = Some(key);
            }
        }
    }

    /// The timer this sleep belongs to.
    pub(crate) fn handle(&self) -> &TimerHandle {
        &self.handle
    }

    fn unregister(&mut self) {
        self.waker = None;
        if let Some(key) = self.key.take() {
            self.handle.shared.cancel(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.is_elapsed() {
            // The entry already fired (then this only checks a stale key) or
            // is about to: either way it must not stay registered.
            this.unregister();
            return Poll::Ready(());
        }
        match (this.key, &this.waker) {
            (Some(_), Some(waker)) if waker.will_wake(cx.waker()) => {}
            (Some(key), _) if this.handle.shared.update_waker(key, cx.waker()) => {
                this.waker = Some(cx.waker().clone());
            }
            _ => {
                let waker = cx.waker().clone();
                let key = this
                    .handle
                    .shared
                    .register(this.deadline.into_std(), waker.clone());
                this.key = Some(key);
                this.waker = Some(waker);
            }
        }
        tulipa_core::await_point::set(this.location);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.key.is_some())
            .finish()
    }
}
