//! Property tests over HTTP on SQLite: no input makes restgate answer 5xx,
//! and a rejected write changes nothing.

use http::Method;
use proptest::prelude::*;
use restgate_testkit::sqlite::SqliteHarness;
use restgate_testkit::{Harness, TestGate};

fn gate(rt: &tokio::runtime::Runtime) -> TestGate {
    rt.block_on(SqliteHarness.gate(|b| b.max_rows(50))).expect("sqlite is always available")
}

/// Query strings built from the grammar's own pieces, so most reach deep into the parser and planner.
fn query() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("select=".to_owned()),
        Just("order=".to_owned()),
        Just("limit=".to_owned()),
        Just("offset=".to_owned()),
        Just("or=(".to_owned()),
        Just("and(".to_owned()),
        Just("not.".to_owned()),
        Just("eq.".to_owned()),
        Just("like.".to_owned()),
        Just("match.".to_owned()),
        Just("in.(".to_owned()),
        Just("is.".to_owned()),
        Just("(any).{".to_owned()),
        Just("->>".to_owned()),
        Just("->".to_owned()),
        Just("::".to_owned()),
        Just("%22".to_owned()),
        Just("%25".to_owned()),
        Just("%FF".to_owned()),
        Just("age".to_owned()),
        Just("name".to_owned()),
        Just("data".to_owned()),
        Just("created_at".to_owned()),
        Just("balance".to_owned()),
        Just("&".to_owned()),
        Just("=".to_owned()),
        Just(",".to_owned()),
        Just(".".to_owned()),
        Just(")".to_owned()),
        Just("}".to_owned()),
        Just("*".to_owned()),
        "[a-z0-9_]{1,6}",
        "-?[0-9]{1,20}",
        "[ -~]{0,8}",
    ];
    prop::collection::vec(piece, 0..14).prop_map(|p| p.concat())
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        "[ -~]{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::json!("2024-02-29T10:00:00+01:00")),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| prop::collection::vec(inner, 0..3).prop_map(serde_json::Value::from))
}

fn item_row() -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![Just("id"), Just("name"), Just("qty"), Just("price"), Just("note"), Just("bogus")];
    prop::collection::btree_map(key, json_value(), 0..5)
        .prop_map(|m| serde_json::Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}

fn item_body() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![item_row(), prop::collection::vec(item_row(), 0..4).prop_map(serde_json::Value::from)]
}

fn assert_client_error(r: &restgate_testkit::TestResponse, what: &str) {
    assert!(r.status.as_u16() < 500, "{what} → {}: {}", r.status, r.text());
    if r.status.as_u16() >= 400 && !r.body.is_empty() {
        let v: serde_json::Value =
            serde_json::from_slice(&r.body).unwrap_or_else(|_| panic!("{what}: error body is not JSON: {}", r.text()));
        assert!(v["code"].is_string() && v["message"].is_string(), "{what}: {v}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_query_string_gives_a_server_error(
        q in query(),
        table in prop_oneof![Just("people"), Just("typed"), Just("adults")],
        range in prop::option::of("[0-9]{1,20}-[0-9]{0,20}"),
        prefer in prop_oneof![Just(""), Just("count=exact"), Just("count=planned")],
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let t = gate(&rt);
        let uri = format!("/{table}?{}", q.replace(['#', ' '], "%20"));
        if uri.parse::<http::Uri>().is_ok() {
            let mut req = t.req(Method::GET, &uri);
            if let Some(range) = &range {
                req = req.header("range", range);
            }
            if !prefer.is_empty() {
                req = req.header("prefer", prefer);
            }
            let r = rt.block_on(req.send());
            assert_client_error(&r, &uri);
        }
    }

    #[test]
    fn rejected_writes_change_nothing(body in item_body(), method in prop_oneof![Just(Method::POST), Just(Method::PATCH), Just(Method::PUT)], prefer in prop_oneof![Just(""), Just("return=representation"), Just("resolution=merge-duplicates"), Just("missing=default")]) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let t = gate(&rt);
        let before = rt.block_on(t.snapshot("items", "id"));
        let uri = match method { Method::PUT => "/items?id=eq.1", Method::PATCH => "/items?id=lt.3", _ => "/items?columns=id,name,qty,price,note" };
        let mut req = t.req(method.clone(), uri).json(body.clone());
        if !prefer.is_empty() {
            req = req.header("prefer", prefer);
        }
        let r = rt.block_on(req.send());
        assert_client_error(&r, &format!("{method} {uri} {body}"));
        if r.status.as_u16() >= 400 {
            prop_assert_eq!(rt.block_on(t.snapshot("items", "id")), before);
        }
    }
}
