//! `restgate serve`: open the database, bind the port, serve until a signal.

use std::convert::Infallible;
use std::future::Future;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use async_trait::async_trait;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use restgate_axum::RestGateExt;
use restgate_core::backend::{Backend, JsonRows, ReadOutput, ReadQuery, WriteTx};
use restgate_core::catalog::{Catalog, TableKind};
use restgate_core::policy::validate_rule;
use restgate_core::sql::{Dialect, Statement};
use restgate_core::{BackendError, BuildError, RestGate};
use restgate_mysql::MySqlBackend;
use restgate_postgres::PgBackend;
use restgate_sqlite::SqliteBackend;
use tokio::sync::oneshot;
use tower_service::Service;
use tracing_subscriber::EnvFilter;

use crate::config::{self, Flags, GrantSite, Settings};
use crate::db_url::{self, DbUrlError, Target};

/// Why serving failed; each becomes `error: <message>` and exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The `--db` URL cannot be served.
    #[error(transparent)]
    DbUrl(#[from] DbUrlError),
    /// SQLite refused to open the file.
    #[error("cannot open database {path}: {message}")]
    Open {
        /// The file.
        path: String,
        /// The driver's message.
        message: String,
    },
    /// The schema could not be read.
    #[error("cannot serve database {path}: {message}")]
    Build {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The config file's roles do not fit the database (unknown table or
    /// column): the file, the grant and what is wrong.
    #[error("{0}")]
    Policy(String),
    /// `--schema` with a database that has no schemas to choose.
    #[error("--schema applies to PostgreSQL databases only")]
    SchemaNotApplicable,
    /// The signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// The port could not be bound.
    #[error("cannot listen on {addr}: {message}")]
    Listen {
        /// The `--listen` address.
        addr: SocketAddr,
        /// Why, in words.
        message: String,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Serve(std::io::Error),
    /// A second signal arrived before open connections finished.
    #[error("stopped by a second signal before all open requests finished")]
    Forced,
}

/// Installs the log subscriber: human-readable lines on stderr, filtered by
/// `RUST_LOG` (default `info`), coloured only when stderr is a terminal.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
        .init();
}

/// Runs `restgate serve` until SIGINT or SIGTERM; SIGHUP re-reads the
/// config file (when there is one) and the schema.
pub async fn run(flags: Flags, settings: Settings) -> Result<(), ServeError> {
    // Installed first, so a signal during startup is not fatal and still
    // leads to a clean exit.
    let mut signals = Signals::new().map_err(ServeError::Signals)?;

    let target = db_url::resolve(&settings.db)?;
    let path = target.describe();
    let open_error = |e: &dyn std::fmt::Display| ServeError::Open { path: path.clone(), message: e.to_string() };
    let backend: Arc<dyn Backend> = match &target {
        Target::Sqlite(t) => {
            if !settings.schemas.is_empty() {
                return Err(ServeError::SchemaNotApplicable);
            }
            Arc::new(SqliteBackend::connect(&t.url).await.map_err(|e| open_error(&e))?)
        }
        Target::Postgres(t) => {
            let mut pg = PgBackend::options();
            if !settings.schemas.is_empty() {
                pg = pg.schemas(settings.schemas.iter().map(String::as_str));
            }
            Arc::new(pg.connect(&t.url).await.map_err(|e| open_error(&e))?)
        }
        Target::MySql(t) => {
            if !settings.schemas.is_empty() {
                return Err(ServeError::SchemaNotApplicable);
            }
            Arc::new(MySqlBackend::connect(&t.url).await.map_err(|e| open_error(&e))?)
        }
    };
    let backend = SharedBackend(backend);
    let gate = build_gate(&backend, &settings, flags.config.as_deref()).await.map_err(|e| match e {
        GateError::Policy(message) => ServeError::Policy(message),
        GateError::Other(message) => ServeError::Build { path: path.clone(), message },
    })?;
    let catalog = gate.catalog();
    let (served, views) = counts(&catalog);

    let live = Live(Arc::new(RwLock::new(Router::new().restgate(&settings.prefix, gate))));
    let app = Router::new().fallback_service(live.clone()).layer(middleware::from_fn(log_request));

    let listener = tokio::net::TcpListener::bind(settings.listen).await.map_err(|e| listen_error(settings.listen, &e))?;
    let addr = listener.local_addr().map_err(|e| listen_error(settings.listen, &e))?;
    if let Some(security) = &settings.security {
        tracing::info!("{}", security.summary);
    } else if flags.config.is_some() {
        tracing::info!("the config file has no [auth] or [roles]: every table is open to every caller");
    }
    let prefix = if settings.prefix == "/" { "" } else { settings.prefix.as_str() };
    tracing::info!(
        "listening on http://{addr}{prefix}/, serving {served} tables and views from {path} ({}, {})",
        plural(served - views, "table", "tables"),
        plural(views, "view", "views"),
    );
    if served == 0 {
        tracing::warn!("the database has no tables or views: every path except the root will be 404");
    }

    // First signal: stop accepting and let open requests finish.
    // Second signal: give up on them.
    let (graceful_tx, graceful_rx) = oneshot::channel::<()>();
    let (force_tx, force_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let name = loop {
            match signals.next().await {
                "SIGHUP" => reload(&flags, &settings, &backend, &live).await,
                name => break name,
            }
        };
        tracing::info!("received {name}, shutting down");
        let _ = graceful_tx.send(());
        let name = loop {
            match signals.next().await {
                "SIGHUP" => continue,
                name => break name,
            }
        };
        tracing::warn!("received {name} again, exiting without waiting for open requests");
        let _ = force_tx.send(());
    });

    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = graceful_rx.await;
    });
    tokio::select! {
        res = server => res.map_err(ServeError::Serve)?,
        Ok(()) = force_rx => return Err(ServeError::Forced),
    }
    tracing::info!("stopped");
    Ok(())
}

