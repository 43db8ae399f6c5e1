//! The peer programs of the HTTP tests, written by others: curl, nginx,
//! h2load, wrk, and a Python venv with aiohttp. `cargo xtask peers`
//! installs them (`cargo xtask ci` runs it first) and names them in
//! `<target>/peers/env`, one `NAME=/abs/path` a line; this module reads
//! that file. A missing peer fails the test with the command that installs
//! it: a peer test is never skipped.
//!
//! Include it with `#[path = "support/peers.rs"] mod peers;`. It uses
//! nothing but std, so it also works as a submodule of `support`.
#![allow(dead_code, unreachable_pub)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The names `cargo xtask peers` writes to its env file.
const NAMES: [&str; 5] = ["CURL", "NGINX", "H2LOAD", "WRK", "PYTHON"];

/// How long [`run_python`] and [`curl`] let their child run before killing
/// it.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The absolute path of the peer `name`: one of "CURL", "NGINX", "H2LOAD",
/// "WRK", "PYTHON" (the venv's python, which imports aiohttp).
///
/// # Panics
///
/// If `name` is not one of those, or the peer is not installed: no env
/// file, no line for `name`, or no file at the path it names. The message
/// says to run `cargo xtask peers`.
pub fn peer(name: &str) -> PathBuf {
    assert!(
        NAMES.contains(&name),
        "unknown peer {name:?}: the peers are {NAMES:?}"
    );
    let env_file = target_dir().join("peers").join("env");
    let missing = |why: String| -> ! {
        panic!(
            "{name} is not installed: run `cargo xtask peers` (it installs curl, nginx, \
             h2load, wrk and a Python venv with aiohttp); {why}"
        )
    };
    let text = std::fs::read_to_string(&env_file)
        .unwrap_or_else(|e| missing(format!("cannot read {}: {e}", env_file.display())));
    let path = text
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
        .map(PathBuf::from)
        .unwrap_or_else(|| missing(format!("{} has no {name}= line", env_file.display())));
    if !path.is_file() {
        missing(format!(
            "{} (named in {}) does not exist",
            path.display(),
            env_file.display()
        ));
    }
    path
}

/// Runs `python -c script args...` with the venv's python, and returns
/// what it printed and how it exited.
///
/// # Panics
///
/// If the python peer is not installed ([`peer`]) or cannot start, or the
/// script runs longer than 60 s (it is killed first); the message names the
/// script's first line.
pub fn run_python(script: &str, args: &[&str]) -> Output {
    let first_line = script
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("");
    let mut cmd = Command::new(peer("PYTHON"));
    cmd.arg("-c").arg(script).args(args);
    run_with_timeout(cmd, &format!("python script `{first_line}`"))
}

/// Runs `curl --silent --show-error --max-time 30 args...`, and returns
/// what it printed and how it exited.
///
/// # Panics
///
/// If the curl peer is not installed ([`peer`]) or cannot start, or it
/// runs longer than 60 s (it is killed first).
pub fn curl(args: &[&str]) -> Output {
    let mut cmd = Command::new(peer("CURL"));
    cmd.args(["--silent", "--show-error", "--max-time", "30"])
        .args(args);
    run_with_timeout(cmd, &format!("curl {}", args.join(" ")))
}

/// The target dir: `$CARGO_TARGET_DIR` (a relative one taken from the
/// workspace root, as `cargo xtask` does), else the workspace's `target`.
fn target_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// Runs `cmd` with no stdin and its output captured; kills it and panics,
/// naming `what`, if it runs longer than [`TIMEOUT`].
fn run_with_timeout(mut cmd: Command, what: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start {:?}: {e}", cmd.get_program()));
    // Drained on threads of their own, so a child that fills one pipe
    // never blocks while we wait on it.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < TIMEOUT => thread::sleep(Duration::from_millis(5)),
            Ok(None) => kill(child, what),
            Err(e) => panic!("{what}: cannot wait for it: {e}"),
        }
    };
    Output {
        status,
        stdout: stdout.join().expect("the stdout reader panicked"),
        stderr: stderr.join().expect("the stderr reader panicked"),
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

fn kill(mut child: Child, what: &str) -> ! {
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "{what} did not finish within {} s; killed it",
        TIMEOUT.as_secs()
    )
}
