//! Groups and Teams okta365 owns: create them, add the members and owners
//! the policies ask for, and remove only what each declaration governs
//! (`members.mode` and `members.scope`, `owners`). Leavers are taken out by
//! the leaver pass, from every group; the owner pass keeps every group owned.

use super::*;
use crate::compile::{ScopeOf, Sourced};
use crate::model::graph::Group;
use crate::policy::types::{GovernanceMode, GroupKind};

/// What a group declaration leaves alone, counted for the plan's "left
/// alone" list: managed members no rule names, kept because the group is
/// additive, because the declaration's scope does not cover them, or
/// because they are owners and owners are not governed there.
#[derive(Debug, Default)]
pub(super) struct LeftAlone {
    /// By group mail nickname: (additive, out of scope, owners).
    pub groups: BTreeMap<String, [usize; 3]>,
}

impl LeftAlone {
    fn count(&mut self, group: &str, which: usize) {
        self.groups.entry(group.to_owned()).or_default()[which] += 1;
    }
}

impl<'a> Differ<'a> {
    pub(super) fn groups(&mut self) {
        for (key, want) in &self.input.desired.groups {
            let live = self.live_groups.get(key).copied();
            let group = GroupRef {
                id: live.map(|g| g.id.clone()),
                mail_nickname: want.mail_nickname.clone(),
            };
            let target = format!("group {}", want.mail_nickname);
            match live {
                None => {
                    let mut changes = vec![
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
                    ];
                    if let Some(v) = want.visibility.filter(|_| want.kind == GroupKind::Unified) {
                        changes.push(Change {
                            field: "visibility".into(),
                            old: None,
                            new: Some(v.graph().into()),
                        });
                    }
                    self.push(
                        Op::CreateGroup {
                            mail_nickname: want.mail_nickname.clone(),
                            display_name: want.display_name.clone(),
                            description: want.description.clone(),
                            kind: want.kind,
                            visibility: want.visibility.filter(|_| want.kind == GroupKind::Unified),
                        },
                        target.clone(),
                        changes,
                        want.reasons.clone(),
                    )
                }
                Some(g) if g.is_unified() != (want.kind == GroupKind::Unified) => {
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
            self.members(want, live, &group);
        }
    }

    /// Adds the members and owners `want` asks for; removes governed
    /// members and owners it no longer names.
    fn members(&mut self, want: &'a DesiredGroup, live: Option<&'a Group>, group: &GroupRef) {
        let set = |lists: &'a BTreeMap<ObjectId, Vec<ObjectId>>| -> BTreeSet<&'a ObjectId> {
            live.and_then(|g| lists.get(&g.id))
                .map(|v| v.iter().collect())
                .unwrap_or_default()
        };
        let (members, owners) = (set(&self.live.members), set(&self.live.owners));
        let read = live.is_none_or(|g| self.live.members.contains_key(&g.id));
        let mut wanted: HashSet<&'a ObjectId> = HashSet::with_capacity(want.members.len());
        let mut wanted_owners: HashSet<&'a ObjectId> = HashSet::new();
        for (okta_id, role) in &want.members {
            let Some(user) = self.resolved.get(okta_id) else {
                continue;
            };
            let owner = role.value == TeamRole::Owner;
            // The live account's own id: the sets borrow the live state.
            if let Some((&id, _)) = user
                .id
                .as_ref()
                .and_then(|id| self.users_by_id.get_key_value(id))
            {
                wanted.insert(id);
                if owner {
                    wanted_owners.insert(id);
                }
                if self.protected.contains(id) {
                    continue;
                }
                if members.contains(id) && (!owner || owners.contains(id)) {
                    continue; // most memberships: nothing to do, nothing cloned
                }
            }
            let user = user.clone();
            self.add_member(want, group, &user, role, &members, &owners);
        }
        if owners.is_empty() && wanted_owners.is_empty() && !self.wants_owner(want) {
            self.fallback_owner(want, group);
        }
        if !read {
            return; // members not read: fail closed, remove nothing
        }
        let owners_governed = want
            .owners
            .as_ref()
            .is_some_and(|o| o.mode == GovernanceMode::Authoritative);
        for member in members.iter().copied() {
            if wanted.contains(member) || self.is_untouchable(member) {
                continue;
            }
            let Some(&u) = self.users_by_id.get(member) else {
                continue;
            };
            let Some(okta_id) = self.marker_of(u) else {
                continue; // unmanaged members stay
            };
            if self.is_leaver(okta_id) {
                continue; // the leaver pass takes them out of every group
            }
            if want.members_mode == GovernanceMode::Additive {
                self.left_alone.count(&want.mail_nickname, 0);
                continue;
            }
            if !self.in_scope(want, u, okta_id) {
                self.left_alone.count(&want.mail_nickname, 1);
                continue;
            }
            let is_owner = owners.contains(member);
            if is_owner && !owners_governed {
                self.left_alone.count(&want.mail_nickname, 2);
                continue; // owners are governed only where owners are declared
            }
            let reason = self.not_granted(want, u);
            self.remove_member(want, group, u, okta_id, is_owner, reason);
        }
        if owners_governed {
            for owner in owners.iter().copied() {
                if wanted_owners.contains(owner) || self.is_untouchable(owner) {
                    continue;
                }
                if !members.contains(owner) || wanted.contains(owner) {
                    // Owner only, or kept as a member: take the ownership alone.
                    let Some(&u) = self.users_by_id.get(owner) else {
                        continue;
                    };
                    let Some(okta_id) = self.marker_of(u) else {
                        continue;
                    };
                    if self.is_leaver(okta_id) {
                        continue;
                    }
                    let declared = &want.owners.as_ref().expect("governed").reason;
                    let reason = declared.with_rule(format!(
                        "owners of {} are governed here: not a declared owner",
                        want.mail_nickname
                    ));
                    self.remove_owner(group, u, okta_id, reason);
                }
            }
        }
    }

    fn add_member(
        &mut self,
        want: &DesiredGroup,
        group: &GroupRef,
        user: &UserRef,
        role: &Sourced<TeamRole>,
        members: &BTreeSet<&ObjectId>,
        owners: &BTreeSet<&ObjectId>,
    ) {
        let is_member = user.id.as_ref().is_some_and(|id| members.contains(id));
        let is_owner = user.id.as_ref().is_some_and(|id| owners.contains(id));
        let owner = role.value == TeamRole::Owner;
        let noun = if want.team { "team" } else { "group" };
        let target = format!("{noun} {} member {}", want.mail_nickname, user.upn);
        let reasons = role.reasons.to_vec();
        if want.team {
            if is_member && (is_owner || !owner) {
                return;
            }
            self.push(
                Op::AddTeamMember {
                    group: group.clone(),
                    user: user.clone(),
                    role: role.value,
                },
                target,
                vec![Change {
                    field: "role".into(),
                    old: is_member.then(|| "member".to_owned()),
                    new: Some(format!("{:?}", role.value).to_lowercase()),
                }],
                reasons,
            );
            return;
        }
        if !is_member {
            self.push(
                Op::AddMember {
                    group: group.clone(),
                    user: user.clone(),
                },
                target,
                vec![Change {
                    field: "member".into(),
                    old: None,
                    new: Some("member".into()),
                }],
                reasons.clone(),
            );
        }
        if owner && !is_owner {
            self.push(
                Op::AddOwner {
                    group: group.clone(),
                    user: user.clone(),
                },
                format!("group {} owner {}", want.mail_nickname, user.upn),
                vec![Change {
                    field: "owner".into(),
                    old: None,
                    new: Some("owner".into()),
                }],
                reasons,
            );
        }
    }

    /// Whether any desired owner of `want` has (or gets) an account.
    fn wants_owner(&self, want: &DesiredGroup) -> bool {
        want.members.iter().any(|(okta_id, role)| {
            role.value == TeamRole::Owner && self.resolved.contains_key(okta_id)
        })
    }

    /// A group with an owners declaration that would have no owner at all
    /// (no live owner, none of its declared owners has an account) gets
    /// its `fallback` account as owner, so a new mirrored group can carry
    /// its Team.
    fn fallback_owner(&mut self, want: &DesiredGroup, group: &GroupRef) {
        let Some(owners) = &want.owners else {
            return;
        };
        let Some(fallback) = &owners.fallback else {
            return;
        };
        let Some(heir) = self
            .live
            .users
            .iter()
            .find(|u| u.user_principal_name.eq_ignore_ascii_case(fallback))
        else {
            self.out.diagnostics.push(
                Diagnostic::warning(
                    None,
                    format!(
                        "fallback owner `{fallback}` of `{}` has no account",
                        want.mail_nickname
                    ),
                )
                .with_hint(format!(
                    "the fallback is declared at {}:{}; give an existing UPN",
                    owners.reason.file, owners.reason.line
                )),
            );
            return;
        };
        if self.protected.contains(&heir.id) || !heir.account_enabled {
            return;
        }
        let user = UserRef {
            id: Some(heir.id.clone()),
            upn: heir.user_principal_name.clone(),
            okta_id: self.marker_of(heir).map(OktaUserId::from),
        };
        let reason = owners.reason.with_rule(format!(
            "{}: no declared owner has an account; the fallback owns it",
            owners.reason.rule
        ));
        let role = Sourced::new(TeamRole::Owner, reason);
        // A Team's owners are its members too; a group's fallback owner
        // only owns it (no access through membership).
        let members: BTreeSet<&ObjectId> = if want.team {
            BTreeSet::new()
        } else {
            [&heir.id].into()
        };
        self.add_member(want, group, &user, &role, &members, &BTreeSet::new());
    }

    /// Removes a governed member (and their ownership, where owners are governed).
    fn remove_member(
        &mut self,
        want: &DesiredGroup,
        group: &GroupRef,
        u: &User,
        okta_id: &str,
        is_owner: bool,
        reason: Reason,
    ) {
        let user = UserRef {
            id: Some(u.id.clone()),
            upn: u.user_principal_name.clone(),
            okta_id: Some(OktaUserId::from(okta_id)),
        };
        let role = if is_owner {
            TeamRole::Owner
        } else {
            TeamRole::Member
        };
        if want.team {
            self.push(
                Op::RemoveTeamMember {
                    group: group.clone(),
                    user: user.clone(),
                    role,
                },
                format!("team {} member {}", want.mail_nickname, user.upn),
                vec![Change {
                    field: "role".into(),
                    old: Some(format!("{role:?}").to_lowercase()),
                    new: None,
                }],
                vec![reason],
            );
            return;
        }
        self.push(
            Op::RemoveMember {
                group: group.clone(),
                user: user.clone(),
            },
            format!("group {} member {}", want.mail_nickname, user.upn),
            vec![Change {
                field: "member".into(),
                old: Some("member".into()),
                new: None,
            }],
            vec![reason.clone()],
        );
        if is_owner {
            self.remove_owner(group, u, okta_id, reason);
        }
    }

    /// Takes an ownership away (the owner pass keeps the group owned).
    pub(super) fn remove_owner(
        &mut self,
        group: &GroupRef,
        u: &User,
        okta_id: &str,
        reason: Reason,
    ) {
        let user = UserRef {
            id: Some(u.id.clone()),
            upn: u.user_principal_name.clone(),
            okta_id: Some(OktaUserId::from(okta_id)),
        };
        self.push(
            Op::RemoveOwner {
                group: group.clone(),
                user,
            },
            format!(
                "group {} owner {}",
                group.mail_nickname, u.user_principal_name
            ),
            vec![Change {
                field: "owner".into(),
                old: Some("owner".into()),
                new: None,
            }],
            vec![reason],
        );
    }

    /// Protected, or a leaver who keeps their memberships.
    fn is_untouchable(&self, id: &ObjectId) -> bool {
        self.protected.contains(id) || self.keep_memberships.contains(id)
    }

    /// Whether the Okta user behind a managed account is leaving (or gone).
    pub(super) fn is_leaver(&self, okta_id: &str) -> bool {
        let desired = self.input.desired;
        desired.leavers.contains_key(okta_id)
            || (!desired.okta_ids.is_empty() && !desired.okta_ids.contains(okta_id))
    }

    /// Whether the declaration governs this managed member.
    fn in_scope(&self, want: &DesiredGroup, u: &User, okta_id: &str) -> bool {
        match &want.member_scope {
            ScopeOf::Managed => true,
            ScopeOf::Guests => u.is_guest(),
            ScopeOf::When(key) => self
                .input
                .desired
                .scopes
                .get(key)
                .is_some_and(|ids| ids.contains(okta_id)),
        }
    }

    /// The reason of a governed member's removal: the declaration that
    /// governs the group, and the policy lines the person no longer satisfies.
    fn not_granted(&self, want: &DesiredGroup, u: &User) -> Reason {
        let declared = &want.reasons[0];
        let who = if u.is_guest() { "guest" } else { "member" };
        let why = if !want.okta_groups.is_empty() {
            let groups: Vec<String> = want.okta_groups.iter().map(|g| format!("`{g}`")).collect();
            format!(
                "{}: no longer a member of Okta group {}",
                declared.rule,
                groups.join(", ")
            )
        } else if want.granted_by.is_empty() {
            format!("{}: no policy line grants this {who}", declared.rule)
        } else {
            let lines: Vec<String> = want
                .granted_by
                .iter()
                .map(|r| format!("`{}` ({}:{})", r.rule, r.file, r.line))
                .collect();
            format!(
                "{} governs its {who}s: no longer granted by {}",
                declared.rule,
                lines.join(" or ")
            )
        };
        declared.with_rule(why)
    }
}
