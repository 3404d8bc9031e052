//! A backend that applies operations to a snapshot folder, with the rules
//! Graph enforces (a UPN is unique, licences need a usage location and a free
//! seat, a Team needs a Microsoft 365 group), so that an offline rehearsal
//! fails where the real tenant would. The new state is written back
//! atomically by [`Backend::finish`].

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::backend::{ApplyError, Backend, Outcome};
use super::guard::LiveTarget;
use crate::model::fields::Fields;
use crate::model::graph::{AssignedLicense, Group, LicenseAssignmentState, User};
use crate::model::json::Json;
use crate::model::state::LiveState;
use crate::model::{ObjectId, SkuId};
use crate::plan::Marker;
use crate::plan::action::{GroupRef, LicenseAdd, LicenseRemove, Op, UserRef};
use crate::policy::types::{GroupKind, TeamRole};
use crate::providers::snapshot::M365Snapshot;

/// Applies operations to an in-memory [`LiveState`] and stores it on `finish`.
pub struct SnapshotBackend {
    state: LiveState,
    target: Option<M365Snapshot>,
    okta_id_attribute: Marker,
}

impl SnapshotBackend {
    /// A backend over `state` that writes to `target` when done (`None`: keep in memory).
    pub fn new(state: LiveState, target: Option<M365Snapshot>, okta_id_attribute: Marker) -> Self {
        Self {
            state,
            target,
            okta_id_attribute,
        }
    }

    /// The state as it stands.
    pub fn state(&self) -> &LiveState {
        &self.state
    }

