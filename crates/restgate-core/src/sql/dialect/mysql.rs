//! MySQL and MariaDB.
//!
//! Two flavours share almost everything: [`MySqlDialect`] targets MariaDB
//! (10.6+), [`MySql8Dialect`] Oracle MySQL 8.0.14+. Both build every object
//! and array as compact JSON text with `CONCAT` and `GROUP_CONCAT` (see
//! [`json_text`]): `JSON_OBJECT` would cost more, and on MySQL it sorts an
//! object's keys and writes `{"a": 1}`, where the select's order and
//! compact text are the contract. They differ where the servers do: a
//! JSON column's text (MariaDB compacts it with `JSON_COMPACT`; MySQL has
//! none, and writes its own rendering), how an array is windowed (MariaDB
//! puts ORDER BY and LIMIT inside `GROUP_CONCAT`, which refuses outer
//! references in derived tables; MySQL windows a derived table, as its
//! `GROUP_CONCAT` has no LIMIT), and regular expressions (`REGEXP` is PCRE on MariaDB, its case set with
//! `(?i)` / `(?-i)`; MySQL spells case control as `REGEXP_LIKE(x, p, 'c')`).
//! Neither flavour uses RETURNING: writes read their rows back by key.

use std::fmt::Write as _;

use sea_query::{
    Alias, BinOper, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, MysqlQueryBuilder, Query, QueryBuilder, SelectStatement,
    SqlWriterValues, UpdateStatement, Values,
};

use super::{element_value, json_key, lit, object_pairs, order_and_window, ArrayQuery, BindContext, Dialect, Element, JsonItem, SortExpr};
use crate::catalog::{Column, ColumnType, Storage};
use crate::error::ApiError;
use crate::request::{JsonKey, JsonStep, Operator};
use crate::value::SqlValue;

/// MariaDB 10.6+ (the default MySQL-family dialect).
#[derive(Debug, Clone, Copy, Default)]
pub struct MySqlDialect;

/// Oracle MySQL 8.0+.
#[derive(Debug, Clone, Copy, Default)]
pub struct MySql8Dialect;

/// A MySQL JSON path for `path`: `$."a"[0][last]`.
fn mysql_path(path: &[JsonStep]) -> String {
    let mut p = String::from("$");
    for step in path {
        match &step.key {
            JsonKey::Name(n) => {
                p.push_str(".\"");
                p.push_str(&n.replace(['"', '\\'], ""));
                p.push('"');
            }
            JsonKey::Index(-1) => p.push_str("[last]"),
            JsonKey::Index(i) if *i < 0 => p.push_str(&format!("[last-{}]", -i - 1)),
            JsonKey::Index(i) => p.push_str(&format!("[{i}]")),
        }
    }
    p
}

/// The SQL text of `e` (MySQL syntax), or `None` when it binds a value.
fn sql_text(e: &Expr) -> Option<String> {
    let mut w = SqlWriterValues::new("?", false);
    MysqlQueryBuilder.prepare_expr(e, &mut w);
    let (sql, values) = w.into_parts();
    values.0.is_empty().then_some(sql)
}

/// `template` with each `{v}` replaced by `e`: as plain text when `e` binds
/// no value (a column, a JSON path, a cast: nothing for sea-query to walk
/// or tokenize again on every request), else as `?`s of a custom
/// expression. `single` is the template for the second case, when it
/// differs: one that reads `e` (a subquery) once.
fn fill(template: &str, single: Option<&str>, e: Expr) -> Expr {
    let text = match &e {
        Expr::Custom(s) => Some(s.to_string()),
        // A subquery binds its LIMIT; a custom expression with arguments is
        // one of the templates here, around a subquery: not worth rendering.
        Expr::SubQuery(..) | Expr::CustomWithExpr(..) => None,
        _ => sql_text(&e),
    };
    match text {
        Some(v) => Expr::cust(template.replace("{v}", &v)),
        None => {
            let template = single.unwrap_or(template);
            Expr::cust_with_exprs(template.replace("{v}", "?"), std::iter::repeat_n(e, template.matches("{v}").count()))
        }
    }
}

