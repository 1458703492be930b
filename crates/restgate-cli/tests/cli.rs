//! End-to-end tests of the `restgate` binary: argument handling, startup
//! errors and exit codes, serving a real SQLite file, and clean shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_restgate");
/// Upper bound for every wait in these tests.
const WAIT: Duration = Duration::from_secs(10);

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "restgate-cli-{name}-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Creates `dir/shop.db` with an `items` table of three rows and an `item_names` view.
fn seeded_db(dir: &TempDir) -> PathBuf {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection, Executor};

    let path = dir.path().join("shop.db");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut conn = SqliteConnectOptions::new().filename(&path).create_if_missing(true).connect().await.expect("create db");
        conn.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             INSERT INTO items (id, name) VALUES (1, 'apple'), (2, 'pear'), (3, 'plum');
             CREATE VIEW item_names AS SELECT name FROM items;",
        )
        .await
        .expect("seed db");
        conn.close().await.expect("close db");
    });
    path
}

/// Runs the binary to completion (it must stop within [`WAIT`]).
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("RESTGATE_DB")
        .env_remove("RESTGATE_CONFIG")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn restgate");
    let deadline = Instant::now() + WAIT;
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("restgate {args:?} did not exit within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A running `restgate serve`, killed on drop if a test fails before stopping it.
struct Server {
    child: Child,
    /// `host:port` it listens on, read from its startup log line.
    addr: String,
    /// Every stderr line, as it is read.
    log: mpsc::Receiver<String>,
    /// The stderr lines before the startup line.
    startup: Vec<String>,
}

impl Server {
    /// Starts `restgate serve <args> --listen 127.0.0.1:0` and waits for its startup line.
    fn start(args: &[&str]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve").args(args).args(["--listen", "127.0.0.1:0"]).env_remove("RESTGATE_DB").env_remove("RESTGATE_CONFIG");
        Server::spawn(cmd)
    }

    /// Spawns `cmd` (a `restgate serve` serving [`seeded_db`]) and waits for its startup line.
    fn spawn(cmd: Command) -> Server {
        Server::spawn_serving(cmd, "serving 2 tables and views from ", "(1 table, 1 view)")
    }

    /// Spawns `cmd` and waits for its startup line, which must contain `what` and `counts`.
    fn spawn_serving(mut cmd: Command, what: &str, counts: &str) -> Server {
        let mut child =
            cmd.env("RUST_LOG", "info").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn restgate");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, addr: String::new(), log, startup: Vec::new() };
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match server.log.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        server.addr = rest.split(['/', ',', ' ']).next().unwrap_or_default().to_owned();
                        assert!(server.addr.starts_with("127.0.0.1:"), "startup line: {line}");
                        assert!(line.contains(what) && line.contains(counts), "startup line: {line}");
                        server.startup = seen;
                        return server;
                    }
                    seen.push(line);
                }
                Err(_) => panic!("no startup line within {WAIT:?}; stderr so far: {seen:#?}"),
            }
        }
    }

    /// Sends `signal` (TERM, INT) with the `kill` command and waits for the exit.
    fn stop(mut self, signal: &str) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").arg(format!("-{signal}")).arg(&pid).status().expect("run kill");
        assert!(status.success(), "kill -{signal} {pid} failed");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "restgate did not exit within {WAIT:?} of SIG{signal}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The stderr lines read so far.
    fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A parsed HTTP/1.1 response.
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// `GET path` over a fresh connection, with `Connection: close`.
fn get(addr: &str, path: &str) -> HttpResponse {
    request(addr, "GET", path, &[], None)
}

