//! Ordering, limit/offset, the Range header, counts and their statuses.

use serde_json::json;

use super::ids;

case!(order_with_nulls_placement, |t| {
    // PostgreSQL's rules everywhere: ascending puts NULLs last, descending first.
    assert_eq!(ids(&t.get_json("/people?select=id&order=age&age=gte.50").await), [9, 10, 4, 3]);
    assert_eq!(ids(&t.get_json("/people?select=id&order=age&or=(age.gte.80,age.is.null)").await), [3, 6]);
    assert_eq!(ids(&t.get_json("/people?select=id&order=age.desc&or=(age.gte.80,age.is.null)").await), [6, 3]);
    assert_eq!(ids(&t.get_json("/people?select=id&order=age.nullsfirst&or=(age.gte.80,age.is.null)").await), [6, 3]);
    assert_eq!(ids(&t.get_json("/people?select=id&order=age.desc.nullslast&or=(age.gte.80,age.is.null)").await), [3, 6]);
});

case!(order_by_several_columns, |t| {
    assert_eq!(ids(&t.get_json("/people?select=id&city=in.(Boston,London)&order=city.desc,age.asc").await), [8, 1, 5, 7]);
    assert_eq!(ids(&t.get_json("/people?select=id&order=data->>blood_type.desc.nullslast,id&limit=3").await), [2, 3, 1]);
});

case!(unknown_order_column_is_400, |t| {
    t.get("/people?order=nope.desc").await.assert_error(400, "42703");
    t.get("/people?order=age.sideways").await.assert_error(400, "PGRST100");
});

case!(limit_and_offset, |t| {
    let r = t.get("/people?select=id&order=id&limit=2").await;
    assert_eq!(r.status, 200);
    assert_eq!(ids(&r.json()), [1, 2]);
    assert_eq!(r.header("content-range"), Some("0-1/*"));
    let r = t.get("/people?select=id&order=id&limit=2&offset=3").await;
    assert_eq!(ids(&r.json()), [4, 5]);
    assert_eq!(r.header("content-range"), Some("3-4/*"));
    let r = t.get("/people?select=id&order=id&offset=8").await;
    assert_eq!(ids(&r.json()), [9, 10]);
    assert_eq!(r.header("content-range"), Some("8-9/*"));
    // A negative offset is ignored.
    assert_eq!(ids(&t.get_json("/people?select=id&order=id&offset=-3&limit=1").await), [1]);
});

case!(exact_count_gives_206_and_total, |t| {
    let r = t.req(http::Method::GET, "/people?select=id&order=id&limit=2&offset=2").header("prefer", "count=exact").send().await;
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("2-3/10"));
    assert_eq!(r.header("preference-applied"), Some("count=exact"));
    let r = t.req(http::Method::GET, "/people?select=id").header("prefer", "count=exact").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-range"), Some("0-9/10"));
    let r = t.req(http::Method::GET, "/people?select=id&age=gt.100").header("prefer", "count=exact").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-range"), Some("*/0"));
    let r = t.req(http::Method::GET, "/people?city=eq.Boston&limit=1").header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (206, Some("0-0/2")));
});

case!(offset_past_total_is_416, |t| {
    let r = t.req(http::Method::GET, "/people?offset=100").header("prefer", "count=exact").send().await;
    let e = r.assert_error(416, "PGRST103");
    assert_eq!(r.header("content-range"), Some("*/10"));
    assert!(e["details"].as_str().unwrap_or("").contains("100"), "{e}");
});

case!(offset_past_end_without_count_is_empty, |t| {
    let r = t.get("/people?offset=100").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([]));
    assert_eq!(r.header("content-range"), Some("*/*"));
});

case!(limit_zero_is_empty, |t| {
    let r = t.get("/people?limit=0").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([]));
    assert_eq!(r.header("content-range"), Some("*/*"));
});

