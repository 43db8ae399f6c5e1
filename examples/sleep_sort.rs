//! Sleep sort: one task per number, each sleeping that many tens of
//! milliseconds before pushing its number, so they arrive sorted.
//!
//! A joke algorithm, but a good picture of timers: every task sleeps at the
//! same time, and the runtime wakes them in deadline order. It mirrors:
//!
//! ```python
//! import asyncio
//!
//! async def main():
//!     numbers = [5, 3, 9, 1, 7, 2, 8, 4, 6, 0]
//!     out = []
//!
//!     async def sleeper(n):
//!         await asyncio.sleep(n / 100)
//!         out.append(n)
//!
//!     await asyncio.gather(*(sleeper(n) for n in numbers))
//!     print(out)
//!
//! asyncio.run(main())
//! ```
//!
//! Run it with `cargo run -p tulipa --example sleep_sort`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tulipa::main]
async fn main() {
    let numbers = [5, 3, 9, 1, 7, 2, 8, 4, 6, 0];
    println!("unsorted: {numbers:?}");

    // Tasks may run on several threads, so the shared list is an
    // `Arc<Mutex<_>>` where Python would use a plain list.
    let out = Arc::new(Mutex::new(Vec::new()));

    let tasks: Vec<_> = numbers
        .into_iter()
        .map(|n| {
            let out = out.clone();
            tulipa::spawn(async move {
                tulipa::time::sleep(Duration::from_millis(10 * n)).await;
                out.lock().unwrap().push(n);
            })
        })
        .collect();

    // Awaiting every handle is `asyncio.gather` for tasks that return
    // nothing interesting.
    for task in tasks {
        task.await
            .expect("a sleeper neither panics nor is cancelled");
    }
    let sorted = Arc::try_unwrap(out).unwrap().into_inner().unwrap();

    println!("sorted:   {sorted:?}");
}
