//! Leavers: offboarding stages for managed accounts whose Okta user left.

use super::*;
use crate::model::graph::Group;
use crate::policy::types::{MembershipScope, ReclaimLicenses};

impl<'a> Differ<'a> {
    pub(super) fn leavers(&mut self) {
        let desired = self.input.desired;
        let settings = self.input.settings;
        let offboarding = &self.input.lifecycle.offboarding;
        let Some(reason) = self.input.lifecycle_reason.clone() else {
            self.without_lifecycle();
            return;
        };
        // Managed users whose Okta user is a leaver, or gone from Okta entirely.
        let mut candidates: Vec<(&'a User, Leaver)> = Vec::new();
        for (okta_id, users) in &self.marker {
            let okta_id = OktaUserId::from(*okta_id);
            if desired.users.contains_key(&okta_id) || desired.guests.contains_key(&okta_id) {
                continue;
            }
            let leaver = match desired.leavers.get(&okta_id) {
                Some(l) => l.clone(),
                None if desired.okta_ids.contains(&okta_id) => continue, // pending, waiting: not a leaver
                None => Leaver {
                    okta_id: okta_id.clone(),
                    login: okta_id.0.to_string(),
                    why: LeaveReason::Deleted,
                    since: None,
                },
            };
            for u in users {
                if !self.claimed.contains_key(&u.id) {
                    candidates.push((u, leaver.clone()));
                }
            }
        }
        // A leaving guest's rule is not known any more: when the guest rules
        // disagree, the gentler `disable` applies. Reasons cite every rule.
        let guest_rules = &desired.guest_rules;
        let guest_leave = if guest_rules.iter().all(|(_, l)| *l == GuestLeave::Remove) {
            GuestLeave::Remove
        } else {
            GuestLeave::Disable
        };
        self.index_leaver_groups(candidates.iter().map(|(u, _)| &u.id));
        for (live, leaver) in candidates {
            self.claimed.insert(&live.id, leaver.okta_id.clone());
            if self.protected.contains(&live.id) {
                self.out.diagnostics.push(Diagnostic::warning(
                    None,
                    format!(
                        "protected account `{}` would be offboarded ({}); left untouched",
                        live.user_principal_name,
                        leaver.why.describe()
                    ),
                ));
                continue;
            }
            let user = UserRef {
                id: Some(live.id.clone()),
                upn: live.user_principal_name.clone(),
                okta_id: Some(leaver.okta_id.clone()),
            };
            let why = leaver.why.describe();
            let mut reasons = vec![reason.with_rule(format!("offboarding: {why}"))];
            if live.is_guest() {
                reasons = if guest_rules.is_empty() {
                    vec![reason.with_rule(format!("guest offboarding: {why}"))]
                } else {
                    guest_rules
                        .iter()
                        .map(|(r, leave)| {
                            r.with_rule(format!(
                                "{}: guest no longer selected (on_leave: {})",
                                r.rule,
                                match leave {
                                    GuestLeave::Remove => "remove",
                                    GuestLeave::Disable => "disable",
                                }
                            ))
                        })
                        .collect()
                };
                if guest_leave == GuestLeave::Disable && offboarding.remove_memberships {
                    self.offboard_groups(live, &user, &reasons);
                }
                match guest_leave {
                    GuestLeave::Remove => self.push(
                        Op::RemoveGuest { user: user.clone() },
                        format!("guest {}", user.upn),
                        Vec::new(),
                        reasons,
                    ),
                    GuestLeave::Disable if live.account_enabled => self.push(
                        Op::DisableUser { user: user.clone() },
                        format!("guest {}", user.upn),
                        vec![Change {
                            field: "accountEnabled".into(),
                            old: Some("true".into()),
                            new: Some("false".into()),
                        }],
                        reasons,
                    ),
                    GuestLeave::Disable => {}
                }
                continue;
            }
            let stamp = settings.offboarded_at_attribute.get(live);
            let since = leaver
                .since
                .or_else(|| stamp.as_deref().and_then(|s| s.parse().ok()))
                .unwrap_or(settings.now);
            let days = (settings.now.as_second() - since.as_second()).max(0) / 86_400;
            // The stamp is written once: when the account is first disabled,
            // or when it is missing and Okta gives no time to count from.
            if stamp.is_none() && (live.account_enabled || leaver.since.is_none()) {
                let prop = settings.offboarded_at_attribute.property();
                let value = since.to_string();
                let mut properties = BTreeMap::new();
                properties.insert(prop.clone(), Some(value.clone()));
                self.push(
                    Op::UpdateUser {
                        user: user.clone(),
                        properties,
                    },
                    user_target(&user.upn),
                    vec![Change {
                        field: prop,
                        old: None,
                        new: Some(value),
                    }],
                    reasons.clone(),
                );
            }
            if live.account_enabled {
                let identity = user.upn.replace('\'', "''");
                let mut step = |what: &str, command: String| {
                    self.out.manual_steps.push(ManualStep {
                        target: user_target(&user.upn),
                        what: format!("{what} before its licence is reclaimed"),
                        command,
                        reasons: reasons.clone(),
                    })
                };
                if offboarding.mailbox == MailboxOnLeave::ConvertToShared {
                    step(
                        "convert the mailbox to a shared mailbox",
                        format!("Set-Mailbox -Identity '{identity}' -Type Shared"),
                    );
                }
                if offboarding.litigation_hold {
                    step(
                        "put the mailbox on litigation hold",
                        format!("Set-Mailbox -Identity '{identity}' -LitigationHoldEnabled $true"),
                    );
                }
            }
            if live.account_enabled {
                self.push(
                    Op::DisableUser { user: user.clone() },
                    user_target(&user.upn),
                    vec![Change {
                        field: "accountEnabled".into(),
                        old: Some("true".into()),
                        new: Some("false".into()),
                    }],
                    reasons.clone(),
                );
                if offboarding.revoke_sessions {
                    self.push(
                        Op::RevokeSessions { user: user.clone() },
                        user_target(&user.upn),
                        Vec::new(),
                        reasons.clone(),
                    );
                }
            }
            if offboarding.remove_memberships {
                self.offboard_groups(live, &user, &reasons);
            } else {
                self.keep_memberships.insert(live.id.clone());
            }
            if days >= i64::from(offboarding.reclaim_licenses_after_days) {
                let only_governed = offboarding.reclaim_licenses == ReclaimLicenses::Governed;
                let remove: Vec<LicenseRemove> = live
                    .direct_skus()
                    .into_iter()
                    .map(|id| LicenseRemove {
                        sku_id: id.clone(),
                        sku: self.sku_name(id.as_str()),
                    })
                    .filter(|r| !only_governed || desired.governed_skus.contains_key(&r.sku))
                    .collect();
                if !remove.is_empty() {
                    let changes = remove
                        .iter()
                        .map(|r| Change {
                            field: format!("license {}", r.sku),
                            old: Some("assigned".into()),
                            new: None,
                        })
                        .collect();
                    let mut why = reasons.clone();
                    why[0] = why[0].with_rule(format!(
                        "{} (day {days} ≥ {})",
                        why[0].rule, offboarding.reclaim_licenses_after_days
                    ));
                    self.push(
                        Op::AssignLicenses {
                            user: user.clone(),
                            add: Vec::new(),
                            remove,
                        },
                        user_target(&user.upn),
                        changes,
                        why,
                    );
                }
            }
            if let Some(after) = offboarding.delete_after_days
                && days >= i64::from(after)
            {
                let mut why = reasons.clone();
                why[0] = why[0].with_rule(format!("{} (day {days} ≥ {after})", why[0].rule));
                self.push(
                    Op::DeleteUser { user: user.clone() },
                    user_target(&user.upn),
                    Vec::new(),
                    why,
                );
            }
        }
    }

    /// Without a `lifecycle` section nothing is offboarded: managed accounts
    /// of Okta users who left are listed, with one warning.
    fn without_lifecycle(&mut self) {
        let mut leavers = Vec::new();
        for users in self.marker.values() {
            for u in users {
                if let Some(okta_id) = self.marker_of(u)
                    && self.is_leaver(okta_id)
                    && !self.claimed.contains_key(&u.id)
                {
                    leavers.push(*u);
                }
            }
        }
        if leavers.is_empty() {
            return;
        }
        for u in &leavers {
            self.claimed.insert(
                &u.id,
                OktaUserId::from(self.marker_of(u).unwrap_or_default()),
            );
            self.keep_memberships.insert(u.id.clone());
            self.out.unmanaged.push(Unmanaged {
                kind: "user".into(),
                name: u.user_principal_name.clone(),
                id: u.id.clone(),
                note: "its Okta user left, but no `lifecycle` section says how to offboard".into(),
            });
        }
        self.out.diagnostics.push(
            Diagnostic::warning(
                None,
                format!(
                    "{} managed account(s) belong to Okta users who left; nothing is offboarded without a `lifecycle` section",
                    leavers.len()
                ),
            )
            .with_hint("add `lifecycle: { offboarding: {} }` to a policy file for the default stages (docs/policy.md#lifecycle)"),
        );
    }

    /// For the accounts `ids`, the groups each is a direct member (`.0`) or
    /// owner (`.1`) of: one pass over the member and owner lists, so a large
    /// tenant's leavers cost one scan, not one scan each.
    fn index_leaver_groups(&mut self, ids: impl Iterator<Item = &'a ObjectId>) {
        let wanted: HashSet<&ObjectId> = ids.collect();
        if wanted.is_empty() {
            return;
        }
        let mut index: HashMap<ObjectId, BTreeMap<&'a ObjectId, (bool, bool)>> = HashMap::new();
        for (lists, owner) in [(&self.live.members, false), (&self.live.owners, true)] {
            for (g, ids) in lists {
                for id in ids.iter().filter(|id| wanted.contains(id)) {
                    let entry = index.entry(id.clone()).or_default().entry(g).or_default();
                    if owner {
                        entry.1 = true;
                    } else {
                        entry.0 = true;
                    }
                }
            }
        }
        for (id, groups) in &self.live.member_of {
            if wanted.contains(id) {
                for g in groups {
                    index.entry(id.clone()).or_default().entry(g).or_default().0 = true;
                }
            }
        }
        self.leaver_groups = index;
    }

    /// Takes a leaver out of their groups: every group they are a direct
    /// member or owner of (or only declared ones, per
    /// `remove_memberships_from`). Groups Graph cannot write become manual
    /// steps; a last owner's removal is settled by the owner pass.
    fn offboard_groups(&mut self, live: &'a User, user: &UserRef, reasons: &[Reason]) {
        let only_declared = self.input.lifecycle.offboarding.remove_memberships_from
            == MembershipScope::DeclaredGroups;
        let groups = self.leaver_groups.remove(&live.id).unwrap_or_default();
        for (group_id, (member, owner)) in groups {
            let Some(&g) = self.groups_by_id.get(group_id) else {
                continue; // not a group (a role or an administrative unit)
            };
            let nick = g.mail_nickname.as_deref().map(lower);
            let declared = nick
                .as_deref()
                .and_then(|n| self.input.desired.groups.get(n));
            if only_declared && declared.is_none() {
                continue;
            }
            let group = GroupRef {
                id: Some(g.id.clone()),
                mail_nickname: g
                    .mail_nickname
                    .clone()
                    .unwrap_or_else(|| g.display_name.clone()),
            };
            if let Some(kind) = read_only(g) {
                // A dynamic rule keeps a disabled account unless it excludes
                // them: say so once, when the account is first disabled.
                if kind != ReadOnly::Dynamic || live.account_enabled {
                    self.read_only_step(g, kind, live, member, owner, reasons);
                }
                continue;
            }
            let inherited: Vec<Change> = live
                .license_assignment_states
                .iter()
                .filter(|s| s.assigned_by_group.as_ref() == Some(&g.id))
                .map(|s| Change {
                    field: format!("inherited licence {}", self.sku_name(s.sku_id.as_str())),
                    old: Some("assigned".into()),
                    new: None,
                })
                .collect();
            let team = g.has_team() || declared.is_some_and(|d| d.team);
            if team && member {
                let role = if owner {
                    TeamRole::Owner
                } else {
                    TeamRole::Member
                };
                let mut changes = vec![Change {
                    field: "role".into(),
                    old: Some(format!("{role:?}").to_lowercase()),
                    new: None,
                }];
                changes.extend(inherited);
                self.push(
                    Op::RemoveTeamMember {
                        group,
                        user: user.clone(),
                        role,
                    },
                    format!("team {} member {}", group_label(g), user.upn),
                    changes,
                    reasons.to_vec(),
                );
                continue;
            }
            if member {
                let mut changes = vec![Change {
                    field: "member".into(),
                    old: Some("member".into()),
                    new: None,
                }];
                changes.extend(inherited);
                self.push(
                    Op::RemoveMember {
                        group: group.clone(),
                        user: user.clone(),
                    },
                    format!("group {} member {}", group_label(g), user.upn),
                    changes,
                    reasons.to_vec(),
                );
            }
            if owner {
                let okta_id = user.okta_id.as_ref().map_or("", |o| o.as_str()).to_owned();
                self.remove_owner(&group, live, &okta_id, reasons[0].clone());
            }
        }
    }

    /// A manual step for a membership Graph cannot change, with the command.
    fn read_only_step(
        &mut self,
        g: &Group,
        kind: ReadOnly,
        live: &User,
        member: bool,
        owner: bool,
        reasons: &[Reason],
    ) {
        let upn = live.user_principal_name.replace('\'', "''");
        let identity = g
            .other
            .get("mail")
            .and_then(|m| m.as_str())
            .unwrap_or(g.id.as_str())
            .replace('\'', "''");
        let inherited: Vec<String> = live
            .license_assignment_states
            .iter()
            .filter(|s| s.assigned_by_group.as_ref() == Some(&g.id))
            .map(|s| self.sku_name(s.sku_id.as_str()))
            .collect();
        let licences = if inherited.is_empty() {
            String::new()
        } else {
            format!(
                "; this also ends the licence(s) {} inherited from it",
                inherited.join(", ")
            )
        };
        let (what, command) = match kind {
            ReadOnly::DistributionList | ReadOnly::MailEnabledSecurity => {
                let mut commands = Vec::new();
                if member {
                    commands.push(format!(
                        "Remove-DistributionGroupMember -Identity '{identity}' -Member '{upn}' -BypassSecurityGroupManagerCheck -Confirm:$false"
                    ));
                }
                if owner {
                    commands.push(format!(
                        "Set-DistributionGroup -Identity '{identity}' -ManagedBy @{{Remove='{upn}'}} -BypassSecurityGroupManagerCheck"
                    ));
                }
                (
                    format!(
                        "remove the leaver from {} `{}` in Exchange Online (Graph cannot change it){licences}",
                        kind.describe(),
                        g.display_name
                    ),
                    commands.join("; "),
                )
            }
            ReadOnly::OnPremises => (
                format!(
                    "remove the leaver from `{}` in Active Directory: the group is synchronised from on-premises{licences}",
                    g.display_name
                ),
                format!(
                    "Remove-ADGroupMember -Identity '{}' -Members (Get-ADUser -Filter \"UserPrincipalName -eq '{upn}'\") -Confirm:$false",
                    g.display_name.replace('\'', "''")
                ),
            ),
            ReadOnly::Dynamic => {
                let rule = g
                    .other
                    .get("membershipRule")
                    .and_then(|r| r.as_str())
                    .unwrap_or("<the current rule>");
                (
                    format!(
                        "`{}` has dynamic membership: its rule keeps the disabled account unless the rule leaves out disabled accounts{licences}",
                        g.display_name
                    ),
                    format!(
                        "Update-MgGroup -GroupId '{}' -MembershipRule '({}) -and (user.accountEnabled -eq true)'",
                        g.id,
                        rule.replace('\'', "''")
                    ),
                )
            }
        };
        self.out.manual_steps.push(ManualStep {
            target: format!(
                "group {} member {}",
                group_label(g),
                live.user_principal_name
            ),
            what,
            command,
            reasons: reasons.to_vec(),
        });
    }
}

/// Why Graph cannot change a group's membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReadOnly {
    /// Membership follows a rule.
    Dynamic,
    /// Synchronised from Active Directory.
    OnPremises,
    /// An Exchange distribution list.
    DistributionList,
    /// A mail-enabled security group (Exchange).
    MailEnabledSecurity,
}

impl ReadOnly {
    fn describe(self) -> &'static str {
        match self {
            Self::DistributionList => "the distribution list",
            Self::MailEnabledSecurity => "the mail-enabled security group",
            Self::Dynamic | Self::OnPremises => "the group",
        }
    }
}

/// Whether (and why) Graph cannot write this group's members and owners.
pub(super) fn read_only(g: &Group) -> Option<ReadOnly> {
    if g.is_dynamic() {
        return Some(ReadOnly::Dynamic);
    }
    if g.other
        .get("onPremisesSyncEnabled")
        .and_then(|v| v.as_bool())
        == Some(true)
    {
        return Some(ReadOnly::OnPremises);
    }
    match (g.is_unified(), g.mail_enabled, g.security_enabled) {
        (false, true, false) => Some(ReadOnly::DistributionList),
        (false, true, true) => Some(ReadOnly::MailEnabledSecurity),
        _ => None,
    }
}

/// A group for people: its mail nickname, or its display name.
pub(super) fn group_label(g: &Group) -> &str {
    g.mail_nickname.as_deref().unwrap_or(&g.display_name)
}
