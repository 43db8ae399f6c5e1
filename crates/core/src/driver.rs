//! The driver trait: how a thread sleeps while something else does work.

use std::fmt;
use std::sync::{Arc, Mutex, TryLockError};
use std::time::Duration;

/// Something a thread can sleep on while work happens elsewhere.
///
/// Implemented by [`ThreadParker`] (nothing but sleeping), by the reactor
/// (sleeping in the OS poller) and by the timer layer (wrapping another
/// driver and waking for deadlines).
///
/// # Contract
///
/// A driver is shared by every thread of a runtime. At most one thread is
/// *inside* [`Driver::park`] at a time: that thread "holds the driver" and
/// does the driver's work (waits on the OS for I/O readiness, fires expired
/// timers). A second thread that calls `park` while the driver is held gets
/// `false` back at once, without blocking, and is expected to sleep on its
/// own parker; the executor arranges for one of its idle threads to take the
/// driver when the holder leaves. This is how "whichever worker is free
/// drives the reactor" is built without the driver knowing about workers.
///
/// [`Unparker::unpark`] wakes the thread that holds the driver, or, if no
/// thread holds it, makes the next *blocking* `park` return at once (the
/// wakeup is remembered, never lost). A non-blocking park
/// (`Some(Duration::ZERO)`, the "do pending work" poll that busy executors
/// make) never consumes a pending wakeup: it is still there for the thread
/// that is about to block.
pub trait Driver: Send + Sync + 'static {
    /// Parks the calling thread until [`Unparker::unpark`] is called, until
    /// `timeout` elapses (`None` means no timeout, `Some(Duration::ZERO)`
    /// means "do pending work without blocking"), or until the driver's own
    /// work (an I/O event, a timer) wakes something.
    ///
    /// Returns `false` immediately, doing nothing, if another thread is
    /// already inside `park`. Returns `true` once it has parked and returned.
    ///
    /// Spurious returns are allowed: callers re-check their own state.
    fn park(&self, timeout: Option<Duration>) -> bool;

    /// Returns a handle that wakes this driver from any thread.
    fn unparker(&self) -> Unparker;
}

impl<D: Driver + ?Sized> Driver for Arc<D> {
    fn park(&self, timeout: Option<Duration>) -> bool {
        (**self).park(timeout)
    }

    fn unparker(&self) -> Unparker {
        (**self).unparker()
    }
}

/// The waking half of a [`Driver`]: implement this to make an [`Unparker`].
pub trait Unpark: Send + Sync + 'static {
    /// Wakes the driver's current holder, or makes the next park return at
    /// once if nobody holds it.
    fn unpark(&self);
}

/// A cloneable, thread-safe handle that wakes a [`Driver`].
#[derive(Clone)]
pub struct Unparker {
    inner: Arc<dyn Unpark>,
}

impl Unparker {
    /// Wraps an [`Unpark`] implementation.
    pub fn new<U: Unpark>(unpark: U) -> Unparker {
        Unparker {
            inner: Arc::new(unpark),
        }
    }

    /// Wraps an already shared [`Unpark`] implementation without allocating.
    pub fn from_arc(unpark: Arc<dyn Unpark>) -> Unparker {
        Unparker { inner: unpark }
    }

    /// Wakes the driver this handle belongs to.
    #[inline]
    pub fn unpark(&self) {
        self.inner.unpark();
    }
}

impl fmt::Debug for Unparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unparker").finish_non_exhaustive()
    }
}

/// The simplest [`Driver`]: a thread parker with no I/O and no timers.
///
/// Executors use it in their own tests, and any code that only needs to
/// sleep until woken can use it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_core::{Driver, ThreadParker};
///
/// let driver = ThreadParker::new();
/// let unparker = driver.unparker();
/// std::thread::spawn(move || unparker.unpark());
/// // Returns once the other thread unparks (or after the timeout).
/// assert!(driver.park(Some(Duration::from_secs(5))));
/// ```
pub struct ThreadParker {
    parker: Mutex<parking::Parker>,
    unparker: parking::Unparker,
}

impl ThreadParker {
    /// Creates a new thread parker.
    pub fn new() -> ThreadParker {
        let (parker, unparker) = parking::pair();
        ThreadParker {
            parker: Mutex::new(parker),
            unparker,
        }
    }
}

impl Default for ThreadParker {
    fn default() -> Self {
        ThreadParker::new()
    }
}

impl fmt::Debug for ThreadParker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadParker").finish_non_exhaustive()
    }
}

struct ParkingUnpark(parking::Unparker);

impl Unpark for ParkingUnpark {
    fn unpark(&self) {
        self.0.unpark();
    }
}

impl Driver for ThreadParker {
    fn park(&self, timeout: Option<Duration>) -> bool {
        let parker = match self.parker.try_lock() {
            Ok(p) => p,
            Err(TryLockError::WouldBlock) => return false,
            // The parker holds no data a panic could corrupt.
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
        };
        match timeout {
            None => parker.park(),
            // Nothing to do without blocking, and a pending unpark must
            // stay pending (see the contract).
            Some(Duration::ZERO) => {}
            Some(d) => {
                parker.park_timeout(d);
            }
        }
        true
    }

    fn unparker(&self) -> Unparker {
        Unparker::new(ParkingUnpark(self.unparker.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn unpark_before_park_is_remembered() {
        let d = ThreadParker::new();
        d.unparker().unpark();
        let start = Instant::now();
        assert!(d.park(None));
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn second_parker_is_refused() {
        let d = Arc::new(ThreadParker::new());
        let d2 = d.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            tx.send(()).unwrap();
            d2.park(None)
        });
        rx.recv().unwrap();
        // Wait until the other thread holds the parker.
        let mut refused = false;
        for _ in 0..1000 {
            if !d.park(Some(Duration::ZERO)) {
                refused = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        d.unparker().unpark();
        assert!(t.join().unwrap());
        assert!(refused, "a concurrent park must return false");
    }

    #[test]
    fn zero_park_keeps_a_pending_unpark() {
        let d = ThreadParker::new();
        d.unparker().unpark();
        assert!(d.park(Some(Duration::ZERO)));
        let start = Instant::now();
        // Still pending: the blocking park returns at once.
        assert!(d.park(Some(Duration::from_secs(30))));
        assert!(start.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn cross_thread_unpark_wakes() {
        let d = ThreadParker::new();
        let u = d.unparker();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            u.unpark();
        });
        assert!(d.park(None));
        t.join().unwrap();
    }
}
