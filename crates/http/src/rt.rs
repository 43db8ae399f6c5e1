//! The runtime bridge: hyper's [`Executor`](hyper::rt::Executor) and [`Timer`](hyper::rt::Timer) on tulipa.
//!
//! hyper is runtime-agnostic: it spawns background futures (an HTTP/2
//! connection's streams, a client connection's driver) through an
//! [`Executor`](hyper::rt::Executor), and arms its own timeouts (header read, keep-alive, pool
//! idle) through a [`Timer`](hyper::rt::Timer). Both are implemented here on tulipa's pieces,
//! without knowing tulipa's executor:
//!
//! - [`TulipaExecutor`] spawns through the spawn hook of `tulipa-core`
//!   ([`tulipa_core::spawn`]): on the runtime current where hyper spawns,
//!   or else the one current when the executor was made. With no runtime
//!   at all (a bare `block_on` on a plain thread) the future gets a thread
//!   of its own, so no connection is dropped on the floor.
//! - [`TulipaTimer`] arms [`tulipa_timer::Sleep`]s on the timer current
//!   where hyper asks (else the one current when it was made), and reads
//!   "now" from that timer's clock. Under a paused runtime
//!   (`Builder::start_paused`) hyper's timeouts therefore run in virtual
//!   time, and `tulipa::time::advance` fires them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tulipa_core::spawn::Spawn;
use tulipa_timer::TimerHandle;

/// hyper's [`Executor`](hyper::rt::Executor) on the current tulipa runtime.
///
/// # Examples
///
/// ```
/// use tulipa_http::rt::TulipaExecutor;
///
/// tulipa::run(async {
///     let (tx, rx) = tulipa::channel::oneshot::channel();
///     hyper::rt::Executor::execute(&TulipaExecutor::new(), async move {
///         tx.send(42).unwrap();
///     });
///     assert_eq!(rx.await.unwrap(), 42);
/// });
/// ```
#[derive(Clone, Default)]
pub struct TulipaExecutor {
    spawner: Option<Arc<dyn Spawn>>,
}

impl TulipaExecutor {
    /// An executor that spawns on the runtime current wherever hyper
    /// spawns, or, on a thread with none, on the runtime current here.
    pub fn new() -> TulipaExecutor {
        TulipaExecutor {
            spawner: tulipa_core::spawn::current(),
        }
    }

    /// An executor that spawns through `spawner` on threads with no
    /// runtime of their own.
    pub fn with_spawner(spawner: Arc<dyn Spawn>) -> TulipaExecutor {
        TulipaExecutor {
            spawner: Some(spawner),
        }
    }

    /// Runs `future` in the background; see [`hyper::rt::Executor`].
    ///
    /// When the runtime refuses new work (it is shutting down) the future
    /// is dropped: the connection it drives ends, and its peer sees the
    /// connection close. With no runtime at all, it runs on a new thread.
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // The runtime of the thread hyper spawns from comes first: a client
        // made in one runtime and used in another spawns where it is used.
        let spawner = tulipa_core::spawn::current().or_else(|| self.spawner.clone());
        match spawner {
            Some(spawner) => {
                // A runtime shutting down drops its tasks anyway; the
                // future's own drop ends the connection it drives.
                let _ = spawner.spawn_detached(Box::pin(future));
            }
            None => {
                let spawned = std::thread::Builder::new()
                    .name("tulipa-http".into())
                    .spawn(move || futures_lite::future::block_on(future));
                if let Err(e) = spawned {
                    eprintln!("tulipa-http: could not start a thread for background work: {e}");
                }
            }
        }
    }
}

impl<F> hyper::rt::Executor<F> for TulipaExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        self.spawn(async move {
            future.await;
        });
    }
}

impl std::fmt::Debug for TulipaExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TulipaExecutor")
            .field("bound", &self.spawner.is_some())
            .finish()
    }
}

/// hyper's [`Timer`](hyper::rt::Timer) on a tulipa timer (virtual time
/// included).
#[derive(Clone, Debug)]
pub struct TulipaTimer {
    /// The timer used where no timer is current.
    fallback: TimerHandle,
}

impl TulipaTimer {
    /// A timer on the tulipa timer current wherever hyper arms one (the
    /// runtime's), or else on the one current here (the runtime's, or the
    /// global timer).
    pub fn new() -> TulipaTimer {
        TulipaTimer {
            fallback: TimerHandle::current(),
        }
    }

    /// A timer on `handle` wherever no timer is current.
    pub fn with_handle(handle: TimerHandle) -> TulipaTimer {
        TulipaTimer { fallback: handle }
    }

    fn handle(&self) -> TimerHandle {
        TimerHandle::try_current().unwrap_or_else(|| self.fallback.clone())
    }
}

impl Default for TulipaTimer {
    fn default() -> Self {
        TulipaTimer::new()
    }
}

impl hyper::rt::Timer for TulipaTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(self.handle().sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(
            self.handle()
                .sleep_until(tulipa_timer::Instant::from_std(deadline)),
        ))
    }

    fn now(&self) -> Instant {
        self.handle().now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        let deadline = tulipa_timer::Instant::from_std(new_deadline);
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(mut ours) => ours.0.reset(deadline),
            None => *sleep = Box::pin(HyperSleep(self.handle().sleep_until(deadline))),
        }
    }
}

/// A [`tulipa_timer::Sleep`] as a [`hyper::rt::Sleep`].
struct HyperSleep(tulipa_timer::Sleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}
