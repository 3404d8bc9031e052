//! The state every handler shares, and how a request path maps to its
//! counting key, rate-limit bucket and required scope.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, MutexGuard};

use super::faults::Traversals;
use super::oauth::TokenStore;
use super::options::{Bucket, OktaOptions};
use super::ratelimit::Limiter;
use super::state::Org;

/// Shared by every connection.
pub type AppRef = Arc<App>;

/// The emulator's state.
#[derive(Debug)]
pub struct App {
    /// The org's objects and log.
    pub org: Mutex<Org>,
    /// The options it was started with.
    pub options: OktaOptions,
    /// Requests per endpoint (`GET /api/v1/users/{id}`).
    pub counts: Mutex<BTreeMap<String, u64>>,
    /// Requests per concrete path, for scripted and seeded faults.
    pub ordinals: Mutex<BTreeMap<String, u64>>,
    /// The rate-limit windows.
    pub limiter: Mutex<Limiter>,
    /// Issued access tokens, seen assertion and proof ids, DPoP nonces.
    pub tokens: Mutex<TokenStore>,
    /// Page numbers of traversals, for page faults.
    pub traversals: Mutex<Traversals>,
    /// API requests being answered right now.
    pub in_flight: AtomicU32,
}

impl App {
    /// Starts from `org` with `options`.
    pub fn new(org: Org, options: OktaOptions) -> Self {
        let tokens = TokenStore::new(options.seed);
        Self {
            org: Mutex::new(org),
            counts: Mutex::new(BTreeMap::new()),
            ordinals: Mutex::new(BTreeMap::new()),
            limiter: Mutex::new(Limiter::new(options.rate_limits.clone())),
            tokens: Mutex::new(tokens),
            in_flight: AtomicU32::new(0),
            traversals: Mutex::new(Traversals::default()),
            options,
        }
    }

    /// The org, locked (a poisoned lock is still usable: state stays consistent per call).
    pub fn org(&self) -> MutexGuard<'_, Org> {
        self.org.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Locks `mutex`, ignoring poisoning.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the gate needs to know about a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The path with ids replaced, e.g. `/api/v1/groups/{id}/users`.
    pub template: String,
    /// Its rate-limit bucket.
    pub bucket: Bucket,
    /// The OAuth scope it needs: `None` for the token endpoint (no
    /// authentication), `Some("")` for unknown paths (authentication only).
    pub scope: Option<&'static str>,
}

/// Classifies a request path.
pub fn classify(path: &str) -> Route {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let route = |template: &str, bucket, scope| Route {
        template: template.to_owned(),
        bucket,
        scope,
    };
    match segments.as_slice() {
        ["oauth2", "v1", "token"] => route("/oauth2/v1/token", Bucket::Token, None),
        ["api", "v1", "users"] => route("/api/v1/users", Bucket::Users, Some("okta.users.read")),
        ["api", "v1", "users", _] => route(
            "/api/v1/users/{id}",
            Bucket::UserById,
            Some("okta.users.read"),
        ),
        ["api", "v1", "users", _, rest @ ..] => route(
            &format!("/api/v1/users/{{id}}/{}", rest.join("/")),
            Bucket::Users,
            Some("okta.users.read"),
        ),
        ["api", "v1", "groups"] => {
            route("/api/v1/groups", Bucket::Groups, Some("okta.groups.read"))
        }
        ["api", "v1", "groups", _] => route(
            "/api/v1/groups/{id}",
            Bucket::GroupById,
            Some("okta.groups.read"),
        ),
        ["api", "v1", "groups", _, rest @ ..] => route(
            &format!("/api/v1/groups/{{id}}/{}", rest.join("/")),
            Bucket::Groups,
            Some("okta.groups.read"),
        ),
        ["api", "v1", "logs"] => route("/api/v1/logs", Bucket::Logs, Some("okta.logs.read")),
        _ => route(path, Bucket::Other, Some("")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_count_against_the_base_bucket() {
        let members = classify("/api/v1/groups/00g1/users");
        assert_eq!(members.template, "/api/v1/groups/{id}/users");
        assert_eq!(members.bucket, Bucket::Groups);
        assert_eq!(members.scope, Some("okta.groups.read"));
        assert_eq!(classify("/api/v1/groups/00g1").bucket, Bucket::GroupById);
        assert_eq!(classify("/api/v1/users/00u1").bucket, Bucket::UserById);
        assert_eq!(classify("/api/v1/users/00u1/groups").bucket, Bucket::Users);
        assert_eq!(classify("/api/v1/logs").scope, Some("okta.logs.read"));
        assert_eq!(classify("/oauth2/v1/token").scope, None);
    }
}
