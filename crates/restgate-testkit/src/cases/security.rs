//! Authentication and authorization over HTTP: API keys and JWTs through
//! `RestGateBuilder::authenticate`, and a `Policy` (roles × resources × verbs
//! × columns, row filters, checks and presets from claims) through
//! `RestGateBuilder::policy`.
//!
//! The fixture's `tenants`, `notes` and `comments` hold two tenants, Acme (1:
//! alice, bob) and Globex (2: carol, dave). Comment 2 (Globex) is on note 1
//! (Acme) and comment 4 (Acme) on note 4 (Globex), so an embed only stays
//! inside a tenant when the embedded table's own row filter applies.
//!
//! Roles of [`policy`]:
//!
//! | role | notes | comments | tenants |
//! |---|---|---|---|
//! | `admin` (API key) | everything | everything | everything |
//! | `web_anon` (no credentials) | read `id, title` of public notes | — | — |
//! | `viewer` (API key) | read `id, tenant_id, title, public` of public notes | — | read |
//! | `member` (JWT: `tenant`, `sub`) | read all but `secret` in its tenant; create (check: its tenant; `owner_id` preset); update `id, tenant_id, title, body` in its tenant (check: its tenant); delete its own | read in its tenant; create (`tenant_id`, `author` preset) | read its own |
//! | `inbox` (JWT) | create only (`tenant_id`, `owner_id` preset) | — | — |
//! | `moderator` (JWT) | read public notes; update and delete in its tenant; create (check: its tenant) | — | — |
//! | `auditor` (JWT) | read `id, title, body` (not the key to tenants) | read `id, body` (not the key to notes) | read |
//!
//! and `critic` (JWT) reads `films` and `actors`, and of the junction `roles`
//! only Tajomaru's row.

use http::Method;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use restgate_core::auth::{ApiKeys, Authenticators, Jwt};
use restgate_core::{Policy, RestGateBuilder, RowFilter, Rule, Verb};
use serde_json::{json, Value};

use super::ids;
use crate::{RequestBuilder, TestGate, TestResponse};

/// The HS256 secret test tokens are signed with (≥ 32 bytes).
pub const JWT_SECRET: &str = "restgate-conformance-suite-hs256-secret-0123456789";
/// The audience every accepted token must name.
pub const AUDIENCE: &str = "restgate-conformance";
/// The issuer every accepted token must name.
pub const ISSUER: &str = "https://auth.restgate.test";
/// The cookie a token may also come in.
pub const COOKIE: &str = "rg_session";
/// The API key of the `admin` role.
pub const ADMIN_KEY: &str = "rg_test_admin_6f0d2c8e41a7";
/// The API key of the `viewer` role (revoked by [`configure_revoked`]).
pub const VIEWER_KEY: &str = "rg_test_viewer_1b9a77c3d0e2";

/// The columns of `notes` a member reads: all but `secret`.
pub const MEMBER_NOTE_COLUMNS: [&str; 6] = ["id", "tenant_id", "owner_id", "title", "body", "public"];

/// The policy of the security cases (see the module documentation).
pub fn policy() -> Policy {
    let f = |s: &str| RowFilter::parse(s).unwrap_or_else(|e| panic!("{e}"));
    let same_tenant = "tenant_id=eq.{claims.tenant}";
    Policy::new()
        .grant("admin", "*", Verb::ALL, Rule::new())
        .grant("web_anon", "notes", [Verb::Read], Rule::new().columns(["id", "title"]).filter(f("public=is.true")))
        .grant("viewer", "notes", [Verb::Read], Rule::new().columns(["id", "tenant_id", "title", "public"]).filter(f("public=is.true")))
        .grant("viewer", "tenants", [Verb::Read], Rule::new())
        .grant("member", "notes", [Verb::Read], Rule::new().columns(MEMBER_NOTE_COLUMNS).filter(f(same_tenant)))
        .grant(
            "member",
            "notes",
            [Verb::Create],
            Rule::new().columns(["id", "tenant_id", "owner_id", "title", "body"]).check(f(same_tenant)).set("owner_id", "{claims.sub}"),
        )
        .grant(
            "member",
            "notes",
            [Verb::Update],
            Rule::new().columns(["id", "tenant_id", "title", "body"]).filter(f(same_tenant)).check(f(same_tenant)),
        )
        .grant("member", "notes", [Verb::Delete], Rule::new().filter(f("tenant_id=eq.{claims.tenant}&owner_id=eq.{claims.sub}")))
        .grant("member", "comments", [Verb::Read], Rule::new().filter(f(same_tenant)))
        .grant("member", "comments", [Verb::Create], Rule::new().set("tenant_id", "{claims.tenant}").set("author", "{claims.sub}"))
        .grant("member", "tenants", [Verb::Read], Rule::new().filter(f("id=eq.{claims.tenant}")))
        .grant("inbox", "notes", [Verb::Create], Rule::new().set("tenant_id", "{claims.tenant}").set("owner_id", "{claims.sub}"))
        .grant("moderator", "notes", [Verb::Read], Rule::new().columns(MEMBER_NOTE_COLUMNS).filter(f("public=is.true")))
        .grant("moderator", "notes", [Verb::Update, Verb::Delete], Rule::new().filter(f(same_tenant)))
        .grant("moderator", "notes", [Verb::Create], Rule::new().check(f(same_tenant)))
        .grant("auditor", "notes", [Verb::Read], Rule::new().columns(["id", "title", "body"]))
        .grant("auditor", "comments", [Verb::Read], Rule::new().columns(["id", "body"]))
        .grant("auditor", "tenants", [Verb::Read], Rule::new())
        .grant("critic", "films", [Verb::Read], Rule::new())
        .grant("critic", "actors", [Verb::Read], Rule::new())
        .grant("critic", "roles", [Verb::Read], Rule::new().filter(f("character=eq.Tajomaru")))
}

fn jwt() -> Jwt {
    Jwt::hs256(JWT_SECRET).audience(AUDIENCE).issuer(ISSUER).cookie(COOKIE).build().expect("the test JWT configuration")
}

fn api_keys(with_viewer: bool) -> ApiKeys {
    let mut keys = ApiKeys::builder().key(ADMIN_KEY, "admin", "conformance admin");
    if with_viewer {
        keys = keys.key(VIEWER_KEY, "viewer", "dashboard");
    }
    keys.build().expect("the test API keys")
}

/// JWTs and API keys, with `web_anon` for requests without credentials when `anonymous`.
pub fn authenticators(anonymous: bool) -> Authenticators {
    Authenticators::new().with(jwt()).with(api_keys(true)).anonymous_role(anonymous.then_some("web_anon"))
}

/// The configuration of the security cases: [`authenticators`] with the
/// anonymous role, and [`policy`].
pub fn configure(b: RestGateBuilder) -> RestGateBuilder {
    b.authenticate(authenticators(true)).policy(policy())
}

/// [`configure`] without an anonymous role.
pub fn configure_without_anonymous(b: RestGateBuilder) -> RestGateBuilder {
    b.authenticate(authenticators(false)).policy(policy())
}

/// [`configure`] after the viewer's key was revoked (removed from the configuration).
pub fn configure_revoked(b: RestGateBuilder) -> RestGateBuilder {
    b.authenticate(Authenticators::new().with(jwt()).with(api_keys(false)).anonymous_role(Some("web_anon"))).policy(policy())
}

/// [`policy`] behind a bare `Jwt` authenticator (no chain, so no anonymous role).
pub fn configure_bare_jwt(b: RestGateBuilder) -> RestGateBuilder {
    b.authenticate(jwt()).policy(policy())
}

// --- Tokens ---------------------------------------------------------------

fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

/// `claims` signed with HS256 and `secret`.
pub fn sign_with(secret: &str, claims: &Value) -> String {
    // Encoding needs a crypto provider; `Jwt::build` installs the same one.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign a test token")
}

/// `claims` signed with [`JWT_SECRET`].
pub fn sign(claims: &Value) -> String {
    sign_with(JWT_SECRET, claims)
}

/// Valid claims for `role` in `tenant` as `sub`, for ten minutes.
pub fn claims(role: &str, tenant: i64, sub: &str) -> Value {
    json!({"role": role, "tenant": tenant, "sub": sub, "aud": AUDIENCE, "iss": ISSUER, "iat": now(), "exp": now() + 600})
}

/// A valid member token.
pub fn member_token(tenant: i64, sub: &str) -> String {
    sign(&claims("member", tenant, sub))
}

/// Base64url without padding, as JWS segments are written.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A compact JWS from a header and claims as given, with `signature`.
fn forge(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()))
}

// --- Callers --------------------------------------------------------------

