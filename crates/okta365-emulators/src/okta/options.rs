//! The emulator's knobs: what it is seeded from, who may call it, how it
//! throttles and which faults it injects. Plain data, no behaviour.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How an [`OktaEmulator`](super::OktaEmulator) is set up.
#[derive(Clone)]
pub struct OktaOptions {
    /// A snapshot folder to seed the org from. Its `okta/` subfolder (or the
    /// folder itself, if it holds `users.json` directly) holds `users.json`,
    /// `groups.json`, `group-members.json` and optionally `logs.json`.
    /// `None` starts an empty org.
    pub snapshot: Option<PathBuf>,
    /// API tokens accepted as `Authorization: SSWS <token>`; they carry every scope.
    pub api_tokens: Vec<String>,
    /// OAuth 2.0 service apps allowed to use `POST /oauth2/v1/token`.
    pub service_apps: Vec<ServiceApp>,
    /// Lifetime of issued access tokens (Okta: fixed at one hour).
    pub token_lifetime: Duration,
    /// How long a DPoP nonce is handed out before a new one replaces it
    /// (Okta: 24 h). The one before stays valid until the next rotation.
    pub dpop_nonce_lifetime: Duration,
    /// How long user writes take to reach `search`, `filter` and `q` (Okta:
    /// "eventually consistent", typically under a second). Lists without
    /// them and reads by id are current at once.
    pub search_lag: Duration,
    /// A full last page of users, groups or members still carries a `next`
    /// link, to an empty page: clients must take an empty page as the end too.
    pub full_page_next: bool,
    /// Per-bucket rate limits.
    pub rate_limits: RateLimits,
    /// Requests in flight at once before a concurrency 429 (Okta Workforce: 75).
    pub concurrency: u32,
    /// Injected faults.
    pub faults: Faults,
    /// Event hooks the org delivers System Log events to (loopback URLs only).
    pub event_hooks: Vec<EventHook>,
    /// Seeds every random choice: ids, tokens, nonces and faults.
    pub seed: u64,
}

/// A registered, active event hook.
#[derive(Clone)]
pub struct EventHook {
    /// Where deliveries go, e.g. `http://127.0.0.1:PORT/okta/events`.
    pub url: String,
    /// The `Authorization` header value sent with every call (a shared secret).
    pub authorization: String,
    /// The event types it subscribes to, e.g. `user.lifecycle.deactivate`.
    pub event_types: Vec<String>,
}

impl std::fmt::Debug for EventHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHook")
            .field("url", &self.url)
            .field("authorization", &"[redacted]")
            .field("event_types", &self.event_types)
            .finish()
    }
}

impl std::fmt::Debug for OktaOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaOptions")
            .field("snapshot", &self.snapshot)
            .field(
                "api_tokens",
                &format_args!("[{} redacted]", self.api_tokens.len()),
            )
            .field("service_apps", &self.service_apps)
            .field("token_lifetime", &self.token_lifetime)
            .field("dpop_nonce_lifetime", &self.dpop_nonce_lifetime)
            .field("search_lag", &self.search_lag)
            .field("full_page_next", &self.full_page_next)
            .field("rate_limits", &self.rate_limits)
            .field("concurrency", &self.concurrency)
            .field("faults", &self.faults)
            .field("event_hooks", &self.event_hooks)
            .field("seed", &self.seed)
            .finish()
    }
}

impl Default for OktaOptions {
    fn default() -> Self {
        Self {
            snapshot: None,
            api_tokens: Vec::new(),
            service_apps: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            dpop_nonce_lifetime: Duration::from_secs(24 * 3600),
            search_lag: Duration::ZERO,
            full_page_next: false,
            rate_limits: RateLimits::default(),
            concurrency: 75,
            faults: Faults::default(),
            event_hooks: Vec::new(),
            seed: 0,
        }
    }
}

/// An API Services app registered in the org.
#[derive(Debug, Clone)]
pub struct ServiceApp {
    /// The app's client id (`iss` and `sub` of its client assertions).
    pub client_id: String,
    /// The public key its `private_key_jwt` assertions are verified with.
    pub public_key: PublicKey,
    /// Okta API scopes granted to the app, e.g. `okta.users.read`.
    pub scopes: Vec<String>,
    /// Whether token requests need a DPoP proof (Okta's default for new apps).
    pub require_dpop: bool,
}

/// A registered public key.
#[derive(Debug, Clone)]
pub enum PublicKey {
    /// A PEM `PUBLIC KEY` (RSA or P-256).
    Pem(String),
    /// A public JWK, as registered in the app's JWKS.
    Jwk(serde_json::Value),
}

