//! asyncio's queues: put/get (waiting and not), ordering of the three
//! kinds, `task_done`/`join` accounting, and Python 3.13's `shutdown`.

mod common;

use std::task::Poll;
use std::thread;

use common::{counting_waker, poll_boxed};
use futures_lite::future::block_on;
use tulipa_channel::queue::{
    GetError, GetNowaitError, LifoQueue, PriorityQueue, PutError, PutNowaitError, Queue,
    TaskDoneError,
};

#[test]
fn fifo_order_sizes_and_flags() {
    let q = Queue::new(3);
    assert_eq!(q.maxsize(), 3);
    assert!(q.empty() && !q.full());
    for i in 0..3 {
        q.put_nowait(i).unwrap();
    }
    assert!(q.full() && !q.empty());
    assert_eq!(q.qsize(), 3);
    assert_eq!(q.put_nowait(3), Err(PutNowaitError::Full(3)));
    assert_eq!(block_on(q.get()), Ok(0));
    assert_eq!(q.get_nowait(), Ok(1));
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(q.get_nowait(), Err(GetNowaitError::Empty));
}

#[test]
fn maxsize_zero_is_unbounded() {
    let q = Queue::new(0);
    for i in 0..1_000 {
        q.put_nowait(i).unwrap();
    }
    assert!(!q.full());
    assert_eq!(q.qsize(), 1_000);
}

#[test]
fn lifo_and_priority_orders() {
    let lifo = LifoQueue::new(0);
    let prio = PriorityQueue::new(0);
    for n in [5, 1, 4, 1, 3] {
        lifo.put_nowait(n).unwrap();
        prio.put_nowait(n).unwrap();
    }
    let l: Vec<_> = std::iter::from_fn(|| lifo.get_nowait().ok()).collect();
    let p: Vec<_> = std::iter::from_fn(|| prio.get_nowait().ok()).collect();
    assert_eq!(l, [3, 1, 4, 1, 5]);
    assert_eq!(p, [1, 1, 3, 4, 5]);
}

#[test]
fn priority_is_fifo_among_equals() {
    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Job {
        priority: u8,
    }
    // Equal priorities with distinct payloads: compare only the key.
    let q = PriorityQueue::new(0);
    for (prio, id) in [(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd'), (2, 'e')] {
        q.put_nowait(Keyed(prio, id)).unwrap();
    }
    let ids: String = std::iter::from_fn(|| q.get_nowait().ok())
        .map(|k| k.1)
        .collect();
    assert_eq!(ids, "bdace");
    let jobs = PriorityQueue::new(2);
    jobs.put_nowait(Job { priority: 2 }).unwrap();
    jobs.put_nowait(Job { priority: 1 }).unwrap();
    assert!(jobs.full());
    assert_eq!(jobs.get_nowait(), Ok(Job { priority: 1 }));
}

/// Ordered by the key only.
struct Keyed(u8, char);
impl PartialEq for Keyed {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Keyed {}
impl PartialOrd for Keyed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Keyed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

#[test]
fn put_waits_for_room_and_get_waits_for_an_item() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    let (pc, pw) = counting_waker();
    let mut put = Box::pin(q.put(2));
    assert!(poll_boxed(&mut put, &pw).is_pending());
    assert_eq!(q.get_nowait(), Ok(1));
    assert_eq!(pc.count(), 1);
    assert_eq!(poll_boxed(&mut put, &pw), Poll::Ready(Ok(())));
    assert_eq!(q.get_nowait(), Ok(2));

    let (gc, gw) = counting_waker();
    let mut get = Box::pin(q.get());
    assert!(poll_boxed(&mut get, &gw).is_pending());
    q.put_nowait(3).unwrap();
    assert_eq!(gc.count(), 1);
    assert_eq!(poll_boxed(&mut get, &gw), Poll::Ready(Ok(3)));
}

#[test]
fn cancelled_put_and_get_lose_nothing_and_pass_wakeups_on() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let (c1, w1) = counting_waker();
    let (c2, w2) = counting_waker();
    let mut p1 = Box::pin(q.put(1));
    let mut p2 = Box::pin(q.put(2));
    assert!(poll_boxed(&mut p1, &w1).is_pending());
    assert!(poll_boxed(&mut p2, &w2).is_pending());
    assert_eq!(q.get_nowait(), Ok(0));
    assert_eq!((c1.count(), c2.count()), (1, 0));
    drop(p1);
    assert_eq!(c2.count(), 1, "the cancelled putter's wakeup passed on");
    assert_eq!(poll_boxed(&mut p2, &w2), Poll::Ready(Ok(())));
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(q.unfinished_tasks(), 2, "1 was never put");

    let mut g1 = Box::pin(q.get());
    let mut g2 = Box::pin(q.get());
    assert!(poll_boxed(&mut g1, &w1).is_pending());
    assert!(poll_boxed(&mut g2, &w2).is_pending());
    q.put_nowait(9).unwrap();
    drop(g1);
    assert_eq!(poll_boxed(&mut g2, &w2), Poll::Ready(Ok(9)));
}

