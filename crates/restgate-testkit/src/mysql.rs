//! The MySQL/MariaDB harness: a fresh database per test case.
//!
//! Each case connects to `RESTGATE_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/test`), creates the database
//! `rg_<pid>_<n>` (`utf8mb4_bin`, so text compares case-sensitively as on
//! PostgreSQL), loads the fixture into it and serves only that database.
//! The database is dropped when the [`TestGate`] is dropped.
//!
//! Teardown does not hang on a connection that still holds a metadata
//! lock (a test that failed with a transaction open): the connections
//! using the database are killed first (found in
//! `information_schema.PROCESSLIST`), `DROP DATABASE` runs with a short
//! `lock_wait_timeout` (and is retried a few times), and the whole
//! teardown has a deadline.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use restgate_core::RestGate;
use restgate_mysql::{MySqlBackend, MySqlOptions};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlPool};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};

use crate::{Configure, Harness, TestGate};

/// The conformance fixture in MySQL's SQL.
pub const FIXTURE: &str = include_str!("../fixtures/mysql.sql");

/// The server the suite uses unless `RESTGATE_MYSQL_URL` says otherwise.
pub const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// The longest a teardown may take before it gives up (with a message).
const TEARDOWN_DEADLINE: Duration = Duration::from_secs(60);

/// The database URL of the suite.
pub fn url() -> String {
    std::env::var("RESTGATE_MYSQL_URL").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> Option<String> {
    let opts = MySqlConnectOptions::from_str(url).ok()?.database(db);
    Some(opts.to_url_lossy().to_string())
}

/// Runs the suite on MySQL or MariaDB, each case in its own database.
#[derive(Debug, Default, Clone, Copy)]
pub struct MySqlHarness;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A fresh database `rg_<pid>_<n>` with the fixture loaded, for one test.
///
/// Dropping it closes the [tracked](Self::track) pools, kills the
/// connections using the database, and drops it.
#[derive(Debug)]
pub struct MySqlTestDatabase {
    url: String,
    db: String,
    pools: Vec<MySqlPool>,
}

impl MySqlTestDatabase {
    /// Creates the database on the suite's server and loads the fixture
    /// into it. `None` when the server is unreachable.
    pub async fn create() -> Option<Self> {
        let url = url();
        let mut conn = match tokio::time::timeout(Duration::from_secs(5), MySqlConnection::connect(&url)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                eprintln!("restgate-testkit: MySQL at {url} is unreachable: {e}");
                return None;
            }
            Err(_) => {
                eprintln!("restgate-testkit: MySQL at {url} did not answer in 5 s");
                return None;
            }
        };
        let db = format!("rg_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{db}`"))).await.expect("drop a stale test database");
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")))
            .await
            .expect("create the test database");
        // From here on the database is dropped whatever happens.
        let this = MySqlTestDatabase { url, db, pools: Vec::new() };
        conn.execute(AssertSqlSafe(format!("USE `{}`", this.db))).await.expect("use the test database");
        conn.execute(FIXTURE).await.expect("load the fixture");
        conn.close().await.expect("close the setup connection");
        Some(this)
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.db
    }

    /// The server's URL with the test database as the default one.
    pub fn url(&self) -> String {
        with_database(&self.url, &self.db).expect("a MySQL URL")
    }

    /// The server's address, `host:port`.
    pub fn server_addr(&self) -> String {
        let opts = MySqlConnectOptions::from_str(&self.url).expect("a MySQL URL");
        format!("{}:{}", opts.get_host(), opts.get_port())
    }

    /// [`url`](Self::url) through `127.0.0.1:port` (a proxy in front of the
    /// server) instead of the server's own address.
    pub fn url_via(&self, port: u16) -> String {
        let opts = MySqlConnectOptions::from_str(&self.url).expect("a MySQL URL").host("127.0.0.1").port(port).database(&self.db);
        opts.to_url_lossy().to_string()
    }

    /// Runs `sql` in the database, on a connection of its own. Panics on failure.
    pub async fn execute(&self, sql: &str) {
        let mut conn = MySqlConnection::connect(&self.url()).await.expect("connect to MySQL");
        conn.execute(AssertSqlSafe(sql.to_owned())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.close().await.expect("close the connection");
    }

    /// Closes `pool` first at teardown, so it opens no new connections.
    pub fn track(&mut self, pool: &MySqlPool) {
        self.pools.push(pool.clone());
    }

    /// Serves `backend` (connected through [`url`](Self::url) or
    /// [`url_via`](Self::url_via)) with restgate configured by `configure`.
    /// The database lives as long as the returned gate.
    pub async fn serve(mut self, backend: MySqlBackend, configure: Configure) -> TestGate {
        self.track(backend.pool());
        let gate = configure(RestGate::builder().backend(backend)).build().await.expect("build restgate");
        TestGate::new(gate, Box::new(self))
    }
}

impl Drop for MySqlTestDatabase {
    fn drop(&mut self) {
        for pool in &self.pools {
            // Marks the pool closed at once (the future only waits for the
            // connections to come back); they are killed below.
            let _closing = pool.close();
        }
        // Drop may run inside a runtime (where blocking on another is not
        // allowed): do the drop on a short-lived thread with its own runtime.
        let (url, db) = (self.url.clone(), self.db.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(async move {
                match tokio::time::timeout(TEARDOWN_DEADLINE, drop_database(&url, &db)).await {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err(format!("gave up after {TEARDOWN_DEADLINE:?}")),
                }
            })
        })
        .join();
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("restgate-testkit: could not drop the test database {}: {e}", self.db),
            Err(_) => eprintln!("restgate-testkit: could not drop the test database {} (teardown panicked)", self.db),
        }
    }
}

/// Kills the connections using `db`, then drops it; a metadata lock still
/// held (by a connection not gone yet) makes the drop fail after
/// `lock_wait_timeout` instead of waiting for a year, and it is tried again.
async fn drop_database(url: &str, db: &str) -> Result<(), sqlx::Error> {
    let mut conn = MySqlConnection::connect(url).await?;
    conn.execute("SET SESSION lock_wait_timeout = 5").await?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        // ID is BIGINT on MariaDB, BIGINT UNSIGNED on MySQL.
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()")
                .bind(db)
                .fetch_all(&mut conn)
                .await?;
        for id in ids {
            // 1094 "unknown thread" when it ended meanwhile.
            let _ = conn.execute(AssertSqlSafe(format!("KILL CONNECTION {id}"))).await;
        }
        match conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{db}`"))).await {
            Ok(_) => break,
            // 1205: lock wait timeout, a killed connection has not let go yet.
            Err(sqlx::Error::Database(e))
                if attempts < 5 && e.try_downcast_ref::<MySqlDatabaseError>().is_some_and(|e| e.number() == 1205) =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
    conn.close().await
}

#[async_trait]
impl Harness for MySqlHarness {
    fn name(&self) -> &'static str {
        "mysql"
    }

    async fn gate(&self, configure: Configure) -> Option<TestGate> {
        let db = MySqlTestDatabase::create().await?;
        let backend = MySqlOptions::new().pool_size(4).connect(&db.url()).await.expect("connect the backend");
        Some(db.serve(backend, configure).await)
    }
}
