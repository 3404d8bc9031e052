//! The configuration file (`okta365.yaml`): where the policies live, how each
//! side is read, where ownership is recorded, the safety budget and the audit
//! trail. Parsing is pure (text in, typed config out, `file:line:col` errors);
//! relative paths are resolved against the config file's folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::budget::{Budget, RemovalKind};
use crate::plan::settings::MatchPair;
use crate::plan::{Marker, PlanSettings};
use crate::policy::load::{PolicySource, Schema, parse_typed};
use crate::policy::yaml::SpanIndex;
use crate::policy::{Diagnostic, Location};

/// The whole configuration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The folder of policy files (every `*.yaml` and `*.yml` in it, sorted by name).
    #[serde(default = "default_policies")]
    pub policies: PathBuf,
    /// How the Okta side is read.
    pub okta: OktaSide,
    /// How the Office 365 side is read and written.
    pub m365: M365Side,
    /// Where okta365 records which Office 365 users it manages.
    #[serde(default)]
    pub ownership: Ownership,
    /// Limits that stop a plan before it does too much.
    #[serde(default)]
    pub safety: Safety,
    /// The audit trail.
    #[serde(default)]
    pub audit: Audit,
    /// Event mode (`okta365 watch`): which Okta System Log events lock an
    /// account at once, and which call for a full plan.
    #[serde(default)]
    pub events: crate::events::EventRules,
    /// Monthly licence prices: plans and licence reports then show what
    /// they cost (`this plan: +4 SPE_E3, −2 POWER_BI_PRO: +$124/month`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices: Option<crate::report::cost::Prices>,
}

fn default_policies() -> PathBuf {
    PathBuf::from("policies")
}

/// The Okta side: a snapshot folder, or a live, read-only connection
/// (`org_url` and `auth`). Exactly one of the two.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OktaSide {
    /// A snapshot folder holding `okta/users.json`, `okta/groups.json` and `okta/group-members.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<PathBuf>,
    /// The Okta org, e.g. `https://acme.okta.com` (no path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(url)]
    pub org_url: Option<String>,
    /// How okta365 authenticates to the org (read-only scopes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<OktaAuth>,
    /// At most this many Okta requests in flight at once.
    #[serde(default = "default_okta_concurrency")]
    #[schemars(range(min = 1, max = 32))]
    pub concurrency: usize,
    /// A folder where okta365 keeps the last Okta read, so later reads fetch
    /// only the users and group memberships changed since (incremental reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental_state: Option<PathBuf>,
    /// With `incremental_state`: read everything afresh when the last full
    /// read is older than this many hours (it catches what the incremental
    /// reads cannot see, such as deleted users).
    #[serde(default = "default_full_read_hours")]
    #[schemars(range(min = 1))]
    pub full_read_every_hours: u32,
}

fn default_okta_concurrency() -> usize {
    4
}

fn default_full_read_hours() -> u32 {
    24
}

/// Okta credentials: an API token (`token_env` or `token_file`), or an OAuth
/// 2.0 service app (`client_id`, `private_key_file`, `key_id`, `dpop`).
/// Secrets are read from the environment or a file, never written here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OktaAuth {
    /// An environment variable holding an API token (`SSWS`), e.g. `OKTA365_OKTA_TOKEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A file holding an API token (`SSWS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// The client id of an API Services app (`0oa…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The app's private key, RS256 or ES256, as a PEM or JWK file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<PathBuf>,
    /// The `kid` of the public key registered on the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Bind tokens to a per-run key with DPoP (on by default for new Okta apps).
    #[serde(default = "default_true")]
    pub dpop: bool,
}

fn default_true() -> bool {
    true
}

