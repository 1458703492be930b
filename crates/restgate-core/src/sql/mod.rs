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
//!     r#"SELECT group_concat("j", ','), count(*) FROM (SELECT json_object('id', "id") AS "j" FROM "main"."people" WHERE "name" = ? LIMIT 5) AS t"#
//! );
//! // PostgreSQL binds the LIMIT as well (`Dialect::binds_limits`), and builds each
//! // object's text from the columns of a derived table (`Dialect::row_json`).
//! let s = read_statement(&PostgresDialect, &p).unwrap();
//! assert_eq!(
//!     s.sql,
//!     r#"SELECT string_agg('{"id":' || COALESCE("_rg_row"."id"::text, 'null') || '}', ','), count(*) FROM (SELECT "id" AS "id" FROM "main"."people" WHERE "name" = $1 LIMIT $2) AS "_rg_row""#
//! );
//! let s = read_statement(&MySqlDialect, &p).unwrap();
//! assert_eq!(
//!     s.sql,
//!     r#"SELECT CONCAT('{\"id\":', IFNULL(`id`, 'null'), '}') AS `j` FROM `main`.`people` WHERE `name` = ? LIMIT 5"#
//! );
//! ```

mod dialect;

use std::fmt::Write as _;
use std::sync::{Arc, RwLock};

use sea_query::{Alias, Condition, Expr, ExprTrait, Func, JoinType, Keyword, LogicalChainOper, OnConflict, Query, SelectStatement, Values};

use dialect::{derived_value, object_pairs};
pub use dialect::{
    ArrayQuery, BindContext, Dialect, Element, JoinOrder, JsonItem, MySql8Dialect, MySqlDialect, PostgresDialect, SortExpr, SqliteDialect,
    Syntax,
};

use crate::catalog::{Column, Storage, Table, TableKind};
use crate::error::ApiError;
use crate::plan::{ColumnRef, Condition as Cond, Conflict, Embed, OrderBy, Output, OutputField, ReadPlan, Related, Shape, Test, WriteOp};
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

/// How a statement level names its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Unqualified: the statement reads one table (RETURNING requires this on some databases).
    Bare,
    /// Qualified by the table's name: the top level of a statement with correlated subqueries.
    Table(&'static str),
    /// Qualified by an alias `_rg<n>`: an embedded (child) level.
    Alias(u32),
}

/// The alias of scope `n`.
fn alias(n: u32) -> sea_query::DynIden {
    const NAMES: [&str; 16] = [
        "_rg0", "_rg1", "_rg2", "_rg3", "_rg4", "_rg5", "_rg6", "_rg7", "_rg8", "_rg9", "_rg10", "_rg11", "_rg12", "_rg13", "_rg14",
        "_rg15",
    ];
    match NAMES.get(n as usize) {
        Some(s) => Ident(s).into(),
        None => format!("_rg{n}").into(),
    }
}

/// A column reference in `scope`.
fn column_in(scope: Scope, c: &Column) -> Expr {
    match scope {
        Scope::Bare => Expr::col(Ident(c.sql_name)),
        Scope::Table(t) => Expr::col((Ident(t), Ident(c.sql_name))),
        Scope::Alias(n) => Expr::col((alias(n), Ident(c.sql_name))),
    }
}

/// Column `c` in `scope` as reads show it ([`Dialect::column_value`]).
fn shown_in(d: &dyn Dialect, scope: Scope, c: &Column) -> Expr {
    d.column_value(column_in(scope, c), c.storage, false)
}

/// The value expression of a reference, as filters and ORDER BY compare
/// it; `as_shown` takes the column as reads show it instead (patterns
/// match the text a read shows, e.g. `42` and not a ZEROFILL `00042`).
fn compared(d: &dyn Dialect, scope: Scope, r: &ColumnRef<'_>, as_shown: bool) -> Expr {
    let e = d.column_value(column_in(scope, r.column), r.column.storage, !as_shown);
    if r.json_path.is_empty() {
        e
    } else {
        d.json_path(e, &r.json_path, true)
    }
}

/// The top-level scope of a statement: qualified when correlated subqueries
/// (embeds, EXISTS tests) look at it.
fn top_scope(table: &Table, shape: Option<&Shape<'_>>, filter: Option<&Cond<'_>>) -> Scope {
    if shape.is_some_and(Shape::has_embeds) || filter.is_some_and(Cond::has_related) {
        Scope::Table(table.sql_name)
    } else {
        Scope::Bare
    }
}

