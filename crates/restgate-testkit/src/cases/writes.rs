//! POST, PUT, PATCH, DELETE: statuses, headers, upserts, atomicity.

use http::Method;
use serde_json::json;

use super::ids;

const REPR: &str = "return=representation";

case!(insert_one_is_201_without_body, |t| {
    let r = t.post("/items", json!({"name": "date", "qty": 4})).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-range"), Some("*/*"));
    let v = t.get_json("/items?name=eq.date&select=name,qty,note").await;
    assert_eq!(v, json!([{"name": "date", "qty": 4, "note": "none"}]));
});

case!(insert_with_representation_and_select, |t| {
    let r = t.post("/items?select=id,name", json!({"id": 40, "name": "elder", "qty": 1})).header("prefer", REPR).send().await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json(), json!([{"id": 40, "name": "elder"}]));
    assert_eq!(r.header("preference-applied"), Some("return=representation"));
});

case!(bulk_insert_is_one_transaction, |t| {
    let body = json!([{"name": "fig", "qty": 1}, {"name": "grape", "qty": 2}, {"name": "kiwi", "qty": 3}]);
    let r = t.post("/items?select=name,qty", body).header("prefer", REPR).send().await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json(), json!([{"name": "fig", "qty": 1}, {"name": "grape", "qty": 2}, {"name": "kiwi", "qty": 3}]));
    assert_eq!(t.get_json("/items?select=id").await.as_array().map(Vec::len), Some(6));
    // An empty array inserts nothing.
    let r = t.post("/items", json!([])).header("prefer", REPR).send().await;
    assert_eq!((r.status.as_u16(), r.json()), (201, json!([])));
});

case!(bulk_insert_with_mismatched_keys_is_400, |t| {
    let before = t.snapshot("items", "id").await;
    let r = t.post("/items", json!([{"name": "fig", "qty": 1}, {"name": "grape"}])).send().await;
    r.assert_error(400, "PGRST102");
    assert_eq!(t.snapshot("items", "id").await, before);
});

case!(failing_row_writes_nothing, |t| {
    let before = t.snapshot("items", "id").await;
    let body = json!([{"name": "fig", "qty": 1}, {"name": "grape", "qty": -1}, {"name": "kiwi", "qty": 3}]);
    t.post("/items", body).send().await.assert_error(400, "23514");
    assert_eq!(t.snapshot("items", "id").await, before);
});

case!(unique_violation_is_409, |t| {
    let before = t.snapshot("items", "id").await;
    let body = json!([{"name": "fig", "qty": 1}, {"name": "apple", "qty": 2}]);
    t.post("/items", body).send().await.assert_error(409, "23505");
    assert_eq!(t.snapshot("items", "id").await, before);
    t.post("/items", json!({"id": 1, "name": "other"})).send().await.assert_error(409, "23505");
});

case!(foreign_key_violation_is_409, |t| {
    let before = t.snapshot("orders", "id").await;
    t.post("/orders", json!({"person_id": 999, "amount": 1})).send().await.assert_error(409, "23503");
    assert_eq!(t.snapshot("orders", "id").await, before);
    t.delete("/people?id=eq.1").send().await.assert_error(409, "23503");
    assert_eq!(ids(&t.get_json("/people?id=eq.1").await), [1]);
});

case!(not_null_violation_is_400, |t| {
    t.post("/items", json!({"qty": 1})).send().await.assert_error(400, "23502");
    t.post("/items", json!({"name": null})).send().await.assert_error(400, "23502");
});

case!(wrong_value_type_is_400_and_writes_nothing, |t| {
    let before = t.snapshot("items", "id").await;
    let r = t.post("/items", json!([{"name": "fig", "qty": 1}, {"name": "kiwi", "qty": "lots"}])).send().await;
    let e = r.assert_error(400, "22P02");
    assert!(e["message"].as_str().unwrap_or("").contains("lots"), "{e}");
    t.post("/items", json!({"name": "fig", "qty": 1.5})).send().await.assert_error(400, "22P02");
    t.post("/items", json!({"name": "fig", "qty": true})).send().await.assert_error(400, "22P02");
    t.patch("/items?id=eq.1", json!({"price": "cheap"})).send().await.assert_error(400, "22P02");
    assert_eq!(t.snapshot("items", "id").await, before);
});

case!(unknown_payload_column_is_pgrst204, |t| {
    let e = t.post("/items", json!({"name": "fig", "colour": "purple"})).send().await.assert_error(400, "PGRST204");
    assert!(e["message"].as_str().unwrap_or("").contains("colour"));
    t.post("/items?columns=name,colour", json!({"name": "fig"})).send().await.assert_error(400, "PGRST204");
    t.patch("/items?id=eq.1", json!({"colour": "red"})).send().await.assert_error(400, "PGRST204");
});

case!(malformed_json_is_400, |t| {
    let before = t.snapshot("items", "id").await;
    t.req(Method::POST, "/items").raw("application/json", "{\"name\": ").send().await.assert_error(400, "PGRST102");
    t.req(Method::POST, "/items").raw("application/json", "[1, 2]").send().await.assert_error(400, "PGRST102");
    t.req(Method::POST, "/items").raw("application/json", "\"text\"").send().await.assert_error(400, "PGRST102");
    t.req(Method::POST, "/items").raw("application/xml", "<item/>").send().await.assert_error(415, "PGRST107");
    assert_eq!(t.snapshot("items", "id").await, before);
});

case!(empty_body_is_400, |t| {
    t.req(Method::POST, "/items").raw("application/json", "").send().await.assert_error(400, "PGRST102");
    t.req(Method::PATCH, "/items?id=eq.1").raw("application/json", "  ").send().await.assert_error(400, "PGRST102");
});

case!(oversized_body_is_413, config = |b| b.body_limit(1024), |t| {
    let before = t.snapshot("items", "id").await;
    let r = t.post("/items", json!({"name": "x".repeat(4096), "qty": 1})).send().await;
    r.assert_error(413, "PGRST413");
    assert_eq!(t.snapshot("items", "id").await, before);
    let r = t.post("/items", json!({"name": "small", "qty": 1})).send().await;
    assert_eq!(r.status, 201);
});

case!(columns_param_ignores_other_keys, |t| {
    let r = t
        .post("/items?columns=name,qty", json!([{"name": "fig", "qty": 1, "bogus": true}, {"name": "lime", "qty": 2, "extra": 1}]))
        .header("prefer", REPR)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    assert_eq!(v[0]["name"], "fig");
    assert_eq!(v[1]["name"], "lime");
    // Without missing=default, a missing key is NULL: qty is NOT NULL, so this must fail and write nothing.
    let before = t.snapshot("items", "id").await;
    let r = t.post("/items?columns=name,qty", json!([{"name": "plum"}])).send().await;
    r.assert_error(400, "23502");
    assert_eq!(t.snapshot("items", "id").await, before);
});

case!(missing_default_uses_column_defaults, |t| {
    let r = t
        .post("/items?columns=name,qty,note", json!([{"name": "fig"}, {"name": "lime", "qty": 2, "note": "green"}]))
        .header("prefer", "missing=default, return=representation")
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.header("preference-applied").is_some_and(|p| p.contains("missing=default")));
    let v = r.json();
    assert_eq!((v[0]["qty"].clone(), v[0]["note"].clone()), (json!(0), json!("none")));
    assert_eq!((v[1]["qty"].clone(), v[1]["note"].clone()), (json!(2), json!("green")));
    let r = t.post("/items?columns=name,note", json!({"name": "nut"})).header("prefer", REPR).send().await;
    assert_eq!(r.json()[0]["note"], serde_json::Value::Null);
});

case!(headers_only_gives_location, |t| {
    let r = t.post("/items", json!({"id": 77, "name": "fig"})).header("prefer", "return=headers-only").send().await;
    assert_eq!(r.status, 201);
    assert!(r.body.is_empty());
    assert_eq!(r.header("location"), Some("/items?id=eq.77"));
    let r = t.post("/compound", json!({"a": 9, "b": "q r", "v": "x"})).header("prefer", "return=headers-only").send().await;
    assert_eq!(r.header("location"), Some("/compound?a=eq.9&b=eq.q%20r"));
});

case!(insert_count_in_content_range, |t| {
    let r = t.post("/items", json!([{"name": "fig"}, {"name": "lime"}])).header("prefer", "count=exact").send().await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("content-range"), Some("*/2"));
});

