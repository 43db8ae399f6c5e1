//! Readiness wakeups: across threads, with many waiters, and cancellation.

mod common;

use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use common::{fill, within, Driven};
use futures_lite::future;
use tulipa_reactor::Async;

#[test]
fn readable_wakes_across_threads() {
    within(|| {
        let driven = Driven::new();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &driven.reactor).unwrap();
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            b.write_all(b"x").unwrap();
            b
        });
        future::block_on(a.readable()).unwrap();
        let mut buf = [0; 1];
        assert_eq!(a.get_ref().read(&mut buf).unwrap(), 1);
        drop(writer.join().unwrap());
    });
}

#[test]
fn writable_wakes_when_peer_drains() {
    within(|| {
        let driven = Driven::new();
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &driven.reactor).unwrap();
        let filled = fill(a.get_ref());
        assert!(filled > 0);
        let reader = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            let mut b = b;
            let mut buf = vec![0; filled];
            b.read_exact(&mut buf).unwrap();
            b
        });
        future::block_on(a.writable()).unwrap();
        let n = future::block_on(a.write_with(|mut s| s.write(b"more"))).unwrap();
        assert_eq!(n, 4);
        drop(reader.join().unwrap());
    });
}

#[test]
fn already_ready_source_resolves() {
    // Data that arrived before anyone waited is reported when the waiter
    // arms (oneshot re-arm re-checks the current readiness).
    within(|| {
        let driven = Driven::new();
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(b"early").unwrap();
        let a = Async::new_in(a, &driven.reactor).unwrap();
        future::block_on(a.readable()).unwrap();
        future::block_on(a.readable()).unwrap();
    });
}

#[test]
fn two_waiters_in_one_task_both_woken() {
    within(|| {
        let driven = Driven::new();
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &driven.reactor).unwrap();
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            (&b).write_all(b"x").unwrap();
            b
        });
        let (r1, r2) = future::block_on(future::zip(a.readable(), a.readable()));
        r1.unwrap();
        r2.unwrap();
        drop(writer.join().unwrap());
    });
}

#[test]
fn many_tasks_on_many_threads_all_woken() {
    const TASKS: usize = 32;
    within(|| {
        let driven = Driven::new();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Arc::new(Async::new_in(a, &driven.reactor).unwrap());
        let barrier = Arc::new(Barrier::new(TASKS + 1));
        let waiters: Vec<_> = (0..TASKS)
            .map(|_| {
                let (a, barrier) = (a.clone(), barrier.clone());
                thread::spawn(move || {
                    let mut fut = std::pin::pin!(a.readable());
                    // Register before the data is written.
                    let first =
                        future::block_on(future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))));
                    assert!(first.is_pending(), "nothing was written yet");
                    barrier.wait();
                    future::block_on(fut).unwrap();
                })
            })
            .collect();
        barrier.wait();
        b.write_all(b"x").unwrap();
        for w in waiters {
            w.join().unwrap();
        }
    });
}

#[test]
fn many_waiters_in_one_task_all_woken() {
    const WAITERS: usize = 100;
    within(|| {
        let driven = Driven::new();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &driven.reactor).unwrap();
        let mut futs: Vec<_> = (0..WAITERS).map(|_| Box::pin(a.readable())).collect();
        let mut done = [false; WAITERS];
        let mut wrote = false;
        future::block_on(future::poll_fn(|cx: &mut Context<'_>| {
            for (fut, done) in futs.iter_mut().zip(done.iter_mut()) {
                if !*done {
                    if let Poll::Ready(res) = fut.as_mut().poll(cx) {
                        res.unwrap();
                        *done = true;
                    }
                }
            }
            if !wrote {
                // Every waiter is registered now.
                assert!(done.iter().all(|d| !d));
                b.write_all(b"x").unwrap();
                wrote = true;
            }
            if done.iter().all(|d| *d) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
    });
}

#[test]
fn cancelled_waiter_does_not_steal_the_wakeup() {
    within(|| {
        let driven = Driven::new();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &driven.reactor).unwrap();
        let mut keep = Box::pin(a.readable());
        let mut cancel = Box::pin(a.readable());
        future::block_on(future::poll_fn(|cx| {
            assert!(keep.as_mut().poll(cx).is_pending());
            assert!(cancel.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        }));
        drop(cancel);
        b.write_all(b"x").unwrap();
        future::block_on(keep).unwrap();
    });
}

#[test]
fn waiter_registered_while_driver_blocked_in_wait() {
    // The driver thread is inside `poller.wait(None)` before the waiter
    // arms its interest from this thread: the modify must take effect.
    within(|| {
        let driven = Driven::new();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &driven.reactor).unwrap();
        thread::sleep(Duration::from_millis(20));
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            b.write_all(b"x").unwrap();
            b
        });
        future::block_on(a.read_with(|mut s| {
            let mut buf = [0; 1];
            s.read(&mut buf)
        }))
        .unwrap();
        drop(writer.join().unwrap());
    });
}

