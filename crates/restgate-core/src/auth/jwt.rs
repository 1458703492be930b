//! JSON Web Tokens (cargo feature `jwt`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde_json::Value;

use super::{bearer_bytes, looks_like_jwt, AuthConfigError, AuthError, Authenticate, Identity};

/// Authenticates requests by JSON Web Tokens (JWS compact form).
///
/// The token is read from `Authorization: Bearer <token>` when the bearer
/// token has a JWT's shape (other bearer tokens are left to
/// [`ApiKeys`](super::ApiKeys)), or else from the cookie named with
/// [`JwtBuilder::cookie`]. A valid token gives an [`Identity`] whose role is
/// the role claim (`role` by default, see [`JwtBuilder::role_claim`]), whose
/// claims are the whole payload and whose name is the `sub` claim.
///
/// # Keys and algorithms
///
/// | key | algorithms accepted |
/// |---|---|
/// | [`hs256`](Jwt::hs256) / [`hs384`](Jwt::hs384) / [`hs512`](Jwt::hs512) secret (≥ 32 bytes) | that one |
/// | [`rsa_pem`](Jwt::rsa_pem) public key | RS256, RS384, RS512, PS256, PS384, PS512 |
/// | [`ec_pem`](Jwt::ec_pem) public key | ES256 (P-256 key) or ES384 (P-384 key) |
/// | [`ed_pem`](Jwt::ed_pem) public key | EdDSA (Ed25519) |
/// | [`jwks`](Jwt::jwks) key | its `alg`, or as above by `kty`/`crv` |
///
/// The algorithms a key accepts are fixed by the configuration; the token's
/// `alg` header only picks among the configured keys, and a key is only ever
/// used with its own algorithms. So `alg: none` is refused, and so is
/// algorithm confusion (an HS256 token "signed" with an RSA public key as
/// its HMAC secret). The header's `jwk`, `jku` and `x5u` are ignored: keys
/// come from the configuration only.
///
/// Several keys may be configured (key rotation). A token with a `kid`
/// header is verified with the keys of that `kid`, or, when no key has it,
/// with the keys that have no `kid`; none → 401 `PGRST301`. A token without
/// a `kid` is tried against every key that accepts its `alg`.
///
/// # Claims
///
/// `exp` and `nbf` are checked when present (`exp` can be required with
/// [`JwtBuilder::require_exp`]), `iat` must not be in the future, all with a
/// leeway of 30 seconds by default. When an audience is configured the
/// token's `aud` must name it; when none is, `aud` is not checked
/// (PostgREST's `jwt-aud`). When an issuer is configured `iss` must be one of
/// the configured issuers. Failures are 401 `PGRST303` (`JWT expired`, …);
/// a malformed token, a bad signature or an unknown key is 401 `PGRST301`.
///
/// A valid token without the role claim (or with an empty one) gives an
/// identity with an empty role: an [`Authenticators`](super::Authenticators)
/// chain runs it as the anonymous role, and refuses it with 401 `PGRST302`
/// when there is none — PostgREST's behaviour.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use restgate_core::auth::Jwt;
///
/// let jwt = Jwt::hs256("a-secret-of-at-least-32-bytes-long!!")
///     .audience("restgate")
///     .leeway(Duration::from_secs(10))
///     .role_claim("app_metadata.role")
///     .cookie("session")
///     .build()?;
/// # Ok::<(), restgate_core::auth::AuthConfigError>(())
/// ```
pub struct Jwt {
    keys: Vec<VerifyKey>,
    role_claim: ClaimPath,
    cookie: Option<String>,
    leeway: u64,
    /// Tokens verified lately: token → (claims, valid until, unix seconds).
    /// Only successful verifications are kept, never past the token's own
    /// expiry, so a hit answers exactly as verifying again would.
    verified: RwLock<Verified>,
}

/// Verified tokens (their bytes) → (identity, valid until, unix seconds).
type Verified = HashMap<Box<[u8]>, (Identity, u64), TokenHasher>;

