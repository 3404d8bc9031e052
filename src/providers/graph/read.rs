//! Reading the live tenant into a [`LiveState`] shaped exactly like a
//! snapshot: users (with `$select` of only what the planner reads, 999 a
//! page), groups, subscribed SKUs, and the members and owners of the groups
//! in scope, fetched through `$batch` (20 lists a call, each list's
//! `@odata.nextLink` followed). Fail closed: any failed page fails the read.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::GraphClient;
use super::batch::{self, Item};
use super::delta::{self, DeltaState, Tracked};
use super::error::GraphError;
use super::http::{MAX_PAGES, split_page};
use crate::model::ObjectId;
use crate::model::graph::{Group, SubscribedSku, User};
use crate::model::state::LiveState;
use crate::providers::{LiveScope, M365Reader, ReadError};

/// User properties every plan reads.
pub const BASE_USER_PROPERTIES: &[&str] = &[
    "id",
    "userPrincipalName",
    "accountEnabled",
    "userType",
    "displayName",
    "mail",
    "mailNickname",
    "usageLocation",
    "employeeId",
    "assignedLicenses",
    "licenseAssignmentStates",
    "onPremisesExtensionAttributes",
    "externalUserState",
    "creationType",
];

/// Group properties the planner reads (Teams show in `resourceProvisioningOptions`).
pub const GROUP_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "mailNickname",
    "description",
    "groupTypes",
    "mailEnabled",
    "securityEnabled",
    "resourceProvisioningOptions",
    "membershipRule",
];

/// The `$select` list for users: the base set plus `extra` (top-level
/// names only: `onPremisesExtensionAttributes.extensionAttribute3` selects
/// `onPremisesExtensionAttributes`).
pub fn user_select(extra: &BTreeSet<String>) -> String {
    let mut names: Vec<String> = BASE_USER_PROPERTIES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for p in extra {
        let top = p.split('.').next().unwrap_or(p);
        if top != "manager" && !top.is_empty() && !names.iter().any(|n| n == top) {
            names.push(top.to_owned());
        }
    }
    names.join(",")
}

/// A members or owners list to read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Links {
    Members,
    Owners,
}

impl GraphClient {
    /// Reads the whole state the planner needs.
    #[tracing::instrument(name = "graph_read", skip_all)]
    pub async fn read_state(&self, scope: &LiveScope) -> Result<LiveState, GraphError> {
        let started = std::time::Instant::now();
        let mut delta = self
            .delta_state
            .as_deref()
            .map(|dir| DeltaState::load(dir, self.http.base()));
        let tracked =
            |pick: fn(&DeltaState) -> &Option<Tracked>| delta.as_ref().map(|d| pick(d).clone());
        let (users, groups, skus) = tokio::join!(
            self.read_users(scope, tracked(|d| &d.users)),
            self.read_groups(tracked(|d| &d.groups)),
            self.http
                .get_all("/subscribedSkus", "Organization.Read.All"),
        );
        let ((users, users_tracked), (groups, groups_tracked)) = (users?, groups?);
        let groups: Vec<Group> = parse_all(groups, "GET /groups")?;
        let skus: Vec<SubscribedSku> = parse_all(skus?, "GET /subscribedSkus")?;
        let wanted: Vec<&Group> = groups.iter().filter(|g| scope.wants(g)).collect();
        let (members, mut owners) = self.read_links(&wanted).await?;
        let mut users = users;
        let member_of = self
            .read_leavers(scope, &mut users, &members, &mut owners)
            .await?;
        // Only a whole read moves the delta links on.
        if let (Some(state), Some(dir)) = (delta.as_mut(), self.delta_state.as_deref()) {
            state.users = users_tracked.or(state.users.take());
            state.groups = groups_tracked.or(state.groups.take());
            state.store(dir).map_err(|e| {
                GraphError::unexpected(
                    "saving the delta state",
                    format!("cannot write {}: {e}", delta::state_file(dir).display()),
                )
            })?;
        }
        tracing::info!(
            users = users.len(),
            groups = groups.len(),
            groups_read = wanted.len(),
            requests = self.request_count(),
            ms = started.elapsed().as_millis() as u64,
            "read Microsoft Graph"
        );
        Ok(LiveState {
            users,
            groups,
            members,
            owners,
            member_of,
            skus,
        })
    }

