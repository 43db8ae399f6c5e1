//! The runtimes under test, behind one small trait.
//!
//! Each benchmark is written once, generic over [`Rt`]: spawn, spawn
//! detached, yield, sleep until a deadline. [`Flavour`] names the six
//! runtimes and [`Flavour::run`] builds one, spawns the benchmark's future
//! onto it as a task, blocks until that task finishes and tears the runtime
//! down, so every benchmark body runs *inside a spawned task*:
//!
//! | flavour | built as |
//! | --- | --- |
//! | tulipa multi | `tulipa::Runtime::builder().worker_threads(2)` |
//! | tulipa current | `tulipa::Runtime::builder().current_thread()` |
//! | tokio multi | `tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all()` |
//! | tokio current | `tokio::runtime::Builder::new_current_thread().enable_all()` |
//! | smol multi | one `smol::Executor` run by 2 threads (`smol::block_on(ex.run(..))`) |
//! | smol current | a `smol::LocalExecutor` run by the calling thread |
//!
//! In every multi flavour the calling thread only waits: two threads run
//! tasks. smol's executors live in statics (a `static` and a
//! `thread_local!`) so that a task reaches them without cloning an `Arc`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// Worker threads of every multi-thread flavour.
pub(crate) const WORKERS: usize = 2;

/// What a benchmark needs from a runtime. Implemented by zero-sized types,
/// so passing the runtime into every task costs nothing.
pub(crate) trait Rt: Copy + Send + Sync + Unpin + 'static {
    /// A spawned task's handle; awaiting it gives the task's output.
    type Join<T: Send + 'static>: Future<Output = T> + Send + 'static;
    /// The runtime's sleep future.
    type Sleep: Future + Send + 'static;

    /// Spawns `f` on the runtime this code runs on.
    fn spawn<F>(self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `f` and lets it run on without a handle.
    fn spawn_detached<F>(self, f: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Yields once to the scheduler.
    fn yield_now(self) -> impl Future<Output = ()> + Send;

    /// A sleep that ends at `deadline`.
    fn sleep_until(self, deadline: Instant) -> Self::Sleep;
}

/// A `Result`-returning join handle, unwrapped: a failed task is a bug in
/// the benchmark, so it panics.
pub(crate) struct Unwrapped<H>(H);

impl<H, T, E> Future for Unwrapped<H>
where
    H: Future<Output = Result<T, E>> + Unpin,
    E: std::fmt::Debug,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.expect("a benchmark task failed"))
    }
}

/// tulipa, either flavour: `tulipa::spawn` finds the current runtime.
#[derive(Clone, Copy)]
pub(crate) struct Tulipa;

impl Rt for Tulipa {
    type Join<T: Send + 'static> = Unwrapped<tulipa::JoinHandle<T>>;
    type Sleep = tulipa::time::Sleep;

    fn spawn<F>(self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(tulipa::spawn(f))
    }

    fn spawn_detached<F>(self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tulipa::spawn(f).detach();
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        tulipa::task::yield_now()
    }

    fn sleep_until(self, deadline: Instant) -> Self::Sleep {
        tulipa::time::sleep_until(tulipa::time::Instant::from_std(deadline))
    }
}

/// tokio, either flavour: `tokio::spawn` finds the current runtime.
#[derive(Clone, Copy)]
pub(crate) struct Tokio;

impl Rt for Tokio {
    type Join<T: Send + 'static> = Unwrapped<tokio::task::JoinHandle<T>>;
    type Sleep = tokio::time::Sleep;

    fn spawn<F>(self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrapped(tokio::spawn(f))
    }

    fn spawn_detached<F>(self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(f));
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn sleep_until(self, deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }
}

/// The executor of the smol multi flavour; threads run it per sample.
static SMOL_EX: smol::Executor<'static> = smol::Executor::new();

thread_local! {
    /// The executor of the smol current flavour, on the calling thread.
    static SMOL_LOCAL: smol::LocalExecutor<'static> = const { smol::LocalExecutor::new() };
}

/// smol's `Executor`, run by [`WORKERS`] threads.
#[derive(Clone, Copy)]
pub(crate) struct SmolMulti;

impl Rt for SmolMulti {
    type Join<T: Send + 'static> = smol::Task<T>;
    type Sleep = smol::Timer;

    fn spawn<F>(self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        SMOL_EX.spawn(f)
    }

    fn spawn_detached<F>(self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        SMOL_EX.spawn(f).detach();
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }

    fn sleep_until(self, deadline: Instant) -> Self::Sleep {
        smol::Timer::at(deadline)
    }
}

