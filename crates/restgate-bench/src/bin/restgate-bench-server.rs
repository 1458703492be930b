//! Serves the bench database through restgate, mounted at `/` of an axum
//! router, exactly as an application would.
//!
//! ```sh
//! restgate-bench-server --db /tmp/bench.db --listen 127.0.0.1:0
//! ```

use std::path::PathBuf;

use axum::Router;
use clap::Parser;
use restgate_axum::RestGateExt;
use restgate_bench::BoxError;
use restgate_core::RestGate;
use restgate_sqlite::SqliteBackend;

/// Serves a SQLite database through restgate (loopback only).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The SQLite database file (seed it with restgate-bench-seed).
    #[arg(long)]
    db: PathBuf,
    /// Loopback address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    if !args.db.exists() {
        return Err(format!("{} does not exist: seed it first with restgate-bench-seed", args.db.display()).into());
    }
    let listener = restgate_bench::bind_loopback(&args.listen).await?;
    let backend = SqliteBackend::connect(&restgate_bench::sqlite_url(&args.db)).await?;
    let gate = RestGate::builder().backend(backend).build().await?;
    let app = Router::new().restgate("/", gate);
    restgate_bench::serve("restgate", listener, app).await
}