    /// Users: a delta round when `tracked` is `Some` (delta state on) and
    /// managers are not needed (delta cannot expand them), else the list.
    async fn read_users(
        &self,
        scope: &LiveScope,
        tracked: Option<Option<Tracked>>,
    ) -> Result<(Vec<User>, Option<Tracked>), GraphError> {
        let select = user_select(&scope.user_properties);
        match tracked {
            Some(tracked) if !scope.managers => {
                let (users, t) =
                    delta::refresh(&self.http, "/users", &select, tracked, "User.Read.All").await?;
                Ok((parse_all(users, "GET /users")?, Some(t)))
            }
            _ => {
                let mut url = format!("/users?$select={select}&$top=999");
                if scope.managers {
                    url.push_str("&$expand=manager($select=id)");
                }
                // Parsed page by page: at 100 000 users the whole list as
                // JSON values would be most of the read's memory.
                let mut index = 0;
                let users = self
                    .http
                    .get_all_with(&url, "User.Read.All", |value| {
                        index += 1;
                        parse_one(value, index - 1, "GET /users")
                    })
                    .await?;
                Ok((users, None))
            }
        }
    }

    /// Groups: a delta round when `tracked` is `Some`, else the list.
    async fn read_groups(
        &self,
        tracked: Option<Option<Tracked>>,
    ) -> Result<(Vec<Value>, Option<Tracked>), GraphError> {
        let select = GROUP_PROPERTIES.join(",");
        match tracked {
            Some(tracked) => {
                let (groups, t) = delta::refresh(
                    &self.http,
                    "/groups",
                    &select,
                    tracked,
                    "GroupMember.Read.All",
                )
                .await?;
                Ok((groups, Some(t)))
            }
            None => {
                let url = format!("/groups?$select={select}&$top=999");
                Ok((self.http.get_all(&url, "GroupMember.Read.All").await?, None))
            }
        }
    }

    /// Reads the members and owners lists of `groups`.
    async fn read_links(
        &self,
        groups: &[&Group],
    ) -> Result<
        (
            BTreeMap<ObjectId, Vec<ObjectId>>,
            BTreeMap<ObjectId, Vec<ObjectId>>,
        ),
        GraphError,
    > {
        let mut lists = Vec::new();
        for g in groups {
            for (kind, segment) in [(Links::Members, "members"), (Links::Owners, "owners")] {
                lists.push((
                    (g.id.clone(), kind),
                    format!("/groups/{}/{segment}?$select=id&$top=999", g.id),
                ));
            }
        }
        let read = self
            .read_lists(lists, "Graph member lists", "GroupMember.Read.All", false)
            .await?;
        let mut members = BTreeMap::new();
        let mut owners = BTreeMap::new();
        for ((id, kind), values) in read {
            let ids = ids_of(values, &format!("GET /groups/{id}/members"))?;
            match kind {
                Links::Members => members.insert(id, ids),
                Links::Owners => owners.insert(id, ids),
            };
        }
        Ok((members, owners))
    }

