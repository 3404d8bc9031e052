//! The executor: runs a plan's actions in dependency waves against a
//! [`Backend`]. A failed action stops only the actions that depend on it; every
//! other action still runs. Each action, done, failed or skipped, gets one
//! audit record.

use std::collections::BTreeMap;

use serde::Serialize;

use super::audit::{AuditRecord, AuditSink};
use super::backend::{ApplyError, Backend, Outcome};
use crate::model::ObjectId;
use crate::plan::action::{GroupRef, Op, UserRef};
use crate::plan::{Action, Plan};

/// How one action ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ActionResult {
    /// Carried out.
    Done,
    /// The backend refused or failed it.
    Failed {
        /// What failed and what to do.
        error: String,
    },
    /// Not attempted because an action it depends on did not succeed.
    Skipped {
        /// The action that did not succeed.
        because_of: usize,
    },
}

/// What an apply did, action by action (in plan order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// `(action id, result)`.
    pub results: Vec<(usize, ActionResult)>,
}

impl Report {
    /// Counts of done, failed and skipped actions.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for (_, r) in &self.results {
            match r {
                ActionResult::Done => counts.0 += 1,
                ActionResult::Failed { .. } => counts.1 += 1,
                ActionResult::Skipped { .. } => counts.2 += 1,
            }
        }
        counts
    }

    /// Whether every action was carried out.
    pub fn all_done(&self) -> bool {
        self.results.iter().all(|(_, r)| *r == ActionResult::Done)
    }
}

/// Splits actions into waves: each action comes one wave after the latest of
/// its dependencies, so the actions of a wave never depend on each other.
pub fn waves(actions: &[Action]) -> Vec<Vec<usize>> {
    let index: BTreeMap<usize, usize> =
        actions.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    let mut level = vec![0usize; actions.len()];
    // Plans list actions in dependency order, so one pass suffices.
    for (i, a) in actions.iter().enumerate() {
        level[i] = a
            .depends_on
            .iter()
            .filter_map(|d| index.get(d))
            .map(|&j| level[j] + 1)
            .max()
            .unwrap_or(0);
    }
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); level.iter().max().map_or(0, |m| m + 1)];
    for (i, l) in level.into_iter().enumerate() {
        out[l].push(i);
    }
    out
}

/// Runs `plan` against `backend`, writing one audit record per action.
/// `now` stamps the records (the caller owns the clock).
pub async fn execute<B: Backend>(
    plan: &Plan,
    backend: &mut B,
    audit: &mut dyn AuditSink,
    now: &dyn Fn() -> String,
) -> Report {
    let mut results: BTreeMap<usize, ActionResult> = BTreeMap::new();
    let mut created: BTreeMap<String, ObjectId> = BTreeMap::new();
    crate::progress::set("apply", 0, Some(plan.actions.len()));
    for wave in waves(&plan.actions) {
        let mut runnable: Vec<(usize, Op)> = Vec::new();
        for i in wave {
            let action = &plan.actions[i];
            let blocked = action
                .depends_on
                .iter()
                .find(|d| results.get(d).is_some_and(|r| *r != ActionResult::Done));
            let result = match blocked {
                Some(&because_of) => ActionResult::Skipped { because_of },
                None => match resolve(&action.op, &created) {
                    Ok(op) => {
                        runnable.push((i, op));
                        continue;
                    }
                    Err(e) => ActionResult::Failed { error: e.message },
                },
            };
            audit.record(&AuditRecord::new(now(), plan, action, &result));
            results.insert(action.id, result);
        }
        let ops: Vec<Op> = runnable.iter().map(|(_, op)| op.clone()).collect();
        let outcomes = backend.execute(&ops).await;
        for ((i, op), outcome) in runnable.into_iter().zip(outcomes) {
            let action = &plan.actions[i];
            let result = match outcome {
                Ok(Outcome::Created(id)) => {
                    if let Some(key) = creates(&op) {
                        created.insert(key, id);
                    }
                    ActionResult::Done
                }
                Ok(Outcome::Done) => ActionResult::Done,
                Err(e) => ActionResult::Failed { error: e.message },
            };
            audit.record(&AuditRecord::new(now(), plan, action, &result));
            results.insert(action.id, result);
        }
        crate::progress::set("apply", results.len(), Some(plan.actions.len()));
    }
    Report {
        results: plan
            .actions
            .iter()
            .map(|a| (a.id, results[&a.id].clone()))
            .collect(),
    }
}

/// The natural key of what an op creates.
fn creates(op: &Op) -> Option<String> {
    match op {
        Op::CreateUser { upn, .. } => Some(format!("user:{}", upn.to_lowercase())),
        Op::InviteGuest { mail, .. } => Some(format!("user:{}", mail.to_lowercase())),
        Op::CreateGroup { mail_nickname, .. } => {
            Some(format!("group:{}", mail_nickname.to_lowercase()))
        }
        _ => None,
    }
}

