//! The task toolkit: `gather` over many futures, and a group of many tasks.
//!
//! - `gather_10k`: 10,000 small futures (each yields once, then returns its
//!   index), run to completion three ways inside a task of every runtime:
//!   `gather`: tulipa's `future::gather` (per-future wakers; it is a plain
//!   future, so it runs on tokio and smol too); `naive`: a join-all that
//!   polls every unfinished future on every wake-up (the futures-lite `zip`
//!   / small-`join_all` strategy), to show what per-future wakers save;
//!   `spawn`: one task per future, awaited in order (what tokio's `JoinSet`
//!   or smol's spawn-and-await would do). Then the same for "staggered"
//!   completions: 2,000 futures each wait on a oneshot that a feeder task
//!   fires one at a time (yielding between sends), the case where a
//!   poll-everything join costs O(N²) polls: `gather stag.` vs
//!   `naive stag.`.
//! - `group_10k`: spawn 10,000 tasks (each yields once) into a group and
//!   join them all, results in spawn order: tulipa's `TaskGroup`, tokio's
//!   `JoinSet` (results put back in spawn order), smol's `Vec<Task>` awaited
//!   one by one.

use std::any::TypeId;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::benches::{grouped, Sample, Size};
use crate::rt::{Rt, SmolLocal, SmolMulti, Tokio, Tulipa};

fn count(size: Size) -> usize {
    if size.quick {
        1_000
    } else {
        10_000
    }
}

/// One line for `gather_10k`.
pub(crate) fn describe_gather(size: Size) -> String {
    format!(
        "gather_10k: {} futures that yield once, inside one task: gather = \
         tulipa::future::gather (per-future wakers), naive = poll every unfinished future on \
         every wake, spawn = one task each, awaited in order; stag. = {} futures woken one \
         at a time by a feeder task",
        grouped(count(size)),
        grouped(count(size) / 5)
    )
}

/// One line for `group_10k`.
pub(crate) fn describe_group(size: Size) -> String {
    format!(
        "group_10k: spawn {} tasks that yield once into a group and join them in spawn order \
         (tulipa TaskGroup, tokio JoinSet, smol Vec<Task>)",
        grouped(count(size))
    )
}

/// A future that yields once through the runtime, then returns `i`.
async fn small<R: Rt>(rt: R, i: usize) -> usize {
    rt.yield_now().await;
    i
}

/// `gather_10k`: three figures, see the module docs.
pub(crate) fn run_gather<R: Rt>(rt: R, size: Size) -> Pin<Box<dyn Future<Output = Sample> + Send>> {
    let n = count(size);
    Box::pin(async move {
        let start = Instant::now();
        let out = tulipa::future::gather((0..n).map(|i| small(rt, i))).await;
        let gather = start.elapsed();
        check(&out);

        let start = Instant::now();
        let out = NaiveJoinAll::new((0..n).map(|i| Box::pin(small(rt, i))).collect()).await;
        let naive = start.elapsed();
        check(&out);

        let start = Instant::now();
        let handles: Vec<_> = (0..n).map(|i| rt.spawn(small(rt, i))).collect();
        let mut out = Vec::with_capacity(n);
        for h in handles {
            out.push(h.await);
        }
        let spawn = start.elapsed();
        check(&out);

        let m = n / 5;
        let (txs, rxs) = channels(m);
        let start = Instant::now();
        rt.spawn_detached(feed(rt, txs));
        let out = tulipa::future::gather(
            rxs.into_iter()
                .map(|rx| async move { rx.await.expect("the feeder sends every value") }),
        )
        .await;
        let gather_stag = start.elapsed();
        check(&out);

        let (txs, rxs) = channels(m);
        let start = Instant::now();
        rt.spawn_detached(feed(rt, txs));
        let out = NaiveJoinAll::new(
            rxs.into_iter()
                .map(|rx| Box::pin(async move { rx.await.expect("the feeder sends every value") }))
                .collect(),
        )
        .await;
        let naive_stag = start.elapsed();
        check(&out);

        Sample {
            values: vec![gather, naive, spawn, gather_stag, naive_stag],
            warning: None,
        }
    })
}

type Senders = Vec<futures_channel::oneshot::Sender<usize>>;
type Receivers = Vec<futures_channel::oneshot::Receiver<usize>>;

fn channels(m: usize) -> (Senders, Receivers) {
    (0..m).map(|_| futures_channel::oneshot::channel()).unzip()
}

/// Fires the oneshots one at a time, in reverse order, yielding between.
async fn feed<R: Rt>(rt: R, txs: Senders) {
    for (i, tx) in txs.into_iter().enumerate().rev() {
        let _ = tx.send(i);
        rt.yield_now().await;
    }
}

/// `group_10k`: one figure.
pub(crate) fn run_group<R: Rt>(rt: R, size: Size) -> Pin<Box<dyn Future<Output = Sample> + Send>> {
    let n = count(size);
    let t = TypeId::of::<R>();
    if t == TypeId::of::<Tulipa>() {
        Box::pin(async move {
            let start = Instant::now();
            let mut group = tulipa::task::TaskGroup::new();
            for i in 0..n {
                group.spawn(small(rt, i));
            }
            let out = group.join().await.expect("a benchmark task failed");
            let d = start.elapsed();
            check(&out);
            Sample::one(d)
        })
    } else if t == TypeId::of::<Tokio>() {
        Box::pin(async move {
            let start = Instant::now();
            let mut set = tokio::task::JoinSet::new();
            for i in 0..n {
                set.spawn(small(rt, i));
            }
            let mut out = vec![0; n];
            while let Some(r) = set.join_next().await {
                let i = r.expect("a benchmark task failed");
                out[i] = i;
            }
            let d = start.elapsed();
            check(&out);
            Sample::one(d)
        })
    } else if t == TypeId::of::<SmolMulti>() || t == TypeId::of::<SmolLocal>() {
        Box::pin(async move {
            let start = Instant::now();
            let tasks: Vec<_> = (0..n).map(|i| rt.spawn(small(rt, i))).collect();
            let mut out = Vec::with_capacity(n);
            for t in tasks {
                out.push(t.await);
            }
            let d = start.elapsed();
            check(&out);
            Sample::one(d)
        })
    } else {
        unreachable!("a runtime without a group benchmark")
    }
}

fn check(out: &[usize]) {
    assert!(
        out.iter().enumerate().all(|(i, &v)| i == v),
        "results out of order"
    );
}

/// Polls every unfinished future on every wake-up: the strategy of
/// futures-lite's `zip` and of small `join_all`s.
struct NaiveJoinAll<F: Future> {
    futures: Vec<Option<Pin<Box<F>>>>,
    outputs: Vec<Option<F::Output>>,
}

impl<F: Future> NaiveJoinAll<F> {
    fn new(futures: Vec<Pin<Box<F>>>) -> Self {
        let outputs = futures.iter().map(|_| None).collect();
        NaiveJoinAll {
            futures: futures.into_iter().map(Some).collect(),
            outputs,
        }
    }
}

impl<F: Future> Unpin for NaiveJoinAll<F> {}

impl<F: Future> Future for NaiveJoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut all = true;
        for (slot, out) in this.futures.iter_mut().zip(this.outputs.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => all = false,
                }
            }
        }
        if all {
            Poll::Ready(
                this.outputs
                    .drain(..)
                    .map(|o| o.expect("finished"))
                    .collect(),
            )
        } else {
            Poll::Pending
        }
    }
}
