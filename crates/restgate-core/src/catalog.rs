//! The schema cache: tables, views, columns, keys and constraints.
//!
//! A backend builds a [`Catalog`] by introspecting its database; the planner
//! resolves every name of a request against it, so no identifier ever comes
//! from request text.
//!
//! # Example
//!
//! ```
//! use restgate_core::catalog::{Catalog, Column, ColumnType, Table};
//!
//! let mut table = Table::new("main", "todos");
//! table.columns.push(Column::new("id", "INTEGER").primary_key());
//! table.columns.push(Column::new("done", "BOOLEAN"));
//! table.primary_key = vec!["id".into()];
//! let catalog = Catalog::new(vec!["main".into()], vec![table]);
//! let todos = catalog.table("main", "todos").unwrap();
//! assert_eq!(todos.column("done").unwrap().ty, ColumnType::Boolean);
//! ```

use std::collections::HashMap;

/// What the database knows about the objects restgate serves.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    schemas: Vec<String>,
    tables: Vec<Table>,
    index: HashMap<(String, String), usize>,
    /// Relationships by origin table index.
    relationships: Vec<Vec<Relationship>>,
}

impl Catalog {
    /// A catalog of `tables`, serving `schemas` (the first is the default).
    ///
    /// Relationships are derived here from the foreign keys: both
    /// directions of each key, many-to-many through junction tables whose
    /// primary key holds two foreign keys, and keys carried over to views
    /// whose columns name their base columns ([`Column::source`]).
    pub fn new(schemas: Vec<String>, mut tables: Vec<Table>) -> Self {
        for (i, t) in tables.iter_mut().enumerate() {
            t.sql_schema = intern(&t.schema);
            t.sql_name = intern(&t.name);
            t.idx = i;
            for c in &mut t.columns {
                c.sql_name = intern(&c.name);
            }
        }
        let index: HashMap<(String, String), usize> =
            tables.iter().enumerate().map(|(i, t)| ((t.schema.clone(), t.name.clone()), i)).collect();
        let relationships = relationships::derive(&mut tables, &index);
        Catalog { schemas, tables, index, relationships }
    }

    /// The same catalog with foreign keys declared in code or configuration
    /// added to it (for databases or views that do not declare them), and
    /// the relationships derived again. Each entry names the schema and
    /// table holding the key; an empty [`ForeignKey::foreign_schema`] means
    /// the same schema.
    ///
    /// # Errors
    /// A message naming the unknown table or column.
    pub fn with_foreign_keys(self, keys: &[(String, String, ForeignKey)]) -> Result<Catalog, String> {
        let Catalog { schemas, mut tables, index, .. } = self;
        for (schema, table, fk) in keys {
            let schema = if schema.is_empty() { schemas.first().cloned().unwrap_or_default() } else { schema.clone() };
            let i = *index
                .get(&(schema.clone(), table.clone()))
                .ok_or_else(|| format!("foreign key {}: no table {schema}.{table}", fk.name))?;
            let mut fk = fk.clone();
            if fk.foreign_schema.is_empty() {
                fk.foreign_schema = schema.clone();
            }
            let j = *index
                .get(&(fk.foreign_schema.clone(), fk.foreign_table.clone()))
                .ok_or_else(|| format!("foreign key {}: no table {}.{}", fk.name, fk.foreign_schema, fk.foreign_table))?;
            if fk.columns.is_empty() || fk.columns.len() != fk.foreign_columns.len() {
                return Err(format!("foreign key {}: give as many referenced columns as referencing ones", fk.name));
            }
            for c in &fk.columns {
                if tables[i].column(c).is_none() {
                    return Err(format!("foreign key {}: no column {c} in {schema}.{table}", fk.name));
                }
            }
            for c in &fk.foreign_columns {
                if tables[j].column(c).is_none() {
                    return Err(format!("foreign key {}: no column {c} in {}.{}", fk.name, fk.foreign_schema, fk.foreign_table));
                }
            }
            tables[i].foreign_keys.retain(|k| k.name != fk.name);
            tables[i].foreign_keys.push(fk);
        }
        Ok(Catalog::new(schemas, tables))
    }

