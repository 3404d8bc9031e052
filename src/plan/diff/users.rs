//! Member users: create, update (attributes, link, rehire), enable or
//! disable, and the manager reference.

use super::*;
use crate::compile::DesiredUser;

/// Properties no two accounts may share: a create or rename onto one that
/// is taken is a dispute, not a failed request.
const UNIQUE_PROPERTIES: [&str; 3] = ["userPrincipalName", "mail", "mailNickname"];

/// Every rule behind a desired user's attributes (the reasons of a create).
/// Two or more people after one unique value (lower-cased), or one person
/// after a value another account holds.
struct Clash<'a> {
    value: String,
    /// The account that holds the value today.
    holder: Option<&'a User>,
    /// The claimant (index into the people) who owns `holder`.
    incumbent: Option<usize>,
    /// The other claimants.
    newcomers: Vec<usize>,
}

fn all_reasons(want: &DesiredUser) -> Vec<Reason> {
    dedup(
        want.attributes
            .values()
            .flat_map(|a| a.reasons.iter().cloned()),
    )
}

impl<'a> Differ<'a> {
    pub(super) fn users(&mut self) {
        for (okta_id, want, found) in self.match_users() {
            match found {
                None => self.create_user(okta_id, want),
                Some(live) => self.update_user(okta_id, want, live),
            }
        }
    }

