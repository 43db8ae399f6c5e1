//! The cooperative budget: a task whose socket is always ready, or whose
//! mutex is always free, still yields to the others after
//! `tulipa_core::coop::BUDGET` ready operations in one poll, on both
//! runtimes.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_lite::{stream, AsyncReadExt, Stream, StreamExt};
use tulipa::Runtime;

const MESSAGES: usize = 4 * BUDGET;

/// The budget `tulipa_core::coop::BUDGET` documents.
const BUDGET: usize = 128;

fn flavors() -> Vec<Runtime> {
    vec![
        Runtime::builder().current_thread().build().unwrap(),
        Runtime::builder().worker_threads(1).build().unwrap(),
    ]
}

#[test]
fn a_reader_whose_socket_is_always_ready_lets_another_task_run() {
    for rt in flavors() {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        // Enough bytes that one-byte reads are always ready.
        b.write_all(&vec![7u8; MESSAGES]).unwrap();
        let read = Arc::new(AtomicUsize::new(0));
        let seen_by_other = rt.block_on({
            let read = read.clone();
            async move {
                let mut a = tulipa::net::UnixStream::from_std(a).unwrap();
                let counter = read.clone();
                let reader = tulipa::spawn(async move {
                    let mut byte = [0u8; 1];
                    let mut other = None;
                    for i in 0..MESSAGES {
                        a.read_exact(&mut byte).await.unwrap();
                        counter.fetch_add(1, Ordering::SeqCst);
                        if i == 0 {
                            let seen = counter.clone();
                            other = Some(tulipa::spawn(async move { seen.load(Ordering::SeqCst) }));
                        }
                    }
                    other
                });
                let other = reader.await.unwrap().unwrap();
                other.await.unwrap()
            }
        });
        assert!(
            seen_by_other < MESSAGES,
            "the other task ran only after all {MESSAGES} reads: no yield"
        );
        assert_eq!(read.load(Ordering::SeqCst), MESSAGES);
        drop(b);
    }
}

#[test]
fn a_task_relocking_a_free_mutex_lets_another_task_run() {
    for rt in flavors() {
        let locks = Arc::new(AtomicUsize::new(0));
        let seen_by_other = rt.block_on({
            let locks = locks.clone();
            async move {
                let mutex = Arc::new(tulipa::sync::Mutex::new(0usize));
                let counter = locks.clone();
                let locker = tulipa::spawn(async move {
                    let mut other = None;
                    for i in 0..MESSAGES {
                        *mutex.lock().await += 1;
                        counter.fetch_add(1, Ordering::SeqCst);
                        if i == 0 {
                            let seen = counter.clone();
                            other = Some(tulipa::spawn(async move { seen.load(Ordering::SeqCst) }));
                        }
                    }
                    other
                });
                let other = locker.await.unwrap().unwrap();
                other.await.unwrap()
            }
        });
        assert!(
            seen_by_other < MESSAGES,
            "the other task ran only after all {MESSAGES} locks: no yield"
        );
        assert_eq!(locks.load(Ordering::SeqCst), MESSAGES);
    }
}

/// Runs a task that takes `MESSAGES` items from `items` (all there before
/// it starts), checking their order; after the first it spawns another
/// task that reads how many were taken by the time it runs. Returns that
/// count, after checking that every item was taken.
fn seen_by_other(rt: &Runtime, items: impl Stream<Item = usize> + Send + 'static) -> usize {
    let counter = Arc::new(AtomicUsize::new(0));
    let taken = counter.clone();
    let seen = rt.block_on(async move {
        let consumer = tulipa::spawn(async move {
            let mut items = std::pin::pin!(items);
            let mut other = None;
            for i in 0..MESSAGES {
                assert_eq!(items.next().await, Some(i), "out of order");
                if taken.fetch_add(1, Ordering::SeqCst) == 0 {
                    let taken = taken.clone();
                    other = Some(tulipa::spawn(async move { taken.load(Ordering::SeqCst) }));
                }
            }
            other
        });
        let other = consumer.await.unwrap().unwrap();
        other.await.unwrap()
    });
    assert_eq!(counter.load(Ordering::SeqCst), MESSAGES, "an item was lost");
    seen
}

#[test]
fn a_receiver_whose_channel_is_always_full_lets_another_task_run() {
    for rt in flavors() {
        // Bounded (one receiver: the receive slot), unbounded, and a
        // channel with two receivers (the waiters' event).
        for shape in ["bounded", "unbounded", "two receivers"] {
            let (tx, rx) = match shape {
                "unbounded" => tulipa::channel::unbounded(),
                _ => tulipa::channel::bounded(MESSAGES),
            };
            let spare = (shape == "two receivers").then(|| rx.clone());
            for i in 0..MESSAGES {
                tx.try_send(i).unwrap();
            }
            let items = stream::unfold(rx, |rx| async move { Some((rx.recv().await.ok()?, rx)) });
            let seen = seen_by_other(&rt, items);
            assert!(
                seen < MESSAGES,
                "{shape}: the other task ran only after all {MESSAGES} receives: no yield"
            );
            drop(spare);
        }
    }
}

#[test]
fn a_broadcast_receiver_that_is_never_behind_lets_another_task_run() {
    for rt in flavors() {
        let (tx, rx) = tulipa::channel::broadcast::channel(MESSAGES);
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
        }
        // The sender lives in the stream's state, so the channel stays open.
        let items = stream::unfold((tx, rx), |(tx, mut rx)| async move {
            Some((rx.recv().await.ok()?, (tx, rx)))
        });
        let seen = seen_by_other(&rt, items);
        assert!(
            seen < MESSAGES,
            "the other task ran only after all {MESSAGES} receives: no yield"
        );
    }
}

#[test]
fn a_queue_getter_whose_queue_is_never_empty_lets_another_task_run() {
    for rt in flavors() {
        let queue = tulipa::queue::Queue::new(0);
        for i in 0..MESSAGES {
            queue.put_nowait(i).unwrap();
        }
        let items = stream::unfold(queue, |q| async move { Some((q.get().await.ok()?, q)) });
        let seen = seen_by_other(&rt, items);
        assert!(
            seen < MESSAGES,
            "the other task ran only after all {MESSAGES} gets: no yield"
        );
    }
}

#[test]
fn a_task_its_budget_keeps_yielding_is_dropped_at_shutdown() {
    // A task that never waits for real: each poll spends its budget on a
    // channel that always has a message, so it is always a deferred yield
    // on a worker. Shutdown must still find it and drop it.
    struct Dropped(Arc<AtomicUsize>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    for _ in 0..4 {
        // Made outside the future, so a task that never started counts too.
        let guard = Dropped(dropped.clone());
        let received = received.clone();
        rt.spawn(async move {
            let _guard = guard;
            let (tx, rx) = tulipa::channel::unbounded();
            tx.try_send(()).unwrap();
            loop {
                rx.recv().await.unwrap();
                received.fetch_add(1, Ordering::SeqCst);
                tx.try_send(()).unwrap();
            }
        })
        .detach();
    }
    // Bounded: until each task has been through several budgets.
    let start = std::time::Instant::now();
    while received.load(Ordering::SeqCst) < 16 * BUDGET {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the tasks made no progress"
        );
        std::thread::yield_now();
    }
    // Bounded: a task that never yielded would keep its worker in one
    // poll, and a plain drop would wait for it forever.
    let report = rt.shutdown_timeout(std::time::Duration::from_secs(20));
    assert_eq!(
        report.stuck_workers, 0,
        "a worker never left its poll: no yield"
    );
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        4,
        "a task was not dropped at shutdown"
    );
}
