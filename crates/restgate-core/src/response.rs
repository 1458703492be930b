//! Stage 5: outcomes → HTTP responses: status, `Content-Range`,
//! `Location`, `Preference-Applied`, and the body in the negotiated format.

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::Value as Json;

use crate::backend::{JsonRows, ReadOutput};
use crate::error::{ApiError, ErrorFormat};
use crate::exec::{singular_error, WriteOutcome};
use crate::plan::{ReadPlan, Returning, Shape, WriteOp, WritePlan};
use crate::request::{Accept, Action, Representation, Resolution};

/// The response body type.
pub type Body = Full<Bytes>;

const QUERY_VALUE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'&').add(b'+').add(b'%').add(b'<').add(b'>').add(b'=');

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A response with no body.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// The response for an error, in `format`.
pub fn error(e: &ApiError, format: &dyn ErrorFormat, head: bool) -> Response<Body> {
    let (ct, body) = format.render(e);
    let mut r = Response::new(Full::new(if head { Bytes::new() } else { body }));
    *r.status_mut() = e.status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if let Ok(v) = HeaderValue::from_str(&format!("restgate; error={}", e.code)) {
        h.insert(HeaderName::from_static("proxy-status"), v);
    }
    for (k, v) in e.headers.iter().flat_map(|h| h.iter()) {
        h.append(k.clone(), header_value(v));
    }
    if e.status == StatusCode::UNAUTHORIZED && !h.contains_key(header::WWW_AUTHENTICATE) {
        h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}

fn content_range(offset: u64, n: u64, total: Option<u64>) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(48);
    if n == 0 {
        s.push('*');
    } else {
        let _ = write!(s, "{offset}-{}", offset + n - 1);
    }
    s.push('/');
    match total {
        Some(t) => {
            let _ = write!(s, "{t}");
        }
        None => s.push('*'),
    }
    s
}

fn finish(mut r: Response<Body>, applied: &[String]) -> Response<Body> {
    if !applied.is_empty() {
        r.headers_mut().insert(HeaderName::from_static("preference-applied"), header_value(&applied.join(", ")));
    }
    r
}

/// Renders rows in the negotiated representation (the singular check already done).
fn body(rows: JsonRows, accept: Accept, shape: &Shape<'_>) -> Bytes {
    match accept.representation {
        Representation::Csv => Bytes::from(csv(&rows, shape)),
        Representation::SingleObject => {
            let row = rows.iter().next().unwrap_or(b"null");
            Bytes::from(if accept.strip_nulls { strip_nulls(row) } else { row.to_vec() })
        }
        Representation::Json | Representation::OpenApi if accept.strip_nulls => {
            let mut out = Vec::with_capacity(rows.joined().len() + 2);
            out.push(b'[');
            for (i, row) in rows.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(&strip_nulls(row));
            }
            out.push(b']');
            Bytes::from(out)
        }
        Representation::Json | Representation::OpenApi => Bytes::from(rows.into_array()),
    }
}

fn strip_nulls(row: &[u8]) -> Vec<u8> {
    fn strip(v: &mut Json) {
        match v {
            Json::Object(m) => {
                m.retain(|_, v| !v.is_null());
                m.values_mut().for_each(strip);
            }
            Json::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    match serde_json::from_slice::<Json>(row) {
        Ok(mut v) => {
            strip(&mut v);
            serde_json::to_vec(&v).unwrap_or_else(|_| row.to_vec())
        }
        Err(_) => row.to_vec(),
    }
}

fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// CSV: a header line of the output keys, then one line per row.
fn csv(rows: &JsonRows, shape: &Shape<'_>) -> String {
    let mut out = String::new();
    let keys = shape.keys();
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(&mut out, k);
    }
    for row in rows.iter() {
        out.push('\n');
        let obj: serde_json::Map<String, Json> = serde_json::from_slice(row).unwrap_or_default();
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match obj.get(*k) {
                None | Some(Json::Null) => {}
                Some(Json::String(s)) => csv_field(&mut out, s),
                Some(v) => csv_field(&mut out, &v.to_string()),
            }
        }
    }
    out
}

/// The response of a read.
pub fn read(p: &ReadPlan<'_>, out: ReadOutput) -> Result<Response<Body>, ApiError> {
    let n = out.rows.len() as u64;
    let total = out.total;
    let status = match total {
        Some(total) if p.offset > total => {
            return Err(ApiError::range_not_satisfiable("Requested range not satisfiable")
                .with_details(format!("An offset of {} was requested, but there are only {total} rows.", p.offset))
                .with_header(header::CONTENT_RANGE, format!("*/{total}")));
        }
        Some(total) if n < total => StatusCode::PARTIAL_CONTENT,
        _ => StatusCode::OK,
    };
    if p.accept.representation == Representation::SingleObject && n != 1 {
        return Err(singular_error(n));
    }
    let mut r = if p.headers_only {
        empty(status)
    } else {
        let mut r = Response::new(Full::new(body(out.rows, p.accept, &p.shape)));
        *r.status_mut() = status;
        r
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(p.accept.content_type()));
    h.insert(header::CONTENT_RANGE, header_value(&content_range(p.offset, n, total)));
    Ok(finish(r, &p.applied))
}

/// The response of a write. `base` is the resource's URL path, for `Location`.
pub fn write(p: &WritePlan<'_>, out: WriteOutcome, base: &str) -> Response<Body> {
    let count = p.count.map(|_| out.affected);
    let inserted = out.affected.saturating_sub(out.existing);
    let merge = matches!(&p.op, WriteOp::Insert { conflict: Some(c), .. } if c.resolution == Resolution::MergeDuplicates);
    let has_body = matches!(p.returning, Returning::Representation(_));
    let status = match p.action {
        Action::Insert if merge && inserted == 0 && out.affected > 0 => StatusCode::OK,
        Action::Insert => StatusCode::CREATED,
        Action::Put if !has_body => StatusCode::NO_CONTENT,
        Action::Put if inserted > 0 => StatusCode::CREATED,
        _ if has_body => StatusCode::OK,
        _ => StatusCode::NO_CONTENT,
    };
    let mut r = match (&p.returning, out.rows) {
        (Returning::Representation(shape), Some(rows)) => {
            let mut r = Response::new(Full::new(body(rows, p.accept, shape)));
            *r.status_mut() = status;
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(p.accept.content_type()));
            r
        }
        _ => empty(status),
    };
    let range = match p.action {
        Action::Update => content_range(0, out.affected, count),
        _ => content_range(0, 0, count),
    };
    let h = r.headers_mut();
    h.insert(header::CONTENT_RANGE, header_value(&range));
    if let Some(pairs) = &out.location {
        let q: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}=eq.{}", utf8_percent_encode(k, QUERY_VALUE), utf8_percent_encode(v, QUERY_VALUE)))
            .collect();
        h.insert(header::LOCATION, header_value(&format!("{base}?{}", q.join("&"))));
    }
    finish(r, &p.applied)
}
