//! A small HTTP client for restgate mounted in an axum `Router`.

use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use restgate_axum::RestGateExt;
use restgate_core::RestGate;
use serde_json::Value;
use tower::ServiceExt;

/// restgate over a test database, reached through an axum `Router`.
pub struct TestGate {
    gate: RestGate,
    router: Router,
    _keep: Box<dyn Send + Sync>,
}

impl TestGate {
    /// Serves `gate` at the root of a Router. `keep` holds whatever must live
    /// as long as the test (a temporary file, a schema to drop).
    pub fn new(gate: RestGate, keep: Box<dyn Send + Sync>) -> Self {
        let router = Router::new().restgate("/", gate.clone());
        TestGate { gate, router, _keep: keep }
    }

    /// The service, for tests that mount it themselves.
    pub fn gate(&self) -> &RestGate {
        &self.gate
    }

    /// A request. Characters a URI may not hold raw (`"`, `{`, `>`, space, …)
    /// are percent-encoded, so cases read like the URLs clients send.
    pub fn req(&self, method: Method, uri: &str) -> RequestBuilder<'_> {
        RequestBuilder { router: &self.router, method, uri: encode_uri(uri), headers: HeaderMap::new(), body: Bytes::new() }
    }

    /// GET `uri`.
    pub async fn get(&self, uri: &str) -> TestResponse {
        self.req(Method::GET, uri).send().await
    }

    /// GET `uri` and return its JSON body, asserting 200.
    pub async fn get_json(&self, uri: &str) -> Value {
        let r = self.get(uri).await;
        assert_eq!(r.status, 200, "GET {uri}: {}", r.text());
        r.json()
    }

    /// POST a JSON body.
    pub fn post(&self, uri: &str, body: Value) -> RequestBuilder<'_> {
        self.req(Method::POST, uri).json(body)
    }

    /// PATCH a JSON body.
    pub fn patch(&self, uri: &str, body: Value) -> RequestBuilder<'_> {
        self.req(Method::PATCH, uri).json(body)
    }

    /// PUT a JSON body.
    pub fn put(&self, uri: &str, body: Value) -> RequestBuilder<'_> {
        self.req(Method::PUT, uri).json(body)
    }

    /// DELETE.
    pub fn delete(&self, uri: &str) -> RequestBuilder<'_> {
        self.req(Method::DELETE, uri)
    }

    /// Every row of `table` ordered by `order`, to check that nothing changed.
    pub async fn snapshot(&self, table: &str, order: &str) -> Value {
        self.get_json(&format!("/{table}?order={order}")).await
    }
}

/// A request being built.
pub struct RequestBuilder<'a> {
    router: &'a Router,
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Bytes,
}

impl RequestBuilder<'_> {
    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.append(name, value.parse().expect("valid header value"));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// An API key in the `apikey` header.
    pub fn api_key(self, key: &str) -> Self {
        self.header("apikey", key)
    }

    /// A `Cookie: <name>=<value>` header.
    pub fn cookie(self, name: &str, value: &str) -> Self {
        self.header("cookie", &format!("{name}={value}"))
    }

    /// A JSON body.
    pub fn json(self, body: Value) -> Self {
        self.raw("application/json", body.to_string())
    }

    /// A body with a content type.
    pub fn raw(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.headers.insert(http::header::CONTENT_TYPE, content_type.parse().expect("valid content type"));
        self.body = body.into();
        self
    }

    /// Sends the request.
    pub async fn send(self) -> TestResponse {
        let mut req = Request::builder().method(self.method).uri(&self.uri).body(axum::body::Body::from(self.body)).expect("valid request");
        *req.headers_mut() = self.headers;
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        TestResponse { status, headers, body }
    }
}

/// A response.
#[derive(Debug)]
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON (panics with the text when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error response: status, code, and the PostgREST body shape.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text());
        let v = self.json();
        assert_eq!(v["code"], code, "code; body: {v}");
        for key in ["message", "details", "hint"] {
            assert!(v.get(key).is_some(), "error body lacks {key}: {v}");
        }
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "empty message: {v}");
        v
    }
}

/// Percent-encodes the characters `http::Uri` rejects; `%` is left alone.
pub fn encode_uri(uri: &str) -> String {
    let mut out = String::with_capacity(uri.len());
    for c in uri.chars() {
        match c {
            '"' | '{' | '}' | '<' | '>' | ' ' | '\\' | '|' | '^' | '`' => out.push_str(&format!("%{:02X}", c as u32)),
            c if !c.is_ascii() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}
