//! The read buffers of protocol drivers: one per worker thread, lent for
//! the length of one read and its callback, instead of one per connection
//! for the connection's whole life.
//!
//! A driver reads only when it runs, and a thread runs one driver at a
//! time, so a thread needs one buffer: [`lease`] takes the thread's spare
//! (allocating it on the thread's first read) and the [`Lease`] puts it
//! back when dropped, also when the callback panics. An idle connection
//! therefore holds no read buffer at all: 10,000 idle connections cost
//! 10,000 times their socket state, not 10,000 times 64 KiB. If a callback
//! re-enters the runtime on its thread (a nested `block_on` that runs
//! another driver), the inner read finds no spare and allocates one; when
//! both go back, the thread keeps one and frees the other.
//!
//! [`held_bytes`] counts the bytes of every live buffer, for the test that
//! idle connections hold none.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes in a read buffer: the largest UDP payload fits, and a stream read
/// of this size empties a typical socket receive buffer.
pub(crate) const READ_BUFFER: usize = 64 * 1024;

/// Bytes of read buffers alive in the process, lent or spare.
static HELD: AtomicUsize = AtomicUsize::new(0);

/// Bytes of read buffers alive in the process (lent or kept as a thread's
/// spare).
#[cfg(all(test, not(tulipa_loom)))]
pub(crate) fn held_bytes() -> usize {
    HELD.load(Ordering::Relaxed)
}

/// One counted buffer.
struct Buf(Box<[u8]>);

impl Buf {
    fn new() -> Buf {
        HELD.fetch_add(READ_BUFFER, Ordering::Relaxed);
        Buf(vec![0; READ_BUFFER].into_boxed_slice())
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        HELD.fetch_sub(self.0.len(), Ordering::Relaxed);
    }
}

thread_local! {
    static SPARE: Cell<Option<Buf>> = const { Cell::new(None) };
}

/// A thread's read buffer, lent until dropped.
pub(crate) struct Lease(Option<Buf>);

/// Borrows this thread's read buffer (see the module docs).
pub(crate) fn lease() -> Lease {
    let buf = SPARE
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_else(Buf::new);
    Lease(Some(buf))
}

impl Deref for Lease {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0.as_ref().map_or(&[], |b| &b.0)
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.0.as_mut().map_or(&mut [], |b| &mut b.0)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(buf) = self.0.take() {
            // A thread that is exiting frees the buffer instead; a spare
            // already there (a nested read gave it back first) is freed.
            let _ = SPARE.try_with(|spare| drop(spare.replace(Some(buf))));
        }
    }
}

#[cfg(all(test, not(tulipa_loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::{held_bytes, READ_BUFFER};
    use crate::protocol::{create_connection, create_server, Protocol, Transport};

    /// Counts the bytes it receives.
    struct Sink(Arc<AtomicUsize>);

    impl Protocol for Sink {
        fn data_received(&mut self, data: &[u8]) {
            self.0.fetch_add(data.len(), Ordering::SeqCst);
        }
    }

    /// Writes one byte and then stays idle.
    struct Hello;

    impl Protocol for Hello {
        fn connection_made(&mut self, t: Transport) {
            t.write(b"x");
        }
        fn data_received(&mut self, _: &[u8]) {}
    }

    const CONNECTIONS: usize = 64;

    /// Issue "no idle buffers": every connection (both ends run a
    /// protocol here, so 128 drivers) has read at least once and then sits
    /// idle; the read buffers alive are the worker threads' spares, not
    /// one 64 KiB buffer per connection (8 MiB before the change).
    fn idle_connections_hold_no_read_buffers(rt: tulipa::Runtime) {
        // The count is the process's: one such test at a time.
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        rt.block_on(async {
            let got = Arc::new(AtomicUsize::new(0));
            let g = got.clone();
            let server = create_server(move || Sink(g.clone()), "127.0.0.1:0")
                .await
                .unwrap();
            let addr = server.local_addr().unwrap();
            let mut clients = Vec::new();
            for _ in 0..CONNECTIONS {
                clients.push(create_connection(|| Hello, addr).await.unwrap());
            }
            // Sleeping (not yielding) lets a current-thread runtime poll
            // the reactor in between.
            for _ in 0..10_000 {
                if got.load(Ordering::SeqCst) == CONNECTIONS {
                    break;
                }
                tulipa::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            assert_eq!(got.load(Ordering::SeqCst), CONNECTIONS);
            assert_eq!(server.connection_count(), CONNECTIONS);
            // At most one spare per thread that ran a driver (two workers,
            // the caller's thread), and never one per connection.
            let held = held_bytes();
            assert!(
                held <= 3 * READ_BUFFER,
                "{CONNECTIONS} idle connections hold {held} bytes of read buffers"
            );
            for c in &clients {
                c.abort();
            }
            for c in &clients {
                c.wait_closed().await;
            }
            server.close();
            server.wait_closed().await;
        });
    }

    #[test]
    fn idle_connections_hold_no_read_buffers_current_thread() {
        idle_connections_hold_no_read_buffers(
            tulipa::Runtime::builder().current_thread().build().unwrap(),
        );
    }

    #[test]
    fn idle_connections_hold_no_read_buffers_multi_thread() {
        idle_connections_hold_no_read_buffers(
            tulipa::Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .build()
                .unwrap(),
        );
    }
}
