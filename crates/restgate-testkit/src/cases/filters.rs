//! Horizontal filters: operators, modifiers, logic trees, quoting.

use super::ids;

case!(eq_and_comparisons, |t| {
    assert_eq!(ids(&t.get_json("/people?age=eq.36").await), [1]);
    assert_eq!(ids(&t.get_json("/people?age=neq.36&age=lt.40&order=id").await), [5, 7, 8]);
    assert_eq!(ids(&t.get_json("/people?age=gt.70&order=id").await), [3, 4]);
    assert_eq!(ids(&t.get_json("/people?age=gte.72&order=id").await), [3, 4]);
    assert_eq!(ids(&t.get_json("/people?age=lte.17&order=id").await), [5, 7]);
});

case!(filters_are_anded, |t| {
    assert_eq!(ids(&t.get_json("/people?city=eq.Boston&active=is.true").await), [7]);
});

case!(like_is_case_sensitive_with_star, |t| {
    assert_eq!(ids(&t.get_json("/people?name=like.A*&order=id").await), [1, 2]);
    assert_eq!(ids(&t.get_json("/people?name=like.a*").await), Vec::<i64>::new());
    assert_eq!(ids(&t.get_json("/people?name=like.*ar*&order=id").await), [5, 7]);
    assert_eq!(ids(&t.get_json("/people?name=like.%25ar%25&order=id").await), [5, 7]);
});

case!(ilike_is_case_insensitive, |t| {
    assert_eq!(ids(&t.get_json("/people?city=ilike.PARIS&order=id").await), [9, 10]);
    assert_eq!(ids(&t.get_json("/people?name=ilike.a*&order=id").await), [1, 2]);
});

case!(like_escapes_percent_and_underscore, |t| {
    // `\%` and `\_` are literal; a bare `_` matches any one character.
    assert_eq!(ids(&t.get_json("/people?name=like.*100%5C%25").await), [9]);
    assert_eq!(ids(&t.get_json("/people?name=like.under%5C_score").await), [10]);
    assert_eq!(ids(&t.get_json("/people?name=like.under_score").await), [10]);
    assert_eq!(ids(&t.get_json("/people?name=like.under%5C_scor").await), Vec::<i64>::new());
});

case!(match_and_imatch, |t| {
    assert_eq!(ids(&t.get_json("/people?name=match.^A&order=id").await), [1, 2]);
    assert_eq!(ids(&t.get_json("/people?name=match.^a").await), Vec::<i64>::new());
    assert_eq!(ids(&t.get_json("/people?name=imatch.^a[dl]&order=id").await), [1, 2]);
    assert_eq!(ids(&t.get_json("/people?city=match.n$&order=id").await), [1, 3, 5, 7, 8]);
});

case!(invalid_regex_is_400, |t| {
    let r = t.get("/people?name=match.(unclosed").await;
    assert_eq!(r.status, 400, "{}", r.text());
});

