//! Creates and seeds the bench database: table `items` (id, name, category,
//! price, in_stock, created_at) with an index on `category`, and the shop
//! tables of the `embed` scenario — `customers`, `products`, `orders`
//! (→ customers) and `order_items` (→ orders, → products), with foreign keys
//! and indexes on the foreign-key columns.
//!
//! ```sh
//! restgate-bench-seed --db /tmp/bench.db            # 10,000 rows, 1,000 categories (~10 rows each)
//! restgate-bench-seed --db /tmp/bench.db --rows 100000 --categories 5000
//! restgate-bench-seed --db /tmp/bench.db --orders 100000 --customers 10000   # a bigger shop
//! restgate-bench-seed --db postgres://postgres@127.0.0.1:5432/test --schema rg_bench_a   # (re)creates the schema
//! restgate-bench-seed --db postgres://postgres@127.0.0.1:5432/test --schema rg_bench_a --drop
//! restgate-bench-seed --db mysql://root@127.0.0.1:3306/rg_bench_a          # (re)creates the database
//! restgate-bench-seed --db mysql://root@127.0.0.1:3306/rg_bench_a --drop
//! ```
//!
//! On PostgreSQL and MySQL, exits with status 3 when the server cannot be
//! reached (or refuses the connection), so a script can tell that apart from
//! other errors.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use restgate_bench::{BoxError, Shop};

/// Exit status when PostgreSQL or MySQL is unreachable.
const UNREACHABLE: u8 = 3;

/// Creates and seeds the restgate bench database.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Path of the SQLite file to create (must not exist), a `postgres://`
    /// URL (then `--schema` is required), or a `mysql://…/DATABASE` URL (the
    /// database is created afresh: DROP DATABASE IF EXISTS; CREATE DATABASE).
    #[arg(long)]
    db: String,
    /// PostgreSQL only: the schema to create afresh (DROP SCHEMA IF EXISTS … CASCADE; CREATE SCHEMA).
    #[arg(long)]
    schema: Option<String>,
    /// PostgreSQL: drop the schema (CASCADE); MySQL: drop the database; instead of seeding it.
    #[arg(long)]
    drop: bool,
    /// Number of rows.
    #[arg(long, default_value_t = 10_000)]
    rows: u64,
    /// Number of distinct categories (rows are spread evenly over them).
    #[arg(long, default_value_t = 1_000)]
    categories: u64,
    /// Number of customers (shop tables).
    #[arg(long, default_value_t = 1_000)]
    customers: u64,
    /// Number of products (shop tables).
    #[arg(long, default_value_t = 200)]
    products: u64,
    /// Number of orders (shop tables); each has 1-5 items, 3 on average.
    #[arg(long, default_value_t = 10_000)]
    orders: u64,
}

impl Args {
    fn shop(&self) -> Shop {
        Shop { customers: self.customers.max(1), products: self.products.max(1), orders: self.orders }
    }
}

async fn run(args: Args) -> Result<ExitCode, BoxError> {
    if restgate_bench::is_mysql_url(&args.db) {
        return run_mysql(args).await;
    }
    if !restgate_bench::is_postgres_url(&args.db) {
        if args.schema.is_some() || args.drop {
            return Err("--schema and --drop only apply to a postgres:// or mysql:// --db".into());
        }
        let shop = args.shop();
        restgate_bench::seed(Path::new(&args.db), args.rows, args.categories, &shop).await?;
        println!("seeded {} with {} items in {} categories and {}", args.db, args.rows, args.categories, describe(&shop));
        return Ok(ExitCode::SUCCESS);
    }
    let schema = args.schema.clone().ok_or("--schema NAME is required with a postgres:// --db")?;
    restgate_bench::check_schema_name(&schema)?;
    let mut conn = match restgate_bench::pg_connect(&args.db).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("restgate-bench-seed: cannot connect to PostgreSQL: {e}");
            return Ok(ExitCode::from(UNREACHABLE));
        }
    };
    if args.drop {
        restgate_bench::drop_postgres_schema(&mut conn, &schema).await?;
        println!("dropped schema {schema}");
    } else {
        let shop = args.shop();
        restgate_bench::seed_postgres(&mut conn, &schema, args.rows, args.categories, &shop).await?;
        println!("seeded schema {schema} with {} items in {} categories and {}", args.rows, args.categories, describe(&shop));
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_mysql(args: Args) -> Result<ExitCode, BoxError> {
    if args.schema.is_some() {
        return Err("--schema does not apply to a mysql:// --db: the URL's database is the schema".into());
    }
    let (_, database) = restgate_bench::split_mysql_url(&args.db)?;
    let mut conn = match restgate_bench::mysql_connect(&args.db).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("restgate-bench-seed: cannot connect to MySQL: {e}");
            return Ok(ExitCode::from(UNREACHABLE));
        }
    };
    if args.drop {
        restgate_bench::drop_mysql_database(&mut conn, &database).await?;
        println!("dropped database {database}");
    } else {
        let shop = args.shop();
        restgate_bench::seed_mysql(&mut conn, &database, args.rows, args.categories, &shop).await?;
        println!("seeded database {database} with {} items in {} categories and {}", args.rows, args.categories, describe(&shop));
    }
    Ok(ExitCode::SUCCESS)
}

/// "1000 customers, 200 products, 10000 orders (30000 order items)".
fn describe(shop: &Shop) -> String {
    let items: u64 = (1..=shop.orders).map(restgate_bench::order_item_count).sum();
    format!("{} customers, {} products, {} orders ({items} order items)", shop.customers, shop.products, shop.orders)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<ExitCode, BoxError> {
    run(Args::parse()).await
}
