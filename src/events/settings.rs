//! The event-mode settings beyond what locks and what re-plans: the hook
//! endpoint, the journal, the lockdown breaker, retries, reconciles and the
//! conditional-access relay (all under `events:` in the config).

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Okta event hook endpoint of `okta365 serve`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HookSettings {
    /// The environment variable holding the hook's shared secret: the
    /// `Authorization` header value configured on the event hook in Okta.
    pub secret_env: String,
    /// Deliveries larger than this many bytes are refused (413).
    #[schemars(range(min = 1024))]
    pub max_body_bytes: usize,
    /// Serve HTTPS with these PEM files (Okta only calls HTTPS). Without them
    /// okta365 serves plain HTTP, for a TLS-terminating reverse proxy in front.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
}

impl Default for HookSettings {
    fn default() -> Self {
        Self {
            secret_env: "OKTA365_HOOK_SECRET".into(),
            max_body_bytes: 1024 * 1024,
            tls: None,
        }
    }
}

/// A certificate chain and its private key, PEM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain (leaf first).
    pub certificate_file: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key_file: PathBuf,
}

/// The event journal (SQLite).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct JournalSettings {
    /// The database file; one per tenant.
    pub path: PathBuf,
    /// Finished events are forgotten after this many days (their `uuid`s
    /// too, so Okta redelivering an event older than that acts again).
    #[schemars(range(min = 1))]
    pub keep_days: u32,
}

impl Default for JournalSettings {
    fn default() -> Self {
        Self {
            path: PathBuf::from(".okta365/events.db"),
            keep_days: 30,
        }
    }
}

/// The lockdown breaker: at most `max_lockdowns` accounts locked in any
/// `window_minutes`; the next one trips it, and no lockdown runs until a
/// person resets it (`okta365 events breaker reset`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerSettings {
    /// Accounts locked per window before the breaker trips.
    #[schemars(range(min = 1))]
    pub max_lockdowns: usize,
    /// The sliding window, in minutes.
    #[schemars(range(min = 1))]
    pub window_minutes: u64,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            max_lockdowns: 10,
            window_minutes: 10,
        }
    }
}

/// Retries of failed actions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySettings {
    /// Attempts per event before it is marked failed (and an alert raised).
    #[schemars(range(min = 1, max = 50))]
    pub max_attempts: u32,
    /// Seconds before the first retry; each next wait doubles.
    #[schemars(range(min = 0.0))]
    pub first_delay_seconds: f64,
    /// The longest wait between two attempts, in seconds.
    #[schemars(range(min = 0.0))]
    pub max_delay_seconds: f64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            first_delay_seconds: 2.0,
            max_delay_seconds: 300.0,
        }
    }
}

/// Full plans after reconcile events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReconcileSettings {
    /// Apply the full plan (with every safety check of `apply`); otherwise
    /// only report how many changes are pending.
    pub apply: bool,
    /// Seconds of quiet after a reconcile event before the plan is made, so
    /// a burst of events makes one plan.
    #[schemars(range(min = 0.0))]
    pub settle_seconds: f64,
    /// Plan at the latest this many seconds after the first waiting event,
    /// even if events keep coming.
    #[schemars(range(min = 0.0))]
    pub max_wait_seconds: f64,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            apply: false,
            settle_seconds: 2.0,
            max_wait_seconds: 60.0,
        }
    }
}

/// The conditional-access relay: Okta risk events put the user's account in
/// an Entra group that conditional-access policies target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayRules {
    /// The Entra group (mail nickname) risky users are added to. It must not
    /// be a group the policies define: the relay owns its membership.
    pub group: String,
    /// Risk events. A `user.risk.*` event relays its reported level; other
    /// types count as the highest risk.
    #[serde(default = "default_risk_events")]
    pub event_types: Vec<String>,
    /// Risk levels that put the user in the group (`HIGH`, `MEDIUM`, `LOW`).
    #[serde(default = "default_risk_levels")]
    pub levels: Vec<String>,
    /// When a later risk event reports a level not listed in `levels`, take
    /// the user out of the group again (only users the relay put there).
    #[serde(default = "default_true")]
    pub clear: bool,
    /// Also confirm the user compromised in Entra ID Identity Protection
    /// (needs Entra ID P2 and `IdentityRiskyUser.ReadWrite.All`).
    #[serde(default)]
    pub confirm_compromised: bool,
}

fn default_risk_events() -> Vec<String> {
    [
        "user.risk.change",
        "user.risk.detect",
        "security.threat.detected",
    ]
    .map(String::from)
    .to_vec()
}

fn default_risk_levels() -> Vec<String> {
    vec!["HIGH".into()]
}

fn default_true() -> bool {
    true
}
