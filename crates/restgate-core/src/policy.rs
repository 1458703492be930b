//! Who may do what: roles, resources, verbs, and the rules that narrow them.
//!
//! Deny by default. A [`Policy`] maps a role to resources (a table or view
//! name, or `*`) and, per verb ([`Verb`]), to a [`Rule`]: which columns can
//! be read (or written), a row filter in the request filter grammar with
//! claim placeholders, a check that written rows must pass, column values
//! preset from claims on insert, and a cap on the rows of a read. Roles may
//! inherit from other roles. The planner enforces the rule of the caller's
//! [`Identity`] on every table a request touches, embedded ones included:
//!
//! - a resource the role cannot touch at all is 404, as if it did not exist;
//! - a verb it may not use is 401 for the anonymous role, 403 otherwise (42501);
//! - a column it may not read is, in select, filters, order, embeds and
//!   error messages, a column that does not exist; `*` is the readable ones;
//! - writing a column it may not write is 403;
//! - a relationship whose join reads a column the role may not read, or goes
//!   through a junction it reads under a row filter, does not exist;
//! - row filters narrow reads, counts, updates and deletes; checks refuse
//!   (403, nothing written) rows outside them after inserts and updates;
//! - a write that returns its rows (`return=representation`) reads them: it
//!   only updates or deletes rows the role may read, and refuses (403) an
//!   insert or upsert whose rows it may not read;
//! - an upsert (or PUT) merging into an existing row may not change a column
//!   the create rule presets and the update rule does not let it write (403).
//!
//! [`Policy`] is the table-driven implementation of [`Authorize`]; implement
//! the trait to decide in Rust.
//!
//! # Example
//!
//! ```
//! use restgate_core::policy::{Policy, RowFilter, Rule, Verb};
//!
//! let policy = Policy::new()
//!     // Anyone may read published posts, without the author's e-mail.
//!     .grant("web_anon", "posts", [Verb::Read], Rule::new().columns(["id", "title", "body"]).filter(RowFilter::parse("published=is.true").unwrap()))
//!     // Authors also see their drafts, and write their own posts.
//!     .grant("author", "posts", [Verb::Read], Rule::new().filter(RowFilter::parse("or=(published.is.true,author_id.eq.{claims.sub})").unwrap()))
//!     .grant(
//!         "author",
//!         "posts",
//!         [Verb::Create, Verb::Update],
//!         Rule::new()
//!             .columns(["title", "body", "published"])
//!             .filter(RowFilter::parse("author_id=eq.{claims.sub}").unwrap())
//!             .check(RowFilter::parse("author_id=eq.{claims.sub}").unwrap())
//!             .set("author_id", "{claims.sub}"),
//!     )
//!     .inherit("author", "web_anon");
//! assert_eq!(policy.roles().count(), 2);
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use http::{HeaderMap, Method};

use crate::auth::Identity;
use crate::catalog::{Catalog, Table};
use crate::request::{ApiRequest, Filter, LogicNode, LogicTree, Operation, SelectItem};

/// What a request does to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// GET, HEAD (and embedding the resource).
    Read,
    /// POST (and the insert half of an upsert or PUT).
    Create,
    /// PATCH (and the update half of an upsert or PUT).
    Update,
    /// DELETE.
    Delete,
    /// Calling a function (reserved for RPC).
    Call,
}

impl Verb {
    /// Every verb.
    pub const ALL: [Verb; 5] = [Verb::Read, Verb::Create, Verb::Update, Verb::Delete, Verb::Call];