impl OktaSide {
    /// Resolves relative paths against `base`.
    fn resolve_paths(&mut self, base: &Path) {
        let auth = self.auth.as_mut();
        let auth_paths = auth
            .into_iter()
            .flat_map(|a| [a.token_file.as_mut(), a.private_key_file.as_mut()]);
        let paths = self
            .snapshot
            .iter_mut()
            .chain(self.incremental_state.as_mut());
        for p in paths.chain(auth_paths.flatten()) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// The checks the schema cannot express: `snapshot` or a live connection,
    /// and one complete way to authenticate.
    fn check(&self, file: &str, spans: &SpanIndex) -> Vec<Diagnostic> {
        let at = |pointer: &str| {
            let (line, col) = spans.key(pointer);
            Some(Location {
                file: file.to_owned(),
                line,
                col,
            })
        };
        let mut errors = Vec::new();
        let live = self.org_url.is_some() || self.auth.is_some();
        match (&self.snapshot, live) {
            (Some(_), true) => errors.push(
                Diagnostic::error(at("/okta/snapshot"), "`okta` has both `snapshot` and a live connection")
                    .with_hint("keep `snapshot: DIR` to read files, or `org_url` and `auth` to read the Okta API, not both"),
            ),
            (None, false) => errors.push(
                Diagnostic::error(at("/okta"), "`okta` needs `snapshot` or a live connection")
                    .with_hint("add `snapshot: DIR`, or `org_url: https://ORG.okta.com` with `auth: { token_env: OKTA365_OKTA_TOKEN }`"),
            ),
            _ => {}
        }
        if !live {
            return errors;
        }
        match &self.org_url {
            None => errors.push(
                Diagnostic::error(at("/okta"), "`okta` has `auth` but no `org_url`")
                    .with_hint("add `org_url: https://ORG.okta.com`"),
            ),
            Some(url) => {
                if let Err(why) = check_org_url(url) {
                    errors.push(
                        Diagnostic::error(at("/okta/org_url"), format!("`org_url` {why}"))
                            .with_hint(
                                "write the org's base URL only, such as `https://acme.okta.com`",
                            ),
                    );
                }
            }
        }
        let Some(auth) = &self.auth else {
            errors.push(
                Diagnostic::error(at("/okta"), "`okta` has `org_url` but no `auth`")
                    .with_hint("add `auth: { token_env: OKTA365_OKTA_TOKEN }` or `auth: { client_id: …, private_key_file: …, key_id: … }`"),
            );
            return errors;
        };
        let token = auth.token_env.is_some() || auth.token_file.is_some();
        let oauth =
            auth.client_id.is_some() || auth.private_key_file.is_some() || auth.key_id.is_some();
        if auth.token_env.is_some() && auth.token_file.is_some() {
            errors.push(
                Diagnostic::error(
                    at("/okta/auth/token_file"),
                    "`auth` has both `token_env` and `token_file`",
                )
                .with_hint("keep one"),
            );
        }
        if token && oauth {
            errors.push(
                Diagnostic::error(at("/okta/auth"), "`auth` mixes an API token with OAuth settings")
                    .with_hint("use `token_env`/`token_file` (API token) or `client_id` with `private_key_file` (service app), not both"),
            );
        } else if !token && !oauth {
            errors.push(
                Diagnostic::error(at("/okta/auth"), "`auth` names no credentials").with_hint(
                    "add `token_env: OKTA365_OKTA_TOKEN`, or `client_id` and `private_key_file`",
                ),
            );
        } else if oauth {
            for (field, missing) in [
                ("client_id", auth.client_id.is_none()),
                ("private_key_file", auth.private_key_file.is_none()),
            ] {
                if missing {
                    errors.push(
                        Diagnostic::error(at("/okta/auth"), format!("OAuth `auth` needs `{field}`"))
                            .with_hint("a service app authenticates with `client_id`, `private_key_file` and (usually) `key_id`"),
                    );
                }
            }
        }
        errors
    }
}

/// Checks that an org URL is an `https` (or loopback `http`) base URL without
/// path or query. (The client parses it fully; this is pure text checking.)
fn check_org_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    if authority.contains(['/', '?', '#']) {
        return Err(format!("`{url}` has a path or query"));
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let loopback = host == "localhost" || host == "[::1]" || host.starts_with("127.");
    match scheme {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        other => Err(format!(
            "`{url}` uses `{other}`: Okta is only reachable over https"
        )),
    }
}

/// The Office 365 side: a snapshot folder, or a live Microsoft Graph
/// connection (`tenant_id` and `auth`). Exactly one of the two.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct M365Side {
    /// A snapshot folder holding `m365/users.json`, `m365/groups.json`, … `m365/subscribedSkus.json`.
    /// `apply` writes the new state back into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<PathBuf>,
    /// The Microsoft Entra tenant (directory) id, or a verified domain: read
    /// and write the live tenant through Microsoft Graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The Graph endpoint (without `/v1.0`).
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// The Microsoft identity platform endpoint that issues tokens.
    #[serde(default = "default_login_url")]
    pub login_url: String,
    /// How okta365's app registration authenticates (client credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<GraphAuth>,
    /// Request pacing and concurrency.
    #[serde(default)]
    pub limits: GraphLimits,
    /// A folder where okta365 keeps Graph delta links and the users and
    /// groups they track, so later reads fetch only what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_state: Option<PathBuf>,
}

