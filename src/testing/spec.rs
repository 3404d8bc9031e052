//! The policy test file format (`policies/tests/*.yaml`): a few Okta users
//! and groups written inline, optionally some Office 365 state, and what
//! each named user should end up with.
//!
//! Expectations are about outcomes (licences, groups, Teams, attributes,
//! account state, the plan's actions for a user), never about how the
//! planner gets there, so test files survive changes to its internals.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::okta::UserStatus;
use crate::policy::types::{GroupKind, TeamRole};

/// A test file: shared fixtures and the cases.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The time every case is planned at (RFC 3339), unless a case sets its
    /// own; offboarding stages count from it. Default `2026-01-01T00:00:00Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// Okta users and groups every case starts with.
    #[serde(default)]
    pub okta: OktaFixture,
    /// Office 365 state every case starts with (default: an empty tenant).
    #[serde(default)]
    pub m365: M365Fixture,
    /// The test cases, run in order.
    pub cases: Vec<Case>,
}

/// One test case.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case checks, in words (shown as the test's name).
    pub name: String,
    /// The time of this case (RFC 3339), instead of the file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// Okta users and groups added to the file's.
    #[serde(default)]
    pub okta: OktaFixture,
    /// Office 365 state added to the file's.
    #[serde(default)]
    pub m365: M365Fixture,
    /// What named users end up with.
    #[serde(default)]
    pub expect: Vec<Expectation>,
    /// The plan must be refused with an error containing this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Warnings the plan must give (each a piece of the warning's text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warns: Vec<String>,
}

/// Okta users and groups.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OktaFixture {
    /// Users; only the profile attributes the policies read need to be given.
    #[serde(default)]
    pub users: Vec<OktaUser>,
    /// Groups with no members here (groups named in users' `groups` exist
    /// anyway, as do the groups the policies name).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// An Okta user, written short.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OktaUser {
    /// `profile.login`; also `profile.email` unless the profile sets it.
    pub login: String,
    /// The Okta id (default: one made from the login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The Okta status (default `ACTIVE`).
    #[serde(default = "active")]
    pub status: UserStatus,
    /// When the status last changed (RFC 3339): when a leaver left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_changed: Option<String>,
    /// Names of the Okta groups the user is a member of.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Profile attributes (`firstName`, `department`, `countryCode`, …).
    #[serde(default)]
    pub profile: BTreeMap<String, serde_json::Value>,
}

fn active() -> UserStatus {
    UserStatus::Active
}

/// Office 365 state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct M365Fixture {
    /// Users already in the tenant.
    #[serde(default)]
    pub users: Vec<M365User>,
    /// Groups already in the tenant.
    #[serde(default)]
    pub groups: Vec<M365Group>,
    /// The licences bought. Default: every SKU the case's users want or
    /// hold, with seats to spare and the service plans the policies name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skus: Option<Vec<Sku>>,
}

/// An Office 365 user, written short.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct M365User {
    /// The user principal name.
    pub upn: String,
    /// The login of the Okta user this account belongs to (okta365 writes
    /// that user's id in the ownership marker). Default: the Okta user whose
    /// login is the UPN, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta: Option<String>,
    /// `false`: no ownership marker, whatever the UPN (an account okta365
    /// has not linked yet, or does not manage).
    #[serde(default = "yes")]
    pub managed: bool,
    /// Whether sign-in is allowed.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A B2B guest (`userType: Guest`).
    #[serde(default)]
    pub guest: bool,
    /// Licences held directly: SKU names, or SKU → disabled service plans.
    #[serde(default)]
    pub licenses: Licenses,
    /// Other Graph properties (`department`, `mail`, `usageLocation`, …).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// When okta365 began offboarding the account (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offboarded_at: Option<String>,
}

fn yes() -> bool {
    true
}

/// Licences: `[SPE_E3]`, or `{SPE_E3: [YAMMER_ENTERPRISE]}` with disabled plans.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Licenses {
    /// SKU names, every service plan on.
    Names(Vec<String>),
    /// SKU name → disabled service plans.
    WithDisabledPlans(BTreeMap<String, Vec<String>>),
}

impl Default for Licenses {
    fn default() -> Self {
        Self::Names(Vec::new())
    }
}

impl Licenses {
    /// SKU name → disabled plans.
    pub fn entries(&self) -> BTreeMap<String, Vec<String>> {
        match self {
            Self::Names(names) => names.iter().map(|n| (n.clone(), Vec::new())).collect(),
            Self::WithDisabledPlans(map) => map.clone(),
        }
    }
}

/// An Office 365 group, written short.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct M365Group {
    /// The mail nickname.
    pub name: String,
    /// Display name (default: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `unified` (default) or `security`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<GroupKind>,
    /// Whether a Team is provisioned on it.
    #[serde(default)]
    pub team: bool,
    /// Members, by UPN.
    #[serde(default)]
    pub members: Vec<String>,
    /// Owners, by UPN (Team owners are the group's owners).
    #[serde(default)]
    pub owners: Vec<String>,
}

/// A licence bought.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sku {
    /// The part number, such as `SPE_E3`.
    pub sku: String,
    /// Seats bought.
    pub seats: i64,
    /// Service plan names inside it (default: the ones the policies turn off).
    #[serde(default)]
    pub plans: Vec<String>,
}

/// What one user ends up with. Only the fields given are checked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The Okta login of the user.
    pub user: String,
    /// `enabled`, `disabled` (sign-in blocked), `guest`, `offboarded`, or
    /// `none` (nothing happens yet, such as a joiner who waits for activation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountOutcome>,
    /// Licences (SKU names) the policies give the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<SetCheck>,
    /// SKU → the service plans turned off in it (each SKU named is checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_plans: Option<BTreeMap<String, Vec<String>>>,
    /// Groups without a Team the user is a member of (mail nicknames).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<SetCheck>,
    /// Teams the user is in: names, or name → `member`/`owner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<TeamsCheck>,
    /// Graph properties the policies set (only those named are checked;
    /// `null` means "not set").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, Option<String>>>,
    /// The Okta login of the user's manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
    /// The plan's actions for this user, as `okta365 apply` lists them:
    /// `+ user ana@acme.example (create)`, `- group sales member ana@acme.example (remove member)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<SetCheck>,
}

/// The account a user ends up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountOutcome {
    /// A member account that can sign in.
    Enabled,
    /// A member account with sign-in blocked.
    Disabled,
    /// A B2B guest account.
    Guest,
    /// Offboarded: the account, if there is one, goes through the leaver stages.
    Offboarded,
    /// Nothing: no rule applies yet (a joiner waiting for activation).
    None,
}

impl AccountOutcome {
    /// The word used in test files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Guest => "guest",
            Self::Offboarded => "offboarded",
            Self::None => "none",
        }
    }
}

/// A set of names: exactly these (a list), or some in and some out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SetCheck {
    /// Exactly these, in any order.
    Exactly(Vec<String>),
    /// At least `includes`, and none of `excludes`.
    Partial(PartialSet),
}

/// Names that must be there, and names that must not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartialSet {
    /// Must be there.
    #[serde(default)]
    pub includes: Vec<String>,
    /// Must not be there.
    #[serde(default)]
    pub excludes: Vec<String>,
}

/// Teams: names (any role), name → role, or a partial check of names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TeamsCheck {
    /// Exactly these Teams, with these roles.
    Roles(BTreeMap<String, TeamRole>),
    /// Teams by name (exactly, or partially).
    Names(SetCheck),
}
