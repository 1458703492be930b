//! The auth layer end to end: requests through [`AuthLayer`] over a service
//! that echoes the [`Identity`] it receives as JSON.

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use tower::{Layer, ServiceExt};

use super::*;

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

impl Reply {
    /// The identity the inner service saw.
    fn identity(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "refused: {}", self.body);
        &self.body
    }

    fn role(&self) -> &str {
        self.identity()["role"].as_str().unwrap()
    }

    /// A 401 with `code`, PostgREST's body and a `WWW-Authenticate` challenge.
    fn refused(&self, code: &str) -> &str {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{}", self.body);
        assert_eq!(self.body["code"], code, "{}", self.body);
        let challenge = self.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        if code == "PGRST302" {
            assert_eq!(challenge, "Bearer");
        } else {
            let message = self.body["message"].as_str().unwrap();
            assert_eq!(challenge, format!("Bearer error=\"invalid_token\", error_description=\"{message}\""));
        }
        self.body["message"].as_str().unwrap()
    }
}

async fn call(auth: impl Authenticate, req: Request<Full<Bytes>>) -> Reply {
    let echo = tower::service_fn(|req: Request<Full<Bytes>>| async move {
        let identity = req.extensions().get::<Identity>().cloned();
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::from(serde_json::to_vec(&identity).unwrap())))
    });
    let res = AuthLayer::new(auth).layer(echo).oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Reply { status: parts.status, headers: parts.headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

fn request(headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut req = Request::get("/films");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(Full::default()).unwrap()
}

fn bearer(token: &str) -> Request<Full<Bytes>> {
    request(&[("authorization", &format!("Bearer {token}"))])
}

const KEY: &str = "rg_live_7d1f0c9a4b2e";
const OTHER_KEY: &str = "rg_live_0000aaaa1111";

fn api_keys() -> ApiKeys {
    ApiKeys::builder().key(KEY, "reporter", "nightly reports").key_hash(ApiKeys::hash(OTHER_KEY), "viewer", "dashboard").build().unwrap()
}

// --- API keys ---------------------------------------------------------------

#[tokio::test]
async fn api_key_in_header_gives_its_role_and_name() {
    let reply = call(api_keys(), request(&[("apikey", KEY)])).await;
    assert_eq!(
        reply.identity(),
        &json!({"role": "reporter", "claims": {"role": "reporter", "sub": "nightly reports"}, "name": "nightly reports", "anonymous": false})
    );
}

#[tokio::test]
async fn api_key_configured_by_hash_is_accepted() {
    assert_eq!(call(api_keys(), request(&[("apikey", OTHER_KEY)])).await.role(), "viewer");
}

#[tokio::test]
async fn api_key_as_bearer_is_accepted() {
    assert_eq!(call(api_keys(), bearer(KEY)).await.role(), "reporter");
}

#[tokio::test]
async fn unknown_api_key_is_401_pgrst301() {
    let reply = call(api_keys(), request(&[("apikey", "rg_live_guessed")])).await;
    assert_eq!(reply.refused("PGRST301"), "Invalid API key");
    let reply = call(api_keys(), bearer("rg_live_guessed")).await;
    reply.refused("PGRST301");
}

#[tokio::test]
async fn revoked_api_key_is_401_pgrst301() {
    // Revoking is removing the key from the configuration.
    let keys = ApiKeys::builder().key_hash(ApiKeys::hash(OTHER_KEY), "viewer", "dashboard").build().unwrap();
    call(keys, request(&[("apikey", KEY)])).await.refused("PGRST301");
}

#[tokio::test]
async fn api_key_in_another_header_is_no_credentials() {
    let chain = Authenticators::new().with(api_keys());
    call(chain.clone(), request(&[("x-api-key", KEY)])).await.refused("PGRST302");
    let reply = call(chain.anonymous_role(Some("anon")), request(&[("x-api-key", KEY)])).await;
    assert_eq!(reply.identity()["anonymous"], true);
}

#[tokio::test]
async fn api_key_header_name_is_configurable() {
    let keys = ApiKeys::builder().header("x-api-key").key(KEY, "reporter", "reports").build().unwrap();
    assert_eq!(call(keys, request(&[("x-api-key", KEY)])).await.role(), "reporter");
}

#[tokio::test]
async fn empty_api_key_header_is_refused() {
    call(api_keys(), request(&[("apikey", "")])).await.refused("PGRST301");
}

// --- the chain and the anonymous role ----------------------------------------

#[tokio::test]
async fn no_credentials_without_anonymous_role_is_401_pgrst302() {
    let reply = call(Authenticators::new().with(api_keys()), request(&[])).await;
    assert_eq!(reply.refused("PGRST302"), "Anonymous access is disabled");
    assert_eq!(reply.body["details"], Value::Null);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json; charset=utf-8");
}

#[tokio::test]
async fn no_credentials_with_anonymous_role_runs_as_it() {
    let reply = call(Authenticators::new().with(api_keys()).anonymous_role(Some("web_anon")), request(&[])).await;
    assert_eq!(reply.identity(), &json!({"role": "web_anon", "claims": {}, "name": null, "anonymous": true}));
}

#[tokio::test]
async fn bad_credentials_are_refused_even_with_anonymous_role() {
    let chain = Authenticators::new().with(api_keys()).anonymous_role(Some("web_anon"));
    call(chain, request(&[("apikey", "wrong")])).await.refused("PGRST301");
}

#[tokio::test]
async fn empty_bearer_is_401_pgrst301() {
    let chain = Authenticators::new().with(api_keys()).anonymous_role(Some("web_anon"));
    let reply = call(chain, request(&[("authorization", "Bearer ")])).await;
    assert_eq!(reply.refused("PGRST301"), "Empty JWT is sent in Authorization header");
}

#[tokio::test]
async fn jwt_with_only_api_keys_configured_is_401_pgrst301() {
    let chain = Authenticators::new().with(api_keys()).anonymous_role(Some("web_anon"));
    call(chain, bearer("eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJl")).await.refused("PGRST301");
}

#[tokio::test]
async fn layer_without_chain_refuses_requests_without_credentials() {
    call(api_keys(), request(&[])).await.refused("PGRST302");
}

#[tokio::test]
async fn head_refusal_has_no_body() {
    let req = Request::head("/films").body(Full::default()).unwrap();
    let reply = call(api_keys(), req).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, Value::Null);
}

