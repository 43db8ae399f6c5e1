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

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
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
        None => Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no tulipa runtime is current on this thread to run background work: \
             call this from inside a runtime (a task, or Runtime::block_on)",
        )),
    }
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
