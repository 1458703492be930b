//! Reading the `--db` URL.
//!
//! SQLite files, PostgreSQL servers and MySQL/MariaDB servers are served. The URL is
//! checked here, before any driver sees it, so that a typo never creates an
//! empty database file and no error message ever repeats a URL that may
//! carry a password.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

/// What the command line shows as an example of a valid URL.
pub const EXAMPLE: &str = "sqlite:///path/to/file.db, postgres://user@host:5432/database or mysql://user@host:3306/database";

/// A database the CLI can serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteTarget {
    /// The URL handed to the SQLite backend (the scheme normalised to lower case).
    pub url: String,
    /// The database file, as written in the URL (relative paths are relative
    /// to the working directory).
    pub path: PathBuf,
}

/// A database server reached over the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTarget {
    /// The URL handed to the driver, as given.
    pub url: String,
    /// `host:port/database` for logs: never the user or password.
    pub display: String,
}

/// What `--db` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file.
    Sqlite(SqliteTarget),
    /// A PostgreSQL server.
    Postgres(ServerTarget),
    /// A MySQL or MariaDB server.
    MySql(ServerTarget),
}

impl Target {
    /// What the logs call the database.
    pub fn describe(&self) -> String {
        match self {
            Target::Sqlite(t) => t.path.display().to_string(),
            Target::Postgres(t) => format!("postgres://{}", t.display),
            Target::MySql(t) => format!("mysql://{}", t.display),
        }
    }
}

/// Why a `--db` URL cannot be served.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DbUrlError {
    /// A scheme restgate knows nothing about.
    #[error("unsupported database URL scheme {0:?}: expected a URL like {EXAMPLE}")]
    UnsupportedScheme(String),
    /// No recognisable scheme at all.
    #[error("unsupported database URL: expected a URL like {EXAMPLE}")]
    Unsupported,
    /// `sqlite:` with no file after it.
    #[error("the database URL names no file: expected a URL like {EXAMPLE}")]
    NoFile,
    /// An in-memory database would always be empty.
    #[error("in-memory SQLite databases cannot be served (they start empty); point --db at a database file")]
    InMemory,
    /// `?mode=rwc` asks SQLite to create the file, which the CLI never does.
    #[error("the database URL asks to create the file (mode=rwc); restgate only serves existing files")]
    CreateMode,
    /// The file name is not valid percent-encoded UTF-8.
    #[error("the database file name in the URL is not valid percent-encoded UTF-8")]
    BadEncoding,
    /// The file does not exist.
    #[error("database file not found: {}", .0.display())]
    NotFound(PathBuf),
    /// The path exists but is not a file.
    #[error("database path is not a file: {}", .0.display())]
    NotAFile(PathBuf),
    /// A server URL without a host.
    #[error("the {0} URL names no host: expected a URL like postgres://user@host:5432/database")]
    NoHost(&'static str),
    /// The file cannot be inspected (permissions, I/O).
    #[error("cannot access database file {}: {}", .0.display(), .1)]
    Inaccessible(PathBuf, String),
}

/// Parses `raw`; for SQLite, also checks that the file exists.
pub fn resolve(raw: &str) -> Result<Target, DbUrlError> {
    let raw = raw.trim();
    if let Some((scheme, rest)) = raw.split_once(':') {
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => return Ok(Target::Postgres(server("PostgreSQL", raw, rest)?)),
            // sqlx speaks `mysql://` to both MySQL and MariaDB.
            "mysql" => return Ok(Target::MySql(server("MySQL", raw, rest)?)),
            "mariadb" => {
                let mut t = server("MySQL", raw, rest)?;
                t.url = format!("mysql:{rest}");
                return Ok(Target::MySql(t));
            }
            _ => {}
        }
    }
    let target = parse(raw)?;
    check_file(&target.path)?;
    Ok(Target::Sqlite(target))
}

/// `scheme://[user[:password]@]host[:port][/database][?params]` → the part
/// that may be logged.
fn server(name: &'static str, raw: &str, rest: &str) -> Result<ServerTarget, DbUrlError> {
    let body = rest.strip_prefix("//").ok_or(DbUrlError::NoHost(name))?;
    let body = body.split(['?', '#']).next().unwrap_or("");
    let after_user = body.rsplit_once('@').map_or(body, |(_, host)| host);
    if after_user.is_empty() || after_user.starts_with('/') {
        return Err(DbUrlError::NoHost(name));
    }
    Ok(ServerTarget { url: raw.to_owned(), display: after_user.to_owned() })
}

