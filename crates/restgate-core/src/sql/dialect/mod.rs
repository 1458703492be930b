//! What differs between databases, as a trait with one unit struct each.
//!
//! The renderer in [`super`] builds sea-query statements and asks the
//! dialect only for the pieces that differ: the JSON object constructor,
//! how a logical type is rendered to JSON, JSON paths, pattern matching,
//! casts of bound values, and which statements accept RETURNING.

use sea_query::{DeleteStatement, Expr, ExprTrait, InsertStatement, NullOrdering, Order, SelectStatement, UpdateStatement, Values};

use crate::catalog::{Column, ColumnType, Storage};
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
        fn syntax(&self) -> $crate::sql::dialect::Syntax {
            $crate::sql::dialect::Syntax {
                quote: sea_query::QuotedBuilder::quote(&$builder).left(),
                numbered: sea_query::QueryBuilder::placeholder(&$builder).1,
            }
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

/// A dialect's identifier quote and placeholder style ([`Dialect::syntax`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    /// The identifier quote (`"` or `` ` ``); a quote inside a name is doubled.
    pub quote: char,
    /// Placeholders are `$1`, `$2`… (else `?`).
    pub numbered: bool,
}

/// One value of a JSON object an embed builds.
#[derive(Debug, Clone)]
pub struct JsonItem {
    /// The key.
    pub key: String,
    /// The value: a column expression, or JSON the database built already.
    pub expr: Expr,
    /// The type to render the value by ([`Dialect::json_value`]); `None`
    /// when `expr` is JSON already (a nested embed).
    pub ty: Option<ColumnType>,
    /// False when the value is known never to be NULL (a `NOT NULL` column
    /// of a base table, read where its row exists): a dialect may then
    /// render it more cheaply ([`Dialect::json_value_not_null`]).
    pub nullable: bool,
}

/// A sort key of an embedded array.
#[derive(Debug, Clone)]
pub struct SortExpr {
    /// What is sorted by.
    pub expr: Expr,
    /// Descending.
    pub desc: bool,
    /// NULLs first.
    pub nulls_first: bool,
    /// Whether the key can be NULL at all. A NOT NULL key is sorted without
    /// a NULL placement: MySQL spells one as an `x IS NULL` sort term, which
    /// keeps an index from serving the order.
    pub nullable: bool,
}

impl SortExpr {
    /// Appends this key to `s`'s ORDER BY.
    pub fn apply(self, s: &mut SelectStatement) {
        let order = if self.desc { Order::Desc } else { Order::Asc };
        if self.nullable {
            s.order_by_expr_with_nulls(self.expr, order, if self.nulls_first { NullOrdering::First } else { NullOrdering::Last });
        } else {
            s.order_by_expr(self.expr, order);
        }
    }
}

/// What each element of an embedded array is.
#[derive(Debug, Clone)]
pub enum Element {
    /// An object per child row.
    Object(Vec<JsonItem>),
    /// One value per child row (a spread to-many column; the key is unused).
    Value(JsonItem),
}

/// The child rows of a to-many embed, for [`Dialect::json_array`].
#[derive(Debug, Clone)]
pub struct ArrayQuery {
    /// `FROM child AS alias WHERE …`, with no select list, order or limit.
    pub from: SelectStatement,
    /// The order of the elements.
    pub order: Vec<SortExpr>,
    /// At most this many elements.
    pub limit: Option<u64>,
    /// Skipping this many.
    pub offset: u64,
    /// The elements.
    pub element: Element,
}

/// Key/value pairs for [`Dialect::json_object`]: values rendered by their
/// type, nested JSON marked as JSON.
pub(crate) fn object_pairs<D: Dialect + ?Sized>(d: &D, items: Vec<JsonItem>) -> Vec<(String, Expr)> {
    items.into_iter().map(|i| (i.key, element_value(d, i.expr, i.ty, i.nullable))).collect()
}

/// An item as a column of the derived table [`Dialect::row_json`] reads:
/// a value rendered by its type, nested JSON as it is.
pub(crate) fn derived_value<D: Dialect + ?Sized>(d: &D, i: JsonItem) -> Expr {
    match i.ty {
        Some(_) => element_value(d, i.expr, i.ty, i.nullable),
        None => i.expr,
    }
}

/// A value ready to be placed in an object or array.
pub(crate) fn element_value<D: Dialect + ?Sized>(d: &D, e: Expr, ty: Option<ColumnType>, nullable: bool) -> Expr {
    match ty {
        Some(ty) if nullable => d.json_value(e, ty),
        Some(ty) => d.json_value_not_null(e, ty),
        None => d.json_embed(e),
    }
}

/// Applies an embed's order and window to `s`.
fn order_and_window(s: &mut SelectStatement, order: &[SortExpr], limit: Option<u64>, offset: u64) {
    for o in order {
        o.clone().apply(s);
    }
    match (limit, offset) {
        (None, 0) => {}
        (l, o) => {
            s.limit(l.unwrap_or(i64::MAX as u64));
            if o > 0 {
                s.offset(o);
            }
        }
    }
}

/// `(SELECT <object> FROM …)`: the one child object, or NULL.
fn single_by_pairs(d: &dyn Dialect, mut from: SelectStatement, items: Vec<JsonItem>) -> Expr {
    from.expr(d.json_object(object_pairs(d, items)));
    Expr::SubQuery(None, Box::new(from.into()))
}