    /// The relationships a table or view can embed, from its catalog index
    /// ([`Table::index`]).
    pub fn relationships(&self, table: &Table) -> &[Relationship] {
        self.relationships.get(table.idx).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A table by its catalog index.
    pub fn table_at(&self, idx: usize) -> &Table {
        &self.tables[idx]
    }

    /// The exposed schemas, default first.
    pub fn schemas(&self) -> &[String] {
        &self.schemas
    }

    /// The default schema.
    pub fn default_schema(&self) -> &str {
        self.schemas.first().map(String::as_str).unwrap_or("")
    }

    /// A table or view by schema and name.
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        // Borrowed lookup without allocating a key: the map is small, but this
        // is on every request, so search by hashing a tuple of owned strings
        // only when the linear scan would be long.
        if self.tables.len() <= 16 {
            return self.tables.iter().find(|t| t.name == name && t.schema == schema);
        }
        self.index.get(&(schema.to_owned(), name.to_owned())).map(|&i| &self.tables[i])
    }

    /// Every table and view.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// The name in `schema` closest to `name`, for "Perhaps you meant" hints.
    pub fn closest_table(&self, schema: &str, name: &str) -> Option<&str> {
        closest(name, self.tables.iter().filter(|t| t.schema == schema).map(|t| t.name.as_str()))
    }
}

/// A `'static` copy of an identifier, shared by every catalog that names it.
///
/// Statements are built from catalog names on every request; interned
/// names are handed to the SQL builder without a copy. Each distinct name
/// is kept once for the life of the process, so reloading a catalog with the
/// same names costs nothing more.
fn intern(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(&n) = names.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The candidate closest to `name` by edit distance, when it is close enough.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .map(|c| (levenshtein(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Whether a relation is a base table or a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A base table.
    Table,
    /// A view.
    View,
}

/// A table or view.
#[derive(Debug, Clone)]
pub struct Table {
    /// Schema (SQLite: `main`; MySQL: the database).
    pub schema: String,
    /// Name.
    pub name: String,
    /// Table or view.
    pub kind: TableKind,
    /// Columns in declaration order.
    pub columns: Vec<Column>,
    /// Primary-key column names, in key order (empty when there is none).
    pub primary_key: Vec<String>,
    /// Foreign keys from this table.
    pub foreign_keys: Vec<ForeignKey>,
    /// Unique constraints (column lists), the primary key excluded.
    pub unique: Vec<Vec<String>>,
    /// Rows can be inserted.
    pub insertable: bool,
    /// Rows can be updated.
    pub updatable: bool,
    /// Rows can be deleted.
    pub deletable: bool,
    /// Comment, if the database keeps one.
    pub description: Option<String>,
    /// `schema` and `name`, interned by [`Catalog::new`] for SQL rendering.
    pub(crate) sql_schema: &'static str,
    pub(crate) sql_name: &'static str,
    /// Position in the catalog, set by [`Catalog::new`].
    idx: usize,
    /// Select lists rendered for reads of this table.
    pub(crate) select_lists: crate::sql::SelectLists,
}

impl Table {
    /// A writable base table with no columns yet.
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        Table {
            schema: schema.into(),
            name: name.into(),
            kind: TableKind::Table,
            columns: Vec::new(),
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            unique: Vec::new(),
            insertable: true,
            updatable: true,
            deletable: true,
            description: None,
            sql_schema: "",
            sql_name: "",
            idx: 0,
            select_lists: Default::default(),
        }
    }

    /// Its position in the catalog that holds it.
    pub fn index(&self) -> usize {
        self.idx
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The verbs this relation accepts, for `Allow` headers.
    pub fn allow_header(&self) -> String {
        let mut s = String::from("OPTIONS,GET,HEAD");
        if self.insertable {
            s.push_str(",POST");
        }
        if self.insertable && self.updatable && !self.primary_key.is_empty() {
            s.push_str(",PUT");
        }
        if self.updatable {
            s.push_str(",PATCH");
        }
        if self.deletable {
            s.push_str(",DELETE");
        }
        s
    }

    /// Whether `cols` (in any order) is the primary key or a unique constraint.
    pub fn is_unique_key(&self, cols: &[String]) -> bool {
        let same = |k: &[String]| k.len() == cols.len() && k.iter().all(|c| cols.contains(c));
        (!self.primary_key.is_empty() && same(&self.primary_key)) || self.unique.iter().any(|u| same(u))
    }
}

/// A column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Name.
    pub name: String,
    /// The type as the database declares it (`INTEGER`, `varchar(20)`, `timestamptz`).
    pub sql_type: String,
    /// The logical type restgate renders and coerces by.
    pub ty: ColumnType,
    /// How the database holds the value, where a read cannot take it as it
    /// is (set by the backend's introspection; [`Storage::Native`] otherwise).
    pub storage: Storage,
    /// NULL allowed.
    pub nullable: bool,
    /// The DEFAULT expression, if any.
    pub default: Option<String>,
    /// Generated (computed) column: never written.
    pub generated: bool,
    /// Identity / auto-increment column.
    pub auto_increment: bool,
    /// Comment, if the database keeps one.
    pub description: Option<String>,
    /// Allowed values of an enum column, where known.
    pub enum_values: Vec<String>,
    /// Covered by a full-text index of its own (MySQL/MariaDB `FULLTEXT`),
    /// which the `fts` operators need there.
    pub fulltext: bool,
    /// For a view's column: the base table column it shows unchanged, where
    /// the database tells (foreign keys of the base table carry over).
    pub source: Option<ColumnSource>,
    /// `name`, interned by [`Catalog::new`] for SQL rendering.
    pub(crate) sql_name: &'static str,
}

impl Column {
    /// A nullable column whose logical type is derived from `sql_type`.
    pub fn new(name: impl Into<String>, sql_type: impl Into<String>) -> Self {
        let sql_type = sql_type.into();
        Column {
            name: name.into(),
            ty: ColumnType::from_sql(&sql_type),
            storage: Storage::Native,
            sql_type,
            nullable: true,
            default: None,
            generated: false,
            auto_increment: false,
            description: None,
            enum_values: Vec::new(),
            fulltext: false,
            source: None,
            sql_name: "",
        }
    }

    /// Marks the column NOT NULL (builder style, for tests and hand-made catalogs).
    pub fn primary_key(mut self) -> Self {
        self.nullable = false;
        self
    }
}

/// How the database holds a column's value, when that is not a form its
/// logical type can show as it is. The dialect reads (and writes) such a
/// column through an expression; filters compare what the reads show.
///
/// ```
/// use restgate_core::catalog::{Column, ColumnType, Storage};
/// let mut mask = Column::new("mask", "bit(8)");
/// mask.ty = ColumnType::Integer;
/// mask.storage = Storage::Number; // MySQL hands out BIT(8) as a byte: read `mask + 0`
/// assert_eq!(Column::new("id", "int").storage, Storage::Native);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Storage {
    /// As the logical type shows it (every SQLite and PostgreSQL column).
    #[default]
    Native,
    /// A number the server hands out in another form than its digits:
    /// MySQL/MariaDB `BIT(n)` (bytes) and `ZEROFILL` columns (padded with
    /// zeros), read as `col + 0`. Comparisons and ORDER BY take the column
    /// as it is, which the server compares as a number; `like` and `match`
    /// the text reads show.
    Number,
    /// A spatial value (MySQL/MariaDB `GEOMETRY`, `POINT`, …): read as
    /// GeoJSON (`ST_AsGeoJSON`), written from GeoJSON (`ST_GeomFromGeoJSON`).
    Geometry,
}

/// The base-table column a view's column shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSource {
    /// The base table's schema.
    pub schema: String,
    /// The base table.
    pub table: String,
    /// The base column.
    pub column: String,
}