    fn apply(&mut self, op: &Op) -> Result<Outcome, ApplyError> {
        match op {
            Op::CreateUser {
                upn,
                okta_id,
                account_enabled,
                properties,
            } => {
                if self.find_upn(upn).is_some() {
                    return Err(ApplyError::new(format!(
                        "create user {upn}: another object with the same userPrincipalName already exists; link it instead (set its Okta id marker)"
                    )));
                }
                let mut user = User {
                    id: object_id("user", upn),
                    user_principal_name: upn.clone(),
                    account_enabled: *account_enabled,
                    user_type: Some("Member".into()),
                    ..User::default()
                };
                for (name, value) in properties {
                    set_property(&mut user, name, Some(value));
                }
                set_property(&mut user, &self.okta_id_attribute.property(), Some(okta_id));
                let id = user.id.clone();
                self.state.users.push(user);
                Ok(Outcome::Created(id))
            }
            Op::InviteGuest {
                mail,
                display_name,
                okta_id,
                ..
            } => {
                let existing = self.state.users.iter().position(|u| {
                    u.is_guest()
                        && u.property("mail")
                            .is_some_and(|m| m.eq_ignore_ascii_case(mail))
                });
                let marker = self.okta_id_attribute.property();
                if let Some(i) = existing {
                    let user = &mut self.state.users[i];
                    set_property(user, &marker, Some(okta_id));
                    return Ok(Outcome::Created(user.id.clone()));
                }
                let upn = format!("{}#EXT#@{}", mail.replace('@', "_"), self.guest_domain());
                let mut user = User {
                    id: object_id("guest", mail),
                    user_principal_name: upn,
                    account_enabled: true,
                    user_type: Some("Guest".into()),
                    ..User::default()
                };
                set_property(&mut user, "mail", Some(mail));
                set_property(&mut user, "displayName", Some(display_name));
                set_property(&mut user, "externalUserState", Some("PendingAcceptance"));
                set_property(&mut user, "creationType", Some("Invitation"));
                set_property(&mut user, &marker, Some(okta_id));
                let id = user.id.clone();
                self.state.users.push(user);
                Ok(Outcome::Created(id))
            }
            Op::UpdateUser { user, properties } => {
                let u = self.user_mut(user)?;
                for (name, value) in properties {
                    set_property(u, name, value.as_deref());
                }
                Ok(Outcome::Done)
            }
            Op::EnableUser { user } => {
                self.user_mut(user)?.account_enabled = true;
                Ok(Outcome::Done)
            }
            Op::DisableUser { user } => {
                self.user_mut(user)?.account_enabled = false;
                Ok(Outcome::Done)
            }
            // Sessions live in Entra ID, not in the snapshot: nothing to record.
            Op::RevokeSessions { user } => self.user_mut(user).map(|_| Outcome::Done),
            Op::AssignLicenses { user, add, remove } => self.assign_licenses(user, add, remove),
            Op::DeleteUser { user } | Op::RemoveGuest { user } => self.delete_user(user),
            Op::CreateGroup {
                mail_nickname,
                display_name,
                description,
                kind,
                visibility,
            } => {
                if self.find_group_by_nick(mail_nickname).is_some() {
                    return Err(ApplyError::new(format!(
                        "create group {mail_nickname}: a group with this mailNickname already exists"
                    )));
                }
                let unified = *kind == GroupKind::Unified;
                let mut other = BTreeMap::new();
                if let Some(d) = description {
                    other.insert("description".into(), Value::String(d.clone()));
                }
                if let Some(v) = visibility.filter(|_| unified) {
                    other.insert("visibility".into(), Value::String(v.graph().into()));
                }
                let group = Group {
                    id: object_id("group", mail_nickname),
                    display_name: display_name.clone(),
                    mail_nickname: Some(mail_nickname.clone()),
                    group_types: if unified {
                        vec!["Unified".into()]
                    } else {
                        Vec::new()
                    },
                    mail_enabled: unified,
                    security_enabled: !unified,
                    resource_provisioning_options: Vec::new(),
                    other,
                };
                let id = group.id.clone();
                self.state.members.insert(id.clone(), Vec::new());
                self.state.owners.insert(id.clone(), Vec::new());
                self.state.groups.push(group);
                Ok(Outcome::Created(id))
            }
            Op::CreateTeam { group } => {
                let g = self.group_mut(group)?;
                if !g.is_unified() {
                    return Err(ApplyError::new(format!(
                        "create Team on {}: only Microsoft 365 (Unified) groups can have a Team",
                        group.mail_nickname
                    )));
                }
                if !g.has_team() {
                    g.resource_provisioning_options.push("Team".into());
                }
                Ok(Outcome::Done)
            }
            Op::SetManager { user, manager } => {
                let manager_id = self.user_mut(manager)?.id.clone();
                let u = self.user_mut(user)?;
                u.other.insert(
                    "manager".into(),
                    serde_json::json!({ "id": manager_id }).into(),
                );
                Ok(Outcome::Done)
            }
            Op::ConfirmCompromised { user } => Err(ApplyError::new(format!(
                "confirm {} compromised: Identity Protection lives in Entra ID, not in a snapshot\n  hint: point `m365` at a tenant, or set `events.relay.confirm_compromised: false`",
                user.upn
            ))),
            Op::ClearManager { user } => {
                self.user_mut(user)?.other.remove("manager");
                Ok(Outcome::Done)
            }
            Op::AddOwner { group, user } => {
                let group_id = self.group_mut(group)?.id.clone();
                let user_id = self.user_mut(user)?.id.clone();
                let ids = self.state.owners.entry(group_id).or_default();
                if !ids.contains(&user_id) {
                    ids.push(user_id);
                }
                Ok(Outcome::Done)
            }
            Op::RemoveOwner { group, user } => {
                let group_id = self.group_mut(group)?.id.clone();
                let user_id = self.user_mut(user)?.id.clone();
                if let Some(ids) = self.state.owners.get_mut(&group_id) {
                    ids.retain(|id| id != &user_id);
                }
                Ok(Outcome::Done)
            }
            Op::AddMember { group, user } => self.add_member(group, user, false),
            Op::AddTeamMember { group, user, role } => {
                self.add_member(group, user, *role == TeamRole::Owner)
            }
            Op::RemoveMember { group, user } | Op::RemoveTeamMember { group, user, .. } => {
                let group_id = self.group_mut(group)?.id.clone();
                let user_id = self.user_mut(user)?.id.clone();
                let owner_too = matches!(
                    op,
                    Op::RemoveTeamMember {
                        role: TeamRole::Owner,
                        ..
                    }
                );
                if let Some(ids) = self.state.members.get_mut(&group_id) {
                    ids.retain(|id| id != &user_id);
                }
                if owner_too && let Some(ids) = self.state.owners.get_mut(&group_id) {
                    ids.retain(|id| id != &user_id);
                }
                if let Some(groups) = self.state.member_of.get_mut(&user_id) {
                    groups.retain(|id| id != &group_id);
                }
                Ok(Outcome::Done) // not a member any more: done either way
            }
        }
    }