/// Hashes a token by its last 16 bytes — the end of its signature, which
/// differs between tokens — under a per-map random seed, instead of SipHash
/// over the whole token (about 150 bytes for the usual HS256 token). Only
/// verified tokens are ever stored, so a client cannot fill a bucket with
/// keys it chose; a lookup still compares whole tokens.
#[derive(Clone)]
struct TokenHasher {
    seed: u64,
}

impl TokenHasher {
    fn new() -> Self {
        use std::hash::{BuildHasher, RandomState};
        TokenHasher { seed: RandomState::new().hash_one(0x5eed_u64) }
    }
}

impl std::hash::BuildHasher for TokenHasher {
    type Hasher = TailHasher;
    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.seed)
    }
}

struct TailHasher(u64);

impl std::hash::Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        let tail = &bytes[bytes.len().saturating_sub(16)..];
        let mut buf = [0u8; 16];
        buf[..tail.len()].copy_from_slice(tail);
        let (a, b) = buf.split_at(8);
        let a = u64::from_le_bytes(a.try_into().unwrap_or_default());
        let b = u64::from_le_bytes(b.try_into().unwrap_or_default());
        // Two rounds of a multiply-xorshift mix (the constants of splitmix64).
        let mut h = self.0 ^ a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (bytes.len() as u64);
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ b;
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = h ^ (h >> 31);
    }
    fn write_u8(&mut self, i: u8) {
        self.0 ^= u64::from(i);
    }
    fn write_usize(&mut self, i: usize) {
        // A slice's length, written before its bytes.
        self.0 ^= i as u64;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Verified tokens kept at most (the map is emptied when full).
const VERIFIED_CAPACITY: usize = 4096;
/// How long a verified token is kept at most, in seconds.
const VERIFIED_SECONDS: u64 = 300;

struct VerifyKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
    validation: Validation,
}

impl Jwt {
    /// A builder without keys.
    pub fn builder() -> JwtBuilder {
        JwtBuilder {
            keys: Vec::new(),
            audience: Vec::new(),
            issuer: Vec::new(),
            leeway: Duration::from_secs(30),
            role_claim: "role".to_owned(),
            cookie: None,
            require_exp: false,
        }
    }

    /// A builder with an HS256 secret (at least 32 bytes).
    pub fn hs256(secret: impl AsRef<[u8]>) -> JwtBuilder {
        Self::builder().hs256(secret)
    }

    /// A builder with an HS384 secret (at least 32 bytes).
    pub fn hs384(secret: impl AsRef<[u8]>) -> JwtBuilder {
        Self::builder().hs384(secret)
    }

    /// A builder with an HS512 secret (at least 32 bytes).
    pub fn hs512(secret: impl AsRef<[u8]>) -> JwtBuilder {
        Self::builder().hs512(secret)
    }

    /// A builder with an RSA public key in PEM (`PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`).
    pub fn rsa_pem(pem: impl AsRef<[u8]>) -> JwtBuilder {
        Self::builder().rsa_pem(pem)
    }

    /// A builder with a P-256 or P-384 public key in PEM.
    pub fn ec_pem(pem: impl AsRef<[u8]>) -> JwtBuilder {
        Self::builder().ec_pem(pem)
    }

    /// A builder with an Ed25519 public key in PEM.
    pub fn ed_pem(pem: impl AsRef<[u8]>) -> JwtBuilder {
        Self::builder().ed_pem(pem)
    }

    /// A builder with the signing keys of a JSON Web Key Set (`{"keys": [...]}`).
    pub fn jwks(json: impl AsRef<str>) -> JwtBuilder {
        Self::builder().jwks(json)
    }

    /// The token of the request: a JWT-shaped bearer token, or the cookie.
    fn token<'a>(&self, bearer: Option<&'a str>, headers: &'a http::HeaderMap) -> Option<&'a str> {
        match bearer {
            Some(t) if looks_like_jwt(t) => Some(t),
            // Another kind of bearer credential: not ours, and it is the
            // credential the client chose, so the cookie is not consulted.
            Some(_) => None,
            None => cookie(headers, self.cookie.as_deref()?),
        }
    }

