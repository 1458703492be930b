//! Stage 1: HTTP request → [`ApiRequest`], a pure parse of the client's intent.
//!
//! No I/O, no catalog: names stay names and values stay text. Malformed
//! input is a 4xx [`ApiError`] (PGRST100 for the query grammar) whose message
//! points at the offending part; nothing here panics on any input.
//!
//! # Example
//!
//! ```
//! use restgate_core::request::{ApiRequest, Action, Target};
//!
//! let req = ApiRequest::parse(
//!     &http::Method::GET,
//!     "/people",
//!     Some("select=id,name&age=gte.18&order=name.desc&limit=10"),
//!     &http::HeaderMap::new(),
//!     &[],
//! )
//! .unwrap();
//! assert_eq!(req.action, Action::Read { headers_only: false });
//! assert_eq!(req.target, Target::Table("people".into()));
//! assert_eq!(req.filters.len(), 1);
//! assert_eq!(req.limit, Some(10));
//! ```

pub mod grammar;
pub mod media;
pub mod prefer;

use std::borrow::Cow;

use http::{HeaderMap, Method, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::error::ApiError;
pub use grammar::{
    Direction, EmbedItem, Field, Filter, FtsOperator, IsValue, JsonKey, JsonStep, LogicNode, LogicOp, LogicTree, Nulls, Operation,
    Operator, OrderTerm, Quantifier, SelectItem,
};
pub use media::{Accept, ContentType, Representation};
pub use prefer::{CountPref, Handling, Missing, Preferences, Resolution, ReturnPref, TxPref};

/// What the client wants done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// GET (or HEAD when `headers_only`).
    Read {
        /// HEAD: headers only.
        headers_only: bool,
    },
    /// POST: insert (or upsert with `resolution=`).
    Insert,
    /// PATCH: update matching rows.
    Update,
    /// DELETE: delete matching rows.
    Delete,
    /// PUT: single-row upsert by primary key.
    Put,
    /// OPTIONS: which verbs the resource allows.
    Options,
}

/// What the request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/`: the API description.
    Root,
    /// `/{table_or_view}`.
    Table(String),
    /// `/rpc/{function}`.
    Rpc(String),
}

/// A request parameter scoped to an embedded resource by its path (`actors.order=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scoped<T> {
    /// Embed path, outermost first.
    pub path: Vec<String>,
    /// The parameter.
    pub item: T,
}

/// A parameter that applies to an embedded resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbedParam {
    /// `rel.col=op.val`
    Filter(Filter),
    /// `rel.or=(…)`
    Logic(LogicTree),
    /// `rel.order=…`
    Order(Vec<OrderTerm>),
    /// `rel.limit=N`
    Limit(u64),
    /// `rel.offset=N`
    Offset(u64),
}

/// The parsed request body: one or more JSON objects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    /// The objects, in order.
    pub rows: Vec<Map<String, Value>>,
    /// The body was a JSON array (or CSV), not a single object.
    pub is_array: bool,
}

impl Payload {
    /// The keys of the first object, in order.
    pub fn keys(&self) -> Vec<String> {
        self.rows.first().map(|r| r.keys().cloned().collect()).unwrap_or_default()
    }
}

/// The client's intent, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// The verb.
    pub action: Action,
    /// The addressed resource.
    pub target: Target,
    /// Schema chosen with `Accept-Profile` / `Content-Profile`.
    pub profile: Option<String>,
    /// `select=` (default `*`).
    pub select: Vec<SelectItem>,
    /// Top-level filters, ANDed.
    pub filters: Vec<Filter>,
    /// Top-level `or=`/`and=` trees, ANDed.
    pub logic: Vec<LogicTree>,
    /// Top-level `order=`.
    pub order: Vec<OrderTerm>,
    /// Top-level `limit=`.
    pub limit: Option<u64>,
    /// Top-level `offset=`.
    pub offset: Option<u64>,
    /// The `Range` header (GET only): first row and optional last row.
    pub range: Option<(u64, Option<u64>)>,
    /// Parameters of embedded resources.
    pub embed_params: Vec<Scoped<EmbedParam>>,
    /// `columns=`.
    pub columns: Option<Vec<String>>,
    /// `on_conflict=`.
    pub on_conflict: Option<Vec<String>>,
    /// RPC arguments given in the query string.
    pub args: Vec<(String, String)>,
    /// `Prefer`.
    pub prefer: Preferences,
    /// The negotiated response type.
    pub accept: Accept,
    /// The body, for writes.
    pub payload: Option<Payload>,
}

