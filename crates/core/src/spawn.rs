//! The spawn hook: how a crate that must start background work (a server's
//! accept loop, a child reaper) reaches whatever runtime is current, without
//! depending on an executor.
//!
//! A runtime installs an [`Arc<dyn Spawn>`](Spawn) on each thread it owns
//! (its workers, and the thread inside its `block_on`) with [`enter`]; a
//! library calls [`current`] (or [`spawn`]) and gets that runtime's spawner,
//! or `None` on a thread with no runtime. Entering nests: the guard restores
//! what was current before, in LIFO order.
//!
//! The hook is a thread-local `Option<Arc<dyn Spawn>>`: looking it up is one
//! TLS access and one reference-count increment.
//!
//! A library that spawns on behalf of its user (a server spawning one task
//! per connection) names the task and passes the user's call site with
//! [`SpawnOptions`] and [`Spawn::spawn_detached_with`] (or [`spawn_with`]),
//! so debug reports and task listings point at the user's code rather than
//! at the library's.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future with no output: what a [`Spawn`] runs.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Something that runs futures in the background: a runtime's executor.
///
/// Implemented by the `tulipa` facade's runtime handle; a library that must
/// start background work takes the current one through [`current`].
pub trait Spawn: Send + Sync {
    /// Runs `future` to completion in the background, detached: nobody awaits
    /// it, and a panic inside it is handled by the runtime's panic policy.
    ///
    /// # Errors
    ///
    /// Fails when the runtime is shutting down and accepts no more work.
    fn spawn_detached(&self, future: BoxFuture) -> io::Result<()>;

    /// Like [`spawn_detached`](Spawn::spawn_detached), with a name and a
    /// spawn location for the task (see [`SpawnOptions`]).
    ///
    /// The default implementation ignores the options; tulipa's runtime
    /// records both in the task's metadata.
    ///
    /// # Errors
    ///
    /// As [`spawn_detached`](Spawn::spawn_detached).
    fn spawn_detached_with(&self, options: SpawnOptions, future: BoxFuture) -> io::Result<()> {
        let _ = options;
        self.spawn_detached(future)
    }
}

/// How to spawn a task: its name and the spawn location to record.
///
/// Both show in task listings, `task::current()` and debug reports. A
/// library that spawns on behalf of its caller captures the caller's
/// location with `#[track_caller]` and [`Location::caller`] and passes it
/// here, so reports name the user's call site.
///
/// # Examples
///
/// ```
/// use std::panic::Location;
/// use tulipa_core::spawn::SpawnOptions;
///
/// #[track_caller]
/// fn options_for_my_caller() -> SpawnOptions {
///     SpawnOptions::new().name("connection").location(Location::caller())
/// }
///
/// let o = options_for_my_caller(); let line = line!();
/// assert_eq!(o.name.as_deref(), Some("connection"));
/// assert_eq!(o.location.unwrap().line(), line);
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct SpawnOptions {
    /// The task's name; `None` gives the runtime's default name.
    pub name: Option<Arc<str>>,
    /// The spawn location to record; `None` records the caller of the
    /// spawn function.
    pub location: Option<&'static Location<'static>>,
}

impl SpawnOptions {
    /// Options with nothing set.
    pub fn new() -> SpawnOptions {
        SpawnOptions::default()
    }

    /// Names the task (shown in debug reports and task listings).
    pub fn name(mut self, name: impl Into<Arc<str>>) -> SpawnOptions {
        self.name = Some(name.into());
        self
    }