    /// The identity of a token verified lately, while it is still valid.
    fn cached(&self, token: &[u8], now: u64) -> Option<Identity> {
        let cache = self.verified.read().ok()?;
        let (identity, until) = cache.get(token)?;
        (now < *until).then(|| identity.clone())
    }

    /// Keeps a verified token's identity until its expiry (with the leeway
    /// it is accepted under), and not for long: nbf has passed, iat was checked.
    fn remember(&self, token: &str, identity: &Identity, now: u64) {
        let mut until = now + VERIFIED_SECONDS;
        if let Some(exp) = identity.claims.get("exp").and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64))) {
            until = until.min(exp.saturating_add(self.leeway));
        }
        if let Ok(mut cache) = self.verified.write() {
            if cache.len() >= VERIFIED_CAPACITY {
                cache.clear();
            }
            cache.insert(token.as_bytes().into(), (identity.clone(), until));
        }
    }

    /// The identity a verified token's claims name.
    fn identity(&self, claims: Value) -> Result<Identity, AuthError> {
        let role = match self.role_claim.get(&claims) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(role)) => role.clone(),
            Some(_) => return Err(AuthError::claims("JWT role claim is not a string")),
        };
        let name = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        Ok(Identity { role, claims: claims.into(), name, anonymous: false })
    }

    fn verify_uncached(&self, token: &str) -> Result<Value, AuthError> {
        let parts = token.split('.').count();
        if parts != 3 {
            return Err(AuthError::invalid(format!("Expected 3 parts in JWT; got {parts}")));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| header_refusal(&e))?;
        let by_kid: Vec<&VerifyKey> = match &header.kid {
            Some(kid) if self.keys.iter().any(|k| k.kid.as_ref() == Some(kid)) => {
                self.keys.iter().filter(|k| k.kid.as_ref() == Some(kid)).collect()
            }
            Some(_) => self.keys.iter().filter(|k| k.kid.is_none()).collect(),
            None => self.keys.iter().collect(),
        };
        if by_kid.is_empty() {
            return Err(AuthError::invalid("No suitable key or wrong key type"));
        }
        let mut last_error = None;
        for key in by_kid.into_iter().filter(|k| k.algorithms.contains(&header.alg)) {
            match jsonwebtoken::decode::<Value>(token, &key.key, &key.validation) {
                Ok(data) => return self.check_iat(data.claims),
                // Not this key: try the next one of the same kid and algorithm.
                Err(e) if is_key_mismatch(&e) => last_error = Some(e),
                // The signature was verified: the claims are what is wrong.
                Err(e) => return Err(refusal(&e)),
            }
        }
        Err(match last_error {
            Some(e) => refusal(&e),
            None => AuthError::invalid("Wrong or unsupported encoding algorithm"),
        })
    }

    /// jsonwebtoken checks `exp` and `nbf`; `iat` in the future is ours.
    fn check_iat(&self, claims: Value) -> Result<Value, AuthError> {
        match claims.get("iat") {
            None | Some(Value::Null) => Ok(claims),
            Some(iat) => match iat.as_f64() {
                Some(t) if t > (jsonwebtoken::get_current_timestamp() + self.leeway) as f64 => {
                    Err(AuthError::claims("JWT issued at future"))
                }
                Some(_) => Ok(claims),
                None => Err(AuthError::claims("JWT iat claim is not a number")),
            },
        }
    }
}

/// A decoding failure that means "wrong key" rather than "bad token".
fn is_key_mismatch(e: &JwtError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::InvalidSignature
            | ErrorKind::InvalidKeyFormat
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey
    )
}

