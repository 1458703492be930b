//! The tower [`Service`] that runs the pipeline: [`RestGate`].
//!
//! `RestGate` is cheap to clone (one `Arc`), its error type is
//! [`Infallible`] (every failure is already a response), and it accepts any
//! `http_body::Body`, so it mounts in any tower-based server.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, Limited};
use tower_service::Service;

use crate::auth::{AuthError, Authenticate, Identity};
use crate::backend::Backend;
use crate::catalog::{Catalog, ForeignKey};
use crate::error::{ApiError, BackendError, ErrorFormat, PostgrestFormat};
use crate::plan::{self, Plan, PlanOptions, TxEnd};
use crate::policy::Authorize;
use crate::request::{Action, ApiRequest};
use crate::response::{self, Body};
use crate::{exec, openapi};

/// The external path restgate is mounted at, for adapters that strip it
/// before the request reaches the service (axum's `nest_service`).
/// Put it in the request extensions; `Location` headers are built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasePath(pub String);

/// Why a [`RestGate`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No backend was given.
    #[error("no backend: call RestGateBuilder::backend")]
    NoBackend,
    /// The prefix is not a path.
    #[error("invalid prefix {0:?}: it must start with '/'")]
    InvalidPrefix(String),
    /// Introspection failed.
    #[error("could not read the database schema: {0}")]
    Introspect(#[from] BackendError),
    /// A declared foreign key names an unknown table or column.
    #[error("invalid declared foreign key: {0}")]
    ForeignKey(String),
    /// The policy names an unknown role, table or column.
    #[error("invalid policy: {0}")]
    Policy(#[from] crate::policy::PolicyError),
}

/// Builds a [`RestGate`].
pub struct RestGateBuilder {
    backend: Option<Arc<dyn Backend>>,
    prefix: String,
    opts: PlanOptions,
    body_limit: usize,
    error_format: Arc<dyn ErrorFormat>,
    foreign_keys: Vec<(String, String, ForeignKey)>,
    authenticator: Option<Arc<dyn Authenticate>>,
    policy: Option<Arc<dyn Authorize>>,
}

impl Default for RestGateBuilder {
    fn default() -> Self {
        RestGateBuilder {
            backend: None,
            prefix: String::new(),
            opts: PlanOptions::default(),
            body_limit: 1024 * 1024,
            error_format: Arc::new(PostgrestFormat),
            foreign_keys: Vec::new(),
            authenticator: None,
            policy: None,
        }
    }
}

impl RestGateBuilder {
    /// The database to serve.
    pub fn backend(mut self, backend: impl Backend) -> Self {
        self.backend = Some(Arc::new(backend));
        self
    }

    /// The path prefix restgate is mounted under (e.g. `/api`); requests
    /// outside it are 404. Default: none (the service sees paths as given).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Caps the rows of any read (PostgREST's `db-max-rows`).
    pub fn max_rows(mut self, n: u64) -> Self {
        self.opts.max_rows = Some(n);
        self
    }

    /// Largest accepted request body in bytes (default 1 MiB); larger is 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// How write transactions end; [`TxEnd::CommitAllowOverride`] lets
    /// clients send `Prefer: tx=rollback`.
    pub fn tx_end(mut self, tx_end: TxEnd) -> Self {
        self.opts.tx_end = tx_end;
        self
    }

    /// How errors are rendered (default [`PostgrestFormat`]).
    pub fn error_format(mut self, format: impl ErrorFormat) -> Self {
        self.error_format = Arc::new(format);
        self
    }

    /// Declares a foreign key of `table` (in the default schema) that the
    /// database does not, so it can be embedded (`?select=*,films(*)`) like
    /// a real one: for tables without constraints, views the database does
    /// not trace, or relations across databases' conventions. Checked
    /// against the catalog when the gate is built and on every reload.
    ///
    /// ```ignore
    /// use restgate_core::catalog::ForeignKey;
    /// let gate = RestGate::builder()
    ///     .backend(backend)
    ///     .foreign_key("film_notes", ForeignKey::new("film_notes_film", ["film_ref"], "films", ["id"]))
    ///     .build()
    ///     .await?;
    /// ```
    pub fn foreign_key(self, table: impl Into<String>, fk: ForeignKey) -> Self {
        self.foreign_key_in("", table, fk)
    }

    /// [`foreign_key`](Self::foreign_key) for a table of another exposed schema.
    pub fn foreign_key_in(mut self, schema: impl Into<String>, table: impl Into<String>, fk: ForeignKey) -> Self {
        self.foreign_keys.push((schema.into(), table.into(), fk));
        self
    }

    /// Authenticates every request with `authenticator` (typically an
    /// [`Authenticators`](crate::auth::Authenticators) chain of API keys and
    /// JWT with an anonymous role). An [`Identity`] already in the
    /// request's extensions (put there by an [`AuthLayer`](crate::auth::AuthLayer)
    /// or your own middleware) is used as it is.
    pub fn authenticate(mut self, authenticator: impl Authenticate) -> Self {
        self.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// Enforces `policy` (deny by default) on every request; see
    /// [`policy`](crate::policy). A request without an [`Identity`] is then
    /// 401 `PGRST302`. Checked against the catalog when the gate is built
    /// and on every reload.
    ///
    /// ```ignore
    /// use restgate_core::auth::{ApiKeys, Authenticators};
    /// use restgate_core::policy::{Policy, Rule, Verb};
    ///
    /// let keys = ApiKeys::builder().key("s3cret-key-of-the-reporting-job", "reporter", "nightly").build()?;
    /// let gate = RestGate::builder()
    ///     .backend(backend)
    ///     .authenticate(Authenticators::new().with(keys).anonymous_role(Some("web_anon")))
    ///     .policy(Policy::new().grant("reporter", "*", [Verb::Read], Rule::new()).grant("web_anon", "films", [Verb::Read], Rule::new()))
    ///     .build()
    ///     .await?;
    /// ```
    pub fn policy(mut self, policy: impl Authorize) -> Self {
        self.policy = Some(Arc::new(policy));
        self
    }

    /// Introspects the database and builds the service.
    pub async fn build(self) -> Result<RestGate, BuildError> {
        let backend = self.backend.ok_or(BuildError::NoBackend)?;
        let prefix = self.prefix.trim_end_matches('/').to_owned();
        if !prefix.is_empty() && !prefix.starts_with('/') {
            return Err(BuildError::InvalidPrefix(self.prefix));
        }
        let mut catalog = backend.introspect().await?;
        if !self.foreign_keys.is_empty() {
            catalog = catalog.with_foreign_keys(&self.foreign_keys).map_err(BuildError::ForeignKey)?;
        }
        if let Some(p) = &self.policy {
            p.validate(&catalog)?;
        }
        Ok(RestGate {
            inner: Arc::new(Inner {
                foreign_keys: self.foreign_keys,
                authenticator: self.authenticator,
                policy: self.policy,
                backend,
                catalog: RwLock::new(Arc::new(catalog)),
                opts: self.opts,
                prefix,
                body_limit: self.body_limit,
                error_format: self.error_format,
            }),
        })
    }
}

struct Inner {
    backend: Arc<dyn Backend>,
    foreign_keys: Vec<(String, String, ForeignKey)>,
    authenticator: Option<Arc<dyn Authenticate>>,
    policy: Option<Arc<dyn Authorize>>,
    catalog: RwLock<Arc<Catalog>>,
    opts: PlanOptions,
    prefix: String,
    body_limit: usize,
    error_format: Arc<dyn ErrorFormat>,
}

/// The restgate service: every table and view of the backend's database as
/// a PostgREST-compatible REST API.
///
/// # Example
///
/// ```ignore
/// let gate = RestGate::builder().backend(backend).max_rows(1000).build().await?;
/// // `gate` is a tower::Service<http::Request<B>>; mount it with restgate-axum.
/// ```
#[derive(Clone)]
pub struct RestGate {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RestGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestGate").field("prefix", &self.inner.prefix).finish_non_exhaustive()
    }
}

impl RestGate {
    /// A builder.
    pub fn builder() -> RestGateBuilder {
        RestGateBuilder::default()
    }

    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner.catalog.read().map(|c| Arc::clone(&c)).unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Re-reads the schema and swaps the catalog atomically; requests in
    /// flight finish on the catalog they started with.
    pub async fn reload(&self) -> Result<(), BackendError> {
        let mut fresh = self.inner.backend.introspect().await?;
        if !self.inner.foreign_keys.is_empty() {
            fresh = fresh
                .with_foreign_keys(&self.inner.foreign_keys)
                .map_err(|e| BackendError::new(crate::error::BackendErrorKind::Other, None, e))?;
        }
        if let Some(p) = &self.inner.policy {
            p.validate(&fresh)
                .map_err(|e| BackendError::new(crate::error::BackendErrorKind::Other, None, format!("invalid policy: {e}")))?;
        }
        let fresh = Arc::new(fresh);
        match self.inner.catalog.write() {
            Ok(mut c) => *c = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        Ok(())
    }

    /// Handles one request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Body>
    where
        B: HttpBody + Send,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let head = req.method() == Method::HEAD;
        match self.run(req).await {
            Ok(r) => r,
            Err(e) => {
                if e.status.is_server_error() {
                    tracing::warn!(code = %e.code, message = %e.message, "request failed");
                }
                response::error(&e, &*self.inner.error_format, head)
            }
        }
    }

    async fn run<B>(&self, req: Request<B>) -> Result<Response<Body>, ApiError>
    where
        B: HttpBody + Send,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let inner = &*self.inner;
        let (parts, body) = req.into_parts();
        let base = parts.extensions.get::<BasePath>().map(|b| b.0.trim_end_matches('/')).unwrap_or(inner.prefix.as_str());
        let path = parts.uri.path();
        let rel = match path.strip_prefix(inner.prefix.as_str()) {
            Some("") => "/",
            Some(r) if r.starts_with('/') => r,
            _ => return Err(ApiError::new(StatusCode::NOT_FOUND, "PGRST125", "Invalid path specified in request URL")),
        };
        // Borrowed when a layer put it in the extensions: no copy of the claims.
        let identity: Option<std::borrow::Cow<'_, Identity>> = match parts.extensions.get::<Identity>() {
            Some(id) => Some(std::borrow::Cow::Borrowed(id)),
            None => match &inner.authenticator {
                Some(a) => crate::auth::authenticate(&**a, &parts).await?.map(std::borrow::Cow::Owned),
                None => None,
            },
        };
        // As in `AuthLayer`: an identity without a role (a JWT without the role
        // claim, outside an `Authenticators` chain) is no identity.
        let identity = identity.filter(|id| !id.role.is_empty());
        let access = match (&inner.policy, &identity) {
            (Some(policy), Some(identity)) => Some(plan::Access { identity, policy: &**policy }),
            (Some(_), None) => return Err(AuthError::Missing.into()),
            (None, _) => None,
        };
        let body = read_body(&parts.method, &parts.headers, body, inner.body_limit).await?;
        let api = ApiRequest::parse(&parts.method, rel, parts.uri.query(), &parts.headers, &body)?;
        let catalog = self.catalog();
        let plan = plan::plan_for(&api, &catalog, &inner.opts, access)?;
        let backend = &*inner.backend;
        match plan {
            Plan::Read(p) => {
                let out = exec::read(backend, &p).await?;
                let mut r = response::read(&p, out)?;
                if parts.method == Method::GET {
                    if let Ok(v) = http::HeaderValue::from_str(&content_location(base, rel, parts.uri.query())) {
                        r.headers_mut().insert(http::header::CONTENT_LOCATION, v);
                    }
                }
                Ok(r)
            }
            Plan::Write(p) => {
                let out = exec::write(backend, &p).await?;
                Ok(response::write(&p, out, &format!("{base}{rel}")))
            }
            Plan::Options(allow) => {
                let mut r = response::empty(StatusCode::OK);
                r.headers_mut().insert(http::header::ALLOW, http::HeaderValue::from_str(&allow).map_err(|_| ApiError::internal())?);
                Ok(r)
            }
            Plan::Root => {
                if api.action == Action::Options {
                    let mut r = response::empty(StatusCode::OK);
                    r.headers_mut().insert(http::header::ALLOW, http::HeaderValue::from_static("OPTIONS,GET,HEAD"));
                    return Ok(r);
                }
                if !matches!(api.action, Action::Read { .. }) {
                    return Err(ApiError::new(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "PGRST117",
                        format!("Unsupported HTTP method: {}", parts.method),
                    ));
                }
                Ok(openapi::response(&catalog, base, api.action == Action::Read { headers_only: true }, access))
            }
        }
    }
}

/// `Content-Location` of a read: the path with its query parameters sorted,
/// as PostgREST sends it.
fn content_location(base: &str, rel: &str, query: Option<&str>) -> String {
    let mut pairs: Vec<&str> = query.unwrap_or("").split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort_unstable();
    let mut s = String::with_capacity(base.len() + rel.len() + query.map_or(0, str::len) + 1);
    s.push_str(base);
    s.push_str(rel);
    for (i, p) in pairs.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(p);
    }
    s
}

async fn read_body<B>(method: &Method, headers: &http::HeaderMap, body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: HttpBody + Send,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let too_large = || {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "PGRST413", "Payload Too Large")
            .with_details(format!("The request body is larger than the limit of {limit} bytes"))
    };
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE) {
        return Ok(Bytes::new());
    }
    if let Some(len) = headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()) {
        if len > limit as u64 {
            return Err(too_large());
        }
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                Err(too_large())
            } else {
                Err(ApiError::invalid_body("Could not read the request body"))
            }
        }
    }
}

impl<B> Service<Request<B>> for RestGate
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}