/// Parses `raw` without touching the file system.
///
/// Accepted forms: `sqlite:///abs/path.db`, `sqlite://relative/path.db`,
/// `sqlite:relative.db`, each optionally followed by SQLite's own `?mode=ro`
/// style parameters.
pub fn parse(raw: &str) -> Result<SqliteTarget, DbUrlError> {
    let raw = raw.trim();
    let Some((scheme, rest)) = raw.split_once(':') else {
        return Err(DbUrlError::Unsupported);
    };
    if !is_scheme(scheme) {
        return Err(DbUrlError::Unsupported);
    }
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" | "sqlite3" => {}
        other => return Err(DbUrlError::UnsupportedScheme(other.to_owned())),
    }

    // Same split as sqlx: `//` is optional, parameters follow `?`.
    let body = rest.strip_prefix("//").unwrap_or(rest);
    let (file, params) = match body.split_once('?') {
        Some((f, p)) => (f, Some(p)),
        None => (body, None),
    };
    if file == ":memory:" {
        return Err(DbUrlError::InMemory);
    }
    if let Some(params) = params {
        for pair in params.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if key == "mode" && value == "memory" {
                return Err(DbUrlError::InMemory);
            }
            if key == "mode" && value == "rwc" {
                return Err(DbUrlError::CreateMode);
            }
        }
    }
    if file.is_empty() {
        return Err(DbUrlError::NoFile);
    }
    let decoded = percent_decode_str(file).decode_utf8().map_err(|_| DbUrlError::BadEncoding)?;
    Ok(SqliteTarget { url: format!("sqlite:{rest}"), path: PathBuf::from(decoded.into_owned()) })
}

/// A URL scheme per RFC 3986: a letter, then letters, digits, `+`, `-`, `.`.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && s.len() <= 32
}

fn check_file(path: &Path) -> Result<(), DbUrlError> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(DbUrlError::NotAFile(path.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(DbUrlError::NotFound(path.to_owned())),
        Err(e) => Err(DbUrlError::Inaccessible(path.to_owned(), e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_hide_credentials() {
        let Ok(Target::Postgres(t)) = resolve("postgres://alice:s3cret@db.example:5432/shop?sslmode=disable") else { panic!() };
        assert_eq!(t.display, "db.example:5432/shop");
        assert!(!Target::Postgres(t.clone()).describe().contains("s3cret"));
        assert_eq!(t.url, "postgres://alice:s3cret@db.example:5432/shop?sslmode=disable");
        assert!(matches!(resolve("postgresql://localhost/test"), Ok(Target::Postgres(_))));
        assert_eq!(resolve("postgres:nohost"), Err(DbUrlError::NoHost("PostgreSQL")));
        assert_eq!(resolve("postgres://user:pw@/db"), Err(DbUrlError::NoHost("PostgreSQL")));
    }

    fn path_of(raw: &str) -> PathBuf {
        parse(raw).map(|t| t.path).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(path_of("sqlite:///abs/path.db"), PathBuf::from("/abs/path.db"));
        assert_eq!(path_of("sqlite://relative/path.db"), PathBuf::from("relative/path.db"));
        assert_eq!(path_of("sqlite:relative.db"), PathBuf::from("relative.db"));
        assert_eq!(path_of("SQLite:///abs/x.db?mode=ro"), PathBuf::from("/abs/x.db"));
        assert_eq!(path_of("sqlite:///abs/with%20space.db"), PathBuf::from("/abs/with space.db"));
        assert_eq!(parse("SQLITE:///a.db?mode=ro").unwrap().url, "sqlite:///a.db?mode=ro");
    }

    #[test]
    fn sqlite_rejections() {
        assert_eq!(parse("sqlite::memory:"), Err(DbUrlError::InMemory));
        assert_eq!(parse("sqlite://:memory:"), Err(DbUrlError::InMemory));
        assert_eq!(parse("sqlite://?mode=memory"), Err(DbUrlError::InMemory));
        assert_eq!(parse("sqlite:///a.db?mode=rwc"), Err(DbUrlError::CreateMode));
        assert_eq!(parse("sqlite://"), Err(DbUrlError::NoFile));
        assert_eq!(parse("sqlite:"), Err(DbUrlError::NoFile));
    }

    #[test]
    fn mysql_urls_hide_credentials() {
        let Ok(Target::MySql(t)) = resolve("mysql://bob:hunter2@db:3306/app") else { panic!() };
        assert_eq!(t.display, "db:3306/app");
        let Ok(Target::MySql(t)) = resolve("mariadb://bob:hunter2@db/app") else { panic!() };
        assert_eq!(t.url, "mysql://bob:hunter2@db/app");
        assert!(!Target::MySql(t).describe().contains("hunter2"));
        let e = parse("redis://bob:hunter2@host").unwrap_err();
        assert_eq!(e, DbUrlError::UnsupportedScheme("redis".into()));
        assert!(e.to_string().contains("unsupported database URL"));
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn missing_file_is_reported_and_not_created() {
        let dir = std::env::temp_dir().join(format!("restgate-cli-unit-{}", std::process::id()));
        let file = dir.join("nope.db");
        let e = resolve(&format!("sqlite://{}", file.display())).unwrap_err();
        assert_eq!(e.to_string(), format!("database file not found: {}", file.display()));
        assert!(!file.exists());
        let e = resolve(&format!("sqlite://{}", std::env::temp_dir().display())).unwrap_err();
        assert!(matches!(e, DbUrlError::NotAFile(_)), "{e:?}");
    }
}
