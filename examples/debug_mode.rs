//! asyncio's debug mode (`PYTHONASYNCIODEBUG=1`), in tulipa.
//!
//! The asyncio program this mirrors:
//!
//! ```python
//! async def hog():
//!     time.sleep(0.2)             # blocks the loop: "Executing <Task> took 0.2 seconds"
//!
//! async def doomed():
//!     raise RuntimeError("boom")  # "Task exception was never retrieved"
//!
//! async def main():
//!     asyncio.get_running_loop().slow_callback_duration = 0.05
//!     await asyncio.create_task(hog(), name="hog")
//!     asyncio.create_task(doomed(), name="doomed")
//!     await asyncio.sleep(0.1)
//!
//! asyncio.run(main(), debug=True)
//! ```
//!
//! Run it with `cargo run -p tulipa --example debug_mode`. Without
//! `.debug(true)`, `TULIPA_DEBUG=1` in the environment turns debug mode on.

use std::time::Duration;

use tulipa::{Diagnostic, PanicPolicy, Runtime};

fn main() {
    let rt = Runtime::builder()
        .worker_threads(2)
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(50))
        .unhandled_panic(PanicPolicy::Log)
        .on_diagnostic(|d| match d {
            Diagnostic::UnhandledPanic { .. } => eprintln!("[never retrieved] {d}"),
            _ => eprintln!("[debug] {d}"),
        })
        .build()
        .expect("build the runtime");

    rt.block_on(async {
        // A task that blocks its worker for 200 ms: the watchdog reports it
        // while it is stuck, and the slow-poll check when it returns.
        tulipa::task::Builder::new()
            .name("hog")
            .spawn(async { std::thread::sleep(Duration::from_millis(200)) })
            .expect("inside a runtime")
            .await
            .expect("hog does not panic");

        // A task whose panic nobody awaits: reported once, with its name and
        // spawn location, when its handle is dropped.
        let doomed = tulipa::task::Builder::new()
            .name("doomed")
            .spawn(async { panic!("boom") })
            .expect("inside a runtime");
        tulipa::time::sleep(Duration::from_millis(100)).await;
        drop(doomed);

        // The same work done right: blocking work goes to the blocking pool
        // (asyncio's `to_thread`), and the loop stays responsive.
        let n = tulipa::unblock(|| {
            std::thread::sleep(Duration::from_millis(200));
            42
        })
        .await;
        println!("the blocking pool returned {n}; no report for it");
    });
}