/// `FROM child AS _rg<n> WHERE <join to the parent> AND <child filter>`.
fn related_from(d: &dyn Dialect, parent: Scope, r: &Related<'_>) -> Result<SelectStatement, ApiError> {
    let child = Scope::Alias(r.scope);
    let mut s = Query::select();
    s.from_as(table_ref(r.table), alias(r.scope));
    for (p, c) in &r.on {
        s.and_where(column_in(child, c).eq(column_in(parent, p)));
    }
    if let Some(t) = &r.through {
        let j = Scope::Alias(t.scope);
        let mut sub = Query::select();
        sub.expr(Expr::cust("1")).from_as(table_ref(t.table), alias(t.scope));
        for (jc, p) in &t.parent {
            sub.and_where(column_in(j, jc).eq(column_in(parent, p)));
        }
        for (jc, c) in &t.child {
            sub.and_where(column_in(j, jc).eq(column_in(child, c)));
        }
        s.and_where(Expr::exists(sub));
    }
    if let Some(f) = &r.filter {
        s.and_where(condition(d, child, f)?);
    }
    Ok(s)
}

/// A value of an object: a column, JSON path, cast.
fn field_value(d: &dyn Dialect, scope: Scope, f: &OutputField<'_>) -> Expr {
    let base = shown_in(d, scope, f.source.column);
    let mut e = if f.source.json_path.is_empty() { base } else { d.json_path(base, &f.source.json_path, false) };
    if let Some(ty) = f.cast {
        e = d.cast(e, ty);
    }
    e
}

/// The sort keys of `order` in `scope`.
fn sort_exprs(d: &dyn Dialect, scope: Scope, order: &[OrderBy<'_>]) -> Result<Vec<SortExpr>, ApiError> {
    order
        .iter()
        .map(|o| Ok(SortExpr { expr: sort_key(d, scope, o)?, desc: o.desc, nulls_first: o.nulls_first, nullable: nullable(o) }))
        .collect()
}

/// What one ORDER BY term sorts by: a column, or a to-one embed's column.
fn sort_key(d: &dyn Dialect, scope: Scope, o: &OrderBy<'_>) -> Result<Expr, ApiError> {
    match &o.via {
        None => Ok(compared(d, scope, &o.source, false)),
        Some(r) => {
            let mut s = related_from(d, scope, r)?;
            s.expr(compared(d, Scope::Alias(r.scope), &o.source, false)).limit(1);
            Ok(Expr::SubQuery(None, Box::new(s.into())))
        }
    }
}

/// The items of each object of `shape` read in `scope`: columns, and
/// embeds as correlated subqueries building JSON, or, for to-one embeds
/// the dialect reads through joins ([`Dialect::to_one_joins`]), values of
/// the child rows `joins` gains (LEFT JOINs the caller adds to the
/// statement reading `scope`, in order). `joins` is `None` where the
/// statement can have none (RETURNING reads one table): to-one embeds
/// are subqueries there.
fn items<'c>(
    d: &dyn Dialect,
    scope: Scope,
    table: &Table,
    shape: &Shape<'c>,
    mut joins: Option<&mut Vec<Join<'c>>>,
) -> Result<Vec<JsonItem>, ApiError> {
    let mut out = Vec::with_capacity(shape.items.len());
    // A view's columns may be NULL whatever the database says of them
    // (an outer join's columns, say); a JSON path or cast may give NULL.
    let base = table.kind == TableKind::Table;
    for item in &shape.items {
        match item {
            Output::Field(f) => out.push(JsonItem {
                key: f.key.to_string(),
                expr: field_value(d, scope, f),
                ty: Some(f.output_type()),
                nullable: !base || f.source.column.nullable || !f.source.json_path.is_empty() || f.cast.is_some(),
            }),
            Output::Embed(e) => embed_items(d, scope, e, &mut out, joins.as_deref_mut())?,
        }
    }
    Ok(out)
}

/// Whether at most one child row matches a parent row: the child is a base
/// table and the join columns cover its primary key or a unique key. (A
/// relationship declared in configuration, or through a view, may match
/// several: a to-one embed then takes the first.)
fn unique_child(r: &Related<'_>) -> bool {
    let covered = |key: &Vec<String>| !key.is_empty() && key.iter().all(|k| r.on.iter().any(|(_, c)| c.name == *k));
    r.through.is_none()
        && !r.on.is_empty()
        && r.table.kind == TableKind::Table
        && (covered(&r.table.primary_key) || r.table.unique.iter().any(covered))
}

/// A to-one child read through `LEFT JOIN table AS _rg<scope> ON on`.
#[derive(Clone)]
struct Join<'c> {
    table: &'c Table,
    scope: u32,
    on: Expr,
}