/// `method path` with extra `headers` and a JSON `body`, over a fresh connection.
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    stream.set_write_timeout(Some(WAIT)).expect("write timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    head.push_str(body.unwrap_or_default());
    stream.write_all(head.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line: {status_line}"));
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect::<Vec<_>>();
    let mut response = HttpResponse { status, headers, body: raw[split + 4..].to_vec() };
    if response.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        response.body = dechunk(&response.body);
    }
    response
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size_line = std::str::from_utf8(&data[..eol]).expect("chunk size");
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or_default().trim(), 16).expect("hex chunk size");
        data = &data[eol + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[test]
fn help_and_version() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("serve"), "{help}");

    let out = run(&["serve", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--db", "--listen", "--prefix", "--max-rows", "RESTGATE_DB", "--config", "RESTGATE_CONFIG"] {
        assert!(help.contains(flag), "{flag} missing from: {help}");
    }

    let out = run(&["--version"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("restgate {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["serve"][..],
        &["serve", "--db", "sqlite:x.db", "--listen", "not-an-address"],
        &["serve", "--db", "sqlite:x.db", "--max-rows", "many"],
        &["serve", "--db", "sqlite:x.db", "--prefix", "api"],
        &["frobnicate"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("error:"), "{args:?}: {}", stderr_of(&out));
    }
    let out = run(&["serve", "--db", "sqlite:x.db", "--listen", "not-an-address"]);
    assert!(stderr_of(&out).contains("--listen"), "{}", stderr_of(&out));
}

#[test]
fn unsupported_url() {
    let out = run(&["serve", "--db", "redis://localhost/0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("error: unsupported database URL"), "{err}");
}

#[test]
fn unreachable_mysql_is_an_error_without_the_password() {
    let out = run(&["serve", "--db", "mysql://alice:s3cr3t-pw@127.0.0.1:1/app"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("error: cannot open database mysql://127.0.0.1:1/app"), "{err}");
    assert!(!err.contains("s3cr3t-pw") && !err.contains("alice"), "{err}");
}

#[test]
fn unreachable_postgres_is_an_error_without_the_password() {
    // Port 1 on loopback: nothing listens there.
    let out = run(&["serve", "--db", "postgres://alice:s3cr3t-pw@127.0.0.1:1/app"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("error: cannot open database postgres://127.0.0.1:1/app"), "{err}");
    assert!(!err.contains("s3cr3t-pw") && !err.contains("alice"), "{err}");
}

#[test]
fn schema_is_for_postgres_only() {
    let dir = TempDir::new("schema-flag");
    let file = dir.path().join("a.db");
    std::fs::write(&file, b"").expect("file");
    let out = run(&["serve", "--db", &format!("sqlite://{}", file.display()), "--schema", "public"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("--schema applies to PostgreSQL"), "{}", stderr_of(&out));
}

#[test]
fn missing_sqlite_file_is_an_error_and_is_not_created() {
    let dir = TempDir::new("missing");
    let file = dir.path().join("absent.db");
    let out = run(&["serve", "--db", &format!("sqlite://{}", file.display())]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains(&format!("error: database file not found: {}", file.display())), "{err}");
    assert!(!file.exists(), "the file was created");

    // The relative form, resolved against the working directory.
    let out = Command::new(BIN)
        .args(["serve", "--db", "sqlite:relative.db"])
        .current_dir(dir.path())
        .env_remove("RESTGATE_DB")
        .env_remove("RESTGATE_CONFIG")
        .output()
        .expect("run restgate");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("database file not found: relative.db"), "{}", stderr_of(&out));
    assert!(!dir.path().join("relative.db").exists(), "the file was created");
    assert_eq!(std::fs::read_dir(dir.path()).expect("read dir").count(), 0, "files appeared in the directory");
}

#[test]
fn busy_port() {
    let dir = TempDir::new("busy");
    let db = seeded_db(&dir);
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = run(&["serve", "--db", &format!("sqlite://{}", db.display()), "--listen", &addr]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains(&format!("error: cannot listen on {addr}: address already in use")), "{err}");
    drop(taken);
}

#[test]
fn serves_a_table_and_stops_cleanly_on_sigterm() {
    let dir = TempDir::new("serve");
    let db = seeded_db(&dir);
    assert!(db.is_absolute());
    let server = Server::start(&["--db", &format!("sqlite://{}", db.display())]);

    let res = get(&server.addr, "/items?order=id");
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert!(res.header("content-type").is_some_and(|v| v.starts_with("application/json")), "{:?}", res.headers);
    assert_eq!(res.json(), serde_json::json!([{"id": 1, "name": "apple"}, {"id": 2, "name": "pear"}, {"id": 3, "name": "plum"}]));
    let res = get(&server.addr, "/items?id=eq.2");
    assert_eq!(res.json(), serde_json::json!([{"id": 2, "name": "pear"}]));
    assert_eq!(get(&server.addr, "/nope").status, 404);

    let status = server.stop("TERM");
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert!(db.exists());
}

#[test]
fn prefix_and_max_rows_and_sigint() {
    let dir = TempDir::new("prefix");
    let db = seeded_db(&dir);
    let server = Server::start(&["--db", &format!("sqlite://{}", db.display()), "--prefix", "/api", "--max-rows", "2"]);

    let res = get(&server.addr, "/api/items?order=id");
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json(), serde_json::json!([{"id": 1, "name": "apple"}, {"id": 2, "name": "pear"}]));
    let res = get(&server.addr, "/api/item_names?name=eq.plum");
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), serde_json::json!([{"name": "plum"}]));
    // Outside the prefix there is nothing.
    assert_eq!(get(&server.addr, "/items").status, 404);

    let status = server.stop("INT");
    assert!(status.success(), "exit status after SIGINT: {status:?}");
}

#[test]
fn declared_foreign_keys_embed() {
    let dir = TempDir::new("fk");
    let db = seeded_db(&dir);
    let url = format!("sqlite://{}", db.display());
    let server = Server::start(&["--db", &url, "--foreign-key", "item_names(name)->items(name)"]);
    let res = get(&server.addr, "/item_names?select=name,items(id)&name=eq.plum");
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json(), serde_json::json!([{"name": "plum", "items": {"id": 3}}]));
    let res = get(&server.addr, "/items?select=id,item_names(name)&id=eq.1");
    assert_eq!(res.json(), serde_json::json!([{"id": 1, "item_names": [{"name": "apple"}]}]));
    assert!(server.stop("TERM").success());

    // A key naming an unknown column stops the start with a clear message.
    let out = run(&["serve", "--db", &url, "--foreign-key", "item_names(nope)->items(name)"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("no column nope in main.item_names"), "{}", stderr_of(&out));
}

#[test]
fn db_from_environment() {
    let dir = TempDir::new("env");
    let db = seeded_db(&dir);
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("RESTGATE_DB", format!("sqlite://{}", db.display()));
    let server = Server::spawn(cmd);
    assert_eq!(get(&server.addr, "/items?id=eq.3").json(), serde_json::json!([{"id": 3, "name": "plum"}]));
    let status = server.stop("TERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn shutdown_lines_are_logged() {
    let dir = TempDir::new("log");
    let db = seeded_db(&dir);
    let server = Server::start(&["--db", &format!("sqlite:{}", db.display())]);
    assert_eq!(get(&server.addr, "/items").status, 200);
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + WAIT;
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("stopped")) {
        assert!(Instant::now() < deadline, "no shutdown lines: {lines:#?}");
        lines.extend(server.drain_log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(lines.iter().any(|l| l.contains("received SIGTERM, shutting down")), "{lines:#?}");
}

/// Sends `signal` to the server without waiting for it to exit.
fn signal(server: &Server, signal: &str) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(server.child.id().to_string()).status().expect("run kill");
    assert!(status.success());
}

#[test]
fn sighup_reloads_the_schema() {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection, Executor};

    let dir = TempDir::new("sighup");
    let db = seeded_db(&dir);
    let server = Server::start(&["--db", &format!("sqlite://{}", db.display())]);
    assert_eq!(get(&server.addr, "/added").status, 404);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut conn = SqliteConnectOptions::new().filename(&db).connect().await.expect("open db");
        conn.execute("CREATE TABLE added (id INTEGER PRIMARY KEY); INSERT INTO added VALUES (7);").await.expect("add table");
        conn.close().await.expect("close");
    });
    signal(&server, "HUP");
    let deadline = Instant::now() + WAIT;
    loop {
        let res = get(&server.addr, "/added");
        if res.status == 200 {
            assert_eq!(res.json(), serde_json::json!([{"id": 7}]));
            break;
        }
        assert!(Instant::now() < deadline, "the new table never appeared after SIGHUP");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SIGHUP does not stop the server; SIGTERM still does, cleanly.
    assert!(server.stop("TERM").success());
}

#[test]
fn serves_postgres_schemas() {
    use sqlx::Connection;

    let url = std::env::var("RESTGATE_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("rg_cli_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let connected = rt.block_on(async {
        let Ok(mut conn) = sqlx::PgConnection::connect(&url).await else { return false };
        let ddl = format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             CREATE TABLE {schema}.items (id integer PRIMARY KEY, name text NOT NULL);
             INSERT INTO {schema}.items VALUES (1, 'apple'), (2, 'pear');
             CREATE VIEW {schema}.item_names AS SELECT DISTINCT name FROM {schema}.items;"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(ddl)).execute(&mut conn).await.expect("create the test schema");
        true
    });
    if !connected {
        assert!(std::env::var("RESTGATE_REQUIRE_ALL_BACKENDS").as_deref() != Ok("1"), "PostgreSQL is unreachable at {url}");
        eprintln!("\n!!! SKIPPED serves_postgres_schemas: PostgreSQL is unreachable at {url} !!!\n");
        return;
    }
    let server = Server::start(&["--db", &url, "--schema", &schema]);
    let res = get(&server.addr, "/items?order=id&select=name");
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json(), serde_json::json!([{"name": "apple"}, {"name": "pear"}]));
    assert!(server.stop("TERM").success());
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&mut conn).await.expect("drop the test schema");
    });
}

