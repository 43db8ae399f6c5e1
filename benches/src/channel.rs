//! Channel benchmarks: mpsc and mpmc throughput (bounded and unbounded),
//! request/reply over a oneshot, and a ping-pong over two one-slot
//! channels. tulipa (`tulipa::channel`) against tokio
//! (`tokio::sync::mpsc`, `tokio::sync::oneshot`) and smol
//! (`smol::channel`, which is async-channel).
//!
//! By default each runtime uses its own family's channels ([`Lib::of`]
//! recognises the runtime by its type, as the blocking benchmarks do), so
//! a column is a whole stack. Set `TULIPA_BENCH_CHANNEL=tulipa`, `tokio` or
//! `smol` to put one channel library on every runtime and compare the
//! channels alone.
//!
//! tokio has no multi-consumer channel: in the mpmc shapes its consumers
//! share the one `mpsc` receiver behind a `tokio::sync::Mutex`, the usual
//! tokio idiom. smol has no oneshot: `smol::channel::bounded(1)` stands in.

use std::any::TypeId;
use std::future::Future;
use std::hint::black_box;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::benches::{grouped, Sample, Size};
use crate::rt::{Rt, SmolLocal, SmolMulti, Tokio, Tulipa};

/// Which channel library a run uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lib {
    Tulipa,
    Tokio,
    Smol,
}

impl Lib {
    /// The runtime's own family, unless `TULIPA_BENCH_CHANNEL` names one.
    fn of<R: Rt>() -> Lib {
        static FORCED: OnceLock<Option<Lib>> = OnceLock::new();
        let forced = *FORCED.get_or_init(|| {
            let name = std::env::var("TULIPA_BENCH_CHANNEL").ok()?;
            match name.as_str() {
                "tulipa" => Some(Lib::Tulipa),
                "tokio" => Some(Lib::Tokio),
                "smol" => Some(Lib::Smol),
                other => panic!("TULIPA_BENCH_CHANNEL={other}: expected tulipa, tokio or smol"),
            }
        });
        if let Some(lib) = forced {
            return lib;
        }
        let t = TypeId::of::<R>();
        if t == TypeId::of::<Tulipa>() {
            Lib::Tulipa
        } else if t == TypeId::of::<Tokio>() {
            Lib::Tokio
        } else if t == TypeId::of::<SmolMulti>() || t == TypeId::of::<SmolLocal>() {
            Lib::Smol
        } else {
            unreachable!("a runtime without channels in the benchmarks")
        }
    }
}

/// The channel shapes, for [`describe`] and [`run`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    /// 4 producers, 1 consumer, bounded.
    Mpsc,
    /// 4 producers, 4 consumers, bounded.
    Mpmc,
    /// 4 producers, 4 consumers, unbounded.
    Unbounded,
    /// Request/reply: a oneshot per request to a server task.
    Oneshot,
    /// Two tasks bounce a counter over two one-slot channels.
    PingPong,
}

const PRODUCERS: usize = 4;
const CONSUMERS: usize = 4;
const CAPACITY: usize = 256;

/// Messages per producer in the throughput shapes.
fn per_producer(size: Size) -> usize {
    if size.quick {
        10_000
    } else {
        100_000
    }
}

/// Round trips in the oneshot and ping-pong shapes.
fn trips(size: Size) -> usize {
    if size.quick {
        10_000
    } else {
        100_000
    }
}

/// The report line of a shape.
pub(crate) fn describe(shape: Shape, size: Size) -> String {
    let n = grouped(per_producer(size));
    let t = grouped(trips(size));
    match shape {
        Shape::Mpsc => format!(
            "chan_mpsc: {PRODUCERS} producer tasks send {n} u64 each into one bounded({CAPACITY}) \
             channel, one consumer task receives them all"
        ),
        Shape::Mpmc => format!(
            "chan_mpmc: {PRODUCERS} producer tasks send {n} u64 each into one bounded({CAPACITY}) \
             channel, {CONSUMERS} consumer tasks share the receiving (tokio: mpsc receiver behind \
             a tokio Mutex)"
        ),
        Shape::Unbounded => format!(
            "chan_unbounded: as chan_mpmc with an unbounded channel ({PRODUCERS} x {n} messages, \
             {CONSUMERS} consumers)"
        ),
        Shape::Oneshot => format!(
            "chan_oneshot: {t} sequential requests, each carrying a new oneshot sender through a \
             bounded(1) channel to a server task that replies on it (smol: bounded(1) as oneshot)"
        ),
        Shape::PingPong => format!(
            "chan_ping_pong: {t} round trips of a counter between two tasks over two bounded(1) \
             channels"
        ),
    }
}

