//! The configuration file of `restgate serve` (`--config`, `RESTGATE_CONFIG`).
//!
//! The file holds what the flags hold (each flag, when given, replaces the
//! file's value), plus who may call (`[auth]`) and what each role may do
//! (`[roles.<name>]`). Everything that can be checked without the database
//! is checked here — unknown keys, verbs, roles, filter syntax,
//! placeholders, secrets that are missing — with messages naming the file,
//! the line when known, and the role and grant. Unknown tables and columns
//! are found when the gate is built (`Policy::validate`). See
//! `docs/security.md` for the format.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use restgate_core::auth::{ApiKeys, Authenticators, Jwt};
use restgate_core::catalog::ForeignKey;
use restgate_core::policy::{Policy, RowFilter, Rule, Verb};
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// The address served when neither the flag nor the file names one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// What the command line says; `None` or empty: not given.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--db` (or `RESTGATE_DB`).
    pub db: Option<String>,
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--prefix`, normalised.
    pub prefix: Option<String>,
    /// `--max-rows`.
    pub max_rows: Option<u64>,
    /// `--schema`.
    pub schemas: Vec<String>,
    /// `--foreign-key`.
    pub foreign_keys: Vec<(String, ForeignKey)>,
    /// `--config` (or `RESTGATE_CONFIG`).
    pub config: Option<PathBuf>,
}

/// The flags and the file, merged: what `restgate serve` does.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The database URL (may hold a password: never print it).
    pub db: String,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The mount path, normalised (`/` or `/a/b`).
    pub prefix: String,
    /// The row cap of every read.
    pub max_rows: Option<u64>,
    /// PostgreSQL schemas.
    pub schemas: Vec<String>,
    /// Declared foreign keys.
    pub foreign_keys: Vec<(String, ForeignKey)>,
    /// Authentication and policy; `None` when the file has neither `[auth]`
    /// nor `[roles]` (or there is no file): everything is open.
    pub security: Option<Security>,
}

/// Who may call, and what each role may do.
#[derive(Debug, Clone)]
pub struct Security {
    /// The authenticator chain (JWT, then API keys) with the anonymous role.
    pub authenticators: Authenticators,
    /// The roles.
    pub policy: Policy,
    /// Each grant of the file, for messages that name it.
    pub grants: Vec<GrantSite>,
    /// One line for the startup log.
    pub summary: String,
}

/// A grant of the file: where it is, and what it says.
#[derive(Debug, Clone)]
pub struct GrantSite {
    /// `file:line:col: role "r", grant #n (resource "t")`.
    pub at: String,
    /// Its resource (`*`, `name` or `schema.name`).
    pub resource: String,
    /// Its rule.
    pub rule: Rule,
}

