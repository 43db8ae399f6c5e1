//! Lock benchmarks: `Mutex` lock/unlock and `Semaphore` acquire/release,
//! uncontended (one task) and contended (many tasks on the runtime's
//! workers). tulipa (`tulipa::sync`) against tokio (`tokio::sync`) and
//! smol (`smol::lock`, which is async-lock).
//!
//! By default each runtime uses its own family's locks ([`Lib::of`]
//! recognises the runtime by its type, as the channel benchmarks do), so a
//! column is a whole stack. Set `TULIPA_BENCH_SYNC=tulipa`, `tokio` or
//! `smol` to put one lock library on every runtime and compare the locks
//! alone.
//!
//! Policies differ, which shows under contention: tulipa and tokio hand a
//! released lock to the oldest waiter (FIFO); async-lock lets a running
//! task take it again first (barging, with a starvation guard after
//! 0.5 ms).

use std::any::TypeId;
use std::future::Future;
use std::hint::black_box;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::benches::{grouped, Sample, Size};
use crate::rt::{Rt, SmolLocal, SmolMulti, Tokio, Tulipa};

/// Which lock library a run uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lib {
    Tulipa,
    Tokio,
    Smol,
}

impl Lib {
    /// The runtime's own family, unless `TULIPA_BENCH_SYNC` names one.
    fn of<R: Rt>() -> Lib {
        static FORCED: OnceLock<Option<Lib>> = OnceLock::new();
        let forced = *FORCED.get_or_init(|| {
            let name = std::env::var("TULIPA_BENCH_SYNC").ok()?;
            match name.as_str() {
                "tulipa" => Some(Lib::Tulipa),
                "tokio" => Some(Lib::Tokio),
                "smol" => Some(Lib::Smol),
                other => panic!("TULIPA_BENCH_SYNC={other}: expected tulipa, tokio or smol"),
            }
        });
        if let Some(lib) = forced {
            return lib;
        }
        let t = TypeId::of::<R>();
        if t == TypeId::of::<Tulipa>() {
            Lib::Tulipa
        } else if t == TypeId::of::<Tokio>() {
            Lib::Tokio
        } else if t == TypeId::of::<SmolMulti>() || t == TypeId::of::<SmolLocal>() {
            Lib::Smol
        } else {
            unreachable!("a runtime without locks in the benchmarks")
        }
    }
}

/// The lock benchmarks, for [`describe`] and [`run`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    /// One task locks and unlocks a mutex.
    MutexUncontended,
    /// [`TASKS`] tasks lock and unlock one mutex.
    MutexContended,
    /// One task acquires and releases a permit.
    SemUncontended,
    /// [`TASKS`] tasks share [`PERMITS`] permits, yielding while they hold
    /// one, so they queue.
    SemContended,
}

/// Tasks of the contended shapes.
const TASKS: usize = 8;
/// Permits of the contended semaphore.
const PERMITS: usize = 2;

/// Operations: (total for the uncontended shapes, per task for the
/// contended ones).
fn ops(shape: Shape, size: Size) -> usize {
    let n = match shape {
        Shape::MutexUncontended | Shape::SemUncontended => 2_000_000,
        Shape::MutexContended => 250_000,
        Shape::SemContended => 50_000,
    };
    if size.quick {
        n / 10
    } else {
        n
    }
}

/// One line saying what is measured, for the report.
pub(crate) fn describe(shape: Shape, size: Size) -> String {
    let n = grouped(ops(shape, size));
    match shape {
        Shape::MutexUncontended => {
            format!("mutex_uncontended: one task does {n} times `*mutex.lock().await += 1`")
        }
        Shape::MutexContended => format!(
            "mutex_contended: {TASKS} tasks each do {n} times `*mutex.lock().await += 1` on one \
             mutex, in parallel on the workers"
        ),
        Shape::SemUncontended => format!(
            "sem_uncontended: one task acquires and drops a permit of a 4-permit semaphore {n} times"
        ),
        Shape::SemContended => format!(
            "sem_contended: {TASKS} tasks share a {PERMITS}-permit semaphore; each {n} times \
             acquires a permit, yields once holding it, and drops it"
        ),
    }
}

