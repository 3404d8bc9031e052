//! Where the event rules were written in the config file, so that the
//! reason of a lockdown or a relayed risk names the line that asked for it.

use std::collections::BTreeMap;

use super::EventRules;
use crate::plan::Reason;
use crate::policy::yaml::SpanIndex;

/// The config file and the lines of its event rules. A rule that was not
/// written (a default) has no line: its reasons say so.
#[derive(Clone, Debug, Default)]
pub struct RuleLines {
    file: String,
    lockdown_types: BTreeMap<String, u32>,
    lockdown_groups: Option<u32>,
    relay_types: BTreeMap<String, u32>,
    relay: Option<u32>,
}

impl RuleLines {
    /// Lines of `rules` as `spans` (the parsed config file `file`) place them.
    pub fn new(file: &str, spans: &SpanIndex, rules: &EventRules) -> Self {
        let items = |pointer: &str, values: &[String]| -> BTreeMap<String, u32> {
            values
                .iter()
                .enumerate()
                .filter_map(|(i, value)| {
                    let at = spans.written(&format!("{pointer}/{i}"))?;
                    Some((value.clone(), at.0))
                })
                .collect()
        };
        Self {
            file: file.to_owned(),
            lockdown_types: items("/events/lockdown/event_types", &rules.lockdown.event_types),
            lockdown_groups: spans.written("/events/lockdown/groups").map(|at| at.0),
            relay_types: rules
                .relay
                .as_ref()
                .map(|relay| items("/events/relay/event_types", &relay.event_types))
                .unwrap_or_default(),
            relay: spans.written("/events/relay").map(|at| at.0),
        }
    }

    /// Lines for rules taken from `file` without positions (tests, a config
    /// without an `events` section).
    pub fn unplaced(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            ..Self::default()
        }
    }

    /// The reason of a lockdown for `event_type`: the line listing the type,
    /// else the `groups` line (a lockdown group's new member), else the
    /// default rule.
    pub fn lockdown(&self, event_type: &str, event: &str) -> Reason {
        let line = self
            .lockdown_types
            .get(event_type)
            .copied()
            .or(self.lockdown_groups);
        self.reason(line, format!("lockdown: {event_type}, event {event}"))
    }

    /// The reason of a relayed risk: the line listing the type, else the
    /// `relay` section.
    pub fn relay(&self, event_type: &str, what: String) -> Reason {
        let line = self.relay_types.get(event_type).copied().or(self.relay);
        self.reason(line, what)
    }

    fn reason(&self, line: Option<u32>, what: String) -> Reason {
        match line {
            Some(line) => Reason::new(self.file.as_str(), line, what),
            None => Reason::new(self.file.as_str(), 0, format!("{what}; a default rule")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(config: &str) -> RuleLines {
        let (value, spans) = crate::policy::yaml::parse(config).unwrap();
        let rules: EventRules = serde_json::from_value(value["events"].clone()).unwrap_or_default();
        RuleLines::new("okta365.yaml", &spans, &rules)
    }

    #[test]
    fn reasons_name_the_line_that_lists_the_event_type() {
        let at = lines(
            "okta: {}\nevents:\n  lockdown:\n    event_types:\n      - user.lifecycle.suspend\n      - security.threat.detected\n    groups: [Security-Lockdown]\n  relay:\n    group: ca-risky\n    event_types: [user.risk.change]\n",
        );
        let threat = at.lockdown("security.threat.detected", "e1");
        assert_eq!((threat.file.as_ref(), threat.line), ("okta365.yaml", 6));
        let joined = at.lockdown("group.user_membership.add", "e2");
        assert_eq!(joined.line, 7, "a lockdown group's member: the groups line");
        assert_eq!(at.relay("user.risk.change", "risk".into()).line, 10);
        assert_eq!(at.relay("user.risk.detect", "risk".into()).line, 8);
    }

    #[test]
    fn a_default_rule_says_so() {
        let at = lines("okta: {}\n");
        let reason = at.lockdown("user.lifecycle.suspend", "e1");
        assert_eq!(reason.line, 0);
        assert!(reason.rule.ends_with("a default rule"), "{}", reason.rule);
    }
}
