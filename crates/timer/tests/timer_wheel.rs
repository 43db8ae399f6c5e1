//! The timing wheel on its own: unit tests, a model-based proptest against a
//! `BTreeMap`, and a million pending entries.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use tulipa_timer::wheel::{Key, Wheel, MAX_TICK};

fn drain(wheel: &mut Wheel<u32>, now: u64) -> Vec<u32> {
    let mut out = Vec::new();
    wheel.advance(now, |_, v| out.push(v));
    out
}

#[test]
fn fires_in_deadline_order_ties_in_insertion_order() {
    let mut w = Wheel::new();
    for (i, d) in [50u64, 3, 7000, 3, 64, 63, 0, 4096, 7000, 1 << 20]
        .into_iter()
        .enumerate()
    {
        w.insert(d, i as u32);
    }
    assert_eq!(w.len(), 10);
    assert_eq!(w.next_deadline(), Some(0));
    assert_eq!(drain(&mut w, 63), [6, 1, 3, 0, 5]);
    assert_eq!(w.next_deadline(), Some(64));
    assert_eq!(drain(&mut w, 7000), [4, 7, 2, 8]);
    assert_eq!(w.next_deadline(), Some(1 << 20));
    assert_eq!(drain(&mut w, (1 << 20) - 1), Vec::<u32>::new());
    assert_eq!(drain(&mut w, u64::MAX), [9]);
    assert!(w.is_empty());
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn nothing_fires_early() {
    let mut w = Wheel::new();
    w.insert(1000, 1);
    for now in 0..1000 {
        assert!(w.poll_expired(now).is_none(), "fired at {now}");
    }
    assert_eq!(w.poll_expired(1000).map(|(_, v)| v), Some(1));
}

#[test]
fn remove_is_exact_and_stale_keys_are_harmless() {
    let mut w = Wheel::new();
    let a = w.insert(10, 1);
    let b = w.insert(10, 2);
    let c = w.insert(1 << 40, 3);
    assert_eq!(w.remove(a), Some(1));
    assert_eq!(w.remove(a), None, "a key is stale once removed");
    assert_eq!(w.get(b), Some(&2));
    assert_eq!(w.deadline(c), Some(1 << 40));
    // Reuse a's storage: the old key must not reach the new entry.
    let d = w.insert(20, 4);
    assert_eq!(w.remove(a), None);
    assert_eq!(w.len(), 3);
    assert_eq!(drain(&mut w, 100), [2, 4]);
    assert_eq!(w.remove(b), None, "a fired entry's key is stale");
    assert_eq!(w.remove(d), None);
    assert_eq!(w.remove(c), Some(3));
    assert!(w.is_empty());
}

#[test]
fn past_deadlines_fire_on_next_poll_in_insertion_order() {
    let mut w = Wheel::new();
    assert!(drain(&mut w, 1000).is_empty());
    assert_eq!(w.elapsed(), 1001);
    w.insert(1001, 0);
    w.insert(500, 1);
    w.insert(3, 2);
    assert_eq!(w.next_deadline(), Some(1000));
    // Even a `now` in the past fires what is already due.
    assert_eq!(drain(&mut w, 0), [1, 2]);
    assert_eq!(drain(&mut w, 1001), [0]);
}

#[test]
fn overflow_entries_cascade_in_order() {
    let mut w = Wheel::new();
    let far = 1u64 << 37;
    w.insert(far + 5, 0);
    w.insert(far + 1, 1);
    w.insert(far * 3, 2);
    w.insert(MAX_TICK, 3);
    w.insert(u64::MAX, 4); // clamped to MAX_TICK
    w.insert(far + 1, 5);
    assert_eq!(w.next_deadline(), Some(far + 1));
    assert!(w.next_wakeup().unwrap() <= far + 1);
    assert!(drain(&mut w, far).is_empty());
    assert_eq!(drain(&mut w, far + 5), [1, 5, 0]);
    assert_eq!(w.next_deadline(), Some(far * 3));
    assert_eq!(drain(&mut w, u64::MAX), [2, 3, 4]);
}

#[test]
fn next_wakeup_is_a_lower_bound() {
    let mut w = Wheel::new();
    w.insert(5000, 0);
    let mut now = 0;
    let mut wakeups = 0;
    loop {
        let wake = w.next_wakeup().unwrap();
        assert!(wake <= 5000);
        now = now.max(wake);
        wakeups += 1;
        if !drain(&mut w, now).is_empty() {
            break;
        }
    }
    assert_eq!(now, 5000);
    assert!(wakeups <= 6, "{wakeups} wakeups");
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u64),
    Remove(usize),
    Advance(u64),
}

