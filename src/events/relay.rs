//! The conditional-access relay: a risk event puts the user's Office 365
//! account in the Entra group that conditional-access policies target (and,
//! if configured, confirms the user compromised in Identity Protection);
//! when a later event reports the risk gone, the user leaves the group again.
//!
//! Only managed, unprotected accounts are relayed. The relay owns the
//! group's membership it created and nothing else: it takes out only users
//! it put there (`relayed`), never a member someone else added.

use std::collections::{BTreeMap, BTreeSet};

use super::{RelayRules, RuleLines, Trigger};
use crate::model::ObjectId;
use crate::model::state::LiveState;
use crate::plan::action::{GroupRef, UserRef};
use crate::plan::{Action, ActionKind, Change, FORMAT_VERSION, Op, Plan, PlanSettings, Summary};
use crate::policy::types::Protected;

/// What a relay is planned from, besides the triggers.
pub struct RelayInput<'a> {
    /// Office 365 as read (users, and the relay group with its members).
    pub live: &'a LiveState,
    /// The relay rules.
    pub rules: &'a RelayRules,
    /// Protected accounts from the policies.
    pub protected: &'a Protected,
    /// Planner settings (the ownership marker, the time).
    pub settings: &'a PlanSettings,
    /// Accounts (object ids) the relay put in the group and has not taken out.
    pub relayed: &'a BTreeSet<ObjectId>,
    /// Where the rules were written, for the reasons.
    pub lines: &'a RuleLines,
}

/// A relay plan, who it is for, and what was left out and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Relay {
    /// Add, confirm and remove actions.
    pub plan: Plan,
    /// The event (`uuid`) behind each action, in plan order.
    pub events: Vec<String>,
    /// One line per trigger that changes nothing, and why.
    pub skipped: Vec<String>,
}

/// Plans the relay of every [`Trigger::Risk`]. When one user has several,
/// the last one decides.
pub fn relay(triggers: &[Trigger], input: &RelayInput) -> Relay {
    let RelayInput {
        live,
        rules,
        settings,
        lines,
        ..
    } = *input;
    let mut skipped = Vec::new();
    let key = rules.group.to_lowercase();
    let group = live.groups.iter().find(|g| {
        g.mail_nickname
            .as_deref()
            .is_some_and(|n| n.to_lowercase() == key)
    });
    let mut last: BTreeMap<&str, &Trigger> = BTreeMap::new();
    for trigger in triggers {
        if let Trigger::Risk { user, .. } = trigger {
            last.insert(user.as_str(), trigger);
        }
    }
    let mut actions: Vec<Action> = Vec::new();
    let mut events = Vec::new();
    let Some(group) = group else {
        if !last.is_empty() {
            skipped.push(format!(
                "relay group `{}`: not in Office 365, so no risk is relayed\n  hint: create the group and target it in a conditional-access policy",
                rules.group
            ));
        }
        return finish(actions, events, skipped, settings);
    };
    let protected = crate::plan::protected::accounts(input.protected, live);
    let managed = super::managed_accounts(live, settings);
    let members: BTreeSet<&ObjectId> = live.members.get(&group.id).into_iter().flatten().collect();
    let group_ref = GroupRef {
        id: Some(group.id.clone()),
        mail_nickname: group.mail_nickname.clone().unwrap_or_default(),
    };
    for trigger in last.values() {
        let Trigger::Risk {
            user,
            event_type,
            event,
            level,
            raised,
        } = trigger
        else {
            continue;
        };
        let shown_level = level.as_deref().unwrap_or("no level");
        let accounts = managed.get(user.as_str()).map_or(&[][..], Vec::as_slice);
        if accounts.is_empty() {
            skipped.push(format!(
                "Okta user {user} ({event_type}, {shown_level}): no Office 365 account okta365 manages"
            ));
        }
        let reason = lines.relay(
            event_type,
            format!("risk relay: {event_type} ({shown_level}), event {event}"),
        );
        for &account in accounts {
            let upn = &account.user_principal_name;
            if protected.contains(&account.id) {
                skipped.push(format!(
                    "{upn} ({event_type}): protected account, left untouched"
                ));
                continue;
            }
            let user_ref = UserRef {
                id: Some(account.id.clone()),
                upn: upn.clone(),
                okta_id: Some(user.clone()),
            };
            let member = members.contains(&account.id);
            let mut push = |kind: ActionKind, target: String, changes: Vec<Change>, op: Op| {
                events.push(event.clone());
                actions.push(Action {
                    id: actions.len(),
                    kind,
                    target,
                    changes,
                    reasons: vec![reason.clone()],
                    depends_on: Vec::new(),
                    op,
                });
            };
            let member_target = format!("group {} member {upn}", group_ref.mail_nickname);
            if *raised {
                if !member {
                    push(
                        ActionKind::AddMember,
                        member_target,
                        vec![change("member", None, Some("member"))],
                        Op::AddMember {
                            group: group_ref.clone(),
                            user: user_ref.clone(),
                        },
                    );
                }
                if rules.confirm_compromised {
                    push(
                        ActionKind::ConfirmCompromised,
                        format!("user {upn}"),
                        vec![change("riskState", None, Some("confirmedCompromised"))],
                        Op::ConfirmCompromised {
                            user: user_ref.clone(),
                        },
                    );
                }
            } else if !rules.clear || !member {
                continue;
            } else if input.relayed.contains(&account.id) {
                push(
                    ActionKind::RemoveMember,
                    member_target,
                    vec![change("member", Some("member"), None)],
                    Op::RemoveMember {
                        group: group_ref.clone(),
                        user: user_ref.clone(),
                    },
                );
            } else {
                skipped.push(format!(
                    "{upn} ({event_type}, {shown_level}): in `{}` but not put there by okta365, left alone",
                    rules.group
                ));
            }
        }
    }
    finish(actions, events, skipped, settings)
}