fn header_refusal(e: &JwtError) -> AuthError {
    match e.kind() {
        // The header is JSON but not a header we accept: an unknown `alg`
        // ("none" included) or none at all.
        ErrorKind::Json(j) if j.classify() == serde_json::error::Category::Data => {
            AuthError::invalid("Wrong or unsupported encoding algorithm")
        }
        _ => AuthError::invalid("JWT header is malformed"),
    }
}

fn refusal(e: &JwtError) -> AuthError {
    match e.kind() {
        ErrorKind::ExpiredSignature => AuthError::claims("JWT expired"),
        ErrorKind::ImmatureSignature => AuthError::claims("JWT not yet valid"),
        ErrorKind::InvalidAudience => AuthError::claims("JWT not in audience"),
        ErrorKind::InvalidIssuer => AuthError::claims("JWT issuer is not trusted"),
        ErrorKind::InvalidSubject => AuthError::claims("JWT subject is not accepted"),
        ErrorKind::MissingRequiredClaim(c) => AuthError::claims(format!("JWT has no {c} claim")),
        ErrorKind::InvalidClaimFormat(c) => AuthError::claims(format!("JWT {c} claim is not a number")),
        ErrorKind::InvalidSignature => AuthError::invalid("JWT signature does not match"),
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
            AuthError::invalid("Wrong or unsupported encoding algorithm")
        }
        ErrorKind::InvalidKeyFormat | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidEddsaKey => {
            AuthError::invalid("No suitable key or wrong key type")
        }
        _ => AuthError::invalid("JWT is malformed"),
    }
}

/// The value of cookie `name`, unquoted; `None` when absent or empty.
fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    // HTTP/2 may split cookies over several headers.
    let value = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(n, v)| (n.trim() == name).then_some(v.trim()))?;
    let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
    (!value.is_empty()).then_some(value)
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<_> = self.keys.iter().map(|k| (k.kid.as_deref(), &k.algorithms)).collect();
        f.debug_struct("Jwt")
            .field("keys", &keys)
            .field("role_claim", &self.role_claim)
            .field("cookie", &self.cookie)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Authenticate for Jwt {
    async fn authenticate(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
        self.check(parts)
    }
    fn authenticate_now(&self, parts: &http::request::Parts) -> Option<Result<Option<Identity>, AuthError>> {
        // Verifying a signature is computation, not waiting (a static key or JWKS).
        Some(self.check(parts))
    }
}

impl Jwt {
    /// The whole check: the cache, else the signature and the claims.
    fn check(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
        let now = jsonwebtoken::get_current_timestamp();
        let bearer = bearer_bytes(&parts.headers);
        // Only verified tokens are cached, so a hit is a JWT: no need to look
        // at its shape again, or at its bytes as text.
        if let Some(identity) = bearer.and_then(|t| self.cached(t, now)) {
            return Ok(Some(identity));
        }
        let bearer = bearer.and_then(|t| std::str::from_utf8(t).ok());
        let Some(token) = self.token(bearer, &parts.headers) else {
            return Ok(None);
        };
        if bearer.is_none() {
            if let Some(identity) = self.cached(token.as_bytes(), now) {
                return Ok(Some(identity));
            }
        }
        let identity = self.identity(self.verify_uncached(token)?)?;
        self.remember(token, &identity, now);
        Ok(Some(identity))
    }
}

/// A checked key and the algorithms it verifies.
struct Checked {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

/// A key as configured, before it is checked.
enum KeySpec {
    Secret(Vec<u8>, Algorithm),
    RsaPem(Vec<u8>),
    EcPem(Vec<u8>),
    EdPem(Vec<u8>),
    Jwks(String),
}

/// Builds a [`Jwt`] authenticator. Keys accumulate: call several key
/// methods to accept tokens signed by any of them.
pub struct JwtBuilder {
    keys: Vec<KeySpec>,
    audience: Vec<String>,
    issuer: Vec<String>,
    leeway: Duration,
    role_claim: String,
    cookie: Option<String>,
    require_exp: bool,
}

impl JwtBuilder {
    /// Adds an HS256 secret (at least 32 bytes, as PostgREST requires).
    pub fn hs256(self, secret: impl AsRef<[u8]>) -> Self {
        self.key(KeySpec::Secret(secret.as_ref().to_vec(), Algorithm::HS256))
    }