/// Why the flags and the file cannot be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// No `--db`, no `RESTGATE_DB` and no `db` in the file (a usage error).
    NoDb,
    /// The file is unreadable or invalid.
    File {
        /// The file, as given.
        path: PathBuf,
        /// 1-based line and column, when known.
        at: Option<(usize, usize)>,
        /// What is wrong, in one line.
        message: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoDb => f.write_str("no database to serve: pass --db <URL>, set RESTGATE_DB, or set db in the config file"),
            ConfigError::File { path, at: Some((line, col)), message } => write!(f, "{}:{line}:{col}: {message}", path.display()),
            ConfigError::File { path, at: None, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------------------
// The file, as serde reads it.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<String>,
    listen: Option<Spanned<String>>,
    prefix: Option<Spanned<String>>,
    max_rows: Option<Spanned<u64>>,
    schemas: Option<Vec<String>>,
    foreign_keys: Option<Vec<Spanned<String>>>,
    auth: Option<Spanned<AuthConfig>>,
    #[serde(default)]
    roles: BTreeMap<String, RoleConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthConfig {
    anonymous_role: Option<Spanned<String>>,
    api_keys: Option<Spanned<ApiKeysConfig>>,
    jwt: Option<Spanned<JwtConfig>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeysConfig {
    header: Option<String>,
    #[serde(default)]
    keys: Vec<Spanned<KeyConfig>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyConfig {
    name: String,
    role: String,
    sha256: Option<String>,
    key_env: Option<String>,
    /// Refused: plaintext keys do not belong in a file (see the docs).
    key: Option<Spanned<IgnoredAny>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct JwtConfig {
    secret_env: Option<String>,
    secret_file: Option<String>,
    public_key_file: Option<String>,
    jwks_file: Option<String>,
    algorithm: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "one_or_many")]
    audience: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    issuer: Vec<String>,
    leeway_secs: Option<u64>,
    role_claim: Option<String>,
    cookie: Option<String>,
    require_exp: Option<bool>,
    /// Refused: use `secret_env` or `secret_file`.
    secret: Option<Spanned<IgnoredAny>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleConfig {
    #[serde(default)]
    inherits: Vec<String>,
    #[serde(default)]
    grants: Vec<Spanned<GrantConfig>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantConfig {
    resource: String,
    verbs: Vec<String>,
    columns: Option<Vec<String>>,
    filter: Option<String>,
    check: Option<String>,
    #[serde(default)]
    set: BTreeMap<String, String>,
    max_rows: Option<u64>,
}

/// A string or an array of strings.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or an array of strings")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![v.to_owned()])
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<String>()? {
                out.push(s);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

// ---------------------------------------------------------------------------
// Loading and checking.

/// The file being read: for error positions and relative paths.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn error(&self, span: Option<Range<usize>>, message: impl Into<String>) -> ConfigError {
        ConfigError::File { path: self.path.to_owned(), at: span.map(|s| self.position(s.start)), message: message.into() }
    }

    /// The 1-based line and column of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// A path in the file, relative to the file's directory.
    fn relative(&self, file: &str) -> PathBuf {
        let p = Path::new(file);
        if p.is_absolute() {
            return p.to_owned();
        }
        self.path.parent().map_or_else(|| p.to_owned(), |dir| dir.join(p))
    }
}

/// What the file says.
#[derive(Debug, Default)]
pub struct FileSettings {
    db: Option<String>,
    listen: Option<SocketAddr>,
    prefix: Option<String>,
    max_rows: Option<u64>,
    schemas: Option<Vec<String>>,
    foreign_keys: Option<Vec<(String, ForeignKey)>>,
    security: Option<Security>,
}

/// Merges the flags and, when given, the file (a flag replaces the file's value).
pub fn resolve(flags: &Flags) -> Result<Settings, ConfigError> {
    let file = match &flags.config {
        Some(path) => load(path)?,
        None => FileSettings::default(),
    };
    Ok(Settings {
        db: flags.db.clone().or(file.db).ok_or(ConfigError::NoDb)?,
        listen: flags.listen.or(file.listen).unwrap_or(SocketAddr::from(([127, 0, 0, 1], 3000))),
        prefix: flags.prefix.clone().or(file.prefix).unwrap_or_else(|| "/".to_owned()),
        max_rows: flags.max_rows.or(file.max_rows),
        schemas: if flags.schemas.is_empty() { file.schemas.unwrap_or_default() } else { flags.schemas.clone() },
        foreign_keys: if flags.foreign_keys.is_empty() { file.foreign_keys.unwrap_or_default() } else { flags.foreign_keys.clone() },
        security: file.security,
    })
}

/// Reads and checks the file.
pub fn load(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        at: None,
        message: format!("cannot read the config file: {e}"),
    })?;
    let src = Source { path, text: &text };
    let file: FileConfig = toml::from_str(&text).map_err(|e| src.error(e.span(), toml_message(e.message())))?;
    check(&src, file)
}

/// serde's message, one line, without the fields that only exist to be refused.
fn toml_message(message: &str) -> String {
    let mut m = message.trim().replace('\n', " ");
    if m.starts_with("unknown field") {
        m = m.replace(", `key`", "").replace(", `secret`", "");
    }
    m
}

fn check(src: &Source<'_>, file: FileConfig) -> Result<FileSettings, ConfigError> {
    let listen = match &file.listen {
        Some(l) => Some(l.get_ref().parse::<SocketAddr>().map_err(|_| {
            src.error(
                Some(l.span()),
                format!("listen: {:?} is not an IP address and port, e.g. {DEFAULT_LISTEN} or [::1]:8080", l.get_ref()),
            )
        })?),
        None => None,
    };
    let prefix = match &file.prefix {
        Some(p) => Some(crate::parse_prefix(p.get_ref()).map_err(|e| src.error(Some(p.span()), format!("prefix {:?}: {e}", p.get_ref())))?),
        None => None,
    };
    let max_rows = match &file.max_rows {
        Some(n) if *n.get_ref() == 0 => return Err(src.error(Some(n.span()), "max_rows must be 1 or more")),
        Some(n) => Some(*n.get_ref()),
        None => None,
    };
    let foreign_keys = match &file.foreign_keys {
        Some(list) => Some(
            list.iter()
                .map(|fk| {
                    crate::parse_foreign_key(fk.get_ref())
                        .map_err(|e| src.error(Some(fk.span()), format!("foreign_keys: {:?}: {e}", fk.get_ref())))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    if let Some(s) = file.schemas.iter().flatten().find(|s| s.trim().is_empty()) {
        return Err(src.error(None, format!("schemas: {s:?} is not a schema name")));
    }
    let security = security(src, file.auth, &file.roles)?;
    Ok(FileSettings { db: file.db, listen, prefix, max_rows, schemas: file.schemas, foreign_keys, security })
}

fn security(
    src: &Source<'_>,
    auth: Option<Spanned<AuthConfig>>,
    roles: &BTreeMap<String, RoleConfig>,
) -> Result<Option<Security>, ConfigError> {
    let Some(auth) = auth else {
        if roles.is_empty() {
            return Ok(None);
        }
        return Err(src.error(
            None,
            "[roles] is set but [auth] is not: every request would be refused (401); add [auth] with anonymous_role, [auth.api_keys] or [auth.jwt]",
        ));
    };
    let auth_span = auth.span();
    let auth = auth.into_inner();
    if roles.is_empty() {
        return Err(
            src.error(Some(auth_span), "[auth] is set but no role is defined under [roles]: deny by default would refuse every request")
        );
    }
    if auth.anonymous_role.is_none() && auth.api_keys.is_none() && auth.jwt.is_none() {
        return Err(src.error(Some(auth_span), "[auth] lets no one in: set anonymous_role, [auth.api_keys] or [auth.jwt]"));
    }
    let known = |role: &str| roles.contains_key(role);
    let defined = || roles.keys().map(|r| format!("{r:?}")).collect::<Vec<_>>().join(", ");

    let (policy, grants) = policy(src, roles)?;

    let mut chain = Authenticators::new();
    let mut summary = Vec::new();
    if let Some(jwt) = auth.jwt {
        let (j, what) = jwt_authenticator(src, jwt)?;
        chain = chain.with(j);
        summary.push(what);
    }
    if let Some(keys) = auth.api_keys {
        let span = keys.span();
        let keys = keys.into_inner();
        let header = keys.header.unwrap_or_else(|| "apikey".to_owned());
        let mut builder = ApiKeys::builder().header(header.clone());
        for (i, k) in keys.keys.iter().enumerate() {
            let where_ = format!("auth.api_keys.keys #{} ({:?})", i + 1, k.get_ref().name);
            let at = |m: String| src.error(Some(k.span()), format!("{where_}: {m}"));
            let k_ref = k.get_ref();
            if let Some(plain) = &k_ref.key {
                return Err(src.error(
                    Some(plain.span()),
                    format!(
                        "{where_}: plaintext keys are not accepted in the config file; \
                         use sha256 = \"<hex digest>\" (printf %s \"$KEY\" | sha256sum) or key_env = \"ENV_VAR\""
                    ),
                ));
            }
            if k_ref.name.trim().is_empty() {
                return Err(at("name is empty".into()));
            }
            if !known(&k_ref.role) {
                return Err(at(format!("role {:?} is not defined under [roles] (defined: {})", k_ref.role, defined())));
            }
            builder = match (&k_ref.sha256, &k_ref.key_env) {
                (Some(hash), None) => builder.key_hash(hash, &k_ref.role, &k_ref.name),
                (None, Some(var)) => builder.key(env_secret(var).map_err(|m| at(format!("key_env: {m}")))?, &k_ref.role, &k_ref.name),
                (Some(_), Some(_)) => return Err(at("set sha256 or key_env, not both".into())),
                (None, None) => return Err(at("set sha256 = \"<hex digest>\" or key_env = \"ENV_VAR\"".into())),
            };
        }
        let built = builder.build().map_err(|e| src.error(Some(span), format!("auth.api_keys: {e}")))?;
        chain = chain.with(built);
        summary.push(format!("{} (header {header})", plural(keys.keys.len(), "API key", "API keys")));
    }
    if let Some(anon) = &auth.anonymous_role {
        let role = anon.get_ref();
        if !known(role) {
            return Err(src.error(
                Some(anon.span()),
                format!("auth.anonymous_role: role {role:?} is not defined under [roles] (defined: {})", defined()),
            ));
        }
        chain = chain.anonymous_role(Some(role));
        summary.push(format!("anonymous role {role}"));
    } else {
        summary.push("no anonymous access".to_owned());
    }
    let summary = format!("auth: {}; policy: {}", summary.join(", "), plural(roles.len(), "role", "roles"));
    Ok(Some(Security { authenticators: chain, policy, grants, summary }))
}

/// The `[auth.jwt]` authenticator, and how the log describes it.
fn jwt_authenticator(src: &Source<'_>, jwt: Spanned<JwtConfig>) -> Result<(Jwt, String), ConfigError> {
    let span = jwt.span();
    let jwt = jwt.into_inner();
    let at = |m: String| src.error(Some(span.clone()), format!("auth.jwt: {m}"));
    if let Some(s) = &jwt.secret {
        return Err(src.error(
            Some(s.span()),
            "auth.jwt: a plaintext secret is not accepted in the config file; use secret_env = \"ENV_VAR\" or secret_file = \"path\"",
        ));
    }
    let mut builder = Jwt::builder();
    let mut what = Vec::new();
    let mut secrets = Vec::new();
    if let Some(var) = &jwt.secret_env {
        secrets.push(env_secret(var).map_err(|m| at(format!("secret_env: {m}")))?.into_bytes());
    }
    if let Some(file) = &jwt.secret_file {
        let path = src.relative(file);
        let mut bytes = std::fs::read(&path).map_err(|e| at(format!("secret_file {}: {e}", path.display())))?;
        // `echo secret > file` leaves a newline that is not part of the secret.
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        secrets.push(bytes);
    }
    let algorithm = match &jwt.algorithm {
        Some(a) => {
            let name = a.get_ref().to_ascii_uppercase();
            if !["HS256", "HS384", "HS512"].contains(&name.as_str()) {
                return Err(src.error(
                    Some(a.span()),
                    format!(
                        "auth.jwt: algorithm {:?}: expected HS256, HS384 or HS512 (it applies to secret_env and secret_file; \
                         a public key's type decides its algorithms)",
                        a.get_ref()
                    ),
                ));
            }
            if secrets.is_empty() {
                return Err(src.error(Some(a.span()), "auth.jwt: algorithm applies to secret_env and secret_file, and neither is set"));
            }
            name
        }
        None => "HS256".to_owned(),
    };
    for secret in &secrets {
        builder = match algorithm.as_str() {
            "HS384" => builder.hs384(secret),
            "HS512" => builder.hs512(secret),
            _ => builder.hs256(secret),
        };
    }
    if !secrets.is_empty() {
        what.push(algorithm);
    }
    if let Some(file) = &jwt.public_key_file {
        let path = src.relative(file);
        let pem = std::fs::read(&path).map_err(|e| at(format!("public_key_file {}: {e}", path.display())))?;
        let kind = pem_kind(&pem).ok_or_else(|| {
            at(format!("public_key_file {}: not an RSA, EC (P-256 or P-384) or Ed25519 public key in PEM", path.display()))
        })?;
        builder = match kind {
            PemKind::Rsa => builder.rsa_pem(&pem),
            PemKind::Ec => builder.ec_pem(&pem),
            PemKind::Ed => builder.ed_pem(&pem),
        };
        what.push(kind.name().to_owned());
    }
    if let Some(file) = &jwt.jwks_file {
        let path = src.relative(file);
        let json = std::fs::read_to_string(&path).map_err(|e| at(format!("jwks_file {}: {e}", path.display())))?;
        builder = builder.jwks(json);
        what.push("JWKS".to_owned());
    }
    if what.is_empty() {
        return Err(at("no key: set secret_env, secret_file, public_key_file or jwks_file".into()));
    }
    for a in &jwt.audience {
        builder = builder.audience(a);
    }
    for i in &jwt.issuer {
        builder = builder.issuer(i);
    }
    if let Some(s) = jwt.leeway_secs {
        builder = builder.leeway(std::time::Duration::from_secs(s));
    }
    if let Some(c) = &jwt.role_claim {
        builder = builder.role_claim(c);
    }
    if let Some(c) = &jwt.cookie {
        builder = builder.cookie(c);
    }
    if let Some(r) = jwt.require_exp {
        builder = builder.require_exp(r);
    }
    let built = builder.build().map_err(|e| at(e.to_string()))?;
    Ok((built, format!("JWT ({})", what.join(", "))))
}

/// The type of a PEM public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PemKind {
    Rsa,
    Ec,
    Ed,
}

impl PemKind {
    fn name(self) -> &'static str {
        match self {
            PemKind::Rsa => "RSA key",
            PemKind::Ec => "EC key",
            PemKind::Ed => "Ed25519 key",
        }
    }
}

/// Which kind of public key `pem` holds: the one whose builder accepts it.
fn pem_kind(pem: &[u8]) -> Option<PemKind> {
    [PemKind::Rsa, PemKind::Ec, PemKind::Ed].into_iter().find(|k| {
        match k {
            PemKind::Rsa => Jwt::rsa_pem(pem),
            PemKind::Ec => Jwt::ec_pem(pem),
            PemKind::Ed => Jwt::ed_pem(pem),
        }
        .build()
        .is_ok()
    })
}

/// A secret from the environment: set, UTF-8, not empty.
fn env_secret(var: &str) -> Result<String, String> {
    match std::env::var(var) {
        Ok(v) if v.is_empty() => Err(format!("environment variable {var} is empty")),
        Ok(v) => Ok(v),
        Err(std::env::VarError::NotPresent) => Err(format!("environment variable {var} is not set")),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("environment variable {var} is not valid UTF-8")),
    }
}

/// The `[roles]` as a [`Policy`], after checking everything that does not
/// need the database; and where each grant is.
fn policy(src: &Source<'_>, roles: &BTreeMap<String, RoleConfig>) -> Result<(Policy, Vec<GrantSite>), ConfigError> {
    let mut policy = Policy::new();
    let mut sites = Vec::new();
    for (name, role) in roles {
        policy = policy.role(name);
        for parent in &role.inherits {
            if !roles.contains_key(parent) {
                return Err(src.error(None, format!("role {name:?}: inherits from unknown role {parent:?}")));
            }
            policy = policy.inherit(name, parent);
        }
        if let Some(cycle) = cycle(roles, name, &mut vec![name.as_str()]) {
            return Err(src.error(None, format!("role {name:?}: inheritance cycle {}", cycle.join(" → "))));
        }
        for (i, g) in role.grants.iter().enumerate() {
            let where_ = format!("role {name:?}, grant #{} (resource {:?})", i + 1, g.get_ref().resource);
            let (verbs, rule) = grant(g.get_ref()).map_err(|m| src.error(Some(g.span()), format!("{where_}: {m}")))?;
            let (line, col) = src.position(g.span().start);
            let at = format!("{}:{line}:{col}: {where_}", src.path.display());
            sites.push(GrantSite { at, resource: g.get_ref().resource.clone(), rule: rule.clone() });
            policy = policy.grant(name, &g.get_ref().resource, verbs, rule);
        }
    }
    Ok((policy, sites))
}

/// The first inheritance cycle through `path`'s last role, as role names.
fn cycle<'a>(roles: &'a BTreeMap<String, RoleConfig>, start: &str, path: &mut Vec<&'a str>) -> Option<Vec<String>> {
    let last = *path.last()?;
    for parent in roles.get(last).map(|r| r.inherits.as_slice()).unwrap_or_default() {
        if parent == start {
            let mut c: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
            c.push(parent.clone());
            return Some(c);
        }
        if path.contains(&parent.as_str()) {
            continue; // a cycle that does not pass through `start`: reported for its own roles
        }
        path.push(parent);
        if let Some(c) = cycle(roles, start, path) {
            return Some(c);
        }
        path.pop();
    }
    None
}

/// One grant: its verbs and rule.
fn grant(g: &GrantConfig) -> Result<(Vec<Verb>, Rule), String> {
    if g.resource.trim().is_empty() {
        return Err("resource is empty: name a table or view, or \"*\"".into());
    }
    if g.verbs.is_empty() {
        return Err("verbs is empty: list some of read, create, update, delete".into());
    }
    let mut verbs = Vec::new();
    for v in &g.verbs {
        let verb = match v.as_str() {
            "read" => Verb::Read,
            "create" => Verb::Create,
            "update" => Verb::Update,
            "delete" => Verb::Delete,
            _ => return Err(format!("unknown verb {v:?}: expected read, create, update or delete")),
        };
        if !verbs.contains(&verb) {
            verbs.push(verb);
        }
    }
    let has = |list: &[Verb]| list.iter().any(|v| verbs.contains(v));
    let mut rule = Rule::new();
    if let Some(cols) = &g.columns {
        if let Some(c) = cols.iter().find(|c| c.trim().is_empty()) {
            return Err(format!("columns: {c:?} is not a column name"));
        }
        rule = rule.columns(cols.iter().cloned());
    }
    if let Some(f) = &g.filter {
        if !has(&[Verb::Read, Verb::Update, Verb::Delete]) {
            return Err("filter applies to read, update and delete, and the grant has none of them (check applies to create)".into());
        }
        rule = rule.filter(RowFilter::parse(f).map_err(|e| e.to_string())?);
    }
    if let Some(c) = &g.check {
        if !has(&[Verb::Create, Verb::Update]) {
            return Err("check applies to create and update, and the grant has neither".into());
        }
        rule = rule.check(RowFilter::parse(c).map_err(|e| format!("check: {e}"))?);
    }
    if !g.set.is_empty() && !has(&[Verb::Create]) {
        return Err("set applies to create, and the grant does not have it".into());
    }
    for (column, template) in &g.set {
        if let Some(p) = unknown_placeholder(template) {
            return Err(format!("set {column} = {template:?}: unknown placeholder {{{p}}}: use {{claims.<path>}}, {{role}} or {{name}}"));
        }
        rule = rule.set(column, template);
    }
    if let Some(n) = g.max_rows {
        if n == 0 {
            return Err("max_rows must be 1 or more".into());
        }
        if !has(&[Verb::Read]) {
            return Err("max_rows applies to read, and the grant does not have it".into());
        }
        rule = rule.max_rows(n);
    }
    Ok((verbs, rule))
}

/// The first `{…}` of `template` that is not `{role}`, `{name}` or
/// `{claims.<path>}` (the placeholders `RowFilter` knows).
fn unknown_placeholder(template: &str) -> Option<&str> {
    template.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(p, _)| p)).find(|p| {
        !(*p == "role"
            || *p == "name"
            || p.strip_prefix("claims.").is_some_and(|path| !path.is_empty() && path.split('.').all(|s| !s.is_empty())))
    })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileSettings, String> {
        let src = Source { path: Path::new("/etc/restgate/restgate.toml"), text };
        let file: FileConfig = toml::from_str(text).map_err(|e| src.error(e.span(), toml_message(e.message())).to_string())?;
        check(&src, file).map_err(|e| e.to_string())
    }

    fn error(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e,
        }
    }

    const BASE: &str = r#"
