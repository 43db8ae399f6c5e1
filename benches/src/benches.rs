//! The benchmark bodies, each written once for every runtime ([`Rt`]).
//!
//! Every body runs inside a task spawned on the runtime under test and
//! times itself with `std::time::Instant` from its first line, so building
//! and shutting down the runtime are never counted. What each one does is
//! in [`Bench::describe`], which the report prints above the table.
//!
//! `--quick` divides the big counts by 10 ([`Size`]).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_channel::oneshot;

use crate::cpu;
use crate::rt::{Job, Rt};

/// The benchmarks, in the order they run and print.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Bench {
    SpawnMany,
    SpawnManyCold,
    YieldMany,
    PingPong,
    ChainedSpawn,
    Timers,
    IdleCpu,
    ChanMpsc,
    ChanMpmc,
    ChanUnbounded,
    ChanOneshot,
    ChanPingPong,
    SpawnBlocking,
    UnblockLatency,
    MutexUncontended,
    MutexContended,
    MutexContendedUnfair,
    SemUncontended,
    SemContended,
    SemContendedUnfair,
    GatherMany,
    GroupMany,
    FsReadFile,
    FsReadAll,
    FsWriteFile,
    TcpPingPong,
    TcpThroughput,
    ProcessSpawnWait,
    ProcessOutput,
    NetProtocol,
    HttpHello,
    HttpClient,
    CrawlSite,
    RestGetPut,
}

impl Bench {
    pub(crate) const ALL: [Bench; 34] = [
        Bench::SpawnMany,
        Bench::SpawnManyCold,
        Bench::YieldMany,
        Bench::PingPong,
        Bench::ChainedSpawn,
        Bench::Timers,
        Bench::IdleCpu,
        Bench::ChanMpsc,
        Bench::ChanMpmc,
        Bench::ChanUnbounded,
        Bench::ChanOneshot,
        Bench::ChanPingPong,
        Bench::SpawnBlocking,
        Bench::UnblockLatency,
        Bench::MutexUncontended,
        Bench::MutexContended,
        Bench::MutexContendedUnfair,
        Bench::SemUncontended,
        Bench::SemContended,
        Bench::SemContendedUnfair,
        Bench::GatherMany,
        Bench::GroupMany,
        Bench::FsReadFile,
        Bench::FsReadAll,
        Bench::FsWriteFile,
        Bench::TcpPingPong,
        Bench::TcpThroughput,
        Bench::ProcessSpawnWait,
        Bench::ProcessOutput,
        Bench::NetProtocol,
        Bench::HttpHello,
        Bench::HttpClient,
        Bench::CrawlSite,
        Bench::RestGetPut,
    ];