/// smol's `LocalExecutor` on the calling thread.
#[derive(Clone, Copy)]
pub(crate) struct SmolLocal;

impl Rt for SmolLocal {
    type Join<T: Send + 'static> = smol::Task<T>;
    type Sleep = smol::Timer;

    fn spawn<F>(self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        SMOL_LOCAL.with(|ex| ex.spawn(f))
    }

    fn spawn_detached<F>(self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        SMOL_LOCAL.with(|ex| ex.spawn(f).detach());
    }

    fn yield_now(self) -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }

    fn sleep_until(self, deadline: Instant) -> Self::Sleep {
        smol::Timer::at(deadline)
    }
}

/// Which library.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lib {
    Tulipa,
    Tokio,
    Smol,
}

impl Lib {
    pub(crate) const ALL: [Lib; 3] = [Lib::Tulipa, Lib::Tokio, Lib::Smol];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Lib::Tulipa => "tulipa",
            Lib::Tokio => "tokio",
            Lib::Smol => "smol",
        }
    }
}

/// Multi-thread ([`WORKERS`] threads) or current-thread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Threads {
    Multi,
    Current,
}

impl Threads {
    pub(crate) const ALL: [Threads; 2] = [Threads::Multi, Threads::Current];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Threads::Multi => "multi",
            Threads::Current => "current",
        }
    }
}

/// One of the six runtimes under test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Flavour {
    pub(crate) lib: Lib,
    pub(crate) threads: Threads,
}

/// Builds a future for any runtime: the benchmark to run inside the task.
pub(crate) trait Job: Copy + Send + 'static {
    /// What one run measures.
    type Output: Send + 'static;

    /// The future to spawn on the runtime `rt`.
    fn future<R: Rt>(self, rt: R) -> impl Future<Output = Self::Output> + Send + 'static;
}

impl Flavour {
    /// All six, multi flavours first.
    pub(crate) fn all() -> Vec<Flavour> {
        Threads::ALL
            .iter()
            .flat_map(|&threads| Lib::ALL.iter().map(move |&lib| Flavour { lib, threads }))
            .collect()
    }

    /// `tulipa-multi`, `smol-current`, ...
    pub(crate) fn name(self) -> String {
        format!("{}-{}", self.lib.name(), self.threads.name())
    }

    /// Builds this runtime, runs `job` in a task spawned on it, waits for
    /// the task, shuts the runtime down and returns the task's output.
    ///
    /// # Panics
    ///
    /// Panics if the runtime cannot be built or the task fails.
    pub(crate) fn run<J: Job>(self, job: J) -> J::Output {
        match (self.lib, self.threads) {
            (Lib::Tulipa, threads) => {
                let builder = tulipa::Runtime::builder();
                let builder = match threads {
                    Threads::Multi => builder.worker_threads(WORKERS),
                    Threads::Current => builder.current_thread(),
                };
                let rt = builder.build().expect("cannot build a tulipa runtime");
                rt.block_on(async move { tulipa::spawn(job.future(Tulipa)).await })
                    .expect("the benchmark task failed")
            }
            (Lib::Tokio, threads) => {
                let mut builder = match threads {
                    Threads::Multi => {
                        let mut b = tokio::runtime::Builder::new_multi_thread();
                        b.worker_threads(WORKERS);
                        b
                    }
                    Threads::Current => tokio::runtime::Builder::new_current_thread(),
                };
                let rt = builder
                    .enable_all()
                    .build()
                    .expect("cannot build a tokio runtime");
                rt.block_on(async move { tokio::spawn(job.future(Tokio)).await })
                    .expect("the benchmark task failed")
            }
            (Lib::Smol, Threads::Multi) => {
                let (stop, stopped) = smol::channel::bounded::<()>(1);
                let runners: Vec<_> = (0..WORKERS)
                    .map(|i| {
                        let stopped = stopped.clone();
                        std::thread::Builder::new()
                            .name(format!("smol-runner-{i}"))
                            .spawn(move || smol::block_on(SMOL_EX.run(stopped.recv())))
                            .expect("cannot start a smol runner thread")
                    })
                    .collect();
                let out = smol::block_on(SMOL_EX.spawn(job.future(SmolMulti)));
                drop(stop);
                for r in runners {
                    // The runner's future ends with `Err(RecvError)`: the
                    // channel closed, which is how it is told to stop.
                    let _closed = r.join().expect("a smol runner thread panicked");
                }
                out
            }
            (Lib::Smol, Threads::Current) => {
                SMOL_LOCAL.with(|ex| smol::block_on(ex.run(ex.spawn(job.future(SmolLocal)))))
            }
        }
    }
}
