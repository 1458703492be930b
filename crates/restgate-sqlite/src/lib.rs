//! SQLite backend for restgate.
//!
//! [`SqliteBackend`] serves a SQLite database (3.38 or newer; the bundled
//! library is used) through a sqlx pool. Rows are built as JSON by SQLite's
//! `json_object` and streamed as text; writes run in `BEGIN IMMEDIATE`
//! transactions, so concurrent writers queue instead of failing.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use restgate_core::RestGate;
//! use restgate_sqlite::SqliteBackend;
//!
//! let backend = SqliteBackend::connect("sqlite:///tmp/app.db").await?;
//! let gate = RestGate::builder().backend(backend).build().await?;
//! # let _ = gate; Ok(()) }
//! ```

mod introspect;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use restgate_core::backend::{Backend, JsonRows, ReadOutput, ReadQuery, WriteTx};
use restgate_core::catalog::Catalog;
use restgate_core::error::{BackendError, BackendErrorKind};
use restgate_core::sql::{Dialect, SqliteDialect, Statement};
use sea_query_sqlx::SqlxValues;
use sqlx::error::ErrorKind;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{AssertSqlSafe, Row, Sqlite, Transaction};

pub use sqlx::sqlite::SqlitePool as Pool;

/// A restgate backend over a SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    pool: SqlitePool,
    /// SQLite has one writer at a time: writers of this process queue here,
    /// in order, instead of polling the database lock with busy-timeout sleeps.
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteBackend {
    /// Opens `url` (`sqlite:///abs/path.db`, `sqlite://relative.db`,
    /// `sqlite::memory:`) with foreign keys on, WAL journaling, a 5 s busy
    /// timeout, REGEXP support and stable query plans ([`stable_plans`]).
    /// The file must exist.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let opts = Self::options(url)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            // An in-process connection does not go away: no ping (a round
            // trip through the connection's worker thread) before each use.
            .test_before_acquire(false)
            .after_connect(|conn, _| Box::pin(async move { stable_plans(conn).await }))
            .connect_with(opts)
            .await?;
        Ok(Self::from_pool(pool))
    }

    /// The connection options [`connect`](Self::connect) uses, for building your own pool.
    pub fn options(url: &str) -> Result<SqliteConnectOptions, sqlx::Error> {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut opts = SqliteConnectOptions::from_str(url)?.foreign_keys(true).busy_timeout(Duration::from_secs(5)).with_regexp();
        if !memory {
            opts = opts.journal_mode(SqliteJournalMode::Wal);
        }
        Ok(opts)
    }

    /// Serves an existing pool. Its connections must have been opened with
    /// REGEXP support (see [`options`](Self::options)) for `match`/`imatch`;
    /// call [`stable_plans`] on each (`after_connect`) for the speed
    /// [`connect`](Self::connect) gets.
    pub fn from_pool(pool: SqlitePool) -> Self {
        SqliteBackend { pool, writer: Arc::new(tokio::sync::Mutex::new(())) }
    }

    /// The pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Turns on SQLite's query planner stability guarantee for `conn`.
///
/// Without it SQLite marks a prepared statement expired whenever a bound
/// value that its planner looked at (an indexed column's comparison value,
/// a LIMIT) is bound again, and compiles the SQL anew on every execution.
/// With it, plans do not depend on bound values, so sqlx's cached prepared
/// statements are reused as they are.
pub async fn stable_plans(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the open connection's handle, exclusively ours while
    // `handle` is locked; SQLITE_DBCONFIG_ENABLE_QPSG takes an int (1 = on)
    // and an optional int* for the new setting, for which we pass NULL.
    #[allow(unsafe_code)]
    let rc =
        unsafe { libsqlite3_sys::sqlite3_db_config(db, libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG, 1i32, std::ptr::null_mut::<i32>()) };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err(sqlx::Error::Configuration(format!("sqlite3_db_config(ENABLE_QPSG) failed with code {rc}").into()));
    }
    Ok(())
}

fn query(stmt: &Statement) -> sqlx::query::Query<'static, Sqlite, SqlxValues> {
    sqlx::query_with(AssertSqlSafe(stmt.sql.clone()), SqlxValues(stmt.values.clone()))
}

/// SQLite's extended result code for an error raised by a function (REGEXP with a bad pattern).
const SQLITE_CONSTRAINT_FUNCTION: &str = "1043";

