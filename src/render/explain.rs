//! `okta365 explain`: one user's desired state, each value with the policy
//! rule (file:line) behind it, and the plan's pending actions for them.

use std::io::{self, Write};

use crate::compile::DesiredState;
use crate::compile::desired::Sourced;
use crate::model::okta::User;
use crate::model::state::SourceState;
use crate::plan::Plan;
use crate::policy::types::TeamRole;

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

/// Writes the explanation of `user`.
pub fn render(
    user: &User,
    desired: &DesiredState,
    plan: Option<&Plan>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let login = user.login().unwrap_or_default();
    writeln!(out, "{login} (Okta {}, {})", user.id, user.status.as_str())?;
    writeln!(out)?;
    let mut rows = Rows::default();
    let mut keys: Vec<String> = vec![login.to_lowercase()];
    if let Some(want) = desired.users.get(&user.id) {
        keys.extend(want.upn().map(str::to_lowercase));
        let account = if want.enabled.value {
            "enabled"
        } else {
            "disabled"
        };
        rows.value("account", account, &want.enabled);
        rows.heading("attributes:");
        for (name, value) in &want.attributes {
            rows.value(&format!("  {name}"), &value.value, value);
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
                rows.value(&format!("  {text}"), "", plans);
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
            rows.value(&format!("  {name}"), what, role);
        }
    }
    rows.write(out)?;
    if let Some(plan) = plan {
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

    fn value<T>(&mut self, label: &str, value: &str, source: &Sourced<T>) {
        let reasons = if source.reasons.is_empty() {
            String::new()
        } else {
            format!("# {}", super::reasons(&source.reasons))
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
