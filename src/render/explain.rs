//! `okta365 explain`: one user's desired state, each value with the policy
//! rule (file:line) behind it and the lookup table entry it came through,
//! the state of their Office 365 account (managed, protected, unmanaged, a
//! rehire), and the plan's pending actions for them.
//!
//! The desired state keeps no lookups (at 100 000 users that would be
//! millions of records): the templates of the rules behind each value are
//! rendered again for this one user, with a context that records lookups.

use std::cell::RefCell;
use std::io::{self, Write};

use crate::compile::DesiredState;
use crate::compile::context::UserContext;
use crate::compile::desired::Sourced;
use crate::model::okta::User;
use crate::model::state::{LiveState, SourceState};
use crate::plan::{Plan, PlanSettings};
use crate::policy::check::{Checked, Located};
use crate::policy::template::{Context, Rendered, Template};
use crate::policy::types::TeamRole;

/// Everything `explain` shows one user from.
pub struct Explain<'a> {
    /// The Okta user.
    pub user: &'a User,
    /// The desired state compiled from the inputs.
    pub desired: &'a DesiredState,
    /// The plan, when it could be built.
    pub plan: Option<&'a Plan>,
    /// The checked policies (their templates are rendered again).
    pub checked: &'a Checked,
    /// Office 365 as read.
    pub live: &'a LiveState,
    /// Planner settings (where the ownership marker and offboarding stamp are).
    pub settings: &'a PlanSettings,
}

/// Finds an Okta user by id, login or email (case-insensitive), or by the UPN the policies give them.
pub fn find<'a>(who: &str, source: &'a SourceState, desired: &DesiredState) -> Option<&'a User> {
    let who_lower = who.to_lowercase();
    let matches = |v: Option<String>| v.is_some_and(|v| v.to_lowercase() == who_lower);
    source.users.iter().find(|u| {
        u.id.as_str() == who
            || matches(u.login())
            || matches(u.profile_str("email"))
            || desired
                .users
                .get(&u.id)
                .is_some_and(|d| matches(d.upn().map(str::to_owned)))
    })
}

/// Writes the explanation.
pub fn render(e: &Explain, out: &mut dyn Write) -> io::Result<()> {
    let (user, desired) = (e.user, e.desired);
    let login = user.login().unwrap_or_default();
    writeln!(out, "{login} (Okta {}, {})", user.id, user.status.as_str())?;
    for line in account_status(e) {
        writeln!(out, "{line}")?;
    }
    writeln!(out)?;
    let lookups = Lookups::new(e);
    let mut rows = Rows::default();
    let mut keys: Vec<String> = vec![login.to_lowercase()];
    if let Some(want) = desired.users.get(&user.id) {
        keys.extend(want.upn().map(str::to_lowercase));
        let account = if want.enabled.value {
            "enabled"
        } else {
            "disabled"
        };
        rows.value("account", account, &want.enabled, String::new());
        rows.heading("attributes:");
        for (name, value) in &want.attributes {
            let via = lookups.behind(&value.reasons, &value.value, |rule| {
                rule.attributes
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, t)| t)
                    .collect()
            });
            rows.value(&format!("  {name}"), &value.value, value, via);
        }
        if !want.licenses.is_empty() {
            rows.heading("licences:");
            for (sku, plans) in &want.licenses {
                let text = if plans.value.is_empty() {
                    sku.to_owned()
                } else {
                    format!(
                        "{sku} without {}",
                        plans.value.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                };
                let via = lookups.behind(&plans.reasons, sku, |rule| {
                    rule.licenses.iter().map(|(t, _)| t).collect()
                });
                rows.value(&format!("  {text}"), "", plans, via);
            }
        }
    } else if let Some(guest) = desired.guests.get(&user.id) {
        keys.push(guest.mail.to_lowercase());
        let reason = Sourced {
            value: (),
            reasons: guest.reasons.iter().cloned().collect(),
        };
        rows.value(
            "guest",
            &format!("{} <{}>", guest.display_name, guest.mail),
            &reason,
            String::new(),
        );
    } else if let Some(leaver) = desired.leavers.get(&user.id) {
        let since = leaver
            .since
            .map(|t| format!(" since {t}"))
            .unwrap_or_default();
        rows.heading(&format!("offboarding: {:?}{since}", leaver.why));
    } else {
        rows.heading("no rule selects this user; okta365 manages nothing for them");
    }
    let memberships: Vec<(&str, bool, &Sourced<TeamRole>)> = desired
        .groups
        .values()
        .filter_map(|g| Some((g.mail_nickname.as_str(), g.team, g.members.get(&user.id)?)))
        .collect();
    if !memberships.is_empty() {
        rows.heading("groups and Teams:");
        for (name, team, role) in memberships {
            let what = match (team, role.value) {
                (false, _) => "member",
                (true, TeamRole::Member) => "Team member",
                (true, TeamRole::Owner) => "Team owner",
            };
            let via = lookups.behind(&role.reasons, name, |rule| {
                rule.groups
                    .iter()
                    .chain(rule.teams.iter().map(|(t, _)| t))
                    .collect()
            });
            rows.value(&format!("  {name}"), what, role, via);
        }
    }
    rows.write(out)?;
    if let Some(plan) = e.plan {
        let pending: Vec<_> = plan
            .actions
            .iter()
            .filter(|a| {
                a.op.user_key()
                    .is_some_and(|k| keys.contains(&k.to_lowercase()))
            })
            .collect();
        writeln!(out)?;
        if pending.is_empty() {
            writeln!(out, "no pending changes")?;
        } else {
            writeln!(out, "pending changes ({}):", pending.len())?;
            for a in pending {
                writeln!(
                    out,
                    "  {} {} ({})",
                    a.kind.symbol(),
                    a.target,
                    a.kind.short()
                )?;
            }
        }
    }
    Ok(())
}