case!(in_lists_with_quoted_values, |t| {
    let v = t.get_json(r#"/people?name=in.("O'Neil, \"Jr\"",Ada)&order=id"#).await;
    assert_eq!(ids(&v), [1, 8]);
    assert_eq!(ids(&t.get_json("/people?id=in.(3,1,2)&order=id").await), [1, 2, 3]);
    assert_eq!(ids(&t.get_json("/people?city=not.in.(London,Boston)&order=id").await), [2, 3, 6, 9, 10]);
});

case!(empty_in_list_matches_nothing, |t| {
    assert_eq!(t.get_json("/people?id=in.()").await, serde_json::json!([]));
});

case!(is_operators, |t| {
    assert_eq!(ids(&t.get_json("/people?age=is.null").await), [6]);
    assert_eq!(ids(&t.get_json("/people?age=is.NULL").await), [6]);
    assert_eq!(ids(&t.get_json("/people?height=is.not_null&order=id").await), [1, 2, 4, 5, 7]);
    assert_eq!(ids(&t.get_json("/people?active=is.false&order=id").await), [3, 5, 9]);
    assert_eq!(ids(&t.get_json("/people?active=is.true&order=id").await), [1, 2, 4, 6, 7, 8, 10]);
    assert_eq!(ids(&t.get_json("/people?age=not.is.null&age=lt.18&order=id").await), [5, 7]);
    assert_eq!(ids(&t.get_json("/typed?b_bool=is.unknown").await), [2]);
});

case!(isdistinct_counts_null_as_a_value, |t| {
    let v = t.get_json("/people?age=isdistinct.36&order=id").await;
    assert_eq!(ids(&v), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(ids(&t.get_json("/people?age=not.isdistinct.36").await), [1]);
});

case!(not_negates, |t| {
    // NOT (age = 36) is unknown for a NULL age, so that row is not returned.
    assert_eq!(ids(&t.get_json("/people?age=not.eq.36&age=gt.40&order=id").await), [2, 3, 4, 9, 10]);
    assert_eq!(ids(&t.get_json("/people?name=not.like.*a*&order=id").await), [4, 6, 8, 9, 10]);
});

case!(any_and_all_modifiers, |t| {
    assert_eq!(ids(&t.get_json("/people?name=like(any).{A*,G*}&order=id").await), [1, 2, 3]);
    assert_eq!(ids(&t.get_json("/people?name=like(all).{A*,*a}").await), [1]);
    assert_eq!(ids(&t.get_json("/people?id=eq(any).{2,4}&order=id").await), [2, 4]);
    assert_eq!(ids(&t.get_json("/people?age=gt(all).{40,60}&order=id").await), [3, 4]);
    assert_eq!(ids(&t.get_json("/people?name=ilike(any).{ada,GRACE}&order=id").await), [1, 3]);
    assert_eq!(ids(&t.get_json(r#"/people?name=eq(any).{"O'Neil, \"Jr\"",Linus}&order=id"#).await), [6, 8]);
});

case!(or_and_trees, |t| {
    assert_eq!(ids(&t.get_json("/people?or=(age.lt.18,age.gt.80)&order=id").await), [3, 5, 7]);
    assert_eq!(ids(&t.get_json("/people?or=(id.eq.1,and(city.eq.Boston,active.is.true))&order=id").await), [1, 7]);
    assert_eq!(ids(&t.get_json("/people?not.or=(age.lt.50,age.is.null)&order=id").await), [3, 4, 9, 10]);
    assert_eq!(ids(&t.get_json("/people?and=(age.gte.30,age.lte.40)&order=id").await), [1, 8]);
    assert_eq!(ids(&t.get_json("/people?or=(id.eq.2,not.and(age.gte.11,age.lte.90))&order=id").await), [2]);
    assert_eq!(ids(&t.get_json("/people?or=(name.like(any).{Ad*,Al*},id.in.(9,10))&order=id").await), [1, 2, 9, 10]);
    // Several trees and plain filters are ANDed.
    assert_eq!(ids(&t.get_json("/people?or=(city.eq.Boston,city.eq.London)&or=(age.lt.18,age.gt.35)&order=id").await), [1, 5, 7]);
});

case!(logic_tree_quoting, |t| {
    assert_eq!(ids(&t.get_json(r#"/people?or=(name.eq."O'Neil, \"Jr\"",id.eq.1)&order=id"#).await), [1, 8]);
    assert_eq!(ids(&t.get_json(r#"/people?or=(name.eq."percent 100%25",name.eq."a(b)")"#).await), [9]);
    let r = t.get("/people?or=(id.eq.1,id.eq.2").await;
    r.assert_error(400, "PGRST100");
});

case!(json_path_filters, |t| {
    assert_eq!(ids(&t.get_json("/people?data->>blood_type=eq.A-").await), [1]);
    assert_eq!(ids(&t.get_json("/people?data->age=gt.40&order=id").await), [2, 3]);
    assert_eq!(ids(&t.get_json("/people?data->phones->0->>number=eq.111").await), [1]);
    assert_eq!(ids(&t.get_json("/people?data->>blood_type=like.*%2B&order=id").await), [2, 3]);
    assert_eq!(ids(&t.get_json("/people?data->>blood_type=is.null&data=not.is.null&order=id").await), [5, 6]);
});

case!(typed_filters, |t| {
    assert_eq!(ids(&t.get_json("/people?balance=gt.10&order=id").await), [1, 2]);
    assert_eq!(ids(&t.get_json("/people?balance=lt.0").await), [5]);
    assert_eq!(ids(&t.get_json("/people?height=gte.1.78&order=id").await), [2, 4]);
    assert_eq!(ids(&t.get_json("/people?born=lt.1900-01-01").await), [1]);
    assert_eq!(ids(&t.get_json("/people?created_at=gte.2024-01-03T00:00:00&order=id").await), [3, 5]);
    assert_eq!(ids(&t.get_json("/people?created_at=eq.2024-01-02 11:30:00").await), [2]);
    assert_eq!(ids(&t.get_json("/people?active=eq.false&order=id").await), [3, 5, 9]);
    assert_eq!(ids(&t.get_json("/typed?u_uuid=eq.A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").await), [1]);
});

case!(views_are_readable, |t| {
    assert_eq!(ids(&t.get_json("/adults?order=id").await), [1, 2, 3, 4, 8, 9, 10]);
    assert_eq!(ids(&t.get_json("/adults?age=lt.40&order=id").await), [1, 8]);
});

case!(percent_encoded_names, |t| {
    let v = t.get_json("/with%20space?the%20value=eq.spaced&select=id,the%20value").await;
    assert_eq!(v, serde_json::json!([{"id": 1, "the value": "spaced"}]));
});

case!(unknown_column_in_filter_is_400, |t| {
    let e = t.get("/people?nope=eq.1").await.assert_error(400, "42703");
    assert!(e["message"].as_str().unwrap_or("").contains("nope"), "{e}");
});

case!(bad_value_type_in_filter_is_400, |t| {
    t.get("/people?age=eq.old").await.assert_error(400, "22P02");
    t.get("/people?born=gt.yesterday").await.assert_error(400, "22007");
    t.get("/people?active=eq.maybe").await.assert_error(400, "22P02");
});
