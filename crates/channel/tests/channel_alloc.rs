//! Waits that allocate nothing: a single receiver of an mpmc channel
//! waits in the channel's receive slot (no event listener), and the
//! oneshot waits with no allocation either. Counted with a global
//! allocator that counts this thread's allocations.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{counting_waker, poll_boxed};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the thread-local counter does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's guarantees for `layout` are passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (above).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

#[test]
fn a_single_receiver_waits_without_allocating() {
    let (tx, rx) = tulipa_channel::bounded::<u32>(1);
    let (counter, waker) = counting_waker();
    // Warm up: the first pending poll initialises thread-locals (the
    // task's await point), which may allocate once per thread.
    let mut recv = Box::pin(rx.recv());
    assert!(poll_boxed(&mut recv, &waker).is_pending());
    tx.try_send(0).unwrap();
    assert!(poll_boxed(&mut recv, &waker).is_ready());
    drop(recv);
    let before = allocs();
    for i in 1..=100 {
        let mut recv = Box::into_pin(Box::new(rx.recv()));
        let boxed = allocs();
        assert!(poll_boxed(&mut recv, &waker).is_pending());
        tx.try_send(i).unwrap();
        assert_eq!(poll_boxed(&mut recv, &waker), std::task::Poll::Ready(Ok(i)));
        assert_eq!(allocs(), boxed, "wait {i} allocated");
    }
    assert_eq!(counter.count(), 101, "each send woke the receiver once");
    // One allocation per iteration: the test's own `Box` of the future.
    assert_eq!(allocs() - before, 100);
}

#[test]
fn a_second_waiting_receiver_uses_the_event() {
    let (tx, rx) = tulipa_channel::unbounded::<u32>();
    let (c1, w1) = counting_waker();
    let (c2, w2) = counting_waker();
    let mut first = Box::pin(rx.recv());
    let mut second = Box::pin(rx.recv());
    assert!(poll_boxed(&mut first, &w1).is_pending());
    let before = allocs();
    assert!(poll_boxed(&mut second, &w2).is_pending());
    assert!(allocs() > before, "the second waiter takes a listener");
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!((c1.count(), c2.count()), (1, 1), "one wakeup per message");
    assert_eq!(poll_boxed(&mut first, &w1), std::task::Poll::Ready(Ok(1)));
    assert_eq!(poll_boxed(&mut second, &w2), std::task::Poll::Ready(Ok(2)));
}

#[test]
fn a_oneshot_wait_allocates_nothing() {
    let (counter, waker) = counting_waker();
    for i in 0..10 {
        let (tx, rx) = tulipa_channel::oneshot::channel::<u32>();
        let mut rx = Box::pin(rx);
        let before = allocs();
        assert!(poll_boxed(&mut rx, &waker).is_pending());
        tx.send(i).unwrap();
        assert_eq!(poll_boxed(&mut rx, &waker), std::task::Poll::Ready(Ok(i)));
        assert_eq!(allocs(), before);
    }
    assert_eq!(counter.count(), 10);
}
