//! Authentication: who is calling, as an [`Identity`] in the request extensions.
//!
//! An [`AuthLayer`] wraps any tower service. For each request it asks an
//! authenticator — anything implementing the [`Authenticate`] trait — for
//! the caller's [`Identity`] (a role name and the claims that came with it),
//! puts it in the request extensions and calls the inner service; bad
//! credentials are answered with a 401 in PostgREST's error shape and a
//! `WWW-Authenticate` header (RFC 6750) without reaching the inner service.
//!
//! Ready authenticators:
//!
//! - [`ApiKeys`]: static keys in a header (`apikey` by default) or as
//!   `Authorization: Bearer <key>`, each mapped to a role and a name. Only
//!   SHA-256 digests are kept, compared in constant time.
//! - `Jwt` (cargo feature `jwt`): JSON Web Tokens signed with HMAC, RSA,
//!   ECDSA or EdDSA keys from a secret, a PEM key or a static JWKS, from the
//!   `Authorization` header or a cookie.
//! - [`Authenticators`]: a chain of the above (and of your own), with the
//!   anonymous role for requests that carry no credentials.
//!
//! Implement [`Authenticate`] to plug in your own scheme, e.g. a session
//! looked up in a store; put it in an [`Authenticators`] chain to get the
//! anonymous role and the chain's handling of unrecognised bearer tokens.
//!
//! # Errors
//!
//! | case | status | code |
//! |---|---|---|
//! | no credentials and no anonymous role | 401 | `PGRST302` |
//! | malformed token, bad signature, unknown key, unknown API key | 401 | `PGRST301` |
//! | claims rejected: expired, not yet valid, audience, issuer | 401 | `PGRST303` |
//! | an authenticator failed (e.g. its store is down) | 500 | `PGRSTX00` |
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use restgate_core::auth::{ApiKeys, AuthLayer, Authenticators, Identity};
//! use tower::{Layer, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = ApiKeys::builder().key("s3cr3t-key-for-reports", "reporter", "nightly reports").build()?;
//! let auth = Authenticators::new().with(keys).anonymous_role(Some("web_anon"));
//!
//! // Any service; this one answers with the caller's role.
//! let inner = tower::service_fn(|req: Request<Full<Bytes>>| async move {
//!     let role = req.extensions().get::<Identity>().map(|id| id.role.clone()).unwrap_or_default();
//!     Ok::<_, Infallible>(Response::new(Full::<Bytes>::from(role)))
//! });
//! let svc = AuthLayer::new(auth).layer(inner);
//!
//! let req = Request::get("/films").header("apikey", "s3cr3t-key-for-reports").body(Full::default())?;
//! let res = svc.clone().oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//!
//! let req = Request::get("/films").header("apikey", "guessed").body(Full::default())?;
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! # Ok(()) }
//! ```

mod api_key;
mod chain;
mod error;
#[cfg(feature = "jwt")]
mod jwt;
mod layer;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

pub use api_key::{ApiKeys, ApiKeysBuilder};
pub use chain::Authenticators;
pub use error::{AuthConfigError, AuthError};
#[cfg(feature = "jwt")]
pub use jwt::{Jwt, JwtBuilder};
pub use layer::{AuthLayer, AuthService, ResponseFuture};

/// Who is calling: a role, and what the credential said about the caller.
///
/// The auth layer puts one in the request extensions of every request it
/// lets through; later stages (policy, audit, your handlers) read it from
/// there.
///
/// ```
/// use restgate_core::auth::Identity;
///
/// let id = Identity::new("editor").with_name("alice").with_claims(serde_json::json!({"sub": "alice", "role": "editor"}));
/// assert_eq!(id.role, "editor");
/// assert!(!id.anonymous);
/// assert!(Identity::anonymous("web_anon").anonymous);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    /// The role the request runs as.
    ///
    /// An authenticator may return an empty role for a verified credential
    /// that names none (a JWT without the role claim): the
    /// [`Authenticators`] chain then gives it the anonymous role, and
    /// without one the request is 401 `PGRST302`, as in PostgREST.
    pub role: String,
    /// The claims of the credential: a JWT's payload, `{"role", "sub"}` for
    /// an API key, `{}` for an anonymous caller. Shared, so an identity is
    /// cheap to clone (an authenticator may cache it).
    pub claims: Arc<serde_json::Value>,
    /// A name for logs and audit: the API key's name or the JWT's `sub`.
    pub name: Option<String>,
    /// True when the request carried no credentials and runs as the
    /// anonymous role.
    pub anonymous: bool,
}

/// The empty claims, shared by every identity without claims of its own.
static NO_CLAIMS: std::sync::LazyLock<Arc<serde_json::Value>> =
    std::sync::LazyLock::new(|| Arc::new(serde_json::Value::Object(Default::default())));

impl Identity {
    /// An authenticated identity with `role`, no name and empty claims.
    pub fn new(role: impl Into<String>) -> Self {
        Identity { role: role.into(), claims: Arc::clone(&NO_CLAIMS), name: None, anonymous: false }
    }

    /// The identity of a caller without credentials, running as `role`.
    pub fn anonymous(role: impl Into<String>) -> Self {
        Identity { anonymous: true, ..Identity::new(role) }
    }