#[test]
fn task_done_and_join_accounting() {
    let q = Queue::new(0);
    block_on(q.join()); // nothing unfinished: returns at once
    assert_eq!(q.task_done(), Err(TaskDoneError));
    q.put_nowait('a').unwrap();
    q.put_nowait('b').unwrap();
    assert_eq!(q.unfinished_tasks(), 2);
    let (counter, waker) = counting_waker();
    let mut join = Box::pin(q.join());
    assert!(poll_boxed(&mut join, &waker).is_pending());
    q.get_nowait().unwrap();
    q.get_nowait().unwrap();
    assert!(
        poll_boxed(&mut join, &waker).is_pending(),
        "taken is not done"
    );
    q.task_done().unwrap();
    assert_eq!(counter.count(), 0);
    q.task_done().unwrap();
    assert_eq!(counter.count(), 1);
    assert_eq!(poll_boxed(&mut join, &waker), Poll::Ready(()));
    assert_eq!(q.task_done(), Err(TaskDoneError), "one call too many");
    assert_eq!(q.unfinished_tasks(), 0);
}

#[test]
fn shutdown_refuses_puts_and_drains_gets() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    q.shutdown(false);
    assert!(q.is_shutdown());
    assert_eq!(q.put_nowait(3), Err(PutNowaitError::Shutdown(3)));
    assert_eq!(block_on(q.put(4)), Err(PutError(4)));
    assert_eq!(block_on(q.get()), Ok(1));
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(q.get_nowait(), Err(GetNowaitError::Shutdown));
    assert_eq!(block_on(q.get()), Err(GetError));
    // task_done still works after a shutdown, and join follows it.
    q.task_done().unwrap();
    q.task_done().unwrap();
    block_on(q.join());
}

#[test]
fn shutdown_wakes_waiting_getters_and_putters() {
    let full = Queue::new(1);
    full.put_nowait(0).unwrap();
    let empty: Queue<u8> = Queue::new(1);
    let (pc, pw) = counting_waker();
    let (gc, gw) = counting_waker();
    let mut put = Box::pin(full.put(1));
    let mut get = Box::pin(empty.get());
    assert!(poll_boxed(&mut put, &pw).is_pending());
    assert!(poll_boxed(&mut get, &gw).is_pending());
    full.shutdown(false);
    empty.shutdown(false);
    assert_eq!((pc.count(), gc.count()), (1, 1));
    assert_eq!(poll_boxed(&mut put, &pw), Poll::Ready(Err(PutError(1))));
    assert_eq!(poll_boxed(&mut get, &gw), Poll::Ready(Err(GetError)));
    assert_eq!(full.get_nowait(), Ok(0), "a graceful shutdown keeps items");
}

