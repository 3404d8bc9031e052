//! Plan actions: what the executor does, one typed operation each, with the
//! reasons (policy file:line and rule) that call for it.
//!
//! The executor makes no decisions: an [`Op`] carries everything it needs.
//! Objects the plan creates are referred to by their natural key (UPN, mail
//! nickname) until they have an id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::model::reason::{Reason, ReasonData};
use crate::model::{ObjectId, OktaUserId, SkuId};
use crate::policy::types::{GroupKind, TeamRole, Visibility};

/// A user, by id once it exists, and always by UPN.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserRef {
    /// Object id; `None` while the plan has yet to create the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ObjectId>,
    /// User principal name (for guests: the invited mail until redemption).
    pub upn: String,
    /// The Okta user this account belongs to, when it belongs to one: the
    /// executor binds the action to that person (a failed create skips its
    /// dependents instead of re-targeting them), and apply re-checks that the
    /// account's ownership marker still names them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_id: Option<OktaUserId>,
}

/// A group, by id once it exists, and always by mail nickname.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupRef {
    /// Object id; `None` while the plan has yet to create the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<ObjectId>,
    /// Mail nickname.
    pub mail_nickname: String,
}

/// A licence to add, with the service plans turned off.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LicenseAdd {
    /// SKU id.
    pub sku_id: SkuId,
    /// Part number, for people.
    pub sku: String,
    /// Service plan ids turned off.
    pub disabled_plans: Vec<crate::model::ServicePlanId>,
    /// Their names, for people.
    pub disabled_plan_names: Vec<String>,
}

/// A licence to remove.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LicenseRemove {
    /// SKU id.
    pub sku_id: SkuId,
    /// Part number, for people.
    pub sku: String,
}

/// One operation on Office 365.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// `POST /users`.
    CreateUser {
        /// The new user's UPN.
        upn: String,
        /// Okta id recorded in the ownership marker.
        okta_id: String,
        /// Sign-in allowed.
        account_enabled: bool,
        /// Graph properties to set (marker included).
        properties: BTreeMap<String, String>,
    },
    /// `PATCH /users/{id}`.
    UpdateUser {
        /// The user.
        user: UserRef,
        /// Graph property → new value (`None` clears it).
        properties: BTreeMap<String, Option<String>>,
    },
    /// `PATCH /users/{id}` with `accountEnabled: true`.
    EnableUser {
        /// The user.
        user: UserRef,
    },
    /// `PATCH /users/{id}` with `accountEnabled: false`.
    DisableUser {
        /// The user.
        user: UserRef,
    },
    /// `POST /users/{id}/revokeSignInSessions`.
    RevokeSessions {
        /// The user.
        user: UserRef,
    },
    /// `POST /users/{id}/assignLicense`, adds and removes in one call.
    AssignLicenses {
        /// The user.
        user: UserRef,
        /// Licences to add (or re-add with new disabled plans).
        add: Vec<LicenseAdd>,
        /// Licences to remove.
        remove: Vec<LicenseRemove>,
    },
    /// `DELETE /users/{id}` (soft delete, restorable for 30 days).
    DeleteUser {
        /// The user.
        user: UserRef,
    },
    /// `POST /groups`.
    CreateGroup {
        /// Mail nickname.
        mail_nickname: String,
        /// Display name.
        display_name: String,
        /// Description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// Microsoft 365 or security.
        kind: GroupKind,
        /// `Private` or `Public` (Microsoft 365 groups), when the policy sets it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        visibility: Option<Visibility>,
    },
    /// `POST /groups/{id}/members/$ref` (batched by the executor).
    AddMember {
        /// The group.
        group: GroupRef,
        /// The member.
        user: UserRef,
    },
    /// `DELETE /groups/{id}/members/{id}/$ref`.
    RemoveMember {
        /// The group.
        group: GroupRef,
        /// The member.
        user: UserRef,
    },
    /// `POST /groups/{id}/owners/$ref`: makes the user an owner (a Team's
    /// new owner is also added as a member by [`Op::AddTeamMember`]).
    AddOwner {
        /// The group.
        group: GroupRef,
        /// The new owner.
        user: UserRef,
    },
    /// `DELETE /groups/{id}/owners/{id}/$ref`: the user stops being an owner.
    RemoveOwner {
        /// The group.
        group: GroupRef,
        /// The owner.
        user: UserRef,
    },
    /// `PUT /groups/{id}/team`.
    CreateTeam {
        /// The group that carries the Team.
        group: GroupRef,
    },
    /// `POST /teams/{id}/members`.
    AddTeamMember {
        /// The Team's group.
        group: GroupRef,
        /// The member.
        user: UserRef,
        /// Member or owner.
        role: TeamRole,
    },
    /// `DELETE /teams/{id}/members/{membershipId}`.
    RemoveTeamMember {
        /// The Team's group.
        group: GroupRef,
        /// The member.
        user: UserRef,
        /// The role they had.
        role: TeamRole,
    },
    /// `POST /invitations`.
    InviteGuest {
        /// Address invited.
        mail: String,
        /// Display name.
        display_name: String,
        /// Okta id recorded in the ownership marker.
        okta_id: String,
        /// Redirect after redemption.
        redirect_url: String,
        /// Whether Microsoft mails the invitation.
        send_invitation: bool,
    },
    /// `DELETE /users/{id}` of a guest.
    RemoveGuest {
        /// The guest.
        user: UserRef,
    },
    /// Set the user's manager (`PUT /users/{id}/manager/$ref`).
    SetManager {
        /// The user.
        user: UserRef,
        /// The manager.
        manager: UserRef,
    },
    /// Remove the user's manager reference (`DELETE /users/{id}/manager/$ref`).
    ClearManager {
        /// The user.
        user: UserRef,
    },
    /// Confirm the user compromised in Identity Protection
    /// (`POST /identityProtection/riskyUsers/confirmCompromised`, Entra ID P2):
    /// their risk becomes high. Only event mode's conditional-access relay plans it.
    ConfirmCompromised {
        /// The user.
        user: UserRef,
    },
}

