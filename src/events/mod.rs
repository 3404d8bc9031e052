//! Event mode: Okta System Log events in, lockdown plans out.
//!
//! Pure, like the planner. [`classify`] turns an event into triggers by the
//! rules in the config's `events:` section; [`lockdown`] plans what a lockdown
//! does to the Office 365 accounts okta365 manages for those users (block
//! sign-in, revoke sessions) without waiting for a full plan; [`relay`] plans
//! the conditional-access relay of risk events; [`hook`] checks what arrives
//! and [`breaker`] decides how many lockdowns may run. Everything else an
//! event changes is left to the next full plan, with all its safety checks.

pub mod breaker;
pub mod hook;
mod lines;
mod lockdown;
mod log_event;
mod relay;
mod settings;

pub use lines::RuleLines;
pub use lockdown::{Lockdown, LockdownInput, lockdown};
pub use log_event::{LogEvent, LogTarget};
pub use relay::{Relay, RelayInput, relay};
pub use settings::{
    BreakerSettings, HookSettings, JournalSettings, ReconcileSettings, RelayRules, RetrySettings,
    TlsFiles,
};

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::OktaUserId;
use crate::model::graph::User;
use crate::model::state::LiveState;
use crate::plan::PlanSettings;

/// Which events do what (`events:` in the config), and how `okta365 serve`
/// receives, journals and retries them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EventRules {
    /// Events that lock the target user's account at once.
    pub lockdown: LockdownRules,
    /// Event types after which okta365 makes a full plan (applied only when
    /// `reconcile.apply` is set, or with `watch --apply`).
    pub reconcile_on: Vec<String>,
    /// When and whether the full plan after reconcile events is applied.
    pub reconcile: ReconcileSettings,
    /// Seconds between two System Log polls.
    #[schemars(range(min = 1))]
    pub poll_seconds: u64,
    /// On the first start (no checkpoint yet), read the System Log from this
    /// many minutes back.
    pub poll_backfill_minutes: u64,
    /// The event hook endpoint (`okta365 serve`).
    pub hook: HookSettings,
    /// The event journal.
    pub journal: JournalSettings,
    /// Retries of failed actions.
    pub retry: RetrySettings,
    /// The conditional-access relay; off unless set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelayRules>,
}

/// What locks an account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LockdownRules {
    /// System Log event types (`user.lifecycle.suspend`, `user.account.lock`, …)
    /// whose target user is locked (for `security.*` and `user.risk.*`
    /// observations, the actor when there is no target).
    pub event_types: Vec<String>,
    /// Okta groups (by name) whose new members are locked: an incident
    /// responder adds someone to `Security-Lockdown` in Okta.
    pub groups: Vec<String>,
    /// Office 365 groups (mail nicknames of groups the policies define) a
    /// locked user is removed from at once: the sensitive ones.
    pub remove_from_groups: Vec<String>,
    /// At most this many lockdowns per window, then stop and wait for a person.
    pub breaker: BreakerSettings,
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
            reconcile: ReconcileSettings::default(),
            poll_seconds: 5,
            poll_backfill_minutes: 15,
            hook: HookSettings::default(),
            journal: JournalSettings::default(),
            retry: RetrySettings::default(),
            relay: None,
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
            ]
            .map(String::from)
            .to_vec(),
            groups: Vec::new(),
            remove_from_groups: Vec::new(),
            breaker: BreakerSettings::default(),
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
    /// Relay a user's risk to conditional access.
    Risk {
        /// The Okta user.
        user: OktaUserId,
        /// The event's type.
        event_type: String,
        /// The event's `uuid`.
        event: String,
        /// The level the event reports (`HIGH`, …), if it reports one.
        level: Option<String>,
        /// Whether the risk is one the relay acts on (else it has cleared).
        raised: bool,
    },
}

impl Trigger {
    /// Whether this trigger locks an account.
    pub fn is_lockdown(&self) -> bool {
        matches!(self, Self::Lockdown { .. })
    }
}

/// Whether any rule names `event_type`: events no rule names are not acted on.
pub fn is_known(rules: &EventRules, event_type: &str) -> bool {
    let named = |list: &[String]| list.iter().any(|t| t == event_type);
    named(&rules.lockdown.event_types)
        || named(&rules.reconcile_on)
        || (event_type == "group.user_membership.add" && !rules.lockdown.groups.is_empty())
        || rules.relay.as_ref().is_some_and(|r| named(&r.event_types))
}

/// Every event type the rules act on (the System Log poller asks only for these).
pub fn wanted_types(rules: &EventRules) -> Vec<String> {
    let mut types: BTreeSet<String> = rules
        .lockdown
        .event_types
        .iter()
        .chain(&rules.reconcile_on)
        .cloned()
        .collect();
    if !rules.lockdown.groups.is_empty() {
        types.insert("group.user_membership.add".into());
    }
    if let Some(relay) = &rules.relay {
        types.extend(relay.event_types.iter().cloned());
    }
    types.into_iter().collect()
}