/// What a benchmark needs from a lock library.
trait Locks: 'static {
    type Mutex: Send + Sync + 'static;
    type Sem: Send + Sync + 'static;

    fn mutex() -> Self::Mutex;
    /// Locks, adds one, unlocks.
    fn bump(m: &Self::Mutex) -> impl Future<Output = ()> + Send + '_;
    fn read(m: &Self::Mutex) -> impl Future<Output = u64> + Send + '_;

    fn sem(permits: usize) -> Self::Sem;
    /// Acquires a permit, awaits `hold` while holding it, drops it.
    fn with_permit<'a, F>(s: &'a Self::Sem, hold: F) -> impl Future<Output = ()> + Send + 'a
    where
        F: Future<Output = ()> + Send + 'a;
}

struct TulipaLocks;

impl Locks for TulipaLocks {
    type Mutex = tulipa::sync::Mutex<u64>;
    type Sem = tulipa::sync::Semaphore;

    fn mutex() -> Self::Mutex {
        tulipa::sync::Mutex::new(0)
    }

    async fn bump(m: &Self::Mutex) {
        *m.lock().await += 1;
    }

    async fn read(m: &Self::Mutex) -> u64 {
        *m.lock().await
    }

    fn sem(permits: usize) -> Self::Sem {
        tulipa::sync::Semaphore::new(permits)
    }

    async fn with_permit<'a, F>(s: &'a Self::Sem, hold: F)
    where
        F: Future<Output = ()> + Send + 'a,
    {
        let _permit = s.acquire().await.expect("never closed");
        hold.await;
    }
}

struct TokioLocks;

impl Locks for TokioLocks {
    type Mutex = tokio::sync::Mutex<u64>;
    type Sem = tokio::sync::Semaphore;

    fn mutex() -> Self::Mutex {
        tokio::sync::Mutex::new(0)
    }

    async fn bump(m: &Self::Mutex) {
        *m.lock().await += 1;
    }

    async fn read(m: &Self::Mutex) -> u64 {
        *m.lock().await
    }

    fn sem(permits: usize) -> Self::Sem {
        tokio::sync::Semaphore::new(permits)
    }

    async fn with_permit<'a, F>(s: &'a Self::Sem, hold: F)
    where
        F: Future<Output = ()> + Send + 'a,
    {
        let _permit = s.acquire().await.expect("never closed");
        hold.await;
    }
}

struct SmolLocks;

impl Locks for SmolLocks {
    type Mutex = smol::lock::Mutex<u64>;
    type Sem = smol::lock::Semaphore;

    fn mutex() -> Self::Mutex {
        smol::lock::Mutex::new(0)
    }

    async fn bump(m: &Self::Mutex) {
        *m.lock().await += 1;
    }

    async fn read(m: &Self::Mutex) -> u64 {
        *m.lock().await
    }

    fn sem(permits: usize) -> Self::Sem {
        smol::lock::Semaphore::new(permits)
    }

    async fn with_permit<'a, F>(s: &'a Self::Sem, hold: F)
    where
        F: Future<Output = ()> + Send + 'a,
    {
        let _permit = s.acquire().await;
        hold.await;
    }
}

/// Runs `shape` on runtime `rt` with the lock library [`Lib::of`] picks.
pub(crate) async fn run<R: Rt>(rt: R, shape: Shape, size: Size) -> Sample {
    match Lib::of::<R>() {
        Lib::Tulipa => run_with::<R, TulipaLocks>(rt, shape, size).await,
        Lib::Tokio => run_with::<R, TokioLocks>(rt, shape, size).await,
        Lib::Smol => run_with::<R, SmolLocks>(rt, shape, size).await,
    }
}

async fn run_with<R: Rt, L: Locks>(rt: R, shape: Shape, size: Size) -> Sample {
    let n = ops(shape, size);
    let start = Instant::now();
    match shape {
        Shape::MutexUncontended => {
            let m = L::mutex();
            for _ in 0..n {
                L::bump(&m).await;
            }
            assert_eq!(black_box(L::read(&m).await), n as u64);
        }
        Shape::MutexContended => {
            let m = Arc::new(L::mutex());
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let m = m.clone();
                    rt.spawn(async move {
                        for _ in 0..n {
                            L::bump(&m).await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await;
            }
            assert_eq!(L::read(&m).await, (n * TASKS) as u64);
        }
        Shape::SemUncontended => {
            let s = L::sem(4);
            for _ in 0..n {
                L::with_permit(&s, async {}).await;
            }
        }
        Shape::SemContended => {
            let s = Arc::new(L::sem(PERMITS));
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let s = s.clone();
                    rt.spawn(async move {
                        for _ in 0..n {
                            L::with_permit(&s, rt.yield_now()).await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await;
            }
        }
    }
    Sample::one(start.elapsed())
}
