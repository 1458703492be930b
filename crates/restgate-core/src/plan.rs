//! Stage 2: [`ApiRequest`] + [`Catalog`] → [`Plan`].
//!
//! Every name is resolved against the catalog (unknown table → 404
//! PGRST205, unknown column → 400 42703), every value is coerced to its
//! column's type, ranges are intersected and capped, and preferences are
//! settled. The plan borrows the catalog: nothing after this stage reads
//! request text as SQL.
//!
//! # Example
//!
//! ```
//! use restgate_core::catalog::{Catalog, Column, Table};
//! use restgate_core::plan::{plan, Plan, PlanOptions};
//! use restgate_core::request::ApiRequest;
//!
//! let mut t = Table::new("main", "people");
//! t.columns = vec![Column::new("id", "INTEGER"), Column::new("age", "INTEGER")];
//! let catalog = Catalog::new(vec!["main".into()], vec![t]);
//! let req = ApiRequest::parse(&http::Method::GET, "/people", Some("age=gte.18&limit=500"), &Default::default(), &[]).unwrap();
//! let opts = PlanOptions { max_rows: Some(100), ..Default::default() };
//! let Plan::Read(read) = plan(&req, &catalog, &opts).unwrap() else { panic!() };
//! assert_eq!(read.limit, Some(100));
//!
//! let bad = ApiRequest::parse(&http::Method::GET, "/people", Some("age=gte.old"), &Default::default(), &[]).unwrap();
//! assert_eq!(plan(&bad, &catalog, &opts).unwrap_err().code, "22P02");
//! ```

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

use http::StatusCode;

use crate::auth::Identity;
use crate::catalog::{Cardinality, Catalog, Column, ColumnType, Relationship, Table, TableKind};
use crate::error::ApiError;
use crate::policy::{self, Authorize, RowFilter, Rule, Verb};
use crate::request::{
    Accept, Action, ApiRequest, CountPref, Direction, EmbedItem, EmbedParam, Field, Filter, FtsOperator, IsValue, JsonStep, LogicNode,
    LogicOp, LogicTree, Missing, Nulls, Operation, Operator, OrderTerm, Payload, Quantifier, Resolution, ReturnPref, Scoped, SelectItem,
    Target, TxPref,
};
use crate::value::{coerce_json, coerce_text, SqlValue};

/// How transactions end, as PostgREST's `db-tx-end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TxEnd {
    /// Always commit (the default).
    #[default]
    Commit,
    /// Commit unless the client sends `Prefer: tx=rollback`.
    CommitAllowOverride,
    /// Always roll back (a dry-run API).
    Rollback,
    /// Roll back unless the client sends `Prefer: tx=commit`.
    RollbackAllowOverride,
}

/// Server-side settings the planner applies.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Hard cap on the rows of one read (PostgREST's `db-max-rows`).
    pub max_rows: Option<u64>,
    /// How write transactions end.
    pub tx_end: TxEnd,
}

/// The plan of one request.
#[derive(Debug, Clone)]
pub enum Plan<'c> {
    /// GET/HEAD on a table or view.
    Read(ReadPlan<'c>),
    /// POST/PATCH/PUT/DELETE.
    Write(Box<WritePlan<'c>>),
    /// OPTIONS: the `Allow` header value.
    Options(String),
    /// `GET /`: the API description.
    Root,
}

/// A column, or a JSON path into one.
#[derive(Debug, Clone)]
pub struct ColumnRef<'c> {
    /// The table the column belongs to.
    pub table: &'c Table,
    /// The column.
    pub column: &'c Column,
    /// JSON path steps.
    pub json_path: Vec<JsonStep>,
}

impl ColumnRef<'_> {
    /// The type of the value this reference yields.
    pub fn value_type(&self) -> ColumnType {
        match self.json_path.last() {
            None => self.column.ty,
            Some(s) if s.as_text => ColumnType::Text,
            Some(_) => ColumnType::Json,
        }
    }
}

/// One key of each output object.
#[derive(Debug, Clone)]
pub struct OutputField<'c> {
    /// The key (borrowed from the catalog when it is the column's name).
    pub key: Cow<'c, str>,
    /// Where the value comes from.
    pub source: ColumnRef<'c>,
    /// `::cast`.
    pub cast: Option<ColumnType>,
}

impl OutputField<'_> {
    /// The type the value is rendered as.
    pub fn output_type(&self) -> ColumnType {
        self.cast.unwrap_or_else(|| self.source.value_type())
    }
}

/// One ORDER BY term.
#[derive(Debug, Clone)]
pub struct OrderBy<'c> {
    /// What is sorted by (a column of `via`'s table when set).
    pub source: ColumnRef<'c>,
    /// `order=rel(col)`: the column is read from this to-one embed.
    pub via: Option<Box<Related<'c>>>,
    /// Descending.
    pub desc: bool,
    /// NULLs first (PostgreSQL's default: last when ascending, first when descending).
    pub nulls_first: bool,
}

/// What a row must satisfy.
#[derive(Debug, Clone)]
pub enum Condition<'c> {
    /// All of them.
    And(Vec<Condition<'c>>),
    /// Any of them.
    Or(Vec<Condition<'c>>),
    /// Not this.
    Not(Box<Condition<'c>>),
    /// A test of one column.
    Test(ColumnRef<'c>, Test),
    /// Whether a related row exists (`true`: `!inner`, `rel=not.is.null`)
    /// or not (`false`: `rel=is.null`).
    Exists(Box<Related<'c>>, bool),
}

impl Condition<'_> {
    /// Whether the condition looks into related tables.
    pub fn has_related(&self) -> bool {
        match self {
            Condition::And(cs) | Condition::Or(cs) => cs.iter().any(Condition::has_related),
            Condition::Not(c) => c.has_related(),
            Condition::Test(..) => false,
            Condition::Exists(..) => true,
        }
    }
}

/// How the rows of an embedded (child) relation join the rows of its parent.
#[derive(Debug, Clone)]
pub struct Related<'c> {
    /// The child table or view.
    pub table: &'c Table,
    /// The child's alias number in the statement.
    pub scope: u32,
    /// Join pairs (parent column, child column) of a direct key.
    pub on: Vec<(&'c Column, &'c Column)>,
    /// The junction of a many-to-many relationship.
    pub through: Option<Through<'c>>,
    /// What child rows must satisfy (embedded filters, nested `!inner`).
    pub filter: Option<Condition<'c>>,
}

/// The junction table of a many-to-many embed.
#[derive(Debug, Clone)]
pub struct Through<'c> {
    /// The junction table.
    pub table: &'c Table,
    /// Its alias number.
    pub scope: u32,
    /// Pairs (junction column, parent column).
    pub parent: Vec<(&'c Column, &'c Column)>,
    /// Pairs (junction column, child column).
    pub child: Vec<(&'c Column, &'c Column)>,
}

/// An embedded resource: related rows as an object, an array, or lifted keys.
#[derive(Debug, Clone)]
pub struct Embed<'c> {
    /// The output key (the alias, or the relation's name).
    pub key: String,
    /// How the child rows are found.
    pub related: Related<'c>,
    /// Object (to-one) or array (to-many).
    pub cardinality: Cardinality,
    /// `...rel(…)`: the child's keys are lifted into the parent object.
    pub spread: bool,
    /// `!inner`: parents without a child row are dropped.
    pub inner: bool,
    /// The child's output and order.
    pub shape: Shape<'c>,
    /// `rel.limit`.
    pub limit: Option<u64>,
    /// `rel.offset`.
    pub offset: u64,
}

