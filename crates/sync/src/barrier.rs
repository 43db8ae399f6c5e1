//! [`Barrier`]: asyncio's `Barrier`, where `n` tasks wait for each other.
//!
//! # Design
//!
//! A std mutex over `(arrived, generation)`, the generation mirrored in an
//! atomic for lock-free checks, and an `event_listener::Event`. An arrival
//! increments `arrived` under the lock; the `n`-th one resets it, bumps the
//! generation and notifies everybody: it is the leader. The others
//! registered their listener under the lock before the bump, so none can
//! miss it, and they wake when the generation they joined has passed.
//!
//! A waiter dropped before its generation trips takes its arrival back (as
//! asyncio does for a cancelled `wait`), so the barrier still needs `n`
//! live tasks to trip.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
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
/// let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
/// assert_eq!(results.iter().filter(|r| r.is_leader()).count(), 1);
/// let mut indices: Vec<_> = results.iter().map(|r| r.index()).collect();
/// indices.sort();
/// assert_eq!(indices, [0, 1, 2]);
/// ```
pub struct Barrier {
    parties: usize,
    state: Mutex<State>,
    generation: AtomicUsize,
    event: event_listener::Event,
}

struct State {
    arrived: usize,
    generation: usize,
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
                generation: 0,
            }),
            generation: AtomicUsize::new(0),
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

    /// Waits until `parties` tasks wait; the last to arrive trips the
    /// barrier and is its leader. The barrier then resets for reuse.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a waiter dropped before the barrier trips withdraws
    /// its arrival. Once tripped (even if not yet polled again), the
    /// waiter's result is simply dropped.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            joined: None,
            listener: None,
            done: false,
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
    /// (generation joined, arrival index) once arrived.
    joined: Option<(usize, usize)>,
    listener: Option<EventListener>,
    /// Returned `Ready`: polling again must not arrive a second time.
    done: bool,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        assert!(!this.done, "BarrierWait polled after it returned Ready");
        let barrier = this.barrier;
        let (generation, index) = match this.joined {
            Some(joined) => joined,
            None => {
                let mut state = barrier.lock();
                let index = state.arrived;
                state.arrived += 1;
                if state.arrived == barrier.parties {
                    state.arrived = 0;
                    state.generation = state.generation.wrapping_add(1);
                    barrier
                        .generation
                        .store(state.generation, Ordering::Release);
                    drop(state);
                    barrier.event.notify(usize::MAX);
                    // `joined` stays None: nothing to withdraw on drop.
                    this.done = true;
                    return Poll::Ready(BarrierWaitResult {
                        index,
                        leader: true,
                    });
                }
                this.listener = Some(barrier.event.listen());
                this.joined = Some((state.generation, index));
                (state.generation, index)
            }
        };
        loop {
            if barrier.generation.load(Ordering::Acquire) != generation {
                this.joined = None;
                this.listener = None;
                this.done = true;
                return Poll::Ready(BarrierWaitResult {
                    index,
                    leader: false,
                });
            }
            match &mut this.listener {
                Some(listener) => {
                    std::task::ready!(Pin::new(listener).poll(cx));
                    this.listener = None;
                }
                None => this.listener = Some(barrier.event.listen()),
            }
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some((generation, _)) = self.joined {
            let mut state = self.barrier.lock();
            if state.generation == generation {
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
