//! The smallest tulipa program: start the event loop, spawn a task, sleep.
//!
//! It mirrors this asyncio program:
//!
//! ```python
//! import asyncio
//!
//! async def greet(name):
//!     await asyncio.sleep(0.1)
//!     return f"hello, {name}"
//!
//! async def main():
//!     task = asyncio.create_task(greet("world"))
//!     print(await task)
//!
//! asyncio.run(main())
//! ```
//!
//! Run it with `cargo run -p tulipa --example hello`.

use std::time::Duration;

async fn greet(name: &str) -> String {
    tulipa::time::sleep(Duration::from_millis(100)).await;
    format!("hello, {name}")
}

// `#[tulipa::main]` is `asyncio.run(main())`: it builds a runtime, runs
// `main`'s body to completion on it, and shuts the runtime down.
#[tulipa::main]
async fn main() {
    // `tulipa::spawn` is `asyncio.create_task`. The task starts at once;
    // awaiting its handle gives `Ok(output)`, or an error if the task
    // panicked or was cancelled.
    let task = tulipa::spawn(greet("world"));
    println!(
        "{}",
        task.await
            .expect("the task neither panics nor is cancelled")
    );
}
