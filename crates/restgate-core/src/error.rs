//! Errors of every stage, and how they are rendered to the client.
//!
//! Each failure a client can cause is an [`ApiError`]: an HTTP status, a
//! stable code (PostgREST's `PGRSTxxx` codes, or PostgreSQL SQLSTATEs for
//! value errors, so existing clients can match on them), a message and
//! optional details and hint. How an error becomes a response body is
//! decided by an [`ErrorFormat`]: [`PostgrestFormat`] (the default) writes
//! `{"code","message","details","hint"}`, [`ProblemJsonFormat`] writes an
//! RFC 9457 `application/problem+json` document.
//!
//! # Example
//!
//! ```
//! use restgate_core::error::{ApiError, ErrorFormat, PostgrestFormat};
//!
//! let err = ApiError::parse("failed to parse filter (eq)", "unexpected end of input");
//! assert_eq!(err.status.as_u16(), 400);
//! let (content_type, body) = PostgrestFormat.render(&err);
//! assert_eq!(content_type, "application/json; charset=utf-8");
//! let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! assert_eq!(v["code"], "PGRST100");
//! ```

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;

/// A client-visible failure: status, code, message, details, hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status of the response.
    pub status: StatusCode,
    /// Stable machine-readable code (`PGRST100`, `23505`, …).
    pub code: Cow<'static, str>,
    /// One-line human-readable message.
    pub message: String,
    /// Further details, if any.
    pub details: Option<String>,
    /// Details as a JSON value instead of a string (PGRST201 lists its
    /// candidates as an array); rendered in place of `details` when set.
    pub details_json: Option<Box<serde_json::Value>>,
    /// A hint on how to fix the request, if any.
    pub hint: Option<String>,
    /// Extra response headers (e.g. `Content-Range` on 416, `Allow` on 405);
    /// boxed to keep `Result<_, ApiError>` small on the happy path.
    pub headers: Option<Box<Vec<(http::HeaderName, String)>>>,
}

impl ApiError {
    /// A new error with no details and no hint.
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        ApiError { status, code: code.into(), message: message.into(), details: None, details_json: None, hint: None, headers: None }
    }

    /// Sets the details.
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// Sets the details to a JSON value (an array of candidates, say).
    pub fn with_details_json(mut self, details: serde_json::Value) -> Self {
        self.details_json = Some(Box::new(details));
        self
    }

    /// Sets the hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: http::HeaderName, value: impl Into<String>) -> Self {
        self.headers.get_or_insert_with(Default::default).push((name, value.into()));
        self
    }

    /// PGRST100: the query string (select, filter, order, logic tree) did not parse.
    pub fn parse(message: impl Into<String>, details: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PGRST100", message).with_details(details)
    }

    /// PGRST102: the request body is invalid.
    pub fn invalid_body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PGRST102", message)
    }

    /// PGRST103: the requested range cannot be satisfied.
    pub fn range_not_satisfiable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::RANGE_NOT_SATISFIABLE, "PGRST103", message)
    }

    /// PGRST127: a feature the backend does not offer.
    pub fn not_implemented(message: impl Into<String>, details: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PGRST127", message).with_details(details)
    }

    /// 42703: a column that does not exist (or is not visible).
    pub fn unknown_column(table: &str, column: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "42703", format!("column {table}.{column} does not exist"))
    }

    /// PGRST204: a `columns=` or payload key that is not a column.
    pub fn unknown_payload_column(table: &str, column: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PGRST204", format!("Could not find the '{column}' column of '{table}' in the schema cache"))
    }

    /// PGRSTX00-style internal error whose text is not shown to the client.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "PGRSTX00", "Internal server error")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Renders an [`ApiError`] into a content type and a body.
///
/// Implement it to give errors your own shape; pass it to
/// `RestGateBuilder::error_format`.
pub trait ErrorFormat: Send + Sync + 'static {
    /// The content type and the body for `error`.
    fn render(&self, error: &ApiError) -> (&'static str, Bytes);
}

/// PostgREST's error body: `{"code","message","details","hint"}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgrestFormat;

#[derive(Serialize)]
struct PostgrestBody<'a> {
    code: &'a str,
    details: Details<'a>,
    hint: Option<&'a str>,
    message: &'a str,
}

impl ErrorFormat for PostgrestFormat {
    fn render(&self, e: &ApiError) -> (&'static str, Bytes) {
        let body = PostgrestBody { code: &e.code, details: Details::of(e), hint: e.hint.as_deref(), message: &e.message };
        ("application/json; charset=utf-8", Bytes::from(serde_json::to_vec(&body).unwrap_or_default()))
    }
}