/// Decodes one query-string component (`+` is a space, then percent-decoding).
fn decode(s: &str) -> Result<Cow<'_, str>, ApiError> {
    if !s.contains(['+', '%']) {
        return Ok(Cow::Borrowed(s));
    }
    let s: Cow<'_, str> = if s.contains('+') { Cow::Owned(s.replace('+', " ")) } else { Cow::Borrowed(s) };
    let decoded = match percent_decode_str(&s).decode_utf8() {
        Ok(d) => d.into_owned(),
        Err(_) => {
            return Err(ApiError::parse("\"failed to parse query string\"", "the query string is not valid UTF-8 after percent-decoding"))
        }
    };
    Ok(Cow::Owned(decoded))
}

fn parse_limit(v: &str) -> Result<u64, ApiError> {
    match v.trim().parse::<i64>() {
        Ok(n) if n < 0 => Err(ApiError::range_not_satisfiable("Requested range not satisfiable")
            .with_details("Limit should be greater than or equal to zero.")),
        Ok(n) => Ok(n as u64),
        Err(_) => Err(ApiError::parse(format!("\"failed to parse limit ({v})\""), "expected an integer")),
    }
}

/// A negative offset is ignored, as PostgREST does.
fn parse_offset(v: &str) -> Result<Option<u64>, ApiError> {
    match v.trim().parse::<i64>() {
        Ok(n) if n < 0 => Ok(None),
        Ok(n) => Ok(Some(n as u64)),
        Err(_) => Err(ApiError::parse(format!("\"failed to parse offset ({v})\""), "expected an integer")),
    }
}

fn parse_name_list(what: &str, v: &str) -> Result<Vec<String>, ApiError> {
    let items = grammar::parse_select(v)
        .map_err(|_| ApiError::parse(format!("\"failed to parse {what} ({v})\""), "expected a comma-separated list of column names"))?;
    items
        .into_iter()
        .map(|i| match i {
            SelectItem::Field { field, alias: None, cast: None, aggregate: None } if field.json_path.is_empty() => Ok(field.name),
            _ => Err(ApiError::parse(format!("\"failed to parse {what} ({v})\""), "expected plain column names")),
        })
        .collect()
}