case!(range_header, |t| {
    let r = t.req(http::Method::GET, "/people?select=id&order=id").header("range", "0-2").header("range-unit", "items").send().await;
    assert_eq!(ids(&r.json()), [1, 2, 3]);
    assert_eq!(r.header("content-range"), Some("0-2/*"));
    let r = t.req(http::Method::GET, "/people?select=id&order=id").header("range", "7-").send().await;
    assert_eq!(ids(&r.json()), [8, 9, 10]);
    let r = t.req(http::Method::GET, "/people?select=id&order=id").header("range", "1-2").header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (206, Some("1-2/10")));
});

case!(range_header_intersects_limit, |t| {
    let r = t.req(http::Method::GET, "/people?select=id&order=id&limit=2").header("range", "0-5").send().await;
    assert_eq!(ids(&r.json()), [1, 2]);
    let r = t.req(http::Method::GET, "/people?select=id&order=id&offset=3").header("range", "0-4").send().await;
    assert_eq!(ids(&r.json()), [4, 5]);
});

case!(inverted_range_is_416, |t| {
    let e = t.req(http::Method::GET, "/people").header("range", "5-2").send().await.assert_error(416, "PGRST103");
    assert!(e["details"].as_str().unwrap_or("").contains("lower boundary"), "{e}");
});

case!(negative_limit_is_416, |t| {
    t.get("/people?limit=-1").await.assert_error(416, "PGRST103");
    t.get("/people?limit=ten").await.assert_error(400, "PGRST100");
});

case!(max_rows_caps_every_read, config = |b| b.max_rows(3), |t| {
    assert_eq!(ids(&t.get_json("/people?select=id&order=id").await), [1, 2, 3]);
    assert_eq!(ids(&t.get_json("/people?select=id&order=id&limit=5").await), [1, 2, 3]);
    assert_eq!(ids(&t.get_json("/people?select=id&order=id&limit=2").await), [1, 2]);
    let r = t.req(http::Method::GET, "/people?select=id&order=id").header("range", "2-9").header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (206, Some("2-4/10")));
});

case!(head_has_headers_only, |t| {
    let r = t.req(http::Method::HEAD, "/people?limit=2").header("prefer", "count=exact").send().await;
    assert_eq!(r.status, 206);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-range"), Some("0-1/10"));
    assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/json")));
    let r = t.req(http::Method::HEAD, "/nope").send().await;
    assert_eq!(r.status, 404);
    assert!(r.body.is_empty());
});

case!(planned_count_gives_a_total, |t| {
    for kind in ["planned", "estimated"] {
        let r = t.req(http::Method::GET, "/people?limit=1").header("prefer", &format!("count={kind}")).send().await;
        let range = r.header("content-range").unwrap_or("").to_owned();
        let total = range.rsplit('/').next().unwrap_or("*");
        assert!(total.parse::<u64>().is_ok(), "count={kind} gave {range}");
        assert_eq!(r.header("preference-applied"), Some(format!("count={kind}").as_str()));
    }
});

case!(huge_ranges_are_safe, |t| {
    let r = t.req(http::Method::GET, "/people?select=id").header("range", "0-18446744073709551615").send().await;
    assert_eq!((r.status.as_u16(), ids(&r.json()).len()), (200, 10));
    let r = t.req(http::Method::GET, "/people?select=id").header("range", "18446744073709551615-").send().await;
    assert_eq!((r.status.as_u16(), r.json()), (200, json!([])));
    let r = t.get("/people?select=id&limit=9223372036854775807&offset=9223372036854775807").await;
    assert_eq!((r.status.as_u16(), r.json()), (200, json!([])));
    let r = t.req(http::Method::GET, "/people?select=id&offset=5&order=id").header("range", "0-9223372036854775807").send().await;
    assert_eq!(ids(&r.json()), [6, 7, 8, 9, 10]);
});

case!(content_location_lists_sorted_parameters, |t| {
    let r = t.get("/people?select=id&order=id&limit=1&age=gt.1").await;
    assert_eq!(r.header("content-location"), Some("/people?age=gt.1&limit=1&order=id&select=id"));
    let r = t.get("/people").await;
    assert_eq!(r.header("content-location"), Some("/people"));
});
