//! Serves the bench database through restgate, mounted at `/` of an axum
//! router, exactly as an application would.
//!
//! ```sh
//! restgate-bench-server --db /tmp/bench.db --listen 127.0.0.1:0
//! restgate-bench-server --db postgres://postgres@127.0.0.1:5432/test --schema rg_bench_a --listen 127.0.0.1:0
//! restgate-bench-server --db mysql://root@127.0.0.1:3306/rg_bench_a --listen 127.0.0.1:0
//! ```

use std::path::Path;

use axum::Router;
use clap::Parser;
use restgate_axum::RestGateExt;
use restgate_bench::BoxError;
use restgate_core::RestGate;
use restgate_mysql::MySqlBackend;
use restgate_postgres::PgBackend;
use restgate_sqlite::SqliteBackend;

/// Serves a SQLite database, a PostgreSQL schema or a MySQL database through restgate (loopback only).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The SQLite database file, a `postgres://` URL or a `mysql://…/DATABASE`
    /// URL (seed it with restgate-bench-seed).
    #[arg(long)]
    db: String,
    /// PostgreSQL only: the schema to serve (required with a postgres:// --db).
    #[arg(long)]
    schema: Option<String>,
    /// Loopback address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let (listener, gate) = if restgate_bench::is_mysql_url(&args.db) {
        if args.schema.is_some() {
            return Err("--schema does not apply to a mysql:// --db: the URL's database is served".into());
        }
        restgate_bench::split_mysql_url(&args.db)?;
        let listener = restgate_bench::bind_loopback(&args.listen).await?;
        let backend = MySqlBackend::connect(&args.db).await?;
        (listener, RestGate::builder().backend(backend).build().await?)
    } else if restgate_bench::is_postgres_url(&args.db) {
        let schema = args.schema.ok_or("--schema NAME is required with a postgres:// --db")?;
        restgate_bench::check_schema_name(&schema)?;
        let listener = restgate_bench::bind_loopback(&args.listen).await?;
        let backend = PgBackend::options().schemas([schema]).connect(&args.db).await?;
        (listener, RestGate::builder().backend(backend).build().await?)
    } else {
        if args.schema.is_some() {
            return Err("--schema only applies to a postgres:// --db".into());
        }
        let path = Path::new(&args.db);
        if !path.exists() {
            return Err(format!("{} does not exist: seed it first with restgate-bench-seed", path.display()).into());
        }
        let listener = restgate_bench::bind_loopback(&args.listen).await?;
        let backend = SqliteBackend::connect(&restgate_bench::sqlite_url(path)).await?;
        (listener, RestGate::builder().backend(backend).build().await?)
    };
    let app = Router::new().restgate("/", gate);
    restgate_bench::serve("restgate", listener, app).await
}
