//! The baseline of the HTTP benchmark: the endpoints the benchmark uses,
//! written by hand with axum + sqlx the way a careful engineer would —
//! static SQL per query shape, a typed row struct, `sqlx::query_as`, serde.
//!
//! It answers the same requests as restgate does for table `items`, with the
//! same JSON (an array of objects, keys in column order, timestamps with a `T`):
//!
//! | request | response |
//! |---|---|
//! | `GET /items?limit=20` | the first 20 rows |
//! | `GET /items?id=eq.42` | `[{…}]`, the row with that primary key |
//! | `GET /items?category=eq.cat-0042&limit=10` | the rows of that category |
//! | `POST /items` with a JSON object | inserts it: 201, empty body |
//!
//! ```sh
//! baseline-server --db /tmp/bench.db --listen 127.0.0.1:0
//! ```

use std::path::PathBuf;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use restgate_bench::BoxError;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

/// Serves the bench endpoints by hand with axum + sqlx (loopback only).
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

/// One row of `items`, as returned.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct Item {
    id: i64,
    name: String,
    category: String,
    price: f64,
    in_stock: bool,
    created_at: String,
}

/// The body of `POST /items` (`created_at` is the column's default).
#[derive(Debug, Deserialize)]
struct NewItem {
    name: String,
    category: String,
    price: f64,
    in_stock: bool,
}

/// The query-string shapes the benchmark sends, PostgREST style (`id=eq.42`).
#[derive(Debug, Deserialize)]
struct ItemsQuery {
    id: Option<String>,
    category: Option<String>,
    limit: Option<i64>,
}

/// The select list, with `created_at` rendered as restgate renders timestamps (`T` between date and time).
macro_rules! select_items {
    ($($rest:literal)?) => {
        concat!("SELECT id, name, category, price, in_stock, replace(created_at, ' ', 'T') AS created_at FROM items" $(, " ", $rest)?)
    };
}

/// One static statement per query shape (SQLite: `LIMIT -1` is no limit).
const BY_ID: &str = select_items!("WHERE id = ? LIMIT ?");
const BY_CATEGORY: &str = select_items!("WHERE category = ? LIMIT ?");
const ALL: &str = select_items!("LIMIT ?");
const INSERT: &str = "INSERT INTO items (name, category, price, in_stock) VALUES (?, ?, ?, ?)";

/// A 4xx/5xx with a short JSON message.
struct AppError(StatusCode, String);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "message": self.1 }))).into_response()
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

/// The value of an `eq.` filter.
fn eq_value<'a>(param: &str, v: &'a str) -> Result<&'a str, AppError> {
    v.strip_prefix("eq.").ok_or_else(|| AppError(StatusCode::BAD_REQUEST, format!("{param}: only eq. is supported")))
}

async fn list_items(State(pool): State<SqlitePool>, Query(q): Query<ItemsQuery>) -> Result<Json<Vec<Item>>, AppError> {
    let limit = q.limit.unwrap_or(-1);
    if q.limit.is_some_and(|l| l < 0) {
        return Err(AppError(StatusCode::BAD_REQUEST, "limit must be >= 0".into()));
    }
    let rows = match (q.id.as_deref(), q.category.as_deref()) {
        (Some(id), None) => {
            let id: i64 = eq_value("id", id)?.parse().map_err(|_| AppError(StatusCode::BAD_REQUEST, "id must be an integer".into()))?;
            sqlx::query_as::<_, Item>(BY_ID).bind(id).bind(limit).fetch_all(&pool).await?
        }
        (None, Some(category)) => {
            let category = eq_value("category", category)?;
            sqlx::query_as::<_, Item>(BY_CATEGORY).bind(category).bind(limit).fetch_all(&pool).await?
        }
        (None, None) => sqlx::query_as::<_, Item>(ALL).bind(limit).fetch_all(&pool).await?,
        (Some(_), Some(_)) => return Err(AppError(StatusCode::BAD_REQUEST, "filter by id or by category, not both".into())),
    };
    Ok(Json(rows))
}

async fn create_item(State(pool): State<SqlitePool>, Json(item): Json<NewItem>) -> Result<StatusCode, AppError> {
    sqlx::query(INSERT).bind(item.name).bind(item.category).bind(item.price).bind(item.in_stock).execute(&pool).await?;
    Ok(StatusCode::CREATED)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let listener = restgate_bench::bind_loopback(&args.listen).await?;
    let pool = restgate_bench::connect_pool(&args.db).await?;
    let app = Router::new().route("/items", get(list_items).post(create_item)).with_state(pool);
    restgate_bench::serve("baseline", listener, app).await
}