[auth]
anonymous_role = "anon"

[roles.anon]
[[roles.anon.grants]]
resource = "notes"
verbs = ["read"]
"#;

    #[test]
    fn settings_and_an_open_gate() {
        let s = parse(
            r#"
db = "sqlite:///srv/app.db"
listen = "0.0.0.0:8080"
prefix = "/api/"
max_rows = 50
schemas = ["public", "extra"]
foreign_keys = ["orders(customer_id)->customers(id)"]
"#,
        )
        .unwrap();
        assert_eq!(s.db.as_deref(), Some("sqlite:///srv/app.db"));
        assert_eq!(s.listen, Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(s.prefix.as_deref(), Some("/api"));
        assert_eq!(s.max_rows, Some(50));
        assert_eq!(s.foreign_keys.unwrap()[0].1.foreign_table, "customers");
        assert!(s.security.is_none());
    }

    #[test]
    fn flags_replace_the_file() {
        let dir = std::env::temp_dir().join(format!("restgate-config-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(&path, "db = \"sqlite:a.db\"\nlisten = \"127.0.0.1:1\"\nschemas = [\"x\"]\nmax_rows = 5\n").unwrap();
        let flags = Flags { config: Some(path.clone()), listen: Some("127.0.0.1:2".parse().unwrap()), ..Flags::default() };
        let s = resolve(&flags).unwrap();
        assert_eq!(
            (s.db.as_str(), s.listen.port(), s.schemas.as_slice(), s.max_rows, s.prefix.as_str()),
            ("sqlite:a.db", 2, &["x".to_owned()][..], Some(5), "/")
        );
        let flags = Flags { config: Some(path.clone()), db: Some("sqlite:b.db".into()), schemas: vec!["y".into()], ..Flags::default() };
        let s = resolve(&flags).unwrap();
        assert_eq!((s.db.as_str(), s.schemas.as_slice()), ("sqlite:b.db", &["y".to_owned()][..]));
        assert_eq!(resolve(&Flags::default()).unwrap_err(), ConfigError::NoDb);
        assert_eq!(resolve(&Flags { db: Some("sqlite:x".into()), ..Flags::default() }).unwrap().listen.to_string(), DEFAULT_LISTEN);
        let missing = Flags { config: Some(dir.join("absent.toml")), ..Flags::default() };
        assert!(resolve(&missing).unwrap_err().to_string().contains("absent.toml: cannot read the config file"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn policy_and_auth() {
        let s = parse(&format!(
            r#"{BASE}
[auth.api_keys]
header = "x-api-key"
[[auth.api_keys.keys]]
name = "report"
role = "member"
sha256 = "{}"

[roles.member]
inherits = ["anon"]
[[roles.member.grants]]
resource = "notes"
verbs = ["read", "update"]
columns = ["id", "body"]
filter = "tenant=eq.{{claims.tenant}}"
check = "tenant=eq.{{claims.tenant}}"
max_rows = 10
[[roles.member.grants]]
resource = "*"
verbs = ["create"]
set = {{ owner = "{{claims.sub}}" }}
"#,
            ApiKeys::hash("k")
        ))
        .unwrap();
        let sec = s.security.unwrap();
        assert_eq!(sec.summary, "auth: 1 API key (header x-api-key), anonymous role anon; policy: 2 roles");
        let mut roles: Vec<&str> = sec.policy.roles().collect();
        roles.sort();
        assert_eq!(roles, ["anon", "member"]);
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_grant() {
        let e = error(&format!("{BASE}verbs_ = 1\n"));
        assert_eq!(e, "/etc/restgate/restgate.toml:9:1: unknown field `verbs_`, expected one of `resource`, `verbs`, `columns`, `filter`, `check`, `set`, `max_rows`");
        let e = error(&BASE.replace("[\"read\"]", "[\"read\", \"write\"]"));
        assert!(
            e.starts_with("/etc/restgate/restgate.toml:6:1: role \"anon\", grant #1 (resource \"notes\"): unknown verb \"write\""),
            "{e}"
        );
        let e = error(&format!("{BASE}filter = \"tenant=eq.{{claim.tenant}}\"\n"));
        assert!(
            e.contains(
                "role \"anon\", grant #1 (resource \"notes\"): filter \"tenant=eq.{claim.tenant}\": unknown placeholder {claim.tenant}"
            ),
            "{e}"
        );
        let e = error(&format!("{BASE}filter = \"tenant=equals.1\"\n"));
        assert!(e.contains("grant #1 (resource \"notes\"): filter \"tenant=equals.1\""), "{e}");
        let e = error(&format!("{BASE}check = \"a=eq.1\"\n"));
        assert!(e.contains("check applies to create and update"), "{e}");
        let e = error(&format!("{BASE}set = {{ owner = \"{{user}}\" }}\n"));
        assert!(e.contains("set applies to create"), "{e}");
        let e = error(&BASE.replace("[\"read\"]", "[\"create\"]\nset = { owner = \"{user}\" }"));
        assert!(e.contains("set owner = \"{user}\": unknown placeholder {user}"), "{e}");
        let e = error(&format!("{BASE}[roles.x]\ninherits = [\"anon\", \"nobody\"]\n"));
        assert_eq!(e, "/etc/restgate/restgate.toml: role \"x\": inherits from unknown role \"nobody\"");
        let e = error(&format!("{BASE}[roles.a]\ninherits = [\"b\"]\n[roles.b]\ninherits = [\"a\"]\n"));
        assert!(e.ends_with("role \"a\": inheritance cycle a → b → a"), "{e}");
        let e = error(&BASE.replace("anonymous_role = \"anon\"", "anonymous_role = \"anno\""));
        assert!(e.contains(":3:18: auth.anonymous_role: role \"anno\" is not defined under [roles] (defined: \"anon\")"), "{e}");
    }

    #[test]
    fn secrets_stay_out_of_the_file() {
        let e = error(&format!("{BASE}[auth.api_keys]\n[[auth.api_keys.keys]]\nname = \"n\"\nrole = \"anon\"\nkey = \"hunter2\"\n"));
        assert!(e.contains(":13:7: auth.api_keys.keys #1 (\"n\"): plaintext keys are not accepted in the config file; use sha256"), "{e}");
        assert!(!e.contains("hunter2"));
        let e = error(&format!("{BASE}[auth.api_keys]\n[[auth.api_keys.keys]]\nname = \"n\"\nrole = \"anon\"\nkye = \"x\"\n"));
        assert!(e.contains("unknown field `kye`, expected one of `name`, `role`, `sha256`, `key_env`"), "{e}");
        assert!(!e.contains("`key`"), "{e}");
        let e = error(&format!("{BASE}[auth.jwt]\nsecret = \"0123456789abcdef0123456789abcdef\"\n"));
        assert!(e.contains("auth.jwt: a plaintext secret is not accepted in the config file; use secret_env"), "{e}");
        let e = error(&format!("{BASE}[auth.jwt]\nsecrett = \"x\"\n"));
        assert!(e.contains("unknown field `secrett`, expected one of `secret_env`, `secret_file`"), "{e}");
        assert!(!e.contains("`secret`"), "{e}");
        let e = error(&format!("{BASE}[auth.jwt]\nsecret_env = \"RESTGATE_UNIT_TEST_UNSET_VARIABLE\"\n"));
        assert!(e.contains("auth.jwt: secret_env: environment variable RESTGATE_UNIT_TEST_UNSET_VARIABLE is not set"), "{e}");
        let e = error(&format!("{BASE}[auth.api_keys]\n[[auth.api_keys.keys]]\nname = \"n\"\nrole = \"anon\"\nsha256 = \"abc\"\n"));
        assert!(e.contains("auth.api_keys: the hash of API key \"n\" is not a hex SHA-256 digest"), "{e}");
        let e = error(&format!("{BASE}[auth.jwt]\npublic_key_file = \"k.pem\"\nalgorithm = \"RS256\"\n"));
        assert!(e.contains("algorithm \"RS256\": expected HS256, HS384 or HS512"), "{e}");
    }

    #[test]
    fn sections_that_cannot_work_are_refused() {
        let roles_only = "[roles.a]\n[[roles.a.grants]]\nresource = \"*\"\nverbs = [\"read\"]\n";
        assert!(error(roles_only).contains("[roles] is set but [auth] is not"));
        assert!(error("[auth]\nanonymous_role = \"a\"\n").contains("[auth] is set but no role is defined"));
        assert!(error(&format!("[auth]\n{roles_only}")).contains("[auth] lets no one in"));
        assert!(error("listen = \"localhost:80\"\n")
            .starts_with("/etc/restgate/restgate.toml:1:10: listen: \"localhost:80\" is not an IP address"));
        assert!(error("prefix = \"api\"\n").contains("prefix \"api\": must start with '/'"));
        assert!(error("max_rows = 0\n").contains("max_rows must be 1 or more"));
        assert!(error("foreign_keys = [\"a(b)\"]\n").contains("foreign_keys: \"a(b)\": expected"));
        assert!(error("max_rows = \"ten\"\n").starts_with("/etc/restgate/restgate.toml:1:12: invalid type: string \"ten\", expected u64"));
    }

    #[test]
    fn public_keys_are_recognised_by_type() {
        const ED: &str =
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA61PkFx/26ctFOeM4sYnIgAZg2/ek4T0Kz+Zgg3VJ0mI=\n-----END PUBLIC KEY-----\n";
        const EC: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPVFGNlaPSZ6OWexJzGbIopclEKj1\n\
                          mmY/fkkquGhaWo3oZ8U0XxRZ6pxJMJRW4Zj99eZhOMDIxBzz1XuTwTcHQg==\n-----END PUBLIC KEY-----\n";
        const RSA: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArsmTNn29Br7zSkBJI2dI\n\
                           WrxYyuzajSF1Zdg19dCkRDOViXmgT09+t/73703mEidDWZQNi4BvDJw2W7W3n2uj\n\
                           PS/XNKlfevNMDT70pztXdTtrZeNmig2w5qQIl98tGimJDG19dlVSrjnSJpKycG+l\n\
                           RmxF32IrBBDdfSzJGlht+VcNLALjzVBIqWJWpor0KUM0J5kMTXU3K8rnAhX9xh5p\n\
                           0E5DmP/Xsbe1Nz4GdGVb4WL/5fnLo+DcsiqI1AvNhuIOOFgElOd/hgm4FvjH2qVD\n\
                           82jxYvVP6+me0/KRwIxoAV1jUAnQ+wKOU/Qt5eO5F28KGfCSvFIHERmEUhinjgVh\nBQIDAQAB\n-----END PUBLIC KEY-----\n";
        assert_eq!(pem_kind(ED.as_bytes()), Some(PemKind::Ed));
        assert_eq!(pem_kind(EC.as_bytes()), Some(PemKind::Ec));
        assert_eq!(pem_kind(RSA.as_bytes()), Some(PemKind::Rsa));
        assert_eq!(pem_kind(b"not a key"), None);
    }
}