    /// Adds an HS384 secret (at least 32 bytes).
    pub fn hs384(self, secret: impl AsRef<[u8]>) -> Self {
        self.key(KeySpec::Secret(secret.as_ref().to_vec(), Algorithm::HS384))
    }

    /// Adds an HS512 secret (at least 32 bytes).
    pub fn hs512(self, secret: impl AsRef<[u8]>) -> Self {
        self.key(KeySpec::Secret(secret.as_ref().to_vec(), Algorithm::HS512))
    }

    /// Adds an RSA public key in PEM: RS256/384/512 and PS256/384/512.
    pub fn rsa_pem(self, pem: impl AsRef<[u8]>) -> Self {
        self.key(KeySpec::RsaPem(pem.as_ref().to_vec()))
    }

    /// Adds a P-256 (ES256) or P-384 (ES384) public key in PEM.
    pub fn ec_pem(self, pem: impl AsRef<[u8]>) -> Self {
        self.key(KeySpec::EcPem(pem.as_ref().to_vec()))
    }

    /// Adds an Ed25519 (EdDSA) public key in PEM.
    pub fn ed_pem(self, pem: impl AsRef<[u8]>) -> Self {
        self.key(KeySpec::EdPem(pem.as_ref().to_vec()))
    }

    /// Adds the signing keys of a JSON Web Key Set. Keys for encryption
    /// (`use: enc`) and of unsupported types or curves are skipped; a set
    /// without any usable key is an error.
    pub fn jwks(self, json: impl AsRef<str>) -> Self {
        self.key(KeySpec::Jwks(json.as_ref().to_owned()))
    }

    fn key(mut self, key: KeySpec) -> Self {
        self.keys.push(key);
        self
    }

    /// Accepts tokens whose `aud` names `audience` (call again to accept
    /// several). Once an audience is set, tokens without `aud` are refused.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience.push(audience.into());
        self
    }