/// Parses the `Range` header: `from-[to]`, optionally with an `items=` prefix.
fn parse_range(headers: &HeaderMap) -> Result<Option<(u64, Option<u64>)>, ApiError> {
    let Some(v) = headers.get(http::header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let v = v.trim();
    let v = v.strip_prefix("items=").unwrap_or(v);
    let Some((a, b)) = v.split_once('-') else { return Ok(None) };
    if a.is_empty() || !a.bytes().all(|c| c.is_ascii_digit()) || !b.bytes().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let (Ok(from), to) = (a.parse::<u64>(), if b.is_empty() { Ok(None) } else { b.parse::<u64>().map(Some) }) else {
        return Ok(None);
    };
    let Ok(to) = to else { return Ok(None) };
    if let Some(to) = to {
        if from > to {
            return Err(ApiError::range_not_satisfiable("Requested range not satisfiable")
                .with_details("The lower boundary must be lower than or equal to the upper boundary in the Range header."));
        }
    }
    Ok(Some((from, to)))
}

impl ApiRequest {
    /// Parses a request. `path` is relative to the mount point and starts with `/`.
    pub fn parse(method: &Method, path: &str, query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<ApiRequest, ApiError> {
        let target = parse_target(path)?;
        let action = match *method {
            Method::GET => Action::Read { headers_only: false },
            Method::HEAD => Action::Read { headers_only: true },
            Method::POST => Action::Insert,
            Method::PATCH => Action::Update,
            Method::DELETE => Action::Delete,
            Method::PUT => Action::Put,
            Method::OPTIONS => Action::Options,
            _ => return Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "PGRST117", format!("Unsupported HTTP method: {method}"))),
        };
        let is_read = matches!(action, Action::Read { .. });
        let root = target == Target::Root;
        let prefer = Preferences::from_headers(headers)?;
        let accept = Accept::from_headers(headers, root)?;
        let profile_header = if is_read || action == Action::Options { "accept-profile" } else { "content-profile" };
        let profile = headers.get(profile_header).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_owned());

        let mut req = ApiRequest {
            action,
            target,
            profile,
            select: Vec::new(),
            filters: Vec::with_capacity(4),
            logic: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: None,
            range: if *method == Method::GET { parse_range(headers)? } else { None },
            embed_params: Vec::new(),
            columns: None,
            on_conflict: None,
            args: Vec::new(),
            prefer,
            accept,
            payload: None,
        };
        let is_rpc = matches!(req.target, Target::Rpc(_));
        let mut selected = false;

        for pair in query.unwrap_or("").split('&') {
            if pair.is_empty() {
                continue;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(k)?;
            let value = decode(v)?;
            let (key, value) = (key.as_ref(), value.as_ref());
            match key {
                "select" => {
                    req.select = grammar::parse_select(value)?;
                    selected = true;
                }
                "columns" => req.columns = Some(parse_name_list("columns", value)?),
                "on_conflict" => req.on_conflict = Some(parse_name_list("on_conflict", value)?),
                _ => {
                    let (path, word) = grammar::split_reserved(key);
                    let param = match word {
                        "order" => EmbedParam::Order(grammar::parse_order(value)?),
                        "limit" => EmbedParam::Limit(parse_limit(value)?),
                        "offset" => match parse_offset(value)? {
                            Some(n) => EmbedParam::Offset(n),
                            None => continue,
                        },
                        "or" | "and" | "not.or" | "not.and" => {
                            let op = if word.ends_with("or") { LogicOp::Or } else { LogicOp::And };
                            EmbedParam::Logic(grammar::parse_logic(key, op, word.starts_with("not."), value)?)
                        }
                        _ => {
                            let (path, field) = grammar::split_key(key)?;
                            if is_rpc && path.is_empty() && field.json_path.is_empty() && !looks_like_filter(value) {
                                req.args.push((field.name, value.to_owned()));
                                continue;
                            }
                            let f = grammar::parse_filter(key, field, value)?;
                            if path.is_empty() {
                                req.filters.push(f);
                            } else {
                                req.embed_params.push(Scoped { path, item: EmbedParam::Filter(f) });
                            }
                            continue;
                        }
                    };
                    if path.is_empty() {
                        match param {
                            EmbedParam::Order(o) => req.order = o,
                            EmbedParam::Limit(n) => req.limit = Some(n),
                            EmbedParam::Offset(n) => req.offset = Some(n),
                            EmbedParam::Logic(t) => req.logic.push(t),
                            EmbedParam::Filter(f) => req.filters.push(f),
                        }
                    } else {
                        req.embed_params.push(Scoped { path, item: param });
                    }
                }
            }
        }

        if !selected {
            req.select.push(SelectItem::Star);
        }
        if matches!(action, Action::Insert | Action::Update | Action::Put) && !matches!(req.target, Target::Root) {
            req.payload = Some(parse_body(headers, body, req.columns.is_some())?);
        }
        Ok(req)
    }
}

/// Whether an RPC query value is a filter (`op.value`) rather than an argument.
fn looks_like_filter(v: &str) -> bool {
    let v = v.strip_prefix("not.").unwrap_or(v);
    let op = v.split(['.', '(']).next().unwrap_or("");
    v.len() > op.len()
        && matches!(
            op,
            "eq" | "neq"
                | "gt"
                | "gte"
                | "lt"
                | "lte"
                | "like"
                | "ilike"
                | "match"
                | "imatch"
                | "in"
                | "is"
                | "isdistinct"
                | "fts"
                | "plfts"
                | "phfts"
                | "wfts"
                | "cs"
                | "cd"
                | "ov"
                | "sl"
                | "sr"
                | "nxr"
                | "nxl"
                | "adj"
        )
}