/// A foreign key.
///
/// Introspected from the database, or declared for tables and views that
/// have none ([`Catalog::with_foreign_keys`],
/// `RestGateBuilder::foreign_key`):
///
/// ```
/// use restgate_core::catalog::ForeignKey;
/// let fk = ForeignKey::new("film_notes_film", ["film_ref"], "films", ["id"]);
/// assert_eq!(fk.foreign_schema, "");
/// ```
#[derive(Debug, Clone)]
pub struct ForeignKey {
    /// Constraint name (SQLite keeps none: `<table>_<columns>_fkey` is made
    /// up, as PostgreSQL names keys by default).
    pub name: String,
    /// Referencing columns of this table.
    pub columns: Vec<String>,
    /// Referenced table's schema.
    pub foreign_schema: String,
    /// Referenced table.
    pub foreign_table: String,
    /// Referenced columns, same order as `columns`.
    pub foreign_columns: Vec<String>,
}

impl ForeignKey {
    /// A key from `columns` of its table to `foreign_columns` of
    /// `foreign_table` in the same schema.
    pub fn new<C, F>(name: impl Into<String>, columns: C, foreign_table: impl Into<String>, foreign_columns: F) -> Self
    where
        C: IntoIterator,
        C::Item: Into<String>,
        F: IntoIterator,
        F::Item: Into<String>,
    {
        ForeignKey {
            name: name.into(),
            columns: columns.into_iter().map(Into::into).collect(),
            foreign_schema: String::new(),
            foreign_table: foreign_table.into(),
            foreign_columns: foreign_columns.into_iter().map(Into::into).collect(),
        }
    }
}