fn default_graph_url() -> String {
    "https://graph.microsoft.com".into()
}

fn default_login_url() -> String {
    "https://login.microsoftonline.com".into()
}

/// Client credentials of the app registration: a client secret (from an
/// environment variable or a file) or a certificate and its private key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GraphAuth {
    /// The application (client) id.
    pub client_id: String,
    /// The environment variable holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    /// A file holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// The certificate (PEM) registered on the app, for a signed client assertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_file: Option<PathBuf>,
    /// The certificate's RSA private key (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<PathBuf>,
}

/// How hard okta365 drives Graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GraphLimits {
    /// Requests in flight at once.
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: usize,
    /// Write operations per second (each item of a `$batch` counts), under
    /// Graph's per-app-and-tenant write quota of 3,000 per 150 seconds
    /// (20 a second; the default, 19, keeps 5 % in hand).
    #[schemars(range(min = 0.1))]
    pub writes_per_second: f64,
    /// Attempts per request before giving up on throttling and transient faults.
    #[schemars(range(min = 1, max = 20))]
    pub max_attempts: usize,
    /// Seconds to wait for one response before counting it as timed out (and retrying).
    #[schemars(range(min = 0.1))]
    pub timeout_seconds: f64,
}

impl Default for GraphLimits {
    fn default() -> Self {
        Self {
            concurrency: 4,
            writes_per_second: 19.0,
            max_attempts: 8,
            timeout_seconds: 60.0,
        }
    }
}

impl M365Side {
    /// The file paths in this section (resolved against the config folder).
    fn paths_mut(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        let auth = self.auth.as_mut().into_iter().flat_map(|a| {
            [
                a.client_secret_file.as_mut(),
                a.certificate_file.as_mut(),
                a.private_key_file.as_mut(),
            ]
        });
        self.snapshot
            .as_mut()
            .into_iter()
            .chain(self.delta_state.as_mut())
            .chain(auth.flatten())
    }

