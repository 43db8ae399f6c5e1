//! Timers inside runtimes: real and virtual time, on both flavours.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipa::time::{self, Instant};
use tulipa::Runtime;

mod common;
use common::paused;

#[test]
fn virtual_time_fires_timers_in_deadline_order() {
    for rt in paused() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let real = std::time::Instant::now();
        let elapsed = rt.block_on(async {
            let start = Instant::now();
            let hs: Vec<_> = [30u64, 10, 50, 20, 40]
                .into_iter()
                .map(|m| {
                    let log = log.clone();
                    tulipa::spawn(async move {
                        // An hour-scale sleep: real waiting would never finish.
                        time::sleep(Duration::from_secs(60 * m)).await;
                        log.lock().unwrap().push(m);
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
            start.elapsed()
        });
        assert_eq!(*log.lock().unwrap(), [10, 20, 30, 40, 50]);
        assert_eq!(elapsed, Duration::from_secs(60 * 50));
        // Not a timing assertion on speed, only that no hour passed.
        assert!(real.elapsed() < Duration::from_secs(60 * 10));
    }
}

#[test]
fn advance_moves_time_and_fires_due_timers() {
    for rt in paused() {
        rt.block_on(async {
            let t0 = Instant::now();
            // The deadline is fixed when the sleep is created, here.
            let nap = time::sleep(Duration::from_secs(10));
            let sleeper = tulipa::spawn(async move {
                nap.await;
                Instant::now()
            });
            time::advance(Duration::from_secs(10)).await;
            let woke = sleeper.await.unwrap();
            assert_eq!(woke - t0, Duration::from_secs(10));
        });
    }
}

#[test]
fn advance_on_a_real_clock_panics() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let res = rt.block_on(async {
        tulipa::spawn(async { time::advance(Duration::from_secs(1)).await }).await
    });
    let err = res.unwrap_err();
    assert!(err.to_string().contains("start_paused(true)"), "{err}");
}

#[test]
fn timeout_elapses_and_succeeds() {
    for rt in paused() {
        rt.block_on(async {
            let slow = time::timeout(Duration::from_secs(1), time::sleep(Duration::from_secs(5)));
            assert!(slow.await.is_err());
            let fast = time::timeout(Duration::from_secs(5), async { 3 });
            assert_eq!(fast.await.unwrap(), 3);
        });
    }
}

#[test]
fn real_time_sleep_on_both_flavours() {
    for rt in [
        Runtime::builder().current_thread().build().unwrap(),
        Runtime::builder().worker_threads(2).build().unwrap(),
    ] {
        let waited = rt.block_on(async {
            let t = Instant::now();
            time::sleep(Duration::from_millis(20)).await;
            t.elapsed()
        });
        assert!(waited >= Duration::from_millis(20));
    }
}

#[test]
fn zero_interval_period_is_a_clear_error() {
    let err = time::try_interval(Duration::ZERO).unwrap_err();
    assert!(err.to_string().contains("non-zero"), "{err}");
}

#[test]
fn a_stuck_worker_does_not_stall_timers_for_the_others() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let done = Arc::new(Mutex::new(false));
    let d = done.clone();
    rt.block_on(async move {
        let (tx, rx) = std::sync::mpsc::channel();
        let stuck = tulipa::spawn(async move {
            tx.send(()).unwrap();
            // Blocks its worker thread for a long time.
            std::thread::sleep(Duration::from_millis(1500));
            *d.lock().unwrap() = true;
        });
        rx.recv().unwrap();
        // Timers and tasks still run on the other worker meanwhile.
        let timer = tulipa::spawn(async {
            time::sleep(Duration::from_millis(20)).await;
        });
        timer.await.unwrap();
        assert!(
            !*done.lock().unwrap(),
            "the timer waited for the stuck worker"
        );
        stuck.await.unwrap();
    });
}

/// Regression (review): a `block_on` future woken during its last poll left
/// virtual time frozen for every later `block_on` on the runtime.
#[test]
fn virtual_time_survives_a_self_waking_block_on() {
    for rt in paused() {
        rt.block_on(futures_lite::future::poll_fn(|cx| {
            cx.waker().wake_by_ref();
            std::task::Poll::Ready(())
        }));
        let slept = rt.block_on(async {
            let t = Instant::now();
            time::sleep(Duration::from_secs(3600)).await;
            t.elapsed()
        });
        assert_eq!(slept, Duration::from_secs(3600));
    }
}

/// Regression (review): a busy local task on the `block_on` thread of a
/// multi-thread runtime did not hold virtual time still.
#[test]
fn a_busy_local_task_holds_virtual_time_still() {
    for rt in paused() {
        let moved = rt.block_on(async {
            let t0 = Instant::now();
            let _timer = tulipa::spawn(time::sleep(Duration::from_secs(3600)));
            let busy = tulipa::spawn_local(async move {
                for _ in 0..20_000 {
                    tulipa::task::yield_now().await;
                }
                t0.elapsed()
            });
            busy.await.unwrap()
        });
        assert_eq!(
            moved,
            Duration::ZERO,
            "time jumped while a task was runnable"
        );
    }
}

/// asyncio's clock moves only while its loop runs. On the multi-thread
/// runtime the workers run tasks between two `block_on` calls, but virtual
/// time must not jump there: a thread scheduling sleeps or `call_later`s
/// outside `block_on` would otherwise see them fire in the order it made
/// them, not in deadline order.
#[test]
fn virtual_time_stands_still_between_block_on_calls() {
    for rt in paused() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let start = rt.handle().time();
        let mut handles = Vec::new();
        for m in [30u64, 10, 20] {
            let log = log.clone();
            handles.push(rt.spawn(async move {
                time::sleep(Duration::from_secs(60 * m)).await;
                log.lock().unwrap().push(m);
            }));
            // Real time for the workers to go idle: before, they jumped the
            // clock to this sleeper's deadline here.
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(
                rt.handle().time(),
                start,
                "the clock moved outside block_on"
            );
        }
        assert!(log.lock().unwrap().is_empty());
        rt.block_on(async {
            for h in handles {
                h.await.unwrap();
            }
        });
        assert_eq!(*log.lock().unwrap(), [10, 20, 30]);
        assert_eq!(rt.handle().time() - start, Duration::from_secs(60 * 30));
    }
}