/// One item of each output object.
#[derive(Debug, Clone)]
pub enum Output<'c> {
    /// A column value.
    Field(OutputField<'c>),
    /// Embedded related rows.
    Embed(Box<Embed<'c>>),
}

/// A test of one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// eq, neq, gt, gte, lt, lte
    Compare(Operator, SqlValue),
    /// eq(any), gt(all), …
    Quantified(Operator, Quantifier, Vec<SqlValue>),
    /// like/ilike (pattern with `%`), match/imatch (regex).
    Pattern(Operator, String),
    /// like(any), match(all), …
    QuantifiedPattern(Operator, Quantifier, Vec<String>),
    /// IN list.
    In(Vec<SqlValue>),
    /// IS NULL, IS TRUE, …
    Is(IsValue),
    /// IS DISTINCT FROM.
    IsDistinct(SqlValue),
    /// Full-text search: operator, language, query.
    Fts(FtsOperator, Option<String>, String),
    /// Array/range operators, operand as sent.
    Range(Operator, String),
}

/// Which columns are returned, and in what order.
#[derive(Debug, Clone)]
pub struct Shape<'c> {
    /// Items of each output object, in select order.
    pub items: Vec<Output<'c>>,
    /// ORDER BY.
    pub order: Vec<OrderBy<'c>>,
}

impl<'c> Shape<'c> {
    /// The output keys, spread embeds' keys lifted in place.
    pub fn keys(&self) -> Vec<&str> {
        let mut out = Vec::with_capacity(self.items.len());
        for item in &self.items {
            match item {
                Output::Field(f) => out.push(&*f.key),
                Output::Embed(e) if e.spread || e.shape.items.is_empty() => out.extend(e.shape.keys()),
                Output::Embed(e) => out.push(e.key.as_str()),
            }
        }
        out
    }

    /// Whether any item is an embed, or the order reads one.
    pub fn has_embeds(&self) -> bool {
        self.items.iter().any(|i| matches!(i, Output::Embed(_))) || self.order.iter().any(|o| o.via.is_some())
    }

    /// The embeds of this level.
    pub fn embeds(&self) -> impl Iterator<Item = &Embed<'c>> {
        self.items.iter().filter_map(|i| match i {
            Output::Embed(e) => Some(&**e),
            Output::Field(_) => None,
        })
    }
}

/// A read.
#[derive(Debug, Clone)]
pub struct ReadPlan<'c> {
    /// The table or view.
    pub table: &'c Table,
    /// Output and order.
    pub shape: Shape<'c>,
    /// WHERE.
    pub filter: Option<Condition<'c>>,
    /// LIMIT (already intersected with Range and capped).
    pub limit: Option<u64>,
    /// OFFSET.
    pub offset: u64,
    /// Prefer: count.
    pub count: Option<CountPref>,
    /// HEAD.
    pub headers_only: bool,
    /// Response type.
    pub accept: Accept,
    /// Preference-Applied.
    pub applied: Vec<String>,
}

/// ON CONFLICT handling.
#[derive(Debug, Clone)]
pub struct Conflict<'c> {
    /// The unique key the conflict is detected on.
    pub target: Vec<&'c Column>,
    /// Merge (update) or ignore.
    pub resolution: Resolution,
}

/// The statement part of a write.
#[derive(Debug, Clone)]
pub enum WriteOp<'c> {
    /// INSERT (or upsert with `conflict`). `None` values are DEFAULT.
    Insert {
        /// Columns written.
        columns: Vec<&'c Column>,
        /// One value per column per row.
        rows: Vec<Vec<Option<SqlValue>>>,
        /// Upsert.
        conflict: Option<Conflict<'c>>,
    },
    /// UPDATE … SET … WHERE.
    Update {
        /// Assignments (`None` is DEFAULT).
        set: Vec<(&'c Column, Option<SqlValue>)>,
        /// WHERE.
        filter: Option<Condition<'c>>,
    },
    /// DELETE … WHERE.
    Delete {
        /// WHERE.
        filter: Option<Condition<'c>>,
    },
}

/// What a write sends back.
#[derive(Debug, Clone)]
pub enum Returning<'c> {
    /// No body.
    Minimal,
    /// No body, a `Location` header (needs a primary key).
    Location,
    /// The affected rows, shaped.
    Representation(Shape<'c>),
}

/// A write.
#[derive(Debug, Clone)]
pub struct WritePlan<'c> {
    /// The table.
    pub table: &'c Table,
    /// Which verb.
    pub action: Action,
    /// The statement.
    pub op: WriteOp<'c>,
    /// What is returned.
    pub returning: Returning<'c>,
    /// Prefer: count.
    pub count: Option<CountPref>,
    /// Prefer: max-affected (with handling=strict).
    pub max_affected: Option<u64>,
    /// The policy's check: every written row must pass it after the write
    /// (else 403, rolled back).
    pub check: Option<Condition<'c>>,
    /// Upserts: rows an upsert would update must pass this (the update
    /// rule's row filter) before the write, else 403.
    pub upsert_guard: Option<Condition<'c>>,
    /// The answer when the check or the guard fails (401 or 403, 42501).
    pub denial: Option<ApiError>,
    /// End the transaction with a rollback.
    pub rollback: bool,
    /// Response type.
    pub accept: Accept,
    /// Preference-Applied.
    pub applied: Vec<String>,
}

/// The caller a plan is made for, and the policy that governs them.
#[derive(Clone, Copy)]
pub struct Access<'a> {
    /// Who is asking.
    pub identity: &'a Identity,
    /// What they may do.
    pub policy: &'a dyn Authorize,
}

impl std::fmt::Debug for Access<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").field("role", &self.identity.role).finish_non_exhaustive()
    }
}

