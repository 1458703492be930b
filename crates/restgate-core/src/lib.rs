//! The framework- and database-agnostic core of restgate.
//!
//! restgate serves the tables and views of a SQL database as a REST API with
//! PostgREST's URL grammar. This crate holds the request pipeline, one
//! module per stage, each producing one value:
//!
//! | stage | module | produces |
//! |---|---|---|
//! | parse | [`request`] | [`request::ApiRequest`] |
//! | resolve | [`plan`] (against [`catalog`]) | [`plan::Plan`] |
//! | render | [`sql`] (per [`sql::Dialect`]) | [`sql::Statement`] |
//! | execute | [`exec`] on a [`backend::Backend`] | rows, counts |
//! | respond | [`response`] | `http::Response` |
//!
//! [`service::RestGate`] ties them into a tower `Service`. Backends live in
//! their own crates (`restgate-sqlite`, …); users normally depend on the
//! `restgate` facade crate instead of this one.

pub mod auth;
pub mod backend;
pub mod catalog;
pub mod error;
pub mod exec;
pub mod openapi;
pub mod plan;
pub mod policy;
pub mod request;
pub mod response;
pub mod service;
pub mod sql;
pub mod value;

pub use auth::{AuthError, AuthLayer, Authenticate, Authenticators, Identity};
pub use backend::{Backend, JsonRows, ReadOutput, ReadQuery, WriteTx};
pub use catalog::Catalog;
pub use error::{ApiError, BackendError, BackendErrorKind, ErrorFormat, PostgrestFormat, ProblemJsonFormat};
pub use plan::TxEnd;
pub use policy::{Authorize, Policy, RowFilter, Rule, Verb};
pub use service::{BasePath, BuildError, RestGate, RestGateBuilder};
