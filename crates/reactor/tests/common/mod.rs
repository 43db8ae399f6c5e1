//! Helpers shared by the reactor's integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use tulipa_core::Driver;
use tulipa_reactor::Reactor;

/// Generous bound for anything that should take milliseconds.
pub(crate) const LIMIT: Duration = Duration::from_secs(20);

/// Runs `f` on its own thread and fails the test if it does not finish
/// within [`LIMIT`], so a lost wakeup fails instead of hanging.
pub(crate) fn within<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(LIMIT) {
        Ok(r) => {
            handle.join().unwrap();
            r
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the closure sent nothing and did not panic"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("timed out after {LIMIT:?}: lost wakeup?"),
    }
}

/// A private reactor driven by a helper thread that parks with no
/// timeout, so every wakeup must come from the poller or an unpark.
pub(crate) struct Driven {
    pub(crate) reactor: Reactor,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Driven {
    pub(crate) fn new() -> Driven {
        let reactor = Reactor::new().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (reactor, stop) = (reactor.clone(), stop.clone());
            thread::Builder::new()
                .name("test-driver".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        reactor.park(None);
                    }
                })
                .unwrap()
        };
        Driven {
            reactor,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.reactor.unparker().unpark();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// Fills the socket's send buffer until it would block; returns bytes
/// written. Bounded: socket buffers are at most a few MiB.
pub(crate) fn fill(stream: &std::os::unix::net::UnixStream) -> usize {
    use std::io::Write;
    let chunk = [0u8; 64 * 1024];
    let mut total = 0;
    for _ in 0..100_000 {
        match (&*stream).write(&chunk) {
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return total,
            Err(e) => panic!("fill: {e}"),
        }
    }
    panic!("socket buffer never filled");
}
