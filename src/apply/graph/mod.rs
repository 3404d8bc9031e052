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

mod creates;
mod errors;
mod members;
mod risky;
mod simple;
mod wire;

use std::collections::BTreeSet;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::audit::SentRequest;
use super::backend::{ApplyError, Backend, Outcome};
use super::guard::LiveTarget;
use crate::model::ObjectId;
use crate::plan::Marker;
use crate::plan::action::{GroupRef, Op, UserRef};
use crate::providers::graph::batch::{self, Item};
use crate::providers::graph::{GraphClient, GraphError, Response};

pub use risky::RiskyPacer;
pub use wire::{license_body, member_ref, properties_body};

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
    /// Spaces Identity Protection calls (about one a second per tenant).
    risky: std::sync::Arc<RiskyPacer>,
    /// The write requests sent for each op of the current wave, for the audit.
    sent: std::sync::Mutex<Vec<Vec<SentRequest>>>,
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
            risky: std::sync::Arc::default(),
            sent: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Shares `pacer` for Identity Protection calls (one per tenant and process).
    pub fn with_risky_pacer(mut self, pacer: std::sync::Arc<RiskyPacer>) -> Self {
        self.risky = pacer;
        self
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
        self.created.contains(&ObjectId::from(id))
    }

    /// Notes that `item` (a write) is sent on behalf of op `op` of the wave.
    fn note_sent(&self, op: usize, item: &Item) {
        if item.method == reqwest::Method::GET {
            return;
        }
        let mut sent = self.sent.lock().expect("sent log");
        if let Some(list) = sent.get_mut(op) {
            list.push(sent_request(item));
        }
    }

    /// Runs steps (batched), retrying replication lag where allowed.
    async fn run_steps(&self, steps: &[Step]) -> Vec<Result<Response, GraphError>> {
        for step in steps {
            self.note_sent(step.op, &step.item);
        }
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
}

impl Backend for GraphBackend {
    #[tracing::instrument(name = "graph_apply_wave", skip_all, fields(ops = ops.len()))]
    async fn execute(&mut self, ops: &[Op]) -> Vec<Result<Outcome, ApplyError>> {
        let started = std::time::Instant::now();
        let before = self.client.request_count();
        *self.sent.lock().expect("sent log") = vec![Vec::new(); ops.len()];
        let mut out: Vec<Option<Result<Outcome, ApplyError>>> =
            (0..ops.len()).map(|_| None).collect();
        let (mut creates, mut invites, mut adds, mut simple) = (vec![], vec![], vec![], vec![]);
        let mut risky = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::CreateUser { .. } | Op::CreateGroup { .. } => creates.push(i),
                Op::InviteGuest { .. } => invites.push(i),
                Op::AddMember { .. } | Op::AddTeamMember { .. } | Op::AddOwner { .. } => {
                    adds.push(i)
                }
                Op::ConfirmCompromised { .. } => risky.push(i),
                _ => simple.push(i),
            }
        }
        // Progress within the wave (the executor sets the exact count after it).
        self.run_creates(ops, &creates, &mut out).await;
        crate::progress::add("apply", creates.len());
        for i in invites {
            out[i] = Some(self.invite(i, &ops[i]).await);
            crate::progress::add("apply", 1);
        }
        self.run_member_adds(ops, &adds, &mut out).await;
        crate::progress::add("apply", adds.len());
        self.run_simple(ops, &simple, &mut out).await;
        self.run_confirm_compromised(ops, &risky, &mut out).await;
        crate::progress::add("apply", risky.len());
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

    async fn look_up(&mut self, users: &[ObjectId]) -> Vec<Result<Option<LiveTarget>, ApplyError>> {
        let select = creates::user_lookup_select(&self.okta_id_attribute);
        let items: Vec<Item> = users
            .iter()
            .map(|id| Item::get(format!("/users/{id}?$select={select}"), "User.Read.All"))
            .collect();
        let answers = batch::run(&self.client.http, &items).await;
        answers
            .into_iter()
            .zip(users)
            .map(|(answer, id)| match answer {
                Ok(r) => {
                    let user: crate::model::graph::User =
                        serde_json::from_value(r.body).unwrap_or_default();
                    Ok(Some(LiveTarget {
                        id: if user.id.as_str().is_empty() {
                            id.clone()
                        } else {
                            user.id.clone()
                        },
                        okta_id: self.okta_id_attribute.get(&user),
                        upn: user.user_principal_name,
                    }))
                }
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(ApplyError::new(e.to_string())),
            })
            .collect()
    }

    fn take_sent(&mut self) -> Vec<Vec<SentRequest>> {
        std::mem::take(&mut *self.sent.lock().expect("sent log"))
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

/// What the audit records of a request: method, path (no query) and the
/// digest of its body, a generated password left out.
fn sent_request(item: &Item) -> SentRequest {
    let body_sha256 = item.body.as_ref().map(|body| {
        let mut body = body.clone();
        if let Some(p) = body.pointer_mut("/passwordProfile/password") {
            *p = serde_json::Value::String("REDACTED".into());
        }
        let bytes = serde_json::to_vec(&body).expect("a JSON body serialises");
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    });
    SentRequest {
        method: item.method.as_str().to_owned(),
        path: item.url.split('?').next().unwrap_or(&item.url).to_owned(),
        body_sha256,
    }
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

fn is_removal(op: &Op) -> bool {
    matches!(
        op,
        Op::RemoveMember { .. }
            | Op::RemoveTeamMember { .. }
            | Op::RemoveOwner { .. }
            | Op::ClearManager { .. }
            | Op::DeleteUser { .. }
            | Op::RemoveGuest { .. }
    )
}
