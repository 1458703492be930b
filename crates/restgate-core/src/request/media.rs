//! Media types: what the client accepts and what it sends.

use http::HeaderMap;

use crate::error::ApiError;

/// The response representation the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// A JSON array of objects (`application/json`, the default).
    Json,
    /// One JSON object (`application/vnd.pgrst.object+json`); 406 unless exactly one row.
    SingleObject,
    /// `text/csv`.
    Csv,
    /// The OpenAPI document (root only).
    OpenApi,
}

/// The negotiated response media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accept {
    /// The representation.
    pub representation: Representation,
    /// `;nulls=stripped`: keys whose value is null are dropped.
    pub strip_nulls: bool,
}

impl Default for Accept {
    fn default() -> Self {
        Accept { representation: Representation::Json, strip_nulls: false }
    }
}

impl Accept {
    /// The `Content-Type` of a successful response.
    pub fn content_type(&self) -> &'static str {
        match (self.representation, self.strip_nulls) {
            (Representation::Json, false) => "application/json; charset=utf-8",
            (Representation::Json, true) => "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8",
            (Representation::SingleObject, false) => "application/vnd.pgrst.object+json; charset=utf-8",
            (Representation::SingleObject, true) => "application/vnd.pgrst.object+json;nulls=stripped; charset=utf-8",
            (Representation::Csv, _) => "text/csv; charset=utf-8",
            (Representation::OpenApi, _) => "application/openapi+json; charset=utf-8",
        }
    }

    /// Negotiates the `Accept` header(s); `root` is true for `GET /`.
    /// Nothing acceptable → 406 PGRST107.
    pub fn from_headers(headers: &HeaderMap, root: bool) -> Result<Accept, ApiError> {
        let mut entries: Vec<(f32, usize, &str)> = Vec::new();
        for value in headers.get_all(http::header::ACCEPT) {
            let text = value.to_str().unwrap_or("");
            for part in text.split(',') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                let q = part
                    .split(';')
                    .skip(1)
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                if q > 0.0 {
                    entries.push((q, entries.len(), part));
                }
            }
        }
        if entries.is_empty() {
            return Ok(Accept { representation: if root { Representation::OpenApi } else { Representation::Json }, strip_nulls: false });
        }
        // Highest quality first, header order among equals.
        entries.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
        for (_, _, part) in &entries {
            let mut params = part.split(';');
            let essence = params.next().unwrap_or("").trim().to_ascii_lowercase();
            let strip_nulls = params.any(|p| p.trim().eq_ignore_ascii_case("nulls=stripped"));
            let representation = match essence.as_str() {
                "*/*" | "application/*" if root => Representation::OpenApi,
                "application/openapi+json" if root => Representation::OpenApi,
                "application/json" if root => Representation::OpenApi,
                _ if root => continue,
                "*/*" | "application/*" | "application/json" | "application/vnd.pgrst.array+json" | "application/vnd.pgrst.array" => {
                    Representation::Json
                }
                "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" => Representation::SingleObject,
                "text/csv" | "text/*" => Representation::Csv,
                _ => continue,
            };
            return Ok(Accept { representation, strip_nulls });
        }
        let asked: Vec<&str> = entries.iter().map(|e| e.2).collect();
        Err(ApiError::new(
            http::StatusCode::NOT_ACCEPTABLE,
            "PGRST107",
            format!("None of these media types are available: {}", asked.join(", ")),
        ))
    }
}

/// The format of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// `application/json` (also the default).
    Json,
    /// `text/csv`.
    Csv,
    /// `application/x-www-form-urlencoded`.
    Form,
}

impl ContentType {
    /// Reads `Content-Type`; anything else is 415 PGRST107.
    pub fn from_headers(headers: &HeaderMap) -> Result<ContentType, ApiError> {
        let Some(v) = headers.get(http::header::CONTENT_TYPE) else {
            return Ok(ContentType::Json);
        };
        let text = v.to_str().unwrap_or("");
        let essence = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "" | "application/json" | "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" | "*/*" => Ok(ContentType::Json),
            "text/csv" => Ok(ContentType::Csv),
            "application/x-www-form-urlencoded" => Ok(ContentType::Form),
            _ => Err(ApiError::new(
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "PGRST107",
                format!("The request's Content-Type \"{text}\" is not supported"),
            )
            .with_hint("Send application/json, text/csv or application/x-www-form-urlencoded")),
        }
    }
}
