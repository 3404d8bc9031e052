//! Member users: create, update (attributes, link, rehire), enable or
//! disable, and the manager reference.

use super::*;

impl<'a> Differ<'a> {
    pub(super) fn users(&mut self) {
        let settings = self.input.settings;
        let marker_prop = settings.okta_id_attribute.property();
        for (okta_id, want) in &self.input.desired.users {
            let upn = want.upn().unwrap_or_default().to_owned();
            let keys: Vec<(&str, Option<&str>)> = settings
                .match_by
                .iter()
                .map(|p| (p.as_str(), want.attributes.get(p).map(|v| v.value.as_str())))
                .collect();
            let Ok(found) = self.correlate(okta_id, &want.login, &keys) else {
                continue;
            };
            let all_reasons: Vec<Reason> = dedup(
                want.attributes
                    .values()
                    .flat_map(|a| a.reasons.iter().cloned()),
            );
            match found {
                None => {
                    let mut properties: BTreeMap<String, String> = want
                        .attributes
                        .iter()
                        .map(|(k, v)| (k.to_owned(), v.value.to_string()))
                        .collect();
                    properties.insert(marker_prop.clone(), okta_id.0.to_string());
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
                        all_reasons,
                    );
                    let user = UserRef {
                        id: None,
                        upn: upn.clone(),
                    };
                    self.resolved.insert(okta_id.clone(), user.clone());
                    self.licenses(&user, None, want);
                }
                Some(live) => {
                    if !self.claim(live, okta_id, &want.login) {
                        continue;
                    }
                    let user = UserRef {
                        id: Some(live.id.clone()),
                        upn: live.user_principal_name.clone(),
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
                        continue;
                    }
                    let mut properties = BTreeMap::new();
                    let mut changes = Vec::new();
                    let mut reasons = Vec::new();
                    for (name, value) in &want.attributes {
                        let old = live.property_text(name);
                        let same = match (name, old.as_deref()) {
                            (_, None) => false,
                            ("userPrincipalName" | "mail", Some(old)) => {
                                old.eq_ignore_ascii_case(&value.value)
                                    || lower(old) == lower(&value.value)
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
                    if want.enabled.value != live.account_enabled {
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
            }
        }
    }

    /// Sets managers that differ from what Okta says (after `users`, so
    /// every account, new ones included, is resolved).
    pub(super) fn managers(&mut self) {
        let by_id: HashMap<&ObjectId, &User> = self.live.users.iter().map(|u| (&u.id, u)).collect();
        for (okta_id, want) in &self.input.desired.users {
            let Some(manager) = &want.manager else {
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
}
