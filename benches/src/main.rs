//! `tulipa-benches`: tulipa side by side with tokio and smol, in one run.
//!
//! Run it as `cargo xtask bench [-- ARGS]` (a release build). Every
//! benchmark body runs inside a task spawned on the runtime under test, for
//! six runtimes: tulipa, tokio and smol, each multi-thread (2 worker
//! threads) and current-thread (see the `rt` module).
//!
//! Noise control, for a small shared machine: each benchmark first runs one
//! untimed warm-up round, then `--rounds` rounds (default 5); a round runs
//! every runtime once, in an order rotated by one each round, so no runtime
//! always goes first or last. The table shows the median of each runtime's
//! rounds, and compares runtimes of the same flavour only.
//!
//! Progress goes to stderr; the table alone goes to stdout at the end.
//!
//! Network measurements beyond the timed table: `--syscalls` counts
//! system calls per round trip of `tcp_ping_pong` and `net_protocol`
//! under strace (module `syscalls`); `--external` runs those two with each
//! server alone in a child process driven by blocking client threads, and
//! reports throughput, p99, fairness and the server's CPU per message
//! (module `net_external`, servers in `echo_server`, including a raw
//! `polling` loop with no runtime, and Python's asyncio on uvloop and on
//! its own loop, `benches/echo_asyncio.py`). Both re-execute this binary:
//! the hidden first arguments `--serve` and `--child-bench` select a child.
//! `spawn_many_cold` re-executes it too, once per run (`--cold`, module
//! `cold`), so each of its runs starts from an empty heap.

mod app_crawler;
mod app_rest;
mod benches;
mod blocking;
mod channel;
mod cold;
mod cpu;
mod echo_server;
mod fs;
mod http;
mod net;
mod net_external;
mod net_protocol;
mod process;
mod report;
mod rt;
mod sync;
mod syscalls;
mod toolkit;

use std::process::ExitCode;

use benches::{Bench, Run, Sample, Size};
use rt::Flavour;

const USAGE: &str = "\
usage: cargo xtask bench -- [OPTIONS] [BENCHMARK...]

Runs the benchmarks (all, or those named) on tulipa, tokio and smol,
multi-thread (2 workers) and current-thread, and prints a table of medians.

benchmarks: spawn_many spawn_many_cold yield_many ping_pong chained_spawn
            timers_1m idle_cpu
            chan_mpsc chan_mpmc chan_unbounded chan_oneshot chan_ping_pong
            spawn_blocking unblock_latency net_protocol
            process_spawn_wait process_output
            mutex_uncontended mutex_contended mutex_contended_unfair
            sem_uncontended sem_contended sem_contended_unfair
            gather_10k group_10k
            fs_read_file fs_read_all fs_write_file
            tcp_ping_pong tcp_throughput http_hello http_client
            crawl_site rest_get_put (tulipa and tokio only: smol is n/a)

options:
  --rounds N        timed rounds per benchmark (default 5), after one warm-up round
  --quick           divide the sizes by 10: a smoke run
  --markdown        print the table as Markdown
  --runtime NAME    run only this runtime (repeatable): tulipa-multi, tokio-multi,
                    smol-multi, tulipa-current, tokio-current, smol-current
  --no-warmup       skip the warm-up round
  --tsv PATH        also write the medians to PATH as tab-separated values (nanoseconds;
                    `cargo xtask bench --chart` uses it to draw docs/benchmarks.svg)
  --syscalls        also count syscalls per round trip of tcp_ping_pong and net_protocol
                    with `strace -f -c` (strace required), one table per benchmark
  --external        run tcp_ping_pong and net_protocol with each server alone in a child
                    process (tulipa stream and protocol servers, tokio, smol, a raw polling
                    loop; for net_protocol also Python asyncio Protocol servers on uvloop
                    and asyncio, current-thread only) and blocking client threads here:
                    msgs/s, p99, busiest/idlest connection, the server's CPU per message
                    (and, with --syscalls, its syscalls per message);
                    TULIPA_BENCH_NET_CLIENT=external does the same. The Python servers
                    run on $TULIPA_BENCH_PYTHON, else the PYTHON of <target>/peers/env,
                    which must import uvloop: `cargo xtask peers --bench` installs it
  -h, --help        this message";

/// The parsed command line.
struct Options {
    benches: Vec<Bench>,
    flavours: Vec<Flavour>,
    rounds: usize,
    size: Size,
    markdown: bool,
    warmup: bool,
    syscalls: bool,
    external: bool,
    tsv: Option<std::path::PathBuf>,
}

fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let mut options = Options {
        benches: Vec::new(),
        flavours: Vec::new(),
        rounds: 5,
        size: Size { quick: false },
        markdown: false,
        warmup: true,
        syscalls: false,
        external: net_external::requested_by_env()?,
        tsv: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--quick" => options.size.quick = true,
            "--markdown" => options.markdown = true,
            "--no-warmup" => options.warmup = false,
            "--syscalls" => options.syscalls = true,
            "--external" => options.external = true,
            "--tsv" => {
                let path = args
                    .next()
                    .ok_or("--tsv needs a file path, e.g. --tsv target/bench.tsv")?;
                options.tsv = Some(path.into());
            }
            "--rounds" => {
                let n = args
                    .next()
                    .ok_or("--rounds needs a number, e.g. --rounds 5")?;
                options.rounds = match n.parse() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(format!("--rounds needs a positive number, not `{n}`")),
                };
            }
            "--runtime" => {
                let name = args
                    .next()
                    .ok_or("--runtime needs a name, e.g. --runtime tulipa-multi")?;
                let flavour = Flavour::all()
                    .into_iter()
                    .find(|f| f.name() == *name)
                    .ok_or_else(|| {
                        let names: Vec<String> = Flavour::all().iter().map(|f| f.name()).collect();
                        format!(
                            "unknown runtime `{name}`; expected one of: {}",
                            names.join(", ")
                        )
                    })?;
                options.flavours.push(flavour);
            }
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option `{flag}` (see --help)"));
            }
            name => {
                let bench = Bench::ALL
                    .into_iter()
                    .find(|b| b.name() == name)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Bench::ALL.iter().map(|b| b.name()).collect();
                        format!(
                            "unknown benchmark `{name}`; expected one of: {}",
                            names.join(", ")
                        )
                    })?;
                options.benches.push(bench);
            }
        }
    }
    if options.benches.is_empty() {
        options.benches = Bench::ALL.to_vec();
    } else {
        // Run in the usual order, whatever the order on the command line.
        options.benches = Bench::ALL
            .into_iter()
            .filter(|b| options.benches.contains(b))
            .collect();
    }
    if options.flavours.is_empty() {
        options.flavours = Flavour::all();
    }
    Ok(Some(options))
}

/// Every sample of one benchmark: `samples[i]` belongs to `flavours[i]`.
pub(crate) struct Results {
    pub(crate) bench: Bench,
    pub(crate) samples: Vec<(Flavour, Vec<Sample>)>,
}

fn run_bench(bench: Bench, options: &Options) -> Results {
    let run = Run {
        bench,
        size: options.size,
    };
    let flavours: Vec<Flavour> = options
        .flavours
        .iter()
        .copied()
        .filter(|f| bench.runs_on(f.lib))
        .collect();
    let flavours = &flavours;
    // idle_cpu sleeps for over a second per run and has nothing to warm up;
    // a cold benchmark runs each time in a new process, which nothing warms.
    if options.warmup && bench != Bench::IdleCpu && !bench.cold() {
        eprint!("{:<14} warm-up:", bench.name());
        for &f in flavours {
            eprint!(" {}", f.name());
            f.run(run);
        }
        eprintln!();
    }
    let mut samples: Vec<(Flavour, Vec<Sample>)> =
        flavours.iter().map(|&f| (f, Vec::new())).collect();
    for round in 0..options.rounds {
        eprint!(
            "{:<14} round {}/{}:",
            bench.name(),
            round + 1,
            options.rounds
        );
        for k in 0..flavours.len() {
            let i = (round + k) % flavours.len();
            let sample = if bench.cold() {
                cold::run(bench, flavours[i], options.size)
            } else {
                flavours[i].run(run)
            };
            eprint!(" {}={}", flavours[i].name(), report::short(&sample));
            if let Some(w) = &sample.warning {
                eprint!(" [warning: {w}]");
            }
            samples[i].1.push(sample);
        }
        eprintln!();
    }
    Results { bench, samples }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--serve") => return echo_server::child_main(&args[1..]),
        Some("--child-bench") => return syscalls::child_main(&args[1..]),
        Some("--cold") => return cold::child_main(&args[1..]),
        _ => {}
    }
    let options = match parse(&args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("tulipa-benches: {message}");
            return ExitCode::FAILURE;
        }
    };
    if options.benches.contains(&Bench::HttpHello) || options.benches.contains(&Bench::RestGetPut) {
        if let Err(message) = http::wrk() {
            eprintln!("tulipa-benches: {message}");
            return ExitCode::FAILURE;
        }
    }
    if options.syscalls {
        if let Err(message) = syscalls::check_strace() {
            eprintln!("tulipa-benches: {message}");
            return ExitCode::FAILURE;
        }
    }
    if options.external && net_external::needs_python(&options.benches, &options.flavours) {
        if let Err(message) = echo_server::check_python() {
            eprintln!("tulipa-benches: --external: {message}");
            return ExitCode::FAILURE;
        }
    }
    if cfg!(debug_assertions) {
        eprintln!("tulipa-benches: warning: a debug build; run `cargo xtask bench` for release");
    }
    // --external replaces the in-process runs of the network benchmarks.
    let results: Vec<Results> = options
        .benches
        .iter()
        .filter(|b| !(options.external && net_external::BENCHES.contains(b)))
        .map(|&b| run_bench(b, &options))
        .collect();
    fs::cleanup();
    let mut network = String::new();
    for &bench in &options.benches {
        let table = if options.external && net_external::BENCHES.contains(&bench) {
            net_external::measure(
                bench,
                &options.flavours,
                options.size,
                options.syscalls,
                options.markdown,
            )
        } else if options.syscalls && syscalls::BENCHES.contains(&bench) {
            syscalls::measure(bench, &options.flavours, options.size, options.markdown)
        } else {
            continue;
        };
        match table {
            Ok(table) => network.push_str(&table),
            Err(message) => {
                eprintln!("tulipa-benches: {}: {message}", bench.name());
                return ExitCode::FAILURE;
            }
        }
    }
    let table = report::Report {
        results: &results,
        rounds: options.rounds,
        size: options.size,
        warmup: options.warmup,
    };
    if !results.is_empty() {
        if options.markdown {
            print!("{}", table.markdown());
        } else {
            print!("{}", table.text());
        }
    }
    print!("{network}");
    if let Some(path) = &options.tsv {
        if let Err(e) = std::fs::write(path, table.tsv()) {
            eprintln!(
                "tulipa-benches: cannot write the --tsv file {}: {e}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
