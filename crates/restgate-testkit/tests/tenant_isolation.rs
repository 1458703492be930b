//! A property test over HTTP, on every backend: whatever query a tenant
//! sends — filters on any column (hidden ones and unknown ones included)
//! with the operators its type takes, negations, nested or/and trees, embeds with their own
//! filters, `!inner`, order, limit, offset, `Range` and counts — every row it
//! gets back (embedded ones included) belongs to its tenant, no count
//! reaches past its rows, and nothing is a 5xx.
//!
//! One database per backend serves every generated request (they only
//! read), under the policy of `restgate_testkit::cases::security`.

use http::Method;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use restgate_testkit::cases::security::{configure, member_token};
use restgate_testkit::{Harness, TestGate};
use serde_json::Value;

/// A tenant of the fixture: its id, a member, its notes and the comments it sees.
struct Tenant {
    id: i64,
    sub: &'static str,
    notes: [i64; 3],
    comments: &'static [i64],
}

const TENANTS: [Tenant; 2] = [
    Tenant { id: 1, sub: "alice", notes: [1, 2, 3], comments: &[1, 4] },
    Tenant { id: 2, sub: "carol", notes: [4, 5, 6], comments: &[2, 3, 5] },
];

/// A value for a number column.
fn number() -> BoxedStrategy<String> {
    prop_oneof![4 => (0i64..8).prop_map(|n| n.to_string()), 1 => "-?[0-9]{1,3}", 1 => value()].boxed()
}

fn value() -> BoxedStrategy<String> {
    prop_oneof![
        Just("1".to_owned()),
        Just("2".to_owned()),
        Just("4".to_owned()),
        Just("carol".to_owned()),
        Just("alice".to_owned()),
        Just("globex*".to_owned()),
        Just("*roadmap".to_owned()),
        Just("globex-secret-4".to_owned()),
        Just("true".to_owned()),
        "-?[0-9]{1,3}",
        "[a-z*_ ]{0,6}",
        "[a-z0-9,.()\"]{0,6}",
    ]
    .boxed()
}

fn negated(op: impl Strategy<Value = String> + 'static) -> BoxedStrategy<String> {
    (any::<bool>(), op).prop_map(|(not, op)| if not { format!("not.{op}") } else { op }).boxed()
}

/// `op.value` for a column of any type: comparisons, lists, NULL tests,
/// with values from `value`.
fn comparison(value: fn() -> BoxedStrategy<String>) -> BoxedStrategy<String> {
    let op = prop_oneof![Just("eq"), Just("neq"), Just("gt"), Just("gte"), Just("lt"), Just("lte"), Just("isdistinct")];
    let simple = (op, value()).prop_map(|(o, v)| format!("{o}.{v}"));
    let list = prop::collection::vec(value(), 0..4).prop_map(|vs| format!("in.({})", vs.join(",")));
    let null = prop_oneof![Just("is.null"), Just("is.unknown")].prop_map(str::to_owned);
    let quantified = (prop_oneof![Just("eq"), Just("gt")], prop_oneof![Just("any"), Just("all")], value(), value())
        .prop_map(|(o, q, a, b)| format!("{o}({q}).{{{a},{b}}}"));
    negated(prop_oneof![4 => simple, 2 => list, 1 => null, 1 => quantified])
}

/// Pattern matching, for text columns.
fn pattern() -> BoxedStrategy<String> {
    let simple = (prop_oneof![Just("like"), Just("ilike"), Just("match")], value()).prop_map(|(o, v)| format!("{o}.{v}"));
    let quantified = (prop_oneof![Just("like"), Just("ilike")], value(), value()).prop_map(|(o, a, b)| format!("{o}(any).{{{a},{b}}}"));
    negated(prop_oneof![3 => simple, 1 => quantified])
}

/// Truth tests, for boolean columns.
fn truth() -> BoxedStrategy<String> {
    negated(prop_oneof![Just("is.true"), Just("is.false")].prop_map(str::to_owned))
}