fn change(field: &str, old: Option<&str>, new: Option<&str>) -> Change {
    Change {
        field: field.into(),
        old: old.map(str::to_owned),
        new: new.map(str::to_owned),
    }
}

fn finish(
    actions: Vec<Action>,
    events: Vec<String>,
    skipped: Vec<String>,
    settings: &PlanSettings,
) -> Relay {
    let mut ids: Vec<&str> = events.iter().map(String::as_str).collect();
    ids.dedup();
    let plan = Plan {
        format_version: FORMAT_VERSION,
        fingerprint: format!("relay:{}", ids.join(",")),
        digest: String::new(),
        targets: Vec::new(),
        refused: Vec::new(),
        accepted_read_drop: false,
        now: settings.now.to_string(),
        summary: Summary::of(&actions),
        allowed_removals: Default::default(),
        licenses: Vec::new(),
        actions,
        manual_steps: Vec::new(),
        unmanaged: Vec::new(),
        warnings: Vec::new(),
    };
    Relay {
        plan,
        events,
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::{Group, User};

    fn account(id: &str, okta: &str) -> User {
        let mut attrs = BTreeMap::new();
        attrs.insert("extensionAttribute15".to_owned(), Some(okta.to_owned()));
        User {
            id: id.into(),
            user_principal_name: format!("{id}@acme.example"),
            account_enabled: true,
            on_premises_extension_attributes: Some(attrs.into()),
            ..User::default()
        }
    }

    fn risk(user: &str, event: &str, level: &str, raised: bool) -> Trigger {
        Trigger::Risk {
            user: user.into(),
            event_type: "user.risk.change".into(),
            event: event.into(),
            level: Some(level.into()),
            raised,
        }
    }

    fn live(members: &[&str]) -> LiveState {
        let mut m = BTreeMap::new();
        m.insert(
            ObjectId::from("g1"),
            members.iter().map(|s| ObjectId::from(*s)).collect(),
        );
        LiveState {
            users: vec![
                account("a", "00u1"),
                account("b", "00u2"),
                account("admin", "00u9"),
            ],
            groups: vec![Group {
                id: "g1".into(),
                display_name: "CA risky".into(),
                mail_nickname: Some("ca-risky".into()),
                ..Group::default()
            }],
            members: m,
            ..LiveState::default()
        }
    }

    fn plan(triggers: &[Trigger], live: &LiveState, relayed: &[&str], confirm: bool) -> Relay {
        let rules = RelayRules {
            group: "CA-Risky".into(),
            event_types: vec!["user.risk.change".into()],
            levels: vec!["HIGH".into()],
            clear: true,
            confirm_compromised: confirm,
        };
        let protected = Protected {
            upns: vec!["admin@acme.example".into()],
            ..Protected::default()
        };
        let relayed: BTreeSet<ObjectId> = relayed.iter().map(|s| ObjectId::from(*s)).collect();
        relay(
            triggers,
            &RelayInput {
                live,
                rules: &rules,
                protected: &protected,
                settings: &PlanSettings::new("2026-11-20T10:00:00Z".parse().unwrap()),
                relayed: &relayed,
                lines: &RuleLines::unplaced("okta365.yaml"),
            },
        )
    }

    fn kinds(r: &Relay) -> Vec<(ActionKind, &str)> {
        r.plan
            .actions
            .iter()
            .map(|a| (a.kind, a.target.as_str()))
            .collect()
    }

    #[test]
    fn high_risk_adds_to_the_group_and_confirms_when_asked() {
        let out = plan(&[risk("00u1", "e1", "HIGH", true)], &live(&[]), &[], true);
        assert_eq!(
            kinds(&out),
            [
                (
                    ActionKind::AddMember,
                    "group ca-risky member a@acme.example"
                ),
                (ActionKind::ConfirmCompromised, "user a@acme.example"),
            ]
        );
        assert_eq!(out.events, ["e1", "e1"]);
        assert!(out.plan.actions[0].reasons[0].rule.contains("event e1"));
        // Already in the group: nothing to add.
        let again = plan(
            &[risk("00u1", "e2", "HIGH", true)],
            &live(&["a"]),
            &[],
            false,
        );
        assert!(again.plan.actions.is_empty(), "{:?}", kinds(&again));
    }

    #[test]
    fn cleared_risk_removes_only_members_the_relay_added() {
        let triggers = [
            risk("00u1", "e1", "LOW", false),
            risk("00u2", "e2", "NONE", false),
        ];
        let out = plan(&triggers, &live(&["a", "b"]), &["a"], false);
        assert_eq!(
            kinds(&out),
            [(
                ActionKind::RemoveMember,
                "group ca-risky member a@acme.example"
            )]
        );
        assert_eq!(out.skipped.len(), 1, "{:?}", out.skipped);
        assert!(out.skipped[0].contains("not put there by okta365"));
    }

    #[test]
    fn the_last_event_per_user_decides_and_protected_or_unmanaged_users_are_skipped() {
        let triggers = [
            risk("00u1", "e1", "HIGH", true),
            risk("00u1", "e2", "LOW", false),
            risk("00u9", "e3", "HIGH", true),
            risk("00u7", "e4", "HIGH", true),
        ];
        let out = plan(&triggers, &live(&[]), &[], false);
        assert!(out.plan.actions.is_empty(), "{:?}", kinds(&out));
        assert_eq!(out.skipped.len(), 2, "{:?}", out.skipped);
        assert!(out.skipped.iter().any(|s| s.contains("protected")));
        assert!(out.skipped.iter().any(|s| s.contains("00u7")));
    }

    #[test]
    fn a_missing_group_relays_nothing_and_says_so() {
        let mut state = live(&[]);
        state.groups.clear();
        let out = plan(&[risk("00u1", "e1", "HIGH", true)], &state, &[], true);
        assert!(out.plan.actions.is_empty());
        assert!(out.skipped[0].contains("not in Office 365"));
    }
}
