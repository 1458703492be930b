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

/// Bytes that end a run inside a JSON string: the quote and the escape.
static STRING_STOP: [bool; 256] = byte_set(b"\"\\");
/// Bytes that matter outside JSON strings when splitting joined values.
static STRUCTURE: [bool; 256] = byte_set(b"\"{}[],");
/// Bytes that matter outside JSON strings in a row of
/// [`JsonRows::push_prefixed`]: a string, a prefixed string, a NUL.
static PREFIXED_STOP: [bool; 256] = byte_set(b"\"#\0");
/// Bytes a JSON string must escape: `"`, `\\` and the control characters.
static ESCAPE: [bool; 256] = {
    let mut t = byte_set(b"\"\\");
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t
};

const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}

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
    /// End offset of each row in `buf`, while every row's end is known
    /// (runs appended with [`push_counted`](Self::push_counted) are split
    /// only if someone iterates).
    ends: Vec<usize>,
    /// Number of rows.
    len: usize,
}

impl Default for JsonRows {
    fn default() -> Self {
        JsonRows { buf: vec![b'['], ends: Vec::new(), len: 0 }
    }
}

impl JsonRows {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    fn separate(&mut self) {
        if self.len > 0 {
            self.buf.push(b',');
        }
    }

    /// Whether `ends` holds every row's end.
    fn split(&self) -> bool {
        self.ends.len() == self.len
    }

    /// Appends one row's JSON text.
    pub fn push(&mut self, row: &[u8]) {
        let complete = self.split();
        self.separate();
        self.buf.extend_from_slice(row);
        self.len += 1;
        if complete {
            self.ends.push(self.buf.len());
        }
    }

    /// Appends one row's text in which a string may be written as
    /// `#<length>:<bytes>` — its UTF-8 bytes, unescaped, after their count
    /// in decimal digits — instead of a JSON string: the form the MySQL
    /// dialects build, because escaping in the server (`JSON_QUOTE`) costs
    /// it more than the whole rest of an object. Such strings are escaped
    /// here as the server's `JSON_QUOTE` escapes (`"` and `\\`, `\b` `\f`
    /// `\n` `\r` `\t`, other control characters `\u00XX`); the rest of
    /// the text, JSON strings included, is copied as it is.
    ///
    /// Nothing is appended when the text is not whole: a NUL byte outside
    /// a string (the mark a dialect leaves where the server cut a text), a
    /// length running past the end, or a string left open.
    ///
    /// ```
    /// use restgate_core::backend::JsonRows;
    ///
    /// let mut rows = JsonRows::new();
    /// rows.push_prefixed(br##"{"a":#4:x"\y,"b":"#1"}"##).unwrap();
    /// assert_eq!(rows.into_array(), br##"[{"a":"x\"\\y","b":"#1"}]"##);
    /// assert!(JsonRows::new().push_prefixed(b"{\"a\":#9:x}").is_err());
    /// assert!(JsonRows::new().push_prefixed(b"{\"a\":\0}").is_err());
    /// ```
    pub fn push_prefixed(&mut self, row: &[u8]) -> Result<(), CutText> {
        let complete = self.split();
        let start = self.buf.len();
        self.separate();
        match write_prefixed(row, &mut self.buf) {
            Ok(()) => {
                self.len += 1;
                if complete {
                    self.ends.push(self.buf.len());
                }
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(start);
                Err(e)
            }
        }
    }

    /// Appends `count` JSON values the database joined with commas and
    /// counted (`string_agg(…), count(…)`): no scan for where each ends
    /// unless the rows are iterated.
    pub fn push_counted(&mut self, rows: &[u8], count: usize) {
        if count == 0 {
            return;
        }
        self.separate();
        self.buf.extend_from_slice(rows);
        self.len += count;
    }

