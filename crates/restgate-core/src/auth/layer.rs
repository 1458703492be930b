//! The tower middleware: [`AuthLayer`] and [`AuthService`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{AuthError, Authenticate};
use crate::error::{ApiError, ErrorFormat, PostgrestFormat};

/// Applies [`AuthService`]: authenticates each request with an
/// [`Authenticate`] implementation before the inner service sees it.
///
/// # Example
///
/// ```
/// use restgate_core::auth::{ApiKeys, AuthLayer, Authenticators};
/// use restgate_core::ProblemJsonFormat;
///
/// let auth = Authenticators::new()
///     .with(ApiKeys::builder().key("s3cr3t-service-key", "service", "billing").build()?)
///     .anonymous_role(Some("web_anon"));
/// let layer = AuthLayer::new(auth).error_format(ProblemJsonFormat);
/// // ServiceBuilder::new().layer(layer).service(gate), or axum's Router::layer(layer)
/// # Ok::<(), restgate_core::auth::AuthConfigError>(())
/// ```
#[derive(Clone)]
pub struct AuthLayer {
    auth: Arc<dyn Authenticate>,
    format: Arc<dyn ErrorFormat>,
}

impl AuthLayer {
    /// A layer that authenticates with `authenticator` (usually an
    /// [`Authenticators`](super::Authenticators) chain) and renders refusals
    /// in PostgREST's error format.
    pub fn new(authenticator: impl Authenticate) -> Self {
        AuthLayer { auth: Arc::new(authenticator), format: Arc::new(PostgrestFormat) }
    }

    /// How refusals are rendered (default [`PostgrestFormat`]); use the same
    /// format as the gate's.
    pub fn error_format(mut self, format: impl ErrorFormat) -> Self {
        self.format = Arc::new(format);
        self
    }
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer").finish_non_exhaustive()
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, auth: self.auth.clone(), format: self.format.clone() }
    }
}

/// Authenticates each request, puts the caller's [`Identity`](super::Identity)
/// in its extensions and calls the inner service, or answers the refusal
/// itself (401, or 500 when the authenticator failed).
///
/// An authenticator's `Ok(None)` (no credentials) and an identity with an
/// empty role are refused with 401 `PGRST302`: the anonymous role is the
/// business of the [`Authenticators`](super::Authenticators) chain.
///
/// Clones the inner service for each request (the ready one is used, as
/// tower requires), so the inner service should be cheap to clone, as
/// [`RestGate`](crate::RestGate) and axum routers are.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Arc<dyn Authenticate>,
    format: Arc<dyn ErrorFormat>,
}

impl<S: fmt::Debug> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService").field("inner", &self.inner).finish_non_exhaustive()
    }
}

/// The response future of [`AuthService`]. Boxed: the authenticator's
/// future is a boxed `async_trait` future already, and what follows it is
/// the inner service's.
pub type ResponseFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The clone may not be ready: keep it, and call the one that is.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        let format = self.format.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let outcome = match super::authenticate(&*auth, &parts).await {
                Ok(Some(identity)) if !identity.role.is_empty() => Ok(identity),
                Ok(_) => Err(AuthError::Missing),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(identity) => {
                    parts.extensions.insert(identity);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(e) => {
                    // Never the credential itself: the messages are ours or the authenticator's.
                    tracing::debug!(error = %e, method = %parts.method, path = parts.uri.path(), "request refused by authentication");
                    Ok(refusal(&e.into(), &*format, parts.method == Method::HEAD))
                }
            }
        })
    }
}

fn refusal<B: From<Bytes>>(e: &ApiError, format: &dyn ErrorFormat, head: bool) -> Response<B> {
    // The same status and headers as the gate's own errors; the body is
    // rendered again because `response::error` returns a concrete body type.
    let (parts, _) = crate::response::error(e, format, true).into_parts();
    let body = if head { Bytes::new() } else { format.render(e).1 };
    Response::from_parts(parts, B::from(body))
}
