//! Shared pieces of restgate's HTTP benchmark (`benches/http.sh`).
//!
//! The crate has three binaries:
//!
//! | binary | what |
//! |---|---|
//! | `restgate-bench-seed` | creates and seeds the bench database (table `items`) |
//! | `restgate-bench-server` | serves that database through restgate |
//! | `baseline-server` | the same endpoints written by hand with axum + sqlx |
//!
//! Both servers open the database with the same pool settings
//! ([`pool_options`] and [`SqliteBackend::options`]), run on tokio's
//! multi-thread runtime, listen on loopback addresses only
//! ([`bind_loopback`]) and print `listening on http://<addr>` once ready, so
//! `--listen 127.0.0.1:0` picks a free port that a script can read back.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use restgate_sqlite::SqliteBackend;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection, Executor};
use tokio::net::TcpListener;

/// Any error, for `main`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The schema of the bench database.
pub const SCHEMA: &str = "
CREATE TABLE items (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    price       REAL NOT NULL,
    in_stock    BOOLEAN NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX items_category ON items (category);
";

/// The category of row `i` (`cat-0042`): rows are spread evenly over `categories`.
pub fn category_name(i: u64, categories: u64) -> String {
    format!("cat-{:04}", i % categories.max(1))
}

/// The sqlx URL of a database file.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Creates the database at `path` (which must not exist yet) and inserts
/// `rows` items spread over `categories` categories, in one transaction.
/// The file is left in SQLite's default rollback-journal mode, self-contained.
pub async fn seed(path: &Path, rows: u64, categories: u64) -> Result<(), BoxError> {
    if path.exists() {
        return Err(format!("{} already exists: seed a fresh path", path.display()).into());
    }
    let mut conn = SqliteConnectOptions::new().filename(path).create_if_missing(true).connect().await?;
    conn.execute(SCHEMA).await?;
    conn.execute("BEGIN").await?;
    // One statement generates every row; the values are deterministic.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO items (id, name, category, price, in_stock, created_at)
         SELECT i,
                printf('Item %05d', i),
                printf('cat-%04d', i % ?2),
                ((i * 7919) % 100000) / 100.0,
                i % 3 <> 0,
                datetime('2024-01-01 00:00:00', printf('+%d minutes', i))
         FROM n",
    )
    .bind(rows as i64)
    .bind(categories.max(1) as i64)
    .execute(&mut conn)
    .await?;
    conn.execute("COMMIT").await?;
    conn.execute("ANALYZE").await?;
    // Closed explicitly so the file is complete (and copyable) when this returns;
    // the servers switch it to WAL when they open it.
    conn.close().await?;
    Ok(())
}

/// The pool settings [`SqliteBackend::connect`] uses (8 connections, 5 s
/// acquire timeout), so the baseline's pool is configured identically.
pub fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(5))
}

/// Opens the database at `path` exactly as restgate's SQLite backend does:
/// [`SqliteBackend::options`] (WAL, foreign keys, 5 s busy timeout) and [`pool_options`].
pub async fn connect_pool(path: &Path) -> Result<SqlitePool, BoxError> {
    if !path.exists() {
        return Err(format!("{} does not exist: seed it first with restgate-bench-seed", path.display()).into());
    }
    let opts = SqliteBackend::options(&sqlite_url(path))?;
    Ok(pool_options().connect_with(opts).await?)
}

/// Binds `addr`, which must be a loopback address (`127.0.0.1:0` picks a free port).
pub async fn bind_loopback(addr: &str) -> Result<TcpListener, BoxError> {
    let parsed: SocketAddr = addr.parse().map_err(|e| format!("--listen {addr:?}: {e} (expected e.g. 127.0.0.1:8080)"))?;
    if !parsed.ip().is_loopback() {
        return Err(format!("--listen {addr}: the bench servers only listen on loopback addresses").into());
    }
    Ok(TcpListener::bind(parsed).await?)
}

/// Serves `app` on `listener` until Ctrl-C or SIGTERM, after printing
/// `listening on http://<addr>` (the line `benches/http.sh` waits for).
pub async fn serve(name: &str, listener: TcpListener, app: Router) -> Result<(), BoxError> {
    println!("{name} listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_spread_evenly() {
        assert_eq!(category_name(42, 1000), "cat-0042");
        assert_eq!(category_name(1042, 1000), "cat-0042");
        assert_eq!(category_name(7, 0), "cat-0000");
    }

    #[tokio::test]
    async fn rejects_non_loopback() {
        assert!(bind_loopback("0.0.0.0:0").await.is_err());
        assert!(bind_loopback("not an address").await.is_err());
        assert!(bind_loopback("127.0.0.1:0").await.is_ok());
    }

    #[tokio::test]
    async fn seeds_ten_rows_per_category() {
        let dir = std::env::temp_dir().join(format!("restgate-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seed.db");
        let _ = std::fs::remove_file(&path);
        seed(&path, 1000, 100).await.unwrap();
        let pool = connect_pool(&path).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM items WHERE category = 'cat-0042'").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 10);
        pool.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