    /// The name used on the command line and in the table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Bench::SpawnMany => "spawn_many",
            Bench::SpawnManyCold => "spawn_many_cold",
            Bench::YieldMany => "yield_many",
            Bench::PingPong => "ping_pong",
            Bench::ChainedSpawn => "chained_spawn",
            Bench::Timers => "timers_1m",
            Bench::IdleCpu => "idle_cpu",
            Bench::NetProtocol => "net_protocol",
            Bench::ChanMpsc => "chan_mpsc",
            Bench::ChanMpmc => "chan_mpmc",
            Bench::ChanUnbounded => "chan_unbounded",
            Bench::ChanOneshot => "chan_oneshot",
            Bench::ChanPingPong => "chan_ping_pong",
            Bench::SpawnBlocking => "spawn_blocking",
            Bench::UnblockLatency => "unblock_latency",
            Bench::MutexUncontended => "mutex_uncontended",
            Bench::MutexContended => "mutex_contended",
            Bench::MutexContendedUnfair => "mutex_contended_unfair",
            Bench::SemUncontended => "sem_uncontended",
            Bench::SemContended => "sem_contended",
            Bench::SemContendedUnfair => "sem_contended_unfair",
            Bench::GatherMany => "gather_10k",
            Bench::GroupMany => "group_10k",
            Bench::FsReadFile => "fs_read_file",
            Bench::FsReadAll => "fs_read_all",
            Bench::FsWriteFile => "fs_write_file",
            Bench::TcpPingPong => "tcp_ping_pong",
            Bench::TcpThroughput => "tcp_throughput",
            Bench::ProcessSpawnWait => "process_spawn_wait",
            Bench::ProcessOutput => "process_output",
            Bench::HttpHello => "http_hello",
            Bench::HttpClient => "http_client",
            Bench::CrawlSite => "crawl_site",
            Bench::RestGetPut => "rest_get_put",
        }
    }

    /// The figures one run produces, in the order of [`Sample::values`].
    pub(crate) fn metrics(self) -> &'static [&'static str] {
        match self {
            Bench::Timers => &["register", "fire"],
            Bench::IdleCpu => &["cpu time"],
            Bench::HttpHello => &["wall/req", "cpu/req", "p50", "p99"],
            Bench::RestGetPut => &["GET wall/req", "PUT wall/req"],
            Bench::GatherMany => &["gather", "naive", "spawn", "gather stag.", "naive stag."],
            _ => &["time"],
        }
    }

    /// Which figure also reads as a rate, for the report's table of rates
    /// (higher is better): `(index into [`Bench::metrics`], events per
    /// figure, unit)`. `http_hello`'s wall time per request is one request;
    /// `http_client`'s time is all its requests.
    pub(crate) fn rate(self, size: Size) -> Option<(usize, usize, &'static str)> {
        match self {
            Bench::HttpHello => Some((0, 1, "req/s")),
            Bench::HttpClient => Some((0, crate::http::requests(size), "req/s")),
            Bench::CrawlSite => Some((0, crate::app_crawler::pages(size), "pages/s")),
            Bench::RestGetPut => Some((0, 1, "GET req/s")),
            _ => None,
        }
    }

    /// One line saying what is measured, for the report.
    pub(crate) fn describe(self, size: Size) -> String {
        match self {
            Bench::SpawnMany => format!(
                "spawn_many: spawn {} tasks that return at once, then await every handle",
                grouped(size.spawn_many())
            ),
            Bench::SpawnManyCold => format!(
                "spawn_many_cold: spawn_many's {} tasks, each run in a fresh process (the binary \
                 re-executes itself), so the allocator starts from an empty heap and its growth \
                 and first-touch page faults are counted; no warm-up",
                grouped(size.spawn_many())
            ),
            Bench::YieldMany => {
                let (tasks, yields) = size.yield_many();
                format!(
                    "yield_many: {} tasks each yield_now {} times; await them all",
                    grouped(tasks),
                    grouped(yields)
                )
            }
            Bench::PingPong => format!(
                "ping_pong: {} sequential round trips; each spawns a ponger, sends it a \
                 futures_channel::oneshot ping, awaits its oneshot pong, then awaits its handle",
                grouped(size.ping_pong())
            ),
            Bench::ChainedSpawn => {
                let (depth, chains) = size.chained_spawn();
                format!(
                    "chained_spawn: {} times in a row, a chain of {} tasks where each spawns the \
                     next (detached) and the last signals a oneshot",
                    grouped(chains),
                    grouped(depth)
                )
            }
            Bench::Timers => {
                let (tasks, per_task, delay) = size.timers();
                format!(
                    "timers_1m: {} tasks each create and poll {} sleeps, all due at start + {} ms; \
                     register = start until every sleep was polled once, fire = the deadline \
                     until every sleep completed (timer granularity included: tokio rounds up \
                     to the next ms)",
                    grouped(tasks),
                    grouped(per_task),
                    delay.as_millis()
                )
            }
            Bench::IdleCpu => format!(
                "idle_cpu: CPU time the whole process used while its one task slept {} ms \
                 (after {} ms to settle); lower is better, 0 is the goal",
                IDLE.as_millis(),
                SETTLE.as_millis()
            ),
            Bench::ChanMpsc => crate::channel::describe(crate::channel::Shape::Mpsc, size),
            Bench::ChanMpmc => crate::channel::describe(crate::channel::Shape::Mpmc, size),
            Bench::ChanUnbounded => {
                crate::channel::describe(crate::channel::Shape::Unbounded, size)
            }
            Bench::ChanOneshot => crate::channel::describe(crate::channel::Shape::Oneshot, size),
            Bench::ChanPingPong => crate::channel::describe(crate::channel::Shape::PingPong, size),
            Bench::SpawnBlocking => crate::blocking::describe_spawn_blocking(size),
            Bench::UnblockLatency => crate::blocking::describe_unblock_latency(size),
            Bench::MutexUncontended => {
                crate::sync::describe(crate::sync::Shape::MutexUncontended, size)
            }
            Bench::MutexContended => {
                crate::sync::describe(crate::sync::Shape::MutexContended, size)
            }
            Bench::SemUncontended => {
                crate::sync::describe(crate::sync::Shape::SemUncontended, size)
            }
            Bench::SemContended => crate::sync::describe(crate::sync::Shape::SemContended, size),
            Bench::MutexContendedUnfair => {
                crate::sync::describe(crate::sync::Shape::MutexContendedUnfair, size)
            }
            Bench::SemContendedUnfair => {
                crate::sync::describe(crate::sync::Shape::SemContendedUnfair, size)
            }
            Bench::GatherMany => crate::toolkit::describe_gather(size),
            Bench::GroupMany => crate::toolkit::describe_group(size),
            Bench::FsReadFile => crate::fs::describe(crate::fs::Shape::ReadFile, size),
            Bench::FsReadAll => crate::fs::describe(crate::fs::Shape::ReadAll, size),
            Bench::FsWriteFile => crate::fs::describe(crate::fs::Shape::WriteFile, size),
            Bench::TcpPingPong => crate::net::describe(crate::net::Shape::PingPong, size),
            Bench::TcpThroughput => crate::net::describe(crate::net::Shape::Throughput, size),
            Bench::ProcessSpawnWait => {
                crate::process::describe(crate::process::Shape::SpawnWait, size)
            }
            Bench::ProcessOutput => crate::process::describe(crate::process::Shape::Output, size),
            Bench::NetProtocol => crate::net_protocol::describe(size),
            Bench::HttpHello => crate::http::describe_hello(size),
            Bench::HttpClient => crate::http::describe_client(size),
            Bench::CrawlSite => crate::app_crawler::describe(size),
            Bench::RestGetPut => crate::app_rest::describe(size),
        }
    }

    /// Whether the benchmark has a version for `lib`: the apps
    /// (`crawl_site`, `rest_get_put`) have none for smol, and the report
    /// says `n/a` there.
    /// Whether each run of this benchmark happens in a fresh process
    /// (module `cold`).
    pub(crate) fn cold(self) -> bool {
        self == Bench::SpawnManyCold
    }

    pub(crate) fn runs_on(self, lib: crate::rt::Lib) -> bool {
        !matches!(
            (self, lib),
            (Bench::CrawlSite | Bench::RestGetPut, crate::rt::Lib::Smol)
        )
    }
}