/// Who sends a request.
#[derive(Debug, Clone)]
pub enum Who {
    /// No credentials.
    Anonymous,
    /// An API key in the `apikey` header.
    Key(&'static str),
    /// A bearer token.
    Token(String),
}

impl Who {
    /// Adds the credentials to a request.
    pub fn on<'a>(&self, r: RequestBuilder<'a>) -> RequestBuilder<'a> {
        match self {
            Who::Anonymous => r,
            Who::Key(k) => r.api_key(k),
            Who::Token(t) => r.bearer(t),
        }
    }

    fn is_anonymous(&self) -> bool {
        matches!(self, Who::Anonymous)
    }
}

fn admin() -> Who {
    Who::Key(ADMIN_KEY)
}

fn viewer() -> Who {
    Who::Key(VIEWER_KEY)
}

/// Acme's alice.
fn alice() -> Who {
    Who::Token(member_token(1, "alice"))
}

/// Globex's carol.
fn carol() -> Who {
    Who::Token(member_token(2, "carol"))
}

fn inbox() -> Who {
    Who::Token(sign(&claims("inbox", 1, "mailer")))
}

fn role(name: &str) -> Who {
    Who::Token(sign(&claims(name, 1, name)))
}

fn req<'a>(t: &'a TestGate, who: &Who, method: Method, uri: &str) -> RequestBuilder<'a> {
    who.on(t.req(method, uri))
}

async fn get(t: &TestGate, who: &Who, uri: &str) -> TestResponse {
    req(t, who, Method::GET, uri).send().await
}

/// The rows of a GET, asserting 200.
async fn rows(t: &TestGate, who: &Who, uri: &str) -> Value {
    let r = get(t, who, uri).await;
    assert_eq!(r.status, 200, "GET {uri} as {who:?}: {}", r.text());
    r.json()
}

/// Every row of `table` as the admin sees it, to check what changed.
async fn snapshot(t: &TestGate, table: &str) -> Value {
    rows(t, &admin(), &format!("/{table}?order=id")).await
}

/// 401 for the anonymous role (with a challenge), 403 otherwise; 42501.
#[track_caller]
fn assert_denied(r: &TestResponse, who: &Who) -> Value {
    if who.is_anonymous() {
        let e = r.assert_error(401, "42501");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{e}");
        e
    } else {
        let e = r.assert_error(403, "42501");
        assert_eq!(r.header("www-authenticate"), None, "{e}");
        e
    }
}

/// A 401 refusal of the credentials: `code` and an RFC 6750 challenge.
#[track_caller]
fn assert_refused(r: &TestResponse, code: &str) -> Value {
    let e = r.assert_error(401, code);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    if code == "PGRST302" {
        assert_eq!(challenge, "Bearer", "{e}");
    } else {
        assert!(challenge.starts_with("Bearer error=\"invalid_token\""), "{challenge}; {e}");
    }
    e
}

/// The same request with `COL` in `template` (and in `body`) replaced by
/// `hidden` and by a column that does not exist: the answers must be the
/// same but for the name. Writes ask for their representation (and merge on
/// `on_conflict`).
async fn assert_like_missing(t: &TestGate, who: &Who, method: Method, template: &str, body: Option<Value>, hidden: &str, code: &str) {
    const MISSING: &str = "no_such_column";
    let send = |name: &str| {
        let mut r = req(t, who, method.clone(), &template.replace("COL", name));
        if let Some(b) = &body {
            r = r.json(serde_json::from_str(&b.to_string().replace("COL", name)).expect("JSON"));
        }
        if method != Method::GET {
            let prefer = if template.contains("on_conflict") {
                "resolution=merge-duplicates, return=representation"
            } else {
                "return=representation"
            };
            r = r.header("prefer", prefer);
        }
        r.send()
    };
    let (h, m) = (send(hidden).await, send(MISSING).await);
    let what = format!("{method} {template} with {hidden}");
    assert_eq!(h.status, m.status, "{what}: {} vs {}", h.text(), m.text());
    h.assert_error(h.status.as_u16(), code);
    assert_eq!(h.text(), m.text().replace(MISSING, hidden), "{what}");
}

fn keys_of(v: &Value) -> Vec<&str> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect()
}

// --- RBAC: resources --------------------------------------------------------

case!(hidden_table_is_404_like_a_missing_one, config = configure, |t| {
    for who in [alice(), viewer(), Who::Anonymous, inbox()] {
        for method in [Method::GET, Method::POST, Method::PATCH, Method::PUT, Method::DELETE, Method::OPTIONS] {
            let send = |table: &str| {
                let uri = if method == Method::PUT { format!("/{table}?id=eq.1") } else { format!("/{table}") };
                let r = req(&t, &who, method.clone(), &uri);
                if matches!(method, Method::POST | Method::PATCH | Method::PUT) { r.json(json!({"id": 1})) } else { r }.send()
            };
            let (hidden, missing) = (send("people").await, send("no_such_table").await);
            hidden.assert_error(404, "PGRST205");
            assert_eq!(hidden.text(), missing.text().replace("no_such_table", "people"), "{method} as {who:?}");
            assert_eq!(hidden.headers.get("allow"), None);
        }
        let r = req(&t, &who, Method::HEAD, "/people").send().await;
        assert_eq!((r.status.as_u16(), r.header("proxy-status")), (404, Some("restgate; error=PGRST205")));
    }
    // The admin sees it.
    assert_eq!(rows(&t, &admin(), "/people?select=id&id=eq.1").await, json!([{"id": 1}]));
});

case!(hints_name_only_visible_tables, config = configure, |t| {
    let hint = |e: &Value| e["hint"].as_str().unwrap_or("").to_owned();
    // The admin is pointed at tables the others cannot see.
    let e = get(&t, &admin(), "/peeple").await.assert_error(404, "PGRST205");
    assert!(hint(&e).contains("people"), "{e}");
    let e = get(&t, &admin(), "/coments").await.assert_error(404, "PGRST205");
    assert!(hint(&e).contains("comments"), "{e}");
    for who in [alice(), viewer(), Who::Anonymous] {
        let e = get(&t, &who, "/peeple").await.assert_error(404, "PGRST205");
        assert!(!hint(&e).contains("people"), "{who:?}: {e}");
    }
    // Members see comments, the viewer does not.
    let e = get(&t, &alice(), "/coments").await.assert_error(404, "PGRST205");
    assert!(hint(&e).contains("comments"), "{e}");
    let e = get(&t, &viewer(), "/coments").await.assert_error(404, "PGRST205");
    assert!(!hint(&e).contains("comments"), "{e}");
    // The same for relationships.
    let e = get(&t, &admin(), "/notes?select=id,coments(id)").await.assert_error(400, "PGRST200");
    assert!(hint(&e).contains("comments"), "{e}");
    let e = get(&t, &viewer(), "/notes?select=id,coments(id)").await.assert_error(400, "PGRST200");
    assert!(!hint(&e).contains("comments"), "{e}");
});

case!(hidden_table_in_an_embed_is_like_a_missing_relationship, config = configure, |t| {
    for template in ["/notes?select=id,REL(id)", "/notes?select=id,REL!inner(id)", "/notes?select=id,REL(*)&REL=is.null"] {
        let hidden = get(&t, &viewer(), &template.replace("REL", "comments")).await;
        let missing = get(&t, &viewer(), &template.replace("REL", "no_such_rel")).await;
        hidden.assert_error(400, "PGRST200");
        assert_eq!(hidden.text(), missing.text().replace("no_such_rel", "comments"), "{template}");
    }
    // Visible tables embed each other.
    let r = get(&t, &viewer(), "/notes?select=id,tenants(name)&order=id").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!([{"id": 1, "tenants": {"name": "Acme"}}, {"id": 4, "tenants": {"name": "Globex"}}]));
    // A member reads notes and comments.
    assert_eq!(rows(&t, &alice(), "/notes?select=id,comments(id)&id=eq.1").await, json!([{"id": 1, "comments": [{"id": 1}]}]));
});

// --- RBAC: verbs -------------------------------------------------------------

/// One request of each verb on `table`, for a caller whose new rows get `id`.
fn calls(table: &str, id: i64) -> Vec<(Method, String, Option<Value>)> {
    let row = |id: i64| match table {
        "notes" => json!({"id": id, "tenant_id": 1, "title": "new"}),
        "comments" => json!({"id": id, "note_id": 1, "tenant_id": 1, "author": "x", "body": "new"}),
        _ => json!({"id": id, "name": "new"}),
    };
    let change = match table {
        "notes" => json!({"title": "renamed"}),
        "comments" => json!({"body": "edited"}),
        _ => json!({"name": "renamed"}),
    };
    vec![
        (Method::GET, format!("/{table}?select=id"), None),
        (Method::HEAD, format!("/{table}"), None),
        (Method::POST, format!("/{table}"), Some(row(id))),
        (Method::PUT, format!("/{table}?id=eq.{}", id + 1), Some(row(id + 1))),
        (Method::PATCH, format!("/{table}?id=eq.1"), Some(change)),
        // Note 2 is alice's, without comments; the others do not exist.
        (Method::DELETE, format!("/{table}?id=eq.{}", if table == "notes" { 2 } else { 999 }), None),
    ]
}

