//! [`timeout`]: bound how long a future may take (asyncio's `timeout`,
//! `timeout_at` and `wait_for`).
//!
//! # Design
//!
//! A [`Timeout`] owns the wrapped future, an optional [`Sleep`] armed at the
//! deadline, and an `Arc` of control state shared with every
//! [`TimeoutHandle`] (asyncio's `Timeout` object: `when()`,
//! `reschedule()`, `expired()`). The control state is a small mutex:
//! the deadline, a generation counter bumped by every reschedule, the
//! status (*active*, then *expired* or *finished*, never back), and the
//! waker of the task polling the `Timeout`, so that a reschedule from
//! another task or thread re-arms the sleep. The mutex is locked for a few
//! field reads and writes: nothing is polled, woken or dropped, and no
//! other lock is taken, while it is held.
//!
//! # Nested timeouts: which one expires
//!
//! asyncio delivers a deadline as a cancellation of the task, and a
//! `timeout` turns that cancellation into `TimeoutError` only if no *other*
//! cancellation was requested since it was entered. So when an inner and
//! an outer timeout have both expired by the time the task resumes (the
//! same deadline, or the task resumed late), the outer one raises and the
//! inner one lets the cancellation through.
//!
//! tulipa keeps the same rule without cancelling tasks. While a `Timeout`
//! polls its future, it is on a thread-local stack of *enclosing* timeouts.
//! A `Timeout` whose deadline has passed (and whose future is not ready)
//! first looks down that stack: if an enclosing timeout has expired too, it
//! marks that one as due, and returns `Pending` instead of `Err(Elapsed)`;
//! the enclosing timeout, which regains control before the poll ends, then
//! reports `Err(Elapsed)` and drops everything inside. The outermost
//! expired timeout therefore is the one that reports, as in asyncio, and
//! every timeout on the way reports [`expired`](TimeoutHandle::expired).
//! A timeout defers at most once: if it is polled again after deferring
//! (the enclosing timeout did not drop it), it reports `Err(Elapsed)`
//! itself; and it wakes its task when it defers, so it cannot be left
//! waiting if the future it is in does not end the poll as expected.

use std::cell::RefCell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::handle::TimerHandle;
use crate::instant::Instant;
use crate::sleep::Sleep;

/// Runs `future` for at most `delay`, like asyncio's `wait_for(future,
/// delay)` and `async with timeout(delay)`.
///
/// Returns `Ok` with the output if it completes first, or `Err(Elapsed)`
/// once the deadline passes; the inner future is then dropped with the
/// [`Timeout`]. `delay` is a [`Duration`] or an `Option<Duration>`: `None`
/// sets no deadline (asyncio's `timeout(None)`), which a
/// [`TimeoutHandle::reschedule`] can set later.
///
/// The future is polled before the deadline is checked, so a future that
/// is ready on the poll where the deadline has passed still counts as
/// completed in time. When timeouts are nested and several have expired,
/// the outermost one reports `Err(Elapsed)` (see [`Timeout`]).
///
/// To reach the timeout from inside the timed code (to move its deadline,
/// as `cm.reschedule()` inside `async with timeout(d) as cm:`), use
/// [`timeout_with`].
///
/// # Cancel safety
///
/// `Timeout` is exactly as cancel-safe as the future it wraps: dropping it
/// drops that future and cancels the timer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_timer::{sleep, timeout};
///
/// futures_lite::future::block_on(async {
///     assert_eq!(timeout(Duration::from_secs(60), async { 7 }).await, Ok(7));
///
///     let slow = sleep(Duration::from_secs(60));
///     assert!(timeout(Duration::from_millis(1), slow).await.is_err());
///
///     // No deadline at all: asyncio's `timeout(None)`.
///     assert_eq!(timeout(None, async { 8 }).await, Ok(8));
/// });
/// ```
pub fn timeout<F: IntoFuture>(
    delay: impl Into<Option<Duration>>,
    future: F,
) -> Timeout<F::IntoFuture> {
    let timer = TimerHandle::current();
    let when = delay.into().map(|d| timer.now().saturating_add(d));
    Timeout::new(timer, when, future.into_future())
}

/// Runs `future` until `when` at most (asyncio's `timeout_at`); `None` sets
/// no deadline. See [`timeout`].
///
/// # Cancel safety
///
/// As cancel-safe as the future it wraps (see [`timeout`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_timer::{sleep, timeout_at, Instant};
///
/// futures_lite::future::block_on(async {
///     let when = Instant::now() + Duration::from_millis(1);
///     assert!(timeout_at(when, sleep(Duration::from_secs(60))).await.is_err());
/// });
/// ```
pub fn timeout_at<F: IntoFuture>(
    when: impl Into<Option<Instant>>,
    future: F,
) -> Timeout<F::IntoFuture> {
    Timeout::new(TimerHandle::current(), when.into(), future.into_future())
}

