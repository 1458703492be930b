//! Behaviour only PostgreSQL has: full-text search, array and range
//! operators, enums, planner counts. Runs on the fixture's `docs` table,
//! which only the PostgreSQL fixture defines. And the server-side failure
//! paths: an unreachable server (503), a statement timeout and an
//! exhausted pool (504).
#![cfg(feature = "postgres")]

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use restgate_postgres::{PgBackend, PgOptions};
use restgate_testkit::postgres::{PgHarness, PgTestSchema};
use restgate_testkit::proxy::TcpForwarder;
use restgate_testkit::{run, skip_unreachable, TestGate, TestResponse};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

fn ids(v: &Value) -> Vec<i64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(|r| r["id"].as_i64().unwrap_or(-1)).collect()
}

async fn ids_of(t: &TestGate, query: &str) -> Vec<i64> {
    ids(&t.get_json(&format!("/docs?select=id&order=id&{query}")).await)
}

#[tokio::test]
async fn full_text_search_operators() {
    run(&PgHarness, |t: TestGate| async move {
        // A tsvector column is searched as it is.
        assert_eq!(ids_of(&t, "tsv=fts(english).fox").await, [1, 3]);
        assert_eq!(ids_of(&t, "tsv=fts(english).fox%20%26%20clever").await, [3]);
        assert_eq!(ids_of(&t, "tsv=not.fts(english).fox").await, [2]);
        // A text column goes through to_tsvector.
        assert_eq!(ids_of(&t, "body=plfts(english).lazy%20dog").await, [1]);
        assert_eq!(ids_of(&t, "body=phfts(english).quick%20brown").await, [1]);
        assert_eq!(ids_of(&t, "body=phfts(english).brown%20quick").await, Vec::<i64>::new());
        assert_eq!(ids_of(&t, "body=wfts(english).quick%20-brown").await, [3]);
        assert_eq!(ids_of(&t, "body=fts.coffee").await, [2]);
        // In logic trees too.
        assert_eq!(ids_of(&t, "or=(body.fts(english).coffee,tsv.fts(english).clever)").await, [2, 3]);
        // An unknown configuration is the client's error.
        t.get("/docs?body=fts(klingon).fox").await.assert_error(400, "42704");
        t.get("/docs?body=fts(bad-name).fox").await.assert_error(400, "42704");
    })
    .await;
}

#[tokio::test]
async fn array_operators() {
    run(&PgHarness, |t: TestGate| async move {
        assert_eq!(ids_of(&t, "tags=cs.{animal}").await, [1, 3]);
        assert_eq!(ids_of(&t, "tags=cd.{animal,fast,slow}").await, [1]);
        assert_eq!(ids_of(&t, "tags=ov.{slow,clever}").await, [2, 3]);
        assert_eq!(ids_of(&t, "nums=cs.{3}").await, [1, 3]);
        assert_eq!(ids_of(&t, "nums=not.ov.{3,4}").await, Vec::<i64>::new());
        assert_eq!(ids_of(&t, "tags=eq.{slow,home}").await, [2]);
        // A malformed operand is a 400, not a 500.
        t.get("/docs?nums=cs.{x}").await.assert_error(400, "22P02");
    })
    .await;
}

#[tokio::test]
async fn range_operators() {
    run(&PgHarness, |t: TestGate| async move {
        assert_eq!(ids_of(&t, "period=ov.[2024-01-15,2024-02-15)").await, [1, 2]);
        assert_eq!(ids_of(&t, "period=sl.[2024-05-01,2024-05-02)").await, [1, 2]);
        assert_eq!(ids_of(&t, "period=sr.[2024-05-01,2024-05-02)").await, [3]);
        assert_eq!(ids_of(&t, "period=adj.[2024-03-01,2024-06-01)").await, [2, 3]);
        assert_eq!(ids_of(&t, "period=nxr.[2024-01-01,2024-02-15)").await, [1]);
        assert_eq!(ids_of(&t, "period=nxl.[2024-02-01,2024-12-31)").await, [2, 3]);
        assert_eq!(ids_of(&t, "period=cs.[2024-01-10,2024-01-20)").await, [1]);
        assert_eq!(ids_of(&t, "period=cd.[2024-01-01,2024-12-31)").await, [1, 2, 3]);
        t.get("/docs?period=ov.[2024-02-01,2024-01-01)").await.assert_error(400, "22000");
    })
    .await;
}

