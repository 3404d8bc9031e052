//! Diff: desired state vs live Office 365 → draft operations (unordered).
//!
//! Correlation (who is who) happens here: a live user belongs to an Okta user
//! when its ownership marker holds the Okta id (linked), or, failing that,
//! when its UPN or mail equals the desired one (unlinked: the plan links it).
//! Only linked users, and groups the policy owns, are ever disabled, removed
//! or deleted. Unmanaged objects are reported, never touched.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use serde::{Deserialize, Serialize};

use super::action::{Change, GroupRef, LicenseAdd, LicenseRemove, Op, Reason, UserRef};
use super::settings::PlanSettings;
use crate::compile::{DesiredGroup, DesiredState, LeaveReason, Leaver};
use crate::model::graph::{SubscribedSku, User};
use crate::model::state::LiveState;
use crate::model::{ObjectId, OktaUserId};
use crate::policy::Diagnostic;
use crate::policy::types::{GuestLeave, Lifecycle, MailboxOnLeave, Protected, TeamRole};

/// An operation with what people need to review it; ordering comes later.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    /// The operation.
    pub op: Op,
    /// What it acts on, for people.
    pub target: String,
    /// Field-level changes.
    pub changes: Vec<Change>,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// An object in Office 365 that okta365 does not manage.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unmanaged {
    /// `user` or `group`.
    pub kind: String,
    /// UPN or display name.
    pub name: String,
    /// Object id.
    pub id: ObjectId,
    /// Why it is left alone.
    pub note: String,
}

/// What the diff found.
#[derive(Debug, Default)]
pub struct DiffOutput {
    /// Operations to run.
    pub drafts: Vec<Draft>,
    /// Objects left alone.
    pub unmanaged: Vec<Unmanaged>,
    /// Problems (errors stop the plan).
    pub diagnostics: Vec<Diagnostic>,
    /// Number of live users okta365 manages (for the removal budget).
    pub managed_users: usize,
    /// Steps Graph cannot carry out, for a person to do.
    pub manual_steps: Vec<ManualStep>,
}

/// Something okta365 cannot do through Graph, with the exact command to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualStep {
    /// What it is about (`user UPN`).
    pub target: String,
    /// What to do, in words.
    pub what: String,
    /// The command (Exchange Online PowerShell).
    pub command: String,
    /// The policy lines behind it.
    pub reasons: Vec<Reason>,
}

/// Inputs of the diff besides the two states.
pub struct DiffInput<'a> {
    /// What the policies want.
    pub desired: &'a DesiredState,
    /// What the tenant has.
    pub live: &'a LiveState,
    /// Accounts never touched.
    pub protected: &'a Protected,
    /// Offboarding stages.
    pub lifecycle: &'a Lifecycle,
    /// Where lifecycle was declared (reason of offboarding actions).
    pub lifecycle_reason: Reason,
    /// Settings.
    pub settings: &'a PlanSettings,
}

struct Differ<'a> {
    input: &'a DiffInput<'a>,
    live: &'a LiveState,
    marker: BTreeMap<&'a str, Vec<&'a User>>,
    /// Property name → lowercased value → user, for correlation.
    by_property: BTreeMap<String, HashMap<String, &'a User>>,
    protected: BTreeSet<&'a ObjectId>,
    skus: BTreeMap<&'a str, &'a SubscribedSku>,
    /// Okta id → the user reference plans use for them.
    resolved: HashMap<OktaUserId, UserRef>,
    /// Live users accounted for (matched to a desired user, guest or leaver).
    claimed: HashMap<&'a ObjectId, OktaUserId>,
    /// Managed live users who are leavers and keep their memberships.
    keep_memberships: HashSet<ObjectId>,
    /// Live users by object id.
    users_by_id: HashMap<&'a ObjectId, &'a User>,
    /// Live group display names by object id.
    group_names: HashMap<&'a ObjectId, &'a str>,
    out: DiffOutput,
}

