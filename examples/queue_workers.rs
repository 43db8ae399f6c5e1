//! Work queue: a producer fills a bounded queue with jobs, three workers
//! take them, "work" (sleep) and mark each done; `main` waits for every
//! job with `join`, then cancels the workers, which would otherwise wait
//! for more work forever. It mirrors the worker example of asyncio's
//! queue documentation:
//!
//! ```python
//! import asyncio, random, time
//!
//! async def worker(name, queue):
//!     while True:
//!         delay = await queue.get()
//!         await asyncio.sleep(delay)
//!         queue.task_done()
//!         print(f"{name} slept {delay:.3f}s")
//!
//! async def main():
//!     queue = asyncio.Queue(maxsize=10)
//!     delays = [random.uniform(0.005, 0.05) for _ in range(20)]
//!
//!     async def producer():
//!         for d in delays:
//!             await queue.put(d)   # waits while 10 jobs are queued
//!
//!     prod = asyncio.create_task(producer())
//!     workers = [asyncio.create_task(worker(f"worker-{i}", queue)) for i in range(3)]
//!     started = time.monotonic()
//!     await prod
//!     await queue.join()
//!     took = time.monotonic() - started
//!     for w in workers:
//!         w.cancel()
//!     await asyncio.gather(*workers, return_exceptions=True)
//!     print(f"3 workers slept {took:.3f}s in parallel for {sum(delays):.3f}s of work")
//!
//! asyncio.run(main())
//! ```
//!
//! Run it with `cargo run -p tulipa --example queue_workers`.

use std::time::{Duration, Instant};

use tulipa::queue::Queue;

/// Jobs to hand out.
const JOBS: u64 = 20;

/// A small deterministic stand-in for `random.uniform(0.005, 0.05)`:
/// between 5 and 50 ms, from a linear congruential generator.
fn delays() -> Vec<Duration> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..JOBS)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            Duration::from_millis(5 + (state >> 33) % 46)
        })
        .collect()
}

async fn worker(name: String, queue: Queue<Duration>) {
    // `get` fails only after a shutdown; this example cancels instead.
    while let Ok(delay) = queue.get().await {
        tulipa::time::sleep(delay).await;
        queue
            .task_done()
            .expect("one task_done per item taken with get");
        println!("{name} slept {:.3}s", delay.as_secs_f64());
    }
}

#[tulipa::main]
async fn main() {
    let delays = delays();
    let total: Duration = delays.iter().sum();

    let queue = Queue::new(10);

    let producer = {
        let queue = queue.clone();
        tulipa::spawn(async move {
            for delay in delays {
                // Waits while the queue holds 10 jobs.
                queue.put(delay).await.expect("the queue is not shut down");
            }
        })
    };
    let workers: Vec<_> = (0..3)
        .map(|i| tulipa::spawn(worker(format!("worker-{i}"), queue.clone())))
        .collect();

    let started = Instant::now();
    producer.await.expect("the producer does not panic");
    queue.join().await;
    let took = started.elapsed();

    // The workers wait in `get` for work that will not come: cancel
    // them (asyncio's `task.cancel()`) and wait until they are gone.
    for w in &workers {
        w.cancel();
    }
    let mut cancelled = 0;
    for w in workers {
        if w.await.is_err_and(|e| e.is_cancelled()) {
            cancelled += 1;
        }
    }

    println!("====");
    println!("{JOBS} jobs done, {cancelled} workers cancelled");
    println!(
        "3 workers slept {:.3}s in parallel for {:.3}s of work",
        took.as_secs_f64(),
        total.as_secs_f64()
    );
}
