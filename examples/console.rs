//! tulipa's tasks, live in tokio-console.
//!
//! With the `console` feature, every tulipa task carries a `runtime.spawn`
//! span and its wakers emit `runtime::waker` events, the shape
//! console-subscriber reads from any runtime. This program installs
//! console-subscriber's layer, then runs a few named tasks that sleep,
//! wait on a lock and exchange messages for a minute, so there is
//! something to watch.
//!
//! Run it, then the console in another terminal:
//!
//! ```text
//! RUSTFLAGS="--cfg console_without_tokio_unstable" \
//!     cargo run -p tulipa --example console --features console
//! tokio-console            # cargo install --locked tokio-console
//! ```
//!
//! console-subscriber refuses to start (it panics) unless it was built with
//! tokio's `--cfg tokio_unstable`, which tokio's own task spans need, or
//! with `--cfg console_without_tokio_unstable`, its switch for runtimes
//! other than tokio: tulipa's spans need no tokio cfg, so the second is the
//! one to use. (Changing `RUSTFLAGS` rebuilds every crate once.)
//!
//! console-subscriber serves its gRPC endpoint (127.0.0.1:6669, or
//! `TOKIO_CONSOLE_BIND`) from its own tokio runtime on a thread of its
//! own: a second runtime in the process, only in this example and only
//! with this feature. tulipa itself never starts tokio.

use std::sync::Arc;
use std::time::Duration;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn main() {
    let console = console_subscriber::ConsoleLayer::builder()
        .with_default_env()
        .spawn();
    tracing_subscriber::registry().with(console).init();

    let rt = tulipa::Runtime::builder()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let lock = Arc::new(tulipa::sync::Mutex::new(0u64));
        let (tx, rx) = tulipa::channel::bounded::<u64>(8);
        let mut tasks = Vec::new();
        for i in 0..4 {
            let lock = lock.clone();
            tasks.push(
                tulipa::task::Builder::new()
                    .name(format!("locker-{i}"))
                    .spawn(async move {
                        for _ in 0..60 {
                            let mut n = lock.lock().await;
                            *n += 1;
                            tulipa::time::sleep(Duration::from_millis(50)).await;
                            drop(n);
                            tulipa::time::sleep(Duration::from_millis(100 * (i + 1))).await;
                        }
                    })
                    .unwrap(),
            );
        }
        tasks.push(
            tulipa::task::Builder::new()
                .name("producer")
                .spawn(async move {
                    for n in 0..600 {
                        tx.send(n).await.unwrap();
                        tulipa::time::sleep(Duration::from_millis(100)).await;
                    }
                })
                .unwrap(),
        );
        tasks.push(
            tulipa::task::Builder::new()
                .name("consumer")
                .spawn(async move { while rx.recv().await.is_ok() {} })
                .unwrap(),
        );
        for t in tasks {
            t.await.unwrap();
        }
        println!("done: {}", *lock.lock().await);
    });
}