    fn add_member(
        &mut self,
        group: &GroupRef,
        user: &UserRef,
        owner: bool,
    ) -> Result<Outcome, ApplyError> {
        let group_id = self.group_mut(group)?.id.clone();
        let user_id = self.user_mut(user)?.id.clone();
        let lists: &mut [&mut BTreeMap<ObjectId, Vec<ObjectId>>] = if owner {
            &mut [&mut self.state.members, &mut self.state.owners]
        } else {
            &mut [&mut self.state.members]
        };
        for list in lists {
            let ids = list.entry(group_id.clone()).or_default();
            if !ids.contains(&user_id) {
                ids.push(user_id.clone()); // already a member counts as done
            }
        }
        Ok(Outcome::Done)
    }

    fn assign_licenses(
        &mut self,
        user: &UserRef,
        add: &[LicenseAdd],
        remove: &[LicenseRemove],
    ) -> Result<Outcome, ApplyError> {
        let index = self.user_index(user)?;
        let u = &self.state.users[index];
        if !add.is_empty() && u.property("usageLocation").is_none() {
            return Err(ApplyError::new(format!(
                "licences of {}: the user has no usageLocation; set it before assigning licences",
                user.upn
            )));
        }
        for r in remove {
            if !u.direct_skus().contains(&&r.sku_id) {
                return Err(ApplyError::new(format!(
                    "licences of {}: {} is not assigned directly (it may come from a group); remove it there",
                    user.upn, r.sku
                )));
            }
        }
        for a in add {
            let held = u.assigned_licenses.iter().any(|l| l.sku_id == a.sku_id);
            let sku = self
                .state
                .skus
                .iter()
                .find(|s| s.sku_id == a.sku_id)
                .ok_or_else(|| {
                    ApplyError::new(format!(
                        "licences of {}: the tenant has no subscription to {}",
                        user.upn, a.sku
                    ))
                })?;
            if !held && sku.available() <= 0 {
                return Err(ApplyError::new(format!(
                    "licences of {}: no free {} seats ({} of {} in use); buy seats or reclaim some",
                    user.upn, a.sku, sku.consumed_units, sku.prepaid_units.enabled
                )));
            }
        }
        let u = &mut self.state.users[index];
        let mut changed: BTreeMap<SkuId, i64> = BTreeMap::new();
        for r in remove {
            u.assigned_licenses.retain(|l| l.sku_id != r.sku_id);
            u.license_assignment_states
                .retain(|s| !(s.sku_id == r.sku_id && s.assigned_by_group.is_none()));
            *changed.entry(r.sku_id.clone()).or_default() -= 1;
        }
        for a in add {
            let inherited = u.inherits_sku(&a.sku_id);
            match u
                .assigned_licenses
                .iter_mut()
                .find(|l| l.sku_id == a.sku_id)
            {
                Some(l) => l.disabled_plans = a.disabled_plans.clone(),
                None => {
                    u.assigned_licenses.push(AssignedLicense {
                        sku_id: a.sku_id.clone(),
                        disabled_plans: a.disabled_plans.clone(),
                    });
                    *changed.entry(a.sku_id.clone()).or_default() += 1;
                }
            }
            u.license_assignment_states
                .retain(|s| !(s.sku_id == a.sku_id && s.assigned_by_group.is_none()));
            if !u.license_assignment_states.is_empty() || inherited {
                u.license_assignment_states.push(LicenseAssignmentState {
                    sku_id: a.sku_id.clone(),
                    assigned_by_group: None,
                    disabled_plans: a.disabled_plans.clone(),
                    state: Some("Active".into()),
                    error: Some("None".into()),
                    other: Fields::new(),
                });
            }
        }
        self.count_seats(&changed);
        Ok(Outcome::Done)
    }