    /// Checks that exactly one of `snapshot` and a live connection is given,
    /// and that a live connection's `auth` names exactly one credential.
    fn check(&self, file: &str, spans: &SpanIndex) -> Vec<Diagnostic> {
        let at = |pointer: &str| {
            let (line, col) = spans.key(pointer);
            Some(Location {
                file: file.to_owned(),
                line,
                col,
            })
        };
        let live = self.tenant_id.is_some() || self.auth.is_some();
        match (&self.snapshot, live) {
            (Some(_), true) => {
                let pointer = if self.tenant_id.is_some() {
                    "/m365/tenant_id"
                } else {
                    "/m365/auth"
                };
                return vec![
                    Diagnostic::error(
                        at(pointer),
                        "`m365` has both `snapshot` and a live connection",
                    )
                    .with_hint("keep `snapshot` to work offline, or `tenant_id` and `auth` to use Microsoft Graph"),
                ];
            }
            (None, false) => {
                return vec![
                    Diagnostic::error(at("/m365"), "`m365` needs `snapshot` or `tenant_id`")
                        .with_hint(
                            "add `snapshot: DIR`, or `tenant_id` and `auth` for Microsoft Graph",
                        ),
                ];
            }
            _ => {}
        }
        if self.snapshot.is_some() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.tenant_id.is_none() {
            out.push(
                Diagnostic::error(at("/m365/auth"), "`m365.auth` needs `tenant_id` beside it")
                    .with_hint("add `tenant_id: <directory id>` under `m365`"),
            );
        }
        let Some(auth) = &self.auth else {
            out.push(
                Diagnostic::error(
                    at("/m365/tenant_id"),
                    "`m365` needs `auth` for Microsoft Graph",
                )
                .with_hint("add `auth: { client_id: …, client_secret_env: OKTA365_GRAPH_SECRET }`"),
            );
            return out;
        };
        let given = [
            auth.client_secret_env.is_some(),
            auth.client_secret_file.is_some(),
            auth.certificate_file.is_some() || auth.private_key_file.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        let hint = "give one of `client_secret_env`, `client_secret_file`, or `certificate_file` with `private_key_file`";
        if given != 1 {
            out.push(
                Diagnostic::error(
                    at("/m365/auth"),
                    if given == 0 {
                        "`m365.auth` names no credential"
                    } else {
                        "`m365.auth` names more than one credential"
                    },
                )
                .with_hint(hint),
            );
        } else if auth.certificate_file.is_some() != auth.private_key_file.is_some() {
            out.push(
                Diagnostic::error(
                    at("/m365/auth"),
                    "`certificate_file` and `private_key_file` go together",
                )
                .with_hint("name the certificate (PEM) and its private key (PEM)"),
            );
        }
        out
    }
}

/// Ownership markers on Office 365 users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Ownership {
    /// Holds the Okta user id of a managed user: `extensionAttribute1`…`15`
    /// (cloud-only users) or a directory extension `extension_<appId>_<name>`.
    #[schemars(
        with = "String",
        regex(
            pattern = r"^((onPremisesExtensionAttributes\.)?extensionAttribute([1-9]|1[0-5])|extension_[0-9a-fA-F]{32}_\w+)$"
        )
    )]
    pub okta_id_attribute: Marker,
    /// Holds the time okta365 began offboarding a user (stages count from it).
    #[schemars(
        with = "String",
        regex(
            pattern = r"^((onPremisesExtensionAttributes\.)?extensionAttribute([1-9]|1[0-5])|extension_[0-9a-fA-F]{32}_\w+)$"
        )
    )]
    pub offboarded_at_attribute: Marker,
    /// How an existing account without the marker is matched to an Okta
    /// user, in order: a Graph property of the account compared
    /// (case-insensitively) with an Okta profile attribute of the user, never
    /// with a value the policies compute. `userPrincipalName` is short for
    /// `{graph: userPrincipalName, okta: login}`, `mail` for
    /// `{graph: mail, okta: email}`, `employeeId` for
    /// `{graph: employeeId, okta: employeeNumber}`.
    pub match_by: Vec<MatchKey>,
}

/// How accounts are matched: a short name, or a pair of properties.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MatchKey {
    /// A documented pair, by the Graph property's name.
    Short(ShortMatchKey),
    /// A Graph property and the Okta profile attribute it must equal.
    Pair(MatchPairConfig),
}

/// The documented pairs, named by their Graph property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ShortMatchKey {
    /// `userPrincipalName` = Okta `login`.
    #[serde(rename = "userPrincipalName")]
    UserPrincipalName,
    /// `mail` = Okta `email`.
    #[serde(rename = "mail")]
    Mail,
    /// `employeeId` = Okta `employeeNumber`.
    #[serde(rename = "employeeId")]
    EmployeeId,
}

