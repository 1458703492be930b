//! Mount restgate in an [axum](https://docs.rs/axum) `Router`, next to your own routes.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{routing::get, Router};
//! use restgate_axum::RestGateExt;
//! use restgate_core::RestGate;
//! use restgate_sqlite::SqliteBackend;
//!
//! let backend = SqliteBackend::connect("sqlite:///tmp/app.db").await?;
//! let gate = RestGate::builder().backend(backend).build().await?;
//! let app = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .restgate("/api", gate); // GET /api/people?age=gte.18 …
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use restgate_core::{BasePath, RestGate};
use tower::Service;

/// Adds restgate to an axum [`Router`].
pub trait RestGateExt {
    /// Serves `gate` under `prefix` (`"/"` or `""` for the whole router's fallback).
    fn restgate(self, prefix: &str, gate: RestGate) -> Self;
}

impl<S> RestGateExt for Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn restgate(self, prefix: &str, gate: RestGate) -> Self {
        let prefix = prefix.trim_end_matches('/');
        let svc = Mounted { gate, base: BasePath(prefix.to_owned()) };
        if prefix.is_empty() {
            self.fallback_service(svc)
        } else {
            self.nest_service(prefix, svc)
        }
    }
}

/// A [`Router`] serving only `gate`, at the root.
pub fn router(gate: RestGate) -> Router {
    Router::new().restgate("/", gate)
}

/// `gate` with the mount path recorded, since `nest_service` strips it.
#[derive(Clone)]
struct Mounted {
    gate: RestGate,
    base: BasePath,
}

impl Service<Request<Body>> for Mounted {
    type Response = <RestGate as Service<Request<Body>>>::Response;
    type Error = Infallible;
    type Future = <RestGate as Service<Request<Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<Request<Body>>::poll_ready(&mut self.gate, cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        req.extensions_mut().insert(self.base.clone());
        self.gate.call(req)
    }
}
