//! `--external`: `tcp_ping_pong` and `net_protocol` with the server alone
//! in a child process and blocking client threads in this one.
//!
//! For each server (see `echo_server`: tulipa's stream server and its
//! protocol server, tokio, smol, each current-thread and multi-thread, the
//! raw `polling` loop with no runtime, and Python's asyncio echo `Protocol`
//! on uvloop and on asyncio's own loop), the bench binary starts a child,
//! `tulipa-benches --serve SERVER THREADS` (it re-executes itself) or
//! `PYTHON benches/echo_asyncio.py --loop LOOP`, reads the child's
//! `PID PORT` line, and drives it from plain threads with blocking std
//! sockets (`TCP_NODELAY`), the same client code for every server:
//!
//! - `tcp_ping_pong`: one connection, [`PING`](crate::net::PING)-byte
//!   messages, sequential round trips, against the stream servers, tokio,
//!   smol and raw (the stream API is its subject, as in-process);
//! - `net_protocol`: [`CONNS`] connections, one thread each,
//!   [`MSG`]-byte messages, sequential round trips per connection, against
//!   every server, the protocol servers (tulipa's, uvloop, asyncio)
//!   included.
//!
//! Which rows run: the runtime servers in each flavour that `--runtime`
//! selects (all six by default); raw always (its flavour is `-`); uvloop
//! and asyncio in the `current` flavour only (a Python event loop is one
//! thread), whenever a current-thread runtime is selected. Their Python
//! must import uvloop (`cargo xtask peers --bench`; see `echo_server`):
//! that is checked before any benchmark runs, and a missing one is an
//! error naming the fix, never a skipped row.
//!
//! The count is bounded: the threads share one budget of messages and
//! each takes its next round trip from it, so a connection the server
//! serves faster does more of them. Before the clock starts every
//! connection is made and does [`WARM_UP`] untimed round trips. Every echo
//! is checked byte for byte.
//!
//! The columns:
//!
//! | column | meaning |
//! | --- | --- |
//! | `msgs/s` | round trips per second, all connections together (wall clock) |
//! | `p99` | the 99th percentile of one round trip's latency, as a client thread sees it |
//! | `busiest/idlest` | the most round trips one connection did over the fewest (1.00 = perfectly fair; `inf` = a connection starved) |
//! | `user us/msg` | the server process's user CPU time per round trip |
//! | `cpu us/msg` | the server process's user + system CPU time per round trip |
//! | `syscalls/msg` | with `--syscalls`: the server process's system calls per round trip, and their breakdown in a second table |
//!
//! CPU times are the `utime` and `stime` fields of `/proc/PID/stat` (all
//! the server's threads), read just before the clock starts and just after
//! the last client finished, so start-up and teardown are not counted; they
//! tick at `getconf CLK_TCK` (usually 100 Hz: 10 ms), which the sizes are
//! chosen to dwarf. Syscalls come from two more runs of the same server
//! under `strace -f -c` (never the timed one: tracing slows the server by
//! an order of magnitude), with `N` and `2N` round trips:
//! `(count(2N) - count(N)) / N`, which drops the fixed cost (see
//! `syscalls`).
//!
//! Each row is one run; the rows run one after another, so they share the
//! machine's state of the moment: compare ratios, not absolute figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::benches::{grouped, Bench, Size};
use crate::echo_server::Server;
use crate::rt::{Flavour, Threads};
use crate::syscalls;

/// Client connections of `net_protocol`.
pub(crate) const CONNS: usize = 50;
/// Bytes per `net_protocol` message.
pub(crate) const MSG: usize = 1024;
/// Untimed round trips per connection before the clock starts.
const WARM_UP: usize = 10;

/// Whether `TULIPA_BENCH_NET_CLIENT=external` asks for this mode.
///
/// # Errors
///
/// If the variable holds something else than `external` or `runtime`.
pub(crate) fn requested_by_env() -> Result<bool, String> {
    match std::env::var("TULIPA_BENCH_NET_CLIENT") {
        Ok(v) if v == "external" => Ok(true),
        Ok(v) if v == "runtime" || v.is_empty() => Ok(false),
        Ok(v) => Err(format!(
            "TULIPA_BENCH_NET_CLIENT={v}: expected `external` (clients in a separate \
             process, same as --external) or `runtime`"
        )),
        Err(_) => Ok(false),
    }
}