/// A user's own scheme: a session cookie looked up in a store.
struct Sessions;

#[async_trait::async_trait]
impl Authenticate for Sessions {
    async fn authenticate(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
        let Some(cookie) = parts.headers.get(header::COOKIE).and_then(|v| v.to_str().ok()) else {
            return Ok(None);
        };
        match cookie.strip_prefix("sid=") {
            Some("s-1") => Ok(Some(Identity::new("editor").with_name("alice"))),
            Some("s-down") => Err(AuthError::internal("session store unreachable")),
            Some(_) => Err(AuthError::invalid("Session expired")),
            None => Ok(None),
        }
    }
}

#[tokio::test]
async fn custom_authenticator_plugs_into_the_chain() {
    let chain = Authenticators::new().with(api_keys()).with(Sessions).anonymous_role(Some("anon"));
    let reply = call(chain.clone(), request(&[("cookie", "sid=s-1")])).await;
    assert_eq!((reply.role(), &reply.identity()["name"]), ("editor", &json!("alice")));
    assert_eq!(call(chain.clone(), request(&[("cookie", "sid=old")])).await.refused("PGRST301"), "Session expired");
    assert_eq!(call(chain.clone(), request(&[("apikey", KEY), ("cookie", "sid=s-1")])).await.role(), "reporter");
    let reply = call(chain, request(&[("cookie", "sid=s-down")])).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.body["message"], "Internal server error");
}

