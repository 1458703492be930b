//! Behaviour that is SQLite's own: documented exceptions to the shared suite.

use restgate_testkit::sqlite::SqliteHarness;
use restgate_testkit::{run, TestGate};
use serde_json::json;

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