    /// Appends JSON values joined with commas (`{..},{..}`), finding where
    /// each ends with a scan of strings and nesting.
    pub fn push_joined(&mut self, rows: &[u8]) {
        if rows.is_empty() {
            return;
        }
        let complete = self.split();
        self.separate();
        let base = self.buf.len();
        self.buf.extend_from_slice(rows);
        let before = self.ends.len();
        split_values(rows, base, &mut self.ends);
        self.len += self.ends.len() - before;
        if !complete {
            // Ends of earlier counted runs are unknown: keep none.
            self.ends.clear();
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
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
        let ends = if self.split() {
            std::borrow::Cow::Borrowed(self.ends.as_slice())
        } else {
            let mut ends = Vec::with_capacity(self.len);
            if self.len > 0 {
                split_values(&self.buf[1..], 1, &mut ends);
            }
            std::borrow::Cow::Owned(ends)
        };
        let mut start = 1;
        (0..ends.len()).map(move |i| {
            let end = ends[i];
            let row = &self.buf[start..end];
            start = end + 1;
            row
        })
    }
}

/// A row's text that [`JsonRows::push_prefixed`] refused: not whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutText;

impl std::fmt::Display for CutText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a row's JSON text is not whole")
    }
}

impl std::error::Error for CutText {}

/// [`JsonRows::push_prefixed`]'s copy of `row` to `out`.
fn write_prefixed(row: &[u8], out: &mut Vec<u8>) -> Result<(), CutText> {
    out.reserve(row.len() + 16);
    let n = row.len();
    let mut i = 0;
    while i < n {
        let run = i;
        while i < n && !PREFIXED_STOP[usize::from(row[i])] {
            i += 1;
        }
        out.extend_from_slice(&row[run..i]);
        if i == n {
            break;
        }
        match row[i] {
            b'"' => {
                // A JSON string, copied up to its closing quote.
                let open = i;
                i += 1;
                loop {
                    while i < n && !STRING_STOP[usize::from(row[i])] {
                        i += 1;
                    }
                    match row.get(i) {
                        None => return Err(CutText),
                        Some(b'\\') => i += 2,
                        Some(_) => break,
                    }
                }
                i += 1;
                out.extend_from_slice(row.get(open..i).ok_or(CutText)?);
            }
            b'#' => {
                i += 1;
                let mut len = 0usize;
                let digits = i;
                while let Some(d @ b'0'..=b'9') = row.get(i) {
                    len = len.checked_mul(10).and_then(|l| l.checked_add(usize::from(d - b'0'))).ok_or(CutText)?;
                    i += 1;
                }
                if i == digits || row.get(i) != Some(&b':') {
                    return Err(CutText);
                }
                i += 1;
                let text = row.get(i..i.checked_add(len).ok_or(CutText)?).ok_or(CutText)?;
                escape_into(text, out);
                i += len;
            }
            _ => return Err(CutText),
        }
    }
    Ok(())
}

/// `text` as a JSON string, escaped as MySQL's and MariaDB's `JSON_QUOTE`
/// escape (see [`JsonRows::push_prefixed`]).
fn escape_into(text: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(b'"');
    let mut run = 0;
    for (i, &b) in text.iter().enumerate() {
        if !ESCAPE[usize::from(b)] {
            continue;
        }
        out.extend_from_slice(&text[run..i]);
        run = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
        }
    }
    out.extend_from_slice(&text[run..]);
    out.push(b'"');
}

