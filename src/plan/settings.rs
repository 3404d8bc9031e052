//! Planner settings: where okta365 records ownership, the removal budget, and
//! the current time (an input, so the core reads no clock).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::budget::{Budget, RemovalKind};

use crate::model::graph::User;

/// A string property of a Graph user that okta365 owns, either one of the
/// fifteen `onPremisesExtensionAttributes` (cloud-only users) or a directory
/// extension (`extension_<appId>_<name>`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Marker {
    /// `onPremisesExtensionAttributes.extensionAttributeN`, N in 1..=15.
    ExtensionAttribute(u8),
    /// A directory extension property name.
    DirectoryExtension(String),
}

/// `extensionAttribute1` … `extensionAttribute15`.
const EXTENSION_ATTRIBUTES: [&str; 15] = [
    "extensionAttribute1",
    "extensionAttribute2",
    "extensionAttribute3",
    "extensionAttribute4",
    "extensionAttribute5",
    "extensionAttribute6",
    "extensionAttribute7",
    "extensionAttribute8",
    "extensionAttribute9",
    "extensionAttribute10",
    "extensionAttribute11",
    "extensionAttribute12",
    "extensionAttribute13",
    "extensionAttribute14",
    "extensionAttribute15",
];

impl Marker {
    /// The value on a user, if set (a string that is not empty).
    pub fn get(&self, user: &User) -> Option<String> {
        self.get_str(user).map(str::to_owned)
    }

    /// [`get`](Self::get), borrowed from the user.
    pub fn get_str<'u>(&self, user: &'u User) -> Option<&'u str> {
        let value = match self {
            Self::ExtensionAttribute(n) => user
                .on_premises_extension_attributes
                .as_ref()?
                .get(EXTENSION_ATTRIBUTES[usize::from(*n) - 1])?
                .as_deref(),
            Self::DirectoryExtension(name) => user.other.get(name)?.as_str(),
        };
        value.filter(|s| !s.is_empty())
    }

    /// The property path used in create/update operations.
    pub fn property(&self) -> String {
        String::from(self.clone())
    }
}

impl TryFrom<String> for Marker {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let short = s
            .strip_prefix("onPremisesExtensionAttributes.")
            .unwrap_or(&s);
        if let Some(n) = short.strip_prefix("extensionAttribute") {
            return match n.parse::<u8>() {
                Ok(n @ 1..=15) => Ok(Self::ExtensionAttribute(n)),
                _ => Err(format!("`{s}`: extension attributes are numbered 1 to 15")),
            };
        }
        if s.starts_with("extension_") && s.matches('_').count() >= 2 {
            return Ok(Self::DirectoryExtension(s));
        }
        Err(format!(
            "`{s}` is not an attribute okta365 can own: use `extensionAttribute1`…`extensionAttribute15` or a directory extension `extension_<appId>_<name>`"
        ))
    }
}

impl From<Marker> for String {
    fn from(m: Marker) -> String {
        match m {
            Marker::ExtensionAttribute(n) => {
                format!("onPremisesExtensionAttributes.extensionAttribute{n}")
            }
            Marker::DirectoryExtension(name) => name,
        }
    }
}

/// Everything the planner needs besides the two states and the policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanSettings {
    /// Where the Okta id of a managed user is recorded.
    pub okta_id_attribute: Marker,
    /// Where okta365 stamps the time it first disabled a leaver.
    pub offboarded_at_attribute: Marker,
    /// How an unlinked account is matched to an Okta user, in order: a
    /// Graph property compared with an Okta profile attribute.
    pub match_by: Vec<MatchPair>,
    /// The removal budget of each kind (see [`super::budget`]).
    pub budgets: BTreeMap<RemovalKind, Budget>,
    /// Explicit allowances: up to this many removals of a kind are accepted
    /// beyond its budget (`--allow-removals KIND=N`).
    pub allowed_removals: BTreeMap<RemovalKind, usize>,
    /// Limit the plan to these users (UPN, Okta login, email or id) and what
    /// their changes need; empty = everyone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// The current time.
    pub now: jiff::Timestamp,
}

/// A Graph user property and the Okta profile attribute whose value it must
/// equal (case-insensitively) for an unlinked account to be matched.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MatchPair {
    /// Graph user property.
    pub graph: String,
    /// Okta profile attribute.
    pub okta: String,
}

impl MatchPair {
    /// The pair `graph` = Okta `okta`.
    pub fn new(graph: &str, okta: &str) -> Self {
        Self {
            graph: graph.to_owned(),
            okta: okta.to_owned(),
        }
    }

    /// The Okta profile attributes these pairs read, in order.
    pub fn okta_attributes(pairs: &[Self]) -> Vec<String> {
        pairs.iter().map(|p| p.okta.clone()).collect()
    }
}

impl PlanSettings {
    /// Defaults: marker in extensionAttribute15, stamp in extensionAttribute14,
    /// budget 10 % and at least 10.
    pub fn new(now: jiff::Timestamp) -> Self {
        Self {
            okta_id_attribute: Marker::ExtensionAttribute(15),
            offboarded_at_attribute: Marker::ExtensionAttribute(14),
            match_by: vec![
                MatchPair::new("userPrincipalName", "login"),
                MatchPair::new("mail", "email"),
            ],
            budgets: RemovalKind::ALL
                .iter()
                .map(|k| (*k, Budget::default()))
                .collect(),
            allowed_removals: BTreeMap::new(),
            targets: Vec::new(),
            now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_parse_and_print() {
        assert_eq!(
            Marker::try_from("extensionAttribute7".to_owned()),
            Ok(Marker::ExtensionAttribute(7))
        );
        assert_eq!(
            String::from(
                Marker::try_from("onPremisesExtensionAttributes.extensionAttribute15".to_owned())
                    .unwrap()
            ),
            "onPremisesExtensionAttributes.extensionAttribute15"
        );
        assert!(Marker::try_from("extensionAttribute16".to_owned()).is_err());
        assert!(Marker::try_from("employeeId".to_owned()).is_err());
        assert_eq!(
            Marker::try_from("extension_b7d8e1f0a1b2c3d4e5f6a7b8c9d0e1f2_oktaId".to_owned()),
            Ok(Marker::DirectoryExtension(
                "extension_b7d8e1f0a1b2c3d4e5f6a7b8c9d0e1f2_oktaId".into()
            ))
        );
    }
}