#[test]
fn serves_mysql_databases() {
    use sqlx::Connection;

    let base = std::env::var("RESTGATE_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let db = format!("rg_cli_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let connected = rt.block_on(async {
        let Ok(mut conn) = sqlx::MySqlConnection::connect(&base).await else { return false };
        for sql in [
            format!("DROP DATABASE IF EXISTS {db}"),
            format!("CREATE DATABASE {db}"),
            format!("CREATE TABLE {db}.items (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)"),
            format!("INSERT INTO {db}.items VALUES (1, 'apple'), (2, 'pear')"),
            format!("CREATE VIEW {db}.item_names AS SELECT DISTINCT name FROM {db}.items"),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.expect("create the test database");
        }
        true
    });
    if !connected {
        assert!(std::env::var("RESTGATE_REQUIRE_ALL_BACKENDS").as_deref() != Ok("1"), "MySQL is unreachable at {base}");
        eprintln!("\n!!! SKIPPED serves_mysql_databases: MySQL is unreachable at {base} !!!\n");
        return;
    }
    let url = format!("{}/{db}", base.rsplit_once('/').map_or(base.as_str(), |(b, _)| b));
    let server = Server::start(&["--db", &url]);
    let res = get(&server.addr, "/items?order=id&select=name");
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json(), serde_json::json!([{"name": "apple"}, {"name": "pear"}]));
    assert!(server.stop("TERM").success());
    rt.block_on(async {
        let mut conn = sqlx::MySqlConnection::connect(&base).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {db}"))).execute(&mut conn).await.expect("drop the test database");
    });
}