impl Access<'_> {
    fn rule(&self, table: &Table, verb: Verb) -> Option<Arc<Rule>> {
        self.policy.rule(self.identity, table, verb)
    }

    fn visible(&self, table: &Table) -> bool {
        self.policy.visible(self.identity, table)
    }

    /// 42501, as PostgreSQL's insufficient privilege maps: 401 for the
    /// anonymous role (with a challenge), 403 otherwise.
    fn denied(&self, message: String) -> ApiError {
        if self.identity.anonymous {
            ApiError::new(StatusCode::UNAUTHORIZED, "42501", message).with_header(http::header::WWW_AUTHENTICATE, "Bearer")
        } else {
            ApiError::new(StatusCode::FORBIDDEN, "42501", message)
        }
    }
}

fn not_found_table(catalog: &Catalog, schema: &str, name: &str, access: Option<Access<'_>>) -> ApiError {
    let mut e = ApiError::new(StatusCode::NOT_FOUND, "PGRST205", format!("Could not find the table '{schema}.{name}' in the schema cache"));
    // Hints name only tables the caller can see.
    let visible = catalog.tables().iter().filter(|t| t.schema == schema && access.is_none_or(|a| a.visible(t))).map(|t| t.name.as_str());
    if let Some(c) = crate::catalog::closest(name, visible) {
        e = e.with_hint(format!("Perhaps you meant the table '{schema}.{c}'"));
    }
    e
}

/// `Allow` for a table: its verbs, less those the caller may not use.
fn allow_for(table: &Table, access: Option<Access<'_>>) -> String {
    let all = table.allow_header();
    let Some(a) = access else { return all };
    let may = |v: Verb| a.rule(table, v).is_some();
    all.split(',')
        .filter(|m| match *m {
            "GET" | "HEAD" => may(Verb::Read),
            "POST" => may(Verb::Create),
            "PUT" => may(Verb::Create) && may(Verb::Update),
            "PATCH" => may(Verb::Update),
            "DELETE" => may(Verb::Delete),
            _ => true,
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A rule's row filter as a condition on `table` (hidden columns allowed);
/// a placeholder the caller has no value for matches no row.
fn rule_condition<'c>(catalog: &'c Catalog, table: &'c Table, identity: &Identity, f: &RowFilter) -> Result<Condition<'c>, ApiError> {
    let Some(bound) = f.bound(identity) else { return Ok(Condition::Or(Vec::new())) };
    let (filters, trees) = &*bound;
    let scopes = Cell::new(0);
    let seen = RefCell::new(Vec::new());
    let r = Resolver { catalog, table, params: &[], scopes: &scopes, seen: &seen, path: Vec::new(), access: None, read: None };
    // The usual row filter is one comparison: no conjunction around it.
    if let ([f], []) = (filters.as_slice(), trees.as_slice()) {
        return r.filter(f, &[]);
    }
    let mut all = Vec::with_capacity(filters.len() + trees.len());
    for f in filters {
        all.push(r.filter(f, &[])?);
    }
    for t in trees {
        all.push(r.tree(t, &[])?);
    }
    Ok(Condition::And(all))
}

fn and<'c>(a: Option<Condition<'c>>, b: Option<Condition<'c>>) -> Option<Condition<'c>> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(Condition::And(mut v)), Some(b)) => {
            v.push(b);
            Some(Condition::And(v))
        }
        (Some(a), Some(b)) => Some(Condition::And(vec![a, b])),
    }
}

fn embed_not_in_select(path: &[String]) -> ApiError {
    let name = path.join(".");
    ApiError::new(StatusCode::BAD_REQUEST, "PGRST108", format!("'{name}' is not an embedded resource in this request"))
        .with_hint(format!("Verify that '{name}' is included in the 'select' query parameter."))
}

/// Plans a request against a catalog.
pub fn plan<'c>(req: &ApiRequest, catalog: &'c Catalog, opts: &PlanOptions) -> Result<Plan<'c>, ApiError> {
    plan_for(req, catalog, opts, None)
}