/// Like [`timeout`], but the timed code gets the [`TimeoutHandle`]: `body`
/// is called at once with it and returns the future to time. This is
/// asyncio's `async with timeout(delay) as cm:`, where the block can call
/// `cm.reschedule(...)`.
///
/// # Cancel safety
///
/// As cancel-safe as the future `body` returns (see [`timeout`]).
///
/// # Examples
///
/// A deadline that moves while work makes progress:
///
/// ```
/// use std::time::Duration;
/// use tulipa_timer::{sleep, timeout_with, Instant};
///
/// futures_lite::future::block_on(async {
///     let out = timeout_with(Duration::from_millis(50), |cm| async move {
///         for _ in 0..3 {
///             sleep(Duration::from_millis(30)).await;
///             // Progress: give the next step another 50 ms.
///             cm.reschedule(Instant::now() + Duration::from_millis(50)).unwrap();
///         }
///         "done"
///     })
///     .await;
///     assert_eq!(out, Ok("done"));
/// });
/// ```
pub fn timeout_with<B, F>(delay: impl Into<Option<Duration>>, body: B) -> Timeout<F::IntoFuture>
where
    B: FnOnce(TimeoutHandle) -> F,
    F: IntoFuture,
{
    let timer = TimerHandle::current();
    let when = delay.into().map(|d| timer.now().saturating_add(d));
    Timeout::with_body(timer, when, body)
}

/// Like [`timeout_at`], but the timed code gets the [`TimeoutHandle`]; see
/// [`timeout_with`].
///
/// # Cancel safety
///
/// As cancel-safe as the future `body` returns (see [`timeout`]).
pub fn timeout_at_with<B, F>(when: impl Into<Option<Instant>>, body: B) -> Timeout<F::IntoFuture>
where
    B: FnOnce(TimeoutHandle) -> F,
    F: IntoFuture,
{
    Timeout::with_body(TimerHandle::current(), when.into(), body)
}

pin_project_lite::pin_project! {
    /// A future with a deadline; returned by [`timeout`], [`timeout_at`],
    /// [`timeout_with`] and [`timeout_at_with`].
    ///
    /// Resolves to `Ok(output)` or, once the deadline passes first,
    /// `Err(Elapsed)`. [`handle`](Timeout::handle) gives the
    /// [`TimeoutHandle`] that reads, moves or removes the deadline.
    ///
    /// # Nested timeouts
    ///
    /// When a `Timeout` inside another has expired and the enclosing one
    /// has expired too (the same deadline, or the task was not polled
    /// between the two), the enclosing one returns `Err(Elapsed)` and the
    /// inner one's error never shows, as in asyncio, where the outermost
    /// expired timeout raises `TimeoutError`. Both handles then report
    /// [`expired`](TimeoutHandle::expired).
    ///
    /// ```
    /// use std::future::pending;
    /// use std::time::Duration;
    /// use tulipa_timer::{timeout, Elapsed};
    ///
    /// futures_lite::future::block_on(async {
    ///     let d = Duration::from_millis(1);
    ///     let r: Result<Result<(), Elapsed>, Elapsed> = timeout(d, timeout(d, pending())).await;
    ///     assert!(matches!(r, Err(_)), "the outer timeout reports, not Ok(Err(_))");
    /// });
    /// ```
    ///
    /// # Panics
    ///
    /// Polling a `Timeout` again after it returned its result panics.
    ///
    /// # Cancel safety
    ///
    /// As cancel-safe as the wrapped future: dropping a `Timeout` drops it
    /// and cancels the timer.
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        timer: TimerHandle,
        // Armed at the deadline the control state had at generation `seen`;
        // `None` without a deadline.
        sleep: Option<Sleep>,
        seen: u64,
        // This timeout expired and let an enclosing one report.
        deferred: bool,
        // The result was returned.
        done: bool,
        control: ControlGuard,
    }
}

impl<F> Timeout<F> {
    fn new(timer: TimerHandle, when: Option<Instant>, future: F) -> Timeout<F> {
        Timeout::assemble(timer, Arc::new(Control::new(when)), future)
    }

    fn with_body<B, I>(timer: TimerHandle, when: Option<Instant>, body: B) -> Timeout<F>
    where
        B: FnOnce(TimeoutHandle) -> I,
        I: IntoFuture<IntoFuture = F>,
    {
        let control = Arc::new(Control::new(when));
        let future = body(TimeoutHandle {
            control: control.clone(),
        })
        .into_future();
        Timeout::assemble(timer, control, future)
    }

    /// Arms the sleep at the control state's deadline, which `body` may
    /// already have rescheduled.
    fn assemble(timer: TimerHandle, control: Arc<Control>, future: F) -> Timeout<F> {
        let (when, seen) = {
            let state = control.lock();
            (state.when, state.generation)
        };
        let sleep = when.map(|w| Sleep::new(timer.clone(), w));
        Timeout {
            future,
            timer,
            sleep,
            seen,
            deferred: false,
            done: false,
            control: ControlGuard(control),
        }
    }