/// Classifies a driver error.
pub(crate) fn classify(e: sqlx::Error) -> BackendError {
    let kind = match &e {
        sqlx::Error::Database(db) => match db.kind() {
            ErrorKind::UniqueViolation => BackendErrorKind::UniqueViolation,
            ErrorKind::ForeignKeyViolation => BackendErrorKind::ForeignKeyViolation,
            ErrorKind::NotNullViolation => BackendErrorKind::NotNullViolation,
            ErrorKind::CheckViolation => BackendErrorKind::CheckViolation,
            _ => match db.code().as_deref() {
                Some(SQLITE_CONSTRAINT_FUNCTION) => {
                    return BackendError::new(BackendErrorKind::InvalidValue, Some("2201B".into()), db.message().to_owned())
                }
                Some("5" | "6" | "261" | "517") => BackendErrorKind::Serialization,
                Some("20") => BackendErrorKind::InvalidValue,
                Some("8") => BackendErrorKind::ReadOnly,
                _ if db.message().contains("malformed JSON") => {
                    return BackendError::new(BackendErrorKind::InvalidValue, Some("22P02".into()), db.message().to_owned())
                }
                _ => BackendErrorKind::Other,
            },
        },
        sqlx::Error::PoolTimedOut => BackendErrorKind::Timeout,
        sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => BackendErrorKind::Unavailable,
        _ => BackendErrorKind::Other,
    };
    let code = match &e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    BackendError::new(kind, code, e.to_string())
}

/// A row holds one JSON object, or the objects of a whole read joined with
/// commas (NULL when there were none) and their count.
fn push_row(rows: &mut JsonRows, row: &SqliteRow) -> Result<(), sqlx::Error> {
    if let Some(text) = row.try_get::<Option<&str>, _>(0)? {
        if row.len() > 1 {
            let count: i64 = row.try_get(1)?;
            rows.push_counted(text.as_bytes(), usize::try_from(count).unwrap_or(0));
        } else {
            rows.push_joined(text.as_bytes());
        }
    }
    Ok(())
}

async fn fetch_rows<'e, E>(exec: E, stmt: &Statement) -> Result<JsonRows, BackendError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let mut rows = JsonRows::new();
    let mut stream = query(stmt).fetch(exec);
    while let Some(row) = stream.try_next().await.map_err(classify)? {
        push_row(&mut rows, &row).map_err(classify)?;
    }
    Ok(rows)
}

async fn fetch_count<'e, E>(exec: E, stmt: &Statement) -> Result<u64, BackendError>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    let row = query(stmt).fetch_one(exec).await.map_err(classify)?;
    let n: i64 = row.try_get(0).map_err(classify)?;
    Ok(n.max(0) as u64)
}

#[async_trait]
impl Backend for SqliteBackend {
    fn dialect(&self) -> &'static dyn Dialect {
        &SqliteDialect
    }

    async fn introspect(&self) -> Result<Catalog, BackendError> {
        introspect::catalog(&self.pool).await
    }

    async fn read(&self, q: &ReadQuery) -> Result<ReadOutput, BackendError> {
        match &q.count {
            None => Ok(ReadOutput { rows: fetch_rows(&self.pool, &q.rows).await?, total: None }),
            Some(count) => {
                // One snapshot for both (SQLite has no planner estimate: every count is exact).
                let mut tx = self.pool.begin().await.map_err(classify)?;
                let total = fetch_count(&mut *tx, count).await?;
                let rows = fetch_rows(&mut *tx, &q.rows).await?;
                tx.commit().await.map_err(classify)?;
                Ok(ReadOutput { rows, total: Some(total) })
            }
        }
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>, BackendError> {
        let turn = Arc::clone(&self.writer).lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(classify)?;
        Ok(Box::new(SqliteTx { tx, _turn: turn }))
    }

    async fn write_one(&self, stmt: &Statement, rows: bool) -> Result<(JsonRows, u64), BackendError> {
        // One statement in autocommit: atomic, and two round trips shorter.
        let _turn = self.writer.lock().await;
        let mut conn = self.pool.acquire().await.map_err(classify)?;
        if rows {
            let rows = fetch_rows(&mut *conn, stmt).await?;
            let n = rows.len() as u64;
            Ok((rows, n))
        } else {
            Ok((JsonRows::new(), query(stmt).execute(&mut *conn).await.map_err(classify)?.rows_affected()))
        }
    }
}

struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    /// Held until the transaction ends (commit, rollback or drop).
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

#[async_trait]
impl WriteTx for SqliteTx {
    async fn fetch_rows(&mut self, stmt: &Statement) -> Result<JsonRows, BackendError> {
        fetch_rows(&mut *self.tx, stmt).await
    }
    async fn fetch_count(&mut self, stmt: &Statement) -> Result<u64, BackendError> {
        fetch_count(&mut *self.tx, stmt).await
    }
    async fn execute(&mut self, stmt: &Statement) -> Result<u64, BackendError> {
        Ok(query(stmt).execute(&mut *self.tx).await.map_err(classify)?.rows_affected())
    }
    async fn commit(self: Box<Self>) -> Result<(), BackendError> {
        self.tx.commit().await.map_err(classify)
    }
    async fn rollback(self: Box<Self>) -> Result<(), BackendError> {
        self.tx.rollback().await.map_err(classify)
    }
}