    /// The name used in configuration files (`read`, `create`, …).
    pub fn name(self) -> &'static str {
        match self {
            Verb::Read => "read",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Delete => "delete",
            Verb::Call => "call",
        }
    }

    /// The verb a configuration name stands for.
    pub fn from_name(name: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// A row filter (or check) in the request filter grammar, parsed once:
/// `owner_id=eq.{claims.sub}`, `or=(public.is.true,owner_id.eq.{claims.sub})`,
/// several joined with `&` (all must hold).
///
/// Values may hold placeholders: `{claims.a.b}` (a claim of the caller's
/// credential, by path), `{role}` and `{name}`. They are replaced by the
/// caller's values after parsing, so a claim's text can never change the
/// filter's structure. A placeholder naming a claim the caller does not
/// have makes the filter match no row (and a check refuse every row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFilter {
    source: String,
    filters: Vec<Filter>,
    logic: Vec<LogicTree>,
    /// The filter bound for the last few identities.
    memo: BindMemo,
}

/// The filters and trees of a [`RowFilter`] with an identity's values in place.
pub(crate) type Bound = (Vec<Filter>, Vec<LogicTree>);

/// Identities a [`RowFilter`] was bound for lately, and the result: a
/// verified token's identity comes from the authenticator's cache with the
/// same shared claims each time, so its requests skip the binding. An
/// entry holds the claims it was made for (an `Arc`, so no other claims can
/// take their address while the entry lives) and the role and name.
#[derive(Default)]
struct BindMemo(RwLock<Vec<MemoEntry>>);

struct MemoEntry {
    claims: Arc<serde_json::Value>,
    role: String,
    name: Option<String>,
    bound: Option<Arc<Bound>>,
}

/// Identities kept per row filter.
const BIND_MEMO: usize = 8;

impl Clone for BindMemo {
    fn clone(&self) -> Self {
        BindMemo::default()
    }
}

impl PartialEq for BindMemo {
    /// A cache: never part of what a filter is.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for BindMemo {}

impl fmt::Debug for BindMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BindMemo")
    }
}

/// Why a policy is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

impl RowFilter {
    /// Parses a filter.
    ///
    /// # Errors
    /// The grammar error, a parameter that is not a filter (`select`,
    /// `order`, `limit`, `offset`, embedded filters), or an unknown placeholder.
    ///
    /// ```
    /// use restgate_core::policy::RowFilter;
    /// assert!(RowFilter::parse("owner_id=eq.{claims.sub}&archived=is.false").is_ok());
    /// assert!(RowFilter::parse("owner_id=eq.{claim.sub}").is_err());
    /// assert!(RowFilter::parse("owner_id=eq").is_err());
    /// ```
    pub fn parse(source: &str) -> Result<RowFilter, PolicyError> {
        let err = |m: String| PolicyError(format!("filter \"{source}\": {m}"));
        if source.trim().is_empty() {
            return Err(err("empty".into()));
        }
        let req = ApiRequest::parse(&Method::GET, "/_", Some(source), &HeaderMap::new(), &[]).map_err(|e| {
            err(match e.details {
                Some(d) => format!("{} ({d})", e.message),
                None => e.message,
            })
        })?;
        let only_filters = req.order.is_empty()
            && req.limit.is_none()
            && req.offset.is_none()
            && req.embed_params.is_empty()
            && req.select == [SelectItem::Star]
            && req.columns.is_none()
            && req.on_conflict.is_none();
        if !only_filters {
            return Err(err("only filters (col=op.value, or=(…), and=(…)) are allowed".into()));
        }
        let f = RowFilter { source: source.to_owned(), filters: req.filters, logic: req.logic, memo: BindMemo::default() };
        let mut bad = None;
        f.each_value(&mut |v| {
            for p in placeholders(v) {
                if bad.is_none() && !valid_placeholder(p) {
                    bad = Some(p.to_owned());
                }
            }
        });
        if let Some(p) = bad {
            return Err(err(format!("unknown placeholder {{{p}}}: use {{claims.<path>}}, {{role}} or {{name}}")));
        }
        Ok(f)
    }

