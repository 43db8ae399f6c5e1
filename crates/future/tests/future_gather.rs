//! gather, try_gather, select and the gather!/try_gather! macros: output
//! order, which futures are dropped and when, errors, panics, the number of
//! polls (only woken futures are polled), and both executor flavours.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::future::block_on;
use proptest::prelude::*;
use tulipa_core::ThreadParker;
use tulipa_executor::{CurrentThread, MultiThreadBuilder, SpawnOptions};
use tulipa_future::combinators::{gather, select, try_gather};

/// Yields `yields` times (waking itself), then returns `value`; counts its
/// polls and its drops, and records whether it finished.
struct Probe<T> {
    yields: usize,
    value: Option<T>,
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

#[derive(Clone, Default)]
struct Counters {
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Counters {
    fn probe<T>(&self, yields: usize, value: T) -> Probe<T> {
        Probe {
            yields,
            value: Some(value),
            polls: self.polls.clone(),
            drops: self.drops.clone(),
        }
    }
    fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }
    fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }
}

impl<T: Unpin> Future for Probe<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.yields == 0 {
            return Poll::Ready(self.value.take().expect("polled after completion"));
        }
        self.yields -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<T> Drop for Probe<T> {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn gather_returns_outputs_in_argument_order() {
    let c = Counters::default();
    let yields = [5, 0, 3, 1, 4];
    let out = block_on(gather(
        yields.iter().enumerate().map(|(i, &y)| c.probe(y, i)),
    ));
    assert_eq!(out, [0, 1, 2, 3, 4]);
    assert_eq!(c.drops(), 5, "every future is dropped once it finished");
}

#[test]
fn gather_of_nothing_is_empty() {
    let out: Vec<u8> = block_on(gather(Vec::<std::future::Ready<u8>>::new()));
    assert!(out.is_empty());
}

#[test]
fn gather_polls_only_woken_futures() {
    // One future yields 1,000 times; 999 others finish at once. Polling every
    // future on every wake would take about a million polls.
    let c = Counters::default();
    let futures = (0..1000).map(|i| c.probe(if i == 0 { 1000 } else { 0 }, i));
    let out = block_on(gather(futures));
    assert_eq!(out.len(), 1000);
    assert_eq!(c.polls(), 1001 + 999, "each future is polled once per wake");
}

#[test]
fn dropping_gather_drops_every_pending_future() {
    let c = Counters::default();
    let mut g = gather((0..10).map(|i| c.probe(if i < 4 { 0 } else { 100 }, i)));
    let waker = futures_lite::future::block_on(futures_lite::future::poll_fn(|cx| {
        Poll::Ready(cx.waker().clone())
    }));
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut g).poll(&mut cx).is_pending());
    assert_eq!(g.pending(), 6);
    assert_eq!(c.drops(), 4, "the finished ones are dropped as they finish");
    drop(g);
    assert_eq!(c.drops(), 10);
}

#[test]
fn try_gather_first_error_drops_the_rest() {
    let c = Counters::default();
    let futures = (0..6).map(|i| {
        let p = c.probe(if i == 3 { 2 } else { 50 }, i);
        async move {
            let v = p.await;
            if v == 3 {
                Err(format!("task {v} failed"))
            } else {
                Ok(v)
            }
        }
    });
    let out = block_on(try_gather(futures));
    assert_eq!(out, Err("task 3 failed".to_string()));
    assert_eq!(
        c.drops(),
        6,
        "the failing future and the 5 others are dropped"
    );
    assert!(
        c.polls() < 6 * 10,
        "the others stopped being polled: {}",
        c.polls()
    );
}

#[test]
fn try_gather_all_ok_keeps_order() {
    let c = Counters::default();
    let futures = [3usize, 0, 2].map(|y| {
        let p = c.probe(y, y);
        async move { Ok::<_, ()>(p.await) }
    });
    assert_eq!(block_on(try_gather(futures)), Ok(vec![3, 0, 2]));
}

#[test]
fn select_returns_the_first_and_drops_the_others() {
    let c = Counters::default();
    let futures: Vec<_> = [7, 2, 9, 2]
        .iter()
        .enumerate()
        .map(|(i, &y)| c.probe(y, i))
        .collect();
    let (winner, index) = block_on(select(futures));
    // Two tie at 2 yields; the lower index was listed first.
    assert_eq!((winner, index), (1, 1));
    assert_eq!(c.drops(), 4);
}

#[test]
#[should_panic(expected = "select needs at least one future")]
fn select_of_nothing_panics() {
    drop(select(Vec::<std::future::Ready<()>>::new()));
}