/// The user's Office 365 account: which one, whether okta365 manages it,
/// and whether it is protected, unmanaged, or a leaver coming back.
fn account_status(e: &Explain) -> Vec<String> {
    let id = e.user.id.as_str();
    let marker = &e.settings.okta_id_attribute;
    let selected = e.desired.users.contains_key(&e.user.id);
    let wanted = selected || e.desired.guests.contains_key(&e.user.id);
    let linked = e.live.users.iter().find(|u| marker.get_str(u) == Some(id));
    // Not linked: the account the policies' UPN or guest mail names, else
    // one whose UPN or mail is the Okta login or email.
    let account = linked.or_else(|| {
        let desired_upn = e.desired.users.get(&e.user.id).and_then(|d| d.upn());
        let guest_mail = e.desired.guests.get(&e.user.id).map(|g| g.mail.as_str());
        let okta_names = [e.user.login(), e.user.profile_str("email")];
        let is = |a: Option<&str>, b: &str| a.is_some_and(|a| a.eq_ignore_ascii_case(b));
        let mail_of =
            |u: &crate::model::graph::User| u.property_text("mail").map(|m| m.into_owned());
        e.live
            .users
            .iter()
            .find(|u| {
                is(desired_upn, &u.user_principal_name)
                    || mail_of(u).is_some_and(|m| is(guest_mail, &m))
            })
            .or_else(|| {
                e.live.users.iter().find(|u| {
                    okta_names.iter().flatten().any(|n| {
                        n.eq_ignore_ascii_case(&u.user_principal_name)
                            || mail_of(u).is_some_and(|m| m.eq_ignore_ascii_case(n))
                    })
                })
            })
    });
    let Some(account) = account else {
        return vec![if wanted {
            "Office 365: no account yet".to_owned()
        } else {
            "Office 365: no account".to_owned()
        }];
    };
    let upn = &account.user_principal_name;
    let marker_property = marker.property();
    let marker = short_property(&marker_property);
    let protected =
        crate::plan::protected::accounts(&e.checked.policy.protected, e.live).contains(&account.id);
    let mut lines = vec![match (linked.is_some(), wanted, protected) {
        (true, _, _) => format!("Office 365: {upn}, managed (its {marker} holds this Okta id)"),
        (false, true, false) => format!(
            "Office 365: {upn}, not linked yet (the plan writes the Okta id to its {marker})"
        ),
        (false, true, true) => format!(
            "Office 365: {upn}, matched but not linked (protected accounts are never linked)"
        ),
        (false, false, _) => format!(
            "Office 365: {upn}, unmanaged: it holds no okta365 marker and no rule selects this user, so okta365 leaves it alone"
        ),
    }];
    if protected {
        lines.push(
            "protected (`protected:` in the policies): okta365 never modifies this account, whatever a rule says"
                .to_owned(),
        );
    }
    if let Some(stamp) = e.settings.offboarded_at_attribute.get(account)
        && linked.is_some()
        && selected
    {
        lines.push(format!(
            "rehire: offboarded at {stamp} ({}) and selected again: the account is signed back in, with its groups and licences restored",
            short_property(&e.settings.offboarded_at_attribute.property())
        ));
    }
    lines
}

