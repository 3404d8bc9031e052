//! The owner pass: no plan leaves a group or Team that has owners without
//! one. When the last owner's ownership is removed (a leaver, or a governed
//! owner no line names), ownership is handed over first: to the leaver's
//! manager when okta365 manages that account and its person is active,
//! else to the declared fallback account. With neither, the removal is
//! withdrawn and the plan lists a manual step.

use super::*;
use crate::model::graph::Group;

impl<'a> Differ<'a> {
    pub(super) fn keep_groups_owned(&mut self) {
        // Owner removals and additions planned, by group key.
        let mut removals: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut additions: BTreeSet<String> = BTreeSet::new();
        for (i, d) in self.out.drafts.iter().enumerate() {
            match &d.op {
                Op::RemoveOwner { group, .. }
                | Op::RemoveTeamMember {
                    group,
                    role: TeamRole::Owner,
                    ..
                } => removals.entry(group_key(group)).or_default().push(i),
                Op::AddOwner { group, .. }
                | Op::AddTeamMember {
                    group,
                    role: TeamRole::Owner,
                    ..
                } => {
                    additions.insert(group_key(group));
                }
                _ => {}
            }
        }
        let mut withdrawn: BTreeSet<usize> = BTreeSet::new();
        for (key, drafts) in removals {
            if additions.contains(&key) {
                continue;
            }
            let Some(group_id) = self.out.drafts[drafts[0]].op_group_id() else {
                continue;
            };
            let Some(&g) = self.groups_by_id.get(&group_id) else {
                continue;
            };
            let removed: BTreeSet<&ObjectId> = drafts
                .iter()
                .filter_map(|&i| self.out.drafts[i].op.user_ref().and_then(|u| u.id.as_ref()))
                .collect();
            let owners = self.live.owners.get(&g.id);
            let remaining = owners
                .into_iter()
                .flatten()
                .filter(|o| !removed.contains(o))
                .count();
            if remaining > 0 {
                continue;
            }
            let leaving: Vec<&'a User> = removed
                .iter()
                .filter_map(|id| self.users_by_id.get(*id).copied())
                .collect();
            let reason = self.out.drafts[drafts[0]].reasons[0].clone();
            match self.successor(g, &leaving, &removed) {
                Some((heir, why)) => self.hand_over(g, heir, &leaving, reason.with_rule(why)),
                None => {
                    withdrawn.extend(drafts.iter().copied());
                    self.owner_step(g, &leaving, reason);
                }
            }
        }
        if !withdrawn.is_empty() {
            let mut i = 0;
            self.out.drafts.retain(|_| {
                i += 1;
                !withdrawn.contains(&(i - 1))
            });
        }
    }