#[tokio::test]
async fn arrays_ranges_and_enums_render_and_write() {
    run(&PgHarness, |t: TestGate| async move {
        assert_eq!(
            t.get_json("/docs?select=id,tags,nums,period,mood&id=eq.1").await,
            json!([{"id": 1, "tags": ["animal", "fast"], "nums": [1, 2, 3], "period": "[2024-01-01,2024-02-01)", "mood": "happy"}])
        );
        let r = t
            .post("/docs", json!({"id": 4, "body": "new", "tags": ["a", "b c"], "nums": [7], "period": "[2025-01-01,2025-02-01)", "mood": "ok"}))
            .header("prefer", "return=representation")
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(
            r.json(),
            json!([{"id": 4, "body": "new", "tsv": "'new':1", "tags": ["a", "b c"], "nums": [7], "period": "[2025-01-01,2025-02-01)", "mood": "ok"}])
        );
        // Enums compare as their type (declaration order), not as text.
        assert_eq!(ids_of(&t, "mood=eq.ok").await, [2, 4]);
        assert_eq!(ids_of(&t, "mood=gt.ok").await, [1]);
        assert_eq!(ids_of(&t, "mood=in.(sad,happy)").await, [1, 3]);
        assert_eq!(ids(&t.get_json("/docs?select=id&order=mood,id").await), [3, 2, 4, 1]);
        let r = t.patch("/docs?id=eq.4", json!({"mood": "sad", "tags": []})).send().await;
        assert_eq!(r.status, 204, "{}", r.text());
        assert_eq!(t.get_json("/docs?select=mood,tags&id=eq.4").await, json!([{"mood": "sad", "tags": []}]));
        // A value outside the enum is the client's error, and writes nothing.
        t.post("/docs", json!({"id": 5, "body": "x", "mood": "meh"})).send().await.assert_error(400, "22P02");
        t.get("/docs?mood=eq.meh").await.assert_error(400, "22P02");
        // The generated tsvector is read-only.
        assert_eq!(t.post("/docs", json!({"id": 6, "body": "x", "tsv": "x"})).send().await.status.as_u16() / 100, 4);
        assert_eq!(ids_of(&t, "id=gte.5").await, Vec::<i64>::new());
    })
    .await;
}

#[tokio::test]
async fn views_carry_their_base_tables_foreign_keys() {
    run(&PgHarness, |t: TestGate| async move {
        // Many-to-one from the view, through films.director_id.
        assert_eq!(
            t.get_json("/film_titles?select=title,directors(last_name)&id=in.(1,4)&order=id").await,
            json!([{"title": "Rashomon", "directors": {"last_name": "Kurosawa"}}, {"title": "Lost in Translation", "directors": {"last_name": "Coppola"}}])
        );
        // One-to-many into the view (film 6 has no rating, so the view leaves it out).
        assert_eq!(
            t.get_json("/directors?select=last_name,film_titles(title)&film_titles.order=id&id=eq.2").await,
            json!([{"last_name": "Coppola", "film_titles": [{"title": "Lost in Translation"}, {"title": "Marie Antoinette"}]}])
        );
        // Many-to-many through roles, whose key points at films.
        let v = t.get_json("/film_titles?select=id,actors(id)&actors.order=id&id=eq.1").await;
        let direct = t.get_json("/films?select=id,actors(id)&actors.order=id&id=eq.1").await;
        assert_eq!(v, direct);
        assert!(!v[0]["actors"].as_array().is_none_or(Vec::is_empty), "{v}");
        // The base table's relationships are unchanged (no new ambiguity).
        let r = t.get("/directors?select=films(title)").await;
        assert_eq!(r.status, 200, "{}", r.text());
    })
    .await;
}