/// An error's details: text, a JSON value, or null.
#[derive(Serialize)]
#[serde(untagged)]
enum Details<'a> {
    Text(Option<&'a str>),
    Json(&'a serde_json::Value),
}

impl<'a> Details<'a> {
    fn of(e: &'a ApiError) -> Self {
        match &e.details_json {
            Some(v) => Details::Json(v),
            None => Details::Text(e.details.as_deref()),
        }
    }
}

/// RFC 9457 problem details: `type`, `title`, `status`, `detail`, plus the
/// `code` and `hint` members.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemJsonFormat;

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidates: Option<&'a serde_json::Value>,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
}

impl ErrorFormat for ProblemJsonFormat {
    fn render(&self, e: &ApiError) -> (&'static str, Bytes) {
        let body = ProblemBody {
            kind: "about:blank",
            title: &e.message,
            status: e.status.as_u16(),
            detail: e.details.as_deref(),
            candidates: e.details_json.as_deref(),
            code: &e.code,
            hint: e.hint.as_deref(),
        };
        ("application/problem+json", Bytes::from(serde_json::to_vec(&body).unwrap_or_default()))
    }
}

/// What went wrong inside a backend, classified so it maps to a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// Unique or primary-key violation (409).
    UniqueViolation,
    /// Foreign-key violation (409).
    ForeignKeyViolation,
    /// NOT NULL violation (400).
    NotNullViolation,
    /// CHECK constraint violation (400).
    CheckViolation,
    /// A value the database could not accept (400).
    InvalidValue,
    /// Serialization failure / deadlock / busy database (503, retry).
    Serialization,
    /// Statement or pool timeout (504).
    Timeout,
    /// The database cannot be reached (503).
    Unavailable,
    /// The statement is not allowed here, e.g. writing to a read-only view (405).
    ReadOnly,
    /// Anything else (500).
    Other,
}

/// An error raised by a [`crate::backend::Backend`].
///
/// `message` is for logs only; the client sees a message derived from
/// `kind` and `sqlstate`, so driver texts (which may name hidden columns or
/// carry connection strings) never leak.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind:?} ({sqlstate:?}): {message}")]
pub struct BackendError {
    /// Classification.
    pub kind: BackendErrorKind,
    /// The SQLSTATE or driver code, where the database gives one.
    pub sqlstate: Option<String>,
    /// The driver's message, for logs.
    pub message: String,
}

impl BackendError {
    /// A new backend error.
    pub fn new(kind: BackendErrorKind, sqlstate: Option<String>, message: impl Into<String>) -> Self {
        BackendError { kind, sqlstate, message: message.into() }
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        use BackendErrorKind::*;
        // The driver's text stays in the server log: it may name hidden objects.
        tracing::debug!(kind = ?e.kind, sqlstate = ?e.sqlstate, message = %e.message, "database error");
        if e.kind == Other {
            tracing::error!(sqlstate = ?e.sqlstate, message = %e.message, "unexpected database error");
        }
        let code = |default: &'static str| -> Cow<'static, str> {
            match &e.sqlstate {
                Some(s) if s.len() == 5 && s.bytes().all(|b| b.is_ascii_alphanumeric()) => Cow::Owned(s.clone()),
                _ => Cow::Borrowed(default),
            }
        };
        match e.kind {
            UniqueViolation => ApiError::new(StatusCode::CONFLICT, "23505", "duplicate key value violates unique constraint"),
            ForeignKeyViolation => ApiError::new(StatusCode::CONFLICT, "23503", "insert or update violates foreign key constraint"),
            NotNullViolation => ApiError::new(StatusCode::BAD_REQUEST, "23502", "null value violates not-null constraint"),
            CheckViolation => ApiError::new(StatusCode::BAD_REQUEST, "23514", "new row violates check constraint"),
            InvalidValue => ApiError::new(StatusCode::BAD_REQUEST, code("22000"), "invalid input value"),
            Serialization => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "40001", "could not serialize access, retry the request")
                .with_header(http::header::RETRY_AFTER, "1"),
            // A statement the database cancelled (its statement timeout) keeps
            // PostgreSQL's code; waiting for a pooled connection is PGRST003.
            Timeout if e.sqlstate.as_deref() == Some("57014") => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, "57014", "canceling statement due to statement timeout")
            }
            Timeout => ApiError::new(StatusCode::GATEWAY_TIMEOUT, "PGRST003", "Timed out waiting for the database"),
            Unavailable => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "PGRST000", "Database client error. Retrying the connection.")
                .with_header(http::header::RETRY_AFTER, "1"),
            ReadOnly => ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "25006", "cannot execute this statement on a read-only resource"),
            Other => ApiError::internal(),
        }
    }
}