/// Fills in the ids of objects created earlier in this run.
fn resolve(op: &Op, created: &BTreeMap<String, ObjectId>) -> Result<Op, ApplyError> {
    let user = |u: &UserRef| -> Result<UserRef, ApplyError> {
        if u.id.is_some() {
            return Ok(u.clone());
        }
        let id = created
            .get(&format!("user:{}", u.upn.to_lowercase()))
            .cloned();
        id.map(|id| UserRef {
            id: Some(id),
            upn: u.upn.clone(),
        })
        .ok_or_else(|| {
            ApplyError::new(format!(
                "user {} has no id: it was not created in this run",
                u.upn
            ))
        })
    };
    let group = |g: &GroupRef| -> Result<GroupRef, ApplyError> {
        if g.id.is_some() {
            return Ok(g.clone());
        }
        let id = created
            .get(&format!("group:{}", g.mail_nickname.to_lowercase()))
            .cloned();
        id.map(|id| GroupRef {
            id: Some(id),
            mail_nickname: g.mail_nickname.clone(),
        })
        .ok_or_else(|| {
            ApplyError::new(format!(
                "group {} has no id: it was not created in this run",
                g.mail_nickname
            ))
        })
    };
    let mut op = op.clone();
    match &mut op {
        Op::CreateUser { .. } | Op::InviteGuest { .. } | Op::CreateGroup { .. } => {}
        Op::UpdateUser { user: u, .. }
        | Op::EnableUser { user: u }
        | Op::DisableUser { user: u }
        | Op::RevokeSessions { user: u }
        | Op::AssignLicenses { user: u, .. }
        | Op::DeleteUser { user: u }
        | Op::RemoveGuest { user: u } => *u = user(u)?,
        Op::CreateTeam { group: g } => *g = group(g)?,
        Op::SetManager {
            user: u,
            manager: m,
        } => {
            *u = user(u)?;
            *m = user(m)?;
        }
        Op::AddMember { group: g, user: u }
        | Op::RemoveMember { group: g, user: u }
        | Op::AddTeamMember {
            group: g, user: u, ..
        }
        | Op::RemoveTeamMember {
            group: g, user: u, ..
        } => {
            *g = group(g)?;
            *u = user(u)?;
        }
    }
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::audit::MemoryAudit;
    use crate::plan::action::ActionKind;
    use crate::plan::{FORMAT_VERSION, Summary};

    /// Fails every op whose target user is `bad@x`, records what it ran.
    struct Fake {
        ran: Vec<Op>,
    }

    impl Backend for Fake {
        async fn execute(&mut self, ops: &[Op]) -> Vec<Result<Outcome, ApplyError>> {
            ops.iter()
                .map(|op| {
                    self.ran.push(op.clone());
                    match op {
                        Op::CreateUser { upn, .. } if upn == "bad@x" => {
                            Err(ApplyError::new("nope"))
                        }
                        Op::CreateUser { upn, .. } => {
                            Ok(Outcome::Created(ObjectId::from(format!("id-{upn}"))))
                        }
                        _ => Ok(Outcome::Done),
                    }
                })
                .collect()
        }
        async fn finish(&mut self) -> Result<(), ApplyError> {
            Ok(())
        }
    }

    fn action(id: usize, op: Op, depends_on: Vec<usize>) -> Action {
        Action {
            id,
            kind: op.kind(),
            target: format!("t{id}"),
            changes: vec![],
            reasons: vec![],
            depends_on,
            okta_id: None,
            op,
        }
    }

    fn create(upn: &str) -> Op {
        Op::CreateUser {
            upn: upn.into(),
            okta_id: "o".into(),
            account_enabled: true,
            properties: BTreeMap::new(),
        }
    }

    fn enable(upn: &str) -> Op {
        Op::EnableUser {
            user: UserRef {
                id: None,
                upn: upn.into(),
            },
        }
    }

    #[tokio::test]
    async fn failures_stop_only_their_dependents_and_ids_flow_to_later_waves() {
        let actions = vec![
            action(0, create("bad@x"), vec![]),
            action(1, create("ok@x"), vec![]),
            action(2, enable("bad@x"), vec![0]),
            action(3, enable("ok@x"), vec![1]),
            action(
                4,
                Op::RevokeSessions {
                    user: UserRef {
                        id: None,
                        upn: "bad@x".into(),
                    },
                },
                vec![2],
            ),
        ];
        let plan = Plan {
            format_version: FORMAT_VERSION,
            fingerprint: "f".into(),
            digest: String::new(),
            now: "n".into(),
            targets: vec![],
            refused: vec![],
            accepted_read_drop: false,
            summary: Summary::default(),
            allowed_removals: None,
            licenses: vec![],
            actions,
            manual_steps: vec![],
            unmanaged: vec![],
            warnings: vec![],
        };
        let mut backend = Fake { ran: vec![] };
        let mut audit = MemoryAudit::default();
        let report = execute(&plan, &mut backend, &mut audit, &|| "t".into()).await;
        assert_eq!(report.counts(), (2, 1, 2));
        assert_eq!(report.results[4].1, ActionResult::Skipped { because_of: 2 });
        assert_eq!(report.results[2].1, ActionResult::Skipped { because_of: 0 });
        assert!(backend.ran.contains(&Op::EnableUser {
            user: UserRef {
                id: Some(ObjectId::from("id-ok@x")),
                upn: "ok@x".into()
            }
        }));
        assert_eq!(audit.records.len(), 5);
        assert_eq!(plan.actions[3].kind, ActionKind::EnableUser);
    }

    #[test]
    fn waves_follow_dependencies() {
        let actions = vec![
            action(0, create("a"), vec![]),
            action(1, enable("a"), vec![0]),
            action(2, create("b"), vec![]),
        ];
        assert_eq!(waves(&actions), vec![vec![0, 2], vec![1]]);
    }
}
