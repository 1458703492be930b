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
//! | `GET /orders?select=*,customers(*),order_items(*,products(*))&order=id&order_items.order=id&limit=20` | the first 20 orders by id, each with its customer (an object) and its items by id (an array), each item with its product (an object) |
//!
//! The embed is one statement — the limited orders joined to their
//! customer, items and products, ordered by order and item — whose flat rows
//! are grouped into nested structs in Rust and serialized with serde.
//! ```sh
//! baseline-server --db /tmp/bench.db --listen 127.0.0.1:0
//! baseline-server --db postgres://postgres@127.0.0.1:5432/test --schema rg_bench_b --listen 127.0.0.1:0
//! baseline-server --db mysql://root@127.0.0.1:3306/rg_bench_b --listen 127.0.0.1:0
//! ```
//!
//! On SQLite the pool is opened like restgate's SQLite backend; on
//! PostgreSQL like restgate-postgres's defaults (10 connections, 5 s acquire
//! timeout, `TimeZone = UTC`), with `search_path` set to `--schema`; on
//! MySQL/MariaDB like restgate-mysql's defaults (10 connections, 5 s acquire
//! timeout, `time_zone = '+00:00'`), on the database the URL names.

use std::path::Path;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use restgate_bench::BoxError;
use serde::{Deserialize, Serialize, Serializer};
use sqlx::{MySqlPool, PgPool, SqlitePool};

/// Serves the bench endpoints by hand with axum + sqlx (loopback only).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The SQLite database file, a `postgres://` URL or a `mysql://…/DATABASE`
    /// URL (seed it with restgate-bench-seed).
    #[arg(long)]
    db: String,
    /// PostgreSQL only: the schema holding `items` (becomes the `search_path`).
    #[arg(long)]
    schema: Option<String>,
    /// Loopback address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
}

/// One row of `items`, as returned (SQLite).
#[derive(Debug, Serialize, sqlx::FromRow)]
struct Item {
    id: i64,
    name: String,
    category: String,
    price: f64,
    in_stock: bool,
    created_at: String,
}

/// One row of `items`, as returned (PostgreSQL). The price is written as
/// PostgreSQL's JSON writes a `float8` (`12` rather than serde's `12.0`).
#[derive(Debug, Serialize, sqlx::FromRow)]
struct PgItem {
    id: i64,
    name: String,
    category: String,
    #[serde(serialize_with = "json_float8")]
    price: f64,
    in_stock: bool,
    created_at: String,
}

/// One row of `items`, as returned (MySQL/MariaDB). `in_stock` is a
/// `TINYINT(1)` decoded as `bool`; the price is written as MariaDB's
/// `JSON_OBJECT` writes a `DOUBLE` (`919`, not serde's `919.0`).
#[derive(Debug, Serialize, sqlx::FromRow)]
struct MyItem {
    id: i64,
    name: String,
    category: String,
    #[serde(serialize_with = "json_float8")]
    price: f64,
    in_stock: bool,
    created_at: String,
}

/// A double as PostgreSQL's and MariaDB's JSON render it: integral values
/// without a fraction; otherwise the shortest round-trip form, as serde
/// writes it (for the bench's prices, which have at most two decimals).
fn json_float8<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// The `select` of the embed request, the only one the baseline serves on `/orders`.
const EMBED_SELECT: &str = "*,customers(*),order_items(*,products(*))";

/// The query string of the embed request, PostgREST style: `select` must
/// be [`EMBED_SELECT`], and both orders must be by `id`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrdersQuery {
    select: Option<String>,
    order: Option<String>,
    #[serde(rename = "order_items.order")]
    items_order: Option<String>,
    limit: Option<i64>,
}

impl OrdersQuery {
    /// The limit, after checking that this is the request the baseline serves.
    fn limit(&self) -> Result<Option<i64>, AppError> {
        if self.select.as_deref() != Some(EMBED_SELECT) || self.order.as_deref() != Some("id") || self.items_order.as_deref() != Some("id")
        {
            return Err(AppError(
                StatusCode::BAD_REQUEST,
                format!("only select={EMBED_SELECT}&order=id&order_items.order=id[&limit=N] is supported"),
            ));
        }
        if self.limit.is_some_and(|l| l < 0) {
            return Err(AppError(StatusCode::BAD_REQUEST, "limit must be >= 0".into()));
        }
        Ok(self.limit)
    }
}

