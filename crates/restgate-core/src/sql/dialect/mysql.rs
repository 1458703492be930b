//! MySQL and MariaDB.
//!
//! Two flavours share almost everything: [`MySqlDialect`] targets MariaDB
//! (10.6+), [`MySql8Dialect`] Oracle MySQL 8. They differ where the servers
//! do: MariaDB has `JSON_COMPACT` (so objects render as compact JSON) and a
//! PCRE `REGEXP` whose case is set with `(?i)` / `(?-i)`; MySQL 8 has no
//! compact rendering and spells case control as `REGEXP_LIKE(x, p, 'c')`.
//! Neither flavour uses RETURNING: writes read their rows back by key.

use sea_query::{
    BinOper, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, MysqlQueryBuilder, SelectStatement, UpdateStatement, Values,
};

use super::{
    array_over_derived, element_value, json_bool, lit, object_pairs, pairs_to_args, ArrayQuery, BindContext, Dialect, Element, JsonItem,
};
use crate::catalog::{Column, ColumnType};
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

/// `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM e))`: drops a fraction's
/// trailing zeros (and the point when nothing is left), as PostgreSQL prints.
fn trim_fraction(e: Expr) -> Expr {
    Expr::cust_with_expr("TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ?))", e)
}

fn json_value(e: Expr, ty: ColumnType, mariadb: bool) -> Expr {
    match ty {
        ColumnType::Boolean => json_bool(e, "JSON_EXTRACT('true', '$')", "JSON_EXTRACT('false', '$')"),
        ColumnType::Json | ColumnType::Array if mariadb => Func::cust("JSON_COMPACT").arg(e).into(),
        ColumnType::Json | ColumnType::Array => Func::cust("JSON_EXTRACT").args([e, lit("$")]).into(),
        // DECIMAL(10,2) holds 1 as 1.00: trim the scale's zeros, then hand
        // the digits to JSON as a number (exact, no float on the way).
        ColumnType::Numeric => {
            let text = e.cast_as("CHAR");
            let trimmed: Expr =
                Expr::case(Expr::from(Func::cust("INSTR").args([text.clone(), lit(".")])).gt(0), trim_fraction(text.clone()))
                    .finally(text)
                    .into();
            Func::cust("JSON_EXTRACT").args([trimmed, lit("$")]).into()
        }
        ColumnType::Timestamp => trim_fraction(Func::cust("DATE_FORMAT").args([e, lit("%Y-%m-%dT%H:%i:%s.%f")]).into()),
        ColumnType::TimestampTz => Func::cust("CONCAT")
            .args([trim_fraction(Func::cust("DATE_FORMAT").args([e, lit("%Y-%m-%dT%H:%i:%s.%f")]).into()), lit("+00:00")])
            .into(),
        ColumnType::Time => trim_fraction(Func::cust("TIME_FORMAT").args([e, lit("%H:%i:%s.%f")]).into()),
        // CONCAT with NULL is NULL, so NULL stays NULL.
        ColumnType::Binary => Func::cust("CONCAT").args([lit("\\x"), Func::cust("LOWER").arg(Func::cust("HEX").arg(e)).into()]).into(),
        _ => e,
    }
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

/// MariaDB: `COALESCE((SELECT JSON_ARRAYAGG(elem ORDER BY … LIMIT …) FROM
/// child WHERE …), JSON_ARRAY())`. MariaDB refuses outer references inside
/// a derived table, so the order and window go into the aggregate itself
/// (MariaDB 10.5+).
fn mariadb_array(d: &dyn Dialect, q: ArrayQuery) -> Expr {
    let ArrayQuery { mut from, order, limit, offset, element } = q;
    let elem = match element {
        Element::Object(items) => Func::cust("JSON_OBJECT").args(pairs_to_args(object_pairs(d, items))).into(),
        Element::Value(i) => element_value(d, i.expr, i.ty),
    };
    let mut template = String::from("JSON_ARRAYAGG(?");
    let mut args = vec![elem];
    for (n, o) in order.iter().enumerate() {
        template.push_str(if n == 0 { " ORDER BY " } else { ", " });
        if o.nullable {
            template.push_str(if o.nulls_first { "? IS NULL DESC, " } else { "? IS NULL ASC, " });
            args.push(o.expr.clone());
        }
        template.push_str(if o.desc { "? DESC" } else { "? ASC" });
        args.push(o.expr.clone());
    }
    match (limit, offset) {
        (None, 0) => {}
        (l, o) => template.push_str(&format!(" LIMIT {} OFFSET {o}", l.unwrap_or(i64::MAX as u64))),
    }
    template.push(')');
    from.expr(Expr::cust_with_exprs(template, args));
    Func::coalesce([Expr::SubQuery(None, Box::new(from.into())), Func::cust("JSON_ARRAY").into()]).into()
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
                let obj: Expr = Func::cust("JSON_OBJECT").args(pairs_to_args(pairs)).into();
                if $mariadb {
                    Func::cust("JSON_COMPACT").arg(obj).into()
                } else {
                    obj
                }
            }
            fn json_value(&self, e: Expr, ty: ColumnType) -> Expr {
                json_value(e, ty, $mariadb)
            }
            fn json_single(&self, mut from: SelectStatement, items: Vec<JsonItem>) -> Expr {
                // The top-level JSON_COMPACT compacts nested objects too.
                from.expr(Func::cust("JSON_OBJECT").args(pairs_to_args(object_pairs(self, items)))).limit(1);
                Expr::SubQuery(None, Box::new(from.into()))
            }
            fn json_array(&self, q: ArrayQuery) -> Expr {
                if $mariadb {
                    mariadb_array(self, q)
                } else {
                    array_over_derived(self, q, "JSON_ARRAYAGG", |e| Func::coalesce([e, Func::cust("JSON_ARRAY").into()]).into())
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
}