/// Plans a request for a caller under a policy ([`Access`]); `None` plans
/// with no policy (everything allowed).
pub fn plan_for<'c>(req: &ApiRequest, catalog: &'c Catalog, opts: &PlanOptions, access: Option<Access<'_>>) -> Result<Plan<'c>, ApiError> {
    let schema = match &req.profile {
        Some(p) if catalog.schemas().iter().any(|s| s == p) => p.as_str(),
        Some(_) => {
            return Err(ApiError::new(StatusCode::NOT_ACCEPTABLE, "PGRST106", "Invalid schema")
                .with_details(format!("The schema must be one of the following: {}", catalog.schemas().join(", "))))
        }
        None => catalog.default_schema(),
    };
    let name = match &req.target {
        Target::Root => return Ok(Plan::Root),
        Target::Rpc(f) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "PGRST202",
                format!("Could not find the function {schema}.{f} in the schema cache"),
            ))
        }
        Target::Table(t) => t,
    };
    let table = catalog.table(schema, name).ok_or_else(|| not_found_table(catalog, schema, name, access))?;
    // The verbs this request needs, and their rules.
    let merge = req.action == Action::Insert && req.prefer.resolution == Some(Resolution::MergeDuplicates);
    let verbs: &[Verb] = match req.action {
        Action::Read { .. } => &[Verb::Read],
        Action::Insert if merge => &[Verb::Create, Verb::Update],
        Action::Insert => &[Verb::Create],
        Action::Update => &[Verb::Update],
        Action::Delete => &[Verb::Delete],
        Action::Put => &[Verb::Create, Verb::Update],
        Action::Options => &[],
    };
    let mut rules: Vec<(Verb, Arc<Rule>)> = Vec::with_capacity(verbs.len());
    if let Some(a) = access {
        let mut allowed = true;
        for &v in verbs {
            match a.rule(table, v) {
                Some(rule) => rules.push((v, rule)),
                None => {
                    allowed = false;
                    break;
                }
            }
        }
        // A table the caller may do nothing with does not exist for them;
        // one with a rule for every verb needed is visible without asking.
        if (!allowed || verbs.is_empty()) && !a.visible(table) {
            return Err(not_found_table(catalog, schema, name, access));
        }
        if !allowed {
            return Err(a.denied(format!("permission denied for table {}", table.name)));
        }
    }
    if req.action == Action::Options {
        return Ok(Plan::Options(allow_for(table, access)));
    }
    let rule_of = |v: Verb| rules.iter().find(|(x, _)| *x == v).map(|(_, r)| Arc::clone(r));
    // Reading (select, filters, order, the representation) goes by the read rule.
    let read = access.map(|a| {
        rule_of(Verb::Read).or_else(|| a.rule(table, Verb::Read)).unwrap_or_else(|| Arc::new(Rule::new().columns(Vec::<String>::new())))
    });
    let scopes = Cell::new(0);
    let seen = RefCell::new(Vec::new());
    let resolver =
        Resolver { catalog, table, params: &req.embed_params, scopes: &scopes, seen: &seen, path: Vec::new(), access, read: read.clone() };
    // The select is resolved for every verb: filters may name its embeds.
    let (shape, mut filter) = resolver.level(&req.select, &req.order, &req.filters, &req.logic)?;
    // The verb's row filter narrows what the request sees or touches.
    let row_verb = match req.action {
        Action::Read { .. } => Some(Verb::Read),
        Action::Update => Some(Verb::Update),
        Action::Delete => Some(Verb::Delete),
        _ => None,
    };
    if let (Some(a), Some(v)) = (access, row_verb) {
        if let Some(f) = rule_of(v).as_ref().and_then(|r| r.filter.as_ref()) {
            filter = and(filter, Some(rule_condition(catalog, table, a.identity, f)?));
        }
    }
    // A write that returns its rows reads them, as in PostgreSQL: rows the
    // caller may not read are not updated or deleted, and the rows an insert
    // or upsert writes (or merges into) must be readable, or it is refused.
    let writes_back = !matches!(req.action, Action::Read { .. }) && req.prefer.return_ == Some(ReturnPref::Representation);
    let read_filter = match (access, read.as_ref().and_then(|r| r.filter.as_ref())) {
        (Some(a), Some(f)) if writes_back => Some(rule_condition(catalog, table, a.identity, f)?),
        _ => None,
    };
    if matches!(req.action, Action::Update | Action::Delete) {
        filter = and(filter, read_filter.clone());
    }
    if let Some(p) = req.embed_params.iter().find(|p| !seen.borrow().contains(&p.path)) {
        return Err(embed_not_in_select(&p.path));
    }
    let mut applied = Vec::new();
    let count = req.prefer.count;
    if let Some(c) = count {
        applied.push(
            match c {
                CountPref::Exact => "count=exact",
                CountPref::Planned => "count=planned",
                CountPref::Estimated => "count=estimated",
            }
            .to_owned(),
        );
    }

    match req.action {
        Action::Read { headers_only } => {
            let cap = match (opts.max_rows, read.as_ref().and_then(|r| r.max_rows)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let (limit, offset) = read_window(req, cap);
            Ok(Plan::Read(ReadPlan { table, shape, filter, limit, offset, count, headers_only, accept: req.accept, applied }))
        }
        Action::Options => Ok(Plan::Options(table.allow_header())),
        Action::Insert | Action::Update | Action::Delete | Action::Put => {
            let writable = match req.action {
                Action::Insert => table.insertable,
                Action::Update => table.updatable,
                Action::Delete => table.deletable,
                _ => table.insertable && table.updatable,
            };
            if !writable {
                let what = if table.kind == TableKind::View { "view" } else { "table" };
                return Err(ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "PGRST117",
                    format!("Unsupported HTTP method: {} on {what} '{}'", method_name(req.action), table.name),
                )
                .with_details(format!("The {what} '{}' does not accept this method", table.name))
                .with_header(http::header::ALLOW, table.allow_header()));
            }
            let returning = match req.prefer.return_ {
                Some(ReturnPref::Representation) => {
                    if let Some(a) = access {
                        if a.rule(table, Verb::Read).is_none() {
                            return Err(a.denied(format!("permission denied for table {} (reading the written rows)", table.name)));
                        }
                    }
                    applied.insert(0, "return=representation".to_owned());
                    Returning::Representation(shape)
                }
                Some(ReturnPref::HeadersOnly) => {
                    applied.insert(0, "return=headers-only".to_owned());
                    if table.primary_key.is_empty() {
                        Returning::Minimal
                    } else {
                        Returning::Location
                    }
                }
                Some(ReturnPref::Minimal) => {
                    applied.insert(0, "return=minimal".to_owned());
                    Returning::Minimal
                }
                None => Returning::Minimal,
            };
            let op = match req.action {
                Action::Insert => resolver.insert(req, &mut applied, &rules)?,
                Action::Update => resolver.update(req, filter, &mut applied, &rules)?,
                Action::Delete => WriteOp::Delete { filter },
                _ => resolver.put(req, &rules)?,
            };
            // Checks on the written rows, and the rows an upsert may update.
            if access.is_some() && table.primary_key.is_empty() && rules.iter().any(|(_, r)| r.check.is_some()) {
                tracing::error!(table = %table.name, "a policy check on a table without a primary key cannot be enforced");
                return Err(ApiError::internal());
            }
            let mut check = None;
            let mut upsert_guard = None;
            if let Some(a) = access {
                for (v, rule) in &rules {
                    if let (Verb::Create | Verb::Update, Some(f)) = (v, &rule.check) {
                        check = and(check, Some(rule_condition(catalog, table, a.identity, f)?));
                    }
                }
                let upsert = matches!(&op, WriteOp::Insert { conflict: Some(c), .. } if c.resolution == Resolution::MergeDuplicates);
                if upsert {
                    if let Some(f) = rule_of(Verb::Update).as_ref().and_then(|r| r.filter.as_ref()) {
                        upsert_guard = Some(rule_condition(catalog, table, a.identity, f)?);
                    }
                    // The update half writes the create rule's presets too: on a
                    // row that exists, a preset the update rule does not let the
                    // caller write must already hold its value, or it is refused.
                    if let (Some(create), Some(update)) = (rule_of(Verb::Create), rule_of(Verb::Update)) {
                        for (name, template) in create.set.iter().filter(|(n, _)| !update.allows_column(n)) {
                            let column = table.column(name).ok_or_else(ApiError::internal)?;
                            // A missing value was refused when the presets were applied.
                            let Some(text) = policy::substitute(template, a.identity) else { continue };
                            let held = Test::Compare(Operator::Eq, coerce_text(column.ty, &text)?);
                            upsert_guard =
                                and(upsert_guard, Some(Condition::Test(ColumnRef { table, column, json_path: Vec::new() }, held)));
                        }
                    }
                }
                if let Some(readable) = read_filter.filter(|_| matches!(req.action, Action::Insert | Action::Put)) {
                    if table.primary_key.is_empty() {
                        return Err(a.denied(format!("permission denied for table {} (reading the written rows)", table.name)));
                    }
                    if upsert {
                        upsert_guard = and(upsert_guard, Some(readable.clone()));
                    }
                    check = and(check, Some(readable));
                }
            }
            let rollback = match (opts.tx_end, req.prefer.tx) {
                (TxEnd::Commit, _) => false,
                (TxEnd::Rollback, _) => true,
                (TxEnd::CommitAllowOverride, p) | (TxEnd::RollbackAllowOverride, p) => {
                    let rollback = match p {
                        Some(TxPref::Rollback) => true,
                        Some(TxPref::Commit) => false,
                        None => opts.tx_end == TxEnd::RollbackAllowOverride,
                    };
                    if p.is_some() {
                        applied.push(if rollback { "tx=rollback" } else { "tx=commit" }.to_owned());
                    }
                    rollback
                }
            };
            let mut max_affected = None;
            if req.prefer.strict() {
                applied.push("handling=strict".to_owned());
                if matches!(req.action, Action::Update | Action::Delete) {
                    if let Some(n) = req.prefer.max_affected {
                        applied.push(format!("max-affected={n}"));
                        max_affected = Some(n);
                    }
                }
            }
            Ok(Plan::Write(Box::new(WritePlan {
                table,
                action: req.action,
                op,
                returning,
                count,
                max_affected,
                denial: access
                    .filter(|_| check.is_some() || upsert_guard.is_some())
                    .map(|a| a.denied(format!("new row violates row-level security policy for table \"{}\"", table.name))),
                check,
                upsert_guard,
                rollback,
                accept: req.accept,
                applied,
            })))
        }
    }
}