    fn delete_user(&mut self, user: &UserRef) -> Result<Outcome, ApplyError> {
        let index = self.user_index(user)?;
        let removed = self.state.users.remove(index);
        for lists in [&mut self.state.members, &mut self.state.owners] {
            for ids in lists.values_mut() {
                ids.retain(|id| id != &removed.id);
            }
        }
        let freed: BTreeMap<SkuId, i64> = removed
            .assigned_licenses
            .iter()
            .map(|l| (l.sku_id.clone(), -1))
            .collect();
        self.count_seats(&freed);
        Ok(Outcome::Done)
    }

    fn count_seats(&mut self, changed: &BTreeMap<SkuId, i64>) {
        for sku in &mut self.state.skus {
            if let Some(delta) = changed.get(&sku.sku_id) {
                sku.consumed_units += delta;
            }
        }
    }

    fn guest_domain(&self) -> String {
        let from_guest = self
            .state
            .users
            .iter()
            .find_map(|u| Some(u.user_principal_name.split_once("#EXT#@")?.1.to_owned()));
        from_guest.unwrap_or_else(|| "tenant.onmicrosoft.com".into())
    }

    fn find_upn(&self, upn: &str) -> Option<usize> {
        self.state
            .users
            .iter()
            .position(|u| u.user_principal_name.eq_ignore_ascii_case(upn))
    }

    fn find_group_by_nick(&self, nick: &str) -> Option<usize> {
        self.state.groups.iter().position(|g| {
            g.mail_nickname
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(nick))
        })
    }

    fn user_index(&self, user: &UserRef) -> Result<usize, ApplyError> {
        let found = match &user.id {
            Some(id) => self.state.users.iter().position(|u| &u.id == id),
            None => self.find_upn(&user.upn),
        };
        found.ok_or_else(|| {
            ApplyError::new(format!(
                "user {} not found (deleted since the plan was made?)",
                user.upn
            ))
        })
    }

    fn user_mut(&mut self, user: &UserRef) -> Result<&mut User, ApplyError> {
        let i = self.user_index(user)?;
        Ok(&mut self.state.users[i])
    }

    fn group_mut(&mut self, group: &GroupRef) -> Result<&mut Group, ApplyError> {
        let found = match &group.id {
            Some(id) => self.state.groups.iter().position(|g| &g.id == id),
            None => self.find_group_by_nick(&group.mail_nickname),
        };
        let i = found.ok_or_else(|| {
            ApplyError::new(format!(
                "group {} not found (deleted since the plan was made?)",
                group.mail_nickname
            ))
        })?;
        Ok(&mut self.state.groups[i])
    }
}

impl Backend for SnapshotBackend {
    async fn execute(&mut self, ops: &[Op]) -> Vec<Result<Outcome, ApplyError>> {
        ops.iter().map(|op| self.apply(op)).collect()
    }

    async fn look_up(&mut self, users: &[ObjectId]) -> Vec<Result<Option<LiveTarget>, ApplyError>> {
        users
            .iter()
            .map(|id| {
                Ok(self
                    .state
                    .users
                    .iter()
                    .find(|u| &u.id == id)
                    .map(|u| LiveTarget {
                        id: u.id.clone(),
                        upn: u.user_principal_name.clone(),
                        okta_id: self.okta_id_attribute.get(u),
                    }))
            })
            .collect()
    }

    async fn finish(&mut self) -> Result<(), ApplyError> {
        let Some(target) = &self.target else {
            return Ok(());
        };
        target.store(&self.state).map_err(|e| {
            ApplyError::new(format!(
                "writing the snapshot in {}: {e}",
                target.dir.display()
            ))
        })
    }
}

