//! The executor: runs a plan's actions in dependency waves against a
//! [`Backend`]. A failed action stops only the actions that depend on it; every
//! other action still runs. A destructive op is sent only after its live
//! target passed the [`TargetGuard`]. Each action that is sent gets an intent
//! record, synced to disk before its requests, and every action (done,
//! failed, skipped or refused) an outcome record.

use std::collections::BTreeMap;

use serde::Serialize;

use super::audit::{AuditRecord, AuditSink};
use super::backend::{ApplyError, Backend, Outcome};
use super::guard::{LiveTarget, TargetGuard};
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

/// At most this many ops go to the backend at once: each call's outcome
/// records are written when it returns, so a crash leaves at most this many
/// actions with an intent and no outcome.
pub const CHUNK: usize = 200;

/// Runs `plan` against `backend`. Per chunk of a wave: actions whose
/// dependencies failed are skipped; destructive ops are checked against
/// their live target (`guard`); the intent records of the rest are written
/// and synced before their requests; the outcome records (with the requests
/// sent) after. `now` stamps the records (the caller owns the clock).
pub async fn execute<B: Backend>(
    plan: &Plan,
    backend: &mut B,
    audit: &mut dyn AuditSink,
    guard: &TargetGuard,
    now: &dyn Fn() -> String,
) -> Report {
    let run = format!("{}-{:08x}", now(), rand::random::<u32>());
    let record = |audit: &mut dyn AuditSink, r: AuditRecord| audit.record(&r.in_run(&run));
    let mut results: BTreeMap<usize, ActionResult> = BTreeMap::new();
    let mut created: BTreeMap<String, ObjectId> = BTreeMap::new();
    crate::progress::set("apply", 0, Some(plan.actions.len()));
    for wave in waves(&plan.actions) {
        for chunk in wave.chunks(CHUNK) {
            let mut runnable: Vec<(usize, Op)> = Vec::new();
            for &i in chunk {
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
                record(audit, AuditRecord::new(now(), plan, action, &result));
                results.insert(action.id, result);
            }
            let refused = check_targets(&runnable, backend, guard).await;
            runnable.retain(|(i, _)| {
                let Some(error) = refused.get(i) else {
                    return true;
                };
                let action = &plan.actions[*i];
                let result = ActionResult::Failed {
                    error: error.clone(),
                };
                record(audit, AuditRecord::new(now(), plan, action, &result));
                results.insert(action.id, result);
                false
            });
            // Write ahead: nothing is sent unless its intent is on disk.
            for (i, _) in &runnable {
                record(audit, AuditRecord::intent(now(), plan, &plan.actions[*i]));
            }
            if let Err(e) = audit.sync() {
                let error = format!(
                    "not sent: the audit trail cannot be written ({e}); okta365 sends nothing it cannot record first"
                );
                for (i, _) in runnable.drain(..) {
                    results.insert(
                        plan.actions[i].id,
                        ActionResult::Failed {
                            error: error.clone(),
                        },
                    );
                }
            }
            if runnable.is_empty() {
                continue;
            }
            let ops: Vec<Op> = runnable.iter().map(|(_, op)| op.clone()).collect();
            let outcomes = backend.execute(&ops).await;
            let mut sent = backend.take_sent().into_iter();
            for ((i, op), outcome) in runnable.into_iter().zip(outcomes) {
                let action = &plan.actions[i];
                let result = match outcome {
                    Ok(Outcome::Created(id)) => {
                        for key in creates(&op) {
                            created.insert(key, id.clone());
                        }
                        ActionResult::Done
                    }
                    Ok(Outcome::Done) => ActionResult::Done,
                    Err(e) => ActionResult::Failed { error: e.message },
                };
                let requests = sent.next().unwrap_or_default();
                record(
                    audit,
                    AuditRecord::new(now(), plan, action, &result).with_sent(requests),
                );
                results.insert(action.id, result);
            }
            // Outcomes are best kept too; a failure here shows at close.
            let _ = audit.sync();
            crate::progress::set("apply", results.len(), Some(plan.actions.len()));
        }
    }
    Report {
        results: plan
            .actions
            .iter()
            .map(|a| (a.id, results[&a.id].clone()))
            .collect(),
    }
}