#[test]
fn a_panicking_future_propagates_and_the_rest_are_dropped() {
    let c = Counters::default();
    let c2 = c.clone();
    let result = std::panic::catch_unwind(move || {
        block_on(gather((0..4).map(|i| {
            let p = c2.probe(i, i);
            async move {
                let v = p.await;
                assert_ne!(v, 2, "boom");
                v
            }
        })))
    });
    assert!(result.is_err());
    assert_eq!(c.drops(), 4);
}

#[test]
fn gather_macro_mixes_types() {
    let c = Counters::default();
    let (a, b, d) = block_on(tulipa_future::gather!(
        c.probe(3, 1u8),
        c.probe(0, "two"),
        async { 3.0f64 },
    ));
    assert_eq!((a, b, d), (1, "two", 3.0));
    assert_eq!(c.drops(), 2);
}

#[test]
fn try_gather_macro_stops_at_first_error() {
    let c = Counters::default();
    let slow = c.probe(100, 1u8);
    let out = block_on(tulipa_future::try_gather!(
        async { Ok::<_, &str>(slow.await) },
        async { Err::<u16, _>("bad") },
        async { Ok("fine") },
    ));
    assert_eq!(out, Err("bad"));
    assert_eq!(c.drops(), 1, "the slow future was dropped");
    assert!(c.polls() <= 2);
}

#[test]
fn try_gather_macro_all_ok() {
    let out = block_on(tulipa_future::try_gather!(
        async { Ok::<_, ()>(1) },
        async { Ok('x') }
    ));
    assert_eq!(out, Ok((1, 'x')));
}

#[test]
fn gather_over_join_handles_on_both_flavours() {
    let current = CurrentThread::new(Arc::new(ThreadParker::new()));
    let handles: Vec<_> = (0..50u64)
        .map(|i| {
            current.spawn(SpawnOptions::new(), async move {
                for _ in 0..(i % 7) {
                    tulipa_executor::yield_now().await;
                }
                i * 2
            })
        })
        .collect();
    let out = current.block_on(gather(handles));
    let out: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out, (0..50).map(|i| i * 2).collect::<Vec<_>>());

    let multi = MultiThreadBuilder::new()
        .workers(2)
        .build(Arc::new(ThreadParker::new()))
        .unwrap();
    let handles: Vec<_> = (0..50u64)
        .map(|i| {
            multi.spawn(SpawnOptions::new(), async move {
                for _ in 0..(i % 5) {
                    tulipa_executor::yield_now().await;
                }
                assert_ne!(i, 13, "task 13 panics");
                i
            })
        })
        .collect();
    let out = tulipa_executor::block_on(&ThreadParker::new(), gather(handles));
    for (i, r) in out.into_iter().enumerate() {
        match r {
            Ok(v) => assert_eq!(v, i as u64),
            Err(e) => {
                assert_eq!(i, 13);
                assert!(e.is_panic());
            }
        }
    }
    multi.shutdown(None);
}

#[test]
fn combinators_are_send_when_their_futures_are() {
    fn is_send<T: Send>(_: &T) {}
    let g = gather(vec![async { 1 }]);
    is_send(&g);
    let t = try_gather(vec![async { Ok::<_, ()>(1) }]);
    is_send(&t);
    let s = select(vec![async { 1 }]);
    is_send(&s);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever order the futures finish in, gather returns argument order.
    #[test]
    fn gather_preserves_order(yields in proptest::collection::vec(0usize..20, 0..40)) {
        let c = Counters::default();
        let out = block_on(gather(yields.iter().enumerate().map(|(i, &y)| c.probe(y, i))));
        prop_assert_eq!(out, (0..yields.len()).collect::<Vec<_>>());
        prop_assert_eq!(c.drops(), yields.len());
        // One poll per wake plus the first: no future is polled needlessly.
        prop_assert_eq!(c.polls(), yields.iter().map(|y| y + 1).sum::<usize>());
    }

    /// select's winner is the future with the fewest yields, lowest index
    /// first among ties.
    #[test]
    fn select_picks_the_earliest(yields in proptest::collection::vec(0usize..20, 1..30)) {
        let c = Counters::default();
        let (v, i) = block_on(select(yields.iter().enumerate().map(|(i, &y)| c.probe(y, i))));
        let min = *yields.iter().min().unwrap();
        let expect = yields.iter().position(|&y| y == min).unwrap();
        prop_assert_eq!((v, i), (expect, expect));
        prop_assert_eq!(c.drops(), yields.len());
    }
}
