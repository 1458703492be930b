//! The SQLite harness: a fresh database file per test case.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use restgate_core::RestGate;
use restgate_sqlite::SqliteBackend;
use sqlx::Executor;

use crate::{Configure, Harness, TestGate};

/// The conformance fixture in SQLite's SQL.
pub const FIXTURE: &str = include_str!("../fixtures/sqlite.sql");

/// Runs the suite on SQLite, each case in its own temporary database file.
#[derive(Debug, Default, Clone, Copy)]
pub struct SqliteHarness;

struct TempDb(PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

#[async_trait]
impl Harness for SqliteHarness {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn gate(&self, configure: Configure) -> Option<TestGate> {
        let path = std::env::temp_dir().join(format!("restgate-test-{}-{}.db", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        let temp = TempDb(path.clone());
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let backend = SqliteBackend::connect(&url).await.expect("open the test database");
        backend.pool().execute(FIXTURE).await.expect("load the fixture");
        let gate = configure(RestGate::builder().backend(backend)).build().await.expect("build restgate");
        Some(TestGate::new(gate, Box::new(temp)))
    }
}
