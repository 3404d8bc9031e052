//! Lockdown: block sign-in and revoke sessions for the accounts of users an
//! event names, as a small plan the executor runs like any other.
//!
//! Only accounts okta365 manages (marked with the Okta id) are touched, and
//! never a protected one. Memberships are removed only from the sensitive
//! groups the rules name, and only where the policies define the group;
//! licences, other memberships and the offboarding stamp are left to the
//! next full plan.

use std::collections::BTreeSet;

use super::{RuleLines, Trigger};
use crate::events::LockdownRules;
use crate::model::state::LiveState;
use crate::plan::action::{GroupRef, UserRef};
use crate::plan::{Action, Change, FORMAT_VERSION, Op, Plan, PlanSettings, Summary};
use crate::policy::types::Protected;

/// A lockdown plan, and what was left out and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Lockdown {
    /// Disable and revoke actions, in order.
    pub plan: Plan,
    /// The event (`uuid`) behind each action, in plan order.
    pub events: Vec<String>,
    /// One line per user who could not be locked (no managed account, protected).
    pub skipped: Vec<String>,
}

/// What a lockdown is planned from, besides the triggers.
pub struct LockdownInput<'a> {
    /// Office 365 as read.
    pub live: &'a LiveState,
    /// The lockdown rules (for the sensitive groups).
    pub rules: &'a LockdownRules,
    /// Mail nicknames (lowercase) of the groups the policies define.
    pub policy_groups: &'a BTreeSet<String>,
    /// Protected accounts from the policies.
    pub protected: &'a Protected,
    /// Planner settings (the ownership marker, the time).
    pub settings: &'a PlanSettings,
    /// Where the rules were written, for the reasons.
    pub lines: &'a RuleLines,
}

