//! Issue 13's builder options: the shell variant (`create_subprocess_shell`),
//! `stderr_to_stdout` (asyncio's `stderr=STDOUT`) and `start_new_session`.

mod common;

use std::io::ErrorKind;
use std::process::Stdio;

use common::runtimes;
use futures_lite::io::AsyncReadExt;
use tulipa::process::Command;

/// Field `n` (1-based, after the `(comm)`) of `/proc/<pid>/stat`.
fn stat_field(pid: u32, n: usize) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    // Fields after the comm start at number 3 (the state).
    after
        .split_whitespace()
        .nth(n - 3)
        .unwrap()
        .parse()
        .unwrap()
}

fn session_of(pid: u32) -> i64 {
    stat_field(pid, 6)
}

fn group_of(pid: u32) -> i64 {
    stat_field(pid, 5)
}

#[test]
fn shell_runs_sh_dash_c_and_passes_arguments_untouched() {
    for rt in runtimes() {
        rt.block_on(async {
            let cmd = Command::shell("echo one; echo two | tr o 0; exit 4");
            assert_eq!(cmd.get_program(), "/bin/sh");
            let args: Vec<_> = cmd.get_args().collect();
            assert_eq!(args, ["-c", "echo one; echo two | tr o 0; exit 4"]);
            let out = Command::shell("echo one; echo two | tr o 0; exit 4")
                .output()
                .await
                .unwrap();
            assert_eq!(out.stdout, b"one\ntw0\n");
            assert_eq!(out.status.code(), Some(4));

            // Text passed as an argument is never parsed by the shell.
            let nasty = "a b; echo INJECTED $HOME `id` 'q\" *";
            let out = Command::shell(r#"printf '<%s>' "$1" "$0""#)
                .args(["name", nasty])
                .output()
                .await
                .unwrap();
            assert_eq!(out.stdout, format!("<{nasty}><name>").as_bytes());
        });
    }
}

#[test]
fn stderr_to_stdout_interleaves_both_streams_on_one_pipe() {
    for rt in runtimes() {
        rt.block_on(async {
            let script = "echo 1; echo 2 >&2; echo 3; echo 4 >&2";
            let out = Command::shell(script)
                .stderr_to_stdout()
                .output()
                .await
                .unwrap();
            assert_eq!(out.stdout, b"1\n2\n3\n4\n");
            assert!(out.stderr.is_empty());

            // With spawn: one pipe, no stderr pipe at all.
            let mut child = Command::shell(script)
                .stdout(Stdio::piped())
                .stderr_to_stdout()
                .spawn()
                .unwrap();
            assert!(child.stderr.is_none());
            let mut both = String::new();
            let mut stdout = child.stdout.take().unwrap();
            stdout.read_to_string(&mut both).await.unwrap();
            assert_eq!(both, "1\n2\n3\n4\n");
            assert!(child.wait().await.unwrap().success());

            // Into a null stdout: stderr is discarded with it.
            let mut cmd = Command::shell("echo gone >&2; echo gone");
            cmd.stdout(Stdio::null()).stderr_to_stdout();
            assert!(cmd.get_stderr_to_stdout());
            let out = cmd.output().await.unwrap();
            assert!(out.stdout.is_empty() && out.stderr.is_empty());

            // A later `stderr` call undoes it.
            let mut cmd = Command::shell("echo o; echo e >&2");
            cmd.stderr_to_stdout().stderr(Stdio::piped());
            assert!(!cmd.get_stderr_to_stdout());
            let out = cmd.output().await.unwrap();
            assert_eq!(
                (&out.stdout[..], &out.stderr[..]),
                (&b"o\n"[..], &b"e\n"[..])
            );
        });
    }
}

#[test]
fn start_new_session_makes_the_child_a_session_leader() {
    let me = std::process::id();
    for rt in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("sleep")
                .arg("1000")
                .start_new_session(true)
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let pid = child.id().unwrap();
            assert_eq!(session_of(pid), i64::from(pid));
            assert_eq!(group_of(pid), i64::from(pid));
            assert_ne!(session_of(me), i64::from(pid));
            child.kill().await.unwrap();

            // Off (the default, or turned off again): our session.
            let mut cmd = Command::new("sleep");
            cmd.arg("1000")
                .start_new_session(true)
                .start_new_session(false);
            assert!(!cmd.get_start_new_session());
            let mut child = cmd.kill_on_drop(true).spawn().unwrap();
            assert_eq!(session_of(child.id().unwrap()), session_of(me));
            child.kill().await.unwrap();
        });
    }
}

#[test]
fn start_new_session_with_a_process_group_is_a_clear_error() {
    let err = Command::new("true")
        .process_group(0)
        .start_new_session(true)
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let msg = err.to_string();
    assert!(msg.starts_with("failed to spawn `true`: "), "{msg}");
    assert!(
        msg.contains("start_new_session") && msg.contains("process_group"),
        "{msg}"
    );
}
