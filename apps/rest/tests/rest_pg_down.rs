//! PostgreSQL stops under load and comes back: while it is down every
//! request is answered `503` with a message (none hangs: each is bounded by
//! the client's timeout, and the service bounds waiting for, opening and
//! using a connection); once it is back the same service, never
//! restarted, answers `201` again; and every write acknowledged before,
//! during or after the outage is in the database.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rest::postgres::PgOptions;
use serde_json::{json, Value};
use support::pg::PgServer;
use support::{get, put, Service};

/// Load tasks.
const TASKS: usize = 8;
/// A hard bound on each task's requests.
const MAX_REQUESTS: usize = 20_000;
/// How long the test waits for each phase before failing.
const PHASE_LIMIT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Seen {
    /// PUTs answered 201, with their documents.
    acked: Mutex<Vec<(i64, Value)>>,
    acks: AtomicUsize,
    unavailable: AtomicUsize,
    /// Anything but 201, 200 or 503 (or a GET's 404 of an unacked
    /// write): the test fails with these.
    wrong: Mutex<Vec<String>>,
}

impl Seen {
    fn acks(&self) -> usize {
        self.acks.load(Ordering::Acquire)
    }

    fn unavailable(&self) -> usize {
        self.unavailable.load(Ordering::Acquire)
    }
}

/// Waits until `count(seen)` reaches `target`, failing at once on a wrong
/// answer and after [`PHASE_LIMIT`].
async fn wait_for(seen: &Seen, what: &str, count: fn(&Seen) -> usize, target: usize) {
    let deadline = std::time::Instant::now() + PHASE_LIMIT;
    loop {
        let now = count(seen);
        if now >= target {
            return;
        }
        let wrong = seen.wrong.lock().unwrap().clone();
        assert!(wrong.is_empty(), "while waiting for {what}: {wrong:#?}");
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: only {now} of {target} in {PHASE_LIMIT:?}"
        );
        tulipa::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn postgres_down_gets_503_and_the_service_recovers_by_itself() {
    let pg = Arc::new(PgServer::start());
    let options = {
        let mut options = PgOptions::default();
        options.wait = Duration::from_secs(2);
        options.connect_timeout = Duration::from_secs(2);
        options.query_timeout = Duration::from_secs(5);
        options
    };
    let service = Service::postgres(&pg.url(), options);
    let seen = Arc::new(Seen::default());
    let stop = Arc::new(AtomicBool::new(false));
    let client = service.client.clone();
    let base = service.url("");

    let pg2 = pg.clone();
    let seen2 = seen.clone();
    service.rt.block_on(async move {
        let (pg, seen) = (pg2, seen2);
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let (client, base, seen, stop) =
                    (client.clone(), base.clone(), seen.clone(), stop.clone());
                tulipa::spawn(async move {
                    for n in 0..MAX_REQUESTS {
                        if stop.load(Ordering::Acquire) {
                            break;
                        }
                        let id = (task * MAX_REQUESTS + n) as i64;
                        let url = format!("{base}{id}");
                        let doc = json!({"task": task, "n": n});
                        let wrong = |what: String| seen.wrong.lock().unwrap().push(what);
                        match put(&client, &url, &doc).await {
                            Ok((201, _)) => {
                                seen.acked.lock().unwrap().push((id, doc.clone()));
                                seen.acks.fetch_add(1, Ordering::AcqRel);
                                // Read it back: the document, or 503; a 404
                                // would be an acknowledged write lost.
                                match get(&client, &url).await {
                                    Ok((200, back)) if back == doc => {}
                                    Ok((503, _)) => {
                                        seen.unavailable.fetch_add(1, Ordering::AcqRel);
                                    }
                                    other => wrong(format!("GET {id} after 201: {other:?}")),
                                }
                            }
                            Ok((503, body)) => {
                                if !body["error"]
                                    .as_str()
                                    .is_some_and(|m| m.contains("database unavailable"))
                                {
                                    wrong(format!("PUT {id}: 503 without a message: {body}"));
                                }
                                seen.unavailable.fetch_add(1, Ordering::AcqRel);
                                // As a client honouring Retry-After would,
                                // if sooner.
                                tulipa::time::sleep(Duration::from_millis(5)).await;
                            }
                            other => wrong(format!("PUT {id}: {other:?}")),
                        }
                    }
                })
            })
            .collect();

        // Up: writes are acknowledged.
        wait_for(&seen, "writes before the outage", Seen::acks, 200).await;
        assert_eq!(seen.unavailable(), 0);

        // Down: 503s, fast.
        let down = pg.clone();
        tulipa::unblock(move || down.stop()).await;
        let acks_when_stopped = seen.acks();
        wait_for(&seen, "503s during the outage", Seen::unavailable, 100).await;

        // Back: the same service acknowledges writes again.
        let up = pg.clone();
        tulipa::unblock(move || up.restart()).await;
        let acks_after_restart = seen.acks();
        wait_for(
            &seen,
            "writes after the restart",
            Seen::acks,
            acks_after_restart.max(acks_when_stopped) + 200,
        )
        .await;

        stop.store(true, Ordering::Release);
        for task in tasks {
            task.await.expect("a load task panicked");
        }
    });

    let wrong = seen.wrong.lock().unwrap().clone();
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Every acknowledged write is there, read with plain SQL.
    let stored = service.rt.block_on(support::pg_docs(pg.port()));
    let acked = seen.acked.lock().unwrap().clone();
    println!(
        "{} writes acknowledged, {} answers 503 during the outage",
        acked.len(),
        seen.unavailable()
    );
    assert!(acked.len() >= 400);
    for (id, doc) in &acked {
        assert_eq!(stored.get(id), Some(doc), "acknowledged write {id} lost");
    }
    drop(service);
}
