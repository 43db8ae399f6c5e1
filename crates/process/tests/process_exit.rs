//! Exit statuses, death by signal, kill and kill_on_drop, orphans, spawn
//! errors, the builder's options, and the auto traits of the public types.

mod common;

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use common::{eventually, exists, runtimes, state};
use futures_lite::io::AsyncReadExt;
use tulipa::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use tulipa::signal::{SIGKILL, SIGTERM};

#[test]
fn exit_codes_come_back() {
    tulipa::run(async {
        for code in [0, 1, 3, 255] {
            let status = Command::new("sh")
                .args(["-c", &format!("exit {code}")])
                .status()
                .await
                .unwrap();
            assert_eq!(status.code(), Some(code));
            assert_eq!(status.signal(), None);
        }
    });
}

#[test]
fn death_by_signal_is_reported() {
    tulipa::run(async {
        let status = Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .status()
            .await
            .unwrap();
        assert_eq!(status.code(), None);
        assert_eq!(status.signal(), Some(SIGTERM.as_raw()));

        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        child.start_kill().unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(SIGKILL.as_raw()));

        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        child.terminate().unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(SIGTERM.as_raw()));
    });
}

/// Issue 13: signalling a reaped child is asyncio's `ProcessLookupError`
/// (`NotFound`), not a silent `Ok`.
#[test]
fn signalling_a_reaped_child_is_not_found() {
    for rt in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
            let pid = child.id().unwrap();
            child.kill().await.unwrap();
            // Reaped: no pid any more, and nothing left to signal.
            assert_eq!(child.id(), None);
            assert!(!exists(pid) || state(pid) != Some('Z'));
            for err in [
                child.start_kill().unwrap_err(),
                child.terminate().unwrap_err(),
                child.send_signal(SIGTERM).unwrap_err(),
                child.kill().await.unwrap_err(),
            ] {
                assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
                assert!(err.to_string().contains("already exited"), "{err}");
            }
            assert_eq!(child.wait().await.unwrap().signal(), Some(9));
            assert_eq!(child.try_wait().unwrap().unwrap().signal(), Some(9));

            // Exited but not reaped yet: the call reaps it, and reports it gone.
            let mut child = Command::new("true").spawn().unwrap();
            let pid = child.id().unwrap();
            eventually("`true` exits", || state(pid) == Some('Z'));
            let err = child.terminate().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
            assert!(child.try_wait().unwrap().unwrap().success());
        });
    }
}