#[test]
fn a_chain_answers_at_once_only_while_its_authenticators_can() {
    let parts = |req: Request<Full<Bytes>>| req.into_parts().0;
    let keys = Authenticators::new().with(api_keys()).anonymous_role(Some("anon"));
    let answer = keys.authenticate_now(&parts(request(&[("apikey", KEY)]))).expect("keys answer at once");
    assert_eq!(answer.expect("valid").expect("an identity").role, "reporter");
    assert!(matches!(keys.authenticate_now(&parts(request(&[]))), Some(Ok(Some(id))) if id.anonymous));
    assert!(matches!(keys.authenticate_now(&parts(request(&[("apikey", "wrong")]))), Some(Err(_))));
    // Sessions only answers as a future: the chain says so when it gets there.
    let chain = Authenticators::new().with(api_keys()).with(Sessions).anonymous_role(Some("anon"));
    assert!(chain.authenticate_now(&parts(request(&[("apikey", KEY)]))).is_some(), "decided before Sessions");
    assert!(chain.authenticate_now(&parts(request(&[("cookie", "sid=s-1")]))).is_none());
    assert!(chain.authenticate_now(&parts(request(&[]))).is_none());
}

#[tokio::test]
async fn refusals_use_the_configured_error_format() {
    let echo = tower::service_fn(|_req: Request<Full<Bytes>>| async { Ok::<_, Infallible>(Response::new(Full::<Bytes>::default())) });
    let svc = AuthLayer::new(api_keys()).error_format(crate::error::ProblemJsonFormat).layer(echo);
    let res = svc.oneshot(request(&[("apikey", "wrong")])).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/problem+json");
    assert!(res.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer error=\"invalid_token\""));
}

// --- JWT ----------------------------------------------------------------------

#[cfg(feature = "jwt")]
mod jwt {
    use std::time::Duration;

    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

    use super::*;

    const SECRET: &str = "a-test-secret-that-is-32-bytes-or-more";

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    fn sign_with(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        encode(&header, &claims, key).unwrap()
    }

    fn hs256(claims: Value) -> String {
        sign_with(Algorithm::HS256, None, &EncodingKey::from_secret(SECRET.as_bytes()), claims)
    }

    fn rsa_key() -> EncodingKey {
        EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap()
    }

    fn ec_key() -> EncodingKey {
        EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap()
    }

    fn ed_key() -> EncodingKey {
        EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap()
    }

    fn user() -> Value {
        json!({"sub": "alice", "role": "editor", "exp": now() + 600})
    }

    fn secret_jwt() -> Jwt {
        Jwt::hs256(SECRET).build().unwrap()
    }

    fn anon(jwt: Jwt) -> Authenticators {
        Authenticators::new().with(jwt).anonymous_role(Some("web_anon"))
    }

    #[tokio::test]
    async fn hs256_token_gives_its_role_claims_and_sub() {
        let claims = user();
        let reply = call(secret_jwt(), bearer(&hs256(claims.clone()))).await;
        assert_eq!(reply.identity(), &json!({"role": "editor", "claims": claims, "name": "alice", "anonymous": false}));
    }

    #[tokio::test]
    async fn hs384_and_hs512_secrets_accept_only_their_algorithm() {
        let key = EncodingKey::from_secret(SECRET.as_bytes());
        let hs512 = sign_with(Algorithm::HS512, None, &key, user());
        assert_eq!(call(Jwt::hs512(SECRET).build().unwrap(), bearer(&hs512)).await.role(), "editor");
        let reply = call(Jwt::hs384(SECRET).build().unwrap(), bearer(&hs512)).await;
        assert_eq!(reply.refused("PGRST301"), "Wrong or unsupported encoding algorithm");
    }

    #[tokio::test]
    async fn rs256_token_is_verified_with_the_public_key() {
        let jwt = || Jwt::rsa_pem(RSA_PUBLIC).build().unwrap();
        assert_eq!(call(jwt(), bearer(&sign_with(Algorithm::RS256, None, &rsa_key(), user()))).await.role(), "editor");
        // A configured key without a kid verifies tokens whatever their kid.
        assert_eq!(call(jwt(), bearer(&sign_with(Algorithm::PS512, Some("k7"), &rsa_key(), user()))).await.role(), "editor");
    }

