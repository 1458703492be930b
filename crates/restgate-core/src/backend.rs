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

/// The JSON texts of rows, kept as one JSON array in one buffer.
///
/// A backend appends what its statements return: one object per row
/// ([`push`](Self::push)), or a run of objects the database already joined
/// with commas ([`push_joined`](Self::push_joined), for dialects that
/// aggregate a whole read into one text). Either way the buffer is the
/// response body of a JSON read, with no copy.
#[derive(Debug, Clone)]
pub struct JsonRows {
    /// `[` followed by the rows joined with commas (no closing bracket).
    buf: Vec<u8>,
    /// End offset of each row in `buf`.
    ends: Vec<usize>,
}

impl Default for JsonRows {
    fn default() -> Self {
        JsonRows { buf: vec![b'['], ends: Vec::new() }
    }
}

impl JsonRows {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    fn separate(&mut self) {
        if !self.ends.is_empty() {
            self.buf.push(b',');
        }
    }

    /// Appends one row's JSON text.
    pub fn push(&mut self, row: &[u8]) {
        self.separate();
        self.buf.extend_from_slice(row);
        self.ends.push(self.buf.len());
    }

    /// Appends JSON values joined with commas (`{..},{..}`), finding where
    /// each ends with a scan of strings and nesting.
    pub fn push_joined(&mut self, rows: &[u8]) {
        if rows.is_empty() {
            return;
        }
        self.separate();
        let base = self.buf.len();
        self.buf.extend_from_slice(rows);
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for (i, &b) in rows.iter().enumerate() {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => depth = depth.saturating_sub(1),
                b',' if depth == 0 => self.ends.push(base + i),
                _ => {}
            }
        }
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
        &self.buf[1..]
    }

    /// The rows as a JSON array, without copying.
    pub fn into_array(mut self) -> Vec<u8> {
        self.buf.push(b']');
        self.buf
    }

    /// Each row's text.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 1;
        self.ends.iter().map(move |&end| {
            let row = &self.buf[start..end];
            start = end + 1;
            row
        })
    }
}

#[cfg(test)]
mod tests {
    use super::JsonRows;

    #[test]
    fn joined_runs_are_split_into_rows() {
        let mut rows = JsonRows::new();
        rows.push(br#"{"a":1}"#);
        rows.push_joined(br#"{"s":"x,}\"{"},{"n":[1,{"m":2}]},{}"#);
        let all: Vec<&[u8]> = rows.iter().collect();
        assert_eq!(all, vec![&br#"{"a":1}"#[..], br#"{"s":"x,}\"{"}"#, br#"{"n":[1,{"m":2}]}"#, b"{}"]);
        assert_eq!(rows.into_array(), br#"[{"a":1},{"s":"x,}\"{"},{"n":[1,{"m":2}]},{}]"#.to_vec());
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

    /// Runs a write that is a single statement with nothing to check
    /// afterwards: with `rows`, it returns one JSON text per affected row
    /// (RETURNING); otherwise only the number of affected rows. A single
    /// statement is atomic by itself, so a backend may run it without an
    /// explicit transaction; the default wraps it in one.
    async fn write_one(&self, stmt: &Statement, rows: bool) -> Result<(JsonRows, u64), BackendError> {
        let mut tx = self.begin().await?;
        let result = if rows {
            tx.fetch_rows(stmt).await.map(|r| {
                let n = r.len() as u64;
                (r, n)
            })
        } else {
            tx.execute(stmt).await.map(|n| (JsonRows::new(), n))
        };
        match result {
            Ok(v) => {
                tx.commit().await?;
                Ok(v)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }
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
