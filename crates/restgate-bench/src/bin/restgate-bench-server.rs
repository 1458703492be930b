//! Serves the bench database through restgate, mounted at `/` of an axum
//! router, exactly as an application would.
//!
//! ```sh
//! restgate-bench-server --db /tmp/bench.db --listen 127.0.0.1:0
//! restgate-bench-server --db postgres://postgres@127.0.0.1:5432/test --schema rg_bench_a --listen 127.0.0.1:0
//! restgate-bench-server --db mysql://root@127.0.0.1:3306/rg_bench_a --listen 127.0.0.1:0
//! restgate-bench-server --db /tmp/bench.db --jwt-secret "$SECRET"   # authenticated (benches/auth.sh)
//! ```
//!
//! With `--jwt-secret`, every request must carry an HS256 JWT whose `role`
//! is `bench`; that role reads and creates in every table under a row
//! filter from a claim (`id=gte.{claims.min_id}`), so the benchmark
//! measures authentication and the policy on the same rows.

use std::path::Path;

use axum::Router;
use clap::Parser;
use restgate_axum::RestGateExt;
use restgate_bench::BoxError;
use restgate_core::auth::{Authenticators, Jwt};
use restgate_core::policy::{Policy, RowFilter, Rule, Verb};
use restgate_core::{RestGate, RestGateBuilder};
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
    /// Require an HS256 JWT signed with this secret (32 bytes or more) and
    /// enforce the bench policy (role `bench`, row filter from a claim).
    #[arg(long, value_name = "SECRET")]
    jwt_secret: Option<String>,
}

/// Authentication and the bench policy, when `--jwt-secret` is given.
fn secure(builder: RestGateBuilder, secret: Option<&str>) -> Result<RestGateBuilder, BoxError> {
    let Some(secret) = secret else { return Ok(builder) };
    let jwt = Jwt::hs256(secret).build()?;
    let rule = Rule::new().filter(RowFilter::parse("id=gte.{claims.min_id}")?);
    let policy = Policy::new().grant("bench", "*", [Verb::Read, Verb::Create], rule);
    Ok(builder.authenticate(Authenticators::new().with(jwt)).policy(policy))
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
        (listener, secure(RestGate::builder().backend(backend), args.jwt_secret.as_deref())?.build().await?)
    } else if restgate_bench::is_postgres_url(&args.db) {
        let schema = args.schema.ok_or("--schema NAME is required with a postgres:// --db")?;
        restgate_bench::check_schema_name(&schema)?;
        let listener = restgate_bench::bind_loopback(&args.listen).await?;
        let backend = PgBackend::options().schemas([schema]).connect(&args.db).await?;
        (listener, secure(RestGate::builder().backend(backend), args.jwt_secret.as_deref())?.build().await?)
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
        (listener, secure(RestGate::builder().backend(backend), args.jwt_secret.as_deref())?.build().await?)
    };
    let app = Router::new().restgate("/", gate);
    restgate_bench::serve("restgate", listener, app).await
}
