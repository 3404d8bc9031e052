//! The emulator's knobs: the tenant, the registered apps and their granted
//! permissions, and the throttling, replication-lag and fault models.
//! Plain data; nothing here does I/O.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// Everything a [`super::GraphEmulator`] is started with.
#[derive(Clone, Debug)]
pub struct GraphOptions {
    /// A snapshot folder to seed from: its `m365/` sub-folder (or the folder
    /// itself when it holds `users.json`) is read. `None` starts empty.
    pub snapshot: Option<PathBuf>,
    /// The tenant id (a GUID) accepted in `/{tenant}/oauth2/v2.0/token`.
    pub tenant_id: String,
    /// The tenant's initial domain, used for guest UPNs
    /// (`name_example.com#EXT#@{tenant_domain}`). `None`: taken from an
    /// existing guest in the snapshot, else `contoso.onmicrosoft.com`.
    pub tenant_domain: Option<String>,
    /// The registered applications allowed to get tokens.
    pub apps: Vec<AppRegistration>,
    /// How long issued access tokens stay valid (`expires_in`).
    pub token_lifetime: Duration,
    /// Resource-unit and write budgets.
    pub throttle: ThrottleOptions,
    /// Replication lag after writes.
    pub lag: LagOptions,
    /// Injected failures.
    pub faults: FaultOptions,
    /// Seeds every random choice (faults, ids, batch response order).
    pub seed: u64,
    /// Items per `/users/delta` and `/groups/delta` page.
    pub delta_page_size: usize,
    /// How long a delta token stays usable (Graph: 7 days).
    pub delta_token_lifetime: Duration,
    /// How long deleted users and Microsoft 365 groups stay restorable (Graph: 30 days).
    pub deleted_retention: Duration,
}

/// A registered application (a client of the token endpoint).
#[derive(Clone, Debug)]
pub struct AppRegistration {
    /// The application (client) id.
    pub client_id: String,
    /// A client secret, if the app has one.
    pub client_secret: Option<String>,
    /// A certificate credential, if the app has one.
    pub certificate: Option<CertificateCredential>,
    /// Granted application permissions (`roles` claim), e.g. `User.ReadWrite.All`.
    pub roles: BTreeSet<String>,
}

/// A certificate registered on an app, for client-assertion JWTs.
#[derive(Clone, Debug)]
pub struct CertificateCredential {
    /// The RSA public key (or certificate's key), PEM.
    pub public_key_pem: String,
    /// base64url SHA-1 thumbprint of the certificate, matched against the
    /// assertion's `x5t` header.
    pub thumbprint_sha1: Option<String>,
    /// base64url SHA-256 thumbprint, matched against `x5t#S256`.
    pub thumbprint_sha256: Option<String>,
}

/// The throttling model: per app, a resource-unit (RU) token bucket refilled
/// over `window`, and a write budget refilled over `write_window`.
#[derive(Clone, Debug)]
pub struct ThrottleOptions {
    /// RU per `window` (Graph: 3,500 to 8,000 per 10 s per app and tenant).
    pub resource_units: u32,
    /// The RU window.
    pub window: Duration,
    /// Writes per `write_window` (Graph: 3,000 per 2 min 30 s).
    pub writes: u32,
    /// The write window.
    pub write_window: Duration,
    /// Member adds per team per minute (`POST /teams/{id}/members[/add]`;
    /// Graph: 4). `None` disables this limit.
    pub team_member_adds_per_minute: Option<u32>,
}

/// Replication lag: how long a just-written object stays invisible.
#[derive(Clone, Debug, Default)]
pub struct LagOptions {
    /// A created user or group 404s on GET/PATCH/DELETE and is missing from
    /// lists, filters and delta for this long.
    pub new_object: Duration,
    /// `PUT /groups/{id}/team` on a group younger than this 404s.
    pub team_after_group: Duration,
    /// After a PATCH (or a direct licence change), reads of the object
    /// (GET, lists, filters, member lists) return the previous version for
    /// this long.
    pub stale_reads: Duration,
    /// How long a `POST /teams` operation stays `inProgress` before the
    /// team exists.
    pub team_provisioning: Duration,
    /// Adding members to a group younger than this gives Graph's 400 "The
    /// source resource object or one of the objects being referenced don't exist."
    pub members_after_group: Duration,
}

