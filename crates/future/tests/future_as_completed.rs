//! as_completed, wait and FutureSet: completion order, indices, what is
//! handed back, what is dropped, and a panicking child.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_lite::future::block_on;
use futures_lite::StreamExt;
use proptest::prelude::*;
use tulipa_core::ThreadParker;
use tulipa_executor::{CurrentThread, SpawnOptions};
use tulipa_future::combinators::{as_completed, wait, FutureSet, WaitMode};

/// Yields `yields` times, then returns `value`; counts drops.
struct After<T> {
    yields: usize,
    value: Option<T>,
    drops: Arc<AtomicUsize>,
}

fn after<T>(yields: usize, value: T, drops: &Arc<AtomicUsize>) -> After<T> {
    After {
        yields,
        value: Some(value),
        drops: drops.clone(),
    }
}

impl<T: Unpin> Future for After<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if self.yields == 0 {
            return Poll::Ready(self.value.take().expect("polled after completion"));
        }
        self.yields -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<T> Drop for After<T> {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn as_completed_yields_in_completion_order_with_indices() {
    let drops = Arc::new(AtomicUsize::new(0));
    let yields = [4, 0, 2, 1];
    let stream = as_completed(yields.iter().map(|&y| after(y, y * 10, &drops)));
    assert_eq!(stream.remaining(), 4);
    let order: Vec<_> = block_on(stream.indexed().collect());
    assert_eq!(order, [(1, 0), (3, 10), (2, 20), (0, 40)]);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[test]
fn dropping_as_completed_drops_what_is_left() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut stream = as_completed((0..5).map(|i| after(i * 3, i, &drops)));
    assert_eq!(block_on(stream.next()), Some(0));
    assert_eq!(block_on(stream.next()), Some(1));
    assert_eq!(stream.remaining(), 3);
    drop(stream);
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn as_completed_over_tasks_gives_their_results() {
    let ex = CurrentThread::new(Arc::new(ThreadParker::new()));
    let handles: Vec<_> = (0..6u32)
        .map(|i| {
            ex.spawn(SpawnOptions::new(), async move {
                for _ in 0..(6 - i) {
                    tulipa_executor::yield_now().await;
                }
                assert_ne!(i, 4, "task 4 panics");
                i
            })
        })
        .collect();
    let results: Vec<_> = ex.block_on(as_completed(handles).collect());
    let oks: Vec<u32> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(
        oks,
        [5, 3, 2, 1, 0],
        "later-spawned tasks yield less and finish first"
    );
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
}

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T, &'static str>> + Send>>;

fn boxed<T: Send + 'static>(
    f: impl Future<Output = Result<T, &'static str>> + Send + 'static,
) -> Boxed<T> {
    Box::pin(f)
}

#[test]
fn wait_first_completed_hands_back_the_rest() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (a, b, c) = (
        after(5, 1, &drops),
        after(1, 2, &drops),
        after(9, 3, &drops),
    );
    let futures = vec![
        boxed(async move { Ok(a.await) }),
        boxed(async move { Ok(b.await) }),
        boxed(async move { Ok(c.await) }),
    ];
    let out = block_on(wait(futures, WaitMode::FirstCompleted));
    assert_eq!(out.done, [(1, Ok(2))]);
    let pending: Vec<usize> = out.pending.iter().map(|(i, _)| *i).collect();
    assert_eq!(pending, [0, 2]);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "pending futures are handed back, not dropped"
    );
    // They still work.
    let rest: Vec<_> = block_on(futures_lite::future::zip(
        async { 0 },
        as_completed(out.pending.into_iter().map(|(_, f)| f)).collect::<Vec<_>>(),
    ))
    .1;
    assert_eq!(rest, [Ok(1), Ok(3)]);
}

#[test]
fn wait_first_exception_stops_at_the_first_err() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (ok, slow) = (after(0, 1, &drops), after(50, 2, &drops));
    let futures = vec![
        boxed(async move { Ok(ok.await) }),
        boxed(async { Err("failed") }),
        boxed(async move { Ok(slow.await) }),
    ];
    let out = block_on(wait(futures, WaitMode::FirstException));
    let mut done = out.done.clone();
    done.sort();
    assert_eq!(done, [(0, Ok(1)), (1, Err("failed"))]);
    assert_eq!(out.pending.len(), 1);
}

#[test]
fn wait_first_exception_without_failures_waits_for_all() {
    let drops = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..4)
        .map(|i| {
            let f = after(i, i, &drops);
            boxed(async move { Ok(f.await) })
        })
        .collect();
    let out = block_on(wait(futures, WaitMode::FirstException));
    assert_eq!(out.done, [(0, Ok(0)), (1, Ok(1)), (2, Ok(2)), (3, Ok(3))]);
    assert!(out.pending.is_empty());
}

#[test]
fn wait_all_completed_and_empty_input() {
    let out = block_on(wait(Vec::<Boxed<u8>>::new(), WaitMode::AllCompleted));
    assert!(out.done.is_empty() && out.pending.is_empty());
    let futures = vec![boxed(async { Err("a") }), boxed(async { Ok(1) })];
    let out = block_on(wait(futures, WaitMode::AllCompleted));
    assert_eq!(out.done.len(), 2);
}