    /// Who takes over the ownership of `g` from the owners leaving it, and why.
    fn successor(
        &self,
        g: &Group,
        leaving: &[&'a User],
        removed: &BTreeSet<&ObjectId>,
    ) -> Option<(&'a User, String)> {
        let names: Vec<&str> = leaving
            .iter()
            .map(|u| u.user_principal_name.as_str())
            .collect();
        let fits = |u: &User| {
            u.account_enabled && !self.protected.contains(&u.id) && !removed.contains(&u.id)
        };
        for u in leaving {
            let Some(manager) = u
                .manager_id()
                .and_then(|id| self.users_by_id.get(&ObjectId::from(id)).copied())
            else {
                continue;
            };
            let active = self
                .marker_of(manager)
                .is_some_and(|m| self.input.desired.users.contains_key(m));
            if active && fits(manager) {
                return Some((
                    manager,
                    format!(
                        "hand-over: `{}` was the last owner; their manager takes over",
                        u.user_principal_name
                    ),
                ));
            }
        }
        let declared = g
            .mail_nickname
            .as_deref()
            .and_then(|n| self.input.desired.groups.get(&lower(n)))
            .and_then(|d| d.owners.as_ref())
            .and_then(|o| o.fallback.clone());
        let fallback =
            declared.or_else(|| self.input.lifecycle.offboarding.fallback_owner.clone())?;
        let heir = self
            .live
            .users
            .iter()
            .find(|u| u.user_principal_name.eq_ignore_ascii_case(&fallback))?;
        fits(heir).then(|| {
            (
                heir,
                format!(
                    "hand-over: `{}` was the last owner and no active manager can take over; the fallback owner does",
                    names.join("`, `")
                ),
            )
        })
    }

    fn hand_over(&mut self, g: &Group, heir: &User, leaving: &[&User], reason: Reason) {
        let group = GroupRef {
            id: Some(g.id.clone()),
            mail_nickname: super::leavers::group_label(g).to_owned(),
        };
        let user = UserRef {
            id: Some(heir.id.clone()),
            upn: heir.user_principal_name.clone(),
            okta_id: self.marker_of(heir).map(OktaUserId::from),
        };
        let from: Vec<&str> = leaving
            .iter()
            .map(|u| u.user_principal_name.as_str())
            .collect();
        let change = Change {
            field: "owner".into(),
            old: Some(from.join(", ")),
            new: Some(heir.user_principal_name.clone()),
        };
        let team = g.has_team();
        let target = format!(
            "{} {} owner {}",
            if team { "team" } else { "group" },
            group.mail_nickname,
            heir.user_principal_name
        );
        let op = if team {
            Op::AddTeamMember {
                group,
                user,
                role: TeamRole::Owner,
            }
        } else {
            Op::AddOwner { group, user }
        };
        self.push(op, target, vec![change], vec![reason]);
    }

    /// The last owner stays: a person must choose who takes over.
    fn owner_step(&mut self, g: &Group, leaving: &[&User], reason: Reason) {
        let label = super::leavers::group_label(g).replace('\'', "''");
        let names: Vec<String> = leaving
            .iter()
            .map(|u| u.user_principal_name.replace('\'', "''"))
            .collect();
        let command = if g.is_unified() {
            format!(
                "Add-UnifiedGroupLinks -Identity '{label}' -LinkType Owners -Links '<new owner UPN>'; {}",
                names
                    .iter()
                    .map(|n| format!(
                        "Remove-UnifiedGroupLinks -Identity '{label}' -LinkType Owners -Links '{n}' -Confirm:$false"
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        } else {
            format!(
                "New-MgGroupOwnerByRef -GroupId '{}' -OdataId 'https://graph.microsoft.com/v1.0/users/<new owner id>'; {}",
                g.id,
                leaving
                    .iter()
                    .map(|u| format!(
                        "Remove-MgGroupOwnerDirectoryObjectByRef -GroupId '{}' -DirectoryObjectId '{}'",
                        g.id, u.id
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        self.out.manual_steps.push(ManualStep {
            target: format!("group {}", super::leavers::group_label(g)),
            what: format!(
                "choose a new owner, then remove `{}` as owner: removing the last owner would leave it ownerless, and no active manager or `fallback_owner` can take over (kept as owner for now)",
                names.join("`, `")
            ),
            command,
            reasons: vec![reason],
        });
    }
}

/// A group's key in a plan: its object id, else its mail nickname.
fn group_key(g: &GroupRef) -> String {
    match &g.id {
        Some(id) => format!("id:{id}"),
        None => format!("nick:{}", g.mail_nickname.to_lowercase()),
    }
}

impl Draft {
    /// The id of the group the op acts on, when it has one.
    fn op_group_id(&self) -> Option<ObjectId> {
        match &self.op {
            Op::RemoveOwner { group, .. }
            | Op::AddOwner { group, .. }
            | Op::AddMember { group, .. }
            | Op::RemoveMember { group, .. }
            | Op::AddTeamMember { group, .. }
            | Op::RemoveTeamMember { group, .. }
            | Op::CreateTeam { group } => group.id.clone(),
            _ => None,
        }
    }
}
