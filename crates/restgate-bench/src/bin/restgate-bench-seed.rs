//! Creates and seeds the bench database: table `items` (id, name, category,
//! price, in_stock, created_at) with an index on `category`.
//!
//! ```sh
//! restgate-bench-seed --db /tmp/bench.db            # 10,000 rows, 1,000 categories (~10 rows each)
//! restgate-bench-seed --db /tmp/bench.db --rows 100000 --categories 5000
//! ```

use std::path::PathBuf;

use clap::Parser;
use restgate_bench::BoxError;

/// Creates and seeds the restgate bench database.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Path of the SQLite file to create (must not exist).
    #[arg(long)]
    db: PathBuf,
    /// Number of rows.
    #[arg(long, default_value_t = 10_000)]
    rows: u64,
    /// Number of distinct categories (rows are spread evenly over them).
    #[arg(long, default_value_t = 1_000)]
    categories: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    restgate_bench::seed(&args.db, args.rows, args.categories).await?;
    println!("seeded {} with {} items in {} categories", args.db.display(), args.rows, args.categories);
    Ok(())
}