#[test]
fn immediate_shutdown_drains_counts_done_and_releases_joiners() {
    let q = Queue::new(0);
    for i in 0..3 {
        q.put_nowait(i).unwrap();
    }
    let (counter, waker) = counting_waker();
    let mut join = Box::pin(q.join());
    assert!(poll_boxed(&mut join, &waker).is_pending());
    q.shutdown(true);
    assert_eq!(q.qsize(), 0);
    assert_eq!(q.unfinished_tasks(), 0);
    assert_eq!(counter.count(), 1);
    assert_eq!(poll_boxed(&mut join, &waker), Poll::Ready(()));
    assert_eq!(q.get_nowait(), Err(GetNowaitError::Shutdown));
}

#[test]
fn immediate_shutdown_waits_for_items_in_progress() {
    let q = Queue::new(0);
    q.put_nowait('a').unwrap();
    q.put_nowait('b').unwrap();
    assert_eq!(q.get_nowait(), Ok('a')); // taken, not done yet
    q.shutdown(true);
    assert_eq!(
        q.unfinished_tasks(),
        1,
        "only the drained item counts as done"
    );
    let mut join = Box::pin(q.join());
    let (_, waker) = counting_waker();
    assert!(poll_boxed(&mut join, &waker).is_pending());
    q.task_done().unwrap();
    assert_eq!(poll_boxed(&mut join, &waker), Poll::Ready(()));
}

#[test]
fn workers_on_threads_process_everything_and_join_returns() {
    for q in [Queue::new(4), Queue::new(0)] {
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || {
                    block_on(async {
                        let mut sum = 0u64;
                        while let Ok(n) = q.get().await {
                            sum += n;
                            q.task_done().unwrap();
                        }
                        sum
                    })
                })
            })
            .collect();
        block_on(async {
            for n in 1..=1_000u64 {
                q.put(n).await.unwrap();
            }
            q.join().await;
        });
        assert_eq!(q.unfinished_tasks(), 0);
        q.shutdown(false);
        let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(total, 500_500);
    }
}

#[test]
fn clones_are_the_same_queue_and_debug_needs_no_bound() {
    struct NoDebug;
    let q = Queue::new(2);
    let q2 = q.clone();
    assert!(q.put_nowait(NoDebug).is_ok());
    assert_eq!(q2.qsize(), 1);
    assert!(format!("{q:?}").starts_with("Queue { qsize: 1, maxsize: 2"));
    let err = q
        .put_nowait(NoDebug)
        .and(q.put_nowait(NoDebug))
        .unwrap_err();
    assert!(err.is_full() && !err.is_shutdown());
    assert_eq!(format!("{err:?}"), "Full(..)");
    let _: Box<dyn std::error::Error> = Box::new(err);
    let l: LifoQueue<u8> = LifoQueue::new(1);
    assert!(format!("{:?}", l.clone()).starts_with("LifoQueue"));
    let p: PriorityQueue<u8> = PriorityQueue::new(1);
    assert!(format!("{p:?}").starts_with("PriorityQueue"));
}

#[test]
fn errors_print_lowercase_and_convert() {
    let messages = [
        PutError(1).to_string(),
        PutNowaitError::Full(1).to_string(),
        PutNowaitError::Shutdown(1).to_string(),
        GetError.to_string(),
        GetNowaitError::Empty.to_string(),
        GetNowaitError::Shutdown.to_string(),
        TaskDoneError.to_string(),
    ];
    for m in &messages {
        assert!(m.chars().next().unwrap().is_lowercase(), "{m}");
    }
    assert!(TaskDoneError.to_string().contains("once per item"));
    assert_eq!(
        PutNowaitError::from(PutError(5)),
        PutNowaitError::Shutdown(5)
    );
    assert_eq!(GetNowaitError::from(GetError), GetNowaitError::Shutdown);
    assert_eq!(PutError(7).into_inner(), 7);
    assert_eq!(PutNowaitError::Shutdown(8).into_inner(), 8);
    assert!(GetNowaitError::Empty.is_empty() && GetNowaitError::Shutdown.is_shutdown());
    assert_eq!(format!("{:?}", PutError(())), "PutError(..)");
}