/// `(SELECT agg(elem) FROM (SELECT … ORDER BY … LIMIT …) AS r)`: an array
/// aggregated over an ordered derived table (SQLite, MySQL 8). The derived
/// table yields raw values (`v`) or objects (`j`); `wrap` turns the
/// aggregate's NULL (no rows) into an empty array where needed.
fn array_over_derived(d: &dyn Dialect, q: ArrayQuery, agg: &str, wrap: impl Fn(Expr) -> Expr) -> Expr {
    let ArrayQuery { mut from, order, limit, offset, element } = q;
    order_and_window(&mut from, &order, limit, offset);
    let elem = match element {
        Element::Object(items) => {
            from.expr_as(d.json_object(object_pairs(d, items)), sea_query::Alias::new("j"));
            d.json_embed(Expr::col(sea_query::Alias::new("j")))
        }
        Element::Value(item) => {
            from.expr_as(item.expr, sea_query::Alias::new("v"));
            element_value(d, Expr::col(sea_query::Alias::new("v")), item.ty, item.nullable)
        }
    };
    let mut outer = sea_query::Query::select();
    outer.expr(wrap(sea_query::Func::cust(agg.to_owned()).arg(elem).into())).from_subquery(from, sea_query::Alias::new("r"));
    Expr::SubQuery(None, Box::new(outer.into()))
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

    /// How the builders quote identifiers and write placeholders, for SQL
    /// restgate writes itself (plain filters). Default: `"` and `?`.
    fn syntax(&self) -> Syntax {
        Syntax { quote: '"', numbered: false }
    }

    /// Whether INSERT/UPDATE/DELETE accept `RETURNING`.
    fn returning(&self) -> bool;

    /// Whether a filtered read's top-level LIMIT and OFFSET are bound
    /// values rather than literals (reads without a filter, or with embeds,
    /// always take literals: see `read_statement`). Literals by default:
    /// SQLite re-prepares a statement whenever a bound LIMIT changes, and
    /// MySQL/MariaDB plan every execution anyway. PostgreSQL binds them:
    /// a filtered read then gets the cheap plan for a few rows (an index
    /// scan) where a literal LIMIT leads its generic plan to a bitmap scan
    /// that costs more CPU on cached data.
    fn binds_limits(&self) -> bool {
        false
    }

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

    /// [`json_value`](Dialect::json_value) of a value known not to be NULL
    /// ([`JsonItem::nullable`]). Default: the same.
    fn json_value_not_null(&self, e: Expr, ty: ColumnType) -> Expr {
        self.json_value(e, ty)
    }

    /// The value of a column `e` the database holds as `storage`, as reads
    /// show it or, with `compare`, as filters and ORDER BY compare it. The
    /// column itself unless the dialect reads that storage otherwise (every
    /// column is [`Storage::Native`] but some of MySQL's).
    fn column_value(&self, e: Expr, storage: Storage, compare: bool) -> Expr {
        let _ = (storage, compare);
        e
    }

    /// Objects built from rows of a derived table: given the items of an
    /// object, the SQL of one row's JSON text, reading each item from the
    /// column named by its key of the derived table `"_rg_row"`. The
    /// renderer then selects each item as such a column (values by
    /// [`json_value`](Dialect::json_value), nested JSON as it is) instead
    /// of calling [`json_object`](Dialect::json_object), and builds the
    /// text outside the derived table, after its ORDER BY and LIMIT.
    /// `None` (the default): objects come from `json_object`.
    fn row_json(&self, items: &[JsonItem]) -> Option<String> {
        let _ = items;
        None
    }

    /// JSON text built by a subquery, marked as JSON where an enclosing
    /// object or array would otherwise take it for a string.
    fn json_embed(&self, e: Expr) -> Expr {
        e
    }

    /// A to-one embed: the object of the child row `from` finds
    /// (`FROM child AS alias WHERE …`, with `LIMIT 1` when the child's key
    /// is not known to be unique), or NULL when there is none.
    fn json_single(&self, from: SelectStatement, items: Vec<JsonItem>) -> Expr;

    /// Whether to-one embeds whose child row is found by a unique key are
    /// read through `LEFT JOIN`s of the parent's statement rather than
    /// correlated subqueries ([`json_joined`](Dialect::json_joined) builds
    /// their objects). Default: no. A RETURNING clause reads one table:
    /// there, to-one embeds stay subqueries ([`json_single`](Dialect::json_single))
    /// whatever this says.
    fn to_one_joins(&self) -> bool {
        false
    }

    /// A to-one embed read through a join ([`to_one_joins`](Dialect::to_one_joins)):
    /// the object of the joined child row, from its items. The renderer
    /// makes it NULL when there is no child row. Default:
    /// [`json_object`](Dialect::json_object).
    fn json_joined(&self, items: Vec<JsonItem>) -> Expr {
        self.json_object(object_pairs(self, items))
    }

    /// A to-many embed: the JSON array of the child rows, `[]` when there
    /// is none. Elements keep the query's order.
    fn json_array(&self, q: ArrayQuery) -> Expr;

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

/// `key` as a JSON string (`"key"`), escaped as the databases' JSON
/// functions escape a key: `"` and `\`, `\b` `\f` `\n` `\r` `\t`, other
/// control characters as `\u00xx` (hex digits in upper case with `upper`,
/// as MySQL/MariaDB write them; lower case as PostgreSQL does); the rest
/// as it is.
fn json_key(key: &str, upper: bool, out: &mut String) {
    out.push('"');
    for c in key.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 && upper => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
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
