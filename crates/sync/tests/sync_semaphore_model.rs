//! Proptest: the semaphore against a model of FIFO hand-off with partial
//! assignment, under random acquire, poll, cancel, release and add
//! sequences, with `try_acquire` newcomers among them. Checks the free
//! count after every step, which futures are ready, that nobody (a new
//! request, `try_acquire`) takes a permit owed to a woken waiter or
//! passed on by a cancelled one, and that every permit comes back at the
//! end (conservation).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use proptest::sample::Index;
use tulipa_sync::futures::Acquire;
use tulipa_sync::{Semaphore, SemaphorePermit};

#[derive(Debug, Clone)]
enum Op {
    /// Create an `acquire_many(n)` future and poll it once.
    Start(usize),
    /// Poll a pending future.
    Poll(Index),
    /// Drop a pending future (cancel).
    Cancel(Index),
    /// Drop a held permit.
    Release(Index),
    /// `add_permits(n)`.
    Add(usize),
    /// `try_acquire_many(n)`: a newcomer that does not wait.
    TryAcquire(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1usize..=4).prop_map(Op::Start),
        3 => any::<Index>().prop_map(Op::Poll),
        2 => any::<Index>().prop_map(Op::Cancel),
        3 => any::<Index>().prop_map(Op::Release),
        1 => (1usize..=3).prop_map(Op::Add),
        2 => (1usize..=3).prop_map(Op::TryAcquire),
    ]
}

/// The model: free permits and the FIFO queue of (id, need, assigned).
#[derive(Default)]
struct Model {
    free: usize,
    queue: VecDeque<(usize, usize, usize)>,
    /// Ids granted in full but not polled yet, with their need.
    granted: Vec<(usize, usize)>,
}

impl Model {
    fn release(&mut self, mut n: usize) {
        while n > 0 {
            let Some(head) = self.queue.front_mut() else {
                break;
            };
            let give = n.min(head.1 - head.2);
            head.2 += give;
            n -= give;
            if head.2 == head.1 {
                let (id, need, _) = self.queue.pop_front().unwrap();
                self.granted.push((id, need));
            }
        }
        self.free += n;
    }

    /// A new request: granted at once, or queued with what is free.
    fn start(&mut self, id: usize, need: usize) -> bool {
        if self.queue.is_empty() && self.free >= need {
            self.free -= need;
            return true;
        }
        let take = self.free.min(need);
        self.free -= take;
        self.queue.push_back((id, need, take));
        false
    }

    fn cancel(&mut self, id: usize) {
        if let Some(pos) = self.granted.iter().position(|g| g.0 == id) {
            let (_, need) = self.granted.remove(pos);
            self.release(need);
        } else {
            let pos = self.queue.iter().position(|q| q.0 == id).unwrap();
            let (_, _, assigned) = self.queue.remove(pos).unwrap();
            self.release(assigned);
        }
    }

    /// Whether polling `id` now returns Ready (and consumes the grant).
    fn poll(&mut self, id: usize) -> bool {
        match self.granted.iter().position(|g| g.0 == id) {
            Some(pos) => {
                self.granted.remove(pos);
                true
            }
            None => false,
        }
    }
}

fn poll<'a>(f: &mut Pin<Box<Acquire<'a>>>) -> Poll<SemaphorePermit<'a>> {
    let mut cx = Context::from_waker(Waker::noop());
    f.as_mut().poll(&mut cx).map(|r| r.expect("never closed"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn semaphore_matches_the_fifo_model(initial in 0usize..5, ops in prop::collection::vec(op(), 1..60)) {
        let sem = Semaphore::new(initial);
        let mut model = Model { free: initial, ..Model::default() };
        let mut total = initial;
        let mut next_id = 0;
        // (id, future) and (need, permit)
        let mut pending: Vec<(usize, Pin<Box<Acquire<'_>>>)> = Vec::new();
        let mut held: Vec<SemaphorePermit<'_>> = Vec::new();
        let mut held_count = 0;
        for op in ops {
            match op {
                Op::Start(n) => {
                    let id = next_id;
                    next_id += 1;
                    let mut f = Box::pin(sem.acquire_many(n));
                    let expect = model.start(id, n);
                    match poll(&mut f) {
                        Poll::Ready(p) => {
                            prop_assert!(expect, "granted a request the model queues");
                            held_count += p.num_permits();
                            held.push(p);
                        }
                        Poll::Pending => {
                            prop_assert!(!expect, "queued a request the model grants");
                            pending.push((id, f));
                        }
                    }
                }
                Op::Poll(i) if !pending.is_empty() => {
                    let k = i.index(pending.len());
                    let id = pending[k].0;
                    let expect = model.poll(id);
                    match poll(&mut pending[k].1) {
                        Poll::Ready(p) => {
                            prop_assert!(expect, "ready before the model granted it");
                            held_count += p.num_permits();
                            held.push(p);
                            drop(pending.remove(k));
                        }
                        Poll::Pending => prop_assert!(!expect, "granted but still pending"),
                    }
                }
                Op::Cancel(i) if !pending.is_empty() => {
                    let (id, f) = pending.remove(i.index(pending.len()));
                    drop(f);
                    model.cancel(id);
                }
                Op::Release(i) if !held.is_empty() => {
                    let p = held.remove(i.index(held.len()));
                    let n = p.num_permits();
                    held_count -= n;
                    drop(p);
                    model.release(n);
                }
                Op::Add(n) => {
                    sem.add_permits(n);
                    model.release(n);
                    total += n;
                }
                Op::TryAcquire(n) => {
                    // Never a permit owed to a waiter (queued, or granted
                    // and not polled yet): only what is free.
                    let expect = model.queue.is_empty() && model.free >= n;
                    match sem.try_acquire_many(n) {
                        Ok(p) => {
                            prop_assert!(expect, "try_acquire took a permit owed to a waiter");
                            model.free -= n;
                            held_count += n;
                            held.push(p);
                        }
                        Err(_) => prop_assert!(!expect, "try_acquire refused a free permit"),
                    }
                }
                _ => {}
            }
            prop_assert_eq!(sem.available_permits(), model.free);
            let queued: usize = model.queue.iter().map(|q| q.2).sum();
            let granted: usize = model.granted.iter().map(|g| g.1).sum();
            prop_assert_eq!(model.free + queued + granted + held_count, total, "model lost a permit");
        }
        drop(pending);
        drop(held);
        prop_assert_eq!(sem.available_permits(), total, "a permit was lost");
    }
}