    /// Accepts tokens whose `iss` is `issuer` (call again to accept several).
    /// Once an issuer is set, tokens without `iss` are refused.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer.push(issuer.into());
        self
    }

    /// Clock skew allowed on `exp`, `nbf` and `iat` (default 30 seconds, whole seconds).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Where the role is in the claims (default `role`): keys separated by
    /// dots, `"quoted"` keys that contain dots, `[n]` array indexes, with an
    /// optional leading dot as in PostgREST's `jwt-role-claim-key`:
    /// `app_metadata.role`, `."https://example.com/role"`, `.roles[0]`.
    pub fn role_claim(mut self, path: impl Into<String>) -> Self {
        self.role_claim = path.into();
        self
    }

    /// Also reads the token from cookie `name` when the request has no
    /// `Authorization: Bearer` header.
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = Some(name.into());
        self
    }

    /// Refuses tokens without `exp` (default: `exp` is checked when present, as PostgREST does).
    pub fn require_exp(mut self, require: bool) -> Self {
        self.require_exp = require;
        self
    }

    /// The authenticator. Every key is decoded and checked here, so a bad
    /// key fails at startup rather than on the first request.
    pub fn build(self) -> Result<Jwt, AuthConfigError> {
        // jsonwebtoken panics on first use when it cannot tell which crypto
        // provider to use (both of its backends enabled somewhere in the
        // dependency graph). Install ours unless the application chose one.
        let _ = DEFAULT_PROVIDER.install_default();

        let role_claim = ClaimPath::parse(&self.role_claim)
            .map_err(|reason| AuthConfigError::InvalidClaimPath { path: self.role_claim.clone(), reason })?;
        if let Some(name) = &self.cookie {
            let separator = |c: char| "()<>@,;:\\\"/[]?={}".contains(c);
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_graphic() && !separator(c)) {
                return Err(AuthConfigError::InvalidCookie(name.clone()));
            }
        }

        let mut keys: Vec<Checked> = Vec::new();
        for spec in &self.keys {
            match spec {
                KeySpec::Secret(secret, alg) => {
                    if secret.len() < 32 {
                        return Err(AuthConfigError::WeakSecret);
                    }
                    keys.push(Checked { kid: None, algorithms: vec![*alg], key: DecodingKey::from_secret(secret) });
                }
                KeySpec::RsaPem(pem) => {
                    let key = DecodingKey::from_rsa_pem(pem).map_err(|e| bad_pem("RSA", e))?;
                    let algorithms = checked(&key, None).map_err(|e| bad_pem("RSA", e))?;
                    keys.push(Checked { kid: None, algorithms, key });
                }
                KeySpec::EcPem(pem) => {
                    let key = DecodingKey::from_ec_pem(pem).map_err(|e| bad_pem("EC", e))?;
                    let algorithms = checked(&key, None).map_err(|e| bad_pem("EC", e))?;
                    keys.push(Checked { kid: None, algorithms, key });
                }
                KeySpec::EdPem(pem) => {
                    let key = DecodingKey::from_ed_pem(pem).map_err(|e| bad_pem("Ed25519", e))?;
                    let algorithms = checked(&key, None).map_err(|e| bad_pem("Ed25519", e))?;
                    keys.push(Checked { kid: None, algorithms, key });
                }
                KeySpec::Jwks(json) => keys.extend(jwks_keys(json)?),
            }
        }
        if keys.is_empty() {
            return Err(AuthConfigError::NoKeys);
        }

        let leeway = self.leeway.as_secs();
        let keys = keys
            .into_iter()
            .map(|Checked { kid, algorithms, key }| {
                let mut v = Validation::new(algorithms[0]);
                v.algorithms = algorithms.clone();
                v.leeway = leeway;
                v.validate_exp = true;
                v.validate_nbf = true;
                v.required_spec_claims = HashSet::new();
                if self.require_exp {
                    v.required_spec_claims.insert("exp".to_owned());
                }
                if self.audience.is_empty() {
                    v.validate_aud = false;
                } else {
                    v.set_audience(&self.audience);
                    v.required_spec_claims.insert("aud".to_owned());
                }
                if !self.issuer.is_empty() {
                    v.set_issuer(&self.issuer);
                    v.required_spec_claims.insert("iss".to_owned());
                }
                VerifyKey { kid, algorithms, key, validation: v }
            })
            .collect();
        Ok(Jwt { keys, role_claim, cookie: self.cookie, leeway, verified: RwLock::new(HashMap::with_hasher(TokenHasher::new())) })
    }
}

impl fmt::Debug for JwtBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBuilder")
            .field("keys", &self.keys.len())
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("leeway", &self.leeway)
            .field("role_claim", &self.role_claim)
            .field("cookie", &self.cookie)
            .field("require_exp", &self.require_exp)
            .finish()
    }
}

fn bad_pem(kind: &'static str, e: JwtError) -> AuthConfigError {
    AuthConfigError::InvalidPem { kind, reason: e.to_string() }
}

