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
}

impl Catalog {
    /// A catalog of `tables`, serving `schemas` (the first is the default).
    pub fn new(schemas: Vec<String>, mut tables: Vec<Table>) -> Self {
        for t in &mut tables {
            t.sql_schema = intern(&t.schema);
            t.sql_name = intern(&t.name);
            for c in &mut t.columns {
                c.sql_name = intern(&c.name);
            }
        }
        let index = tables.iter().enumerate().map(|(i, t)| ((t.schema.clone(), t.name.clone()), i)).collect();
        Catalog { schemas, tables, index }
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
        }
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
            sql_type,
            nullable: true,
            default: None,
            generated: false,
            auto_increment: false,
            description: None,
            enum_values: Vec::new(),
            fulltext: false,
            sql_name: "",
        }
    }

    /// Marks the column NOT NULL (builder style, for tests and hand-made catalogs).
    pub fn primary_key(mut self) -> Self {
        self.nullable = false;
        self
    }
}

/// A foreign key.
#[derive(Debug, Clone)]
pub struct ForeignKey {
    /// Constraint name (SQLite has none: `fk_<table>_<columns>` is made up).
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
            _ if base.contains("int") || base == "serial" || base == "bigserial" || base == "smallserial" => ColumnType::Integer,
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