/// A string's text for [`JsonRows::push_prefixed`](crate::backend::JsonRows::push_prefixed):
/// `#<byte length>:<utf8mb4 bytes>`, unescaped. `JSON_QUOTE` costs MariaDB
/// about 1.5 µs a string inside an object (measured on 10.11: the HTTP
/// benchmark's embed statement, 140 strings, ran in 0.9–1.0 ms with it and
/// in 0.7 ms this way, as with the bare columns); the backend escapes the
/// strings as it copies the row. `CONVERT` makes every string utf8mb4 text
/// whatever its column's character set (the length is that text's), a
/// date or number its text.
macro_rules! prefixed_string {
    () => {
        "CONCAT('#', LENGTH(CONVERT({v} USING utf8mb4)), ':', CONVERT({v} USING utf8mb4))"
    };
}

/// The JSON text of a value, on MariaDB byte for byte what
/// `JSON_COMPACT(JSON_OBJECT(…))` wrote for it, without either: an object
/// is then one `CONCAT` of literal keys and these texts ([`concat_object`]),
/// compact already. `JSON_OBJECT` costs the server a few times as much per
/// row, and `JSON_COMPACT` over it as much again (measured on MariaDB
/// 10.11: about 3 µs a row for the HTTP benchmark's six columns, against
/// 1 µs this way).
///
/// What `JSON_OBJECT` writes for a value, and the same text here: SQL NULL
/// is `null`; a JSON value (`JSON_COMPACT(…)`) goes in as it is; a value
/// of a string type (text, date, UUID, enum) is a string, written with its
/// length for the backend to quote and escape as `JSON_QUOTE` does
/// ([`prefixed_string!`]; a subquery, read once, through `JSON_QUOTE`
/// itself); numbers are their text. A number's text is its digits only
/// when the server does not hold it as bits or padded digits: those
/// columns come here as `col + 0` ([`column_value`]). Booleans, numbers,
/// timestamps and binaries are formatted as before, minus `JSON_OBJECT`'s
/// part. MySQL (`mariadb` false) writes the same text but for JSON values
/// (its own rendering, see the module).
fn json_text(e: Expr, ty: ColumnType, mariadb: bool) -> Expr {
    let (template, single) = match ty {
        ColumnType::Boolean => ("(CASE WHEN ({v}) IS NULL THEN 'null' WHEN ({v}) THEN 'true' ELSE 'false' END)", None),
        ColumnType::Json | ColumnType::Array if mariadb => ("IFNULL(JSON_COMPACT({v}), 'null')", None),
        // MySQL has no JSON_COMPACT: a JSON value's text is the server's
        // own rendering of it (`{"a": 1}`, keys in the server's order).
        ColumnType::Json | ColumnType::Array => ("IFNULL(CAST({v} AS CHAR), 'null')", None),
        // DECIMAL(10,2) holds 1 as 1.00: the digits, the scale's zeros (and
        // a bare point) trimmed, as PostgreSQL prints them.
        ColumnType::Numeric => (
            "IFNULL(CASE WHEN INSTR(CAST({v} AS CHAR), '.') > 0 \
             THEN TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({v} AS CHAR))) ELSE CAST({v} AS CHAR) END, 'null')",
            None,
        ),
        // A double's text is what JSON_OBJECT writes for it, and an
        // integer's is its digits (bits and padded digits arrive as `col + 0`).
        ColumnType::Float | ColumnType::Integer => ("IFNULL({v}, 'null')", None),
        // `2024-02-29T13:45:00`, the fraction's trailing zeros trimmed,
        // quoted (digits, `-`, `:`, `.`, `T`, `+`: nothing to escape). A
        // timestamp's quotes go in the format, and one without a fraction
        // (most) skips the `%f` and the trimming, a third of the cost; a
        // subquery is read once, in the general form. A time keeps the
        // general form: TIME_FORMAT writes a negative time's sign before
        // the whole format.
        ColumnType::Timestamp => (
            r#"IFNULL(IF(MICROSECOND({v}) = 0, DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s"'), CONCAT(TRIM(TRAILING '0' FROM DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s.%f')), '"')), 'null')"#,
            Some(
                r#"IFNULL(CONCAT(TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s.%f'))), '"'), 'null')"#,
            ),
        ),
        ColumnType::TimestampTz => (
            r#"IFNULL(IF(MICROSECOND({v}) = 0, DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s+00:00"'), CONCAT(TRIM(TRAILING '0' FROM DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s.%f')), '+00:00"')), 'null')"#,
            Some(
                r#"IFNULL(CONCAT(TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s.%f'))), '+00:00"'), 'null')"#,
            ),
        ),
        ColumnType::Time => {
            (r#"IFNULL(CONCAT('"', TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM TIME_FORMAT({v}, '%H:%i:%s.%f'))), '"'), 'null')"#, None)
        }
        // The JSON string `\x` + lowercase hex (the backslash escaped).
        ColumnType::Binary => (r#"IFNULL(CONCAT('"\\\\x', LOWER(HEX({v})), '"'), 'null')"#, None),
        _ => (concat!("IFNULL(", prefixed_string!(), ", 'null')"), Some("IFNULL(JSON_QUOTE(CONVERT({v} USING utf8mb4)), 'null')")),
    };
    fill(template, single, e)
}

/// [`json_text`] of a value that is never NULL (a `NOT NULL`
/// column of a base table): the same text without the NULL arms, which
/// the server would evaluate for every value (about a quarter of an
/// object's cost, and of the expressions it sets up per statement).
fn json_text_not_null(e: Expr, ty: ColumnType, mariadb: bool) -> Expr {
    let template = match ty {
        ColumnType::Boolean => "IF({v}, 'true', 'false')",
        ColumnType::Numeric => {
            "CASE WHEN INSTR(CAST({v} AS CHAR), '.') > 0 \
             THEN TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({v} AS CHAR))) ELSE CAST({v} AS CHAR) END"
        }
        ColumnType::Float | ColumnType::Integer => "{v}",
        ColumnType::Timestamp => {
            return fill(
                r#"IF(MICROSECOND({v}) = 0, DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s"'), CONCAT(TRIM(TRAILING '0' FROM DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s.%f')), '"'))"#,
                Some(r#"CONCAT(TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s.%f'))), '"')"#),
                e,
            )
        }
        ColumnType::TimestampTz => {
            return fill(
                r#"IF(MICROSECOND({v}) = 0, DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s+00:00"'), CONCAT(TRIM(TRAILING '0' FROM DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s.%f')), '+00:00"'))"#,
                Some(r#"CONCAT(TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM DATE_FORMAT({v}, '"%Y-%m-%dT%H:%i:%s.%f'))), '+00:00"')"#),
                e,
            )
        }
        ColumnType::Binary => r#"CONCAT('"\\\\x', LOWER(HEX({v})), '"')"#,
        // JSON (JSON_COMPACT is NULL for text that is no JSON) and time keep their guards.
        ColumnType::Json | ColumnType::Array | ColumnType::Time => return json_text(e, ty, mariadb),
        _ => return fill(prefixed_string!(), Some("JSON_QUOTE(CONVERT({v} USING utf8mb4))"), e),
    };
    fill(template, None, e)
}

/// A column as reads show it and filters compare it. `BIT(n)` is bytes
/// and a `ZEROFILL` number padded text to the client, JSON and string
/// functions (a BIT value 0 is a NUL byte, which the backend takes for a
/// cut text): reads take `col + 0`, the number; comparisons and ORDER BY
/// the column itself, which the server compares as a number (and its index
/// serves). A spatial value is GeoJSON both ways (`ST_AsGeoJSON`: the
/// geometry's binary form is no JSON, and compares with nothing a request
/// can hold).
fn column_value(e: Expr, storage: Storage, compare: bool) -> Expr {
    match (storage, compare) {
        (Storage::Number, false) => fill("({v} + 0)", None, e),
        (Storage::Geometry, _) => fill("ST_AsGeoJSON({v})", None, e),
        _ => e,
    }
}

/// `CONCAT('{"a":', <a>, ',"b":', <b>, '}')` over the values'
/// [`json_text`]s: the compact text `JSON_COMPACT(JSON_OBJECT(…))` gave,
/// as one custom expression when every value is plain text.
///
/// `CONCAT` is NULL when its result would be longer than the server's
/// `max_allowed_packet` (with a warning only). A row that is NULL is an
/// error for the backend; an embedded object or array that is NULL would
/// read as `null` or be left out of its array ([`cut_marked`]).
fn concat_object(pairs: Vec<(String, Expr)>) -> Expr {
    let mut keys = Vec::with_capacity(pairs.len() + 1);
    let mut text = String::from("{");
    for (i, (k, _)) in pairs.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        json_key(k, true, &mut text);
        text.push(':');
        keys.push(lit(&text));
        text.clear();
    }
    keys.push(lit(if pairs.is_empty() { "{}" } else { "}" }));
    if pairs.iter().all(|(_, v)| matches!(v, Expr::Custom(_))) {
        let mut sql = String::from("CONCAT(");
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&sql_text(key).expect("a literal binds nothing"));
            if let Some((_, Expr::Custom(v))) = pairs.get(i) {
                sql.push_str(", ");
                sql.push_str(v);
            }
        }
        sql.push(')');
        return Expr::cust(sql);
    }
    // Some value binds (an embed's subquery): keys and values are the
    // arguments of a template that holds nothing else, which [`fill`]
    // passes on without rendering it.
    let mut args = Vec::with_capacity(pairs.len() * 2 + 1);
    let mut keys = keys.into_iter();
    for (_, v) in pairs {
        args.extend(keys.next());
        args.push(v);
    }
    args.extend(keys);
    let template = format!("CONCAT({})", vec!["?"; args.len()].join(", "));
    Expr::cust_with_exprs(template, args)
}

/// MariaDB: an embedded object's or array's text, or a NUL character
/// where the server cut it (`CONCAT` longer than `max_allowed_packet` is
/// NULL), so that the cut reaches the backend, which refuses a row holding
/// a NUL (no JSON text restgate builds has one: strings escape it) rather
/// than serving a `null` or a shorter array that are not in the database.
fn cut_marked(e: Expr) -> Expr {
    fill("IFNULL({v}, '\\0')", None, e)
}

/// The to-one object, `(SELECT CONCAT(…) FROM child …)` (NULL without a
/// child row: [`Dialect::json_embed`] writes `null`).
fn text_single(d: &dyn Dialect, mut from: SelectStatement, items: Vec<JsonItem>) -> Expr {
    from.expr(cut_marked(concat_object(object_pairs(d, items))));
    Expr::SubQuery(None, Box::new(from.into()))
}

fn json_path(e: Expr, path: &[JsonStep]) -> Expr {
    let as_text = path.last().is_some_and(|s| s.as_text);
    let extracted: Expr = Func::cust("JSON_EXTRACT").args([e, lit(&mysql_path(path))]).into();
    if as_text {
        // `->>` of a JSON null is SQL NULL (JSON_UNQUOTE would say 'null').
        Expr::case(Expr::from(Func::cust("JSON_TYPE").arg(extracted.clone())).eq("NULL"), Expr::cust("NULL"))
            .finally(Func::cust("JSON_UNQUOTE").arg(extracted))
            .into()
    } else {
        extracted
    }
}

/// The largest finite double: infinities in comparisons (MySQL stores none).
const MAX_DOUBLE: f64 = f64::MAX;

fn bind(v: SqlValue, ctx: BindContext, target: Option<&Column>, mariadb: bool) -> Expr {
    if target.is_some_and(|c| c.storage == Storage::Geometry) {
        // GeoJSON in; compared as the GeoJSON the server writes for it, the
        // text the column is compared as ([`column_value`]).
        let geometry: Expr = Func::cust("ST_GeomFromGeoJSON").arg(Expr::val(v.into_sea())).into();
        return match ctx {
            BindContext::Write => geometry,
            BindContext::Compare => Func::cust("ST_AsGeoJSON").arg(geometry).into(),
        };
    }
    let ty = target.map(|c| c.ty);
    match (v, ctx, ty) {
        // timestamptz columns are DATETIME in UTC: the canonical value's `+00:00` goes.
        (SqlValue::Text(s), _, Some(ColumnType::TimestampTz)) => {
            let s = s.strip_suffix("+00:00").map(str::to_owned).unwrap_or(s);
            Expr::val(s)
        }
        // MySQL stores no infinity or NaN: a write is a type error the
        // server reports (400), a comparison meets the largest finite double.
        (SqlValue::Float(f), BindContext::Write, _) if !f.is_finite() => Expr::val(if f.is_nan() { "NaN" } else { "Infinity" }),
        (SqlValue::Float(f), BindContext::Compare, _) if f.is_nan() => Expr::val(sea_query::Value::Double(None)),
        (SqlValue::Float(f), BindContext::Compare, _) if f.is_infinite() => Expr::val(if f > 0.0 { MAX_DOUBLE } else { -MAX_DOUBLE }),
        (SqlValue::Numeric(s), BindContext::Compare, _) => Expr::val(s).cast_as("DECIMAL(65,30)"),
        // A JSON operand compared with `col->path` (a JSON value).
        (SqlValue::Json(j), BindContext::Compare, None) if mariadb => {
            // MariaDB's JSON values are text: numbers compare as numbers.
            match j.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => Expr::val(n),
                _ => Func::cust("JSON_COMPACT").arg(Expr::val(j)).into(),
            }
        }
        (SqlValue::Json(j), BindContext::Compare, None) => Expr::val(j).cast_as("JSON"),
        (v, _, _) => Expr::val(v.into_sea()),
    }
}