fn method_name(a: Action) -> &'static str {
    match a {
        Action::Read { headers_only: false } => "GET",
        Action::Read { headers_only: true } => "HEAD",
        Action::Insert => "POST",
        Action::Update => "PATCH",
        Action::Delete => "DELETE",
        Action::Put => "PUT",
        Action::Options => "OPTIONS",
    }
}

/// The largest LIMIT or OFFSET every database accepts (a signed 64-bit integer).
const MAX_WINDOW: u64 = i64::MAX as u64;

/// limit/offset intersected with the Range header and capped by max rows.
/// All arithmetic saturates: any u64 a client sends is safe here.
fn read_window(req: &ApiRequest, max_rows: Option<u64>) -> (Option<u64>, u64) {
    let mut lo = req.offset.unwrap_or(0);
    // Inclusive upper bound; None is open-ended.
    let mut hi: Option<u64> = req.limit.filter(|&l| l > 0).map(|l| lo.saturating_add(l - 1));
    let mut empty = req.limit == Some(0);
    if let Some((a, b)) = req.range {
        lo = lo.max(a);
        hi = match (hi, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (None, Some(y)) => Some(y),
            (h, None) => h,
        };
        if hi.is_some_and(|h| h < lo) {
            empty = true;
        }
    }
    let mut limit = if empty { Some(0) } else { hi.map(|h| (h - lo).saturating_add(1)) };
    if let Some(m) = max_rows {
        limit = Some(limit.map_or(m, |l| l.min(m)));
    }
    (limit.map(|l| l.min(MAX_WINDOW)), lo.min(MAX_WINDOW))
}

/// Resolves one level of a request (the top table, or one embed) against the catalog.
struct Resolver<'c, 'r> {
    catalog: &'c Catalog,
    table: &'c Table,
    /// Every embed-scoped parameter of the request.
    params: &'r [Scoped<EmbedParam>],
    /// The last alias number handed out (0 is the top level).
    scopes: &'r Cell<u32>,
    /// Embed paths present in the select, for PGRST108.
    seen: &'r RefCell<Vec<Vec<String>>>,
    /// This level's embed path (empty at the top).
    path: Vec<String>,
    /// The caller and policy, when there is one.
    access: Option<Access<'r>>,
    /// This level's read rule (its readable columns); `None`: no policy.
    read: Option<Arc<Rule>>,
}

/// The PostgREST-style relationship description of PGRST201's details.
fn describe(catalog: &Catalog, r: &Relationship) -> serde_json::Value {
    let origin = catalog.table_at(r.origin);
    let target = catalog.table_at(r.target);
    let relationship = match &r.junction {
        Some(j) => {
            let cols = |pairs: &[(String, String)]| pairs.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>().join(",");
            format!(
                "{} using {}({}) and {}({})",
                catalog.table_at(j.table).name,
                j.origin_constraint,
                cols(&j.origin_columns),
                j.target_constraint,
                cols(&j.target_columns)
            )
        }
        None => {
            let o: Vec<&str> = r.columns.iter().map(|(a, _)| a.as_str()).collect();
            let t: Vec<&str> = r.columns.iter().map(|(_, b)| b.as_str()).collect();
            format!("{} using {}({}) and {}({})", r.constraint, origin.name, o.join(", "), target.name, t.join(", "))
        }
    };
    serde_json::json!({
        "cardinality": r.cardinality.label(),
        "embedding": format!("{} with {}", origin.name, target.name),
        "relationship": relationship,
    })
}

