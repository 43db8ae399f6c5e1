//! A semaphore limits concurrency: 20 jobs start at once, at most 3 run at
//! a time, and each prints when it starts and ends.
//!
//! It mirrors this asyncio program:
//!
//! ```python
//! import asyncio
//!
//! async def job(i, sem, running):
//!     async with sem:
//!         running[0] += 1
//!         print(f"job {i:2} starts ({running[0]} running)")
//!         await asyncio.sleep(0.01 * (i % 4 + 1))
//!         running[0] -= 1
//!         print(f"job {i:2} ends")
//!
//! async def main():
//!     sem = asyncio.Semaphore(3)
//!     running = [0]
//!     await asyncio.gather(*(job(i, sem, running) for i in range(20)))
//!
//! asyncio.run(main())
//! ```
//!
//! Run it with `cargo run -p tulipa --example semaphore_limit`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulipa::sync::Semaphore;

#[tulipa::main]
async fn main() {
    let sem = Arc::new(Semaphore::new(3));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<_> = (0..20)
        .map(|i| {
            let (sem, running, peak) = (sem.clone(), running.clone(), peak.clone());
            tulipa::spawn(async move {
                // `async with sem:` is a permit guard, returned on drop.
                let _permit = sem.acquire().await.expect("the semaphore is never closed");
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                println!("job {i:2} starts ({now} running)");
                tulipa::time::sleep(Duration::from_millis(10 * (i % 4 + 1))).await;
                running.fetch_sub(1, Ordering::SeqCst);
                println!("job {i:2} ends");
            })
        })
        .collect();
    for job in jobs {
        job.await.expect("a job panicked");
    }
    let peak = peak.load(Ordering::SeqCst);
    assert!(peak <= 3, "{peak} jobs ran at once");
    println!("all 20 jobs done; at most {peak} ran at once");
}
