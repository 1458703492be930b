//! `restgate serve`: open the database, bind the port, serve until a signal.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use restgate_axum::RestGateExt;
use restgate_core::catalog::{ForeignKey, TableKind};
use restgate_core::RestGate;
use restgate_mysql::MySqlBackend;
use restgate_postgres::PgBackend;
use restgate_sqlite::SqliteBackend;
use tokio::sync::oneshot;
use tracing_subscriber::EnvFilter;

use crate::db_url::{self, DbUrlError, Target};

/// What `restgate serve` was asked to do, already validated by clap.
#[derive(Debug)]
pub struct Options {
    /// The `--db` URL, as given (it may hold a password: never print it).
    pub db: String,
    /// The `--listen` address.
    pub listen: SocketAddr,
    /// The `--prefix`, normalised (`/` or `/segment[/segment…]`).
    pub prefix: String,
    /// The `--max-rows` cap.
    pub max_rows: Option<u64>,
    /// The `--schema` list (PostgreSQL only).
    pub schemas: Vec<String>,
    /// The `--foreign-key` declarations: (table, key).
    pub foreign_keys: Vec<(String, ForeignKey)>,
}

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

/// Runs `restgate serve` until SIGINT or SIGTERM; SIGHUP reloads the schema.
pub async fn run(opts: Options) -> Result<(), ServeError> {
    // Installed first, so a signal during startup is not fatal and still
    // leads to a clean exit.
    let mut signals = Signals::new().map_err(ServeError::Signals)?;

    let target = db_url::resolve(&opts.db)?;
    let path = target.describe();
    let open_error = |e: &dyn std::fmt::Display| ServeError::Open { path: path.clone(), message: e.to_string() };
    let mut builder = RestGate::builder();
    builder = match &target {
        Target::Sqlite(t) => {
            if !opts.schemas.is_empty() {
                return Err(ServeError::SchemaNotApplicable);
            }
            builder.backend(SqliteBackend::connect(&t.url).await.map_err(|e| open_error(&e))?)
        }
        Target::Postgres(t) => {
            let mut pg = PgBackend::options();
            if !opts.schemas.is_empty() {
                pg = pg.schemas(opts.schemas.iter().map(String::as_str));
            }
            builder.backend(pg.connect(&t.url).await.map_err(|e| open_error(&e))?)
        }
        Target::MySql(t) => {
            if !opts.schemas.is_empty() {
                return Err(ServeError::SchemaNotApplicable);
            }
            builder.backend(MySqlBackend::connect(&t.url).await.map_err(|e| open_error(&e))?)
        }
    };
    if let Some(n) = opts.max_rows {
        builder = builder.max_rows(n);
    }
    for (table, fk) in opts.foreign_keys {
        builder = builder.foreign_key(table, fk);
    }
    // No builder.prefix(): the axum adapter strips the prefix itself and
    // passes it on as a BasePath.
    let gate = builder.build().await.map_err(|e| ServeError::Build { path: path.clone(), message: e.to_string() })?;
    let catalog = gate.catalog();
    let served = catalog.tables().len();
    let views = catalog.tables().iter().filter(|t| t.kind == TableKind::View).count();

    let reloadable = gate.clone();
    let app = Router::new().restgate(&opts.prefix, gate).layer(middleware::from_fn(log_request));

    let listener = tokio::net::TcpListener::bind(opts.listen).await.map_err(|e| listen_error(opts.listen, &e))?;
    let addr = listener.local_addr().map_err(|e| listen_error(opts.listen, &e))?;
    let prefix = if opts.prefix == "/" { "" } else { opts.prefix.as_str() };
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
        // SIGHUP: re-read the schema; requests in flight finish on the old one.
        let name = loop {
            match signals.next().await {
                "SIGHUP" => match reloadable.reload().await {
                    Ok(()) => {
                        tracing::info!("received SIGHUP, reloaded the schema: {} tables and views", reloadable.catalog().tables().len())
                    }
                    Err(e) => tracing::error!("received SIGHUP, but the schema could not be reloaded (still serving the old one): {e}"),
                },
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
