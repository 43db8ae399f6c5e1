//! Model tests of the three asyncio queues: random sequences of
//! `put_nowait`, `get_nowait`, `task_done` and `shutdown`, checked against
//! a `Vec` model of the order (FIFO, LIFO, smallest first with FIFO among
//! equals), the unfinished count and the shutdown state.

use std::cmp::Ordering;

use proptest::prelude::*;
use tulipa_channel::queue::{
    GetNowaitError, LifoQueue, PriorityQueue, PutNowaitError, Queue, TaskDoneError,
};

/// An item ordered by `key` only, so equal keys with different `id`s show
/// whether the priority queue keeps FIFO order among equals.
#[derive(Clone, Copy, Debug)]
struct Item {
    key: u8,
    id: u32,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Fifo,
    Lifo,
    Priority,
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8),
    Get,
    TaskDone,
    Shutdown(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u8..4).prop_map(Op::Put),
        4 => Just(Op::Get),
        3 => Just(Op::TaskDone),
        1 => any::<bool>().prop_map(Op::Shutdown),
    ]
}

/// The three queue types behind one interface, for the test only.
enum AnyQueue {
    Fifo(Queue<Item>),
    Lifo(LifoQueue<Item>),
    Priority(PriorityQueue<Item>),
}

macro_rules! each {
    ($q:expr, $x:ident => $e:expr) => {
        match $q {
            AnyQueue::Fifo($x) => $e,
            AnyQueue::Lifo($x) => $e,
            AnyQueue::Priority($x) => $e,
        }
    };
}

fn run(kind: Kind, maxsize: usize, ops: Vec<Op>) {
    let q = match kind {
        Kind::Fifo => AnyQueue::Fifo(Queue::new(maxsize)),
        Kind::Lifo => AnyQueue::Lifo(LifoQueue::new(maxsize)),
        Kind::Priority => AnyQueue::Priority(PriorityQueue::new(maxsize)),
    };
    let mut model: Vec<Item> = Vec::new();
    let mut unfinished = 0usize;
    let mut shutdown = false;
    let mut next_id = 0u32;
    for op in ops {
        match op {
            Op::Put(key) => {
                let item = Item { key, id: next_id };
                next_id += 1;
                let got = each!(&q, q => q.put_nowait(item));
                if shutdown {
                    assert!(matches!(got, Err(PutNowaitError::Shutdown(i)) if i.id == item.id));
                } else if maxsize > 0 && model.len() >= maxsize {
                    assert!(matches!(got, Err(PutNowaitError::Full(i)) if i.id == item.id));
                } else {
                    assert!(got.is_ok());
                    model.push(item);
                    unfinished += 1;
                }
            }
            Op::Get => {
                let expected = if model.is_empty() {
                    None
                } else {
                    let index = match kind {
                        Kind::Fifo => 0,
                        Kind::Lifo => model.len() - 1,
                        // The smallest key; the earliest among equals.
                        Kind::Priority => (0..model.len())
                            .min_by_key(|&i| (model[i].key, model[i].id))
                            .expect("not empty"),
                    };
                    Some(model.remove(index))
                };
                let got = each!(&q, q => q.get_nowait());
                match (expected, got) {
                    (Some(e), Ok(g)) => assert_eq!((e.key, e.id), (g.key, g.id)),
                    (None, Err(GetNowaitError::Shutdown)) => assert!(shutdown),
                    (None, Err(GetNowaitError::Empty)) => assert!(!shutdown),
                    (e, g) => panic!("model {e:?}, queue {g:?}"),
                }
            }
            Op::TaskDone => {
                let got = each!(&q, q => q.task_done());
                if unfinished == 0 {
                    assert_eq!(got, Err(TaskDoneError));
                } else {
                    assert_eq!(got, Ok(()));
                    unfinished -= 1;
                }
            }
            Op::Shutdown(immediate) => {
                each!(&q, q => q.shutdown(immediate));
                shutdown = true;
                if immediate {
                    unfinished = unfinished.saturating_sub(model.len());
                    model.clear();
                }
            }
        }
        assert_eq!(each!(&q, q => q.qsize()), model.len());
        assert_eq!(each!(&q, q => q.unfinished_tasks()), unfinished);
        assert_eq!(each!(&q, q => q.is_shutdown()), shutdown);
        assert_eq!(
            each!(&q, q => q.full()),
            maxsize > 0 && model.len() >= maxsize
        );
        // join completes exactly when nothing is unfinished.
        let joined = each!(&q, q => futures_lite::future::block_on(
            futures_lite::future::poll_once(q.join())
        ));
        assert_eq!(joined.is_some(), unfinished == 0);
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Fifo), Just(Kind::Lifo), Just(Kind::Priority)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn queues_match_the_model(
        kind in kind(),
        maxsize in 0usize..4,
        ops in proptest::collection::vec(op(), 0..150),
    ) {
        run(kind, maxsize, ops);
    }
}