/// Short names of action kinds, as `kind` in JSON plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Create a user.
    CreateUser,
    /// Update attributes.
    UpdateUser,
    /// Allow sign-in.
    EnableUser,
    /// Block sign-in.
    DisableUser,
    /// Revoke sign-in sessions.
    RevokeSessions,
    /// Add and remove licences.
    AssignLicenses,
    /// Soft-delete a user.
    DeleteUser,
    /// Create a group.
    CreateGroup,
    /// Add a group member.
    AddMember,
    /// Remove a group member.
    RemoveMember,
    /// Provision a Team.
    CreateTeam,
    /// Add a Team member.
    AddTeamMember,
    /// Remove a Team member.
    RemoveTeamMember,
    /// Invite a guest.
    InviteGuest,
    /// Remove a guest.
    RemoveGuest,
    /// Set a user's manager.
    SetManager,
    /// Make a user a group owner.
    AddOwner,
    /// Take a group ownership away.
    RemoveOwner,
    /// Remove a user's manager reference.
    ClearManager,
    /// Confirm a user compromised (Identity Protection).
    ConfirmCompromised,
}

impl ActionKind {
    /// The terraform-like symbol: `+` adds, `~` changes, `-` removes.
    pub fn symbol(self) -> char {
        match self {
            Self::CreateUser
            | Self::CreateGroup
            | Self::AddMember
            | Self::CreateTeam
            | Self::AddTeamMember
            | Self::AddOwner
            | Self::InviteGuest => '+',
            Self::UpdateUser
            | Self::EnableUser
            | Self::AssignLicenses
            | Self::SetManager
            | Self::ClearManager
            | Self::ConfirmCompromised => '~',
            Self::DisableUser
            | Self::RevokeSessions
            | Self::DeleteUser
            | Self::RemoveMember
            | Self::RemoveTeamMember
            | Self::RemoveOwner
            | Self::RemoveGuest => '-',
        }
    }

    /// Words for people: `create user`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::CreateUser => "create user",
            Self::UpdateUser => "update user",
            Self::EnableUser => "enable user",
            Self::DisableUser => "disable user",
            Self::RevokeSessions => "revoke sessions of",
            Self::AssignLicenses => "change licences of",
            Self::DeleteUser => "delete user",
            Self::CreateGroup => "create group",
            Self::AddMember => "add member to",
            Self::RemoveMember => "remove member from",
            Self::CreateTeam => "create Team on",
            Self::AddTeamMember => "add Team member to",
            Self::RemoveTeamMember => "remove Team member from",
            Self::InviteGuest => "invite guest",
            Self::RemoveGuest => "remove guest",
            Self::SetManager => "set manager of",
            Self::AddOwner => "add owner to",
            Self::RemoveOwner => "remove owner from",
            Self::ClearManager => "clear manager of",
            Self::ConfirmCompromised => "confirm compromised",
        }
    }

    /// One or two words for plan listings: `create`, `add member`.
    pub fn short(self) -> &'static str {
        match self {
            Self::CreateUser | Self::CreateGroup => "create",
            Self::UpdateUser => "update",
            Self::EnableUser => "enable",
            Self::DisableUser => "disable",
            Self::RevokeSessions => "revoke sessions",
            Self::AssignLicenses => "licences",
            Self::DeleteUser => "delete",
            Self::AddMember => "add member",
            Self::RemoveMember => "remove member",
            Self::CreateTeam => "create Team",
            Self::AddTeamMember => "add Team member",
            Self::RemoveTeamMember => "remove Team member",
            Self::InviteGuest => "invite",
            Self::RemoveGuest => "remove guest",
            Self::SetManager => "manager",
            Self::AddOwner => "add owner",
            Self::RemoveOwner => "remove owner",
            Self::ClearManager => "clear manager",
            Self::ConfirmCompromised => "confirm compromised",
        }
    }

    /// Whether this takes a person's access away at the account level (the
    /// removal budget counts these).
    pub fn is_account_removal(self) -> bool {
        matches!(
            self,
            Self::DisableUser | Self::DeleteUser | Self::RemoveGuest
        )
    }
}