/// Adds `joins` to `s`, in order (a join's ON may name the ones before it).
fn add_joins(s: &mut SelectStatement, joins: &[Join<'_>]) {
    for j in joins {
        s.join_as(JoinType::LeftJoin, table_ref(j.table), alias(j.scope), j.on.clone());
    }
}

/// The join of a to-one embed, when the dialect reads to-one embeds so and
/// the join can add no rows (`unique_child`); other to-one embeds keep the
/// subquery and its `LIMIT 1`.
fn to_one_join<'c>(d: &dyn Dialect, parent: Scope, e: &Embed<'c>) -> Result<Option<Join<'c>>, ApiError> {
    let r = &e.related;
    if !(d.to_one_joins() && !e.cardinality.to_many() && unique_child(r)) {
        return Ok(None);
    }
    let child = Scope::Alias(r.scope);
    let mut on: Option<Expr> = None;
    for (p, c) in &r.on {
        let eq = column_in(child, c).eq(column_in(parent, p));
        on = Some(match on {
            Some(prev) => prev.and(eq),
            None => eq,
        });
    }
    let mut on = on.expect("a join has columns");
    if let Some(f) = &r.filter {
        on = on.and(condition(d, child, f)?);
    }
    Ok(Some(Join { table: r.table, scope: r.scope, on }))
}

fn embed_items<'c>(
    d: &dyn Dialect,
    parent: Scope,
    e: &Embed<'c>,
    out: &mut Vec<JsonItem>,
    joins: Option<&mut Vec<Join<'c>>>,
) -> Result<(), ApiError> {
    if e.shape.items.is_empty() {
        // `rel()`: only for filtering, no key.
        return Ok(());
    }
    let child = Scope::Alias(e.related.scope);
    // No joins where the statement can have none (RETURNING).
    let joined = match joins {
        Some(joins) => to_one_join(d, parent, e)?.map(|join| (joins, join)),
        None => None,
    };
    if let Some((joins, join)) = joined {
        // The child row is joined to the parent's: its columns are values
        // of the parent's statement, NULL when there is no child row (its
        // first join column, equal to the parent's, is NULL only then).
        let absent = column_in(child, e.related.on[0].1).is_null();
        joins.push(join);
        let children = items(d, child, e.related.table, &e.shape, Some(joins))?;
        if e.spread {
            // Lifted keys: a column is NULL without a child row, as the
            // subquery was; nested JSON must be too (not an empty array).
            for c in children {
                let expr = match c.ty {
                    Some(_) => c.expr,
                    None => Expr::case(absent.clone(), Expr::cust("NULL")).finally(c.expr).into(),
                };
                out.push(JsonItem { expr, nullable: true, ..c });
            }
        } else {
            let object = d.json_joined(children);
            out.push(JsonItem {
                key: e.key.clone(),
                expr: Expr::case(absent, Expr::cust("NULL")).finally(object).into(),
                ty: None,
                nullable: true,
            });
        }
        return Ok(());
    }
    // The child's own to-one joins go in every statement reading the child.
    let mut child_joins = Vec::new();
    let children = items(d, child, e.related.table, &e.shape, Some(&mut child_joins))?;
    let from = || -> Result<SelectStatement, ApiError> {
        let mut s = related_from(d, parent, &e.related)?;
        add_joins(&mut s, &child_joins);
        Ok(s)
    };
    let many = e.cardinality.to_many();
    let array = |element: Element| -> Result<Expr, ApiError> {
        let mut order = sort_exprs(d, child, &e.shape.order)?;
        if e.spread {
            // Spread arrays are built one per key: a total order keeps them in step.
            for k in &e.related.table.primary_key {
                if let Some(c) = e.related.table.column(k) {
                    order.push(SortExpr { expr: column_in(child, c), desc: false, nulls_first: false, nullable: c.nullable });
                }
            }
        }
        Ok(d.json_array(ArrayQuery { from: from()?, order, limit: e.limit, offset: e.offset, element }))
    };
    match (e.spread, many) {
        (false, false) => {
            let mut from = from()?;
            for o in sort_exprs(d, child, &e.shape.order)? {
                o.apply(&mut from);
            }
            if !unique_child(&e.related) {
                from.limit(1);
            }
            out.push(JsonItem { key: e.key.clone(), expr: d.json_single(from, children), ty: None, nullable: true });
        }
        (false, true) => out.push(JsonItem { key: e.key.clone(), expr: array(Element::Object(children))?, ty: None, nullable: true }),
        (true, false) => {
            // Each lifted key reads its value from the one child row.
            for c in children {
                let mut s = from()?;
                s.expr(c.expr);
                if !unique_child(&e.related) {
                    s.limit(1);
                }
                // NULL when there is no child row.
                out.push(JsonItem { key: c.key, expr: Expr::SubQuery(None, Box::new(s.into())), ty: c.ty, nullable: true });
            }
        }
        (true, true) => {
            for c in children {
                let key = c.key.clone();
                out.push(JsonItem { key, expr: array(Element::Value(c))?, ty: None, nullable: true });
            }
        }
    }
    Ok(())
}

/// The JSON object of one row in `shape` (a `json_object` call).
fn row_object(d: &dyn Dialect, scope: Scope, table: &Table, shape: &Shape<'_>) -> Result<Expr, ApiError> {
    // RETURNING reads one table: to-one embeds are subqueries there.
    let items = items(d, scope, table, shape, None)?;
    Ok(d.json_object(object_pairs(d, items)))
}