/// Checks that `key` is a usable public key and returns the algorithms it
/// verifies: `alg` if given (it must belong to the key's family), else
/// those of its family, the curve deciding for EC keys.
fn checked(key: &DecodingKey, alg: Option<Algorithm>) -> Result<Vec<Algorithm>, JwtError> {
    let verifier = |alg: Algorithm| (DEFAULT_PROVIDER.verifier_factory)(&alg, key).map(|_| alg);
    if let Some(alg) = alg {
        if alg.family() != key.family() {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
    }
    match key.family() {
        AlgorithmFamily::Hmac => Ok(alg.map_or_else(|| AlgorithmFamily::Hmac.algorithms().to_vec(), |a| vec![a])),
        AlgorithmFamily::Rsa => {
            // The RSA verifier parses the key on each use: parse it once now.
            if let Ok(der) = key.try_get_as_bytes() {
                (DEFAULT_PROVIDER.key_utils.rsa_pub_components_from_public_key)(der)?;
            }
            Ok(alg.map_or_else(|| AlgorithmFamily::Rsa.algorithms().to_vec(), |a| vec![a]))
        }
        // The curve decides between ES256 and ES384: the verifier only
        // accepts a point of its own curve.
        AlgorithmFamily::Ec => match alg {
            Some(a) => Ok(vec![verifier(a)?]),
            None => verifier(Algorithm::ES256).or_else(|_| verifier(Algorithm::ES384)).map(|a| vec![a]),
        },
        AlgorithmFamily::Ed => {
            // jsonwebtoken's Ed25519 verifier slices the first 32 bytes
            // without checking the length.
            if key.try_get_as_bytes()?.len() != 32 {
                return Err(ErrorKind::InvalidEddsaKey.into());
            }
            Ok(vec![verifier(Algorithm::EdDSA)?])
        }
    }
}

/// The usable signing keys of a JWKS.
fn jwks_keys(json: &str) -> Result<Vec<Checked>, AuthConfigError> {
    let set: JwkSet = serde_json::from_str(json).map_err(|e| AuthConfigError::InvalidJwks(e.to_string()))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        if let Some(key) = jwk_key(jwk)? {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err(AuthConfigError::InvalidJwks("no usable signing key".to_owned()));
    }
    Ok(keys)
}

/// One JWK as a verification key; `None` for keys not meant for, or not
/// usable for, verifying signatures.
fn jwk_key(jwk: &Jwk) -> Result<Option<Checked>, AuthConfigError> {
    let kid = jwk.common.key_id.clone();
    let named = || kid.as_deref().unwrap_or("(no kid)").to_owned();
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Ok(None);
    }
    let alg = match jwk.common.key_algorithm {
        // An encryption algorithm (RSA-OAEP, …) or one jsonwebtoken lacks.
        Some(ka) => match Algorithm::try_from(ka) {
            Ok(a) => Some(a),
            Err(_) => return Ok(None),
        },
        None => None,
    };
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) if !matches!(p.curve, EllipticCurve::P256 | EllipticCurve::P384) => return Ok(None),
        AlgorithmParameters::OctetKeyPair(p) if p.curve != EllipticCurve::Ed25519 => return Ok(None),
        // Same floor as for configured secrets (the value is base64url).
        AlgorithmParameters::OctetKey(p) if p.value.trim_end_matches('=').len() * 3 / 4 < 32 => {
            return Err(AuthConfigError::InvalidJwks(format!("key {}: HMAC secret shorter than 32 bytes", named())));
        }
        AlgorithmParameters::Other(_) => return Ok(None),
        _ => {}
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| AuthConfigError::InvalidJwks(format!("key {}: {e}", named())))?;
    let algorithms = checked(&key, alg).map_err(|e| AuthConfigError::InvalidJwks(format!("key {}: {e}", named())))?;
    Ok(Some(Checked { kid, algorithms, key }))
}

