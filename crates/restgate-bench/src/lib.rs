//! Shared pieces of restgate's HTTP benchmark (`benches/http.sh`).
//!
//! The crate has three binaries:
//!
//! | binary | what |
//! |---|---|
//! | `restgate-bench-seed` | creates and seeds the bench database (table `items` and the shop tables of the `embed` scenario, see [`Shop`]) |
//! | `restgate-bench-server` | serves that database through restgate |
//! | `baseline-server` | the same endpoints written by hand with axum + sqlx |
//!
//! Each takes `--db`: a SQLite file path, a `postgres://` URL together
//! with `--schema NAME` (the PostgreSQL schema that holds `items`), or a
//! `mysql://` URL whose database holds `items` (MySQL/MariaDB: the database
//! is the schema).
//!
//! Both servers open the database with the same pool settings
//! ([`pool_options`] and [`SqliteBackend::options`] on SQLite,
//! [`pg_pool_options`] and [`pg_connect_options`] on PostgreSQL,
//! [`mysql_pool_options`] and [`mysql_connect_options`] on MySQL), run on tokio's
//! multi-thread runtime, listen on loopback addresses only
//! ([`bind_loopback`]) and print `listening on http://<addr>` once ready, so
//! `--listen 127.0.0.1:0` picks a free port that a script can read back.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use restgate_mysql::MySqlBackend;
use restgate_sqlite::SqliteBackend;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};
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

// --- The shop: customers, products, orders, order_items ----------------------

/// Sizes of the shop tables the `embed` scenario reads (`orders` with its
/// customer and its items, each with its product).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shop {
    /// Rows of `customers`.
    pub customers: u64,
    /// Rows of `products`.
    pub products: u64,
    /// Rows of `orders`; `order_items` gets 1–5 rows per order, 3 on average.
    pub orders: u64,
}

impl Default for Shop {
    /// 1,000 customers, 200 products, 10,000 orders (30,000 order items).
    fn default() -> Self {
        Shop { customers: 1_000, products: 200, orders: 10_000 }
    }
}

/// The SQL dialect a piece of seeding SQL is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL/MariaDB.
    MySql,
}

/// The cities customers live in (`customers.city`).
const CITIES: [&str; 10] = ["Berlin", "Paris", "Rome", "Madrid", "Lisbon", "Vienna", "Prague", "Warsaw", "Oslo", "Dublin"];

/// The statuses orders go through (`orders.status`).
const STATUSES: [&str; 5] = ["pending", "paid", "shipped", "delivered", "cancelled"];

/// The customer of order `i` (1-based ids).
pub fn order_customer(i: u64, customers: u64) -> u64 {
    1 + (i * 7919) % customers.max(1)
}

/// How many items order `i` has: 1–5, 3 on average.
pub fn order_item_count(i: u64) -> u64 {
    1 + (i * 7) % 5
}

/// The product of item `k` (0-based) of order `i`: distinct within an order
/// when there are at least 200 products.
pub fn order_item_product(i: u64, k: u64, products: u64) -> u64 {
    1 + (i * 37 + k * 53) % products.max(1)
}

/// The price of product `i` in cents: 1.00–100.99, some of them whole
/// (`price` is NUMERIC/DECIMAL(10,2), so 12.00 and 12.50 both occur).
pub fn product_price_cents(i: u64) -> u64 {
    let cents = 100 + (i * 7919) % 10_000;
    // Every 7th product costs a whole amount, every 5th ends in .50.
    if i.is_multiple_of(7) {
        cents - cents % 100
    } else if i.is_multiple_of(5) {
        cents - cents % 100 + 50
    } else {
        cents
    }
}

