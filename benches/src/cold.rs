//! `spawn_many_cold`: one run per fresh process.
//!
//! In the usual harness every run of a runtime follows earlier runs in the
//! same process, so the allocator hands out memory it already has: the warm
//! `spawn_many` measures the runtime's own work. A program that spawns a
//! million tasks once pays the allocator's growth and the kernel's
//! first-touch page faults too, and runtimes differ in how much memory a
//! task takes. This module re-executes the bench binary with the hidden
//! first argument `--cold RUNTIME quick|full` for each run; the child builds
//! the runtime, runs the benchmark once (timed inside its task, as every
//! benchmark is) and prints the nanoseconds on stdout.

use std::process::{Command, ExitCode};
use std::time::Duration;

use crate::benches::{Bench, Run, Sample, Size};
use crate::rt::Flavour;

/// Runs `bench` once on `flavour` in a child process and returns its sample.
///
/// # Panics
///
/// Panics, naming the command and what it printed, when the child cannot
/// be started, fails, or prints something that is not a number: a
/// benchmark table with a silently missing figure would mislead.
pub(crate) fn run(bench: Bench, flavour: Flavour, size: Size) -> Sample {
    let exe = std::env::current_exe().expect("cannot find the bench binary to re-execute");
    let quick = if size.quick { "quick" } else { "full" };
    let output = Command::new(&exe)
        .args(["--cold", bench.name(), &flavour.name(), quick])
        .output()
        .unwrap_or_else(|e| panic!("cannot start {} --cold: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let nanos: Option<u64> = stdout.trim().parse().ok();
    match (output.status.success(), nanos) {
        (true, Some(n)) => Sample::one(Duration::from_nanos(n)),
        _ => panic!(
            "{} --cold {} {} {quick} failed ({}): stdout {:?}, stderr {:?}",
            exe.display(),
            bench.name(),
            flavour.name(),
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// The child's side: `--cold BENCH RUNTIME quick|full`.
pub(crate) fn child_main(args: &[String]) -> ExitCode {
    let parsed = match args {
        [bench, runtime, quick] => Bench::ALL
            .into_iter()
            .find(|b| b.name() == bench && b.cold())
            .zip(Flavour::all().into_iter().find(|f| f.name() == *runtime))
            .zip(match quick.as_str() {
                "quick" => Some(true),
                "full" => Some(false),
                _ => None,
            }),
        _ => None,
    };
    let Some(((bench, flavour), quick)) = parsed else {
        eprintln!(
            "tulipa-benches --cold: expected `BENCH RUNTIME quick|full` (BENCH: spawn_many_cold; \
             RUNTIME: e.g. tulipa-multi), got {args:?}"
        );
        return ExitCode::FAILURE;
    };
    let sample = flavour.run(Run {
        bench,
        size: Size { quick },
    });
    println!("{}", sample.values[0].as_nanos());
    ExitCode::SUCCESS
}
