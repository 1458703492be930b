//! The `Prefer` header (RFC 7240) as PostgREST reads it.

use http::header::HeaderName;
use http::HeaderMap;

const PREFER: HeaderName = HeaderName::from_static("prefer");

use crate::error::ApiError;

/// `return=`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnPref {
    /// No body.
    Minimal,
    /// No body, but a `Location` header.
    HeadersOnly,
    /// The affected rows.
    Representation,
}

/// `count=`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountPref {
    /// `count(*)`.
    Exact,
    /// The planner's estimate.
    Planned,
    /// Exact up to the max-rows cap, estimated above.
    Estimated,
}

/// `resolution=`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Upsert: update the conflicting row.
    MergeDuplicates,
    /// Upsert: keep the existing row.
    IgnoreDuplicates,
}

/// `missing=`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Keys missing from the payload get the column DEFAULT.
    Default,
    /// Keys missing from the payload are NULL.
    Null,
}

/// `tx=`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxPref {
    /// Commit at the end.
    Commit,
    /// Roll back at the end.
    Rollback,
}

/// `handling=`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Ignore invalid preferences.
    Lenient,
    /// Reject invalid preferences with PGRST122.
    Strict,
}

/// Every preference of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    /// `return=`
    pub return_: Option<ReturnPref>,
    /// `count=`
    pub count: Option<CountPref>,
    /// `resolution=`
    pub resolution: Option<Resolution>,
    /// `missing=`
    pub missing: Option<Missing>,
    /// `tx=`
    pub tx: Option<TxPref>,
    /// `max-affected=`
    pub max_affected: Option<u64>,
    /// `handling=`
    pub handling: Option<Handling>,
    /// `timezone=`
    pub timezone: Option<String>,
    /// The preferences that were not understood, as sent.
    pub invalid: Vec<String>,
}

impl Preferences {
    /// Reads every `Prefer` header; the first occurrence of a preference wins.
    /// With `handling=strict`, anything invalid is PGRST122.
    pub fn from_headers(headers: &HeaderMap) -> Result<Preferences, ApiError> {
        let mut p = Preferences::default();
        for value in headers.get_all(PREFER) {
            let Ok(text) = value.to_str() else {
                p.invalid.push(String::from_utf8_lossy(value.as_bytes()).into_owned());
                continue;
            };
            for item in text.split(',') {
                let item = item.trim();
                if item.is_empty() {
                    continue;
                }
                let (k, v) = match item.split_once('=') {
                    Some((k, v)) => (k.trim(), v.trim().trim_matches('"')),
                    None => (item, ""),
                };
                let ok = match k {
                    "return" => set(
                        &mut p.return_,
                        match v {
                            "minimal" => Some(ReturnPref::Minimal),
                            "headers-only" => Some(ReturnPref::HeadersOnly),
                            "representation" => Some(ReturnPref::Representation),
                            _ => None,
                        },
                    ),
                    "count" => set(
                        &mut p.count,
                        match v {
                            "exact" => Some(CountPref::Exact),
                            "planned" => Some(CountPref::Planned),
                            "estimated" => Some(CountPref::Estimated),
                            _ => None,
                        },
                    ),
                    "resolution" => set(
                        &mut p.resolution,
                        match v {
                            "merge-duplicates" => Some(Resolution::MergeDuplicates),
                            "ignore-duplicates" => Some(Resolution::IgnoreDuplicates),
                            _ => None,
                        },
                    ),
                    "missing" => set(
                        &mut p.missing,
                        match v {
                            "default" => Some(Missing::Default),
                            "null" => Some(Missing::Null),
                            _ => None,
                        },
                    ),
                    "tx" => set(
                        &mut p.tx,
                        match v {
                            "commit" => Some(TxPref::Commit),
                            "rollback" => Some(TxPref::Rollback),
                            _ => None,
                        },
                    ),
                    "handling" => set(
                        &mut p.handling,
                        match v {
                            "strict" => Some(Handling::Strict),
                            "lenient" => Some(Handling::Lenient),
                            _ => None,
                        },
                    ),
                    "max-affected" => set(&mut p.max_affected, v.parse::<u64>().ok()),
                    "timezone" => set(&mut p.timezone, (!v.is_empty()).then(|| v.to_owned())),
                    _ => false,
                };
                if !ok {
                    p.invalid.push(item.to_owned());
                }
            }
        }
        if p.handling == Some(Handling::Strict) && !p.invalid.is_empty() {
            return Err(ApiError::new(http::StatusCode::BAD_REQUEST, "PGRST122", "Invalid preferences given with handling=strict")
                .with_details(format!("Invalid preferences: {}", p.invalid.join(", "))));
        }
        Ok(p)
    }

    /// Whether `handling=strict` was asked for.
    pub fn strict(&self) -> bool {
        self.handling == Some(Handling::Strict)
    }
}

/// Keeps the first occurrence; a second valid occurrence is ignored, an invalid one reported.
fn set<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    match value {
        Some(v) => {
            if slot.is_none() {
                *slot = Some(v);
            }
            true
        }
        None => false,
    }
}