fn cast(e: Expr, ty: ColumnType, mariadb: bool) -> Expr {
    match ty {
        ColumnType::Integer | ColumnType::Boolean => e.cast_as("SIGNED"),
        ColumnType::Float => e.cast_as("DOUBLE"),
        ColumnType::Numeric => e.cast_as("DECIMAL(65,30)"),
        ColumnType::Json if mariadb => Func::cust("JSON_COMPACT").arg(e).into(),
        ColumnType::Json => e.cast_as("JSON"),
        ColumnType::Date => e.cast_as("DATE"),
        ColumnType::Time => e.cast_as("TIME(6)"),
        ColumnType::Timestamp | ColumnType::TimestampTz => e.cast_as("DATETIME(6)"),
        _ => e.cast_as("CHAR"),
    }
}

fn pattern(e: Expr, op: Operator, pattern: &str, mariadb: bool) -> Expr {
    match op {
        // The default LIKE escape is `\`, as the pattern grammar wants.
        Operator::Like => e.binary(BinOper::Custom("LIKE BINARY"), Expr::val(pattern)),
        Operator::ILike => Expr::from(Func::lower(e)).binary(BinOper::Like, Func::lower(Expr::val(pattern))),
        Operator::Match if mariadb => e.binary(BinOper::Custom("REGEXP"), Expr::val(format!("(?-i){pattern}"))),
        _ if mariadb => e.binary(BinOper::Custom("REGEXP"), Expr::val(format!("(?i){pattern}"))),
        Operator::Match => Func::cust("REGEXP_LIKE").args([e, Expr::val(pattern), lit("c")]).into(),
        _ => Func::cust("REGEXP_LIKE").args([e, Expr::val(pattern), lit("i")]).into(),
    }
}

