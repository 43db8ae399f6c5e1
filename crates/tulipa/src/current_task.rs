//! `tulipa::task::current()`: who is running (asyncio's `current_task()`).
//!
//! The executor records the id of the task being polled on each thread
//! (`tulipa_executor::current_id`); the rest of the identity (name, spawn
//! location) is looked up in the current runtime's task registry. That
//! lookup walks the live tasks (O(tasks)): fine for logging and debugging,
//! not for a hot path; [`current_id`](crate::task::current_id) is O(1).

use crate::runtime::Handle;
use crate::task::TaskInfo;

/// The identity of the task running this code (asyncio's
/// `current_task()`): id, name and spawn location.
///
/// Returns `None` outside a task (for example directly in
/// `Runtime::block_on`), and for local tasks (`spawn_local`), which the
/// runtime's registry does not list.
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
/// });
/// ```
pub fn current() -> Option<TaskInfo> {
    let id = tulipa_executor::current_id()?;
    let handle = Handle::try_current()?;
    handle.tasks().into_iter().find(|t| t.id() == id)
}
