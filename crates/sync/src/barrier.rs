//! [`Barrier`]: asyncio's `Barrier`, where `n` tasks wait for each other,
//! with asyncio's `abort` / `reset` and broken state.
//!
//! # Design
//!
//! A std mutex over `(arrived, broken, round)` and an
//! `event_listener::Event`. Each round has its own small shared cell
//! (`Round`) that says how it ended: pending, tripped, or broken. A waiter
//! keeps the cell of the round it joined, so it learns how *its* round
//! ended however many rounds ran since.
//!
//! An arrival increments `arrived` under the lock; the `n`-th one marks
//! the round tripped, starts a new round and notifies everybody: it is
//! the leader. [`Barrier::abort`] and [`Barrier::reset`] mark the current
//! round broken (its waiters get [`BrokenBarrierError`]) and start a new
//! one; `abort` also leaves the barrier broken, so later waits fail at
//! once until `reset`. The waiters registered their listener under the
//! lock before the round ended, so none can miss it.
//!
//! A waiter dropped before its round ends takes its arrival back (as
//! asyncio does for a cancelled `wait`), so the barrier still needs `n`
//! live tasks to trip.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use event_listener::EventListener;

/// A barrier for `n` tasks (asyncio's `Barrier`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tulipa_sync::Barrier;
///
/// let barrier = Arc::new(Barrier::new(3));
/// let threads: Vec<_> = (0..3)
///     .map(|_| {
///         let b = barrier.clone();
///         std::thread::spawn(move || futures_lite::future::block_on(b.wait()))
///     })
///     .collect();
/// let results: Vec<_> = threads
///     .into_iter()
///     .map(|t| t.join().unwrap().unwrap())
///     .collect();
/// assert_eq!(results.iter().filter(|r| r.is_leader()).count(), 1);
/// let mut indices: Vec<_> = results.iter().map(|r| r.index()).collect();
/// indices.sort();
/// assert_eq!(indices, [0, 1, 2]);
///
/// // asyncio's `abort()`: every wait fails until `reset()`.
/// barrier.abort();
/// assert!(futures_lite::future::block_on(barrier.wait()).is_err());
/// barrier.reset();
/// assert!(!barrier.is_broken());
/// ```
pub struct Barrier {
    parties: usize,
    state: Mutex<State>,
    event: event_listener::Event,
}

struct State {
    arrived: usize,
    /// Set by `abort`, cleared by `reset`.
    broken: bool,
    /// The round now filling.
    round: Arc<Round>,
}

/// How one round ended: [`PENDING`] until it trips or breaks.
struct Round(AtomicU8);

const PENDING: u8 = 0;
const TRIPPED: u8 = 1;
const BROKEN: u8 = 2;

impl Round {
    fn new() -> Arc<Round> {
        Arc::new(Round(AtomicU8::new(PENDING)))
    }

    fn outcome(&self) -> u8 {
        self.0.load(Ordering::Acquire)
    }
}

impl State {
    /// Ends the filling round with `outcome` and starts a new one. The
    /// caller notifies the waiters after releasing the lock.
    fn end_round(&mut self, outcome: u8) {
        self.round.0.store(outcome, Ordering::Release);
        self.round = Round::new();
        self.arrived = 0;
    }
}

impl Barrier {
    /// A barrier that trips when `parties` tasks are waiting.
    ///
    /// # Panics
    ///
    /// Panics if `parties` is 0 (asyncio raises `ValueError`).
    pub fn new(parties: usize) -> Barrier {
        assert!(parties > 0, "a barrier needs at least 1 party, not 0");
        Barrier {
            parties,
            state: Mutex::new(State {
                arrived: 0,
                broken: false,
                round: Round::new(),
            }),
            event: event_listener::Event::new(),
        }
    }

    /// How many tasks trip the barrier.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many tasks are waiting now (asyncio's `n_waiting`).
    pub fn n_waiting(&self) -> usize {
        self.lock().arrived
    }

    /// Whether the barrier is broken (asyncio's `broken`): after
    /// [`abort`](Barrier::abort), until [`reset`](Barrier::reset).
    pub fn is_broken(&self) -> bool {
        self.lock().broken
    }

