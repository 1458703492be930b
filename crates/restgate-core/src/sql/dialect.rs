//! What differs between databases, as a trait with one unit struct each.
//!
//! The renderer in [`super`] builds sea-query statements and asks the
//! dialect only for the pieces that differ: the JSON object constructor,
//! how a logical type is rendered to JSON, JSON paths, pattern matching,
//! casts of bound values, and which statements accept RETURNING.

use sea_query::{
    BinOper, DeleteStatement, Expr, ExprTrait, Func, InsertStatement, LikeExpr, MysqlQueryBuilder, PostgresQueryBuilder, SelectStatement,
    SqliteQueryBuilder, UpdateStatement, Values,
};

use crate::catalog::{Column, ColumnType};
use crate::error::ApiError;
use crate::request::{FtsOperator, JsonKey, JsonStep, Operator};
use crate::value::SqlValue;

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
    fn bind(&self, v: SqlValue, ctx: BindContext) -> Expr {
        let _ = ctx;
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

    /// Full-text search; not every database has it.
    fn fts(&self, e: Expr, op: FtsOperator, language: Option<&str>, query: &str) -> Result<Expr, ApiError> {
        let _ = (e, op, language, query);
        Err(ApiError::not_implemented(
            "Full-text search operators are not available on this database",
            format!("the {} backend has no fts, plfts, phfts or wfts", self.name()),
        ))
    }

    /// Array and range operators (cs, cd, ov, sl, sr, nxr, nxl, adj).
    fn range_op(&self, e: Expr, op: Operator, operand: &str) -> Result<Expr, ApiError> {
        let _ = (e, operand);
        Err(ApiError::not_implemented(
            format!("The operator '{}' is not available on this database", op.name()),
            format!("the {} backend has no array or range operators", self.name()),
        ))
    }
}

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

/// SQLite 3.38+ (JSON functions and `->`/`->>` built in).
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

/// A SQLite JSON path string for `path`: `$."a"[0][#-1]`.
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

/// Converts a LIKE pattern (`%`, `_`, `\` escapes) to a case-sensitive GLOB pattern.
fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '\\' => match chars.next() {
                Some(e) => push_glob_literal(&mut out, e),
                None => push_glob_literal(&mut out, '\\'),
            },
            c => push_glob_literal(&mut out, c),
        }
    }
    out
}

fn push_glob_literal(out: &mut String, c: char) {
    match c {
        '*' | '?' | '[' => {
            out.push('[');
            out.push(c);
            out.push(']');
        }
        c => out.push(c),
    }
}

/// SQLite caps function arguments at 127: build wide objects in chunks.
const SQLITE_PAIRS_PER_CALL: usize = 60;

impl Dialect for SqliteDialect {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    builders!(SqliteQueryBuilder);
    fn returning(&self) -> bool {
        true
    }

    fn join_rows(&self, column: &str, order: &[JoinOrder]) -> Option<String> {
        // group_concat(... ORDER BY ...) needs SQLite 3.44; the bundled library is newer.
        Some(format!("group_concat(\"{column}\", ','{})", order_clause(order, '"')))
    }

    fn json_object(&self, pairs: Vec<(String, Expr)>) -> Expr {
        if pairs.len() <= SQLITE_PAIRS_PER_CALL {
            return Func::cust("json_object").args(pairs_to_args(pairs)).into();
        }
        // rtrim(json_object(a..),'}') || ',' || substr(json_object(b..),2) …, re-marked as JSON.
        let mut chunks: Vec<Vec<(String, Expr)>> = Vec::new();
        let mut it = pairs.into_iter().peekable();
        while it.peek().is_some() {
            chunks.push(it.by_ref().take(SQLITE_PAIRS_PER_CALL).collect());
        }
        let n = chunks.len();
        let mut joined: Option<Expr> = None;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut part: Expr = Func::cust("json_object").args(pairs_to_args(chunk)).into();
            if i + 1 < n {
                part = Func::cust("rtrim").args([part, lit("}")]).into();
            }
            if i > 0 {
                part = Func::cust("substr").args([part, Expr::cust("2")]).into();
            }
            joined = Some(match joined {
                None => part,
                Some(j) => j.binary(BinOper::Custom("||"), lit(",")).binary(BinOper::Custom("||"), part),
            });
        }
        Func::cust("json").arg(joined.unwrap_or_else(|| Expr::cust("'{}'"))).into()
    }

    fn json_value(&self, e: Expr, ty: ColumnType) -> Expr {
        match ty {
            ColumnType::Boolean => json_bool(e, "json('true')", "json('false')"),
            ColumnType::Json | ColumnType::Array => {
                Expr::case(Expr::from(Func::cust("json_valid").arg(e.clone())), Func::cust("json").arg(e.clone())).finally(e).into()
            }
            ColumnType::Timestamp | ColumnType::TimestampTz => Func::cust("replace").args([e, lit(" "), lit("T")]).into(),
            // Infinities would render as 9.0e+999, which strict JSON parsers
            // refuse: give the strings PostgreSQL's JSON uses instead.
            ColumnType::Float => Expr::case(e.clone().eq(Expr::cust("9e999")), lit("Infinity"))
                .case(e.clone().eq(Expr::cust("-9e999")), lit("-Infinity"))
                .finally(e)
                .into(),
            // hex(NULL) is '' in SQLite: keep NULL as NULL.
            ColumnType::Binary => Expr::case(e.clone().is_null(), Expr::cust("NULL"))
                .finally(lit("\\x").binary(BinOper::Custom("||"), Func::cust("lower").arg(Func::cust("hex").arg(e))))
                .into(),
            _ => e,
        }
    }

    fn json_path(&self, e: Expr, path: &[JsonStep], compare: bool) -> Expr {
        let as_text = path.last().is_some_and(|s| s.as_text);
        let p = lit(&sqlite_path(path));
        match (as_text, compare) {
            (true, true) => e.binary(BinOper::Custom("->>"), p).cast_as("TEXT"),
            (true, false) | (false, true) => e.binary(BinOper::Custom("->>"), p),
            (false, false) => e.binary(BinOper::Custom("->"), p),
        }
    }

    fn bind(&self, v: SqlValue, ctx: BindContext) -> Expr {
        match (v, ctx) {
            // A JSON operand compared with `col->path` (which yields the SQL value): extract it too.
            (SqlValue::Json(j), BindContext::Compare) => Expr::val(j).binary(BinOper::Custom("->>"), lit("$")),
            (v, _) => Expr::val(v.into_sea()),
        }
    }

    fn default_value(&self, column: &Column) -> Expr {
        // SQLite has no DEFAULT keyword in VALUES/SET: use the declared expression.
        match &column.default {
            Some(d) => Expr::cust(format!("({d})")),
            None => Expr::cust("NULL"),
        }
    }

    fn cast(&self, e: Expr, ty: ColumnType) -> Expr {
        match ty {
            ColumnType::Integer | ColumnType::Boolean => e.cast_as("INTEGER"),
            ColumnType::Float => e.cast_as("REAL"),
            ColumnType::Numeric => e.cast_as("NUMERIC"),
            ColumnType::Json => Func::cust("json").arg(e).into(),
            _ => e.cast_as("TEXT"),
        }
    }

    fn pattern(&self, e: Expr, op: Operator, pattern: &str) -> Result<Expr, ApiError> {
        Ok(match op {
            Operator::Like => e.binary(BinOper::Custom("GLOB"), Expr::val(like_to_glob(pattern))),
            Operator::ILike => e.like(LikeExpr::new(pattern).escape('\\')),
            Operator::Match => e.binary(BinOper::Custom("REGEXP"), Expr::val(pattern)),
            _ => e.binary(BinOper::Custom("REGEXP"), Expr::val(format!("(?i){pattern}"))),
        })
    }

    fn is_distinct(&self, a: Expr, b: Expr) -> Expr {
        a.binary(BinOper::IsNot, b)
    }
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

