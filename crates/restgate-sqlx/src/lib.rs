//! What restgate's sqlx backends (`restgate-postgres`, `restgate-mysql`)
//! share: how reads and writes get their connections, and what a failure
//! to get one is.
//!
//! A backend for another sqlx database reads the same way:
//!
//! ```ignore
//! let conns = restgate_sqlx::Connections::new(pool, classify, true);
//! // …
//! let mut c = restgate_sqlx::ReadConnection::take(&conns).await?;
//! let rows = loop {
//!     match fetch_rows(c.conn(), &q.rows).await {
//!         Err(e) => c.retry(e).await?,
//!         Ok(rows) => break rows,
//!     }
//! };
//! c.finish();
//! ```
//!
//! and writes on [`Connections::write`] or [`Connections::begin`].

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use restgate_core::error::{BackendError, BackendErrorKind};
use sqlx::pool::{Pool, PoolConnection};
use sqlx::{AssertSqlSafe, Connection, Database, SqlSafeStr, Transaction};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// How long a connection may go from read to read without passing through
/// the pool (which then pings it and applies its lifetime rules).
const KEEP_AT_MOST: Duration = Duration::from_secs(30);

/// A backend's connections: its sqlx pool, and, when the backend owns the
/// pool, the connections it keeps between reads.
///
/// sqlx pings a connection when it goes back to its pool (a round trip to
/// the server) and again when `acquire` hands it out. A read that succeeded
/// leaves its connection in a clean state, so a backend that owns its pool
/// keeps such connections itself, checked out of the pool, and the next
/// read or write takes one from there first: a read then costs one round
/// trip, its statement. Writes ping the connection they take (a statement
/// is never sent to a dead connection and then again), and give it back to
/// the pool afterwards. A connection passes through the pool at least every
/// 30 s.
///
/// Every connection restgate takes comes from here, and no more requests
/// hold one at once than the pool has connections: the others wait here,
/// in order, within the pool's acquire timeout, and take a kept connection
/// when one is given back. A request that found none kept waits in the
/// pool's `acquire` (while the pool opens its connection, or while a
/// connection goes back to the pool), and while one does, connections go
/// back to the pool instead of being kept, so none is kept out of its
/// reach. Closing the pool (`Pool::close`, which waits for every
/// connection) gives the kept ones back. The pool's other users would not
/// see kept connections, which is why a pool shared with the application
/// ([`Connections::new`] with `keep: false`) keeps nothing.
pub struct Connections<DB: Database> {
    pool: Pool<DB>,
    classify: fn(sqlx::Error) -> BackendError,
    kept: Option<Arc<Kept<DB>>>,
}

impl<DB: Database> Clone for Connections<DB> {
    fn clone(&self) -> Self {
        Connections { pool: self.pool.clone(), classify: self.classify, kept: self.kept.clone() }
    }
}

impl<DB: Database> fmt::Debug for Connections<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections").field("pool", &self.pool).field("kept", &self.kept.as_ref().map(|k| k.len())).finish()
    }
}

/// Connections kept between reads.
struct Kept<DB: Database> {
    state: Mutex<KeptState<DB>>,
    /// One permit per connection of the pool: held with each connection taken.
    permits: Arc<Semaphore>,
    /// Dropped with this: ends the task that gives kept connections back
    /// when the pool is closed.
    _stop: oneshot::Sender<()>,
}

struct KeptState<DB: Database> {
    /// The most recently used last, each with when it last came from the pool.
    idle: Vec<(PoolConnection<DB>, Instant)>,
    /// Requests waiting in the pool's `acquire`.
    waiting: usize,
}

impl<DB: Database> Kept<DB> {
    fn lock(&self) -> std::sync::MutexGuard<'_, KeptState<DB>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pop(&self) -> Option<(PoolConnection<DB>, Instant)> {
        self.lock().idle.pop()
    }

    fn len(&self) -> usize {
        self.lock().idle.len()
    }
}

/// Counts a request waiting in the pool's `acquire` while it lives.
struct Waiting<'k, DB: Database>(&'k Kept<DB>);

impl<DB: Database> Drop for Waiting<'_, DB> {
    fn drop(&mut self) {
        self.0.lock().waiting -= 1;
    }
}

