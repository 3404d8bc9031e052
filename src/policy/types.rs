//! The policy language, as Rust types. The JSON Schema in
//! `schemas/policy.schema.json` is generated from these (doc comments become
//! the descriptions editors show), and policy files deserialise into them.
//!
//! Keep these plain structs and externally tagged enums: positions come from
//! the span index by JSON pointer, and simple shapes give simple pointers.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::okta::UserStatus;

/// One policy file. Every section is optional; all files in the policy folder
/// are merged into one policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "okta365 policy file")]
pub struct PolicyFile {
    /// Lookup tables: table name → key → value (a string, or a list of strings).
    /// Use them in templates: `{{ profile.countryCode | lookup('usage_location') }}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lookups: BTreeMap<String, BTreeMap<String, LookupValue>>,
    /// Microsoft 365 and security groups okta365 owns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupDef>,
    /// Mirroring rules: for each Okta group matching a pattern, a group (and
    /// optionally a Team) whose members follow the Okta group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<Mirror>,
    /// Provisioning rules: which Okta users get an Office 365 account, with
    /// which attributes, licences, groups and Teams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// Guest rules: Okta users who get a B2B guest account (invitation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guests: Vec<GuestRule>,
    /// What happens when users join before activation, or leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// Accounts okta365 never modifies (break-glass admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<Protected>,
    /// Licence-wide settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensing: Option<Licensing>,
    /// How the `manager` mapping treats users Okta gives no manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<ManagerSettings>,
}

/// How the `manager` attribute mapping behaves.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManagerSettings {
    /// When the mapping gives no manager for a user (Okta has none): `keep`
    /// the Office 365 manager as it is (default), or `clear` it.
    #[serde(default)]
    pub when_unset: ManagerWhenUnset,
}

/// What to do with a manager reference Okta does not back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ManagerWhenUnset {
    /// Leave the Office 365 manager as it is.
    #[default]
    Keep,
    /// Remove the Office 365 manager reference.
    Clear,
}

/// Licence-wide settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Licensing {
    /// When a SKU has fewer free seats than the plan assigns: `refuse` the
    /// plan (default), or `assign_partially`: assign as many as fit, in
    /// order of UPN, and list who waits.
    #[serde(default)]
    pub on_seat_shortage: SeatShortage,
    /// The SKUs okta365 governs on active users (part numbers): it adds and
    /// removes direct assignments of these only. Absent (the default): the
    /// SKUs the rules name (literals, and every value of a lookup table a
    /// licence template reads). List them to reclaim a SKU from everyone no
    /// rule grants it to, or when a licence template reads a profile value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governed_skus: Option<Vec<String>>,
}

/// What to do when seats run short.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeatShortage {
    /// Refuse the plan with the numbers.
    #[default]
    Refuse,
    /// Assign what fits (by UPN order); the rest wait for seats.
    AssignPartially,
}

/// A lookup table value: one string, or a list of strings (for licence bundles
/// and group lists).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LookupValue {
    /// A single value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

/// The kind of a group okta365 creates.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// A Microsoft 365 group (`groupTypes: ["Unified"]`, mail-enabled); can carry a Team.
    Unified,
    /// A security group (not mail-enabled).
    Security,
}

/// A group okta365 owns, keyed by its mail nickname.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    /// The group's `mailNickname` (ASCII, no spaces): how okta365 finds it and
    /// how rules refer to it.
    pub name: String,
    /// `displayName`; defaults to `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `unified` (Microsoft 365 group) or `security`.
    pub kind: GroupKind,
    /// Provision a Team on the group (Microsoft 365 groups only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub team: bool,
    /// Which members okta365 governs here, and whether it removes the ones no
    /// rule names. Default: every account okta365 manages, authoritatively.
    #[serde(default, skip_serializing_if = "MemberGovernance::is_default")]
    pub members: MemberGovernance,
    /// The owners okta365 governs. Absent: owners are added only by rules
    /// with `role: owner` and never removed, except a leaver's ownership,
    /// which is handed over (see `lifecycle.offboarding.fallback_owner`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners: Option<Owners>,
    /// `private` or `public`, set when okta365 creates a Microsoft 365 group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
}

/// Which members of a group okta365 governs, and how.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberGovernance {
    /// `authoritative` (default): governed members no rule names are
    /// removed; `additive`: members are only added.
    #[serde(default)]
    pub mode: GovernanceMode,
    /// Which members are governed: `managed` (default: every account okta365
    /// manages), `guests` (the guests okta365 manages), or `{when: selector}`
    /// (managed accounts whose Okta user matches). Others are never removed.
    #[serde(default)]
    pub scope: MemberScope,
}