/// Reads the live target of every destructive op in `runnable` (one
/// request for all, through the backend) and returns why each refused one
/// may not go ahead, by its index in the plan.
async fn check_targets<B: Backend>(
    runnable: &[(usize, Op)],
    backend: &mut B,
    guard: &TargetGuard,
) -> BTreeMap<usize, String> {
    let subjects: Vec<(usize, &UserRef)> = runnable
        .iter()
        .filter_map(|(i, op)| Some((*i, op.subject()?)))
        .collect();
    let mut refused = BTreeMap::new();
    if subjects.is_empty() {
        return refused;
    }
    let mut ids: Vec<ObjectId> = subjects.iter().filter_map(|(_, u)| u.id.clone()).collect();
    ids.sort();
    ids.dedup();
    let answers = backend.look_up(&ids).await;
    let found: BTreeMap<&ObjectId, Result<Option<LiveTarget>, ApplyError>> =
        ids.iter().zip(answers).collect();
    for (i, user) in subjects {
        let verdict = match user.id.as_ref().and_then(|id| found.get(id)) {
            Some(Ok(live)) => guard.check(user, live.as_ref()),
            Some(Err(e)) => Err(format!(
                "not sent: the account could not be read again before the request: {}",
                e.message
            )),
            None => Err(format!("not sent: {} has no object id to check", user.upn)),
        };
        if let Err(why) = verdict {
            refused.insert(i, why);
        }
    }
    refused
}

/// The keys of what an op creates: a person's account by their Okta id (so
/// dependents are bound to that person and its create), and by UPN for
/// references made without one.
fn creates(op: &Op) -> Vec<String> {
    match op {
        Op::CreateUser { upn, okta_id, .. } => {
            vec![
                format!("okta:{okta_id}"),
                format!("user:{}", upn.to_lowercase()),
            ]
        }
        Op::InviteGuest { mail, okta_id, .. } => {
            vec![
                format!("okta:{okta_id}"),
                format!("user:{}", mail.to_lowercase()),
            ]
        }
        Op::CreateGroup { mail_nickname, .. } => {
            vec![format!("group:{}", mail_nickname.to_lowercase())]
        }
        _ => Vec::new(),
    }
}

