//! The System Log event shape (`GET /api/v1/logs`), with the fields event
//! mode reads typed and the rest kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An Okta System Log event (`LogEvent`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    /// Unique id of the event.
    pub uuid: String,
    /// When it happened (RFC 3339).
    #[serde(default)]
    pub published: String,
    /// What happened, such as `user.lifecycle.suspend`.
    pub event_type: String,
    /// Whether it succeeded (`{"result": "SUCCESS"}`).
    #[serde(default)]
    pub outcome: Option<Value>,
    /// What it acted on: users, groups, apps.
    #[serde(default)]
    pub target: Vec<LogTarget>,
    /// Every other field (actor, client, displayMessage, …), kept.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// One `target` of an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogTarget {
    /// The object's id (`00u…` for users, `00g…` for groups).
    pub id: String,
    /// `User`, `UserGroup`, `AppInstance`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The login of a user, for instance.
    #[serde(default)]
    pub alternate_id: Option<String>,
    /// A group's name, for instance.
    #[serde(default)]
    pub display_name: Option<String>,
}

impl LogEvent {
    /// Whether Okta recorded the event as successful. An event without an
    /// outcome counts as successful (informational events carry none).
    pub fn succeeded(&self) -> bool {
        match self.outcome.as_ref().and_then(|o| o.get("result")) {
            Some(result) => result.as_str() == Some("SUCCESS"),
            None => true,
        }
    }

    /// Whether Okta recorded the event as failed (`outcome.result` `FAILURE`).
    pub fn failed(&self) -> bool {
        self.outcome
            .as_ref()
            .and_then(|o| o.get("result"))
            .and_then(Value::as_str)
            == Some("FAILURE")
    }

    /// The risk level a risk event reports, upper-case: `securityContext.risk.level`,
    /// or `level=…` in `debugContext.debugData.risk` (Okta writes that one as
    /// `{previousLevel=LOW, level=HIGH, …}`), or `debugData.riskLevel`.
    pub fn risk_level(&self) -> Option<String> {
        let structured = self
            .other
            .get("securityContext")
            .and_then(|s| s.pointer("/risk/level"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let debug = self
            .other
            .get("debugContext")
            .and_then(|d| d.get("debugData"));
        let from_text = || {
            let text = debug?.get("risk")?.as_str()?;
            text.trim_matches(['{', '}'])
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| k.trim() == "level")
                .map(|(_, v)| v.trim().to_owned())
        };
        let plain = || {
            debug?
                .get("riskLevel")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        structured
            .or_else(from_text)
            .or_else(plain)
            .filter(|l| !l.is_empty())
            .map(|l| l.to_uppercase())
    }

    /// The actor's id when the actor is a user.
    pub fn actor_user(&self) -> Option<&str> {
        let actor = self.other.get("actor")?;
        if actor.get("type").and_then(Value::as_str) == Some("User") {
            actor.get("id").and_then(Value::as_str)
        } else {
            None
        }
    }

    /// Targets of one type.
    pub fn targets_of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a LogTarget> {
        self.target.iter().filter(move |t| t.kind == kind)
    }
}
