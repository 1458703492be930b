//! restgate: every table and view of a SQL database as a documented,
//! PostgREST-compatible REST API, inside your own Rust service.
//!
//! Add the crate, give it a database, mount it in axum, and each table
//! becomes an endpoint with filters (`?age=gte.18`), ordering, pagination,
//! counts, bulk inserts, upserts, updates and deletes — with PostgREST's URL
//! grammar and headers, so PostgREST clients work unchanged.
//!
//! # Quick start
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{routing::get, Router};
//! use restgate::{axum::RestGateExt, RestGate, SqliteBackend};
//!
//! let backend = SqliteBackend::connect("sqlite://shop.db").await?;
//! let gate = RestGate::builder()
//!     .backend(backend)
//!     .max_rows(1000)
//!     .build()
//!     .await?;
//!
//! let app = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .restgate("/api", gate);
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! // curl 'localhost:3000/api/customers?select=id,name&order=name&limit=10'
//! # Ok(()) }
//! ```
//!
//! # Crates and features
//!
//! | feature | default | crate | what |
//! |---|---|---|---|
//! | `sqlite` | yes | `restgate-sqlite` | [`SqliteBackend`] |
//! | `postgres` | no | `restgate-postgres` | `PgBackend` (PostgreSQL 13+) |
//! | `mysql` | no | `restgate-mysql` | `MySqlBackend` (MariaDB 10.6+, MySQL 8) |
//! | `axum` | yes | `restgate-axum` | [`axum::RestGateExt`] to mount in a Router |
//! | `jwt` | yes | `jsonwebtoken` (RustCrypto) | `core::auth::Jwt`, JWT authentication |
//!
//! The pipeline itself lives in `restgate-core` ([`core`]), which has no
//! database or framework dependency.

pub use restgate_core as core;
pub use restgate_core::{
    ApiError, Backend, BackendError, BackendErrorKind, BuildError, Catalog, ErrorFormat, PostgrestFormat, ProblemJsonFormat, RestGate,
    RestGateBuilder, TxEnd,
};

/// The SQLite backend.
#[cfg(feature = "sqlite")]
pub use restgate_sqlite as sqlite;
#[cfg(feature = "sqlite")]
pub use restgate_sqlite::SqliteBackend;

/// The PostgreSQL backend.
#[cfg(feature = "postgres")]
pub use restgate_postgres as postgres;
#[cfg(feature = "postgres")]
pub use restgate_postgres::PgBackend;

/// The MySQL / MariaDB backend.
#[cfg(feature = "mysql")]
pub use restgate_mysql as mysql;
#[cfg(feature = "mysql")]
pub use restgate_mysql::MySqlBackend;

/// Mounting in axum.
#[cfg(feature = "axum")]
pub use restgate_axum as axum;