/// The triggers an event fires. A change that did not succeed in Okta
/// (`outcome.result` other than `SUCCESS`) fires none: a refused suspension
/// changed nothing. An observation (`security.*`, `user.risk.*`: a threat or
/// a risk Okta detected) is not a change, and ThreatInsight records the
/// request's fate (`ALLOW`, `DENY`, `RATE_LIMIT`) as its outcome, so only
/// `FAILURE` voids one.
pub fn classify(rules: &EventRules, event: &LogEvent) -> Vec<Trigger> {
    let mut triggers = risk_triggers(rules, event);
    let observation = is_observation(&event.event_type);
    let happened = if observation {
        !event.failed()
    } else {
        event.succeeded()
    };
    if !happened {
        return triggers;
    }
    let users = if observation {
        subjects(event)
    } else {
        event
            .targets_of_type("User")
            .map(|t| t.id.as_str())
            .collect()
    };
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

/// The relay triggers of a risk event. Risk events are observations, so
/// only an outcome of `FAILURE` voids one (ThreatInsight reports `ALLOW`,
/// `DENY` or `RATE_LIMIT`). The user is the event's `User` target, or its
/// actor when it has none.
fn risk_triggers(rules: &EventRules, event: &LogEvent) -> Vec<Trigger> {
    let Some(relay) = &rules.relay else {
        return Vec::new();
    };
    if !relay.event_types.contains(&event.event_type) || event.failed() {
        return Vec::new();
    }
    let level = event.risk_level();
    let raised = match &level {
        Some(level) => relay.levels.iter().any(|l| l.eq_ignore_ascii_case(level)),
        // An event type listed without a level (ThreatInsight) is the highest risk.
        None => !event.event_type.starts_with("user.risk."),
    };
    if level.is_none() && !raised {
        return Vec::new();
    }
    subjects(event)
        .into_iter()
        .map(|user| Trigger::Risk {
            user: OktaUserId::from(user),
            event_type: event.event_type.clone(),
            event: event.uuid.clone(),
            level: level.clone(),
            raised,
        })
        .collect()
}

/// The accounts okta365 manages, by the Okta id their marker holds: read
/// once per batch of triggers, not once per trigger.
fn managed_accounts<'a>(
    live: &'a LiveState,
    settings: &PlanSettings,
) -> std::collections::HashMap<&'a str, Vec<&'a User>> {
    let mut by_okta_id: std::collections::HashMap<&str, Vec<&User>> =
        std::collections::HashMap::new();
    for user in &live.users {
        if let Some(okta_id) = settings.okta_id_attribute.get_str(user) {
            by_okta_id.entry(okta_id).or_default().push(user);
        }
    }
    by_okta_id
}

/// Whether an event type reports something Okta observed (a threat, a risk)
/// rather than a change it made.
fn is_observation(event_type: &str) -> bool {
    event_type.starts_with("security.") || event_type.starts_with("user.risk.")
}

/// The users an observation is about: its `User` targets, or its actor when
/// it has none (ThreatInsight names the user as the actor).
fn subjects(event: &LogEvent) -> BTreeSet<&str> {
    let mut users: BTreeSet<&str> = event
        .targets_of_type("User")
        .map(|t| t.id.as_str())
        .collect();
    if users.is_empty()
        && let Some(actor) = event.actor_user()
    {
        users.insert(actor);
    }
    users
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
    fn a_threat_locks_only_where_configured_whatever_the_request_s_fate() {
        let threat = |result: &str| -> LogEvent {
            serde_json::from_value(serde_json::json!({
                "uuid": "e-9",
                "published": "2026-11-20T10:00:00.000Z",
                "eventType": "security.threat.detected",
                "outcome": { "result": result },
                "actor": { "id": "00u7", "type": "User", "alternateId": "b@acme.example" },
                "target": [],
            }))
            .unwrap()
        };
        // Not a default lockdown type: a password spray would lock its victims.
        assert!(classify(&EventRules::default(), &threat("DENY")).is_empty());
        let mut rules = EventRules::default();
        rules
            .lockdown
            .event_types
            .push("security.threat.detected".into());
        for result in ["DENY", "ALLOW", "RATE_LIMIT"] {
            assert_eq!(
                classify(&rules, &threat(result)),
                [Trigger::Lockdown {
                    user: "00u7".into(),
                    event_type: "security.threat.detected".into(),
                    event: "e-9".into(),
                }],
                "{result}: the actor is who the threat is about"
            );
        }
        assert!(classify(&rules, &threat("FAILURE")).is_empty());
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
