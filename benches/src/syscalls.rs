//! `--syscalls`: system calls per round trip of `tcp_ping_pong` and
//! `net_protocol`, counted by `strace -f -c`, per runtime and flavour.
//!
//! For each selected runtime the bench binary re-executes itself as
//! `tulipa-benches --child-bench BENCH RUNTIME TRIPS` under
//! `strace -f -c -U calls,name -o FILE`: the child runs that one benchmark
//! once, in-process exactly as the timed run does (client and server on the
//! runtime under test, so both sides' calls are counted), with `TRIPS`
//! round trips (per connection for `net_protocol`), and exits; `strace`
//! writes the per-syscall totals of every thread to `FILE`, which is parsed.
//!
//! The fixed cost (loading the binary, building the runtime, binding,
//! connecting, tearing down) is subtracted: the child runs twice, with `N`
//! and `2N` round trips, and the figure is `(count(2N) - count(N)) / N`
//! (divided by the connections too for `net_protocol`), per syscall. What
//! is left is what a round trip costs in the steady state. Timings under
//! `strace` mean nothing and are not reported; counts of a multi-thread
//! flavour vary a little from run to run (who parks, who steals), so read
//! the second digit of those as noise.
//!
//! The table lists the total and the calls an event loop's round trip is
//! made of: `epoll_wait` (with `epoll_pwait` / `epoll_pwait2` added in),
//! `epoll_ctl`, `recvfrom`, `sendto`, `read`, `write`, `futex`,
//! `timerfd_settime`, and the rest as `other`, naming its largest.
//!
//! `strace` missing is an error naming how to install it, never a silent
//! skip. With `--external`, `--syscalls` instead counts the server
//! process alone (see `net_external`), the same way, the Python servers'
//! interpreter included ([`traced_program`]).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::OnceLock;

use crate::benches::{Bench, Run, Size};
use crate::rt::Flavour;

/// The round trips a `--child-bench` child runs.
static TRIPS: OnceLock<usize> = OnceLock::new();

/// The round trips `tcp_ping_pong` / `net_protocol` (per connection) run,
/// when this process is a `--child-bench` child.
pub(crate) fn trips_override() -> Option<usize> {
    TRIPS.get().copied()
}

/// Calls per syscall name, from one `strace -c` summary.
pub(crate) type Counts = BTreeMap<String, u64>;

/// The benchmarks `--syscalls` knows how to count.
pub(crate) const BENCHES: [Bench; 2] = [Bench::TcpPingPong, Bench::NetProtocol];

/// Checks that `strace` runs.
///
/// # Errors
///
/// A message saying how to install strace, if it cannot be run.
pub(crate) fn check_strace() -> Result<(), String> {
    let status = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!(
            "--syscalls needs strace, but `strace -V` failed ({s}); check that strace works \
             here (ptrace may be forbidden in this container) or drop --syscalls"
        )),
        Err(e) => Err(format!(
            "--syscalls needs strace, which could not be started ({e}); install it \
             (e.g. `apt-get install strace`) or drop --syscalls"
        )),
    }
}

/// This binary with `args`, under `strace -f -c`; the summary goes to the
/// returned path (read it with [`read_counts`] once the child exited).
pub(crate) fn traced(args: &[String], tag: &str) -> (Command, PathBuf) {
    let exe = std::env::current_exe().expect("cannot find the bench binary to re-execute");
    traced_program(&exe, args, tag)
}

/// `program` with `args`, under `strace -f -c`, as [`traced`] does for
/// this binary (`-f`: every thread and child of the program is counted).
pub(crate) fn traced_program<A: AsRef<OsStr>>(
    program: &Path,
    args: &[A],
    tag: &str,
) -> (Command, PathBuf) {
    let out = std::env::temp_dir().join(format!(
        "tulipa-bench-strace-{}-{tag}.txt",
        std::process::id()
    ));
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-c", "-U", "calls,name", "-o"])
        .arg(&out)
        .arg(program)
        .args(args);
    (cmd, out)
}

/// Parses and removes a summary written by a [`traced`] command.
///
/// # Errors
///
/// If the file cannot be read or holds no counts.
pub(crate) fn read_counts(path: &PathBuf) -> Result<Counts, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read strace's summary {}: {e}", path.display()))?;
    let _ = std::fs::remove_file(path);
    let counts = parse(&text);
    if counts.is_empty() {
        return Err(format!("strace's summary has no counts:\n{text}"));
    }
    Ok(counts)
}

/// The `calls name` rows of a `strace -c -U calls,name` summary, without
/// the `total` row.
fn parse(text: &str) -> Counts {
    let mut counts = Counts::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some(calls), Some(name), None) = (words.next(), words.next(), words.next()) {
            if let Ok(calls) = calls.parse::<u64>() {
                if name != "total" {
                    *counts.entry(name.to_string()).or_default() += calls;
                }
            }
        }
    }
    counts
}

/// Per-unit counts: `(big - small) / units`, per syscall.
pub(crate) fn per_unit(small: &Counts, big: &Counts, units: usize) -> BTreeMap<String, f64> {
    big.iter()
        .map(|(name, &b)| {
            let s = small.get(name).copied().unwrap_or(0);
            (name.clone(), (b as f64 - s as f64) / units as f64)
        })
        .chain(
            small
                .iter()
                .filter(|(name, _)| !big.contains_key(*name))
                .map(|(name, &s)| (name.clone(), -(s as f64) / units as f64)),
        )
        .collect()
}

