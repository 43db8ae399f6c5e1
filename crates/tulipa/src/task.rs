//! Tasks: spawning with names, yielding, identity (asyncio's
//! `create_task`, `Task.cancel`, `Task.get_name`, `sleep(0)`).

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

pub use tulipa_executor::{
    current_id, yield_now, AwaitPoint, CancelHandle, Dump, JoinError, JoinHandle, TaskDump, TaskId,
    TaskInfo, TaskOutcome, TaskState, YieldNow,
};
pub use tulipa_future::{task_local, AccessError, LocalKey, TaskLocalFuture};

pub use crate::current_task::current;
pub use crate::task_group::{
    ChildTask, GroupClosed, GroupError, GroupSpawner, TaskFailure, TaskGroup, TaskScope,
};

use crate::runtime::Handle;

/// Spawns a task onto the current runtime (asyncio's `create_task`).
///
/// The task starts running at once on a worker (multi-thread runtime) or
/// at the next opportunity of the thread in `block_on` (current-thread).
///
/// # Panics
///
/// Panics if called outside a runtime, saying what to do instead; see
/// [`try_spawn`] for a version that returns an error.
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let h = tulipa::spawn(async { "hi" });
///     assert_eq!(h.await.unwrap(), "hi");
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match try_spawn(future) {
        Ok(h) => h,
        Err(_) => panic!(
            "tulipa::spawn called outside a tulipa runtime: call it from inside \
             tulipa::run / Runtime::block_on or a task, or spawn through a Handle \
             (Runtime::handle().spawn(..)); for non-Send futures use tulipa::spawn_local"
        ),
    }
}

/// Like [`spawn`], but returns an error instead of panicking outside a
/// runtime.
///
/// # Errors
///
/// [`SpawnError`] (which gives the future back) if no runtime is current on
/// this thread.
#[track_caller]
pub fn try_spawn<F>(future: F) -> Result<JoinHandle<F::Output>, SpawnError<F>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // The location is captured here: `#[track_caller]` does not reach
    // through the closure below.
    let options = tulipa_executor::SpawnOptions::new().location(std::panic::Location::caller());
    crate::context::with_current(|h| match h {
        Some(h) => Ok(h.spawn_with(options, future)),
        None => Err(SpawnError(future)),
    })
}

/// Spawns a future that is not `Send` onto this thread: it runs while a
/// tulipa `block_on` (a runtime's, or the bare one) runs here.
///
/// # Panics
///
/// Panics if no tulipa `block_on` is running on this thread.
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
///
/// tulipa::block_on(async {
///     let shared = Rc::new(1);
///     let s = shared.clone();
///     let h = tulipa::spawn_local(async move { *s + 1 });
///     assert_eq!(h.await.unwrap(), 2);
/// });
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    tulipa_executor::spawn_local(tulipa_executor::SpawnOptions::new(), future)
}

/// The error of [`try_spawn`]: no runtime was current. Holds the future.
pub struct SpawnError<F>(pub F);

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpawnError(..)")
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no tulipa runtime is current on this thread; spawn from inside a runtime or through \
             a Handle",
        )
    }
}

impl<F> std::error::Error for SpawnError<F> {}

/// Builds a task with options: a name (asyncio's `create_task(c, name=)`).
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     let h = tulipa::task::Builder::new().name("fetcher").spawn(async { 1 }).unwrap();
///     assert_eq!(h.info().name(), Some("fetcher"));
///     h.await.unwrap();
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<Arc<str>>,
    location: Option<&'static Location<'static>>,
}

impl Builder {
    /// A builder with no options set.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task; the name shows in [`JoinHandle::info`],
    /// [`Handle::tasks`](crate::Handle::tasks) and debug reports.
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Records `location` as the task's spawn location, instead of the
    /// place `spawn` is called from: for a library that spawns on behalf
    /// of its caller (a server spawning a task per connection) so reports
    /// point at the user's code. Capture it with `#[track_caller]` and
    /// [`Location::caller`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::panic::Location;
    ///
    /// #[track_caller]
    /// fn start_worker() -> tulipa::JoinHandle<()> {
    ///     tulipa::task::Builder::new()
    ///         .name("worker")
    ///         .location(Location::caller())
    ///         .spawn(async {})
    ///         .unwrap()
    /// }
    ///
    /// tulipa::run(async {
    ///     let h = start_worker(); let line = line!();
    ///     assert_eq!(h.info().location().line(), line);
    ///     h.await.unwrap();
    /// });
    /// ```
    pub fn location(mut self, location: &'static Location<'static>) -> Builder {
        self.location = Some(location);
        self
    }

    #[track_caller]
    fn options(self) -> tulipa_executor::SpawnOptions {
        let mut o = tulipa_executor::SpawnOptions::new();
        if let Some(n) = self.name {
            o = o.name(n);
        }
        // Not `unwrap_or_else(Location::caller)`: `#[track_caller]` does
        // not reach through a function pointer.
        match self.location {
            Some(l) => o.location(l),
            None => o.location(Location::caller()),
        }
    }

    /// Spawns the task onto the current runtime.
    ///
    /// # Errors
    ///
    /// [`SpawnError`] if no runtime is current on this thread.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> Result<JoinHandle<F::Output>, SpawnError<F>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match Handle::try_current() {
            Some(h) => Ok(h.spawn_with(self.options(), future)),
            None => Err(SpawnError(future)),
        }
    }

    /// Spawns the task onto the runtime behind `handle`.
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle.spawn_with(self.options(), future)
    }

    /// Spawns a non-`Send` task onto this thread (see
    /// [`spawn_local`]).
    ///
    /// # Errors
    ///
    /// Gives the future back if no tulipa `block_on` runs on this thread.
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> Result<JoinHandle<F::Output>, SpawnError<F>>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        tulipa_executor::try_spawn_local(self.options(), future).map_err(SpawnError)
    }
}
