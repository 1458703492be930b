//! PostgreSQL.

use sea_query::{
    BinOper, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, PostgresQueryBuilder, SelectStatement, UpdateStatement, Values,
};

use super::{lit, order_clause, pairs_to_args, BindContext, Dialect, JoinOrder};
use crate::catalog::ColumnType;
use crate::error::ApiError;
use crate::request::{JsonKey, JsonStep, Operator};
use crate::value::SqlValue;

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

impl Dialect for PostgresDialect {
    fn name(&self) -> &'static str {
        "postgresql"
    }
    builders!(PostgresQueryBuilder);
    fn returning(&self) -> bool {
        true
    }
    fn join_rows(&self, column: &str, order: &[JoinOrder]) -> Option<String> {
        Some(format!("string_agg(\"{column}\"::text, ','{})", order_clause(order, '"')))
    }

    fn json_object(&self, pairs: Vec<(String, Expr)>) -> Expr {
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
    fn json_value(&self, e: Expr, ty: ColumnType) -> Expr {
        match ty {
            ColumnType::Timestamp => Func::cust("to_char").args([e, lit("YYYY-MM-DD\"T\"HH24:MI:SS.US")]).into(),
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
    fn bind(&self, v: SqlValue, ctx: BindContext) -> Expr {
        let _ = ctx;
        let ty = match &v {
            SqlValue::Null(t) => *t,
            SqlValue::Numeric(_) => ColumnType::Numeric,
            SqlValue::Json(_) => ColumnType::Json,
            _ => return Expr::val(v.into_sea()),
        };
        Expr::val(v.into_sea()).cast_as(pg_type(ty))
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
}