/// The shop tables (`customers`, `products`, `orders`, `order_items`) with
/// real foreign keys and indexes on the foreign-key columns, in `dialect`.
/// `qualifier` is prepended to every table name (`"s".` on PostgreSQL,
/// `` `db`. `` on MySQL; ignored on SQLite, which has one schema).
pub fn shop_schema_sql(dialect: Dialect, qualifier: &str) -> String {
    let q = qualifier;
    match dialect {
        Dialect::Sqlite => String::from(
            "CREATE TABLE customers (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL,
    email  TEXT NOT NULL,
    city   TEXT NOT NULL
);
CREATE TABLE products (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,
    price     NUMERIC(10,2) NOT NULL,
    in_stock  BOOLEAN NOT NULL
);
CREATE TABLE orders (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    placed_at    TIMESTAMP NOT NULL,
    status       TEXT NOT NULL
);
CREATE INDEX orders_customer_id ON orders (customer_id);
CREATE TABLE order_items (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    product_id  INTEGER NOT NULL REFERENCES products (id),
    qty         INTEGER NOT NULL
);
CREATE INDEX order_items_order_id ON order_items (order_id);
CREATE INDEX order_items_product_id ON order_items (product_id);
",
        ),
        Dialect::Postgres => format!(
            "CREATE TABLE {q}customers (
    id     bigint PRIMARY KEY,
    name   text NOT NULL,
    email  text NOT NULL,
    city   text NOT NULL
);
CREATE TABLE {q}products (
    id        bigint PRIMARY KEY,
    name      text NOT NULL,
    price     numeric(10,2) NOT NULL,
    in_stock  boolean NOT NULL
);
CREATE TABLE {q}orders (
    id           bigint PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES {q}customers (id),
    placed_at    timestamp NOT NULL,
    status       text NOT NULL
);
CREATE INDEX orders_customer_id ON {q}orders (customer_id);
CREATE TABLE {q}order_items (
    id          bigint PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES {q}orders (id),
    product_id  bigint NOT NULL REFERENCES {q}products (id),
    qty         integer NOT NULL
);
CREATE INDEX order_items_order_id ON {q}order_items (order_id);
CREATE INDEX order_items_product_id ON {q}order_items (product_id);
"
        ),
        Dialect::MySql => format!(
            "CREATE TABLE {q}customers (
    id     BIGINT PRIMARY KEY,
    name   VARCHAR(100) NOT NULL,
    email  VARCHAR(100) NOT NULL,
    city   VARCHAR(40) NOT NULL
);
CREATE TABLE {q}products (
    id        BIGINT PRIMARY KEY,
    name      VARCHAR(100) NOT NULL,
    price     DECIMAL(10,2) NOT NULL,
    in_stock  BOOLEAN NOT NULL
);
CREATE TABLE {q}orders (
    id           BIGINT PRIMARY KEY,
    customer_id  BIGINT NOT NULL,
    placed_at    DATETIME NOT NULL,
    status       VARCHAR(20) NOT NULL,
    INDEX orders_customer_id (customer_id),
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES {q}customers (id)
);
CREATE TABLE {q}order_items (
    id          BIGINT PRIMARY KEY,
    order_id    BIGINT NOT NULL,
    product_id  BIGINT NOT NULL,
    qty         INT NOT NULL,
    INDEX order_items_order_id (order_id),
    INDEX order_items_product_id (product_id),
    CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES {q}orders (id),
    CONSTRAINT order_items_product_fk FOREIGN KEY (product_id) REFERENCES {q}products (id)
);
"
        ),
    }
}

/// Rows per multi-row INSERT when seeding the shop.
const SHOP_CHUNK: usize = 1000;

/// Appends `INSERT INTO {table} VALUES (…), (…)` statements for `rows`
/// (already rendered as SQL tuples) to `out`, [`SHOP_CHUNK`] rows each.
fn push_inserts(out: &mut Vec<String>, table: &str, columns: &str, rows: &[String]) {
    for chunk in rows.chunks(SHOP_CHUNK) {
        out.push(format!("INSERT INTO {table} ({columns}) VALUES {}", chunk.join(", ")));
    }
}