/// `extensionAttribute15` for `onPremisesExtensionAttributes.extensionAttribute15`.
fn short_property(property: &str) -> &str {
    property
        .strip_prefix("onPremisesExtensionAttributes.")
        .unwrap_or(property)
}

/// A user's template context that records the lookups made.
struct Recording<'a> {
    inner: UserContext<'a>,
    used: RefCell<Vec<LookupUse>>,
}

/// A lookup made: table, key, and the entry's values when there was one.
type LookupUse = (String, String, Option<Vec<String>>);

impl Context for Recording<'_> {
    fn variable(&self, path: &[String]) -> Option<Rendered> {
        self.inner.variable(path)
    }

    fn lookup(&self, table: &str, key: &str) -> Option<Rendered> {
        let found = self.inner.lookup(table, key);
        self.used.borrow_mut().push((
            table.to_owned(),
            key.to_owned(),
            found.clone().map(Rendered::into_vec),
        ));
        found
    }
}

/// Finds the lookups behind a value by rendering the templates of the rules
/// behind it again.
struct Lookups<'a> {
    explain: &'a Explain<'a>,
}

impl<'a> Lookups<'a> {
    fn new(explain: &'a Explain<'a>) -> Self {
        Self { explain }
    }

    /// ` via table[key]` for each lookup behind `value`: the templates
    /// `templates` picks from each rule named in `reasons` are rendered for
    /// this user; those that give `value` say which entries they used.
    fn behind(
        &self,
        reasons: &[crate::plan::Reason],
        value: &str,
        templates: impl Fn(&'a crate::policy::check::CheckedRule) -> Vec<&'a Located<Template>>,
    ) -> String {
        let checked = self.explain.checked;
        let mut notes: Vec<String> = Vec::new();
        for reason in reasons {
            let Some(rule) = checked
                .rules
                .iter()
                .find(|r| *checked.policy.rules[r.index].value.name == *reason.rule)
            else {
                continue;
            };
            for t in templates(rule) {
                let ctx = Recording {
                    inner: UserContext {
                        user: self.explain.user,
                        lookups: &checked.policy.lookups,
                    },
                    used: RefCell::new(Vec::new()),
                };
                let gives = t.value.render(&ctx).is_ok_and(|r| {
                    r.into_vec()
                        .iter()
                        .any(|v| v.trim().eq_ignore_ascii_case(value.trim()))
                });
                if !gives {
                    continue;
                }
                let used = ctx.used.into_inner();
                // Of several lookups (one per value of a list), the entries
                // that hold the value; all of them when none does (a default).
                let holding: Vec<_> = used
                    .iter()
                    .filter(|(_, _, v)| {
                        v.as_ref()
                            .is_some_and(|v| v.iter().any(|v| v.eq_ignore_ascii_case(value)))
                    })
                    .collect();
                let shown = if holding.is_empty() {
                    used.iter().collect()
                } else {
                    holding
                };
                for (table, key, found) in shown {
                    let note = match found {
                        Some(_) => format!("via {table}[{key}]"),
                        None => format!("{table} has no {key}: default"),
                    };
                    if !notes.contains(&note) {
                        notes.push(note);
                    }
                }
            }
        }
        notes.join(", ")
    }
}

/// Lines of `label  value  # reasons`, written with the columns aligned.
#[derive(Default)]
struct Rows {
    rows: Vec<(String, String, String)>,
}

impl Rows {
    fn heading(&mut self, text: &str) {
        self.rows
            .push((text.to_owned(), String::new(), String::new()));
    }

    fn value<T>(&mut self, label: &str, value: &str, source: &Sourced<T>, via: String) {
        let reasons = match (source.reasons.is_empty(), via.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!("# {via}"),
            (false, true) => format!("# {}", super::reasons(&source.reasons)),
            (false, false) => format!("# {} {via}", super::reasons(&source.reasons)),
        };
        self.rows
            .push((label.to_owned(), value.to_owned(), reasons));
    }

    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let valued = || {
            self.rows
                .iter()
                .filter(|r| !r.2.is_empty() || !r.1.is_empty())
        };
        let label_width = valued().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let value_width = valued().map(|r| r.1.chars().count()).max().unwrap_or(0);
        for (label, value, reasons) in &self.rows {
            if value.is_empty() && reasons.is_empty() {
                writeln!(out, "{label}")?;
                continue;
            }
            let line = format!(
                "{label}{}  {value}{}  {reasons}",
                " ".repeat(label_width - label.chars().count()),
                " ".repeat(value_width - value.chars().count()),
            );
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}
