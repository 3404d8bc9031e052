//! Operations that are one request each (updates, licences, sessions,
//! deletions, removals, managers, Teams), batched 20 to a `$batch` call.

use reqwest::Method;
use serde_json::{Value, json};

use super::errors::explain;
use super::wire::{license_body, member_ref, properties_body};
use super::{GraphBackend, MEMBERS_RW, Step, USERS_RW, group_id, is_removal, user_id};
use crate::apply::backend::{ApplyError, Outcome};
use crate::model::graph::User;
use crate::plan::action::{Op, UserRef};
use crate::policy::types::TeamRole;
use crate::providers::graph::GraphError;
use crate::providers::graph::batch::Item;

impl GraphBackend {
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
            Op::ClearManager { user } => {
                let id = user_id(user)?;
                vec![step(
                    Item::new(
                        Method::DELETE,
                        format!("/users/{id}/manager/$ref"),
                        None,
                        USERS_RW,
                    ),
                    self.is_new(id),
                )]
            }
            Op::RemoveOwner { group, user } => {
                let (g, u) = (group_id(group)?, user_id(user)?);
                vec![step(
                    Item::new(Method::DELETE, member_ref(g, "owners", u), None, MEMBERS_RW),
                    false,
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
            | Op::AddOwner { .. }
            | Op::AddTeamMember { .. } => Vec::new(),
        })
    }

    /// Runs the single-request ops; a removal that finds nothing is done.
    pub(super) async fn run_simple(
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
}