case!(upsert_merge_duplicates, |t| {
    let prefer = "resolution=merge-duplicates, return=representation";
    let r = t.post("/items?on_conflict=name&select=name,qty", json!([{"name": "apple", "qty": 11}])).header("prefer", prefer).send().await;
    assert_eq!(r.status, 200, "nothing inserted: {}", r.text());
    assert_eq!(r.json(), json!([{"name": "apple", "qty": 11}]));
    assert!(r.header("preference-applied").is_some_and(|p| p.contains("resolution=merge-duplicates")));
    let r = t
        .post("/items?on_conflict=name&select=name,qty", json!([{"name": "apple", "qty": 12}, {"name": "fig", "qty": 1}]))
        .header("prefer", prefer)
        .send()
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json(), json!([{"name": "apple", "qty": 12}, {"name": "fig", "qty": 1}]));
    assert_eq!(t.get_json("/items?select=qty&name=eq.apple").await, json!([{"qty": 12}]));
});

case!(upsert_ignore_duplicates, |t| {
    let r = t
        .post("/items?on_conflict=name&select=name,qty", json!([{"name": "apple", "qty": 99}, {"name": "fig", "qty": 1}]))
        .header("prefer", "resolution=ignore-duplicates, return=representation")
        .send()
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json(), json!([{"name": "fig", "qty": 1}]));
    assert_eq!(t.get_json("/items?select=qty&name=eq.apple").await, json!([{"qty": 10}]));
});