/// The columns after the total: a label and the syscalls summed into it.
const COLUMNS: [(&str, &[&str]); 8] = [
    ("epoll_wait", &["epoll_wait", "epoll_pwait", "epoll_pwait2"]),
    ("epoll_ctl", &["epoll_ctl"]),
    ("recvfrom", &["recvfrom"]),
    ("sendto", &["sendto"]),
    ("read", &["read"]),
    ("write", &["write"]),
    ("futex", &["futex"]),
    ("timerfd_settime", &["timerfd_settime"]),
];

/// The header of a per-unit syscall breakdown.
pub(crate) fn header() -> Vec<&'static str> {
    let mut h = vec!["total"];
    h.extend(COLUMNS.iter().map(|(label, _)| *label));
    h.push("other (largest)");
    h
}

/// Two decimals, without a `-0.00` for a count that shrank by noise.
fn two(v: f64) -> String {
    if v.abs() < 0.005 {
        "0.00".to_string()
    } else {
        format!("{v:.2}")
    }
}

/// The cells of a per-unit syscall breakdown, in [`header`] order.
pub(crate) fn cells(per: &BTreeMap<String, f64>) -> Vec<String> {
    let total: f64 = per.values().sum();
    let mut cells = vec![two(total)];
    let mut listed = Vec::new();
    for (_, names) in COLUMNS {
        let sum: f64 = names.iter().filter_map(|n| per.get(*n)).sum();
        cells.push(two(sum));
        listed.extend_from_slice(names);
    }
    let mut others: Vec<(&String, f64)> = per
        .iter()
        .filter(|(n, _)| !listed.contains(&n.as_str()))
        .map(|(n, &v)| (n, v))
        .collect();
    others.sort_by(|a, b| b.1.total_cmp(&a.1));
    let other: f64 = others.iter().map(|(_, v)| v).sum();
    cells.push(match others.first() {
        Some((name, v)) if v.abs() >= 0.005 => format!("{} ({name} {})", two(other), two(*v)),
        _ => two(other),
    });
    cells
}

/// Round trips (per connection for `net_protocol`) of the smaller child
/// run; the larger runs twice as many.
fn base_trips(bench: Bench, size: Size) -> usize {
    match (bench, size.quick) {
        (Bench::TcpPingPong, true) => 1_000,
        (Bench::TcpPingPong, false) => 10_000,
        (_, true) => 20,
        (_, false) => 200,
    }
}

/// Round trips in all, for `trips` per connection.
fn round_trips(bench: Bench, trips: usize) -> usize {
    if bench == Bench::NetProtocol {
        trips * crate::net_protocol::CONNS
    } else {
        trips
    }
}

/// Runs `bench` for every flavour under strace; the table as text or
/// Markdown.
///
/// # Errors
///
/// If a child fails or its summary cannot be read.
pub(crate) fn measure(
    bench: Bench,
    flavours: &[Flavour],
    size: Size,
    markdown: bool,
) -> Result<String, String> {
    let n = base_trips(bench, size);
    let mut rows = Vec::new();
    for &flavour in flavours {
        eprint!("{:<14} syscalls: {}", bench.name(), flavour.name());
        let mut runs = Vec::new();
        for trips in [n, 2 * n] {
            let args = [
                "--child-bench".to_string(),
                bench.name().to_string(),
                flavour.name(),
                trips.to_string(),
            ];
            let (mut cmd, out) = traced(&args, &format!("{}-{trips}", flavour.name()));
            let status = cmd
                .status()
                .map_err(|e| format!("cannot start strace: {e}"))?;
            if !status.success() {
                return Err(format!(
                    "{} on {} under strace failed ({status})",
                    bench.name(),
                    flavour.name()
                ));
            }
            runs.push(read_counts(&out)?);
            eprint!(" {trips}");
        }
        eprintln!();
        let per = per_unit(&runs[0], &runs[1], round_trips(bench, n));
        let mut row = vec![
            flavour.lib.name().to_string(),
            flavour.threads.name().to_string(),
        ];
        row.extend(cells(&per));
        rows.push(row);
    }
    let mut head = vec!["runtime", "flavour"];
    head.extend(header());
    let title = format!(
        "{}: syscalls per round trip, whole process (client and server), strace -f -c; \
         (count at {} - count at {} round trips) / {}",
        bench.name(),
        crate::benches::grouped(round_trips(bench, 2 * n)),
        crate::benches::grouped(round_trips(bench, n)),
        crate::benches::grouped(round_trips(bench, n)),
    );
    Ok(crate::net_external::table(&title, &head, &rows, markdown))
}

/// The child's entry point: `ARGS` = `BENCH RUNTIME TRIPS`.
pub(crate) fn child_main(args: &[String]) -> ExitCode {
    let parsed = match args {
        [bench, runtime, trips] => BENCHES
            .into_iter()
            .find(|b| b.name() == bench)
            .zip(Flavour::all().into_iter().find(|f| f.name() == *runtime))
            .zip(trips.parse::<usize>().ok().filter(|&t| t > 0)),
        _ => None,
    };
    let Some(((bench, flavour), trips)) = parsed else {
        eprintln!(
            "tulipa-benches --child-bench: expected `BENCH RUNTIME TRIPS` (BENCH: tcp_ping_pong \
             or net_protocol; RUNTIME: e.g. tulipa-multi; TRIPS: a positive number), got {args:?}"
        );
        return ExitCode::FAILURE;
    };
    TRIPS.set(trips).expect("set once");
    flavour.run(Run {
        bench,
        size: Size { quick: true },
    });
    ExitCode::SUCCESS
}