// ---------------------------------------------------------------------------
// --config: authentication and roles.

/// The HMAC secret the multi-tenant tests sign their tokens with.
const JWT_SECRET: &str = "test-secret-of-at-least-32-bytes-for-hs256";
/// The API key of the reporting job (the file holds only its SHA-256).
const REPORT_KEY: &str = "rk_live_8f2c6a41d9e07b35";
/// The API key read from the environment (`key_env`).
const OPS_KEY: &str = "ops-key-from-the-environment";

/// Creates `dir/tenants.db`: two tenants, their notes (one with an
/// `internal` column no member may see), and an audit log only the
/// reporter may read.
fn tenant_db(dir: &TempDir) -> PathBuf {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection, Executor};

    let path = dir.path().join("tenants.db");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut conn = SqliteConnectOptions::new().filename(&path).create_if_missing(true).connect().await.expect("create db");
        conn.execute(
            "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, billing_email TEXT);
             INSERT INTO tenants VALUES ('acme', 'Acme', 'billing@acme.test'), ('globex', 'Globex', 'ap@globex.test');
             CREATE TABLE notes (
                 id INTEGER PRIMARY KEY,
                 tenant_id TEXT NOT NULL REFERENCES tenants(id),
                 owner_id TEXT NOT NULL,
                 body TEXT NOT NULL,
                 internal TEXT
             );
             INSERT INTO notes VALUES
                 (1, 'acme', 'alice', 'acme roadmap', 'x'),
                 (2, 'acme', 'carol', 'acme budget', 'x'),
                 (3, 'globex', 'bob', 'globex merger', 'x');
             CREATE TABLE audit_log (id INTEGER PRIMARY KEY, entry TEXT NOT NULL);
             INSERT INTO audit_log VALUES (1, 'started');",
        )
        .await
        .expect("seed db");
        conn.close().await.expect("close db");
    });
    path
}

/// The multi-tenant configuration of the tests and of the README.
fn tenant_config() -> String {
    format!(
        r#"# restgate.toml
prefix = "/api"

[auth]
anonymous_role = "web_anon"

[auth.jwt]
secret_env = "RG_TEST_JWT_SECRET"
audience = "restgate-test"

[auth.api_keys]
[[auth.api_keys.keys]]
name = "nightly-report"
role = "reporter"
sha256 = "{}"
[[auth.api_keys.keys]]
name = "ops"
role = "reporter"
key_env = "RG_TEST_OPS_KEY"

# Anyone: the list of tenants, without their billing address.
[roles.web_anon]
[[roles.web_anon.grants]]
resource = "tenants"
verbs = ["read"]
columns = ["id", "name"]

# A signed-in user: the notes of their tenant; writes to their own notes.
[roles.member]
inherits = ["web_anon"]
[[roles.member.grants]]
resource = "notes"
verbs = ["read"]
columns = ["id", "tenant_id", "owner_id", "body"]
filter = "tenant_id=eq.{{claims.tenant}}"
[[roles.member.grants]]
resource = "notes"
verbs = ["create", "update", "delete"]
columns = ["body"]
filter = "tenant_id=eq.{{claims.tenant}}&owner_id=eq.{{claims.sub}}"
check = "tenant_id=eq.{{claims.tenant}}"
set = {{ tenant_id = "{{claims.tenant}}", owner_id = "{{claims.sub}}" }}

# The reporting job: everything, read-only, two rows at a time.
[roles.reporter]
[[roles.reporter.grants]]
resource = "*"
verbs = ["read"]
max_rows = 2
"#,
        restgate_core::auth::ApiKeys::hash(REPORT_KEY)
    )
}

