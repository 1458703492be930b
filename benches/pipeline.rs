//! Micro-benchmarks of restgate's request pipeline without I/O:
//! parse (`ApiRequest::parse`) → plan (`plan::plan`) → render
//! (`sql::read_statement` / `sql::write_statements`), against a small
//! hand-built catalog, for a few representative URLs and all three dialects.
//!
//! ```sh
//! cargo bench --bench pipeline
//! cargo bench --bench pipeline -- headline   # only the cases whose name contains "headline"
//! ```
//!
//! See `docs/benchmarks.md` for what each case is and recent figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue, Method};
use restgate::core::auth::{Authenticate, Jwt};
use restgate::core::catalog::{Catalog, Column, Table};
use restgate::core::plan::{plan, plan_for, Access, Plan, PlanOptions};
use restgate::core::policy::{Policy, RowFilter, Rule, Verb};
use restgate::core::request::ApiRequest;
use restgate::core::sql::{
    read_statement, write_statements, Dialect, MySqlDialect, PostgresDialect, SqliteDialect, Statement, WriteReturn,
};

/// The headline case: a typical filtered, ordered, paginated read.
const HEADLINE: &str = "select=id,name,age&age=gte.18&city=eq.Berlin&active=is.true&order=name.desc&limit=20";

/// An `or=` tree with a nested `and(...)` and a `not.`.
const OR_TREE: &str =
    "select=id,name&or=(age.lt.18,and(city.eq.Berlin,active.is.true),name.ilike.*ann*,not.and(age.gte.65,city.in.(Paris,Rome)))";

/// JSON paths in the select list, a filter and the order.
const JSON_PATHS: &str =
    "select=id,name,city:data->address->>city,tags:data->tags,first_tag:data->tags->>0&data->>kind=eq.premium&data->score=gt.5&order=data->>kind.asc";

fn column(name: &str, ty: &str, nullable: bool) -> Column {
    let c = Column::new(name, ty);
    if nullable {
        c
    } else {
        c.primary_key()
    }
}

/// A small catalog: `people` (the table every case uses) and two neighbours,
/// so name resolution is not a one-element search.
fn catalog() -> Catalog {
    let mut people = Table::new("main", "people");
    people.columns = vec![
        column("id", "INTEGER", false),
        column("name", "TEXT", false),
        column("age", "INTEGER", true),
        column("city", "TEXT", true),
        column("active", "BOOLEAN", false),
        column("created_at", "TIMESTAMP", false),
        column("data", "JSON", true),
    ];
    people.primary_key = vec!["id".into()];
    if let Some(c) = people.columns.iter_mut().find(|c| c.name == "id") {
        c.auto_increment = true;
    }
    if let Some(c) = people.columns.iter_mut().find(|c| c.name == "created_at") {
        c.default = Some("CURRENT_TIMESTAMP".into());
    }

    let mut products = Table::new("main", "products");
    products.columns = vec![
        column("id", "INTEGER", false),
        column("name", "TEXT", false),
        column("price", "NUMERIC(10,2)", false),
        column("in_stock", "BOOLEAN", false),
        column("tags", "JSON", true),
    ];
    products.primary_key = vec!["id".into()];

    let mut orders = Table::new("main", "orders");
    orders.columns = vec![
        column("id", "INTEGER", false),
        column("person_id", "INTEGER", false),
        column("status", "TEXT", false),
        column("total", "NUMERIC(10,2)", false),
        column("placed_at", "TIMESTAMP", false),
    ];
    orders.primary_key = vec!["id".into()];

    Catalog::new(vec!["main".into()], vec![people, products, orders])
}

/// `id=in.(1,2,…,20)`.
fn in_list_query() -> String {
    let ids: Vec<String> = (1..=20).map(|i| (i * 37).to_string()).collect();
    format!("select=id,name&id=in.({})", ids.join(","))
}

/// A JSON array of 10 people for the POST case.
fn insert_body() -> Vec<u8> {
    let rows: Vec<serde_json::Value> = (0..10)
        .map(|i| {
            serde_json::json!({
                "name": format!("Person {i}"),
                "age": 20 + i,
                "city": if i % 2 == 0 { "Berlin" } else { "Paris" },
                "active": i % 3 != 0,
                "created_at": format!("2024-05-{:02}T10:30:00", i + 1),
                "data": {"kind": "premium", "score": i, "tags": ["a", "b"]},
            })
        })
        .collect();
    serde_json::to_vec(&rows).expect("serializable")
}

/// parse → plan → render of a GET.
fn read_pipeline(d: &dyn Dialect, catalog: &Catalog, opts: &PlanOptions, headers: &HeaderMap, query: Option<&str>) -> Statement {
    let req = ApiRequest::parse(&Method::GET, "/people", query, headers, &[]).expect("parse");
    let Plan::Read(p) = plan(&req, catalog, opts).expect("plan") else { panic!("not a read") };
    read_statement(d, &p).expect("render")
}