    /// The text it was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The column names the filter tests.
    pub fn columns(&self) -> Vec<&str> {
        fn tree<'a>(t: &'a LogicTree, out: &mut Vec<&'a str>) {
            for n in &t.children {
                match n {
                    LogicNode::Filter(f) => out.push(&f.field.name),
                    LogicNode::Tree(t) => tree(t, out),
                }
            }
        }
        let mut out: Vec<&str> = self.filters.iter().map(|f| f.field.name.as_str()).collect();
        for t in &self.logic {
            tree(t, &mut out);
        }
        out
    }

    fn each_value(&self, visit: &mut dyn FnMut(&str)) {
        fn op(o: &Operation, visit: &mut dyn FnMut(&str)) {
            match o {
                Operation::Compare(_, v) | Operation::IsDistinct(v) => visit(v),
                Operation::Quantified(_, _, vs) | Operation::In(vs) => vs.iter().for_each(|v| visit(v)),
                Operation::Fts(_, _, q) => visit(q),
                Operation::Is(_) => {}
            }
        }
        fn tree(t: &LogicTree, visit: &mut dyn FnMut(&str)) {
            for n in &t.children {
                match n {
                    LogicNode::Filter(f) => op(&f.operation, visit),
                    LogicNode::Tree(t) => tree(t, visit),
                }
            }
        }
        for f in &self.filters {
            op(&f.operation, visit);
        }
        for t in &self.logic {
            tree(t, visit);
        }
    }

    /// [`bind`](Self::bind), remembered for the last few identities.
    pub(crate) fn bound(&self, identity: &Identity) -> Option<Arc<Bound>> {
        let same = |e: &MemoEntry| Arc::ptr_eq(&e.claims, &identity.claims) && e.role == identity.role && e.name == identity.name;
        if let Ok(memo) = self.memo.0.read() {
            if let Some(e) = memo.iter().find(|e| same(e)) {
                return e.bound.clone();
            }
        }
        let bound = self.bind(identity).map(Arc::new);
        if let Ok(mut memo) = self.memo.0.write() {
            if memo.len() >= BIND_MEMO {
                memo.remove(0);
            }
            memo.push(MemoEntry {
                claims: Arc::clone(&identity.claims),
                role: identity.role.clone(),
                name: identity.name.clone(),
                bound: bound.clone(),
            });
        }
        bound
    }

    /// The filter with the caller's values in place of the placeholders;
    /// `None` when a placeholder names something the caller does not have.
    pub fn bind(&self, identity: &Identity) -> Option<(Vec<Filter>, Vec<LogicTree>)> {
        let mut filters = self.filters.clone();
        let mut logic = self.logic.clone();
        let mut ok = true;
        let mut sub = |v: &mut String| {
            if ok && v.contains('{') {
                match substitute(v, identity) {
                    Some(s) => *v = s,
                    None => ok = false,
                }
            }
        };
        fn op(o: &mut Operation, sub: &mut dyn FnMut(&mut String)) {
            match o {
                Operation::Compare(_, v) | Operation::IsDistinct(v) => sub(v),
                Operation::Quantified(_, _, vs) | Operation::In(vs) => vs.iter_mut().for_each(&mut *sub),
                Operation::Fts(_, _, q) => sub(q),
                Operation::Is(_) => {}
            }
        }
        fn tree(t: &mut LogicTree, sub: &mut dyn FnMut(&mut String)) {
            for n in &mut t.children {
                match n {
                    LogicNode::Filter(f) => op(&mut f.operation, sub),
                    LogicNode::Tree(t) => tree(t, sub),
                }
            }
        }
        for f in &mut filters {
            op(&mut f.operation, &mut sub);
        }
        for t in &mut logic {
            tree(t, &mut sub);
        }
        ok.then_some((filters, logic))
    }
}

/// The `{…}` placeholders of a value.
fn placeholders(v: &str) -> impl Iterator<Item = &str> {
    v.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(p, _)| p))
}

fn valid_placeholder(p: &str) -> bool {
    p == "role" || p == "name" || p.strip_prefix("claims.").is_some_and(|path| !path.is_empty() && path.split('.').all(|s| !s.is_empty()))
}