/// Why a gate could not be built.
enum GateError {
    /// The policy does not fit the catalog: the file, the grant, the problem.
    Policy(String),
    /// Anything else (schema, declared foreign keys).
    Other(String),
}

/// A gate over `backend` configured by `settings`: reads the schema and
/// checks the declared keys and the policy against it.
async fn build_gate(backend: &SharedBackend, settings: &Settings, config: Option<&Path>) -> Result<RestGate, GateError> {
    let mut builder = RestGate::builder().backend(backend.clone());
    if let Some(n) = settings.max_rows {
        builder = builder.max_rows(n);
    }
    for (table, fk) in &settings.foreign_keys {
        builder = builder.foreign_key(table.clone(), fk.clone());
    }
    if let Some(security) = &settings.security {
        builder = builder.authenticate(security.authenticators.clone()).policy(security.policy.clone());
    }
    // No builder.prefix(): the axum adapter strips the prefix itself and
    // passes it on as a BasePath.
    match builder.build().await {
        Ok(gate) => Ok(gate),
        Err(BuildError::Policy(p)) => {
            let file = config.map_or_else(|| "the config file".to_owned(), |c| c.display().to_string());
            let precise = match &settings.security {
                Some(security) => grant_error(backend, &security.grants).await,
                None => None,
            };
            Err(GateError::Policy(precise.unwrap_or_else(|| format!("{file}: invalid policy: {p}"))))
        }
        Err(e) => Err(GateError::Other(e.to_string())),
    }
}

/// The first grant of the file that does not fit the schema, named by its
/// place in the file (`Policy::validate` names only the role and resource).
async fn grant_error(backend: &SharedBackend, grants: &[GrantSite]) -> Option<String> {
    let catalog = backend.introspect().await.ok()?;
    grants.iter().filter(|g| g.resource != "*").find_map(|g| {
        let table = catalog.tables().iter().find(|t| {
            t.name == g.resource || g.resource.split_once('.').is_some_and(|(schema, name)| schema == t.schema && name == t.name)
        });
        match table {
            None => Some(format!("{}: no such table or view", g.at)),
            Some(t) => validate_rule(&g.at, t, &g.rule).err().map(|e| e.to_string()),
        }
    })
}