case!(verbs_are_allowed_or_denied_by_role, config = configure, |t| {
    const ALL: &str = "GET HEAD POST PUT PATCH DELETE";
    let matrix: [(&str, Who, &str, &str); 13] = [
        ("anonymous", Who::Anonymous, "notes", "GET HEAD"),
        ("anonymous", Who::Anonymous, "comments", "hidden"),
        ("anonymous", Who::Anonymous, "tenants", "hidden"),
        ("viewer", viewer(), "notes", "GET HEAD"),
        ("viewer", viewer(), "comments", "hidden"),
        ("viewer", viewer(), "tenants", "GET HEAD"),
        ("member", alice(), "notes", ALL),
        ("member", alice(), "comments", "GET HEAD POST"),
        ("member", alice(), "tenants", "GET HEAD"),
        ("inbox", inbox(), "notes", "POST"),
        ("inbox", inbox(), "comments", "hidden"),
        ("admin", admin(), "notes", ALL),
        ("admin", admin(), "comments", ALL),
    ];
    for (n, (role, who, table, allowed)) in matrix.into_iter().enumerate() {
        let id = 100 + 10 * i64::try_from(n).unwrap_or(0);
        for (method, uri, body) in calls(table, id) {
            let what = format!("{role}: {method} {uri}");
            let before = snapshot(&t, table).await;
            let mut r = req(&t, &who, method.clone(), &uri);
            if let Some(b) = body {
                r = r.json(b);
            }
            let r = r.send().await;
            if allowed == "hidden" {
                assert_eq!(r.status, 404, "{what}: {}", r.text());
            } else if allowed.split(' ').any(|m| m == method.as_str()) {
                assert!(r.status.is_success(), "{what}: {} {}", r.status, r.text());
            } else if method == Method::HEAD {
                let status = if who.is_anonymous() { 401 } else { 403 };
                assert_eq!((r.status.as_u16(), r.header("proxy-status")), (status, Some("restgate; error=42501")), "{what}");
            } else {
                let e = assert_denied(&r, &who);
                assert!(e["message"].as_str().unwrap_or("").contains(table), "{what}: {e}");
            }
            if !r.status.is_success() {
                assert_eq!(snapshot(&t, table).await, before, "{what} changed the table");
            }
        }
    }
    // The allowed writes happened, with the presets of each caller.
    let notes = rows(&t, &admin(), "/notes?select=id,tenant_id,owner_id&id=gte.100&order=id").await;
    assert_eq!(
        notes,
        json!([
            {"id": 160, "tenant_id": 1, "owner_id": "alice"}, {"id": 161, "tenant_id": 1, "owner_id": "alice"},
            {"id": 190, "tenant_id": 1, "owner_id": "mailer"},
            {"id": 210, "tenant_id": 1, "owner_id": "nobody"}, {"id": 211, "tenant_id": 1, "owner_id": "nobody"},
        ])
    );
});

case!(reading_back_a_write_needs_the_read_verb, config = configure, |t| {
    let before = snapshot(&t, "notes").await;
    let body = json!({"id": 50, "title": "dropped"});
    let r = req(&t, &inbox(), Method::POST, "/notes").json(body.clone()).header("prefer", "return=representation").send().await;
    let e = assert_denied(&r, &inbox());
    assert!(e["message"].as_str().unwrap_or("").contains("notes"), "{e}");
    assert_eq!(snapshot(&t, "notes").await, before);
    // Without a representation it is accepted.
    let r = req(&t, &inbox(), Method::POST, "/notes").json(body).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.body.is_empty());
    assert_eq!(rows(&t, &admin(), "/notes?select=id,owner_id&id=eq.50").await, json!([{"id": 50, "owner_id": "mailer"}]));
});

case!(options_allow_lists_only_allowed_verbs, config = configure, |t| {
    let allow = |who: Who, table: &'static str| {
        let t = &t;
        async move {
            let r = req(t, &who, Method::OPTIONS, &format!("/{table}")).send().await;
            assert_eq!(r.status, 200, "{who:?} {table}: {}", r.text());
            r.header("allow").unwrap_or_default().to_owned()
        }
    };
    const ALL: &str = "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE";
    assert_eq!(allow(admin(), "notes").await, ALL);
    assert_eq!(allow(alice(), "notes").await, ALL);
    assert_eq!(allow(alice(), "comments").await, "OPTIONS,GET,HEAD,POST");
    assert_eq!(allow(alice(), "tenants").await, "OPTIONS,GET,HEAD");
    assert_eq!(allow(viewer(), "notes").await, "OPTIONS,GET,HEAD");
    assert_eq!(allow(Who::Anonymous, "notes").await, "OPTIONS,GET,HEAD");
    assert_eq!(allow(inbox(), "notes").await, "OPTIONS,POST");
    req(&t, &viewer(), Method::OPTIONS, "/comments").send().await.assert_error(404, "PGRST205");
    req(&t, &alice(), Method::OPTIONS, "/people").send().await.assert_error(404, "PGRST205");
});

case!(openapi_lists_only_what_the_caller_may_use, config = configure, |t| {
    let doc = |who: Who| {
        let t = &t;
        async move {
            let r = get(t, &who, "/").await;
            assert_eq!(r.status, 200, "{who:?}: {}", r.text());
            r.json()
        }
    };
    let paths = |d: &Value| -> Vec<String> {
        let mut p: Vec<String> = d["paths"].as_object().expect("paths").keys().cloned().collect();
        p.sort();
        p
    };
    let ops = |d: &Value, path: &str| -> Vec<String> {
        let mut o: Vec<String> = d["paths"][path].as_object().expect("operations").keys().cloned().collect();
        o.sort();
        o
    };
    let props = |d: &Value, table: &str| -> Vec<String> {
        d["components"]["schemas"][table]["properties"].as_object().expect("properties").keys().cloned().collect()
    };

    let d = doc(alice()).await;
    assert_eq!(paths(&d), ["/comments", "/notes", "/tenants"]);
    assert_eq!(ops(&d, "/notes"), ["delete", "get", "patch", "post"]);
    assert_eq!(ops(&d, "/comments"), ["get", "post"]);
    assert_eq!(ops(&d, "/tenants"), ["get"]);
    assert_eq!(props(&d, "notes"), MEMBER_NOTE_COLUMNS);
    assert_eq!(d["components"]["schemas"].as_object().map(|s| s.len()), Some(3));
    let text = d.to_string();
    for absent in ["secret", "people", "films"] {
        assert!(!text.contains(absent), "{absent} in the member's document");
    }

    let d = doc(viewer()).await;
    assert_eq!(paths(&d), ["/notes", "/tenants"]);
    assert_eq!(ops(&d, "/notes"), ["get"]);
    assert_eq!(props(&d, "notes"), ["id", "tenant_id", "title", "public"]);

    let d = doc(Who::Anonymous).await;
    assert_eq!(paths(&d), ["/notes"]);
    assert_eq!(ops(&d, "/notes"), ["get"]);
    assert_eq!(props(&d, "notes"), ["id", "title"]);

    let d = doc(inbox()).await;
    assert_eq!(paths(&d), ["/notes"]);
    assert_eq!(ops(&d, "/notes"), ["post"]);

    // A role the policy does not know sees an empty API.
    let d = doc(Who::Token(sign(&claims("stranger", 1, "eve")))).await;
    assert_eq!(paths(&d), Vec::<String>::new());

    let d = doc(admin()).await;
    assert!(props(&d, "notes").iter().any(|c| c == "secret"));
    assert!(paths(&d).iter().any(|p| p == "/people"));
});

case!(embeds_through_a_hidden_column_do_not_exist, config = configure, |t| {
    // The auditor cannot read notes.tenant_id nor comments.note_id: joining on
    // them would tell their values.
    let who = role("auditor");
    let templates = [
        "/notes?select=id,REL(name)",
        "/notes?select=id,REL!inner(name)",
        "/notes?select=id,...REL(name)",
        "/notes?select=id,REL(name)&order=REL(name)",
        "/notes?select=id,REL(*)&REL=not.is.null",
    ];
    for template in templates {
        let hidden = get(&t, &who, &template.replace("REL", "tenants")).await;
        let missing = get(&t, &who, &template.replace("REL", "no_such_rel")).await;
        hidden.assert_error(400, "PGRST200");
        assert_eq!(hidden.text(), missing.text().replace("no_such_rel", "tenants"), "{template}");
    }
    for (uri, rel) in
        [("/tenants?select=id,REL(id)", "notes"), ("/notes?select=id,REL(body)", "comments"), ("/comments?select=id,REL(id)", "notes")]
    {
        let hidden = get(&t, &who, &uri.replace("REL", rel)).await;
        let missing = get(&t, &who, &uri.replace("REL", "no_such_rel")).await;
        hidden.assert_error(400, "PGRST200");
        assert_eq!(hidden.text(), missing.text().replace("no_such_rel", rel), "{uri} {rel}");
    }
    // The tables themselves are readable, and the admin embeds them.
    assert_eq!(ids(&rows(&t, &who, "/notes?select=id,title&order=id").await), [1, 2, 3, 4, 5, 6]);
    assert_eq!(ids(&rows(&t, &who, "/tenants?order=id").await), [1, 2]);
    assert_eq!(rows(&t, &admin(), "/notes?select=id,tenants(name)&id=eq.4").await, json!([{"id": 4, "tenants": {"name": "Globex"}}]));
});

