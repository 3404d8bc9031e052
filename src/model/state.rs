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