#[test]
fn wait_into_outcome_stops_early_without_losing_anything() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (quick, slow) = (after(0, 1, &drops), after(1000, 2, &drops));
    let mut w = wait(
        vec![
            boxed(async move { Ok(quick.await) }),
            boxed(async move { Ok(slow.await) }),
        ],
        WaitMode::AllCompleted,
    );
    // One poll, as a timeout would allow, then give up.
    let waker = futures_lite::future::block_on(futures_lite::future::poll_fn(|cx| {
        Poll::Ready(cx.waker().clone())
    }));
    assert!(Pin::new(&mut w)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    let out = w.into_outcome();
    assert_eq!(out.done, [(0, Ok(1))]);
    assert_eq!(out.pending.len(), 1);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn future_set_grows_while_polled() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut set = FutureSet::new();
    set.push(Box::pin(after(3, 'a', &drops)));
    let out = block_on(async {
        let mut seen = Vec::new();
        while let Some((i, v)) = set.next().await {
            seen.push((i, v));
            if v == 'a' {
                set.push(Box::pin(after(0, 'b', &drops)));
                set.push(Box::pin(after(2, 'c', &drops)));
            }
        }
        seen
    });
    assert_eq!(out, [(0, 'a'), (1, 'b'), (2, 'c')]);
    assert!(set.is_empty());
    assert_eq!(set.pushed(), 3);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn future_set_survives_a_panicking_child() {
    // A child that panics is dropped and unwinds out of poll_next; the
    // others stay listed and finish when the set is polled again.
    let mut set: FutureSet<Pin<Box<dyn Future<Output = u8> + Send>>> = FutureSet::new();
    set.push(Box::pin(async { panic!("child 0 panics") }));
    set.push(Box::pin(async { 1 }));
    set.push(Box::pin(async { 2 }));
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| block_on(set.next())));
    assert!(first.is_err());
    let mut rest: Vec<u8> = block_on(async {
        let mut v = Vec::new();
        while let Some((_, x)) = set.next().await {
            v.push(x);
        }
        v
    });
    rest.sort();
    assert_eq!(rest, [1, 2]);
    assert!(set.is_empty(), "the panicked child is gone");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// as_completed yields by completion: fewest yields first, index order
    /// among ties.
    #[test]
    fn as_completed_matches_a_stable_sort(yields in proptest::collection::vec(0usize..15, 0..30)) {
        let drops = Arc::new(AtomicUsize::new(0));
        let got: Vec<(usize, usize)> =
            block_on(as_completed(yields.iter().map(|&y| after(y, y, &drops))).indexed().collect());
        let mut expect: Vec<(usize, usize)> = yields.iter().copied().enumerate().collect();
        expect.sort_by_key(|&(_, y)| y);
        prop_assert_eq!(got, expect);
    }
}

/// Pending until its gate opens; keeps the last waker it was polled with.
struct Gate {
    state: Arc<std::sync::Mutex<(bool, Option<std::task::Waker>)>>,
    value: usize,
}

impl Future for Gate {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let mut s = self.state.lock().unwrap();
        if s.0 {
            return Poll::Ready(self.value);
        }
        s.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Child wakers share one block of wake flags per 64 children: across
/// several blocks, children woken from other threads in any order are each
/// polled and delivered exactly once, a child woken twice is listed once,
/// and a waker kept after its child (and the whole set) is gone can still
/// be woken and dropped.
#[test]
fn future_set_wakes_children_across_blocks() {
    const N: usize = 200;
    let gates: Vec<_> = (0..N)
        .map(|_| Arc::new(std::sync::Mutex::new((false, None))))
        .collect();
    let mut set: FutureSet<Gate> = gates
        .iter()
        .enumerate()
        .map(|(value, state)| Gate {
            state: state.clone(),
            value,
        })
        .collect();
    let mut kept = Vec::new();
    let got = block_on(async {
        // First poll: every child registers its waker and waits.
        futures_lite::future::poll_fn(|cx| {
            assert!(set.poll_next(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        for g in &gates {
            kept.push(g.lock().unwrap().1.clone().expect("registered"));
        }
        // Open the gates from two threads, last block first, waking each
        // child twice.
        let order: Vec<usize> = (0..N).rev().collect();
        std::thread::scope(|s| {
            for half in order.chunks(N / 2) {
                let gates = &gates;
                s.spawn(move || {
                    for &i in half {
                        let w = {
                            let mut g = gates[i].lock().unwrap();
                            g.0 = true;
                            g.1.take().expect("registered")
                        };
                        w.wake_by_ref();
                        w.wake();
                    }
                });
            }
        });
        let mut got = Vec::new();
        while let Some((index, value)) = set.next().await {
            assert_eq!(index, value);
            got.push(value);
        }
        got
    });
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..N).collect::<Vec<_>>(),
        "each child exactly once"
    );
    drop(set);
    // The set is gone; its children's wakers still work and free their
    // blocks when the last one is dropped.
    for w in &kept {
        w.wake_by_ref();
    }
    drop(kept);
}