/// A placeholder's value for `identity`: a claim that is a string, number or
/// boolean; the role; the name.
pub fn placeholder_value(p: &str, identity: &Identity) -> Option<String> {
    placeholder_text(p, identity).map(Cow::into_owned)
}

fn placeholder_text<'a>(p: &str, identity: &'a Identity) -> Option<Cow<'a, str>> {
    match p {
        "role" => Some(Cow::Borrowed(&identity.role)),
        "name" => identity.name.as_deref().map(Cow::Borrowed),
        _ => {
            let mut v: &serde_json::Value = &identity.claims;
            for key in p.strip_prefix("claims.")?.split('.') {
                v = v.get(key)?;
            }
            match v {
                serde_json::Value::String(s) => Some(Cow::Borrowed(s)),
                serde_json::Value::Number(n) => Some(Cow::Owned(n.to_string())),
                serde_json::Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
                _ => None,
            }
        }
    }
}

/// `v` with every placeholder replaced; `None` when one has no value.
pub fn substitute(v: &str, identity: &Identity) -> Option<String> {
    // The usual case, a value that is one placeholder: no scanning copy.
    if let Some(name) = v.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        if !name.contains(['{', '}']) && valid_placeholder(name) {
            return placeholder_text(name, identity).map(Cow::into_owned);
        }
    }
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        let name = &rest[start + 1..start + len];
        if !valid_placeholder(name) {
            out.push_str(&rest[..start + len + 1]);
            rest = &rest[start + len + 1..];
            continue;
        }
        out.push_str(&rest[..start]);
        out.push_str(&placeholder_text(name, identity)?);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// What a role may do with a resource for one verb.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// Read: the readable columns; create/update: the writable ones.
    /// `None`: all of them.
    pub columns: Option<Vec<String>>,
    /// Read, update, delete: only rows passing this filter are seen or touched.
    pub filter: Option<RowFilter>,
    /// Create, update: every written row must pass this after the write,
    /// or the write is refused (403) and nothing is written.
    pub check: Option<RowFilter>,
    /// Create: column values set from placeholders (`{claims.sub}`),
    /// whatever the request sends.
    pub set: Vec<(String, String)>,
    /// Read: at most this many rows per request.
    pub max_rows: Option<u64>,
}

impl Rule {
    /// Everything, no narrowing.
    pub fn new() -> Self {
        Rule::default()
    }

    /// Only these columns.
    pub fn columns<I, S>(mut self, cols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = Some(cols.into_iter().map(Into::into).collect());
        self
    }

    /// A row filter.
    pub fn filter(mut self, f: RowFilter) -> Self {
        self.filter = Some(f);
        self
    }

    /// A check on written rows.
    pub fn check(mut self, f: RowFilter) -> Self {
        self.check = Some(f);
        self
    }

    /// Sets `column` to `template` (placeholders replaced) on insert.
    pub fn set(mut self, column: impl Into<String>, template: impl Into<String>) -> Self {
        self.set.push((column.into(), template.into()));
        self
    }

    /// At most `n` rows per read.
    pub fn max_rows(mut self, n: u64) -> Self {
        self.max_rows = Some(n);
        self
    }

    /// Whether `column` is covered by [`columns`](Rule::columns).
    pub fn allows_column(&self, column: &str) -> bool {
        self.columns.as_ref().is_none_or(|c| c.iter().any(|x| x == column))
    }
}