case!(many_to_many_through_a_filtered_junction_does_not_exist, config = configure, |t| {
    // The critic sees one row of the junction `roles`: going through it
    // would show the actors of the rows it does not see.
    let who = role("critic");
    for (uri, rel) in [("/films?select=title,REL(last_name)&id=eq.1", "actors"), ("/actors?select=last_name,REL(title)&id=eq.2", "films")] {
        let hidden = get(&t, &who, &uri.replace("REL", rel)).await;
        let missing = get(&t, &who, &uri.replace("REL", "no_such_rel")).await;
        hidden.assert_error(400, "PGRST200");
        assert_eq!(hidden.text(), missing.text().replace("no_such_rel", rel), "{uri}");
    }
    // Through the junction itself, its row filter applies.
    assert_eq!(
        rows(&t, &who, "/films?select=title,roles(character,actors(last_name))&id=eq.1").await,
        json!([{"title": "Rashomon", "roles": [{"character": "Tajomaru", "actors": {"last_name": "Mifune"}}]}])
    );
    assert_eq!(ids(&rows(&t, &admin(), "/films?select=id,actors(id)&id=eq.1").await), [1]);
    assert_eq!(rows(&t, &admin(), "/films?select=actors(id)&id=eq.1&actors.order=id").await, json!([{"actors": [{"id": 1}, {"id": 2}]}]));
});

// --- RBAC: columns -----------------------------------------------------------

case!(hidden_column_is_like_a_missing_one_everywhere, config = configure, |t| {
    let who = alice();
    let reads = [
        "/notes?select=COL",
        "/notes?select=id,COL",
        "/notes?select=*,COL",
        "/notes?select=alias:COL",
        "/notes?select=COL::text",
        "/notes?select=COL->>k",
        "/notes?COL=eq.acme-secret-1",
        "/notes?COL=is.null",
        "/notes?COL=like.*secret*",
        "/notes?COL=in.(a,b)",
        "/notes?COL->>k=eq.1",
        "/notes?COL=not.eq.x",
        "/notes?or=(id.eq.1,COL.eq.x)",
        "/notes?and=(id.eq.1,or(id.eq.2,COL.not.is.null))",
        "/notes?order=COL",
        "/notes?order=id,COL.desc.nullsfirst",
        "/comments?select=id,notes(COL)",
        "/comments?select=id,notes(*,COL)",
        "/comments?select=id,notes(id)&notes.COL=eq.x",
        "/comments?select=id,notes!inner(id)&notes.or=(COL.eq.x,id.eq.1)",
        "/comments?select=id,notes(id)&order=notes(COL)",
        "/comments?select=id,notes(id)&notes.order=COL",
        "/tenants?select=id,notes(COL)",
        "/tenants?select=id,...notes(COL)",
    ];
    for template in reads {
        assert_like_missing(&t, &who, Method::GET, template, None, "secret", "42703").await;
    }
    // Writes: filters, returned columns, conflict targets.
    let note = json!({"id": 60, "tenant_id": 1, "title": "n"});
    assert_like_missing(&t, &who, Method::PATCH, "/notes?COL=eq.x", Some(json!({"title": "x"})), "secret", "42703").await;
    assert_like_missing(&t, &who, Method::DELETE, "/notes?COL=is.null", None, "secret", "42703").await;
    assert_like_missing(&t, &who, Method::POST, "/notes?select=id,COL", Some(note.clone()), "secret", "42703").await;
    assert_like_missing(&t, &who, Method::PATCH, "/notes?id=eq.1&select=COL", Some(json!({"title": "x"})), "secret", "42703").await;
    assert_like_missing(&t, &who, Method::POST, "/notes?on_conflict=COL", Some(note.clone()), "secret", "42703").await;
    // Payload keys and `columns=` are PGRST204, as for unknown columns.
    let with_secret = json!({"id": 61, "tenant_id": 1, "title": "n", "COL": "x"});
    assert_like_missing(&t, &who, Method::POST, "/notes", Some(with_secret), "secret", "PGRST204").await;
    assert_like_missing(&t, &who, Method::POST, "/notes?columns=id,title,COL", Some(note), "secret", "PGRST204").await;
    assert_like_missing(&t, &who, Method::PATCH, "/notes?id=eq.1", Some(json!({"COL": "x"})), "secret", "PGRST204").await;
    // The anonymous role does not see tenant_id either.
    assert_like_missing(&t, &Who::Anonymous, Method::GET, "/notes?COL=eq.2", None, "tenant_id", "42703").await;
    assert_like_missing(&t, &Who::Anonymous, Method::GET, "/notes?order=COL", None, "tenant_id", "42703").await;
    // Nothing was written, and the secret never came back.
    assert_eq!(snapshot(&t, "notes").await.as_array().map(Vec::len), Some(6));
    assert_eq!(rows(&t, &admin(), "/notes?select=title&id=eq.1").await, json!([{"title": "acme roadmap"}]));
});

case!(star_expands_to_readable_columns_only, config = configure, |t| {
    let first = |v: Value| v.as_array().and_then(|a| a.first().cloned()).unwrap_or_else(|| panic!("no rows: {v}"));
    let row = first(rows(&t, &alice(), "/notes?id=eq.1").await);
    assert_eq!(keys_of(&row), MEMBER_NOTE_COLUMNS);
    let row = first(rows(&t, &alice(), "/notes?select=*&id=eq.1").await);
    assert_eq!(keys_of(&row), MEMBER_NOTE_COLUMNS);
    assert_eq!(
        rows(&t, &Who::Anonymous, "/notes?order=id").await,
        json!([{"id": 1, "title": "acme roadmap"}, {"id": 4, "title": "globex roadmap"}])
    );
    let row = first(rows(&t, &viewer(), "/notes?id=eq.4").await);
    assert_eq!(keys_of(&row), ["id", "tenant_id", "title", "public"]);
    // In embeds.
    let row = first(rows(&t, &alice(), "/comments?select=id,notes(*)&id=eq.1").await);
    assert_eq!(keys_of(&row["notes"]), MEMBER_NOTE_COLUMNS);
    let row = first(rows(&t, &alice(), "/tenants?select=notes(*)").await);
    assert_eq!(keys_of(&row["notes"][0]), MEMBER_NOTE_COLUMNS);
    // In CSV headers.
    let r = req(&t, &alice(), Method::GET, "/notes?order=id").header("accept", "text/csv").send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text().lines().next(), Some("id,tenant_id,owner_id,title,body,public"));
    assert!(!r.text().contains("secret"), "{}", r.text());
    let r = req(&t, &Who::Anonymous, Method::GET, "/notes").header("accept", "text/csv").send().await;
    assert_eq!(r.text().lines().next(), Some("id,title"));
    // In the representation of writes.
    let prefer = "return=representation";
    let r = req(&t, &alice(), Method::POST, "/notes")
        .json(json!({"id": 70, "tenant_id": 1, "title": "t"}))
        .header("prefer", prefer)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(keys_of(&first(r.json())), MEMBER_NOTE_COLUMNS);
    let r = req(&t, &alice(), Method::PATCH, "/notes?id=eq.1").json(json!({"title": "t"})).header("prefer", prefer).send().await;
    assert_eq!(keys_of(&first(r.json())), MEMBER_NOTE_COLUMNS);
    let r = req(&t, &alice(), Method::DELETE, "/notes?id=eq.70").header("prefer", prefer).send().await;
    assert_eq!(keys_of(&first(r.json())), MEMBER_NOTE_COLUMNS);
});

