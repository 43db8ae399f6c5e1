//! asyncio's TaskGroup and contextvars in tulipa: a group of workers that
//! fails as a whole, a scope of borrowing futures, and a task-local
//! request id.
//!
//! Run it: `cargo run --example task_group`

use std::time::Duration;

use tulipa::task::{TaskFailure, TaskGroup, TaskScope};
use tulipa::time::sleep;

tulipa::task_local! {
    /// The request a task works for, for its log lines.
    static REQUEST: u32;
}

fn log(msg: &str) {
    let id = REQUEST.try_get().map_or("-".to_string(), |r| r.to_string());
    println!("[request {id}] {msg}");
}

async fn check(item: u32) -> Result<u32, String> {
    sleep(Duration::from_millis(u64::from(item) * 10)).await;
    if item == 3 {
        log("item 3 is bad");
        return Err(format!("item {item} failed validation"));
    }
    log(&format!("item {item} ok"));
    Ok(item * 2)
}

#[tulipa::main(start_paused = true)]
async fn main() {
    // All succeed: results in spawn order.
    let mut group = TaskGroup::new();
    for item in [2, 1] {
        group.spawn(REQUEST.scope(7, check(item)));
    }
    println!("ok group   -> {:?}", group.try_join().await);

    // One fails: the others are cancelled; the error lists every failure.
    let mut group = TaskGroup::new();
    for item in [1, 3, 50, 60] {
        // Task-locals are not inherited by spawned tasks: pass them in.
        group.spawn(REQUEST.scope(8, check(item)));
    }
    match group.try_join().await {
        Err(e) => match e.first() {
            TaskFailure::Failed { error, .. } => {
                println!("bad group  -> failed: {error} (50 and 60 cancelled)")
            }
            other => println!("bad group  -> {other:?}"),
        },
        Ok(v) => println!("bad group  -> {v:?}"),
    }

    // A scope: futures that borrow local data, run inside this task.
    let words = vec!["tulipa".to_string(), "asyncio".to_string()];
    let mut scope = TaskScope::new();
    for w in &words {
        scope.push(async move { w.len() });
    }
    println!("scope      -> {:?}", scope.join().await);
}
