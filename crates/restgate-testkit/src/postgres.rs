//! The PostgreSQL harness: a fresh schema per test case.
//!
//! Each case connects to `RESTGATE_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), creates the schema
//! `rg_<pid>_<n>`, loads the fixture into it and serves only that schema.
//! The schema is dropped (CASCADE) when the [`TestGate`] is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use restgate_core::RestGate;
use restgate_postgres::{PgBackend, PgOptions};
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection, Executor};

use crate::{Configure, Harness, TestGate};

/// The conformance fixture in PostgreSQL's SQL.
pub const FIXTURE: &str = include_str!("../fixtures/postgres.sql");

/// The server the suite uses unless `RESTGATE_POSTGRES_URL` says otherwise.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The database URL of the suite.
pub fn url() -> String {
    std::env::var("RESTGATE_POSTGRES_URL").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// Runs the suite on PostgreSQL, each case in its own schema.
#[derive(Debug, Default, Clone, Copy)]
pub struct PgHarness;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Drops its schema when dropped.
struct TempSchema {
    url: String,
    schema: String,
}

impl Drop for TempSchema {
    fn drop(&mut self) {
        // Drop may run inside a runtime (where blocking on another is not
        // allowed): do the drop on a short-lived thread with its own runtime.
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async move {
                let mut conn = PgConnection::connect(&url).await.ok()?;
                conn.execute(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))).await.ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(done, Ok(Some(()))) {
            eprintln!("restgate-testkit: could not drop the test schema {}", self.schema);
        }
    }
}

#[async_trait]
impl Harness for PgHarness {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    async fn gate(&self, configure: Configure) -> Option<TestGate> {
        let url = url();
        let mut conn = match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                eprintln!("restgate-testkit: PostgreSQL at {url} is unreachable: {e}");
                return None;
            }
            Err(_) => {
                eprintln!("restgate-testkit: PostgreSQL at {url} did not answer in 5 s");
                return None;
            }
        };
        let schema = format!("rg_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        conn.execute(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\"")))
            .await
            .expect("create the test schema");
        // From here on the schema is dropped whatever happens.
        let temp = TempSchema { url: url.clone(), schema: schema.clone() };
        conn.execute(AssertSqlSafe(format!("SET search_path TO \"{schema}\"; {FIXTURE}"))).await.expect("load the fixture");
        conn.close().await.expect("close the setup connection");
        let backend: PgBackend = PgOptions::new().schemas([schema.as_str()]).pool_size(4).connect(&url).await.expect("connect the backend");
        let gate = configure(RestGate::builder().backend(backend)).build().await.expect("build restgate");
        Some(TestGate::new(gate, Box::new(temp)))
    }
}
