//! Static API keys, each mapped to a role and a name.

use std::fmt;

use async_trait::async_trait;
use http::HeaderName;
use sha2::{Digest, Sha256};

use super::{bearer_token, looks_like_jwt, AuthConfigError, AuthError, Authenticate, Identity};

type KeyDigest = [u8; 32];

/// Authenticates requests by static API keys.
///
/// A key is read from the configured header (`apikey` by default) or, when
/// that header is absent, from `Authorization: Bearer <key>` when the bearer
/// token does not have a JWT's shape (those are left to the `Jwt`
/// authenticator). A valid key gives an [`Identity`] with the key's role,
/// its name as `name`, and `{"role": role, "sub": name}` as claims. An
/// unknown key is 401 `PGRST301`; revoking a key is removing it from the
/// configuration.
///
/// Only the SHA-256 digest of each key is kept. A presented key is hashed
/// and compared with every configured digest in constant time, so neither
/// the timing nor the position of a match tells anything about the keys.
/// Keys are never logged, and the `Debug` output shows only the names and
/// roles. Configure plaintext keys with [`ApiKeysBuilder::key`] or, to keep
/// them out of your configuration, their digests with
/// [`ApiKeysBuilder::key_hash`] (computed with [`ApiKeys::hash`] or
/// `printf %s "$KEY" | sha256sum`).
///
/// # Example
///
/// ```
/// use restgate_core::auth::ApiKeys;
///
/// let keys = ApiKeys::builder()
///     .header("x-api-key")
///     .key("k3y-for-the-reporting-job", "reporter", "reporting job")
///     .key_hash(ApiKeys::hash("k3y-for-the-dashboard"), "viewer", "dashboard")
///     .build()?;
/// assert!(!format!("{keys:?}").contains("k3y"));
/// # Ok::<(), restgate_core::auth::AuthConfigError>(())
/// ```
pub struct ApiKeys {
    header: HeaderName,
    keys: Vec<Entry>,
}

struct Entry {
    digest: KeyDigest,
    /// The identity the key proves, built once.
    identity: Identity,
}

impl ApiKeys {
    /// A builder with the default header `apikey` and no keys.
    pub fn builder() -> ApiKeysBuilder {
        ApiKeysBuilder { header: "apikey".to_owned(), keys: Vec::new() }
    }

    /// The hex SHA-256 digest of `key`, as [`ApiKeysBuilder::key_hash`] takes it.
    ///
    /// ```
    /// use restgate_core::auth::ApiKeys;
    ///
    /// assert_eq!(ApiKeys::hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /// ```
    pub fn hash(key: &str) -> String {
        Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The configured key whose digest equals `digest`. Every configured
    /// digest is compared, each in constant time.
    fn find(&self, digest: &KeyDigest) -> Option<&Entry> {
        let mut found = None;
        for entry in &self.keys {
            if ct_eq(&entry.digest, digest) {
                found = Some(entry);
            }
        }
        found
    }
}

/// Compares two digests in time independent of where they differ.
fn ct_eq(a: &KeyDigest, b: &KeyDigest) -> bool {
    let diff = a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("header", &self.header)
            .field("keys", &self.keys.iter().map(|k| (&k.identity.name, &k.identity.role)).collect::<Vec<_>>())
            .finish()
    }
}

#[async_trait]
impl Authenticate for ApiKeys {
    async fn authenticate(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
        self.check(parts)
    }
    fn authenticate_now(&self, parts: &http::request::Parts) -> Option<Result<Option<Identity>, AuthError>> {
        Some(self.check(parts))
    }
}

impl ApiKeys {
    /// The whole check: a lookup, nothing to wait for.
    fn check(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
        let presented = match parts.headers.get(&self.header) {
            // A header that is not visible ASCII cannot be a configured key,
            // but it is a credential: refuse it rather than fall through.
            Some(v) => v.to_str().unwrap_or("").trim(),
            None => match bearer_token(&parts.headers) {
                Some(t) if !t.is_empty() && !looks_like_jwt(t) => t,
                _ => return Ok(None),
            },
        };
        let digest: KeyDigest = Sha256::digest(presented.as_bytes()).into();
        match self.find(&digest) {
            Some(entry) => Ok(Some(entry.identity.clone())),
            None => Err(AuthError::invalid("Invalid API key")),
        }
    }
}

/// Builds [`ApiKeys`].
pub struct ApiKeysBuilder {
    header: String,
    keys: Vec<(Result<KeyDigest, AuthConfigError>, String, String)>,
}