/// How many rows of the target one row of the origin relates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardinality {
    /// The origin holds the key (embeds as an object or null).
    ManyToOne,
    /// The target holds the key (embeds as an array).
    OneToMany,
    /// Either side holds a unique key (embeds as an object or null).
    OneToOne,
    /// Through a junction table (embeds as an array).
    ManyToMany,
}

impl Cardinality {
    /// Whether the embed is an array.
    pub fn to_many(self) -> bool {
        matches!(self, Cardinality::OneToMany | Cardinality::ManyToMany)
    }

    /// The name PostgREST uses in error details.
    pub fn label(self) -> &'static str {
        match self {
            Cardinality::ManyToOne => "many-to-one",
            Cardinality::OneToMany => "one-to-many",
            Cardinality::OneToOne => "one-to-one",
            Cardinality::ManyToMany => "many-to-many",
        }
    }
}

/// A way to embed one relation's rows in another's.
#[derive(Debug, Clone)]
pub struct Relationship {
    /// The foreign key's constraint name (many-to-many: the junction table's name).
    pub constraint: String,
    /// The table embedding, as a catalog index.
    pub origin: usize,
    /// The table embedded, as a catalog index.
    pub target: usize,
    /// Shape of the embed.
    pub cardinality: Cardinality,
    /// The origin holds the foreign key (many-to-one, and the holding side
    /// of a one-to-one).
    pub forward: bool,
    /// Join pairs (origin column, target column); empty for many-to-many.
    pub columns: Vec<(String, String)>,
    /// Many-to-many: the junction.
    pub junction: Option<Junction>,
}

/// The junction table of a many-to-many relationship.
#[derive(Debug, Clone)]
pub struct Junction {
    /// The junction table, as a catalog index.
    pub table: usize,
    /// The junction's key to the origin.
    pub origin_constraint: String,
    /// The junction's key to the target.
    pub target_constraint: String,
    /// Pairs (junction column, origin column).
    pub origin_columns: Vec<(String, String)>,
    /// Pairs (junction column, target column).
    pub target_columns: Vec<(String, String)>,
}

impl Relationship {
    /// A foreign key from a table to itself.
    pub fn is_self(&self) -> bool {
        self.junction.is_none() && self.origin == self.target
    }

    /// Whether a `!hint` selects this relationship: the constraint name, a
    /// junction table's name, or a column of the key on either side. On a
    /// self-reference both directions join the same columns, so a column
    /// hint names the far side: `employees!manager_id` asks for the rows
    /// whose `manager_id` points here (one-to-many), as in PostgREST.
    pub fn matches_hint(&self, hint: &str) -> bool {
        if self.constraint == hint {
            return true;
        }
        match &self.junction {
            Some(j) => j.origin_constraint == hint || j.target_constraint == hint,
            None if self.is_self() => !self.forward && self.columns.iter().any(|(_, t)| t == hint),
            None => self.columns.iter().any(|(o, t)| o == hint || t == hint),
        }
    }

    /// Whether `name` names this key from its holding side: the constraint,
    /// or its one column (`select=director_id(*)`, `select=manager_id(*)`).
    pub fn named_by_key(&self, name: &str) -> bool {
        self.forward && self.junction.is_none() && (self.constraint == name || matches!(self.columns.as_slice(), [(c, _)] if c == name))
    }
}

mod relationships {
    //! Derives [`Relationship`]s from the catalog's foreign keys.

    use std::collections::HashMap;

    use super::{Cardinality, ForeignKey, Junction, Relationship, Table, TableKind};

