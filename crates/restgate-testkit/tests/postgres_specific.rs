//! Behaviour only PostgreSQL has: full-text search, array and range
//! operators, enums, planner counts. Runs on the fixture's `docs` table,
//! which only the PostgreSQL fixture defines.
#![cfg(feature = "postgres")]

use restgate_testkit::postgres::PgHarness;
use restgate_testkit::{run, TestGate};
use serde_json::{json, Value};

fn ids(v: &Value) -> Vec<i64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(|r| r["id"].as_i64().unwrap_or(-1)).collect()
}

async fn ids_of(t: &TestGate, query: &str) -> Vec<i64> {
    ids(&t.get_json(&format!("/docs?select=id&order=id&{query}")).await)
}

#[tokio::test]
async fn full_text_search_operators() {
    run(&PgHarness, |t: TestGate| async move {
        // A tsvector column is searched as it is.
        assert_eq!(ids_of(&t, "tsv=fts(english).fox").await, [1, 3]);
        assert_eq!(ids_of(&t, "tsv=fts(english).fox%20%26%20clever").await, [3]);
        assert_eq!(ids_of(&t, "tsv=not.fts(english).fox").await, [2]);
        // A text column goes through to_tsvector.
        assert_eq!(ids_of(&t, "body=plfts(english).lazy%20dog").await, [1]);
        assert_eq!(ids_of(&t, "body=phfts(english).quick%20brown").await, [1]);
        assert_eq!(ids_of(&t, "body=phfts(english).brown%20quick").await, Vec::<i64>::new());
        assert_eq!(ids_of(&t, "body=wfts(english).quick%20-brown").await, [3]);
        assert_eq!(ids_of(&t, "body=fts.coffee").await, [2]);
        // In logic trees too.
        assert_eq!(ids_of(&t, "or=(body.fts(english).coffee,tsv.fts(english).clever)").await, [2, 3]);
        // An unknown configuration is the client's error.
        t.get("/docs?body=fts(klingon).fox").await.assert_error(400, "42704");
        t.get("/docs?body=fts(bad-name).fox").await.assert_error(400, "42704");
    })
    .await;
}

#[tokio::test]
async fn array_operators() {
    run(&PgHarness, |t: TestGate| async move {
        assert_eq!(ids_of(&t, "tags=cs.{animal}").await, [1, 3]);
        assert_eq!(ids_of(&t, "tags=cd.{animal,fast,slow}").await, [1]);
        assert_eq!(ids_of(&t, "tags=ov.{slow,clever}").await, [2, 3]);
        assert_eq!(ids_of(&t, "nums=cs.{3}").await, [1, 3]);
        assert_eq!(ids_of(&t, "nums=not.ov.{3,4}").await, Vec::<i64>::new());
        assert_eq!(ids_of(&t, "tags=eq.{slow,home}").await, [2]);
        // A malformed operand is a 400, not a 500.
        t.get("/docs?nums=cs.{x}").await.assert_error(400, "22P02");
    })
    .await;
}

#[tokio::test]
async fn range_operators() {
    run(&PgHarness, |t: TestGate| async move {
        assert_eq!(ids_of(&t, "period=ov.[2024-01-15,2024-02-15)").await, [1, 2]);
        assert_eq!(ids_of(&t, "period=sl.[2024-05-01,2024-05-02)").await, [1, 2]);
        assert_eq!(ids_of(&t, "period=sr.[2024-05-01,2024-05-02)").await, [3]);
        assert_eq!(ids_of(&t, "period=adj.[2024-03-01,2024-06-01)").await, [2, 3]);
        assert_eq!(ids_of(&t, "period=nxr.[2024-01-01,2024-02-15)").await, [1]);
        assert_eq!(ids_of(&t, "period=nxl.[2024-02-01,2024-12-31)").await, [2, 3]);
        assert_eq!(ids_of(&t, "period=cs.[2024-01-10,2024-01-20)").await, [1]);
        assert_eq!(ids_of(&t, "period=cd.[2024-01-01,2024-12-31)").await, [1, 2, 3]);
        t.get("/docs?period=ov.[2024-02-01,2024-01-01)").await.assert_error(400, "22000");
    })
    .await;
}