/// SIGHUP: re-reads the config file and the schema and swaps in a new gate;
/// requests in flight finish on the old one. On any error the old gate
/// stays. `db`, `listen` and `schemas` need a restart.
async fn reload(flags: &Flags, started: &Settings, backend: &SharedBackend, live: &Live) {
    let fresh = match config::resolve(flags) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("received SIGHUP, but the configuration is invalid (still serving the old one): {e}");
            return;
        }
    };
    for (changed, what) in
        [(fresh.db != started.db, "db"), (fresh.listen != started.listen, "listen"), (fresh.schemas != started.schemas, "schemas")]
    {
        if changed {
            tracing::warn!("{what} changed in the config file: it applies at the next restart");
        }
    }
    let gate = match build_gate(backend, &fresh, flags.config.as_deref()).await {
        Ok(g) => g,
        Err(GateError::Policy(message)) => {
            tracing::error!("received SIGHUP, but the policy does not fit the schema (still serving the old configuration): {message}");
            return;
        }
        Err(GateError::Other(message)) => {
            tracing::error!("received SIGHUP, but the schema could not be reloaded (still serving the old one): {message}");
            return;
        }
    };
    let (served, _) = counts(&gate.catalog());
    let router = Router::new().restgate(&fresh.prefix, gate);
    match live.0.write() {
        Ok(mut r) => *r = router,
        Err(p) => *p.into_inner() = router,
    }
    match &flags.config {
        Some(c) => tracing::info!("received SIGHUP, reloaded {} and the schema: {served} tables and views", c.display()),
        None => tracing::info!("received SIGHUP, reloaded the schema: {served} tables and views"),
    }
}

/// Tables and views, and views alone.
fn counts(catalog: &Catalog) -> (usize, usize) {
    (catalog.tables().len(), catalog.tables().iter().filter(|t| t.kind == TableKind::View).count())
}

/// The router of the current gate, swapped on SIGHUP. Each request runs on
/// the router it started with: one configuration from start to end.
#[derive(Clone)]
struct Live(Arc<RwLock<Router>>);

impl Service<Request> for Live {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let mut router = match self.0.read() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        };
        Box::pin(async move {
            std::future::poll_fn(|cx| Service::<Request>::poll_ready(&mut router, cx)).await?;
            router.call(req).await
        })
    }
}

/// One database connection pool shared by the gates built on SIGHUP.
#[derive(Clone)]
struct SharedBackend(Arc<dyn Backend>);

#[async_trait]
impl Backend for SharedBackend {
    fn dialect(&self) -> &'static dyn Dialect {
        self.0.dialect()
    }

    async fn introspect(&self) -> Result<Catalog, BackendError> {
        self.0.introspect().await
    }

    async fn read(&self, query: &ReadQuery) -> Result<ReadOutput, BackendError> {
        self.0.read(query).await
    }

    async fn begin(&self) -> Result<Box<dyn WriteTx>, BackendError> {
        self.0.begin().await
    }

    async fn write_one(&self, stmt: &Statement, rows: bool) -> Result<(JsonRows, u64), BackendError> {
        self.0.write_one(stmt, rows).await
    }
}

/// `1 table`, `2 tables`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Describes a bind failure in words, without the OS error number.
fn listen_error(addr: SocketAddr, e: &std::io::Error) -> ServeError {
    use std::io::ErrorKind;
    let message = match e.kind() {
        ErrorKind::AddrInUse => "address already in use".to_owned(),
        ErrorKind::AddrNotAvailable => "address not available on this machine".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    };
    ServeError::Listen { addr, message }
}

/// Logs each request at debug level (`RUST_LOG=restgate=debug`).
async fn log_request(req: Request, next: Next) -> Response {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let uri = req.uri().clone();
    let start = Instant::now();
    let res = next.run(req).await;
    tracing::debug!(%method, %uri, status = res.status().as_u16(), elapsed_ms = start.elapsed().as_secs_f64() * 1000.0, "request");
    res
}

/// The shutdown signals: SIGINT (Ctrl-C) and SIGTERM on unix, Ctrl-C elsewhere.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers now, replacing the default "terminate" action.
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
                hangup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// Waits for the next signal and names it.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.hangup.recv() => "SIGHUP",
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            }
        }
    }
}
