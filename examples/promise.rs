//! A promise (asyncio's `Future`) set by an event-loop callback: a
//! `call_later` callback sets it, a done-callback reports it, and `main`
//! awaits it.
//!
//! It mirrors this asyncio program:
//!
//! ```python
//! import asyncio
//!
//! async def main():
//!     loop = asyncio.get_running_loop()
//!     fut = loop.create_future()
//!     fut.add_done_callback(lambda f: print(f"done-callback: {f.result()}"))
//!     loop.call_later(0.05, fut.set_result, "hello from call_later")
//!     print("main awaits the future")
//!     print(f"main got: {await fut}")
//!     try:
//!         fut.set_result("again")
//!     except asyncio.InvalidStateError:
//!         print("a future is set only once")
//!
//! asyncio.run(main())
//! ```
//!
//! Run it with `cargo run -p tulipa --example promise`.

use std::time::Duration;

use tulipa::sync::Promise;
use tulipa::Handle;

#[tulipa::main]
async fn main() {
    // `loop.create_future()`
    let promise: Promise<String> = Promise::new();
    promise.add_done_callback(|result| match result {
        Ok(value) => println!("done-callback: {value}"),
        Err(e) => println!("done-callback: {e}"),
    });

    // `loop.call_later(0.05, fut.set_result, ...)`: the callback owns
    // a clone; every clone sets or awaits the same promise.
    let setter = promise.clone();
    Handle::current().call_later(Duration::from_millis(50), move || {
        setter
            .set("hello from call_later".to_string())
            .unwrap_or_else(|_| panic!("the promise was set twice"));
    });

    println!("main awaits the future");
    let value = promise.wait().await.expect("the promise was cancelled");
    println!("main got: {value}");

    // asyncio raises InvalidStateError; here the value comes back.
    if let Err(e) = promise.set("again".to_string()) {
        println!("a future is set only once ({e}): {:?} came back", e.0);
    }
}