    /// Sets the claims.
    pub fn with_claims(mut self, claims: impl Into<Arc<serde_json::Value>>) -> Self {
        self.claims = claims.into();
        self
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// Finds the caller's [`Identity`] in a request's head.
///
/// Return `Ok(None)` when the request carries no credentials of your kind
/// (so the next authenticator of a chain, or the anonymous role, applies),
/// `Ok(Some(identity))` when it carries valid ones, and `Err` when it
/// carries credentials that are not valid: the request is then refused,
/// whatever else it carries.
///
/// Only the head is given (the body has not been read): authenticate by
/// headers, cookies, the URI or extensions set by earlier layers.
///
/// # Example
///
/// A session cookie looked up in a store:
///
/// ```
/// use std::collections::HashMap;
/// use restgate_core::auth::{AuthError, Authenticate, Identity};
///
/// struct Sessions(HashMap<String, String>); // session id -> role
///
/// #[async_trait::async_trait]
/// impl Authenticate for Sessions {
///     async fn authenticate(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
///         let Some(cookies) = parts.headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()) else {
///             return Ok(None);
///         };
///         let Some(sid) = cookies.split(';').find_map(|c| c.trim().strip_prefix("sid=")) else {
///             return Ok(None);
///         };
///         match self.0.get(sid) {
///             Some(role) => Ok(Some(Identity::new(role.clone()))),
///             None => Err(AuthError::invalid("Session expired or unknown")),
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait Authenticate: Send + Sync + 'static {
    /// The identity the request's credentials prove, if it carries any.
    async fn authenticate(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError>;

    /// The answer [`authenticate`](Authenticate::authenticate) would give,
    /// when it can be given without waiting (no store to ask: a static key,
    /// a token checked by its signature); `None` to have `authenticate`
    /// called. Callers try this first, which spares a request the boxed
    /// future. The default is `None`: implement it only with exactly
    /// `authenticate`'s answer (the ready authenticators do).
    fn authenticate_now(&self, parts: &http::request::Parts) -> Option<Result<Option<Identity>, AuthError>> {
        let _ = parts;
        None
    }
}

#[async_trait]
impl<T: Authenticate + ?Sized> Authenticate for Arc<T> {
    async fn authenticate(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
        (**self).authenticate(parts).await
    }
    fn authenticate_now(&self, parts: &http::request::Parts) -> Option<Result<Option<Identity>, AuthError>> {
        (**self).authenticate_now(parts)
    }
}

#[async_trait]
impl<T: Authenticate + ?Sized> Authenticate for Box<T> {
    async fn authenticate(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
        (**self).authenticate(parts).await
    }
    fn authenticate_now(&self, parts: &http::request::Parts) -> Option<Result<Option<Identity>, AuthError>> {
        (**self).authenticate_now(parts)
    }
}

/// Authenticates with `a`, without a future when it can answer at once.
pub(crate) async fn authenticate(a: &dyn Authenticate, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
    match a.authenticate_now(parts) {
        Some(answer) => answer,
        None => a.authenticate(parts).await,
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme
/// case-insensitive), trimmed; `Some("")` for an empty one. `None` when there
/// is no such header, it uses another scheme, or the token is not UTF-8.
pub(crate) fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    // UTF-8 rather than `to_str`'s visible-ASCII check: the same for a
    // token (anything else in one is refused where it is parsed), and
    // checked a word at a time rather than a byte.
    std::str::from_utf8(bearer_bytes(headers)?).ok()
}

/// [`bearer_token`]'s bytes, not checked as text: what a lookup among
/// tokens already verified needs.
pub(crate) fn bearer_bytes(headers: &http::HeaderMap) -> Option<&[u8]> {
    let value = headers.get(http::header::AUTHORIZATION)?.as_bytes().trim_ascii();
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    match rest.first() {
        None => Some(b""),
        // "Bearer" must be followed by whitespace ("Bearerxyz" is another scheme).
        Some(b' ' | b'\t') => Some(rest.trim_ascii_start()),
        Some(_) => None,
    }
}

/// Whether `token` has the compact JWS shape: three base64url segments
/// joined by dots (the signature may be empty, as in `alg: none`, so such
/// tokens still reach the JWT authenticator and are refused there).
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    // One pass over the bytes: base64url characters and exactly two dots,
    // the first two segments not empty.
    let bytes = token.as_bytes();
    let mut dots = [0usize; 2];
    let mut n = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'.' {
            if n == 2 {
                return false;
            }
            dots[n] = i;
            n += 1;
        } else if !BASE64URL[usize::from(b)] {
            return false;
        }
    }
    n == 2 && dots[0] > 0 && dots[1] > dots[0] + 1
}

/// The bytes of base64url, with `=` padding.
static BASE64URL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'=';
        b += 1;
    }
    t
};

#[cfg(test)]
mod helper_tests {
    use super::*;

    fn headers(auth: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_trimmed() {
        assert_eq!(bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("bearer   abc ")), Some("abc"));
        assert_eq!(bearer_token(&headers("Bearer")), Some(""));
        assert_eq!(bearer_token(&headers("Bearer ")), Some(""));
        assert_eq!(bearer_token(&headers("Basic YWxhZGRpbjpvcGVuc2VzYW1l")), None);
        assert_eq!(bearer_token(&headers("Bearerabc")), None);
        assert_eq!(bearer_token(&http::HeaderMap::new()), None);
    }

    #[test]
    fn jwt_shape_is_three_base64url_segments() {
        assert!(looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYSJ9.c2ln"));
        assert!(looks_like_jwt("eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYSJ9."));
        assert!(!looks_like_jwt("sk_live_1234567890"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt(".b.c"));
        assert!(!looks_like_jwt("a..c"));
        assert!(!looks_like_jwt("a b.c.d"));
    }
}