/// Decides what a caller may do. [`Policy`] is the table-driven
/// implementation; implement this to decide in Rust.
pub trait Authorize: Send + Sync + 'static {
    /// The rule for `identity` doing `verb` on `table`; `None` denies.
    fn rule(&self, identity: &Identity, table: &Table, verb: Verb) -> Option<Arc<Rule>>;

    /// Whether `identity` may do anything at all with `table` (otherwise it is 404).
    fn visible(&self, identity: &Identity, table: &Table) -> bool {
        Verb::ALL.into_iter().any(|v| self.rule(identity, table, v).is_some())
    }

    /// Checks the policy against a catalog (at start-up and on reload).
    ///
    /// # Errors
    /// A precise message: unknown role, table or column.
    fn validate(&self, catalog: &Catalog) -> Result<(), PolicyError> {
        let _ = catalog;
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Grant {
    resource: String,
    verbs: Vec<Verb>,
    rule: Arc<Rule>,
}

#[derive(Debug, Clone, Default)]
struct Role {
    inherits: Vec<String>,
    grants: Vec<Grant>,
}

/// The table-driven policy: roles → resources → verbs → [`Rule`]s.
///
/// A role's own grants are searched first — a grant naming the resource
/// before a `*` grant — then the roles it inherits from, in the order
/// given. The first grant covering the verb decides.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    roles: HashMap<String, Role, std::hash::BuildHasherDefault<RoleHasher>>,
}

/// FNV-1a over a role's name: a lookup on every request hashes a few
/// bytes, where SipHash's setup costs more than the bytes. The map is
/// built from configuration and never grows from requests, so there are
/// no keys a client chooses to collide.
struct RoleHasher(u64);

impl Default for RoleHasher {
    /// FNV's offset basis.
    fn default() -> Self {
        RoleHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for RoleHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// How deep inheritance is followed (a cycle is also refused by `validate`).
const MAX_INHERIT_DEPTH: usize = 16;

impl Policy {
    /// A policy that allows nothing.
    pub fn new() -> Self {
        Policy::default()
    }

    /// Allows `role` the `verbs` on `resource` (a table or view name,
    /// `schema.name`, or `*` for every one) under `rule`.
    pub fn grant<V: IntoIterator<Item = Verb>>(mut self, role: &str, resource: &str, verbs: V, rule: Rule) -> Self {
        let r = self.roles.entry(role.to_owned()).or_default();
        r.grants.push(Grant { resource: resource.to_owned(), verbs: verbs.into_iter().collect(), rule: Arc::new(rule) });
        self
    }

    /// `role` also gets what `parent` is granted (after its own grants).
    pub fn inherit(mut self, role: &str, parent: &str) -> Self {
        self.roles.entry(role.to_owned()).or_default().inherits.push(parent.to_owned());
        self
    }

    /// Declares a role with no grants of its own (e.g. one that only inherits).
    pub fn role(mut self, role: &str) -> Self {
        self.roles.entry(role.to_owned()).or_default();
        self
    }

    /// The roles it names.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(String::as_str)
    }

    fn find(&self, role: &str, table: &Table, verb: Verb, depth: usize) -> Option<Arc<Rule>> {
        let r = self.roles.get(role)?;
        let named =
            |g: &&Grant| g.resource == table.name || g.resource.split_once('.').is_some_and(|(s, n)| s == table.schema && n == table.name);
        let covers = |g: &&Grant| g.verbs.contains(&verb);
        if let Some(g) = r.grants.iter().filter(named).find(covers) {
            return Some(Arc::clone(&g.rule));
        }
        if let Some(g) = r.grants.iter().filter(|g| g.resource == "*").find(covers) {
            return Some(Arc::clone(&g.rule));
        }
        if depth >= MAX_INHERIT_DEPTH {
            return None;
        }
        r.inherits.iter().find_map(|p| self.find(p, table, verb, depth + 1))
    }
}

impl Authorize for Policy {
    fn rule(&self, identity: &Identity, table: &Table, verb: Verb) -> Option<Arc<Rule>> {
        self.find(&identity.role, table, verb, 0)
    }