/// A Graph user property and the Okta profile attribute it is compared with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchPairConfig {
    /// Graph user property (`userPrincipalName`, `mail`, `employeeId`, an
    /// `extension_<appId>_<name>`, …).
    pub graph: String,
    /// Okta profile attribute (`login`, `email`, `employeeNumber`, a custom attribute).
    pub okta: String,
}

impl MatchKey {
    /// The pair this key stands for.
    pub fn pair(&self) -> MatchPair {
        let (graph, okta) = match self {
            Self::Short(ShortMatchKey::UserPrincipalName) => ("userPrincipalName", "login"),
            Self::Short(ShortMatchKey::Mail) => ("mail", "email"),
            Self::Short(ShortMatchKey::EmployeeId) => ("employeeId", "employeeNumber"),
            Self::Pair(p) => (p.graph.as_str(), p.okta.as_str()),
        };
        MatchPair {
            graph: graph.to_owned(),
            okta: okta.to_owned(),
        }
    }
}

impl Default for Ownership {
    fn default() -> Self {
        Self {
            okta_id_attribute: Marker::ExtensionAttribute(15),
            offboarded_at_attribute: Marker::ExtensionAttribute(14),
            match_by: vec![
                MatchKey::Short(ShortMatchKey::UserPrincipalName),
                MatchKey::Short(ShortMatchKey::Mail),
            ],
        }
    }
}

/// The guard rails that stop a plan before it does too much (`docs/safety.md`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Safety {
    /// The default budget of every removal kind: refuse plans that remove
    /// more than this percentage of what okta365 governs of a kind…
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_removal_percent: f64,
    /// …when they also remove at least this many of it.
    pub min_removals: usize,
    /// `apply` refuses a saved plan made longer ago than this (`30m`, `24h`, `2d`).
    pub max_plan_age: Age,
    /// Refuse a read whose users, groups or group members fall by more than
    /// this percentage since the previous read (a likely short read)…
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_read_drop_percent: f64,
    /// …when they also fall by at least this many.
    pub min_read_drop: usize,
    /// Where the counts of the previous read are kept (for the check above).
    pub read_counts: PathBuf,
    /// Budgets per kind (`accounts`, `memberships`, `team_memberships`,
    /// `owners`, `licences`, `guests`), overriding the default.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub budgets: BTreeMap<RemovalKind, Budget>,
}

impl Default for Safety {
    fn default() -> Self {
        Self {
            max_removal_percent: 10.0,
            min_removals: 10,
            max_plan_age: Age(jiff::SignedDuration::from_hours(24)),
            max_read_drop_percent: 2.0,
            min_read_drop: 10,
            read_counts: PathBuf::from(".okta365/read-counts.json"),
            budgets: BTreeMap::new(),
        }
    }
}

/// A length of time written `30m`, `24h` or `2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Age(pub jiff::SignedDuration);

impl TryFrom<String> for Age {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let text = s.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let n: i64 = number
            .parse()
            .map_err(|_| format!("`{s}`: expected a number and a unit, such as `24h`"))?;
        let secs = match unit.trim() {
            "m" | "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(format!("`{s}`: the unit is `m`, `h` or `d`, as in `24h`")),
        };
        Ok(Self(jiff::SignedDuration::from_secs(
            n.saturating_mul(secs),
        )))
    }
}

impl From<Age> for String {
    fn from(a: Age) -> String {
        let secs = a.0.as_secs();
        if secs % 86_400 == 0 && secs != 0 {
            format!("{}d", secs / 86_400)
        } else if secs % 3600 == 0 {
            format!("{}h", secs / 3600)
        } else {
            format!("{}m", secs / 60)
        }
    }
}

impl JsonSchema for Age {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Age".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+ ?(m|min|h|d)$",
            "description": "A length of time: a number and a unit (`m`, `h` or `d`), as in `24h`."
        })
    }
}