/// The INSERT statements that fill the shop tables, parents first, in
/// `dialect`, with `qualifier` as in [`shop_schema_sql`]. The values are
/// deterministic and written as literals: every string is generated here
/// (ASCII letters, digits, `@`, `.` and spaces; no quotes).
pub fn shop_insert_sql(dialect: Dialect, qualifier: &str, shop: &Shop) -> Vec<String> {
    let q = if dialect == Dialect::Sqlite { "" } else { qualifier };
    let mut out = Vec::new();
    let customers: Vec<String> = (1..=shop.customers)
        .map(|i| format!("({i}, 'Customer {i:04}', 'customer{i:04}@example.com', '{}')", CITIES[(i % 10) as usize]))
        .collect();
    push_inserts(&mut out, &format!("{q}customers"), "id, name, email, city", &customers);

    let products: Vec<String> = (1..=shop.products)
        .map(|i| {
            let cents = product_price_cents(i);
            let price = format!("{}.{:02}", cents / 100, cents % 100);
            let in_stock = match (dialect, i % 4 != 0) {
                (Dialect::Sqlite, b) => {
                    if b {
                        "1"
                    } else {
                        "0"
                    }
                }
                (_, b) => {
                    if b {
                        "TRUE"
                    } else {
                        "FALSE"
                    }
                }
            };
            format!("({i}, 'Product {i:03}', {price}, {in_stock})")
        })
        .collect();
    push_inserts(&mut out, &format!("{q}products"), "id, name, price, in_stock", &products);

    // Orders are placed 53 minutes apart from 2024-01-01 on (10,000 orders span a year).
    let placed_at = |i: u64| match dialect {
        Dialect::Sqlite => format!("datetime('2024-01-01 00:00:00', '+{} minutes')", i * 53),
        Dialect::Postgres => format!("timestamp '2024-01-01 00:00:00' + interval '{} minutes'", i * 53),
        Dialect::MySql => format!("TIMESTAMPADD(MINUTE, {}, '2024-01-01 00:00:00')", i * 53),
    };
    let orders: Vec<String> = (1..=shop.orders)
        .map(|i| {
            let status = STATUSES[((i * 3) % 5) as usize];
            format!("({i}, {}, {}, '{status}')", order_customer(i, shop.customers), placed_at(i))
        })
        .collect();
    push_inserts(&mut out, &format!("{q}orders"), "id, customer_id, placed_at, status", &orders);

    let mut items = Vec::new();
    let mut id = 0;
    for i in 1..=shop.orders {
        for k in 0..order_item_count(i) {
            id += 1;
            items.push(format!("({id}, {i}, {}, {})", order_item_product(i, k, shop.products), 1 + (i + k) % 4));
        }
    }
    push_inserts(&mut out, &format!("{q}order_items"), "id, order_id, product_id, qty", &items);
    out
}

/// The sqlx URL of a database file.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Creates the database at `path` (which must not exist yet) and inserts
/// `rows` items spread over `categories` categories and the `shop` tables
/// ([`shop_schema_sql`]), in one transaction. The file is left in SQLite's
/// default rollback-journal mode, self-contained.
pub async fn seed(path: &Path, rows: u64, categories: u64, shop: &Shop) -> Result<(), BoxError> {
    if path.exists() {
        return Err(format!("{} already exists: seed a fresh path", path.display()).into());
    }
    let mut conn = SqliteConnectOptions::new().filename(path).create_if_missing(true).connect().await?;
    conn.execute(SCHEMA).await?;
    sqlx::raw_sql(AssertSqlSafe(shop_schema_sql(Dialect::Sqlite, ""))).execute(&mut conn).await?;
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
    for insert in shop_insert_sql(Dialect::Sqlite, "", shop) {
        sqlx::raw_sql(AssertSqlSafe(insert)).execute(&mut conn).await?;
    }
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

/// Whether `db` (a `--db` argument) is a PostgreSQL URL rather than a SQLite path.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// Checks a `--schema` name: 1–63 ASCII letters, digits and underscores, not
/// starting with a digit (it is interpolated into DDL, quoted).
pub fn check_schema_name(name: &str) -> Result<(), BoxError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(format!("--schema {name:?}: expected 1-63 ASCII letters, digits or underscores, not starting with a digit").into())
    }
}

/// The PostgreSQL table of the bench, in schema `{schema}` (same columns as [`SCHEMA`]).
pub fn pg_schema_sql(schema: &str) -> String {
    format!(
        r#"DROP SCHEMA IF EXISTS "{schema}" CASCADE;
CREATE SCHEMA "{schema}";
CREATE TABLE "{schema}".items (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    category    text NOT NULL,
    price       double precision NOT NULL,
    in_stock    boolean NOT NULL,
    created_at  timestamp NOT NULL DEFAULT now()
);
CREATE INDEX items_category ON "{schema}".items (category);
"#
    )
}

/// Opens one PostgreSQL connection to `url` (for seeding and dropping).
/// An error here means the server is unreachable or refuses the connection.
pub async fn pg_connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    PgConnection::connect_with(&pg_connect_options(url, None)?).await
}