/// parse → plan → render of a POST.
fn insert_pipeline(d: &dyn Dialect, catalog: &Catalog, opts: &PlanOptions, headers: &HeaderMap, body: &[u8]) -> Vec<Statement> {
    let req = ApiRequest::parse(&Method::POST, "/people", None, headers, body).expect("parse");
    let Plan::Write(p) = plan(&req, catalog, opts).expect("plan") else { panic!("not a write") };
    write_statements(d, p.table, &p.op, &WriteReturn::Nothing).expect("render")
}

fn bench_pipeline(c: &mut Criterion) {
    let catalog = catalog();
    let opts = PlanOptions { max_rows: Some(1000), ..Default::default() };
    let get_headers = HeaderMap::new();
    let mut post_headers = HeaderMap::new();
    post_headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let in_list = in_list_query();
    let body = insert_body();

    // Every case must succeed before it is timed.
    for q in [Some(HEADLINE), None, Some(OR_TREE), Some(in_list.as_str()), Some(JSON_PATHS)] {
        for d in [&SqliteDialect as &dyn Dialect, &PostgresDialect, &MySqlDialect] {
            let s = read_pipeline(d, &catalog, &opts, &get_headers, q);
            assert!(s.sql.starts_with("SELECT"), "{}", s.sql);
        }
    }
    let inserts = insert_pipeline(&SqliteDialect, &catalog, &opts, &post_headers, &body);
    assert_eq!(inserts.len(), 1);
    assert_eq!(inserts[0].values.0.len(), 60, "{}", inserts[0].sql);

    let mut g = c.benchmark_group("pipeline");
    let dialects: [(&str, &dyn Dialect); 3] = [("sqlite", &SqliteDialect), ("postgres", &PostgresDialect), ("mysql", &MySqlDialect)];
    for (name, d) in dialects {
        g.bench_function(format!("headline/{name}"), |b| {
            b.iter(|| read_pipeline(d, black_box(&catalog), &opts, &get_headers, Some(black_box(HEADLINE))))
        });
    }
    let cases: [(&str, Option<&str>); 4] =
        [("get_all", None), ("or_tree", Some(OR_TREE)), ("in_list_20", Some(in_list.as_str())), ("json_paths", Some(JSON_PATHS))];
    for (name, query) in cases {
        g.bench_function(format!("{name}/sqlite"), |b| {
            b.iter(|| read_pipeline(&SqliteDialect, black_box(&catalog), &opts, &get_headers, black_box(query)))
        });
    }
    for (name, d) in dialects {
        g.bench_function(format!("insert_10_rows/{name}"), |b| {
            b.iter(|| insert_pipeline(d, black_box(&catalog), &opts, &post_headers, black_box(&body)))
        });
    }
    g.finish();

    // The headline URL, one stage at a time (SQLite dialect).
    let mut g = c.benchmark_group("stages");
    g.bench_function("headline/parse", |b| {
        b.iter(|| ApiRequest::parse(&Method::GET, "/people", Some(black_box(HEADLINE)), &get_headers, &[]).expect("parse"))
    });
    let req = ApiRequest::parse(&Method::GET, "/people", Some(HEADLINE), &get_headers, &[]).expect("parse");
    g.bench_function("headline/plan", |b| b.iter(|| plan(black_box(&req), black_box(&catalog), &opts).expect("plan")));
    let Plan::Read(read) = plan(&req, &catalog, &opts).expect("plan") else { panic!("not a read") };
    g.bench_function("headline/render_sqlite", |b| b.iter(|| read_statement(&SqliteDialect, black_box(&read)).expect("render")));
    g.finish();

    // Authentication and policy: verifying an HS256 JWT, and planning the
    // headline read under a role whose row filter comes from a claim.
    let mut g = c.benchmark_group("auth");
    let secret = "a-bench-secret-of-at-least-32-bytes!!";
    let jwt = Jwt::hs256(secret).build().expect("jwt");
    let claims = serde_json::json!({"role": "member", "tenant": "acme", "exp": 4_102_444_800u64});
    let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))
        .expect("token");
    let (parts, ()) = http::Request::builder()
        .uri("/people")
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(())
        .expect("request")
        .into_parts();
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let identity = rt.block_on(jwt.authenticate(&parts)).expect("valid").expect("identity");
    g.bench_function("jwt_hs256_verify", |b| b.iter(|| rt.block_on(jwt.authenticate(black_box(&parts))).expect("valid")));
    let policy = Policy::new().grant(
        "member",
        "people",
        [Verb::Read],
        Rule::new().columns(["id", "name", "age", "city", "active"]).filter(RowFilter::parse("city=eq.{claims.tenant}").expect("filter")),
    );
    let access = Access { identity: &identity, policy: &policy };
    g.bench_function("headline/plan_with_policy", |b| {
        b.iter(|| plan_for(black_box(&req), black_box(&catalog), &opts, Some(access)).expect("plan"))
    });
    g.bench_function("headline/plan_without_policy", |b| b.iter(|| plan(black_box(&req), black_box(&catalog), &opts).expect("plan")));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_pipeline
}
criterion_main!(benches);