impl MemberGovernance {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Whether okta365 removes what no policy line asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GovernanceMode {
    /// Adds what the policies ask for and removes governed entries they do not.
    #[default]
    Authoritative,
    /// Only adds.
    Additive,
}

/// The members a group declaration governs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum MemberScope {
    /// Every account okta365 manages (has the ownership marker).
    #[default]
    Managed,
    /// Only the guests okta365 manages.
    Guests,
    /// Managed accounts whose Okta user matches this selector.
    When(Selector),
}

/// The owners of a group okta365 governs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Owners {
    /// Okta logins or user ids who own the group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Owners chosen by a selector: among the Okta group's members for a
    /// mirror, among every selected user for a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Selector>,
    /// `additive` (default): owners are added, never removed (a leaver's
    /// ownership is handed over); `authoritative`: managed owners no line
    /// names are removed too, never the last one.
    #[serde(default = "additive")]
    pub mode: GovernanceMode,
    /// The account (UPN) that receives ownership when the last owner leaves
    /// and their manager cannot; defaults to
    /// `lifecycle.offboarding.fallback_owner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

impl Default for Owners {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            when: None,
            mode: GovernanceMode::Additive,
            fallback: None,
        }
    }
}

fn additive() -> GovernanceMode {
    GovernanceMode::Additive
}

/// A mirror's owners: a list of Okta logins or ids, or the full form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MirrorOwners {
    /// Okta logins or user ids who own every mirrored group.
    List(Vec<String>),
    /// Owners per mirrored group.
    Spec(Owners),
}

impl MirrorOwners {
    /// The full form.
    pub fn spec(&self) -> Owners {
        match self {
            Self::List(users) => Owners {
                users: users.clone(),
                ..Owners::default()
            },
            Self::Spec(o) => o.clone(),
        }
    }
}

/// Who can find and join a Microsoft 365 group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only members see its content; joining needs an owner.
    Private,
    /// Anyone in the organisation can see and join.
    Public,
}

impl Visibility {
    /// The Graph value (`Private`, `Public`).
    pub fn graph(self) -> &'static str {
        match self {
            Self::Private => "Private",
            Self::Public => "Public",
        }
    }
}

/// An Okta group type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OktaGroupType {
    /// Groups made in Okta.
    OktaGroup,
    /// Groups imported from an app or directory (AD, LDAP, Workday…).
    AppGroup,
    /// Okta's own groups (Everyone).
    BuiltIn,
}

impl OktaGroupType {
    /// Okta's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OktaGroup => "OKTA_GROUP",
            Self::AppGroup => "APP_GROUP",
            Self::BuiltIn => "BUILT_IN",
        }
    }
}

/// For each Okta group matching `okta_groups`, a group okta365 owns whose
/// members are the Okta group's members (those who have an account).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    /// A unique name for this mirroring rule (shown as the reason in plans).
    pub name: String,
    /// Glob over Okta group names (`eng-*`), or an exact name.
    pub okta_groups: String,
    /// Okta group types mirrored; default `[OKTA_GROUP]` (groups imported
    /// from AD or an app, `APP_GROUP`, only when listed).
    #[serde(default = "default_mirror_types")]
    pub okta_group_types: Vec<OktaGroupType>,
    /// Only Okta groups whose profile matches: attribute tests (`attribute`,
    /// `all`, `any`, `not`) over the group's profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_group_profile: Option<Selector>,
    /// `unified` or `security`.
    pub kind: GroupKind,
    /// Provision a Team on each mirrored group.
    #[serde(default, skip_serializing_if = "is_false")]
    pub team: bool,
    /// Template of the group's `mailNickname`; `group.name` is the Okta group's name.
    #[serde(default = "default_mirror_name")]
    pub group_name: String,
    /// Template of the group's `displayName`; defaults to the Okta group's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Who owns each mirrored group (and its Team): Okta logins or ids, or
    /// `{users, when, mode, fallback}` where `when` picks owners among that
    /// Okta group's members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owners: Option<MirrorOwners>,
    /// Which members are governed and how (as for `groups`).
    #[serde(default, skip_serializing_if = "MemberGovernance::is_default")]
    pub members: MemberGovernance,
    /// `private` (default for mirrors) or `public`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
}

fn default_mirror_types() -> Vec<OktaGroupType> {
    vec![OktaGroupType::OktaGroup]
}

fn default_mirror_name() -> String {
    "{{ group.name | slug }}".to_owned()
}