#[test]
fn poll_readable_then_ready() {
    within(|| {
        let driven = Driven::new();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &driven.reactor).unwrap();
        let mut first = true;
        future::block_on(future::poll_fn(|cx| {
            let p = a.poll_readable(cx);
            if first {
                // Fresh, and nothing to read: the kernel is asked.
                assert!(p.is_pending());
                b.write_all(b"x").unwrap();
                first = false;
            }
            p
        }))
        .unwrap();
    });
}

#[test]
fn global_reactor_works_without_a_runtime() {
    within(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(10));
            (&b).write_all(b"hello").unwrap();
            b
        });
        let mut buf = [0; 5];
        let n = future::block_on(a.read_with(|mut s| s.read(&mut buf))).unwrap();
        assert!(n > 0);
        drop(writer.join().unwrap());
        // The global reactor is driven by its own named thread.
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            let names: Vec<String> = tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|n| n.trim().to_owned())
                .collect();
            assert!(names.iter().any(|n| n == "tulipa-reactor"), "{names:?}");
        }
    });
}

#[test]
fn many_tasks_reading_through_a_shared_reference() {
    // The `AsyncRead for &Async<T>` impl shares one poll registration per
    // direction; every task must still get its byte.
    const TASKS: usize = 8;
    within(|| {
        use futures_lite::AsyncReadExt;
        let driven = Driven::new();
        let (a, mut b) = UnixStream::pair().unwrap();
        let a = Arc::new(Async::new_in(a, &driven.reactor).unwrap());
        let barrier = Arc::new(Barrier::new(TASKS + 1));
        let readers: Vec<_> = (0..TASKS)
            .map(|_| {
                let (a, barrier) = (a.clone(), barrier.clone());
                thread::spawn(move || {
                    let mut buf = [0; 1];
                    let mut fut = Box::pin(async { (&*a).read_exact(&mut buf).await });
                    let first =
                        future::block_on(future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))));
                    assert!(first.is_pending());
                    barrier.wait();
                    future::block_on(fut).unwrap();
                })
            })
            .collect();
        barrier.wait();
        for _ in 0..TASKS {
            b.write_all(b"x").unwrap();
            thread::sleep(Duration::from_millis(2));
        }
        for r in readers {
            r.join().unwrap();
        }
    });
}

/// A waker that records its index in a shared list when woken.
struct Record {
    index: usize,
    order: Arc<std::sync::Mutex<Vec<usize>>>,
}

impl std::task::Wake for Record {
    fn wake(self: Arc<Self>) {
        self.order.lock().unwrap().push(self.index);
    }
}

#[test]
fn wakes_in_the_order_sources_became_ready() {
    // One turn that collects several events wakes their tasks in the order
    // the sources became ready (epoll's ready list is FIFO), so a run
    // queue serves the connection that waited longest first. The order of
    // readiness here is neither the order of registration nor its reverse.
    within(|| {
        use tulipa_core::Driver;
        let reactor = tulipa_reactor::Reactor::new().unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let n = 8;
        let mut pairs = Vec::new();
        let mut waits = Vec::new();
        for index in 0..n {
            let (a, b) = UnixStream::pair().unwrap();
            let a = Async::new_in(a, &reactor).unwrap();
            let waker = std::task::Waker::from(Arc::new(Record {
                index,
                order: order.clone(),
            }));
            let mut cx = Context::from_waker(&waker);
            let a = Arc::new(a);
            let waiter = a.clone();
            // Kept until the end: dropping a wait withdraws its waker.
            let mut readable = Box::pin(async move { waiter.readable().await });
            assert!(readable.as_mut().poll(&mut cx).is_pending());
            waits.push(readable);
            pairs.push((a, b));
        }
        // Collect the writable edges every new socket starts with, so the
        // ready list holds nothing when the writes below begin.
        assert!(reactor.park(Some(Duration::ZERO)));
        assert!(order.lock().unwrap().is_empty(), "nothing was readable yet");
        let ready: Vec<usize> = vec![3, 0, 7, 5, 1, 6, 2, 4];
        for &i in &ready {
            pairs[i].1.write_all(b"x").unwrap();
        }
        assert!(reactor.park(Some(Duration::ZERO)));
        assert_eq!(*order.lock().unwrap(), ready);
        drop(waits);
    });
}
