//! Issue 13: `Child::communicate(input)`, asyncio's `communicate(input)`:
//! stdin fed while both outputs are read, closed after the input, and a
//! child that stops reading early is not an error.

mod common;

use std::io::ErrorKind;
use std::process::Stdio;

use common::runtimes;
use tulipa::process::{Child, Command};

/// A payload that is not all one byte, so a reordering would show.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn piped(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_child_that_writes_before_it_reads_does_not_deadlock() {
    for rt in runtimes() {
        rt.block_on(async {
            // 1 MiB on each output before reading any input: with the input
            // written first (or one output read after the other), both
            // sides would block on full 64 KiB pipes.
            let mut child = piped(&mut Command::shell(
                "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2; cat; exit 6",
            ));
            let input = payload(2 << 20);
            let out = child.communicate(&input).await.unwrap();
            assert_eq!(out.status.code(), Some(6));
            assert_eq!(out.stderr.len(), 1 << 20);
            assert_eq!(out.stdout.len(), (1 << 20) + input.len());
            assert!(out.stdout[..1 << 20].iter().all(|&b| b == 0));
            assert!(
                out.stdout[1 << 20..] == input[..],
                "cat returned different bytes"
            );
            // The status stays with the child; the pipes are gone.
            assert_eq!(child.try_wait().unwrap(), Some(out.status));
            assert!(child.stdin.is_none() && child.stdout.is_none() && child.stderr.is_none());
        });
    }
}

#[test]
fn stdin_is_closed_after_the_input() {
    for rt in runtimes() {
        rt.block_on(async {
            // `wc -c` answers only at end-of-file.
            let mut child = piped(Command::new("wc").arg("-c"));
            let out = child.communicate(b"twelve bytes").await.unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "12");
            assert!(out.status.success());

            // No input: closed at once (asyncio's `communicate()`).
            let mut child = piped(Command::new("wc").arg("-c"));
            let out = child.communicate(b"").await.unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
        });
    }
}

#[test]
fn a_child_that_exits_before_reading_its_input_is_not_an_error() {
    for rt in runtimes() {
        rt.block_on(async {
            // 4 MiB cannot fit in the pipe: the write meets a closed pipe.
            let input = payload(4 << 20);
            let mut child = piped(&mut Command::shell("echo bye; echo err >&2; exit 3"));
            let out = child.communicate(&input).await.unwrap();
            assert_eq!(out.status.code(), Some(3));
            assert_eq!(out.stdout, b"bye\n");
            assert_eq!(out.stderr, b"err\n");

            // Reads a little, then closes its stdin and carries on.
            let mut child = piped(&mut Command::shell("head -c 5; exec 0<&-; echo done"));
            let out = child.communicate(&input).await.unwrap();
            assert!(out.status.success());
            assert_eq!(out.stdout, [&input[..5], b"done\n"].concat());
        });
    }
}

#[test]
fn input_without_a_stdin_pipe_is_a_clear_error() {
    for rt in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("cat")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let err = child.communicate(b"lost?").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains("Stdio::piped()"), "{err}");
            // Nothing was taken: the same child still communicates.
            assert!(child.stdout.is_some());
            let out = child.communicate(b"").await.unwrap();
            assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty());
        });
    }
}