/// How long `idle_cpu` leaves the runtime idle.
const IDLE: Duration = Duration::from_secs(1);
/// How long `idle_cpu` lets the runtime settle before measuring.
const SETTLE: Duration = Duration::from_millis(100);

/// The sizes: full, or divided by 10 for a smoke run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Size {
    pub(crate) quick: bool,
}

impl Size {
    fn div(self, n: usize) -> usize {
        if self.quick {
            n / 10
        } else {
            n
        }
    }

    fn spawn_many(self) -> usize {
        self.div(1_000_000)
    }

    /// (tasks, yields per task)
    fn yield_many(self) -> (usize, usize) {
        (self.div(1_000), 1_000)
    }

    fn ping_pong(self) -> usize {
        self.div(100_000)
    }

    /// (depth, chains)
    fn chained_spawn(self) -> (usize, usize) {
        (1_000, self.div(100))
    }

    /// (tasks, sleeps per task, delay from start to the common deadline)
    fn timers(self) -> (usize, usize, Duration) {
        if self.quick {
            (100, 1_000, Duration::from_millis(500))
        } else {
            (1_000, 1_000, Duration::from_millis(1_000))
        }
    }
}

/// What one run of one benchmark on one runtime measured.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    /// One figure per name in [`Bench::metrics`].
    pub(crate) values: Vec<Duration>,
    /// Something that makes the figures suspect (a timer deadline passed
    /// before registration finished).
    pub(crate) warning: Option<String>,
}

impl Sample {
    pub(crate) fn one(d: Duration) -> Sample {
        Sample {
            values: vec![d],
            warning: None,
        }
    }
}

/// A benchmark at a size: the [`Job`] a runtime runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    pub(crate) bench: Bench,
    pub(crate) size: Size,
}

impl Job for Run {
    type Output = Sample;