/// One row of the embed join: an order, its customer, and one of its items
/// with that item's product (the item and product columns are NULL for an
/// order without items). Same struct on every database: ids are BIGINT, `qty`
/// INT, the price is selected as a double and `placed_at` as text.
#[derive(Debug, sqlx::FromRow)]
struct OrderRow {
    id: i64,
    customer_id: i64,
    placed_at: String,
    status: String,
    c_id: i64,
    c_name: String,
    c_email: String,
    c_city: String,
    oi_id: Option<i64>,
    oi_order_id: Option<i64>,
    oi_product_id: Option<i64>,
    oi_qty: Option<i32>,
    p_id: Option<i64>,
    p_name: Option<String>,
    p_price: Option<f64>,
    p_in_stock: Option<bool>,
}

/// An order with its customer and items, as returned (keys in column order,
/// then the embeds in `select` order, as restgate writes them).
#[derive(Debug, Serialize)]
struct Order {
    id: i64,
    customer_id: i64,
    placed_at: String,
    status: String,
    customers: Customer,
    order_items: Vec<OrderItem>,
}

/// A customer, embedded in its order.
#[derive(Debug, Serialize)]
struct Customer {
    id: i64,
    name: String,
    email: String,
    city: String,
}

/// An order item, embedded in its order, with its product.
#[derive(Debug, Serialize)]
struct OrderItem {
    id: i64,
    order_id: i64,
    product_id: i64,
    qty: i32,
    /// `null` if the product is missing (cannot happen: the key is NOT NULL
    /// and a foreign key), as restgate renders a missing to-one embed.
    products: Option<Product>,
}

/// A product, embedded in an order item. The NUMERIC(10,2) price is written
/// as restgate writes it: trailing zeros trimmed (`7`, `40.5`, `10.22`).
#[derive(Debug, Serialize)]
struct Product {
    id: i64,
    name: String,
    #[serde(serialize_with = "json_float8")]
    price: f64,
    in_stock: bool,
}

/// Groups the join's rows (ordered by order id, then item id) into orders.
fn nest_orders(rows: Vec<OrderRow>) -> Vec<Order> {
    let mut orders: Vec<Order> = Vec::new();
    for r in rows {
        if orders.last().is_none_or(|o| o.id != r.id) {
            orders.push(Order {
                id: r.id,
                customer_id: r.customer_id,
                placed_at: r.placed_at,
                status: r.status,
                customers: Customer { id: r.c_id, name: r.c_name, email: r.c_email, city: r.c_city },
                order_items: Vec::new(),
            });
        }
        if let (Some(id), Some(order_id), Some(product_id), Some(qty)) = (r.oi_id, r.oi_order_id, r.oi_product_id, r.oi_qty) {
            let products = match (r.p_id, r.p_name, r.p_price, r.p_in_stock) {
                (Some(id), Some(name), Some(price), Some(in_stock)) => Some(Product { id, name, price, in_stock }),
                _ => None,
            };
            if let Some(order) = orders.last_mut() {
                order.order_items.push(OrderItem { id, order_id, product_id, qty, products });
            }
        }
    }
    orders
}

/// The embed join's select list and FROM clause, with the dialect's
/// `placed_at` text, price-as-double and limit placeholder spliced in.
macro_rules! embed_sql {
    ($placed_at:literal, $price:literal, $limit:literal) => {
        concat!(
            "SELECT o.id, o.customer_id, ",
            $placed_at,
            " AS placed_at, o.status, ",
            "c.id AS c_id, c.name AS c_name, c.email AS c_email, c.city AS c_city, ",
            "oi.id AS oi_id, oi.order_id AS oi_order_id, oi.product_id AS oi_product_id, oi.qty AS oi_qty, ",
            "p.id AS p_id, p.name AS p_name, ",
            $price,
            " AS p_price, p.in_stock AS p_in_stock ",
            "FROM (SELECT * FROM orders ORDER BY id LIMIT ",
            $limit,
            ") AS o ",
            "JOIN customers c ON c.id = o.customer_id ",
            "LEFT JOIN order_items oi ON oi.order_id = o.id ",
            "LEFT JOIN products p ON p.id = oi.product_id ",
            "ORDER BY o.id, oi.id"
        )
    };
}

/// The embed statement per database.
const EMBED: &str = embed_sql!("replace(o.placed_at, ' ', 'T')", "CAST(p.price AS REAL)", "?");
const PG_EMBED: &str = embed_sql!("replace(o.placed_at::text, ' ', 'T')", "p.price::float8", "$1");
const MY_EMBED: &str = embed_sql!("DATE_FORMAT(o.placed_at, '%Y-%m-%dT%H:%i:%s')", "CAST(p.price AS DOUBLE)", "?");

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

/// A parsed [`ItemsQuery`]: which statement, and its parameters.
enum Shape<'a> {
    ById(i64),
    ByCategory(&'a str),
    All,
}

