//! Pipes in both directions: large payloads with no deadlock, concurrent
//! stdout/stderr collection, pipelines, and `BrokenPipe` on a closed stdin.

use std::io::ErrorKind;
use std::process::Stdio;

use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};
use tulipa::process::Command;

fn runtimes() -> Vec<tulipa::Runtime> {
    vec![
        tulipa::Runtime::builder().current_thread().build().unwrap(),
        tulipa::Runtime::builder()
            .multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ]
}

/// A payload that is not all one byte, so a reordering would show.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn cat_echoes_several_mib_while_we_write() {
    for rt in runtimes() {
        rt.block_on(async {
            let data = payload(6 << 20);
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let mut stdout = child.stdout.take().unwrap();
            // Writing all before reading would deadlock on full pipes
            // (64 KiB each): both run concurrently.
            let write = async {
                stdin.write_all(&data).await.unwrap();
                drop(stdin);
            };
            let read = async {
                let mut back = Vec::new();
                stdout.read_to_end(&mut back).await.unwrap();
                back
            };
            let ((), back) = future::zip(write, read).await;
            assert_eq!(back.len(), data.len());
            assert!(back == data, "cat returned different bytes");
            assert!(child.wait().await.unwrap().success());
        });
    }
}

#[test]
fn output_collects_large_stdout_and_stderr_concurrently() {
    for rt in runtimes() {
        rt.block_on(async {
            // 3 MiB on each stream: reading one to the end before the other
            // would leave the child blocked on the other full pipe.
            let out = Command::new("sh")
                .args([
                    "-c",
                    "head -c 3145728 /dev/zero; head -c 3145728 /dev/zero >&2; \
                     head -c 1000 /dev/zero; exit 5",
                ])
                .output()
                .await
                .unwrap();
            assert_eq!(out.stdout.len(), 3 * 1024 * 1024 + 1000);
            assert_eq!(out.stderr.len(), 3 * 1024 * 1024);
            assert_eq!(out.status.code(), Some(5));
        });
    }
}

#[test]
fn output_defaults_to_null_stdin_and_respects_explicit_streams() {
    tulipa::run(async {
        // stdin defaults to null: `cat` sees end-of-file at once.
        let out = Command::new("cat").output().await.unwrap();
        assert!(out.status.success());
        assert!(out.stdout.is_empty());

        // An explicit stdout (null) is not overridden by output's default.
        let mut cmd = Command::new("echo");
        cmd.arg("hidden").stdout(Stdio::null());
        let out = cmd.output().await.unwrap();
        assert!(out.stdout.is_empty());

        // The defaults did not stick: spawn still inherits (no pipes).
        let mut cmd = Command::new("true");
        cmd.output().await.unwrap();
        let mut child = cmd.spawn().unwrap();
        assert!(child.stdin.is_none() && child.stdout.is_none() && child.stderr.is_none());
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn pipeline_passes_a_child_stdout_to_the_next_child() {
    tulipa::run(async {
        let mut first = Command::new("printf")
            .arg("one\\ntwo\\nthree\\n")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe = Stdio::try_from(first.stdout.take().unwrap()).unwrap();
        let wc = Command::new("wc")
            .arg("-l")
            .stdin(pipe)
            .output()
            .await
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&wc.stdout).trim(), "3");
        assert!(first.wait().await.unwrap().success());
    });
}

#[test]
fn writing_to_a_closed_stdin_is_broken_pipe_and_we_live_on() {
    tulipa::run(async {
        let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
        // Keep stdin: `wait` would close it.
        let mut stdin = child.stdin.take().unwrap();
        assert!(child.wait().await.unwrap().success());
        let err = stdin.write_all(&payload(1 << 20)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        // Still alive (SIGPIPE is ignored), and the runtime still works.
        let status = Command::new("true").status().await.unwrap();
        assert!(status.success());
    });
}

#[test]
fn wait_closes_stdin_so_a_reader_child_finishes() {
    tulipa::run(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"some input")
            .await
            .unwrap();
        // `cat` ends only at end-of-file; `wait` closes stdin first.
        assert!(child.wait().await.unwrap().success());
        assert!(child.stdin.is_none());
    });
}

#[test]
fn pipes_work_under_a_bare_block_on_with_no_runtime() {
    let out = future::block_on(async {
        let mut child = Command::new("sh")
            .args(["-c", "read line; echo got $line"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"ping\n").await.unwrap();
        child.wait_with_output().await.unwrap()
    });
    assert_eq!(out.stdout, b"got ping\n");
}

#[test]
fn stdio_conversions_restore_blocking_mode() {
    tulipa::run(async {
        let mut child = Command::new("sh")
            .args(["-c", "echo hi"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let std_out = child.stdout.take().unwrap().into_std().unwrap();
        // A blocking read works (and would fail with WouldBlock if the
        // descriptor had stayed non-blocking before the child wrote).
        let mut s = String::new();
        std::io::Read::read_to_string(&mut { std_out }, &mut s).unwrap();
        assert_eq!(s, "hi\n");
        assert!(child.wait().await.unwrap().success());
    });
}
