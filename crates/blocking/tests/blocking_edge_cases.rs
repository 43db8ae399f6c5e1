//! Edge cases found in review: closures whose destructor panics while the
//! job is cancelled or failed, `cancel` on a job the pool already settled,
//! and a seek whose future was dropped before it finished.

use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::sync::{mpsc, Arc, Mutex};
use std::task::Context;
use std::time::Duration;

use futures_lite::future::block_on;
use futures_lite::io::{AsyncReadExt, AsyncSeek, AsyncSeekExt};
use tulipa_blocking::{Pool, Unblock};

/// Panics when dropped (but not while already panicking).
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("PanicOnDrop dropped");
        }
    }
}

/// A pool whose one thread is held by a job until `release` is sent.
fn busy_pool() -> (Pool, mpsc::Sender<()>, tulipa_blocking::JoinHandle<()>) {
    let pool = Pool::builder()
        .max_threads(1)
        .idle_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, rx) = mpsc::channel::<()>();
    let busy = pool.spawn(move || {
        started_tx.send(()).unwrap();
        rx.recv().unwrap();
    });
    started.recv().unwrap();
    (pool, release, busy)
}

#[test]
fn refused_closure_with_panicking_destructor_still_resolves_cancelled() {
    let pool = Pool::new(1);
    assert_eq!(pool.shutdown_timeout(Duration::ZERO), 0);
    let guard = PanicOnDrop;
    let h = pool.spawn(move || drop(guard));
    assert!(h.is_finished());
    // Awaiting must give the cancelled JoinError, not panic inside the
    // handle because the task vanished without an output.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| block_on(h)));
    let e = r.expect("awaiting the handle panicked").unwrap_err();
    assert!(e.is_cancelled(), "{e}");
}

#[test]
fn shutdown_cancelled_closure_with_panicking_destructor_still_resolves_cancelled() {
    let (pool, release, busy) = busy_pool();
    let guard = PanicOnDrop;
    let queued = pool.spawn(move || drop(guard));
    // The one thread is busy: the queued job is cancelled unstarted.
    assert_eq!(pool.shutdown_timeout(Duration::ZERO), 2);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| block_on(queued)));
    let e = r.expect("awaiting the handle panicked").unwrap_err();
    assert!(e.is_cancelled(), "{e}");
    release.send(()).unwrap();
    block_on(busy).unwrap();
}

#[test]
fn cancel_reports_false_for_a_job_shutdown_already_cancelled() {
    let (pool, release, busy) = busy_pool();
    let queued = pool.spawn(|| 1);
    assert_eq!(pool.shutdown_timeout(Duration::ZERO), 2);
    assert!(queued.is_finished());
    assert!(
        !queued.cancel(),
        "the job was already cancelled by the shutdown: nothing new to cancel"
    );
    assert!(block_on(queued).unwrap_err().is_cancelled());
    release.send(()).unwrap();
    block_on(busy).unwrap();
}

#[test]
fn cancel_after_a_failed_start_keeps_the_failure() {
    // No system can map a 256 TiB stack: starting the thread fails.
    let pool = Pool::builder().stack_size(1 << 48).build().unwrap();
    let h = pool.spawn(|| 1);
    assert!(h.is_finished());
    assert!(!h.cancel(), "a failed job has finished: cancel is a no-op");
    let e = block_on(h).unwrap_err();
    assert!(
        e.is_panic() && e.to_string().contains("could not start a thread"),
        "the failure must not turn into a cancellation: {e}"
    );
}

/// A cursor whose first seek waits for a gate.
struct GatedSeek {
    inner: Cursor<Vec<u8>>,
    gate: Option<mpsc::Receiver<()>>,
}

impl Read for GatedSeek {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Seek for GatedSeek {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        if let Some(gate) = self.gate.take() {
            gate.recv().unwrap();
        }
        self.inner.seek(pos)
    }
}

#[test]
fn a_seek_after_a_dropped_seek_goes_where_it_was_asked() {
    let (open, gate) = mpsc::channel();
    let mut io = Unblock::new(GatedSeek {
        inner: Cursor::new((0u8..100).collect()),
        gate: Some(gate),
    });
    {
        // Start a seek to 50 and drop it while its job waits at the gate.
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let first = std::pin::Pin::new(&mut io).poll_seek(&mut cx, SeekFrom::Start(50));
        assert!(first.is_pending(), "the job waits at the gate");
    }
    open.send(()).unwrap();
    block_on(async {
        assert_eq!(io.seek(SeekFrom::Start(3)).await.unwrap(), 3);
        let mut b = [0u8; 2];
        io.read_exact(&mut b).await.unwrap();
        assert_eq!(b, [3, 4], "reading goes on from the second seek");
    });
}

#[test]
fn a_repeated_seek_after_a_dropped_one_is_applied_once() {
    let (open, gate) = mpsc::channel();
    let mut io = Unblock::new(GatedSeek {
        inner: Cursor::new((0u8..100).collect()),
        gate: Some(gate),
    });
    {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let first = std::pin::Pin::new(&mut io).poll_seek(&mut cx, SeekFrom::Current(10));
        assert!(first.is_pending(), "the job waits at the gate");
    }
    open.send(()).unwrap();
    block_on(async {
        // The same request again (a retry after a timeout, say) finishes
        // the one in flight instead of moving twice.
        assert_eq!(io.seek(SeekFrom::Current(10)).await.unwrap(), 10);
    });
}

#[test]
fn unblock_on_a_shut_down_pool_says_why_the_object_is_gone() {
    let pool = Pool::new(1);
    assert_eq!(pool.shutdown_timeout(Duration::ZERO), 0);
    let _enter = pool.enter();
    let mut io = Unblock::new(Cursor::new(vec![1u8, 2, 3]));
    let seen = Arc::new(Mutex::new(Vec::new()));
    block_on(async {
        let mut b = [0u8; 3];
        let e = io.read(&mut b).await.unwrap_err();
        seen.lock().unwrap().push(e.to_string());
        let e = io.read(&mut b).await.unwrap_err();
        seen.lock().unwrap().push(e.to_string());
    });
    let seen = seen.lock().unwrap();
    assert!(seen[0].contains("cancelled"), "{seen:?}");
    assert!(
        seen[1].contains("shut down"),
        "a later call must not claim a panic: {seen:?}"
    );
}
