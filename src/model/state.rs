//! The two sides as the planner sees them: the Okta source and the live
//! Office 365 tenant. Readers (snapshots or live APIs) build these; the core
//! only reads them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{ObjectId, OktaGroupId, OktaUserId, graph, okta};

/// What Okta says: users of every status, groups and memberships.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    /// Users of every status (DEPROVISIONED included).
    pub users: Vec<okta::User>,
    /// Groups.
    pub groups: Vec<okta::Group>,
    /// Group id → member user ids. Groups absent here were not read.
    pub members: BTreeMap<OktaGroupId, Vec<OktaUserId>>,
}

impl SourceState {
    /// Fails on two users or two groups with the same Okta id, naming both
    /// records (their positions and logins or names): merging them silently
    /// would plan from whichever came last.
    pub fn check_unique_ids(&self) -> Result<(), String> {
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, user) in self.users.iter().enumerate() {
            if let Some(first) = seen.insert(user.id.as_str(), i) {
                let login = |u: &okta::User| u.login().unwrap_or_else(|| "no login".into());
                return Err(format!(
                    "Okta user id {} appears twice: user #{} ({}) and user #{} ({}); the read is inconsistent, read or export it again",
                    user.id,
                    first + 1,
                    login(&self.users[first]),
                    i + 1,
                    login(user)
                ));
            }
        }
        seen.clear();
        for (i, group) in self.groups.iter().enumerate() {
            if let Some(first) = seen.insert(group.id.as_str(), i) {
                return Err(format!(
                    "Okta group id {} appears twice: group #{} ({}) and group #{} ({}); the read is inconsistent, read or export it again",
                    group.id,
                    first + 1,
                    self.groups[first].profile.name,
                    i + 1,
                    group.profile.name
                ));
            }
        }
        Ok(())
    }
}

/// What Office 365 has now.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    /// Users, members and guests.
    pub users: Vec<graph::User>,
    /// Groups (Microsoft 365, security, and every other kind).
    pub groups: Vec<graph::Group>,
    /// Group id → member object ids. Groups absent here were not read.
    pub members: BTreeMap<ObjectId, Vec<ObjectId>>,
    /// Group id → owner object ids (Team owners are the group's owners).
    pub owners: BTreeMap<ObjectId, Vec<ObjectId>>,
    /// User id → ids of groups the user is a direct member of, read per user
    /// (`memberOf`) for accounts being offboarded, whose groups `members`
    /// may not cover (it holds the groups the policies name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub member_of: BTreeMap<ObjectId, Vec<ObjectId>>,
    /// Licences the tenant has bought.
    pub skus: Vec<graph::SubscribedSku>,
}

/// Which Okta groups' memberships a plan needs: live readers read only these.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceScope {
    /// Exact group names or ids policies name.
    pub names: BTreeSet<String>,
    /// Glob patterns policies name (`eng-*`).
    pub patterns: BTreeSet<String>,
}

impl SourceScope {
    /// Whether the memberships of a group with this id and name are needed.
    /// Names compare case-insensitively, as selectors do.
    pub fn wants(&self, id: &str, name: &str) -> bool {
        self.names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(id) || n.to_lowercase() == name.to_lowercase())
            || self
                .patterns
                .iter()
                .any(|p| crate::policy::glob_match(p, name))
    }
}
