//! The desired state: what Office 365 should look like according to the
//! policies, keyed by Okta user id and group mail nickname, every value with
//! the reasons (policy file:line and rule) behind it.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use serde::Serialize;

use crate::model::OktaUserId;
use crate::model::Reason;
use crate::model::fields::Fields;
use crate::model::okta::UserStatus;
use crate::policy::types::{GovernanceMode, GroupKind, GuestLeave, TeamRole, Visibility};

/// The reasons behind one desired value: nearly always one, kept inline.
pub type Reasons = smallvec::SmallVec<[Reason; 1]>;

/// A value with the policy items that produced it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it comes from.
    pub reasons: Reasons,
}

impl<T> Sourced<T> {
    /// A value with one reason.
    pub fn new(value: T, reason: Reason) -> Self {
        Self {
            value,
            reasons: smallvec::smallvec![reason],
        }
    }
}

/// A member user okta365 wants in Office 365.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredUser {
    /// Okta user id (recorded in the ownership marker).
    pub okta_id: OktaUserId,
    /// Okta login.
    pub login: String,
    /// Okta status.
    pub status: UserStatus,
    /// Whether sign-in is allowed.
    pub enabled: Sourced<bool>,
    /// Graph property → value (`userPrincipalName` included).
    pub attributes: Fields<Sourced<CompactString>>,
    /// SKU part number → disabled service plan names.
    pub licenses: Fields<Sourced<BTreeSet<String>>>,
    /// The manager, an Okta user (from the `manager` mapping).
    pub manager: Option<Sourced<OktaUserId>>,
    /// The rule whose `manager` mapping gave no manager for this user (Okta
    /// has none); with `manager.when_unset: clear` the reference is removed.
    pub manager_unset: Option<Reason>,
    /// The Okta profile values unlinked accounts are matched by, in the
    /// order of the match keys (`None`: not set in Okta).
    pub match_values: smallvec::SmallVec<[Option<CompactString>; 2]>,
}

impl DesiredUser {
    /// The desired UPN, if a rule set one.
    pub fn upn(&self) -> Option<&str> {
        self.attributes
            .get("userPrincipalName")
            .map(|s| s.value.as_str())
    }
}

/// A B2B guest okta365 wants in the tenant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredGuest {
    /// Okta user id.
    pub okta_id: OktaUserId,
    /// Address invited (lowercase).
    pub mail: String,
    /// Display name.
    pub display_name: String,
    /// Redirect after redemption.
    pub redirect_url: String,
    /// Whether Microsoft mails the invitation.
    pub send_invitation: bool,
    /// What happens when the user stops matching.
    pub on_leave: GuestLeave,
    /// The guest rule.
    pub reasons: Vec<Reason>,
}

/// A group okta365 owns, with the members it should have.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredGroup {
    /// Mail nickname (the key).
    pub mail_nickname: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// Microsoft 365 or security.
    pub kind: GroupKind,
    /// Whether a Team should exist on it.
    pub team: bool,
    /// Members by Okta id, with their role (owners are members too; for a
    /// group without a Team, `Owner` makes them a group owner).
    pub members: BTreeMap<OktaUserId, Sourced<TeamRole>>,
    /// The definition or mirror that owns it.
    pub reasons: Vec<Reason>,
    /// Whether members no rule names are removed.
    pub members_mode: GovernanceMode,
    /// Which members are governed.
    pub member_scope: ScopeOf,
    /// The owners declaration, when owners are governed here.
    pub owners: Option<DesiredOwners>,
    /// Visibility set when the group is created.
    pub visibility: Option<Visibility>,
    /// The policy lines that can put someone in this group (rules, guest
    /// rules, mirrors): named when a governed member is removed.
    pub granted_by: Vec<Reason>,
    /// For a mirrored group, the Okta groups it mirrors.
    pub okta_groups: Vec<String>,
}

/// Which live members a group declaration governs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeOf {
    /// Every managed account.
    Managed,
    /// Managed guests only.
    Guests,
    /// Managed accounts of the Okta users in [`DesiredState::scopes`] under this key.
    When(ScopeKey),
}

/// Where a member selector was declared.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKey {
    /// A declared group, by lowercased name.
    Group(String),
    /// A mirror, by index.
    Mirror(usize),
}

/// Owners a group declaration governs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredOwners {
    /// Additive, or authoritative (owners no line names are removed).
    pub mode: GovernanceMode,
    /// Who takes over when the last owner leaves (UPN), besides the leaver's manager.
    pub fallback: Option<String>,
    /// Where the owners were declared.
    pub reason: Reason,
}

/// Why a user is being offboarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// SUSPENDED in Okta.
    Suspended,
    /// DEPROVISIONED in Okta.
    Deprovisioned,
    /// Active, but no rule selects them any more.
    OutOfScope,
    /// No longer in Okta at all (deleted after deactivation).
    Deleted,
}

impl LeaveReason {
    /// Why, in words (shown as the reason of offboarding actions).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Suspended => "SUSPENDED in Okta",
            Self::Deprovisioned => "DEPROVISIONED in Okta",
            Self::OutOfScope => "no rule selects this user",
            Self::Deleted => "deleted from Okta",
        }
    }
}

/// An Okta user who should not have an active account.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Leaver {
    /// Okta id.
    pub okta_id: OktaUserId,
    /// Okta login.
    pub login: String,
    /// Why.
    pub why: LeaveReason,
    /// When they left, per Okta (`statusChanged`), if known.
    pub since: Option<jiff::Timestamp>,
}

/// Everything the policies ask for.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DesiredState {
    /// Member users by Okta id.
    pub users: BTreeMap<OktaUserId, DesiredUser>,
    /// Guests by Okta id.
    pub guests: BTreeMap<OktaUserId, DesiredGuest>,
    /// Groups by lowercased mail nickname.
    pub groups: BTreeMap<String, DesiredGroup>,
    /// Okta users to offboard, by Okta id.
    pub leavers: BTreeMap<OktaUserId, Leaver>,
    /// Every Okta user id read (any status).
    pub okta_ids: BTreeSet<OktaUserId>,
    /// The SKUs (part numbers) the policies govern, with the declarations
    /// that govern each (the rules naming it, or `licensing.governed_skus`):
    /// okta365 adds and removes direct assignments of these only (see
    /// `compile::licences`).
    pub governed_skus: BTreeMap<String, Vec<Reason>>,
    /// Okta users each member selector (`members.scope.when`) matches.
    pub scopes: BTreeMap<ScopeKey, BTreeSet<OktaUserId>>,
    /// Each guest rule's reason and what happens to its guests on leaving.
    pub guest_rules: Vec<(Reason, GuestLeave)>,
    /// Where `manager.when_unset: clear` was declared, when it was: managers
    /// Okta does not back are then removed.
    pub clear_unset_managers: Option<Reason>,
}