    #[tokio::test]
    async fn es256_token_is_verified_with_the_public_key() {
        let jwt = Jwt::ec_pem(EC_PUBLIC).build().unwrap();
        assert_eq!(call(jwt, bearer(&sign_with(Algorithm::ES256, None, &ec_key(), user()))).await.role(), "editor");
    }

    #[tokio::test]
    async fn eddsa_token_is_verified_with_the_public_key() {
        let jwt = Jwt::ed_pem(ED_PUBLIC).build().unwrap();
        assert_eq!(call(jwt, bearer(&sign_with(Algorithm::EdDSA, None, &ed_key(), user()))).await.role(), "editor");
    }

    #[tokio::test]
    async fn expired_token_is_401_pgrst303() {
        let token = hs256(json!({"role": "editor", "exp": now() - 120}));
        assert_eq!(call(anon(secret_jwt()), bearer(&token)).await.refused("PGRST303"), "JWT expired");
    }

    #[tokio::test]
    async fn leeway_accepts_a_token_that_just_expired() {
        let token = hs256(json!({"role": "editor", "exp": now() - 20}));
        assert_eq!(call(secret_jwt(), bearer(&token)).await.role(), "editor");
        let strict = Jwt::hs256(SECRET).leeway(Duration::ZERO).build().unwrap();
        call(strict, bearer(&token)).await.refused("PGRST303");
    }

    #[tokio::test]
    async fn token_not_yet_valid_is_401_pgrst303() {
        let token = hs256(json!({"role": "editor", "nbf": now() + 600}));
        assert_eq!(call(secret_jwt(), bearer(&token)).await.refused("PGRST303"), "JWT not yet valid");
    }

    #[tokio::test]
    async fn token_issued_in_the_future_is_401_pgrst303() {
        let token = hs256(json!({"role": "editor", "iat": now() + 600}));
        assert_eq!(call(secret_jwt(), bearer(&token)).await.refused("PGRST303"), "JWT issued at future");
        let token = hs256(json!({"role": "editor", "iat": now() - 5}));
        assert_eq!(call(secret_jwt(), bearer(&token)).await.role(), "editor");
    }

    #[tokio::test]
    async fn exp_can_be_required() {
        let jwt = Jwt::hs256(SECRET).require_exp(true).build().unwrap();
        call(jwt, bearer(&hs256(json!({"role": "editor"})))).await.refused("PGRST303");
        assert_eq!(call(secret_jwt(), bearer(&hs256(json!({"role": "editor"})))).await.role(), "editor");
    }

    #[tokio::test]
    async fn audience_is_checked_when_configured() {
        let jwt = || Jwt::hs256(SECRET).audience("restgate").audience("reports").build().unwrap();
        let ok = hs256(json!({"role": "editor", "aud": ["other", "reports"]}));
        assert_eq!(call(jwt(), bearer(&ok)).await.role(), "editor");
        let wrong = hs256(json!({"role": "editor", "aud": "someone-else"}));
        assert_eq!(call(jwt(), bearer(&wrong)).await.refused("PGRST303"), "JWT not in audience");
        call(jwt(), bearer(&hs256(json!({"role": "editor"})))).await.refused("PGRST303");
        // Without a configured audience, `aud` is not checked (PostgREST's jwt-aud).
        assert_eq!(call(secret_jwt(), bearer(&wrong)).await.role(), "editor");
    }

    #[tokio::test]
    async fn issuer_is_checked_when_configured() {
        let jwt = || Jwt::hs256(SECRET).issuer("https://auth.example.com").build().unwrap();
        let ok = hs256(json!({"role": "editor", "iss": "https://auth.example.com"}));
        assert_eq!(call(jwt(), bearer(&ok)).await.role(), "editor");
        let wrong = hs256(json!({"role": "editor", "iss": "https://evil.example.com"}));
        assert_eq!(call(jwt(), bearer(&wrong)).await.refused("PGRST303"), "JWT issuer is not trusted");
        call(jwt(), bearer(&hs256(json!({"role": "editor"})))).await.refused("PGRST303");
    }