/// MariaDB: the elements' texts joined, `(SELECT CONCAT('[',
/// IFNULL(GROUP_CONCAT(elem ORDER BY … SEPARATOR ',' LIMIT …), ''), ']')
/// FROM child WHERE …)`: an aggregate without GROUP BY, so one row, `[]`
/// when there is no child. MariaDB refuses outer references inside a
/// derived table, so the order and window go into the aggregate itself
/// (MariaDB 10.3+).
///
/// `GROUP_CONCAT` cuts its result at `group_concat_max_len` bytes, or at
/// `max_allowed_packet` (with a warning only). The backend's connections
/// set the first to 1 GiB (above any `max_allowed_packet`); where it is
/// lower than `max_allowed_packet` every array is a NUL (see
/// [`cut_marked`]), so a pool without the setting fails loudly instead of
/// cutting arrays longer than it. At `max_allowed_packet`, the text cut
/// there and wrapped in `[`…`]` and its object is longer than the packet:
/// NULL, marked. Elements are marked too (`GROUP_CONCAT` skips NULLs).
fn mariadb_array(d: &dyn Dialect, q: ArrayQuery) -> Expr {
    let ArrayQuery { mut from, order, limit, offset, element } = q;
    let mut args = vec![element_text(d, element)];
    let mut template = format!("{ARRAY_HEAD}?");
    push_order(&mut template, &order, |_, o| {
        args.push(o.expr.clone());
        "?".to_owned()
    });
    template.push_str(" SEPARATOR ','");
    match (limit, offset) {
        (None, 0) => {}
        (l, o) => template.push_str(&format!(" LIMIT {} OFFSET {o}", l.unwrap_or(i64::MAX as u64))),
    }
    template.push_str(ARRAY_TAIL);
    from.expr(Expr::cust_with_exprs(template, args));
    Expr::SubQuery(None, Box::new(from.into()))
}