case!(upsert_on_primary_key, |t| {
    let r = t.post("/items", json!({"id": 1, "name": "apple", "qty": 5})).header("prefer", "resolution=merge-duplicates").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(t.get_json("/items?select=qty&id=eq.1").await, json!([{"qty": 5}]));
    let r = t
        .post("/compound", json!([{"a": 1, "b": "x", "v": "new"}, {"a": 5, "b": "z", "v": "five"}]))
        .header("prefer", "resolution=merge-duplicates")
        .send()
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(t.get_json("/compound?select=v&a=eq.1&b=eq.x").await, json!([{"v": "new"}]));
    // A table without a primary key ignores the resolution (a plain insert).
    let r = t.post("/no_pk", json!({"x": 1, "y": "a"})).header("prefer", "resolution=merge-duplicates").send().await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("preference-applied"), None);
});

case!(on_conflict_must_be_unique, |t| {
    let r =
        t.post("/items?on_conflict=qty", json!({"name": "fig", "qty": 10})).header("prefer", "resolution=merge-duplicates").send().await;
    r.assert_error(400, "42P10");
    t.post("/items?on_conflict=nope", json!({"name": "fig"}))
        .header("prefer", "resolution=merge-duplicates")
        .send()
        .await
        .assert_error(400, "42703");
});

case!(put_inserts_then_updates, |t| {
    let r =
        t.put("/items?id=eq.50", json!({"id": 50, "name": "fig", "qty": 3, "price": 1, "note": null})).header("prefer", REPR).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!([{"id": 50, "name": "fig", "qty": 3, "price": 1, "note": null}]));
    let r =
        t.put("/items?id=eq.50", json!({"id": 50, "name": "fig", "qty": 4, "price": 1, "note": "x"})).header("prefer", REPR).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()[0]["qty"], 4);
    let r = t.put("/items?id=eq.50", json!({"id": 50, "name": "fig", "qty": 5, "price": 1, "note": "x"})).send().await;
    assert_eq!(r.status, 204);
    assert_eq!(t.get_json("/items?select=qty&id=eq.50").await, json!([{"qty": 5}]));
});

case!(put_requires_exactly_the_primary_key, |t| {
    let body = json!({"id": 1, "name": "apple", "qty": 1});
    t.put("/items", body.clone()).send().await.assert_error(405, "PGRST105");
    t.put("/items?id=gt.1", body.clone()).send().await.assert_error(405, "PGRST105");
    t.put("/items?id=eq.1&name=eq.apple", body.clone()).send().await.assert_error(405, "PGRST105");
    t.put("/items?name=eq.apple", body.clone()).send().await.assert_error(405, "PGRST105");
    t.put("/no_pk?x=eq.1", json!({"x": 1})).send().await.assert_error(405, "PGRST105");
    t.put("/compound?a=eq.1", json!({"a": 1, "b": "x"})).send().await.assert_error(405, "PGRST105");
});

