//! Stage 3: [`Plan`](crate::plan::Plan) → SQL [`Statement`]s, per dialect.
//!
//! Statements are built with sea-query and rendered with the dialect's
//! builder: every value is a bound parameter, every identifier comes from
//! the catalog. Reads select JSON built by the database: one text per row,
//! or (where the dialect joins rows) one text for the whole read.
//!
//! # Example
//!
//! The same request rendered for the three databases:
//!
//! ```
//! use restgate_core::catalog::{Catalog, Column, Table};
//! use restgate_core::plan::{plan, Plan, PlanOptions};
//! use restgate_core::request::ApiRequest;
//! use restgate_core::sql::{read_statement, MySqlDialect, PostgresDialect, SqliteDialect};
//!
//! let mut t = Table::new("main", "people");
//! t.columns = vec![Column::new("id", "INTEGER"), Column::new("name", "TEXT")];
//! let catalog = Catalog::new(vec!["main".into()], vec![t]);
//! let req = ApiRequest::parse(&http::Method::GET, "/people", Some("select=id&name=eq.Ann&limit=5"), &Default::default(), &[]).unwrap();
//! let Plan::Read(p) = plan(&req, &catalog, &PlanOptions::default()).unwrap() else { panic!() };
//!
//! let s = read_statement(&SqliteDialect, &p).unwrap();
//! assert_eq!(
//!     s.sql,
//!     r#"SELECT group_concat("j", ',') FROM (SELECT json_object('id', "id") AS "j" FROM "main"."people" WHERE "name" = ? LIMIT 5) AS t"#
//! );
//! let s = read_statement(&PostgresDialect, &p).unwrap();
//! assert_eq!(
//!     s.sql,
//!     r#"SELECT string_agg("j"::text, ',') FROM (SELECT (SELECT row_to_json("_rg_row".*) FROM (SELECT "id" AS "id") AS "_rg_row") AS "j" FROM "main"."people" WHERE "name" = $1 LIMIT 5) AS t"#
//! );
//! let s = read_statement(&MySqlDialect, &p).unwrap();
//! assert_eq!(s.sql, "SELECT JSON_COMPACT(JSON_OBJECT('id', `id`)) AS `j` FROM `main`.`people` WHERE `name` = ? LIMIT 5");
//! ```

mod dialect;

use std::fmt::Write as _;

use sea_query::{Condition, Expr, ExprTrait, Func, Keyword, NullOrdering, OnConflict, Order, Query, SelectStatement, Values};

pub use dialect::{BindContext, Dialect, JoinOrder, MySql8Dialect, MySqlDialect, PostgresDialect, SqliteDialect};

use crate::catalog::{Column, Table};
use crate::error::ApiError;
use crate::plan::{ColumnRef, Condition as Cond, Conflict, OrderBy, ReadPlan, Shape, Test, WriteOp};
use crate::request::{IsValue, Operator, Quantifier, Resolution};
use crate::value::SqlValue;

/// A rendered statement and its bound values.
#[derive(Debug, Clone)]
pub struct Statement {
    /// SQL text with placeholders.
    pub sql: String,
    /// Values for the placeholders, in order.
    pub values: Values,
}

impl From<(String, Values)> for Statement {
    fn from((sql, values): (String, Values)) -> Self {
        Statement { sql, values }
    }
}

/// A catalog identifier for sea-query, without a copy. Names holding a
/// quote character of any dialect take sea-query's escaping path instead.
#[derive(Debug, Clone, Copy)]
struct Ident(&'static str);

impl sea_query::Iden for Ident {
    fn quoted(&self) -> std::borrow::Cow<'static, str> {
        if self.0.contains(['"', '`']) {
            std::borrow::Cow::Owned(self.0.to_owned())
        } else {
            std::borrow::Cow::Borrowed(self.0)
        }
    }

    fn unquoted(&self) -> &str {
        self.0
    }
}

fn table_ref(t: &Table) -> (Ident, Ident) {
    (Ident(t.sql_schema), Ident(t.sql_name))
}