    /// Reads every page of several lists, 20 to a `$batch` call: each round
    /// reads one more page of every list not finished (a list of N pages
    /// takes N rounds; nextLinks that never end are an error). With
    /// `missing_is_empty`, a 404 answers an empty list (a user without a
    /// manager); any other failure fails the read.
    async fn read_lists<K: Ord + Clone + std::fmt::Debug>(
        &self,
        lists: Vec<(K, String)>,
        progress: &'static str,
        permission: &'static str,
        missing_is_empty: bool,
    ) -> Result<BTreeMap<K, Vec<Value>>, GraphError> {
        let mut out: BTreeMap<K, Vec<Value>> = BTreeMap::new();
        let mut pending: Vec<(K, String)> = Vec::new();
        for (key, url) in lists {
            out.insert(key.clone(), Vec::new());
            pending.push((key, url));
        }
        let mut rounds = 0usize;
        let (total, mut done) = (pending.len(), 0);
        crate::progress::set(progress, 0, Some(total));
        while !pending.is_empty() {
            rounds += 1;
            if rounds > MAX_PAGES {
                return Err(GraphError::unexpected(
                    &pending[0].1,
                    format!("more than {MAX_PAGES} pages: the nextLinks do not end"),
                ));
            }
            let items: Vec<Item> = pending
                .iter()
                .map(|(_, url)| Item::get(self.relative(url), permission))
                .collect();
            let answers = batch::run(&self.http, &items).await;
            let mut next = Vec::new();
            for ((key, url), answer) in pending.into_iter().zip(answers) {
                let page = match answer {
                    Err(e) if missing_is_empty && e.status == Some(404) => {
                        done += 1;
                        continue;
                    }
                    other => other?,
                };
                let what = format!("GET {}", url.split('?').next().unwrap_or(&url));
                let (values, link) = if page.body.get("value").is_some() {
                    split_page(page.body).map_err(|e| GraphError::unexpected(&what, e))?
                } else {
                    // A single object (`/users/{id}/manager`).
                    (vec![page.body], None)
                };
                out.get_mut(&key).expect("list registered").extend(values);
                match link {
                    Some(link) => next.push((key, link)),
                    None => done += 1,
                }
            }
            crate::progress::set(progress, done, Some(total));
            pending = next;
        }
        Ok(out)
    }

