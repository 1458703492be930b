//! Unit tests of the request parser: query grammar, headers, bodies and paths.
//!
//! Most tests are table-driven: each row is an input and the value (or the
//! error code) the contract in POSTGREST-CONTRACT.md §2–9 asks for.

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{json, Value};

use super::*;

// ---------------------------------------------------------------------------
// Helpers

fn parse_with(method: Method, path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<ApiRequest, ApiError> {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    ApiRequest::parse(&method, path, Some(query), &map, body)
}

fn get(query: &str) -> Result<ApiRequest, ApiError> {
    parse_with(Method::GET, "/t", query, &[], b"")
}

#[track_caller]
fn ok(query: &str) -> ApiRequest {
    get(query).unwrap_or_else(|e| panic!("GET /t?{query} should parse, got {e:?}"))
}

#[track_caller]
fn expect_err<T: std::fmt::Debug>(r: Result<T, ApiError>, status: u16, code: &str, context: &str) -> ApiError {
    match r {
        Ok(req) => panic!("{context}: expected {status} {code}, parsed as {req:?}"),
        Err(e) => {
            assert_eq!((e.status.as_u16(), e.code.as_ref()), (status, code), "{context}: wrong error {e:?}");
            e
        }
    }
}

#[track_caller]
fn assert_pgrst100(query: &str) -> ApiError {
    expect_err(get(query), 400, "PGRST100", query)
}

/// The single top-level filter of `GET /t?{query}`.
#[track_caller]
fn only_filter(query: &str) -> Filter {
    let req = ok(query);
    assert_eq!(req.filters.len(), 1, "{query}: {:?}", req.filters);
    req.filters.into_iter().next().unwrap()
}

/// The single top-level logic tree of `GET /t?{query}`.
#[track_caller]
fn only_tree(query: &str) -> LogicTree {
    let req = ok(query);
    assert_eq!(req.logic.len(), 1, "{query}: {:?}", req.logic);
    assert!(req.filters.is_empty(), "{query}: {:?}", req.filters);
    req.logic.into_iter().next().unwrap()
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| s(x)).collect()
}

fn cmp(op: Operator, operand: &str) -> Operation {
    Operation::Compare(op, s(operand))
}

fn filter(field: Field, negate: bool, operation: Operation) -> Filter {
    Filter { field, negate, operation }
}

fn leaf(column: &str, negate: bool, operation: Operation) -> LogicNode {
    LogicNode::Filter(filter(Field::column(column), negate, operation))
}

fn tree(op: LogicOp, negate: bool, children: Vec<LogicNode>) -> LogicTree {
    LogicTree { op, negate, children }
}

/// `jp("data", &["->a", "->>b", "->0"])`: a field with a JSON path.
fn jp(name: &str, steps: &[&str]) -> Field {
    let json_path = steps
        .iter()
        .map(|st| {
            let (as_text, k) = match st.strip_prefix("->>") {
                Some(k) => (true, k),
                None => (false, st.strip_prefix("->").expect("step starts with an arrow")),
            };
            let key = k.parse::<i64>().map(JsonKey::Index).unwrap_or_else(|_| JsonKey::Name(s(k)));
            JsonStep { as_text, key }
        })
        .collect();
    Field { name: s(name), json_path }
}

fn col(name: &str) -> SelectItem {
    field_item(Field::column(name), None, None, None)
}

fn field_item(field: Field, alias: Option<&str>, cast: Option<&str>, aggregate: Option<&str>) -> SelectItem {
    SelectItem::Field { field, alias: alias.map(s), cast: cast.map(s), aggregate: aggregate.map(s) }
}

fn embed(relation: &str, alias: Option<&str>, hint: Option<&str>, inner: bool, spread: bool, select: Vec<SelectItem>) -> SelectItem {
    SelectItem::Embed(Box::new(EmbedItem { relation: s(relation), alias: alias.map(s), hint: hint.map(s), inner, spread, select }))
}

fn order(field: Field, direction: Option<Direction>, nulls: Option<Nulls>) -> OrderTerm {
    OrderTerm { relation: None, field, direction, nulls }
}

fn scoped(path: &[&str], item: EmbedParam) -> Scoped<EmbedParam> {
    Scoped { path: strings(path), item }
}

fn with_headers(method: Method, path: &str, headers: &[(&str, &str)]) -> Result<ApiRequest, ApiError> {
    parse_with(method, path, "", headers, b"{}")
}

fn prefer(values: &[&str]) -> Result<Preferences, ApiError> {
    let headers: Vec<(&str, &str)> = values.iter().map(|v| ("prefer", *v)).collect();
    with_headers(Method::POST, "/t", &headers).map(|r| r.prefer)
}

#[track_caller]
fn accept_on(path: &str, values: &[&str]) -> Result<Accept, ApiError> {
    let headers: Vec<(&str, &str)> = values.iter().map(|v| ("accept", *v)).collect();
    with_headers(Method::GET, path, &headers).map(|r| r.accept)
}

fn body(content_type: Option<&str>, query: &str, body: &[u8]) -> Result<Payload, ApiError> {
    let headers: Vec<(&str, &str)> = content_type.map(|ct| ("content-type", ct)).into_iter().collect();
    parse_with(Method::POST, "/t", query, &headers, body).map(|r| r.payload.expect("POST has a payload"))
}

