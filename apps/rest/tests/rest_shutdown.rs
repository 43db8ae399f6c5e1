//! Graceful shutdown of the real binary loses no acknowledged write: run
//! `rest --port 0` (on SQLite, then on PostgreSQL), read its address from
//! its stdout, load it with PUTs from 16 tasks, send it SIGTERM mid-load,
//! and once it has exited 0, find every write it answered `201` in the
//! database, read with plain SQL.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::pg::PgServer;
use support::{put, TempDir};

const TASKS: usize = 16;
/// A hard bound on each task's requests.
const MAX_REQUESTS: usize = 20_000;
/// Acknowledged writes before SIGTERM.
const BEFORE_SIGTERM: usize = 300;
/// How long the binary gets to start, and to exit after SIGTERM.
const LIMIT: Duration = Duration::from_secs(30);

/// The binary, killed if the test ends before it exits.
struct Rest {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Rest {
    /// Starts `rest --port 0 ARGS`, with `DATABASE_URL` set to
    /// `database_url` or unset; waits for its address.
    fn start(args: &[&str], database_url: Option<&str>) -> (Rest, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rest"));
        cmd.args(["--port", "0"])
            .args(args)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = database_url {
            cmd.env("DATABASE_URL", url);
        }
        let mut child = cmd.spawn().expect("start the rest binary");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let rest = Rest {
            child,
            lines,
            stderr: Some(stderr),
        };
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rest
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("rest printed no address within {LIMIT:?} (or exited)"));
            if let Some((_, rest_of_line)) = line.split_once("======== Running on http://") {
                let addr = rest_of_line.trim_end_matches(" ========").to_owned();
                return (rest, addr);
            }
        }
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (bounded) for the exit; asserts it was 0 and returns what it
    /// printed after the address, and on stderr.
    fn exit(mut self) -> (String, String) {
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for rest") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "rest did not exit within {LIMIT:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        // The rest of its stdout, up to the end of the pipe (the reader
        // thread may still be on its way there).
        let mut stdout = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => stdout.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("rest's stdout never ended"),
            }
        }
        let stdout = stdout.join("\n");
        let stderr = self
            .stderr
            .take()
            .map(|reader| reader.join().expect("the stderr reader"))
            .unwrap_or_default();
        assert!(
            status.success(),
            "rest exited with {status}\n{stdout}\n{stderr}"
        );
        (stdout, stderr)
    }
}

impl Drop for Rest {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Loads the service at `addr` with PUTs of new ids; sends SIGTERM after
/// [`BEFORE_SIGTERM`] acknowledgements; returns every acknowledged write
/// once the load ends (each task stops at its first refused request).
fn load_then_sigterm(rt: &tulipa::Runtime, rest: &Rest, addr: &str) -> HashMap<i64, Value> {
    let client = support::client();
    let acked = Arc::new(Mutex::new(HashMap::new()));
    let acks = Arc::new(AtomicUsize::new(0));
    let wrong = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (client, acked, acks, wrong) =
                (client.clone(), acked.clone(), acks.clone(), wrong.clone());
            let base = format!("http://{addr}/stuff/");
            rt.spawn(async move {
                for n in 0..MAX_REQUESTS {
                    let id = (task * MAX_REQUESTS + n) as i64;
                    let doc = json!({"task": task, "n": n, "pad": "graceful"});
                    match put(&client, &format!("{base}{id}"), &doc).await {
                        Ok((201, _)) => {
                            acked.lock().unwrap().insert(id, doc);
                            acks.fetch_add(1, Ordering::AcqRel);
                        }
                        Ok(other) => {
                            wrong.lock().unwrap().push(format!("PUT {id}: {other:?}"));
                            break;
                        }
                        // The server is gone: refused, or closed.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + LIMIT;
    while acks.load(Ordering::Acquire) < BEFORE_SIGTERM {
        assert!(
            Instant::now() < deadline,
            "fewer than {BEFORE_SIGTERM} writes acknowledged in {LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    rest.sigterm();
    rt.block_on(async {
        for task in tasks {
            task.await.expect("a load task panicked");
        }
    });
    let wrong = wrong.lock().unwrap().clone();
    assert!(wrong.is_empty(), "answers other than 201: {wrong:#?}");
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= BEFORE_SIGTERM);
    acked
}

fn check_clean_exit(stdout: &str, stderr: &str) {
    assert!(stderr.contains("received SIGTERM"), "{stderr}");
    assert!(stdout.contains("rest: stopped:"), "{stdout}");
    assert!(stdout.contains(", 0 cut"), "no request was cut: {stdout}");
}

#[test]
fn sigterm_on_sqlite_loses_no_acknowledged_write() {
    let dir = TempDir::new("sigterm");
    let db = dir.path().join("rest.db");
    let (rest, addr) = Rest::start(&["--db", db.to_str().unwrap()], None);
    let rt = tulipa::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    let acked = load_then_sigterm(&rt, &rest, &addr);
    let (stdout, stderr) = rest.exit();
    check_clean_exit(&stdout, &stderr);

    let stored = support::sqlite_docs(&db);
    for (id, doc) in &acked {
        assert_eq!(stored.get(id), Some(doc), "acknowledged write {id} lost");
    }
}

#[test]
fn sigterm_on_postgres_loses_no_acknowledged_write() {
    let pg = PgServer::start();
    let (rest, addr) = Rest::start(&[], Some(&pg.url()));
    let rt = tulipa::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    let acked = load_then_sigterm(&rt, &rest, &addr);
    let (stdout, stderr) = rest.exit();
    check_clean_exit(&stdout, &stderr);

    let stored = rt.block_on(support::pg_docs(pg.port()));
    for (id, doc) in &acked {
        assert_eq!(stored.get(id), Some(doc), "acknowledged write {id} lost");
    }
}
