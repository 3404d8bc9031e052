//! The Microsoft Graph backend: carries out each [`Op`] with the fewest
//! requests Graph allows, and makes every one safe to run twice.
//!
//! * Member adds of a wave are grouped by group: `PATCH /groups/{id}` with
//!   up to 20 `members@odata.bind` links, the PATCHes themselves sent 20 to a
//!   `$batch`. A chunk Graph refuses as a whole (one member already there)
//!   is redone one `$ref` at a time, where "already a member" counts as done.
//! * Team membership is the group's (Graph keeps the two in step): members
//!   through the group's `members`, owners through its `owners` too, which
//!   avoids Teams' limit of four member requests a minute per team.
//! * Creates are safe to repeat: after a timeout, a 5xx or a conflict the
//!   object is looked up by UPN, mail nickname or invited mail, and adopted
//!   when it is the one we made. A security group (whose mail nickname Graph
//!   does not keep unique) is never resent before several lookups found nothing.
//! * A 404 (or "the objects being referenced don't exist") on an object
//!   created earlier in the run is replication lag: retried with backoff,
//!   bounded, then reported.
//! * Removals use `DELETE …/members/{id}/$ref`, built in one place
//!   ([`member_ref`]); a 404 there means already gone, which is done.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::backend::{ApplyError, Backend, Outcome};
use crate::model::ObjectId;
use crate::model::graph::User;
use crate::plan::Marker;
use crate::plan::action::{GroupRef, LicenseAdd, LicenseRemove, Op, UserRef};
use crate::policy::types::{GroupKind, TeamRole};
use crate::providers::graph::batch::{self, Item};
use crate::providers::graph::{GraphClient, GraphError, Response};

/// Links per `members@odata.bind` PATCH (Graph's limit).
pub const MEMBERS_PER_PATCH: usize = 20;

const USERS_RW: &str = "User.ReadWrite.All";
const MEMBERS_RW: &str = "GroupMember.ReadWrite.All";

/// How long to wait out replication after a create: doubling from
/// `min_delay`, at most `times` retries.
#[derive(Clone, Debug)]
pub struct LagPolicy {
    /// The first wait.
    pub min_delay: Duration,
    /// The longest single wait.
    pub max_delay: Duration,
    /// Retries before the error is reported.
    pub times: usize,
}

impl Default for LagPolicy {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(15),
            times: 10,
        }
    }
}

impl LagPolicy {
    fn backoff(&self) -> backon::ExponentialBackoff {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.times)
            .with_jitter()
            .build()
    }
}

/// Writes plan operations to Microsoft Graph.
pub struct GraphBackend {
    client: GraphClient,
    okta_id_attribute: Marker,
    lag: LagPolicy,
    /// Objects created in this run (a 404 on them is replication lag).
    created: BTreeSet<ObjectId>,
}

/// One request on behalf of one op.
struct Step {
    op: usize,
    item: Item,
    /// Retry 404s and "referenced objects don't exist" as replication lag.
    wait_for_replication: bool,
}

impl GraphBackend {
    /// A backend writing through `client`; `okta_id_attribute` is the ownership marker.
    pub fn new(client: GraphClient, okta_id_attribute: Marker) -> Self {
        Self {
            client,
            okta_id_attribute,
            lag: LagPolicy::default(),
            created: BTreeSet::new(),
        }
    }

    /// Replaces the replication-lag policy.
    pub fn with_lag_policy(mut self, lag: LagPolicy) -> Self {
        self.lag = lag;
        self
    }

    fn base(&self) -> &str {
        self.client.http.base()
    }

    /// `{base}/directoryObjects/{id}`, as `@odata.id` and `@odata.bind` want.
    fn object_url(&self, id: &str) -> String {
        format!("{}/directoryObjects/{id}", self.base())
    }

    fn is_new(&self, id: &str) -> bool {
        self.created.contains(&ObjectId(id.to_owned()))
    }

    /// Runs steps (batched), retrying replication lag where allowed.
    async fn run_steps(&self, steps: &[Step]) -> Vec<Result<Response, GraphError>> {
        let mut results: Vec<Option<Result<Response, GraphError>>> =
            (0..steps.len()).map(|_| None).collect();
        let mut pending: Vec<usize> = (0..steps.len()).collect();
        let mut lag = self.lag.backoff();
        while !pending.is_empty() {
            let items: Vec<Item> = pending.iter().map(|&i| steps[i].item.clone()).collect();
            let answers = batch::run(&self.client.http, &items).await;
            let mut again = Vec::new();
            for (&i, answer) in pending.iter().zip(answers) {
                match answer {
                    Err(e) if steps[i].wait_for_replication && e.is_replication_lag() => {
                        again.push((i, e));
                    }
                    other => results[i] = Some(other),
                }
            }
            if again.is_empty() {
                break;
            }
            let Some(wait) = lag.next() else {
                for (i, e) in again {
                    results[i] = Some(Err(e.with_hint(
                        "the object was created moments ago and Graph has not replicated it yet: run apply again in a few minutes",
                    )));
                }
                break;
            };
            tracing::debug!(
                items = again.len(),
                wait_ms = wait.as_millis() as u64,
                "waiting for replication"
            );
            tokio::time::sleep(wait).await;
            pending = again.into_iter().map(|(i, _)| i).collect();
        }
        results
            .into_iter()
            .map(|r| r.expect("every step ran"))
            .collect()
    }

