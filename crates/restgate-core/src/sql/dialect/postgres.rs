//! PostgreSQL.

use sea_query::{
    Alias, BinOper, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, PostgresQueryBuilder, Query, SelectStatement, UpdateStatement,
    Values,
};

use super::{
    element_value, lit, order_and_window, order_clause, pairs_to_args, single_by_pairs, ArrayQuery, BindContext, Dialect, Element,
    JoinOrder, JsonItem,
};
use crate::catalog::{Column, ColumnType};
use crate::error::ApiError;
use crate::request::{FtsOperator, JsonKey, JsonStep, Operator};
use crate::value::SqlValue;

/// The alias of the one-row subselect [`PostgresDialect::json_object`] renders.
const ROW_ALIAS: &str = "_rg_row";

/// The whole row of [`ROW_ALIAS`] (`.*`: a column of the same name cannot shadow it).
const WHOLE_ROW: &str = "\"_rg_row\".*";

/// Whether `row_to_json` of a derived table gives these keys: column
/// aliases are cut at 63 bytes, and an empty or repeated key would not survive.
pub(crate) fn row_keys_ok(items: &[JsonItem]) -> bool {
    !items.is_empty()
        && items.iter().enumerate().all(|(n, i)| !i.key.is_empty() && i.key.len() <= 63 && !items[..n].iter().any(|o| o.key == i.key))
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
    fn row_objects(&self) -> bool {
        true
    }

    fn json_single(&self, mut from: SelectStatement, items: Vec<JsonItem>) -> Expr {
        if !row_keys_ok(&items) {
            return single_by_pairs(self, from, items);
        }
        for i in items {
            let v = element_value(self, i.expr, i.ty, i.nullable);
            from.expr_as(v, Alias::new(i.key));
        }
        // A child found by a unique key comes without a LIMIT; PostgreSQL
        // still plans better with one (a small table is scanned, and the
        // scan stops at the row). Written as text when the subquery binds
        // nothing, so its statement can be kept (a bound LIMIT is a value).
        // (Nothing bound means no LIMIT yet; setting it again is harmless.)
        let (sql, values) = self.build_select(&from);
        if values.0.is_empty() {
            return Expr::cust(format!("(SELECT row_to_json({WHOLE_ROW}) FROM ({sql} LIMIT 1) AS \"{ROW_ALIAS}\")"));
        }
        from.limit(1);
        let mut outer = Query::select();
        outer.expr(Func::cust("row_to_json").arg(Expr::cust(WHOLE_ROW))).from_subquery(from, Alias::new(ROW_ALIAS));
        Expr::SubQuery(None, Box::new(outer.into()))
    }

    fn json_array(&self, q: ArrayQuery) -> Expr {
        // '[' || string_agg(<element text>, ',') || ']', as compact as the
        // top level; json_agg would separate elements with ", \n ".
        let ArrayQuery { mut from, order, limit, offset, element } = q;
        order_and_window(&mut from, &order, limit, offset);
        let text: Expr = match element {
            Element::Object(items) if row_keys_ok(&items) => {
                for i in items {
                    let v = element_value(self, i.expr, i.ty, i.nullable);
                    from.expr_as(v, Alias::new(i.key));
                }
                Func::cust("row_to_json").arg(Expr::cust(WHOLE_ROW)).into()
            }
            Element::Object(items) => {
                from.expr_as(self.json_object(super::object_pairs(self, items)), Alias::new("j"));
                Expr::col((Alias::new(ROW_ALIAS), Alias::new("j")))
            }
            Element::Value(i) => {
                from.expr_as(element_value(self, i.expr, i.ty, i.nullable), Alias::new("v"));
                // to_json(NULL) is NULL, which string_agg would skip.
                Func::coalesce([
                    Func::cust("to_json").arg(Expr::col((Alias::new(ROW_ALIAS), Alias::new("v")))).cast_as("text"),
                    lit("null"),
                ])
                .into()
            }
        };
        let joined = Func::cust("string_agg").args([text.cast_as("text"), lit(",")]);
        let array = lit("[").binary(BinOper::Custom("||"), joined).binary(BinOper::Custom("||"), lit("]")).cast_as("json");
        let mut outer = Query::select();
        outer.expr(Func::coalesce([array, Expr::cust("'[]'::json")])).from_subquery(from, Alias::new(ROW_ALIAS));
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