#[tokio::test]
async fn operators_on_the_wrong_type_are_400() {
    run(&PgHarness, |t: TestGate| async move {
        // PostgreSQL refuses these at plan time (42804, 42883): the client's error, never a 500.
        t.get("/people?id=is.true").await.assert_error(400, "42804");
        t.get("/people?id=like.1*").await.assert_error(400, "42883");
        t.get("/people?or=(id.ilike.*1*,name.eq.Ada)").await.assert_error(400, "42883");
    })
    .await;
}

#[tokio::test]
async fn planned_and_estimated_counts() {
    run(&PgHarness, |t: TestGate| async move {
        let r = t.req(http::Method::GET, "/docs?limit=1").header("prefer", "count=planned").send().await;
        let range = r.header("content-range").unwrap_or("").to_owned();
        assert!(range.starts_with("0-0/") && range[4..].parse::<u64>().is_ok(), "{range}");
        // Small tables are counted exactly under count=estimated.
        let r = t.req(http::Method::GET, "/docs?limit=1&id=gt.1").header("prefer", "count=estimated").send().await;
        assert_eq!(r.header("content-range"), Some("0-0/2"));
    })
    .await;
}

#[tokio::test]
async fn timestamptz_renders_in_utc() {
    run(&PgHarness, |t: TestGate| async move {
        let r =
            t.post("/typed", json!({"id": 30, "tstz": "2024-06-30T23:30:00-05:00"})).header("prefer", "return=representation").send().await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()[0]["tstz"], json!("2024-07-01T04:30:00+00:00"));
    })
    .await;
}

