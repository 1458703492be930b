//! MySQL and MariaDB backend for restgate.
//!
//! [`MySqlBackend`] serves the tables and views of one database (the one
//! the URL names: it is the schema) of a MariaDB 10.6+ or MySQL 8 server
//! through a sqlx pool. Rows are built as JSON by the server (on MariaDB
//! a `CONCAT` of JSON texts, arrays joined with `GROUP_CONCAT`; on MySQL
//! `JSON_OBJECT` and `JSON_ARRAYAGG`) and streamed as text, one row at a
//! time.
//! Neither server has RETURNING for every write, so writes read their rows
//! back by primary key inside the same transaction.
//!
//! Every connection [`connect`](MySqlBackend::connect) opens runs with
//! `time_zone = '+00:00'`, a strict `sql_mode` (bad values are errors, not
//! warnings; `ANSI_QUOTES` off) and `group_concat_max_len` at 1 GiB, above
//! any `max_allowed_packet` (MariaDB builds embedded arrays with
//! `GROUP_CONCAT`, which cuts its result at that length).
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use restgate_core::RestGate;
//! use restgate_mysql::MySqlOptions;
//!
//! let backend = MySqlOptions::new()
//!     .pool_size(16)
//!     .statement_timeout(std::time::Duration::from_secs(10))
//!     .connect("mysql://app@localhost/app")
//!     .await?;
//! let gate = RestGate::builder().backend(backend).build().await?;
//! # let _ = gate; Ok(()) }
//! ```
//!
//! # Counts
//!
//! `Prefer: count=exact` runs `COUNT(*)` in the same consistent-snapshot,
//! read-only transaction as the rows. `count=planned` and
//! `count=estimated` are exact counts too.

mod introspect;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use restgate_core::backend::{Backend, JsonRows, ReadOutput, ReadQuery, WriteTx};
use restgate_core::catalog::Catalog;
use restgate_core::error::{BackendError, BackendErrorKind};
use restgate_core::request::CountPref;
use restgate_core::sql::{Dialect, MySql8Dialect, MySqlDialect, Statement};
use restgate_sqlx::{Connections, ReadConnection, WriteTransaction};
use sea_query_sqlx::SqlxValues;
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::{AssertSqlSafe, Executor, MySql, Row};

pub use sqlx::mysql::MySqlPool as Pool;

/// The session settings every connection gets. `group_concat_max_len`:
/// MariaDB's embedded arrays are `GROUP_CONCAT`s, cut (with a warning
/// only) at this many bytes or at `max_allowed_packet`, whichever is
/// lower; 1 GiB is the largest `max_allowed_packet`, so only that limit
/// is left, where the cut text is NULL and the read fails (see
/// [`push_row`]). The MariaDB dialect refuses to build arrays where it is
/// lower than `max_allowed_packet` (a pool from
/// [`MySqlBackend::from_pool`] without the setting).
const SESSION: &str =
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', \
     time_zone = '+00:00', group_concat_max_len = 1073741824";

/// How [`MySqlOptions::connect`] opens the pool.
#[derive(Debug, Clone)]
pub struct MySqlOptions {
    pool_size: u32,
    acquire_timeout: Duration,
    statement_timeout: Option<Duration>,
}

impl Default for MySqlOptions {
    fn default() -> Self {
        MySqlOptions { pool_size: 10, acquire_timeout: Duration::from_secs(5), statement_timeout: None }
    }
}

