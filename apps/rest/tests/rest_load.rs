//! 10,000 PUT/GET pairs from 64 tasks, on each store, with every outcome
//! counted:
//!
//! - each task writes its own ids (read back exactly) and ids shared by
//!   all tasks (read back as some write to that id, and never as an older
//!   write of the reader's own);
//! - every PUT is acknowledged, and per id exactly one answer is `201`;
//! - afterwards, read with plain SQL, the database holds exactly the ids
//!   written, each with the last write of some task (last writer wins: a
//!   task's earlier write can never outlive its own later one).
//!
//! The ids each pair writes come from a fixed-seed generator: the run is
//! the same every time but for the interleaving.

mod support;

use std::collections::{HashMap, HashSet};

use rest::postgres::PgOptions;
use serde_json::{json, Value};
use support::pg::PgServer;
use support::{get, put, Service, TempDir};

const PAIRS: usize = 10_000;
const TASKS: usize = 64;
/// Ids every task writes.
const SHARED: i64 = 40;
/// Ids each task owns, cycled through.
const OWN: i64 = 6;

/// What one task saw of one PUT/GET pair.
struct Pair {
    id: i64,
    seq: usize,
    put_status: u16,
}

fn own_id(task: usize, k: i64) -> i64 {
    1_000_000 + task as i64 * 100 + k
}

/// xorshift64: deterministic ids without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Runs the load and checks what the service answered; returns every
/// task's pairs, by task.
fn load(service: &Service) -> Vec<Vec<Pair>> {
    let client = service.client.clone();
    let base = service.url("");
    service.rt.block_on(async move {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let client = client.clone();
                let base = base.clone();
                tulipa::spawn(async move {
                    let mut rng = 0x9E37_79B9_7F4A_7C15 ^ (task as u64 + 1);
                    let mut pairs = Vec::new();
                    for seq in (task..PAIRS).step_by(TASKS) {
                        let pick = next(&mut rng);
                        let shared = pick.is_multiple_of(2);
                        let id = if shared {
                            (pick >> 8) as i64 % SHARED
                        } else {
                            own_id(task, (pick >> 8) as i64 % OWN)
                        };
                        let doc = json!({"id": id, "task": task, "seq": seq, "pad": "tulipa"});
                        let url = format!("{base}{id}");
                        let (put_status, answer) = put(&client, &url, &doc)
                            .await
                            .unwrap_or_else(|e| panic!("task {task}: PUT {id} failed: {e}"));
                        assert!(
                            put_status == 201 || put_status == 200,
                            "task {task}: PUT {id}: {put_status} {answer}"
                        );
                        assert_eq!(answer["created"], json!(put_status == 201));
                        let (status, back) = get(&client, &url)
                            .await
                            .unwrap_or_else(|e| panic!("task {task}: GET {id} failed: {e}"));
                        assert_eq!(status, 200, "task {task}: GET {id} after its PUT: {back}");
                        if shared {
                            assert_eq!(back["id"], json!(id), "another id's document");
                            // Another task's write may have come after ours;
                            // our own older write never.
                            if back["task"] == json!(task) {
                                assert_eq!(back, doc, "task {task} read its own older write");
                            }
                        } else {
                            assert_eq!(back, doc, "task {task}: its own id {id} read back");
                        }
                        pairs.push(Pair {
                            id,
                            seq,
                            put_status,
                        });
                    }
                    pairs
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.expect("a load task panicked"));
        }
        all
    })
}

/// The counts and the final state, against what the database holds.
fn check(pairs: &[Vec<Pair>], stored: &HashMap<i64, Value>) {
    let total: usize = pairs.iter().map(Vec::len).sum();
    assert_eq!(total, PAIRS, "every pair ran");

    let mut created: HashMap<i64, usize> = HashMap::new();
    let mut replaced = 0;
    // For each id, the last write of each task: the only candidates for
    // the document left.
    let mut last: HashMap<i64, HashMap<usize, usize>> = HashMap::new();
    for (task, pairs) in pairs.iter().enumerate() {
        for pair in pairs {
            match pair.put_status {
                201 => *created.entry(pair.id).or_default() += 1,
                _ => replaced += 1,
            }
            last.entry(pair.id).or_default().insert(task, pair.seq);
        }
    }
    let written: HashSet<i64> = last.keys().copied().collect();
    for id in &written {
        assert_eq!(created.get(id), Some(&1), "id {id}: exactly one 201");
    }
    assert_eq!(created.len() + replaced, PAIRS, "201s + 200s");
    assert_eq!(
        stored.len(),
        written.len(),
        "the database holds exactly the ids written"
    );
    for (id, doc) in stored {
        let candidates = last
            .get(id)
            .unwrap_or_else(|| panic!("id {id} was never written"));
        let task = doc["task"].as_u64().expect("a task") as usize;
        let seq = doc["seq"].as_u64().expect("a seq") as usize;
        assert_eq!(doc["id"], json!(id));
        assert_eq!(
            candidates.get(&task),
            Some(&seq),
            "id {id} holds write {seq} of task {task}, not that task's last write to it"
        );
    }
}

#[test]
fn ten_thousand_pairs_on_sqlite() {
    let dir = TempDir::new("load");
    let path = dir.path().join("rest.db");
    let service = Service::sqlite(&path);
    let pairs = load(&service);
    drop(service);
    check(&pairs, &support::sqlite_docs(&path));
}

#[test]
fn ten_thousand_pairs_on_postgres() {
    let pg = PgServer::start();
    let service = Service::postgres(&pg.url(), PgOptions::default());
    let pairs = load(&service);
    let port = pg.port();
    let stored = service.rt.block_on(support::pg_docs(port));
    drop(service);
    check(&pairs, &stored);
}