    /// The deadline after which the wrapped future is abandoned, or `None`
    /// if there is none (asyncio's `Timeout.when()`).
    pub fn when(&self) -> Option<Instant> {
        self.control.0.lock().when
    }

    /// A handle to this timeout: read, move or remove its deadline, and
    /// ask whether it expired, from anywhere.
    pub fn handle(&self) -> TimeoutHandle {
        TimeoutHandle {
            control: self.control.0.clone(),
        }
    }

    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// The wrapped future, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut F> {
        self.project().future
    }

    /// Stops the timer and returns the wrapped future; the timeout counts
    /// as finished (its handles can no longer reschedule it).
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        assert!(
            !*this.done,
            "Timeout polled after it returned its result; await a timeout only once"
        );
        let control = &this.control.0;
        if *this.deferred {
            // It expired and left the report to an enclosing timeout, which
            // did not drop it: report now.
            *this.done = true;
            return Poll::Ready(Err(Elapsed(())));
        }

        let frame = Frame::push(control);
        let polled = this.future.poll(cx);
        let forced = frame.pop();
        if let Poll::Ready(output) = polled {
            control.finish(Status::Finished);
            *this.done = true;
            return Poll::Ready(Ok(output));
        }

        // Bring the sleep in line with the deadline; store the waker in the
        // same critical section, so a reschedule after it wakes this task.
        let mut replaced = None;
        let rearm = {
            let mut state = control.lock();
            if !state
                .waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                replaced = state.waker.replace(cx.waker().clone());
            }
            (state.generation != *this.seen).then(|| {
                *this.seen = state.generation;
                state.when
            })
        };
        // Dropped, like every waker here, with the lock released.
        drop(replaced);
        if let Some(when) = rearm {
            match (when, this.sleep.as_mut()) {
                (None, _) => *this.sleep = None,
                (Some(w), Some(sleep)) => sleep.reset(w),
                (Some(w), None) => *this.sleep = Some(Sleep::new(this.timer.clone(), w)),
            }
        }
        // The task waits where the body waits: the body's await point
        // (none if it is not tulipa's), not the inner sleep's.
        let body_point = tulipa_core::await_point::take();
        let due = forced
            || this
                .sleep
                .as_mut()
                .is_some_and(|s| Pin::new(s).poll(cx).is_ready());
        tulipa_core::await_point::clear();
        if let Some(point) = body_point {
            tulipa_core::await_point::set(point);
        }
        if !due {
            return Poll::Pending;
        }
        control.finish(Status::Expired);
        if Frame::defer_to_enclosing(this.timer.now()) {
            *this.deferred = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        *this.done = true;
        Poll::Ready(Err(Elapsed(())))
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("when", &self.when())
            .finish()
    }
}

/// The control state a [`Timeout`] shares with its [`TimeoutHandle`]s.
struct Control {
    state: Mutex<ControlState>,
}

struct ControlState {
    when: Option<Instant>,
    /// Bumped by every reschedule; the `Timeout` re-arms its sleep when it
    /// sees a new one.
    generation: u64,
    status: Status,
    /// The waker of the task that last polled the `Timeout`.
    waker: Option<Waker>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Active,
    Expired,
    Finished,
}