/// Computes the operations that bring the tenant to the desired state.
pub fn diff(input: &DiffInput) -> DiffOutput {
    let mut d = Differ::new(input);
    d.users();
    d.guests();
    d.managers();
    // Fail closed: with no Okta users read, nobody is a leaver.
    if !input.desired.okta_ids.is_empty() {
        d.leavers();
    }
    d.groups();
    d.unmanaged();
    d.out
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn user_target(upn: &str) -> String {
    format!("user {upn}")
}

impl<'a> Differ<'a> {
    fn new(input: &'a DiffInput<'a>) -> Self {
        let live = input.live;
        let settings = input.settings;
        let mut marker: BTreeMap<&str, Vec<&User>> = BTreeMap::new();
        let mut by_property: BTreeMap<String, HashMap<String, &User>> = BTreeMap::new();
        let mut properties: BTreeSet<&str> = settings.match_by.iter().map(String::as_str).collect();
        properties.insert("mail"); // guests are always found by mail
        for u in &live.users {
            if let Some(id) = settings.okta_id_attribute.get_str(u) {
                marker.entry(id).or_default().push(u);
            }
            for p in &properties {
                if let Some(v) = u.property(p).filter(|v| !v.is_empty()) {
                    by_property
                        .entry((*p).to_owned())
                        .or_default()
                        .entry(lower(&v))
                        .or_insert(u);
                }
            }
        }
        let protected = super::protected::accounts(input.protected, live);
        let managed_users = live
            .users
            .iter()
            .filter(|u| settings.okta_id_attribute.get_str(u).is_some())
            .count();
        Self {
            input,
            live,
            marker,
            by_property,
            protected,
            skus: live
                .skus
                .iter()
                .map(|s| (s.sku_part_number.as_str(), s))
                .collect(),
            resolved: HashMap::new(),
            claimed: HashMap::new(),
            keep_memberships: HashSet::new(),
            users_by_id: live.users.iter().rev().map(|u| (&u.id, u)).collect(),
            group_names: live
                .groups
                .iter()
                .rev()
                .map(|g| (&g.id, g.display_name.as_str()))
                .collect(),
            out: DiffOutput {
                managed_users,
                ..Default::default()
            },
        }
    }

    fn sku_name(&self, id: &str) -> String {
        self.live
            .skus
            .iter()
            .find(|s| s.sku_id.as_str() == id)
            .map_or_else(|| id.to_owned(), |s| s.sku_part_number.clone())
    }

    fn push(&mut self, op: Op, target: String, changes: Vec<Change>, reasons: Vec<Reason>) {
        self.out.drafts.push(Draft {
            op,
            target,
            changes,
            reasons,
        });
    }

    /// Sets managers that differ from what Okta says (after `users`, so
    /// every account, new ones included, is resolved).
    fn managers(&mut self) {
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

    fn marker_of<'u>(&self, u: &'u User) -> Option<&'u str> {
        self.input.settings.okta_id_attribute.get_str(u)
    }

    /// Finds the live user of an Okta user: by marker, then by the keys given.
    /// Reports disputes; `Err(())` means "do not plan for this user".
    fn correlate(
        &mut self,
        okta_id: &OktaUserId,
        login: &str,
        keys: &[(&str, Option<&str>)],
    ) -> Result<Option<&'a User>, ()> {
        if let Some(found) = self.marker.get(okta_id.as_str()) {
            if found.len() > 1 {
                let upns: Vec<String> = found
                    .iter()
                    .map(|u| format!("`{}`", u.user_principal_name))
                    .collect();
                self.out.diagnostics.push(
                    Diagnostic::error(
                        None,
                        format!(
                            "Okta user `{login}` is linked to several Office 365 users: {}",
                            upns.join(", ")
                        ),
                    )
                    .with_hint(format!(
                        "clear `{}` on all but one of them",
                        self.input.settings.okta_id_attribute.property()
                    )),
                );
                return Err(());
            }
            return Ok(Some(found[0]));
        }
        for (kind, key) in keys {
            let Some(key) = key else { continue };
            let found = self
                .by_property
                .get(*kind)
                .and_then(|index| index.get(&lower(key)))
                .copied();
            if let Some(u) = found {
                if let Some(other) = self.marker_of(u).filter(|m| *m != okta_id.as_str()) {
                    self.out.diagnostics.push(
                        Diagnostic::error(
                            None,
                            format!("disputed account `{}`: it belongs to Okta user `{other}`, but Okta user `{login}` ({okta_id}) wants the same {kind}", u.user_principal_name),
                        )
                        .with_hint("fix the duplicate in Okta, or change the rule that computes this value"),
                    );
                    return Err(());
                }
                return Ok(Some(u));
            }
        }
        Ok(None)
    }

    fn claim(&mut self, u: &'a User, okta_id: &OktaUserId, login: &str) -> bool {
        if let Some(first) = self.claimed.get(&u.id) {
            self.out.diagnostics.push(
                Diagnostic::error(
                    None,
                    format!("disputed account `{}`: Okta users `{first}` and `{okta_id}` ({login}) both match it", u.user_principal_name),
                )
                .with_hint("make their logins or mails distinct in Okta"),
            );
            return false;
        }
        self.claimed.insert(&u.id, okta_id.clone());
        true
    }

    fn users(&mut self) {
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

    /// Warnings about licences okta365 does not assign itself: group-based
    /// licences that disagree with the policy, and assignment errors Graph reports.
    fn license_notes(
        &mut self,
        live: &User,
        wanted: &BTreeSet<&str>,
        want: &crate::compile::DesiredUser,
    ) {
        let upn = &live.user_principal_name;
        for state in &live.license_assignment_states {
            let part = self.sku_name(state.sku_id.as_str());
            if let Some(error) = state.error.as_deref().filter(|e| *e != "None") {
                let meaning = match error {
                    "CountViolation" => "no free seats",
                    "MutuallyExclusiveViolation" => "conflicts with another licence the user has",
                    "DependencyViolation" => "needs a licence the user does not have",
                    "ProhibitedInUsageLocationViolation" => {
                        "not available in the user's usageLocation"
                    }
                    "UniquenessViolation" => "a proxy address is already taken",
                    _ => "see the licence's state in the Entra admin centre",
                };
                self.out.diagnostics.push(Diagnostic::warning(
                    None,
                    format!("licence {part} of `{upn}` is in error: {error} ({meaning})"),
                ));
            }
            let Some(group) = &state.assigned_by_group else {
                continue;
            };
            let group_name = self
                .group_names
                .get(group)
                .map_or_else(|| group.0.to_string(), |name| (*name).to_owned());
            if !wanted.contains(state.sku_id.as_str()) {
                self.out.diagnostics.push(
                    Diagnostic::warning(
                        None,
                        format!("`{upn}` inherits {part} from group `{group_name}`, but no rule grants it"),
                    )
                    .with_hint("okta365 never removes group-assigned licences; change the group's membership or its licence"),
                );
            } else if let Some(plans) = want.licenses.get(&part) {
                let sku = self.skus.get(part.as_str());
                let inherited: BTreeSet<String> = state
                    .disabled_plans
                    .iter()
                    .map(|id| {
                        sku.and_then(|s| s.service_plans.iter().find(|p| &p.service_plan_id == id))
                            .map_or_else(|| id.0.to_string(), |p| p.service_plan_name.clone())
                    })
                    .collect();
                if inherited != plans.value {
                    let list = |set: &BTreeSet<String>| {
                        if set.is_empty() {
                            "none".to_owned()
                        } else {
                            set.iter().cloned().collect::<Vec<_>>().join(", ")
                        }
                    };
                    self.out.diagnostics.push(
                        Diagnostic::warning(
                            None,
                            format!(
                                "`{upn}` inherits {part} from group `{group_name}` with disabled plans {}, but the policy says {}",
                                list(&inherited),
                                list(&plans.value)
                            ),
                        )
                        .with_hint("group-based licensing wins for this user; align the group's licence or the rule"),
                    );
                }
            }
        }
    }

    fn licenses(
        &mut self,
        user: &UserRef,
        live: Option<&User>,
        want: &crate::compile::DesiredUser,
    ) {
        let mut add = Vec::new();
        let mut remove = Vec::new();
        let mut changes = Vec::new();
        let mut reasons = Vec::new();
        let direct: BTreeMap<&str, Vec<&str>> = live
            .map(|l| {
                let states = &l.license_assignment_states;
                if states.is_empty() {
                    l.assigned_licenses
                        .iter()
                        .map(|a| {
                            (
                                a.sku_id.as_str(),
                                a.disabled_plans.iter().map(|p| p.as_str()).collect(),
                            )
                        })
                        .collect()
                } else {
                    states
                        .iter()
                        .filter(|s| s.assigned_by_group.is_none())
                        .map(|s| {
                            (
                                s.sku_id.as_str(),
                                s.disabled_plans.iter().map(|p| p.as_str()).collect(),
                            )
                        })
                        .collect()
                }
            })
            .unwrap_or_default();
        let mut wanted_ids = BTreeSet::new();
        for (part, plans) in &want.licenses {
            let Some(sku) = self.skus.get(part).copied() else {
                continue;
            }; // reported by compile
            wanted_ids.insert(sku.sku_id.as_str());
            let mut disabled: Vec<(String, String)> = plans
                .value
                .iter()
                .filter_map(|name| {
                    sku.service_plans
                        .iter()
                        .find(|p| p.service_plan_name == *name)
                        .map(|p| (p.service_plan_id.0.to_string(), name.clone()))
                })
                .collect();
            disabled.sort();
            let disabled_ids: BTreeSet<&str> = disabled.iter().map(|(id, _)| id.as_str()).collect();
            let names = disabled.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>();
            let describe = |names: &[String]| {
                if names.is_empty() {
                    "assigned".to_owned()
                } else {
                    format!("assigned, disabled: {}", names.join(", "))
                }
            };
            match direct.get(sku.sku_id.as_str()) {
                Some(have) if have.iter().copied().collect::<BTreeSet<_>>() == disabled_ids => {
                    continue;
                }
                Some(have) => {
                    let have_names: Vec<String> = have
                        .iter()
                        .map(|id| {
                            sku.service_plans
                                .iter()
                                .find(|p| p.service_plan_id.as_str() == *id)
                                .map_or((*id).to_owned(), |p| p.service_plan_name.clone())
                        })
                        .collect();
                    changes.push(Change {
                        field: format!("license {part}"),
                        old: Some(describe(&have_names)),
                        new: Some(describe(&names)),
                    });
                }
                None if live.is_some_and(|l| l.inherits_sku(&sku.sku_id)) => continue, // group-based licensing covers it
                None => changes.push(Change {
                    field: format!("license {part}"),
                    old: None,
                    new: Some(describe(&names)),
                }),
            }
            reasons.extend(plans.reasons.iter().cloned());
            add.push(LicenseAdd {
                sku_id: sku.sku_id.clone(),
                sku: part.to_owned(),
                disabled_plans: disabled
                    .iter()
                    .map(|(id, _)| crate::model::ServicePlanId::from(id.as_str()))
                    .collect(),
                disabled_plan_names: names,
            });
        }
        if let Some(live) = live {
            self.license_notes(live, &wanted_ids, want);
        }
        for sku_id in direct.keys() {
            if wanted_ids.contains(sku_id) {
                continue;
            }
            let part = self.sku_name(sku_id);
            changes.push(Change {
                field: format!("license {part}"),
                old: Some("assigned".into()),
                new: None,
            });
            remove.push(LicenseRemove {
                sku_id: crate::model::SkuId::from(*sku_id),
                sku: part,
            });
        }
        if add.is_empty() && remove.is_empty() {
            return;
        }
        if reasons.is_empty() {
            reasons = dedup(
                want.attributes
                    .values()
                    .flat_map(|a| a.reasons.iter().cloned()),
            );
        }
        self.push(
            Op::AssignLicenses {
                user: user.clone(),
                add,
                remove,
            },
            user_target(&user.upn),
            changes,
            dedup(reasons),
        );
    }

    fn guests(&mut self) {
        let marker_prop = self.input.settings.okta_id_attribute.property();
        for (okta_id, want) in &self.input.desired.guests {
            let Ok(found) = self.correlate(okta_id, &want.mail, &[("mail", Some(&want.mail))])
            else {
                continue;
            };
            match found {
                None => {
                    self.push(
                        Op::InviteGuest {
                            mail: want.mail.clone(),
                            display_name: want.display_name.clone(),
                            okta_id: okta_id.0.to_string(),
                            redirect_url: want.redirect_url.clone(),
                            send_invitation: want.send_invitation,
                        },
                        format!("guest {}", want.mail),
                        vec![
                            Change {
                                field: "displayName".into(),
                                old: None,
                                new: Some(want.display_name.clone()),
                            },
                            Change {
                                field: "sendInvitationMessage".into(),
                                old: None,
                                new: Some(want.send_invitation.to_string()),
                            },
                        ],
                        want.reasons.clone(),
                    );
                    self.resolved.insert(
                        okta_id.clone(),
                        UserRef {
                            id: None,
                            upn: want.mail.clone(),
                        },
                    );
                }
                Some(live) => {
                    if !self.claim(live, okta_id, &want.mail) {
                        continue;
                    }
                    let user = UserRef {
                        id: Some(live.id.clone()),
                        upn: live.user_principal_name.clone(),
                    };
                    self.resolved.insert(okta_id.clone(), user.clone());
                    if self.protected.contains(&live.id) {
                        continue;
                    }
                    if self.marker_of(live).is_none() {
                        let mut properties = BTreeMap::new();
                        properties.insert(marker_prop.clone(), Some(okta_id.0.to_string()));
                        self.push(
                            Op::UpdateUser {
                                user: user.clone(),
                                properties,
                            },
                            format!("guest {}", want.mail),
                            vec![Change {
                                field: marker_prop.clone(),
                                old: None,
                                new: Some(okta_id.0.to_string()),
                            }],
                            want.reasons.clone(),
                        );
                    }
                    if !live.account_enabled {
                        self.push(
                            Op::EnableUser { user: user.clone() },
                            format!("guest {}", want.mail),
                            vec![Change {
                                field: "accountEnabled".into(),
                                old: Some("false".into()),
                                new: Some("true".into()),
                            }],
                            want.reasons.clone(),
                        );
                    }
                }
            }
        }
    }

    fn leavers(&mut self) {
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

    fn groups(&mut self) {
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

    fn members(
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

    fn why_not_member(&self, okta_id: &str) -> String {
        let id = OktaUserId::from(okta_id);
        match self.input.desired.leavers.get(&id) {
            Some(l) => format!("offboarding: {}", l.why.describe()),
            None if !self.input.desired.okta_ids.contains(&id) => {
                format!("offboarding: {}", LeaveReason::Deleted.describe())
            }
            None => "no rule puts this user in the group".into(),
        }
    }

    fn unmanaged(&mut self) {
        let managed_groups: BTreeSet<String> = self.input.desired.groups.keys().cloned().collect();
        for u in &self.live.users {
            if self.claimed.contains_key(&u.id) || self.marker_of(u).is_some() {
                continue;
            }
            let note = if self.protected.contains(&u.id) {
                "protected"
            } else if u.is_guest() {
                "unmanaged guest"
            } else {
                "no Okta user; not managed"
            };
            self.out.unmanaged.push(Unmanaged {
                kind: "user".into(),
                name: u.user_principal_name.clone(),
                id: u.id.clone(),
                note: note.into(),
            });
        }
        for g in &self.live.groups {
            if g.mail_nickname
                .as_deref()
                .is_some_and(|n| managed_groups.contains(&lower(n)))
            {
                continue;
            }
            self.out.unmanaged.push(Unmanaged {
                kind: "group".into(),
                name: g.display_name.clone(),
                id: g.id.clone(),
                note: "not in policy".into(),
            });
        }
        self.out.unmanaged.sort();
    }
}

fn dedup(reasons: impl IntoIterator<Item = Reason>) -> Vec<Reason> {
    let mut out: Vec<Reason> = Vec::new();
    for r in reasons {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}