/// The benchmarks this mode replaces.
pub(crate) const BENCHES: [Bench; 2] = [Bench::TcpPingPong, Bench::NetProtocol];

/// The client side of one benchmark.
#[derive(Clone, Copy)]
struct Load {
    conns: usize,
    msg: usize,
    /// Round trips in all (the timed run).
    total: usize,
}

fn load(bench: Bench, size: Size) -> Load {
    let div = if size.quick { 10 } else { 1 };
    if bench == Bench::TcpPingPong {
        Load {
            conns: 1,
            msg: crate::net::PING,
            total: 100_000 / div,
        }
    } else {
        Load {
            conns: CONNS,
            msg: MSG,
            total: 200_000 / div,
        }
    }
}

/// The servers each benchmark runs against.
fn servers(bench: Bench) -> Vec<Server> {
    Server::ALL
        .into_iter()
        // The protocol servers are net_protocol's subject; tcp_ping_pong is
        // the stream API's.
        .filter(|&s| bench == Bench::NetProtocol || !s.protocol())
        .collect()
}

/// The flavours `server` runs in, of those selected.
fn server_flavours(server: Server, flavours: &[Flavour]) -> Vec<Threads> {
    match server.lib() {
        Some(lib) => [Threads::Current, Threads::Multi]
            .into_iter()
            .filter(|&threads| flavours.contains(&Flavour { lib, threads }))
            .collect(),
        None if server.python_loop().is_some() => {
            if flavours.iter().any(|f| f.threads == Threads::Current) {
                vec![Threads::Current]
            } else {
                Vec::new()
            }
        }
        None => vec![Threads::Current],
    }
}

/// Whether `benches` with `flavours` will run a Python server, so that
/// [`check_python`](crate::echo_server::check_python) must pass first.
pub(crate) fn needs_python(benches: &[Bench], flavours: &[Flavour]) -> bool {
    benches
        .iter()
        .filter(|b| BENCHES.contains(b))
        .flat_map(|&b| servers(b))
        .any(|s| s.python_loop().is_some() && !server_flavours(s, flavours).is_empty())
}

/// The server's command: [`Server::command`] as a [`Command`].
fn command(server: Server, threads: Threads) -> Result<Command, String> {
    let (program, args) = server.command(threads)?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    Ok(cmd)
}

/// A running server child.
struct ServerProcess {
    child: Child,
    /// The server's own pid (under strace, `child` is strace).
    pid: u32,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start(mut cmd: Command, what: &str) -> Result<Self, String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the {what} server process: {e}"))?;
        let stdout = child.stdout.take().expect("a piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the {what} server's address: {e}"))?;
        let mut words = line.split_whitespace();
        let parsed = words
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .zip(words.next().and_then(|p| p.parse::<u16>().ok()));
        let Some((pid, port)) = parsed else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the {what} server process did not announce `PID PORT` (got {line:?})"
            ));
        };
        Ok(ServerProcess {
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    /// Closes the child's stdin, which ends it, and waits for it.
    fn stop(mut self, what: &str) -> Result<(), String> {
        drop(self.child.stdin.take());
        let status = self
            .child
            .wait()
            .map_err(|e| format!("cannot wait for the {what} server process: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the {what} server process failed ({status})"))
        }
    }
}

/// User and system CPU time of process `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<(u64, u64), String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("cannot read /proc/{pid}/stat: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces;
    // fields 3.. follow the last `)`. utime is field 14, stime field 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("/proc/{pid}/stat has no `)`: {stat}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64, String> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat: no field {n} in {stat}"))
    };
    Ok((field(14)?, field(15)?))
}

