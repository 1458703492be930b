//! Behaviour that is MySQL/MariaDB's own: documented exceptions to the shared suite.
#![cfg(feature = "mysql")]

use restgate_testkit::mysql::MySqlHarness;
use restgate_testkit::{run, TestGate};
use serde_json::json;

fn ids(v: &serde_json::Value) -> Vec<i64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(|r| r["id"].as_i64().unwrap_or(-1)).collect()
}

#[tokio::test]
async fn fts_runs_on_fulltext_indexed_columns() {
    run(&MySqlHarness, |t: TestGate| async move {
        assert_eq!(ids(&t.get_json("/docs?body=fts.lazy&order=id").await), [1, 2]);
        assert_eq!(ids(&t.get_json("/docs?body=plfts.coffee%20books&order=id").await), [2]);
        assert_eq!(ids(&t.get_json("/docs?body=phfts.quick%20brown&order=id").await), [1]);
        assert_eq!(ids(&t.get_json("/docs?body=wfts.%2Bquick%20-brown&order=id").await), [3]);
        assert_eq!(ids(&t.get_json("/docs?body=not.fts.lazy&order=id").await), [3]);
    })
    .await;
}

#[tokio::test]
async fn fts_without_a_fulltext_index_and_range_operators_are_not_implemented() {
    run(&MySqlHarness, |t: TestGate| async move {
        let e = t.get("/people?name=fts.ada").await.assert_error(400, "PGRST127");
        let details = e["details"].as_str().unwrap_or("");
        assert!(details.contains("mariadb") || details.contains("mysql"), "{e}");
        t.get("/people?name=plfts(english).ada").await.assert_error(400, "PGRST127");
        t.get("/people?age=cs.{1,2}").await.assert_error(400, "PGRST127");
        t.get("/people?age=ov.[1,2]").await.assert_error(400, "PGRST127");
    })
    .await;
}

#[tokio::test]
async fn non_finite_floats_cannot_be_stored() {
    run(&MySqlHarness, |t: TestGate| async move {
        let before = t.snapshot("typed", "id").await;
        for v in ["Infinity", "-Infinity", "NaN"] {
            let r = t.post("/typed", json!({"id": 20, "f_double": v})).send().await;
            assert_eq!(r.status, 400, "{v}: {}", r.text());
        }
        assert_eq!(t.snapshot("typed", "id").await, before);
        // Comparisons with infinities still work.
        assert_eq!(ids(&t.get_json("/typed?f_double=lt.Infinity").await), [1]);
    })
    .await;
}

#[tokio::test]
async fn auto_increment_keys_come_back_in_order() {
    run(&MySqlHarness, |t: TestGate| async move {
        let r = t
            .post("/items?select=id,name", json!([{"name": "fig"}, {"name": "kiwi"}, {"name": "lime"}]))
            .header("prefer", "return=representation")
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json(), json!([{"id": 4, "name": "fig"}, {"id": 5, "name": "kiwi"}, {"id": 6, "name": "lime"}]));
        let r = t.post("/items", json!({"name": "plum"})).header("prefer", "return=headers-only").send().await;
        assert_eq!(r.header("location"), Some("/items?id=eq.7"));
    })
    .await;
}

#[tokio::test]
async fn updates_that_change_the_key_read_back_the_new_key() {
    run(&MySqlHarness, |t: TestGate| async move {
        let r = t.patch("/items?id=eq.1&select=id,name", json!({"id": 40})).header("prefer", "return=representation").send().await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), json!([{"id": 40, "name": "apple"}]));
    })
    .await;
}

#[tokio::test]
async fn planned_counts_come_from_the_optimizer() {
    run(&MySqlHarness, |t: TestGate| async move {
        let total = |r: &restgate_testkit::TestResponse| -> u64 {
            let range = r.header("content-range").unwrap_or("").to_owned();
            range.rsplit('/').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no total in {range}"))
        };
        // The estimate of a small table is close to its size, and never zero for a non-empty one.
        let r = t.req(http::Method::GET, "/people?limit=1").header("prefer", "count=planned").send().await;
        assert!((1..=100).contains(&total(&r)), "{:?}", r.header("content-range"));
        // count=estimated is exact below a thousand estimated rows.
        let r = t.req(http::Method::GET, "/people?limit=1").header("prefer", "count=estimated").send().await;
        assert_eq!(total(&r), 10);
        let r = t.req(http::Method::GET, "/people?limit=1&age=gt.40").header("prefer", "count=estimated").send().await;
        assert_eq!(total(&r), 5);
    })
    .await;
}