/// A column reference. Statements read one table, so names stay unqualified
/// (which RETURNING also requires on some databases).
fn column(c: &Column) -> Expr {
    Expr::col(Ident(c.sql_name))
}

/// The value expression of a reference, as filters and ORDER BY compare it.
fn compared(d: &dyn Dialect, r: &ColumnRef<'_>) -> Expr {
    let e = column(r.column);
    if r.json_path.is_empty() {
        e
    } else {
        d.json_path(e, &r.json_path, true)
    }
}

/// The JSON object of one row in `shape`.
fn row_object(d: &dyn Dialect, shape: &Shape<'_>) -> Expr {
    let pairs = shape
        .fields
        .iter()
        .map(|f| {
            let base = column(f.source.column);
            let mut e = if f.source.json_path.is_empty() { base } else { d.json_path(base, &f.source.json_path, false) };
            if let Some(ty) = f.cast {
                e = d.cast(e, ty);
            }
            (f.key.clone(), d.json_value(e, f.output_type()))
        })
        .collect();
    d.json_object(pairs)
}

/// A condition as one expression; sea-query parenthesizes nested AND/OR/NOT by precedence.
fn condition(d: &dyn Dialect, c: &Cond<'_>) -> Result<Expr, ApiError> {
    Ok(match c {
        Cond::And(cs) => join(d, cs, true)?,
        Cond::Or(cs) => join(d, cs, false)?,
        Cond::Not(c) => condition(d, c)?.not(),
        Cond::Test(r, t) => test(d, compared(d, r), r.json_path.is_empty().then_some(r.column), t)?,
    })
}