/// A provisioning rule. Every rule whose `when` matches an Okta user applies:
/// licences, groups and Teams add up (union); a single-valued attribute set to
/// two different values by two rules is an error unless their `priority`
/// differs (the higher wins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A unique name (shown as the reason in plans and `explain`).
    pub name: String,
    /// Free text for reviewers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Higher wins when two rules set the same attribute differently. Default 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    /// Which Okta users the rule applies to. Users who are SUSPENDED or
    /// DEPROVISIONED never match (they are offboarded, see `lifecycle`).
    pub when: Selector,
    /// Account state; default `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountState>,
    /// Office 365 user attributes (Graph property names) → templates over the
    /// Okta user: `displayName: "{{ profile.firstName }} {{ profile.lastName }}"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Licences to assign.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseGrant>,
    /// Groups (by `name`) the user is a member of; templates allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Teams (groups with `team: true`, by `name`) with a role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<TeamGrant>,
}

/// Whether the Office 365 account may sign in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// `accountEnabled: true`.
    Enabled,
    /// `accountEnabled: false`.
    Disabled,
}

/// A licence to assign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseGrant {
    /// SKU part number (`SPE_E3`, `ENTERPRISEPACK`); a template may yield
    /// several through a lookup table.
    pub sku: String,
    /// Service plans to turn off, by name (`YAMMER_ENTERPRISE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled_plans: Vec<String>,
}

/// Membership of a Team with a role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamGrant {
    /// The group `name` of a group with `team: true`; templates allowed.
    pub team: String,
    /// `member` (default) or `owner`.
    #[serde(default)]
    pub role: TeamRole,
}

/// A Team role.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    /// A member.
    #[default]
    Member,
    /// An owner (also a member).
    Owner,
}

/// Selects Okta users. Combine with `all`, `any` and `not`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Selector {
    /// Every sub-selector matches.
    All(Vec<Selector>),
    /// At least one sub-selector matches.
    Any(Vec<Selector>),
    /// The sub-selector does not match.
    Not(Box<Selector>),
    /// Member of an Okta group, by name, id or glob (`eng-*`).
    Group(String),
    /// Okta status is one of these.
    Status(OneOrMany<UserStatus>),
    /// A profile attribute test.
    Attribute(Box<AttributeTest>),
    /// Every user (`everyone: true`).
    Everyone(bool),
}

/// One value or a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// One value.
    One(T),
    /// Several values.
    Many(Vec<T>),
}

impl<T: Clone> OneOrMany<T> {
    /// The values as a list.
    pub fn to_vec(&self) -> Vec<T> {
        match self {
            Self::One(v) => vec![v.clone()],
            Self::Many(v) => v.clone(),
        }
    }
}

/// A test on one Okta profile attribute. Give `name` and exactly one test.
/// String comparisons ignore case.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeTest {
    /// Profile attribute name (`department`, `countryCode`, a custom attribute).
    pub name: String,
    /// Equal to this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// One of these values.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "in")]
    pub one_of: Option<Vec<String>>,
    /// Matches this glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glob: Option<String>,
    /// Matches this regular expression (Rust `regex` syntax, unanchored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Present and non-empty (`true`) or absent (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// Numerically greater than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<f64>,
    /// Numerically greater than or equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Numerically less than.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
    /// Numerically less than or equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
    /// A date (`2026-01-31`) or timestamp the value is before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// A date or timestamp the value is after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// A guest rule: matching Okta users get a B2B guest account in the tenant
/// (an invitation), and lose it when they stop matching.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestRule {
    /// A unique name.
    pub name: String,
    /// Which Okta users become guests (typically `group: O365Guest`).
    pub when: Selector,
    /// Template of the address invited; default `{{ profile.email }}`.
    #[serde(default = "default_guest_mail")]
    pub mail: String,
    /// Template of the guest's display name; default first and last name.
    #[serde(default = "default_guest_display_name")]
    pub display_name: String,
    /// Where the invitation lands after redemption.
    pub redirect_url: String,
    /// Whether Microsoft sends the invitation mail.
    #[serde(default, skip_serializing_if = "is_false")]
    pub send_invitation: bool,
    /// Groups (by `name`) the guest joins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Teams the guest joins (role `member`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    /// What happens when the user stops matching: `remove` (soft delete, the
    /// default) or `disable`.
    #[serde(default)]
    pub on_leave: GuestLeave,
}

fn default_guest_mail() -> String {
    "{{ profile.email }}".to_owned()
}

fn default_guest_display_name() -> String {
    "{{ profile.firstName }} {{ profile.lastName }}".to_owned()
}

/// What to do with a guest who no longer matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GuestLeave {
    /// Soft-delete the guest (restorable for 30 days).
    #[default]
    Remove,
    /// Block sign-in and keep the account.
    Disable,
}