impl<DB: Database> Drop for Kept<DB> {
    fn drop(&mut self) {
        // Outside a runtime the pool cannot take them back (that spawns a
        // task): close them here instead.
        if tokio::runtime::Handle::try_current().is_err() {
            let idle = std::mem::take(&mut self.state.get_mut().unwrap_or_else(PoisonError::into_inner).idle);
            for (conn, _) in idle {
                drop(conn.detach());
            }
        }
    }
}

/// A connection taken, with when it last came from the pool, whether the
/// pool pinged it on the way out, and the permit it is held under.
struct Taken<DB: Database> {
    conn: PoolConnection<DB>,
    since: Instant,
    pinged: bool,
    permit: Option<OwnedSemaphorePermit>,
}

impl<DB: Database> Connections<DB> {
    /// The connections of `pool`; `classify` turns the driver's errors into
    /// the backend's. `keep`: keep connections between reads (only when
    /// nothing else takes connections from `pool`, and only inside a Tokio
    /// runtime: a task gives kept connections back when the pool is closed,
    /// so that `Pool::close`, which waits for every connection, returns).
    pub fn new(pool: Pool<DB>, classify: fn(sqlx::Error) -> BackendError, keep: bool) -> Self {
        let runtime = tokio::runtime::Handle::try_current().ok().filter(|_| keep);
        let kept = runtime.map(|runtime| {
            let size = pool.options().get_max_connections() as usize;
            let (stop, stopped) = oneshot::channel::<()>();
            let kept = Arc::new(Kept {
                state: Mutex::new(KeptState { idle: Vec::new(), waiting: 0 }),
                permits: Arc::new(Semaphore::new(size)),
                _stop: stop,
            });
            let weak = Arc::downgrade(&kept);
            let closed = pool.close_event();
            runtime.spawn(async move {
                tokio::select! {
                    () = closed => {
                        if let Some(kept) = weak.upgrade() {
                            let idle = std::mem::take(&mut kept.lock().idle);
                            drop(idle);
                        }
                    }
                    _ = stopped => {}
                }
            });
            kept
        });
        Connections { pool, classify, kept }
    }

    /// The pool.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    /// How many connections are kept between reads now.
    pub fn kept(&self) -> usize {
        self.kept.as_ref().map_or(0, |k| k.len())
    }

    fn error(&self, e: sqlx::Error) -> BackendError {
        acquire_error(&self.pool, e, self.classify)
    }

    /// A connection: a kept one, else one idle in the pool (without the
    /// ping `acquire` sends), else the pool's `acquire`.
    async fn take(&self) -> Result<Taken<DB>, BackendError> {
        let Some(kept) = &self.kept else {
            if let Some(conn) = self.pool.try_acquire() {
                return Ok(Taken { conn, since: Instant::now(), pinged: false, permit: None });
            }
            // Boxed: `acquire`'s future is large (8 kB on PostgreSQL).
            let conn = Box::pin(self.pool.acquire()).await.map_err(|e| self.error(e))?;
            return Ok(Taken { conn, since: Instant::now(), pinged: true, permit: None });
        };
        let permit = match kept.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => Box::pin(self.permit(kept)).await?,
        };
        if let Some((conn, since)) = kept.pop() {
            return Ok(Taken { conn, since, pinged: false, permit: Some(permit) });
        }
        if let Some(conn) = self.pool.try_acquire() {
            return Ok(Taken { conn, since: Instant::now(), pinged: false, permit: Some(permit) });
        }
        Box::pin(self.wait(kept, permit)).await
    }

    /// A permit, within the pool's acquire timeout.
    async fn permit(&self, kept: &Kept<DB>) -> Result<OwnedSemaphorePermit, BackendError> {
        match tokio::time::timeout(self.pool.options().get_acquire_timeout(), kept.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(self.error(sqlx::Error::PoolClosed)),
            Err(_) => Err(self.error(sqlx::Error::PoolTimedOut)),
        }
    }

    /// With a permit and neither a kept nor an idle connection: the pool's
    /// `acquire` (a connection it opens, or the next one given back to it).
    /// Counted as waiting from the moment no connection is kept, under the
    /// same lock [`ReadConnection::finish`] keeps connections under: either
    /// a connection was kept first and is taken here, or it goes back to
    /// the pool, to this request.
    async fn wait(&self, kept: &Kept<DB>, permit: OwnedSemaphorePermit) -> Result<Taken<DB>, BackendError> {
        let waiting = {
            let mut state = kept.lock();
            if let Some((conn, since)) = state.idle.pop() {
                return Ok(Taken { conn, since, pinged: false, permit: Some(permit) });
            }
            state.waiting += 1;
            Waiting(kept)
        };
        let conn = self.pool.acquire().await.map_err(|e| self.error(e))?;
        drop(waiting);
        Ok(Taken { conn, since: Instant::now(), pinged: true, permit: Some(permit) })
    }

    /// A connection for a write, pinged first (a dead one is closed and
    /// another taken: every connection of the pool, then a new one, before
    /// the last ping's error ends the write). It goes back to the pool when
    /// dropped.
    pub async fn write(&self) -> Result<WriteConnection<DB>, BackendError> {
        let mut attempts = self.pool.options().get_max_connections() + 1;
        loop {
            let Taken { mut conn, pinged, permit, .. } = self.take().await?;
            if pinged {
                return Ok(WriteConnection { conn, _permit: permit });
            }
            match conn.ping().await {
                Ok(()) => return Ok(WriteConnection { conn, _permit: permit }),
                Err(e) => {
                    conn.close_on_drop();
                    attempts -= 1;
                    if attempts == 0 {
                        return Err((self.classify)(e));
                    }
                }
            }
        }
    }

    /// A transaction on a [`write`](Connections::write) connection, begun
    /// by `statement` (else the database's plain BEGIN).
    pub async fn begin(&self, statement: Option<&'static str>) -> Result<WriteTransaction<DB>, BackendError> {
        let WriteConnection { conn, _permit } = self.write().await?;
        let tx = Transaction::begin(conn, statement.map(|s| AssertSqlSafe(s).into_sql_str())).await.map_err(self.classify)?;
        Ok(WriteTransaction { tx, _permit })
    }
}

