//! `cargo xtask`: the project's automation, written in Rust with std only.
//!
//! `main` dispatches subcommands with one `match` (the rust-analyzer xtask
//! pattern). Every command prints what it runs before running it; a failure
//! exits non-zero with a message naming the failed step. Child processes get
//! no stdin, so nothing ever waits on a prompt.
//!
//! `ci` starts with `peers` ([`peers`]): the HTTP tests run against real
//! programs (curl, nginx, h2load, wrk, Python's aiohttp), which it installs
//! when missing, so the tests never assume them present nor skip them.

mod chart;
mod peers;
mod tidy;

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  ci          peers, fmt, clippy, tests and doc tests, docs, examples, tidy,
              loom models
  peers       install what the HTTP tests run against, when missing: curl,
              nginx, h2load, wrk (apt-get) and a Python venv with aiohttp
              in <target>/peers/venv; paths written to <target>/peers/env
  peers --bench
              the same, and uvloop in that venv for the bench's Python echo
              servers (`bench -- --external`); ci never installs it
  test        only the tests step of ci (nextest when installed, else cargo test)
  tidy [DIR]  house rules (//! docs, SAFETY comments, no todo!/dbg!, file length)
  loom        loom models: RUSTFLAGS=\"--cfg tulipa_loom\", target dir <target>/loom
  bench ARGS  cargo run --release -p tulipa-benches -- ARGS
              (ARGS: benchmark names, --rounds N, --quick, --markdown;
              `cargo xtask bench --help` lists them all); with --chart,
              also draw docs/benchmarks.svg from the run's medians; with
              --external, first uvloop into <target>/peers/venv (as
              `peers --bench`, without the rest of peers), and the bench
              runs its Python echo servers on that venv's python
  chart [TSV] redraw docs/benchmarks.svg from a saved run (default
              <target>/bench-chart.tsv, written by `bench --chart`)
  help        this message";

/// The error of a command: a message naming the step that failed.
type Result<T = ()> = std::result::Result<T, String>;

/// One step of `ci`: runs from the workspace root.
type Step = fn(&Path) -> Result;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&root),
        Some("test") => test(&root),
        Some("peers") => match args.get(1).map(String::as_str) {
            None => peers::run(&root),
            Some("--bench") => {
                peers::run(&root).and_then(|()| peers::bench_python(&root).map(drop))
            }
            Some(other) => Err(format!("peers: unknown option `{other}`\n\n{USAGE}")),
        },
        Some("tidy") => tidy::run(&args.get(1).map_or_else(|| root.clone(), PathBuf::from)),
        Some("loom") => loom(&root),
        Some("bench") => bench(&root, &args[1..]),
        Some("chart") => chart(
            &root,
            &args.get(1).map_or_else(|| chart_tsv(&root), PathBuf::from),
        ),
        Some("help" | "-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The steps of `cargo xtask ci`, in the order they run.
const CI_STEPS: [(&str, Step); 8] = [
    // First, so the tests find their peer programs; a second run, with
    // everything installed, takes a fraction of a second.
    ("peers", peers::run),
    ("fmt", fmt),
    ("clippy", clippy),
    ("test", test),
    ("doc", doc),
    ("examples", examples),
    ("tidy", tidy::run),
    // The models run in well under a second (bounded preemptions); the
    // cost is one release build, so they stay in the one entry point.
    ("loom", loom),
];

fn ci(root: &Path) -> Result {
    let start = Instant::now();
    // Incremental state is for edit-compile loops; in one clean pass it
    // only costs disk (it was about 5 GB of a clean run's 17 GB target directory).
    if env::var_os("CARGO_INCREMENTAL").is_none() {
        env::set_var("CARGO_INCREMENTAL", "0");
    }
    report_free_disk(root);
    let mut timings: Vec<(&str, Duration, bool)> = Vec::new();
    let mut result = Ok(());
    for (name, step) in CI_STEPS {
        println!("\n==> ci step `{name}`");
        let step_start = Instant::now();
        result = step(root);
        timings.push((name, step_start.elapsed(), result.is_ok()));
        if result.is_err() {
            break;
        }
    }
    println!("\nci timings:");
    for (name, elapsed, ok) in &timings {
        let status = if *ok { "ok" } else { "FAILED" };
        println!("  {name:<10} {:>8.1}s  {status}", elapsed.as_secs_f64());
    }
    println!("  {:<10} {:>8.1}s", "total", start.elapsed().as_secs_f64());
    result.map_err(|e| format!("ci failed at step `{}`: {e}", timings[timings.len() - 1].0))
}

fn fmt(root: &Path) -> Result {
    run("fmt", cargo(root, "fmt --all --check"))
}

fn clippy(root: &Path) -> Result {
    run(
        "clippy",
        cargo(
            root,
            &format!("clippy --workspace --all-targets {FEATURES} -- -D warnings"),
        ),
    )
}

/// Cargo arguments that leave out the benches crate: it has no examples,
/// its docs are not published, and building it means building tokio and
/// smol, which only `clippy` (keeping its code lint-clean) and `bench`
/// need.
const NO_BENCHES: &str = "--exclude tulipa-benches";

/// Optional features that CI builds, lints, documents and tests too, so no
/// code hides behind a feature: TLS in the network crate, the shared
/// tokio runtime of `tulipa-compat` (its reqwest test; tokio is in the
/// build already, this adds its multi-thread scheduler), and the
/// executor's `tracing` spans. (The facade's `console` feature, which only
/// adds the console example and brings tokio with it, is left out.)
const FEATURES: &str =
    "--features tulipa-net/tls,tulipa-compat/tokio-compat,tulipa-executor/tracing";

/// [`FEATURES`] for [`PORTABLE_SUITES`], which leave `tulipa-compat` out
/// (cargo refuses a feature of a package it is not building).
const PORTABLE_FEATURES: &str = "--features tulipa-net/tls";

/// Tests: nextest when installed (plus doc tests, which nextest skips),
/// otherwise `cargo test`, which runs doc tests too. The benches crate is
/// left out ([`NO_BENCHES`]). Then the I/O suites again on the portable
/// poller ([`PORTABLE_SUITES`]).
fn test(root: &Path) -> Result {
    let mut probe = cargo(root, "nextest --version");
    probe.stdout(Stdio::null()).stderr(Stdio::null());
    if probe.status().is_ok_and(|status| status.success()) {
        run(
            "test",
            cargo(
                root,
                &format!("nextest run --workspace {NO_BENCHES} {FEATURES}"),
            ),
        )?;
        run(
            "doc tests",
            cargo(
                root,
                &format!("test --workspace --doc {NO_BENCHES} {FEATURES}"),
            ),
        )?;
        // The same build as the first run (same packages and features),
        // with a filter choosing the suites: nothing is compiled twice.
        let mut portable = cargo(
            root,
            &format!("nextest run --workspace {NO_BENCHES} {FEATURES} -E"),
        );
        portable.arg(PORTABLE_FILTER);
        portable.env("TULIPA_POLLER", "portable");
        run("tests on the portable poller", portable)
    } else {
        println!("cargo-nextest is not installed; falling back to cargo test");
        run(
            "test",
            cargo(root, &format!("test --workspace {NO_BENCHES} {FEATURES}")),
        )?;
        let mut portable = cargo(root, &format!("test {PORTABLE_SUITES} {PORTABLE_FEATURES}"));
        portable.env("TULIPA_POLLER", "portable");
        run("tests on the portable poller", portable)
    }
}

/// The suites that run a second time on the reactor's portable backend
/// (`TULIPA_POLLER=portable`, the `polling` crate), so both backends pass
/// the reactor's own tests and everything built directly on it.
const PORTABLE_SUITES: &str = "-p tulipa-reactor -p tulipa-net -p tulipa-process -p tulipa-fs";

/// [`PORTABLE_SUITES`] as a nextest filter, so the portable run reuses the
/// first run's build instead of building those packages again with other
/// features.
const PORTABLE_FILTER: &str =
    "package(tulipa-reactor) | package(tulipa-net) | package(tulipa-process) | package(tulipa-fs)";

/// Prints the free space where the build goes: a full disk fails the build
/// with an LLVM or linker error that does not say why.
fn report_free_disk(root: &Path) {
    let dir = target_dir(root);
    let probe = if dir.exists() {
        dir
    } else {
        root.to_path_buf()
    };
    match Command::new("df").arg("-h").arg(&probe).output() {
        Ok(out) if out.status.success() => {
            println!("disk free for {}:", probe.display());
            print!("{}", String::from_utf8_lossy(&out.stdout));
            println!("(a clean `cargo xtask ci` fills about 5 GB)");
        }
        _ => println!("(could not run `df` to show free disk space)"),
    }
}

fn doc(root: &Path) -> Result {
    let mut cmd = cargo(
        root,
        &format!("doc --workspace --no-deps {NO_BENCHES} {FEATURES}"),
    );
    cmd.env("RUSTDOCFLAGS", "-D warnings");
    run("doc", cmd)
}

fn examples(root: &Path) -> Result {
    run(
        "examples",
        cargo(
            root,
            &format!("build --workspace --examples {NO_BENCHES} {FEATURES}"),
        ),
    )
}

/// `cargo xtask bench [--] ARGS`: the side-by-side benchmarks, a release
/// build in the default target dir. A leading `--` is dropped, so both
/// `cargo xtask bench --quick` and `cargo xtask bench -- --quick` work.
/// `--chart` is ours, not the binary's: the run also writes its medians to
/// [`chart_tsv`] and [`chart()`] draws `docs/benchmarks.svg` from them.
/// With `--external` (or `TULIPA_BENCH_NET_CLIENT=external`), the Python
/// echo servers need uvloop: [`peers::bench_python`] installs it into the
/// peers venv when missing, and `TULIPA_BENCH_PYTHON` names that python.
fn bench(root: &Path, args: &[String]) -> Result {
    let args = match args.first() {
        Some(first) if first == "--" => &args[1..],
        _ => args,
    };
    let draw = args.iter().any(|a| a == "--chart");
    let mut cmd = cargo(root, "run --release -p tulipa-benches --");
    cmd.args(args.iter().filter(|a| *a != "--chart"));
    let external = args.iter().any(|a| a == "--external")
        || env::var_os("TULIPA_BENCH_NET_CLIENT").is_some_and(|v| v == "external");
    if external && env::var_os("TULIPA_BENCH_PYTHON").is_none() {
        cmd.env("TULIPA_BENCH_PYTHON", peers::bench_python(root)?);
    }
    let tsv = chart_tsv(root);
    if draw {
        cmd.arg("--tsv").arg(&tsv);
    }
    run("bench", cmd)?;
    if draw {
        chart(root, &tsv)?;
    }
    Ok(())
}

/// Where `bench --chart` keeps the medians of its last run.
fn chart_tsv(root: &Path) -> PathBuf {
    target_dir(root).join("bench-chart.tsv")
}

/// `cargo xtask chart [TSV]`: `docs/benchmarks.svg` from a `--tsv` file.
fn chart(root: &Path, tsv: &Path) -> Result {
    let text = std::fs::read_to_string(tsv).map_err(|e| {
        format!(
            "chart: cannot read {}: {e}; run `cargo xtask bench -- --chart` first",
            tsv.display()
        )
    })?;
    let rows = chart::parse(&text).map_err(|e| format!("chart: {}: {e}", tsv.display()))?;
    let out = root.join("docs/benchmarks.svg");
    std::fs::write(&out, chart::svg(&rows))
        .map_err(|e| format!("chart: cannot write {}: {e}", out.display()))?;
    println!("chart: wrote {} ({} rows)", out.display(), rows.len());
    Ok(())
}

/// Loom models: tests named `loom_*` in libraries, built with
/// `--cfg tulipa_loom` (our own cfg, so third-party crates keep their std
/// internals and only our `sync` shims switch to loom) into their own
/// target dir (`loom` inside the usual one) so the normal build stays
/// valid. Preemptions are bounded (LOOM_MAX_PREEMPTIONS, default 3) to
/// keep the run to seconds. The benches crate is left out: it only has a
/// binary.
fn loom(root: &Path) -> Result {
    let mut cmd = cargo(
        root,
        &format!("test --release --workspace {NO_BENCHES} --lib loom"),
    );
    cmd.env("RUSTFLAGS", "--cfg tulipa_loom")
        .env("CARGO_TARGET_DIR", target_dir(root).join("loom"));
    if env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        cmd.env("LOOM_MAX_PREEMPTIONS", "3");
    }
    run("loom", cmd)
}

/// `cargo` with the whitespace-separated `args`, run from the workspace
/// root with no stdin.
fn cargo(root: &Path, args: &str) -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(program);
    cmd.args(args.split_whitespace())
        .current_dir(root)
        .stdin(Stdio::null());
    cmd
}

/// Prints `cmd`, runs it, and names `step` if it could not start or failed.
fn run(step: &str, mut cmd: Command) -> Result {
    let shown = show(&cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("step `{step}`: could not start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("step `{step}` failed ({status}): `{shown}`"))
    }
}

/// The command line as a shell would read it, with the variables we set.
fn show(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| {
            Some(format!(
                "{}=\"{}\"",
                k.to_string_lossy(),
                v?.to_string_lossy()
            ))
        })
        .collect();
    // Show `cargo` rather than the toolchain path cargo put in $CARGO.
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program());
    parts.push(program.to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// The target dir: `$CARGO_TARGET_DIR`, a relative one taken from the
/// workspace root (where [`cargo`] runs cargo), else `target` in the root.
fn target_dir(root: &Path) -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}