/// A column of `notes` and an operation its type takes; hidden and unknown
/// columns take anything (they never reach the database).
fn column_and_operation() -> BoxedStrategy<(&'static str, String)> {
    let numeric = prop_oneof![Just("id"), Just("tenant_id")];
    let text = prop_oneof![Just("owner_id"), Just("title"), Just("body")];
    let opaque = prop_oneof![Just("secret"), Just("no_such_column")];
    let boolean = || prop_oneof![Just("true".to_owned()), Just("false".to_owned()), value()].boxed();
    prop_oneof![
        3 => (numeric, comparison(number)),
        3 => (text, prop_oneof![comparison(value), pattern()]),
        2 => (Just("public"), prop_oneof![comparison(boolean), truth()]),
        1 => (opaque, prop_oneof![comparison(value), pattern(), truth()]),
    ]
    .boxed()
}

/// A logic tree's body: `(a.eq.1,or(b.is.null,…))`.
fn tree() -> BoxedStrategy<String> {
    let leaf = column_and_operation().prop_map(|(c, o)| format!("{c}.{o}"));
    leaf.prop_recursive(3, 12, 4, |inner| {
        (prop_oneof![Just("and"), Just("or"), Just("not.and"), Just("not.or")], prop::collection::vec(inner, 1..4))
            .prop_map(|(op, children)| format!("{op}({})", children.join(",")))
    })
    .boxed()
}

fn tree_param() -> BoxedStrategy<String> {
    (prop_oneof![Just("or"), Just("and"), Just("not.or"), Just("not.and")], prop::collection::vec(tree(), 1..4))
        .prop_map(|(op, children)| format!("{op}=({})", children.join(",")))
        .boxed()
}

/// One query parameter, top-level or scoped to an embed.
fn param() -> BoxedStrategy<String> {
    let filter = column_and_operation().prop_map(|(c, o)| format!("{c}={o}"));
    let embed = prop_oneof![Just("comments"), Just("tenants")];
    let embedded_numeric = (embed.clone(), prop_oneof![Just("id"), Just("tenant_id"), Just("note_id")], comparison(number));
    let embedded_text =
        (embed.clone(), prop_oneof![Just("name"), Just("author"), Just("body"), Just("nope")], prop_oneof![comparison(value), pattern()]);
    let embedded = prop_oneof![embedded_numeric, embedded_text].prop_map(|(e, c, o)| format!("{e}.{c}={o}"));
    let embedded_tree = (embed.clone(), tree_param()).prop_map(|(e, t)| format!("{e}.{t}"));
    let exists = (embed.clone(), prop_oneof![Just("is.null"), Just("not.is.null")]).prop_map(|(e, o)| format!("{e}={o}"));
    let column = prop_oneof![Just("id"), Just("tenant_id"), Just("owner_id"), Just("title"), Just("public"), Just("secret"), Just("nope")];
    let order = (column, prop_oneof![Just(""), Just(".desc"), Just(".asc.nullsfirst")]).prop_map(|(c, d)| format!("order={c}{d}"));
    let embed_order = (embed, prop_oneof![Just("id"), Just("tenant_id"), Just("secret")]).prop_map(|(e, c)| format!("{e}.order={c}.desc"));
    let window = prop_oneof![(0u8..8).prop_map(|n| format!("limit={n}")), (0u8..8).prop_map(|n| format!("offset={n}"))];
    prop_oneof![6 => filter, 3 => tree_param(), 2 => embedded, 1 => embedded_tree, 1 => exists, 1 => order, 1 => embed_order, 1 => window]
        .boxed()
}

/// What is asked: embeds in the select, parameters, count and range.
#[derive(Debug, Clone)]
struct Ask {
    tenant: usize,
    embeds: Vec<&'static str>,
    params: Vec<String>,
    count: bool,
    range: Option<(u8, u8)>,
}

fn ask() -> BoxedStrategy<Ask> {
    // Mostly with both embeds, so that most embedded parameters apply.
    let comments = prop_oneof![
        1 => Just(None),
        2 => Just(Some("comments(id,tenant_id)")),
        1 => Just(Some("comments!inner(id,tenant_id)")),
        1 => Just(Some("comments(*)")),
    ];
    let tenants = prop_oneof![1 => Just(None), 2 => Just(Some("tenants(id,name)")), 1 => Just(Some("tenants!inner(*)"))];
    let embeds = (comments, tenants).prop_map(|(c, t)| c.into_iter().chain(t).collect());
    let range = (0u8..5, 0u8..4).prop_map(|(from, len)| (from, from + len));
    (0usize..2, embeds, prop::collection::vec(param(), 0..4), any::<bool>(), prop::option::of(range))
        .prop_map(|(tenant, embeds, params, count, range)| Ask { tenant, embeds, params, count, range })
        .boxed()
}

