//! The state one running emulator shares across connections, and the
//! pipeline every Graph call (top-level or `$batch` item) goes through:
//! throttle, route, fidelity headers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use super::auth::{Principal, TokenIssuer};
use super::delta::DeltaTokens;
use super::odata::PageTokens;
use super::options::GraphOptions;
use super::state::Directory;
use super::throttle::Throttle;
use super::wire::{ApiRequest, ApiResponse};

/// Everything behind one emulator.
pub(crate) struct Shared {
    pub opts: GraphOptions,
    base_url: OnceLock<String>,
    pub dir: Mutex<Directory>,
    pub pages: Mutex<PageTokens>,
    pub delta: Mutex<DeltaTokens>,
    pub throttle: Mutex<Throttle>,
    pub counts: Mutex<BTreeMap<String, u64>>,
    /// Writes carried out (2xx), as `METHOD /path`.
    pub writes: Mutex<Vec<String>>,
    /// Identity Protection's risky users.
    pub risky: Mutex<super::risky::RiskyUsers>,
    pub issuer: TokenIssuer,
    /// Bumped to revoke every issued access token.
    pub token_epoch: AtomicU64,
    /// Request and trace ids (not seeded from the directory's generator, so
    /// they don't shift its ids).
    ids: Mutex<ChaCha8Rng>,
    /// Scripted faults still to apply.
    pub injected: Mutex<Vec<super::options::InjectedFault>>,
    /// Names the token endpoint accepts as `{tenant}`.
    pub tenant_names: BTreeSet<String>,
    /// The domain guest UPNs end in.
    pub guest_domain: String,
}

impl Shared {
    pub fn new(opts: GraphOptions) -> Result<Self, String> {
        // New object ids are unique across runs, as Graph's are: the seed
        // keeps faults and orders repeatable, never the ids of new objects.
        let rng = ChaCha8Rng::seed_from_u64(opts.seed ^ run_entropy());
        let dir = match &opts.snapshot {
            Some(path) => Directory::load(path, rng)?,
            None => Directory::empty(rng),
        };
        let guest_domain = opts
            .tenant_domain
            .clone()
            .or_else(|| dir.guest_domain())
            .unwrap_or_else(|| "contoso.onmicrosoft.com".to_owned());
        let mut tenant_names: BTreeSet<String> = dir.verified_domains();
        tenant_names.insert(opts.tenant_id.to_lowercase());
        tenant_names.insert(guest_domain.to_lowercase());
        let mut key_rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5eed_70c3);
        let key: [u8; 32] = rand::RngExt::random(&mut key_rng);
        Ok(Self {
            throttle: Mutex::new(Throttle::new(opts.throttle.clone())),
            delta: Mutex::new(DeltaTokens::default()),
            pages: Mutex::new(PageTokens::default()),
            counts: Mutex::new(BTreeMap::new()),
            writes: Mutex::new(Vec::new()),
            risky: Mutex::new(super::risky::RiskyUsers::default()),
            issuer: TokenIssuer::new(key.to_vec()),
            token_epoch: AtomicU64::new(0),
            ids: Mutex::new(ChaCha8Rng::seed_from_u64(opts.seed ^ 0x1d5 ^ run_entropy())),
            base_url: OnceLock::new(),
            injected: Mutex::new(opts.faults.injected.clone()),
            dir: Mutex::new(dir),
            tenant_names,
            guest_domain,
            opts,
        })
    }

    /// Sets the base URL once the listener is bound.
    pub fn set_base_url(&self, url: String) {
        let _ = self.base_url.set(url);
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        self.base_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1")
    }

    /// Locks the directory (never held across an await).
    pub fn dir(&self) -> MutexGuard<'_, Directory> {
        self.dir.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh GUID for request and trace ids.
    pub fn request_id(&self) -> String {
        let mut rng = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        super::state::guid(&mut *rng)
    }

    /// Adds one to a request counter; returns the count before.
    pub fn count(&self, key: &str) -> u64 {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(key.to_owned()).or_insert(0);
        *n += 1;
        *n - 1
    }

    /// How many times `key` has been counted.
    pub fn count_of(&self, key: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(key).copied().unwrap_or(0)
    }

    /// The injected fault for this request to `key`, if one is queued.
    pub fn take_injected(&self, key: &str, in_batch: bool) -> Option<super::faults::Fault> {
        let mut queue = self.injected.lock().unwrap_or_else(|p| p.into_inner());
        super::faults::take_injected(&mut queue, key, in_batch)
    }

    /// The current token epoch.
    pub fn epoch(&self) -> u64 {
        self.token_epoch.load(Ordering::SeqCst)
    }

    /// Throttles, then routes one Graph call, then adds the RU headers.
    pub fn execute(&self, req: &ApiRequest, principal: &Principal, now: Instant) -> ApiResponse {
        let charge = {
            let mut throttle = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
            throttle.charge(&principal.app_id, &self.opts.tenant_id, req, now)
        };
        let charge = match charge {
            Ok(c) => c,
            Err(resp) => return resp,
        };
        // A handler bug answers 500 (and names the request) instead of dropping the connection.
        let routed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            super::router::route(self, req, principal, now)
        }));
        let mut resp = routed.unwrap_or_else(|_| {
            ApiResponse::error(
                500,
                "InternalServerError",
                format!(
                    "the emulator failed on {} {}; this is an emulator bug",
                    req.method, req.path
                ),
            )
        });
        if req.is_write() && resp.is_success() {
            let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
            writes.push(format!("{} {}", req.method, req.path));
        }
        resp.headers
            .push(("x-ms-resource-unit".into(), charge.units.to_string()));
        if let Some(share) = charge.limit_percentage {
            resp.headers.push((
                "x-ms-throttle-limit-percentage".into(),
                format!("{:.1}", share.min(1.8)),
            ));
        }
        resp
    }
}

