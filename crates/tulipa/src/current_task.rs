//! `tulipa::task::current()`: who is running (asyncio's `current_task()`).
//!
//! The executor records, for the duration of each poll, which task is being
//! polled on the thread (`tulipa_executor::current_info`), so the lookup is
//! O(1) and works for every kind of task, local ones included.

use crate::task::TaskInfo;

/// The identity of the task running this code (asyncio's
/// `current_task()`): id, name and spawn location.
///
/// Returns `None` outside a task: directly in `Runtime::block_on` (whose
/// future is not a task) and inside [`call_soon`](crate::Handle::call_soon)
/// / `call_later` / `call_at` callbacks (callbacks are not tasks). While a
/// task's future is dropped (cancellation, shutdown), it still names that
/// task, as asyncio's `finally:` runs inside the cancelled task.
///
/// A task spawned without a name is called `Task-N`, N its id (asyncio's
/// default).
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     assert!(tulipa::task::current().is_none()); // block_on's future is no task
///     let h = tulipa::task::Builder::new()
///         .name("worker")
///         .spawn(async { tulipa::task::current().unwrap().name().map(String::from) })
///         .unwrap();
///     assert_eq!(h.await.unwrap().as_deref(), Some("worker"));
///
///     let local = tulipa::spawn_local(async { tulipa::task::current().is_some() });
///     assert!(local.await.unwrap());
///
///     let unnamed = tulipa::spawn(async { tulipa::task::current().unwrap() });
///     let id = unnamed.id();
///     let me = unnamed.await.unwrap();
///     assert_eq!(me.name(), Some(format!("Task-{id}").as_str()));
/// });
/// ```
pub fn current() -> Option<TaskInfo> {
    tulipa_executor::current_info()
}
