//! A small connection pool: a [`Semaphore`] of `size` permits in front of
//! a `Vec` of idle connections.
//!
//! A permit is the right to hold one connection, so at most `size`
//! connections exist at once. [`Pool::acquire`] waits (up to a limit) for a
//! permit, then takes an idle connection if there is one; a [`Lease`]
//! without a connection means "open one": the caller knows how (the
//! PostgreSQL store opens a socket). Dropping the lease puts its connection
//! back, unless the caller took it out because it broke, and then releases
//! the permit, in that order, so a waiter woken by the permit finds the
//! connection.
//!
//! The idle list is behind a `std::sync::Mutex`, not an async one: it is
//! held for one `push` or `pop`, never across an `.await`.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tulipa::sync::{Semaphore, SemaphorePermit};

/// At most `size` connections of type `C`, shared by tasks.
pub(crate) struct Pool<C> {
    permits: Semaphore,
    idle: Mutex<Vec<C>>,
    size: usize,
}

impl<C: Send> Pool<C> {
    /// A pool of at most `size` connections (at least one), with `idle`
    /// already open.
    pub(crate) fn new(size: usize, idle: Vec<C>) -> Pool<C> {
        let size = size.max(1);
        Pool {
            permits: Semaphore::new(size),
            idle: Mutex::new(idle),
            size,
        }
    }

    /// The most connections this pool holds.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Waits up to `wait` for the right to use a connection; `None` when
    /// every connection stayed busy that long.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the semaphore gives a dropped waiter's place to the
    /// next one.
    pub(crate) async fn acquire(&self, wait: Duration) -> Option<Lease<'_, C>> {
        let permit = tulipa::time::timeout(wait, self.permits.acquire())
            .await
            .ok()?
            .ok()?;
        let conn = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        Some(Lease {
            pool: self,
            conn,
            _permit: permit,
        })
    }
}

/// The right to use one connection of a [`Pool`], and the connection when
/// one was idle.
pub(crate) struct Lease<'a, C> {
    pool: &'a Pool<C>,
    conn: Option<C>,
    // Declared last: released after `drop` put the connection back.
    _permit: SemaphorePermit<'a>,
}

impl<C> Lease<'_, C> {
    /// Takes the connection out (to move it into a blocking job, or to
    /// throw it away); `None` when there was none idle.
    pub(crate) fn take(&mut self) -> Option<C> {
        self.conn.take()
    }

    /// Gives a connection back to the lease, to return to the pool when the
    /// lease is dropped.
    pub(crate) fn put(&mut self, conn: C) {
        self.conn = Some(conn);
    }
}

impl<C> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}
