//! Behaviour that is SQLite's own: documented exceptions to the shared
//! suite. And the pool's failure paths: exhausted (504) and closed (503).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use restgate_core::RestGate;
use restgate_sqlite::SqliteBackend;
use restgate_testkit::sqlite::{SqliteHarness, FIXTURE};
use restgate_testkit::{run, TestGate};
use serde_json::json;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::Executor;

#[tokio::test]
async fn fts_and_range_operators_are_not_implemented() {
    run(&SqliteHarness, |t: TestGate| async move {
        let e = t.get("/people?name=fts.ada").await.assert_error(400, "PGRST127");
        assert!(e["details"].as_str().unwrap_or("").contains("sqlite"), "{e}");
        t.get("/people?name=plfts(english).ada").await.assert_error(400, "PGRST127");
        t.get("/people?age=cs.{1,2}").await.assert_error(400, "PGRST127");
        t.get("/people?age=ov.[1,2]").await.assert_error(400, "PGRST127");
    })
    .await;
}

#[tokio::test]
async fn planned_and_estimated_counts_are_exact() {
    run(&SqliteHarness, |t: TestGate| async move {
        for kind in ["planned", "estimated"] {
            let r = t.req(http::Method::GET, "/people?limit=1").header("prefer", &format!("count={kind}")).send().await;
            assert_eq!(r.header("content-range"), Some("0-0/10"));
        }
    })
    .await;
}

#[tokio::test]
async fn non_finite_floats_stay_valid_json() {
    run(&SqliteHarness, |t: TestGate| async move {
        for (id, v) in [(20, "Infinity"), (21, "-Infinity"), (22, "NaN")] {
            let r = t.post("/typed", json!({"id": id, "f_double": v})).send().await;
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let r = t.get("/typed?select=id,f_double&id=gte.20&order=id").await;
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", r.text()));
        // Infinities as PostgreSQL's JSON spells them; SQLite stores NaN as NULL.
        assert_eq!(v, json!([{"id": 20, "f_double": "Infinity"}, {"id": 21, "f_double": "-Infinity"}, {"id": 22, "f_double": null}]));
    })
    .await;
}

/// Removes the database file (and its WAL files) when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A gate over a fresh database with the fixture, served by a pool of one
/// connection that waits 500 ms for it; and that pool.
async fn one_connection_gate() -> (TestGate, SqlitePool) {
    let path = std::env::temp_dir().join(format!("restgate-pool-{}-{}.db", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let temp = TempFile(path.clone());
    let opts = SqliteBackend::options(&format!("sqlite://{}?mode=rwc", path.display())).expect("sqlite options");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(500))
        .connect_with(opts)
        .await
        .expect("open the test database");
    pool.execute(FIXTURE).await.expect("load the fixture");
    let gate = RestGate::builder().backend(SqliteBackend::from_pool(pool.clone())).build().await.expect("build restgate");
    (TestGate::new(gate, Box::new(temp)), pool)
}

#[tokio::test]
async fn exhausted_pool_is_504() {
    let (t, pool) = one_connection_gate().await;
    let held = pool.acquire().await.expect("take the only connection");
    t.get("/people?select=id").await.assert_error(504, "PGRST003");
    t.post("/items", json!({"name": "fig"})).send().await.assert_error(504, "PGRST003");
    drop(held);
    assert_eq!(t.get_json("/people?select=id&id=eq.1").await, json!([{"id": 1}]));
    assert_eq!(t.get_json("/items?select=name&name=eq.fig").await, json!([]));
}

#[tokio::test]
async fn closed_pool_is_503_with_retry_after() {
    let (t, pool) = one_connection_gate().await;
    pool.close().await;
    let r = t.get("/people?select=id").await;
    let body = r.assert_error(503, "PGRST000");
    assert!(r.header("retry-after").is_some_and(|s| s.parse::<u32>().is_ok()), "{:?}", r.headers);
    assert!(!body.to_string().to_lowercase().contains("pool"), "the error body leaks the driver's message: {body}");
}