/// Joiner and leaver behaviour.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// Users STAGED or PROVISIONED in Okta: `wait` until ACTIVE (default), or
    /// `create_disabled`.
    #[serde(default)]
    pub pending_users: PendingUsers,
    /// Offboarding, for users who become SUSPENDED or DEPROVISIONED in Okta,
    /// disappear from Okta, or leave every rule's scope.
    #[serde(default)]
    pub offboarding: Offboarding,
}

/// What to do with Okta users who are not yet active.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PendingUsers {
    /// Do nothing until the user is ACTIVE.
    #[default]
    Wait,
    /// Create the account with sign-in blocked.
    CreateDisabled,
}

/// Offboarding stages, each at a number of days after the user left (Okta's
/// `statusChanged`, or the time okta365 first disabled the account).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Offboarding {
    /// Revoke sign-in sessions when the account is disabled (default true).
    #[serde(default = "yes")]
    pub revoke_sessions: bool,
    /// Remove the user's group memberships and ownerships (default true).
    #[serde(default = "yes")]
    pub remove_memberships: bool,
    /// From which groups: `all_groups` (default: every cloud group the user
    /// is a direct member or owner of; groups Graph cannot write become
    /// manual steps) or `declared_groups` (only groups the policies declare).
    #[serde(default)]
    pub remove_memberships_from: MembershipScope,
    /// The account (UPN) that receives ownership of a group when its last
    /// owner leaves and the leaver's manager cannot take it (no managed,
    /// active manager). Without one, the ownership stays and the plan lists
    /// a manual step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_owner: Option<String>,
    /// Days after leaving to remove directly assigned licences (default 30;
    /// 0 = at once). Keeping the licence keeps the mailbox.
    #[serde(default = "thirty")]
    pub reclaim_licenses_after_days: u32,
    /// Which direct licences a leaver loses at that point: `all_direct`
    /// (default: every directly assigned SKU, which is what frees the seats)
    /// or `governed` (only the SKUs the policies govern). Licences inherited
    /// from a group go when the membership of that group goes.
    #[serde(default)]
    pub reclaim_licenses: ReclaimLicenses,
    /// Days after leaving to delete the account (soft delete, restorable for
    /// 30 days). Absent = never: deletion is opt-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after_days: Option<u32>,
    /// What happens to the mailbox when the user is disabled: `keep` (default;
    /// the licence keeps it until reclaimed) or `convert_to_shared`, which
    /// Graph cannot do: the plan lists it as a manual step with the
    /// Exchange Online PowerShell command, before licences are reclaimed.
    #[serde(default)]
    pub mailbox: MailboxOnLeave,
    /// Put the mailbox on litigation hold when the user is disabled, so
    /// nothing in it can be purged (needs Exchange Online Plan 2 or an
    /// archiving add-on). Graph cannot set it: the plan lists it as a manual
    /// step with the Exchange Online PowerShell command.
    #[serde(default, skip_serializing_if = "is_false")]
    pub litigation_hold: bool,
}

/// Which groups a leaver is taken out of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MembershipScope {
    /// Every group the user is a direct member or owner of.
    #[default]
    AllGroups,
    /// Only groups the policies declare (or mirror).
    DeclaredGroups,
}

/// Which direct licences offboarding reclaims.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReclaimLicenses {
    /// Every directly assigned SKU (frees the seats).
    #[default]
    AllDirect,
    /// Only the SKUs the policies govern.
    Governed,
}

/// What to do with a leaver's mailbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailboxOnLeave {
    /// Leave it; it lives as long as the licence.
    #[default]
    Keep,
    /// Convert it to a shared mailbox (a manual step in Exchange Online).
    ConvertToShared,
}

impl Default for Offboarding {
    fn default() -> Self {
        Self {
            revoke_sessions: true,
            remove_memberships: true,
            remove_memberships_from: MembershipScope::AllGroups,
            fallback_owner: None,
            reclaim_licenses_after_days: 30,
            reclaim_licenses: ReclaimLicenses::AllDirect,
            delete_after_days: None,
            mailbox: MailboxOnLeave::Keep,
            litigation_hold: false,
        }
    }
}

fn yes() -> bool {
    true
}

fn thirty() -> u32 {
    30
}

/// Accounts okta365 never modifies, even when a rule selects them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Protected {
    /// User principal names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upns: Vec<String>,
    /// Directory object ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_ids: Vec<String>,
    /// Members of these Office 365 groups (display name, mail nickname or id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(i: &i32) -> bool {
    *i == 0
}