impl<'c> Resolver<'c, '_> {
    /// A readable column; one the caller may not read does not exist.
    fn column(&self, name: &str) -> Result<&'c Column, ApiError> {
        self.table.column(name).filter(|c| self.readable(c)).ok_or_else(|| ApiError::unknown_column(&self.table.name, name))
    }

    fn readable(&self, c: &Column) -> bool {
        self.read.as_ref().is_none_or(|r| r.allows_column(&c.name))
    }

    fn field(&self, f: &Field) -> Result<ColumnRef<'c>, ApiError> {
        Ok(ColumnRef { table: self.table, column: self.column(&f.name)?, json_path: f.json_path.clone() })
    }

    fn next_scope(&self) -> u32 {
        self.scopes.set(self.scopes.get() + 1);
        self.scopes.get()
    }

    /// One level: its output shape and its filter (with `!inner` and
    /// `rel=is.null` turned into EXISTS tests on its embeds).
    fn level(
        &self,
        select: &[SelectItem],
        order: &[OrderTerm],
        filters: &[Filter],
        trees: &[LogicTree],
    ) -> Result<(Shape<'c>, Option<Condition<'c>>), ApiError> {
        let mut items = Vec::with_capacity(select.len());
        for item in select {
            match item {
                SelectItem::Star => {
                    for column in self.table.columns.iter().filter(|c| self.readable(c)) {
                        items.push(Output::Field(OutputField {
                            key: Cow::Borrowed(column.name.as_str()),
                            source: ColumnRef { table: self.table, column, json_path: Vec::new() },
                            cast: None,
                        }));
                    }
                }
                SelectItem::Field { field, alias, cast, aggregate } => {
                    if aggregate.is_some() {
                        return Err(ApiError::new(StatusCode::BAD_REQUEST, "PGRST123", "Use of aggregate functions is not allowed"));
                    }
                    let source = self.field(field)?;
                    let cast = match cast {
                        None => None,
                        Some(c) => Some(ColumnType::from_cast(c).ok_or_else(|| {
                            ApiError::new(StatusCode::BAD_REQUEST, "42704", format!("type \"{c}\" does not exist"))
                                .with_hint("Supported casts: text, integer, bigint, numeric, real, double, boolean, json, jsonb, date, time, timestamp, timestamptz, uuid")
                        })?),
                    };
                    items.push(Output::Field(OutputField {
                        key: Cow::Owned(alias.clone().unwrap_or_else(|| field.output_name())),
                        source,
                        cast,
                    }));
                }
                SelectItem::Embed(e) => items.push(Output::Embed(Box::new(self.embed(e)?))),
            }
        }
        let embeds: Vec<&Embed<'c>> = items
            .iter()
            .filter_map(|i| match i {
                Output::Embed(e) => Some(&**e),
                Output::Field(_) => None,
            })
            .collect();
        let mut all = Vec::with_capacity(filters.len() + trees.len());
        for f in filters {
            all.push(self.filter(f, &embeds)?);
        }
        for t in trees {
            all.push(self.tree(t, &embeds)?);
        }
        for e in &embeds {
            if e.inner {
                all.push(Condition::Exists(Box::new(e.related.clone()), true));
            }
        }
        let filter = match all.len() {
            0 => None,
            1 => all.pop(),
            _ => Some(Condition::And(all)),
        };
        let mut out_order = Vec::with_capacity(order.len());
        for term in order {
            let desc = term.direction == Some(Direction::Desc);
            let nulls_first = match term.nulls {
                Some(Nulls::First) => true,
                Some(Nulls::Last) => false,
                None => desc,
            };
            let (source, via) = match &term.relation {
                None => (self.field(&term.field)?, None),
                Some(rel) => {
                    let mut path = self.path.clone();
                    path.push(rel.clone());
                    let e = embeds.iter().find(|e| &e.key == rel).ok_or_else(|| embed_not_in_select(&path))?;
                    if e.cardinality.to_many() {
                        return Err(ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "PGRST118",
                            format!("A related order on '{rel}' is not possible"),
                        )
                        .with_details(format!("'{}' and '{rel}' do not form a many-to-one or one-to-one relationship", self.table.name)));
                    }
                    let t = e.related.table;
                    let readable =
                        |c: &&Column| self.access.is_none_or(|a| a.rule(t, Verb::Read).is_some_and(|r| r.allows_column(&c.name)));
                    let column =
                        t.column(&term.field.name).filter(readable).ok_or_else(|| ApiError::unknown_column(&t.name, &term.field.name))?;
                    (ColumnRef { table: t, column, json_path: term.field.json_path.clone() }, Some(Box::new(e.related.clone())))
                }
            };
            out_order.push(OrderBy { source, via, desc, nulls_first });
        }
        Ok((Shape { items, order: out_order }, filter))
    }

    /// The relationship an embed names, or PGRST200 / PGRST201.
    fn relationship(&self, e: &EmbedItem) -> Result<&'c Relationship, ApiError> {
        let catalog = self.catalog;
        // Relationships the caller cannot follow do not exist for them: the
        // related table and every column the join reads must be readable
        // (a join on a hidden column would reveal its values), and a
        // junction must have no row filter (the join could not apply it;
        // embedding the junction itself does).
        let own = |c: &String| self.read.as_ref().is_none_or(|r| r.allows_column(c));
        let readable = |i: usize, cols: Vec<&String>, junction: bool| match self.access {
            None => true,
            Some(a) => a
                .rule(catalog.table_at(i), Verb::Read)
                .is_some_and(|r| cols.iter().all(|c| r.allows_column(c)) && !(junction && r.filter.is_some())),
        };
        let all: Vec<&'c Relationship> = catalog
            .relationships(self.table)
            .iter()
            .filter(|r| match &r.junction {
                None => r.columns.iter().all(|(o, _)| own(o)) && readable(r.target, r.columns.iter().map(|(_, t)| t).collect(), false),
                Some(j) => {
                    j.origin_columns.iter().all(|(_, o)| own(o))
                        && readable(r.target, j.target_columns.iter().map(|(_, t)| t).collect(), false)
                        && readable(j.table, j.origin_columns.iter().chain(&j.target_columns).map(|(c, _)| c).collect(), true)
                }
            })
            .collect();
        // By the related table's name (a self-reference by name means the
        // rows pointing here, as in PostgREST); else by a foreign key's
        // column or constraint name on this table (`director_id(*)`).
        let mut found: Vec<&'c Relationship> =
            all.iter().copied().filter(|r| catalog.table_at(r.target).name == e.relation && !(r.is_self() && r.forward)).collect();
        if found.is_empty() {
            found = all.iter().copied().filter(|r| r.named_by_key(&e.relation)).collect();
        }
        if let Some(hint) = &e.hint {
            found.retain(|r| r.matches_hint(hint));
        }
        match found.as_slice() {
            [one] => Ok(one),
            [] => {
                let using = e.hint.as_ref().map(|h| format!(" using the hint '{h}'")).unwrap_or_default();
                let mut err = ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "PGRST200",
                    format!("Could not find a relationship between '{}' and '{}' in the schema cache", self.table.name, e.relation),
                )
                .with_details(format!(
                    "Searched for a foreign key relationship between '{}' and '{}'{using} in the schema '{}', but no matches were found.",
                    self.table.name, e.relation, self.table.schema
                ));
                let names: Vec<&str> = all.iter().map(|r| catalog.table_at(r.target).name.as_str()).collect();
                if let Some(c) = crate::catalog::closest(&e.relation, names.into_iter()) {
                    err = err.with_hint(format!("Perhaps you meant '{c}' instead of '{}'.", e.relation));
                }
                Err(err)
            }
            many => {
                let options: Vec<String> = many.iter().map(|r| format!("'{}!{}'", e.relation, r.constraint)).collect();
                Err(ApiError::new(
                    StatusCode::MULTIPLE_CHOICES,
                    "PGRST201",
                    format!("Could not embed because more than one relationship was found for '{}' and '{}'", self.table.name, e.relation),
                )
                .with_details_json(serde_json::Value::Array(many.iter().map(|r| describe(catalog, r)).collect()))
                .with_hint(format!(
                    "Try changing '{}' to one of the following: {}. Find the desired relationship in the 'details' key.",
                    e.relation,
                    options.join(", ")
                )))
            }
        }
    }

    /// Resolves an embed and everything scoped to it.
    fn embed(&self, e: &EmbedItem) -> Result<Embed<'c>, ApiError> {
        let rel = self.relationship(e)?;
        let child = self.catalog.table_at(rel.target);
        let col = |t: &'c Table, name: &str| t.column(name).ok_or_else(|| ApiError::unknown_column(&t.name, name));
        let scope = self.next_scope();
        let mut on = Vec::with_capacity(rel.columns.len());
        for (p, c) in &rel.columns {
            on.push((col(self.table, p)?, col(child, c)?));
        }
        let through = match &rel.junction {
            Some(j) => {
                let jt = self.catalog.table_at(j.table);
                let parent =
                    j.origin_columns.iter().map(|(a, b)| Ok((col(jt, a)?, col(self.table, b)?))).collect::<Result<_, ApiError>>()?;
                let childs = j.target_columns.iter().map(|(a, b)| Ok((col(jt, a)?, col(child, b)?))).collect::<Result<_, ApiError>>()?;
                Some(Through { table: jt, scope: self.next_scope(), parent, child: childs })
            }
            None => None,
        };
        let key = e.alias.clone().unwrap_or_else(|| e.relation.clone());
        let mut path = self.path.clone();
        path.push(key.clone());
        self.seen.borrow_mut().push(path.clone());
        let (mut filters, mut trees, mut order, mut limit, mut offset) = (Vec::new(), Vec::new(), Vec::new(), None, 0);
        for p in self.params.iter().filter(|p| p.path == path) {
            match &p.item {
                EmbedParam::Filter(f) => filters.push(f.clone()),
                EmbedParam::Logic(t) => trees.push(t.clone()),
                EmbedParam::Order(o) => order.clone_from(o),
                EmbedParam::Limit(n) => limit = Some(*n),
                EmbedParam::Offset(n) => offset = *n,
            }
        }
        let read = self.access.and_then(|a| a.rule(child, Verb::Read));
        let inner = Resolver {
            catalog: self.catalog,
            table: child,
            params: self.params,
            scopes: self.scopes,
            seen: self.seen,
            path,
            access: self.access,
            read: read.clone(),
        };
        let (shape, mut filter) = inner.level(&e.select, &order, &filters, &trees)?;
        if let (Some(a), Some(f)) = (self.access, read.as_ref().and_then(|r| r.filter.as_ref())) {
            // The embedded table's own row filter, for the same caller.
            filter = and(filter, Some(rule_condition(self.catalog, child, a.identity, f)?));
        }
        Ok(Embed {
            key,
            related: Related { table: child, scope, on, through, filter },
            cardinality: rel.cardinality,
            spread: e.spread,
            inner: e.inner,
            shape,
            limit,
            offset,
        })
    }

    fn tree(&self, t: &LogicTree, embeds: &[&Embed<'c>]) -> Result<Condition<'c>, ApiError> {
        let children = t
            .children
            .iter()
            .map(|n| match n {
                LogicNode::Filter(f) => self.filter(f, embeds),
                LogicNode::Tree(t) => self.tree(t, embeds),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let c = match t.op {
            LogicOp::And => Condition::And(children),
            LogicOp::Or => Condition::Or(children),
        };
        Ok(if t.negate { Condition::Not(Box::new(c)) } else { c })
    }

    /// A filter on an embed's name: `rel=is.null` (no related row) or
    /// `rel=not.is.null` (some related row); other operators are PGRST120.
    fn embed_filter(&self, f: &Filter, e: &Embed<'c>) -> Result<Condition<'c>, ApiError> {
        let exists = match &f.operation {
            Operation::Is(IsValue::Null) => f.negate,
            Operation::Is(IsValue::NotNull) => !f.negate,
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "PGRST120",
                    format!("Could not find the filter '{}' on the embedded resource '{}'", f.field.name, e.key),
                )
                .with_details("Only is.null or not.is.null filters are allowed on embedded resources"));
            }
        };
        Ok(Condition::Exists(Box::new(e.related.clone()), exists))
    }

    fn filter(&self, f: &Filter, embeds: &[&Embed<'c>]) -> Result<Condition<'c>, ApiError> {
        if f.field.json_path.is_empty() {
            if let Some(e) = embeds.iter().find(|e| e.key == f.field.name) {
                return self.embed_filter(f, e);
            }
        }
        let source = self.field(&f.field)?;
        let ty = source.value_type();
        let value = |v: &str| -> Result<SqlValue, ApiError> {
            if ty == ColumnType::Json {
                // A JSON operand: valid JSON as is, anything else as a JSON string.
                return Ok(SqlValue::Json(match serde_json::from_str::<serde_json::Value>(v) {
                    Ok(_) => v.to_owned(),
                    Err(_) => serde_json::Value::String(v.to_owned()).to_string(),
                }));
            }
            coerce_text(ty, v)
        };
        let test = match &f.operation {
            Operation::Compare(op @ (Operator::Like | Operator::ILike), v) => Test::Pattern(*op, v.replace('*', "%")),
            Operation::Compare(op @ (Operator::Match | Operator::IMatch), v) => Test::Pattern(*op, v.clone()),
            Operation::Compare(op @ (Operator::Eq | Operator::Neq | Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte), v) => {
                Test::Compare(*op, value(v)?)
            }
            Operation::Compare(op, v) => Test::Range(*op, v.clone()),
            Operation::Quantified(op @ (Operator::Like | Operator::ILike), q, vs) => {
                Test::QuantifiedPattern(*op, *q, vs.iter().map(|v| v.replace('*', "%")).collect())
            }
            Operation::Quantified(op @ (Operator::Match | Operator::IMatch), q, vs) => Test::QuantifiedPattern(*op, *q, vs.clone()),
            Operation::Quantified(op, q, vs) => Test::Quantified(*op, *q, vs.iter().map(|v| value(v)).collect::<Result<_, _>>()?),
            Operation::In(vs) => Test::In(vs.iter().map(|v| value(v)).collect::<Result<_, _>>()?),
            Operation::Is(v) => Test::Is(*v),
            Operation::IsDistinct(v) => Test::IsDistinct(value(v)?),
            Operation::Fts(op, lang, q) => Test::Fts(*op, lang.clone(), q.clone()),
        };
        let c = Condition::Test(source, test);
        Ok(if f.negate { Condition::Not(Box::new(c)) } else { c })
    }

    fn payload<'r>(&self, req: &'r ApiRequest) -> Result<&'r Payload, ApiError> {
        req.payload.as_ref().ok_or_else(|| ApiError::invalid_body("Empty or invalid json"))
    }

    /// The writable columns of a write: `columns=` or the payload's keys.
    /// Under a policy, a column no rule of the write allows is 403 — or,
    /// when the caller cannot read it either, unknown (PGRST204).
    fn write_columns(&self, req: &ApiRequest, payload: &Payload, rules: &[(Verb, Arc<Rule>)]) -> Result<Vec<&'c Column>, ApiError> {
        let names = match &req.columns {
            Some(c) => c.clone(),
            None => payload.keys(),
        };
        let mut cols = Vec::with_capacity(names.len());
        for n in &names {
            let c = self.table.column(n).ok_or_else(|| ApiError::unknown_payload_column(&self.table.name, n))?;
            if let Some(a) = self.access {
                let writable = rules.iter().filter(|(v, _)| matches!(v, Verb::Create | Verb::Update)).all(|(_, r)| r.allows_column(n));
                if !writable {
                    if !self.readable(c) {
                        return Err(ApiError::unknown_payload_column(&self.table.name, n));
                    }
                    return Err(a.denied(format!("permission denied for column {n} of table {}", self.table.name)));
                }
            }
            if c.generated {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "428C9",
                    format!("cannot insert a non-DEFAULT value into column \"{n}\""),
                )
                .with_details(format!("Column \"{n}\" is a generated column.")));
            }
            if !cols.iter().any(|x: &&Column| x.name == c.name) {
                cols.push(c);
            }
        }
        Ok(cols)
    }

    /// Applies the create rule's `set` presets: each column gets its
    /// placeholder value in every row, whatever the request sent.
    fn preset(
        &self,
        rules: &[(Verb, Arc<Rule>)],
        columns: &mut Vec<&'c Column>,
        rows: &mut [Vec<Option<SqlValue>>],
    ) -> Result<(), ApiError> {
        let Some(a) = self.access else { return Ok(()) };
        for (_, rule) in rules.iter().filter(|(v, _)| *v == Verb::Create) {
            for (name, template) in &rule.set {
                let col = self.table.column(name).ok_or_else(ApiError::internal)?;
                let text = policy::substitute(template, a.identity).ok_or_else(|| {
                    a.denied(format!(
                        "permission denied for table {}: a value the policy sets is missing from the credentials",
                        self.table.name
                    ))
                })?;
                let value = coerce_text(col.ty, &text)?;
                match columns.iter().position(|c| c.name == col.name) {
                    Some(i) => rows.iter_mut().for_each(|r| r[i] = Some(value.clone())),
                    None => {
                        columns.push(col);
                        rows.iter_mut().for_each(|r| r.push(Some(value.clone())));
                    }
                }
            }
        }
        Ok(())
    }

    fn row_values(&self, cols: &[&'c Column], payload: &Payload, missing: Missing) -> Result<Vec<Vec<Option<SqlValue>>>, ApiError> {
        payload
            .rows
            .iter()
            .map(|row| {
                cols.iter()
                    .map(|c| match row.get(&c.name) {
                        Some(v) => coerce_json(c.ty, v).map(Some),
                        None if missing == Missing::Default => Ok(None),
                        None => Ok(Some(SqlValue::Null(c.ty))),
                    })
                    .collect()
            })
            .collect()
    }

    fn insert(&self, req: &ApiRequest, applied: &mut Vec<String>, rules: &[(Verb, Arc<Rule>)]) -> Result<WriteOp<'c>, ApiError> {
        let payload = self.payload(req)?;
        let mut columns = self.write_columns(req, payload, rules)?;
        let missing = req.prefer.missing.unwrap_or(Missing::Null);
        if req.prefer.missing == Some(Missing::Default) {
            applied.push("missing=default".to_owned());
        }
        let mut rows = self.row_values(&columns, payload, missing)?;
        self.preset(rules, &mut columns, &mut rows)?;
        let conflict = match req.prefer.resolution {
            Some(resolution) => {
                let target: Vec<&'c Column> = match &req.on_conflict {
                    Some(names) => names.iter().map(|n| self.column(n)).collect::<Result<_, _>>()?,
                    None => self.table.primary_key.iter().map(|n| self.column(n)).collect::<Result<_, _>>()?,
                };
                if target.is_empty() {
                    None
                } else {
                    let names: Vec<String> = target.iter().map(|c| c.name.clone()).collect();
                    if !self.table.is_unique_key(&names) {
                        return Err(ApiError::new(
                            StatusCode::BAD_REQUEST,
                            "42P10",
                            "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                        )
                        .with_hint(format!("on_conflict=({}) must name the primary key or a unique constraint", names.join(","))));
                    }
                    applied.push(
                        match resolution {
                            Resolution::MergeDuplicates => "resolution=merge-duplicates",
                            Resolution::IgnoreDuplicates => "resolution=ignore-duplicates",
                        }
                        .to_owned(),
                    );
                    Some(Conflict { target, resolution })
                }
            }
            None => None,
        };
        Ok(WriteOp::Insert { columns, rows, conflict })
    }

    fn update(
        &self,
        req: &ApiRequest,
        filter: Option<Condition<'c>>,
        applied: &mut Vec<String>,
        rules: &[(Verb, Arc<Rule>)],
    ) -> Result<WriteOp<'c>, ApiError> {
        let payload = self.payload(req)?;
        if payload.is_array && payload.rows.len() != 1 {
            return Err(ApiError::invalid_body("PATCH takes a single JSON object")
                .with_hint("Send one object; it is applied to every matching row"));
        }
        let columns = self.write_columns(req, payload, rules)?;
        let missing = req.prefer.missing.unwrap_or(Missing::Null);
        if req.prefer.missing == Some(Missing::Default) {
            applied.push("missing=default".to_owned());
        }
        let mut rows = self.row_values(&columns, payload, missing)?;
        let values = rows.pop().unwrap_or_default();
        Ok(WriteOp::Update { set: columns.into_iter().zip(values).collect(), filter })
    }

    fn put(&self, req: &ApiRequest, rules: &[(Verb, Arc<Rule>)]) -> Result<WriteOp<'c>, ApiError> {
        let pk_error = || {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "PGRST105",
                "Filters must include all and only primary key columns with 'eq' operators",
            )
        };
        let pk = &self.table.primary_key;
        if pk.is_empty() || !req.logic.is_empty() || req.filters.len() != pk.len() {
            return Err(pk_error());
        }
        if req.limit.is_some() || req.offset.is_some() {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "PGRST114", "limit/offset querystring parameters are not allowed for PUT"));
        }
        let mut url_values = Vec::with_capacity(pk.len());
        for name in pk {
            let f = req.filters.iter().find(|f| &f.field.name == name && f.field.json_path.is_empty()).ok_or_else(pk_error)?;
            let Operation::Compare(Operator::Eq, v) = &f.operation else { return Err(pk_error()) };
            if f.negate {
                return Err(pk_error());
            }
            let col = self.column(name)?;
            url_values.push((col, coerce_text(col.ty, v)?));
        }
        let payload = self.payload(req)?;
        let first = Payload { rows: payload.rows.iter().take(1).cloned().collect(), is_array: false };
        let mut columns = self.write_columns(req, &first, rules)?;
        let mut rows = self.row_values(&columns, &first, req.prefer.missing.unwrap_or(Missing::Null))?;
        self.preset(rules, &mut columns, &mut rows)?;
        let mismatch = || ApiError::new(StatusCode::BAD_REQUEST, "PGRST115", "Payload values do not match URL in primary key column(s)");
        let row = rows.first().ok_or_else(mismatch)?;
        for (col, url_value) in &url_values {
            let i = columns.iter().position(|c| c.name == col.name).ok_or_else(mismatch)?;
            if row[i].as_ref() != Some(url_value) {
                return Err(mismatch());
            }
        }
        let target = pk.iter().map(|n| self.column(n)).collect::<Result<_, _>>()?;
        Ok(WriteOp::Insert { columns, rows, conflict: Some(Conflict { target, resolution: Resolution::MergeDuplicates }) })
    }
}