/// MySQL 8 and MariaDB 10.6+.
#[derive(Debug, Clone, Copy, Default)]
pub struct MySqlDialect;

impl Dialect for MySqlDialect {
    fn name(&self) -> &'static str {
        "mysql"
    }
    builders!(MysqlQueryBuilder);
    fn returning(&self) -> bool {
        false
    }
    fn json_object(&self, pairs: Vec<(String, Expr)>) -> Expr {
        Func::cust("JSON_OBJECT").args(pairs_to_args(pairs)).into()
    }
    fn json_value(&self, e: Expr, ty: ColumnType) -> Expr {
        match ty {
            ColumnType::Boolean => json_bool(e, "JSON_EXTRACT('true', '$')", "JSON_EXTRACT('false', '$')"),
            ColumnType::Json => Func::cust("JSON_EXTRACT").args([e, lit("$")]).into(),
            _ => e,
        }
    }
    fn json_path(&self, e: Expr, path: &[JsonStep], compare: bool) -> Expr {
        let _ = compare;
        let as_text = path.last().is_some_and(|s| s.as_text);
        let p = lit(&sqlite_path(path).replace("[#-", "[last-"));
        let extracted: Expr = Func::cust("JSON_EXTRACT").args([e, p]).into();
        if as_text {
            Func::cust("JSON_UNQUOTE").arg(extracted).into()
        } else {
            extracted
        }
    }
    fn cast(&self, e: Expr, ty: ColumnType) -> Expr {
        match ty {
            ColumnType::Integer => e.cast_as("SIGNED"),
            ColumnType::Float => e.cast_as("DOUBLE"),
            ColumnType::Numeric => e.cast_as("DECIMAL(65,30)"),
            ColumnType::Json => e.cast_as("JSON"),
            _ => e.cast_as("CHAR"),
        }
    }
    fn pattern(&self, e: Expr, op: Operator, pattern: &str) -> Result<Expr, ApiError> {
        Ok(match op {
            Operator::Like => e.binary(BinOper::Custom("LIKE BINARY"), Expr::val(pattern)),
            Operator::ILike => e.like(LikeExpr::new(pattern)),
            Operator::Match => Func::cust("REGEXP_LIKE").args([e, Expr::val(pattern), lit("c")]).into(),
            _ => Func::cust("REGEXP_LIKE").args([e, Expr::val(pattern), lit("i")]).into(),
        })
    }
    fn is_distinct(&self, a: Expr, b: Expr) -> Expr {
        a.binary(BinOper::Custom("<=>"), b).not()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_become_case_sensitive_globs() {
        assert_eq!(like_to_glob("Jo%"), "Jo*");
        assert_eq!(like_to_glob("a_c"), "a?c");
        assert_eq!(like_to_glob("100\\%"), "100%");
        assert_eq!(like_to_glob("x*[y]?"), "x[*][[]y][?]");
    }

    #[test]
    fn sqlite_paths() {
        let p = [
            JsonStep { as_text: false, key: JsonKey::Name("phones".into()) },
            JsonStep { as_text: false, key: JsonKey::Index(-1) },
            JsonStep { as_text: true, key: JsonKey::Name("number".into()) },
        ];
        assert_eq!(sqlite_path(&p), "$.\"phones\"[#-1].\"number\"");
    }
}