    /// Records `location` as the task's spawn location instead of the
    /// caller of the spawn function: for wrappers that spawn on behalf of
    /// their own caller (they capture it with `#[track_caller]` and
    /// [`Location::caller`]).
    pub fn location(mut self, location: &'static Location<'static>) -> SpawnOptions {
        self.location = Some(location);
        self
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<dyn Spawn>>> = const { RefCell::new(None) };
}

/// The spawner of the runtime current on this thread, if any.
pub fn current() -> Option<Arc<dyn Spawn>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Runs `future` in the background on the runtime current on this thread.
///
/// # Errors
///
/// Fails with [`io::ErrorKind::NotFound`] when no runtime is current on this
/// thread (call it from inside a runtime, e.g. a task or `Runtime::block_on`),
/// or with the runtime's error when it is shutting down.
pub fn spawn<F>(future: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    match current() {
        Some(s) => s.spawn_detached(Box::pin(future)),
        None => Err(no_runtime()),
    }
}

/// Runs `future` in the background on the runtime current on this thread,
/// as a task named and located by `options`.
///
/// # Errors
///
/// As [`spawn`].
pub fn spawn_with<F>(options: SpawnOptions, future: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    match current() {
        Some(s) => s.spawn_detached_with(options, Box::pin(future)),
        None => Err(no_runtime()),
    }
}

fn no_runtime() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "no tulipa runtime is current on this thread to run background work: \
         call this from inside a runtime (a task, or Runtime::block_on)",
    )
}

/// Makes `spawner` current on this thread until the guard is dropped.
pub fn enter(spawner: Arc<dyn Spawn>) -> SpawnGuard {
    let previous = CURRENT
        .try_with(|c| c.borrow_mut().replace(spawner))
        .ok()
        .flatten();
    SpawnGuard { previous }
}

/// Restores the previously current spawner when dropped; from [`enter`].
#[must_use = "the spawner stops being current when the guard is dropped"]
pub struct SpawnGuard {
    previous: Option<Arc<dyn Spawn>>,
}

impl Drop for SpawnGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

impl fmt::Debug for SpawnGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnGuard").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Count(AtomicUsize);
    impl Spawn for Count {
        fn spawn_detached(&self, _future: BoxFuture) -> io::Result<()> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    struct Record(std::sync::Mutex<Vec<(Option<String>, u32)>>);
    impl Spawn for Record {
        fn spawn_detached(&self, _future: BoxFuture) -> io::Result<()> {
            unreachable!("spawn_with must reach spawn_detached_with")
        }
        fn spawn_detached_with(&self, o: SpawnOptions, _future: BoxFuture) -> io::Result<()> {
            let name = o.name.as_deref().map(String::from);
            self.0
                .lock()
                .unwrap()
                .push((name, o.location.unwrap().line()));
            Ok(())
        }
    }

    #[test]
    fn spawn_with_passes_name_and_location_to_the_spawner() {
        let rec = Arc::new(Record(std::sync::Mutex::new(Vec::new())));
        let _g = enter(rec.clone());
        let here = Location::caller();
        spawn_with(SpawnOptions::new().name("conn").location(here), async {}).unwrap();
        assert_eq!(
            *rec.0.lock().unwrap(),
            vec![(Some("conn".to_owned()), here.line())]
        );
        drop(_g);
        let err = spawn_with(SpawnOptions::new(), async {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn the_default_spawn_detached_with_falls_back_to_spawn_detached() {
        let c = Count(AtomicUsize::new(0));
        c.spawn_detached_with(SpawnOptions::new().name("x"), Box::pin(async {}))
            .unwrap();
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn enter_nests_and_restores() {
        assert!(current().is_none());
        assert_eq!(spawn(async {}).unwrap_err().kind(), io::ErrorKind::NotFound);
        let a = Arc::new(Count(AtomicUsize::new(0)));
        let b = Arc::new(Count(AtomicUsize::new(0)));
        let ga = enter(a.clone());
        spawn(async {}).unwrap();
        {
            let _gb = enter(b.clone());
            spawn(async {}).unwrap();
            spawn(async {}).unwrap();
        }
        spawn(async {}).unwrap();
        drop(ga);
        assert!(current().is_none());
        assert_eq!(a.0.load(Ordering::SeqCst), 2);
        assert_eq!(b.0.load(Ordering::SeqCst), 2);
    }
}
