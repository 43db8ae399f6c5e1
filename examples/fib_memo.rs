//! The asyncio tutorial's async memo decorator, in tulipa.
//!
//! The Python original:
//!
//! ```python
//! def memo(func):
//!     cache = {}
//!     async def wrapper(n):
//!         if n in cache:
//!             print(f"found {n} in cache")
//!             return cache[n]
//!         result = await func(n)
//!         print(f"calculated {n}")
//!         cache[n] = result
//!         return result
//!     return wrapper
//!
//! @memo
//! async def fibn(n):
//!     if n <= 1:
//!         return n
//!     return await fibn(n - 1) + await fibn(n - 2)
//!
//! await asyncio.gather(fibn(4), fibn(4), fibn(4))
//! ```
//!
//! There, the three `fibn(4)` calls all miss the cache (none has finished
//! when the others look), so `fibn(4)` is calculated three times. Here the
//! cache maps each key to a [`OnceCell`](tulipa::sync::OnceCell): the
//! first caller of a key computes it, and concurrent callers of the same
//! key wait for that one computation instead of starting their own. Each
//! `n` is calculated once; every other call is "found in cache".
//!
//! In Rust the cache is shared explicitly: an `Arc` to a `Memo` that the
//! recursive function captures, rather than a closure variable. The
//! recursion is boxed (`Box::pin`), since an `async fn` cannot contain
//! itself.
//!
//! Run it: `cargo run -p tulipa --example fib_memo`

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tulipa::sync::OnceCell;

/// A cache of async results, one cell per key: asyncio's `memo`.
struct Memo {
    cells: Mutex<HashMap<u64, Arc<OnceCell<u64>>>>,
}

impl Memo {
    fn new() -> Arc<Memo> {
        Arc::new(Memo {
            cells: Mutex::new(HashMap::new()),
        })
    }

    /// The value for `n`, computed by `compute` unless it already was (or
    /// is being computed right now by another caller, which we wait for).
    async fn get<F, Fut>(&self, n: u64, compute: F) -> u64
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = u64>,
    {
        // The lock guards the map only; it is released before any await.
        let cell = self
            .cells
            .lock()
            .unwrap()
            .entry(n)
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        if let Some(value) = cell.get() {
            println!("found {n} in cache");
            return *value;
        }
        let mut computed = false;
        let value = *cell
            .get_or_init(|| async {
                computed = true;
                compute().await
            })
            .await;
        if computed {
            println!("calculated {n}");
        } else {
            println!("found {n} in cache (waited for the caller computing it)");
        }
        value
    }
}

/// `fibn(n)`, memoised through `memo`, with a little simulated I/O per
/// call so that concurrent callers really overlap.
fn fibn(memo: Arc<Memo>, n: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        let inner = memo.clone();
        memo.get(n, move || async move {
            tulipa::time::sleep(Duration::from_millis(10)).await;
            if n <= 1 {
                n
            } else {
                fibn(inner.clone(), n - 1).await + fibn(inner, n - 2).await
            }
        })
        .await
    })
}

fn main() {
    let start = Instant::now();
    let results = tulipa::run(async {
        let memo = Memo::new();
        // asyncio.gather(fibn(4), fibn(4), fibn(4))
        tulipa::future::gather((0..3).map(|_| fibn(memo.clone(), 4))).await
    });
    println!("gather(fibn(4), fibn(4), fibn(4)) = {results:?}");
    assert_eq!(results, vec![3, 3, 3]);

    let bigger = tulipa::run(async { fibn(Memo::new(), 20).await });
    println!("fibn(20) = {bigger}: 21 calculations, not the 21,891 calls of the plain recursion");
    assert_eq!(bigger, 6765);
    println!("took {:.1?}", start.elapsed());
}
