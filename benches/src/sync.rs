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
//! Every lock lives on the heap (a `Box` in the uncontended shapes, an
//! `Arc` in the contended ones), as a shared lock does in real code. A
//! lock kept as a local of the benchmark task lives inside the task's own
//! allocation instead, and there every library's atomics ran about 2x
//! slower on tulipa's runtime than on smol's (an executor layout effect,
//! reported to the executor, not a property of the locks).
//!
//! Policies differ, which shows under contention. tulipa's defaults
//! (`Mutex::new`, `Semaphore::new`) and tokio's locks hand a released lock
//! or permit to the oldest waiter (FIFO, asyncio's order): the
//! `mutex_contended` and `sem_contended` rows. async-lock lets a running
//! task take it before the woken waiter (barging; it hands the lock to a
//! waiter that waited 0.5 ms), and so do tulipa's opt-in unfair locks
//! (`Mutex::new_unfair`, `Semaphore::new_unfair`; they hand it to a waiter
//! that lost twice): the `*_unfair` rows, where tulipa uses those and
//! tokio and smol run the same locks as in the fair rows (each has only
//! one policy).

use std::any::TypeId;
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
    /// As `MutexContended`, with tulipa's barging `Mutex::new_unfair`.
    MutexContendedUnfair,
    /// One task acquires and releases a permit.
    SemUncontended,
    /// [`TASKS`] tasks share [`PERMITS`] permits, yielding while they hold
    /// one, so they queue.
    SemContended,
    /// As `SemContended`, with tulipa's barging `Semaphore::new_unfair`.
    SemContendedUnfair,
}

impl Shape {
    /// The shape the benchmark body runs (the unfair rows run the fair
    /// bodies with other constructors).
    fn body(self) -> Shape {
        match self {
            Shape::MutexContendedUnfair => Shape::MutexContended,
            Shape::SemContendedUnfair => Shape::SemContended,
            other => other,
        }
    }
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
        Shape::MutexContended | Shape::MutexContendedUnfair => 250_000,
        Shape::SemContended | Shape::SemContendedUnfair => 50_000,
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
            format!("mutex_uncontended: one task does {n} times `*mutex.lock().await += 1` (mutex boxed)")
        }
        Shape::MutexContended => format!(
            "mutex_contended: {TASKS} tasks each do {n} times `*mutex.lock().await += 1` on one \
             mutex, in parallel on the workers"
        ),
        Shape::SemUncontended => format!(
            "sem_uncontended: one task acquires and drops a permit of a boxed 4-permit semaphore {n} times"
        ),
        Shape::SemContended => format!(
            "sem_contended: {TASKS} tasks share a {PERMITS}-permit semaphore; each {n} times \
             acquires a permit, yields once holding it, and drops it"
        ),
        Shape::MutexContendedUnfair => format!(
            "mutex_contended_unfair: as mutex_contended ({n} per task), tulipa's mutex built with \
             Mutex::new_unfair (barging); tokio and smol as in mutex_contended"
        ),
        Shape::SemContendedUnfair => format!(
            "sem_contended_unfair: as sem_contended ({n} per task), tulipa's semaphore built with \
             Semaphore::new_unfair (barging); tokio and smol as in sem_contended"
        ),
    }
}

/// One benchmark body, written once and expanded per library with
/// concrete types (a trait with borrowing async methods runs into rustc's
/// "higher-ranked lifetime" limitation when the spawned futures must be
/// `Send`). `$new_mutex` and `$new_sem` build the locks; `$($ok)*`
/// unwraps an acquire result where the library returns one.
macro_rules! body {
    ($rt:expr, $shape:expr, $n:expr, $new_mutex:path, $new_sem:path, $($ok:tt)*) => {{
        let rt = $rt;
        let n: usize = $n;
        match $shape.body() {
            Shape::MutexUncontended => {
                let m = Box::new($new_mutex(0u64));
                for _ in 0..n {
                    *m.lock().await += 1;
                }
                assert_eq!(black_box(*m.lock().await), n as u64);
            }
            Shape::MutexContended => {
                let m = Arc::new($new_mutex(0u64));
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let m = m.clone();
                        rt.spawn(async move {
                            for _ in 0..n {
                                *m.lock().await += 1;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await;
                }
                assert_eq!(*m.lock().await, (n * TASKS) as u64);
            }
            Shape::MutexContendedUnfair | Shape::SemContendedUnfair => {
                unreachable!("Shape::body maps the unfair shapes to the fair bodies")
            }
            Shape::SemUncontended => {
                let s = Box::new($new_sem(4));
                for _ in 0..n {
                    let permit = s.acquire().await $($ok)*;
                    drop(black_box(permit));
                }
            }
            Shape::SemContended => {
                let s = Arc::new($new_sem(PERMITS));
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let s = s.clone();
                        rt.spawn(async move {
                            for _ in 0..n {
                                let permit = s.acquire().await $($ok)*;
                                rt.yield_now().await;
                                drop(permit);
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await;
                }
            }
        }
    }};
}

/// Runs `shape` on runtime `rt` with the lock library [`Lib::of`] picks.
pub(crate) async fn run<R: Rt>(rt: R, shape: Shape, size: Size) -> Sample {
    let n = ops(shape, size);
    let start = Instant::now();
    let unfair = matches!(
        shape,
        Shape::MutexContendedUnfair | Shape::SemContendedUnfair
    );
    match Lib::of::<R>() {
        Lib::Tulipa if unfair => body!(
            rt,
            shape,
            n,
            tulipa::sync::Mutex::new_unfair,
            tulipa::sync::Semaphore::new_unfair,
            .expect("never closed")
        ),
        Lib::Tulipa => body!(
            rt,
            shape,
            n,
            tulipa::sync::Mutex::new,
            tulipa::sync::Semaphore::new,
            .expect("never closed")
        ),
        Lib::Tokio => body!(
            rt,
            shape,
            n,
            tokio::sync::Mutex::new,
            tokio::sync::Semaphore::new,
            .expect("never closed")
        ),
        Lib::Smol => body!(
            rt,
            shape,
            n,
            smol::lock::Mutex::new,
            smol::lock::Semaphore::new,
        ),
    }
    Sample::one(start.elapsed())
}
