//! Vertical filtering: `select=` columns, aliases, casts and JSON paths.

use serde_json::json;

case!(select_columns_and_aliases, |t| {
    let v = t.get_json("/people?select=id,fullName:name&id=lte.2&order=id").await;
    assert_eq!(v, json!([{"id": 1, "fullName": "Ada"}, {"id": 2, "fullName": "Alan"}]));
});

case!(star_returns_every_column_in_order, |t| {
    let v = t.get_json("/items?id=eq.1").await;
    let keys: Vec<&String> = v[0].as_object().expect("object").keys().collect();
    assert_eq!(keys, ["id", "name", "qty", "price", "note"]);
    assert_eq!(v, json!([{"id": 1, "name": "apple", "qty": 10, "price": 0.5, "note": "fruit"}]));
    let v = t.get_json("/items?select=*,n:name&id=eq.2").await;
    assert_eq!(v[0]["n"], "banana");
    assert_eq!(v[0]["note"], serde_json::Value::Null);
});

case!(casts_keep_the_column_name, |t| {
    let v = t.get_json("/people?select=id,age::text,balance::text&id=eq.1").await;
    assert_eq!(v[0]["age"], "36");
    assert!(v[0]["balance"].as_str().is_some_and(|b| b.starts_with("100.5")), "{v}");
    let v = t.get_json("/people?select=years:age::text&id=eq.2").await;
    assert_eq!(v, json!([{"years": "41"}]));
});

case!(json_paths_in_select, |t| {
    let v = t
        .get_json("/people?select=id,data->>blood_type,data->phones->0->>number,phones:data->phones,last:data->phones->-1->>number&id=eq.1")
        .await;
    assert_eq!(v, json!([{"id": 1, "blood_type": "A-", "number": "111", "phones": [{"number": "111"}, {"number": "112"}], "last": "112"}]));
    let v = t.get_json("/people?select=data->age&id=eq.2").await;
    assert_eq!(v, json!([{"age": 41}]));
    let v = t.get_json("/people?select=data->missing&id=eq.2").await;
    assert_eq!(v, json!([{"missing": null}]));
});

case!(unknown_column_in_select_is_400, |t| {
    let e = t.get("/people?select=id,secret").await.assert_error(400, "42703");
    assert!(e["message"].as_str().unwrap_or("").contains("secret"));
});

case!(unknown_cast_is_400, |t| {
    t.get("/people?select=age::nonsense").await.assert_error(400, "42704");
});

case!(aggregates_are_disabled, |t| {
    t.get("/people?select=age.sum()").await.assert_error(400, "PGRST123");
    t.get("/people?select=count()").await.assert_error(400, "PGRST123");
});

case!(embed_filter_without_embed_is_pgrst108, |t| {
    let e = t.get("/people?orders.amount=gt.5").await.assert_error(400, "PGRST108");
    assert!(e["message"].as_str().unwrap_or("").contains("orders"));
    t.get("/people?orders.order=amount").await.assert_error(400, "PGRST108");
});
