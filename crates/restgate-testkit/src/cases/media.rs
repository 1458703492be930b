//! Response media types, OPTIONS, the API description, and Prefer handling.

use http::Method;
use serde_json::json;

const OBJECT: &str = "application/vnd.pgrst.object+json";

case!(singular_object, |t| {
    let r = t.req(Method::GET, "/people?select=id,name&id=eq.1").header("accept", OBJECT).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"id": 1, "name": "Ada"}));
    assert!(r.header("content-type").is_some_and(|c| c.starts_with(OBJECT)));
    let r = t.req(Method::GET, "/people?select=id&id=eq.2").header("accept", "application/vnd.pgrst.object").send().await;
    assert_eq!(r.json(), json!({"id": 2}));
});

case!(singular_with_zero_or_many_rows_is_406, |t| {
    let e = t.req(Method::GET, "/people?id=eq.999").header("accept", OBJECT).send().await.assert_error(406, "PGRST116");
    assert_eq!(e["details"], "The result contains 0 rows");
    let e = t.req(Method::GET, "/people?city=eq.Boston").header("accept", OBJECT).send().await.assert_error(406, "PGRST116");
    assert_eq!(e["details"], "The result contains 2 rows");
});

case!(csv_output, |t| {
    let r = t.req(Method::GET, "/people?select=id,name,age&id=in.(1,6)&order=id").header("accept", "text/csv").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(r.text(), "id,name,age\n1,Ada,36\n6,Linus,");
});

case!(csv_quotes_fields, |t| {
    let r = t.req(Method::GET, "/people?select=id,name,active&id=eq.8").header("accept", "text/csv").send().await;
    assert_eq!(r.text(), "id,name,active\n8,\"O'Neil, \"\"Jr\"\"\",true");
    let r = t.req(Method::GET, "/people?select=id&id=eq.999").header("accept", "text/csv").send().await;
    assert_eq!(r.text(), "id");
});

case!(nulls_stripped, |t| {
    let r = t
        .req(Method::GET, "/people?select=id,age,height,city&id=in.(3,6)&order=id")
        .header("accept", "application/vnd.pgrst.array+json;nulls=stripped")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([{"id": 3, "age": 85, "city": "Arlington"}, {"id": 6, "city": "Helsinki"}]));
    let r = t
        .req(Method::GET, "/people?select=id,age&id=eq.6")
        .header("accept", "application/vnd.pgrst.object+json;nulls=stripped")
        .send()
        .await;
    assert_eq!(r.json(), json!({"id": 6}));
});

case!(unknown_accept_is_406, |t| {
    let e = t.req(Method::GET, "/people").header("accept", "text/xml").send().await.assert_error(406, "PGRST107");
    assert!(e["message"].as_str().unwrap_or("").contains("text/xml"));
    // An acceptable type anywhere in the list wins.
    let r = t.req(Method::GET, "/people?limit=1").header("accept", "text/xml, application/json;q=0.5").send().await;
    assert_eq!(r.status, 200);
});

case!(options_lists_allowed_verbs, |t| {
    let r = t.req(Method::OPTIONS, "/items").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("allow"), Some("OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"));
    let r = t.req(Method::OPTIONS, "/adults").send().await;
    assert_eq!(r.header("allow"), Some("OPTIONS,GET,HEAD"));
    let r = t.req(Method::OPTIONS, "/no_pk").send().await;
    assert_eq!(r.header("allow"), Some("OPTIONS,GET,HEAD,POST,PATCH,DELETE"));
    t.req(Method::OPTIONS, "/nope").send().await.assert_error(404, "PGRST205");
});

case!(root_serves_openapi, |t| {
    let r = t.get("/").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/openapi+json")));
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/people"]["get"].is_object());
    assert!(doc["paths"]["/items"]["post"].is_object());
    assert!(doc["paths"]["/adults"]["post"].is_null());
    assert_eq!(doc["components"]["schemas"]["items"]["properties"]["qty"]["type"], "integer");
});

case!(strict_handling_rejects_invalid_prefs, |t| {
    let e = t
        .req(Method::GET, "/people")
        .header("prefer", "handling=strict, count=sometimes, bogus")
        .send()
        .await
        .assert_error(400, "PGRST122");
    let details = e["details"].as_str().unwrap_or("");
    assert!(details.contains("count=sometimes") && details.contains("bogus"), "{e}");
});

case!(lenient_handling_ignores_invalid_prefs, |t| {
    let r = t.req(Method::GET, "/people?limit=1").header("prefer", "count=sometimes").header("prefer", "bogus=1").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("preference-applied"), None);
    let r = t.req(Method::GET, "/people?limit=1").header("prefer", "handling=lenient, count=exact").send().await;
    assert_eq!(r.header("content-range"), Some("0-0/10"));
});
