//! What restgate's sqlx backends (`restgate-postgres`, `restgate-mysql`)
//! share: how a read gets its connection, and what a failure to get one is.
//!
//! A backend for another sqlx database reads the same way:
//!
//! ```ignore
//! let mut c = restgate_sqlx::ReadConnection::take(&self.pool, classify).await?;
//! let rows = loop {
//!     match fetch_rows(c.conn(), &q.rows).await {
//!         Err(e) => c.retry(e).await?,
//!         Ok(rows) => break rows,
//!     }
//! };
//! ```

use restgate_core::error::{BackendError, BackendErrorKind};
use sqlx::pool::{Pool, PoolConnection};
use sqlx::Database;

/// The connection a read runs on.
///
/// An idle connection is taken at once when there is one, without the ping
/// sqlx's `acquire` sends first (a round trip to the server) and without
/// `acquire`'s future (8 kB on PostgreSQL, moved to the heap with every
/// read). sqlx pings a connection when it comes back to the pool, so a
/// dead one leaves it after one statement; a read whose connection the
/// server dropped (the statement fails as [`BackendErrorKind::Unavailable`])
/// goes on with another one ([`retry`](ReadConnection::retry)), taken by
/// `acquire`, which pings, up to the pool's size (after a server restart
/// every idle connection is dead). Failing to get a connection ends the
/// read ([`acquire_error`]).
///
/// Only for reads: a write must take a pinged connection, so that a
/// statement is never sent twice.
pub struct ReadConnection<'p, DB: Database> {
    pool: &'p Pool<DB>,
    classify: fn(sqlx::Error) -> BackendError,
    /// `None` only between giving a dead connection back and getting another.
    conn: Option<PoolConnection<DB>>,
    retries: u32,
}

impl<'p, DB: Database> ReadConnection<'p, DB> {
    /// A connection of `pool`; `classify` turns the driver's errors into
    /// the backend's.
    pub async fn take(pool: &'p Pool<DB>, classify: fn(sqlx::Error) -> BackendError) -> Result<Self, BackendError> {
        let conn = match pool.try_acquire() {
            Some(conn) => conn,
            None => Box::pin(pool.acquire()).await.map_err(|e| acquire_error(pool, e, classify))?,
        };
        Ok(ReadConnection { pool, classify, conn: Some(conn), retries: pool.options().get_max_connections() })
    }

    /// The connection, to run the read's statement on.
    pub fn conn(&mut self) -> &mut DB::Connection {
        // Only `retry` empties it, and it fills it again or ends the read.
        self.conn.as_mut().expect("a read holds a connection")
    }

    /// After the read failed with `e`: `Ok` with another connection to run
    /// it again on when the server dropped this one, else `Err(e)`.
    pub async fn retry(&mut self, e: BackendError) -> Result<(), BackendError> {
        if e.kind != BackendErrorKind::Unavailable || self.retries == 0 {
            return Err(e);
        }
        self.retries -= 1;
        // The dead one is closed first: its place in the pool is free for the next.
        if let Some(mut dead) = self.conn.take() {
            dead.close_on_drop();
        }
        let fresh = Box::pin(self.pool.acquire()).await.map_err(|e| acquire_error(self.pool, e, self.classify))?;
        self.conn = Some(fresh);
        Ok(())
    }
}

/// The error of failing to get a connection from `pool`: a timeout while
/// the pool could still open connections means the server is not
/// answering ([`BackendErrorKind::Unavailable`], 503); otherwise the pool
/// is exhausted, or the error is the driver's, as `classify` says.
pub fn acquire_error<DB: Database>(pool: &Pool<DB>, e: sqlx::Error, classify: fn(sqlx::Error) -> BackendError) -> BackendError {
    if matches!(e, sqlx::Error::PoolTimedOut) && pool.size() < pool.options().get_max_connections() {
        return BackendError::new(BackendErrorKind::Unavailable, None, "timed out opening a connection to the database");
    }
    classify(e)
}
