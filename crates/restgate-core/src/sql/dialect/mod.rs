//! What differs between databases, as a trait with one unit struct each.
//!
//! The renderer in [`super`] builds sea-query statements and asks the
//! dialect only for the pieces that differ: the JSON object constructor,
//! how a logical type is rendered to JSON, JSON paths, pattern matching,
//! casts of bound values, and which statements accept RETURNING.

use sea_query::{DeleteStatement, Expr, ExprTrait, InsertStatement, SelectStatement, UpdateStatement, Values};

use crate::catalog::{Column, ColumnType};
use crate::error::ApiError;
use crate::request::{FtsOperator, JsonKey, JsonStep, Operator};
use crate::value::SqlValue;

/// The four `build_*` methods of [`Dialect`] for one sea-query builder.
macro_rules! builders {
    ($builder:expr) => {
        fn build_select(&self, s: &SelectStatement) -> (String, Values) {
            s.build($builder)
        }
        fn build_insert(&self, s: &InsertStatement) -> (String, Values) {
            s.build($builder)
        }
        fn build_update(&self, s: &UpdateStatement) -> (String, Values) {
            s.build($builder)
        }
        fn build_delete(&self, s: &DeleteStatement) -> (String, Values) {
            s.build($builder)
        }
    };
}

mod mysql;
mod postgres;
mod sqlite;

pub use mysql::{MySql8Dialect, MySqlDialect};
pub use postgres::PostgresDialect;
pub use sqlite::SqliteDialect;

/// Where a bound value is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindContext {
    /// Compared with a column or JSON path.
    Compare,
    /// Written into a column.
    Write,
}

/// One sort key of [`Dialect::join_rows`]: a column of the subquery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinOrder {
    /// The subquery's column alias.
    pub key: &'static str,
    /// Descending.
    pub desc: bool,
    /// NULLs first.
    pub nulls_first: bool,
}

fn order_clause(keys: &[JoinOrder], quote: char) -> String {
    let mut s = String::new();
    for (i, k) in keys.iter().enumerate() {
        s.push_str(if i == 0 { " ORDER BY " } else { ", " });
        s.push(quote);
        s.push_str(k.key);
        s.push(quote);
        s.push_str(if k.desc { " DESC" } else { " ASC" });
        s.push_str(if k.nulls_first { " NULLS FIRST" } else { " NULLS LAST" });
    }
    s
}

/// The SQL differences of one database.
pub trait Dialect: Send + Sync + 'static {
    /// The backend's name, for error details (`sqlite`, `postgresql`, `mysql`).
    fn name(&self) -> &'static str;
    /// Renders a SELECT with bound values.
    fn build_select(&self, s: &SelectStatement) -> (String, Values);
    /// Renders an INSERT with bound values.
    fn build_insert(&self, s: &InsertStatement) -> (String, Values);
    /// Renders an UPDATE with bound values.
    fn build_update(&self, s: &UpdateStatement) -> (String, Values);
    /// Renders a DELETE with bound values.
    fn build_delete(&self, s: &DeleteStatement) -> (String, Values);

    /// Whether INSERT/UPDATE/DELETE accept `RETURNING`.
    fn returning(&self) -> bool;

    /// The SQL of an aggregate that joins the `column` texts of a subquery's
    /// rows with commas, sorted by the subquery's columns in `order`, so a
    /// read returns one row instead of many. `None` (the default) fetches
    /// rows one by one.
    fn join_rows(&self, column: &str, order: &[JoinOrder]) -> Option<String> {
        let _ = (column, order);
        None
    }

    /// A JSON object from key/value pairs, as the database's JSON text.
    fn json_object(&self, pairs: Vec<(String, Expr)>) -> Expr;

    /// A column value of type `ty` made ready to be a JSON value.
    fn json_value(&self, e: Expr, ty: ColumnType) -> Expr;

    /// `e->a->>b`. With `compare`, the result is what filters and ORDER BY
    /// compare: text for `->>`, a JSON value for `->`.
    fn json_path(&self, e: Expr, path: &[JsonStep], compare: bool) -> Expr;

    /// A bound value, cast where the database needs the type spelled out.
    /// `target` is the column the value meets (`None` behind a JSON path).
    fn bind(&self, v: SqlValue, ctx: BindContext, target: Option<&Column>) -> Expr {
        let _ = (ctx, target);
        Expr::val(v.into_sea())
    }

    /// The column's DEFAULT in an INSERT or UPDATE.
    fn default_value(&self, column: &Column) -> Expr {
        let _ = column;
        Expr::cust("DEFAULT")
    }

    /// `e::ty` in a select list.
    fn cast(&self, e: Expr, ty: ColumnType) -> Expr;

    /// like / ilike (pattern uses `%`, `_`, `\` escapes) and match / imatch (regex).
    fn pattern(&self, e: Expr, op: Operator, pattern: &str) -> Result<Expr, ApiError>;

    /// `a IS DISTINCT FROM b`.
    fn is_distinct(&self, a: Expr, b: Expr) -> Expr;

    /// Full-text search on `e` (the column `target`, `None` behind a JSON
    /// path); not every database has it.
    fn fts(&self, e: Expr, target: Option<&Column>, op: FtsOperator, language: Option<&str>, query: &str) -> Result<Expr, ApiError> {
        let _ = (e, target, op, language, query);
        Err(ApiError::not_implemented(
            "Full-text search operators are not available on this database",
            format!("the {} backend has no fts, plfts, phfts or wfts", self.name()),
        ))
    }

    /// Array and range operators (cs, cd, ov, sl, sr, nxr, nxl, adj) on `e`
    /// (the column `target`, `None` behind a JSON path).
    fn range_op(&self, e: Expr, target: Option<&Column>, op: Operator, operand: &str) -> Result<Expr, ApiError> {
        let _ = (e, target, operand);
        Err(ApiError::not_implemented(
            format!("The operator '{}' is not available on this database", op.name()),
            format!("the {} backend has no array or range operators", self.name()),
        ))
    }
}

fn lit(s: &str) -> Expr {
    Expr::Constant(sea_query::Value::String(Some(s.to_owned())))
}

/// `CASE WHEN e IS NULL THEN NULL WHEN e THEN <yes> ELSE <no> END`.
fn json_bool(e: Expr, yes: &'static str, no: &'static str) -> Expr {
    Expr::case(e.clone().is_null(), Expr::cust("NULL")).case(e, Expr::cust(yes)).finally(Expr::cust(no)).into()
}

fn pairs_to_args(pairs: Vec<(String, Expr)>) -> Vec<Expr> {
    let mut args = Vec::with_capacity(pairs.len() * 2);
    for (k, v) in pairs {
        args.push(Expr::Constant(sea_query::Value::String(Some(k))));
        args.push(v);
    }
    args
}

/// A SQLite/MySQL JSON path string for `path`: `$."a"[0][#-1]`.
fn sqlite_path(path: &[JsonStep]) -> String {
    let mut p = String::from("$");
    for step in path {
        match &step.key {
            JsonKey::Name(n) => {
                p.push_str(".\"");
                p.push_str(&n.replace('"', ""));
                p.push('"');
            }
            JsonKey::Index(i) if *i < 0 => p.push_str(&format!("[#{i}]")),
            JsonKey::Index(i) => p.push_str(&format!("[{i}]")),
        }
    }
    p
}