case!(put_body_must_match_url, |t| {
    let before = t.snapshot("items", "id").await;
    t.put("/items?id=eq.1", json!({"id": 2, "name": "apple", "qty": 1})).send().await.assert_error(400, "PGRST115");
    t.put("/items?id=eq.1", json!({"name": "apple", "qty": 1})).send().await.assert_error(400, "PGRST115");
    assert_eq!(t.snapshot("items", "id").await, before);
});

case!(put_rejects_limit, |t| {
    t.put("/items?id=eq.1&limit=1", json!({"id": 1, "name": "apple"})).send().await.assert_error(400, "PGRST114");
});

case!(put_on_composite_key, |t| {
    let r = t.put("/compound?a=eq.7&b=eq.k", json!({"a": 7, "b": "k", "v": "seven"})).header("prefer", REPR).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = t.put("/compound?b=eq.k&a=eq.7", json!({"a": 7, "b": "k", "v": "SEVEN"})).header("prefer", REPR).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([{"a": 7, "b": "k", "v": "SEVEN"}]));
});

case!(patch_updates_matching_rows, |t| {
    let r = t.patch("/items?qty=gt.5", json!({"note": "plenty"})).send().await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("content-range"), Some("0-1/*"));
    assert_eq!(t.get_json("/items?select=id&note=eq.plenty&order=id").await, json!([{"id": 1}, {"id": 3}]));
    let r = t.patch("/items?id=eq.999", json!({"note": "x"})).header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (204, Some("*/0")));
});

case!(patch_with_representation, |t| {
    let r = t.patch("/items?id=in.(1,2)&select=id,qty", json!({"qty": 7})).header("prefer", REPR).send().await;
    assert_eq!(r.status, 200);
    let mut v = r.json().as_array().cloned().unwrap_or_default();
    v.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(v, vec![json!({"id": 1, "qty": 7}), json!({"id": 2, "qty": 7})]);
});

case!(patch_failure_writes_nothing, |t| {
    let before = t.snapshot("items", "id").await;
    t.patch("/items", json!({"qty": -1})).send().await.assert_error(400, "23514");
    t.patch("/items?id=in.(1,2)", json!({"name": "cherry"})).send().await.assert_error(409, "23505");
    assert_eq!(t.snapshot("items", "id").await, before);
});

case!(patch_rejects_arrays, |t| {
    t.patch("/items?id=eq.1", json!([{"qty": 1}, {"qty": 2}])).send().await.assert_error(400, "PGRST102");
});

case!(delete_by_filter, |t| {
    let r = t.delete("/items?qty=lt.50").send().await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("content-range"), Some("*/*"));
    assert_eq!(ids(&t.get_json("/items?order=id").await), [3]);
});

case!(delete_with_representation_and_count, |t| {
    let r = t.delete("/items?qty=lt.50&select=name&order=name.desc").header("prefer", "return=representation, count=exact").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([{"name": "banana"}, {"name": "apple"}]));
    assert_eq!(r.header("content-range"), Some("*/2"));
});

case!(max_affected_with_strict_handling, |t| {
    let before = t.snapshot("items", "id").await;
    let r = t.delete("/items?qty=lt.50").header("prefer", "handling=strict, max-affected=1").send().await;
    let e = r.assert_error(400, "PGRST124");
    assert!(e["details"].as_str().unwrap_or("").contains('2'), "{e}");
    assert_eq!(t.snapshot("items", "id").await, before);
    t.patch("/items", json!({"note": "x"})).header("prefer", "handling=strict, max-affected=2").send().await.assert_error(400, "PGRST124");
    assert_eq!(t.snapshot("items", "id").await, before);
    let r = t.delete("/items?id=eq.2").header("prefer", "handling=strict, max-affected=1").send().await;
    assert_eq!(r.status, 204);
    assert!(r.header("preference-applied").is_some_and(|p| p.contains("max-affected=1")));
    // Without strict handling the preference is ignored.
    let r = t.delete("/items").header("prefer", "max-affected=1").send().await;
    assert_eq!(r.status, 204);
});