    /// Completes the keys (SQLite leaves referenced columns out when they
    /// are the primary key; schema-less declarations mean the same schema),
    /// carries keys over to views, and lists every relationship by origin.
    pub(super) fn derive(tables: &mut [Table], index: &HashMap<(String, String), usize>) -> Vec<Vec<Relationship>> {
        // (origin index, target index, key) for every resolvable base key.
        let mut keys: Vec<(usize, usize, ForeignKey)> = Vec::new();
        for (i, t) in tables.iter().enumerate() {
            for fk in &t.foreign_keys {
                let mut fk = fk.clone();
                if fk.foreign_schema.is_empty() {
                    fk.foreign_schema = t.schema.clone();
                }
                let Some(&j) = index.get(&(fk.foreign_schema.clone(), fk.foreign_table.clone())) else { continue };
                for (k, c) in fk.foreign_columns.iter_mut().enumerate() {
                    if c.is_empty() {
                        if let Some(pk) = tables[j].primary_key.get(k) {
                            c.clone_from(pk);
                        }
                    }
                }
                if fk.columns.is_empty() || fk.columns.len() != fk.foreign_columns.len() {
                    continue;
                }
                keys.push((i, j, fk));
            }
        }
        // Views showing every column of a key's side carry the key over.
        let mut carried = Vec::new();
        for (i, j, fk) in &keys {
            let origins = exposing(tables, *i, &fk.columns);
            let targets = exposing(tables, *j, &fk.foreign_columns);
            for (oi, ocols) in &origins {
                for (ti, tcols) in &targets {
                    if (oi, ti) == (i, j) {
                        continue;
                    }
                    let mut k = fk.clone();
                    k.columns.clone_from(ocols);
                    k.foreign_columns.clone_from(tcols);
                    k.foreign_schema.clone_from(&tables[*ti].schema);
                    k.foreign_table.clone_from(&tables[*ti].name);
                    carried.push((*oi, *ti, k));
                }
            }
        }
        for (oi, _, k) in &carried {
            if !tables[*oi].foreign_keys.iter().any(|f| f.name == k.name && f.foreign_table == k.foreign_table) {
                tables[*oi].foreign_keys.push(k.clone());
            }
        }
        keys.extend(carried);

        let mut out: Vec<Vec<Relationship>> = vec![Vec::new(); tables.len()];
        for (i, j, fk) in &keys {
            let unique = tables[*i].is_unique_key(&fk.columns);
            let pairs: Vec<(String, String)> = fk.columns.iter().cloned().zip(fk.foreign_columns.iter().cloned()).collect();
            out[*i].push(Relationship {
                constraint: fk.name.clone(),
                origin: *i,
                target: *j,
                cardinality: if unique { Cardinality::OneToOne } else { Cardinality::ManyToOne },
                forward: true,
                columns: pairs.clone(),
                junction: None,
            });
            out[*j].push(Relationship {
                constraint: fk.name.clone(),
                origin: *j,
                target: *i,
                cardinality: if unique { Cardinality::OneToOne } else { Cardinality::OneToMany },
                forward: false,
                columns: pairs.into_iter().map(|(a, b)| (b, a)).collect(),
                junction: None,
            });
        }
        // Many-to-many: a junction whose primary key holds two keys.
        for (ji, junction) in tables.iter().enumerate() {
            if junction.primary_key.is_empty() {
                continue;
            }
            let own: Vec<&(usize, usize, ForeignKey)> =
                keys.iter().filter(|(i, _, fk)| *i == ji && fk.columns.iter().all(|c| junction.primary_key.contains(c))).collect();
            for a in &own {
                for b in &own {
                    if std::ptr::eq(*a, *b) || a.2.name == b.2.name {
                        continue;
                    }
                    out[a.1].push(Relationship {
                        constraint: junction.name.clone(),
                        origin: a.1,
                        target: b.1,
                        cardinality: Cardinality::ManyToMany,
                        forward: false,
                        columns: Vec::new(),
                        junction: Some(Junction {
                            table: ji,
                            origin_constraint: a.2.name.clone(),
                            target_constraint: b.2.name.clone(),
                            origin_columns: a.2.columns.iter().cloned().zip(a.2.foreign_columns.iter().cloned()).collect(),
                            target_columns: b.2.columns.iter().cloned().zip(b.2.foreign_columns.iter().cloned()).collect(),
                        }),
                    });
                }
            }
        }
        out
    }

