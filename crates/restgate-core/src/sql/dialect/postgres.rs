//! PostgreSQL.

use std::fmt::Write as _;

use sea_query::{
    Alias, BinOper, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, PostgresQueryBuilder, Query, QueryBuilder, SelectStatement,
    SqlWriterValues, UpdateStatement, Values,
};

use super::{
    derived_value, json_key, lit, order_and_window, order_clause, pairs_to_args, single_by_pairs, ArrayQuery, BindContext, Dialect,
    Element, JoinOrder, JsonItem,
};
use crate::catalog::{Column, ColumnType};
use crate::error::ApiError;
use crate::request::{FtsOperator, JsonKey, JsonStep, Operator};
use crate::value::SqlValue;

/// The alias of the one-row subselect [`PostgresDialect::json_object`] renders.
const ROW_ALIAS: &str = "_rg_row";

/// Whether a derived table can hold these keys as its columns: column
/// aliases are cut at 63 bytes, and an empty or repeated key would not survive.
fn row_keys_ok(items: &[JsonItem]) -> bool {
    !items.is_empty()
        && items.iter().enumerate().all(|(n, i)| !i.key.is_empty() && i.key.len() <= 63 && !items[..n].iter().any(|o| o.key == i.key))
}

/// A string literal as PostgreSQL's builder writes one.
fn literal(text: &str, out: &mut String) {
    let mut w = SqlWriterValues::new("$", true);
    PostgresQueryBuilder.prepare_expr(&lit(text), &mut w);
    out.push_str(&w.into_parts().0);
}

/// The JSON text of a value `v` (SQL text) rendered by `ty` (`None`:
/// JSON text already): `to_json(v)::text`, which renders each type exactly
/// as `row_to_json` renders a column (the same function does both), or
/// `v::text` for integers and booleans (the same digits and `true` /
/// `false`, without the JSON machinery); NULL is `null`.
fn value_text(v: &str, ty: Option<ColumnType>, nullable: bool, out: &mut String) {
    if nullable {
        out.push_str("COALESCE(");
    }
    match ty {
        None | Some(ColumnType::Integer | ColumnType::Boolean) => {
            let _ = write!(out, "{v}::text");
        }
        Some(_) => {
            let _ = write!(out, "to_json({v})::text");
        }
    }
    if nullable {
        out.push_str(", 'null')");
    }
}

/// The keys of an object's text, each with what precedes it:
/// `{"a":`, `,"b":`, ….
fn object_keys(items: &[JsonItem]) -> impl Iterator<Item = String> + '_ {
    items.iter().enumerate().map(|(n, i)| {
        let mut key = String::from(if n == 0 { "{" } else { "," });
        json_key(&i.key, false, &mut key);
        key.push(':');
        key
    })
}

/// The JSON text of one row of the derived table [`ROW_ALIAS`] whose
/// columns are `items` ([`Dialect::row_json`]), byte for byte what
/// `row_to_json` of the row writes: `'{"a":' || <a> || ',"b":' || <b> ||
/// '}'` over the values' [`value_text`]s. `row_to_json` looks up how to
/// render each column of each row; this costs PostgreSQL about a third
/// less per row (measured: 20 rows of six columns, 61 µs → 45 µs a
/// statement).
fn row_json(items: &[JsonItem]) -> Option<String> {
    if !row_keys_ok(items) {
        return None;
    }
    let mut sql = String::with_capacity(items.len() * 48);
    for (i, key) in items.iter().zip(object_keys(items)) {
        literal(&key, &mut sql);
        sql.push_str(" || ");
        let column = format!("\"{ROW_ALIAS}\".\"{}\"", i.key.replace('"', "\"\""));
        value_text(&column, i.ty, i.nullable, &mut sql);
        sql.push_str(" || ");
    }
    sql.push_str("'}'");
    Some(sql)
}

/// The JSON text of an object whose values are read where they are (no
/// derived table around them), as [`row_json`] writes it: keys and values
/// are the arguments of the expression (`$1 || <text of $2> || $3 || …`),
/// its text holds nothing else.
fn inline_object(d: &dyn Dialect, items: Vec<JsonItem>) -> Expr {
    let keys: Vec<String> = object_keys(&items).collect();
    let mut template = String::with_capacity(items.len() * 40);
    let mut args = Vec::with_capacity(items.len() * 2);
    for (i, key) in items.into_iter().zip(keys) {
        args.push(lit(&key));
        let _ = write!(template, "${} || ", args.len());
        value_text(&format!("${}", args.len() + 1), i.ty, i.nullable, &mut template);
        template.push_str(" || ");
        args.push(derived_value(d, i));
    }
    template.push_str("'}'");
    Expr::cust_with_exprs(template, args)
}