#[tokio::test]
async fn non_finite_floats_use_postgresql_spellings() {
    run(&PgHarness, |t: TestGate| async move {
        for (id, v) in [(20, "Infinity"), (21, "-Infinity"), (22, "NaN")] {
            let r = t.post("/typed", json!({"id": id, "f_double": v})).send().await;
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let v = t.get_json("/typed?select=id,f_double&id=gte.20&order=id").await;
        // PostgreSQL keeps NaN (SQLite stores it as NULL).
        assert_eq!(v, json!([{"id": 20, "f_double": "Infinity"}, {"id": 21, "f_double": "-Infinity"}, {"id": 22, "f_double": "NaN"}]));
    })
    .await;
}

/// Objects are built as text from the columns of a derived table
/// (`Dialect::row_json`): byte for byte what `row_to_json` writes, for
/// every type, NULLs, non-finite floats, strings and keys that need
/// escaping, and embedded objects and arrays.
#[tokio::test]
async fn objects_read_as_row_to_json_writes_them() {
    let Some(schema) = PgTestSchema::create().await else { return skip_unreachable("postgresql") };
    let s = schema.name().to_owned();
    schema
        .execute(&format!(
            r#"INSERT INTO "{s}".typed (id, i_small, f_double, n_dec, b_bool, t_text, t_var, t_time, ts, j_json)
               VALUES (3, -4, 'NaN', 10.5000, false, E'q"uote\\back\n\t\x01 \u00fc\u2603', 'x', '10:00:00.5', '2024-01-01 10:00:00.25', '{{"a": [1, "b"], "c": {{}}}}')"#
        ))
        .await;
    let mut conn = PgConnection::connect(&schema.url()).await.expect("connect");
    let backend = PgOptions::new().schemas([schema.name()]).connect(&schema.url()).await.expect("connect the backend");
    let t = schema.serve(backend, |b| b).await;
    sqlx::query("SET TimeZone = 'UTC'").execute(&mut conn).await.expect("set the time zone");
    async fn expected(conn: &mut PgConnection, sql: &str) -> String {
        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
    let all = expected(
        &mut conn,
        &format!(
            r#"SELECT '[' || string_agg(row_to_json(t)::text, ',' ORDER BY id) || ']' FROM (SELECT id, i_small, i_big, f_double,
               trim_scale(n_dec) AS n_dec, b_bool, t_text, t_var, d_date, t_time, ts, tstz, u_uuid, j_json, bin FROM "{s}".typed) t"#
        ),
    )
    .await;
    let r = t.get("/typed?order=id").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), all);
    // One row (read without the aggregate), and keys that need escaping.
    let one = expected(
        &mut conn,
        &format!(
            r#"SELECT '[' || row_to_json(t)::text || ']' FROM (SELECT id AS "a""b\c", t_text AS "ü k", f_double AS "t{TAB}ab" FROM "{s}".typed WHERE id = 3) t"#,
            TAB = '\t',
        ),
    )
    .await;
    let r = t.get("/typed?select=%22a%5C%22b%5C%5Cc%22:id,%C3%BC%20k:t_text,%22t%09ab%22:f_double&id=eq.3").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), one);
    // Embedded objects and arrays (a key holding what SQL text could take
    // for a placeholder or a quote), and an embed with no rows.
    let embeds = expected(
        &mut conn,
        &format!(
            r#"SELECT '[' || string_agg(row_to_json(t)::text, ',' ORDER BY id) || ']' FROM (
                 SELECT f.id, f.title,
                   (SELECT row_to_json(d) FROM (SELECT last_name AS "l$1'x?" FROM "{s}".directors WHERE id = f.director_id) d) AS directors,
                   (SELECT COALESCE(json_agg(a ORDER BY a.id), '[]') FROM (SELECT ac.id, ac.first_name FROM "{s}".actors ac
                      JOIN "{s}".roles r ON r.actor_id = ac.id WHERE r.film_id = f.id) a) AS actors
                 FROM "{s}".films f) t"#
        ),
    )
    .await;
    let embeds: Value = serde_json::from_str(&embeds).expect("JSON");
    let r = t.get("/films?select=id,title,directors(%22l$1'x?%22:last_name),actors(id,first_name)&order=id&actors.order=id").await;
    assert_eq!(r.status, 200, "{}", r.text());
    // json_agg puts spaces between elements: compare the values, and that the text is compact.
    assert_eq!(r.json(), embeds);
    assert_eq!(r.text(), serde_json::to_string(&embeds).expect("JSON"));
    // A to-one object of ten placeholders and more (`$10` in its template).
    let wide = expected(
        &mut conn,
        &format!(
            r#"SELECT '[' || string_agg(row_to_json(t)::text, ',' ORDER BY film_id, actor_id) || ']' FROM (
                 SELECT r.film_id, r.actor_id,
                   (SELECT row_to_json(f) FROM (SELECT id, director_id, title, year, rating FROM "{s}".films WHERE id = r.film_id) f) AS films
                 FROM "{s}".roles r) t"#
        ),
    )
    .await;
    let r = t.get("/roles?select=film_id,actor_id,films(id,director_id,title,year,rating)&order=film_id,actor_id").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), wide);
    conn.close().await.expect("close");
}

/// How long a request that must fail fast may take before the test fails
/// (instead of hanging): generous, the timeouts under test are a second.
const BOUND: Duration = Duration::from_secs(30);

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(BOUND, f).await.unwrap_or_else(|_| panic!("{what} did not finish in {BOUND:?}"))
}

/// A view whose read sleeps in the database for a minute.
const SLOW_VIEW: &str = "CREATE VIEW slow AS SELECT 1 AS id FROM pg_sleep(60)";

