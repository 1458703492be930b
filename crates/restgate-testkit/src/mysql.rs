//! The MySQL/MariaDB harness: a fresh database per test case.
//!
//! Each case connects to `RESTGATE_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/test`), creates the database
//! `rg_<pid>_<n>` (`utf8mb4_bin`, so text compares case-sensitively as on
//! PostgreSQL), loads the fixture into it and serves only that database.
//! The database is dropped when the [`TestGate`] is dropped.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use restgate_core::RestGate;
use restgate_mysql::MySqlOptions;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};

use crate::{Configure, Harness, TestGate};

/// The conformance fixture in MySQL's SQL.
pub const FIXTURE: &str = include_str!("../fixtures/mysql.sql");

/// The server the suite uses unless `RESTGATE_MYSQL_URL` says otherwise.
pub const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306/test";

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

/// Drops its database when dropped.
struct TempDatabase {
    url: String,
    db: String,
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let (url, db) = (self.url.clone(), self.db.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async move {
                let mut conn = MySqlConnection::connect(&url).await.ok()?;
                conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{db}`"))).await.ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(done, Ok(Some(()))) {
            eprintln!("restgate-testkit: could not drop the test database {}", self.db);
        }
    }
}

#[async_trait]
impl Harness for MySqlHarness {
    fn name(&self) -> &'static str {
        "mysql"
    }

    async fn gate(&self, configure: Configure) -> Option<TestGate> {
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
        let temp = TempDatabase { url: url.clone(), db: db.clone() };
        conn.execute(AssertSqlSafe(format!("USE `{db}`"))).await.expect("use the test database");
        conn.execute(FIXTURE).await.expect("load the fixture");
        conn.close().await.expect("close the setup connection");
        let db_url = with_database(&url, &db).expect("a MySQL URL");
        let backend = MySqlOptions::new().pool_size(4).connect(&db_url).await.expect("connect the backend");
        let gate = configure(RestGate::builder().backend(backend)).build().await.expect("build restgate");
        Some(TestGate::new(gate, Box::new(temp)))
    }
}