    /// Finds each desired user's account and settles disputes: two people
    /// who would own one account, or whose accounts would share a UPN, mail
    /// or mail nickname, get no action at all (one error names them). The
    /// people left are claimed and returned with their account, if any.
    fn match_users(&mut self) -> Vec<(&'a OktaUserId, &'a DesiredUser, Option<&'a User>)> {
        let settings = self.input.settings;
        let mut people: Vec<(&'a OktaUserId, &'a DesiredUser, Option<&'a User>)> = Vec::new();
        for (okta_id, want) in &self.input.desired.users {
            let keys: Vec<(&str, Option<&str>)> = settings
                .match_by
                .iter()
                .zip(
                    want.match_values
                        .iter()
                        .map(|v| v.as_deref())
                        .chain(std::iter::repeat(None)),
                )
                .map(|(pair, value)| (pair.graph.as_str(), value))
                .collect();
            if let Ok(found) = self.correlate(okta_id, &want.login, &keys) {
                people.push((okta_id, want, found));
            }
        }
        let mut disputed: HashSet<&OktaUserId> = HashSet::new();
        // One account, several people (hashed: a sorted map of every
        // account cost more than the rest of the user diff; only the
        // disputes are sorted, for a stable order of the errors).
        let mut by_account: HashMap<&ObjectId, Vec<&'a DesiredUser>> =
            HashMap::with_capacity(people.len());
        for (_, want, found) in &people {
            if let Some(live) = found {
                by_account.entry(&live.id).or_default().push(want);
            }
        }
        let mut shared: Vec<(&ObjectId, Vec<&'a DesiredUser>)> = by_account
            .into_iter()
            .filter(|(_, claimants)| claimants.len() > 1)
            .collect();
        shared.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (id, claimants) in &shared {
            let upn = self
                .users_by_id
                .get(*id)
                .map_or("", |u| u.user_principal_name.as_str());
            let names: Vec<String> = claimants
                .iter()
                .map(|w| format!("`{}` ({})", w.login, w.okta_id))
                .collect();
            self.out.diagnostics.push(
                Diagnostic::error(
                    None,
                    format!(
                        "disputed account `{upn}`: Okta users {} all match it; none of them is planned",
                        names.join(" and ")
                    ),
                )
                .with_hint("make their logins or mails distinct in Okta, or link the account to one of them by setting its ownership marker"),
            );
            disputed.extend(claimants.iter().map(|w| &w.okta_id));
        }
        people.retain(|(okta_id, _, _)| !disputed.contains(okta_id));
        // Unique values: two people, or a person and someone else's account.
        for property in UNIQUE_PROPERTIES {
            // Nearly every value has one claimant: kept inline, no allocation.
            let mut claims: HashMap<String, smallvec::SmallVec<[usize; 1]>> =
                HashMap::with_capacity(people.len());
            for (i, (_, want, _)) in people.iter().enumerate() {
                if let Some(v) = want.attributes.get(property) {
                    claims.entry(lower(&v.value)).or_default().push(i);
                }
            }
            let index = self.by_property.get(property);
            let owns = |i: usize, holder: Option<&User>| matches!((people[i].2, holder), (Some(a), Some(h)) if a.id == h.id);
            let mut clashes: Vec<Clash<'a>> = claims
                .into_iter()
                .filter_map(|(value, claimants)| {
                    let holder = index.and_then(|index| index.get(&value)).copied();
                    if let [only] = claimants[..]
                        && (holder.is_none() || owns(only, holder))
                    {
                        return None; // one person, a free value or their own account's
                    }
                    let incumbent = claimants.iter().copied().find(|&i| owns(i, holder));
                    let newcomers: Vec<usize> = claimants
                        .into_iter()
                        .filter(|&i| Some(i) != incumbent)
                        .collect();
                    let clash = match (incumbent, holder) {
                        (Some(_), _) => !newcomers.is_empty(),
                        (None, Some(_)) => true,
                        (None, None) => newcomers.len() > 1,
                    };
                    clash.then_some(Clash {
                        value,
                        holder,
                        incumbent,
                        newcomers,
                    })
                })
                .collect();
            clashes.sort_unstable_by(|a, b| a.value.cmp(&b.value));
            for Clash {
                value,
                holder,
                incumbent,
                newcomers,
            } in clashes
            {
                let describe = |i: usize| {
                    let want = people[i].1;
                    let at = want
                        .attributes
                        .get(property)
                        .and_then(|v| v.reasons.first())
                        .map(|r| format!(", set by `{}` at {}:{}", r.rule, r.file, r.line))
                        .unwrap_or_default();
                    format!("`{}` ({}{at})", want.login, want.okta_id)
                };
                let mut parties: Vec<String> = newcomers.iter().map(|&i| describe(i)).collect();
                let held = match (incumbent, holder) {
                    (Some(i), _) => format!(", which `{}` already holds", people[i].1.login),
                    (None, Some(h)) => format!(
                        ", already held by the account `{}`{}",
                        h.user_principal_name,
                        match self.marker_of(h) {
                            Some(m) => format!(" (Okta user {m})"),
                            None => " (not linked to any Okta user)".to_owned(),
                        }
                    ),
                    (None, None) => String::new(),
                };
                parties.sort();
                self.out.diagnostics.push(
                    Diagnostic::error(
                        None,
                        format!(
                            "disputed {property} `{value}`: wanted by {}{held}; no action is planned for {}",
                            parties.join(" and "),
                            if newcomers.len() > 1 { "either" } else { "them" }
                        ),
                    )
                    .with_hint(if holder.is_some() && incumbent.is_none() {
                        "if the existing account is theirs, add a `match_by` key that links it; otherwise make the value distinct in Okta or in the rule's template"
                    } else {
                        "make the values distinct in Okta or in the rule's template"
                    }),
                );
                disputed.extend(newcomers.iter().map(|&i| people[i].0));
            }
        }
        people.retain(|(okta_id, _, _)| !disputed.contains(okta_id));
        for (okta_id, _, found) in &people {
            if let Some(live) = found {
                self.claimed.insert(&live.id, (*okta_id).clone());
            }
        }
        people
    }

    fn create_user(&mut self, okta_id: &OktaUserId, want: &DesiredUser) {
        let marker_prop = self.input.settings.okta_id_attribute.property();
        let upn = want.upn().unwrap_or_default().to_owned();
        let mut properties: BTreeMap<String, String> = want
            .attributes
            .iter()
            .map(|(k, v)| (k.to_owned(), v.value.to_string()))
            .collect();
        properties.insert(marker_prop, okta_id.0.to_string());
        let mut changes: Vec<Change> = properties
            .iter()
            .map(|(k, v)| Change {
                field: k.clone(),
                old: None,
                new: Some(v.clone()),
            })
            .collect();
        changes.insert(
            0,
            Change {
                field: "accountEnabled".into(),
                old: None,
                new: Some(want.enabled.value.to_string()),
            },
        );
        self.push(
            Op::CreateUser {
                upn: upn.clone(),
                okta_id: okta_id.0.to_string(),
                account_enabled: want.enabled.value,
                properties,
            },
            user_target(&upn),
            changes,
            all_reasons(want),
        );
        let user = UserRef {
            id: None,
            upn,
            okta_id: Some(okta_id.clone()),
        };
        self.resolved.insert(okta_id.clone(), user.clone());
        self.licenses(&user, None, want);
    }

    fn update_user(&mut self, okta_id: &OktaUserId, want: &DesiredUser, live: &'a User) {
        let settings = self.input.settings;
        let marker_prop = settings.okta_id_attribute.property();
        let all_reasons = all_reasons(want);
        let user = UserRef {
            id: Some(live.id.clone()),
            upn: live.user_principal_name.clone(),
            okta_id: Some(okta_id.clone()),
        };
        self.resolved.insert(okta_id.clone(), user.clone());
        if self.protected.contains(&live.id) {
            let rules: Vec<String> = all_reasons
                .iter()
                .map(|r| format!("`{}` ({}:{})", r.rule, r.file, r.line))
                .collect();
            self.out.diagnostics.push(
                Diagnostic::warning(
                    None,
                    format!(
                        "protected account `{}` is left untouched",
                        live.user_principal_name
                    ),
                )
                .with_hint(format!(
                    "selected by {}; protected accounts are never modified",
                    rules.join(", ")
                )),
            );
            return;
        }
        let mut properties = BTreeMap::new();
        let mut changes = Vec::new();
        let mut reasons = Vec::new();
        for (name, value) in &want.attributes {
            let old = live.property_text(name);
            let same = match (name, old.as_deref()) {
                (_, None) => false,
                ("userPrincipalName" | "mail", Some(old)) => {
                    old.eq_ignore_ascii_case(&value.value) || lower(old) == lower(&value.value)
                }
                (_, Some(old)) => old == value.value.as_str(),
            };
            if !same {
                let old = old.map(std::borrow::Cow::into_owned);
                properties.insert(name.to_owned(), Some(value.value.to_string()));
                changes.push(Change {
                    field: name.to_owned(),
                    old,
                    new: Some(value.value.to_string()),
                });
                reasons.extend(value.reasons.iter().cloned());
            }
        }
        if self.marker_of(live).is_none() {
            properties.insert(marker_prop.clone(), Some(okta_id.0.to_string()));
            changes.push(Change {
                field: marker_prop.clone(),
                old: None,
                new: Some(okta_id.0.to_string()),
            });
            // Linking is done on behalf of the rules that select the user.
            reasons.extend(
                all_reasons
                    .iter()
                    .map(|r| r.with_rule(format!("{}: link existing account", r.rule))),
            );
        }
        // A returning leaver: clear the offboarding stamp so a later
        // departure counts its grace period afresh.
        let stamp_prop = settings.offboarded_at_attribute.property();
        if let Some(stamp) = settings.offboarded_at_attribute.get(live) {
            properties.insert(stamp_prop.clone(), None);
            changes.push(Change {
                field: stamp_prop,
                old: Some(stamp),
                new: None,
            });
            reasons.extend(
                all_reasons
                    .iter()
                    .map(|r| r.with_rule(format!("{}: selected again", r.rule))),
            );
        }
        if !properties.is_empty() {
            self.push(
                Op::UpdateUser {
                    user: user.clone(),
                    properties,
                },
                user_target(&user.upn),
                changes,
                dedup(reasons),
            );
        }
        // An account linked by this plan is not managed yet: nothing is
        // taken from it before the link is reviewed and applied.
        let linking = self.marker_of(live).is_none();
        if linking && !want.enabled.value && live.account_enabled {
            self.out.diagnostics.push(Diagnostic::warning(
                None,
                format!(
                    "`{}` is linked by this plan; blocking its sign-in waits for the next plan",
                    live.user_principal_name
                ),
            ));
        } else if want.enabled.value != live.account_enabled {
            let op = if want.enabled.value {
                Op::EnableUser { user: user.clone() }
            } else {
                Op::DisableUser { user: user.clone() }
            };
            let change = Change {
                field: "accountEnabled".into(),
                old: Some(live.account_enabled.to_string()),
                new: Some(want.enabled.value.to_string()),
            };
            let why = if want.enabled.reasons.is_empty() {
                all_reasons.clone()
            } else {
                want.enabled.reasons.to_vec()
            };
            self.push(op, user_target(&user.upn), vec![change], why);
        }
        self.licenses(&user, Some(live), want);
    }

    /// Sets managers that differ from what Okta says (after `users`, so
    /// every account, new ones included, is resolved).
    pub(super) fn managers(&mut self) {
        let by_id: HashMap<&ObjectId, &User> = self.live.users.iter().map(|u| (&u.id, u)).collect();
        for (okta_id, want) in &self.input.desired.users {
            let Some(manager) = &want.manager else {
                self.clear_manager(okta_id, want, &by_id);
                continue;
            };
            let (Some(user), Some(boss)) = (
                self.resolved.get(okta_id),
                self.resolved.get(&manager.value),
            ) else {
                continue;
            };
            if let Some(id) = &user.id
                && self.protected.contains(id)
            {
                continue;
            }
            let current = user
                .id
                .as_ref()
                .and_then(|id| by_id.get(id))
                .and_then(|u| u.manager_id());
            if boss.id.is_some() && current == boss.id.as_ref().map(|b| b.as_str()) {
                continue;
            }
            let old = current.map(|c| {
                by_id
                    .get(&ObjectId::from(c))
                    .map_or_else(|| c.to_owned(), |u| u.user_principal_name.clone())
            });
            self.push(
                Op::SetManager {
                    user: user.clone(),
                    manager: boss.clone(),
                },
                user_target(&user.upn),
                vec![Change {
                    field: "manager".into(),
                    old,
                    new: Some(boss.upn.clone()),
                }],
                manager.reasons.to_vec(),
            );
        }
    }

    /// Removes a manager reference Okta does not back, when the policy says
    /// `manager.when_unset: clear` and the user's mapping gave no manager.
    fn clear_manager(
        &mut self,
        okta_id: &OktaUserId,
        want: &DesiredUser,
        by_id: &HashMap<&ObjectId, &User>,
    ) {
        let (Some(declared), Some(rule)) = (
            &self.input.desired.clear_unset_managers,
            &want.manager_unset,
        ) else {
            return;
        };
        let Some(user) = self.resolved.get(okta_id) else {
            return;
        };
        let Some(live) = user.id.as_ref().and_then(|id| by_id.get(id)) else {
            return;
        };
        if self.protected.contains(&live.id) {
            return;
        }
        let Some(current) = live.manager_id() else {
            return;
        };
        let old = by_id
            .get(&ObjectId::from(current))
            .map_or_else(|| current.to_owned(), |u| u.user_principal_name.clone());
        let reasons = vec![
            rule.with_rule(format!("{}: Okta gives no manager", rule.rule)),
            declared.clone(),
        ];
        self.push(
            Op::ClearManager { user: user.clone() },
            user_target(&user.upn),
            vec![Change {
                field: "manager".into(),
                old: Some(old),
                new: None,
            }],
            reasons,
        );
    }
}