/// The select list, with `created_at` rendered as restgate renders timestamps (`T` between date and time).
macro_rules! select_items {
    ($($rest:literal)?) => {
        concat!("SELECT id, name, category, price, in_stock, replace(created_at, ' ', 'T') AS created_at FROM items" $(, " ", $rest)?)
    };
}

/// The same for PostgreSQL: `created_at::text` is ISO (sqlx sets `DateStyle = ISO`), fractions only when present.
macro_rules! pg_select_items {
    ($($rest:literal)?) => {
        concat!("SELECT id, name, category, price, in_stock, replace(created_at::text, ' ', 'T') AS created_at FROM items" $(, " ", $rest)?)
    };
}

/// The same for MySQL/MariaDB: `DATETIME` (no fraction) as `2024-01-01T00:42:00`.
macro_rules! my_select_items {
    ($($rest:literal)?) => {
        concat!("SELECT id, name, category, price, in_stock, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s') AS created_at FROM items" $(, " ", $rest)?)
    };
}

/// One static statement per query shape (SQLite: `LIMIT -1` is no limit).
const BY_ID: &str = select_items!("WHERE id = ? LIMIT ?");
const BY_CATEGORY: &str = select_items!("WHERE category = ? LIMIT ?");
const ALL: &str = select_items!("LIMIT ?");
const INSERT: &str = "INSERT INTO items (name, category, price, in_stock) VALUES (?, ?, ?, ?)";

/// One static statement per query shape (PostgreSQL: `LIMIT NULL` is no limit).
const PG_BY_ID: &str = pg_select_items!("WHERE id = $1 LIMIT $2");
const PG_BY_CATEGORY: &str = pg_select_items!("WHERE category = $1 LIMIT $2");
const PG_ALL: &str = pg_select_items!("LIMIT $1");
const PG_INSERT: &str = "INSERT INTO items (name, category, price, in_stock) VALUES ($1, $2, $3, $4)";

/// One static statement per query shape (MySQL: no limit is the largest `BIGINT UNSIGNED`).
const MY_BY_ID: &str = my_select_items!("WHERE id = ? LIMIT ?");
const MY_BY_CATEGORY: &str = my_select_items!("WHERE category = ? LIMIT ?");
const MY_ALL: &str = my_select_items!("LIMIT ?");
const MY_INSERT: &str = INSERT;

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

impl ItemsQuery {
    /// The statement shape, after checking the parameters.
    fn shape(&self) -> Result<Shape<'_>, AppError> {
        if self.limit.is_some_and(|l| l < 0) {
            return Err(AppError(StatusCode::BAD_REQUEST, "limit must be >= 0".into()));
        }
        match (self.id.as_deref(), self.category.as_deref()) {
            (Some(id), None) => {
                let id = eq_value("id", id)?.parse().map_err(|_| AppError(StatusCode::BAD_REQUEST, "id must be an integer".into()))?;
                Ok(Shape::ById(id))
            }
            (None, Some(category)) => Ok(Shape::ByCategory(eq_value("category", category)?)),
            (None, None) => Ok(Shape::All),
            (Some(_), Some(_)) => Err(AppError(StatusCode::BAD_REQUEST, "filter by id or by category, not both".into())),
        }
    }
}

async fn list_items(State(pool): State<SqlitePool>, Query(q): Query<ItemsQuery>) -> Result<Json<Vec<Item>>, AppError> {
    let limit = q.limit.unwrap_or(-1);
    let rows = match q.shape()? {
        Shape::ById(id) => sqlx::query_as::<_, Item>(BY_ID).bind(id).bind(limit).fetch_all(&pool).await?,
        Shape::ByCategory(category) => sqlx::query_as::<_, Item>(BY_CATEGORY).bind(category).bind(limit).fetch_all(&pool).await?,
        Shape::All => sqlx::query_as::<_, Item>(ALL).bind(limit).fetch_all(&pool).await?,
    };
    Ok(Json(rows))
}

async fn create_item(State(pool): State<SqlitePool>, Json(item): Json<NewItem>) -> Result<StatusCode, AppError> {
    sqlx::query(INSERT).bind(item.name).bind(item.category).bind(item.price).bind(item.in_stock).execute(&pool).await?;
    Ok(StatusCode::CREATED)
}