/// Runs one shape on the runtime `rt` with its channel library.
///
/// The body is boxed once per run (not per message): proving the generic
/// bodies `Send` through the channel traits' `impl Future` methods hits a
/// compiler limitation (rust-lang/rust#100013) otherwise.
pub(crate) async fn run<R: Rt>(rt: R, shape: Shape, size: Size) -> Sample {
    match Lib::of::<R>() {
        Lib::Tulipa => run_with::<R, TulipaChan>(rt, shape, size).await,
        Lib::Tokio => run_with::<R, TokioChan>(rt, shape, size).await,
        Lib::Smol => run_with::<R, SmolChan>(rt, shape, size).await,
    }
}

async fn run_with<R: Rt, C: Lib3>(rt: R, shape: Shape, size: Size) -> Sample {
    match shape {
        Shape::Mpsc => throughput::<R, C>(rt, <C as Chan<u64>>::bounded(CAPACITY), 1, size).await,
        Shape::Mpmc => {
            throughput::<R, C>(rt, <C as Chan<u64>>::bounded(CAPACITY), CONSUMERS, size).await
        }
        Shape::Unbounded => {
            throughput::<R, C>(rt, <C as Chan<u64>>::unbounded(), CONSUMERS, size).await
        }
        Shape::Oneshot => request_reply::<R, C>(rt, trips(size)).await,
        Shape::PingPong => ping_pong::<R, C>(rt, trips(size)).await,
    }
}

/// One channel library's mpmc (or mpsc) channel of `T`, as the
/// benchmarks use it.
trait Chan<T: Send + 'static>: 'static {
    type Tx: Clone + Send + Sync + 'static;
    type Rx: Send + 'static;

    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    fn unbounded() -> (Self::Tx, Self::Rx);
    /// Another receiving handle (for tokio: shares the receiver).
    fn clone_rx(rx: &mut Self::Rx) -> Self::Rx;
    fn send(tx: &Self::Tx, v: T) -> impl Future<Output = ()> + Send;
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<T>> + Send;
}

/// One channel library's oneshot of `u64`.
trait One: 'static {
    type OneTx: Send + 'static;
    type OneRx: Send + 'static;

    fn oneshot() -> (Self::OneTx, Self::OneRx);
    fn one_send(tx: Self::OneTx, v: u64);
    fn one_recv(rx: Self::OneRx) -> impl Future<Output = u64> + Send;
}

/// Everything one library offers the benchmarks.
trait Lib3: Chan<u64> + One + Chan<(u64, <Self as One>::OneTx)> {}

impl<C: Chan<u64> + One + Chan<(u64, <C as One>::OneTx)>> Lib3 for C {}

async fn throughput<R: Rt, C: Chan<u64>>(
    rt: R,
    (tx, mut rx): (C::Tx, C::Rx),
    consumers: usize,
    size: Size,
) -> Sample {
    let n = per_producer(size);
    let start = Instant::now();
    let mut rxs: Vec<C::Rx> = (1..consumers).map(|_| C::clone_rx(&mut rx)).collect();
    rxs.push(rx);
    let consumer_handles: Vec<_> = rxs
        .into_iter()
        .map(|mut rx| {
            rt.spawn(async move {
                let (mut count, mut sum) = (0usize, 0u64);
                while let Some(v) = C::recv(&mut rx).await {
                    count += 1;
                    sum += v;
                }
                (count, sum)
            })
        })
        .collect();
    let producer_handles: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            let tx = tx.clone();
            rt.spawn(async move {
                for i in 0..n as u64 {
                    C::send(&tx, i).await;
                }
            })
        })
        .collect();
    drop(tx);
    for h in producer_handles {
        h.await;
    }
    let (mut count, mut sum) = (0, 0);
    for h in consumer_handles {
        let (c, s) = h.await;
        count += c;
        sum += s;
    }
    let elapsed = start.elapsed();
    assert_eq!(count, PRODUCERS * n, "messages lost");
    assert_eq!(black_box(sum), (PRODUCERS * n * (n - 1) / 2) as u64);
    Sample::one(elapsed)
}

