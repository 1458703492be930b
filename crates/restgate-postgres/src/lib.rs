//! PostgreSQL backend for restgate.
//!
//! [`PgBackend`] serves the tables and views of one or more schemas of a
//! PostgreSQL (13 or newer) database through a sqlx pool. Rows are built
//! as JSON text by PostgreSQL (each value through `to_json`, as
//! `row_to_json` renders it), joined with `string_agg` and streamed as
//! text; writes run in ordinary transactions.
//!
//! Every connection [`connect`](PgBackend::connect) opens runs with
//! `TimeZone = 'UTC'`, so `timestamptz` values render as `…+00:00`.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use restgate_core::RestGate;
//! use restgate_postgres::{PgBackend, PgOptions};
//!
//! let backend = PgOptions::new()
//!     .schemas(["api", "public"])
//!     .pool_size(16)
//!     .statement_timeout(std::time::Duration::from_secs(10))
//!     .connect("postgres://app@localhost/app")
//!     .await?;
//! let gate = RestGate::builder().backend(backend).build().await?;
//! # let _ = gate; Ok(()) }
//! ```
//!
//! # Counts
//!
//! `Prefer: count=exact` runs `count(*)` in the same `REPEATABLE READ, READ
//! ONLY` transaction as the rows. `count=planned` is the planner's estimate
//! (`EXPLAIN (FORMAT JSON)`, the "Plan Rows" of the counted select);
//! `count=estimated` is the exact count when that estimate is below
//! [`EXACT_COUNT_BELOW`], and the estimate otherwise.

mod introspect;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use restgate_core::backend::{Backend, JsonRows, ReadOutput, ReadQuery, WriteTx};
use restgate_core::catalog::Catalog;
use restgate_core::error::{BackendError, BackendErrorKind};
use restgate_core::request::CountPref;
use restgate_core::sql::{Dialect, PostgresDialect, Statement};
use restgate_sqlx::{Connections, ReadConnection, WriteTransaction};
use sea_query_sqlx::SqlxValues;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Postgres, Row, ValueRef};

pub use sqlx::postgres::PgPool as Pool;

/// With `count=estimated`, estimates below this are replaced by an exact count.
pub const EXACT_COUNT_BELOW: u64 = 1000;

/// How [`PgOptions::connect`] opens the pool and what it serves.
#[derive(Debug, Clone)]
pub struct PgOptions {
    schemas: Vec<String>,
    pool_size: u32,
    acquire_timeout: Duration,
    statement_timeout: Option<Duration>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions { schemas: vec!["public".to_owned()], pool_size: 10, acquire_timeout: Duration::from_secs(5), statement_timeout: None }
    }
}

impl PgOptions {
    /// The defaults: schema `public`, 10 connections, a 5 s acquire timeout,
    /// no statement timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// The exposed schemas; the first is the default one (served without a
    /// profile header). An empty list keeps the previous value.
    pub fn schemas<I, S>(mut self, schemas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let s: Vec<String> = schemas.into_iter().map(Into::into).collect();
        if !s.is_empty() {
            self.schemas = s;
        }
        self
    }

    /// The maximum number of pooled connections.
    pub fn pool_size(mut self, n: u32) -> Self {
        self.pool_size = n.max(1);
        self
    }

    /// How long a request waits for a free connection (then 504).
    pub fn acquire_timeout(mut self, d: Duration) -> Self {
        self.acquire_timeout = d;
        self
    }

    /// PostgreSQL's `statement_timeout` for every connection (a statement
    /// running longer is cancelled: 504). Reading the catalog (at start and
    /// on reload) is not bounded by it.
    pub fn statement_timeout(mut self, d: Duration) -> Self {
        self.statement_timeout = Some(d);
        self
    }

    /// The connection options for `url` with the session settings restgate
    /// needs (`TimeZone = UTC`, and the statement timeout when set).
    pub fn connect_options(&self, url: &str) -> Result<PgConnectOptions, sqlx::Error> {
        let mut settings = vec![("TimeZone".to_owned(), "UTC".to_owned())];
        if let Some(t) = self.statement_timeout {
            settings.push(("statement_timeout".to_owned(), t.as_millis().max(1).to_string()));
        }
        Ok(PgConnectOptions::from_str(url)?.options(settings))
    }