async fn pg_list_items(State(pool): State<PgPool>, Query(q): Query<ItemsQuery>) -> Result<Json<Vec<PgItem>>, AppError> {
    let limit = q.limit;
    let rows = match q.shape()? {
        Shape::ById(id) => sqlx::query_as::<_, PgItem>(PG_BY_ID).bind(id).bind(limit).fetch_all(&pool).await?,
        Shape::ByCategory(category) => sqlx::query_as::<_, PgItem>(PG_BY_CATEGORY).bind(category).bind(limit).fetch_all(&pool).await?,
        Shape::All => sqlx::query_as::<_, PgItem>(PG_ALL).bind(limit).fetch_all(&pool).await?,
    };
    Ok(Json(rows))
}

async fn pg_create_item(State(pool): State<PgPool>, Json(item): Json<NewItem>) -> Result<StatusCode, AppError> {
    sqlx::query(PG_INSERT).bind(item.name).bind(item.category).bind(item.price).bind(item.in_stock).execute(&pool).await?;
    Ok(StatusCode::CREATED)
}

async fn my_list_items(State(pool): State<MySqlPool>, Query(q): Query<ItemsQuery>) -> Result<Json<Vec<MyItem>>, AppError> {
    let shape = q.shape()?;
    let limit = q.limit.map_or(u64::MAX, |l| l as u64);
    let rows = match shape {
        Shape::ById(id) => sqlx::query_as::<_, MyItem>(MY_BY_ID).bind(id).bind(limit).fetch_all(&pool).await?,
        Shape::ByCategory(category) => sqlx::query_as::<_, MyItem>(MY_BY_CATEGORY).bind(category).bind(limit).fetch_all(&pool).await?,
        Shape::All => sqlx::query_as::<_, MyItem>(MY_ALL).bind(limit).fetch_all(&pool).await?,
    };
    Ok(Json(rows))
}

async fn my_create_item(State(pool): State<MySqlPool>, Json(item): Json<NewItem>) -> Result<StatusCode, AppError> {
    sqlx::query(MY_INSERT).bind(item.name).bind(item.category).bind(item.price).bind(item.in_stock).execute(&pool).await?;
    Ok(StatusCode::CREATED)
}

async fn list_orders(State(pool): State<SqlitePool>, Query(q): Query<OrdersQuery>) -> Result<Json<Vec<Order>>, AppError> {
    let limit = q.limit()?.unwrap_or(-1);
    let rows = sqlx::query_as::<_, OrderRow>(EMBED).bind(limit).fetch_all(&pool).await?;
    Ok(Json(nest_orders(rows)))
}

async fn pg_list_orders(State(pool): State<PgPool>, Query(q): Query<OrdersQuery>) -> Result<Json<Vec<Order>>, AppError> {
    let limit = q.limit()?;
    let rows = sqlx::query_as::<_, OrderRow>(PG_EMBED).bind(limit).fetch_all(&pool).await?;
    Ok(Json(nest_orders(rows)))
}

async fn my_list_orders(State(pool): State<MySqlPool>, Query(q): Query<OrdersQuery>) -> Result<Json<Vec<Order>>, AppError> {
    let limit = q.limit()?.map_or(u64::MAX, |l| l as u64);
    let rows = sqlx::query_as::<_, OrderRow>(MY_EMBED).bind(limit).fetch_all(&pool).await?;
    Ok(Json(nest_orders(rows)))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let (listener, app) = if restgate_bench::is_mysql_url(&args.db) {
        if args.schema.is_some() {
            return Err("--schema does not apply to a mysql:// --db: the URL's database is used".into());
        }
        restgate_bench::split_mysql_url(&args.db)?;
        let listener = restgate_bench::bind_loopback(&args.listen).await?;
        let pool = restgate_bench::connect_mysql_pool(&args.db).await?;
        (
            listener,
            Router::new().route("/items", get(my_list_items).post(my_create_item)).route("/orders", get(my_list_orders)).with_state(pool),
        )
    } else if restgate_bench::is_postgres_url(&args.db) {
        let schema = args.schema.ok_or("--schema NAME is required with a postgres:// --db")?;
        restgate_bench::check_schema_name(&schema)?;
        let listener = restgate_bench::bind_loopback(&args.listen).await?;
        let pool = restgate_bench::connect_pg_pool(&args.db, &schema).await?;
        (
            listener,
            Router::new().route("/items", get(pg_list_items).post(pg_create_item)).route("/orders", get(pg_list_orders)).with_state(pool),
        )
    } else {
        if args.schema.is_some() {
            return Err("--schema only applies to a postgres:// --db".into());
        }
        let listener = restgate_bench::bind_loopback(&args.listen).await?;
        let pool = restgate_bench::connect_pool(Path::new(&args.db)).await?;
        (listener, Router::new().route("/items", get(list_items).post(create_item)).route("/orders", get(list_orders)).with_state(pool))
    };
    restgate_bench::serve("baseline", listener, app).await
}