fn join(d: &dyn Dialect, cs: &[Cond<'_>], and: bool) -> Result<Expr, ApiError> {
    let mut acc: Option<Expr> = None;
    for c in cs {
        let e = condition(d, c)?;
        acc = Some(match acc {
            None => e,
            Some(a) if and => a.and(e),
            Some(a) => a.or(e),
        });
    }
    Ok(acc.unwrap_or_else(|| always(and)))
}

fn always(yes: bool) -> Expr {
    Expr::cust(if yes { "1 = 1" } else { "1 = 0" })
}

fn compare(e: Expr, op: Operator, v: Expr) -> Expr {
    match op {
        Operator::Eq => e.eq(v),
        Operator::Neq => e.ne(v),
        Operator::Gt => e.gt(v),
        Operator::Gte => e.gte(v),
        Operator::Lt => e.lt(v),
        _ => e.lte(v),
    }
}

fn quantify(q: Quantifier, parts: Vec<Expr>) -> Expr {
    let mut c = match q {
        Quantifier::Any => Condition::any(),
        Quantifier::All => Condition::all(),
    };
    if parts.is_empty() {
        return always(q == Quantifier::All);
    }
    for p in parts {
        c = c.add(p);
    }
    Expr::from(c)
}

/// A test of `e`, which is the column `target` (`None` behind a JSON path).
fn test(d: &dyn Dialect, e: Expr, target: Option<&Column>, t: &Test) -> Result<Expr, ApiError> {
    let bind = |v: &SqlValue| d.bind(v.clone(), BindContext::Compare, target);
    Ok(match t {
        Test::Compare(op, v) => compare(e, *op, bind(v)),
        Test::Quantified(op, q, vs) => quantify(*q, vs.iter().map(|v| compare(e.clone(), *op, bind(v))).collect()),
        Test::Pattern(op, p) => d.pattern(e, *op, p)?,
        Test::QuantifiedPattern(op, q, ps) => quantify(*q, ps.iter().map(|p| d.pattern(e.clone(), *op, p)).collect::<Result<_, _>>()?),
        Test::In(vs) if vs.is_empty() => always(false),
        Test::In(vs) => e.is_in(vs.iter().map(bind)),
        Test::Is(IsValue::Null | IsValue::Unknown) => e.is_null(),
        Test::Is(IsValue::NotNull) => e.is_not_null(),
        Test::Is(IsValue::True) => e.is(Expr::Keyword(Keyword::Custom("TRUE".into()))),
        Test::Is(IsValue::False) => e.is(Expr::Keyword(Keyword::Custom("FALSE".into()))),
        Test::IsDistinct(v) => d.is_distinct(e, bind(v)),
        Test::Fts(op, lang, query) => d.fts(e, target, *op, lang.as_deref(), query)?,
        Test::Range(op, operand) => d.range_op(e, target, *op, operand)?,
    })
}

fn order_by(d: &dyn Dialect, s: &mut SelectStatement, order: &[OrderBy<'_>]) {
    for o in order {
        s.order_by_expr_with_nulls(
            compared(d, &o.source),
            if o.desc { Order::Desc } else { Order::Asc },
            if o.nulls_first { NullOrdering::First } else { NullOrdering::Last },
        );
    }
}

fn select_rows(d: &dyn Dialect, table: &Table, shape: &Shape<'_>, filter: Option<&Cond<'_>>) -> Result<SelectStatement, ApiError> {
    let mut s = Query::select();
    s.expr(row_object(d, shape)).from(table_ref(table));
    if let Some(f) = filter {
        s.and_where(condition(d, f)?);
    }
    order_by(d, &mut s, &shape.order);
    Ok(s)
}

/// The rows of a read. Where the dialect can join texts in the database
/// ([`Dialect::join_rows`]), the statement returns one row: every object,
/// in order, joined with commas (NULL when there is none). Otherwise it
/// returns one JSON object text per row.
pub fn read_statement(d: &dyn Dialect, p: &ReadPlan<'_>) -> Result<Statement, ApiError> {
    let mut s = Query::select();
    s.expr_as(row_object(d, &p.shape), Ident(ROW)).from(table_ref(p.table));
    if let Some(f) = &p.filter {
        s.and_where(condition(d, f)?);
    }
    order_by(d, &mut s, &p.shape.order);
    let keys: Vec<JoinOrder> =
        p.shape.order.iter().zip(SORT_KEYS).map(|(o, key)| JoinOrder { key, desc: o.desc, nulls_first: o.nulls_first }).collect();
    // A read pinned to one row by its primary key gains nothing from joining.
    let joinable = keys.len() == p.shape.order.len() && !pins_one_row(p);
    let join = if joinable { d.join_rows(ROW, &keys) } else { None };
    if join.is_some() {
        // The sort keys travel with each row so the join keeps the order.
        for (o, k) in p.shape.order.iter().zip(&keys) {
            s.expr_as(compared(d, &o.source), Ident(k.key));
        }
    }
    let (inner, values) = d.build_select(&s);
    // LIMIT and OFFSET are written as literals (they are integers restgate
    // parsed, never request text): SQLite re-prepares a statement whenever a
    // bound LIMIT changes, and a literal keeps each page size's plan cached.
    let mut sql = String::with_capacity(inner.len() + 96);
    if let Some(join) = &join {
        sql.push_str("SELECT ");
        sql.push_str(join);
        sql.push_str(" FROM (");
    }
    sql.push_str(&inner);
    match (p.limit, p.offset) {
        (None, 0) => {}
        (Some(l), 0) => {
            let _ = write!(sql, " LIMIT {l}");
        }
        (l, o) => {
            let _ = write!(sql, " LIMIT {} OFFSET {o}", l.unwrap_or(i64::MAX as u64));
        }
    }
    if join.is_some() {
        sql.push_str(") AS t");
    }
    Ok(Statement { sql, values })
}

/// Whether the top-level filter fixes every primary-key column with `eq`.
fn pins_one_row(p: &ReadPlan<'_>) -> bool {
    fn pinned<'a>(c: &'a Cond<'_>) -> Option<&'a str> {
        match c {
            Cond::Test(r, Test::Compare(Operator::Eq, _)) if r.json_path.is_empty() => Some(r.column.name.as_str()),
            _ => None,
        }
    }
    let pk = &p.table.primary_key;
    let tests: &[Cond<'_>] = match &p.filter {
        Some(Cond::And(cs)) => cs,
        Some(c) => std::slice::from_ref(c),
        None => return false,
    };
    !pk.is_empty() && pk.iter().all(|k| tests.iter().any(|c| pinned(c) == Some(k.as_str())))
}

/// The alias of the JSON object column in a read's inner select.
const ROW: &str = "j";

/// The aliases of a joined read's sort keys; longer orders fetch rows one by one.
const SORT_KEYS: [&str; 16] = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12", "k13", "k14", "k15"];

/// `SELECT count(*)` of the rows matching `filter`.
pub fn count_statement(d: &dyn Dialect, table: &Table, filter: Option<&Cond<'_>>) -> Result<Statement, ApiError> {
    let mut s = Query::select();
    s.expr(Func::count(Expr::cust("*"))).from(table_ref(table));
    if let Some(f) = filter {
        s.and_where(condition(d, f)?);
    }
    Ok(d.build_select(&s).into())
}

/// WHERE for a set of primary-key (or other unique-key) tuples.
fn keys_condition(d: &dyn Dialect, cols: &[&Column], keys: &[Vec<SqlValue>]) -> Expr {
    if keys.is_empty() {
        return always(false);
    }
    if let [c] = cols {
        return column(c).is_in(keys.iter().map(|k| d.bind(k[0].clone(), BindContext::Compare, Some(c))));
    }
    let mut any = Condition::any();
    for k in keys {
        let mut all = Condition::all();
        for (c, v) in cols.iter().zip(k) {
            all = all.add(column(c).eq(d.bind(v.clone(), BindContext::Compare, Some(c))));
        }
        any = any.add(all);
    }
    any.into()
}

/// The representation of the rows with the given keys (read back after a write).
pub fn rows_by_keys(
    d: &dyn Dialect,
    table: &Table,
    shape: &Shape<'_>,
    key_cols: &[&Column],
    keys: &[Vec<SqlValue>],
) -> Result<Statement, ApiError> {
    let mut s = select_rows(d, table, shape, None)?;
    s.and_where(keys_condition(d, key_cols, keys));
    Ok(d.build_select(&s).into())
}

/// The representation of the rows matching `filter` (read before a DELETE).
pub fn rows_matching(d: &dyn Dialect, table: &Table, shape: &Shape<'_>, filter: Option<&Cond<'_>>) -> Result<Statement, ApiError> {
    Ok(d.build_select(&select_rows(d, table, shape, filter)?).into())
}

/// The `out` columns, as one JSON object per row, of the rows matching
/// `filter` and, when given, one of the `keys` tuples of `key_cols`. With
/// `lock`, the rows are locked for update (`FOR UPDATE`). Used by dialects
/// without RETURNING to find the rows a write touches.
pub fn key_rows(
    d: &dyn Dialect,
    table: &Table,
    out: &[&Column],
    filter: Option<&Cond<'_>>,
    keys: Option<(&[&Column], &[Vec<SqlValue>])>,
    lock: bool,
) -> Result<Statement, ApiError> {
    let mut s = Query::select();
    s.expr(d.json_object(out.iter().map(|c| (c.name.clone(), d.json_value(column(c), c.ty))).collect())).from(table_ref(table));
    if let Some(f) = filter {
        s.and_where(condition(d, f)?);
    }
    if let Some((cols, keys)) = keys {
        s.and_where(keys_condition(d, cols, keys));
    }
    if lock {
        s.lock_exclusive();
    }
    Ok(d.build_select(&s).into())
}

/// `SELECT LAST_INSERT_ID()`: the first auto-increment value the last
/// INSERT of this connection generated (MySQL/MariaDB).
pub fn last_insert_id() -> Statement {
    Statement { sql: "SELECT LAST_INSERT_ID()".to_owned(), values: Values(Vec::new()) }
}

/// How many of the given key tuples already exist (tells an upsert's inserts from its updates).
pub fn existing_keys(d: &dyn Dialect, table: &Table, key_cols: &[&Column], keys: &[Vec<SqlValue>]) -> Statement {
    let mut s = Query::select();
    s.expr(Func::count(Expr::cust("*"))).from(table_ref(table)).and_where(keys_condition(d, key_cols, keys));
    d.build_select(&s).into()
}

/// What the main write statement returns, one JSON text per affected row.
#[derive(Debug, Clone)]
pub enum WriteReturn<'a, 'c> {
    /// Nothing: the affected-row count is enough.
    Nothing,
    /// The key columns, as a JSON object per row.
    Keys(&'a [&'c Column]),
    /// The representation, shaped.
    Rows(&'a Shape<'c>),
}

fn returning_expr(d: &dyn Dialect, r: &WriteReturn<'_, '_>) -> Option<Expr> {
    match r {
        WriteReturn::Nothing => None,
        WriteReturn::Keys(cols) => Some(d.json_object(cols.iter().map(|c| (c.name.clone(), d.json_value(column(c), c.ty))).collect())),
        WriteReturn::Rows(shape) => Some(row_object(d, shape)),
    }
}

/// The statements of a write's main operation (more than one only for
/// inserts of rows with no columns at all).
pub fn write_statements(d: &dyn Dialect, table: &Table, op: &WriteOp<'_>, ret: &WriteReturn<'_, '_>) -> Result<Vec<Statement>, ApiError> {
    let returning = returning_expr(d, ret).map(|e| Query::returning().expr(e));
    let value = |c: &Column, v: &Option<SqlValue>| match v {
        Some(v) => d.bind(v.clone(), BindContext::Write, Some(c)),
        None => d.default_value(c),
    };
    match op {
        WriteOp::Insert { columns, rows, conflict } => {
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            if columns.is_empty() {
                let mut s = Query::insert();
                s.into_table(table_ref(table)).or_default_values();
                if let Some(r) = &returning {
                    s.returning(r.clone());
                }
                let one: Statement = d.build_insert(&s).into();
                return Ok(vec![one; rows.len()]);
            }
            let mut s = Query::insert();
            s.into_table(table_ref(table)).columns(columns.iter().map(|c| Ident(c.sql_name)));
            for row in rows {
                let exprs: Vec<Expr> = columns.iter().zip(row).map(|(c, v)| value(c, v)).collect();
                s.values(exprs).map_err(|_| ApiError::invalid_body("All object keys must match"))?;
            }
            if let Some(c) = conflict {
                s.on_conflict(on_conflict(c, columns));
            }
            if let Some(r) = returning {
                s.returning(r);
            }
            Ok(vec![d.build_insert(&s).into()])
        }
        WriteOp::Update { set, filter } => {
            if set.is_empty() {
                return Ok(Vec::new());
            }
            let mut s = Query::update();
            s.table(table_ref(table));
            for (c, v) in set {
                s.value(Ident(c.sql_name), value(c, v));
            }
            if let Some(f) = filter {
                s.and_where(condition(d, f)?);
            }
            if let Some(r) = returning {
                s.returning(r);
            }
            Ok(vec![d.build_update(&s).into()])
        }
        WriteOp::Delete { filter } => {
            let mut s = Query::delete();
            s.from_table(table_ref(table));
            if let Some(f) = filter {
                s.and_where(condition(d, f)?);
            }
            if let Some(r) = returning {
                s.returning(r);
            }
            Ok(vec![d.build_delete(&s).into()])
        }
    }
}

fn on_conflict(c: &Conflict<'_>, columns: &[&Column]) -> OnConflict {
    let mut oc = OnConflict::columns(c.target.iter().map(|t| Ident(t.sql_name)));
    match c.resolution {
        Resolution::IgnoreDuplicates => {
            // PostgreSQL and SQLite render DO NOTHING; MySQL renders
            // `ON DUPLICATE KEY UPDATE k = k`, which ignores duplicates only
            // (INSERT IGNORE would also swallow other errors).
            oc.do_nothing_on(c.target.iter().map(|t| Ident(t.sql_name)));
        }
        Resolution::MergeDuplicates => {
            let mut update: Vec<Ident> =
                columns.iter().filter(|col| !c.target.iter().any(|t| t.name == col.name)).map(|col| Ident(col.sql_name)).collect();
            if update.is_empty() {
                update = c.target.iter().map(|t| Ident(t.sql_name)).collect();
            }
            oc.update_columns(update);
        }
    }
    oc
}
