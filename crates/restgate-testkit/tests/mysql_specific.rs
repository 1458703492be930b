//! Behaviour that is MySQL/MariaDB's own: documented exceptions to the
//! shared suite, and the server's own types (BIT, ZEROFILL, spatial). And
//! the server-side failure paths: an unreachable server (503), a
//! statement timeout and an exhausted pool (504).
#![cfg(feature = "mysql")]

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use restgate_mysql::MySqlOptions;
use restgate_testkit::mysql::{MySqlHarness, MySqlTestDatabase};
use restgate_testkit::proxy::TcpForwarder;
use restgate_testkit::{run, skip_unreachable, TestGate, TestResponse};
use serde_json::json;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{AssertSqlSafe, Connection, Executor};

fn ids(v: &serde_json::Value) -> Vec<i64> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(|r| r["id"].as_i64().unwrap_or(-1)).collect()
}

#[tokio::test]
async fn fts_runs_on_fulltext_indexed_columns() {
    run(&MySqlHarness, |t: TestGate| async move {
        assert_eq!(ids(&t.get_json("/docs?body=fts.lazy&order=id").await), [1, 2]);
        assert_eq!(ids(&t.get_json("/docs?body=plfts.coffee%20books&order=id").await), [2]);
        assert_eq!(ids(&t.get_json("/docs?body=phfts.quick%20brown&order=id").await), [1]);
        assert_eq!(ids(&t.get_json("/docs?body=wfts.%2Bquick%20-brown&order=id").await), [3]);
        assert_eq!(ids(&t.get_json("/docs?body=not.fts.lazy&order=id").await), [3]);
    })
    .await;
}

#[tokio::test]
async fn fts_without_a_fulltext_index_and_range_operators_are_not_implemented() {
    run(&MySqlHarness, |t: TestGate| async move {
        let e = t.get("/people?name=fts.ada").await.assert_error(400, "PGRST127");
        let details = e["details"].as_str().unwrap_or("");
        assert!(details.contains("mariadb") || details.contains("mysql"), "{e}");
        t.get("/people?name=plfts(english).ada").await.assert_error(400, "PGRST127");
        t.get("/people?age=cs.{1,2}").await.assert_error(400, "PGRST127");
        t.get("/people?age=ov.[1,2]").await.assert_error(400, "PGRST127");
    })
    .await;
}

#[tokio::test]
async fn non_finite_floats_cannot_be_stored() {
    run(&MySqlHarness, |t: TestGate| async move {
        let before = t.snapshot("typed", "id").await;
        for v in ["Infinity", "-Infinity", "NaN"] {
            let r = t.post("/typed", json!({"id": 20, "f_double": v})).send().await;
            assert_eq!(r.status, 400, "{v}: {}", r.text());
        }
        assert_eq!(t.snapshot("typed", "id").await, before);
        // Comparisons with infinities still work.
        assert_eq!(ids(&t.get_json("/typed?f_double=lt.Infinity").await), [1]);
    })
    .await;
}

#[tokio::test]
async fn auto_increment_keys_come_back_in_order() {
    run(&MySqlHarness, |t: TestGate| async move {
        let r = t
            .post("/items?select=id,name", json!([{"name": "fig"}, {"name": "kiwi"}, {"name": "lime"}]))
            .header("prefer", "return=representation")
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json(), json!([{"id": 4, "name": "fig"}, {"id": 5, "name": "kiwi"}, {"id": 6, "name": "lime"}]));
        let r = t.post("/items", json!({"name": "plum"})).header("prefer", "return=headers-only").send().await;
        assert_eq!(r.header("location"), Some("/items?id=eq.7"));
    })
    .await;
}

#[tokio::test]
async fn updates_that_change_the_key_read_back_the_new_key() {
    run(&MySqlHarness, |t: TestGate| async move {
        let r = t.patch("/items?id=eq.1&select=id,name", json!({"id": 40})).header("prefer", "return=representation").send().await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), json!([{"id": 40, "name": "apple"}]));
    })
    .await;
}

