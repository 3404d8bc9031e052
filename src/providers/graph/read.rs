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
        let (members, owners) = self.read_links(&wanted).await?;
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

    /// Members and owners of `groups`, through `$batch`, following each
    /// list's nextLink until all are read.
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
        let mut lists: BTreeMap<(ObjectId, Links), Vec<ObjectId>> = BTreeMap::new();
        let mut pending: Vec<((ObjectId, Links), String)> = Vec::new();
        for g in groups {
            for kind in [Links::Members, Links::Owners] {
                let segment = if kind == Links::Members {
                    "members"
                } else {
                    "owners"
                };
                lists.insert((g.id.clone(), kind.clone()), Vec::new());
                pending.push((
                    (g.id.clone(), kind),
                    format!("/groups/{}/{segment}?$select=id&$top=999", g.id),
                ));
            }
        }
        // Each round reads one more page of every list not finished; a list
        // of N pages takes N rounds, and nextLinks that never end are an error.
        let mut rounds = 0usize;
        let (total, mut done) = (pending.len(), 0);
        crate::progress::set("Graph member lists", 0, Some(total));
        while !pending.is_empty() {
            rounds += 1;
            if rounds > MAX_PAGES {
                return Err(GraphError::unexpected(
                    "GET /groups/{id}/members",
                    format!("more than {MAX_PAGES} pages: the nextLinks do not end"),
                ));
            }
            let items: Vec<Item> = pending
                .iter()
                .map(|(_, url)| Item::get(self.relative(url), "GroupMember.Read.All"))
                .collect();
            let answers = batch::run(&self.http, &items).await;
            let mut next = Vec::new();
            for ((key, _), answer) in pending.into_iter().zip(answers) {
                let page = answer?;
                let what = format!(
                    "GET /groups/{}/{}",
                    key.0,
                    if key.1 == Links::Members {
                        "members"
                    } else {
                        "owners"
                    }
                );
                let (values, link) =
                    split_page(page.body).map_err(|e| GraphError::unexpected(&what, e))?;
                let ids = lists.get_mut(&key).expect("list registered");
                for v in values {
                    let id = v
                        .get("id")
                        .and_then(Value::as_str)
                        .ok_or_else(|| GraphError::unexpected(&what, "a member without an `id`"))?;
                    ids.push(ObjectId::from(id));
                }
                match link {
                    Some(link) => next.push((key, link)),
                    None => done += 1,
                }
            }
            crate::progress::set("Graph member lists", done, Some(total));
            pending = next;
        }
        let mut members = BTreeMap::new();
        let mut owners = BTreeMap::new();
        for ((id, kind), mut ids) in lists {
            // Graph promises no order; sorted lists keep the plan's fingerprint
            // stable from one read to the next.
            ids.sort();
            ids.dedup();
            match kind {
                Links::Members => members.insert(id, ids),
                Links::Owners => owners.insert(id, ids),
            };
        }
        Ok((members, owners))
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

/// Item `i` of a list read by `what`, in the model's shape. A `null` where
/// Graph documents a default reads as that default (the model does it); a
/// shape error names the object (id, UPN or name) and the property.
fn parse_one<T: serde::de::DeserializeOwned>(
    value: Value,
    i: usize,
    what: &str,
) -> Result<T, GraphError> {
    let object =
        crate::providers::snapshot::describe_object(&value).unwrap_or_else(|| format!("item {i}"));
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = e.path().to_string();
        let property = if at.is_empty() || at == "." {
            String::new()
        } else {
            format!(", property `{at}`")
        };
        GraphError::unexpected(
            what,
            format!(
                "{object}{property} has an unexpected shape: {}",
                e.into_inner()
            ),
        )
    })
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
    fn shape_errors_name_the_user_and_the_property() {
        let bad = serde_json::json!({"id": "u7", "userPrincipalName": "ann@x.example", "accountEnabled": "sometimes"});
        let err = parse_one::<User>(bad, 3, "GET /users")
            .unwrap_err()
            .to_string();
        assert!(err.contains("object u7 (ann@x.example)"), "{err}");
        assert!(err.contains("property `accountEnabled`"), "{err}");
        let nulls = serde_json::json!({"id": "u8", "userPrincipalName": "b@x", "accountEnabled": null,
            "assignedLicenses": null, "businessPhones": null, "@odata.type": "#microsoft.graph.user"});
        let user = parse_one::<User>(nulls, 0, "GET /users").unwrap();
        assert!(user.account_enabled && user.assigned_licenses.is_empty());
    }

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
