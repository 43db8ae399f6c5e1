//! Process benchmarks: tulipa (`tulipa::process`) against tokio
//! (`tokio::process`) and smol (`smol::process`, the `async-process`
//! crate).
//!
//! - `process_spawn_wait`: spawn `true` and await its exit status, 1,000
//!   times in a row (standard streams inherited, no pipes).
//! - `process_output`: `echo hello` with its output collected (stdout and
//!   stderr piped, stdin null), 1,000 times in a row.
//!
//! The cost is dominated by the kernel (a `vfork`/`exec` and an exit per
//! child); what differs between runtimes is how the exit is noticed
//! (tulipa and tokio: a pidfd in the reactor; smol: its reaper) and how
//! the pipes are driven.
//!
//! As in `fs.rs`, the [`Rt`] trait knows nothing of processes, so the
//! runtime under test is recognised by its type.

use std::any::TypeId;
use std::time::Instant;

use crate::benches::{Sample, Size};
use crate::rt::{Rt, SmolLocal, SmolMulti, Tokio, Tulipa};

#[derive(Clone, Copy)]
enum Lib {
    Tulipa,
    Tokio,
    Smol,
}

fn lib_of<R: Rt>() -> Lib {
    let t = TypeId::of::<R>();
    if t == TypeId::of::<Tulipa>() {
        Lib::Tulipa
    } else if t == TypeId::of::<Tokio>() {
        Lib::Tokio
    } else if t == TypeId::of::<SmolMulti>() || t == TypeId::of::<SmolLocal>() {
        Lib::Smol
    } else {
        unreachable!("a runtime without a process library in the benchmarks")
    }
}

/// Which process benchmark to run.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    SpawnWait,
    Output,
}

fn children(size: Size) -> usize {
    if size.quick {
        100
    } else {
        1_000
    }
}

/// The report line of a process benchmark.
pub(crate) fn describe(shape: Shape, size: Size) -> String {
    let n = children(size);
    match shape {
        Shape::SpawnWait => format!(
            "process_spawn_wait: {n} times in a row, spawn `true` and await its exit status \
             (tulipa::process, tokio::process, smol::process)"
        ),
        Shape::Output => format!(
            "process_output: {n} times in a row, run `echo hello` and collect its output \
             (piped stdout and stderr) with Command::output"
        ),
    }
}

/// Runs one process benchmark on the runtime `R`.
pub(crate) async fn run<R: Rt>(_rt: R, shape: Shape, size: Size) -> Sample {
    let n = children(size);
    let lib = lib_of::<R>();
    let start = Instant::now();
    for _ in 0..n {
        match shape {
            Shape::SpawnWait => assert!(spawn_wait(lib).await),
            Shape::Output => assert_eq!(output(lib).await, b"hello\n"),
        }
    }
    Sample::one(start.elapsed())
}

/// Spawns `true` and waits; whether it succeeded.
async fn spawn_wait(lib: Lib) -> bool {
    match lib {
        Lib::Tulipa => tulipa::process::Command::new("true")
            .status()
            .await
            .unwrap()
            .success(),
        Lib::Tokio => tokio::process::Command::new("true")
            .status()
            .await
            .unwrap()
            .success(),
        Lib::Smol => smol::process::Command::new("true")
            .status()
            .await
            .unwrap()
            .success(),
    }
}

/// Runs `echo hello` and returns its stdout.
async fn output(lib: Lib) -> Vec<u8> {
    match lib {
        Lib::Tulipa => {
            tulipa::process::Command::new("echo")
                .arg("hello")
                .output()
                .await
                .unwrap()
                .stdout
        }
        Lib::Tokio => {
            tokio::process::Command::new("echo")
                .arg("hello")
                .output()
                .await
                .unwrap()
                .stdout
        }
        Lib::Smol => {
            smol::process::Command::new("echo")
                .arg("hello")
                .output()
                .await
                .unwrap()
                .stdout
        }
    }
}