    fn future<R: Rt>(self, rt: R) -> impl Future<Output = Sample> + Send + 'static {
        let size = self.size;
        async move {
            match self.bench {
                Bench::SpawnMany | Bench::SpawnManyCold => spawn_many(rt, size.spawn_many()).await,
                Bench::YieldMany => {
                    let (tasks, yields) = size.yield_many();
                    yield_many(rt, tasks, yields).await
                }
                Bench::PingPong => ping_pong(rt, size.ping_pong()).await,
                Bench::ChainedSpawn => {
                    let (depth, chains) = size.chained_spawn();
                    chained_spawn(rt, depth, chains).await
                }
                Bench::Timers => {
                    let (tasks, per_task, delay) = size.timers();
                    timers(rt, tasks, per_task, delay).await
                }
                Bench::IdleCpu => idle_cpu(rt).await,
                Bench::ChanMpsc => crate::channel::run(rt, crate::channel::Shape::Mpsc, size).await,
                Bench::ChanMpmc => crate::channel::run(rt, crate::channel::Shape::Mpmc, size).await,
                Bench::ChanUnbounded => {
                    crate::channel::run(rt, crate::channel::Shape::Unbounded, size).await
                }
                Bench::ChanOneshot => {
                    crate::channel::run(rt, crate::channel::Shape::Oneshot, size).await
                }
                Bench::ChanPingPong => {
                    crate::channel::run(rt, crate::channel::Shape::PingPong, size).await
                }
                Bench::SpawnBlocking => {
                    let n = crate::blocking::spawn_blocking_jobs(size);
                    crate::blocking::spawn_blocking(rt, n).await
                }
                Bench::UnblockLatency => {
                    let n = crate::blocking::unblock_trips(size);
                    crate::blocking::unblock_latency(rt, n).await
                }
                Bench::MutexUncontended => {
                    crate::sync::run(rt, crate::sync::Shape::MutexUncontended, size).await
                }
                Bench::MutexContended => {
                    crate::sync::run(rt, crate::sync::Shape::MutexContended, size).await
                }
                Bench::SemUncontended => {
                    crate::sync::run(rt, crate::sync::Shape::SemUncontended, size).await
                }
                Bench::SemContended => {
                    crate::sync::run(rt, crate::sync::Shape::SemContended, size).await
                }
                Bench::MutexContendedUnfair => {
                    crate::sync::run(rt, crate::sync::Shape::MutexContendedUnfair, size).await
                }
                Bench::SemContendedUnfair => {
                    crate::sync::run(rt, crate::sync::Shape::SemContendedUnfair, size).await
                }
                Bench::GatherMany => crate::toolkit::run_gather(rt, size).await,
                Bench::GroupMany => crate::toolkit::run_group(rt, size).await,
                Bench::FsReadFile => crate::fs::run(rt, crate::fs::Shape::ReadFile, size).await,
                Bench::FsReadAll => crate::fs::run(rt, crate::fs::Shape::ReadAll, size).await,
                Bench::FsWriteFile => crate::fs::run(rt, crate::fs::Shape::WriteFile, size).await,
                Bench::TcpPingPong => crate::net::run(rt, crate::net::Shape::PingPong, size).await,
                Bench::TcpThroughput => {
                    crate::net::run(rt, crate::net::Shape::Throughput, size).await
                }
                Bench::ProcessSpawnWait => {
                    crate::process::run(rt, crate::process::Shape::SpawnWait, size).await
                }
                Bench::ProcessOutput => {
                    crate::process::run(rt, crate::process::Shape::Output, size).await
                }
                Bench::NetProtocol => crate::net_protocol::run(rt, size).await,
                Bench::HttpHello => crate::http::run_hello(rt, size).await,
                Bench::HttpClient => crate::http::run_client(rt, size).await,
                Bench::CrawlSite => crate::app_crawler::run(rt, size).await,
                Bench::RestGetPut => crate::app_rest::run(rt, size).await,
            }
        }
    }
}

async fn spawn_many<R: Rt>(rt: R, n: usize) -> Sample {
    let start = Instant::now();
    let handles: Vec<_> = (0..n).map(|i| rt.spawn(async move { i })).collect();
    let mut sum = 0;
    for h in handles {
        sum += h.await;
    }
    let elapsed = start.elapsed();
    assert_eq!(black_box(sum), n * (n.saturating_sub(1)) / 2);
    Sample::one(elapsed)
}

async fn yield_many<R: Rt>(rt: R, tasks: usize, yields: usize) -> Sample {
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            rt.spawn(async move {
                for _ in 0..yields {
                    rt.yield_now().await;
                }
            })
        })
        .collect();
    for h in handles {
        h.await;
    }
    Sample::one(start.elapsed())
}