/// A condition as one expression; sea-query parenthesizes nested AND/OR/NOT by precedence.
fn condition(d: &dyn Dialect, scope: Scope, c: &Cond<'_>) -> Result<Expr, ApiError> {
    Ok(match c {
        Cond::And(cs) => join(d, scope, cs, true)?,
        Cond::Or(cs) => join(d, scope, cs, false)?,
        Cond::Not(c) => condition(d, scope, c)?.not(),
        Cond::Test(r, t) => {
            let as_shown = matches!(t, Test::Pattern(..) | Test::QuantifiedPattern(..));
            test(d, compared(d, scope, r, as_shown), r.json_path.is_empty().then_some(r.column), t)?
        }
        Cond::Exists(r, yes) => {
            let mut s = related_from(d, scope, r)?;
            s.expr(Expr::cust("1"));
            let e = Expr::exists(s);
            if *yes {
                e
            } else {
                e.not()
            }
        }
    })
}

fn join(d: &dyn Dialect, scope: Scope, cs: &[Cond<'_>], and: bool) -> Result<Expr, ApiError> {
    let mut acc: Option<Expr> = None;
    for c in cs {
        let e = condition(d, scope, c)?;
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

fn order_by(d: &dyn Dialect, scope: Scope, s: &mut SelectStatement, order: &[OrderBy<'_>]) -> Result<(), ApiError> {
    for o in sort_exprs(d, scope, order)? {
        o.apply(s);
    }
    Ok(())
}

/// Whether a sort key can be NULL: a nullable column, any JSON path, or a
/// to-one embed's column (no related row is NULL).
fn nullable(o: &OrderBy<'_>) -> bool {
    o.source.column.nullable || !o.source.json_path.is_empty() || o.via.is_some()
}

/// `SELECT <one JSON object per row> FROM table WHERE … ORDER BY …`. With
/// [`Dialect::row_json`] dialects the object is built from the rows of a
/// derived table holding the keys as columns, which is wrapped around the
/// returned select.
fn objects(d: &dyn Dialect, table: &Table, shape: &Shape<'_>, filter: Option<&Cond<'_>>, plain_ok: bool) -> Result<Objects, ApiError> {
    let scope = top_scope(table, Some(shape), filter);
    let mut s = Query::select();
    let mut joins = Vec::new();
    let mut cached = false;
    let rows = match cached_list(d, table, scope, shape)? {
        Some(kept) => {
            s.expr(Expr::cust(String::from(&*kept.sql)));
            s.from(table_ref(table));
            for j in kept.joins.iter() {
                s.join_as(JoinType::LeftJoin, (Ident(j.schema), Ident(j.name)), alias(j.scope), j.on.clone());
            }
            cached = true;
            kept.rows
        }
        None => {
            let rows = push_list(d, &mut s, items(d, scope, table, shape, Some(&mut joins))?);
            s.from(table_ref(table));
            add_joins(&mut s, &joins);
            rows
        }
    };
    let mut values = None;
    if let Some(f) = filter {
        // Written directly when the select list binds nothing (the WHERE's
        // values are then all of them): most reads' filters and row filters.
        let plain = if plain_ok && cached { plain_where(d, scope, f) } else { None };
        let e = match plain {
            Some((sql, v)) => {
                values = Some(Values(v));
                Expr::cust(sql)
            }
            None => condition(d, scope, f)?,
        };
        // As a one-link chain: sea-query renders it in place, where a
        // `Condition` is cloned into an expression at every render.
        s.and_or_where(LogicalChainOper::And(e));
    }
    Ok(Objects { select: s, scope, rows, values })
}

/// The WHERE text and values of a conjunction of plain comparisons
/// (`column op value`, on columns compared as the database holds them,
/// values bound as they are): the usual request filter and row filter,
/// written without building, rendering and freeing a sea-query tree for
/// them. `None` for any other condition.
fn plain_where(d: &dyn Dialect, scope: Scope, c: &Cond<'_>) -> Option<(String, Vec<sea_query::Value>)> {
    fn tests<'a, 'c>(c: &'a Cond<'c>, out: &mut Vec<&'a Cond<'c>>) {
        match c {
            Cond::And(cs) => cs.iter().for_each(|c| tests(c, out)),
            c => out.push(c),
        }
    }
    // A single comparison (the usual row filter) is its own list.
    let mut nested = Vec::new();
    let all: &[&Cond<'_>] = match c {
        Cond::And(_) => {
            tests(c, &mut nested);
            &nested
        }
        _ => std::slice::from_ref(&c),
    };
    if all.is_empty() {
        return None;
    }
    let syntax = d.syntax();
    let mut sql = String::with_capacity(32 * all.len());
    let mut values = Vec::with_capacity(all.len());
    for &t in all {
        let Cond::Test(r, Test::Compare(op, v)) = t else { return None };
        if !r.json_path.is_empty() || r.column.storage != Storage::Native {
            return None;
        }
        let op = match op {
            Operator::Eq => " = ",
            Operator::Neq => " <> ",
            Operator::Gt => " > ",
            Operator::Gte => " >= ",
            Operator::Lt => " < ",
            Operator::Lte => " <= ",
            _ => return None,
        };
        let Expr::Value(value) = d.bind(v.clone(), BindContext::Compare, Some(r.column)) else { return None };
        if !values.is_empty() {
            sql.push_str(" AND ");
        }
        match scope {
            Scope::Bare => {}
            Scope::Table(t) => {
                quote_into(&mut sql, syntax.quote, t);
                sql.push('.');
            }
            Scope::Alias(_) => return None,
        }
        quote_into(&mut sql, syntax.quote, r.column.sql_name);
        sql.push_str(op);
        values.push(value);
        if syntax.numbered {
            let _ = write!(sql, "${}", values.len());
        } else {
            sql.push('?');
        }
    }
    Some((sql, values))
}

/// `name` quoted with `q`, a `q` inside doubled (as sea-query quotes).
fn quote_into(sql: &mut String, q: char, name: &str) {
    sql.push(q);
    for ch in name.chars() {
        if ch == q {
            sql.push(q);
        }
        sql.push(ch);
    }
    sql.push(q);
}

/// Adds the object items to `s`: as columns named by their keys, where
/// the dialect builds objects from such rows ([`Dialect::row_json`];
/// returns the object's SQL over them), or as one JSON object column `j`.
fn push_list(d: &dyn Dialect, s: &mut SelectStatement, items: Vec<JsonItem>) -> Option<Arc<str>> {
    match d.row_json(&items) {
        Some(row) => {
            for i in items {
                let key = Alias::new(i.key.clone());
                s.expr_as(derived_value(d, i), key);
            }
            Some(Arc::from(row))
        }
        None => {
            s.expr_as(d.json_object(object_pairs(d, items)), Ident(ROW));
            None
        }
    }
}

/// A select list kept by [`SelectLists`]: its SQL, the object's SQL over
/// its columns when they are the keys ([`push_list`]), and the to-one
/// joins its embeds need.
struct Kept {
    sql: Arc<str>,
    rows: Option<Arc<str>>,
    joins: Arc<[KeptJoin]>,
}

/// A to-one join of a kept list: `LEFT JOIN schema.name AS _rg<scope> ON on`
/// (`on` compares columns only: a list with embedded filters is not kept).
struct KeptJoin {
    schema: &'static str,
    name: &'static str,
    scope: u32,
    on: Expr,
}

/// The rendered select list of a shape, from the table's [`SelectLists`]:
/// plain columns, or columns and embeds when nothing in them binds a value
/// (no embedded filters, limits or orders through embeds, no casts or JSON
/// paths); rendered and kept on first use. `None` for other shapes, or
/// when the table keeps enough lists.
fn cached_list(d: &dyn Dialect, table: &Table, scope: Scope, shape: &Shape<'_>) -> Result<Option<Kept>, ApiError> {
    let plain = !shape.items.is_empty()
        && shape.items.iter().all(|i| matches!(i, Output::Field(f) if f.source.json_path.is_empty() && f.cast.is_none()));
    let mut sig = Vec::new();
    let keyed = plain || (shape.has_embeds() && signature(shape, &mut sig));
    if !keyed {
        return Ok(None);
    }
    let lists = &table.select_lists;
    if let Some(hit) = lists.find(d.name(), scope, &shape.items, &sig) {
        return Ok(Some(hit));
    }
    if lists.full() {
        return Ok(None);
    }
    // The same items the uncached path builds, alone in a SELECT.
    let mut s = Query::select();
    let mut joins = Vec::new();
    let rows = push_list(d, &mut s, items(d, scope, table, shape, Some(&mut joins))?);
    let (sql, values) = d.build_select(&s);
    let Some(list) = sql.strip_prefix("SELECT ").filter(|_| values.0.is_empty()) else {
        return Ok(None);
    };
    let kept = Kept {
        sql: Arc::from(list),
        rows,
        joins: joins
            .into_iter()
            .map(|j| KeptJoin { schema: j.table.sql_schema, name: j.table.sql_name, scope: j.scope, on: j.on })
            .collect(),
    };
    lists.insert(d.name(), scope, &shape.items, sig, &kept);
    Ok(Some(kept))
}

/// A key for the select list of a shape with embeds: every part of it the
/// list's SQL depends on, tables and columns by address (the lists live
/// and die with the catalog that holds them). False when a part may bind
/// a value or is not worth keeping: an embedded filter (row rules too), an
/// embedded limit or offset, an order through an embed, a cast or a JSON
/// path.
fn signature(shape: &Shape<'_>, out: &mut Vec<u8>) -> bool {
    fn word(out: &mut Vec<u8>, w: usize) {
        out.extend_from_slice(&w.to_le_bytes());
    }
    fn text(out: &mut Vec<u8>, t: &str) {
        word(out, t.len());
        out.extend_from_slice(t.as_bytes());
    }
    fn column(out: &mut Vec<u8>, c: &Column) {
        word(out, c as *const Column as usize);
    }
    for item in &shape.items {
        match item {
            Output::Field(f) => {
                if !f.source.json_path.is_empty() || f.cast.is_some() {
                    return false;
                }
                word(out, 1);
                text(out, &f.key);
                column(out, f.source.column);
            }
            Output::Embed(e) => {
                let r = &e.related;
                if r.filter.is_some() || e.limit.is_some() || e.offset != 0 {
                    return false;
                }
                word(out, 2);
                text(out, &e.key);
                word(out, r.table as *const Table as usize);
                word(out, r.scope as usize);
                for (p, c) in &r.on {
                    column(out, p);
                    column(out, c);
                }
                if let Some(t) = &r.through {
                    word(out, 3);
                    word(out, t.table as *const Table as usize);
                    word(out, t.scope as usize);
                    for (a, b) in t.parent.iter().chain(&t.child) {
                        column(out, a);
                        column(out, b);
                    }
                }
                word(out, e.cardinality as usize);
                word(out, usize::from(e.spread) | usize::from(e.inner) << 1);
                for o in &e.shape.order {
                    if o.via.is_some() || !o.source.json_path.is_empty() {
                        return false;
                    }
                    word(out, 4);
                    column(out, o.source.column);
                    word(out, usize::from(o.desc) | usize::from(o.nulls_first) << 1);
                }
                word(out, 5);
                if !signature(&e.shape, out) {
                    return false;
                }
                word(out, 6);
            }
        }
    }
    true
}

/// A table's rendered select lists of plain columns, per dialect, scope and
/// keys/columns (at most [`SelectLists::MAX`]; the catalog and its lists are
/// replaced together on reload). Building and rendering the list is most of
/// what a simple read's SQL costs.
#[derive(Default)]
pub(crate) struct SelectLists(RwLock<Vec<SelectList>>);

struct SelectList {
    dialect: &'static str,
    scope: Scope,
    /// (key, column) of each item of a plain list.
    items: Vec<(String, &'static str)>,
    /// The [`signature`] of a list with embeds (empty for a plain one).
    signature: Vec<u8>,
    rows: Option<Arc<str>>,
    sql: Arc<str>,
    joins: Arc<[KeptJoin]>,
}

impl SelectLists {
    const MAX: usize = 32;

    fn same(l: &SelectList, dialect: &'static str, scope: Scope, items: &[Output<'_>], signature: &[u8]) -> bool {
        l.dialect == dialect
            && l.scope == scope
            && if signature.is_empty() {
                l.signature.is_empty()
                    && l.items.len() == items.len()
                    && l.items
                        .iter()
                        .zip(items)
                        .all(|((k, c), i)| matches!(i, Output::Field(f) if f.key == *k && f.source.column.sql_name == *c))
            } else {
                l.signature == signature
            }
    }

    fn find(&self, dialect: &'static str, scope: Scope, items: &[Output<'_>], signature: &[u8]) -> Option<Kept> {
        let lists = self.0.read().ok()?;
        lists.iter().find(|l| Self::same(l, dialect, scope, items, signature)).map(|l| Kept {
            sql: Arc::clone(&l.sql),
            rows: l.rows.clone(),
            joins: Arc::clone(&l.joins),
        })
    }

    fn full(&self) -> bool {
        self.0.read().map_or(true, |l| l.len() >= Self::MAX)
    }

    fn insert(&self, dialect: &'static str, scope: Scope, items: &[Output<'_>], signature: Vec<u8>, kept: &Kept) {
        let Ok(mut lists) = self.0.write() else { return };
        if lists.len() >= Self::MAX || lists.iter().any(|l| Self::same(l, dialect, scope, items, &signature)) {
            return;
        }
        let items = if signature.is_empty() {
            items
                .iter()
                .filter_map(|i| match i {
                    Output::Field(f) => Some((f.key.to_string(), f.source.column.sql_name)),
                    Output::Embed(_) => None,
                })
                .collect()
        } else {
            Vec::new()
        };
        lists.push(SelectList {
            dialect,
            scope,
            items,
            signature,
            rows: kept.rows.clone(),
            sql: Arc::clone(&kept.sql),
            joins: Arc::clone(&kept.joins),
        });
    }
}

impl Clone for SelectLists {
    /// A copy starts empty: lists are rendered again on use.
    fn clone(&self) -> Self {
        SelectLists::default()
    }
}

impl std::fmt::Debug for SelectLists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SelectLists")
    }
}