#[tokio::test]
async fn arrays_ranges_and_enums_render_and_write() {
    run(&PgHarness, |t: TestGate| async move {
        assert_eq!(
            t.get_json("/docs?select=id,tags,nums,period,mood&id=eq.1").await,
            json!([{"id": 1, "tags": ["animal", "fast"], "nums": [1, 2, 3], "period": "[2024-01-01,2024-02-01)", "mood": "happy"}])
        );
        let r = t
            .post("/docs", json!({"id": 4, "body": "new", "tags": ["a", "b c"], "nums": [7], "period": "[2025-01-01,2025-02-01)", "mood": "ok"}))
            .header("prefer", "return=representation")
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(
            r.json(),
            json!([{"id": 4, "body": "new", "tsv": "'new':1", "tags": ["a", "b c"], "nums": [7], "period": "[2025-01-01,2025-02-01)", "mood": "ok"}])
        );
        // Enums compare as their type (declaration order), not as text.
        assert_eq!(ids_of(&t, "mood=eq.ok").await, [2, 4]);
        assert_eq!(ids_of(&t, "mood=gt.ok").await, [1]);
        assert_eq!(ids_of(&t, "mood=in.(sad,happy)").await, [1, 3]);
        assert_eq!(ids(&t.get_json("/docs?select=id&order=mood,id").await), [3, 2, 4, 1]);
        let r = t.patch("/docs?id=eq.4", json!({"mood": "sad", "tags": []})).send().await;
        assert_eq!(r.status, 204, "{}", r.text());
        assert_eq!(t.get_json("/docs?select=mood,tags&id=eq.4").await, json!([{"mood": "sad", "tags": []}]));
        // A value outside the enum is the client's error, and writes nothing.
        t.post("/docs", json!({"id": 5, "body": "x", "mood": "meh"})).send().await.assert_error(400, "22P02");
        t.get("/docs?mood=eq.meh").await.assert_error(400, "22P02");
        // The generated tsvector is read-only.
        assert_eq!(t.post("/docs", json!({"id": 6, "body": "x", "tsv": "x"})).send().await.status.as_u16() / 100, 4);
        assert_eq!(ids_of(&t, "id=gte.5").await, Vec::<i64>::new());
    })
    .await;
}

#[tokio::test]
async fn planned_and_estimated_counts() {
    run(&PgHarness, |t: TestGate| async move {
        let r = t.req(http::Method::GET, "/docs?limit=1").header("prefer", "count=planned").send().await;
        let range = r.header("content-range").unwrap_or("").to_owned();
        assert!(range.starts_with("0-0/") && range[4..].parse::<u64>().is_ok(), "{range}");
        // Small tables are counted exactly under count=estimated.
        let r = t.req(http::Method::GET, "/docs?limit=1&id=gt.1").header("prefer", "count=estimated").send().await;
        assert_eq!(r.header("content-range"), Some("0-0/2"));
    })
    .await;
}

#[tokio::test]
async fn timestamptz_renders_in_utc() {
    run(&PgHarness, |t: TestGate| async move {
        let r =
            t.post("/typed", json!({"id": 30, "tstz": "2024-06-30T23:30:00-05:00"})).header("prefer", "return=representation").send().await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()[0]["tstz"], json!("2024-07-01T04:30:00+00:00"));
    })
    .await;
}

#[tokio::test]
async fn non_finite_floats_use_postgresql_spellings() {
    run(&PgHarness, |t: TestGate| async move {
        for (id, v) in [(20, "Infinity"), (21, "-Infinity"), (22, "NaN")] {
            let r = t.post("/typed", json!({"id": id, "f_double": v})).send().await;
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let v = t.get_json("/typed?select=id,f_double&id=gte.20&order=id").await;
        // PostgreSQL keeps NaN (SQLite stores it as NULL).
        assert_eq!(v, json!([{"id": 20, "f_double": "Infinity"}, {"id": 21, "f_double": "-Infinity"}, {"id": 22, "f_double": "NaN"}]));
    })
    .await;
}
