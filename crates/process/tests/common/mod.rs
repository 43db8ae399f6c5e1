//! Helpers shared by the test files (included with `mod common;`).
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Polls `cond` until it holds, for at most 20 s; panics naming `what`
/// otherwise. A bound for a condition that must become true, not a timing
/// assertion: it only fails if the condition never comes.
pub(crate) fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Whether process `pid` exists at all (running or zombie).
pub(crate) fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The state letter of process `pid` (`'Z'` for a zombie), if it exists.
pub(crate) fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) S ...`: the comm may contain spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// How many zombie children this process has.
pub(crate) fn zombie_children() -> usize {
    let me = std::process::id().to_string();
    let mut zombies = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if fields.len() > 1 && fields[0] == "Z" && fields[1] == me {
            zombies += 1;
        }
    }
    zombies
}

/// How many descriptors this process has open.
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Whether this process has a handler installed for signal number `sig`
/// (the `SigCgt` mask of `/proc/self/status`).
pub(crate) fn catches(sig: i32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .unwrap();
    mask & (1 << (sig - 1)) != 0
}

/// One runtime of each flavour: current-thread, and multi-thread with two
/// workers.
pub(crate) fn runtimes() -> Vec<tulipa::Runtime> {
    vec![
        tulipa::Runtime::builder().current_thread().build().unwrap(),
        tulipa::Runtime::builder()
            .multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ]
}