    /// For accounts being offboarded: the groups they are a direct member
    /// of (`memberOf`), the groups they own (`ownedObjects`) with those
    /// groups' owner lists, and their manager, so a leaver is taken out of
    /// every group and a last owner's ownership can be handed over.
    async fn read_leavers(
        &self,
        scope: &LiveScope,
        users: &mut [User],
        members: &BTreeMap<ObjectId, Vec<ObjectId>>,
        owners: &mut BTreeMap<ObjectId, Vec<ObjectId>>,
    ) -> Result<BTreeMap<ObjectId, Vec<ObjectId>>, GraphError> {
        let Some(offboard) = &scope.offboard else {
            return Ok(BTreeMap::new());
        };
        let leavers: Vec<usize> = users
            .iter()
            .enumerate()
            .filter(|(_, u)| offboard.is_leaving(u))
            .map(|(i, _)| i)
            .collect();
        if leavers.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut lists = Vec::new();
        for &i in &leavers {
            let id = &users[i].id;
            lists.push((
                (id.clone(), 0u8),
                format!("/users/{id}/memberOf?$select=id&$top=999"),
            ));
            lists.push((
                (id.clone(), 1u8),
                format!("/users/{id}/ownedObjects?$select=id&$top=999"),
            ));
            if users[i].manager_id().is_none() {
                lists.push(((id.clone(), 2u8), format!("/users/{id}/manager?$select=id")));
            }
        }
        let read = self
            .read_lists(lists, "Graph leaver groups", "Directory.Read.All", true)
            .await?;
        let mut member_of: BTreeMap<ObjectId, Vec<ObjectId>> = BTreeMap::new();
        let mut owned: BTreeSet<ObjectId> = BTreeSet::new();
        let index: BTreeMap<ObjectId, usize> =
            leavers.iter().map(|&i| (users[i].id.clone(), i)).collect();
        for ((user, list), values) in read {
            let groups = values.into_iter().filter(|v| {
                v.get("@odata.type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "#microsoft.graph.group")
            });
            match list {
                0 => {
                    let ids = ids_of(groups.collect(), &format!("GET /users/{user}/memberOf"))?;
                    // Groups whose whole member list was read need no entry.
                    let ids: Vec<ObjectId> = ids
                        .into_iter()
                        .filter(|g| !members.contains_key(g))
                        .collect();
                    if !ids.is_empty() {
                        member_of.insert(user, ids);
                    }
                }
                1 => owned.extend(ids_of(
                    groups.collect(),
                    &format!("GET /users/{user}/ownedObjects"),
                )?),
                _ => {
                    if let Some(manager) = groups.into_iter().find_map(|v| v.get("id").cloned()) {
                        users[index[&user]].other.insert(
                            "manager".into(),
                            serde_json::json!({ "id": manager }).into(),
                        );
                    }
                }
            }
        }
        // Whole owner lists of the groups leavers own, so the last owner is known.
        let missing: Vec<ObjectId> = owned
            .into_iter()
            .filter(|g| !owners.contains_key(g))
            .collect();
        let lists = missing
            .iter()
            .map(|g| (g.clone(), format!("/groups/{g}/owners?$select=id&$top=999")))
            .collect();
        for (g, values) in self
            .read_lists(lists, "Graph owner lists", "GroupMember.Read.All", false)
            .await?
        {
            let ids = ids_of(values, &format!("GET /groups/{g}/owners"))?;
            owners.insert(g, ids);
        }
        Ok(member_of)
    }

    /// A nextLink as a URL relative to `/v1.0` (for `$batch`).
    fn relative(&self, url: &str) -> String {
        match url.strip_prefix(self.http.base()) {
            Some(rest) => rest.to_owned(),
            None => match url.find("/v1.0/") {
                Some(i) => url[i + "/v1.0".len()..].to_owned(),
                None => url.to_owned(),
            },
        }
    }
}

/// The `id`s of a list's objects, sorted: Graph promises no order, and
/// sorted lists keep a plan's fingerprint stable from one read to the next.
fn ids_of(values: Vec<Value>, what: &str) -> Result<Vec<ObjectId>, GraphError> {
    let mut ids = values
        .iter()
        .map(|v| {
            v.get("id")
                .and_then(Value::as_str)
                .map(ObjectId::from)
                .ok_or_else(|| GraphError::unexpected(what, "an object without an `id`"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Collections okta365 reads as lists: Graph sends `[]` for none, but a
/// `null` (some proxies and emulators) means the same.
const LIST_PROPERTIES: &[&str] = &[
    "assignedLicenses",
    "licenseAssignmentStates",
    "groupTypes",
    "resourceProvisioningOptions",
    "servicePlans",
    "disabledPlans",
];

fn drop_null_lists(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|k, v| !(v.is_null() && LIST_PROPERTIES.contains(&k.as_str())));
        for v in map.values_mut() {
            if let Value::Array(items) = v {
                items.iter_mut().for_each(drop_null_lists);
            }
        }
    }
}

/// Item `i` of a list read by `what`, in the model's shape.
fn parse_one<T: serde::de::DeserializeOwned>(
    mut value: Value,
    i: usize,
    what: &str,
) -> Result<T, GraphError> {
    drop_null_lists(&mut value);
    serde_json::from_value(value)
        .map_err(|e| GraphError::unexpected(what, format!("item {i} has an unexpected shape: {e}")))
}

fn parse_all<T: serde::de::DeserializeOwned>(
    values: Vec<Value>,
    what: &str,
) -> Result<Vec<T>, GraphError> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| parse_one(v, i, what))
        .collect()
}

impl M365Reader for GraphClient {
    async fn read(&self, scope: &LiveScope) -> Result<LiveState, ReadError> {
        self.read_state(scope)
            .await
            .map_err(|e| ReadError::Api(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_adds_only_top_level_names_once() {
        let extra: BTreeSet<String> = [
            "department",
            "onPremisesExtensionAttributes.extensionAttribute3",
            "mail",
            "manager",
            "extension_abc_oktaId",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let select = user_select(&extra);
        assert!(select.starts_with("id,userPrincipalName,accountEnabled"));
        assert!(
            select.ends_with(",department,extension_abc_oktaId"),
            "{select}"
        );
        assert_eq!(select.matches("onPremisesExtensionAttributes").count(), 1);
        assert!(!select.contains("manager"));
    }
}