async fn ping_pong<R: Rt>(rt: R, trips: usize) -> Sample {
    let start = Instant::now();
    for i in 0..trips {
        let (ping, ping_rx) = oneshot::channel::<usize>();
        let (pong, pong_rx) = oneshot::channel::<usize>();
        let ponger = rt.spawn(async move {
            let v = ping_rx.await.expect("ping sender dropped");
            pong.send(v + 1).expect("pong receiver dropped");
        });
        ping.send(i).expect("ponger dropped its receiver");
        assert_eq!(pong_rx.await.expect("ponger dropped its sender"), i + 1);
        ponger.await;
    }
    Sample::one(start.elapsed())
}

/// One link of a chain: spawns the next link, or signals `done` if it is
/// the last. A named future rather than a recursive `async fn`.
struct Link<R> {
    rt: R,
    left: usize,
    done: Option<oneshot::Sender<()>>,
}

impl<R: Rt> Future for Link<R> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<()> {
        let done = self.done.take().expect("Link polled after completion");
        if self.left <= 1 {
            // The receiver may be gone only if the benchmark itself failed.
            let _ = done.send(());
        } else {
            let next = Link {
                rt: self.rt,
                left: self.left - 1,
                done: Some(done),
            };
            self.rt.spawn_detached(next);
        }
        Poll::Ready(())
    }
}

async fn chained_spawn<R: Rt>(rt: R, depth: usize, chains: usize) -> Sample {
    let start = Instant::now();
    for _ in 0..chains {
        let (done, finished) = oneshot::channel();
        rt.spawn_detached(Link {
            rt,
            left: depth,
            done: Some(done),
        });
        finished.await.expect("a chain was dropped before its end");
    }
    Sample::one(start.elapsed())
}

/// One `timers_1m` task: creates `n` sleeps due at `deadline` and polls
/// them all until every one is done, keeping only the pending ones.
/// Returns when the first poll of all of them ended (registration), when
/// the last completed, and how many were already due at their first poll.
async fn sleeper<R: Rt>(rt: R, n: usize, deadline: Instant) -> (Instant, Instant, usize) {
    let mut sleeps: Vec<Pin<Box<R::Sleep>>> =
        (0..n).map(|_| Box::pin(rt.sleep_until(deadline))).collect();
    let mut registered = None;
    let mut early = 0;
    futures_lite::future::poll_fn(|cx| {
        sleeps.retain_mut(|s| s.as_mut().poll(cx).is_pending());
        if registered.is_none() {
            registered = Some(Instant::now());
            early = n - sleeps.len();
        }
        if sleeps.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    let registered = registered.expect("polled at least once");
    (registered, Instant::now(), early)
}

async fn timers<R: Rt>(rt: R, tasks: usize, per_task: usize, delay: Duration) -> Sample {
    let start = Instant::now();
    let deadline = start + delay;
    let handles: Vec<_> = (0..tasks)
        .map(|_| rt.spawn(sleeper(rt, per_task, deadline)))
        .collect();
    let mut registered = start;
    let mut finished = start;
    let mut early = 0;
    for h in handles {
        let (r, f, e) = h.await;
        registered = registered.max(r);
        finished = finished.max(f);
        early += e;
    }
    let register = registered - start;
    let warning = (registered > deadline || early > 0).then(|| {
        format!(
            "registration took {:.0} ms, past the {} ms deadline; {early} sleeps were due at \
             their first poll",
            register.as_secs_f64() * 1e3,
            delay.as_millis()
        )
    });
    Sample {
        values: vec![register, finished.saturating_duration_since(deadline)],
        warning,
    }
}

async fn idle_cpu<R: Rt>(rt: R) -> Sample {
    rt.sleep_until(Instant::now() + SETTLE).await;
    let before = cpu::process_cpu_time();
    rt.sleep_until(Instant::now() + IDLE).await;
    let after = cpu::process_cpu_time();
    Sample::one(after.saturating_sub(before))
}

/// `1000000` as `1,000,000`.
pub(crate) fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        let left = digits.len() - i;
        if i > 0 && left.is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn grouped_puts_commas_between_thousands() {
        assert_eq!(super::grouped(7), "7");
        assert_eq!(super::grouped(1_000), "1,000");
        assert_eq!(super::grouped(100_000), "100,000");
        assert_eq!(super::grouped(1_000_000), "1,000,000");
    }
}
