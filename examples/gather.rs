//! asyncio's gather, wait, as_completed and shield, in tulipa.
//!
//! Runs on virtual time, so the "slow" downloads take no real time.
//!
//! Run it: `cargo run --example gather`

use std::time::Duration;

use futures_lite::StreamExt;
use tulipa::future::{as_completed, gather, shield, wait, WaitMode};
use tulipa::time::{sleep, Instant};

/// Pretends to fetch a page: takes `secs` seconds.
async fn fetch(page: &'static str, secs: u64) -> String {
    sleep(Duration::from_secs(secs)).await;
    format!("<{page}>")
}

#[tulipa::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let start = Instant::now();

    // gather: run them concurrently in this task; results in order.
    let pages = gather([fetch("a", 3), fetch("b", 1), fetch("c", 2)]).await;
    println!("gather      {pages:?} after {:?}", start.elapsed());

    // gather!: different types, one tuple.
    let (page, n) = tulipa::gather!(fetch("d", 1), async { 42 }).await;
    println!("gather!     ({page}, {n})");

    // as_completed: spawned tasks, in the order they finish.
    let tasks = [("x", 3), ("y", 1), ("z", 2)].map(|(p, s)| tulipa::spawn(fetch(p, s)));
    let mut done = as_completed(tasks);
    while let Some(page) = done.next().await {
        println!("completed   {}", page.expect("the task finished"));
    }

    // wait with a timeout: what finished, and what is still running.
    let tasks = [("slow", 60), ("quick", 1)].map(|(p, s)| tulipa::spawn(fetch(p, s)));
    let out = wait(tasks, WaitMode::AllCompleted, Some(Duration::from_secs(5))).await;
    println!(
        "wait        {} done, {} still running after the 5 s timeout",
        out.done.len(),
        out.pending.len()
    );
    for (_, task) in out.pending {
        task.cancel();
    }

    // shield: the caller gives up, the work goes on.
    let save = shield(fetch("saved", 10));
    let gave_up = tulipa::time::timeout(Duration::from_secs(1), save)
        .await
        .is_err();
    println!("shield      caller gave up: {gave_up}; the shielded task runs on");
    println!("total       {:?} of virtual time", start.elapsed());
}