/// A task woken by I/O while the loop sleeps in the driver runs before
/// virtual time jumps to the next deadline: the clock never races past
/// work that is waiting (on the current-thread runtime the wake is queued
/// on the loop's own thread, and must still tell the driver).
#[test]
fn virtual_time_does_not_jump_past_a_task_woken_by_io() {
    for rt in paused() {
        let waited = rt.block_on(async {
            let socket = tulipa::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let to = socket.local_addr().unwrap();
            let start = Instant::now();
            let reader = tulipa::spawn(async move {
                let mut buf = [0u8; 8];
                socket.recv_from(&mut buf).await.unwrap();
                Instant::now()
            });
            // The reader waits on its socket.
            for _ in 0..3 {
                tulipa::task::yield_now().await;
            }
            let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            peer.send_to(b"x", to).unwrap();
            // The only deadline, an hour away: had the clock jumped to it
            // before the reader ran, the reader would see it.
            let far = tulipa::spawn(time::sleep(Duration::from_secs(3600)));
            let woke = reader.await.unwrap();
            far.cancel();
            woke.duration_since(start)
        });
        assert!(
            waited < Duration::from_secs(3600),
            "the clock jumped past a task woken by I/O: {waited:?}"
        );
    }
}

/// A timer that expires while the only worker is busy is fired by the
/// worker's next park, before it blocks. The task it wakes is that
/// worker's own next task (its LIFO slot), so the park must not block:
/// before the fix it slept in the reactor with no timeout and no other
/// timer, and the woken task never ran.
#[test]
fn a_timer_that_expired_while_the_worker_was_busy_wakes_its_task() {
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let (done_tx, done) = std::sync::mpsc::channel::<()>();
    let sleeper = rt.handle().spawn(async move {
        time::sleep(Duration::from_millis(1)).await;
        done_tx.send(()).unwrap();
    });
    // Runs after the sleeper registered its timer (one worker, FIFO), and
    // holds the worker past the deadline without yielding to the driver.
    let (ran_tx, ran) = std::sync::mpsc::channel::<()>();
    let _busy = rt.handle().spawn(async move {
        std::thread::sleep(Duration::from_millis(30));
        ran_tx.send(()).unwrap();
    });
    ran.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        done.recv_timeout(Duration::from_secs(10)).is_ok(),
        "the task woken by the expired timer never ran"
    );
    rt.block_on(sleeper).unwrap();
}