#[tokio::test]
async fn planned_counts_come_from_the_optimizer() {
    run(&MySqlHarness, |t: TestGate| async move {
        let total = |r: &restgate_testkit::TestResponse| -> u64 {
            let range = r.header("content-range").unwrap_or("").to_owned();
            range.rsplit('/').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no total in {range}"))
        };
        // The estimate of a small table is close to its size, and never zero for a non-empty one.
        let r = t.req(http::Method::GET, "/people?limit=1").header("prefer", "count=planned").send().await;
        assert!((1..=100).contains(&total(&r)), "{:?}", r.header("content-range"));
        // count=estimated is exact below a thousand estimated rows.
        let r = t.req(http::Method::GET, "/people?limit=1").header("prefer", "count=estimated").send().await;
        assert_eq!(total(&r), 10);
        let r = t.req(http::Method::GET, "/people?limit=1&age=gt.40").header("prefer", "count=estimated").send().await;
        assert_eq!(total(&r), 5);
    })
    .await;
}

/// Columns the server hands out in forms that are no JSON: BIT(1) and
/// BIT(n) as bytes (0 is a NUL byte), ZEROFILL numbers as padded digits,
/// spatial values as their binary form. Rows hold zeros and NULLs.
const ODD_TYPES: &str = r#"
CREATE TABLE shapes (
    id    INT PRIMARY KEY,
    flag  BIT(1),
    mask  BIT(8),
    code  INT(5) ZEROFILL,
    price DECIMAL(6,2) ZEROFILL,
    spot  POINT,
    path  GEOMETRY
);
INSERT INTO shapes VALUES
    (1, b'1', b'00000101', 42, 1.50, POINT(1, 2), ST_GeomFromText('LINESTRING(0 0, 1 1)')),
    (2, b'0', b'00000000', 0, 0, POINT(-1.5, 3), ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))')),
    (3, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, b'1', b'11111111', 7, 1234.50, POINT(0, 0), NULL);
CREATE TABLE marks (
    id       INT PRIMARY KEY,
    shape_id INT NOT NULL,
    bits     BIT(4),
    FOREIGN KEY (shape_id) REFERENCES shapes (id)
);
INSERT INTO marks VALUES (1, 1, b'0000'), (2, 1, b'1010'), (3, 2, NULL);
"#;

/// A gate over a fresh database holding [`ODD_TYPES`].
async fn odd_types() -> Option<TestGate> {
    let db = MySqlTestDatabase::create().await?;
    db.execute(ODD_TYPES).await;
    let backend = MySqlOptions::new().pool_size(2).connect(&db.url()).await.expect("connect the backend");
    Some(db.serve(backend, |b| b).await)
}

/// The same columns twice, nullable and `NOT NULL`, holding the same rows:
/// MariaDB renders a `NOT NULL` column's JSON without the NULL arms, and
/// must write the same text for it. A latin1 column, an enum, a year and
/// binary strings are there for the server's string conversions.
const NOT_NULL_TYPES: &str = r#"
CREATE TABLE parents (id INT PRIMARY KEY, label VARCHAR(10) NOT NULL);
INSERT INTO parents VALUES (1, 'one'), (2, 'two');
CREATE TABLE loose (
    id INT PRIMARY KEY, parent_id INT, i_small SMALLINT, i_big BIGINT, f_double DOUBLE, f_float FLOAT,
    n_dec DECIMAL(12,4), b_bool BOOLEAN, flag BIT(1), mask BIT(8), code INT(5) ZEROFILL,
    t_text TEXT, t_latin VARCHAR(20) CHARACTER SET latin1, t_enum ENUM('a','b c','d"e'), y_year YEAR,
    d_date DATE, t_time TIME(6), ts DATETIME, ts6 DATETIME(6), tstz TIMESTAMP(6) NULL DEFAULT NULL,
    j_json JSON, bin BLOB, vbin VARBINARY(8), spot POINT,
    FOREIGN KEY (parent_id) REFERENCES parents (id)
);
INSERT INTO loose VALUES
    (1, 1, -3, 9007199254740993, 1.5e300, 0.25, 12.5000, 1, b'1', b'00000101', 42, 'tab\there "q" é', 'café', 'b c', 2024,
     '2024-02-29', '-01:02:03.450000', '2024-02-29 13:45:00', '2024-02-29 13:45:00.123000', '2024-02-29 13:45:00.000001',
     '{"a": [1, {"b": null}]}', x'00ff10', x'41', POINT(1, 2)),
    (2, 2, 0, 0, 0, 0, 0, 0, b'0', b'00000000', 0, '', '', 'd"e', 1901,
     '0001-01-01', '00:00:00', '1000-01-01 00:00:00', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01',
     'null', x'', x'', POINT(-1.5, 0));
