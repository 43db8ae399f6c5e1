//! Standard streams. The stdin/stdout round trip runs in a child process:
//! this test binary runs itself with `--ignored --exact child_echo`, feeds
//! its stdin and checks what comes out of its stdout and stderr.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};

use futures_lite::future::{block_on, poll_once};
use futures_lite::{AsyncReadExt, AsyncWriteExt};

const LINES: usize = 2000;
const WRITERS: usize = 4;

fn line(i: usize) -> String {
    // Lines of different lengths, some long.
    format!("line {i} {}", "x".repeat((i * 37) % 3000))
}

/// The child side, run only by `stdin_to_stdout_through_a_child`.
#[test]
#[ignore = "helper: run by stdin_to_stdout_through_a_child in a child process"]
fn child_echo() {
    // A read that is started and then dropped must not lose the bytes it
    // fetched: the next handle gets them.
    let mut first = tulipa_fs::stdin();
    let mut byte = [0u8; 1];
    let early = block_on(poll_once(first.read(&mut byte)));
    drop(first);
    let mut input = Vec::new();
    if let Some(n) = early {
        input.extend_from_slice(&byte[..n.unwrap()]);
    }
    block_on(tulipa_fs::stdin().read_to_end(&mut input)).unwrap();
    let text = String::from_utf8(input).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();

    // Several writers at once, each line one write_all.
    let threads: Vec<_> = (0..WRITERS)
        .map(|w| {
            let mine: Vec<String> = lines.iter().skip(w).step_by(WRITERS).cloned().collect();
            std::thread::spawn(move || {
                block_on(async {
                    let mut out = tulipa_fs::stdout();
                    for l in mine {
                        out.write_all(format!("ECHO:{}\n", l.to_uppercase()).as_bytes())
                            .await
                            .unwrap();
                    }
                    out.flush().await.unwrap();
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    block_on(async {
        let mut err = tulipa_fs::stderr();
        err.write_all(format!("ERR:{} lines\n", lines.len()).as_bytes())
            .await
            .unwrap();
        err.flush().await.unwrap();
    });
}

#[test]
fn stdin_to_stdout_through_a_child() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "child_echo",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0..LINES {
            stdin
                .write_all(format!("{}\n", line(i)).as_bytes())
                .unwrap();
        }
        // Dropping closes the pipe: the child sees end of input.
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    feeder.join().unwrap();
    let err = err_reader.join().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "child failed: {err}");

    // Every line arrives exactly once and whole (never interleaved with
    // another writer's line).
    let mut want: HashMap<String, usize> = HashMap::new();
    for i in 0..LINES {
        *want.entry(line(i).to_uppercase()).or_default() += 1;
    }
    let mut got: HashMap<String, usize> = HashMap::new();
    for l in out.split('\n') {
        if let Some(at) = l.find("ECHO:") {
            *got.entry(l[at + 5..].to_string()).or_default() += 1;
        }
    }
    assert_eq!(got.len(), want.len(), "distinct lines");
    assert!(got == want, "lines were lost, duplicated or torn");
    assert!(err.contains(&format!("ERR:{LINES} lines")), "{err}");
}

#[test]
fn stdout_and_stderr_from_many_tasks_in_process() {
    let threads: Vec<_> = (0..2)
        .map(|t| {
            std::thread::spawn(move || {
                block_on(async {
                    let mut out = tulipa_fs::stdout();
                    let mut err = tulipa_fs::stderr();
                    for i in 0..2 {
                        out.write_all(format!("stdout test: thread {t} line {i}\n").as_bytes())
                            .await?;
                        err.write_all(format!("stderr test: thread {t} line {i}\n").as_bytes())
                            .await?;
                    }
                    out.flush().await?;
                    err.close().await?;
                    // An empty write accepts nothing and does not fail.
                    assert_eq!(out.write(b"").await?, 0);
                    std::io::Result::Ok(())
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    assert!(format!("{:?}", tulipa_fs::stdout()).starts_with("Stdout"));
}
