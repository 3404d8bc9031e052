//! Groups and Teams okta365 owns: create them, and add and remove members.

use super::*;

impl<'a> Differ<'a> {
    pub(super) fn groups(&mut self) {
        let live_by_nick: BTreeMap<String, &'a crate::model::graph::Group> = self
            .live
            .groups
            .iter()
            .filter_map(|g| Some((lower(g.mail_nickname.as_deref()?), g)))
            .collect();
        let managed_ids: HashMap<&ObjectId, &str> = self
            .live
            .users
            .iter()
            .filter_map(|u| Some((&u.id, self.marker_of(u)?)))
            .collect();
        for (key, want) in &self.input.desired.groups {
            let live = live_by_nick.get(key).copied();
            let group = GroupRef {
                id: live.map(|g| g.id.clone()),
                mail_nickname: want.mail_nickname.clone(),
            };
            let target = format!("group {}", want.mail_nickname);
            match live {
                None => self.push(
                    Op::CreateGroup {
                        mail_nickname: want.mail_nickname.clone(),
                        display_name: want.display_name.clone(),
                        description: want.description.clone(),
                        kind: want.kind,
                    },
                    target.clone(),
                    vec![
                        Change {
                            field: "displayName".into(),
                            old: None,
                            new: Some(want.display_name.clone()),
                        },
                        Change {
                            field: "kind".into(),
                            old: None,
                            new: Some(format!("{:?}", want.kind).to_lowercase()),
                        },
                    ],
                    want.reasons.clone(),
                ),
                Some(g)
                    if g.is_unified()
                        != (want.kind == crate::policy::types::GroupKind::Unified) =>
                {
                    self.out.diagnostics.push(
                        Diagnostic::warning(None, format!("group `{}` exists with another kind than the policy says; left as it is", want.mail_nickname))
                            .with_hint("okta365 does not convert groups; rename one of them"),
                    );
                }
                Some(_) => {}
            }
            let has_team = live.is_some_and(|g| g.has_team());
            if want.team && !has_team {
                self.push(
                    Op::CreateTeam {
                        group: group.clone(),
                    },
                    format!("team {}", want.mail_nickname),
                    Vec::new(),
                    want.reasons.clone(),
                );
            }
            self.members(want, live, &group, &managed_ids);
        }
    }

    pub(super) fn members(
        &mut self,
        want: &DesiredGroup,
        live: Option<&'a crate::model::graph::Group>,
        group: &GroupRef,
        managed: &HashMap<&ObjectId, &str>,
    ) {
        let team = want.team;
        let (members, owners, read) = match live {
            Some(g) => (
                self.live
                    .members
                    .get(&g.id)
                    .map(|v| v.iter().collect::<BTreeSet<_>>())
                    .unwrap_or_default(),
                self.live
                    .owners
                    .get(&g.id)
                    .map(|v| v.iter().collect::<BTreeSet<_>>())
                    .unwrap_or_default(),
                self.live.members.contains_key(&g.id),
            ),
            None => (BTreeSet::new(), BTreeSet::new(), true),
        };
        let mut wanted: HashSet<ObjectId> = HashSet::new();
        for (okta_id, role) in &want.members {
            let Some(user) = self.resolved.get(okta_id) else {
                continue;
            };
            if let Some(id) = &user.id {
                wanted.insert(id.clone());
                if self.protected.contains(id) {
                    continue;
                }
            }
            let is_member = user.id.as_ref().is_some_and(|id| members.contains(id));
            let is_owner = user.id.as_ref().is_some_and(|id| owners.contains(id));
            let needs = match role.value {
                TeamRole::Owner => !is_owner,
                TeamRole::Member => !is_member,
            };
            if !needs {
                continue;
            }
            let user = user.clone();
            let target = format!(
                "{} {} member {}",
                if team { "team" } else { "group" },
                want.mail_nickname,
                user.upn
            );
            let change = Change {
                field: if team { "role".into() } else { "member".into() },
                old: is_member.then(|| "member".to_owned()),
                new: Some(if team {
                    format!("{:?}", role.value).to_lowercase()
                } else {
                    "member".into()
                }),
            };
            let op = if team {
                Op::AddTeamMember {
                    group: group.clone(),
                    user,
                    role: role.value,
                }
            } else {
                Op::AddMember {
                    group: group.clone(),
                    user,
                }
            };
            self.push(op, target, vec![change], role.reasons.to_vec());
        }
        if !read {
            return; // members not read: fail closed, remove nothing
        }
        for member in members.iter().copied() {
            if wanted.contains(member)
                || self.protected.contains(member)
                || self.keep_memberships.contains(member)
            {
                continue;
            }
            let Some(okta_id) = managed.get(member) else {
                continue;
            }; // unmanaged members stay
            let Some(&u) = self.users_by_id.get(member) else {
                continue;
            };
            let user = UserRef {
                id: Some(member.clone()),
                upn: u.user_principal_name.clone(),
                okta_id: Some(OktaUserId::from(*okta_id)),
            };
            let why = self.why_not_member(okta_id);
            let target = format!(
                "{} {} member {}",
                if team { "team" } else { "group" },
                want.mail_nickname,
                user.upn
            );
            if team && owners.contains(member) && owners.len() == 1 {
                self.out.diagnostics.push(
                    Diagnostic::warning(
                        None,
                        format!("`{}` is the only owner of `{}`; removing them leaves it without an owner", u.user_principal_name, want.mail_nickname),
                    )
                    .with_hint("give the Team another owner (a rule with `role: owner`, or by hand)"),
                );
            }
            let role = if owners.contains(member) {
                TeamRole::Owner
            } else {
                TeamRole::Member
            };
            let change = Change {
                field: if team { "role".into() } else { "member".into() },
                old: Some(format!("{role:?}").to_lowercase()),
                new: None,
            };
            let reasons = vec![want.reasons[0].with_rule(why)];
            let op = if team {
                Op::RemoveTeamMember {
                    group: group.clone(),
                    user,
                    role,
                }
            } else {
                Op::RemoveMember {
                    group: group.clone(),
                    user,
                }
            };
            self.push(op, target, vec![change], reasons);
        }
    }

    pub(super) fn why_not_member(&self, okta_id: &str) -> String {
        let id = OktaUserId::from(okta_id);
        match self.input.desired.leavers.get(&id) {
            Some(l) => format!("offboarding: {}", l.why.describe()),
            None if !self.input.desired.okta_ids.contains(&id) => {
                format!("offboarding: {}", LeaveReason::Deleted.describe())
            }
            None => "no rule puts this user in the group".into(),
        }
    }
}