/// Seeded fault injection, drawn per request.
#[derive(Clone, Debug)]
pub struct FaultOptions {
    /// Share of Graph requests answered 503 or 504 (a 504 on a write is
    /// returned after the write was committed).
    pub server_error_rate: f64,
    /// Share of Graph requests held for `timeout_hold` before answering.
    pub timeout_rate: f64,
    /// How long a "timed out" request is held.
    pub timeout_hold: Duration,
    /// Share of Graph requests whose connection is reset without a response.
    pub reset_rate: f64,
    /// Share of `$batch` items answered 503 or 500 inside the batch.
    pub batch_item_failure_rate: f64,
    /// Scripted faults, applied before the random ones (more can be added
    /// while running with `GraphEmulator::inject`).
    pub injected: Vec<InjectedFault>,
}

/// A fault for the next `times` requests to `endpoint`.
#[derive(Clone, Debug, PartialEq)]
pub struct InjectedFault {
    /// An endpoint as `request_counts` names it (`GET /v1.0/users/{id}`),
    /// or `*` for any Graph request. `$batch` items match their own path.
    pub endpoint: String,
    /// What happens.
    pub fault: FaultKind,
    /// How many matching requests it hits.
    pub times: u32,
}

/// An injectable failure.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// 429 `TooManyRequests` with this `Retry-After`.
    TooManyRequests { retry_after: Duration },
    /// 503 before doing anything.
    ServiceUnavailable,
    /// 504 after the request was carried out (a write commits).
    GatewayTimeoutAfterCommit,
    /// The connection is dropped without a response (not for `$batch` items).
    ConnectionReset,
    /// The response is held for `FaultOptions::timeout_hold` (not for `$batch` items).
    Timeout,
}

impl Default for GraphOptions {
    fn default() -> Self {
        Self {
            snapshot: None,
            tenant_id: DEFAULT_TENANT_ID.to_owned(),
            tenant_domain: None,
            apps: vec![AppRegistration::default()],
            token_lifetime: Duration::from_secs(3599),
            throttle: ThrottleOptions::default(),
            lag: LagOptions::default(),
            faults: FaultOptions::default(),
            seed: 0,
            delta_page_size: 100,
            delta_token_lifetime: Duration::from_secs(7 * 24 * 3600),
            deleted_retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// The default tenant id.
pub const DEFAULT_TENANT_ID: &str = "8f2c1c5e-4a9b-4d6e-9f3a-2b7d1e6c0a41";
/// The default app's client id.
pub const DEFAULT_CLIENT_ID: &str = "6d3a9e0b-5c1f-4b7a-8e2d-0f4c9b1a7e35";
/// The default app's client secret.
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-client-secret";

/// Every application permission the emulator checks.
pub const ALL_ROLES: &[&str] = &[
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Directory.ReadWrite.All",
    "TeamMember.ReadWrite.All",
    "User.Invite.All",
    "Organization.Read.All",
    "LicenseAssignment.ReadWrite.All",
    "IdentityRiskyUser.ReadWrite.All",
];

impl Default for AppRegistration {
    /// An app with a secret and every permission the emulator knows.
    fn default() -> Self {
        Self {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: Some(DEFAULT_CLIENT_SECRET.to_owned()),
            certificate: None,
            roles: ALL_ROLES.iter().map(|r| (*r).to_owned()).collect(),
        }
    }
}

impl Default for ThrottleOptions {
    /// Generous: no test or rehearsal run hits it unless it asks to.
    fn default() -> Self {
        Self {
            resource_units: 1_000_000,
            window: Duration::from_secs(10),
            writes: 1_000_000,
            write_window: Duration::from_secs(150),
            team_member_adds_per_minute: None,
        }
    }
}

impl Default for FaultOptions {
    /// No faults.
    fn default() -> Self {
        Self {
            server_error_rate: 0.0,
            timeout_rate: 0.0,
            timeout_hold: Duration::from_secs(120),
            reset_rate: 0.0,
            batch_item_failure_rate: 0.0,
            injected: Vec::new(),
        }
    }
}