impl Op {
    /// Whether this op takes access or data away from a person: disable,
    /// revoke sessions, delete, remove a guest, a member, an owner or a Team
    /// member, or remove a licence. Apply re-checks the live target of each
    /// one just before its request.
    pub fn is_destructive(&self) -> bool {
        match self {
            Self::DisableUser { .. }
            | Self::RevokeSessions { .. }
            | Self::DeleteUser { .. }
            | Self::RemoveGuest { .. }
            | Self::RemoveMember { .. }
            | Self::RemoveOwner { .. }
            | Self::RemoveTeamMember { .. } => true,
            Self::AssignLicenses { remove, .. } => !remove.is_empty(),
            _ => false,
        }
    }

    /// The person a destructive op acts on.
    pub fn subject(&self) -> Option<&UserRef> {
        if !self.is_destructive() {
            return None;
        }
        match self {
            Self::DisableUser { user }
            | Self::RevokeSessions { user }
            | Self::DeleteUser { user }
            | Self::RemoveGuest { user }
            | Self::RemoveMember { user, .. }
            | Self::RemoveOwner { user, .. }
            | Self::RemoveTeamMember { user, .. }
            | Self::AssignLicenses { user, .. } => Some(user),
            _ => None,
        }
    }

    /// The user this op acts on, when it names an existing or planned account.
    pub fn user_ref(&self) -> Option<&UserRef> {
        match self {
            Self::CreateUser { .. }
            | Self::InviteGuest { .. }
            | Self::CreateGroup { .. }
            | Self::CreateTeam { .. } => None,
            Self::UpdateUser { user, .. }
            | Self::EnableUser { user }
            | Self::DisableUser { user }
            | Self::RevokeSessions { user }
            | Self::AssignLicenses { user, .. }
            | Self::DeleteUser { user }
            | Self::RemoveGuest { user }
            | Self::SetManager { user, .. }
            | Self::ClearManager { user }
            | Self::AddOwner { user, .. }
            | Self::RemoveOwner { user, .. }
            | Self::ConfirmCompromised { user }
            | Self::AddMember { user, .. }
            | Self::RemoveMember { user, .. }
            | Self::AddTeamMember { user, .. }
            | Self::RemoveTeamMember { user, .. } => Some(user),
        }
    }

    /// The UPN (or, for an invitation, the mail) of the user this op is about.
    pub fn user_key(&self) -> Option<&str> {
        match self {
            Self::CreateUser { upn, .. } => Some(upn),
            Self::InviteGuest { mail, .. } => Some(mail),
            other => other.user_ref().map(|u| u.upn.as_str()),
        }
    }

    /// The kind of this operation.
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::CreateUser { .. } => ActionKind::CreateUser,
            Self::UpdateUser { .. } => ActionKind::UpdateUser,
            Self::EnableUser { .. } => ActionKind::EnableUser,
            Self::DisableUser { .. } => ActionKind::DisableUser,
            Self::RevokeSessions { .. } => ActionKind::RevokeSessions,
            Self::AssignLicenses { .. } => ActionKind::AssignLicenses,
            Self::DeleteUser { .. } => ActionKind::DeleteUser,
            Self::CreateGroup { .. } => ActionKind::CreateGroup,
            Self::AddMember { .. } => ActionKind::AddMember,
            Self::RemoveMember { .. } => ActionKind::RemoveMember,
            Self::CreateTeam { .. } => ActionKind::CreateTeam,
            Self::AddTeamMember { .. } => ActionKind::AddTeamMember,
            Self::RemoveTeamMember { .. } => ActionKind::RemoveTeamMember,
            Self::InviteGuest { .. } => ActionKind::InviteGuest,
            Self::RemoveGuest { .. } => ActionKind::RemoveGuest,
            Self::SetManager { .. } => ActionKind::SetManager,
            Self::AddOwner { .. } => ActionKind::AddOwner,
            Self::RemoveOwner { .. } => ActionKind::RemoveOwner,
            Self::ClearManager { .. } => ActionKind::ClearManager,
            Self::ConfirmCompromised { .. } => ActionKind::ConfirmCompromised,
        }
    }
}

/// One attribute's change, for people and for JSON consumers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Graph property, or `licenses`, `member`, …
    pub field: String,
    /// Value before (`None`: not set).
    pub old: Option<String>,
    /// Value after (`None`: cleared or removed).
    pub new: Option<String>,
}

/// A planned action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Position in execution order (0-based).
    pub id: usize,
    /// What kind of action.
    pub kind: ActionKind,
    /// What it acts on: `user alice@acme.example`, `group eng-platform`,
    /// `group eng-platform member alice@acme.example`.
    pub target: String,
    /// Field-level changes.
    pub changes: Vec<Change>,
    /// Policy items that call for it.
    pub reasons: Vec<Reason>,
    /// Actions (by `id`) that must succeed first.
    pub depends_on: Vec<usize>,
    /// The operation the executor runs.
    pub op: Op,
}
