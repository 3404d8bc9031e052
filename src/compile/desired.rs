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
use crate::policy::types::{GroupKind, GuestLeave, TeamRole};

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
    /// Members by Okta id, with their Team role (owners are members too).
    pub members: BTreeMap<OktaUserId, Sourced<TeamRole>>,
    /// The definition or mirror that owns it.
    pub reasons: Vec<Reason>,
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
}