/// A select of JSON objects, see [`objects`]. Its WHERE is a chain
/// ([`LogicalChainOper`]): add conditions with `and_or_where`, never `and_where`.
struct Objects {
    select: SelectStatement,
    scope: Scope,
    /// The select's columns are the keys, and this the object's SQL over
    /// them ([`Dialect::row_json`]); else its one column `j` is the object.
    rows: Option<Arc<str>>,
    /// The values of a WHERE written directly ([`plain_where`]): all the
    /// statement's values, in place of the (empty) ones sea-query collects.
    values: Option<Values>,
}

impl Objects {
    /// The select's SQL and values (taking the plain WHERE's values).
    fn build(&mut self, d: &dyn Dialect) -> (String, Values) {
        let (sql, values) = d.build_select(&self.select);
        match self.values.take() {
            Some(plain) => (sql, plain),
            None => (sql, values),
        }
    }

    /// One object per row, in the select's order.
    fn per_row(mut self, d: &dyn Dialect) -> Statement {
        let (inner, values) = self.build(d);
        match &self.rows {
            Some(row) => Statement { sql: format!("SELECT {row} FROM ({inner}) AS \"_rg_row\""), values },
            None => Statement { sql: inner, values },
        }
    }
}

/// The rows of a read. Where the dialect can join texts in the database
/// ([`Dialect::join_rows`], or [`Dialect::row_json`] objects joined by
/// `string_agg`), the statement returns one row of two columns: every
/// object, in order, joined with commas (NULL when there is none), and how
/// many there are (so the backend need not look for where each ends).
/// Otherwise it returns one JSON object text per row.
pub fn read_statement(d: &dyn Dialect, p: &ReadPlan<'_>) -> Result<Statement, ApiError> {
    // An order by an embed's column binds values of its own: the WHERE is then sea-query's.
    let plain_ok = p.shape.order.iter().all(|o| o.via.is_none());
    let mut o = objects(d, p.table, &p.shape, p.filter.as_ref(), plain_ok)?;
    let (scope, rows) = (o.scope, o.rows.take());
    let s = &mut o.select;
    order_by(d, scope, s, &p.shape.order)?;
    // A read pinned to one row by its primary key gains nothing from joining.
    let one = pins_one_row(p);
    let keys: Vec<JoinOrder> =
        p.shape.order.iter().zip(SORT_KEYS).map(|(o, key)| JoinOrder { key, desc: o.desc, nulls_first: o.nulls_first }).collect();
    let (prefix, suffix): (Option<String>, &str) = if let Some(row) = rows {
        // The derived table's order is the aggregate's input order.
        let prefix = if one { format!("SELECT {row} FROM (") } else { format!("SELECT string_agg({row}, ','), count(*) FROM (") };
        (Some(prefix), ") AS \"_rg_row\"")
    } else {
        let joinable = keys.len() == p.shape.order.len() && !one;
        match if joinable { d.join_rows(ROW, &keys) } else { None } {
            Some(join) => {
                // The sort keys travel with each row so the join keeps the order.
                for (o, k) in p.shape.order.iter().zip(&keys) {
                    s.expr_as(sort_key(d, scope, o)?, Ident(k.key));
                }
                (Some(format!("SELECT {join}, count(*) FROM (")), ") AS t")
            }
            None => (None, ""),
        }
    };
    let (inner, mut values) = o.build(d);
    let mut sql = String::with_capacity(inner.len() + 96);
    if let Some(prefix) = &prefix {
        sql.push_str(prefix);
    }
    sql.push_str(&inner);
    // Bound only on a filtered read of the table's own columns: PostgreSQL
    // plans a generic plan for a bound LIMIT as if it kept a tenth of the
    // rows, finds it dearer than a plan for the actual LIMIT and plans the
    // statement again at every execution, which costs more than it saves
    // on a read of the whole table and on any read with embeds (a list of
    // 20: 154 µs a statement with a literal, 192 bound; the HTTP
    // benchmark's embed: 650 against 780). A filtered read gains from
    // it: with a literal LIMIT its generic plan is a bitmap scan.
    let bind = d.binds_limits() && p.filter.is_some() && !p.shape.has_embeds();
    push_limits(d, bind, &mut sql, &mut values, p.limit, p.offset);
    sql.push_str(suffix);
    Ok(Statement { sql, values })
}