impl Safety {
    /// Every kind's budget: its override, else the default.
    pub fn budgets(&self) -> BTreeMap<RemovalKind, Budget> {
        RemovalKind::ALL
            .iter()
            .map(|k| {
                let default = Budget {
                    max_percent: self.max_removal_percent,
                    min: self.min_removals,
                };
                (*k, self.budgets.get(k).copied().unwrap_or(default))
            })
            .collect()
    }
}

/// The audit trail, where else its records go, and who hears about applies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Audit {
    /// A JSON Lines file; `apply` appends one record per action.
    pub path: PathBuf,
    /// Where records are forwarded too: Splunk HEC, syslog, a JSON webhook.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sinks: Vec<crate::sinks::SinkConfig>,
    /// A folder where each sink's undelivered records wait for the next run.
    pub spool: PathBuf,
    /// Slack and Teams channels told about applies, refused plans and lockdowns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<crate::sinks::NotifyConfig>,
}

impl Default for Audit {
    fn default() -> Self {
        Self {
            path: PathBuf::from(".okta365/audit.jsonl"),
            sinks: Vec::new(),
            spool: PathBuf::from(".okta365/spool"),
            notify: Vec::new(),
        }
    }
}

impl Audit {
    /// The checks the schema cannot express: sink URLs are https (or
    /// loopback http), and sink names, which name spool folders, differ.
    fn check(&self, file: &str, spans: &SpanIndex) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for (i, sink) in self.sinks.iter().enumerate() {
            let at = |field: &str| {
                let (line, col) = spans.value(&format!("/audit/sinks/{i}{field}"));
                Some(Location {
                    file: file.to_owned(),
                    line,
                    col,
                })
            };
            let url = match sink {
                crate::sinks::SinkConfig::SplunkHec(s) => Some(&s.url),
                crate::sinks::SinkConfig::Webhook(s) => Some(&s.url),
                crate::sinks::SinkConfig::Syslog(_) => None,
            };
            if let Some(Err(why)) = url.map(|u| crate::sinks::config::check_url(u)) {
                out.push(Diagnostic::error(
                    at("/url"),
                    format!("the sink's `url` {why}"),
                ));
            }
            if !names.insert(sink.name()) {
                out.push(
                    Diagnostic::error(at(""), format!("two audit sinks are named `{}`", sink.name()))
                        .with_hint("give each sink of the same type its own `name:` (it names its spool folder)"),
                );
            }
        }
        out
    }
}

impl Config {
    /// Parses a config file's text. `path` is used in error messages and to
    /// resolve relative paths (against its folder).
    pub fn parse(path: &Path, text: &str) -> Result<Self, Vec<Diagnostic>> {
        let source = PolicySource {
            path: path.display().to_string(),
            text: text.to_owned(),
        };
        let mut diagnostics = Vec::new();
        let Some((mut config, spans)) = parse_typed::<Config>(&source, schema(), &mut diagnostics)
        else {
            return Err(diagnostics);
        };
        diagnostics.extend(config.okta.check(&source.path, &spans));
        diagnostics.extend(config.m365.check(&source.path, &spans));
        diagnostics.extend(config.audit.check(&source.path, &spans));
        if !diagnostics.is_empty() {
            return Err(diagnostics);
        }
        let base = path.parent().unwrap_or(Path::new(""));
        config.okta.resolve_paths(base);
        let tls = config
            .events
            .hook
            .tls
            .iter_mut()
            .flat_map(|t| [&mut t.certificate_file, &mut t.private_key_file]);
        let sink_files = config.audit.sinks.iter_mut().filter_map(|s| match s {
            crate::sinks::SinkConfig::SplunkHec(s) => s.ca_file.as_mut(),
            crate::sinks::SinkConfig::Syslog(s) => s.ca_file.as_mut(),
            crate::sinks::SinkConfig::Webhook(_) => None,
        });
        for p in [
            &mut config.policies,
            &mut config.audit.path,
            &mut config.audit.spool,
            &mut config.events.journal.path,
            &mut config.safety.read_counts,
        ]
        .into_iter()
        .chain(tls)
        .chain(sink_files)
        .chain(config.m365.paths_mut())
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }

    /// Planner settings from this config at time `now`.
    pub fn plan_settings(&self, now: jiff::Timestamp) -> PlanSettings {
        PlanSettings {
            okta_id_attribute: self.ownership.okta_id_attribute.clone(),
            offboarded_at_attribute: self.ownership.offboarded_at_attribute.clone(),
            match_by: self.ownership.match_by.iter().map(MatchKey::pair).collect(),
            budgets: self.safety.budgets(),
            ..PlanSettings::new(now)
        }
    }
}

/// The JSON Schema of the config file, generated from the Rust types.
pub fn config_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Config)).expect("schema serialises")
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new(config_schema()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_config_folder() {
        let text = "policies: p\nokta: { snapshot: ex }\nm365: { snapshot: ex }\n";
        let config = Config::parse(Path::new("conf/okta365.yaml"), text).unwrap();
        assert_eq!(config.policies, Path::new("conf/p"));
        assert_eq!(config.m365.snapshot.as_deref(), Some(Path::new("conf/ex")));
        assert_eq!(config.audit.path, Path::new("conf/.okta365/audit.jsonl"));
        assert_eq!(
            config.ownership.okta_id_attribute,
            Marker::ExtensionAttribute(15)
        );
    }

    #[test]
    fn typos_point_at_the_key_with_a_suggestion() {
        let text = "okta: { snapshot: ex }\nm365: { snapshot: ex }\nsafty: {}\n";
        let errors = Config::parse(Path::new("okta365.yaml"), text).unwrap_err();
        let shown = errors[0].render_plain();
        assert!(shown.contains("okta365.yaml:3:1"), "{shown}");
        assert!(shown.contains("safety"), "{shown}");
    }

    #[test]
    fn live_okta_connections_parse_and_resolve_key_paths() {
        let text = "okta:\n  org_url: https://acme.okta.com\n  auth: { client_id: 0oa1, private_key_file: k.pem, key_id: kid1 }\nm365: { snapshot: ex }\n";
        let config = Config::parse(Path::new("conf/okta365.yaml"), text).unwrap();
        let auth = config.okta.auth.unwrap();
        assert_eq!(
            auth.private_key_file.as_deref(),
            Some(Path::new("conf/k.pem"))
        );
        assert!(auth.dpop, "DPoP is on unless turned off");
        assert_eq!(config.okta.snapshot, None);
        let text = "okta: { org_url: \"https://acme.okta.com\", auth: { token_env: T } }\nm365: { snapshot: ex }\n";
        assert!(Config::parse(Path::new("c.yaml"), text).is_ok());
    }

    #[test]
    fn okta_needs_exactly_one_of_snapshot_and_live() {
        let both = "okta:\n  snapshot: ex\n  org_url: https://acme.okta.com\n  auth: { token_env: T }\nm365: { snapshot: ex }\n";
        let shown = Config::parse(Path::new("c.yaml"), both).unwrap_err()[0].render_plain();
        assert!(
            shown
                .starts_with("c.yaml:2:3: error: `okta` has both `snapshot` and a live connection"),
            "{shown}"
        );
        let neither = "okta: {}\nm365: { snapshot: ex }\n";
        let shown = Config::parse(Path::new("c.yaml"), neither).unwrap_err()[0].render_plain();
        assert!(
            shown.starts_with("c.yaml:1:1: error: `okta` needs `snapshot` or a live connection"),
            "{shown}"
        );
    }

    #[test]
    fn incomplete_or_mixed_okta_auth_is_an_error() {
        let cases = [
            (
                "okta:\n  org_url: https://acme.okta.com\n  auth: { token_env: T, client_id: x }\nm365: { snapshot: ex }\n",
                "c.yaml:3:3: error: `auth` mixes an API token with OAuth settings",
            ),
            (
                "okta:\n  org_url: https://acme.okta.com\n  auth: { client_id: x }\nm365: { snapshot: ex }\n",
                "c.yaml:3:3: error: OAuth `auth` needs `private_key_file`",
            ),
            (
                "okta:\n  org_url: https://acme.okta.com/oauth2/default\n  auth: { token_env: T }\nm365: { snapshot: ex }\n",
                "c.yaml:2:3: error: `org_url` `https://acme.okta.com/oauth2/default` has a path or query",
            ),
            (
                "okta:\n  org_url: http://acme.okta.com\n  auth: { token_env: T }\nm365: { snapshot: ex }\n",
                "uses `http`",
            ),
            (
                "okta:\n  org_url: https://acme.okta.com\nm365: { snapshot: ex }\n",
                "`okta` has `org_url` but no `auth`",
            ),
        ];
        for (text, want) in cases {
            let shown = Config::parse(Path::new("c.yaml"), text).unwrap_err()[0].render_plain();
            assert!(shown.contains(want), "{shown}\nwanted: {want}");
        }
    }

    #[test]
    fn bad_marker_is_an_error() {
        let text = "okta: { snapshot: ex }\nm365: { snapshot: ex }\nownership: { okta_id_attribute: employeeId }\n";
        let errors = Config::parse(Path::new("c.yaml"), text).unwrap_err();
        assert!(
            errors[0].render_plain().contains("c.yaml:3:"),
            "{}",
            errors[0].render_plain()
        );
    }

    #[test]
    fn live_graph_connection_parses_with_defaults() {
        let text = "okta: { snapshot: ex }\nm365:\n  tenant_id: t1\n  auth: { client_id: c1, client_secret_file: s.txt }\n";
        let config = Config::parse(Path::new("conf/okta365.yaml"), text).unwrap();
        assert_eq!(config.m365.graph_url, "https://graph.microsoft.com");
        assert_eq!(config.m365.login_url, "https://login.microsoftonline.com");
        let auth = config.m365.auth.unwrap();
        assert_eq!(
            auth.client_secret_file.as_deref(),
            Some(Path::new("conf/s.txt"))
        );
        assert_eq!(config.m365.snapshot, None);
    }

    #[test]
    fn snapshot_and_live_are_mutually_exclusive() {
        let both = "okta: { snapshot: ex }\nm365:\n  snapshot: ex\n  tenant_id: t1\n  auth: { client_id: c, client_secret_env: S }\n";
        let shown = Config::parse(Path::new("c.yaml"), both).unwrap_err()[0].render_plain();
        assert!(shown.starts_with("c.yaml:4:3:"), "{shown}");
        assert!(
            shown.contains("both `snapshot` and a live connection"),
            "{shown}"
        );

        let neither = "okta: { snapshot: ex }\nm365: {}\n";
        let shown = Config::parse(Path::new("c.yaml"), neither).unwrap_err()[0].render_plain();
        assert!(shown.starts_with("c.yaml:2:1:"), "{shown}");
        assert!(shown.contains("needs `snapshot` or `tenant_id`"), "{shown}");
    }

    #[test]
    fn auth_names_exactly_one_credential() {
        let two = "okta: { snapshot: ex }\nm365:\n  tenant_id: t1\n  auth: { client_id: c, client_secret_env: S, client_secret_file: f }\n";
        let shown = Config::parse(Path::new("c.yaml"), two).unwrap_err()[0].render_plain();
        assert!(shown.starts_with("c.yaml:4:3:"), "{shown}");
        assert!(shown.contains("more than one credential"), "{shown}");
        let half = "okta: { snapshot: ex }\nm365:\n  tenant_id: t1\n  auth: { client_id: c, certificate_file: c.pem }\n";
        let shown = Config::parse(Path::new("c.yaml"), half).unwrap_err()[0].render_plain();
        assert!(shown.contains("go together"), "{shown}");
    }
}