/// MySQL 8: the elements' texts joined as on MariaDB ([`mariadb_array`],
/// the same guards), over a derived table: MySQL's `GROUP_CONCAT` takes
/// no LIMIT, and MySQL 8.0.14+ takes outer references inside a derived
/// table. `(SELECT … GROUP_CONCAT(`j` ORDER BY `k0`, … SEPARATOR ',') …
/// FROM (SELECT elem AS j, key AS k0, … FROM child WHERE … ORDER BY …
/// LIMIT …) AS r)`: the window applies in the derived table, and the
/// aggregate orders by the keys the rows carry (a derived table's order
/// is not the aggregate's).
fn mysql_array(d: &dyn Dialect, q: ArrayQuery) -> Expr {
    let ArrayQuery { mut from, order, limit, offset, element } = q;
    from.expr_as(element_text(d, element), Alias::new("j"));
    for (n, o) in order.iter().enumerate() {
        from.expr_as(o.expr.clone(), Alias::new(format!("k{n}")));
    }
    let mut template = format!("{ARRAY_HEAD}`j`");
    push_order(&mut template, &order, |n, _| format!("`k{n}`"));
    template.push_str(" SEPARATOR ','");
    template.push_str(ARRAY_TAIL);
    order_and_window(&mut from, &order, limit, offset);
    let mut outer = Query::select();
    outer.expr(Expr::cust(template)).from_subquery(from, Alias::new("r"));
    Expr::SubQuery(None, Box::new(outer.into()))
}