/// A connection for writes ([`Connections::write`]): the connection itself
/// through `Deref`; back to the pool when dropped.
pub struct WriteConnection<DB: Database> {
    conn: PoolConnection<DB>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl<DB: Database> WriteConnection<DB> {
    /// Closes the connection when dropped instead of giving it back (the
    /// session was changed and could not be put back).
    pub fn close_on_drop(&mut self) {
        self.conn.close_on_drop();
    }
}

/// `Deref`/`DerefMut` of `$ty` to the connection in its field `$field`.
macro_rules! deref_to_connection {
    ($ty:ident, $field:ident) => {
        impl<DB: Database> Deref for $ty<DB> {
            type Target = DB::Connection;
            fn deref(&self) -> &DB::Connection {
                &self.$field
            }
        }

        impl<DB: Database> DerefMut for $ty<DB> {
            fn deref_mut(&mut self) -> &mut DB::Connection {
                &mut self.$field
            }
        }
    };
}

deref_to_connection!(WriteConnection, conn);

/// A transaction ([`Connections::begin`]): its connection through `Deref`;
/// rolled back when dropped without [`commit`](WriteTransaction::commit).
pub struct WriteTransaction<DB: Database> {
    tx: Transaction<'static, DB>,
    _permit: Option<OwnedSemaphorePermit>,
}

impl<DB: Database> WriteTransaction<DB> {
    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

deref_to_connection!(WriteTransaction, tx);

/// The connection a read runs on ([`ReadConnection::take`]).
///
/// It is not pinged before use. A read whose connection the server dropped
/// (the statement fails as [`BackendErrorKind::Unavailable`]) goes on with
/// another one ([`retry`](ReadConnection::retry)), up to the pool's size
/// (after a server restart every idle connection is dead). A read that
/// succeeded gives its connection back with
/// [`finish`](ReadConnection::finish) (kept for the next read where the
/// backend keeps connections); one dropped before that (an error, or a
/// request cancelled mid-statement) goes back to the pool, which pings it
/// (flushing whatever the cancelled statement left) or closes it.
///
/// Only for reads: a write must take a pinged connection, so that a
/// statement is never sent twice.
pub struct ReadConnection<'c, DB: Database> {
    conns: &'c Connections<DB>,
    /// `None` only between giving a dead connection back and getting another.
    conn: Option<PoolConnection<DB>>,
    since: Instant,
    permit: Option<OwnedSemaphorePermit>,
    retries: u32,
}

impl<'c, DB: Database> ReadConnection<'c, DB> {
    /// A connection of `conns`.
    pub async fn take(conns: &'c Connections<DB>) -> Result<Self, BackendError> {
        let Taken { conn, since, permit, .. } = conns.take().await?;
        Ok(ReadConnection { conns, conn: Some(conn), since, permit, retries: conns.pool.options().get_max_connections() })
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
        // The dead one is closed first, and its permit given up: its place
        // in the pool is free for the next.
        if let Some(mut dead) = self.conn.take() {
            dead.close_on_drop();
        }
        self.permit = None;
        let Taken { conn, since, permit, .. } = self.conns.take().await?;
        (self.conn, self.since, self.permit) = (Some(conn), since, permit);
        Ok(())
    }