    /// The relation `t` itself and every view showing all of `cols` of it
    /// unchanged, each with the names it gives those columns.
    fn exposing(tables: &[Table], t: usize, cols: &[String]) -> Vec<(usize, Vec<String>)> {
        let base = &tables[t];
        let mut out = vec![(t, cols.to_vec())];
        if base.kind == TableKind::View {
            return out;
        }
        for (vi, v) in tables.iter().enumerate() {
            if v.kind != TableKind::View {
                continue;
            }
            let names: Option<Vec<String>> = cols
                .iter()
                .map(|c| {
                    v.columns
                        .iter()
                        .find(|vc| vc.source.as_ref().is_some_and(|s| s.schema == base.schema && s.table == base.name && &s.column == c))
                        .map(|vc| vc.name.clone())
                })
                .collect();
            if let Some(names) = names {
                out.push((vi, names));
            }
        }
        out
    }
}

/// The logical type of a column: decides how values are coerced on the way
/// in and rendered to JSON on the way out, identically on every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColumnType {
    /// smallint, integer, bigint (JSON number).
    Integer,
    /// real, double precision, float (JSON number).
    Float,
    /// numeric / decimal (JSON number).
    Numeric,
    /// boolean (JSON `true`/`false`).
    Boolean,
    /// char, varchar, text and anything unknown (JSON string).
    Text,
    /// json / jsonb (embedded JSON).
    Json,
    /// date (`YYYY-MM-DD`).
    Date,
    /// time of day (`HH:MM:SS[.ffffff]`).
    Time,
    /// timestamp without time zone (`YYYY-MM-DDTHH:MM:SS[.ffffff]`).
    Timestamp,
    /// timestamp with time zone (ISO 8601 with offset).
    TimestampTz,
    /// uuid (JSON string).
    Uuid,
    /// bytea / blob (JSON string `\x` + lowercase hex).
    Binary,
    /// An array (PostgreSQL), rendered as a JSON array.
    Array,
    /// An enum (JSON string).
    Enum,
}

impl ColumnType {
    /// Classifies a declared SQL type of any of the supported databases.
    ///
    /// ```
    /// use restgate_core::catalog::ColumnType;
    /// assert_eq!(ColumnType::from_sql("BIGINT"), ColumnType::Integer);
    /// assert_eq!(ColumnType::from_sql("numeric(10,2)"), ColumnType::Numeric);
    /// assert_eq!(ColumnType::from_sql("timestamp with time zone"), ColumnType::TimestampTz);
    /// assert_eq!(ColumnType::from_sql("tinyint(1)"), ColumnType::Boolean);
    /// assert_eq!(ColumnType::from_sql("_int4"), ColumnType::Array);
    /// assert_eq!(ColumnType::from_sql("bigint(20) unsigned"), ColumnType::Integer);
    /// // Only integer type names are integers, not every name holding "int".
    /// assert_eq!(ColumnType::from_sql("point"), ColumnType::Text);
    /// ```
    pub fn from_sql(declared: &str) -> ColumnType {
        let t = declared.trim().to_ascii_lowercase();
        if t.ends_with("[]") || (t.starts_with('_') && t.len() > 1) || t == "array" {
            return ColumnType::Array;
        }
        let base = t.split(['(', ' ']).next().unwrap_or("");
        match base {
            "bool" | "boolean" => ColumnType::Boolean,
            "tinyint" if t.starts_with("tinyint(1)") => ColumnType::Boolean,
            "json" | "jsonb" => ColumnType::Json,
            "date" => ColumnType::Date,
            "uuid" => ColumnType::Uuid,
            "bytea" | "blob" | "tinyblob" | "mediumblob" | "longblob" | "binary" | "varbinary" => ColumnType::Binary,
            "enum" => ColumnType::Enum,
            "numeric" | "decimal" | "money" => ColumnType::Numeric,
            "real" | "float" | "float4" | "float8" | "double" => ColumnType::Float,
            "timestamptz" => ColumnType::TimestampTz,
            "timestamp" | "datetime" if t.contains("with time zone") && !t.contains("without") => ColumnType::TimestampTz,
            "timestamp" | "datetime" => ColumnType::Timestamp,
            "time" | "timetz" => ColumnType::Time,
            // MySQL's YEAR is a number (1901-2155).
            "year" => ColumnType::Integer,
            _ if is_integer(&t) => ColumnType::Integer,
            _ => ColumnType::Text,
        }
    }