/// The start of an array's text around `GROUP_CONCAT(`, with the guards
/// [`mariadb_array`] describes; [`ARRAY_TAIL`] closes it.
const ARRAY_HEAD: &str = "IF(@@group_concat_max_len < @@max_allowed_packet, '\\0', IFNULL(CONCAT('[', IFNULL(GROUP_CONCAT(";
const ARRAY_TAIL: &str = "), ''), ']'), '\\0'))";

/// One element's text: an object's `CONCAT`, marked where the server cut
/// it, or a value's text (never NULL: SQL NULL is `null`).
fn element_text(d: &dyn Dialect, element: Element) -> Expr {
    match element {
        Element::Object(items) => cut_marked(concat_object(object_pairs(d, items))),
        Element::Value(i) => element_value(d, i.expr, i.ty, i.nullable),
    }
}

/// `GROUP_CONCAT`'s ` ORDER BY …` for `order` (PostgreSQL's NULL
/// placement as a leading `k IS NULL` term), each key written by `key`.
fn push_order(template: &mut String, order: &[SortExpr], mut key: impl FnMut(usize, &SortExpr) -> String) {
    for (n, o) in order.iter().enumerate() {
        template.push_str(if n == 0 { " ORDER BY " } else { ", " });
        if o.nullable {
            let _ = write!(template, "{} IS NULL {}, ", key(n, o), if o.nulls_first { "DESC" } else { "ASC" });
        }
        let _ = write!(template, "{} {}", key(n, o), if o.desc { "DESC" } else { "ASC" });
    }
}