/// ` LIMIT l OFFSET o` of a read, bound values with `bind` (where the
/// dialect [binds limits](Dialect::binds_limits)), else literals (integers
/// restgate parsed, never request text, at most `i64::MAX`). Without a
/// limit, a bound OFFSET goes alone; otherwise a LIMIT comes before it.
fn push_limits(d: &dyn Dialect, bind: bool, sql: &mut String, values: &mut Values, limit: Option<u64>, offset: u64) {
    let numbered = d.syntax().numbered;
    let mut push = |sql: &mut String, keyword: &str, n: u64| {
        sql.push_str(keyword);
        if !bind {
            let _ = write!(sql, "{}", std::cmp::min(n, i64::MAX as u64));
            return;
        }
        values.0.push(sea_query::Value::BigInt(Some(i64::try_from(n).unwrap_or(i64::MAX))));
        if numbered {
            let _ = write!(sql, "${}", values.0.len());
        } else {
            sql.push('?');
        }
    };
    match (limit, offset) {
        (None, 0) => {}
        (Some(l), o) => {
            push(sql, " LIMIT ", l);
            if o != 0 {
                push(sql, " OFFSET ", o);
            }
        }
        (None, o) if bind => push(sql, " OFFSET ", o),
        (None, o) => {
            let _ = write!(sql, " LIMIT {} OFFSET {o}", i64::MAX);
        }
    }
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
        s.and_where(condition(d, top_scope(table, None, Some(f)), f)?);
    }
    Ok(d.build_select(&s).into())
}