/// Pushes to `ends` the end (offset by `base`) of each JSON value in
/// `rows`, values joined with commas.
fn split_values(rows: &[u8], base: usize, ends: &mut Vec<usize>) {
    // Table-driven: inside a string only `"` and `\\` matter, outside
    // only quotes, brackets and commas; every other byte is skipped in a
    // tight loop.
    let mut depth = 0usize;
    let mut i = 0;
    let n = rows.len();
    while i < n {
        let b = rows[i];
        match b {
            b'"' => {
                i += 1;
                loop {
                    while i < n && !STRING_STOP[usize::from(rows[i])] {
                        i += 1;
                    }
                    if i >= n {
                        break;
                    }
                    if rows[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    break; // the closing quote
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => ends.push(base + i),
            _ => {}
        }
        i += 1;
        while i < n && !STRUCTURE[usize::from(rows[i])] {
            i += 1;
        }
    }
    ends.push(base + rows.len());
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

    #[test]
    fn escapes_scalars_and_nesting_split_where_serde_json_does() {
        let values = [
            r#"{"t":"\\"}"#,
            r#"{"u":"\\\",]"}"#,
            r#""a,b""#,
            "12.5",
            "null",
            r#"[[],{},"]"]"#,
            r#"{"k":{"n":[1,2,{"x":","}]},"é":"ü,"}"#,
            "true",
        ];
        let mut rows = JsonRows::new();
        rows.push_joined(values.join(",").as_bytes());
        let all: Vec<&str> = rows.iter().map(|r| std::str::from_utf8(r).unwrap()).collect();
        assert_eq!(all, values);
        for v in values {
            serde_json::from_str::<serde_json::Value>(v).unwrap();
        }
        // The same values counted by the database: split only when iterated.
        let mut counted = JsonRows::new();
        counted.push(b"{}");
        counted.push_counted(values.join(",").as_bytes(), values.len());
        counted.push(b"[1]");
        assert_eq!(counted.len(), values.len() + 2);
        let all: Vec<&str> = counted.iter().map(|r| std::str::from_utf8(r).unwrap()).collect();
        assert_eq!(all[0], "{}");
        assert_eq!(&all[1..=values.len()], values);
        assert_eq!(all[values.len() + 1], "[1]");
        counted.push_joined(b"2,3");
        assert_eq!(counted.len(), values.len() + 4);
        assert_eq!(counted.iter().count(), values.len() + 4);
        let mut empty = JsonRows::new();
        empty.push_counted(b"", 0);
        assert!(empty.is_empty());
        assert_eq!(empty.into_array(), b"[]");
    }

    /// `#<len>:<bytes>` written with the byte count of `s`.
    fn prefixed(s: &str) -> String {
        format!("#{}:{s}", s.len())
    }

    #[test]
    fn prefixed_strings_are_escaped_as_json_quote_escapes_them() {
        let nasty = "q\"b\\s/\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}é€😀 #3:x";
        let row = format!(
            r##"{{"a":{},"b":"#2:\"#,\\","e":{},"n":[{},null,{{"k\"#":{}}}],"j":{{"x":"}}"}}}}"##,
            prefixed(nasty),
            prefixed(""),
            prefixed("1"),
            prefixed("#"),
        );
        let mut rows = JsonRows::new();
        rows.push(b"{}");
        rows.push_prefixed(row.as_bytes()).unwrap();
        rows.push_prefixed(prefixed("last").as_bytes()).unwrap();
        let all: Vec<&str> = rows.iter().map(|r| std::str::from_utf8(r).unwrap()).collect();
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[1],
            "{\"a\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u001F\u{7f}é€😀 #3:x\",\"b\":\"#2:\\\"#,\\\\\",\"e\":\"\",\
             \"n\":[\"1\",null,{\"k\\\"#\":\"#\"}],\"j\":{\"x\":\"}\"}}"
        );
        let v: serde_json::Value = serde_json::from_str(all[1]).unwrap();
        assert_eq!(v["a"], nasty);
        assert_eq!(v["b"], "#2:\"#,\\");
        assert_eq!(v["n"][2]["k\"#"], "#");
        assert_eq!(all[2], r#""last""#);
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn prefixed_rows_that_are_not_whole_are_refused_and_leave_nothing() {
        let mut rows = JsonRows::new();
        rows.push_prefixed(b"[1]").unwrap();
        for bad in [
            &b"{\"a\":\0}"[..],
            b"{\"a\":#5:abc}",
            b"{\"a\":#:abc}",
            b"{\"a\":#3abc}",
            b"{\"a\":#99999999999999999999999:x}",
            b"{\"a\":\"open",
            b"{\"a\":\"esc\\",
            b"#",
        ] {
            assert!(rows.push_prefixed(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        // A NUL inside a prefixed string is a character like any other.
        rows.push_prefixed(b"#3:a\0b").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.into_array(), br#"[[1],"a\u0000b"]"#.to_vec());
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