/// `METHOD /normalised/path`: ids, UPNs and tenants replaced by placeholders.
pub(crate) fn endpoint_key(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut out = Vec::with_capacity(segments.len());
    let keywords = [
        "v1.0",
        "beta",
        "users",
        "groups",
        "teams",
        "members",
        "owners",
        "delta",
        "$ref",
        "$count",
        "$batch",
        "add",
        "assignLicense",
        "revokeSignInSessions",
        "manager",
        "team",
        "invitations",
        "subscribedSkus",
        "directory",
        "deletedItems",
        "restore",
        "identityProtection",
        "riskyUsers",
        "confirmCompromised",
        "dismiss",
        "directoryObjects",
        "memberOf",
        "ownedObjects",
        "transitiveMembers",
        "operations",
        "oauth2",
        "v2.0",
        "token",
        "microsoft.graph.delta",
        "microsoft.graph.user",
        "microsoft.graph.group",
        "_emulator",
        "requests",
        "state",
    ];
    for (i, segment) in segments.iter().enumerate() {
        let (s, keyed) = match segment.split_once('(') {
            Some((name, _)) => (name, true),
            None => (*segment, false),
        };
        if i == 0 && segments.get(1) == Some(&"oauth2") {
            out.push("{tenant}".to_owned());
        } else if keywords.iter().any(|k| k.eq_ignore_ascii_case(s)) {
            out.push(s.to_owned());
        } else {
            out.push("{id}".to_owned());
        }
        if keyed {
            out.push("{id}".to_owned());
        }
    }
    format!("{method} /{}", out.join("/"))
}

/// A different number for every emulator started (clock and a counter).
fn run_entropy() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STARTED: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos
        ^ STARTED
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keys_hide_ids_and_upns() {
        assert_eq!(
            endpoint_key("GET", "/v1.0/users/ann@acme.example"),
            "GET /v1.0/users/{id}"
        );
        assert_eq!(
            endpoint_key("DELETE", "/v1.0/groups/1c44/members/9a/$ref"),
            "DELETE /v1.0/groups/{id}/members/{id}/$ref"
        );
        assert_eq!(
            endpoint_key("POST", "/8f2c/oauth2/v2.0/token"),
            "POST /{tenant}/oauth2/v2.0/token"
        );
        assert_eq!(
            endpoint_key("GET", "/v1.0/users('x')/manager"),
            "GET /v1.0/users/{id}/manager"
        );
    }
}
