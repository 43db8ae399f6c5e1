//! Event-loop callbacks: `call_soon`, `call_later` and `call_at` run in
//! deadline order, a cancelled one never runs, and `main` waits for the
//! last one.
//!
//! It mirrors this asyncio program:
//!
//! ```python
//! import asyncio
//!
//! async def main():
//!     loop = asyncio.get_running_loop()
//!     start = loop.time()
//!     done = loop.create_future()
//!
//!     def say(what):
//!         print(f"{loop.time() - start:.3f}s  {what}")
//!
//!     def last():
//!         say("call_later(0.3): the last one")
//!         done.set_result(None)
//!
//!     loop.call_later(0.3, last)
//!     dropped = loop.call_later(0.2, say, "call_later(0.2): never printed")
//!     loop.call_at(start + 0.1, say, "call_at(start + 0.1)")
//!     loop.call_soon(say, "call_soon")
//!     dropped.cancel()
//!     await done
//!
//! asyncio.run(main())
//! ```
//!
//! Run it with `cargo run -p tulipa --example callbacks`.

use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use tulipa::Handle;

#[tulipa::main]
async fn main() {
    // `Handle::current()` is `asyncio.get_running_loop()`, and
    // `Handle::time()` is `loop.time()`.
    let handle = Handle::current();
    let start = handle.time();
    let done = Arc::new(Done::default());

    // Callbacks are plain closures (`FnOnce() + Send`), not coroutines:
    // what `loop.call_soon(say, "x")` passes as arguments, a closure
    // captures.
    let say = {
        let handle = handle.clone();
        move |what: &str| {
            let offset = handle.time() - start;
            println!("{:.3}s  {what}", offset.as_secs_f64());
        }
    };

    // Scheduled in the "wrong" order on purpose: they run in deadline
    // order.
    handle.call_later(Duration::from_millis(300), {
        let (say, done) = (say.clone(), done.clone());
        move || {
            say("call_later(0.3): the last one");
            done.set();
        }
    });
    let dropped = handle.call_later(Duration::from_millis(200), {
        let say = say.clone();
        move || say("call_later(0.2): never printed")
    });
    handle.call_at(start + Duration::from_millis(100), {
        let say = say.clone();
        move || say("call_at(start + 0.1)")
    });
    handle.call_soon(move || say("call_soon"));

    // Like asyncio's `TimerHandle.cancel()`. Dropping the handle would
    // *not* cancel it, as in asyncio.
    dropped.cancel();

    done.wait().await;
    println!("cancelled callback ran: {}", dropped.is_done());
}

/// A one-shot "done" signal: the part of `loop.create_future()` this
/// example needs, written out to show the waker hand-off
/// (`tulipa::sync::Promise` is the full version).
#[derive(Default)]
struct Done {
    /// Whether `set` was called, and the waker of the task waiting.
    state: Mutex<(bool, Option<Waker>)>,
}

impl Done {
    /// `future.set_result(None)`: marks it done and wakes the waiter.
    fn set(&self) {
        let waker = {
            let mut state = self.state.lock().unwrap();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// `await future`: waits until `set` was called.
    async fn wait(&self) {
        poll_fn(|cx| {
            let mut state = self.state.lock().unwrap();
            if state.0 {
                Poll::Ready(())
            } else {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }
}
