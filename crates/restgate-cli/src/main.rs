//! `restgate`: serve the tables and views of an existing database as a
//! PostgREST-compatible REST API from the command line.
//!
//! ```sh
//! restgate serve --db sqlite:///srv/shop.db --listen 127.0.0.1:3000 --prefix /api --max-rows 1000
//! ```
//!
//! Exit codes: 0 after a clean shutdown (SIGINT or SIGTERM), 1 when serving
//! fails (bad database URL, missing file, busy port, database error),
//! 2 for command-line usage errors. See `docs/cli.md`.

mod db_url;
mod serve;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use restgate_core::catalog::ForeignKey;

/// Serve a SQL database as a PostgREST-compatible REST API.
#[derive(Debug, Parser)]
#[command(name = "restgate", version, propagate_version = true, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every table and view of a database over HTTP until SIGINT or SIGTERM.
    Serve(ServeArgs),
}

/// Options of `restgate serve`.
#[derive(Debug, Args)]
struct ServeArgs {
    /// Database URL: sqlite:///abs/path.db, sqlite://relative/path.db, sqlite:relative.db
    /// (the file must exist; it is never created), postgres://user[:password]@host[:port]/database
    /// or mysql://user[:password]@host[:port]/database (MySQL or MariaDB).
    #[arg(long, value_name = "URL", env = "RESTGATE_DB", hide_env_values = true)]
    db: String,

    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,

    /// Path under which the API is served, e.g. /api.
    #[arg(long, value_name = "PATH", default_value = "/", value_parser = parse_prefix)]
    prefix: String,

    /// Most rows any read returns (PostgREST's db-max-rows). Default: no limit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_rows: Option<u64>,

    /// PostgreSQL schemas to serve, the first being the default (repeat the flag or
    /// separate with commas). Default: public.
    #[arg(long = "schema", value_name = "NAME", value_delimiter = ',')]
    schemas: Vec<String>,

    /// A relationship the database does not declare, for embedding:
    /// `table(col[,col…])->other(col[,col…])` (repeat the flag for more).
    #[arg(long = "foreign-key", value_name = "FK", value_parser = parse_foreign_key)]
    foreign_keys: Vec<(String, ForeignKey)>,
}

/// Parses `--foreign-key orders(customer_id)->customers(id)`.
fn parse_foreign_key(s: &str) -> Result<(String, ForeignKey), String> {
    const FORM: &str = "expected table(col[,col…])->other(col[,col…])";
    let side = |part: &str| -> Result<(String, Vec<String>), String> {
        let part = part.trim();
        let open = part.find('(').ok_or(FORM)?;
        let cols = part[open + 1..].strip_suffix(')').ok_or(FORM)?;
        let table = part[..open].trim();
        let cols: Vec<String> = cols.split(',').map(|c| c.trim().to_owned()).collect();
        if table.is_empty() || cols.iter().any(String::is_empty) {
            return Err(FORM.into());
        }
        Ok((table.to_owned(), cols))
    };
    let (from, to) = s.split_once("->").ok_or(FORM)?;
    let (table, cols) = side(from)?;
    let (other, other_cols) = side(to)?;
    if cols.len() != other_cols.len() {
        return Err("both sides must name as many columns".into());
    }
    let name = format!("{table}_{}_fkey", cols.join("_"));
    Ok((table, ForeignKey::new(name, cols, other, other_cols)))
}

/// Validates `--prefix` and normalises it: a leading `/`, no trailing `/`
/// (except for the root, kept as `/`), plain path segments only.
fn parse_prefix(s: &str) -> Result<String, String> {
    if !s.starts_with('/') {
        return Err("must start with '/' (e.g. /api)".into());
    }
    let trimmed = s.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok("/".into());
    }
    for segment in trimmed[1..].split('/') {
        if segment.is_empty() {
            return Err("must not contain empty segments ('//')".into());
        }
        if segment == "." || segment == ".." {
            return Err("must not contain '.' or '..' segments".into());
        }
        if let Some(c) = segment.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))) {
            return Err(format!("must contain only letters, digits, '-', '_', '.', '~' and '/' (found {c:?})"));
        }
    }
    Ok(trimmed.to_owned())
}

fn main() -> ExitCode {
    // Usage errors exit with clap's code 2 here; --help and --version with 0.
    let cli = Cli::parse();
    serve::init_logging();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(serve::Options {
            db: args.db,
            listen: args.listen,
            prefix: args.prefix,
            max_rows: args.max_rows,
            schemas: args.schemas,
            foreign_keys: args.foreign_keys,
        })),
    };
    // Do not wait for stray blocking tasks (e.g. SQLite connections closing).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

/// Prints `error: <message>` to stderr; exit code 1.
fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn prefixes() {
        assert_eq!(parse_prefix("/").unwrap(), "/");
        assert_eq!(parse_prefix("//").unwrap(), "/");
        assert_eq!(parse_prefix("/api").unwrap(), "/api");
        assert_eq!(parse_prefix("/api/").unwrap(), "/api");
        assert_eq!(parse_prefix("/api/v1.2").unwrap(), "/api/v1.2");
        assert!(parse_prefix("api").is_err());
        assert!(parse_prefix("").is_err());
        assert!(parse_prefix("/a//b").is_err());
        assert!(parse_prefix("/{id}").is_err());
        assert!(parse_prefix("/:id").is_err());
        assert!(parse_prefix("/a/../b").is_err());
        assert!(parse_prefix("/a?b").is_err());
    }

    #[test]
    fn foreign_keys() {
        let (t, fk) = parse_foreign_key("orders(customer_id)->customers(id)").unwrap();
        assert_eq!((t.as_str(), fk.name.as_str(), fk.foreign_table.as_str()), ("orders", "orders_customer_id_fkey", "customers"));
        let (_, fk) = parse_foreign_key(" stock(region, code) -> warehouses(region,code) ").unwrap();
        assert_eq!(fk.columns, ["region", "code"]);
        assert_eq!(fk.foreign_columns, ["region", "code"]);
        for bad in ["orders", "orders(a)", "orders(a)->b", "orders(a,b)->c(d)", "(a)->b(c)", "a()->b(c)"] {
            assert!(parse_foreign_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serve_defaults() {
        let cli = Cli::try_parse_from(["restgate", "serve", "--db", "sqlite:x.db"]).unwrap();
        let Command::Serve(args) = cli.command;
        assert_eq!(args.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(args.prefix, "/");
        assert_eq!(args.max_rows, None);
    }

    #[test]
    fn serve_rejects_bad_values() {
        for bad in [
            &["restgate", "serve", "--db", "sqlite:x.db", "--listen", "localhost"][..],
            &["restgate", "serve", "--db", "sqlite:x.db", "--listen", "127.0.0.1:99999"],
            &["restgate", "serve", "--db", "sqlite:x.db", "--max-rows", "0"],
            &["restgate", "serve", "--db", "sqlite:x.db", "--max-rows", "-3"],
            &["restgate", "serve", "--db", "sqlite:x.db", "--prefix", "api"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