    #[tokio::test]
    async fn token_signed_with_another_key_is_401_pgrst301() {
        let other = EncodingKey::from_secret(b"another-secret-that-is-32-bytes-or-more");
        let token = sign_with(Algorithm::HS256, None, &other, user());
        assert_eq!(call(anon(secret_jwt()), bearer(&token)).await.refused("PGRST301"), "JWT signature does not match");
        // An RS256 token signed by an RSA key other than the configured one.
        let jwt = Jwt::rsa_pem(OTHER_RSA_PUBLIC).build().unwrap();
        let token = sign_with(Algorithm::RS256, None, &rsa_key(), user());
        assert_eq!(call(jwt, bearer(&token)).await.refused("PGRST301"), "JWT signature does not match");
    }

    #[tokio::test]
    async fn tampered_payload_is_401_pgrst301() {
        let genuine = hs256(user());
        let forged = hs256(json!({"sub": "alice", "role": "admin", "exp": now() + 600}));
        let [header, _, signature]: [&str; 3] = genuine.split('.').collect::<Vec<_>>().try_into().unwrap();
        let payload = forged.split('.').nth(1).unwrap();
        let tampered = format!("{header}.{payload}.{signature}");
        call(anon(secret_jwt()), bearer(&tampered)).await.refused("PGRST301");
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        // {"alg":"none","typ":"JWT"}
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        let payload = hs256(json!({"role": "admin"})).split('.').nth(1).unwrap().to_owned();
        for token in [format!("{header}.{payload}."), format!("{header}.{payload}.c2ln")] {
            let reply = call(anon(secret_jwt()), bearer(&token)).await;
            assert_eq!(reply.refused("PGRST301"), "Wrong or unsupported encoding algorithm");
        }
    }