case!(writing_a_column_that_is_not_writable_is_403, config = configure, |t| {
    let before = snapshot(&t, "notes").await;
    // `public` is readable but not writable; `owner_id` is writable on create only.
    let r = req(&t, &alice(), Method::POST, "/notes").json(json!({"id": 80, "tenant_id": 1, "title": "x", "public": true})).send().await;
    let e = assert_denied(&r, &alice());
    assert!(e["message"].as_str().unwrap_or("").contains("public"), "{e}");
    let r = req(&t, &alice(), Method::POST, "/notes?columns=id,tenant_id,title,public")
        .json(json!({"id": 80, "tenant_id": 1, "title": "x"}))
        .send()
        .await;
    assert_denied(&r, &alice());
    let e = assert_denied(&req(&t, &alice(), Method::PATCH, "/notes?id=eq.1").json(json!({"owner_id": "mallory"})).send().await, &alice());
    assert!(e["message"].as_str().unwrap_or("").contains("owner_id"), "{e}");
    let r = req(&t, &alice(), Method::PATCH, "/notes?id=eq.1").json(json!({"title": "ok", "public": false})).send().await;
    assert_denied(&r, &alice());
    // PUT and merging upserts write with both rules.
    let r = req(&t, &alice(), Method::PUT, "/notes?id=eq.1")
        .json(json!({"id": 1, "tenant_id": 1, "title": "x", "owner_id": "alice"}))
        .send()
        .await;
    assert_denied(&r, &alice());
    let r = req(&t, &alice(), Method::POST, "/notes")
        .json(json!({"id": 1, "tenant_id": 1, "title": "x", "owner_id": "alice"}))
        .header("prefer", "resolution=merge-duplicates")
        .send()
        .await;
    assert_denied(&r, &alice());
    assert_eq!(snapshot(&t, "notes").await, before);
});

// --- Tenant isolation --------------------------------------------------------

case!(tenants_see_only_their_rows_whatever_the_filter, config = configure, |t| {
    assert_eq!(ids(&rows(&t, &alice(), "/notes?order=id").await), [1, 2, 3]);
    assert_eq!(ids(&rows(&t, &carol(), "/notes?order=id").await), [4, 5, 6]);
    let none_for_alice = [
        "/notes?id=eq.4",
        "/notes?tenant_id=eq.2",
        "/notes?tenant_id=neq.1",
        "/notes?tenant_id=not.eq.1",
        "/notes?or=(tenant_id.eq.2,id.eq.5)",
        "/notes?or=(id.eq.4,and(id.gt.4,id.lt.7))",
        "/notes?id=in.(4,5,6)",
        "/notes?owner_id=eq.carol",
        "/notes?title=like.globex*",
        "/notes?tenant_id=isdistinct.1",
        "/notes?id=gt.3",
    ];
    for uri in none_for_alice {
        assert_eq!(rows(&t, &alice(), uri).await, json!([]), "{uri}");
    }
    assert_eq!(ids(&rows(&t, &alice(), "/notes?or=(tenant_id.eq.2,id.gt.0)&order=id").await), [1, 2, 3]);
    assert_eq!(ids(&rows(&t, &alice(), "/notes?not.and=(tenant_id.eq.1,id.gt.99)&order=id").await), [1, 2, 3]);
    assert_eq!(ids(&rows(&t, &alice(), "/notes?id=in.(1,4,5)").await), [1]);
    assert_eq!(ids(&rows(&t, &alice(), "/notes?public=is.true").await), [1]);
    assert_eq!(ids(&rows(&t, &carol(), "/notes?public=is.true").await), [4]);
    assert_eq!(ids(&rows(&t, &alice(), "/notes?order=tenant_id.desc,id.desc").await), [3, 2, 1]);
    assert_eq!(ids(&rows(&t, &carol(), "/notes?order=owner_id,id&limit=2").await), [4, 5]);
    // Public rows are shared only where the policy says so.
    assert_eq!(ids(&rows(&t, &Who::Anonymous, "/notes?order=id").await), [1, 4]);
    assert_eq!(rows(&t, &alice(), "/tenants").await, json!([{"id": 1, "name": "Acme"}]));
    assert_eq!(rows(&t, &carol(), "/comments?select=id&order=id").await, json!([{"id": 2}, {"id": 3}, {"id": 5}]));
});

case!(counts_and_ranges_count_only_own_rows, config = configure, |t| {
    let counted = |uri: &str, range: Option<&'static str>| {
        let mut r = req(&t, &alice(), Method::GET, uri).header("prefer", "count=exact");
        if let Some(range) = range {
            r = r.header("range", range);
        }
        r.send()
    };
    let r = counted("/notes?select=id", None).await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (200, Some("0-2/3")));
    let r = counted("/notes?select=id&limit=1", None).await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (206, Some("0-0/3")));
    let r = counted("/notes?select=id&or=(tenant_id.eq.2,id.gt.0)", None).await;
    assert_eq!(r.header("content-range"), Some("0-2/3"));
    let r = counted("/notes?select=id&id=gt.3", None).await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (200, Some("*/0")));
    let r = counted("/notes?select=id&order=id", Some("1-1")).await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (206, Some("1-1/3")));
    assert_eq!(ids(&r.json()), [2]);
    // Past the tenant's rows (not the table's) is 416.
    let r = counted("/notes?select=id", Some("4-5")).await;
    r.assert_error(416, "PGRST103");
    assert_eq!(r.header("content-range"), Some("*/3"));
    let r = counted("/notes?select=id&offset=4", None).await;
    r.assert_error(416, "PGRST103");
    assert_eq!(r.header("content-range"), Some("*/3"));
    let r = req(&t, &alice(), Method::HEAD, "/notes").header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (200, Some("0-2/3")));
    // Embedded filters and inner joins count within the tenant too.
    let r = counted("/comments?select=id,notes!inner(id)", None).await;
    assert_eq!(r.header("content-range"), Some("0-0/1"));
    let r = counted("/comments?select=id", None).await;
    assert_eq!(r.header("content-range"), Some("0-1/2"));
    // The anonymous role counts public notes.
    let r = req(&t, &Who::Anonymous, Method::GET, "/notes?limit=1").header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (206, Some("0-0/2")));
});

case!(embeds_apply_the_embedded_tables_row_filter, config = configure, |t| {
    assert_eq!(
        rows(&t, &alice(), "/notes?select=id,comments(id)&order=id").await,
        json!([{"id": 1, "comments": [{"id": 1}]}, {"id": 2, "comments": []}, {"id": 3, "comments": []}])
    );
    assert_eq!(rows(&t, &carol(), "/notes?select=id,comments(id)&id=eq.4").await, json!([{"id": 4, "comments": [{"id": 3}]}]));
    // Comment 4 is alice's, on a Globex note: the note is not hers to see.
    assert_eq!(
        rows(&t, &alice(), "/comments?select=id,notes(id,title)&order=id").await,
        json!([{"id": 1, "notes": {"id": 1, "title": "acme roadmap"}}, {"id": 4, "notes": null}])
    );
    assert_eq!(
        rows(&t, &alice(), "/comments?select=id,...notes(title)&order=id").await,
        json!([{"id": 1, "title": "acme roadmap"}, {"id": 4, "title": null}])
    );
    assert_eq!(ids(&rows(&t, &alice(), "/comments?select=id,notes!inner(id)").await), [1]);
    assert_eq!(ids(&rows(&t, &alice(), "/comments?select=id,notes(id)&notes=not.is.null").await), [1]);
    assert_eq!(ids(&rows(&t, &alice(), "/comments?select=id,notes(id)&notes=is.null").await), [4]);
    assert_eq!(ids(&rows(&t, &alice(), "/comments?select=id,notes(id)&or=(notes.is.null,id.eq.1)&order=id").await), [1, 4]);
    assert_eq!(ids(&rows(&t, &alice(), "/comments?select=id,notes!inner(id)&notes.tenant_id=eq.2").await), Vec::<i64>::new());
    assert_eq!(ids(&rows(&t, &alice(), "/comments?select=id,notes(title)&order=notes(title).desc.nullslast").await), [1, 4]);
    assert_eq!(
        rows(&t, &alice(), "/tenants?select=id,notes(id,comments(id))&notes.order=id").await,
        json!([{"id": 1, "notes": [{"id": 1, "comments": [{"id": 1}]}, {"id": 2, "comments": []}, {"id": 3, "comments": []}]}])
    );
    assert_eq!(rows(&t, &alice(), "/notes?select=id,tenants(name)&id=eq.1").await, json!([{"id": 1, "tenants": {"name": "Acme"}}]));
    // The anonymous role may read public notes but no comments.
    get(&t, &Who::Anonymous, "/notes?select=id,comments(id)").await.assert_error(400, "PGRST200");
});