CREATE TABLE strict LIKE loose;
ALTER TABLE strict
    MODIFY parent_id INT NOT NULL, MODIFY i_small SMALLINT NOT NULL, MODIFY i_big BIGINT NOT NULL,
    MODIFY f_double DOUBLE NOT NULL, MODIFY f_float FLOAT NOT NULL, MODIFY n_dec DECIMAL(12,4) NOT NULL,
    MODIFY b_bool BOOLEAN NOT NULL, MODIFY flag BIT(1) NOT NULL, MODIFY mask BIT(8) NOT NULL,
    MODIFY code INT(5) ZEROFILL NOT NULL, MODIFY t_text TEXT NOT NULL,
    MODIFY t_latin VARCHAR(20) CHARACTER SET latin1 NOT NULL, MODIFY t_enum ENUM('a','b c','d"e') NOT NULL,
    MODIFY y_year YEAR NOT NULL, MODIFY d_date DATE NOT NULL, MODIFY t_time TIME(6) NOT NULL,
    MODIFY ts DATETIME NOT NULL, MODIFY ts6 DATETIME(6) NOT NULL, MODIFY tstz TIMESTAMP(6) NOT NULL DEFAULT '2000-01-01 00:00:00',
    MODIFY j_json JSON NOT NULL, MODIFY bin BLOB NOT NULL, MODIFY vbin VARBINARY(8) NOT NULL, MODIFY spot POINT NOT NULL,
    ADD FOREIGN KEY (parent_id) REFERENCES parents (id);
INSERT INTO strict SELECT * FROM loose;
"#;

#[tokio::test]
async fn not_null_columns_read_as_the_same_json() {
    let Some(db) = MySqlTestDatabase::create().await else { return skip_unreachable("mysql") };
    db.execute(NOT_NULL_TYPES).await;
    let backend = MySqlOptions::new().pool_size(2).connect(&db.url()).await.expect("connect the backend");
    let t = db.serve(backend, |b| b).await;
    let body = |r: TestResponse| {
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
    };
    for query in [
        "select=*&order=id",
        // One row (not joined by the server), an embedded object (a join
        // on MariaDB) and an embedded array, and the parents' side.
        "select=*&id=eq.1",
        "select=id,t_latin,parents(id,label)&order=id",
        "select=id,...parents(label),t_enum&order=id",
    ] {
        let loose = body(t.get(&format!("/loose?{query}")).await);
        let strict = body(t.get(&format!("/strict?{query}")).await);
        assert_eq!(strict, loose, "{query}");
    }
    let loose = body(t.get("/parents?select=id,loose(i_big,t_latin,ts6,b_bool,n_dec)&loose.order=id&order=id").await);
    let strict = body(t.get("/parents?select=id,strict(i_big,t_latin,ts6,b_bool,n_dec)&strict.order=id&order=id").await);
    assert_eq!(strict.replace("strict", "loose"), loose);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&strict).expect("JSON"),
        json!([
            {"id": 1, "strict": [{"i_big": 9007199254740993_i64, "t_latin": "café", "ts6": "2024-02-29T13:45:00.123", "b_bool": true, "n_dec": 12.5}]},
            {"id": 2, "strict": [{"i_big": 0, "t_latin": "", "ts6": "9999-12-31T23:59:59.999999", "b_bool": false, "n_dec": 0}]}
        ])
    );
}

