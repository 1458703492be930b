//! A chain of authenticators, and the anonymous role.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::{bearer_token, AuthError, Authenticate, Identity};

/// Tries authenticators in order; the first that recognises credentials decides.
///
/// For each request the authenticators run in the order they were added:
///
/// - the first `Ok(Some(identity))` is the caller (later ones do not run);
/// - the first `Err` refuses the request (a bad credential is never
///   skipped in favour of another one or of the anonymous role);
/// - when every one answers `Ok(None)`, the request carried no credentials
///   any of them recognises: it gets the anonymous role if one is set, and
///   is 401 `PGRST302` otherwise. A bearer token nobody took (a JWT with only
///   API keys configured, an empty `Authorization: Bearer`) is not "no
///   credentials": it is 401 `PGRST301`.
///
/// An identity with an empty role (a JWT without the role claim) gets the
/// anonymous role, keeping its claims and name and staying non-anonymous,
/// as PostgREST does; without an anonymous role it is 401 `PGRST302`.
///
/// The ready authenticators split bearer tokens by shape, so their order
/// does not matter for those: a token that looks like a JWT goes to `Jwt`,
/// any other to [`ApiKeys`](super::ApiKeys). Order matters when a request
/// carries two kinds of credentials (an `apikey` header and a JWT): the
/// first authenticator that recognises its kind wins.
///
/// # Example
///
/// ```
/// use restgate_core::auth::{ApiKeys, Authenticators};
///
/// let chain = Authenticators::new()
///     .with(ApiKeys::builder().key("s3cr3t-service-key", "service", "billing").build()?)
///     .anonymous_role(Some("web_anon"));
/// # Ok::<(), restgate_core::auth::AuthConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct Authenticators {
    chain: Vec<Arc<dyn Authenticate>>,
    anonymous_role: Option<String>,
}

impl Authenticators {
    /// An empty chain without an anonymous role: every request is 401 `PGRST302`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an authenticator.
    pub fn with(mut self, authenticator: impl Authenticate) -> Self {
        self.chain.push(Arc::new(authenticator));
        self
    }

    /// The role of requests without credentials (PostgREST's
    /// `db-anon-role`); `None` (the default) refuses them with 401 `PGRST302`.
    pub fn anonymous_role(mut self, role: Option<&str>) -> Self {
        self.anonymous_role = role.filter(|r| !r.is_empty()).map(str::to_owned);
        self
    }

    fn with_role(&self, identity: Identity) -> Result<Identity, AuthError> {
        if !identity.role.is_empty() {
            return Ok(identity);
        }
        match &self.anonymous_role {
            Some(role) => Ok(Identity { role: role.clone(), ..identity }),
            None => Err(AuthError::Missing),
        }
    }
}

impl fmt::Debug for Authenticators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticators").field("len", &self.chain.len()).field("anonymous_role", &self.anonymous_role).finish()
    }
}

#[async_trait]
impl Authenticate for Authenticators {
    async fn authenticate(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
        for authenticator in &self.chain {
            if let Some(identity) = super::authenticate(&**authenticator, parts).await? {
                return self.with_role(identity).map(Some);
            }
        }
        self.nobody(parts)
    }

    fn authenticate_now(&self, parts: &http::request::Parts) -> Option<Result<Option<Identity>, AuthError>> {
        // Only while every authenticator answers at once; else the chain runs
        // again as a future (the ones before answer the same again).
        for authenticator in &self.chain {
            match (**authenticator).authenticate_now(parts)? {
                Ok(Some(identity)) => return Some(self.with_role(identity).map(Some)),
                Ok(None) => {}
                Err(e) => return Some(Err(e)),
            }
        }
        Some(self.nobody(parts))
    }
}

impl Authenticators {
    /// The answer when no authenticator recognised credentials.
    fn nobody(&self, parts: &http::request::Parts) -> Result<Option<Identity>, AuthError> {
        match bearer_token(&parts.headers) {
            Some("") => Err(AuthError::invalid("Empty JWT is sent in Authorization header")),
            Some(_) => Err(AuthError::invalid("The bearer token is not accepted by any configured authenticator")),
            None => match &self.anonymous_role {
                Some(role) => Ok(Some(Identity::anonymous(role.clone()))),
                None => Err(AuthError::Missing),
            },
        }
    }
}