case!(patch_and_delete_touch_only_own_rows, config = configure, |t| {
    let globex = rows(&t, &admin(), "/notes?tenant_id=eq.2&order=id").await;
    let counted = |method: Method, uri: &str, body: Option<Value>| {
        let mut r = req(&t, &alice(), method, uri).header("prefer", "count=exact");
        if let Some(b) = body {
            r = r.json(b);
        }
        r.send()
    };
    for uri in ["/notes?id=eq.4", "/notes?tenant_id=eq.2", "/notes?or=(id.eq.5,owner_id.eq.dave)", "/notes?id=gt.3"] {
        let r = counted(Method::PATCH, uri, Some(json!({"title": "pwned"}))).await;
        assert_eq!((r.status.as_u16(), r.header("content-range")), (204, Some("*/0")), "PATCH {uri}: {}", r.text());
        let r = counted(Method::DELETE, uri, None).await;
        assert_eq!((r.status.as_u16(), r.header("content-range")), (204, Some("*/0")), "DELETE {uri}: {}", r.text());
    }
    // Unfiltered, they touch the tenant's rows only.
    let r = req(&t, &alice(), Method::PATCH, "/notes?select=id,title&order=id")
        .json(json!({"body": "all mine"}))
        .header("prefer", "return=representation, count=exact")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(ids(&r.json()), [1, 2, 3]);
    assert_eq!(r.header("content-range"), Some("0-2/3"));
    // Members delete their own notes only: bob's note 3 stays.
    let r = req(&t, &alice(), Method::DELETE, "/notes?public=is.false&select=id")
        .header("prefer", "return=representation, count=exact")
        .send()
        .await;
    assert_eq!((r.status.as_u16(), r.json()), (200, json!([{"id": 2}])));
    assert_eq!(ids(&rows(&t, &admin(), "/notes?select=id&tenant_id=eq.1&order=id").await), [1, 3]);
    assert_eq!(rows(&t, &admin(), "/notes?tenant_id=eq.2&order=id").await, globex);
});

case!(upsert_onto_another_tenants_key_is_403, config = configure, |t| {
    let before = snapshot(&t, "notes").await;
    let upsert = |body: Value, prefer: &'static str| req(&t, &alice(), Method::POST, "/notes").json(body).header("prefer", prefer).send();
    let merge = "resolution=merge-duplicates, return=representation";
    let e = assert_denied(&upsert(json!({"id": 4, "tenant_id": 1, "title": "mine now"}), merge).await, &alice());
    assert!(!e.to_string().contains("globex"), "{e}");
    // With the other tenant's own tenant_id, and in a batch with a new row.
    assert_denied(&upsert(json!({"id": 4, "tenant_id": 2, "title": "mine now"}), merge).await, &alice());
    assert_denied(
        &upsert(json!([{"id": 90, "tenant_id": 1, "title": "new"}, {"id": 5, "tenant_id": 1, "title": "x"}]), merge).await,
        &alice(),
    );
    let r = req(&t, &alice(), Method::POST, "/notes?on_conflict=id")
        .json(json!({"id": 6, "tenant_id": 1, "title": "x"}))
        .header("prefer", "resolution=merge-duplicates")
        .send()
        .await;
    assert_denied(&r, &alice());
    assert_eq!(snapshot(&t, "notes").await, before);
    // Ignoring duplicates leaves the other tenant's row alone.
    let r = upsert(json!({"id": 4, "tenant_id": 1, "title": "mine now"}), "resolution=ignore-duplicates, return=representation").await;
    assert!(r.status.is_success(), "{}", r.text());
    assert_eq!(r.json(), json!([]));
    assert_eq!(snapshot(&t, "notes").await, before);
    // Onto its own row it merges.
    let r = upsert(json!({"id": 1, "tenant_id": 1, "title": "merged"}), merge).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()[0]["title"], "merged");
    assert_eq!(rows(&t, &admin(), "/notes?select=title&id=eq.4").await, json!([{"title": "globex roadmap"}]));
});

case!(upsert_cannot_rewrite_a_preset_the_update_rule_does_not_allow, config = configure, |t| {
    // Bob's note 3 is in alice's tenant: she may update its title, not take it over.
    let before = snapshot(&t, "notes").await;
    let r = req(&t, &alice(), Method::POST, "/notes")
        .json(json!({"id": 3, "tenant_id": 1, "title": "mine now"}))
        .header("prefer", "resolution=merge-duplicates")
        .send()
        .await;
    assert_denied(&r, &alice());
    let r = req(&t, &alice(), Method::PUT, "/notes?id=eq.3").json(json!({"id": 3, "tenant_id": 1, "title": "mine now"})).send().await;
    assert_denied(&r, &alice());
    assert_eq!(snapshot(&t, "notes").await, before);
    assert_eq!(rows(&t, &admin(), "/notes?select=owner_id&id=eq.3").await, json!([{"owner_id": "bob"}]));
    // On her own note the preset holds already: the merge goes through.
    let r = req(&t, &alice(), Method::PUT, "/notes?id=eq.2").json(json!({"id": 2, "tenant_id": 1, "title": "renamed"})).send().await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(rows(&t, &admin(), "/notes?select=owner_id,title&id=eq.2").await, json!([{"owner_id": "alice", "title": "renamed"}]));
});

case!(put_onto_another_tenants_key_is_403, config = configure, |t| {
    let before = snapshot(&t, "notes").await;
    let put = |id: i64, tenant: i64| {
        req(&t, &alice(), Method::PUT, &format!("/notes?id=eq.{id}"))
            .json(json!({"id": id, "tenant_id": tenant, "title": "put"}))
            .header("prefer", "return=representation")
            .send()
    };
    assert_denied(&put(4, 1).await, &alice());
    assert_denied(&put(4, 2).await, &alice());
    assert_eq!(snapshot(&t, "notes").await, before);
    // A new key is inserted in alice's tenant, and her own row is replaced.
    let r = put(91, 1).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!([{"id": 91, "tenant_id": 1, "owner_id": "alice", "title": "put", "body": null, "public": false}]));
    let r = put(1, 1).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A new key in another tenant fails the check.
    assert_denied(&put(92, 2).await, &alice());
    assert_eq!(rows(&t, &admin(), "/notes?id=eq.92").await, json!([]));
});

case!(location_points_at_a_row_only_its_tenant_sees, config = configure, |t| {
    let r = req(&t, &alice(), Method::POST, "/notes")
        .json(json!({"id": 93, "tenant_id": 1, "title": "new"}))
        .header("prefer", "return=headers-only")
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let location = r.header("location").expect("a Location header").to_owned();
    assert_eq!(location, "/notes?id=eq.93");
    assert_eq!(ids(&rows(&t, &alice(), &location).await), [93]);
    assert_eq!(rows(&t, &carol(), &location).await, json!([]));
    assert_eq!(rows(&t, &Who::Anonymous, &location).await, json!([]));
    let r = req(&t, &carol(), Method::POST, "/comments")
        .json(json!({"id": 20, "note_id": 4, "body": "hi"}))
        .header("prefer", "return=headers-only")
        .send()
        .await;
    assert_eq!((r.status.as_u16(), r.header("location")), (201, Some("/comments?id=eq.20")));
    assert_eq!(rows(&t, &alice(), "/comments?id=eq.20").await, json!([]));
});

case!(errors_do_not_reveal_other_tenants_data, config = configure, |t| {
    let mut bodies = Vec::new();
    let note4 = json!({"id": 4, "tenant_id": 1, "title": "x"});
    bodies.push(req(&t, &alice(), Method::POST, "/notes").json(note4.clone()).send().await);
    bodies.push(req(&t, &alice(), Method::POST, "/notes").json(note4.clone()).header("prefer", "resolution=merge-duplicates").send().await);
    bodies.push(req(&t, &alice(), Method::PUT, "/notes?id=eq.4").json(note4).send().await);
    bodies.push(req(&t, &alice(), Method::PATCH, "/notes?id=eq.1").json(json!({"tenant_id": 2})).send().await);
    bodies.push(get(&t, &alice(), "/notes?id=eq.4&select=secret").await);
    bodies.push(get(&t, &alice(), "/notes?id=eq.4").await);
    bodies.push(get(&t, &alice(), "/notes?select=id,comments(author)&id=eq.4").await);
    bodies.push(get(&t, &alice(), "/notes?tenant_id=eq.globex").await);
    bodies.push(req(&t, &alice(), Method::POST, "/comments").json(json!({"id": 2, "note_id": 1, "body": "x"})).send().await);
    for r in &bodies {
        let text = r.text().to_lowercase();
        for leak in ["globex roadmap", "globex-secret", "world domination", "carol", "dave", "globex on"] {
            assert!(!text.contains(leak), "{} reveals {leak:?}: {text}", r.status);
        }
    }
    assert!(bodies.iter().filter(|r| r.status.is_client_error()).count() >= 7);
});