async fn request_reply<R: Rt, C: Lib3>(rt: R, trips: usize) -> Sample {
    let (req_tx, mut req_rx) = <C as Chan<(u64, C::OneTx)>>::bounded(1);
    let start = Instant::now();
    let server = rt.spawn(async move {
        while let Some((v, reply)) = <C as Chan<(u64, C::OneTx)>>::recv(&mut req_rx).await {
            C::one_send(reply, v + 1);
        }
    });
    for i in 0..trips as u64 {
        let (one_tx, one_rx) = C::oneshot();
        <C as Chan<(u64, C::OneTx)>>::send(&req_tx, (i, one_tx)).await;
        assert_eq!(C::one_recv(one_rx).await, i + 1);
    }
    drop(req_tx);
    server.await;
    Sample::one(start.elapsed())
}

async fn ping_pong<R: Rt, C: Chan<u64>>(rt: R, trips: usize) -> Sample {
    let (ping_tx, mut ping_rx) = C::bounded(1);
    let (pong_tx, mut pong_rx) = C::bounded(1);
    let start = Instant::now();
    let ponger = rt.spawn(async move {
        while let Some(v) = C::recv(&mut ping_rx).await {
            C::send(&pong_tx, v + 1).await;
        }
    });
    let mut v = 0;
    for _ in 0..trips {
        C::send(&ping_tx, v).await;
        v = C::recv(&mut pong_rx).await.expect("the ponger is alive");
    }
    drop(ping_tx);
    ponger.await;
    assert_eq!(v, trips as u64);
    Sample::one(start.elapsed())
}

struct TulipaChan;

impl<T: Send + 'static> Chan<T> for TulipaChan {
    type Tx = tulipa::channel::Sender<T>;
    type Rx = tulipa::channel::Receiver<T>;

    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        tulipa::channel::bounded(cap)
    }
    fn unbounded() -> (Self::Tx, Self::Rx) {
        tulipa::channel::unbounded()
    }
    fn clone_rx(rx: &mut Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn send(tx: &Self::Tx, v: T) {
        if tx.send(v).await.is_err() {
            panic!("the receivers are gone");
        }
    }
    async fn recv(rx: &mut Self::Rx) -> Option<T> {
        rx.recv().await.ok()
    }
}

impl One for TulipaChan {
    type OneTx = tulipa::channel::oneshot::Sender<u64>;
    type OneRx = tulipa::channel::oneshot::Receiver<u64>;

    fn oneshot() -> (Self::OneTx, Self::OneRx) {
        tulipa::channel::oneshot::channel()
    }
    fn one_send(tx: Self::OneTx, v: u64) {
        tx.send(v).expect("the requester waits");
    }
    async fn one_recv(rx: Self::OneRx) -> u64 {
        rx.await.expect("the server replies")
    }
}

struct SmolChan;

impl<T: Send + 'static> Chan<T> for SmolChan {
    type Tx = smol::channel::Sender<T>;
    type Rx = smol::channel::Receiver<T>;

    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        smol::channel::bounded(cap)
    }
    fn unbounded() -> (Self::Tx, Self::Rx) {
        smol::channel::unbounded()
    }
    fn clone_rx(rx: &mut Self::Rx) -> Self::Rx {
        rx.clone()
    }
    async fn send(tx: &Self::Tx, v: T) {
        if tx.send(v).await.is_err() {
            panic!("the receivers are gone");
        }
    }
    async fn recv(rx: &mut Self::Rx) -> Option<T> {
        rx.recv().await.ok()
    }
}