macro_rules! mysql_dialect {
    ($ty:ty, $mariadb:expr) => {
        impl Dialect for $ty {
            fn name(&self) -> &'static str {
                if $mariadb {
                    "mariadb"
                } else {
                    "mysql"
                }
            }
            builders!(MysqlQueryBuilder);
            fn returning(&self) -> bool {
                false
            }
            // No `join_rows`: measured on MariaDB 10.11, GROUP_CONCAT over the
            // ordered subquery served about a third of the requests that
            // fetching rows one by one does (docs/benchmarks.md).
            fn json_object(&self, pairs: Vec<(String, Expr)>) -> Expr {
                concat_object(pairs)
            }
            fn json_value(&self, e: Expr, ty: ColumnType) -> Expr {
                json_text(e, ty, $mariadb)
            }
            fn json_value_not_null(&self, e: Expr, ty: ColumnType) -> Expr {
                json_text_not_null(e, ty, $mariadb)
            }
            fn column_value(&self, e: Expr, storage: Storage, compare: bool) -> Expr {
                column_value(e, storage, compare)
            }
            fn json_embed(&self, e: Expr) -> Expr {
                // Placed in the parent's text as it is; no child row is `null`.
                fill("IFNULL({v}, 'null')", None, e)
            }
            fn json_single(&self, from: SelectStatement, items: Vec<JsonItem>) -> Expr {
                text_single(self, from, items)
            }
            // Both servers run a correlated subquery per parent row at a
            // cost the join does not have (docs/mysql.md).
            fn to_one_joins(&self) -> bool {
                true
            }
            fn json_joined(&self, items: Vec<JsonItem>) -> Expr {
                cut_marked(concat_object(object_pairs(self, items)))
            }
            fn json_array(&self, q: ArrayQuery) -> Expr {
                if $mariadb {
                    mariadb_array(self, q)
                } else {
                    mysql_array(self, q)
                }
            }
            fn json_path(&self, e: Expr, path: &[JsonStep], compare: bool) -> Expr {
                let _ = compare;
                json_path(e, path)
            }
            fn bind(&self, v: SqlValue, ctx: BindContext, target: Option<&Column>) -> Expr {
                bind(v, ctx, target, $mariadb)
            }
            fn cast(&self, e: Expr, ty: ColumnType) -> Expr {
                cast(e, ty, $mariadb)
            }
            fn pattern(&self, e: Expr, op: Operator, p: &str) -> Result<Expr, ApiError> {
                Ok(pattern(e, op, p, $mariadb))
            }
            fn is_distinct(&self, a: Expr, b: Expr) -> Expr {
                a.binary(BinOper::Custom("<=>"), b).not()
            }
            fn fts(
                &self,
                e: Expr,
                target: Option<&Column>,
                op: crate::request::FtsOperator,
                language: Option<&str>,
                query: &str,
            ) -> Result<Expr, ApiError> {
                fts(self.name(), e, target, op, language, query)
            }
        }
    };
}

mysql_dialect!(MySqlDialect, true);
mysql_dialect!(MySql8Dialect, false);