/// WHERE for a set of primary-key (or other unique-key) tuples of the table read in `scope`.
fn keys_condition(d: &dyn Dialect, scope: Scope, cols: &[&Column], keys: &[Vec<SqlValue>]) -> Expr {
    if keys.is_empty() {
        return always(false);
    }
    if let [c] = cols {
        return column_in(scope, c).is_in(keys.iter().map(|k| d.bind(k[0].clone(), BindContext::Compare, Some(c))));
    }
    let mut any = Condition::any();
    for k in keys {
        let mut all = Condition::all();
        for (c, v) in cols.iter().zip(k) {
            all = all.add(column_in(scope, c).eq(d.bind(v.clone(), BindContext::Compare, Some(c))));
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
    let mut o = objects(d, table, shape, None, false)?;
    o.select.and_or_where(LogicalChainOper::And(keys_condition(d, o.scope, key_cols, keys)));
    order_by(d, o.scope, &mut o.select, &shape.order)?;
    Ok(o.per_row(d))
}

/// The representation of the rows matching `filter` (read before a DELETE).
pub fn rows_matching(d: &dyn Dialect, table: &Table, shape: &Shape<'_>, filter: Option<&Cond<'_>>) -> Result<Statement, ApiError> {
    let mut o = objects(d, table, shape, filter, false)?;
    order_by(d, o.scope, &mut o.select, &shape.order)?;
    Ok(o.per_row(d))
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
    s.expr(d.json_object(out.iter().map(|c| (c.name.clone(), d.json_value(shown_in(d, Scope::Bare, c), c.ty))).collect()))
        .from(table_ref(table));
    if let Some(f) = filter {
        s.and_where(condition(d, top_scope(table, None, Some(f)), f)?);
    }
    if let Some((cols, keys)) = keys {
        s.and_where(keys_condition(d, Scope::Bare, cols, keys));
    }
    if lock {
        s.lock_exclusive();
    }
    Ok(d.build_select(&s).into())
}

/// How many of the rows with the given keys fail `cond` (a NULL result
/// fails too): the policy's check after a write, its guard before an upsert.
pub fn violations(
    d: &dyn Dialect,
    table: &Table,
    key_cols: &[&Column],
    keys: &[Vec<SqlValue>],
    cond: &Cond<'_>,
) -> Result<Statement, ApiError> {
    let passes: Expr = Expr::case(condition(d, top_scope(table, None, Some(cond)), cond)?, Expr::cust("1")).finally(Expr::cust("0")).into();
    let mut s = Query::select();
    s.expr(Func::count(Expr::cust("*")))
        .from(table_ref(table))
        .and_where(keys_condition(d, Scope::Bare, key_cols, keys))
        .and_where(passes.eq(Expr::cust("0")));
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
    s.expr(Func::count(Expr::cust("*"))).from(table_ref(table)).and_where(keys_condition(d, Scope::Bare, key_cols, keys));
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

fn returning_expr(d: &dyn Dialect, table: &Table, r: &WriteReturn<'_, '_>) -> Option<Expr> {
    match r {
        WriteReturn::Nothing => None,
        WriteReturn::Keys(cols) => {
            Some(d.json_object(cols.iter().map(|c| (c.name.clone(), d.json_value(shown_in(d, Scope::Bare, c), c.ty))).collect()))
        }
        WriteReturn::Rows(shape) => row_object(d, Scope::Bare, table, shape).ok(),
    }
}

/// The statements of a write's main operation (more than one only for
/// inserts of rows with no columns at all).
pub fn write_statements(d: &dyn Dialect, table: &Table, op: &WriteOp<'_>, ret: &WriteReturn<'_, '_>) -> Result<Vec<Statement>, ApiError> {
    let returning = returning_expr(d, table, ret).map(|e| Query::returning().expr(e));
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
                s.and_where(condition(d, top_scope(table, None, Some(f)), f)?);
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
                s.and_where(condition(d, top_scope(table, None, Some(f)), f)?);
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

#[cfg(test)]
mod tests;