case!(writes_return_only_rows_the_caller_may_read, config = configure, |t| {
    // The moderator updates and deletes Acme's notes but reads public notes
    // only: asking for the written rows narrows a write to readable rows (as
    // PostgreSQL does with RETURNING), or refuses it.
    let who = role("moderator");
    let repr = "return=representation, count=exact";
    let send = |method: Method, uri: &str, body: Option<Value>, prefer: &'static str| {
        let mut r = req(&t, &who, method, uri).header("prefer", prefer);
        if let Some(b) = body {
            r = r.json(b);
        }
        r.send()
    };
    let r = send(Method::PATCH, "/notes?select=id,body", Some(json!({"body": "moderated"})), repr).await;
    assert_eq!((r.status.as_u16(), r.json()), (200, json!([{"id": 1, "body": "moderated"}])));
    assert_eq!(r.header("content-range"), Some("0-0/1"));
    assert_eq!(rows(&t, &admin(), "/notes?select=body&id=in.(2,3)&order=id").await, json!([{"body": "wip"}, {"body": null}]));
    let r = send(Method::PATCH, "/notes?id=eq.4", Some(json!({"body": "moderated"})), repr).await;
    assert_eq!((r.status.as_u16(), r.json()), (200, json!([])));
    let r = send(Method::DELETE, "/notes?id=eq.2", None, repr).await;
    assert_eq!((r.status.as_u16(), r.json()), (200, json!([])));
    assert_eq!(ids(&rows(&t, &admin(), "/notes?select=id&id=eq.2").await), [2]);
    // Inserted and merged rows must be readable.
    let before = snapshot(&t, "notes").await;
    assert_denied(&send(Method::POST, "/notes", Some(json!({"id": 99, "tenant_id": 1, "title": "draft"})), repr).await, &who);
    let merge = "resolution=merge-duplicates, return=representation";
    assert_denied(&send(Method::POST, "/notes", Some(json!({"id": 3, "tenant_id": 1, "title": "x"})), merge).await, &who);
    assert_denied(&send(Method::PUT, "/notes?id=eq.3", Some(json!({"id": 3, "tenant_id": 1, "title": "x"})), repr).await, &who);
    assert_eq!(snapshot(&t, "notes").await, before);
    let r =
        send(Method::POST, "/notes?select=id,public", Some(json!({"id": 99, "tenant_id": 1, "title": "news", "public": true})), repr).await;
    assert_eq!((r.status.as_u16(), r.json()), (201, json!([{"id": 99, "public": true}])));
    // Without a representation the write rules alone decide.
    let r = send(Method::PATCH, "/notes", Some(json!({"body": "all"})), "count=exact").await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (204, Some("0-3/4")));
    let r = send(Method::DELETE, "/notes?id=eq.2", None, "count=exact").await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (204, Some("*/1")));
    let r = send(Method::POST, "/notes", Some(json!({"id": 98, "tenant_id": 1, "title": "draft"})), "return=minimal").await;
    assert_eq!(r.status, 201, "{}", r.text());
});

// --- Checks and presets ----------------------------------------------------------

case!(insert_check_refuses_rows_of_another_tenant, config = configure, |t| {
    let before = snapshot(&t, "notes").await;
    let post = |body: Value, prefer: &'static str| req(&t, &alice(), Method::POST, "/notes").json(body).header("prefer", prefer).send();
    let e = assert_denied(&post(json!({"id": 94, "tenant_id": 2, "title": "planted"}), "return=minimal").await, &alice());
    assert_eq!(e["message"], "new row violates row-level security policy for table \"notes\"");
    assert_denied(&post(json!({"id": 94, "tenant_id": 2, "title": "planted"}), "return=representation").await, &alice());
    assert_denied(&post(json!({"id": 94, "tenant_id": 2, "title": "planted"}), "return=headers-only").await, &alice());
    // One bad row refuses the whole batch.
    let batch = json!([{"id": 95, "tenant_id": 1, "title": "fine"}, {"id": 96, "tenant_id": 2, "title": "planted"}]);
    assert_denied(&post(batch, "return=minimal").await, &alice());
    // Without an id (a generated key) too.
    assert_denied(&post(json!({"tenant_id": 2, "title": "planted"}), "return=minimal").await, &alice());
    assert_eq!(snapshot(&t, "notes").await, before);
    let r = post(json!({"id": 95, "tenant_id": 1, "title": "fine"}), "return=minimal").await;
    assert_eq!(r.status, 201, "{}", r.text());
});

case!(update_check_refuses_moving_rows_to_another_tenant, config = configure, |t| {
    let before = snapshot(&t, "notes").await;
    let patch = |uri: &'static str, body: Value, prefer: &'static str| {
        req(&t, &alice(), Method::PATCH, uri).json(body).header("prefer", prefer).send()
    };
    let e = assert_denied(&patch("/notes?id=eq.1", json!({"tenant_id": 2}), "return=minimal").await, &alice());
    assert_eq!(e["message"], "new row violates row-level security policy for table \"notes\"");
    assert_denied(&patch("/notes?id=eq.1", json!({"tenant_id": 2}), "return=representation").await, &alice());
    assert_denied(&patch("/notes", json!({"tenant_id": 2, "title": "moved"}), "return=minimal").await, &alice());
    assert_denied(&patch("/notes?id=eq.2", json!({"title": "x", "tenant_id": 2}), "count=exact").await, &alice());
    assert_eq!(snapshot(&t, "notes").await, before);
    let r = patch("/notes?id=eq.1", json!({"tenant_id": 1, "title": "stays"}), "return=minimal").await;
    assert_eq!(r.status, 204, "{}", r.text());
});

case!(presets_override_what_the_client_sends, config = configure, |t| {
    let r = req(&t, &alice(), Method::POST, "/comments?select=id,tenant_id,author&order=id")
        .json(json!([
            {"id": 30, "note_id": 1, "tenant_id": 2, "author": "carol", "body": "forged"},
            {"id": 31, "note_id": 4, "tenant_id": 1, "author": "alice", "body": "honest"}
        ]))
        .header("prefer", "return=representation")
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), json!([{"id": 30, "tenant_id": 1, "author": "alice"}, {"id": 31, "tenant_id": 1, "author": "alice"}]));
    // Without the keys at all.
    let r = req(&t, &carol(), Method::POST, "/comments?select=tenant_id,author")
        .json(json!({"id": 32, "note_id": 4, "body": "b"}))
        .header("prefer", "return=representation")
        .send()
        .await;
    assert_eq!(r.json(), json!([{"tenant_id": 2, "author": "carol"}]));
    assert_eq!(ids(&rows(&t, &carol(), "/comments?id=gte.30").await), [32]);
    let r = req(&t, &alice(), Method::POST, "/notes?select=id,owner_id")
        .json(json!({"id": 97, "tenant_id": 1, "owner_id": "carol", "title": "x"}))
        .header("prefer", "return=representation")
        .send()
        .await;
    assert_eq!(r.json(), json!([{"id": 97, "owner_id": "alice"}]));
});

case!(missing_claims_match_no_row, config = configure, |t| {
    let mut c = claims("member", 1, "alice");
    c.as_object_mut().expect("claims").remove("tenant");
    let who = Who::Token(sign(&c));
    let before = snapshot(&t, "notes").await;
    assert_eq!(rows(&t, &who, "/notes").await, json!([]));
    assert_eq!(rows(&t, &who, "/tenants").await, json!([]));
    let r = req(&t, &who, Method::PATCH, "/notes").json(json!({"title": "x"})).header("prefer", "count=exact").send().await;
    assert_eq!((r.status.as_u16(), r.header("content-range")), (204, Some("*/0")));
    // A check with a missing claim refuses every row; a preset cannot be made.
    assert_denied(&req(&t, &who, Method::POST, "/notes").json(json!({"id": 98, "tenant_id": 1, "title": "x"})).send().await, &who);
    assert_denied(&req(&t, &who, Method::POST, "/comments").json(json!({"id": 40, "note_id": 1, "body": "x"})).send().await, &who);
    assert_eq!(snapshot(&t, "notes").await, before);
});

case!(claim_values_cannot_change_a_filters_structure, config = configure, |t| {
    let before = snapshot(&t, "notes").await;
    for sub in ["alice&owner_id=neq.x", "x,owner_id.neq.x", "x)", "*", "alice' OR '1'='1"] {
        let who = Who::Token(member_token(1, sub));
        let r = req(&t, &who, Method::DELETE, "/notes").header("prefer", "count=exact").send().await;
        assert_eq!((r.status.as_u16(), r.header("content-range")), (204, Some("*/0")), "sub {sub:?}: {}", r.text());
    }
    assert_eq!(snapshot(&t, "notes").await, before);
    // A tenant claim that is not a tenant id never reads another tenant.
    for tenant in [json!("1,2"), json!("2)"), json!("1 or 1=1"), json!([1, 2]), json!({"eq": 2}), json!(null)] {
        let mut c = claims("member", 1, "alice");
        c["tenant"] = tenant.clone();
        let r = get(&t, &Who::Token(sign(&c)), "/notes?select=tenant_id").await;
        assert!(r.status.is_client_error() || r.json() == json!([]), "tenant {tenant}: {} {}", r.status, r.text());
    }
});

// --- JWT ------------------------------------------------------------------

