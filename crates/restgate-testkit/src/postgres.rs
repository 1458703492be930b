//! The PostgreSQL harness: a fresh schema per test case.
//!
//! Each case connects to `RESTGATE_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), creates the schema
//! `rg_<pid>_<n>`, loads the fixture into it and serves only that schema.
//! The schema is dropped (CASCADE) when the [`TestGate`] is dropped.
//!
//! Teardown does not hang on a test that failed with a transaction open:
//! the connections opened through [`PgTestSchema::url`] carry the schema's
//! name as their `application_name`, and they (and any other connection
//! holding a lock in the schema) are terminated before the drop; the drop
//! runs with a `lock_timeout` (and is retried a few times), and the whole
//! teardown has a deadline.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use restgate_core::RestGate;
use restgate_postgres::{PgBackend, PgOptions};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};

use crate::{Configure, Harness, TestGate};

/// The conformance fixture in PostgreSQL's SQL.
pub const FIXTURE: &str = include_str!("../fixtures/postgres.sql");

/// The server the suite uses unless `RESTGATE_POSTGRES_URL` says otherwise.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The longest a teardown may take before it gives up (with a message).
const TEARDOWN_DEADLINE: Duration = Duration::from_secs(60);

/// The database URL of the suite.
pub fn url() -> String {
    std::env::var("RESTGATE_POSTGRES_URL").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// `url` with `application_name` set to `name`.
fn tagged(url: &str, name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={name}")
}

/// Runs the suite on PostgreSQL, each case in its own schema.
#[derive(Debug, Default, Clone, Copy)]
pub struct PgHarness;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A fresh schema `rg_<pid>_<n>` with the fixture loaded, for one test.
///
/// Dropping it closes the [tracked](Self::track) pools, terminates the
/// connections opened through [`url`](Self::url) or
/// [`url_via`](Self::url_via), and drops the schema.
#[derive(Debug)]
pub struct PgTestSchema {
    url: String,
    schema: String,
    pools: Vec<PgPool>,
}

impl PgTestSchema {
    /// Creates the schema on the suite's server and loads the fixture into
    /// it. `None` when the server is unreachable.
    pub async fn create() -> Option<Self> {
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
        let this = PgTestSchema { url, schema, pools: Vec::new() };
        conn.execute(AssertSqlSafe(format!("SET search_path TO \"{}\"; {FIXTURE}", this.schema))).await.expect("load the fixture");
        conn.close().await.expect("close the setup connection");
        Some(this)
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.schema
    }

    /// The server's URL, with the schema's name as `application_name` (so
    /// teardown finds the connections opened with it).
    pub fn url(&self) -> String {
        tagged(&self.url, &self.schema)
    }

    /// The server's address, `host:port`.
    pub fn server_addr(&self) -> String {
        let opts = PgConnectOptions::from_str(&self.url).expect("a PostgreSQL URL");
        format!("{}:{}", opts.get_host(), opts.get_port())
    }

    /// [`url`](Self::url) through `127.0.0.1:port` (a proxy in front of the
    /// server) instead of the server's own address.
    pub fn url_via(&self, port: u16) -> String {
        let opts = PgConnectOptions::from_str(&self.url).expect("a PostgreSQL URL").host("127.0.0.1").port(port);
        tagged(opts.to_url_lossy().as_str(), &self.schema)
    }

    /// Runs `sql` in the schema (as the first entry of the search path), on
    /// a connection of its own. Panics on failure.
    pub async fn execute(&self, sql: &str) {
        let mut conn = PgConnection::connect(&self.url()).await.expect("connect to PostgreSQL");
        conn.execute(AssertSqlSafe(format!("SET search_path TO \"{}\"; {sql}", self.schema)))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.close().await.expect("close the connection");
    }

    /// Closes `pool` first at teardown, so it opens no new connections.
    pub fn track(&mut self, pool: &PgPool) {
        self.pools.push(pool.clone());
    }

    /// Serves `backend` (connected through [`url`](Self::url) or
    /// [`url_via`](Self::url_via)) with restgate configured by `configure`.
    /// The schema lives as long as the returned gate.
    pub async fn serve(mut self, backend: PgBackend, configure: Configure) -> TestGate {
        self.track(backend.pool());
        let gate = configure(RestGate::builder().backend(backend)).build().await.expect("build restgate");
        TestGate::new(gate, Box::new(self))
    }
}

impl Drop for PgTestSchema {
    fn drop(&mut self) {
        for pool in &self.pools {
            // Marks the pool closed at once (the future only waits for the
            // connections to come back); they are ended below.
            let _closing = pool.close();
        }
        // Drop may run inside a runtime (where blocking on another is not
        // allowed): do the drop on a short-lived thread with its own runtime.
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(async move {
                match tokio::time::timeout(TEARDOWN_DEADLINE, drop_schema(&url, &schema)).await {
                    Ok(result) => result.map_err(|e| e.to_string()),
                    Err(_) => Err(format!("gave up after {TEARDOWN_DEADLINE:?}")),
                }
            })
        })
        .join();
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("restgate-testkit: could not drop the test schema {}: {e}", self.schema),
            Err(_) => eprintln!("restgate-testkit: could not drop the test schema {} (teardown panicked)", self.schema),
        }
    }
}

/// Ends the connections tagged with the schema's name, and any other
/// holding a lock on one of its relations.
const TERMINATE: &str = "SELECT pg_terminate_backend(pid) FROM ( \
     SELECT pid FROM pg_stat_activity WHERE application_name = $1 \
     UNION SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 \
     ) p WHERE pid <> pg_backend_pid()";

/// Ends the connections that use `schema` ([`TERMINATE`]), then drops it;
/// a lock still held (by a connection not ended yet) makes the drop fail
/// after a `lock_timeout` instead of waiting forever, and it is tried again.
async fn drop_schema(url: &str, schema: &str) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    conn.execute("SET lock_timeout = '5s'").await?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        sqlx::query(TERMINATE).bind(schema).execute(&mut conn).await?;
        match conn.execute(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))).await {
            Ok(_) => break,
            // lock_not_available: a terminated connection has not let go yet.
            Err(sqlx::Error::Database(e)) if attempts < 5 && e.code().as_deref() == Some("55P03") => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
    conn.close().await
}

#[async_trait]
impl Harness for PgHarness {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    async fn gate(&self, configure: Configure) -> Option<TestGate> {
        let schema = PgTestSchema::create().await?;
        let backend: PgBackend =
            PgOptions::new().schemas([schema.name()]).pool_size(4).connect(&schema.url()).await.expect("connect the backend");
        Some(schema.serve(backend, configure).await)
    }
}