impl MySqlOptions {
    /// The defaults: 10 connections, a 5 s acquire timeout, no statement timeout.
    pub fn new() -> Self {
        Self::default()
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

    /// A statement timeout for every connection: MariaDB's
    /// `max_statement_time`, or MySQL's `max_execution_time` (which MySQL
    /// applies to SELECTs only). A statement running longer fails: 504.
    /// Reading the catalog (at start and on reload) is not bounded by it.
    pub fn statement_timeout(mut self, d: Duration) -> Self {
        self.statement_timeout = Some(d);
        self
    }

    /// The connection options for `url` (`mysql://user:pass@host:3306/db`).
    pub fn connect_options(&self, url: &str) -> Result<MySqlConnectOptions, sqlx::Error> {
        Ok(MySqlConnectOptions::from_str(url)?.timezone(Some("+00:00".to_owned())).pipes_as_concat(false))
    }

    /// Opens the pool, detects the server (MariaDB or MySQL) and builds the backend.
    pub async fn connect(self, url: &str) -> Result<MySqlBackend, sqlx::Error> {
        let opts = self.connect_options(url)?;
        let timeout = self.statement_timeout;
        let pool = MySqlPoolOptions::new()
            .max_connections(self.pool_size)
            .acquire_timeout(self.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    conn.execute(SESSION).await?;
                    if let Some(t) = timeout {
                        let secs = format!("{:.3}", t.as_secs_f64().max(0.001));
                        let mariadb = format!("SET SESSION max_statement_time = {secs}");
                        if conn.execute(AssertSqlSafe(mariadb)).await.is_err() {
                            let mysql = format!("SET SESSION max_execution_time = {}", t.as_millis().max(1));
                            conn.execute(AssertSqlSafe(mysql)).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        // The pool is the backend's own: it keeps connections between reads.
        MySqlBackend::new(pool, true).await
    }
}

/// A restgate backend over a MySQL or MariaDB database.
#[derive(Debug, Clone)]
pub struct MySqlBackend {
    conns: Connections<MySql>,
    mariadb: bool,
}

impl MySqlBackend {
    /// Opens `url` (`mysql://user@host:3306/db`) with the default [`MySqlOptions`].
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        MySqlOptions::new().connect(url).await
    }

    /// The options builder ([`MySqlOptions::new`]).
    pub fn options() -> MySqlOptions {
        MySqlOptions::new()
    }

    /// Serves an existing pool; asks the server whether it is MariaDB or
    /// MySQL. Its connections must read results as utf8mb4 (sqlx's default
    /// charset; another one is refused here), and should use a database (the served schema),
    /// `time_zone = '+00:00'`, a strict `sql_mode` without `ANSI_QUOTES`
    /// and, on MariaDB, a `group_concat_max_len` of at least
    /// `max_allowed_packet` (see the crate docs): reads with a to-many
    /// embed fail (500) on a connection with less.
    ///
    /// The pool may be shared with the application: a backend made this way
    /// gives every connection back to it after each statement, where one
    /// opened by [`MySqlOptions::connect`] keeps connections between reads
    /// (see [`Connections`]).
    pub async fn from_pool(pool: MySqlPool) -> Result<Self, sqlx::Error> {
        MySqlBackend::new(pool, false).await
    }

    async fn new(pool: MySqlPool, keep: bool) -> Result<Self, sqlx::Error> {
        let (version, results): (String, Option<String>) =
            sqlx::query_as("SELECT VERSION(), @@character_set_results").fetch_one(&pool).await?;
        // Strings come with their utf8mb4 byte length (`JsonRows::push_prefixed`):
        // results converted to another character set would not match it.
        if let Some(cs) = results.filter(|cs| !matches!(cs.as_str(), "utf8mb4" | "binary")) {
            return Err(sqlx::Error::Configuration(
                format!("restgate needs the pool's connections to read results as utf8mb4 (character_set_results is {cs})").into(),
            ));
        }
        Ok(MySqlBackend { conns: Connections::new(pool, classify, keep), mariadb: version.to_ascii_lowercase().contains("mariadb") })
    }

    /// The pool. A backend opened by `connect` keeps connections between
    /// reads, out of the pool's idle set: the application's own queries
    /// belong on a pool of their own, or on one given to `from_pool`.
    pub fn pool(&self) -> &MySqlPool {
        self.conns.pool()
    }

    /// Whether the server is MariaDB (otherwise MySQL).
    pub fn is_mariadb(&self) -> bool {
        self.mariadb
    }
}

fn query(stmt: &Statement) -> sqlx::query::Query<'static, MySql, SqlxValues> {
    sqlx::query_with(AssertSqlSafe(stmt.sql.clone()), SqlxValues(stmt.values.clone()))
}

/// Classifies a driver error by MySQL error number and SQLSTATE.
pub(crate) fn classify(e: sqlx::Error) -> BackendError {
    use BackendErrorKind as K;
    let (kind, code) = match &e {
        sqlx::Error::Database(db) => {
            let state = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let number = db.try_downcast_ref::<MySqlDatabaseError>().map(MySqlDatabaseError::number).unwrap_or(0);
            let (kind, code): (K, Option<&str>) = match number {
                1062 | 1586 | 1022 => (K::UniqueViolation, None),
                1451 | 1452 | 1216 | 1217 => (K::ForeignKeyViolation, None),
                1048 | 1364 | 1263 => (K::NotNullViolation, None),
                3819 | 4025 => (K::CheckViolation, None),
                // 1416: MySQL, a geometry of another type than the column's (MariaDB says 1366).
                1366 | 1265 | 1411 | 1367 | 1416 | 3140 | 4038 => (K::InvalidValue, Some("22P02")),
                1292 => (K::InvalidValue, Some("22007")),
                1264 | 1690 => (K::InvalidValue, Some("22003")),
                1406 => (K::InvalidValue, Some("22001")),
                1365 => (K::InvalidValue, Some("22012")),
                // Invalid regular expressions: MariaDB's PCRE (1139), MySQL's ICU (3685-3699).
                1139 | 3685..=3699 => (K::InvalidValue, Some("2201B")),
                // GeoJSON a spatial column cannot take: MariaDB's malformed
                // (4048) or empty (4076) documents, MySQL's (3072-3075), and
                // a geometry in another SRID than the column's (3643).
                4048 | 4076 | 3072..=3075 | 3643 => (K::InvalidValue, Some("22023")),
                1213 | 1205 => (K::Serialization, None),
                // Statement timeouts and interrupted statements: PostgreSQL's code.
                1969 | 3024 | 1317 => (K::Timeout, Some("57014")),
                1036 | 1288 | 1471 | 1792 => (K::ReadOnly, None),
                1040 | 1053 | 1043 | 1129 | 1130 | 1203 => (K::Unavailable, None),
                _ if state.starts_with("22") => (K::InvalidValue, None),
                _ if state.starts_with("08") => (K::Unavailable, None),
                _ => (K::Other, None),
            };
            (kind, code.map(str::to_owned).or_else(|| Some(state).filter(|c| c.len() == 5 && c != "HY000" && c != "23000")))
        }
        sqlx::Error::PoolTimedOut => (K::Timeout, None),
        sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => (K::Unavailable, None),
        _ => (K::Other, None),
    };
    BackendError::new(kind, code, e.to_string())
}

/// A row holds one JSON object (neither MySQL dialect joins a read's rows
/// into one text), its strings written with their lengths, unescaped:
/// copied into the body with those strings escaped
/// ([`JsonRows::push_prefixed`]).
///
/// A NULL row or one holding a NUL byte outside its strings is text the
/// server cut: a `CONCAT` longer than `max_allowed_packet` is NULL, and
/// the dialects mark an embedded object or array that is with a NUL, as
/// they do every array where `group_concat_max_len` is below
/// `max_allowed_packet`. The read fails rather than serve a body without
/// the row, with `null` for the object or with a shorter array.
fn push_row(rows: &mut JsonRows, row: &MySqlRow) -> Result<(), BackendError> {
    match row.try_get_unchecked::<Option<&[u8]>, _>(0).map_err(classify)? {
        Some(bytes) if rows.push_prefixed(bytes).is_ok() => Ok(()),
        _ => Err(BackendError::new(
            BackendErrorKind::Other,
            Some("54000".to_owned()),
            "the server cut a row's JSON text: a row or an embedded array is longer than max_allowed_packet, \
             or group_concat_max_len is lower than max_allowed_packet",
        )),
    }
}

async fn fetch_rows<'e, E>(exec: E, stmt: &Statement) -> Result<JsonRows, BackendError>
where
    E: sqlx::Executor<'e, Database = MySql>,
{
    let mut rows = JsonRows::new();
    let mut stream = query(stmt).fetch(exec);
    while let Some(row) = stream.try_next().await.map_err(classify)? {
        push_row(&mut rows, &row)?;
    }
    Ok(rows)
}

async fn fetch_count<'e, E>(exec: E, stmt: &Statement) -> Result<u64, BackendError>
where
    E: sqlx::Executor<'e, Database = MySql>,
{
    let row = query(stmt).fetch_one(exec).await.map_err(classify)?;
    // COUNT(*) is BIGINT, LAST_INSERT_ID() BIGINT UNSIGNED.
    let n = match row.try_get::<i64, _>(0) {
        Ok(n) => n.max(0) as u64,
        Err(_) => row.try_get::<u64, _>(0).map_err(classify)?,
    };
    Ok(n)
}

#[async_trait]
impl Backend for MySqlBackend {
    fn dialect(&self) -> &'static dyn Dialect {
        if self.mariadb {
            &MySqlDialect
        } else {
            &MySql8Dialect
        }
    }

    async fn introspect(&self) -> Result<Catalog, BackendError> {
        introspect::catalog(&self.conns, self.mariadb).await
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
        // One snapshot for the rows and the count.
        let mut tx = self.conns.begin(Some("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")).await?;
        let total = match q.count_kind {
            Some(CountPref::Planned) => match planned_count(&mut tx, count, self.mariadb).await? {
                Some(estimate) => estimate,
                None => fetch_count(&mut *tx, count).await?,
            },
            Some(CountPref::Estimated) => match planned_count(&mut tx, count, self.mariadb).await? {
                Some(estimate) if estimate >= EXACT_COUNT_BELOW => estimate,
                _ => fetch_count(&mut *tx, count).await?,
            },
            _ => fetch_count(&mut *tx, count).await?,
        };
        let rows = fetch_rows(&mut *tx, &q.rows).await?;
        tx.commit().await.map_err(classify)?;
        Ok(ReadOutput { rows, total: Some(total) })
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>, BackendError> {
        let tx = self.conns.begin(None).await?;
        Ok(Box::new(MySqlTx { tx }))
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

/// `count=estimated` counts exactly below this many estimated rows.
const EXACT_COUNT_BELOW: u64 = 1000;

/// The optimizer's row estimate for the counted scan (the `rows` column of
/// `EXPLAIN`'s table; the largest when several tables are read). `None`
/// when the server gives none (e.g. "Select tables optimized away").
/// MySQL asks for the table by name: its default format may be a tree
/// (`explain_format`, MySQL 8.3+); MariaDB knows no such option.
async fn planned_count(conn: &mut sqlx::MySqlConnection, stmt: &Statement, mariadb: bool) -> Result<Option<u64>, BackendError> {
    let explain = if mariadb { "EXPLAIN" } else { "EXPLAIN FORMAT=TRADITIONAL" };
    let explain = Statement { sql: format!("{explain} {}", stmt.sql), values: stmt.values.clone() };
    let rows = query(&explain).fetch_all(&mut *conn).await.map_err(classify)?;
    let mut estimate: Option<u64> = None;
    for row in rows {
        // MariaDB reports `rows` as text, MySQL as an integer (unsigned on 9.x).
        let n = match row.try_get::<Option<String>, _>("rows") {
            Ok(text) => text.and_then(|t| t.trim().parse::<u64>().ok()),
            Err(_) => match row.try_get::<Option<u64>, _>("rows") {
                Ok(n) => n,
                Err(_) => row.try_get::<Option<i64>, _>("rows").map_err(classify)?.map(|n| n.max(0) as u64),
            },
        };
        if let Some(n) = n {
            estimate = Some(estimate.map_or(n, |e| e.max(n)));
        }
    }
    Ok(estimate)
}

struct MySqlTx {
    tx: WriteTransaction<MySql>,
}

#[async_trait]
impl WriteTx for MySqlTx {
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
