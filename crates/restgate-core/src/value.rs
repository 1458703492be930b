//! Coercion of request values (query-string text and JSON body values) to
//! typed SQL values, by the logical type of the column they meet.
//!
//! Coercion happens before any SQL runs, so the same bad value is the same
//! 400 on every backend, and the values a backend stores are canonical
//! (timestamps as `YYYY-MM-DD HH:MM:SS[.ffffff]`, with `+00:00` for time
//! zone aware ones, so text comparison orders them correctly on SQLite).
//!
//! # Example
//!
//! ```
//! use restgate_core::catalog::ColumnType;
//! use restgate_core::value::{coerce_text, SqlValue};
//!
//! assert_eq!(coerce_text(ColumnType::Integer, "42").unwrap(), SqlValue::Int(42));
//! assert!(coerce_text(ColumnType::Integer, "forty-two").is_err());
//! assert_eq!(
//!     coerce_text(ColumnType::TimestampTz, "2024-03-01T10:30:00+02:00").unwrap(),
//!     SqlValue::Text("2024-03-01 08:30:00+00:00".into()),
//! );
//! ```

use http::StatusCode;
use serde_json::Value as Json;

use crate::catalog::ColumnType;
use crate::error::ApiError;

/// A typed value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// NULL of the given type.
    Null(ColumnType),
    /// boolean
    Bool(bool),
    /// integer
    Int(i64),
    /// floating point
    Float(f64),
    /// Decimal kept as its exact text.
    Numeric(String),
    /// Text (also dates, times, uuids, enums, canonicalized).
    Text(String),
    /// JSON document text.
    Json(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

impl SqlValue {
    /// The sea-query value a statement binds.
    pub fn into_sea(self) -> sea_query::Value {
        use sea_query::Value as V;
        match self {
            SqlValue::Null(ty) => match ty {
                ColumnType::Integer => V::BigInt(None),
                ColumnType::Float => V::Double(None),
                ColumnType::Boolean => V::Bool(None),
                ColumnType::Binary => V::Bytes(None),
                _ => V::String(None),
            },
            SqlValue::Bool(b) => V::Bool(Some(b)),
            SqlValue::Int(i) => V::BigInt(Some(i)),
            SqlValue::Float(f) => V::Double(Some(f)),
            SqlValue::Numeric(s) | SqlValue::Text(s) | SqlValue::Json(s) => V::String(Some(s)),
            SqlValue::Bytes(b) => V::Bytes(Some(b)),
        }
    }
}

fn invalid(ty: ColumnType, v: &str) -> ApiError {
    let code = match ty {
        ColumnType::Date | ColumnType::Time | ColumnType::Timestamp | ColumnType::TimestampTz => "22007",
        _ => "22P02",
    };
    ApiError::new(StatusCode::BAD_REQUEST, code, format!("invalid input syntax for type {}: \"{}\"", ty.pg_name(), truncate(v)))
}

fn truncate(v: &str) -> String {
    if v.chars().count() > 64 {
        let mut s: String = v.chars().take(64).collect();
        s.push('…');
        s
    } else {
        v.to_owned()
    }
}

/// Coerces query-string text to a value of type `ty`.
pub fn coerce_text(ty: ColumnType, v: &str) -> Result<SqlValue, ApiError> {
    Ok(match ty {
        ColumnType::Integer => SqlValue::Int(v.trim().parse::<i64>().map_err(|_| invalid(ty, v))?),
        ColumnType::Float => SqlValue::Float(parse_float(v).ok_or_else(|| invalid(ty, v))?),
        ColumnType::Numeric => {
            let t = v.trim();
            if !is_decimal(t) {
                return Err(invalid(ty, v));
            }
            SqlValue::Numeric(t.to_owned())
        }
        ColumnType::Boolean => SqlValue::Bool(parse_bool(v).ok_or_else(|| invalid(ty, v))?),
        ColumnType::Json => {
            serde_json::from_str::<Json>(v).map_err(|_| invalid(ty, v))?;
            SqlValue::Json(v.to_owned())
        }
        ColumnType::Date => SqlValue::Text(canonical_date(v).ok_or_else(|| invalid(ty, v))?),
        ColumnType::Time => SqlValue::Text(canonical_time(v).ok_or_else(|| invalid(ty, v))?),
        ColumnType::Timestamp => SqlValue::Text(canonical_timestamp(v, false).ok_or_else(|| invalid(ty, v))?),
        ColumnType::TimestampTz => SqlValue::Text(canonical_timestamp(v, true).ok_or_else(|| invalid(ty, v))?),
        ColumnType::Uuid => {
            if !is_uuid(v) {
                return Err(invalid(ty, v));
            }
            SqlValue::Text(v.to_ascii_lowercase())
        }
        ColumnType::Binary => SqlValue::Bytes(parse_bytes(v).ok_or_else(|| invalid(ty, v))?),
        ColumnType::Text | ColumnType::Enum | ColumnType::Array => SqlValue::Text(v.to_owned()),
    })
}

/// Coerces a JSON body value to a value of type `ty`.
pub fn coerce_json(ty: ColumnType, v: &Json) -> Result<SqlValue, ApiError> {
    match v {
        Json::Null => Ok(SqlValue::Null(ty)),
        Json::String(s) => match ty {
            ColumnType::Json => Ok(SqlValue::Json(serde_json::to_string(v).unwrap_or_default())),
            _ => coerce_text(ty, s),
        },
        Json::Bool(b) => match ty {
            ColumnType::Boolean => Ok(SqlValue::Bool(*b)),
            ColumnType::Json => Ok(SqlValue::Json(b.to_string())),
            ColumnType::Text => Ok(SqlValue::Text(b.to_string())),
            _ => Err(invalid(ty, &b.to_string())),
        },
        Json::Number(n) => match ty {
            ColumnType::Integer => n.as_i64().map(SqlValue::Int).ok_or_else(|| {
                if n.is_f64() {
                    invalid(ty, &n.to_string())
                } else {
                    ApiError::new(StatusCode::BAD_REQUEST, "22003", format!("value \"{n}\" is out of range for type bigint"))
                }
            }),
            ColumnType::Float => Ok(SqlValue::Float(n.as_f64().unwrap_or(f64::NAN))),
            ColumnType::Numeric => Ok(SqlValue::Numeric(n.to_string())),
            ColumnType::Json => Ok(SqlValue::Json(n.to_string())),
            ColumnType::Text | ColumnType::Enum => Ok(SqlValue::Text(n.to_string())),
            ColumnType::Boolean => match n.as_i64() {
                Some(0) => Ok(SqlValue::Bool(false)),
                Some(1) => Ok(SqlValue::Bool(true)),
                _ => Err(invalid(ty, &n.to_string())),
            },
            _ => Err(invalid(ty, &n.to_string())),
        },
        Json::Array(_) | Json::Object(_) => match ty {
            ColumnType::Json | ColumnType::Array => Ok(SqlValue::Json(serde_json::to_string(v).unwrap_or_default())),
            ColumnType::Text => Ok(SqlValue::Text(serde_json::to_string(v).unwrap_or_default())),
            _ => Err(invalid(ty, &serde_json::to_string(v).unwrap_or_default())),
        },
    }
}

fn parse_float(v: &str) -> Option<f64> {
    match v.trim() {
        "NaN" => Some(f64::NAN),
        "Infinity" | "inf" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        t if is_decimal_or_exp(t) => t.parse().ok(),
        _ => None,
    }
}

fn is_decimal_or_exp(t: &str) -> bool {
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    is_decimal(mantissa)
        && exp.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        })
}