    /// The single-request ops of a wave, as steps.
    fn simple_step(&self, index: usize, op: &Op) -> Result<Vec<Step>, ApplyError> {
        let step = |item: Item, new: bool| Step {
            op: index,
            item,
            wait_for_replication: new,
        };
        let user_patch = |user: &UserRef, body: Value| -> Result<Step, ApplyError> {
            let id = user_id(user)?;
            Ok(step(
                Item::new(Method::PATCH, format!("/users/{id}"), Some(body), USERS_RW),
                self.is_new(id),
            ))
        };
        Ok(match op {
            Op::UpdateUser { user, properties } => vec![user_patch(
                user,
                properties_body(properties.iter().map(|(k, v)| (k.as_str(), v.as_deref()))),
            )?],
            Op::EnableUser { user } => vec![user_patch(user, json!({"accountEnabled": true}))?],
            Op::DisableUser { user } => vec![user_patch(user, json!({"accountEnabled": false}))?],
            Op::RevokeSessions { user } => {
                let id = user_id(user)?;
                vec![step(
                    Item::new(
                        Method::POST,
                        format!("/users/{id}/revokeSignInSessions"),
                        None,
                        USERS_RW,
                    ),
                    self.is_new(id),
                )]
            }
            Op::AssignLicenses { user, add, remove } => {
                let id = user_id(user)?;
                vec![step(
                    Item::new(
                        Method::POST,
                        format!("/users/{id}/assignLicense"),
                        Some(license_body(add, remove)),
                        "LicenseAssignment.ReadWrite.All",
                    ),
                    self.is_new(id),
                )]
            }
            Op::DeleteUser { user } | Op::RemoveGuest { user } => {
                let id = user_id(user)?;
                vec![step(
                    Item::new(Method::DELETE, format!("/users/{id}"), None, USERS_RW),
                    false,
                )]
            }
            Op::SetManager { user, manager } => {
                let id = user_id(user)?;
                let manager_id = user_id(manager)?;
                vec![step(
                    Item::new(
                        Method::PUT,
                        format!("/users/{id}/manager/$ref"),
                        Some(json!({"@odata.id": self.object_url(manager_id)})),
                        USERS_RW,
                    ),
                    self.is_new(id) || self.is_new(manager_id),
                )]
            }
            Op::RemoveMember { group, user } => {
                let (g, u) = (group_id(group)?, user_id(user)?);
                vec![step(
                    Item::new(
                        Method::DELETE,
                        member_ref(g, "members", u),
                        None,
                        MEMBERS_RW,
                    ),
                    false,
                )]
            }
            Op::RemoveTeamMember { group, user, role } => {
                let (g, u) = (group_id(group)?, user_id(user)?);
                // Owners first: removing an owner can drop the membership too.
                let mut steps = Vec::new();
                if *role == TeamRole::Owner {
                    steps.push(step(
                        Item::new(Method::DELETE, member_ref(g, "owners", u), None, MEMBERS_RW),
                        false,
                    ));
                }
                steps.push(step(
                    Item::new(
                        Method::DELETE,
                        member_ref(g, "members", u),
                        None,
                        MEMBERS_RW,
                    ),
                    false,
                ));
                steps
            }
            Op::CreateTeam { group } => {
                let g = group_id(group)?;
                // A group under ~15 minutes old answers 404: always wait it out.
                vec![step(
                    Item::new(
                        Method::PUT,
                        format!("/groups/{g}/team"),
                        Some(json!({
                            "memberSettings": {"allowCreateUpdateChannels": true},
                            "messagingSettings": {"allowUserEditMessages": true, "allowUserDeleteMessages": true},
                            "funSettings": {"allowGiphy": true, "giphyContentRating": "strict"}
                        })),
                        "Group.ReadWrite.All",
                    ),
                    true,
                )]
            }
            Op::CreateUser { .. }
            | Op::CreateGroup { .. }
            | Op::InviteGuest { .. }
            | Op::AddMember { .. }
            | Op::AddTeamMember { .. } => Vec::new(),
        })
    }