impl Control {
    fn new(when: Option<Instant>) -> Control {
        Control {
            state: Mutex::new(ControlState {
                when,
                generation: 0,
                status: Status::Active,
                waker: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ControlState> {
        // No user code runs under this lock: it cannot be poisoned in a way
        // that leaves the state inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends an active timeout with `status`; drops the stored waker after
    /// the lock is released.
    fn finish(&self, status: Status) {
        let waker = {
            let mut state = self.lock();
            if state.status == Status::Active {
                state.status = status;
            }
            state.waker.take()
        };
        drop(waker);
    }

    /// Whether this timeout's deadline has passed at `now`.
    fn is_due(&self, now: Instant) -> bool {
        let state = self.lock();
        state.status != Status::Finished && state.when.is_some_and(|w| now >= w)
    }
}

/// Marks the timeout finished when the `Timeout` goes away (dropped, or
/// taken apart by `into_inner`).
struct ControlGuard(Arc<Control>);

impl Drop for ControlGuard {
    fn drop(&mut self) {
        self.0.finish(Status::Finished);
    }
}

/// An enclosing timeout on this thread's stack: one whose `poll` is running
/// its future right now.
struct Enclosing {
    control: Arc<Control>,
    /// An inner timeout expired and left the report to this one.
    forced: bool,
}

thread_local! {
    static ENCLOSING: RefCell<Vec<Enclosing>> = const { RefCell::new(Vec::new()) };
}

/// A `Timeout`'s place on the [`ENCLOSING`] stack while it polls its
/// future; popped on drop too, so a panicking future leaves the stack as
/// it found it.
struct Frame {
    popped: bool,
}

impl Frame {
    fn push(control: &Arc<Control>) -> Frame {
        ENCLOSING.with(|s| {
            s.borrow_mut().push(Enclosing {
                control: control.clone(),
                forced: false,
            });
        });
        Frame { popped: false }
    }

    /// Pops the frame; whether an inner timeout left its report to it.
    fn pop(mut self) -> bool {
        self.popped = true;
        ENCLOSING.with(|s| s.borrow_mut().pop().is_some_and(|e| e.forced))
    }

    /// Called by an expired timeout after popping its own frame: if an
    /// enclosing timeout has expired too (at `now`), marks the nearest such
    /// one to report, and returns `true`.
    fn defer_to_enclosing(now: Instant) -> bool {
        ENCLOSING.with(|s| {
            let mut stack = s.borrow_mut();
            for enclosing in stack.iter_mut().rev() {
                if enclosing.forced || enclosing.control.is_due(now) {
                    enclosing.forced = true;
                    return true;
                }
            }
            false
        })
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if !self.popped {
            ENCLOSING.with(|s| s.borrow_mut().pop());
        }
    }
}

/// A handle to a [`Timeout`]: asyncio's `Timeout` object (the `cm` of
/// `async with asyncio.timeout(d) as cm:`).
///
/// Get one from [`Timeout::handle`], or inside the timed code from
/// [`timeout_with`] / [`timeout_at_with`]. It is cloneable, `Send` and
/// `Sync`; a reschedule from another task or thread wakes the task that
/// awaits the `Timeout`, which then waits for the new deadline.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_timer::{sleep, timeout_with};
///
/// futures_lite::future::block_on(async {
///     // Start without a deadline; set one from inside.
///     let out = timeout_with(None, |cm| async move {
///         assert_eq!(cm.when(), None);
///         cm.reschedule(tulipa_timer::Instant::now()).unwrap();
///         sleep(Duration::from_secs(60)).await;
///     });
///     let cm = out.handle();
///     assert!(out.await.is_err());
///     assert!(cm.expired());
/// });
/// ```
#[derive(Clone)]
pub struct TimeoutHandle {
    control: Arc<Control>,
}

impl TimeoutHandle {
    /// The current deadline, or `None` if there is none (asyncio's
    /// `when()`).
    pub fn when(&self) -> Option<Instant> {
        self.control.lock().when
    }

    /// Moves the deadline to `when`, or removes it with `None` (asyncio's
    /// `reschedule()`). A deadline already past makes the timeout expire
    /// at its next poll.
    ///
    /// # Errors
    ///
    /// [`TimeoutEnded`] if the timeout already expired or finished (its
    /// future completed or was dropped): as asyncio, a timeout that ended
    /// cannot be changed.
    pub fn reschedule(&self, when: impl Into<Option<Instant>>) -> Result<(), TimeoutEnded> {
        let waker = {
            let mut state = self.control.lock();
            match state.status {
                Status::Active => {}
                Status::Expired => return Err(TimeoutEnded { expired: true }),
                Status::Finished => return Err(TimeoutEnded { expired: false }),
            }
            state.when = when.into();
            state.generation += 1;
            state.waker.clone()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Whether the deadline was reached: the timeout gave up on its future
    /// (asyncio's `expired()`). Also `true` for a timeout inside another
    /// that expired at the same time and let the outer one report.
    pub fn expired(&self) -> bool {
        self.control.lock().status == Status::Expired
    }
}

impl fmt::Debug for TimeoutHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.control.lock();
        f.debug_struct("TimeoutHandle")
            .field("when", &state.when)
            .field("status", &state.status)
            .finish()
    }
}

/// The error of [`TimeoutHandle::reschedule`] on a timeout that already
/// ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutEnded {
    expired: bool,
}

impl TimeoutEnded {
    /// Whether the timeout ended by expiring (rather than by its future
    /// completing or being dropped).
    pub fn expired(&self) -> bool {
        self.expired
    }
}

impl fmt::Display for TimeoutEnded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.expired {
            f.write_str(
                "cannot reschedule a timeout that has expired; start a new timeout to time \
                 more work",
            )
        } else {
            f.write_str(
                "cannot reschedule a timeout that has finished (its future completed or was \
                 dropped); reschedule only while the timed future runs",
            )
        }
    }
}

impl std::error::Error for TimeoutEnded {}

/// The error of a [`Timeout`] whose deadline passed first.
///
/// Prints as "deadline has elapsed".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    /// An [`ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut) error, for
    /// I/O code that uses `?` on a timeout.
    fn from(elapsed: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)
    }
}
