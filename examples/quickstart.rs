//! Serves a seeded SQLite demo shop as a REST API.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! Creates `quickstart.db` in the current directory on first run
//! (`RESTGATE_DB` picks another file) and listens on 127.0.0.1:3000
//! (`RESTGATE_LISTEN` picks another address).

use std::path::PathBuf;

use axum::{routing::get, Router};
use restgate::{axum::RestGateExt, RestGate, SqliteBackend, TxEnd};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Executor};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = PathBuf::from(std::env::var("RESTGATE_DB").unwrap_or_else(|_| "quickstart.db".into()));
    let listen = std::env::var("RESTGATE_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());

    if !path.exists() {
        let mut conn = SqliteConnectOptions::new().filename(&path).create_if_missing(true).connect().await?;
        conn.execute(include_str!("quickstart.sql")).await?;
        println!("created the demo database {}", path.display());
    }

    let backend = SqliteBackend::connect(&format!("sqlite://{}", path.display())).await?;
    let gate = RestGate::builder().backend(backend).max_rows(1000).tx_end(TxEnd::CommitAllowOverride).build().await?;
    let app = Router::new().route("/health", get(|| async { "ok" })).restgate("/", gate);

    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("restgate is serving {} on {base}\n\nTry:", path.display());
    // `->>` is percent-encoded: a URI may not hold a raw `>`.
    println!("  curl '{base}/customers?select=id,name,city:profile-%3E%3Ecity&vip=is.true'");
    println!("  curl '{base}/orders?status=in.(paid,shipped)&order=placed_at.desc' -H 'Prefer: count=exact'");
    // Related rows from the foreign keys, nested in one statement.
    println!("  curl '{base}/customers?select=name,orders(id,status,order_items(quantity,products(name)))&orders.order=id'");
    println!(
        "  curl '{base}/products' -H 'Content-Type: application/json' -H 'Prefer: return=representation' \\\n       -d '{{\"name\": \"Desk lamp\", \"price\": 34.5, \"tags\": [\"lighting\"]}}'"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