/// A 503 with `Retry-After` and PostgREST's body, which names neither the
/// server nor the driver's error.
#[track_caller]
fn assert_unavailable(r: &TestResponse, secrets: &[&str]) {
    let body = r.assert_error(503, "PGRST000");
    let retry = r.header("retry-after").unwrap_or_else(|| panic!("no Retry-After on a 503: {:?}", r.headers));
    assert!(retry.parse::<u32>().is_ok_and(|s| s >= 1), "Retry-After: {retry}");
    let text = body.to_string().to_lowercase();
    for secret in secrets.iter().copied().chain(["refused", "timed out", "pool", "os error", "connection reset", "broken pipe"]) {
        assert!(!text.contains(&secret.to_lowercase()), "the error body leaks {secret:?}: {body}");
    }
}

#[tokio::test]
async fn unreachable_database_is_503_with_retry_after() {
    let Some(schema) = PgTestSchema::create().await else { return skip_unreachable("postgresql") };
    let server = PgConnectOptions::from_str(&restgate_testkit::postgres::url()).expect("a PostgreSQL URL");
    let (user, server_port, name) = (server.get_username().to_owned(), server.get_port().to_string(), schema.name().to_owned());
    let mut proxy = TcpForwarder::start(schema.server_addr()).await.expect("start the forwarder");
    let proxy_port = proxy.port().to_string();
    let backend = PgOptions::new()
        .schemas([schema.name()])
        .pool_size(2)
        .acquire_timeout(Duration::from_secs(1))
        .connect(&schema.url_via(proxy.port()))
        .await
        .expect("connect through the forwarder");
    let t = schema.serve(backend, |b| b).await;
    assert_eq!(t.get_json("/people?select=id&id=eq.1").await, json!([{"id": 1}]));

    // The server goes away: listener closed, pooled connections cut.
    proxy.stop().await;
    let secrets = ["127.0.0.1", "localhost", &proxy_port, &server_port, &user, &name];
    let r = within("GET", t.get("/people?select=id")).await;
    assert_unavailable(&r, &secrets);
    // A read with a count (in a transaction) and a write fail the same way.
    let r = within("GET count=exact", t.req(http::Method::GET, "/people?select=id").header("prefer", "count=exact").send()).await;
    assert_unavailable(&r, &secrets);
    let r = within("POST", t.post("/items", json!({"name": "fig"})).send()).await;
    assert_unavailable(&r, &secrets);

    // Back again: the same gate reconnects.
    proxy.restart().await.expect("listen on the same port again");
    let r = within("GET after the restart", t.get("/people?select=id&id=eq.1")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!([{"id": 1}]));
}

async fn with_statement_timeout(schema: &PgTestSchema, timeout: Duration) -> PgBackend {
    PgOptions::new().schemas([schema.name()]).statement_timeout(timeout).connect(&schema.url()).await.expect("connect the backend")
}

/// The statement timeout bounds requests, not reading the catalog: a
/// timeout far shorter than the catalog queries still starts (and reloads).
#[tokio::test]
async fn statement_timeout_does_not_bound_reading_the_catalog() {
    let Some(schema) = PgTestSchema::create().await else { return skip_unreachable("postgresql") };
    let backend = with_statement_timeout(&schema, Duration::from_millis(1)).await;
    let t = schema.serve(backend, |b| b).await;
    t.gate().reload().await.expect("reload the catalog");
    let doc = t.get_json("/").await;
    assert!(doc["paths"]["/people"].is_object(), "{doc}");
}

#[tokio::test]
async fn statement_timeout_is_504() {
    let Some(schema) = PgTestSchema::create().await else { return skip_unreachable("postgresql") };
    schema.execute(SLOW_VIEW).await;
    let backend = with_statement_timeout(&schema, Duration::from_secs(1)).await;
    let t = schema.serve(backend, |b| b).await;
    // SQLSTATE 57014 (canceling statement due to statement timeout).
    within("GET /slow", t.get("/slow")).await.assert_error(504, "57014");
    let r = within("GET /slow count=exact", t.req(http::Method::GET, "/slow").header("prefer", "count=exact").send()).await;
    r.assert_error(504, "57014");
    // The connections are fine afterwards.
    assert_eq!(t.get_json("/people?select=id&id=eq.1").await, json!([{"id": 1}]));
}

