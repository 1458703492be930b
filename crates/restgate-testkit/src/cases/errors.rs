//! Error statuses and bodies for bad paths, names, verbs and formats.

use http::Method;

case!(unknown_table_is_404_with_hint, |t| {
    let e = t.get("/peeple").await.assert_error(404, "PGRST205");
    assert!(e["message"].as_str().unwrap_or("").contains("peeple"));
    assert!(e["hint"].as_str().unwrap_or("").contains("people"), "{e}");
    let e = t.get("/zzzzzzzz").await.assert_error(404, "PGRST205");
    assert!(e["hint"].is_null(), "{e}");
});

case!(parse_errors_point_at_the_input, |t| {
    let e = t.get("/people?age=gte").await.assert_error(400, "PGRST100");
    assert!(e["message"].as_str().unwrap_or("").contains("age=gte"), "{e}");
    let e = t.get("/people?age=foo.1").await.assert_error(400, "PGRST100");
    assert!(e["details"].as_str().unwrap_or("").contains("foo"), "{e}");
    let e = t.get("/people?select=id,name(").await.assert_error(400, "PGRST100");
    assert!(e["message"].as_str().unwrap_or("").contains("select"), "{e}");
    t.get("/people?id=in.1,2").await.assert_error(400, "PGRST100");
    t.get("/people?id=is.maybe").await.assert_error(400, "PGRST100");
    t.get("/people?id=eq(some).{1}").await.assert_error(400, "PGRST100");
    t.get("/people?id").await.assert_error(400, "PGRST100");
});

case!(invalid_path_is_404, |t| {
    t.get("/people/1").await.assert_error(404, "PGRST125");
});

case!(unsupported_method_is_405, |t| {
    t.req(Method::TRACE, "/people").send().await.assert_error(405, "PGRST117");
    t.req(Method::from_bytes(b"PURGE").expect("method"), "/people").send().await.assert_error(405, "PGRST117");
});

case!(unknown_function_is_404, |t| {
    t.post("/rpc/nope", serde_json::json!({})).send().await.assert_error(404, "PGRST202");
});

case!(unexposed_schema_is_406, |t| {
    let e = t.req(Method::GET, "/people").header("accept-profile", "secret").send().await.assert_error(406, "PGRST106");
    assert!(!e["details"].as_str().unwrap_or("").contains("secret"), "{e}");
    let schema = t.gate().catalog().default_schema().to_owned();
    let r = t.req(Method::GET, "/people?limit=1").header("accept-profile", &schema).send().await;
    assert_eq!(r.status, 200);
});

case!(problem_json_format, config = |b| b.error_format(restgate_core::ProblemJsonFormat), |t| {
    let r = t.get("/nope").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let v = r.json();
    assert_eq!(v["status"], 404);
    assert_eq!(v["code"], "PGRST205");
    assert!(v["title"].as_str().is_some_and(|s| s.contains("nope")));
});
