//! Event mode: Okta System Log events in, lockdown plans out.
//!
//! Pure, like the planner. [`classify`] turns an event into triggers by the
//! rules in the config's `events:` section; [`lockdown`] plans what a lockdown
//! does to the Office 365 accounts okta365 manages for those users (block
//! sign-in, revoke sessions) without waiting for a full plan. Everything else
//! an event changes is left to the next full plan, with all its safety checks.

mod lockdown;
mod log_event;

pub use lockdown::{Lockdown, LockdownInput, lockdown};
pub use log_event::{LogEvent, LogTarget};

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::OktaUserId;

/// Which events do what (`events:` in the config).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EventRules {
    /// Events that lock the target user's account at once.
    pub lockdown: LockdownRules,
    /// Event types after which okta365 makes a full plan (applied only with `watch --apply`).
    pub reconcile_on: Vec<String>,
    /// Seconds between two System Log polls.
    #[schemars(range(min = 1))]
    pub poll_seconds: u64,
}

/// What locks an account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LockdownRules {
    /// System Log event types (`user.lifecycle.suspend`, `security.threat.detected`, …)
    /// whose target user is locked.
    pub event_types: Vec<String>,
    /// Okta groups (by name) whose new members are locked: an incident
    /// responder adds someone to `Security-Lockdown` in Okta.
    pub groups: Vec<String>,
    /// Office 365 groups (mail nicknames of groups the policies define) a
    /// locked user is removed from at once: the sensitive ones.
    pub remove_from_groups: Vec<String>,
}

impl Default for EventRules {
    fn default() -> Self {
        Self {
            lockdown: LockdownRules::default(),
            reconcile_on: [
                "user.lifecycle.create",
                "user.lifecycle.activate",
                "user.lifecycle.reactivate",
                "user.lifecycle.unsuspend",
                "user.lifecycle.suspend",
                "user.lifecycle.deactivate",
                "user.account.update_profile",
                "group.user_membership.add",
                "group.user_membership.remove",
            ]
            .map(String::from)
            .to_vec(),
            poll_seconds: 5,
        }
    }
}

impl Default for LockdownRules {
    fn default() -> Self {
        Self {
            event_types: [
                "user.lifecycle.suspend",
                "user.lifecycle.deactivate",
                "user.account.lock",
                "security.threat.detected",
            ]
            .map(String::from)
            .to_vec(),
            groups: Vec::new(),
            remove_from_groups: Vec::new(),
        }
    }
}

/// What an event asks okta365 to do.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trigger {
    /// Lock this user's account now.
    Lockdown {
        /// The Okta user.
        user: OktaUserId,
        /// The event's type, for the audit trail.
        event_type: String,
        /// The event's `uuid`.
        event: String,
    },
    /// Make a full plan.
    Reconcile {
        /// The event's type.
        event_type: String,
    },
}

/// The triggers an event fires. Failed events (`outcome.result` other than
/// `SUCCESS`) fire none: a refused suspension changed nothing.
pub fn classify(rules: &EventRules, event: &LogEvent) -> Vec<Trigger> {
    if !event.succeeded() {
        return Vec::new();
    }
    let mut triggers = Vec::new();
    let users: BTreeSet<&str> = event
        .targets_of_type("User")
        .map(|t| t.id.as_str())
        .collect();
    let locks_by_type = rules.lockdown.event_types.contains(&event.event_type);
    let locks_by_group = event.event_type == "group.user_membership.add"
        && event.targets_of_type("UserGroup").any(|g| {
            rules.lockdown.groups.iter().any(|name| {
                g.display_name
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(name))
            })
        });
    if locks_by_type || locks_by_group {
        for user in &users {
            triggers.push(Trigger::Lockdown {
                user: OktaUserId::from(*user),
                event_type: event.event_type.clone(),
                event: event.uuid.clone(),
            });
        }
    }
    if rules.reconcile_on.contains(&event.event_type) {
        triggers.push(Trigger::Reconcile {
            event_type: event.event_type.clone(),
        });
    }
    triggers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_type: &str, result: &str, targets: serde_json::Value) -> LogEvent {
        serde_json::from_value(serde_json::json!({
            "uuid": "e-1",
            "published": "2026-11-20T10:00:00.000Z",
            "eventType": event_type,
            "outcome": { "result": result },
            "target": targets,
        }))
        .unwrap()
    }

    fn user_target() -> serde_json::Value {
        serde_json::json!({ "id": "00u1", "type": "User", "alternateId": "a@acme.example" })
    }

    #[test]
    fn a_suspension_locks_and_reconciles() {
        let rules = EventRules::default();
        let triggers = classify(
            &rules,
            &event(
                "user.lifecycle.suspend",
                "SUCCESS",
                serde_json::json!([user_target()]),
            ),
        );
        assert_eq!(
            triggers,
            [
                Trigger::Lockdown {
                    user: "00u1".into(),
                    event_type: "user.lifecycle.suspend".into(),
                    event: "e-1".into(),
                },
                Trigger::Reconcile {
                    event_type: "user.lifecycle.suspend".into()
                },
            ]
        );
    }

    #[test]
    fn a_failed_event_fires_nothing() {
        let triggers = classify(
            &EventRules::default(),
            &event(
                "user.lifecycle.suspend",
                "FAILURE",
                serde_json::json!([user_target()]),
            ),
        );
        assert!(triggers.is_empty());
    }

    #[test]
    fn joining_a_lockdown_group_locks_but_other_groups_do_not() {
        let mut rules = EventRules::default();
        rules.lockdown.groups = vec!["Security-Lockdown".into()];
        let group = |name: &str| serde_json::json!([user_target(), { "id": "00g1", "type": "UserGroup", "displayName": name }]);
        let locked = classify(
            &rules,
            &event(
                "group.user_membership.add",
                "SUCCESS",
                group("security-lockdown"),
            ),
        );
        assert!(matches!(locked[0], Trigger::Lockdown { .. }), "{locked:?}");
        let other = classify(
            &rules,
            &event("group.user_membership.add", "SUCCESS", group("Sales")),
        );
        assert!(
            other.iter().all(|t| matches!(t, Trigger::Reconcile { .. })),
            "{other:?}"
        );
    }

    #[test]
    fn unrelated_events_fire_nothing() {
        let triggers = classify(
            &EventRules::default(),
            &event(
                "user.session.start",
                "SUCCESS",
                serde_json::json!([user_target()]),
            ),
        );
        assert!(triggers.is_empty());
    }
}