/// Fills in the ids of objects created earlier in this run. A user bound to
/// an Okta id resolves only through that person's own create.
fn resolve(op: &Op, created: &BTreeMap<String, ObjectId>) -> Result<Op, ApplyError> {
    let user = |u: &UserRef| -> Result<UserRef, ApplyError> {
        if u.id.is_some() {
            return Ok(u.clone());
        }
        let key = match &u.okta_id {
            Some(okta_id) => format!("okta:{okta_id}"),
            None => format!("user:{}", u.upn.to_lowercase()),
        };
        let id = created.get(&key).cloned();
        id.map(|id| UserRef {
            id: Some(id),
            ..u.clone()
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
        | Op::ClearManager { user: u }
        | Op::RemoveGuest { user: u }
        | Op::ConfirmCompromised { user: u } => *u = user(u)?,
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
        | Op::AddOwner { group: g, user: u }
        | Op::RemoveOwner { group: g, user: u }
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
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::apply::audit::{MemoryAudit, Phase};
    use crate::plan::action::ActionKind;
    use crate::plan::{FORMAT_VERSION, Summary};

    /// Fails every op whose target user is `bad@x`, records what it ran in
    /// `log` (shared with [`Logged`], so the order of records and requests shows).
    #[derive(Default)]
    struct Fake {
        ran: Vec<Op>,
        live: BTreeMap<ObjectId, LiveTarget>,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl Backend for Fake {
        async fn execute(&mut self, ops: &[Op]) -> Vec<Result<Outcome, ApplyError>> {
            ops.iter()
                .map(|op| {
                    self.ran.push(op.clone());
                    self.log
                        .lock()
                        .unwrap()
                        .push(format!("send {:?}", op.kind()));
                    match op {
                        Op::CreateUser { upn, okta_id, .. }
                            if upn == "bad@x" || okta_id == "bad" =>
                        {
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
        async fn look_up(
            &mut self,
            users: &[ObjectId],
        ) -> Vec<Result<Option<LiveTarget>, ApplyError>> {
            users
                .iter()
                .map(|id| Ok(self.live.get(id).cloned()))
                .collect()
        }
    }

    /// An audit sink writing into the backend's log; `fail_sync` makes every sync fail.
    struct Logged {
        log: Arc<Mutex<Vec<String>>>,
        fail_sync: bool,
    }

    impl AuditSink for Logged {
        fn record(&mut self, r: &AuditRecord) {
            self.log
                .lock()
                .unwrap()
                .push(format!("{:?} {:?}", r.phase, r.kind));
        }
        fn sync(&mut self) -> std::io::Result<()> {
            self.log.lock().unwrap().push("sync".into());
            if self.fail_sync {
                return Err(std::io::Error::other("disk full"));
            }
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
            op,
        }
    }

    /// Creates `upn` for the Okta user `okta-<upn>`.
    fn create(upn: &str) -> Op {
        create_for(upn, &format!("okta-{upn}"))
    }

    fn create_for(upn: &str, okta_id: &str) -> Op {
        Op::CreateUser {
            upn: upn.into(),
            okta_id: okta_id.into(),
            account_enabled: true,
            properties: BTreeMap::new(),
        }
    }

    fn enable(upn: &str) -> Op {
        enable_for(upn, &format!("okta-{upn}"))
    }

    fn enable_for(upn: &str, okta_id: &str) -> Op {
        Op::EnableUser {
            user: UserRef {
                id: None,
                upn: upn.into(),
                okta_id: Some(okta_id.into()),
            },
        }
    }

    fn plan(actions: Vec<Action>) -> Plan {
        Plan {
            format_version: FORMAT_VERSION,
            fingerprint: "f".into(),
            digest: String::new(),
            now: "n".into(),
            targets: vec![],
            refused: vec![],
            accepted_read_drop: false,
            summary: Summary::default(),
            allowed_removals: Default::default(),
            licenses: vec![],
            actions,
            manual_steps: vec![],
            unmanaged: vec![],
            warnings: vec![],
        }
    }

    /// Disables of `ann` (u-1, Okta 00u1) and of `bob` (u-2, whose plan says Okta 00u2).
    fn disables() -> Plan {
        let disable = |id: usize, object: &str, upn: &str, okta: &str| {
            action(
                id,
                Op::DisableUser {
                    user: UserRef {
                        id: Some(object.into()),
                        upn: upn.into(),
                        okta_id: Some(okta.into()),
                    },
                },
                vec![],
            )
        };
        plan(vec![
            disable(0, "u-1", "ann@x", "00u1"),
            disable(1, "u-2", "bob@x", "00u2"),
        ])
    }

    fn live(id: &str, upn: &str, okta: &str) -> (ObjectId, LiveTarget) {
        (
            id.into(),
            LiveTarget {
                id: id.into(),
                upn: upn.into(),
                okta_id: Some(okta.into()),
            },
        )
    }

    #[tokio::test]
    async fn failures_stop_only_their_dependents_and_ids_flow_to_later_waves() {
        let plan = plan(vec![
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
                        okta_id: None,
                    },
                },
                vec![2],
            ),
        ]);
        let mut backend = Fake::default();
        let mut audit = MemoryAudit::default();
        let guard = TargetGuard::default();
        let report = execute(&plan, &mut backend, &mut audit, &guard, &|| "t".into()).await;
        assert_eq!(report.counts(), (2, 1, 2));
        assert_eq!(report.results[4].1, ActionResult::Skipped { because_of: 2 });
        assert_eq!(report.results[2].1, ActionResult::Skipped { because_of: 0 });
        assert!(backend.ran.contains(&Op::EnableUser {
            user: UserRef {
                id: Some(ObjectId::from("id-ok@x")),
                upn: "ok@x".into(),
                okta_id: Some("okta-ok@x".into()),
            }
        }));
        let phases = |p: Phase| audit.records.iter().filter(|r| r.phase == p).count();
        assert_eq!(phases(Phase::Outcome), 5, "one outcome per action");
        assert_eq!(phases(Phase::Intent), 3, "an intent per action sent");
        let run = &audit.records[0].run;
        assert!(!run.is_empty() && audit.records.iter().all(|r| &r.run == run));
        assert_eq!(plan.actions[3].kind, ActionKind::EnableUser);
    }

    #[tokio::test]
    async fn a_destructive_op_on_another_person_than_the_plan_names_is_not_sent() {
        let plan = disables();
        let mut backend = Fake {
            // bob's account now carries another person's Okta id.
            live: [live("u-1", "ann@x", "00u1"), live("u-2", "bob@x", "00u9")].into(),
            ..Fake::default()
        };
        let mut audit = MemoryAudit::default();
        let report = execute(
            &plan,
            &mut backend,
            &mut audit,
            &TargetGuard::default(),
            &|| "t".into(),
        )
        .await;
        assert_eq!(backend.ran.len(), 1, "only ann's disable was sent");
        assert_eq!(report.results[0].1, ActionResult::Done);
        let ActionResult::Failed { error } = &report.results[1].1 else {
            panic!("{report:?}");
        };
        assert!(
            error.contains("marked as Okta user 00u9, not 00u2"),
            "{error}"
        );
        // bob's action has an outcome and no intent: nothing was about to be sent.
        let bob: Vec<Phase> = audit
            .records
            .iter()
            .filter(|r| r.action == 1)
            .map(|r| r.phase)
            .collect();
        assert_eq!(bob, vec![Phase::Outcome]);
    }

    #[tokio::test]
    async fn intents_are_synced_before_requests_and_nothing_goes_out_when_they_cannot_be() {
        let plan = disables();
        let live_now: BTreeMap<ObjectId, LiveTarget> =
            [live("u-1", "ann@x", "00u1"), live("u-2", "bob@x", "00u2")].into();
        for fail_sync in [false, true] {
            let log = Arc::new(Mutex::new(Vec::new()));
            let mut backend = Fake {
                live: live_now.clone(),
                log: log.clone(),
                ..Fake::default()
            };
            let mut audit = Logged {
                log: log.clone(),
                fail_sync,
            };
            let report = execute(
                &plan,
                &mut backend,
                &mut audit,
                &TargetGuard::default(),
                &|| "t".into(),
            )
            .await;
            let log = log.lock().unwrap().clone();
            if fail_sync {
                assert!(backend.ran.is_empty(), "{log:?}");
                assert_eq!(report.counts(), (0, 2, 0));
            } else {
                assert_eq!(
                    log,
                    [
                        "Intent DisableUser",
                        "Intent DisableUser",
                        "sync",
                        "send DisableUser",
                        "send DisableUser",
                        "Outcome DisableUser",
                        "Outcome DisableUser",
                        "sync"
                    ]
                );
            }
        }
    }

    /// Issue 13: two people whose creates share a UPN. The second create
    /// fails; an action bound to that person never runs against the first
    /// person's new account, even with no dependency recorded.
    #[tokio::test]
    async fn an_action_bound_to_a_person_never_resolves_to_someone_elses_create() {
        let plan = plan(vec![
            action(0, create_for("dup@x", "good"), vec![]),
            action(1, create_for("dup@x", "bad"), vec![]),
            // Bound to the failed person, but (as a crossed plan had it)
            // depending on the other person's create.
            action(2, enable_for("dup@x", "bad"), vec![0]),
            action(3, enable_for("dup@x", "good"), vec![0]),
        ]);
        let mut backend = Fake::default();
        let mut audit = MemoryAudit::default();
        let report = execute(
            &plan,
            &mut backend,
            &mut audit,
            &TargetGuard::default(),
            &|| "t".into(),
        )
        .await;
        assert!(
            matches!(&report.results[2].1, ActionResult::Failed { error } if error.contains("not created in this run")),
            "{:?}",
            report.results[2]
        );
        assert_eq!(report.results[3].1, ActionResult::Done);
        let enabled: Vec<&Op> = backend
            .ran
            .iter()
            .filter(|op| matches!(op, Op::EnableUser { .. }))
            .collect();
        assert_eq!(
            enabled.len(),
            1,
            "only the good person's enable ran: {enabled:?}"
        );
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
