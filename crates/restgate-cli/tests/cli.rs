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
}

impl Server {
    /// Starts `restgate serve <args> --listen 127.0.0.1:0` and waits for its startup line.
    fn start(args: &[&str]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve").args(args).args(["--listen", "127.0.0.1:0"]).env_remove("RESTGATE_DB");
        Server::spawn(cmd)
    }

    /// Spawns `cmd` (a `restgate serve` serving [`seeded_db`]) and waits for its startup line.
    fn spawn(mut cmd: Command) -> Server {
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
        let mut server = Server { child, addr: String::new(), log };
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match server.log.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        server.addr = rest.split(['/', ',', ' ']).next().unwrap_or_default().to_owned();
                        assert!(server.addr.starts_with("127.0.0.1:"), "startup line: {line}");
                        assert!(
                            line.contains("serving 2 tables and views from ") && line.contains("(1 table, 1 view)"),
                            "startup line: {line}"
                        );
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
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(WAIT)).expect("read timeout");
    stream.set_write_timeout(Some(WAIT)).expect("write timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n").expect("send request");
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
    for flag in ["--db", "--listen", "--prefix", "--max-rows", "RESTGATE_DB"] {
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