impl ApiKeysBuilder {
    /// The header the key is read from (default `apikey`). Keys are also
    /// accepted as `Authorization: Bearer <key>`.
    pub fn header(mut self, name: impl Into<String>) -> Self {
        self.header = name.into();
        self
    }

    /// Accepts `key` (plaintext; only its digest is kept) as `role`, under
    /// `name` (for logs and audit).
    pub fn key(mut self, key: impl AsRef<str>, role: impl Into<String>, name: impl Into<String>) -> Self {
        let name = name.into();
        let key = key.as_ref();
        let digest = if key.is_empty() { Err(AuthConfigError::EmptyKey { name: name.clone() }) } else { Ok(Sha256::digest(key).into()) };
        self.keys.push((digest, role.into(), name));
        self
    }

    /// Accepts the key whose SHA-256 digest is `sha256_hex` (64 hex digits)
    /// as `role`, under `name`.
    pub fn key_hash(mut self, sha256_hex: impl AsRef<str>, role: impl Into<String>, name: impl Into<String>) -> Self {
        let name = name.into();
        let digest = parse_hex(sha256_hex.as_ref()).ok_or_else(|| AuthConfigError::InvalidKeyHash { name: name.clone() });
        self.keys.push((digest, role.into(), name));
        self
    }

    /// The authenticator; fails on an invalid header name, a malformed
    /// hash, an empty key or a key configured twice. An empty key list is
    /// allowed (every presented key is then refused).
    pub fn build(self) -> Result<ApiKeys, AuthConfigError> {
        let header = HeaderName::try_from(self.header.as_str()).map_err(|_| AuthConfigError::InvalidHeader(self.header.clone()))?;
        let mut keys: Vec<Entry> = Vec::with_capacity(self.keys.len());
        for (digest, role, name) in self.keys {
            let digest = digest?;
            if keys.iter().any(|k| k.digest == digest) {
                return Err(AuthConfigError::DuplicateKey { name });
            }
            let claims = serde_json::json!({ "role": role, "sub": name });
            keys.push(Entry { digest, identity: Identity::new(role).with_name(name).with_claims(claims) });
        }
        Ok(ApiKeys { header, keys })
    }
}

impl fmt::Debug for ApiKeysBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeysBuilder")
            .field("header", &self.header)
            .field("keys", &self.keys.iter().map(|(_, role, name)| (name, role)).collect::<Vec<_>>())
            .finish()
    }
}

fn parse_hex(s: &str) -> Option<KeyDigest> {
    let s = s.trim().as_bytes();
    if s.len() != 64 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digest_round_trips() {
        let hex = ApiKeys::hash("secret");
        let digest: KeyDigest = Sha256::digest(b"secret").into();
        assert_eq!(parse_hex(&hex), Some(digest));
        assert_eq!(parse_hex(&hex.to_uppercase()), Some(digest));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex(&"zz".repeat(32)), None);
    }

    #[test]
    fn constant_time_eq_compares_every_byte() {
        let a = [7u8; 32];
        let mut b = a;
        assert!(ct_eq(&a, &b));
        b[31] = 8;
        assert!(!ct_eq(&a, &b));
    }

    #[test]
    fn bad_configuration_is_refused() {
        assert_eq!(
            ApiKeys::builder().key_hash("nothex", "r", "n").build().unwrap_err(),
            AuthConfigError::InvalidKeyHash { name: "n".into() }
        );
        assert_eq!(ApiKeys::builder().key("", "r", "n").build().unwrap_err(), AuthConfigError::EmptyKey { name: "n".into() });
        assert_eq!(
            ApiKeys::builder().key("same", "a", "one").key_hash(ApiKeys::hash("same"), "b", "two").build().unwrap_err(),
            AuthConfigError::DuplicateKey { name: "two".into() }
        );
        assert!(matches!(ApiKeys::builder().header("bad header").build(), Err(AuthConfigError::InvalidHeader(_))));
    }

    #[test]
    fn debug_never_shows_keys_or_digests() {
        let keys = ApiKeys::builder().key("plaintext-key", "role", "the name").build().unwrap();
        let shown = format!("{keys:?}");
        assert!(shown.contains("the name") && shown.contains("role"));
        assert!(!shown.contains("plaintext-key") && !shown.contains(&ApiKeys::hash("plaintext-key")[..16]));
    }
}