    /// Opens the pool and builds the backend.
    pub async fn connect(self, url: &str) -> Result<PgBackend, sqlx::Error> {
        let opts = self.connect_options(url)?;
        let pool = PgPoolOptions::new().max_connections(self.pool_size).acquire_timeout(self.acquire_timeout).connect_with(opts).await?;
        // The pool is the backend's own: it keeps connections between reads.
        Ok(PgBackend::new(pool, self.schemas, true))
    }
}

/// A restgate backend over a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgBackend {
    conns: Connections<Postgres>,
    schemas: Vec<String>,
}

impl PgBackend {
    /// Opens `url` (`postgres://user@host:5432/db`) with the default
    /// [`PgOptions`]: schema `public`, 10 connections.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        PgOptions::new().connect(url).await
    }

    /// The options builder ([`PgOptions::new`]).
    pub fn options() -> PgOptions {
        PgOptions::new()
    }

    /// Serves an existing pool, exposing `schemas` (the first is the
    /// default; empty means `public`). Its connections should run with
    /// `TimeZone = 'UTC'` (see [`PgOptions::connect_options`]), or
    /// `timestamptz` values render in the session's time zone.
    ///
    /// The pool may be shared with the application: a backend made this way
    /// gives every connection back to it after each statement, where one
    /// opened by [`PgOptions::connect`] keeps connections between reads
    /// (see [`Connections`]).
    pub fn from_pool(pool: PgPool, schemas: Vec<String>) -> Self {
        PgBackend::new(pool, schemas, false)
    }

    fn new(pool: PgPool, schemas: Vec<String>, keep: bool) -> Self {
        let schemas = if schemas.is_empty() { vec!["public".to_owned()] } else { schemas };
        PgBackend { conns: Connections::new(pool, classify, keep), schemas }
    }

    /// The pool. A backend opened by `connect` keeps connections between
    /// reads, out of the pool's idle set: the application's own queries
    /// belong on a pool of their own, or on one given to `from_pool`.
    pub fn pool(&self) -> &PgPool {
        self.conns.pool()
    }

    /// The exposed schemas, default first.
    pub fn schemas(&self) -> &[String] {
        &self.schemas
    }
}

fn query(stmt: &Statement) -> sqlx::query::Query<'static, Postgres, SqlxValues> {
    sqlx::query_with(AssertSqlSafe(stmt.sql.clone()), SqlxValues(stmt.values.clone()))
}

/// Classifies a driver error by SQLSTATE.
pub(crate) fn classify(e: sqlx::Error) -> BackendError {
    use BackendErrorKind as K;
    let (kind, code) = match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let kind = match code.as_str() {
                "23505" => K::UniqueViolation,
                "23503" => K::ForeignKeyViolation,
                "23502" => K::NotNullViolation,
                "23514" => K::CheckViolation,
                "40001" | "40P01" => K::Serialization,
                "57014" => K::Timeout,
                "25006" => K::ReadOnly,
                // 42804 (`is.true` on a non-boolean), 42883 (`like` on a number): the request's fault.
                "42P10" | "42704" | "42804" | "42883" => K::InvalidValue,
                c if c.starts_with("22") => K::InvalidValue,
                c if c.starts_with("08") || c == "57P01" || c == "57P02" || c == "57P03" || c == "53300" => K::Unavailable,
                _ => K::Other,
            };
            (kind, Some(code).filter(|c| !c.is_empty()))
        }
        sqlx::Error::PoolTimedOut => (K::Timeout, None),
        sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => (K::Unavailable, None),
        _ => (K::Other, None),
    };
    BackendError::new(kind, code, e.to_string())
}

/// A row holds one JSON object (`json`), or the objects of a whole read
/// joined with commas (`text`, NULL when there were none) and their count.
/// Both arrive as their UTF-8 text, which is appended as it is.
fn push_row(rows: &mut JsonRows, row: &PgRow) -> Result<(), sqlx::Error> {
    let raw = row.try_get_raw(0)?;
    if raw.is_null() {
        return Ok(());
    }
    let bytes = raw.as_bytes().map_err(sqlx::Error::Decode)?;
    if row.len() > 1 {
        let count: i64 = row.try_get(1)?;
        rows.push_counted(bytes, usize::try_from(count).unwrap_or(0));
    } else {
        rows.push_joined(bytes);
    }
    Ok(())
}