#[test]
fn try_wait_reports_running_then_the_status() {
    tulipa::run(async {
        let mut child = Command::new("sh")
            .args(["-c", "read x; exit 7"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(child.try_wait().unwrap().is_none());
        assert!(child.id().is_some());
        drop(child.stdin.take());
        let status = child.wait().await.unwrap();
        assert_eq!(status.code(), Some(7));
        assert_eq!(child.try_wait().unwrap(), Some(status));
    });
}

#[test]
fn a_cancelled_wait_loses_nothing() {
    tulipa::run(async {
        let mut child = Command::new("sh")
            .args(["-c", "read x; exit 4"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        // A wait that is dropped before the exit...
        let early = tulipa::time::timeout(std::time::Duration::from_millis(20), child.wait()).await;
        assert!(early.is_err());
        drop(stdin);
        // ...and the next wait still sees it.
        assert_eq!(child.wait().await.unwrap().code(), Some(4));
    });
}

#[test]
fn kill_on_drop_kills_and_reaps() {
    tulipa::run(async {
        let child = Command::new("sleep")
            .arg("1000")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        assert!(exists(pid));
        drop(child);
        // Killed, then reaped in the background: gone from /proc entirely.
        eventually("the killed child to be reaped", || !exists(pid));
    });
}

#[test]
fn a_dropped_child_keeps_running_then_is_reaped() {
    tulipa::run(async {
        let mut child = Command::new("sh")
            .args(["-c", "read x"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let pid = child.id().unwrap();
        drop(child);
        // Not killed: still there (blocked reading) until its stdin closes.
        assert!(exists(pid));
        assert_ne!(state(pid), Some('Z'));
        drop(stdin);
        eventually("the orphan to be reaped", || !exists(pid));
    });
}

#[test]
fn orphans_are_reaped_after_the_runtime_is_gone() {
    let rt = tulipa::Runtime::new().unwrap();
    let (pid, stdin) = rt.block_on(async {
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
        let stdin = child.stdin.take();
        // A wait registers a pidfd with this runtime's reactor...
        assert!(
            tulipa::time::timeout(std::time::Duration::from_millis(5), child.wait())
                .await
                .is_err()
        );
        (child.id().unwrap(), stdin)
    });
    // (the child was dropped at the end of the block: it is an orphan)
    drop(rt);
    drop(stdin);
    eventually("the orphan to be reaped with no runtime", || !exists(pid));
}

#[test]
fn a_missing_program_is_named_in_the_error() {
    let err = Command::new("nonexistent-prog").spawn().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let msg = err.to_string();
    assert!(
        msg.starts_with("failed to spawn `nonexistent-prog`: No such file or directory"),
        "{msg}"
    );
    let source = std::error::Error::source(err.get_ref().unwrap()).unwrap();
    assert!(source.to_string().contains("os error 2"), "{source}");

    let err = Command::new("true")
        .current_dir("/nonexistent-dir")
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("`/nonexistent-dir`"), "{err}");

    // The async entry points report it too.
    let err =
        futures_lite::future::block_on(Command::new("nonexistent-prog").output()).unwrap_err();
    assert!(err.to_string().contains("`nonexistent-prog`"));
}

#[test]
fn env_dir_and_args_reach_the_child() {
    tulipa::run(async {
        let out = Command::new("sh")
            .args(["-c", "echo \"$A|$B|$HOME|$(pwd)|$0\""])
            .env_clear()
            .env("A", "1")
            .envs([("B", "2"), ("HOME", "h")])
            .env_remove("HOME")
            .current_dir("/")
            .output()
            .await
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "1|2||/|sh\n");
    });
}

#[test]
fn process_group_zero_makes_a_new_group() {
    tulipa::run(async {
        let mut child = Command::new("sh")
            .args(["-c", "ps -o pgid= -p $$"])
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .await
            .unwrap();
        child.wait().await.unwrap();
        if !out.trim().is_empty() {
            // `ps` exists: the group id is the child's own pid.
            assert_eq!(out.trim(), pid.to_string());
        }
    });
}

#[test]
fn many_children_waited_concurrently_on_worker_threads() {
    let rt = tulipa::Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let waits: Vec<_> = (0..200)
            .map(|i| {
                tulipa::spawn(async move {
                    let status = Command::new("sh")
                        .args(["-c", &format!("exit {}", i % 7)])
                        .status()
                        .await
                        .unwrap();
                    (i, status)
                })
            })
            .collect();
        for w in waits {
            let (i, status) = w.await.unwrap();
            assert_eq!(status.code(), Some(i % 7));
        }
    });
}

#[test]
fn thread_safety_of_public_types() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Command>();
    send_sync::<Child>();
    send_sync::<ChildStdin>();
    send_sync::<ChildStdout>();
    send_sync::<ChildStderr>();
    fn send<T: Send>(_: &T) {}
    let mut cmd = Command::new("true");
    send(&cmd.output());
    send(&cmd.status());
    let mut child = cmd.spawn().unwrap();
    send(&child.wait());
}

#[test]
fn a_wait_outlives_the_runtime_it_was_first_polled_on() {
    let rt = tulipa::Runtime::new().unwrap();
    let (mut child, stdin) = rt.block_on(async {
        let mut child = Command::new("sh")
            .args(["-c", "read x; exit 3"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        // (`wait` would close stdin: keep it, so the child keeps running.)
        let stdin = child.stdin.take();
        // A wait registers the exit watch (a pidfd) with this runtime's
        // reactor, then gives up.
        assert!(
            tulipa::time::timeout(std::time::Duration::from_millis(5), child.wait())
                .await
                .is_err()
        );
        (child, stdin)
    });
    drop(rt);
    drop(stdin);
    // The watch's reactor is gone; waiting elsewhere still sees the exit.
    let status = tulipa::block_on(child.wait()).unwrap();
    assert_eq!(status.code(), Some(3));
}

#[test]
fn a_wait_under_a_shut_down_reactor_watches_through_the_global_one() {
    let reactor = tulipa_reactor::Reactor::new().unwrap();
    reactor.shutdown();
    let _entered = reactor.enter();
    let mut child = Command::new("sh").args(["-c", "exit 5"]).spawn().unwrap();
    let status = futures_lite::future::block_on(child.wait()).unwrap();
    assert_eq!(status.code(), Some(5));
    // The pidfd went to the process-wide reactor: no fallback to a
    // `SIGCHLD` handler (which would stay installed for good).
    assert!(!common::catches(tulipa::signal::SIGCHLD.as_raw()));
}