fn deadline_offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..70,
        3 => 0u64..5000,
        2 => 0u64..(1 << 20),
        1 => 0u64..(1 << 40),
        1 => Just(MAX_TICK),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => deadline_offset().prop_map(Op::Insert),
        // Absolute deadlines, often already in the past.
        1 => (0u64..3000).prop_map(|d| Op::Insert(d | (1 << 63))),
        2 => any::<usize>().prop_map(Op::Remove),
        3 => prop_oneof![
            4 => 0u64..70,
            3 => 0u64..5000,
            1 => 0u64..(1 << 22),
            1 => 0u64..(1 << 41),
        ]
        .prop_map(Op::Advance),
    ]
}

/// The reference: a sorted map keyed by (effective deadline, insertion
/// number). An entry inserted before the wheel's cursor is due at once.
#[derive(Default)]
struct Model {
    pending: BTreeMap<(u64, u64), u32>,
    by_id: HashMap<u32, (u64, u64)>,
    cursor: u64,
    seq: u64,
}

impl Model {
    fn insert(&mut self, deadline: u64, id: u32) {
        let deadline = deadline.min(MAX_TICK);
        let eff = if deadline < self.cursor {
            self.cursor - 1
        } else {
            deadline
        };
        self.seq += 1;
        self.pending.insert((eff, self.seq), id);
        self.by_id.insert(id, (eff, self.seq));
    }

    fn remove(&mut self, id: u32) -> Option<u32> {
        let k = self.by_id.remove(&id)?;
        self.pending.remove(&k)
    }

    fn advance(&mut self, now: u64) -> Vec<u32> {
        let now = now.min(MAX_TICK);
        let limit = now.max(self.cursor.saturating_sub(1));
        let mut fired = Vec::new();
        while let Some((&(eff, seq), &id)) = self.pending.first_key_value() {
            if eff > limit {
                break;
            }
            self.pending.remove(&(eff, seq));
            self.by_id.remove(&id);
            fired.push(id);
        }
        self.cursor = self.cursor.max(now + 1);
        fired
    }

    fn next_deadline(&self) -> Option<u64> {
        self.pending.first_key_value().map(|(&(eff, _), _)| eff)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn wheel_matches_model(ops in proptest::collection::vec(op(), 1..200)) {
        let mut wheel = Wheel::new();
        let mut model = Model::default();
        let mut keys: Vec<(Key, u32)> = Vec::new();
        let mut now = 0u64;
        for (id, op) in ops.into_iter().enumerate() {
            let id = id as u32;
            match op {
                Op::Insert(d) => {
                    let deadline = if d & (1 << 63) != 0 {
                        d & !(1 << 63)
                    } else {
                        now.saturating_add(d)
                    };
                    keys.push((wheel.insert(deadline, id), id));
                    model.insert(deadline, id);
                }
                Op::Remove(i) => {
                    if !keys.is_empty() {
                        let (key, kid) = keys[i % keys.len()];
                        prop_assert_eq!(wheel.remove(key), model.remove(kid));
                    }
                }
                Op::Advance(by) => {
                    now = now.saturating_add(by).min(MAX_TICK);
                    let mut fired = Vec::new();
                    wheel.advance(now, |_, v| fired.push(v));
                    prop_assert_eq!(fired, model.advance(now));
                }
            }
            prop_assert_eq!(wheel.len(), model.pending.len());
            prop_assert_eq!(wheel.next_deadline(), model.next_deadline());
            if let (Some(wake), Some(next)) = (wheel.next_wakeup(), wheel.next_deadline()) {
                prop_assert!(wake <= next);
            }
        }
        let fired: Vec<u32> = {
            let mut v = Vec::new();
            wheel.advance(MAX_TICK, |_, x| v.push(x));
            v
        };
        prop_assert_eq!(fired, model.advance(MAX_TICK));
        prop_assert!(wheel.is_empty());
    }
}

#[test]
fn a_million_pending_entries() {
    const N: u64 = 1_000_000;
    const HOUR_MS: u64 = 3_600_000;
    let mut w = Wheel::with_capacity(N as usize);
    let mut keys = Vec::with_capacity(N as usize);
    for i in 0..N {
        // Spread over an hour, in a scrambled order.
        let deadline = (i * 7919) % HOUR_MS;
        keys.push(w.insert(deadline, i as u32));
    }
    assert_eq!(w.len(), N as usize);
    // Cancel every odd one.
    let mut cancelled = 0;
    for (i, key) in keys.iter().enumerate() {
        if i % 2 == 1 {
            assert_eq!(w.remove(*key), Some(i as u32));
            cancelled += 1;
        }
    }
    assert_eq!(cancelled, N / 2);
    assert_eq!(w.len(), (N / 2) as usize);
    // Fire the rest, in steps, checking the order.
    let mut fired = 0u64;
    let mut last = 0u64;
    let mut now = 0;
    while now < HOUR_MS {
        now += 60_000;
        w.advance(now, |_, v| {
            let deadline = (u64::from(v) * 7919) % HOUR_MS;
            assert!(deadline >= last && deadline <= now);
            assert_eq!(v % 2, 0);
            last = deadline;
            fired += 1;
        });
    }
    assert_eq!(fired, N / 2);
    assert!(w.is_empty());
}