    /// Runs the single-request ops; a removal that finds nothing is done.
    async fn run_simple(
        &self,
        ops: &[Op],
        indices: &[usize],
        out: &mut [Option<Result<Outcome, ApplyError>>],
    ) {
        // Steps of one op run in order: first steps, then second steps.
        let mut rounds: Vec<Vec<Step>> = Vec::new();
        for &i in indices {
            match self.simple_step(i, &ops[i]) {
                Ok(steps) => {
                    for (n, s) in steps.into_iter().enumerate() {
                        if rounds.len() <= n {
                            rounds.push(Vec::new());
                        }
                        rounds[n].push(s);
                    }
                }
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        for round in rounds {
            let round: Vec<Step> = round
                .into_iter()
                .filter(|s| out[s.op].is_none() || matches!(out[s.op], Some(Ok(_))))
                .collect();
            let answers = self.run_steps(&round).await;
            for (step, answer) in round.iter().zip(answers) {
                let op = &ops[step.op];
                let result = match answer {
                    Ok(_) => Ok(Outcome::Done),
                    Err(e) if e.is_not_found() && is_removal(op) => Ok(Outcome::Done),
                    Err(e) if matches!(op, Op::AssignLicenses { .. }) && e.status == Some(400) => {
                        // A retried call whose first try went through is refused
                        // ("does not have a corresponding license"): check the result.
                        match self.licences_in_place(op).await {
                            Ok(true) => Ok(Outcome::Done),
                            _ => Err(explain(op, e)),
                        }
                    }
                    Err(e) if matches!(op, Op::CreateTeam { .. }) && e.status == Some(409) => {
                        Ok(Outcome::Done) // the Team exists already
                    }
                    Err(e) => Err(explain(op, e)),
                };
                if out[step.op].as_ref().is_none_or(|r| r.is_ok()) {
                    out[step.op] = Some(result);
                }
            }
        }
    }

    /// Whether the user already has the licences `op` asks for (added, with
    /// their disabled plans, and removed).
    async fn licences_in_place(&self, op: &Op) -> Result<bool, GraphError> {
        let Op::AssignLicenses { user, add, remove } = op else {
            return Ok(false);
        };
        let Some(id) = user.id.as_ref() else {
            return Ok(false);
        };
        let step = Step {
            op: 0,
            item: Item::get(
                format!("/users/{id}?$select=id,userPrincipalName,assignedLicenses"),
                "User.Read.All",
            ),
            wait_for_replication: self.is_new(id.as_str()),
        };
        let body = self.run_steps(&[step]).await.remove(0)?.body;
        let live: User = serde_json::from_value(body).unwrap_or_default();
        let held =
            |sku: &crate::model::SkuId| live.assigned_licenses.iter().find(|l| &l.sku_id == sku);
        let added = add.iter().all(|a| {
            held(&a.sku_id).is_some_and(|l| {
                let mut want = a.disabled_plans.clone();
                let mut have = l.disabled_plans.clone();
                want.sort();
                have.sort();
                want == have
            })
        });
        let removed = remove.iter().all(|r| held(&r.sku_id).is_none());
        Ok(added && removed)
    }

    /// Adds members (and Team owners) of the wave, grouped by group.
    async fn run_member_adds(
        &self,
        ops: &[Op],
        indices: &[usize],
        out: &mut [Option<Result<Outcome, ApplyError>>],
    ) {
        let mut by_group: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
        let mut owners: Vec<Step> = Vec::new();
        for &i in indices {
            let (group, user, owner) = match &ops[i] {
                Op::AddMember { group, user } => (group, user, false),
                Op::AddTeamMember { group, user, role } => (group, user, *role == TeamRole::Owner),
                _ => continue,
            };
            let (g, u) = match (group_id(group), user_id(user)) {
                (Ok(g), Ok(u)) => (g.to_owned(), u.to_owned()),
                (Err(e), _) | (_, Err(e)) => {
                    out[i] = Some(Err(e));
                    continue;
                }
            };
            if owner {
                owners.push(Step {
                    op: i,
                    item: Item::new(
                        Method::POST,
                        format!("/groups/{g}/owners/$ref"),
                        Some(json!({"@odata.id": self.object_url(&u)})),
                        MEMBERS_RW,
                    ),
                    wait_for_replication: self.is_new(&g) || self.is_new(&u),
                });
            }
            by_group.entry(g).or_default().push((i, u));
        }
        // Chunks of 20 members of one group, one PATCH each.
        let mut chunks: Vec<(String, Vec<(usize, String)>)> = Vec::new();
        for (g, members) in by_group {
            for chunk in members.chunks(MEMBERS_PER_PATCH) {
                chunks.push((g.clone(), chunk.to_vec()));
            }
        }
        let patches: Vec<Step> = chunks
            .iter()
            .map(|(g, members)| {
                let links: Vec<String> = members.iter().map(|(_, u)| self.object_url(u)).collect();
                Step {
                    op: members[0].0,
                    item: Item::new(
                        Method::PATCH,
                        format!("/groups/{g}"),
                        Some(json!({"members@odata.bind": links})),
                        MEMBERS_RW,
                    ),
                    wait_for_replication: self.is_new(g)
                        || members.iter().any(|(_, u)| self.is_new(u)),
                }
            })
            .collect();
        let answers = self.run_steps(&patches).await;
        // Chunks Graph refused as a whole are redone one member at a time.
        let mut singles: Vec<Step> = Vec::new();
        for ((g, members), answer) in chunks.iter().zip(answers) {
            match answer {
                Ok(_) => {
                    for (i, _) in members {
                        out[*i] = Some(Ok(Outcome::Done));
                    }
                }
                Err(e) if members.len() == 1 && !e.is_already_member() => {
                    out[members[0].0] = Some(Err(explain(&ops[members[0].0], e)));
                }
                Err(_) => {
                    for (i, u) in members {
                        singles.push(Step {
                            op: *i,
                            item: Item::new(
                                Method::POST,
                                format!("/groups/{g}/members/$ref"),
                                Some(json!({"@odata.id": self.object_url(u)})),
                                MEMBERS_RW,
                            ),
                            wait_for_replication: self.is_new(g) || self.is_new(u),
                        });
                    }
                }
            }
        }
        let answers = self.run_steps(&singles).await;
        for (step, answer) in singles.iter().zip(answers) {
            out[step.op] = Some(match answer {
                Ok(_) => Ok(Outcome::Done),
                Err(e) if e.is_already_member() => Ok(Outcome::Done),
                Err(e) => Err(explain(&ops[step.op], e)),
            });
        }
        let answers = self.run_steps(&owners).await;
        for (step, answer) in owners.iter().zip(answers) {
            let result = match answer {
                Ok(_) => Ok(Outcome::Done),
                Err(e) if e.is_already_member() => Ok(Outcome::Done),
                Err(e) => Err(explain(&ops[step.op], e)),
            };
            if out[step.op].as_ref().is_none_or(|r| r.is_ok()) {
                out[step.op] = Some(result);
            }
        }
    }

    /// Creates users and groups (batched), settling every doubtful answer
    /// by looking the object up before anything is created again.
    async fn run_creates(
        &mut self,
        ops: &[Op],
        indices: &[usize],
        out: &mut [Option<Result<Outcome, ApplyError>>],
    ) {
        let steps: Vec<Step> = indices
            .iter()
            .filter_map(|&i| {
                let item = self.create_item(&ops[i])?;
                Some(Step {
                    op: i,
                    item,
                    wait_for_replication: false,
                })
            })
            .collect();
        let answers = self.run_steps(&steps).await;
        for (step, answer) in steps.iter().zip(answers) {
            let op = &ops[step.op];
            let result = match answer {
                Ok(r) => created_id(&r.body).ok_or_else(|| {
                    ApplyError::new(format!(
                        "{}: Graph answered without the new object's id",
                        describe(op)
                    ))
                }),
                Err(e) => self.settle_create(op, e).await,
            };
            out[step.op] = Some(result.map(|id| {
                self.created.insert(id.clone());
                Outcome::Created(id)
            }));
        }
    }

    fn create_item(&self, op: &Op) -> Option<Item> {
        match op {
            Op::CreateUser {
                upn,
                okta_id,
                account_enabled,
                properties,
            } => {
                let mut body = properties_body(
                    properties
                        .iter()
                        .map(|(k, v)| (k.as_str(), Some(v.as_str()))),
                );
                let marker = self.okta_id_attribute.property();
                merge(
                    &mut body,
                    properties_body([(marker.as_str(), Some(okta_id.as_str()))]),
                );
                let local = upn.split('@').next().unwrap_or(upn);
                let obj = body.as_object_mut().expect("an object");
                obj.insert("userPrincipalName".into(), json!(upn));
                obj.insert("accountEnabled".into(), json!(account_enabled));
                obj.entry("displayName").or_insert_with(|| json!(upn));
                obj.entry("mailNickname")
                    .or_insert_with(|| json!(mail_nickname(local)));
                obj.insert(
                    "passwordProfile".into(),
                    json!({"password": initial_password(), "forceChangePasswordNextSignIn": true}),
                );
                Some(Item::new(Method::POST, "/users", Some(body), USERS_RW))
            }
            Op::CreateGroup {
                mail_nickname,
                display_name,
                description,
                kind,
            } => {
                let unified = *kind == GroupKind::Unified;
                let mut body = json!({
                    "displayName": display_name,
                    "mailNickname": mail_nickname,
                    "mailEnabled": unified,
                    "securityEnabled": !unified,
                    "groupTypes": if unified { vec!["Unified"] } else { Vec::new() },
                });
                if let Some(d) = description.as_deref().filter(|d| !d.is_empty()) {
                    body["description"] = json!(d);
                }
                let mut item = Item::new(Method::POST, "/groups", Some(body), "Group.Create");
                // Graph keeps mail nicknames unique only for Microsoft 365
                // groups: a security group sent twice would be made twice.
                item.replay_safe = unified;
                Some(item)
            }
            _ => None,
        }
    }

    /// After a failed or doubtful create: find the object (a lost answer may
    /// have made it), and create again only when that cannot duplicate it:
    /// at once for objects with a unique key (UPN, Microsoft 365 mail
    /// nickname, invited mail), and for security groups (whose mail nickname
    /// Graph does not keep unique) only after several lookups found nothing.
    async fn settle_create(&self, op: &Op, first: GraphError) -> Result<ObjectId, ApplyError> {
        let mut error = first;
        let mut waits = self.lag.backoff();
        let mut misses = 0;
        loop {
            if !(error.is_conflict() || error.is_retryable()) {
                return Err(explain(op, error));
            }
            match self.find_existing(op).await.map_err(|e| explain(op, e))? {
                Found::Ours(id) => {
                    tracing::debug!(op = %describe(op), "adopted the object a doubtful create made");
                    return Ok(id);
                }
                Found::Foreign(what) => {
                    return Err(ApplyError::new(format!(
                        "{}: {what}; link it instead (set its Okta id marker) or rename one of them",
                        describe(op)
                    )));
                }
                Found::Missing => misses += 1,
            }
            let Some(wait) = waits.next() else {
                return Err(explain(op, error));
            };
            tokio::time::sleep(wait).await;
            if error.is_retryable() && (key_is_unique(op) || misses >= 4) {
                let item = self.create_item(op).expect("a create op");
                match batch::run(&self.client.http, &[item]).await.remove(0) {
                    Ok(r) => {
                        return created_id(&r.body).ok_or_else(|| {
                            ApplyError::new(format!(
                                "{}: Graph answered without the new object's id",
                                describe(op)
                            ))
                        });
                    }
                    Err(e) => {
                        error = e;
                        misses = 0;
                    }
                }
            }
            // A conflict with nothing found yet: replication lag; look again.
        }
    }

    /// Looks up what a create would make, by its unique key.
    async fn find_existing(&self, op: &Op) -> Result<Found, GraphError> {
        match op {
            Op::CreateUser { upn, okta_id, .. } => {
                let select = user_lookup_select(&self.okta_id_attribute);
                let url = format!("/users/{}?$select={select}", encode_key(upn));
                match self
                    .client
                    .http
                    .send(&crate::providers::graph::Request::get(url, "User.Read.All"))
                    .await
                {
                    Ok(r) => {
                        let user: User = serde_json::from_value(r.body).unwrap_or_default();
                        if self.okta_id_attribute.get(&user).as_deref() == Some(okta_id.as_str()) {
                            Ok(Found::Ours(user.id))
                        } else {
                            Ok(Found::Foreign(format!(
                                "another account already has the userPrincipalName `{upn}` and is not marked as Okta user `{okta_id}`"
                            )))
                        }
                    }
                    Err(e) if e.is_not_found() => Ok(Found::Missing),
                    Err(e) => Err(e),
                }
            }
            Op::CreateGroup { mail_nickname, .. } => {
                let url = format!(
                    "/groups?$filter=mailNickname eq '{}'&$select=id,mailNickname",
                    odata_quote(mail_nickname)
                );
                let found = self
                    .client
                    .http
                    .get_all(&url, "GroupMember.Read.All")
                    .await?;
                Ok(match found.first().and_then(|g| g.get("id")?.as_str()) {
                    Some(id) => Found::Ours(ObjectId(id.to_owned())),
                    None => Found::Missing,
                })
            }
            Op::InviteGuest { mail, .. } => Ok(match self.find_guest(mail).await? {
                Some(id) => Found::Ours(id),
                None => Found::Missing,
            }),
            _ => Ok(Found::Missing),
        }
    }

    async fn find_guest(&self, mail: &str) -> Result<Option<ObjectId>, GraphError> {
        let url = format!(
            "/users?$filter=mail eq '{}'&$select=id,mail,userType",
            odata_quote(mail)
        );
        let found = self.client.http.get_all(&url, "User.Read.All").await?;
        Ok(found
            .iter()
            .find(|u| u.get("userType").and_then(Value::as_str) == Some("Guest"))
            .and_then(|u| u.get("id")?.as_str())
            .map(|id| ObjectId(id.to_owned())))
    }

    /// Invites a guest (or adopts the guest with that mail) and marks it.
    async fn invite(&mut self, op: &Op) -> Result<Outcome, ApplyError> {
        let Op::InviteGuest {
            mail,
            display_name,
            okta_id,
            redirect_url,
            send_invitation,
        } = op
        else {
            unreachable!("only invitations come here");
        };
        let id = match self.find_guest(mail).await.map_err(|e| explain(op, e))? {
            Some(id) => id,
            None => {
                let item = Item::new(
                    Method::POST,
                    "/invitations",
                    Some(json!({
                        "invitedUserEmailAddress": mail,
                        "invitedUserDisplayName": display_name,
                        "inviteRedirectUrl": redirect_url,
                        "sendInvitationMessage": send_invitation,
                        "invitedUserType": "Guest",
                    })),
                    "User.Invite.All",
                );
                match batch::run(&self.client.http, &[item]).await.remove(0) {
                    Ok(r) => r
                        .body
                        .pointer("/invitedUser/id")
                        .and_then(Value::as_str)
                        .map(|id| ObjectId(id.to_owned()))
                        .ok_or_else(|| {
                            ApplyError::new(format!(
                                "{}: the invitation has no `invitedUser.id`",
                                describe(op)
                            ))
                        })?,
                    Err(e) => self.settle_create(op, e).await?,
                }
            }
        };
        self.created.insert(id.clone());
        let marker = self.okta_id_attribute.property();
        let step = Step {
            op: 0,
            item: Item::new(
                Method::PATCH,
                format!("/users/{id}"),
                Some(properties_body([(marker.as_str(), Some(okta_id.as_str()))])),
                USERS_RW,
            ),
            wait_for_replication: true,
        };
        self.run_steps(&[step]).await.remove(0).map_err(|e| {
            explain(
                op,
                e.about(format!("marking guest {mail} with its Okta id")),
            )
        })?;
        Ok(Outcome::Created(id))
    }
}

enum Found {
    Ours(ObjectId),
    Foreign(String),
    Missing,
}

impl Backend for GraphBackend {
    #[tracing::instrument(name = "graph_apply_wave", skip_all, fields(ops = ops.len()))]
    async fn execute(&mut self, ops: &[Op]) -> Vec<Result<Outcome, ApplyError>> {
        let started = std::time::Instant::now();
        let before = self.client.request_count();
        let mut out: Vec<Option<Result<Outcome, ApplyError>>> =
            (0..ops.len()).map(|_| None).collect();
        let (mut creates, mut invites, mut adds, mut simple) = (vec![], vec![], vec![], vec![]);
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::CreateUser { .. } | Op::CreateGroup { .. } => creates.push(i),
                Op::InviteGuest { .. } => invites.push(i),
                Op::AddMember { .. } | Op::AddTeamMember { .. } => adds.push(i),
                _ => simple.push(i),
            }
        }
        self.run_creates(ops, &creates, &mut out).await;
        for i in invites {
            out[i] = Some(self.invite(&ops[i]).await);
        }
        self.run_member_adds(ops, &adds, &mut out).await;
        self.run_simple(ops, &simple, &mut out).await;
        tracing::info!(
            ops = ops.len(),
            requests = self.client.request_count() - before,
            ms = started.elapsed().as_millis() as u64,
            "applied a wave to Microsoft Graph"
        );
        out.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(ApplyError::new("internal error: the operation was not run"))
                })
            })
            .collect()
    }

    async fn finish(&mut self) -> Result<(), ApplyError> {
        let (requests, retries, throttled) = self.client.stats();
        tracing::info!(
            requests,
            retries,
            throttled,
            "Microsoft Graph apply finished"
        );
        Ok(())
    }
}