/// Strings with every character a JSON string escapes, and some that look
/// like the backend's length prefix, in a utf8mb4, a latin1 and a binary
/// collation column, an enum and a date.
const STRINGS: &str = r#"
CREATE TABLE owners (id INT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE words (
    id INT PRIMARY KEY, owner_id INT, s TEXT, l VARCHAR(40) CHARACTER SET latin1 NOT NULL,
    b VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, e ENUM('#1:x', 'a"b', 'ü'), d DATE,
    FOREIGN KEY (owner_id) REFERENCES owners (id)
);
"#;

/// A JSON text with the hex digits of its `\u` escapes in upper case.
fn upper_hex(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(i) = rest.find("\\u") {
        out.push_str(&rest[..i + 2]);
        out.push_str(&rest[i + 2..i + 6].to_ascii_uppercase());
        rest = &rest[i + 6..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn strings_read_as_json_quote_writes_them() {
    let Some(db) = MySqlTestDatabase::create().await else { return skip_unreachable("mysql") };
    db.execute(STRINGS).await;
    let mut conn = MySqlConnection::connect(&db.url()).await.expect("connect");
    let controls: String = (0u8..0x20).map(char::from).collect();
    let values = [controls.as_str(), "quote \" backslash \\ slash / del \u{7f}", "#3:abc", "#999:", "\",\"x\":#1:", "é € 😀 中文", ""];
    for (i, v) in values.iter().enumerate() {
        let id = i as i64 + 1;
        sqlx::query("INSERT INTO owners VALUES (?, ?)").bind(id).bind(*v).execute(&mut conn).await.expect("insert an owner");
        sqlx::query("INSERT INTO words VALUES (?, ?, ?, ?, ?, ?, '2024-02-29')")
            .bind(id)
            .bind(id)
            .bind(*v)
            .bind(if v.is_ascii() { *v } else { "café ñ" })
            .bind(*v)
            .bind(["#1:x", "a\"b", "ü"][i % 3])
            .execute(&mut conn)
            .await
            .expect("insert a word");
    }
    sqlx::query("INSERT INTO words (id, l) VALUES (99, '')").execute(&mut conn).await.expect("insert NULLs");
    let backend = MySqlOptions::new().pool_size(2).connect(&db.url()).await.expect("connect the backend");
    let t = db.serve(backend, |b| b).await;
    let body = |r: TestResponse| {
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
    };
    // What the server's JSON_QUOTE writes for each value, byte for byte
    // (but for `\u001f`: MySQL writes lower case hex digits, MariaDB and
    // restgate upper case).
    let quoted: Vec<(i64, String, String, String, String, String)> = sqlx::query_as(
        "SELECT id, JSON_QUOTE(CONVERT(s USING utf8mb4)), JSON_QUOTE(CONVERT(l USING utf8mb4)), \
         JSON_QUOTE(CONVERT(b USING utf8mb4)), JSON_QUOTE(CONVERT(e USING utf8mb4)), JSON_QUOTE(CONVERT(d USING utf8mb4)) \
         FROM words WHERE id < 99 ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .expect("quote");
    let quoted =
        quoted.into_iter().map(|(id, s, l, b, e, d)| (id, upper_hex(&s), upper_hex(&l), upper_hex(&b), upper_hex(&e), upper_hex(&d)));
    let plain = body(t.get("/words?select=id,s,l,b,e,d&order=id").await);
    let one = body(t.get("/words?select=id,s,l,b,e,d&id=eq.2").await);
    let to_one = body(t.get("/words?select=id,owners(name)&order=id").await);
    let spread = body(t.get("/words?select=id,...owners(name)&order=id").await);
    let to_many = body(t.get("/owners?select=id,words(s,l,b,e,d)&order=id").await);
    let mut expected = Vec::new();
    for (id, s, l, b, e, d) in quoted {
        let row = format!(r#"{{"id":{id},"s":{s},"l":{l},"b":{b},"e":{e},"d":{d}}}"#);
        assert!(to_many.contains(&format!(r#"{{"id":{id},"words":[{{"s":{s},"l":{l},"b":{b},"e":{e},"d":{d}}}]}}"#)), "{to_many}");
        assert!(to_one.contains(&format!(r#"{{"id":{id},"owners":{{"name":{s}}}}}"#)), "{to_one}");
        assert!(spread.contains(&format!(r#"{{"id":{id},"name":{s}}}"#)), "{spread}");
        if id == 2 {
            assert_eq!(one, format!("[{row}]"));
        }
        expected.push(row);
    }
    expected.push(r#"{"id":99,"s":null,"l":"","b":null,"e":null,"d":null}"#.to_owned());
    assert_eq!(plain, format!("[{}]", expected.join(",")));
    // And the values are the column's, whatever the escaping.
    let rows: Vec<serde_json::Value> = serde_json::from_str(&plain).expect("JSON");
    for (i, v) in values.iter().enumerate() {
        assert_eq!(rows[i]["s"], *v);
        assert_eq!(rows[i]["b"], *v);
    }
    assert_eq!(rows[5]["l"], "café ñ");
}

/// A GeoJSON point.
fn point(coordinates: serde_json::Value) -> serde_json::Value {
    json!({"type": "Point", "coordinates": coordinates})
}

/// `v` with every number as a double: GeoJSON's coordinates are the
/// server's own JSON (MariaDB writes a whole coordinate as `1`, MySQL as
/// `1.0`), compared as numbers.
fn numbers(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.into_iter().map(numbers).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, numbers(v))).collect()),
        v => v,
    }
}

#[tokio::test]
async fn bit_zerofill_and_spatial_columns_read_as_json_values() {
    let Some(t) = odd_types().await else { return skip_unreachable("mysql") };
    let r = t.get("/shapes?order=id").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        numbers(r.json()),
        numbers(json!([
            {"id": 1, "flag": true, "mask": 5, "code": 42, "price": 1.5, "spot": point(json!([1, 2])),
             "path": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
            {"id": 2, "flag": false, "mask": 0, "code": 0, "price": 0, "spot": point(json!([-1.5, 3])),
             "path": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
            {"id": 3, "flag": null, "mask": null, "code": null, "price": null, "spot": null, "path": null},
            {"id": 4, "flag": true, "mask": 255, "code": 7, "price": 1234.5, "spot": point(json!([0, 0])), "path": null}
        ]))
    );
    // The same values inside embeds (a BIT 0 in an array or a to-one object too).
    assert_eq!(
        t.get_json("/shapes?select=id,marks(id,bits)&id=in.(1,2)&order=id").await,
        json!([{"id": 1, "marks": [{"id": 1, "bits": 0}, {"id": 2, "bits": 10}]}, {"id": 2, "marks": [{"id": 3, "bits": null}]}])
    );
    assert_eq!(
        numbers(t.get_json("/marks?select=id,bits,shapes(flag,mask,code,spot)&order=id").await),
        numbers(json!([
            {"id": 1, "bits": 0, "shapes": {"flag": true, "mask": 5, "code": 42, "spot": point(json!([1, 2]))}},
            {"id": 2, "bits": 10, "shapes": {"flag": true, "mask": 5, "code": 42, "spot": point(json!([1, 2]))}},
            {"id": 3, "bits": null, "shapes": {"flag": false, "mask": 0, "code": 0, "spot": point(json!([-1.5, 3]))}}
        ]))
    );
    // Casts, JSON paths into GeoJSON, and one object.
    assert_eq!(
        numbers(t.get_json("/shapes?select=id,mask::text,code::text,x:spot->coordinates->0,kind:spot->>type&id=eq.1").await),
        numbers(json!([{"id": 1, "mask": "5", "code": "42", "x": 1, "kind": "Point"}]))
    );
    let r = t.req(http::Method::GET, "/shapes?select=flag,mask&id=eq.2").header("accept", "application/vnd.pgrst.object+json").send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"flag": false, "mask": 0}));
}

#[tokio::test]
async fn bit_zerofill_and_spatial_filters_take_the_values_reads_show() {
    let Some(t) = odd_types().await else { return skip_unreachable("mysql") };
    for (query, expected) in [
        ("flag=eq.true", vec![1, 4]),
        ("flag=eq.false", vec![2]),
        ("flag=is.true", vec![1, 4]),
        ("flag=is.false", vec![2]),
        ("flag=neq.true", vec![2]),
        ("flag=in.(false)", vec![2]),
        ("mask=eq.5", vec![1]),
        ("mask=eq.0", vec![2]),
        ("mask=in.(0,255)", vec![2, 4]),
        ("mask=gt.4", vec![1, 4]),
        ("mask=lte.5", vec![1, 2]),
        ("mask=is.null", vec![3]),
        ("mask=not.eq.5", vec![2, 4]),
        ("code=eq.42", vec![1]),
        ("code=eq.0", vec![2]),
        ("code=in.(7,42)", vec![1, 4]),
        ("code=lt.10", vec![2, 4]),
        ("code=like.4*", vec![1]),
        ("price=eq.1.5", vec![1]),
        ("price=gt.1", vec![1, 4]),
        ("or=(mask.eq.0,code.eq.7)", vec![2, 4]),
        (r#"spot=eq.{"type":"Point","coordinates":[1,2]}"#, vec![1]),
        (r#"spot=eq.{"coordinates": [1.0, 2.0], "type": "Point"}"#, vec![1]),
        (r#"spot=neq.{"type":"Point","coordinates":[1,2]}"#, vec![2, 4]),
        ("spot=is.null", vec![3]),
        ("spot->>type=eq.Point", vec![1, 2, 4]),
        ("path->>type=eq.Polygon", vec![2]),
    ] {
        let r = t.get(&format!("/shapes?select=id&order=id&{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        assert_eq!(ids(&r.json()), expected, "{query}");
    }
    // ORDER BY the number, not the bytes or the padded digits.
    assert_eq!(ids(&t.get_json("/shapes?select=id&order=mask.desc.nullslast").await), [4, 1, 2, 3]);
    assert_eq!(ids(&t.get_json("/shapes?select=id&order=code.asc&code=not.is.null").await), [2, 4, 1]);
    // Values of the wrong type are the usual 400s.
    t.get("/shapes?mask=eq.five").await.assert_error(400, "22P02");
    t.get("/shapes?flag=eq.maybe").await.assert_error(400, "22P02");
}

#[tokio::test]
async fn bit_zerofill_and_spatial_values_round_trip_through_writes() {
    let Some(t) = odd_types().await else { return skip_unreachable("mysql") };
    let rows = json!([
        {"id": 10, "flag": false, "mask": 0, "code": 9, "price": 2.25, "spot": point(json!([5, 6])),
         "path": {"type": "LineString", "coordinates": [[1, 2], [3, 4.5]]}},
        {"id": 11, "flag": true, "mask": 200, "code": 0, "price": 0, "spot": null, "path": point(json!([-7.25, 8]))}
    ]);
    let r = t.post("/shapes", rows.clone()).header("prefer", "return=representation").send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(numbers(r.json()), numbers(rows.clone()));
    assert_eq!(numbers(t.get_json("/shapes?id=gte.10&order=id").await), numbers(rows.clone()));

    let r = t
        .patch(
            "/shapes?id=eq.10&select=id,flag,mask,code,spot",
            json!({"flag": true, "mask": 17, "code": 123, "spot": point(json!([-1, 0.5]))}),
        )
        .header("prefer", "return=representation")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(numbers(r.json()), numbers(json!([{"id": 10, "flag": true, "mask": 17, "code": 123, "spot": point(json!([-1, 0.5]))}])));
    let r = t.patch("/shapes?id=eq.10&select=id,spot", json!({"spot": null})).header("prefer", "return=representation").send().await;
    assert_eq!(r.json(), json!([{"id": 10, "spot": null}]));

    // Values the columns cannot hold are 400s, and nothing is written.
    let before = t.snapshot("shapes", "id").await;
    for (body, code) in [
        (json!({"id": 20, "mask": 256}), "22001"),
        (json!({"id": 20, "code": -1}), "22003"),
        (json!({"id": 20, "spot": {"type": "Nowhere"}}), "22023"),
        (json!({"id": 20, "spot": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}), "22P02"),
        (json!({"id": 20, "spot": "POINT(1 2)"}), "22023"),
    ] {
        let r = t.post("/shapes", body.clone()).send().await;
        assert_eq!((r.status.as_u16(), &r.json()["code"]), (400, &json!(code)), "{body}: {}", r.text());
    }
    assert_eq!(t.snapshot("shapes", "id").await, before);
}

#[tokio::test]
async fn openapi_describes_bit_zerofill_and_spatial_columns() {
    let Some(t) = odd_types().await else { return skip_unreachable("mysql") };
    let doc = t.get_json("/").await;
    let props = &doc["components"]["schemas"]["shapes"]["properties"];
    assert_eq!(props["flag"], json!({"type": ["boolean", "null"]}));
    assert_eq!(props["mask"], json!({"type": ["integer", "null"]}));
    assert_eq!(props["code"], json!({"type": ["integer", "null"]}));
    assert_eq!(props["price"], json!({"type": ["number", "null"]}));
    assert_eq!(props["spot"], json!({"type": ["object", "null"], "description": "GeoJSON geometry"}));
    assert_eq!(props["path"], json!({"type": ["object", "null"], "description": "GeoJSON geometry"}));
}

/// How long a request that must fail fast may take before the test fails
/// (instead of hanging): generous, the timeouts under test are a second.
const BOUND: Duration = Duration::from_secs(30);

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(BOUND, f).await.unwrap_or_else(|_| panic!("{what} did not finish in {BOUND:?}"))
}

/// A view whose read sleeps in the server for a minute (TEMPTABLE: the
/// sleep runs whichever columns are selected).
const SLOW_VIEW: &str = "CREATE ALGORITHM=TEMPTABLE VIEW slow AS SELECT 1 AS id, SLEEP(60) AS slept";

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
    let Some(db) = MySqlTestDatabase::create().await else { return skip_unreachable("mysql") };
    let server = MySqlConnectOptions::from_str(&restgate_testkit::mysql::url()).expect("a MySQL URL");
    let (user, server_port, name) = (server.get_username().to_owned(), server.get_port().to_string(), db.name().to_owned());
    let mut proxy = TcpForwarder::start(db.server_addr()).await.expect("start the forwarder");
    let proxy_port = proxy.port().to_string();
    let backend = MySqlOptions::new()
        .pool_size(2)
        .acquire_timeout(Duration::from_secs(1))
        .connect(&db.url_via(proxy.port()))
        .await
        .expect("connect through the forwarder");
    let t = db.serve(backend, |b| b).await;
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

/// The statement timeout bounds requests, not reading the catalog: a
/// timeout far shorter than the catalog queries still starts (and reloads).
#[tokio::test]
async fn statement_timeout_does_not_bound_reading_the_catalog() {
    let Some(db) = MySqlTestDatabase::create().await else { return skip_unreachable("mysql") };
    let backend = MySqlOptions::new().statement_timeout(Duration::from_millis(1)).connect(&db.url()).await.expect("connect the backend");
    let t = db.serve(backend, |b| b).await;
    t.gate().reload().await.expect("reload the catalog");
    let doc = t.get_json("/").await;
    assert!(doc["paths"]["/people"].is_object(), "{doc}");
}

#[tokio::test]
async fn statement_timeout_is_504() {
    let Some(db) = MySqlTestDatabase::create().await else { return skip_unreachable("mysql") };
    db.execute(SLOW_VIEW).await;
    let backend = MySqlOptions::new().statement_timeout(Duration::from_secs(1)).connect(&db.url()).await.expect("connect the backend");
    let t = db.serve(backend, |b| b).await;
    // MariaDB's 1969 (max_statement_time exceeded), MySQL's 3024 (max_execution_time).
    within("GET /slow", t.get("/slow")).await.assert_error(504, "57014");
    let r = within("GET /slow count=exact", t.req(http::Method::GET, "/slow").header("prefer", "count=exact").send()).await;
    r.assert_error(504, "57014");
    // The connections are fine afterwards.
    assert_eq!(t.get_json("/people?select=id&id=eq.1").await, json!([{"id": 1}]));
}

/// The id of the connection using `db` that sleeps in `SLEEP()`, once there is one.
async fn sleeping_connection(conn: &mut MySqlConnection, db: &str) -> i64 {
    loop {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ? AND STATE = 'User sleep'")
                .bind(db)
                .fetch_optional(&mut *conn)
                .await
                .expect("read the process list");
        if let Some(id) = id {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn exhausted_pool_is_504() {
    let Some(db) = MySqlTestDatabase::create().await else { return skip_unreachable("mysql") };
    db.execute(SLOW_VIEW).await;
    let name = db.name().to_owned();
    let backend =
        MySqlOptions::new().pool_size(1).acquire_timeout(Duration::from_millis(500)).connect(&db.url()).await.expect("connect the backend");
    let t = db.serve(backend, |b| b).await;
    let mut watcher = MySqlConnection::connect(&restgate_testkit::mysql::url()).await.expect("connect the watcher");
    let slow = t.get("/slow");
    let other = async {
        // Once the slow read holds the only connection (sleeping in the server)…
        let id = sleeping_connection(&mut watcher, &name).await;
        let r = t.get("/people?select=id").await;
        // … and the other request has given up waiting, the sleep is interrupted.
        watcher.execute(AssertSqlSafe(format!("KILL QUERY {id}"))).await.expect("interrupt the sleep");
        r
    };
    let (slow, other) = within("the two requests", async { tokio::join!(slow, other) }).await;
    other.assert_error(504, "PGRST003");
    // An interrupted statement is 1317.
    slow.assert_error(504, "57014");
    // The connection went back to the pool.
    assert_eq!(t.get_json("/people?select=id&id=eq.1").await, json!([{"id": 1}]));
    watcher.close().await.expect("close the watcher");
}

/// Ends every connection to database `db` but the admin's own (as a
/// restart or an administrator would).
async fn end_connections(admin: &mut MySqlConnection, db: &str) {
    // CAST: the ID is signed on MariaDB, unsigned on MySQL.
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()")
            .bind(db)
            .fetch_all(&mut *admin)
            .await
            .expect("list the gate's connections");
    assert!(!ids.is_empty(), "the gate had no connections");
    for id in ids {
        let _ = admin.execute(AssertSqlSafe(format!("KILL {id}"))).await;
    }
}

#[tokio::test]
async fn reads_survive_connections_the_server_dropped() {
    let Some(db) = MySqlTestDatabase::create().await else { return skip_unreachable("mysql") };
    let name = db.name().to_owned();
    let backend = MySqlOptions::new().pool_size(3).connect(&db.url()).await.expect("connect the backend");
    let t = db.serve(backend, |b| b).await;
    // Fill the pool: three reads at once hold three connections.
    let q = "/people?select=id&id=eq.1";
    let (a, b, c) = tokio::join!(t.get_json(q), t.get_json(q), t.get_json(q));
    assert!([a, b, c].iter().all(|r| *r == json!([{"id": 1}])));
    // The server ends every one of them (as a restart or an administrator would).
    let mut admin = MySqlConnection::connect(&restgate_testkit::mysql::url()).await.expect("connect the admin");
    end_connections(&mut admin, &name).await;
    // No read fails: each dead connection is dropped and the read goes on with a live one.
    for _ in 0..5 {
        let r = within("GET after the connections were ended", t.get(q)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json(), json!([{"id": 1}]));
    }
    // Reads keep their connections between requests; a write takes those
    // first and pings them: dead ones are closed, and the write runs once.
    let (a, b, c) = tokio::join!(t.get_json(q), t.get_json(q), t.get_json(q));
    assert!([a, b, c].iter().all(|r| *r == json!([{"id": 1}])));
    end_connections(&mut admin, &name).await;
    let r = within("PATCH after the connections were ended", t.patch("/people?id=eq.1", json!({"age": 77})).send()).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(t.get_json("/people?select=age&id=eq.1").await, json!([{"age": 77}]));
}

#[tokio::test]
async fn pools_reading_results_in_another_character_set_are_refused() {
    let Some(db) = MySqlTestDatabase::create().await else { return skip_unreachable("mysql") };
    let opts = MySqlConnectOptions::from_str(&db.url()).expect("a MySQL URL").charset("latin1");
    let pool = sqlx::mysql::MySqlPoolOptions::new().max_connections(1).connect_with(opts).await.expect("connect");
    let Err(err) = restgate_mysql::MySqlBackend::from_pool(pool).await else { panic!("a latin1 pool is served") };
    assert!(err.to_string().contains("character_set_results is latin1"), "{err}");
    let pool = sqlx::mysql::MySqlPoolOptions::new().max_connections(1).connect(&db.url()).await.expect("connect");
    restgate_mysql::MySqlBackend::from_pool(pool).await.expect("the default charset is served");
}
