//! Leavers: offboarding stages for managed accounts whose Okta user left.

use super::*;

impl<'a> Differ<'a> {
    pub(super) fn leavers(&mut self) {
        let desired = self.input.desired;
        let settings = self.input.settings;
        let offboarding = &self.input.lifecycle.offboarding;
        let reason = self.input.lifecycle_reason.clone();
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
        let guest_leave = self
            .input
            .desired
            .guests
            .values()
            .next()
            .map(|g| g.on_leave)
            .unwrap_or_default();
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
                reasons[0] = reason.with_rule(format!("guest offboarding: {why}"));
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
            if stamp.is_none() {
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
            if !offboarding.remove_memberships {
                self.keep_memberships.insert(live.id.clone());
            }
            if days >= i64::from(offboarding.reclaim_licenses_after_days) {
                let remove: Vec<LicenseRemove> = live
                    .direct_skus()
                    .into_iter()
                    .map(|id| LicenseRemove {
                        sku_id: id.clone(),
                        sku: self.sku_name(id.as_str()),
                    })
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
}