/// Creates schema `schema` afresh in the PostgreSQL database `conn` is
/// connected to (dropping it first if it exists) and seeds `items` and the
/// shop tables with the same rows as [`seed`], then runs ANALYZE.
pub async fn seed_postgres(conn: &mut PgConnection, schema: &str, rows: u64, categories: u64, shop: &Shop) -> Result<(), BoxError> {
    check_schema_name(schema)?;
    let qualifier = format!(r#""{schema}"."#);
    sqlx::raw_sql(AssertSqlSafe(pg_schema_sql(schema))).execute(&mut *conn).await?;
    sqlx::raw_sql(AssertSqlSafe(shop_schema_sql(Dialect::Postgres, &qualifier))).execute(&mut *conn).await?;
    // Zero-padding that never truncates, like SQLite's printf('%05d').
    let insert = format!(
        r#"INSERT INTO "{schema}".items (id, name, category, price, in_stock, created_at)
           SELECT i,
                  'Item ' || repeat('0', greatest(0, 5 - length(i::text))) || i,
                  'cat-' || repeat('0', greatest(0, 4 - length((i % $2)::text))) || (i % $2),
                  (((i * 7919) % 100000) / 100.0)::double precision,
                  i % 3 <> 0,
                  timestamp '2024-01-01 00:00:00' + i * interval '1 minute'
           FROM generate_series(1::bigint, $1::bigint) AS i"#
    );
    let mut tx = conn.begin().await?;
    sqlx::query(AssertSqlSafe(insert)).bind(rows as i64).bind(categories.max(1) as i64).execute(&mut *tx).await?;
    // The rows carry explicit ids: move the identity past them so inserts work.
    let setval = format!(r#"SELECT setval(pg_get_serial_sequence('"{schema}".items', 'id'), greatest(max(id), 1)) FROM "{schema}".items"#);
    sqlx::query(AssertSqlSafe(setval)).execute(&mut *tx).await?;
    for insert in shop_insert_sql(Dialect::Postgres, &qualifier, shop) {
        sqlx::raw_sql(AssertSqlSafe(insert)).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let analyze =
        format!(r#"ANALYZE "{schema}".items, "{schema}".customers, "{schema}".products, "{schema}".orders, "{schema}".order_items"#);
    sqlx::raw_sql(AssertSqlSafe(analyze)).execute(&mut *conn).await?;
    Ok(())
}

/// Drops schema `schema` (CASCADE) if it exists.
pub async fn drop_postgres_schema(conn: &mut PgConnection, schema: &str) -> Result<(), BoxError> {
    check_schema_name(schema)?;
    sqlx::raw_sql(AssertSqlSafe(format!(r#"DROP SCHEMA IF EXISTS "{schema}" CASCADE"#))).execute(&mut *conn).await?;
    Ok(())
}

/// The pool settings of restgate-postgres's defaults (`PgOptions::new()`:
/// 10 connections, 5 s acquire timeout, no statement timeout), so the
/// baseline's pool is configured identically.
pub fn pg_pool_options() -> PgPoolOptions {
    PgPoolOptions::new().max_connections(10).acquire_timeout(Duration::from_secs(5))
}

/// The connection options restgate-postgres uses (`TimeZone = UTC`), plus
/// `search_path = schema` when given (the baseline's statements name `items`
/// unqualified; restgate qualifies every table itself).
pub fn pg_connect_options(url: &str, schema: Option<&str>) -> Result<PgConnectOptions, sqlx::Error> {
    let mut settings = vec![("TimeZone", "UTC")];
    if let Some(s) = schema {
        settings.push(("search_path", s));
    }
    Ok(url.parse::<PgConnectOptions>()?.options(settings))
}

/// Opens the baseline's PostgreSQL pool: [`pg_pool_options`] with
/// [`pg_connect_options`] (`TimeZone = UTC`, `search_path = schema`).
pub async fn connect_pg_pool(url: &str, schema: &str) -> Result<PgPool, BoxError> {
    check_schema_name(schema)?;
    Ok(pg_pool_options().connect_with(pg_connect_options(url, Some(schema))?).await?)
}

/// Whether `db` (a `--db` argument) is a MySQL/MariaDB URL.
pub fn is_mysql_url(db: &str) -> bool {
    db.starts_with("mysql://") || db.starts_with("mariadb://")
}

/// Splits a `mysql://user@host:port/database?options` URL into the URL of
/// the server alone (no database; the options are kept) and the database
/// name, which must pass [`check_schema_name`] (it is interpolated into DDL).
pub fn split_mysql_url(url: &str) -> Result<(String, String), BoxError> {
    let scheme_end = url.find("://").ok_or_else(|| format!("{url:?} is not a mysql:// URL"))? + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (path, query) = match tail.find('?') {
        Some(i) => (&tail[..i], &tail[i..]),
        None => (tail, ""),
    };
    let database = path.trim_start_matches('/');
    if database.is_empty() {
        return Err(format!("{url:?}: the URL must name a database (mysql://user@host:3306/NAME)").into());
    }
    check_schema_name(database).map_err(|_| {
        format!("{url:?}: database {database:?}: expected 1-63 ASCII letters, digits or underscores, not starting with a digit")
    })?;
    Ok((format!("{}{authority}{query}", &url[..scheme_end]), database.to_owned()))
}

/// The MySQL table of the bench, in database `{database}` (same columns as
/// [`SCHEMA`]); the database is created afresh with a binary collation, so
/// text compares case-sensitively as on PostgreSQL.
pub fn mysql_schema_sql(database: &str) -> String {
    format!(
        "DROP DATABASE IF EXISTS `{database}`;
CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE TABLE `{database}`.items (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    name        VARCHAR(100) NOT NULL,
    category    VARCHAR(40) NOT NULL,
    price       DOUBLE NOT NULL,
    in_stock    BOOLEAN NOT NULL,
    created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    INDEX (category)
);
"
    )
}

/// Opens one connection to the MySQL/MariaDB server of `url`, without
/// selecting its database (for seeding and dropping it). An error here
/// means the server is unreachable or refuses the connection.
pub async fn mysql_connect(url: &str) -> Result<MySqlConnection, BoxError> {
    let (server, _) = split_mysql_url(url)?;
    Ok(MySqlConnection::connect_with(&mysql_connect_options(&server)?).await?)
}

/// Rows per INSERT statement when seeding MySQL (5 placeholders each).
const MYSQL_SEED_CHUNK: u64 = 1000;

/// Creates database `database` afresh on the server `conn` is connected to
/// (dropping it first if it exists, collation `utf8mb4_bin`) and seeds
/// `items` and the shop tables with the same rows as [`seed`], then runs
/// ANALYZE TABLE.
pub async fn seed_mysql(conn: &mut MySqlConnection, database: &str, rows: u64, categories: u64, shop: &Shop) -> Result<(), BoxError> {
    check_schema_name(database)?;
    let qualifier = format!("`{database}`.");
    sqlx::raw_sql(AssertSqlSafe(mysql_schema_sql(database))).execute(&mut *conn).await?;
    sqlx::raw_sql(AssertSqlSafe(shop_schema_sql(Dialect::MySql, &qualifier))).execute(&mut *conn).await?;
    let mut tx = conn.begin().await?;
    let mut first = 1;
    while first <= rows {
        let last = rows.min(first + MYSQL_SEED_CHUNK - 1);
        let mut insert = format!("INSERT INTO `{database}`.items (id, name, category, price, in_stock, created_at) VALUES ");
        for i in first..=last {
            insert.push_str(if i == first { "" } else { ", " });
            insert.push_str("(?, ?, ?, ?, ?, TIMESTAMPADD(MINUTE, ?, '2024-01-01 00:00:00'))");
        }
        let mut q = sqlx::query(AssertSqlSafe(insert));
        for i in first..=last {
            q = q
                .bind(i as i64)
                .bind(format!("Item {i:05}"))
                .bind(category_name(i, categories))
                .bind(((i * 7919) % 100_000) as f64 / 100.0)
                .bind(i % 3 != 0)
                .bind(i as i64);
        }
        q.execute(&mut *tx).await?;
        first = last + 1;
    }
    for insert in shop_insert_sql(Dialect::MySql, &qualifier, shop) {
        sqlx::raw_sql(AssertSqlSafe(insert)).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let analyze = format!(
        "ANALYZE TABLE `{database}`.items, `{database}`.customers, `{database}`.products, `{database}`.orders, `{database}`.order_items"
    );
    sqlx::raw_sql(AssertSqlSafe(analyze)).execute(&mut *conn).await?;
    Ok(())
}

/// Drops database `database` if it exists.
pub async fn drop_mysql_database(conn: &mut MySqlConnection, database: &str) -> Result<(), BoxError> {
    check_schema_name(database)?;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS `{database}`"))).execute(&mut *conn).await?;
    Ok(())
}

/// The pool settings of restgate-mysql's defaults (`MySqlOptions::new()`:
/// 10 connections, 5 s acquire timeout, no statement timeout), so the
/// baseline's pool is configured identically.
pub fn mysql_pool_options() -> MySqlPoolOptions {
    MySqlPoolOptions::new().max_connections(10).acquire_timeout(Duration::from_secs(5))
}

/// The connection options restgate-mysql uses
/// ([`MySqlOptions::connect_options`](restgate_mysql::MySqlOptions::connect_options):
/// `time_zone = '+00:00'`, no `PIPES_AS_CONCAT`).
pub fn mysql_connect_options(url: &str) -> Result<MySqlConnectOptions, sqlx::Error> {
    MySqlBackend::options().connect_options(url)
}

/// Opens the baseline's MySQL pool on the database `url` names:
/// [`mysql_pool_options`] with [`mysql_connect_options`].
pub async fn connect_mysql_pool(url: &str) -> Result<MySqlPool, BoxError> {
    split_mysql_url(url)?;
    Ok(mysql_pool_options().connect_with(mysql_connect_options(url)?).await?)
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

    #[test]
    fn schema_names() {
        assert!(check_schema_name("rg_bench_123_a").is_ok());
        assert!(check_schema_name("").is_err());
        assert!(check_schema_name("1abc").is_err());
        assert!(check_schema_name("a\"; DROP").is_err());
        assert!(is_postgres_url("postgres://postgres@127.0.0.1/test"));
        assert!(!is_postgres_url("/tmp/bench.db"));
        assert!(is_mysql_url("mysql://root@127.0.0.1:3306/test"));
        assert!(!is_mysql_url("postgres://postgres@127.0.0.1/test"));
    }

    #[test]
    fn mysql_urls() {
        let (server, db) = split_mysql_url("mysql://root@127.0.0.1:3306/rg_bench_1_a").unwrap();
        assert_eq!((server.as_str(), db.as_str()), ("mysql://root@127.0.0.1:3306", "rg_bench_1_a"));
        let (server, db) = split_mysql_url("mysql://u:p@localhost/test?ssl-mode=disabled").unwrap();
        assert_eq!((server.as_str(), db.as_str()), ("mysql://u:p@localhost?ssl-mode=disabled", "test"));
        assert!(split_mysql_url("mysql://root@127.0.0.1:3306").is_err());
        assert!(split_mysql_url("mysql://root@127.0.0.1:3306/").is_err());
        assert!(split_mysql_url("mysql://root@127.0.0.1:3306/a`b").is_err());
        assert!(split_mysql_url("/tmp/bench.db").is_err());
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
        seed(&path, 1000, 100, &Shop { customers: 50, products: 200, orders: 100 }).await.unwrap();
        let pool = connect_pool(&path).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM items WHERE category = 'cat-0042'").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 10);
        // The shop: 100 orders with 1-5 items each (3 on average), real foreign keys.
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM order_items").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 300);
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM pragma_foreign_key_list('order_items')").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 2);
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM pragma_foreign_key_list('orders')").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 1);
        let (customers, placed_at): (i64, String) =
            sqlx::query_as("SELECT customer_id, placed_at FROM orders WHERE id = 2").fetch_one(&pool).await.unwrap();
        assert_eq!((customers, placed_at.as_str()), (order_customer(2, 50) as i64, "2024-01-01 01:46:00"));
        pool.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shop_data() {
        let shop = Shop::default();
        let items: u64 = (1..=shop.orders).map(order_item_count).sum();
        assert_eq!(items, 30_000);
        for i in 1..=shop.orders {
            let mut products: Vec<u64> = (0..order_item_count(i)).map(|k| order_item_product(i, k, shop.products)).collect();
            assert!(products.iter().all(|p| (1..=shop.products).contains(p)));
            products.sort_unstable();
            products.dedup();
            assert_eq!(products.len() as u64, order_item_count(i), "order {i} lists a product twice");
            assert!((1..=shop.customers).contains(&order_customer(i, shop.customers)));
        }
        // Prices with two decimals, whole ones and .50s among them.
        let prices: Vec<u64> = (1..=shop.products).map(product_price_cents).collect();
        assert!(prices.iter().all(|c| (100..=10_099).contains(c)));
        assert!(prices.iter().any(|c| c % 100 == 0) && prices.iter().any(|c| c % 100 == 50) && prices.iter().any(|c| c % 10 != 0));
        // Parents first, one statement per 1,000 rows.
        let sql = shop_insert_sql(Dialect::Postgres, r#""s"."#, &shop);
        assert_eq!(sql.len(), 1 + 1 + 10 + 30);
        assert!(sql[0].starts_with(
            r#"INSERT INTO "s".customers (id, name, email, city) VALUES (1, 'Customer 0001', 'customer0001@example.com', 'Paris')"#
        ));
        assert!(sql[2].contains("timestamp '2024-01-01 00:00:00' + interval '53 minutes'"));
        assert!(shop_schema_sql(Dialect::MySql, "`d`.").contains("FOREIGN KEY (product_id) REFERENCES `d`.products (id)"));
    }

    /// Seeds a small PostgreSQL schema when `RESTGATE_POSTGRES_URL` (or the
    /// local default) is reachable; skipped loudly otherwise.
    #[tokio::test]
    async fn seeds_postgres_schema() {
        let url = std::env::var("RESTGATE_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let mut conn = match pg_connect(&url).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("skipping seeds_postgres_schema: PostgreSQL unreachable at {url}: {e}");
                return;
            }
        };
        let schema = format!("rg_bench_test_{}", std::process::id());
        seed_postgres(&mut conn, &schema, 1000, 100, &Shop { customers: 50, products: 200, orders: 100 }).await.unwrap();
        let pool = connect_pg_pool(&url, &schema).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM items WHERE category = 'cat-0042'").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 10);
        let (name,): (String,) = sqlx::query_as("SELECT name FROM items WHERE id = 7").fetch_one(&pool).await.unwrap();
        assert_eq!(name, "Item 00007");
        // The identity continues after the seeded ids.
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO items (name, category, price, in_stock) VALUES ('x', 'cat-0001', 1.5, true) RETURNING id")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(id, 1001);
        pool.close().await;
        drop_postgres_schema(&mut conn, &schema).await.unwrap();
    }

    /// Seeds a small MySQL/MariaDB database when `RESTGATE_MYSQL_URL` (or the
    /// local default) is reachable; skipped loudly otherwise.
    #[tokio::test]
    async fn seeds_mysql_database() {
        let url = std::env::var("RESTGATE_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
        let mut conn = match mysql_connect(&url).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("skipping seeds_mysql_database: MySQL unreachable at {url}: {e}");
                return;
            }
        };
        let (server, _) = split_mysql_url(&url).unwrap();
        let database = format!("rg_bench_test_{}", std::process::id());
        seed_mysql(&mut conn, &database, 1500, 100, &Shop { customers: 50, products: 200, orders: 100 }).await.unwrap();
        let pool = connect_mysql_pool(&format!("{}/{database}", server.split('?').next().unwrap())).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM items WHERE category = 'cat-0042'").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 15);
        let (name, created_at): (String, String) =
            sqlx::query_as("SELECT name, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s') FROM items WHERE id = 1007")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((name.as_str(), created_at.as_str()), ("Item 01007", "2024-01-01 16:47:00"));
        // Text compares case-sensitively (utf8mb4_bin).
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM items WHERE category = 'CAT-0042'").fetch_one(&pool).await.unwrap();
        assert_eq!(n, 0);
        // AUTO_INCREMENT continues after the seeded ids.
        let id = sqlx::query("INSERT INTO items (name, category, price, in_stock) VALUES ('x', 'cat-0001', 1.5, true)")
            .execute(&pool)
            .await
            .unwrap()
            .last_insert_id();
        assert_eq!(id, 1501);
        pool.close().await;
        drop_mysql_database(&mut conn, &database).await.unwrap();
    }
}