/// A signed HS256 token with `claims`, an audience and an expiry.
fn token(secret: &str, mut claims: serde_json::Value) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    claims["exp"] = (now + 600).into();
    if claims.get("aud").is_none() {
        claims["aud"] = "restgate-test".into();
    }
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()))
        .expect("sign")
}

/// `Authorization: Bearer <token>`.
fn bearer(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {token}"))
}

/// Starts `restgate serve --db <db> --config <config>` with the test secrets in the environment.
fn start_with_config(db: &Path, config: &Path) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--db", &format!("sqlite://{}", db.display())])
        .env("RESTGATE_CONFIG", config)
        .env("RG_TEST_JWT_SECRET", JWT_SECRET)
        .env("RG_TEST_OPS_KEY", OPS_KEY)
        .env_remove("RESTGATE_DB");
    Server::spawn_serving(cmd, "serving 3 tables and views from ", "(3 tables, 0 views)")
}

#[test]
fn multi_tenant_config() {
    let dir = TempDir::new("tenants");
    let db = tenant_db(&dir);
    let config = dir.path().join("restgate.toml");
    std::fs::write(&config, tenant_config()).expect("write config");
    let server = start_with_config(&db, &config);
    let addr = server.addr.as_str();
    let log = &server.startup;
    assert!(
        log.iter().any(|l| l.contains("auth: JWT (HS256), 2 API keys (header apikey), anonymous role web_anon; policy: 3 roles")),
        "{log:#?}"
    );

    let alice = bearer(&token(JWT_SECRET, serde_json::json!({"role": "member", "sub": "alice", "tenant": "acme"})));
    let bob = bearer(&token(JWT_SECRET, serde_json::json!({"role": "member", "sub": "bob", "tenant": "globex"})));
    let as_ = |who: &(&'static str, String)| [(who.0, who.1.clone())];
    let get_as = |who: &(&'static str, String), path: &str| {
        let h = as_(who);
        request(addr, "GET", path, &[(h[0].0, h[0].1.as_str())], None)
    };

    // Each tenant sees its own notes, without the hidden column.
    let res = get_as(&alice, "/api/notes?order=id");
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        res.json(),
        serde_json::json!([
            {"id": 1, "tenant_id": "acme", "owner_id": "alice", "body": "acme roadmap"},
            {"id": 2, "tenant_id": "acme", "owner_id": "carol", "body": "acme budget"}
        ])
    );
    let res = get_as(&bob, "/api/notes");
    assert_eq!(res.json(), serde_json::json!([{"id": 3, "tenant_id": "globex", "owner_id": "bob", "body": "globex merger"}]));
    // Asking for another tenant's row by key finds nothing; counts count only what is visible.
    assert_eq!(get_as(&alice, "/api/notes?id=eq.3").json(), serde_json::json!([]));
    let h = as_(&alice);
    let res = request(addr, "GET", "/api/notes?select=id", &[(h[0].0, &h[0].1), ("Prefer", "count=exact")], None);
    assert_eq!(res.header("content-range"), Some("0-1/2"), "{:?}", res.headers);
    // Embeds are filtered too: Globex's notes are not Alice's to see.
    let res = get_as(&alice, "/api/tenants?select=id,notes(id)&order=id");
    assert_eq!(res.json(), serde_json::json!([{"id": "acme", "notes": [{"id": 1}, {"id": 2}]}, {"id": "globex", "notes": []}]));
    // A hidden column does not exist.
    let res = get_as(&alice, "/api/notes?select=internal");
    assert_eq!((res.status, res.json()["code"].as_str()), (400, Some("42703")), "{}", String::from_utf8_lossy(&res.body));
    let res = get_as(&alice, "/api/tenants?select=billing_email");
    assert_eq!(res.status, 400);
    // A table no grant names is not there.
    let res = get_as(&alice, "/api/audit_log");
    assert_eq!((res.status, res.json()["code"].as_str()), (404, Some("PGRST205")));

    // Writes: tenant and owner come from the token, whatever the body says.
    let h = as_(&alice);
    let auth = [(h[0].0, h[0].1.as_str()), ("Prefer", "return=representation")];
    let res = request(addr, "POST", "/api/notes", &auth, Some(r#"{"body": "acme offsite"}"#));
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json(), serde_json::json!([{"id": 4, "tenant_id": "acme", "owner_id": "alice", "body": "acme offsite"}]));
    // Writing a column the role may not write is 403.
    let res = request(addr, "POST", "/api/notes", &auth, Some(r#"{"body": "sneaky", "tenant_id": "globex"}"#));
    assert_eq!((res.status, res.json()["code"].as_str()), (403, Some("42501")), "{}", String::from_utf8_lossy(&res.body));
    // Another owner's note, or another tenant's, cannot be changed or deleted: nothing matches.
    let res = request(addr, "PATCH", "/api/notes?id=in.(2,3)", &auth, Some(r#"{"body": "defaced"}"#));
    assert_eq!((res.status, res.json()), (200, serde_json::json!([])), "{}", String::from_utf8_lossy(&res.body));
    let res = request(addr, "DELETE", "/api/notes?id=eq.3", &auth, None);
    assert_eq!((res.status, res.json()), (200, serde_json::json!([])));
    assert_eq!(get_as(&bob, "/api/notes?select=body").json(), serde_json::json!([{"body": "globex merger"}]));
    // Her own note she may change.
    let res = request(addr, "PATCH", "/api/notes?id=eq.1", &auth, Some(r#"{"body": "acme roadmap v2"}"#));
    assert_eq!(res.json(), serde_json::json!([{"id": 1, "tenant_id": "acme", "owner_id": "alice", "body": "acme roadmap v2"}]));

    // A member may read tenants (inherited) but not create them: 403.
    let res = request(addr, "POST", "/api/tenants", &[(h[0].0, &h[0].1)], Some(r#"{"id": "initech", "name": "Initech"}"#));
    assert_eq!((res.status, res.json()["code"].as_str()), (403, Some("42501")));

    // Without credentials: the anonymous role.
    let res = get(addr, "/api/tenants?order=id");
    assert_eq!(res.json(), serde_json::json!([{"id": "acme", "name": "Acme"}, {"id": "globex", "name": "Globex"}]));
    let res = get(addr, "/api/notes");
    assert_eq!((res.status, res.json()["code"].as_str()), (404, Some("PGRST205")));
    let res = request(addr, "POST", "/api/tenants", &[], Some(r#"{"id": "initech", "name": "Initech"}"#));
    assert_eq!((res.status, res.json()["code"].as_str()), (401, Some("42501")));
    assert!(res.header("www-authenticate").is_some());
    // The OpenAPI document shows what the caller may use, and nothing else.
    let doc = get(addr, "/api/").json();
    let paths: Vec<&String> = doc["paths"].as_object().expect("paths").keys().collect();
    assert_eq!(paths, ["/tenants"]);
    assert!(doc["components"]["schemas"]["tenants"]["properties"].get("billing_email").is_none(), "{doc}");

    // Bad credentials are refused, never downgraded to anonymous.
    let forged = bearer(&token("another-secret-of-at-least-32-bytes-long", serde_json::json!({"role": "reporter"})));
    let res = get_as(&forged, "/api/tenants");
    assert_eq!((res.status, res.json()["code"].as_str()), (401, Some("PGRST301")));
    let elsewhere = bearer(&token(JWT_SECRET, serde_json::json!({"role": "member", "tenant": "acme", "aud": "other-app"})));
    let res = get_as(&elsewhere, "/api/tenants");
    assert_eq!((res.status, res.json()["code"].as_str()), (401, Some("PGRST303")));
    let res = request(addr, "GET", "/api/tenants", &[("apikey", "guessed")], None);
    assert_eq!((res.status, res.json()["code"].as_str()), (401, Some("PGRST301")));
    // A token without the tenant claim matches no row, and cannot create one.
    let no_tenant = bearer(&token(JWT_SECRET, serde_json::json!({"role": "member", "sub": "dave"})));
    assert_eq!(get_as(&no_tenant, "/api/notes").json(), serde_json::json!([]));
    let h = as_(&no_tenant);
    let res = request(addr, "POST", "/api/notes", &[(h[0].0, &h[0].1)], Some(r#"{"body": "orphan"}"#));
    assert_eq!((res.status, res.json()["code"].as_str()), (403, Some("42501")));

    // The API keys: the reporter reads every tenant's rows, two at a time.
    for key in [REPORT_KEY, OPS_KEY] {
        let res = request(addr, "GET", "/api/notes?select=id&order=id", &[("apikey", key)], None);
        assert_eq!(res.json(), serde_json::json!([{"id": 1}, {"id": 2}]));
    }
    let res = request(addr, "GET", "/api/audit_log?select=entry", &[("Authorization", &format!("Bearer {REPORT_KEY}"))], None);
    assert_eq!(res.json(), serde_json::json!([{"entry": "started"}]));
    let res = request(addr, "DELETE", "/api/audit_log", &[("apikey", REPORT_KEY)], None);
    assert_eq!((res.status, res.json()["code"].as_str()), (403, Some("42501")));

    assert!(server.stop("TERM").success());
}

#[test]
fn sighup_rereads_the_config() {
    let dir = TempDir::new("reload-config");
    let db = tenant_db(&dir);
    let config = dir.path().join("restgate.toml");
    std::fs::write(&config, tenant_config()).expect("write config");
    let server = start_with_config(&db, &config);
    assert_eq!(get(&server.addr, "/api/audit_log").status, 404);

    // A broken file is refused: the old configuration stays.
    std::fs::write(&config, tenant_config().replace("verbs = [\"read\"]\nmax_rows", "verbs = [\"raed\"]\nmax_rows")).expect("write config");
    signal(&server, "HUP");
    let deadline = Instant::now() + WAIT;
    let mut lines = Vec::new();
    while !lines.iter().any(|l: &String| l.contains("unknown verb \"raed\"")) {
        assert!(Instant::now() < deadline, "no reload error: {lines:#?}");
        lines.extend(server.drain_log());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(lines.iter().any(|l| l.contains("still serving the old one")), "{lines:#?}");
    assert_eq!(get(&server.addr, "/api/tenants").status, 200);

    // A good one applies, prefix included.
    let opened = tenant_config().replace("prefix = \"/api\"", "prefix = \"/v2\"")
        + "\n[[roles.web_anon.grants]]\nresource = \"audit_log\"\nverbs = [\"read\"]\n";
    std::fs::write(&config, opened).expect("write config");
    signal(&server, "HUP");
    let deadline = Instant::now() + WAIT;
    loop {
        let res = get(&server.addr, "/v2/audit_log?select=entry");
        if res.status == 200 {
            assert_eq!(res.json(), serde_json::json!([{"entry": "started"}]));
            break;
        }
        assert!(Instant::now() < deadline, "the new grant never applied after SIGHUP");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get(&server.addr, "/api/tenants").status, 404);
    assert!(server.stop("TERM").success());
}

/// Runs `restgate serve` on the tenant database with `config` as the file;
/// it must stop with exit code 1 and one `error:` line, which is returned.
fn config_error(db: &Path, dir: &TempDir, config: &str) -> String {
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, config).expect("write config");
    let out = run(&["serve", "--db", &format!("sqlite://{}", db.display()), "--config", &path.display().to_string()]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{config}\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    let line = lines[0].to_owned();
    assert!(line.starts_with(&format!("error: {}", path.display())), "{line}");
    line
}

#[test]
fn config_errors_exit_1_with_a_clear_message() {
    let dir = TempDir::new("config-errors");
    let db = tenant_db(&dir);
    let base =
        "[auth]\nanonymous_role = \"web_anon\"\n\n[roles.web_anon]\n[[roles.web_anon.grants]]\nresource = \"notes\"\nverbs = [\"read\"]\n";
    let cases: [(String, &str); 9] = [
        (
            format!("{base}filter = \"tenant_id=equals.acme\"\n"),
            ":5:1: role \"web_anon\", grant #1 (resource \"notes\"): filter \"tenant_id=equals.acme\"",
        ),
        (base.replace("\"notes\"", "\"nots\""), ":5:1: role \"web_anon\", grant #1 (resource \"nots\"): no such table or view"),
        (
            format!("{base}columns = [\"id\", \"secret\"]\n"),
            ":5:1: role \"web_anon\", grant #1 (resource \"notes\"): columns names unknown column secret",
        ),
        (
            format!("{base}filter = \"tennant_id=eq.1\"\n"),
            ":5:1: role \"web_anon\", grant #1 (resource \"notes\"): filter names unknown column tennant_id",
        ),
        (
            format!("{base}[roles.member]\ninherits = [\"web_anon\", \"staff\"]\n"),
            ": role \"member\": inherits from unknown role \"staff\"",
        ),
        (
            format!("{base}filter = \"tenant_id=eq.{{claim.tenant}}\"\n"),
            "unknown placeholder {claim.tenant}: use {claims.<path>}, {role} or {name}",
        ),
        (
            format!("{base}[auth.api_keys]\n[[auth.api_keys.keys]]\nname = \"job\"\nrole = \"web_anon\"\nkey = \"sk_live_do_not_store\"\n"),
            ":12:7: auth.api_keys.keys #1 (\"job\"): plaintext keys are not accepted in the config file",
        ),
        (format!("{base}max_row = 5\n"), ":8:1: unknown field `max_row`, expected one of `resource`, `verbs`"),
        (base.replace("anonymous_role = \"web_anon\"", "anonymous_role = \"web_anon\"\ntimeout = 5"), ":3:1: unknown field `timeout`"),
    ];
    for (config, expected) in cases {
        let line = config_error(&db, &dir, &config);
        assert!(line.contains(expected), "expected {expected:?} in: {line}");
        assert!(!line.contains("sk_live_do_not_store"), "{line}");
    }
    // Only the database's schema can tell about tables and columns; the
    // rest is refused before the database is opened.
    let line = config_error(Path::new("/nonexistent/db.sqlite"), &dir, &format!("{base}verbs_ = []\n"));
    assert!(line.contains("unknown field `verbs_`"), "{line}");

    // A config file that does not exist.
    let out = run(&["serve", "--db", &format!("sqlite://{}", db.display()), "--config", "/nonexistent/restgate.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("error: /nonexistent/restgate.toml: cannot read the config file"), "{}", stderr_of(&out));
}

#[test]
fn db_from_the_config_file() {
    let dir = TempDir::new("config-db");
    let db = seeded_db(&dir);
    let config = dir.path().join("restgate.toml");
    std::fs::write(&config, format!("db = \"sqlite://{}\"\nmax_rows = 1\nprefix = \"/x\"\n", db.display())).expect("write config");
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config", &config.display().to_string(), "--prefix", "/y"]).env_remove("RESTGATE_DB");
    let server = Server::spawn(cmd);
    // The file's max_rows applies; the flag's prefix replaces the file's.
    assert_eq!(get(&server.addr, "/y/items?order=id").json(), serde_json::json!([{"id": 1, "name": "apple"}]));
    assert_eq!(get(&server.addr, "/x/items").status, 404);
    assert!(server.stop("TERM").success());

    // Neither the flag nor the file names a database: a usage error.
    std::fs::write(&config, "max_rows = 1\n").expect("write config");
    let out = run(&["serve", "--config", &config.display().to_string()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("error: no database to serve"), "{}", stderr_of(&out));
}

/// The first ```toml block after `heading` in a file of the workspace.
fn documented_toml(file: &str, heading: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let after = &text[text.find(heading).unwrap_or_else(|| panic!("{heading} not in {file}"))..];
    let block = after.split("```toml\n").nth(1).unwrap_or_else(|| panic!("no toml block after {heading} in {file}"));
    block.split("\n```").next().unwrap_or_default().to_owned()
}

#[test]
fn documented_configs_serve() {
    let dir = TempDir::new("documented");
    let db = tenant_db(&dir);
    let alice = format!(
        "Bearer {}",
        token(JWT_SECRET, serde_json::json!({"role": "member", "sub": "alice", "tenant": "acme", "aud": "notes-app"}))
    );
    for (file, heading, base) in [("README.md", "## Authentication and roles", ""), ("docs/security.md", "### A complete example", "/api")]
    {
        let config = dir.path().join("documented.toml");
        std::fs::write(&config, documented_toml(file, heading)).expect("write config");
        // `--db` replaces the file's `db`.
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--db", &format!("sqlite://{}", db.display()), "--config"])
            .arg(&config)
            .env("RESTGATE_JWT_SECRET", JWT_SECRET)
            .env_remove("RESTGATE_DB");
        let server = Server::spawn_serving(cmd, "serving 3 tables and views from ", "(3 tables, 0 views)");
        let addr = server.addr.as_str();
        assert_eq!(get(addr, &format!("{base}/tenants?select=id&order=id")).json(), serde_json::json!([{"id": "acme"}, {"id": "globex"}]));
        assert_eq!(get(addr, &format!("{base}/notes")).status, 404, "{file}");
        let res = request(addr, "GET", &format!("{base}/notes?select=id&order=id"), &[("Authorization", &alice)], None);
        assert_eq!(res.json(), serde_json::json!([{"id": 1}, {"id": 2}]), "{file}");
        let res =
            request(addr, "POST", &format!("{base}/tenants"), &[("Authorization", &alice)], Some(r#"{"id": "initech", "name": "I"}"#));
        assert_eq!(res.status, 403, "{file}");
        assert!(server.stop("TERM").success());
    }
}