case!(expired_or_not_yet_valid_tokens_are_401_pgrst303, config = configure, |t| {
    let with = |patch: Value| {
        let mut c = claims("member", 1, "alice");
        for (k, v) in patch.as_object().expect("object") {
            c[k] = v.clone();
        }
        Who::Token(sign(&c))
    };
    let cases = [
        (json!({"exp": now() - 120}), "JWT expired"),
        (json!({"nbf": now() + 600}), "JWT not yet valid"),
        (json!({"aud": "someone-else"}), "JWT not in audience"),
        (json!({"iss": "https://evil.test"}), "JWT issuer is not trusted"),
    ];
    for (patch, message) in cases {
        let who = with(patch.clone());
        let e = assert_refused(&get(&t, &who, "/notes").await, "PGRST303");
        assert_eq!(e["message"], message, "{patch}");
        // Not downgraded to the anonymous role, whatever the verb.
        assert_refused(&req(&t, &who, Method::POST, "/notes").json(json!({"title": "x"})).send().await, "PGRST303");
        assert_refused(&get(&t, &who, "/").await, "PGRST303");
    }
    // Within the leeway it is still valid.
    assert_eq!(ids(&rows(&t, &with(json!({"exp": now() - 5})), "/notes?order=id").await), [1, 2, 3]);
});

case!(bad_tokens_are_401_pgrst301, config = configure, |t| {
    let good = claims("admin", 1, "mallory");
    let valid = member_token(1, "alice");
    let mut parts = valid.split('.');
    let (header, _, signature) = (parts.next().unwrap_or(""), parts.next(), parts.next().unwrap_or(""));
    let tampered = format!("{header}.{}.{signature}", b64url(good.to_string().as_bytes()));
    let tokens = [
        ("another key", sign_with("another-secret-that-is-at-least-32-bytes-long", &good)),
        ("tampered payload", tampered),
        ("alg none", forge(&json!({"alg": "none", "typ": "JWT"}), &good, "")),
        ("alg none, signed", forge(&json!({"alg": "none", "typ": "JWT"}), &good, signature)),
        ("RS256 header", forge(&json!({"alg": "RS256", "typ": "JWT"}), &good, signature)),
        ("malformed", "eyJhbGciOi.eyJyb2xlIjoiYWRtaW4ifQ.c2ln".to_owned()),
        ("not base64", "a.b.c".to_owned()),
        ("not a JWT at all", "definitely-not-a-token".to_owned()),
        ("empty", String::new()),
    ];
    for (what, token) in tokens {
        let r = t.req(Method::GET, "/notes").header("authorization", format!("Bearer {token}").trim_end()).send().await;
        assert_refused(&r, "PGRST301");
        assert!(!r.text().contains("acme"), "{what}: {}", r.text());
    }
    // A token the policy does not know the role of sees nothing.
    let stranger = Who::Token(sign(&claims("superuser", 1, "eve")));
    get(&t, &stranger, "/notes").await.assert_error(404, "PGRST205");
    // A verified token without a role runs as the anonymous role, with its claims.
    let mut c = claims("member", 1, "alice");
    c.as_object_mut().expect("claims").remove("role");
    assert_eq!(ids(&rows(&t, &Who::Token(sign(&c)), "/notes?order=id").await), [1, 4]);
});

case!(no_credentials_without_anonymous_role_is_401_pgrst302, config = configure_without_anonymous, |t| {
    for uri in ["/notes", "/", "/people", "/no_such_table"] {
        assert_refused(&t.get(uri).await, "PGRST302");
    }
    assert_refused(&t.post("/notes", json!({"title": "x"})).send().await, "PGRST302");
    // A token without a role is refused too; credentials still work.
    let mut c = claims("member", 1, "alice");
    c.as_object_mut().expect("claims").remove("role");
    assert_refused(&get(&t, &Who::Token(sign(&c)), "/notes").await, "PGRST302");
    assert_eq!(ids(&rows(&t, &alice(), "/notes?order=id").await), [1, 2, 3]);
});

case!(bare_jwt_authenticator_refuses_requests_without_a_role, config = configure_bare_jwt, |t| {
    assert_refused(&t.get("/notes").await, "PGRST302");
    let mut c = claims("member", 1, "alice");
    c.as_object_mut().expect("claims").remove("role");
    assert_refused(&get(&t, &Who::Token(sign(&c)), "/notes").await, "PGRST302");
    assert_eq!(ids(&rows(&t, &alice(), "/notes?order=id").await), [1, 2, 3]);
});

case!(token_in_a_cookie_is_accepted, config = configure, |t| {
    let r = t.req(Method::GET, "/notes?order=id").cookie(COOKIE, &member_token(2, "carol")).send().await;
    assert_eq!((r.status.as_u16(), ids(&r.json())), (200, vec![4, 5, 6]));
    let r =
        t.req(Method::GET, "/notes").header("cookie", &format!("theme=dark; {COOKIE}={}; lang=en", member_token(1, "alice"))).send().await;
    assert_eq!(ids(&r.json()).len(), 3);
    // A bad cookie is refused, not ignored.
    let expired = sign(&json!({"role": "member", "tenant": 1, "aud": AUDIENCE, "iss": ISSUER, "exp": now() - 120}));
    assert_refused(&t.req(Method::GET, "/notes").cookie(COOKIE, &expired).send().await, "PGRST303");
    assert_refused(&t.req(Method::GET, "/notes").cookie(COOKIE, "x.y.z").send().await, "PGRST301");
    // Another cookie's name is no credential; a bearer token takes precedence.
    assert_eq!(ids(&rows(&t, &Who::Anonymous, "/notes").await), [1, 4]);
    let r = t.req(Method::GET, "/notes?order=id").cookie("other", &member_token(2, "carol")).send().await;
    assert_eq!(ids(&r.json()), [1, 4]);
    let r = t.req(Method::GET, "/notes?order=id").cookie(COOKIE, &member_token(2, "carol")).bearer(&member_token(1, "alice")).send().await;
    assert_eq!(ids(&r.json()), [1, 2, 3]);
});

// --- API keys ----------------------------------------------------------------

case!(api_keys_valid_unknown_and_in_the_wrong_header, config = configure, |t| {
    assert_eq!(ids(&rows(&t, &viewer(), "/notes?order=id").await), [1, 4]);
    assert_eq!(ids(&rows(&t, &admin(), "/notes?select=id&order=id").await), [1, 2, 3, 4, 5, 6]);
    // As a bearer token.
    let r = t.req(Method::GET, "/notes?select=id&order=id").bearer(ADMIN_KEY).send().await;
    assert_eq!(ids(&r.json()), [1, 2, 3, 4, 5, 6]);
    // Unknown keys, in the header or as a bearer token.
    for r in [
        t.req(Method::GET, "/notes").api_key("rg_test_guessed_000000000000").send().await,
        t.req(Method::GET, "/notes").api_key(&ADMIN_KEY.to_uppercase()).send().await,
        t.req(Method::GET, "/notes").api_key(&ADMIN_KEY[..ADMIN_KEY.len() - 1]).send().await,
        t.req(Method::GET, "/notes").bearer("rg_test_guessed_000000000000").send().await,
    ] {
        let e = assert_refused(&r, "PGRST301");
        assert_eq!(e["message"], "Invalid API key");
    }
    // In a header the server does not read, it is no credential at all.
    let r = t.req(Method::GET, "/notes?order=id").header("x-api-key", ADMIN_KEY).send().await;
    assert_eq!(r.json(), json!([{"id": 1, "title": "acme roadmap"}, {"id": 4, "title": "globex roadmap"}]));
    let r = t.req(Method::GET, "/people").header("x-api-key", ADMIN_KEY).send().await;
    r.assert_error(404, "PGRST205");
    let r = t.req(Method::GET, "/notes").header("authorization", &format!("Basic {ADMIN_KEY}")).send().await;
    assert_eq!(ids(&r.json()), [1, 4]);
});

case!(revoked_api_key_is_401_like_an_unknown_one, config = configure_revoked, |t| {
    let revoked = t.req(Method::GET, "/notes").api_key(VIEWER_KEY).send().await;
    let e = assert_refused(&revoked, "PGRST301");
    assert_eq!(e["message"], "Invalid API key");
    let unknown = t.req(Method::GET, "/notes").api_key("rg_test_never_issued_0000").send().await;
    assert_eq!(
        (revoked.status, revoked.text(), revoked.header("www-authenticate")),
        (unknown.status, unknown.text(), unknown.header("www-authenticate"))
    );
    let r = t.req(Method::GET, "/notes").bearer(VIEWER_KEY).send().await;
    assert_refused(&r, "PGRST301");
    // The other keys still work.
    assert_eq!(ids(&rows(&t, &admin(), "/notes?select=id&id=eq.5").await), [5]);
});
