//! An event as a starting gate: tasks wait on an `Event` until `main`
//! sets it, then all of them run.
//!
//! It mirrors this asyncio program:
//!
//! ```python
//! import asyncio
//!
//! async def runner(i, gate):
//!     print(f"runner {i} waits at the gate")
//!     await gate.wait()
//!     print(f"runner {i} is off")
//!     return i
//!
//! async def main():
//!     gate = asyncio.Event()
//!     runners = [asyncio.create_task(runner(i, gate)) for i in range(5)]
//!     await asyncio.sleep(0.05)
//!     print("main sets the gate")
//!     gate.set()
//!     print(await asyncio.gather(*runners))
//!
//! asyncio.run(main())
//! ```
//!
//! Run it with `cargo run -p tulipa --example event_gate`.

use std::sync::Arc;
use std::time::Duration;

use tulipa::sync::Event;

#[tulipa::main]
async fn main() {
    let gate = Arc::new(Event::new());
    let runners: Vec<_> = (0..5)
        .map(|i| {
            let gate = gate.clone();
            tulipa::spawn(async move {
                println!("runner {i} waits at the gate");
                gate.wait().await;
                println!("runner {i} is off");
                i
            })
        })
        .collect();
    tulipa::time::sleep(Duration::from_millis(50)).await;
    assert!(!gate.is_set());
    println!("main sets the gate");
    gate.set();
    let mut finished = Vec::new();
    for r in runners {
        finished.push(r.await.expect("a runner panicked"));
    }
    println!("{finished:?}");
}