    #[tokio::test]
    async fn hmac_token_keyed_with_the_rsa_public_key_is_refused() {
        // The classic confusion attack: HS256 with the (public) RSA key as secret.
        let token = sign_with(Algorithm::HS256, None, &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()), user());
        let jwt = Jwt::rsa_pem(RSA_PUBLIC).build().unwrap();
        assert_eq!(call(jwt, bearer(&token)).await.refused("PGRST301"), "Wrong or unsupported encoding algorithm");
        // Also when an HMAC secret is configured next to the RSA key.
        let jwt = Jwt::rsa_pem(RSA_PUBLIC).hs256(SECRET).build().unwrap();
        call(jwt, bearer(&token)).await.refused("PGRST301");
    }

    fn jwks() -> String {
        json!({"keys": [
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": RSA_N, "e": "AQAB"},
            {"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": EC_X, "y": EC_Y},
            {"kty": "RSA", "kid": "enc-1", "use": "enc", "alg": "RSA-OAEP", "n": RSA_N, "e": "AQAB"},
        ]})
        .to_string()
    }

    #[tokio::test]
    async fn jwks_key_is_selected_by_kid() {
        let jwt = || Jwt::jwks(jwks()).build().unwrap();
        let rs = sign_with(Algorithm::RS256, Some("rsa-1"), &rsa_key(), user());
        assert_eq!(call(jwt(), bearer(&rs)).await.role(), "editor");
        let es = sign_with(Algorithm::ES256, Some("ec-1"), &ec_key(), user());
        assert_eq!(call(jwt(), bearer(&es)).await.role(), "editor");
        // Without a kid, every key accepting the algorithm is tried.
        let es = sign_with(Algorithm::ES256, None, &ec_key(), user());
        assert_eq!(call(jwt(), bearer(&es)).await.role(), "editor");
        // A kid naming the wrong key.
        let crossed = sign_with(Algorithm::ES256, Some("rsa-1"), &ec_key(), user());
        call(jwt(), bearer(&crossed)).await.refused("PGRST301");
        // The JWK's alg pins the algorithm: RS384 is not RS256.
        let rs384 = sign_with(Algorithm::RS384, Some("rsa-1"), &rsa_key(), user());
        call(jwt(), bearer(&rs384)).await.refused("PGRST301");
    }

    #[tokio::test]
    async fn unknown_kid_is_401_pgrst301() {
        let token = sign_with(Algorithm::RS256, Some("rotated-away"), &rsa_key(), user());
        let reply = call(anon(Jwt::jwks(jwks()).build().unwrap()), bearer(&token)).await;
        assert_eq!(reply.refused("PGRST301"), "No suitable key or wrong key type");
    }

    #[tokio::test]
    async fn malformed_tokens_are_401_pgrst301() {
        let chain = || anon(secret_jwt());
        assert_eq!(call(chain(), bearer("abc.def.ghi")).await.refused("PGRST301"), "JWT header is malformed");
        // Not JWT-shaped: no authenticator takes it.
        call(chain(), bearer("abc.def")).await.refused("PGRST301");
        // From a cookie, any shape is meant as a JWT.
        let jwt = Jwt::hs256(SECRET).cookie("session").build().unwrap();
        let reply = call(jwt, request(&[("cookie", "session=abc.def")])).await;
        assert_eq!(reply.refused("PGRST301"), "Expected 3 parts in JWT; got 2");
    }

    #[tokio::test]
    async fn token_in_the_cookie_is_accepted() {
        let jwt = || Jwt::hs256(SECRET).cookie("session").build().unwrap();
        let cookie = format!("theme=dark; session={}", hs256(user()));
        assert_eq!(call(jwt(), request(&[("cookie", &cookie)])).await.role(), "editor");
        // The Authorization header wins over the cookie.
        let admin = hs256(json!({"role": "admin"}));
        assert_eq!(call(jwt(), request(&[("cookie", &cookie), ("authorization", &format!("Bearer {admin}"))])).await.role(), "admin");
        // Another cookie name is not read.
        call(secret_jwt(), request(&[("cookie", &cookie)])).await.refused("PGRST302");
    }

    #[tokio::test]
    async fn role_is_read_from_a_nested_claim_path() {
        let claims = json!({"sub": "bob", "role": "authenticated", "app_metadata": {"role": "manager"}});
        let jwt = Jwt::hs256(SECRET).role_claim("app_metadata.role").build().unwrap();
        assert_eq!(call(jwt, bearer(&hs256(claims))).await.role(), "manager");
        let claims = json!({"https://example.com/roles": ["auditor", "viewer"]});
        let jwt = Jwt::hs256(SECRET).role_claim(r#"."https://example.com/roles"[0]"#).build().unwrap();
        assert_eq!(call(jwt, bearer(&hs256(claims))).await.role(), "auditor");
    }

    #[tokio::test]
    async fn token_without_role_claim_runs_as_the_anonymous_role() {
        let token = hs256(json!({"sub": "carol"}));
        let reply = call(anon(secret_jwt()), bearer(&token)).await;
        // Authenticated (not anonymous), with its claims, in the anonymous role.
        assert_eq!(reply.identity(), &json!({"role": "web_anon", "claims": {"sub": "carol"}, "name": "carol", "anonymous": false}));
        let reply = call(Authenticators::new().with(secret_jwt()), bearer(&token)).await;
        reply.refused("PGRST302");
    }

    #[tokio::test]
    async fn non_string_role_claim_is_401_pgrst303() {
        call(secret_jwt(), bearer(&hs256(json!({"role": ["admin"]})))).await.refused("PGRST303");
    }

    #[tokio::test]
    async fn api_key_and_jwt_share_the_bearer_by_shape() {
        for chain in [Authenticators::new().with(api_keys()).with(secret_jwt()), Authenticators::new().with(secret_jwt()).with(api_keys())]
        {
            assert_eq!(call(chain.clone(), bearer(KEY)).await.role(), "reporter");
            assert_eq!(call(chain.clone(), bearer(&hs256(user()))).await.role(), "editor");
            call(chain, bearer("rg_live_guessed")).await.refused("PGRST301");
        }
    }
}

// Test keys, generated with openssl for these tests only.