/// `DELETE` URL of a member or owner link: always ends in `/$ref`, which
/// removes the link. Without it Graph deletes the member object itself.
pub fn member_ref(group: &str, list: &str, member: &str) -> String {
    debug_assert!(list == "members" || list == "owners");
    format!("/groups/{group}/{list}/{member}/$ref")
}

/// A JSON body from Graph property names: `onPremisesExtensionAttributes.X`
/// nests; `None` clears (null).
pub fn properties_body<'a>(
    properties: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Value {
    let mut body = Map::new();
    for (name, value) in properties {
        let value = value.map_or(Value::Null, |v| Value::String(v.to_owned()));
        match name.split_once('.') {
            Some((parent, child)) => {
                let entry = body
                    .entry(parent.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = entry {
                    m.insert(child.to_owned(), value);
                }
            }
            None if name.starts_with("extensionAttribute") => {
                let entry = body
                    .entry("onPremisesExtensionAttributes".to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = entry {
                    m.insert(name.to_owned(), value);
                }
            }
            None => {
                body.insert(name.to_owned(), value);
            }
        }
    }
    Value::Object(body)
}

fn merge(into: &mut Value, from: Value) {
    let (Value::Object(a), Value::Object(b)) = (into, from) else {
        return;
    };
    for (k, v) in b {
        match (a.get_mut(&k), v) {
            (Some(Value::Object(x)), Value::Object(y)) => x.extend(y),
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
}

/// The `assignLicense` body: adds and removes in one call.
pub fn license_body(add: &[LicenseAdd], remove: &[LicenseRemove]) -> Value {
    json!({
        "addLicenses": add.iter().map(|a| json!({"skuId": a.sku_id, "disabledPlans": a.disabled_plans})).collect::<Vec<_>>(),
        "removeLicenses": remove.iter().map(|r| &r.sku_id).collect::<Vec<_>>(),
    })
}

fn user_lookup_select(marker: &Marker) -> String {
    let extra = match marker {
        Marker::ExtensionAttribute(_) => "onPremisesExtensionAttributes".to_owned(),
        Marker::DirectoryExtension(name) => name.clone(),
    };
    format!("id,userPrincipalName,{extra}")
}

/// A mail nickname from a UPN's local part: only the characters Graph allows.
fn mail_nickname(local: &str) -> String {
    let nick: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect();
    if nick.is_empty() { "user".into() } else { nick }
}

/// A random initial password meeting Entra's complexity rules (upper,
/// lower, digit, symbol; 20 characters). Users reset it on first sign-in
/// (or never use it: they sign in through Okta). It is never printed or logged.
fn initial_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"!#%+-=?@^_~";
    let pick = |set: &[u8]| set[rand::random_range(0..set.len())] as char;
    let all: Vec<u8> = [UPPER, LOWER, DIGIT, SYMBOL].concat();
    let mut chars: Vec<char> = vec![pick(UPPER), pick(LOWER), pick(DIGIT), pick(SYMBOL)];
    while chars.len() < 20 {
        chars.push(pick(&all));
    }
    // Shuffle so the classes are not in a fixed order.
    for i in (1..chars.len()).rev() {
        chars.swap(i, rand::random_range(0..=i));
    }
    chars.into_iter().collect()
}

/// Quotes a value inside an OData string literal.
fn odata_quote(s: &str) -> String {
    s.replace('\'', "''")
}

/// A UPN as a path segment (`#` of guest UPNs is `%23`).
fn encode_key(s: &str) -> String {
    s.replace('%', "%25")
        .replace('#', "%23")
        .replace('/', "%2F")
        .replace('?', "%3F")
}

fn created_id(body: &Value) -> Option<ObjectId> {
    body.get("id")
        .and_then(Value::as_str)
        .map(|id| ObjectId(id.to_owned()))
}

fn user_id(user: &UserRef) -> Result<&str, ApplyError> {
    user.id.as_ref().map(ObjectId::as_str).ok_or_else(|| {
        ApplyError::new(format!(
            "user {} has no object id: it was not created in this run",
            user.upn
        ))
    })
}

fn group_id(group: &GroupRef) -> Result<&str, ApplyError> {
    group.id.as_ref().map(ObjectId::as_str).ok_or_else(|| {
        ApplyError::new(format!(
            "group {} has no object id: it was not created in this run",
            group.mail_nickname
        ))
    })
}

/// Whether Graph refuses a second object with the same key, so that
/// creating again cannot duplicate (a conflict leads to the first one).
fn key_is_unique(op: &Op) -> bool {
    match op {
        Op::CreateGroup { kind, .. } => *kind == GroupKind::Unified,
        _ => true,
    }
}

fn is_removal(op: &Op) -> bool {
    matches!(
        op,
        Op::RemoveMember { .. }
            | Op::RemoveTeamMember { .. }
            | Op::DeleteUser { .. }
            | Op::RemoveGuest { .. }
    )
}

/// Words for an op in error messages: `create user a@x`, `add member to group eng`.
fn describe(op: &Op) -> String {
    let kind = op.kind().describe();
    match op {
        Op::CreateUser { upn, .. } => format!("{kind} {upn}"),
        Op::InviteGuest { mail, .. } => format!("{kind} {mail}"),
        Op::CreateGroup { mail_nickname, .. } => format!("{kind} {mail_nickname}"),
        Op::CreateTeam { group } => format!("{kind} group {}", group.mail_nickname),
        Op::AddMember { group, user }
        | Op::RemoveMember { group, user }
        | Op::AddTeamMember { group, user, .. }
        | Op::RemoveTeamMember { group, user, .. } => {
            format!("{kind} group {} ({})", group.mail_nickname, user.upn)
        }
        Op::SetManager { user, manager } => format!("{kind} {} (to {})", user.upn, manager.upn),
        Op::UpdateUser { user, .. }
        | Op::EnableUser { user }
        | Op::DisableUser { user }
        | Op::RevokeSessions { user }
        | Op::AssignLicenses { user, .. }
        | Op::DeleteUser { user }
        | Op::RemoveGuest { user } => format!("{kind} {}", user.upn),
    }
}

/// The error of `op`, naming the object, with an op-specific hint where we have one.
fn explain(op: &Op, e: GraphError) -> ApplyError {
    let mut e = e;
    if let Op::AssignLicenses { add, .. } = op
        && e.status == Some(400)
    {
        let skus: Vec<&str> = add.iter().map(|a| a.sku.as_str()).collect();
        if e.message.contains("available licenses") || e.message.contains("CountViolation") {
            e = e.with_hint(format!(
                "no free seats of {}: buy more, or reclaim seats from leavers (`okta365 plan` shows the seat count)",
                skus.join(", ")
            ));
        } else if e.message.to_lowercase().contains("usage location") {
            e = e.with_hint("set the user's usageLocation (map `usageLocation` in the rule) before licences are assigned");
        } else if e.message.contains("inherited") {
            e = e.with_hint("the licence comes from group-based licensing: remove the user from that group instead");
        }
    }
    if let Op::CreateTeam { group } = op
        && e.status == Some(400)
        && e.message.contains("owner")
    {
        e = e.with_hint(format!(
            "Graph creates a Team only on a group with an owner: give `{}` an owner in the policies (a `teams:` grant with `role: owner`)",
            group.mail_nickname
        ));
    }
    let what = e.what.clone();
    ApplyError::new(format!(
        "{} ({what}): {}",
        describe(op),
        strip_what(&e.to_string(), &what)
    ))
}

fn strip_what<'a>(text: &'a str, what: &str) -> &'a str {
    text.strip_prefix(what)
        .and_then(|t| t.strip_prefix(": "))
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_removal_always_targets_the_link() {
        assert_eq!(
            member_ref("g1", "members", "u1"),
            "/groups/g1/members/u1/$ref"
        );
        assert_eq!(
            member_ref("g1", "owners", "u1"),
            "/groups/g1/owners/u1/$ref"
        );
    }

    #[test]
    fn extension_attributes_nest_and_none_clears() {
        let body = properties_body([
            (
                "onPremisesExtensionAttributes.extensionAttribute15",
                Some("00u1"),
            ),
            ("extensionAttribute14", None),
            ("department", Some("Sales")),
            ("extension_abc_oktaId", Some("00u1")),
        ]);
        assert_eq!(
            body,
            json!({"onPremisesExtensionAttributes": {"extensionAttribute15": "00u1", "extensionAttribute14": null},
                   "department": "Sales", "extension_abc_oktaId": "00u1"})
        );
    }

    #[test]
    fn licence_body_adds_and_removes_in_one_call() {
        let body = license_body(
            &[LicenseAdd {
                sku_id: "s1".into(),
                sku: "SPE_E3".into(),
                disabled_plans: vec!["p1".into()],
                disabled_plan_names: vec![],
            }],
            &[LicenseRemove {
                sku_id: "s2".into(),
                sku: "SPE_E5".into(),
            }],
        );
        assert_eq!(
            body,
            json!({"addLicenses":[{"skuId":"s1","disabledPlans":["p1"]}],"removeLicenses":["s2"]})
        );
    }

    #[test]
    fn passwords_are_complex_and_differ() {
        let a = initial_password();
        assert_eq!(a.chars().count(), 20);
        assert!(a.chars().any(|c| c.is_ascii_uppercase()));
        assert!(a.chars().any(|c| c.is_ascii_lowercase()));
        assert!(a.chars().any(|c| c.is_ascii_digit()));
        assert!(a.chars().any(|c| !c.is_ascii_alphanumeric()));
        assert_ne!(a, initial_password());
    }

    #[test]
    fn keys_and_literals_are_escaped() {
        assert_eq!(
            encode_key("a_x.com#EXT#@t.onmicrosoft.com"),
            "a_x.com%23EXT%23@t.onmicrosoft.com"
        );
        assert_eq!(odata_quote("o'brien"), "o''brien");
        assert_eq!(mail_nickname("jane.o'neil+x"), "jane.oneilx");
    }

    #[test]
    fn licence_errors_name_the_sku() {
        let op = Op::AssignLicenses {
            user: UserRef {
                id: Some("u1".into()),
                upn: "a@x".into(),
            },
            add: vec![LicenseAdd {
                sku_id: "s1".into(),
                sku: "SPE_E3".into(),
                disabled_plans: vec![],
                disabled_plan_names: vec![],
            }],
            remove: vec![],
        };
        let e = GraphError::from_response(
            "POST /users/u1/assignLicense",
            400,
            None,
            &json!({"error":{"code":"Request_BadRequest",
            "message":"Subscription with SKU s1 does not have any available licenses."}}),
        );
        let text = explain(&op, e).message;
        assert!(
            text.starts_with(
                "change licences of a@x (POST /users/u1/assignLicense): 400 Request_BadRequest"
            ),
            "{text}"
        );
        assert!(text.contains("no free seats of SPE_E3"), "{text}");
    }
}