impl One for SmolChan {
    type OneTx = smol::channel::Sender<u64>;
    type OneRx = smol::channel::Receiver<u64>;

    fn oneshot() -> (Self::OneTx, Self::OneRx) {
        smol::channel::bounded(1)
    }
    fn one_send(tx: Self::OneTx, v: u64) {
        tx.try_send(v).expect("the requester waits");
    }
    async fn one_recv(rx: Self::OneRx) -> u64 {
        rx.recv().await.expect("the server replies")
    }
}

struct TokioChan;

/// tokio's bounded or unbounded mpsc sender.
enum TokioTx<T> {
    Bounded(tokio::sync::mpsc::Sender<T>),
    Unbounded(tokio::sync::mpsc::UnboundedSender<T>),
}

impl<T> Clone for TokioTx<T> {
    fn clone(&self) -> Self {
        match self {
            TokioTx::Bounded(tx) => TokioTx::Bounded(tx.clone()),
            TokioTx::Unbounded(tx) => TokioTx::Unbounded(tx.clone()),
        }
    }
}

/// tokio's bounded or unbounded mpsc receiver.
enum TokioRecv<T> {
    Bounded(tokio::sync::mpsc::Receiver<T>),
    Unbounded(tokio::sync::mpsc::UnboundedReceiver<T>),
}

impl<T> TokioRecv<T> {
    async fn recv(&mut self) -> Option<T> {
        match self {
            TokioRecv::Bounded(rx) => rx.recv().await,
            TokioRecv::Unbounded(rx) => rx.recv().await,
        }
    }
}

/// The receiver, owned by one consumer or shared behind a tokio mutex.
enum TokioRx<T> {
    Owned(TokioRecv<T>),
    Shared(Arc<tokio::sync::Mutex<TokioRecv<T>>>),
    /// Only while switching from owned to shared.
    Moving,
}

impl<T: Send + 'static> Chan<T> for TokioChan {
    type Tx = TokioTx<T>;
    type Rx = TokioRx<T>;

    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        let (tx, rx) = tokio::sync::mpsc::channel(cap);
        (TokioTx::Bounded(tx), TokioRx::Owned(TokioRecv::Bounded(rx)))
    }
    fn unbounded() -> (Self::Tx, Self::Rx) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (
            TokioTx::Unbounded(tx),
            TokioRx::Owned(TokioRecv::Unbounded(rx)),
        )
    }
    fn clone_rx(rx: &mut Self::Rx) -> Self::Rx {
        if let TokioRx::Owned(_) = rx {
            let TokioRx::Owned(owned) = std::mem::replace(rx, TokioRx::Moving) else {
                unreachable!("checked just above")
            };
            *rx = TokioRx::Shared(Arc::new(tokio::sync::Mutex::new(owned)));
        }
        match rx {
            TokioRx::Shared(shared) => TokioRx::Shared(shared.clone()),
            _ => unreachable!("made shared just above"),
        }
    }
    async fn send(tx: &Self::Tx, v: T) {
        let sent = match tx {
            TokioTx::Bounded(tx) => tx.send(v).await.is_ok(),
            TokioTx::Unbounded(tx) => tx.send(v).is_ok(),
        };
        assert!(sent, "the receiver is gone");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<T> {
        match rx {
            TokioRx::Owned(rx) => rx.recv().await,
            TokioRx::Shared(shared) => shared.lock().await.recv().await,
            TokioRx::Moving => unreachable!("never left moving"),
        }
    }
}

impl One for TokioChan {
    type OneTx = tokio::sync::oneshot::Sender<u64>;
    type OneRx = tokio::sync::oneshot::Receiver<u64>;

    fn oneshot() -> (Self::OneTx, Self::OneRx) {
        tokio::sync::oneshot::channel()
    }
    fn one_send(tx: Self::OneTx, v: u64) {
        tx.send(v).expect("the requester waits");
    }
    async fn one_recv(rx: Self::OneRx) -> u64 {
        rx.await.expect("the server replies")
    }
}
