//! Lockdown: block sign-in and revoke sessions for the accounts of users an
//! event names, as a small plan the executor runs like any other.
//!
//! Only accounts okta365 manages (marked with the Okta id) are touched, and
//! never a protected one. Nothing is removed: memberships, licences and the
//! offboarding stamp are left to the next full plan.

use std::collections::BTreeSet;

use super::Trigger;
use crate::model::state::LiveState;
use crate::plan::action::UserRef;
use crate::plan::{Action, Change, FORMAT_VERSION, Op, Plan, PlanSettings, Reason, Summary};
use crate::policy::types::Protected;

/// A lockdown plan, and what was left out and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Lockdown {
    /// Disable and revoke actions, in order.
    pub plan: Plan,
    /// One line per user who could not be locked (no managed account, protected).
    pub skipped: Vec<String>,
}

/// Plans the lockdown of every user a [`Trigger::Lockdown`] names.
/// `source` names where the rules came from (the config file), for the reasons.
pub fn lockdown(
    triggers: &[Trigger],
    live: &LiveState,
    protected: &Protected,
    settings: &PlanSettings,
    source: &str,
) -> Lockdown {
    let protected = crate::plan::protected::accounts(protected, live);
    let mut actions: Vec<Action> = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = BTreeSet::new();
    let mut events = Vec::new();
    for trigger in triggers {
        let Trigger::Lockdown {
            user,
            event_type,
            event,
        } = trigger
        else {
            continue;
        };
        if !seen.insert(user.clone()) {
            continue;
        }
        events.push(event.as_str());
        let accounts: Vec<_> = live
            .users
            .iter()
            .filter(|u| settings.okta_id_attribute.get(u).as_deref() == Some(user.as_str()))
            .collect();
        if accounts.is_empty() {
            skipped.push(format!(
                "Okta user {user} ({event_type}): no Office 365 account okta365 manages"
            ));
        }
        let reason = Reason {
            file: source.to_owned(),
            line: 0,
            rule: format!("lockdown: {event_type}, event {event}"),
        };
        for account in accounts {
            if protected.contains(&account.id) {
                skipped.push(format!(
                    "{} ({event_type}): protected account, left untouched",
                    account.user_principal_name
                ));
                continue;
            }
            let user_ref = UserRef {
                id: Some(account.id.clone()),
                upn: account.user_principal_name.clone(),
            };
            let target = format!("user {}", account.user_principal_name);
            let mut depends_on = Vec::new();
            if account.account_enabled {
                depends_on.push(actions.len());
                actions.push(Action {
                    id: actions.len(),
                    kind: crate::plan::ActionKind::DisableUser,
                    target: target.clone(),
                    changes: vec![Change {
                        field: "accountEnabled".into(),
                        old: Some("true".into()),
                        new: Some("false".into()),
                    }],
                    reasons: vec![reason.clone()],
                    depends_on: Vec::new(),
                    op: Op::DisableUser {
                        user: user_ref.clone(),
                    },
                });
            }
            // Sessions are revoked after sign-in is blocked, so none can be renewed in between.
            actions.push(Action {
                id: actions.len(),
                kind: crate::plan::ActionKind::RevokeSessions,
                target,
                changes: Vec::new(),
                reasons: vec![reason.clone()],
                depends_on,
                op: Op::RevokeSessions { user: user_ref },
            });
        }
    }
    let plan = Plan {
        format_version: FORMAT_VERSION,
        fingerprint: format!("lockdown:{}", events.join(",")),
        now: settings.now.to_string(),
        summary: Summary::of(&actions),
        allowed_removals: None,
        licenses: Vec::new(),
        actions,
        manual_steps: Vec::new(),
        unmanaged: Vec::new(),
        warnings: Vec::new(),
    };
    Lockdown { plan, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::User;
    use std::collections::BTreeMap;

    fn account(id: &str, okta: &str, enabled: bool) -> User {
        let mut attrs = BTreeMap::new();
        attrs.insert("extensionAttribute15".to_owned(), Some(okta.to_owned()));
        User {
            id: id.into(),
            user_principal_name: format!("{id}@acme.example"),
            account_enabled: enabled,
            on_premises_extension_attributes: Some(attrs),
            ..User::default()
        }
    }

    fn trigger(user: &str) -> Trigger {
        Trigger::Lockdown {
            user: user.into(),
            event_type: "user.lifecycle.suspend".into(),
            event: format!("ev-{user}"),
        }
    }

    fn settings() -> PlanSettings {
        PlanSettings::new("2026-11-20T10:00:00Z".parse().unwrap())
    }

    #[test]
    fn locks_the_managed_account_disable_first_then_revoke() {
        let live = LiveState {
            users: vec![account("a", "00u1", true), account("b", "00u2", true)],
            ..LiveState::default()
        };
        let out = lockdown(
            &[trigger("00u1")],
            &live,
            &Protected::default(),
            &settings(),
            "okta365.yaml",
        );
        let ops: Vec<_> = out
            .plan
            .actions
            .iter()
            .map(|a| (a.kind, a.target.as_str()))
            .collect();
        assert_eq!(
            ops,
            [
                (crate::plan::ActionKind::DisableUser, "user a@acme.example"),
                (
                    crate::plan::ActionKind::RevokeSessions,
                    "user a@acme.example"
                ),
            ]
        );
        assert_eq!(out.plan.actions[1].depends_on, [0]);
        assert!(out.plan.actions[0].reasons[0].rule.contains("ev-00u1"));
        assert_eq!(out.plan.summary.total, 2);
        assert!(out.skipped.is_empty());
    }

    #[test]
    fn an_already_disabled_account_only_loses_its_sessions() {
        let live = LiveState {
            users: vec![account("a", "00u1", false)],
            ..LiveState::default()
        };
        let out = lockdown(
            &[trigger("00u1")],
            &live,
            &Protected::default(),
            &settings(),
            "c",
        );
        assert_eq!(out.plan.actions.len(), 1);
        assert_eq!(
            out.plan.actions[0].kind,
            crate::plan::ActionKind::RevokeSessions
        );
        assert!(out.plan.actions[0].depends_on.is_empty());
    }

    #[test]
    fn unmanaged_and_protected_accounts_are_never_touched() {
        let mut unmarked = account("u", "", true);
        unmarked.on_premises_extension_attributes = None;
        let live = LiveState {
            users: vec![account("admin", "00u9", true), unmarked],
            ..LiveState::default()
        };
        let protected = Protected {
            upns: vec!["ADMIN@acme.example".into()],
            ..Protected::default()
        };
        let out = lockdown(
            &[trigger("00u9"), trigger("00u5")],
            &live,
            &protected,
            &settings(),
            "c",
        );
        assert!(out.plan.actions.is_empty(), "{:?}", out.plan.actions);
        assert_eq!(out.skipped.len(), 2, "{:?}", out.skipped);
        assert!(out.skipped[0].contains("protected"));
        assert!(out.skipped[1].contains("no Office 365 account"));
    }
}
