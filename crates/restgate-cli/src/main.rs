//! `restgate`: serve the tables and views of an existing database as a
//! PostgREST-compatible REST API from the command line.
//!
//! ```sh
//! restgate serve --db sqlite:///srv/shop.db --listen 127.0.0.1:3000 --prefix /api --max-rows 1000
//! ```
//!
//! Exit codes: 0 after a clean shutdown (SIGINT or SIGTERM), 1 when serving
//! fails (bad config file, bad database URL, missing file, busy port,
//! database error), 2 for command-line usage errors. See `docs/cli.md` and,
//! for `--config`, `docs/security.md`.

mod config;
mod db_url;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use restgate_core::catalog::ForeignKey;

use crate::config::{ConfigError, Flags};

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

/// Options of `restgate serve`. Each one given replaces the config file's value.
#[derive(Debug, Args)]
struct ServeArgs {
    /// Database URL: sqlite:///abs/path.db, sqlite://relative/path.db, sqlite:relative.db
    /// (the file must exist; it is never created), postgres://user[:password]@host[:port]/database
    /// or mysql://user[:password]@host[:port]/database (MySQL or MariaDB). Required, here or as
    /// `db` in the config file.
    #[arg(long, value_name = "URL", env = "RESTGATE_DB", hide_env_values = true)]
    db: Option<String>,

    /// A TOML file with the settings below, authentication ([auth]) and roles ([roles]);
    /// see docs/security.md. SIGHUP re-reads it.
    #[arg(long, value_name = "FILE", env = "RESTGATE_CONFIG", hide_env_values = true)]
    config: Option<PathBuf>,

    /// Address and port to listen on [default: 127.0.0.1:3000].
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,

    /// Path under which the API is served, e.g. /api [default: /].
    #[arg(long, value_name = "PATH", value_parser = parse_prefix)]
    prefix: Option<String>,

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

impl ServeArgs {
    fn flags(self) -> Flags {
        Flags {
            db: self.db,
            listen: self.listen,
            prefix: self.prefix,
            max_rows: self.max_rows,
            schemas: self.schemas,
            foreign_keys: self.foreign_keys,
            config: self.config,
        }
    }
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
    let Command::Serve(args) = cli.command;
    let flags = args.flags();
    let settings = match config::resolve(&flags) {
        Ok(s) => s,
        // Like clap's own usage errors: exit code 2.
        Err(ConfigError::NoDb) => {
            let mut cmd = Cli::command();
            cmd.build();
            let serve = cmd.find_subcommand_mut("serve").unwrap_or_else(|| unreachable!("serve is a subcommand"));
            serve.error(clap::error::ErrorKind::MissingRequiredArgument, ConfigError::NoDb.to_string()).exit()
        }
        Err(e) => return fail(&e.to_string()),
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(serve::run(flags, settings));
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
        let settings = config::resolve(&args.flags()).unwrap();
        assert_eq!(settings.listen, config::DEFAULT_LISTEN.parse().unwrap());
        assert_eq!(settings.prefix, "/");
        assert_eq!(settings.max_rows, None);
        assert!(settings.security.is_none());
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