    /// The read succeeded: the connection is kept for the next one, or goes
    /// back to the pool (where connections are not kept, while a request
    /// waits in the pool's `acquire`, when the pool is closing, or when it
    /// last passed through the pool 30 s ago or more).
    pub fn finish(mut self) {
        let (Some(kept), Some(conn)) = (&self.conns.kept, self.conn.take()) else { return };
        if self.since.elapsed() >= KEEP_AT_MOST {
            return;
        }
        let mut state = kept.lock();
        // Closed is checked under the lock the closing task empties the
        // kept connections under: none is kept after it did.
        if state.waiting == 0 && !self.conns.pool.is_closed() {
            state.idle.push((conn, self.since));
        } else {
            drop(state);
            drop(conn);
        }
        // The permit goes last (with `self`): whoever takes it finds the connection kept.
    }
}

/// The error of failing to get a connection from `pool`: a timeout while
/// the pool could still open connections means the server is not
/// answering ([`BackendErrorKind::Unavailable`], 503); otherwise the pool
/// is exhausted, or the error is the driver's, as `classify` says.
///
/// sqlx keeps retrying a refused connection until the acquire timeout,
/// then reports `PoolTimedOut`, as it does for a pool whose connections
/// are all busy: a pool that still had room timed out *opening* one. (Under
/// a burst, a request can see the pool full of other requests' connection
/// attempts and get the 504.)
pub fn acquire_error<DB: Database>(pool: &Pool<DB>, e: sqlx::Error, classify: fn(sqlx::Error) -> BackendError) -> BackendError {
    if matches!(e, sqlx::Error::PoolTimedOut) && pool.size() < pool.options().get_max_connections() {
        return BackendError::new(BackendErrorKind::Unavailable, None, "timed out opening a connection to the database");
    }
    classify(e)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use restgate_core::error::{BackendError, BackendErrorKind};
    use sqlx::sqlite::SqlitePoolOptions;
    use sqlx::Sqlite;

    use super::{Connections, ReadConnection};

    fn classify(e: sqlx::Error) -> BackendError {
        BackendError::new(BackendErrorKind::Other, None, e.to_string())
    }

    async fn conns(size: u32, keep: bool) -> Connections<Sqlite> {
        conns_opening_in(size, keep, Duration::ZERO).await
    }

    /// A pool whose connections take `opening` to open (as a server's do).
    async fn conns_opening_in(size: u32, keep: bool, opening: Duration) -> Connections<Sqlite> {
        let pool = SqlitePoolOptions::new()
            .max_connections(size)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |_, _| {
                Box::pin(async move {
                    tokio::time::sleep(opening).await;
                    Ok(())
                })
            })
            .connect_lazy("sqlite::memory:")
            .expect("open an in-memory pool");
        Connections::new(pool, classify, keep)
    }

    async fn read(c: &mut ReadConnection<'_, Sqlite>) -> i64 {
        sqlx::query_scalar("SELECT 1").fetch_one(c.conn()).await.expect("run a read")
    }

    #[tokio::test]
    async fn reads_keep_their_connection_for_the_next() {
        let conns = conns(3, true).await;
        for _ in 0..5 {
            let mut c = ReadConnection::take(&conns).await.expect("a connection");
            assert_eq!(read(&mut c).await, 1);
            c.finish();
            assert_eq!(conns.kept(), 1);
        }
        // One connection served every read.
        assert_eq!(conns.pool().size(), 1);
        assert_eq!(conns.pool().num_idle(), 0);
    }