fn is_decimal(t: &str) -> bool {
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    (!int.is_empty() || !frac.is_empty()) && int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit())
}

/// PostgreSQL's boolean literals.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn is_uuid(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 36 && b.iter().enumerate().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() })
}

/// `\x` + hex, or the UTF-8 bytes of the text.
fn parse_bytes(v: &str) -> Option<Vec<u8>> {
    match v.strip_prefix("\\x") {
        Some(hex) => {
            if hex.len() % 2 != 0 {
                return None;
            }
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
        }
        None => Some(v.as_bytes().to_vec()),
    }
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn parse_date(v: &str) -> Option<(i64, u32, u32)> {
    let mut it = v.splitn(3, '-');
    let y = digits(it.next()?, 4)? as i64;
    let m = digits(it.next()?, 2)?;
    let d = digits(it.next()?, 2)?;
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then_some((y, m, d))
}

/// `YYYY-MM-DD`.
fn canonical_date(v: &str) -> Option<String> {
    let (y, m, d) = parse_date(v.trim())?;
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// `HH:MM[:SS[.f]]` → (seconds of day, fraction digits without trailing zeros).
fn parse_time(v: &str) -> Option<(u32, String)> {
    let (hms, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut it = hms.split(':');
    let h = digits(it.next()?, 2)?;
    let m = digits(it.next()?, 2)?;
    let s = match it.next() {
        Some(s) => digits(s, 2)?,
        None if frac.is_empty() => 0,
        None => return None,
    };
    if it.next().is_some() || h > 24 || m > 59 || s > 59 || (h == 24 && (m, s) != (0, 0)) {
        return None;
    }
    Some((h * 3600 + m * 60 + s, frac.trim_end_matches('0').to_owned()))
}

fn fmt_time(secs: u32, frac: &str) -> String {
    let mut s = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if !frac.is_empty() {
        s.push('.');
        s.push_str(frac);
    }
    s
}

fn canonical_time(v: &str) -> Option<String> {
    let (secs, frac) = parse_time(v.trim())?;
    Some(fmt_time(secs, &frac))
}

/// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ISO 8601 timestamp → `YYYY-MM-DD HH:MM:SS[.f]`; with `tz`, shifted to UTC
/// and suffixed `+00:00` (a value without offset is taken as UTC).
fn canonical_timestamp(v: &str, tz: bool) -> Option<String> {
    let v = v.trim();
    if v.len() < 10 {
        return None;
    }
    let (y, m, d) = parse_date(v.get(..10)?)?;
    let rest = &v[10..];
    let rest = rest.strip_prefix(['T', 't', ' ']).unwrap_or(rest);
    // Split off the offset: Z, +HH[:MM], -HH[:MM].
    let (time, offset_min) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0i64)
    } else if let Some(i) = rest.rfind(['+', '-']).filter(|&i| i >= 5) {
        let sign = if rest.as_bytes()[i] == b'-' { -1 } else { 1 };
        let off = &rest[i + 1..];
        let (h, mm) = match off.split_once(':') {
            Some((h, mm)) => (digits(h, 2)?, digits(mm, 2)?),
            None if off.len() == 4 => (digits(&off[..2], 2)?, digits(&off[2..], 2)?),
            None => (digits(off, 2)?, 0),
        };
        if h > 15 || mm > 59 {
            return None;
        }
        (&rest[..i], sign * (h as i64 * 60 + mm as i64))
    } else {
        (rest, 0)
    };
    if !tz && time.len() != rest.len() {
        // An offset on a timestamp without time zone is ignored, as PostgreSQL does.
    }
    let (secs, frac) = if time.is_empty() { (0, String::new()) } else { parse_time(time)? };
    if !tz {
        let (y2, m2, d2) = if secs == 86_400 { civil_from_days(days_from_civil(y, m, d) + 1) } else { (y, m, d) };
        return Some(format!("{y2:04}-{m2:02}-{d2:02} {}", fmt_time(secs % 86_400, &frac)));
    }
    let total = days_from_civil(y, m, d) * 86_400 + secs as i64 - offset_min * 60;
    let (y2, m2, d2) = civil_from_days(total.div_euclid(86_400));
    Some(format!("{y2:04}-{m2:02}-{d2:02} {}+00:00", fmt_time(total.rem_euclid(86_400) as u32, &frac)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_canonical() {
        assert_eq!(canonical_timestamp("2024-01-31T23:30:00-01:00", true).unwrap(), "2024-02-01 00:30:00+00:00");
        assert_eq!(canonical_timestamp("2024-02-29 10:00", false).unwrap(), "2024-02-29 10:00:00");
        assert_eq!(canonical_timestamp("2024-02-29T10:00:00.120000Z", true).unwrap(), "2024-02-29 10:00:00.12+00:00");
        assert_eq!(canonical_timestamp("2024-03-01", false).unwrap(), "2024-03-01 00:00:00");
        assert!(canonical_timestamp("2023-02-29T10:00:00", false).is_none());
        assert!(canonical_timestamp("yesterday", false).is_none());
        assert!(canonical_timestamp("2024-01-01T25:00:00", false).is_none());
    }

    #[test]
    fn numbers_and_booleans() {
        assert_eq!(coerce_text(ColumnType::Float, "1.5e3").unwrap(), SqlValue::Float(1500.0));
        assert!(coerce_text(ColumnType::Float, "1.5e").is_err());
        assert_eq!(coerce_text(ColumnType::Numeric, "-12.50").unwrap(), SqlValue::Numeric("-12.50".into()));
        assert!(coerce_text(ColumnType::Numeric, "12.5.0").is_err());
        assert_eq!(coerce_text(ColumnType::Boolean, "TRUE").unwrap(), SqlValue::Bool(true));
        assert!(coerce_json(ColumnType::Integer, &serde_json::json!(1.5)).is_err());
        assert_eq!(coerce_json(ColumnType::Integer, &serde_json::json!(u64::MAX)).unwrap_err().code, "22003");
        assert_eq!(coerce_text(ColumnType::Binary, "\\x6869").unwrap(), SqlValue::Bytes(b"hi".to_vec()));
    }
}