#[cfg(feature = "jwt")]
const RSA_N: &str = "_ze-_SuiWhVhv2XvDfK7jApq0XPAIxK4YVYnBg_6w_ICQD9jtMF-pLOn8Qh3YS6ryvpkzVUjwlJp2T80P0BWUrhkrciUHKy601xOKER6FBxHMr4f8sx8JaOwVjgfBI2gcZLW34rJLnVQo1aoaWhoGuMWhF-VQ1SKpAqHQPIDp1A-8AFDxs0VIDLhXHePu6LsS0fcdCjXK6_vr1zqKW1KbcXdwrDKHukBoBkqpZ6dEmGGYIzW9ybbCgtMCV570LRbP9ZbkM-MWAs3V7FIOLx_kGYoUgvlKpVmQRv7s-Y_EKDHtXrpfmQt9S8fFMq6yf8Hrv78h_SWqPrxBUS_JuPi3w";
#[cfg(feature = "jwt")]
const EC_X: &str = "jPacIQQoNlWyTTfpR4AodOwsV101NQxRw67HqjInvYM";
#[cfg(feature = "jwt")]
const EC_Y: &str = "VdXiwlfM3DCMNefYdxldn1oikvYgHHrqUBkdl6TsQIY";
#[cfg(feature = "jwt")]
const RSA_PRIVATE: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQD/N779K6JaFWG/
Ze8N8ruMCmrRc8AjErhhVicGD/rD8gJAP2O0wX6ks6fxCHdhLqvK+mTNVSPCUmnZ
PzQ/QFZSuGStyJQcrLrTXE4oRHoUHEcyvh/yzHwlo7BWOB8EjaBxktbfiskudVCj
VqhpaGga4xaEX5VDVIqkCodA8gOnUD7wAUPGzRUgMuFcd4+7ouxLR9x0KNcrr++v
XOopbUptxd3CsMoe6QGgGSqlnp0SYYZgjNb3JtsKC0wJXnvQtFs/1luQz4xYCzdX
sUg4vH+QZihSC+UqlWZBG/uz5j8QoMe1eul+ZC31Lx8UyrrJ/weu/vyH9Jao+vEF
RL8m4+LfAgMBAAECggEAdJOSnlMBkDNnGEWn6c+fwkp5212LfJnO9csj/R1sdneD
drRdx1GBFxtnEW7EFPR8DTXNuIr00AzUA6NeqqupIpTOjCDsIqL1nZjyrGsG9kuq
a++zaTTlWk4IPIHbDTnh+S7RDn/3AE0e/dUWDTvfHbTv8pw0cnJZ969Fc7F4YMIZ
0hB1itZUwrr3IrBzvJkEaX5HMPABu2HBQLQsoPWbjcrPSW+pYOnhfmuSla2usAmu
aRuCKKvH4IOZCuJ87IbdYqQIbFd90/4TwD0MMNfocrZvlFi5tA/yftuftciC2X1D
Ui7W6ocYDJ/eSsp4ZBlRdhwx2fLPLa0ciRDIXt2v5QKBgQD/wZUY2aw9Itq1XrX7
dPzJIjUKMbPMawcIRv4eRC68x3vhUFdmHaNXRCb1cwgvmV1BQzwbgz4pp8tM0c/V
X6pltcLThP3gaHd8JufPsrFTVyzU5oT/KJmZoRDLOS6jml4a7rVARpczbPTFN6gk
n4oQI0UDtlf5cEOivTBkd7SMmwKBgQD/dghAtHlni/w0Gel19a7zJqfx05C7JCwG
u6XG9KpUnV7oP+uNzzVJEn2VbHae4w8iqDwFn+QWX2/KwbORz3bq11MeAGuZ4zh8
jzIHbHxpgQ4aXExJ8NCR46yIubCwE2xI8JsSlbhJfzGZW+UemonJHn+PTENwpD0V
MoN9GFytDQKBgAlarjZbd8ZAqRkrHqLU044TtzbpPHdEjtxJpG+89Kyo6yoBg0DT
4q6FaptdmrYK+PMzH1auRS7G2VO09NIMDrJrpHWSDqsPhxc+YQoisgOnU5dx2vlu
JbgNwQx9yevn8HsxseVo74zM9mLkNz0nrKgMcjDBkZQo/ABOxR9XlX3zAoGBAPiJ
zFOvgmJEplXGVAXoxpJYLJMxQ6Fe+tp+HDZp+YGjLiAFeFYan3v9WmNTCEFjJWmR
hfvu6Ij/xxLby6nzz32BiqMow4cPsvg0lPb2DEDVR3RMEgjqGvGlMUpAZu+XpgV8
2VKGiaov7oCHEG3q6lzaqD4xc3eWwrrpz1WYqynNAoGAbo5NrA/WMH7dmhAuTQHx
RUAkv8TMGdNbDNLxvhoa0e3etCF3tzN5dcx/hhu/bLG4yctKWz4CG45C9g2lVqgo
O3+Wqd7KQ5MJXmxK7GYS7kDD8hXrqlM2wGtchcScbyjpABLhtxqyH34eFmnobcjx
k/XcMx+0ueoikCs/Z6sbX7A=
-----END PRIVATE KEY-----
";
#[cfg(feature = "jwt")]
const RSA_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA/ze+/SuiWhVhv2XvDfK7
jApq0XPAIxK4YVYnBg/6w/ICQD9jtMF+pLOn8Qh3YS6ryvpkzVUjwlJp2T80P0BW
UrhkrciUHKy601xOKER6FBxHMr4f8sx8JaOwVjgfBI2gcZLW34rJLnVQo1aoaWho
GuMWhF+VQ1SKpAqHQPIDp1A+8AFDxs0VIDLhXHePu6LsS0fcdCjXK6/vr1zqKW1K
bcXdwrDKHukBoBkqpZ6dEmGGYIzW9ybbCgtMCV570LRbP9ZbkM+MWAs3V7FIOLx/
kGYoUgvlKpVmQRv7s+Y/EKDHtXrpfmQt9S8fFMq6yf8Hrv78h/SWqPrxBUS/JuPi
3wIDAQAB
-----END PUBLIC KEY-----
";
#[cfg(feature = "jwt")]
const EC_PRIVATE: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTKDfEHYCe5EUxQGs
QhaIGTODSXcUv1LtK6bdbczj7XqhRANCAASM9pwhBCg2VbJNN+lHgCh07CxXXTU1
DFHDrseqMie9g1XV4sJXzNwwjDXn2HcZXZ9aIpL2IBx66lAZHZek7ECG
-----END PRIVATE KEY-----
";
#[cfg(feature = "jwt")]
const EC_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEjPacIQQoNlWyTTfpR4AodOwsV101
NQxRw67HqjInvYNV1eLCV8zcMIw159h3GV2fWiKS9iAceupQGR2XpOxAhg==
-----END PUBLIC KEY-----
";
#[cfg(feature = "jwt")]
const ED_PRIVATE: &str = "\
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIDajhezIZhHn7pi99AJ069qcG80nuIj6ABFW8lLrGR4B
-----END PRIVATE KEY-----
";
#[cfg(feature = "jwt")]
const ED_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEApQbk1yqWU8W27EIq1yXBfurQDDBPLUFEGkFPrNJD44E=
-----END PUBLIC KEY-----
";
#[cfg(feature = "jwt")]
const OTHER_RSA_PUBLIC: &str = "\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAoIPOjQMWSCYlp3ACyZWw
WCMviOstaw2MBFkx5F4b/AHtClR+9paiHZQ5Jm9RLGIVRtok85kWJoePUrfGPZ/S
Q+AfOFCZlT5PjzTJQbftEtll9vBhd2UnZ2eTRtGd5zo6ZEYak1M7g0utKr4J1ADa
/vswCKbWVzWys39CUIhQV7btJGyH0WxZOyTjk0Sg1rc81Ei/eQKPSORj7uq+ahxQ
X2h9IOyux516mMfGiKOZK++mimviKS/wr6QADIzzkev7fH/C7/i55x2GmIZtwMfB
gC0O40A8MtUDTZ8MJxW1+6qmWzkTJ8qa3cUdfa7MmsXqre44G1AATkesR9op3W35
xQIDAQAB
-----END PUBLIC KEY-----
";
