//! Blocking-pool benchmarks: `spawn_blocking` throughput and `unblock`
//! round-trip latency, tulipa (`tulipa::blocking`) against tokio
//! (`tokio::task::spawn_blocking`) and smol (`smol::unblock`, the
//! `blocking` crate).
//!
//! The [`Rt`] trait knows nothing of blocking pools, so the runtime under
//! test is recognised by its type ([`Pool::of`]) and the matching pool
//! call is made; the join handles are wrapped in one enum ([`Join`]), so
//! no runtime pays for a box the others do not.

use std::any::TypeId;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::benches::{grouped, Sample, Size};
use crate::rt::{Rt, SmolLocal, SmolMulti, Tokio, Tulipa};

/// Which blocking pool goes with the runtime under test.
#[derive(Clone, Copy)]
enum Pool {
    Tulipa,
    Tokio,
    Smol,
}

impl Pool {
    fn of<R: Rt>() -> Pool {
        let t = TypeId::of::<R>();
        if t == TypeId::of::<Tulipa>() {
            Pool::Tulipa
        } else if t == TypeId::of::<Tokio>() {
            Pool::Tokio
        } else if t == TypeId::of::<SmolMulti>() || t == TypeId::of::<SmolLocal>() {
            Pool::Smol
        } else {
            unreachable!("a runtime without a blocking pool in the benchmarks")
        }
    }

    /// Runs `f` on this pool.
    fn spawn<F, T>(self, f: F) -> Join<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Pool::Tulipa => Join::Tulipa(tulipa::blocking::spawn_blocking(f)),
            Pool::Tokio => Join::Tokio(tokio::task::spawn_blocking(f)),
            Pool::Smol => Join::Smol(smol::unblock(f)),
        }
    }
}

/// A blocking job's handle, for any of the three pools.
enum Join<T> {
    Tulipa(tulipa::blocking::JoinHandle<T>),
    Tokio(tokio::task::JoinHandle<T>),
    Smol(smol::Task<T>),
}

impl<T> Future for Join<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.get_mut() {
            Join::Tulipa(h) => Pin::new(h)
                .poll(cx)
                .map(|r| r.expect("a blocking job failed")),
            Join::Tokio(h) => Pin::new(h)
                .poll(cx)
                .map(|r| r.expect("a blocking job failed")),
            Join::Smol(t) => Pin::new(t).poll(cx),
        }
    }
}

/// `spawn_blocking`: jobs spawned in one go.
pub(crate) fn spawn_blocking_jobs(size: Size) -> usize {
    if size.quick {
        1_000
    } else {
        10_000
    }
}

/// `unblock_latency`: sequential round trips.
pub(crate) fn unblock_trips(size: Size) -> usize {
    if size.quick {
        1_000
    } else {
        10_000
    }
}

/// The report line of `spawn_blocking`.
pub(crate) fn describe_spawn_blocking(size: Size) -> String {
    format!(
        "spawn_blocking: spawn {} trivial blocking jobs (tulipa::blocking::spawn_blocking, \
         tokio::task::spawn_blocking, smol::unblock), then await every handle",
        grouped(spawn_blocking_jobs(size))
    )
}

/// The report line of `unblock_latency`.
pub(crate) fn describe_unblock_latency(size: Size) -> String {
    format!(
        "unblock_latency: {} sequential round trips, each runs a trivial closure on the \
         blocking pool and awaits it (one thread hop there and back)",
        grouped(unblock_trips(size))
    )
}

/// Spawns `n` trivial jobs, then awaits them all.
pub(crate) async fn spawn_blocking<R: Rt>(_rt: R, n: usize) -> Sample {
    let pool = Pool::of::<R>();
    let start = Instant::now();
    let handles: Vec<Join<usize>> = (0..n).map(|i| pool.spawn(move || black_box(i))).collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await;
    }
    let elapsed = start.elapsed();
    assert_eq!(black_box(sum), n * n.saturating_sub(1) / 2);
    Sample::one(elapsed)
}

/// `n` sequential round trips to the pool.
pub(crate) async fn unblock_latency<R: Rt>(_rt: R, n: usize) -> Sample {
    let pool = Pool::of::<R>();
    let start = Instant::now();
    let mut sum = 0;
    for i in 0..n {
        sum += pool.spawn(move || black_box(i)).await;
    }
    let elapsed = start.elapsed();
    assert_eq!(black_box(sum), n * n.saturating_sub(1) / 2);
    Sample::one(elapsed)
}