/// The rate-limit buckets, named after the endpoint families Okta documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    /// `/api/v1/users` and its extensions except `/api/v1/users/{id}` itself.
    Users,
    /// `GET /api/v1/users/{idOrLogin}` only.
    UserById,
    /// `/api/v1/groups` and its extensions (including `/groups/{id}/users`).
    Groups,
    /// `/api/v1/groups/{id}` only.
    GroupById,
    /// `/api/v1/logs`.
    Logs,
    /// `/oauth2/v1/token`.
    Token,
    /// Any other `/api/v1` path.
    Other,
}

impl Bucket {
    /// Every bucket, in a stable order.
    pub const ALL: [Bucket; 7] = [
        Bucket::Users,
        Bucket::UserById,
        Bucket::Groups,
        Bucket::GroupById,
        Bucket::Logs,
        Bucket::Token,
        Bucket::Other,
    ];

    /// The name used on the command line and in docs.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Users => "/api/v1/users",
            Bucket::UserById => "/api/v1/users/{id}",
            Bucket::Groups => "/api/v1/groups",
            Bucket::GroupById => "/api/v1/groups/{id}",
            Bucket::Logs => "/api/v1/logs",
            Bucket::Token => "/oauth2/v1/token",
            Bucket::Other => "/api/v1",
        }
    }

    /// Parses a bucket name as printed by [`Bucket::name`].
    pub fn from_name(name: &str) -> Option<Bucket> {
        Bucket::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The Workforce Identity org's published per-minute limit.
    pub fn workforce_limit(self) -> u32 {
        match self {
            Bucket::Users => 600,
            Bucket::UserById => 2000,
            Bucket::Groups => 500,
            Bucket::GroupById => 1000,
            Bucket::Logs => 120,
            Bucket::Token => 600,
            Bucket::Other => 1200,
        }
    }
}

/// Rate-limit knobs: requests per window for each bucket.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Requests allowed per window; buckets not listed use Okta's Workforce limits.
    pub per_bucket: BTreeMap<Bucket, u32>,
    /// The window length (Okta: about a minute). Tests shorten it.
    pub window: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_bucket: BTreeMap::new(),
            window: Duration::from_secs(60),
        }
    }
}

impl RateLimits {
    /// The limit of `bucket`.
    pub fn limit(&self, bucket: Bucket) -> u32 {
        self.per_bucket
            .get(&bucket)
            .copied()
            .unwrap_or_else(|| bucket.workforce_limit())
    }
}

/// Fault knobs. Random faults are drawn per request from the seed, the path
/// and the request's ordinal on that path, so a sequential client sees the
/// same faults on every run with the same seed.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Share of API requests answered with a 500 or 503 (0.0 to 1.0).
    pub error_rate: f64,
    /// Share of API requests that hang for [`Faults::timeout`] before a 500.
    pub timeout_rate: f64,
    /// How long a timed-out request hangs.
    pub timeout: Duration,
    /// Share of API requests whose connection is reset without a response.
    pub reset_rate: f64,
    /// Scripted faults on given requests.
    pub scripted: Vec<ScriptedFault>,
    /// Scripted faults on given pages of a traversal.
    pub pages: Vec<PageFault>,
    /// Share of event hook deliveries sent a second time (same `eventId`).
    pub hook_duplicate_rate: f64,
    /// Deliver the events of a hook batch newest first.
    pub hook_reorder: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            timeout_rate: 0.0,
            timeout: Duration::from_secs(30),
            reset_rate: 0.0,
            scripted: Vec::new(),
            pages: Vec::new(),
            hook_duplicate_rate: 0.0,
            hook_reorder: false,
        }
    }
}

/// "The `nth` request to `path` fails with `fault`": for a client that starts
/// paging afresh, `nth = 3` on `/api/v1/users` is its third page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedFault {
    /// The request path without query, e.g. `/api/v1/users`.
    pub path: String,
    /// 1-based ordinal of the request on that path (all methods, retries included).
    pub nth: u64,
    /// What happens to it.
    pub fault: Fault,
}

/// "Page `page` of `path` fails with `fault`", counted per traversal: a
/// request without `after` is page 1, each new `after` cursor the next page,
/// and a retried cursor keeps its page number (so a retry of page 3 is still
/// page 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFault {
    /// The request path without query, e.g. `/api/v1/users`.
    pub path: String,
    /// 1-based page number.
    pub page: u64,
    /// What happens to it.
    pub fault: Fault,
    /// How many times it fails; `None` for every time.
    pub times: Option<u64>,
}

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An Okta error response with this status (500, 502, 503, 504 or 429).
    Status(u16),
    /// Hang for [`Faults::timeout`], then answer 500.
    Timeout,
    /// Answer 200 with an empty list and no `next` link: a short page, as a
    /// list that is cut off looks to a client.
    EmptyPage,
    /// Reset the connection without answering.
    Reset,
}