    /// The type named by a `::cast` in a select, if restgate supports it.
    pub fn from_cast(name: &str) -> Option<ColumnType> {
        Some(match name.to_ascii_lowercase().as_str() {
            "text" | "varchar" | "char" | "string" => ColumnType::Text,
            "int" | "integer" | "int2" | "int4" | "int8" | "bigint" | "smallint" => ColumnType::Integer,
            "numeric" | "decimal" => ColumnType::Numeric,
            "real" | "float" | "float4" | "float8" | "double" => ColumnType::Float,
            "bool" | "boolean" => ColumnType::Boolean,
            "json" | "jsonb" => ColumnType::Json,
            "date" => ColumnType::Date,
            "time" => ColumnType::Time,
            "timestamp" => ColumnType::Timestamp,
            "timestamptz" => ColumnType::TimestampTz,
            "uuid" => ColumnType::Uuid,
            _ => return None,
        })
    }

    /// The PostgreSQL-style name used in error messages.
    pub fn pg_name(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Float => "double precision",
            ColumnType::Numeric => "numeric",
            ColumnType::Boolean => "boolean",
            ColumnType::Text => "text",
            ColumnType::Json => "json",
            ColumnType::Date => "date",
            ColumnType::Time => "time",
            ColumnType::Timestamp => "timestamp",
            ColumnType::TimestampTz => "timestamp with time zone",
            ColumnType::Uuid => "uuid",
            ColumnType::Binary => "bytea",
            ColumnType::Array => "array",
            ColumnType::Enum => "enum",
        }
    }
}

/// Whether a lowercase declared type names an integer: one of the integer
/// names of the three databases, with any display width (`int(11)`) and
/// `unsigned`/`signed`/`zerofill` modifiers (`bigint(20) unsigned`), or
/// SQLite's `unsigned big int`. Not every name holding `int`: `point`,
/// `interval` and `int4range` are not integers.
fn is_integer(t: &str) -> bool {
    let mut bare = String::with_capacity(t.len());
    let mut depth = 0u32;
    for c in t.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                bare.push(' ');
            }
            c if depth == 0 => bare.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = bare.split_whitespace().filter(|w| !matches!(*w, "unsigned" | "signed" | "zerofill")).collect();
    match words.as_slice() {
        ["big", "int"] => true,
        [name] => matches!(
            *name,
            "tinyint"
                | "smallint"
                | "mediumint"
                | "middleint"
                | "int"
                | "integer"
                | "bigint"
                | "int1"
                | "int2"
                | "int3"
                | "int4"
                | "int8"
                | "serial"
                | "smallserial"
                | "bigserial"
                | "serial2"
                | "serial4"
                | "serial8"
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::ColumnType;

    #[test]
    fn integer_names_with_widths_and_modifiers_are_integers() {
        for t in [
            "int",
            "INTEGER",
            "int(11)",
            "int unsigned",
            "int(10) unsigned",
            "bigint(20) unsigned",
            "bigint(20) unsigned zerofill",
            "int(5) unsigned zerofill",
            "mediumint",
            "mediumint(8) unsigned",
            "smallint",
            "tinyint(4)",
            "tinyint(3) unsigned",
            "int2",
            "int4",
            "int8",
            "serial",
            "bigserial",
            "smallserial",
            "UNSIGNED BIG INT",
        ] {
            assert_eq!(ColumnType::from_sql(t), ColumnType::Integer, "{t}");
        }
        // tinyint(1) stays MySQL's boolean.
        assert_eq!(ColumnType::from_sql("tinyint(1)"), ColumnType::Boolean);
        assert_eq!(ColumnType::from_sql("tinyint(1) unsigned"), ColumnType::Boolean);
    }

    #[test]
    fn names_merely_holding_int_are_not_integers() {
        for t in [
            "point",
            "POINT",
            "geometry",
            "linestring",
            "polygon",
            "multipoint",
            "multilinestring",
            "multipolygon",
            "geometrycollection",
            "geomcollection",
            "interval",
            "int4range",
            "int8multirange",
            "constraint",
            "print",
        ] {
            assert_eq!(ColumnType::from_sql(t), ColumnType::Text, "{t}");
        }
    }

    #[test]
    fn other_types_are_unchanged() {
        assert_eq!(ColumnType::from_sql("decimal(10,2) unsigned zerofill"), ColumnType::Numeric);
        assert_eq!(ColumnType::from_sql("double precision"), ColumnType::Float);
        assert_eq!(ColumnType::from_sql("character varying(20)"), ColumnType::Text);
        assert_eq!(ColumnType::from_sql("_int4"), ColumnType::Array);
        assert_eq!(ColumnType::from_sql("int[]"), ColumnType::Array);
        assert_eq!(ColumnType::from_sql("bit(8)"), ColumnType::Text);
    }
}