/// Plans the lockdown of every user a [`Trigger::Lockdown`] names.
pub fn lockdown(triggers: &[Trigger], input: &LockdownInput) -> Lockdown {
    let LockdownInput {
        live,
        settings,
        lines,
        ..
    } = *input;
    let protected = crate::plan::protected::accounts(input.protected, live);
    let managed = super::managed_accounts(live, settings);
    let mut skipped = Vec::new();
    let sensitive: Vec<_> = input
        .rules
        .remove_from_groups
        .iter()
        .filter_map(|name| {
            let key = name.to_lowercase();
            let found = live.groups.iter().find(|g| {
                g.mail_nickname.as_deref().is_some_and(|n| n.to_lowercase() == key)
            });
            match found {
                Some(g) if input.policy_groups.contains(&key) => Some(g),
                Some(_) => {
                    skipped.push(format!(
                        "group `{name}`: not defined in the policies, so okta365 removes no one from it"
                    ));
                    None
                }
                None => {
                    skipped.push(format!("group `{name}`: not in Office 365"));
                    None
                }
            }
        })
        .collect();
    let mut actions: Vec<Action> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut events = Vec::new();
    let mut owners: Vec<String> = Vec::new();
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
        let accounts = managed.get(user.as_str()).map_or(&[][..], Vec::as_slice);
        if accounts.is_empty() {
            skipped.push(format!(
                "Okta user {user} ({event_type}): no Office 365 account okta365 manages"
            ));
        }
        let reason = lines.lockdown(event_type, event);
        for &account in accounts {
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
                okta_id: Some(crate::model::OktaUserId::from(user.as_str())),
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
                op: Op::RevokeSessions {
                    user: user_ref.clone(),
                },
            });
            for group in &sensitive {
                let member = live
                    .members
                    .get(&group.id)
                    .is_some_and(|m| m.contains(&account.id));
                if !member {
                    continue;
                }
                let nickname = group.mail_nickname.clone().unwrap_or_default();
                actions.push(Action {
                    id: actions.len(),
                    kind: crate::plan::ActionKind::RemoveMember,
                    target: format!("group {nickname} member {}", account.user_principal_name),
                    changes: vec![Change {
                        field: "member".into(),
                        old: Some("member".into()),
                        new: None,
                    }],
                    reasons: vec![reason.clone()],
                    depends_on: Vec::new(),
                    op: Op::RemoveMember {
                        group: GroupRef {
                            id: Some(group.id.clone()),
                            mail_nickname: nickname,
                        },
                        user: user_ref.clone(),
                    },
                });
            }
        }
        owners.resize(actions.len(), event.clone());
    }
    let plan = Plan {
        format_version: FORMAT_VERSION,
        fingerprint: format!("lockdown:{}", events.join(",")),
        digest: String::new(),
        now: settings.now.to_string(),
        targets: Vec::new(),
        refused: Vec::new(),
        accepted_read_drop: false,
        summary: Summary::of(&actions),
        allowed_removals: Default::default(),
        licenses: Vec::new(),
        actions,
        manual_steps: Vec::new(),
        unmanaged: Vec::new(),
        warnings: Vec::new(),
    };
    Lockdown {
        plan,
        events: owners,
        skipped,
    }
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
            on_premises_extension_attributes: Some(attrs.into()),
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

    fn plan(triggers: &[Trigger], live: &LiveState, protected: &Protected) -> Lockdown {
        plan_with(
            triggers,
            live,
            protected,
            &LockdownRules::default(),
            &BTreeSet::new(),
        )
    }

    fn plan_with(
        triggers: &[Trigger],
        live: &LiveState,
        protected: &Protected,
        rules: &LockdownRules,
        policy_groups: &BTreeSet<String>,
    ) -> Lockdown {
        lockdown(
            triggers,
            &LockdownInput {
                live,
                rules,
                policy_groups,
                protected,
                settings: &settings(),
                lines: &RuleLines::unplaced("okta365.yaml"),
            },
        )
    }

    #[test]
    fn locks_the_managed_account_disable_first_then_revoke() {
        let live = LiveState {
            users: vec![account("a", "00u1", true), account("b", "00u2", true)],
            ..LiveState::default()
        };
        let out = plan(&[trigger("00u1")], &live, &Protected::default());
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
        assert_eq!(out.events, ["ev-00u1", "ev-00u1"]);
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
        let out = plan(&[trigger("00u1")], &live, &Protected::default());
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
        let out = plan(&[trigger("00u9"), trigger("00u5")], &live, &protected);
        assert!(out.plan.actions.is_empty(), "{:?}", out.plan.actions);
        assert_eq!(out.skipped.len(), 2, "{:?}", out.skipped);
        assert!(out.skipped[0].contains("protected"));
        assert!(out.skipped[1].contains("no Office 365 account"));
    }

    #[test]
    fn sensitive_groups_lose_the_member_only_where_the_policies_own_them() {
        let group = |id: &str, nick: &str| crate::model::graph::Group {
            id: id.into(),
            display_name: nick.into(),
            mail_nickname: Some(nick.into()),
            ..crate::model::graph::Group::default()
        };
        let mut members = BTreeMap::new();
        members.insert("g1".into(), vec!["a".into()]);
        members.insert("g2".into(), vec!["a".into()]);
        let live = LiveState {
            users: vec![account("a", "00u1", true)],
            groups: vec![group("g1", "finance-data"), group("g2", "hr-private")],
            members,
            ..LiveState::default()
        };
        let rules = LockdownRules {
            remove_from_groups: vec!["Finance-Data".into(), "hr-private".into(), "nowhere".into()],
            ..LockdownRules::default()
        };
        let owned: BTreeSet<String> = ["finance-data".to_owned()].into();
        let out = plan_with(
            &[trigger("00u1")],
            &live,
            &Protected::default(),
            &rules,
            &owned,
        );
        let targets: Vec<&str> = out.plan.actions.iter().map(|a| a.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "user a@acme.example",
                "user a@acme.example",
                "group finance-data member a@acme.example"
            ]
        );
        assert_eq!(out.skipped.len(), 2, "{:?}", out.skipped);
        assert!(out.skipped[0].contains("hr-private") && out.skipped[0].contains("not defined"));
        assert!(out.skipped[1].contains("nowhere"));
    }
}