    fn validate(&self, catalog: &Catalog) -> Result<(), PolicyError> {
        let mut names: Vec<&String> = self.roles.keys().collect();
        names.sort();
        for name in names {
            let role = &self.roles[name];
            for p in &role.inherits {
                if !self.roles.contains_key(p) {
                    return Err(PolicyError(format!("role {name} inherits from unknown role {p}")));
                }
            }
            // Cycles.
            let mut stack: Vec<(&str, usize)> = vec![(name.as_str(), 0)];
            while let Some((r, depth)) = stack.pop() {
                if depth > MAX_INHERIT_DEPTH {
                    return Err(PolicyError(format!("role {name}: inheritance is cyclic or deeper than {MAX_INHERIT_DEPTH}")));
                }
                for p in self.roles.get(r).map(|x| x.inherits.as_slice()).unwrap_or(&[]) {
                    stack.push((p.as_str(), depth + 1));
                }
            }
            for g in &role.grants {
                let where_ = format!("role {name}, resource {}", g.resource);
                if g.resource == "*" {
                    continue;
                }
                let table = catalog
                    .tables()
                    .iter()
                    .find(|t| t.name == g.resource || g.resource.split_once('.').is_some_and(|(s, n)| s == t.schema && n == t.name))
                    .ok_or_else(|| PolicyError(format!("{where_}: no such table or view")))?;
                validate_rule(&where_, table, &g.rule)?;
            }
        }
        Ok(())
    }
}

/// Checks a rule's column names against `table`.
pub fn validate_rule(where_: &str, table: &Table, rule: &Rule) -> Result<(), PolicyError> {
    let known = |c: &str, what: &str| {
        if table.column(c).is_some() {
            Ok(())
        } else {
            Err(PolicyError(format!("{where_}: {what} names unknown column {c}")))
        }
    };
    for c in rule.columns.iter().flatten() {
        known(c, "columns")?;
    }
    for c in rule.filter.iter().flat_map(RowFilter::columns) {
        known(c, "filter")?;
    }
    for c in rule.check.iter().flat_map(RowFilter::columns) {
        known(c, "check")?;
    }
    for (c, template) in &rule.set {
        known(c, "set")?;
        if let Some(p) = placeholders(template).find(|p| !valid_placeholder(p)) {
            return Err(PolicyError(format!("{where_}: set {c}: unknown placeholder {{{p}}}")));
        }
    }
    if rule.check.is_some() && table.primary_key.is_empty() {
        return Err(PolicyError(format!("{where_}: a check needs a primary key to find the written rows")));
    }
    Ok(())
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(b: &Bound) -> String {
        match &b.0[0].operation {
            Operation::Compare(_, v) => v.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bound_filters_are_remembered_per_identity_and_never_cross() {
        let f = RowFilter::parse("tenant=eq.{claims.tenant}").unwrap();
        let a = Identity::new("user").with_claims(serde_json::json!({"tenant": "a"}));
        let b = Identity::new("user").with_claims(serde_json::json!({"tenant": "b"}));
        for _ in 0..3 {
            assert_eq!(value_of(&f.bound(&a).unwrap()), "a");
            assert_eq!(value_of(&f.bound(&b).unwrap()), "b");
        }
        // The same claims with another role or name are another identity.
        let r = RowFilter::parse("owner=eq.{role}").unwrap();
        let c = Identity::new("x").with_claims(Arc::clone(&a.claims));
        assert_eq!(value_of(&r.bound(&a).unwrap()), "user");
        assert_eq!(value_of(&r.bound(&c).unwrap()), "x");
        // Fresh claims every time (more than the memo keeps, allocated and
        // freed in turn): each binds to its own values.
        for i in 0..100 {
            let id = Identity::new("user").with_claims(serde_json::json!({"tenant": format!("t{i}")}));
            assert_eq!(value_of(&f.bound(&id).unwrap()), format!("t{i}"));
        }
        // A missing claim matches nothing, remembered as such.
        let none = Identity::new("user");
        assert!(f.bound(&none).is_none());
        assert!(f.bound(&none).is_none());
        assert_eq!(value_of(&f.bound(&a).unwrap()), "a");
    }
}