/// Sets a Graph property on a user: typed fields, `onPremisesExtensionAttributes.*`
/// and plain properties alike. `None` clears it (Graph sets it to null).
fn set_property(user: &mut User, name: &str, value: Option<&str>) {
    if let Some(attr) = name.strip_prefix("onPremisesExtensionAttributes.") {
        let attrs = user
            .on_premises_extension_attributes
            .get_or_insert_with(Fields::new);
        attrs.insert(attr.to_owned(), value.map(str::to_owned));
        return;
    }
    match name {
        "userPrincipalName" => {
            if let Some(v) = value {
                user.user_principal_name = v.to_owned();
            }
        }
        "accountEnabled" => user.account_enabled = value != Some("false"),
        "userType" => user.user_type = value.map(str::to_owned),
        _ => {
            user.other
                .insert(name.to_owned(), value.map_or(Json::Null, Json::from));
        }
    }
}

/// A stable object id for a new object, derived from its natural key, so the
/// same plan applied to the same snapshot gives the same ids.
fn object_id(kind: &str, key: &str) -> ObjectId {
    let digest = Sha256::digest(format!("{kind}:{}", key.to_lowercase()));
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    ObjectId::from(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::{PrepaidUnits, SubscribedSku};

    fn backend() -> SnapshotBackend {
        let state = LiveState {
            skus: vec![SubscribedSku {
                sku_id: SkuId::from("sku-e3"),
                sku_part_number: "SPE_E3".into(),
                consumed_units: 0,
                prepaid_units: PrepaidUnits {
                    enabled: 1,
                    other: BTreeMap::new(),
                },
                service_plans: Vec::new(),
                other: BTreeMap::new(),
            }],
            ..LiveState::default()
        };
        SnapshotBackend::new(state, None, Marker::ExtensionAttribute(15))
    }

    fn create(upn: &str, usage_location: Option<&str>) -> Op {
        let mut properties = BTreeMap::new();
        if let Some(l) = usage_location {
            properties.insert("usageLocation".into(), l.into());
        }
        Op::CreateUser {
            upn: upn.into(),
            okta_id: format!("okta-{upn}"),
            account_enabled: true,
            properties,
        }
    }

    fn license(upn: &str) -> Op {
        Op::AssignLicenses {
            user: UserRef {
                id: None,
                upn: upn.into(),
                okta_id: None,
            },
            add: vec![LicenseAdd {
                sku_id: SkuId::from("sku-e3"),
                sku: "SPE_E3".into(),
                disabled_plans: vec![],
                disabled_plan_names: vec![],
            }],
            remove: vec![],
        }
    }

    #[test]
    fn graph_rules_hold_offline() {
        let mut b = backend();
        assert!(matches!(
            b.apply(&create("a@x", Some("US"))),
            Ok(Outcome::Created(_))
        ));
        assert!(
            b.apply(&create("A@x", None))
                .unwrap_err()
                .message
                .contains("already exists")
        );
        assert!(b.apply(&create("b@x", None)).is_ok());
        assert!(
            b.apply(&license("b@x"))
                .unwrap_err()
                .message
                .contains("usageLocation")
        );
        assert!(b.apply(&license("a@x")).is_ok());
        assert_eq!(b.state().skus[0].consumed_units, 1);
        b.apply(&Op::UpdateUser {
            user: UserRef {
                id: None,
                upn: "b@x".into(),
                okta_id: None,
            },
            properties: [("usageLocation".into(), Some("GB".into()))].into(),
        })
        .unwrap();
        let full = b.apply(&license("b@x")).unwrap_err().message;
        assert!(
            full.contains("no free SPE_E3 seats (1 of 1 in use)"),
            "{full}"
        );
        b.apply(&Op::DeleteUser {
            user: UserRef {
                id: None,
                upn: "a@x".into(),
                okta_id: None,
            },
        })
        .unwrap();
        assert_eq!(b.state().skus[0].consumed_units, 0);
        assert!(b.apply(&license("b@x")).is_ok());
    }

    #[test]
    fn ids_are_stable_and_marker_is_set() {
        let mut a = backend();
        let mut b = backend();
        assert_eq!(
            a.apply(&create("a@x", None)).unwrap(),
            b.apply(&create("a@x", None)).unwrap()
        );
        assert_eq!(
            Marker::ExtensionAttribute(15)
                .get(&a.state().users[0])
                .as_deref(),
            Some("okta-a@x")
        );
    }
}
