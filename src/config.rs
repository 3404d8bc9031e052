//! The configuration file (`okta365.yaml`): where the policies live, how each
//! side is read, where ownership is recorded, the safety budget and the audit
//! trail. Parsing is pure (text in, typed config out, `file:line:col` errors);
//! relative paths are resolved against the config file's folder.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::{Marker, PlanSettings};
use crate::policy::Diagnostic;
use crate::policy::load::{PolicySource, Schema, parse_typed};

/// The whole configuration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The folder of policy files (every `*.yaml` and `*.yml` in it, sorted by name).
    #[serde(default = "default_policies")]
    pub policies: PathBuf,
    /// How the Okta side is read.
    pub okta: OktaSide,
    /// How the Office 365 side is read and written.
    pub m365: M365Side,
    /// Where okta365 records which Office 365 users it manages.
    #[serde(default)]
    pub ownership: Ownership,
    /// Limits that stop a plan before it does too much.
    #[serde(default)]
    pub safety: Safety,
    /// The audit trail.
    #[serde(default)]
    pub audit: Audit,
    /// Event mode (`okta365 watch`): which Okta System Log events lock an
    /// account at once, and which call for a full plan.
    #[serde(default)]
    pub events: crate::events::EventRules,
}

fn default_policies() -> PathBuf {
    PathBuf::from("policies")
}

/// The Okta side: a snapshot folder (live connections come with the Okta client).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OktaSide {
    /// A snapshot folder holding `okta/users.json`, `okta/groups.json` and `okta/group-members.json`.
    pub snapshot: PathBuf,
}

/// The Office 365 side: a snapshot folder (live connections come with the Graph client).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct M365Side {
    /// A snapshot folder holding `m365/users.json`, `m365/groups.json`, … `m365/subscribedSkus.json`.
    /// `apply` writes the new state back into it.
    pub snapshot: PathBuf,
}

/// Ownership markers on Office 365 users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Ownership {
    /// Holds the Okta user id of a managed user: `extensionAttribute1`…`15`
    /// (cloud-only users) or a directory extension `extension_<appId>_<name>`.
    #[schemars(
        with = "String",
        regex(
            pattern = r"^((onPremisesExtensionAttributes\.)?extensionAttribute([1-9]|1[0-5])|extension_[0-9a-fA-F]{32}_\w+)$"
        )
    )]
    pub okta_id_attribute: Marker,
    /// Holds the time okta365 began offboarding a user (stages count from it).
    #[schemars(
        with = "String",
        regex(
            pattern = r"^((onPremisesExtensionAttributes\.)?extensionAttribute([1-9]|1[0-5])|extension_[0-9a-fA-F]{32}_\w+)$"
        )
    )]
    pub offboarded_at_attribute: Marker,
    /// How an existing account without the marker is matched to an Okta
    /// user: Graph properties compared, in order, with the values the
    /// policies map for the user (case-insensitive).
    pub match_by: Vec<MatchKey>,
}

/// A property accounts are matched by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MatchKey {
    /// The UPN the policies give the user.
    #[serde(rename = "userPrincipalName")]
    UserPrincipalName,
    /// The mail address.
    #[serde(rename = "mail")]
    Mail,
    /// The employee id.
    #[serde(rename = "employeeId")]
    EmployeeId,
    /// The mail nickname.
    #[serde(rename = "mailNickname")]
    MailNickname,
}

impl MatchKey {
    /// The Graph property name.
    pub fn property(self) -> &'static str {
        match self {
            Self::UserPrincipalName => "userPrincipalName",
            Self::Mail => "mail",
            Self::EmployeeId => "employeeId",
            Self::MailNickname => "mailNickname",
        }
    }
}

impl Default for Ownership {
    fn default() -> Self {
        Self {
            okta_id_attribute: Marker::ExtensionAttribute(15),
            offboarded_at_attribute: Marker::ExtensionAttribute(14),
            match_by: vec![MatchKey::UserPrincipalName, MatchKey::Mail],
        }
    }
}

/// The removal budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Safety {
    /// Refuse plans that disable or delete more than this percentage of managed users…
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_removal_percent: f64,
    /// …when they also disable or delete at least this many.
    pub min_removals: usize,
}

impl Default for Safety {
    fn default() -> Self {
        Self {
            max_removal_percent: 10.0,
            min_removals: 10,
        }
    }
}

/// The audit trail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Audit {
    /// A JSON Lines file; `apply` appends one record per action.
    pub path: PathBuf,
}

impl Default for Audit {
    fn default() -> Self {
        Self {
            path: PathBuf::from(".okta365/audit.jsonl"),
        }
    }
}

impl Config {
    /// Parses a config file's text. `path` is used in error messages and to
    /// resolve relative paths (against its folder).
    pub fn parse(path: &Path, text: &str) -> Result<Self, Vec<Diagnostic>> {
        let source = PolicySource {
            path: path.display().to_string(),
            text: text.to_owned(),
        };
        let mut diagnostics = Vec::new();
        let Some((mut config, _)) = parse_typed::<Config>(&source, schema(), &mut diagnostics)
        else {
            return Err(diagnostics);
        };
        let base = path.parent().unwrap_or(Path::new(""));
        for p in [
            &mut config.policies,
            &mut config.okta.snapshot,
            &mut config.m365.snapshot,
            &mut config.audit.path,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }

    /// Planner settings from this config at time `now`.
    pub fn plan_settings(&self, now: jiff::Timestamp) -> PlanSettings {
        PlanSettings {
            okta_id_attribute: self.ownership.okta_id_attribute.clone(),
            offboarded_at_attribute: self.ownership.offboarded_at_attribute.clone(),
            match_by: self
                .ownership
                .match_by
                .iter()
                .map(|k| k.property().to_owned())
                .collect(),
            max_removal_percent: self.safety.max_removal_percent,
            min_removals: self.safety.min_removals,
            ..PlanSettings::new(now)
        }
    }
}

/// The JSON Schema of the config file, generated from the Rust types.
pub fn config_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Config)).expect("schema serialises")
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new(config_schema()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_config_folder() {
        let text = "policies: p\nokta: { snapshot: ex }\nm365: { snapshot: ex }\n";
        let config = Config::parse(Path::new("conf/okta365.yaml"), text).unwrap();
        assert_eq!(config.policies, Path::new("conf/p"));
        assert_eq!(config.m365.snapshot, Path::new("conf/ex"));
        assert_eq!(config.audit.path, Path::new("conf/.okta365/audit.jsonl"));
        assert_eq!(
            config.ownership.okta_id_attribute,
            Marker::ExtensionAttribute(15)
        );
    }

    #[test]
    fn typos_point_at_the_key_with_a_suggestion() {
        let text = "okta: { snapshot: ex }\nm365: { snapshot: ex }\nsafty: {}\n";
        let errors = Config::parse(Path::new("okta365.yaml"), text).unwrap_err();
        let shown = errors[0].render_plain();
        assert!(shown.contains("okta365.yaml:3:1"), "{shown}");
        assert!(shown.contains("safety"), "{shown}");
    }

    #[test]
    fn bad_marker_is_an_error() {
        let text = "okta: { snapshot: ex }\nm365: { snapshot: ex }\nownership: { okta_id_attribute: employeeId }\n";
        let errors = Config::parse(Path::new("c.yaml"), text).unwrap_err();
        assert!(
            errors[0].render_plain().contains("c.yaml:3:"),
            "{}",
            errors[0].render_plain()
        );
    }
}