fn row(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

// ---------------------------------------------------------------------------
// Operators

#[test]
fn every_scalar_operator_parses_to_a_comparison() {
    let cases = [
        ("a=eq.30", Operator::Eq, "30"),
        ("a=neq.done", Operator::Neq, "done"),
        ("a=gt.1", Operator::Gt, "1"),
        ("a=gte.18", Operator::Gte, "18"),
        ("a=lt.5", Operator::Lt, "5"),
        ("a=lte.5", Operator::Lte, "5"),
        ("a=like.Jo*", Operator::Like, "Jo*"),
        ("a=ilike.*smith*", Operator::ILike, "*smith*"),
        ("a=match.^A[0-9]%2B$", Operator::Match, "^A[0-9]+$"),
        ("a=imatch.^jo", Operator::IMatch, "^jo"),
        ("a=cs.{urgent,new}", Operator::Contains, "{urgent,new}"),
        ("a=cd.{1,2,3}", Operator::ContainedIn, "{1,2,3}"),
        ("a=ov.[2017-01-01,2017-06-30]", Operator::Overlap, "[2017-01-01,2017-06-30]"),
        ("a=ov.{1,2}", Operator::Overlap, "{1,2}"),
        ("a=sl.(1,10)", Operator::StrictlyLeft, "(1,10)"),
        ("a=sr.(1,10)", Operator::StrictlyRight, "(1,10)"),
        ("a=nxr.(1,10)", Operator::NotExtendRight, "(1,10)"),
        ("a=nxl.(1,10)", Operator::NotExtendLeft, "(1,10)"),
        ("a=adj.(1,10)", Operator::Adjacent, "(1,10)"),
        ("a=cs.%7B%22k%22:1%7D", Operator::Contains, "{\"k\":1}"),
    ];
    for (query, op, operand) in cases {
        assert_eq!(only_filter(query), filter(Field::column("a"), false, cmp(op, operand)), "{query}");
        assert_eq!(op.name(), query[2..].split('.').next().unwrap(), "{query}: name() round-trips");
    }
}

#[test]
fn full_text_operators_parse_with_and_without_a_language() {
    let cases = [
        ("tsv=fts.cat", FtsOperator::Fts, None, "cat"),
        ("tsv=fts(english).cat", FtsOperator::Fts, Some("english"), "cat"),
        ("tsv=fts(french).amusant", FtsOperator::Fts, Some("french"), "amusant"),
        ("tsv=plfts.The%20Fat%20Cats", FtsOperator::Plain, None, "The Fat Cats"),
        ("tsv=plfts(english).fat", FtsOperator::Plain, Some("english"), "fat"),
        ("tsv=phfts.fat%20cats", FtsOperator::Phrase, None, "fat cats"),
        ("tsv=phfts(english).fat%20cats", FtsOperator::Phrase, Some("english"), "fat cats"),
        ("tsv=wfts.cat%20-rat", FtsOperator::Websearch, None, "cat -rat"),
        ("tsv=wfts(simple).cat%20or%20rat", FtsOperator::Websearch, Some("simple"), "cat or rat"),
        ("tsv=fts.a.b", FtsOperator::Fts, None, "a.b"),
    ];
    for (query, op, lang, term) in cases {
        assert_eq!(only_filter(query).operation, Operation::Fts(op, lang.map(s), s(term)), "{query}");
    }
}

#[test]
fn not_prefix_negates_every_kind_of_operation() {
    let cases = [
        ("a=not.eq.1", cmp(Operator::Eq, "1")),
        ("a=not.like.Jo*", cmp(Operator::Like, "Jo*")),
        ("a=not.adj.(1,10)", cmp(Operator::Adjacent, "(1,10)")),
        ("a=not.in.(1,2)", Operation::In(strings(&["1", "2"]))),
        ("a=not.is.null", Operation::Is(IsValue::Null)),
        ("a=not.isdistinct.5", Operation::IsDistinct(s("5"))),
        ("a=not.phfts(english).fat%20cats", Operation::Fts(FtsOperator::Phrase, Some(s("english")), s("fat cats"))),
        ("a=not.eq(any).{1,2}", Operation::Quantified(Operator::Eq, Quantifier::Any, strings(&["1", "2"]))),
    ];
    for (query, operation) in cases {
        assert_eq!(only_filter(query), filter(Field::column("a"), true, operation), "{query}");
    }
    // Without `not.` nothing is negated; `not` alone is not an operator.
    assert!(!only_filter("a=eq.1").negate);
    for query in ["a=not.", "a=not.1", "a=not.not.eq.1", "a=not"] {
        assert_pgrst100(query);
    }
}

#[test]
fn is_accepts_its_five_values_case_insensitively() {
    let cases = [
        ("null", IsValue::Null),
        ("NULL", IsValue::Null),
        ("Null", IsValue::Null),
        ("not_null", IsValue::NotNull),
        ("NOT_NULL", IsValue::NotNull),
        ("true", IsValue::True),
        ("TRUE", IsValue::True),
        ("false", IsValue::False),
        ("False", IsValue::False),
        ("unknown", IsValue::Unknown),
        ("UnKnOwN", IsValue::Unknown),
    ];
    for (operand, v) in cases {
        let query = format!("a=is.{operand}");
        assert_eq!(only_filter(&query).operation, Operation::Is(v), "{query}");
    }
}

#[test]
fn is_with_any_other_value_is_pgrst100() {
    for query in ["a=is.nil", "a=is.", "a=is.1", "a=is.notnull", "a=is.not%20null", "a=is.null.x", "a=is(any).null"] {
        assert_pgrst100(query);
    }
}

#[test]
fn isdistinct_takes_a_scalar_operand() {
    assert_eq!(only_filter("a=isdistinct.5").operation, Operation::IsDistinct(s("5")));
    assert_eq!(only_filter("a=isdistinct.").operation, Operation::IsDistinct(s("")));
}

#[test]
fn any_and_all_modifiers_parse_on_every_quantifiable_operator() {
    let ops = [
        ("eq", Operator::Eq),
        ("gt", Operator::Gt),
        ("gte", Operator::Gte),
        ("lt", Operator::Lt),
        ("lte", Operator::Lte),
        ("like", Operator::Like),
        ("ilike", Operator::ILike),
        ("match", Operator::Match),
        ("imatch", Operator::IMatch),
    ];
    for (name, op) in ops {
        for (m, q) in [("any", Quantifier::Any), ("all", Quantifier::All)] {
            let query = format!("last_name={name}({m}).{{O*,P*}}");
            assert_eq!(only_filter(&query).operation, Operation::Quantified(op, q, strings(&["O*", "P*"])), "{query}");
        }
    }
    // Quoted elements may hold commas; the empty array is allowed.
    assert_eq!(
        only_filter("a=like(all).{\"a,b\",*n}").operation,
        Operation::Quantified(Operator::Like, Quantifier::All, strings(&["a,b", "*n"]))
    );
    assert_eq!(only_filter("a=eq(any).{}").operation, Operation::Quantified(Operator::Eq, Quantifier::Any, vec![]));
}

#[test]
fn modifier_on_an_operator_that_takes_none_is_pgrst100() {
    for query in [
        "a=in(any).(1,2)",
        "a=cs(any).{1}",
        "a=cd(all).{1}",
        "a=ov(any).{1}",
        "a=neq(any).{1}",
        "a=sl(any).{1}",
        "a=sr(all).{1}",
        "a=nxr(any).{1}",
        "a=nxl(any).{1}",
        "a=adj(any).{1}",
        "a=is(any).null",
        "a=isdistinct(any).5",
        "a=isdistinct(all).{5}",
    ] {
        assert_pgrst100(query);
    }
}

#[test]
fn unknown_modifier_or_non_array_operand_is_pgrst100() {
    for query in ["a=eq(some).{1}", "a=eq().{1}", "a=eq(any).1", "a=like(any).(a,b)", "a=eq(any", "a=eq(any){1}", "a=eq(any).{1"] {
        assert_pgrst100(query);
    }
}

#[test]
fn unknown_operator_is_pgrst100() {
    for query in ["a=equals.1", "a=EQ.1", "a=foo.bar", "a=ne.1", "a=.1", "a=(any).1", "a=between.1"] {
        let e = assert_pgrst100(query);
        assert!(e.message.contains("failed to parse filter"), "{query}: {}", e.message);
    }
}

#[test]
fn operand_may_contain_dots_and_reserved_characters() {
    let cases = [
        ("a=eq.1.5", Operator::Eq, "1.5"),
        ("a=eq.a.b.c", Operator::Eq, "a.b.c"),
        ("a=like.*.txt", Operator::Like, "*.txt"),
        ("a=eq.", Operator::Eq, ""),
        ("a=eq.x:y", Operator::Eq, "x:y"),
        ("a=eq.(x)", Operator::Eq, "(x)"),
        ("a=eq.not.x", Operator::Eq, "not.x"),
        ("a=gt.2017-01-01T00:00:00.000Z", Operator::Gt, "2017-01-01T00:00:00.000Z"),
    ];
    for (query, op, operand) in cases {
        assert_eq!(only_filter(query).operation, cmp(op, operand), "{query}");
    }
}

#[test]
fn top_level_scalar_operand_keeps_its_quotes() {
    // Quotes only delimit values inside lists and logic trees.
    assert_eq!(only_filter("a=eq.\"x,y\"").operation, cmp(Operator::Eq, "\"x,y\""));
}

#[test]
fn filter_key_may_be_a_json_path_or_a_quoted_name() {
    let cases = [
        ("data->>blood_type=eq.A-", jp("data", &["->>blood_type"])),
        ("data->age=gt.20", jp("data", &["->age"])),
        ("location->lat=gte.19", jp("location", &["->lat"])),
        ("data->phones->0->>number=eq.1", jp("data", &["->phones", "->0", "->>number"])),
        ("arr->-1=eq.1", jp("arr", &["->-1"])),
        ("%22information.cpe%22=like.*MS*", Field::column("information.cpe")),
        ("Unit%20Price=lt.200", Field::column("Unit Price")),
        ("first-name=eq.x", Field::column("first-name")),
    ];
    for (query, field) in cases {
        assert_eq!(only_filter(query).field, field, "{query}");
    }
}

#[test]
fn malformed_filter_key_is_pgrst100() {
    for query in ["a->=eq.1", "a->b.c=eq.1", "%22a=eq.1", "=eq.1", "a..b=eq.1", "a-%3E%3E=eq.1"] {
        assert_pgrst100(query);
    }
}

#[test]
fn filter_with_an_embed_prefix_lands_in_embed_params() {
    let req = ok("select=*,roles(*)&roles.character=in.(Chico,Harpo)&roles.films.year=gt.1930");
    assert!(req.filters.is_empty());
    assert_eq!(
        req.embed_params,
        vec![
            scoped(&["roles"], EmbedParam::Filter(filter(Field::column("character"), false, Operation::In(strings(&["Chico", "Harpo"]))))),
            scoped(&["roles", "films"], EmbedParam::Filter(filter(Field::column("year"), false, cmp(Operator::Gt, "1930")))),
        ]
    );
}

#[test]
fn filters_on_the_same_level_are_collected_in_order() {
    let req = ok("grade=gte.90&student=is.true&grade=lt.100");
    let names: Vec<&str> = req.filters.iter().map(|f| f.field.name.as_str()).collect();
    assert_eq!(names, ["grade", "student", "grade"]);
}

// ---------------------------------------------------------------------------
// in-lists

#[test]
fn in_lists_split_on_commas_outside_quotes() {
    let cases: [(&str, &[&str]); 10] = [
        ("id=in.(1,2,3)", &["1", "2", "3"]),
        ("id=in.(1)", &["1"]),
        ("id=in.()", &[]),
        ("name=in.(%22Hebdon,John%22,%22Williams,Mary%22)", &["Hebdon,John", "Williams,Mary"]),
        ("name=in.(\"a\\\"b\",\"c\\\\d\")", &["a\"b", "c\\d"]),
        ("name=in.(\"a(b)c\",\"x.y\")", &["a(b)c", "x.y"]),
        ("name=in.(\"\",x)", &["", "x"]),
        ("name=in.(a,,b)", &["a", "", "b"]),
        ("name=in.(1.5,2.5)", &["1.5", "2.5"]),
        ("name=in.(\"\\n\")", &["\\n"]),
    ];
    for (query, items) in cases {
        assert_eq!(only_filter(query).operation, Operation::In(strings(items)), "{query}");
    }
}

#[test]
fn malformed_in_list_is_pgrst100() {
    for query in ["id=in.1,2", "id=in.(1,2", "id=in.1,2)", "id=in.(\"a,b)", "id=in.(\"a\"b)", "id=in.", "id=in", "id=in.[1,2]"] {
        assert_pgrst100(query);
    }
}

// ---------------------------------------------------------------------------
// Values with no operator: table vs RPC

#[test]
fn value_without_operator_on_a_table_is_pgrst100() {
    for query in ["a=1", "a=", "a", "a=hello", "a=%7B1,2%7D", "a=eq", "a=foo.bar"] {
        assert_pgrst100(query);
    }
}

#[test]
fn value_without_operator_on_rpc_is_an_argument() {
    let req = parse_with(
        Method::GET,
        "/rpc/f",
        "a=1&b=hello%20world&v=1&v=2&arr=%7B1,2,3%7D&n=not.x&e=eq&empty=&c=eq.1&select=x&limit=3",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(req.target, Target::Rpc(s("f")));
    let args: Vec<(&str, &str)> = req.args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        args,
        [("a", "1"), ("b", "hello world"), ("v", "1"), ("v", "2"), ("arr", "{1,2,3}"), ("n", "not.x"), ("e", "eq"), ("empty", "")]
    );
    // A value with an operator is still a filter on the function's result; reserved words stay reserved.
    assert_eq!(req.filters, vec![filter(Field::column("c"), false, cmp(Operator::Eq, "1"))]);
    assert_eq!(req.select, vec![col("x")]);
    assert_eq!(req.limit, Some(3));
}

#[test]
fn rpc_filter_with_a_bad_operand_is_still_pgrst100() {
    expect_err(parse_with(Method::GET, "/rpc/f", "a=in.1", &[], b""), 400, "PGRST100", "in without parens");
    expect_err(parse_with(Method::GET, "/rpc/f", "a->b=1", &[], b""), 400, "PGRST100", "json path argument");
}

// ---------------------------------------------------------------------------
// Logic trees

#[test]
fn or_and_and_keys_build_trees() {
    assert_eq!(
        only_tree("or=(a.eq.1,b.gt.2)"),
        tree(LogicOp::Or, false, vec![leaf("a", false, cmp(Operator::Eq, "1")), leaf("b", false, cmp(Operator::Gt, "2"))])
    );
    assert_eq!(only_tree("and=(a.eq.1)"), tree(LogicOp::And, false, vec![leaf("a", false, cmp(Operator::Eq, "1"))]));
}

#[test]
fn not_or_and_not_and_keys_negate_the_whole_tree() {
    assert_eq!(
        only_tree("not.or=(a.eq.1,b.eq.2)"),
        tree(LogicOp::Or, true, vec![leaf("a", false, cmp(Operator::Eq, "1")), leaf("b", false, cmp(Operator::Eq, "2"))])
    );
    assert_eq!(only_tree("not.and=(a.is.null)"), tree(LogicOp::And, true, vec![leaf("a", false, Operation::Is(IsValue::Null))]));
}

#[test]
fn trees_nest_with_and_or_and_their_negations() {
    let req = ok("grade=gte.90&student=is.true&or=(age.eq.14,not.and(age.gte.11,age.lte.17))");
    assert_eq!(req.filters.len(), 2);
    assert_eq!(
        req.logic,
        vec![tree(
            LogicOp::Or,
            false,
            vec![
                leaf("age", false, cmp(Operator::Eq, "14")),
                LogicNode::Tree(tree(
                    LogicOp::And,
                    true,
                    vec![leaf("age", false, cmp(Operator::Gte, "11")), leaf("age", false, cmp(Operator::Lte, "17"))]
                )),
            ]
        )]
    );
    assert_eq!(
        only_tree("and=(or(a.eq.1,and(b.eq.2,c.eq.3)),not.or(d.eq.4))"),
        tree(
            LogicOp::And,
            false,
            vec![
                LogicNode::Tree(tree(
                    LogicOp::Or,
                    false,
                    vec![
                        leaf("a", false, cmp(Operator::Eq, "1")),
                        LogicNode::Tree(tree(
                            LogicOp::And,
                            false,
                            vec![leaf("b", false, cmp(Operator::Eq, "2")), leaf("c", false, cmp(Operator::Eq, "3"))]
                        )),
                    ]
                )),
                LogicNode::Tree(tree(LogicOp::Or, true, vec![leaf("d", false, cmp(Operator::Eq, "4"))])),
            ]
        )
    );
}

#[test]
fn tree_leaves_take_not_and_every_operation_kind() {
    assert_eq!(
        only_tree("or=(a.not.eq.1,b.is.NULL,c.isdistinct.3,d.fts(english).cat,e.not.is.null)"),
        tree(
            LogicOp::Or,
            false,
            vec![
                leaf("a", true, cmp(Operator::Eq, "1")),
                leaf("b", false, Operation::Is(IsValue::Null)),
                leaf("c", false, Operation::IsDistinct(s("3"))),
                leaf("d", false, Operation::Fts(FtsOperator::Fts, Some(s("english")), s("cat"))),
                leaf("e", true, Operation::Is(IsValue::Null)),
            ]
        )
    );
}

#[test]
fn quoted_values_in_trees_may_hold_commas_parentheses_and_escapes() {
    let cases: [(&str, Vec<LogicNode>); 4] = [
        (
            "or=(age_range.adj.\"[18,21)\",age_range.cs.\"[30,35]\")",
            vec![
                leaf("age_range", false, cmp(Operator::Adjacent, "[18,21)")),
                leaf("age_range", false, cmp(Operator::Contains, "[30,35]")),
            ],
        ),
        (
            "or=(name.eq.%22a,b%22,name.eq.%22c(d)%22)",
            vec![leaf("name", false, cmp(Operator::Eq, "a,b")), leaf("name", false, cmp(Operator::Eq, "c(d)"))],
        ),
        (
            "or=(name.eq.\"say \\\"hi\\\"\",name.eq.\"back\\\\slash\")",
            vec![leaf("name", false, cmp(Operator::Eq, "say \"hi\"")), leaf("name", false, cmp(Operator::Eq, "back\\slash"))],
        ),
        (
            "or=(name.like.\"*,*\",name.eq.1.5)",
            vec![leaf("name", false, cmp(Operator::Like, "*,*")), leaf("name", false, cmp(Operator::Eq, "1.5"))],
        ),
    ];
    for (query, children) in cases {
        assert_eq!(only_tree(query), tree(LogicOp::Or, false, children), "{query}");
    }
}

#[test]
fn array_literals_and_in_lists_work_inside_trees() {
    assert_eq!(
        only_tree("or=(tags.cs.{a,b},tags.like(any).{x*,\"y,z\"},id.in.(1,2,3),name.in.(\"a,b\",c),id.in.())"),
        tree(
            LogicOp::Or,
            false,
            vec![
                leaf("tags", false, cmp(Operator::Contains, "{a,b}")),
                leaf("tags", false, Operation::Quantified(Operator::Like, Quantifier::Any, strings(&["x*", "y,z"]))),
                leaf("id", false, Operation::In(strings(&["1", "2", "3"]))),
                leaf("name", false, Operation::In(strings(&["a,b", "c"]))),
                leaf("id", false, Operation::In(vec![])),
            ]
        )
    );
}

#[test]
fn tree_leaves_may_use_json_paths_and_embed_names() {
    assert_eq!(
        only_tree("or=(data->>a.eq.1,act.not.is.null,dir.not.is.null)"),
        tree(
            LogicOp::Or,
            false,
            vec![
                LogicNode::Filter(filter(jp("data", &["->>a"]), false, cmp(Operator::Eq, "1"))),
                leaf("act", true, Operation::Is(IsValue::Null)),
                leaf("dir", true, Operation::Is(IsValue::Null)),
            ]
        )
    );
}

#[test]
fn unbalanced_or_malformed_tree_is_pgrst100() {
    for query in [
        "or=(a.eq.1",
        "or=a.eq.1)",
        "or=(a.eq.1))",
        "or=a.eq.1",
        "or=()",
        "or=",
        "or=(and(a.eq.1)",
        "or=(and(a.eq.1)))",
        "or=(a.eq.1,)",
        "or=(,a.eq.1)",
        "or=(a.eq.\"x)",
        "or=(a.in.(1,2)",
        "or=(a.eq.{1,2)",
        "or=(a)",
        "or=(a.eq)",
        "or=(a.unknown.1)",
        "or=(a.eq.1)x",
        "or=(a.eq.1)(b.eq.2)",
        "and=(a.eq(any).1)",
        "not.or=(a.eq.1",
    ] {
        let e = assert_pgrst100(query);
        assert!(e.message.contains("logic tree"), "{query}: {}", e.message);
    }
}

// ---------------------------------------------------------------------------
// select

#[test]
fn select_defaults_to_star() {
    assert_eq!(ok("").select, vec![SelectItem::Star]);
    assert_eq!(ok("a=eq.1").select, vec![SelectItem::Star]);
}

#[test]
fn select_parses_columns_aliases_casts_and_json_paths() {
    let cases: Vec<(&str, Vec<SelectItem>)> = vec![
        ("*", vec![SelectItem::Star]),
        ("a,b", vec![col("a"), col("b")]),
        ("*,a", vec![SelectItem::Star, col("a")]),
        ("first_name", vec![col("first_name")]),
        ("fullName:full_name", vec![field_item(Field::column("full_name"), Some("fullName"), None, None)]),
        ("salary::text", vec![field_item(Field::column("salary"), None, Some("text"), None)]),
        ("s:salary::text", vec![field_item(Field::column("salary"), Some("s"), Some("text"), None)]),
        ("data->a->>b", vec![field_item(jp("data", &["->a", "->>b"]), None, None, None)]),
        ("data->0", vec![field_item(jp("data", &["->0"]), None, None, None)]),
        ("data->-1", vec![field_item(jp("data", &["->-1"]), None, None, None)]),
        ("data->>-12", vec![field_item(jp("data", &["->>-12"]), None, None, None)]),
        ("json_data->phones->0->>number", vec![field_item(jp("json_data", &["->phones", "->0", "->>number"]), None, None, None)]),
        ("bt:data->>blood_type::text", vec![field_item(jp("data", &["->>blood_type"]), Some("bt"), Some("text"), None)]),
        ("data->1a", vec![field_item(jp("data", &["->1a"]), None, None, None)]),
        ("\"a b\"", vec![col("a b")]),
        ("\"a,b.c:d\"", vec![col("a,b.c:d")]),
        ("\"x\":\"a b\"::text", vec![field_item(Field::column("a b"), Some("x"), Some("text"), None)]),
        ("Unit%20Price", vec![col("Unit Price")]),
        ("first-name", vec![col("first-name")]),
        ("a,%20b", vec![col("a"), col("b")]),
    ];
    for (select, items) in cases {
        let query = format!("select={select}");
        assert_eq!(ok(&query).select, items, "{query}");
    }
}

#[test]
fn select_output_names_follow_the_last_json_key() {
    assert_eq!(jp("data", &["->a", "->>b"]).output_name(), "b");
    assert_eq!(jp("data", &["->0"]).output_name(), "0");
    assert_eq!(Field::column("data").output_name(), "data");
    assert!(jp("data", &["->a", "->>b"]).is_text_path());
    assert!(!jp("data", &["->>a", "->b"]).is_text_path());
}

#[test]
fn select_aggregates_parse_with_aggregate_set() {
    let cases: Vec<(&str, Vec<SelectItem>)> = vec![
        ("amount.sum()", vec![field_item(Field::column("amount"), None, None, Some("sum"))]),
        (
            "amount.avg(),amount.min(),amount.max()",
            vec![
                field_item(Field::column("amount"), None, None, Some("avg")),
                field_item(Field::column("amount"), None, None, Some("min")),
                field_item(Field::column("amount"), None, None, Some("max")),
            ],
        ),
        ("id.count()", vec![field_item(Field::column("id"), None, None, Some("count"))]),
        ("count()", vec![field_item(Field::column("*"), None, None, Some("count"))]),
        ("n:count()", vec![field_item(Field::column("*"), Some("n"), None, Some("count"))]),
        ("count()::text", vec![field_item(Field::column("*"), None, Some("text"), Some("count"))]),
        ("total:amount.sum()", vec![field_item(Field::column("amount"), Some("total"), None, Some("sum"))]),
        ("amount.avg()::int", vec![field_item(Field::column("amount"), None, Some("int"), Some("avg"))]),
        ("details->tax::numeric.sum()", vec![field_item(jp("details", &["->tax"]), None, Some("numeric"), Some("sum"))]),
        ("category,total:amount.sum()", vec![col("category"), field_item(Field::column("amount"), Some("total"), None, Some("sum"))]),
    ];
    for (select, items) in cases {
        let query = format!("select={select}");
        assert_eq!(ok(&query).select, items, "{query}");
    }
}

#[test]
fn select_parses_embeds_with_alias_hint_join_type_spread_and_nesting() {
    let cases: Vec<(&str, Vec<SelectItem>)> = vec![
        ("rel(*)", vec![embed("rel", None, None, false, false, vec![SelectItem::Star])]),
        ("*,rel(*)", vec![SelectItem::Star, embed("rel", None, None, false, false, vec![SelectItem::Star])]),
        ("rel()", vec![embed("rel", None, None, false, false, vec![])]),
        ("alias:rel!hint!inner(a,b)", vec![embed("rel", Some("alias"), Some("hint"), true, false, vec![col("a"), col("b")])]),
        ("rel!inner!fk(a)", vec![embed("rel", None, Some("fk"), true, false, vec![col("a")])]),
        ("rel!left(a)", vec![embed("rel", None, None, false, false, vec![col("a")])]),
        ("addresses!billing(*)", vec![embed("addresses", None, Some("billing"), false, false, vec![SelectItem::Star])]),
        ("...rel(a)", vec![embed("rel", None, None, false, true, vec![col("a")])]),
        ("...rel!inner(a:b)", vec![embed("rel", None, None, true, true, vec![field_item(Field::column("b"), Some("a"), None, None)])]),
        (
            "title,roles(character,films(title,...directors(name)))",
            vec![
                col("title"),
                embed(
                    "roles",
                    None,
                    None,
                    false,
                    false,
                    vec![
                        col("character"),
                        embed(
                            "films",
                            None,
                            None,
                            false,
                            false,
                            vec![col("title"), embed("directors", None, None, false, true, vec![col("name")])],
                        ),
                    ],
                ),
            ],
        ),
        (
            "act:actors(),dir:directors()",
            vec![embed("actors", Some("act"), None, false, false, vec![]), embed("directors", Some("dir"), None, false, false, vec![])],
        ),
        (
            "rel(total:amount.sum())",
            vec![embed("rel", None, None, false, false, vec![field_item(Field::column("amount"), Some("total"), None, Some("sum"))])],
        ),
        ("\"my rel\"(*)", vec![embed("my rel", None, None, false, false, vec![SelectItem::Star])]),
    ];
    for (select, items) in cases {
        let query = format!("select={select}");
        assert_eq!(ok(&query).select, items, "{query}");
    }
}

#[test]
fn malformed_select_is_pgrst100() {
    for select in [
        "rel(a",
        "rel(a,b(c)",
        "a,",
        ",a",
        "a,,b",
        ":a",
        "a:",
        "a:(b)",
        "a::",
        "a:b:c",
        "...a",
        "...",
        "a.sum",
        "a.sum(",
        "a.()",
        "a)",
        "rel!(a)",
        "rel!hint",
        "rel!a!b(*)",
        "a->",
        "a->>",
        "\"a",
        "a b(c",
        "**",
        "a->b->",
    ] {
        let query = format!("select={select}");
        let e = assert_pgrst100(&query);
        assert!(e.message.contains("failed to parse select"), "{query}: {}", e.message);
    }
}

#[test]
fn columns_and_on_conflict_take_plain_names_only() {
    let req = parse_with(Method::POST, "/t", "columns=a,b,%22c%20d%22&on_conflict=id", &[], b"{}").unwrap();
    assert_eq!(req.columns, Some(strings(&["a", "b", "c d"])));
    assert_eq!(req.on_conflict, Some(strings(&["id"])));
    for query in ["columns=a:b", "columns=a::text", "columns=a->b", "columns=rel(*)", "columns=a,", "on_conflict=a.sum()", "on_conflict=*"]
    {
        expect_err(parse_with(Method::POST, "/t", query, &[], b"{}"), 400, "PGRST100", query);
    }
}

// ---------------------------------------------------------------------------
// order

#[test]
fn order_parses_directions_nulls_json_paths_and_embeds() {
    use Direction::*;
    use Nulls::*;
    let cases: Vec<(&str, Vec<OrderTerm>)> = vec![
        ("a", vec![order(Field::column("a"), None, None)]),
        ("a.asc", vec![order(Field::column("a"), Some(Asc), None)]),
        ("a.desc", vec![order(Field::column("a"), Some(Desc), None)]),
        ("a.nullsfirst", vec![order(Field::column("a"), None, Some(First))]),
        ("a.desc.nullslast,b", vec![order(Field::column("a"), Some(Desc), Some(Last)), order(Field::column("b"), None, None)]),
        ("a.asc.nullsfirst,b.desc", vec![order(Field::column("a"), Some(Asc), Some(First)), order(Field::column("b"), Some(Desc), None)]),
        ("data->>age.desc", vec![order(jp("data", &["->>age"]), Some(Desc), None)]),
        ("data->a->0", vec![order(jp("data", &["->a", "->0"]), None, None)]),
        ("\"a b\".desc", vec![order(Field::column("a b"), Some(Desc), None)]),
        (
            "directors(last_name).desc",
            vec![OrderTerm { relation: Some(s("directors")), field: Field::column("last_name"), direction: Some(Desc), nulls: None }],
        ),
        (
            "directors(data->>x)",
            vec![OrderTerm { relation: Some(s("directors")), field: jp("data", &["->>x"]), direction: None, nulls: None }],
        ),
    ];
    for (value, terms) in cases {
        let query = format!("order={value}");
        assert_eq!(ok(&query).order, terms, "{query}");
    }
}

#[test]
fn bad_order_is_pgrst100() {
    for value in [
        "a.up",
        "a.DESC",
        "a.desc.asc",
        "a.nullsfirst.desc",
        "a.nullsfirst.nullslast",
        "a.",
        "",
        "a,",
        ",a",
        "rel(a",
        "rel(a).sideways",
        "a.desc.nullslast.x",
        "a->",
    ] {
        let query = format!("order={value}");
        let e = assert_pgrst100(&query);
        assert!(e.message.contains("failed to parse order"), "{query}: {}", e.message);
    }
}

// ---------------------------------------------------------------------------
// limit / offset and embed-scoped parameters

#[test]
fn limit_and_offset_parse_non_negative_integers() {
    let req = ok("limit=10&offset=5");
    assert_eq!((req.limit, req.offset), (Some(10), Some(5)));
    let req = ok("limit=0&offset=0");
    assert_eq!((req.limit, req.offset), (Some(0), Some(0)));
    let req = ok("");
    assert_eq!((req.limit, req.offset), (None, None));
}

#[test]
fn non_integer_limit_or_offset_is_pgrst100() {
    for query in ["limit=abc", "limit=1.5", "limit=", "limit=1e3", "offset=x", "offset=", "offset=2.0", "limit=99999999999999999999"] {
        assert_pgrst100(query);
    }
}

#[test]
fn negative_limit_is_416_pgrst103() {
    for query in ["limit=-1", "actors.limit=-5"] {
        let e = expect_err(get(query), 416, "PGRST103", query);
        assert_eq!(e.details.as_deref(), Some("Limit should be greater than or equal to zero."));
    }
}

#[test]
fn negative_offset_is_ignored() {
    assert_eq!(ok("offset=-3").offset, None);
    assert_eq!(ok("offset=-3&limit=2").limit, Some(2));
    assert!(ok("actors.offset=-1").embed_params.is_empty());
}

#[test]
fn embed_scoped_parameters_land_in_embed_params_with_their_path() {
    let a = || leaf("a", false, cmp(Operator::Eq, "1"));
    let b = || leaf("b", false, cmp(Operator::Eq, "2"));
    let cases: Vec<(&str, Scoped<EmbedParam>)> = vec![
        ("actors.limit=2", scoped(&["actors"], EmbedParam::Limit(2))),
        ("actors.offset=3", scoped(&["actors"], EmbedParam::Offset(3))),
        ("roles.actors.offset=1", scoped(&["roles", "actors"], EmbedParam::Offset(1))),
        ("roles.actors.limit=0", scoped(&["roles", "actors"], EmbedParam::Limit(0))),
        ("actors.order=x", scoped(&["actors"], EmbedParam::Order(vec![order(Field::column("x"), None, None)]))),
        (
            "roles.actors.order=last_name.desc",
            scoped(&["roles", "actors"], EmbedParam::Order(vec![order(Field::column("last_name"), Some(Direction::Desc), None)])),
        ),
        ("actors.or=(a.eq.1,b.eq.2)", scoped(&["actors"], EmbedParam::Logic(tree(LogicOp::Or, false, vec![a(), b()])))),
        ("actors.and=(a.eq.1)", scoped(&["actors"], EmbedParam::Logic(tree(LogicOp::And, false, vec![a()])))),
        ("actors.not.and=(a.eq.1,b.eq.2)", scoped(&["actors"], EmbedParam::Logic(tree(LogicOp::And, true, vec![a(), b()])))),
        ("roles.actors.not.or=(a.eq.1)", scoped(&["roles", "actors"], EmbedParam::Logic(tree(LogicOp::Or, true, vec![a()])))),
        (
            "actors.first_name=eq.John",
            scoped(&["actors"], EmbedParam::Filter(filter(Field::column("first_name"), false, cmp(Operator::Eq, "John")))),
        ),
    ];
    for (query, expected) in cases {
        let req = ok(query);
        assert_eq!(req.embed_params, vec![expected], "{query}");
        assert!(req.filters.is_empty() && req.logic.is_empty() && req.order.is_empty(), "{query}: leaked to the top level");
        assert_eq!((req.limit, req.offset), (None, None), "{query}: leaked to the top level");
    }
}

#[test]
fn embed_scoped_parameters_are_validated_like_top_level_ones() {
    for query in ["actors.limit=x", "actors.order=a.up", "actors.or=(a.eq.1", "actors.not.and=a", "roles.actors.offset=1.5"] {
        assert_pgrst100(query);
    }
}

// ---------------------------------------------------------------------------
// Range header

#[test]
fn range_header_parses_closed_and_open_ranges_on_get() {
    let cases = [("0-9", (0, Some(9))), ("5-", (5, None)), ("items=0-9", (0, Some(9))), (" 10-20 ", (10, Some(20))), ("3-3", (3, Some(3)))];
    for (value, expected) in cases {
        let req = with_headers(Method::GET, "/t", &[("range", value)]).unwrap();
        assert_eq!(req.range, Some(expected), "Range: {value}");
    }
    assert_eq!(with_headers(Method::GET, "/t", &[]).unwrap().range, None);
}

#[test]
fn range_with_lower_above_upper_is_416_pgrst103() {
    let e = expect_err(with_headers(Method::GET, "/t", &[("range", "5-2")]), 416, "PGRST103", "Range: 5-2");
    assert_eq!(e.details.as_deref(), Some("The lower boundary must be lower than or equal to the upper boundary in the Range header."));
}

#[test]
fn garbage_range_header_is_ignored() {
    for value in [
        "abc",
        "-5",
        "1-2-3",
        "0-9,20-30",
        "bytes=0-9",
        "a-b",
        "",
        "5",
        "-",
        "0x1-2",
        "99999999999999999999999-",
        "1-99999999999999999999999",
    ] {
        let req = with_headers(Method::GET, "/t", &[("range", value)]).unwrap_or_else(|e| panic!("Range: {value}: {e:?}"));
        assert_eq!(req.range, None, "Range: {value}");
    }
}

#[test]
fn range_header_is_ignored_on_methods_other_than_get() {
    for method in [Method::HEAD, Method::POST, Method::PATCH, Method::PUT, Method::DELETE, Method::OPTIONS] {
        for value in ["0-9", "5-2"] {
            let req = with_headers(method.clone(), "/t", &[("range", value)]).unwrap_or_else(|e| panic!("{method} Range: {value}: {e:?}"));
            assert_eq!(req.range, None, "{method} Range: {value}");
        }
    }
}

// ---------------------------------------------------------------------------
// Prefer

#[test]
fn each_preference_parses_its_values() {
    let cases: Vec<(&str, Preferences)> = vec![
        ("return=minimal", Preferences { return_: Some(ReturnPref::Minimal), ..Default::default() }),
        ("return=headers-only", Preferences { return_: Some(ReturnPref::HeadersOnly), ..Default::default() }),
        ("return=representation", Preferences { return_: Some(ReturnPref::Representation), ..Default::default() }),
        ("count=exact", Preferences { count: Some(CountPref::Exact), ..Default::default() }),
        ("count=planned", Preferences { count: Some(CountPref::Planned), ..Default::default() }),
        ("count=estimated", Preferences { count: Some(CountPref::Estimated), ..Default::default() }),
        ("resolution=merge-duplicates", Preferences { resolution: Some(Resolution::MergeDuplicates), ..Default::default() }),
        ("resolution=ignore-duplicates", Preferences { resolution: Some(Resolution::IgnoreDuplicates), ..Default::default() }),
        ("missing=default", Preferences { missing: Some(Missing::Default), ..Default::default() }),
        ("missing=null", Preferences { missing: Some(Missing::Null), ..Default::default() }),
        ("tx=commit", Preferences { tx: Some(TxPref::Commit), ..Default::default() }),
        ("tx=rollback", Preferences { tx: Some(TxPref::Rollback), ..Default::default() }),
        ("max-affected=5", Preferences { max_affected: Some(5), ..Default::default() }),
        ("max-affected=0", Preferences { max_affected: Some(0), ..Default::default() }),
        ("handling=lenient", Preferences { handling: Some(Handling::Lenient), ..Default::default() }),
        ("handling=strict", Preferences { handling: Some(Handling::Strict), ..Default::default() }),
        ("timezone=America/Los_Angeles", Preferences { timezone: Some(s("America/Los_Angeles")), ..Default::default() }),
        ("timezone=-4", Preferences { timezone: Some(s("-4")), ..Default::default() }),
        ("timezone=05:30", Preferences { timezone: Some(s("05:30")), ..Default::default() }),
        (" return = representation ", Preferences { return_: Some(ReturnPref::Representation), ..Default::default() }),
        ("return=\"minimal\"", Preferences { return_: Some(ReturnPref::Minimal), ..Default::default() }),
    ];
    for (value, expected) in cases {
        assert_eq!(prefer(&[value]).unwrap(), expected, "Prefer: {value}");
    }
    assert_eq!(prefer(&[]).unwrap(), Preferences::default());
    assert!(prefer(&["handling=strict"]).unwrap().strict());
    assert!(!prefer(&["handling=lenient"]).unwrap().strict());
}

#[test]
fn several_preferences_share_one_header_or_span_several() {
    let expected = Preferences {
        return_: Some(ReturnPref::Representation),
        count: Some(CountPref::Exact),
        resolution: Some(Resolution::MergeDuplicates),
        missing: Some(Missing::Default),
        tx: Some(TxPref::Rollback),
        ..Default::default()
    };
    let one = prefer(&["return=representation, count=exact,resolution=merge-duplicates , missing=default,tx=rollback"]).unwrap();
    let many = prefer(&["return=representation", "count=exact, resolution=merge-duplicates", "missing=default", "tx=rollback"]).unwrap();
    assert_eq!(one, expected);
    assert_eq!(many, expected);
}

#[test]
fn first_occurrence_of_a_preference_wins() {
    let p = prefer(&["return=minimal, return=representation", "count=planned", "count=exact, tx=commit, tx=rollback"]).unwrap();
    assert_eq!(p.return_, Some(ReturnPref::Minimal));
    assert_eq!(p.count, Some(CountPref::Planned));
    assert_eq!(p.tx, Some(TxPref::Commit));
    assert!(p.invalid.is_empty(), "repeated valid preferences are not invalid: {:?}", p.invalid);
}

#[test]
fn invalid_preferences_are_collected_when_lenient() {
    let p = prefer(&[
        "return=everything, count=exact, foo=bar",
        "params=single-object, max-affected=-1, max-affected=x, timezone=, tx=maybe, handling=relaxed, strange",
    ])
    .unwrap();
    assert_eq!(p.count, Some(CountPref::Exact));
    assert_eq!(
        p.invalid,
        strings(&[
            "return=everything",
            "foo=bar",
            "params=single-object",
            "max-affected=-1",
            "max-affected=x",
            "timezone=",
            "tx=maybe",
            "handling=relaxed",
            "strange"
        ])
    );
    assert_eq!(p.handling, None);
}

#[test]
fn strict_handling_with_an_invalid_preference_is_400_pgrst122() {
    for headers in [
        vec!["handling=strict, foo=bar, return=nope"],
        vec!["foo=bar", "handling=strict", "return=nope"],
        vec!["return=nope, handling=strict, foo=bar"],
    ] {
        let e = expect_err(prefer(&headers), 400, "PGRST122", &format!("{headers:?}"));
        let details = e.details.unwrap_or_default();
        assert!(details.starts_with("Invalid preferences: "), "{details}");
        assert!(details.contains("foo=bar") && details.contains("return=nope"), "{details}");
    }
    // Strict with only valid preferences is fine; lenient never fails.
    assert_eq!(prefer(&["handling=strict, return=minimal"]).unwrap().return_, Some(ReturnPref::Minimal));
    assert!(prefer(&["handling=lenient, foo=bar"]).is_ok());
    // The first handling wins: a later strict does not turn lenient into strict.
    assert!(prefer(&["handling=lenient, handling=strict, foo=bar"]).is_ok());
}

// ---------------------------------------------------------------------------
// Accept

fn rep(representation: Representation, strip_nulls: bool) -> Accept {
    Accept { representation, strip_nulls }
}

#[test]
fn accept_negotiates_the_response_representation() {
    use Representation::*;
    let cases: Vec<(Vec<&str>, Accept)> = vec![
        (vec![], rep(Json, false)),
        (vec!["application/json"], rep(Json, false)),
        (vec!["*/*"], rep(Json, false)),
        (vec!["application/*"], rep(Json, false)),
        (vec!["Application/JSON"], rep(Json, false)),
        (vec!["application/json; charset=utf-8"], rep(Json, false)),
        (vec!["application/vnd.pgrst.object+json"], rep(SingleObject, false)),
        (vec!["application/vnd.pgrst.object"], rep(SingleObject, false)),
        (vec!["application/vnd.pgrst.array+json"], rep(Json, false)),
        (vec!["text/csv"], rep(Csv, false)),
        (vec!["text/*"], rep(Csv, false)),
        (vec!["application/vnd.pgrst.array+json;nulls=stripped"], rep(Json, true)),
        (vec!["application/vnd.pgrst.object+json;nulls=stripped"], rep(SingleObject, true)),
        (vec!["application/vnd.pgrst.object+json; nulls=stripped; q=0.9"], rep(SingleObject, true)),
        (vec!["text/csv;q=0.5, application/json"], rep(Json, false)),
        (vec!["text/csv;q=0.5, application/json;q=0.9"], rep(Json, false)),
        (vec!["application/json;q=0.1, text/csv;q=0.2"], rep(Csv, false)),
        (vec!["application/json;q=0, text/csv"], rep(Csv, false)),
        (vec!["application/xml, text/csv;q=0.1"], rep(Csv, false)),
        (vec!["text/csv, application/json"], rep(Csv, false)),
        (vec!["application/json, text/csv"], rep(Json, false)),
        (vec!["application/xml", "text/csv"], rep(Csv, false)),
        (vec!["text/csv;q=abc, application/json;q=0.5"], rep(Csv, false)),
    ];
    for (values, expected) in cases {
        assert_eq!(accept_on("/t", &values).unwrap(), expected, "Accept: {values:?}");
    }
}

#[test]
fn equal_quality_media_types_keep_header_order_across_accept_headers() {
    // Empty and q=0 entries in the first header must not push its later entries behind the second header's.
    let cases: Vec<(Vec<&str>, Representation)> = vec![
        (vec!["application/xml, , , , text/csv", "application/json"], Representation::Csv),
        (vec!["application/xml, application/json;q=0, text/csv", "application/json"], Representation::Csv),
        (vec!["application/xml", "application/json", "text/csv"], Representation::Json),
    ];
    for (values, expected) in cases {
        assert_eq!(accept_on("/t", &values).unwrap().representation, expected, "Accept: {values:?}");
    }
}

#[test]
fn unknown_accept_is_406_pgrst107() {
    for values in [
        vec!["application/xml"],
        vec!["text/html, image/png"],
        vec!["application/json;q=0, application/xml"],
        vec!["application/xml", "text/plain"],
    ] {
        let e = expect_err(
            with_headers(Method::GET, "/t", &values.iter().map(|v| ("accept", *v)).collect::<Vec<_>>()),
            406,
            "PGRST107",
            &format!("{values:?}"),
        );
        assert!(e.message.contains("None of these media types are available"), "{}", e.message);
    }
}

#[test]
fn root_path_defaults_to_openapi() {
    use Representation::*;
    for (values, expected) in [
        (vec![], OpenApi),
        (vec!["*/*"], OpenApi),
        (vec!["application/json"], OpenApi),
        (vec!["application/openapi+json"], OpenApi),
        (vec!["text/csv;q=0.9, application/openapi+json"], OpenApi),
    ] {
        assert_eq!(accept_on("/", &values).unwrap().representation, expected, "Accept: {values:?}");
    }
    expect_err(accept_on("/", &["text/csv"]), 406, "PGRST107", "csv at root");
    expect_err(accept_on("/", &["application/vnd.pgrst.object+json"]), 406, "PGRST107", "object at root");
}

#[test]
fn accept_content_type_matches_the_representation() {
    assert_eq!(rep(Representation::Json, false).content_type(), "application/json; charset=utf-8");
    assert_eq!(rep(Representation::Csv, false).content_type(), "text/csv; charset=utf-8");
    assert!(rep(Representation::SingleObject, true).content_type().contains("nulls=stripped"));
    assert!(rep(Representation::OpenApi, false).content_type().starts_with("application/openapi+json"));
}

// ---------------------------------------------------------------------------
// Request bodies

#[test]
fn json_object_body_is_one_row() {
    let p = body(None, "", br#"{"a":1,"b":"x","c":null}"#).unwrap();
    assert_eq!(p, Payload { rows: vec![row(json!({"a":1,"b":"x","c":null}))], is_array: false });
    assert_eq!(p.keys(), strings(&["a", "b", "c"]));
    let p = body(Some("application/json; charset=utf-8"), "", b" {\"a\":1} ").unwrap();
    assert_eq!(p.rows.len(), 1);
}

#[test]
fn json_array_body_is_many_rows() {
    let p = body(Some("application/json"), "", br#"[{"a":1,"b":2},{"b":3,"a":4}]"#).unwrap();
    assert_eq!(p, Payload { rows: vec![row(json!({"a":1,"b":2})), row(json!({"b":3,"a":4}))], is_array: true });
    let p = body(None, "", b"[]").unwrap();
    assert_eq!(p, Payload { rows: vec![], is_array: true });
    assert!(p.keys().is_empty());
}

#[test]
fn empty_malformed_or_non_object_json_body_is_pgrst102() {
    let cases: [&[u8]; 11] = [b"", b"   \n", b"{", b"{\"a\":}", b"[1,2]", b"[{\"a\":1},2]", b"[[]]", b"1", b"\"x\"", b"null", b"\xff\xfe"];
    for b in cases {
        expect_err(parse_with(Method::POST, "/t", "", &[], b), 400, "PGRST102", &String::from_utf8_lossy(b));
    }
    // PATCH and PUT bodies are parsed too.
    expect_err(parse_with(Method::PATCH, "/t", "a=eq.1", &[], b""), 400, "PGRST102", "PATCH empty");
    expect_err(parse_with(Method::PUT, "/t", "a=eq.1", &[], b"{"), 400, "PGRST102", "PUT malformed");
}

#[test]
fn non_uniform_keys_in_an_array_are_pgrst102_unless_columns_is_given() {
    for b in [&br#"[{"a":1},{"b":2}]"#[..], br#"[{"a":1},{"a":2,"b":3}]"#, br#"[{"a":1,"b":3},{"a":2}]"#] {
        let e = expect_err(parse_with(Method::POST, "/t", "", &[], b), 400, "PGRST102", &String::from_utf8_lossy(b));
        assert_eq!(e.message, "All object keys must match");
        let p = body(None, "columns=a,b", b).unwrap();
        assert_eq!(p.rows.len(), 2);
    }
}

#[test]
fn bodies_are_only_read_for_writes_with_a_body() {
    for method in [Method::GET, Method::HEAD, Method::DELETE, Method::OPTIONS] {
        let req = parse_with(method.clone(), "/t", "", &[], b"not json").unwrap_or_else(|e| panic!("{method}: {e:?}"));
        assert_eq!(req.payload, None, "{method}");
    }
}

#[test]
fn csv_body_reads_a_header_line_quotes_and_null() {
    let csv = "id,name,note\r\n1,\"Doe, John\",\"say \"\"hi\"\"\"\n2,NULL,\n3,\"NULL\",\"\"\n";
    let p = body(Some("text/csv"), "", csv.as_bytes()).unwrap();
    assert_eq!(
        p,
        Payload {
            rows: vec![
                row(json!({"id":"1","name":"Doe, John","note":"say \"hi\""})),
                row(json!({"id":"2","name":null,"note":""})),
                row(json!({"id":"3","name":"NULL","note":""})),
            ],
            is_array: true,
        }
    );
    // No trailing newline; a quoted field may span lines.
    let p = body(Some("text/csv; charset=utf-8"), "", b"a,b\n\"x\ny\",z").unwrap();
    assert_eq!(p.rows, vec![row(json!({"a":"x\ny","b":"z"}))]);
    // Header only: no rows.
    assert_eq!(body(Some("text/csv"), "", b"a,b\n").unwrap().rows, vec![]);
}

#[test]
fn malformed_csv_body_is_pgrst102() {
    let cases: [&[u8]; 4] = [b"", b"a,b\n1,2,3\n", b"a,b\n\"1,2\n", b"a\n\xff\n"];
    for b in cases {
        expect_err(parse_with(Method::POST, "/t", "", &[("content-type", "text/csv")], b), 400, "PGRST102", &String::from_utf8_lossy(b));
    }
}

#[test]
fn form_urlencoded_body_is_one_row_of_strings() {
    let p = body(Some("application/x-www-form-urlencoded"), "", b"name=John+Doe&city=S%C3%A3o%20Paulo&empty=&flag").unwrap();
    assert_eq!(p, Payload { rows: vec![row(json!({"name":"John Doe","city":"São Paulo","empty":"","flag":""}))], is_array: false });
}

#[test]
fn invalid_form_body_is_pgrst102() {
    for b in [&b"a=%FF"[..], b"\xff=1"] {
        expect_err(
            parse_with(Method::POST, "/t", "", &[("content-type", "application/x-www-form-urlencoded")], b),
            400,
            "PGRST102",
            &String::from_utf8_lossy(b),
        );
    }
}

#[test]
fn unsupported_content_type_is_415() {
    for ct in ["text/plain", "application/xml", "application/octet-stream", "multipart/form-data; boundary=x"] {
        let e = expect_err(parse_with(Method::POST, "/t", "", &[("content-type", ct)], b"{}"), 415, "PGRST107", ct);
        assert!(e.message.contains(ct), "{}", e.message);
    }
    // Accepted spellings of JSON.
    for ct in ["application/json", "Application/JSON", "application/vnd.pgrst.object+json", "application/vnd.pgrst.object", "*/*"] {
        assert_eq!(body(Some(ct), "", b"{\"a\":1}").unwrap().rows.len(), 1, "{ct}");
    }
}

// ---------------------------------------------------------------------------
// Paths and methods

#[test]
fn paths_map_to_root_table_or_rpc() {
    let cases = [
        ("/", Target::Root),
        ("", Target::Root),
        ("/t", Target::Table(s("t"))),
        ("/t/", Target::Table(s("t"))),
        ("/rpc", Target::Table(s("rpc"))),
        ("/rpc/f", Target::Rpc(s("f"))),
        ("/Order%20Items", Target::Table(s("Order Items"))),
        ("/caf%C3%A9", Target::Table(s("café"))),
        ("/rpc/my%20func", Target::Rpc(s("my func"))),
        ("/a%2Fb", Target::Table(s("a/b"))),
    ];
    for (path, target) in cases {
        let req = parse_with(Method::GET, path, "", &[], b"").unwrap_or_else(|e| panic!("{path}: {e:?}"));
        assert_eq!(req.target, target, "{path}");
    }
}

#[test]
fn nested_or_malformed_path_is_404_pgrst125() {
    for path in ["/a/b", "/a/b/c", "//t", "/rpc/f/g", "/rpc//", "/t//", "/%FF"] {
        expect_err(parse_with(Method::GET, path, "", &[], b""), 404, "PGRST125", path);
    }
}

#[test]
fn methods_map_to_actions() {
    let cases = [
        (Method::GET, Action::Read { headers_only: false }),
        (Method::HEAD, Action::Read { headers_only: true }),
        (Method::POST, Action::Insert),
        (Method::PATCH, Action::Update),
        (Method::PUT, Action::Put),
        (Method::DELETE, Action::Delete),
        (Method::OPTIONS, Action::Options),
    ];
    for (method, action) in cases {
        let req = parse_with(method.clone(), "/t", "", &[], b"{}").unwrap_or_else(|e| panic!("{method}: {e:?}"));
        assert_eq!(req.action, action, "{method}");
    }
}

#[test]
fn unsupported_method_is_405_pgrst117() {
    for method in [Method::TRACE, Method::CONNECT, Method::from_bytes(b"PROPFIND").unwrap()] {
        let e = expect_err(parse_with(method.clone(), "/t", "", &[], b""), 405, "PGRST117", method.as_str());
        assert!(e.message.contains(method.as_str()), "{}", e.message);
    }
}

#[test]
fn profile_headers_pick_the_schema_by_method() {
    let h = [("accept-profile", " s1 "), ("content-profile", "s2")];
    assert_eq!(with_headers(Method::GET, "/t", &h).unwrap().profile.as_deref(), Some("s1"));
    assert_eq!(with_headers(Method::HEAD, "/t", &h).unwrap().profile.as_deref(), Some("s1"));
    assert_eq!(with_headers(Method::OPTIONS, "/t", &h).unwrap().profile.as_deref(), Some("s1"));
    assert_eq!(with_headers(Method::POST, "/t", &h).unwrap().profile.as_deref(), Some("s2"));
    assert_eq!(with_headers(Method::PATCH, "/t", &h).unwrap().profile.as_deref(), Some("s2"));
    assert_eq!(with_headers(Method::GET, "/t", &[]).unwrap().profile, None);
}

// ---------------------------------------------------------------------------
// Query-string decoding

#[test]
fn plus_is_a_space_and_percent_sequences_decode() {
    assert_eq!(only_filter("name=eq.John+Doe").operation, cmp(Operator::Eq, "John Doe"));
    assert_eq!(only_filter("name=eq.a%2Bb").operation, cmp(Operator::Eq, "a+b"));
    assert_eq!(only_filter("name=eq.caf%C3%A9").operation, cmp(Operator::Eq, "café"));
    assert_eq!(only_filter("name=eq.100%").operation, cmp(Operator::Eq, "100%"));
    assert_eq!(only_filter("name=eq.%2").operation, cmp(Operator::Eq, "%2"));
    assert_eq!(only_filter("name=eq.a%3Db%26c").operation, cmp(Operator::Eq, "a=b&c"));
    assert_eq!(only_filter("first+name=eq.x").field, Field::column("first name"));
    assert_eq!(ok("%73elect=a").select, vec![col("a")]);
    assert_eq!(only_filter("a=eq.x=y").operation, cmp(Operator::Eq, "x=y"));
}

#[test]
fn empty_query_pairs_are_skipped() {
    let req = ok("&&a=eq.1&&");
    assert_eq!(req.filters.len(), 1);
    let req = ApiRequest::parse(&Method::GET, "/t", None, &HeaderMap::new(), b"").unwrap();
    assert!(req.filters.is_empty());
}

#[test]
fn invalid_utf8_after_percent_decoding_is_400_not_a_panic() {
    for query in ["a=eq.%FF", "%C3=eq.1", "select=%80", "order=%E2%82", "or=(a.eq.%FF)", "limit=%FE"] {
        let e = expect_err(get(query), 400, "PGRST100", query);
        assert!(e.details.unwrap_or_default().contains("UTF-8"), "{query}");
    }
    expect_err(parse_with(Method::GET, "/rpc/f", "a=%FF", &[], b""), 400, "PGRST100", "rpc arg");
}

// ---------------------------------------------------------------------------
// Depth limits

#[test]
fn deeply_nested_select_or_tree_is_pgrst100_not_a_stack_overflow() {
    for n in [65, 100_000] {
        let select = format!("select={}*{}", "a(".repeat(n), ")".repeat(n));
        let e = expect_err(get(&select), 400, "PGRST100", "deep select");
        assert!(e.details.unwrap_or_default().contains("nesting deeper than"), "select depth {n}");
        let tree = format!("or=({}a.eq.1{})", "and(".repeat(n), ")".repeat(n));
        let e = expect_err(get(&tree), 400, "PGRST100", "deep tree");
        assert!(e.details.unwrap_or_default().contains("nesting deeper than"), "tree depth {n}");
    }
    // Realistic nesting still parses, up to the limit of 64 levels.
    for n in [1, 10, 64] {
        let select = format!("select={}*{}", "a(".repeat(n), ")".repeat(n));
        assert!(get(&select).is_ok(), "select depth {n}: {:?}", get(&select));
        let tree = format!("or=({}a.eq.1{})", "and(".repeat(n), ")".repeat(n));
        assert!(get(&tree).is_ok(), "tree depth {n}: {:?}", get(&tree));
    }
}

// ---------------------------------------------------------------------------
// Property: the parser never panics and only fails with 4xx

mod property {
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use super::*;

    const FRAGMENTS: &[&str] = &[
        "select=",
        "order=",
        "limit=",
        "offset=",
        "or=(",
        "and=(",
        "not.or=(",
        "not.and=(",
        "columns=",
        "on_conflict=",
        "actors.",
        "a",
        "b",
        "data",
        "eq.",
        "neq.",
        "in.",
        "is.",
        "like(any).",
        "fts(english).",
        "cs.",
        "isdistinct.",
        "->",
        "->>",
        "(",
        ")",
        "\"",
        "\\",
        ",",
        ".",
        ":",
        "::",
        "!",
        "!inner",
        "...",
        "*",
        "not.",
        "%",
        "%FF",
        "%2",
        "%22",
        "%C3%A9",
        "{",
        "}",
        "[",
        "]",
        "&",
        "=",
        "+",
        "-",
        "-1",
        "0",
        "1",
        "null",
        "count()",
        ".sum()",
        " ",
        "é",
    ];

    fn from_fragments() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(FRAGMENTS), 0..24).prop_map(|v| v.concat())
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), from_fragments(), "[ -~]{0,40}"]
    }

    fn header_value() -> impl Strategy<Value = Option<Vec<u8>>> {
        let bytes = prop_oneof![
            "[ -~]{0,40}".prop_map(String::into_bytes),
            from_fragments().prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..24),
            prop::sample::select(vec![
                "0-9",
                "5-",
                "items=0-9",
                "5-2",
                "text/csv",
                "application/vnd.pgrst.object+json;nulls=stripped",
                "*/*;q=0.5",
                "return=representation, handling=strict, x",
                "text/csv; charset=utf-8",
                "application/x-www-form-urlencoded",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
        ];
        prop::option::of(bytes)
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            text().prop_map(String::into_bytes),
            prop::sample::select(vec!["{}", "[]", "[{\"a\":1},{\"b\":2}]", "a,b\n1,NULL\n\"x,\"\"y\",", "a=1&b=%FF", "{\"a\":[1,{}]}"])
                .prop_map(|s| s.as_bytes().to_vec()),
        ]
    }

    fn method() -> impl Strategy<Value = Method> {
        prop::sample::select(vec![Method::GET, Method::POST, Method::PATCH, Method::PUT, Method::DELETE, Method::HEAD, Method::OPTIONS])
    }

    fn path() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            text().prop_map(|t| format!("/{t}")),
            prop::sample::select(vec!["/", "/t", "/rpc/f", "/a/b", "/Order%20Items", "/%FF"]).prop_map(str::to_owned),
        ]
    }

    proptest! {
        #![proptest_config(Config { cases: 2000, failure_persistence: None, ..Config::default() })]

        #[test]
        fn parse_never_panics_and_fails_only_with_4xx(
            method in method(),
            path in path(),
            query in prop::option::of(text()),
            prefer in header_value(),
            accept in header_value(),
            range in header_value(),
            content_type in header_value(),
            body in body(),
        ) {
            let mut headers = HeaderMap::new();
            for (name, value) in [("prefer", prefer), ("accept", accept), ("range", range), ("content-type", content_type)] {
                if let Some(v) = value.and_then(|v| HeaderValue::from_bytes(&v).ok()) {
                    headers.insert(HeaderName::from_static(name), v);
                }
            }
            if let Err(e) = ApiRequest::parse(&method, &path, query.as_deref(), &headers, &body) {
                prop_assert!(e.status.is_client_error(), "{method} {path:?}?{query:?}: {e:?}");
            }
        }
    }
}