impl Ask {
    fn uri(&self) -> String {
        let mut select = vec!["id", "tenant_id"];
        select.extend(self.embeds.iter().copied());
        let mut q = vec![format!("select={}", select.join(","))];
        q.extend(self.params.iter().cloned());
        format!("/notes?{}", q.join("&"))
    }
}

/// Every object the answer holds belongs to `tenant`.
fn check_rows(tenant: &Tenant, body: &Value) -> Result<(), TestCaseError> {
    let rows = body.as_array().ok_or_else(|| TestCaseError::fail(format!("not an array: {body}")))?;
    for row in rows {
        prop_assert_eq!(&row["tenant_id"], &Value::from(tenant.id), "row of another tenant: {}", row);
        prop_assert!(row["id"].as_i64().is_some_and(|id| tenant.notes.contains(&id)), "note of another tenant: {}", row);
        if let Some(comments) = row.get("comments") {
            for c in comments.as_array().ok_or_else(|| TestCaseError::fail(format!("comments: {row}")))? {
                prop_assert_eq!(&c["tenant_id"], &Value::from(tenant.id), "comment of another tenant: {}", row);
                prop_assert!(c["id"].as_i64().is_some_and(|id| tenant.comments.contains(&id)), "comment of another tenant: {}", row);
            }
        }
        if let Some(t) = row.get("tenants").filter(|t| !t.is_null()) {
            prop_assert_eq!(&t["id"], &Value::from(tenant.id), "another tenant: {}", row);
        }
    }
    Ok(())
}

fn run_on(name: &str, rt: &tokio::runtime::Runtime, gate: Option<TestGate>, cases: u32) {
    let Some(t) = gate else {
        restgate_testkit::skip_unreachable(name);
        return;
    };
    let tokens: Vec<String> = TENANTS.iter().map(|x| member_token(x.id, x.sub)).collect();
    // PROPTEST_CASES overrides the count, as for `proptest!` tests.
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let outcome = runner.run(&ask(), |ask| {
        let tenant = &TENANTS[ask.tenant];
        let uri = ask.uri();
        let mut req = t.req(Method::GET, &uri).bearer(&tokens[ask.tenant]);
        if ask.count {
            req = req.header("prefer", "count=exact");
        }
        if let Some((a, b)) = ask.range {
            req = req.header("range", &format!("{a}-{b}"));
        }
        let r = rt.block_on(req.send());
        let status = r.status.as_u16();
        prop_assert!(status < 500, "{uri} → {status}: {}", r.text());
        if r.status.is_success() {
            check_rows(tenant, &r.json())?;
            if let Some(total) = r.header("content-range").and_then(|c| c.split('/').nth(1)).and_then(|n| n.parse::<u64>().ok()) {
                prop_assert!(total <= 3, "{uri}: a count past the tenant's rows: {total}");
            }
        } else {
            // Errors may quote the request, never the data.
            let text = r.text().to_lowercase();
            for leak in ["acme-secret", "globex-secret", "roadmap", "world domination", "globex on", "acme on", "ship it"] {
                prop_assert!(!text.contains(leak) || uri.contains(leak), "{uri} → {status} reveals {leak:?}: {text}");
            }
        }
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{name}: {e}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

#[test]
fn every_row_a_tenant_gets_is_its_own_on_sqlite() {
    let rt = runtime();
    let gate = rt.block_on(restgate_testkit::sqlite::SqliteHarness.gate(configure));
    run_on("sqlite", &rt, gate, 400);
}

#[cfg(feature = "postgres")]
#[test]
fn every_row_a_tenant_gets_is_its_own_on_postgres() {
    let rt = runtime();
    let gate = rt.block_on(restgate_testkit::postgres::PgHarness.gate(configure));
    run_on("postgresql", &rt, gate, 200);
}

#[cfg(feature = "mysql")]
#[test]
fn every_row_a_tenant_gets_is_its_own_on_mysql() {
    let rt = runtime();
    let gate = rt.block_on(restgate_testkit::mysql::MySqlHarness.gate(configure));
    run_on("mysql", &rt, gate, 200);
}