    /// Waits until `parties` tasks wait; the last to arrive trips the
    /// barrier and is its leader. The barrier then starts a new round.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] if the barrier is broken when the wait
    /// starts, or is aborted or reset while it waits (asyncio's
    /// `BrokenBarrierError`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a waiter dropped before its round ends withdraws its
    /// arrival. Once the round ended (even if not yet polled again), the
    /// waiter's result is simply dropped.
    #[track_caller]
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            joined: None,
            listener: None,
            done: false,
            location: std::panic::Location::caller(),
        }
    }

    /// Breaks the barrier (asyncio's `abort`): every task waiting now gets
    /// [`BrokenBarrierError`], and so does every later
    /// [`wait`](Barrier::wait) until [`reset`](Barrier::reset). Use it when
    /// a party cannot come, so the others do not wait forever.
    pub fn abort(&self) {
        let mut state = self.lock();
        state.broken = true;
        state.end_round(BROKEN);
        drop(state);
        self.event.notify(usize::MAX);
    }

    /// Returns the barrier to its empty, working state (asyncio's
    /// `reset`): every task waiting now gets [`BrokenBarrierError`], a
    /// broken barrier is mended, and later waits start a new round.
    pub fn reset(&self) {
        let mut state = self.lock();
        state.broken = false;
        if state.arrived > 0 {
            state.end_round(BROKEN);
            drop(state);
            self.event.notify(usize::MAX);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics under this lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.is_broken())
            .finish()
    }
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    index: usize,
    leader: bool,
}

impl BarrierWaitResult {
    /// The arrival index, from 0 to `parties - 1` (asyncio's return
    /// value): different for every task of one round, unless a waiter of
    /// that round was cancelled and gave its index back.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether this task tripped the barrier (the last to arrive); exactly
    /// one task per round is the leader.
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

/// The future of [`Barrier::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    /// (round joined, arrival index) once arrived.
    joined: Option<(Arc<Round>, usize)>,
    listener: Option<EventListener>,
    /// Returned `Ready`: polling again must not arrive a second time.
    done: bool,
    /// The caller of `wait`: the task's await point while it waits.
    location: &'static std::panic::Location<'static>,
}

impl Future for BarrierWait<'_> {
    type Output = Result<BarrierWaitResult, BrokenBarrierError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "BarrierWait polled after it returned Ready");
        let barrier = this.barrier;
        if this.joined.is_none() {
            let mut state = barrier.lock();
            if state.broken {
                this.done = true;
                return Poll::Ready(Err(BrokenBarrierError(())));
            }
            let index = state.arrived;
            state.arrived += 1;
            if state.arrived == barrier.parties {
                state.end_round(TRIPPED);
                drop(state);
                barrier.event.notify(usize::MAX);
                // `joined` stays None: nothing to withdraw on drop.
                this.done = true;
                return Poll::Ready(Ok(BarrierWaitResult {
                    index,
                    leader: true,
                }));
            }
            this.listener = Some(barrier.event.listen());
            this.joined = Some((state.round.clone(), index));
        }
        let (round, index) = this.joined.as_ref().expect("joined above");
        let index = *index;
        loop {
            let result = match round.outcome() {
                PENDING => None,
                TRIPPED => Some(Ok(BarrierWaitResult {
                    index,
                    leader: false,
                })),
                _ => Some(Err(BrokenBarrierError(()))),
            };
            if let Some(result) = result {
                this.joined = None;
                this.listener = None;
                this.done = true;
                return Poll::Ready(result);
            }
            match &mut this.listener {
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        tulipa_core::await_point::set(this.location);
                        return Poll::Pending;
                    }
                    this.listener = None;
                }
                None => this.listener = Some(barrier.event.listen()),
            }
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some((round, _)) = &self.joined {
            let mut state = self.barrier.lock();
            // The round's outcome changes only under this lock.
            if round.outcome() == PENDING {
                debug_assert!(Arc::ptr_eq(round, &state.round));
                state.arrived -= 1;
            }
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("arrived", &self.joined.is_some())
            .finish()
    }
}

/// The barrier was broken by [`Barrier::abort`] or [`Barrier::reset`]
/// (asyncio's `BrokenBarrierError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenBarrierError(());

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "barrier broken: Barrier::abort or Barrier::reset ended the wait; call reset() \
             before using an aborted barrier again",
        )
    }
}

impl std::error::Error for BrokenBarrierError {}