/// A path into the claims, like PostgREST's `jwt-role-claim-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClaimPath(Vec<Step>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl ClaimPath {
    fn parse(path: &str) -> Result<ClaimPath, &'static str> {
        let mut rest = path.trim();
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if rest.is_empty() {
            return Err("the path is empty");
        }
        let mut steps = Vec::new();
        loop {
            if let Some(r) = rest.strip_prefix('"') {
                let end = r.find('"').ok_or("unterminated quoted key")?;
                steps.push(Step::Key(r[..end].to_owned()));
                rest = &r[end + 1..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']').ok_or("unterminated [index]")?;
                let index = r[..end].trim().parse().map_err(|_| "an [index] is not a number")?;
                steps.push(Step::Index(index));
                rest = &r[end + 1..];
            } else {
                let end = rest.find(['.', '[', '"']).unwrap_or(rest.len());
                if end == 0 {
                    return Err("a key is empty");
                }
                steps.push(Step::Key(rest[..end].to_owned()));
                rest = &rest[end..];
            }
            if rest.is_empty() {
                return Ok(ClaimPath(steps));
            }
            if let Some(r) = rest.strip_prefix('.') {
                if r.is_empty() {
                    return Err("the path ends with a dot");
                }
                rest = r;
            } else if !rest.starts_with('[') {
                return Err("a quoted key must be followed by '.' or '['");
            }
        }
    }

    fn get<'a>(&self, claims: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(claims, |v, step| match step {
            Step::Key(k) => v.get(k.as_str()),
            Step::Index(i) => v.get(*i),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> Vec<Step> {
        ClaimPath::parse(s).unwrap().0
    }

    fn key(s: &str) -> Step {
        Step::Key(s.to_owned())
    }

    #[test]
    fn claim_paths_parse_like_postgrest() {
        assert_eq!(path("role"), [key("role")]);
        assert_eq!(path(".role"), [key("role")]);
        assert_eq!(path("app_metadata.role"), [key("app_metadata"), key("role")]);
        assert_eq!(path(r#"."https://example.com/claims".role"#), [key("https://example.com/claims"), key("role")]);
        assert_eq!(path(".realm_access.roles[0]"), [key("realm_access"), key("roles"), Step::Index(0)]);
        assert_eq!(path("a[1][2]"), [key("a"), Step::Index(1), Step::Index(2)]);
        for bad in ["", ".", "a.", "a..b", r#""unterminated"#, "a[x]", "a[1", r#""a"b"#] {
            assert!(ClaimPath::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn claim_path_walks_objects_and_arrays() {
        let claims = serde_json::json!({"a": {"roles": ["x", "y"]}, "b.c": "dotted"});
        assert_eq!(ClaimPath::parse("a.roles[1]").unwrap().get(&claims), Some(&Value::from("y")));
        assert_eq!(ClaimPath::parse(r#""b.c""#).unwrap().get(&claims), Some(&Value::from("dotted")));
        assert_eq!(ClaimPath::parse("a.missing").unwrap().get(&claims), None);
        assert_eq!(ClaimPath::parse("a.roles[5]").unwrap().get(&claims), None);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = http::HeaderMap::new();
        h.append(http::header::COOKIE, "theme=dark; session=abc.def.ghi".parse().unwrap());
        h.append(http::header::COOKIE, "other=\"quoted\"; empty=".parse().unwrap());
        assert_eq!(cookie(&h, "session"), Some("abc.def.ghi"));
        assert_eq!(cookie(&h, "other"), Some("quoted"));
        assert_eq!(cookie(&h, "empty"), None);
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn bad_configuration_is_refused_at_build() {
        assert_eq!(Jwt::hs256("short").build().unwrap_err(), AuthConfigError::WeakSecret);
        assert_eq!(Jwt::builder().build().unwrap_err(), AuthConfigError::NoKeys);
        assert!(matches!(Jwt::rsa_pem("not a pem").build(), Err(AuthConfigError::InvalidPem { kind: "RSA", .. })));
        assert!(matches!(Jwt::ec_pem("not a pem").build(), Err(AuthConfigError::InvalidPem { kind: "EC", .. })));
        assert!(matches!(Jwt::jwks("{}").build(), Err(AuthConfigError::InvalidJwks(_))));
        assert!(matches!(Jwt::jwks(r#"{"keys": []}"#).build(), Err(AuthConfigError::InvalidJwks(_))));
        let secret = "0123456789abcdef0123456789abcdef";
        assert!(matches!(Jwt::hs256(secret).role_claim("a..b").build(), Err(AuthConfigError::InvalidClaimPath { .. })));
        assert!(matches!(Jwt::hs256(secret).cookie("a b").build(), Err(AuthConfigError::InvalidCookie(_))));
    }
}
