//! Targeted plans (`plan --target USER`): only the changes to some users,
//! plus what those changes need (the groups and Teams they join, a new
//! manager's account), like terraform's `-target`.
//!
//! Targeting happens before the safety checks, so the removal budget and the
//! seat check judge the plan that will run.

use std::collections::BTreeSet;

use super::action::Op;
use super::diff::{Draft, ManualStep, Unmanaged};
use crate::compile::DesiredState;

/// The keys (lowercase UPNs and guest mails) the targets stand for: each
/// target as given, and the UPN or mail the policies give the Okta user it
/// names by id, login or email.
pub fn keys(targets: &[String], desired: &DesiredState) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = targets.iter().map(|t| t.to_lowercase()).collect();
    let names = |id: &str, login: &str| {
        targets
            .iter()
            .any(|t| t == id || t.eq_ignore_ascii_case(login))
    };
    for (id, user) in &desired.users {
        if names(id.as_str(), &user.login) {
            keys.extend(user.upn().map(str::to_lowercase));
        }
    }
    for (id, guest) in &desired.guests {
        if names(id.as_str(), &guest.mail) {
            keys.insert(guest.mail.to_lowercase());
        }
    }
    for (id, leaver) in &desired.leavers {
        if names(id.as_str(), &leaver.login) {
            keys.insert(leaver.login.to_lowercase());
        }
    }
    keys
}

/// The targets that name no Okta user the policies know and no Office 365
/// account, so the user hears about a typo instead of an empty plan.
pub fn unknown<'a>(
    targets: &'a [String],
    desired: &DesiredState,
    live: &crate::model::state::LiveState,
) -> Vec<&'a str> {
    targets
        .iter()
        .filter(|t| {
            let known = keys(std::slice::from_ref(t), desired);
            // `keys` adds more than the target itself only when it names an Okta user.
            known.len() == 1
                && !live
                    .users
                    .iter()
                    .any(|u| u.user_principal_name.eq_ignore_ascii_case(t))
                && !desired.okta_ids.iter().any(|id| id.as_str() == t.as_str())
        })
        .map(String::as_str)
        .collect()
}

/// Keeps the drafts about the users in `keys`, and the creations they
/// depend on: groups and Teams they join, managers' accounts.
pub fn retain(drafts: &mut Vec<Draft>, keys: &BTreeSet<String>) {
    let about = |d: &Draft| {
        d.op.user_key()
            .is_some_and(|k| keys.contains(&k.to_lowercase()))
    };
    let new_teams: BTreeSet<String> = drafts
        .iter()
        .filter_map(|d| match &d.op {
            Op::CreateTeam { group } => Some(group.mail_nickname.to_lowercase()),
            _ => None,
        })
        .collect();
    let mut groups = BTreeSet::new();
    let mut managers = BTreeSet::new();
    for d in drafts.iter().filter(|d| about(d)) {
        match &d.op {
            Op::AddMember { group, .. } | Op::AddTeamMember { group, .. } => {
                groups.insert(group.mail_nickname.to_lowercase());
            }
            Op::SetManager { manager, .. } if manager.id.is_none() => {
                managers.insert(manager.upn.to_lowercase());
            }
            _ => {}
        }
    }
    let needed = |nickname: &str| groups.contains(&nickname.to_lowercase());
    drafts.retain(|d| match &d.op {
        Op::CreateGroup { mail_nickname, .. } => needed(mail_nickname),
        Op::CreateTeam { group } => needed(&group.mail_nickname),
        // A new Team needs its owners, or Graph will not create it.
        Op::AddTeamMember {
            group,
            role: crate::policy::types::TeamRole::Owner,
            ..
        } if new_teams.contains(&group.mail_nickname.to_lowercase()) => {
            needed(&group.mail_nickname)
        }
        Op::CreateUser { upn, .. } if managers.contains(&upn.to_lowercase()) => true,
        _ => about(d),
    });
}

/// Keeps the manual steps about the targets; unmanaged objects are not
/// listed in a targeted plan.
pub fn narrow_notes(
    steps: &mut Vec<ManualStep>,
    unmanaged: &mut Vec<Unmanaged>,
    keys: &BTreeSet<String>,
) {
    steps.retain(|s| {
        s.target
            .strip_prefix("user ")
            .is_some_and(|upn| keys.contains(&upn.to_lowercase()))
    });
    unmanaged.clear();
}
