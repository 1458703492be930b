//! Type fidelity: the same logical data gives the same JSON on every backend.

use serde_json::json;

fn expected_row_1() -> serde_json::Value {
    json!({
        "id": 1,
        "i_small": 7,
        "i_big": 9007199254740993_i64,
        "f_double": 1.5,
        "n_dec": 1234.5678,
        "b_bool": true,
        "t_text": "hello",
        "t_var": "var",
        "d_date": "2024-02-29",
        "t_time": "13:45:00",
        "ts": "2024-02-29T13:45:00",
        "tstz": "2024-02-29T12:45:00+00:00",
        "u_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "j_json": {"k": [1, 2, {"n": null}]},
        "bin": "\\xdeadbeef"
    })
}

case!(type_fidelity_on_read, |t| {
    let r = t.get("/typed?id=eq.1").await;
    assert_eq!(r.status, 200);
    // Compare the text too: a big integer must arrive exactly, not through a float.
    assert!(r.text().contains("9007199254740993"), "{}", r.text());
    assert_eq!(r.json(), json!([expected_row_1()]));
});

case!(nulls_of_every_type, |t| {
    let v = t.get_json("/typed?id=eq.2").await;
    let row = v[0].as_object().expect("object");
    for (k, val) in row {
        if k != "id" {
            assert!(val.is_null(), "{k} should be null: {val}");
        }
    }
});

case!(type_fidelity_round_trip, |t| {
    let body = json!({
        "id": 3,
        "i_small": -7,
        "i_big": -9007199254740993_i64,
        "f_double": -0.25,
        "n_dec": "99.0001",
        "b_bool": false,
        "t_text": "ünïcødé \"quoted\"",
        "t_var": "v",
        "d_date": "2000-01-01",
        "t_time": "23:59:59.5",
        "ts": "2000-01-01T23:59:59.123",
        "tstz": "2000-01-01T23:30:00-02:00",
        "u_uuid": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12",
        "j_json": [true, {"x": 1.5}],
        "bin": "\\x00ff10"
    });
    let r = t.post("/typed", body).header("prefer", "return=representation").send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    let expected = json!([{
        "id": 3,
        "i_small": -7,
        "i_big": -9007199254740993_i64,
        "f_double": -0.25,
        "n_dec": 99.0001,
        "b_bool": false,
        "t_text": "ünïcødé \"quoted\"",
        "t_var": "v",
        "d_date": "2000-01-01",
        "t_time": "23:59:59.5",
        "ts": "2000-01-01T23:59:59.123",
        "tstz": "2000-01-02T01:30:00+00:00",
        "u_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12",
        "j_json": [true, {"x": 1.5}],
        "bin": "\\x00ff10"
    }]);
    assert_eq!(r.json(), expected);
    assert_eq!(t.get_json("/typed?id=eq.3").await, expected);
    // Filters see the canonical values.
    assert_eq!(t.get_json("/typed?select=id&tstz=eq.2000-01-02T01:30:00Z").await, json!([{"id": 3}]));
    assert_eq!(t.get_json("/typed?select=id&ts=gt.2000-01-01T23:59:59&ts=lt.2000-01-02").await, json!([{"id": 3}]));
});

case!(invalid_typed_values_are_400, |t| {
    let before = t.snapshot("typed", "id").await;
    for (col, bad, code) in [
        ("d_date", json!("2023-02-29"), "22007"),
        ("ts", json!("not a time"), "22007"),
        ("t_time", json!("25:00"), "22007"),
        ("u_uuid", json!("not-a-uuid"), "22P02"),
        ("b_bool", json!("maybe"), "22P02"),
        ("i_big", json!("12x"), "22P02"),
        ("f_double", json!("1.2.3"), "22P02"),
        ("j_json", json!(null), ""),
    ] {
        let mut body = serde_json::Map::new();
        body.insert("id".into(), json!(9));
        body.insert(col.into(), bad.clone());
        let r = t.post("/typed", serde_json::Value::Object(body)).send().await;
        if code.is_empty() {
            assert_eq!(r.status, 201, "{col}={bad}: {}", r.text());
            t.delete("/typed?id=eq.9").send().await;
        } else {
            r.assert_error(400, code);
        }
    }
    assert_eq!(t.snapshot("typed", "id").await, before);
});
