//! Why a request's credentials were refused, and why an authenticator could
//! not be configured.

use std::borrow::Cow;

use http::StatusCode;

use crate::error::ApiError;

/// Why an authenticator refused a request.
///
/// Converts into an [`ApiError`] with PostgREST's codes; the 401s carry a
/// `WWW-Authenticate` header (RFC 6750).
///
/// ```
/// use restgate_core::auth::AuthError;
/// use restgate_core::ApiError;
///
/// let e: ApiError = AuthError::claims("JWT expired").into();
/// assert_eq!((e.status.as_u16(), &*e.code), (401, "PGRST303"));
/// let (name, value) = &e.headers.as_ref().unwrap()[0];
/// assert_eq!(name, "www-authenticate");
/// assert_eq!(value, r#"Bearer error="invalid_token", error_description="JWT expired""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The credentials cannot be decoded or verified: a malformed token, a
    /// bad signature, an unknown key or algorithm, an unknown API key.
    /// 401 `PGRST301`.
    #[error("{0}")]
    Invalid(Cow<'static, str>),
    /// The credentials are genuine but their claims are not accepted:
    /// expired, not yet valid, issued in the future, wrong audience or
    /// issuer. 401 `PGRST303`.
    #[error("{0}")]
    Claims(Cow<'static, str>),
    /// No credentials, and no anonymous role. 401 `PGRST302`.
    #[error("Anonymous access is disabled")]
    Missing,
    /// The authenticator itself failed (its session store is unreachable,
    /// say). 500; the message goes to the log, not to the client.
    #[error("authentication failed: {0}")]
    Internal(String),
}

impl AuthError {
    /// [`AuthError::Invalid`] with `message` (shown to the client).
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        AuthError::Invalid(message.into())
    }

    /// [`AuthError::Claims`] with `message` (shown to the client).
    pub fn claims(message: impl Into<Cow<'static, str>>) -> Self {
        AuthError::Claims(message.into())
    }

    /// [`AuthError::Internal`] with `message` (logged only).
    pub fn internal(message: impl Into<String>) -> Self {
        AuthError::Internal(message.into())
    }
}

/// `error_description` is an RFC 7230 quoted-string: escape quotes and
/// backslashes, drop control characters (they would make the header invalid).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_control() || !c.is_ascii() => out.push('?'),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let www = http::header::WWW_AUTHENTICATE;
        let invalid_token = |code: &'static str, message: Cow<'static, str>| {
            let header = format!("Bearer error=\"invalid_token\", error_description={}", quoted(&message));
            ApiError::new(StatusCode::UNAUTHORIZED, code, message.into_owned()).with_header(www.clone(), header)
        };
        match e {
            AuthError::Invalid(m) => invalid_token("PGRST301", m),
            AuthError::Claims(m) => invalid_token("PGRST303", m),
            // RFC 6750 §3.1: no error code when the request had no credentials.
            AuthError::Missing => {
                ApiError::new(StatusCode::UNAUTHORIZED, "PGRST302", "Anonymous access is disabled").with_header(www.clone(), "Bearer")
            }
            AuthError::Internal(m) => {
                tracing::error!(message = %m, "authenticator failed");
                ApiError::internal()
            }
        }
    }
}

/// Why an authenticator could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// The API key header is not a valid header name.
    #[error("invalid API key header name {0:?}")]
    InvalidHeader(String),
    /// A key hash is not 64 hexadecimal digits (a SHA-256 digest).
    #[error("the hash of API key {name:?} is not a hex SHA-256 digest (64 hex digits)")]
    InvalidKeyHash {
        /// The key's name.
        name: String,
    },
    /// An API key is empty.
    #[error("API key {name:?} is empty")]
    EmptyKey {
        /// The key's name.
        name: String,
    },
    /// The same key is configured twice.
    #[error("API key {name:?} is configured twice")]
    DuplicateKey {
        /// The name of the second occurrence.
        name: String,
    },
    /// No key to verify with.
    #[error("no key configured")]
    NoKeys,
    /// An HMAC secret shorter than 32 bytes.
    #[error("the JWT secret must be at least 32 bytes long")]
    WeakSecret,
    /// A PEM key that cannot be read.
    #[error("invalid {kind} PEM key: {reason}")]
    InvalidPem {
        /// RSA, EC or Ed25519.
        kind: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// A JWKS that cannot be read or holds no usable signing key.
    #[error("invalid JWKS: {0}")]
    InvalidJwks(String),
    /// A role claim path that does not parse.
    #[error("invalid role claim path {path:?}: {reason}")]
    InvalidClaimPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A cookie name that is empty or has characters a cookie name cannot have.
    #[error("invalid cookie name {0:?}")]
    InvalidCookie(String),
}