/// PostgreSQL 13+.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDialect;

fn pg_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Integer => "bigint",
        ColumnType::Float => "double precision",
        ColumnType::Numeric => "numeric",
        ColumnType::Boolean => "boolean",
        ColumnType::Json => "jsonb",
        ColumnType::Date => "date",
        ColumnType::Time => "time",
        ColumnType::Timestamp => "timestamp",
        ColumnType::TimestampTz => "timestamptz",
        ColumnType::Uuid => "uuid",
        ColumnType::Binary => "bytea",
        _ => "text",
    }
}

/// The type a value bound for `target` is cast to, when it must be spelled out:
/// text meeting a date/time/uuid column, enums and arrays (their declared
/// type), numerics and JSON, and typed NULLs.
fn bind_cast(v: &SqlValue, target: Option<&Column>) -> Option<String> {
    let declared = |c: &Column| matches!(c.ty, ColumnType::Enum | ColumnType::Array).then(|| c.sql_type.clone());
    match v {
        SqlValue::Null(t) => Some(target.and_then(declared).unwrap_or_else(|| pg_type(*t).to_owned())),
        SqlValue::Numeric(_) => Some("numeric".to_owned()),
        SqlValue::Json(_) => Some("jsonb".to_owned()),
        SqlValue::Text(_) => {
            let c = target?;
            match c.ty {
                ColumnType::Date | ColumnType::Time | ColumnType::Timestamp | ColumnType::TimestampTz | ColumnType::Uuid => {
                    Some(pg_type(c.ty).to_owned())
                }
                // Text-like types take text as it is; any other type shown
                // as text (ranges, tsvector, inet, domains…) is cast to itself.
                ColumnType::Text if !is_string_type(&c.sql_type) => Some(c.sql_type.clone()),
                _ => declared(c),
            }
        }
        _ => None,
    }
}

/// Whether a declared type takes a text parameter without a cast.
fn is_string_type(sql_type: &str) -> bool {
    let base = sql_type.split(['(', ' ']).next().unwrap_or("").to_ascii_lowercase();
    matches!(base.as_str(), "text" | "varchar" | "bpchar" | "char" | "character" | "name" | "citext" | "")
}