/// Clock ticks per second of `/proc/PID/stat`, from `getconf CLK_TCK`.
fn ticks_per_second() -> Result<u64, String> {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .map_err(|e| format!("cannot run `getconf CLK_TCK` (to read CPU times): {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| "`getconf CLK_TCK` did not print a number".to_string())
}

/// What the clients saw.
struct Outcome {
    elapsed: Duration,
    /// Every timed round trip's latency, sorted.
    latencies: Vec<Duration>,
    /// Timed round trips per connection.
    per_conn: Vec<usize>,
    /// User and system ticks the server spent while the clock ran.
    cpu: (u64, u64),
}

/// The message of connection `c`, round trip `i`.
fn fill(m: &mut [u8], c: usize, i: usize) {
    for (k, b) in m.iter_mut().enumerate() {
        *b = (c + i + k) as u8;
    }
}

/// Drives the server at `addr` with `load.conns` client threads sharing a
/// budget of `total` round trips.
fn drive(server: &ServerProcess, load: Load, total: usize) -> Result<Outcome, String> {
    let streams = (0..load.conns)
        .map(|_| {
            let s = TcpStream::connect(server.addr)
                .map_err(|e| format!("cannot connect to the echo server: {e}"))?;
            s.set_nodelay(true)
                .map_err(|e| format!("TCP_NODELAY: {e}"))?;
            Ok(s)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let budget = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(load.conns + 1));
    let threads: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(c, mut s)| {
            let (budget, start) = (budget.clone(), start.clone());
            std::thread::spawn(move || {
                let mut msg = vec![0u8; load.msg];
                let mut back = vec![0u8; load.msg];
                let mut trip = |i: usize| {
                    fill(&mut msg, c, i);
                    s.write_all(&msg).expect("client write failed");
                    s.read_exact(&mut back).expect("client read failed");
                    assert_eq!(back, msg, "the echo differs");
                };
                for i in 0..WARM_UP {
                    trip(i);
                }
                start.wait();
                let mut latencies = Vec::new();
                let mut i = WARM_UP;
                while budget.fetch_add(1, Ordering::Relaxed) < total {
                    let t = Instant::now();
                    trip(i);
                    latencies.push(t.elapsed());
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    let before = cpu_ticks(server.pid)?;
    start.wait();
    let clock = Instant::now();
    let mut latencies = Vec::with_capacity(total);
    let mut per_conn = Vec::with_capacity(load.conns);
    for t in threads {
        let l = t.join().expect("a client thread panicked");
        per_conn.push(l.len());
        latencies.extend(l);
    }
    let elapsed = clock.elapsed();
    let after = cpu_ticks(server.pid)?;
    latencies.sort();
    Ok(Outcome {
        elapsed,
        latencies,
        per_conn,
        cpu: (after.0 - before.0, after.1 - before.1),
    })
}

/// The server's syscalls per round trip: two traced runs, `N` and `2N`.
fn count_syscalls(
    server: Server,
    threads: Threads,
    load: Load,
) -> Result<BTreeMap<String, f64>, String> {
    let n = load.total / 4;
    let (program, args) = server.command(threads)?;
    let mut runs = Vec::new();
    for total in [n, 2 * n] {
        let tag = format!("serve-{}-{}-{total}", server.name(), threads.name());
        let (cmd, out) = syscalls::traced_program(&program, &args, &tag);
        let process = ServerProcess::start(cmd, server.name())?;
        let outcome = drive(&process, load, total);
        process.stop(server.name())?;
        outcome?;
        runs.push(syscalls::read_counts(&out)?);
    }
    Ok(syscalls::per_unit(&runs[0], &runs[1], n))
}

/// One row: the server, its flavour, and its cells.
struct Row {
    cells: Vec<String>,
    syscalls: Option<Vec<String>>,
}

/// Runs `bench` against every server whose runtime flavour is in
/// `flavours` (the raw server always, the Python servers when a
/// current-thread flavour is); the tables as text or Markdown.
///
/// # Errors
///
/// If a server process fails (or its program cannot be found), or (with
/// `count`) strace does.
pub(crate) fn measure(
    bench: Bench,
    flavours: &[Flavour],
    size: Size,
    count: bool,
    markdown: bool,
) -> Result<String, String> {
    let load = load(bench, size);
    let hz = ticks_per_second()? as f64;
    let mut rows = Vec::new();
    for server in servers(bench) {
        for threads in server_flavours(server, flavours) {
            let flavour = if server == Server::Raw {
                "-"
            } else {
                threads.name()
            };
            eprint!("{:<14} external: {} {flavour}", bench.name(), server.name());
            let process = ServerProcess::start(command(server, threads)?, server.name())?;
            let outcome = drive(&process, load, load.total);
            process.stop(server.name())?;
            let o = outcome?;
            let msgs = o.latencies.len() as f64;
            let p99 = o.latencies[(o.latencies.len() * 99 / 100).min(o.latencies.len() - 1)];
            let busiest = *o.per_conn.iter().max().expect("a connection");
            let idlest = *o.per_conn.iter().min().expect("a connection");
            let us_per_msg = |ticks: u64| ticks as f64 / hz * 1e6 / msgs;
            let mut cells = vec![
                server.name().to_string(),
                flavour.to_string(),
                grouped((msgs / o.elapsed.as_secs_f64()).round() as usize),
                crate::report::duration(p99),
                if idlest == 0 {
                    "inf".to_string()
                } else {
                    format!("{:.2}", busiest as f64 / idlest as f64)
                },
                format!("{:.1}", us_per_msg(o.cpu.0)),
                format!("{:.1}", us_per_msg(o.cpu.0 + o.cpu.1)),
            ];
            let syscalls = if count {
                eprint!(" (strace)");
                let per = count_syscalls(server, threads, load)?;
                let breakdown = syscalls::cells(&per);
                cells.push(breakdown[0].clone());
                let mut row = vec![server.name().to_string(), flavour.to_string()];
                row.extend(breakdown);
                Some(row)
            } else {
                None
            };
            eprintln!();
            rows.push(Row { cells, syscalls });
        }
    }
    let mut head = vec![
        "server",
        "flavour",
        "msgs/s",
        "p99",
        "busiest/idlest",
        "user us/msg",
        "cpu us/msg",
    ];
    if count {
        head.push("syscalls/msg");
    }
    let title = format!(
        "{} --external: the server alone in a child process; {} blocking client thread{} in \
         this one, {} round trips of {} bytes in all",
        bench.name(),
        load.conns,
        if load.conns == 1 { "" } else { "s" },
        grouped(load.total),
        load.msg
    );
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.cells.clone()).collect();
    let mut out = table(&title, &head, &cells, markdown);
    if count {
        let mut head = vec!["server", "flavour"];
        head.extend(syscalls::header());
        let n = load.total / 4;
        let title = format!(
            "{} --external --syscalls: the server process's syscalls per round trip, \
             strace -f -c; (count at {} - count at {} round trips) / {}",
            bench.name(),
            grouped(2 * n),
            grouped(n),
            grouped(n)
        );
        let cells: Vec<Vec<String>> = rows.iter().filter_map(|r| r.syscalls.clone()).collect();
        out.push_str(&table(&title, &head, &cells, markdown));
    }
    Ok(out)
}

/// A titled table: aligned text (first two columns left-aligned) or
/// Markdown.
pub(crate) fn table(title: &str, head: &[&str], rows: &[Vec<String>], markdown: bool) -> String {
    let mut out = String::new();
    if markdown {
        let _ = writeln!(out, "\n{title}.\n");
        let _ = writeln!(out, "| {} |", head.join(" | "));
        let align: Vec<&str> = (0..head.len())
            .map(|i| if i < 2 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "| {} |", align.join(" | "));
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        return out;
    }
    let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            if i < 2 {
                let _ = write!(l, "{cell:<w$}");
            } else {
                let _ = write!(l, "{cell:>w$}");
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let _ = writeln!(out, "\n{title}\n");
    out.push_str(&line(&mut head.iter().copied()));
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(&line(&mut rule.iter().map(String::as_str)));
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}
