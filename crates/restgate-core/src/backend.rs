//! The contract between the core and a database: [`Backend`] and [`WriteTx`].
//!
//! A backend introspects its database into a [`Catalog`], runs reads, and
//! opens write transactions. Statements always select a single text column
//! holding a JSON document per row (or a single integer, for counts); the
//! backend appends those texts to a [`JsonRows`] buffer as they stream from
//! the driver, so no row is ever decoded into Rust values.
//!
//! See `docs/writing-a-backend.md` for how to add a database.

use async_trait::async_trait;

use crate::catalog::Catalog;
use crate::error::BackendError;
use crate::request::CountPref;
use crate::sql::{Dialect, Statement};

/// JSON texts of rows, joined with commas into one buffer as they arrive.
#[derive(Debug, Clone, Default)]
pub struct JsonRows {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl JsonRows {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one row's JSON text.
    pub fn push(&mut self, row: &[u8]) {
        if !self.ends.is_empty() {
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(row);
        self.ends.push(self.buf.len());
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The rows joined with commas (no brackets).
    pub fn joined(&self) -> &[u8] {
        &self.buf
    }

    /// Takes the joined buffer.
    pub fn into_joined(self) -> Vec<u8> {
        self.buf
    }

    /// Each row's text.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let row = &self.buf[start..end];
            start = end + 1;
            row
        })
    }
}

/// A read: the rows, and optionally the total count, run consistently.
#[derive(Debug, Clone)]
pub struct ReadQuery {
    /// Selects one JSON text per row.
    pub rows: Statement,
    /// Selects one integer: the total, when a count was asked for.
    pub count: Option<Statement>,
    /// The kind of count asked for; backends without a planner estimate count exactly.
    pub count_kind: Option<CountPref>,
}

/// What a read returns.
#[derive(Debug, Clone, Default)]
pub struct ReadOutput {
    /// The rows.
    pub rows: JsonRows,
    /// The total, when counted.
    pub total: Option<u64>,
}

/// A database restgate can serve.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The SQL dialect statements are rendered in.
    fn dialect(&self) -> &'static dyn Dialect;

    /// Reads the schema into a catalog.
    async fn introspect(&self) -> Result<Catalog, BackendError>;

    /// Runs a read (rows, and the count when asked) in one read-only snapshot.
    async fn read(&self, query: &ReadQuery) -> Result<ReadOutput, BackendError>;

    /// Opens a read-write transaction.
    async fn begin(&self) -> Result<Box<dyn WriteTx>, BackendError>;
}

/// An open read-write transaction. Dropping it without commit rolls back.
#[async_trait]
pub trait WriteTx: Send {
    /// Runs a statement that selects (or returns) one JSON text per row.
    async fn fetch_rows(&mut self, stmt: &Statement) -> Result<JsonRows, BackendError>;
    /// Runs a statement that selects one integer.
    async fn fetch_count(&mut self, stmt: &Statement) -> Result<u64, BackendError>;
    /// Runs a statement and returns the number of affected rows.
    async fn execute(&mut self, stmt: &Statement) -> Result<u64, BackendError>;
    /// Commits.
    async fn commit(self: Box<Self>) -> Result<(), BackendError>;
    /// Rolls back.
    async fn rollback(self: Box<Self>) -> Result<(), BackendError>;
}