/// Full-text search: `MATCH (col) AGAINST (…)`, on columns with a FULLTEXT
/// index (the catalog marks them with the `fulltext` flag).
fn fts(
    name: &str,
    e: Expr,
    target: Option<&Column>,
    op: crate::request::FtsOperator,
    language: Option<&str>,
    query: &str,
) -> Result<Expr, ApiError> {
    use crate::request::FtsOperator as F;
    let _ = language;
    if !target.is_some_and(|c| c.fulltext) {
        return Err(ApiError::not_implemented(
            "Full-text search needs a FULLTEXT index on this database",
            format!("the {name} backend runs fts, plfts, phfts and wfts only on columns with a FULLTEXT index"),
        ));
    }
    let (mode, q) = match op {
        F::Fts | F::Plain => ("IN NATURAL LANGUAGE MODE", query.to_owned()),
        F::Websearch => ("IN BOOLEAN MODE", query.to_owned()),
        F::Phrase => ("IN BOOLEAN MODE", format!("\"{}\"", query.replace('"', " "))),
    };
    Ok(Expr::cust_with_exprs(format!("MATCH (?) AGAINST (? {mode})"), [e, Expr::val(q)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_use_last() {
        let p = [
            JsonStep { as_text: false, key: JsonKey::Name("phones".into()) },
            JsonStep { as_text: false, key: JsonKey::Index(-1) },
            JsonStep { as_text: false, key: JsonKey::Index(-3) },
            JsonStep { as_text: true, key: JsonKey::Name("number".into()) },
        ];
        assert_eq!(mysql_path(&p), "$.\"phones\"[last][last-2].\"number\"");
    }

    #[test]
    fn keys_are_escaped_as_json_object_escapes_them() {
        let mut out = String::new();
        json_key("a\"b\\c/d\u{1}\u{1f}\u{8}\u{c}\n\r\té", true, &mut out);
        assert_eq!(out, r#""a\"b\\c/d\u0001\u001F\b\f\n\r\té""#);
    }

    #[test]
    fn mariadb_rows_are_one_concat() {
        let row = concat_object(vec![
            ("id".into(), json_text(Expr::col("id"), ColumnType::Integer, true)),
            ("ok".into(), json_text(Expr::col("ok"), ColumnType::Boolean, true)),
        ]);
        assert_eq!(
            sql_text(&row).unwrap(),
            r#"CONCAT('{\"id\":', IFNULL(`id`, 'null'), ',\"ok\":', (CASE WHEN (`ok`) IS NULL THEN 'null' WHEN (`ok`) THEN 'true' ELSE 'false' END), '}')"#
        );
        assert_eq!(sql_text(&concat_object(vec![])).unwrap(), "CONCAT('{}')");
    }

    #[test]
    fn bits_and_zerofill_read_as_numbers_and_compare_as_columns() {
        let read = json_text(column_value(Expr::col("mask"), Storage::Number, false), ColumnType::Integer, true);
        assert_eq!(sql_text(&read).unwrap(), "IFNULL((`mask` + 0), 'null')");
        assert_eq!(sql_text(&column_value(Expr::col("mask"), Storage::Number, true)).unwrap(), "`mask`");
        assert_eq!(sql_text(&column_value(Expr::col("id"), Storage::Native, false)).unwrap(), "`id`");
    }

    #[test]
    fn geometries_are_geojson_both_ways() {
        let read = json_text(column_value(Expr::col("spot"), Storage::Geometry, false), ColumnType::Json, true);
        assert_eq!(sql_text(&read).unwrap(), "IFNULL(JSON_COMPACT(ST_AsGeoJSON(`spot`)), 'null')");
        assert_eq!(sql_text(&column_value(Expr::col("spot"), Storage::Geometry, true)).unwrap(), "ST_AsGeoJSON(`spot`)");
        let mut spot = Column::new("spot", "point");
        spot.ty = ColumnType::Json;
        spot.storage = Storage::Geometry;
        let value = || SqlValue::Json(r#"{"type":"Point","coordinates":[1,2]}"#.into());
        let render = |e: Expr| {
            let mut w = SqlWriterValues::new("?", false);
            MysqlQueryBuilder.prepare_expr(&e, &mut w);
            w.into_parts().0
        };
        assert_eq!(render(bind(value(), BindContext::Write, Some(&spot), true)), "ST_GeomFromGeoJSON(?)");
        assert_eq!(render(bind(value(), BindContext::Compare, Some(&spot), true)), "ST_AsGeoJSON(ST_GeomFromGeoJSON(?))");
    }

    #[test]
    fn values_that_bind_stay_bound_and_are_read_once_where_it_matters() {
        let row = concat_object(vec![
            ("v".into(), json_text(Expr::val(5), ColumnType::Float, true)),
            ("t".into(), json_text(Expr::val("2024-01-01"), ColumnType::Timestamp, true)),
        ]);
        let mut w = SqlWriterValues::new("?", false);
        MysqlQueryBuilder.prepare_expr(&row, &mut w);
        let (sql, values) = w.into_parts();
        assert_eq!(
            sql,
            r#"CONCAT('{\"v\":', IFNULL(?, 'null'), ',\"t\":', IFNULL(CONCAT(TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM DATE_FORMAT(?, '"%Y-%m-%dT%H:%i:%s.%f'))), '"'), 'null'), '}')"#
        );
        assert_eq!(values.0.len(), 2);
    }
}