fn parse_target(path: &str) -> Result<Target, ApiError> {
    let invalid = || ApiError::new(StatusCode::NOT_FOUND, "PGRST125", "Invalid path specified in request URL");
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Ok(Target::Root);
    }
    let segs: Vec<&str> = trimmed.split('/').collect();
    let dec = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned()).map_err(|_| invalid());
    match segs.as_slice() {
        [name] if !name.is_empty() => Ok(Target::Table(dec(name)?)),
        [name, ""] if !name.is_empty() => Ok(Target::Table(dec(name)?)),
        ["rpc", f] if !f.is_empty() => Ok(Target::Rpc(dec(f)?)),
        _ => Err(invalid()),
    }
}

/// Parses a write body by its content type.
fn parse_body(headers: &HeaderMap, body: &[u8], has_columns: bool) -> Result<Payload, ApiError> {
    let payload = match ContentType::from_headers(headers)? {
        ContentType::Json => parse_json_body(body)?,
        ContentType::Csv => parse_csv_body(body)?,
        ContentType::Form => {
            let text = std::str::from_utf8(body).map_err(|_| ApiError::invalid_body("The form body is not valid UTF-8"))?;
            let mut row = Map::new();
            let invalid = |_| ApiError::invalid_body("The form body is not valid UTF-8 after percent-decoding");
            for pair in text.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                row.insert(decode(k).map_err(invalid)?.into_owned(), Value::String(decode(v).map_err(invalid)?.into_owned()));
            }
            Payload { rows: vec![row], is_array: false }
        }
    };
    if !has_columns && payload.rows.len() > 1 {
        let first = &payload.rows[0];
        let same = |r: &Map<String, Value>| r.len() == first.len() && r.keys().all(|k| first.contains_key(k));
        if !payload.rows.iter().all(same) {
            return Err(ApiError::invalid_body("All object keys must match"));
        }
    }
    Ok(payload)
}

fn parse_json_body(body: &[u8]) -> Result<Payload, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_body("Empty or invalid json").with_details("the request body is empty"));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::invalid_body("Empty or invalid json").with_details(format!("{e}")))?;
    match value {
        Value::Object(m) => Ok(Payload { rows: vec![m], is_array: false }),
        Value::Array(items) => {
            let mut rows = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Object(m) => rows.push(m),
                    _ => return Err(ApiError::invalid_body("All elements of the JSON array must be objects")),
                }
            }
            Ok(Payload { rows, is_array: true })
        }
        _ => Err(ApiError::invalid_body("The JSON body must be an object or an array of objects")),
    }
}

/// CSV body: first line is the header; an empty field is `''`, the literal `NULL` is null.
fn parse_csv_body(body: &[u8]) -> Result<Payload, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::invalid_body("The CSV body is not valid UTF-8"))?;
    let mut records = csv_records(text)?;
    if records.is_empty() {
        return Err(ApiError::invalid_body("The CSV body is empty").with_details("the first line must name the columns"));
    }
    let header = records.remove(0);
    let mut rows = Vec::with_capacity(records.len());
    for (i, rec) in records.into_iter().enumerate() {
        if rec.len() != header.len() {
            return Err(ApiError::invalid_body(format!("CSV line {} has {} fields, the header has {}", i + 2, rec.len(), header.len())));
        }
        let row: Map<String, Value> = header
            .iter()
            .zip(rec)
            .map(|(h, (v, was_quoted))| (h.0.clone(), if v == "NULL" && !was_quoted { Value::Null } else { Value::String(v) }))
            .collect();
        rows.push(row);
    }
    Ok(Payload { rows, is_array: true })
}

/// RFC 4180 records: fields with a flag telling whether they were quoted.
fn csv_records(text: &str) -> Result<Vec<Vec<(String, bool)>>, ApiError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(ch) => field.push(ch),
                        None => return Err(ApiError::invalid_body("Unterminated quoted field in the CSV body")),
                    }
                }
            }
            ',' => {
                record.push((std::mem::take(&mut field), quoted));
                quoted = false;
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push((std::mem::take(&mut field), quoted));
                records.push(std::mem::take(&mut record));
                quoted = false;
                at_field_start = true;
                any = false;
            }
            ch => {
                field.push(ch);
                at_field_start = false;
            }
        }
    }
    if any {
        record.push((field, quoted));
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests;