/// The pid of the connection tagged `app` that sleeps in `pg_sleep`, once there is one.
async fn sleeping_backend(conn: &mut PgConnection, app: &str) -> i32 {
    loop {
        let pid: Option<i32> =
            sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'PgSleep'")
                .bind(app)
                .fetch_optional(&mut *conn)
                .await
                .expect("read pg_stat_activity");
        if let Some(pid) = pid {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn exhausted_pool_is_504() {
    let Some(schema) = PgTestSchema::create().await else { return skip_unreachable("postgresql") };
    schema.execute(SLOW_VIEW).await;
    let app = schema.name().to_owned();
    let backend = PgOptions::new()
        .schemas([schema.name()])
        .pool_size(1)
        .acquire_timeout(Duration::from_millis(500))
        .connect(&schema.url())
        .await
        .expect("connect the backend");
    let t = schema.serve(backend, |b| b).await;
    let mut watcher = PgConnection::connect(&restgate_testkit::postgres::url()).await.expect("connect the watcher");
    let slow = t.get("/slow");
    let other = async {
        // Once the slow read holds the only connection (sleeping in the database)…
        let pid = sleeping_backend(&mut watcher, &app).await;
        let r = t.get("/people?select=id").await;
        // … and the other request has given up waiting, the sleep is cancelled.
        sqlx::query("SELECT pg_cancel_backend($1)").bind(pid).execute(&mut watcher).await.expect("cancel the sleep");
        r
    };
    let (slow, other) = within("the two requests", async { tokio::join!(slow, other) }).await;
    other.assert_error(504, "PGRST003");
    // A cancelled statement is 57014 too.
    slow.assert_error(504, "57014");
    // The connection went back to the pool.
    assert_eq!(t.get_json("/people?select=id&id=eq.1").await, json!([{"id": 1}]));
    watcher.close().await.expect("close the watcher");
}

/// Ends every connection of application `app` (as a restart or an administrator would).
async fn end_connections(admin: &mut PgConnection, app: &str) {
    let ended: Vec<bool> = sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
        .bind(app)
        .fetch_all(&mut *admin)
        .await
        .expect("terminate the gate's connections");
    assert!(!ended.is_empty(), "the gate had no connections");
}

#[tokio::test]
async fn reads_survive_connections_the_server_dropped() {
    let Some(schema) = PgTestSchema::create().await else { return skip_unreachable("postgresql") };
    let app = schema.name().to_owned();
    let backend = PgOptions::new().schemas([schema.name()]).pool_size(3).connect(&schema.url()).await.expect("connect the backend");
    let t = schema.serve(backend, |b| b).await;
    // Fill the pool: three reads at once hold three connections.
    let q = "/people?select=id&id=eq.1";
    let (a, b, c) = tokio::join!(t.get_json(q), t.get_json(q), t.get_json(q));
    assert!([a, b, c].iter().all(|r| *r == json!([{"id": 1}])));
    // The server ends every one of them (as a restart or an administrator would).
    let mut admin = PgConnection::connect(&restgate_testkit::postgres::url()).await.expect("connect the admin");
    end_connections(&mut admin, &app).await;
    // No read fails: each dead connection is dropped and the read goes on with a live one.
    for _ in 0..5 {
        let r = within("GET after the connections were ended", t.get("/people?select=id&id=eq.1")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), json!([{"id": 1}]));
    }
    // Reads keep their connections between requests; a write takes those
    // first and pings them: dead ones are closed, and the write runs once.
    let (a, b, c) = tokio::join!(t.get_json(q), t.get_json(q), t.get_json(q));
    assert!([a, b, c].iter().all(|r| *r == json!([{"id": 1}])));
    end_connections(&mut admin, &app).await;
    let r = within("PATCH after the connections were ended", t.patch("/people?id=eq.1", json!({"age": 77})).send()).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(t.get_json("/people?select=age&id=eq.1").await, json!([{"age": 77}]));
}