/// A text search configuration name: letters, digits and `_` only (it is
/// bound as a value; this only keeps obvious garbage out of the database).
fn valid_language(l: &str) -> bool {
    !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Dialect for PostgresDialect {
    fn name(&self) -> &'static str {
        "postgresql"
    }
    builders!(PostgresQueryBuilder);
    fn returning(&self) -> bool {
        true
    }
    fn binds_limits(&self) -> bool {
        true
    }
    fn join_rows(&self, column: &str, order: &[JoinOrder]) -> Option<String> {
        Some(format!("string_agg(\"{column}\"::text, ','{})", order_clause(order, '"')))
    }

    fn json_object(&self, pairs: Vec<(String, Expr)>) -> Expr {
        // `row_to_json` of a one-row subselect renders compact JSON
        // (`{"id":1}`, as PostgREST's `json_agg` does), where
        // json_build_object would write `{"id" : 1}`. Keys become column
        // aliases, which PostgreSQL truncates at 63 bytes: longer keys (and
        // empty objects) take json_build_object.
        if !pairs.is_empty() && pairs.iter().all(|(k, _)| !k.is_empty() && k.len() <= 63) {
            let mut row = Query::select();
            for (k, v) in pairs {
                row.expr_as(v, Alias::new(k));
            }
            let mut wrap = Query::select();
            wrap.expr(Func::cust("row_to_json").arg(Expr::cust(format!("\"{ROW_ALIAS}\".*")))).from_subquery(row, Alias::new(ROW_ALIAS));
            return Expr::SubQuery(None, Box::new(wrap.into()));
        }
        // json_build_object takes at most 100 arguments: merge jsonb chunks beyond that.
        if pairs.len() <= 50 {
            return Func::cust("json_build_object").args(pairs_to_args(pairs)).into();
        }
        let mut it = pairs.into_iter().peekable();
        let mut acc: Option<Expr> = None;
        while it.peek().is_some() {
            let chunk: Vec<_> = it.by_ref().take(50).collect();
            let part: Expr = Func::cust("jsonb_build_object").args(pairs_to_args(chunk)).into();
            acc = Some(match acc {
                None => part,
                Some(a) => a.binary(BinOper::Custom("||"), part),
            });
        }
        Func::cust("to_json").arg(acc.unwrap_or_else(|| Expr::cust("'{}'::jsonb"))).into()
    }
    fn row_json(&self, items: &[JsonItem]) -> Option<String> {
        row_json(items)
    }
    fn json_embed(&self, e: Expr) -> Expr {
        // An embed's object or array is JSON text (`row_json`), which
        // json_build_object would take for a string.
        e.cast_as("json")
    }

    // A to-one child found by a unique key is a LEFT JOIN of the parent's
    // statement (not in RETURNING): PostgreSQL plans the join once where
    // the subquery ran per parent row, and scanned small tables for each.
    fn to_one_joins(&self) -> bool {
        true
    }

    fn json_joined(&self, items: Vec<JsonItem>) -> Expr {
        if items.is_empty() {
            return Expr::cust("'{}'");
        }
        inline_object(self, items)
    }

    fn json_single(&self, mut from: SelectStatement, items: Vec<JsonItem>) -> Expr {
        if items.is_empty() {
            return single_by_pairs(self, from, items);
        }
        // The object is built in the child's select itself: a derived table
        // around it would cost a node per parent row.
        from.expr(inline_object(self, items));
        // A child found by a unique key comes without a LIMIT; PostgreSQL
        // still plans better with one (a small table is scanned, and the
        // scan stops at the row). Written as text when the subquery binds
        // nothing, so its statement can be kept (a bound LIMIT is a value).
        // (Nothing bound means no LIMIT yet; setting it again is harmless.)
        let (sql, values) = self.build_select(&from);
        if values.0.is_empty() {
            return Expr::cust(format!("({sql} LIMIT 1)"));
        }
        from.limit(1);
        Expr::SubQuery(None, Box::new(from.into()))
    }

    fn json_array(&self, q: ArrayQuery) -> Expr {
        // '[' || string_agg(<element text>, ',') || ']', as compact as the
        // top level; json_agg would separate elements with ", \n ".
        let ArrayQuery { mut from, order, limit, offset, element } = q;
        order_and_window(&mut from, &order, limit, offset);
        let text: Expr = match element {
            Element::Object(items) => match row_json(&items) {
                Some(row) => {
                    for i in items {
                        let key = Alias::new(i.key.clone());
                        from.expr_as(derived_value(self, i), key);
                    }
                    Expr::cust(row)
                }
                None => {
                    from.expr_as(self.json_object(super::object_pairs(self, items)), Alias::new("j"));
                    Expr::col((Alias::new(ROW_ALIAS), Alias::new("j"))).cast_as("text")
                }
            },
            Element::Value(i) => {
                // Nullable whatever the column: string_agg would skip a NULL.
                let mut text = String::new();
                value_text(&format!("\"{ROW_ALIAS}\".\"v\""), i.ty, true, &mut text);
                from.expr_as(derived_value(self, i), Alias::new("v"));
                Expr::cust(text)
            }
        };
        // JSON text, as objects are (`row_json`): a cast to json would parse it.
        let joined = Func::cust("string_agg").args([text, lit(",")]);
        let array = lit("[").binary(BinOper::Custom("||"), joined).binary(BinOper::Custom("||"), lit("]"));
        let mut outer = Query::select();
        outer.expr(Func::coalesce([array, lit("[]")])).from_subquery(from, Alias::new(ROW_ALIAS));
        Expr::SubQuery(None, Box::new(outer.into()))
    }

    fn json_value(&self, e: Expr, ty: ColumnType) -> Expr {
        // PostgreSQL's own JSON rendering is the reference: ISO 8601 dates and
        // times with trailing fraction zeros trimmed, `\x` hex for bytea,
        // "Infinity" strings for infinite floats.
        match ty {
            // numeric(10,2) holds 1 as 1.00: drop the scale's trailing
            // zeros so the number reads the same on every database.
            ColumnType::Numeric => Func::cust("trim_scale").arg(e.cast_as("numeric")).into(),
            _ => e,
        }
    }
    fn json_path(&self, e: Expr, path: &[JsonStep], compare: bool) -> Expr {
        let _ = compare;
        let mut out = e;
        for step in path {
            let key = match &step.key {
                JsonKey::Name(n) => lit(n),
                JsonKey::Index(i) => Expr::cust(i.to_string()),
            };
            out = out.binary(BinOper::Custom(if step.as_text { "->>" } else { "->" }), key);
        }
        out
    }
    fn bind(&self, v: SqlValue, ctx: BindContext, target: Option<&Column>) -> Expr {
        let _ = ctx;
        if let (SqlValue::Json(_), Some(c)) = (&v, target) {
            if c.ty == ColumnType::Array {
                // A JSON array written to an array column: its elements, as the column's array type.
                let elems: Expr = Func::cust("jsonb_array_elements_text").arg(Expr::val(v.into_sea()).cast_as("jsonb")).into();
                let mut sub = Query::select();
                sub.expr(elems);
                return Expr::cust_with_expr("ARRAY($1)", Expr::SubQuery(None, Box::new(sub.into()))).cast_as(c.sql_type.clone());
            }
        }
        match bind_cast(&v, target) {
            Some(ty) => Expr::val(v.into_sea()).cast_as(ty),
            None => Expr::val(v.into_sea()),
        }
    }
    fn cast(&self, e: Expr, ty: ColumnType) -> Expr {
        e.cast_as(pg_type(ty))
    }
    fn pattern(&self, e: Expr, op: Operator, pattern: &str) -> Result<Expr, ApiError> {
        let sql_op = match op {
            Operator::Like => "LIKE",
            Operator::ILike => "ILIKE",
            Operator::Match => "~",
            _ => "~*",
        };
        Ok(e.binary(BinOper::Custom(sql_op), Expr::val(pattern)))
    }
    fn is_distinct(&self, a: Expr, b: Expr) -> Expr {
        a.binary(BinOper::Custom("IS DISTINCT FROM"), b)
    }
    fn fts(&self, e: Expr, target: Option<&Column>, op: FtsOperator, language: Option<&str>, query: &str) -> Result<Expr, ApiError> {
        let func = match op {
            FtsOperator::Fts => "to_tsquery",
            FtsOperator::Plain => "plainto_tsquery",
            FtsOperator::Phrase => "phraseto_tsquery",
            FtsOperator::Websearch => "websearch_to_tsquery",
        };
        let config = match language {
            Some(l) if !valid_language(l) => {
                return Err(ApiError::new(
                    http::StatusCode::BAD_REQUEST,
                    "42704",
                    format!("text search configuration \"{l}\" does not exist"),
                ))
            }
            Some(l) => Some(Expr::val(l).cast_as("regconfig")),
            None => None,
        };
        let is_tsvector = target.is_some_and(|c| c.sql_type.eq_ignore_ascii_case("tsvector"));
        let doc = if is_tsvector {
            e
        } else {
            let arg = if target.is_some_and(|c| c.ty == ColumnType::Text) { e } else { e.cast_as("text") };
            Func::cust("to_tsvector").args(config.clone().into_iter().chain([arg])).into()
        };
        let q: Expr = Func::cust(func).args(config.into_iter().chain([Expr::val(query)])).into();
        Ok(doc.binary(BinOper::Custom("@@"), q))
    }
    fn range_op(&self, e: Expr, target: Option<&Column>, op: Operator, operand: &str) -> Result<Expr, ApiError> {
        let sql_op = match op {
            Operator::Contains => "@>",
            Operator::ContainedIn => "<@",
            Operator::Overlap => "&&",
            Operator::StrictlyLeft => "<<",
            Operator::StrictlyRight => ">>",
            Operator::NotExtendRight => "&<",
            Operator::NotExtendLeft => "&>",
            Operator::Adjacent => "-|-",
            _ => {
                return Err(ApiError::not_implemented(
                    format!("The operator '{}' is not available on this database", op.name()),
                    "not an array or range operator",
                ))
            }
        };
        // The operand (`{a,b}`, `[1,5)`) is text in the column's own type.
        let value = match target {
            Some(c) => Expr::val(operand).cast_as(c.sql_type.clone()),
            None => Expr::val(operand).cast_as("jsonb"),
        };
        Ok(e.binary(BinOper::Custom(sql_op), value))
    }
}