    #[tokio::test]
    async fn a_shared_pool_gets_every_connection_back() {
        let conns = conns(3, false).await;
        let mut c = ReadConnection::take(&conns).await.expect("a connection");
        read(&mut c).await;
        c.finish();
        assert_eq!(conns.kept(), 0);
        // The pool takes it back in a task of its own.
        tokio::time::timeout(Duration::from_secs(5), async {
            while conns.pool().num_idle() != 1 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the connection back in the pool");
    }

    #[tokio::test]
    async fn a_read_dropped_before_it_finished_goes_back_to_the_pool() {
        let conns = conns(1, true).await;
        let mut c = ReadConnection::take(&conns).await.expect("a connection");
        read(&mut c).await;
        drop(c);
        assert_eq!(conns.kept(), 0);
        // The next one comes from the pool (within its acquire timeout).
        let mut c = ReadConnection::take(&conns).await.expect("the connection again");
        read(&mut c).await;
    }

    /// A pool of two connections, both kept by reads.
    async fn both_kept() -> Connections<Sqlite> {
        let conns = conns(2, true).await;
        let (mut a, mut b) = (ReadConnection::take(&conns).await.unwrap(), ReadConnection::take(&conns).await.unwrap());
        read(&mut a).await;
        read(&mut b).await;
        a.finish();
        b.finish();
        conns
    }

    /// Every connection kept: writes and transactions take them (none is
    /// left in the pool for `acquire` to find).
    #[tokio::test]
    async fn writes_take_kept_connections() {
        let conns = both_kept().await;
        assert_eq!((conns.kept(), conns.pool().size(), conns.pool().num_idle()), (2, 2, 0));
        let mut w = conns.write().await.expect("a write's connection");
        sqlx::query("SELECT 1").execute(&mut *w).await.expect("write");
        let mut tx = conns.begin(None).await.expect("a transaction");
        sqlx::query("SELECT 1").execute(&mut *tx).await.expect("in the transaction");
        tx.commit().await.expect("commit");
        assert_eq!(conns.kept(), 0);
    }

    /// More reads at once than the pool has connections: every one gets a
    /// connection in turn, none waits out the pool's timeout for a
    /// connection another read kept, and the pool never grows past its size.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_larger_than_the_pool_is_served_in_turn() {
        let conns = conns_opening_in(2, true, Duration::from_millis(50)).await;
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(40));
        let reads = (0..40).map(|_| {
            let (conns, start) = (conns.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let mut c = ReadConnection::take(&conns).await.expect("a connection in turn");
                read(&mut c).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
                c.finish();
            })
        });
        let all = futures_join(reads.collect());
        // A request left waiting for a connection nobody gives back would fail its
        // `expect` at the pool's 10 s timeout.
        tokio::time::timeout(Duration::from_secs(30), all).await.expect("the burst served");
        assert!(conns.pool().size() <= 2);
        assert!(conns.kept() <= 2);
    }

    async fn futures_join(handles: Vec<tokio::task::JoinHandle<()>>) {
        for h in handles {
            h.await.expect("a read's task");
        }
    }

    /// `Pool::close` waits for every connection: kept ones go back to it.
    #[tokio::test]
    async fn closing_the_pool_takes_kept_connections_back() {
        let conns = both_kept().await;
        assert_eq!(conns.kept(), 2);
        tokio::time::timeout(Duration::from_secs(5), conns.pool().close()).await.expect("the pool closed");
        assert_eq!(conns.kept(), 0);
        assert!(ReadConnection::take(&conns).await.is_err(), "a closed pool gives no connection");
    }

    /// With every connection busy, a read waits; a connection kept by
    /// another read reaches it (the pool never sees it come back).
    #[tokio::test]
    async fn a_waiting_read_gets_a_connection_kept_by_another() {
        let conns = conns(1, true).await;
        let mut first = ReadConnection::take(&conns).await.expect("a connection");
        read(&mut first).await;
        let waiter = async {
            let mut c = ReadConnection::take(&conns).await.expect("the kept connection, not a pool timeout");
            read(&mut c).await;
            c.finish();
        };
        let finisher = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            first.finish();
        };
        tokio::time::timeout(Duration::from_secs(5), async { tokio::join!(waiter, finisher) })
            .await
            .expect("the waiting read got the connection well before the pool's 10 s timeout");
        assert_eq!(conns.kept(), 1);
    }
}