async fn fetch_rows<'e, E>(exec: E, stmt: &Statement) -> Result<JsonRows, BackendError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
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
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let row = query(stmt).fetch_one(exec).await.map_err(classify)?;
    let n: i64 = row.try_get(0).map_err(classify)?;
    Ok(n.max(0) as u64)
}

/// The planner's row estimate of the select a count statement counts.
async fn planned_count(conn: &mut sqlx::PgConnection, stmt: &Statement) -> Result<u64, BackendError> {
    let explain = Statement { sql: format!("EXPLAIN (FORMAT JSON) {}", stmt.sql), values: stmt.values.clone() };
    let row = query(&explain).fetch_one(&mut *conn).await.map_err(classify)?;
    let plan: sqlx::types::Json<serde_json::Value> = row.try_get(0).map_err(classify)?;
    let top = &plan.0[0]["Plan"];
    // `SELECT count(*) FROM …` is an Aggregate over the counted scan.
    let counted = match top["Plans"].get(0) {
        Some(child) if top["Node Type"] == "Aggregate" => child,
        _ => top,
    };
    Ok(counted["Plan Rows"].as_f64().unwrap_or(0.0).max(0.0).round() as u64)
}

impl PgBackend {
    /// The rows and the total count in one snapshot.
    async fn read_counted(&self, q: &ReadQuery, count: &Statement) -> Result<ReadOutput, BackendError> {
        let mut tx = self.conns.begin(Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")).await?;
        let total = match q.count_kind.unwrap_or(CountPref::Exact) {
            CountPref::Exact => fetch_count(&mut *tx, count).await?,
            CountPref::Planned => planned_count(&mut tx, count).await?,
            CountPref::Estimated => {
                let estimate = planned_count(&mut tx, count).await?;
                if estimate < EXACT_COUNT_BELOW {
                    fetch_count(&mut *tx, count).await?
                } else {
                    estimate
                }
            }
        };
        let rows = fetch_rows(&mut *tx, &q.rows).await?;
        tx.commit().await.map_err(classify)?;
        Ok(ReadOutput { rows, total: Some(total) })
    }
}

#[async_trait]
impl Backend for PgBackend {
    fn dialect(&self) -> &'static dyn Dialect {
        &PostgresDialect
    }

    async fn introspect(&self) -> Result<Catalog, BackendError> {
        introspect::catalog(&self.conns, &self.schemas).await
    }

    async fn read(&self, q: &ReadQuery) -> Result<ReadOutput, BackendError> {
        let Some(count) = &q.count else {
            // A connection without a ping (kept by an earlier read when it
            // can be), another when the server dropped it.
            let mut c = ReadConnection::take(&self.conns).await?;
            loop {
                match fetch_rows(c.conn(), &q.rows).await {
                    Err(e) => c.retry(e).await?,
                    Ok(rows) => {
                        c.finish();
                        return Ok(ReadOutput { rows, total: None });
                    }
                }
            }
        };
        // Boxed on its own: the transaction's futures are large, and the
        // whole of this one is moved to the heap on every read.
        Box::pin(self.read_counted(q, count)).await
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>, BackendError> {
        let tx = self.conns.begin(None).await?;
        Ok(Box::new(PgTx { tx }))
    }

    async fn write_one(&self, stmt: &Statement, rows: bool) -> Result<(JsonRows, u64), BackendError> {
        // One statement in autocommit is atomic by itself.
        let mut conn = self.conns.write().await?;
        if rows {
            let rows = fetch_rows(&mut *conn, stmt).await?;
            let n = rows.len() as u64;
            Ok((rows, n))
        } else {
            Ok((JsonRows::new(), query(stmt).execute(&mut *conn).await.map_err(classify)?.rows_affected()))
        }
    }
}

struct PgTx {
    tx: WriteTransaction<Postgres>,
}

#[async_trait]
impl WriteTx for PgTx {
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
