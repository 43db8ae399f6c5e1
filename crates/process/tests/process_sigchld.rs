//! The `SIGCHLD` path (`TULIPA_NO_PIDFD=1`): waiting, output, orphans and
//! many children, with no pidfd. One test, because the switch is read once
//! per process, before the first child.

mod common;

use std::process::Stdio;

use common::{catches, eventually, exists, zombie_children};
use futures_lite::io::AsyncWriteExt;
use tulipa::process::Command;

#[test]
fn sigchld_reaping_works_end_to_end() {
    // Before any child exists, so the switch is seen.
    std::env::set_var("TULIPA_NO_PIDFD", "1");
    tulipa::run(async {
        // Exit statuses.
        let status = Command::new("sh")
            .args(["-c", "exit 3"])
            .status()
            .await
            .unwrap();
        assert_eq!(status.code(), Some(3));

        // A wait that must sleep until the SIGCHLD.
        let mut child = Command::new("sh")
            .args(["-c", "read x; exit 9"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let waiter = tulipa::spawn(async move { child.wait().await.unwrap() });
        tulipa::time::sleep(std::time::Duration::from_millis(20)).await;
        stdin.write_all(b"go\n").await.unwrap();
        assert_eq!(waiter.await.unwrap().code(), Some(9));

        // Output with pipes.
        let out = Command::new("echo").arg("hi").output().await.unwrap();
        assert_eq!(out.stdout, b"hi\n");

        // An orphan, reaped by the background reaper on SIGCHLD.
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
        let stdin = child.stdin.take();
        let pid = child.id().unwrap();
        drop(child);
        assert!(exists(pid));
        drop(stdin);
        eventually("the orphan to be reaped", || !exists(pid));

        // Many children at once, waited concurrently, and many dropped.
        let mut waits = Vec::new();
        for _ in 0..100 {
            let mut child = Command::new("true").spawn().unwrap();
            waits.push(tulipa::spawn(async move { child.wait().await.unwrap() }));
        }
        for w in waits {
            assert!(w.await.unwrap().success());
        }
        for _ in 0..200 {
            drop(Command::new("true").spawn().unwrap());
        }
        eventually("every orphan to be reaped", || {
            tulipa::process::orphan_count() == 0
        });
        eventually("no zombie children", || zombie_children() == 0);
    });
    // This path did install a SIGCHLD handler (the pidfd path never does).
    assert!(catches(tulipa::signal::SIGCHLD.as_raw()));
}