case!(tx_rollback_when_allowed, config = |b| b.tx_end(restgate_core::TxEnd::CommitAllowOverride), |t| {
    let r = t.post("/items?select=name", json!({"name": "ghost"})).header("prefer", "tx=rollback, return=representation").send().await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json(), json!([{"name": "ghost"}]));
    assert!(r.header("preference-applied").is_some_and(|p| p.contains("tx=rollback")));
    assert_eq!(t.get_json("/items?name=eq.ghost").await, json!([]));
    let r = t.post("/items", json!({"name": "real"})).header("prefer", "tx=commit").send().await;
    assert_eq!(r.status, 201);
    assert_eq!(ids(&t.get_json("/items?name=eq.real").await).len(), 1);
});

case!(tx_rollback_ignored_when_not_allowed, |t| {
    let r = t.post("/items", json!({"name": "kept"})).header("prefer", "tx=rollback").send().await;
    assert_eq!(r.status, 201);
    assert!(r.header("preference-applied").is_none_or(|p| !p.contains("tx=")));
    assert_eq!(ids(&t.get_json("/items?name=eq.kept").await).len(), 1);
});

case!(singular_write_over_many_rows_rolls_back, |t| {
    let before = t.snapshot("items", "id").await;
    let r = t.patch("/items?qty=gt.5", json!({"note": "one?"})).header("accept", "application/vnd.pgrst.object+json").send().await;
    r.assert_error(406, "PGRST116");
    assert_eq!(t.snapshot("items", "id").await, before);
    let r = t
        .patch("/items?id=eq.1&select=id,note", json!({"note": "one"}))
        .header("accept", "application/vnd.pgrst.object+json")
        .header("prefer", REPR)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"id": 1, "note": "one"}));
});

case!(writes_to_views_are_405, |t| {
    t.post("/adults", json!({"name": "x"})).send().await.assert_error(405, "PGRST117");
    t.delete("/adults?id=eq.1").send().await.assert_error(405, "PGRST117");
    t.post("/nope", json!({"a": 1})).send().await.assert_error(404, "PGRST205");
});

case!(generated_columns_are_read_only, |t| {
    assert_eq!(t.get_json("/gen?select=a,b").await, json!([{"a": 21, "b": 42}]));
    t.post("/gen", json!({"a": 1, "b": 5})).send().await.assert_error(400, "428C9");
    let r = t.post("/gen?select=a,b", json!({"a": 4})).header("prefer", REPR).send().await;
    assert_eq!(r.json(), json!([{"a": 4, "b": 8}]));
});

case!(csv_insert, |t| {
    let r = t
        .req(Method::POST, "/items?select=name,qty,note")
        .raw("text/csv", "name,qty,note\nfig,3,NULL\n\"lime, green\",4,\n")
        .header("prefer", REPR)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!([{"name": "fig", "qty": 3, "note": null}, {"name": "lime, green", "qty": 4, "note": ""}]));
});

case!(form_insert, |t| {
    let r = t
        .req(Method::POST, "/items?select=name,qty")
        .raw("application/x-www-form-urlencoded", "name=fig+tree&qty=2")
        .header("prefer", REPR)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!([{"name": "fig tree", "qty": 2}]));
});

case!(order_shapes_write_representation, |t| {
    let r = t
        .post("/items?select=name&order=name.desc", json!([{"name": "a1"}, {"name": "c3"}, {"name": "b2"}]))
        .header("prefer", REPR)
        .send()
        .await;
    assert_eq!(r.json(), json!([{"name": "c3"}, {"name": "b2"}, {"name": "a1"}]));
    let r = t.patch("/items?select=name&order=qty.desc", json!({"note": "n"})).header("prefer", REPR).send().await;
    assert_eq!(r.json()[0]["name"], "cherry");
});

case!(concurrent_writers_all_succeed, |t| {
    // Half single-statement inserts, half full transactions (upserts), all at once.
    let t = std::sync::Arc::new(t);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let t = std::sync::Arc::clone(&t);
        tasks.push(tokio::spawn(async move {
            let mut req = t.post("/items", json!({"name": format!("w{i}"), "qty": i}));
            if i % 2 == 1 {
                req = req.header("prefer", "resolution=merge-duplicates");
            }
            req.send().await.status.as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("task"), 201);
    }
    let r = t.req(Method::GET, "/items?name=like.w*").header("prefer", "count=exact").send().await;
    assert_eq!(r.header("content-range"), Some("0-39/40"));
});
