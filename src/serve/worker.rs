//! The worker: acts on what the journal holds, in order of arrival, a batch
//! at a time. Lockdowns pass the breaker first; the batch's lockdown and
//! relay actions are planned from one read of Office 365, filtered against
//! the journal (an action done for an event is never run again for it; one
//! in doubt after a crash is checked in Office 365 first), written as
//! intents, run by the same executor and audit trail as `apply`, and their
//! outcomes journaled. Failed events are retried with backoff; reconcile
//! events wait for the next full plan.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::alert::{Alert, AlertEvent, AlertKind};
use super::journal::{Completion, End, Journal, JournalError, StoredAction, StoredEvent};
use super::metrics::{Metrics, label};
use crate::apply::graph::RiskyPacer;
use crate::apply::{ActionResult, GraphBackend, Report, SnapshotBackend};
use crate::cli::{Failure, Workspace};
use crate::events::{self, EventRules, LogEvent, RuleLines, Trigger};
use crate::model::ObjectId;
use crate::model::state::LiveState;
use crate::plan::{Action, ActionKind, FORMAT_VERSION, Plan, Summary};
use crate::policy::check::Checked;

/// Events worked on per batch.
const BATCH: usize = 200;

/// Everything the intake, the worker and the planner share.
pub struct Context {
    /// The config and policies.
    pub workspace: Workspace,
    /// The checked policies.
    pub checked: Checked,
    /// The `events:` rules.
    pub rules: EventRules,
    /// The journal.
    pub journal: Arc<Journal>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Where alerts go.
    pub alert: Box<dyn Alert>,
    /// Held while writing to Office 365: lockdowns and an applied full
    /// plan never interleave.
    pub writer: tokio::sync::Mutex<()>,
    /// Spaces Identity Protection calls.
    pub pacer: Arc<RiskyPacer>,
    /// Where the event rules were written, named in the reasons of event actions.
    pub lines: RuleLines,
    /// Poked when events start waiting for a full plan.
    pub plan_wanted: tokio::sync::Notify,
    /// Poked when new events are journaled.
    pub wake: tokio::sync::Notify,
}

impl Context {
    /// A context over an opened workspace and journal. Refuses a relay
    /// group that the policies define (the relay must own its members).
    pub fn new(
        workspace: Workspace,
        checked: Checked,
        journal: Arc<Journal>,
        alert: Box<dyn Alert>,
        lines: RuleLines,
    ) -> Result<Self, Failure> {
        let rules = workspace.config.events.clone();
        if let Some(relay) = &rules.relay
            && checked.groups.contains_key(&relay.group.to_lowercase())
        {
            return Err(Failure::Message(format!(
                "`events.relay.group` is `{}`, a group the policies define: the full plan would take relayed users out of it again\n  hint: give the relay a group of its own that no policy names, and target that group in conditional access",
                relay.group
            )));
        }
        Ok(Self {
            workspace,
            checked,
            rules,
            journal,
            metrics: Metrics::default(),
            alert,
            writer: tokio::sync::Mutex::new(()),
            pacer: Arc::default(),
            lines,
            plan_wanted: tokio::sync::Notify::new(),
            wake: tokio::sync::Notify::new(),
        })
    }
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Events taken from the journal.
    pub taken: usize,
    /// Whether any action failed or any event was held.
    pub trouble: bool,
}

fn journal_failure(e: JournalError) -> Failure {
    Failure::Message(e.to_string())
}

/// An event being worked on.
struct Work {
    stored: StoredEvent,
    triggers: Vec<Trigger>,
    /// Notes for the journal (skipped users and the like).
    notes: Vec<String>,
}

impl Work {
    fn lockdown_users(&self) -> BTreeSet<&str> {
        self.triggers
            .iter()
            .filter_map(|t| match t {
                Trigger::Lockdown { user, .. } => Some(user.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Takes a batch of open events from the journal and acts on it.
pub async fn pass(ctx: &Context) -> Result<Pass, Failure> {
    let now = now_ms();
    let open = ctx
        .journal
        .call(move |j| j.open_events(now, BATCH))
        .await
        .map_err(journal_failure)?;
    let mut out = Pass {
        taken: open.len(),
        trouble: false,
    };
    if open.is_empty() {
        return Ok(out);
    }
    let mut work = Vec::new();
    let mut finished: Vec<(String, &'static str, String)> = Vec::new();
    for stored in open {
        let event: LogEvent = match serde_json::from_str(&stored.body) {
            Ok(e) => e,
            Err(e) => {
                finished.push((
                    stored.uuid,
                    "rejected",
                    format!("not an Okta System Log event: {e}"),
                ));
                ctx.metrics.add(
                    "okta365_events_rejected_total",
                    label("reason", "malformed"),
                    1,
                );
                continue;
            }
        };
        if !events::is_known(&ctx.rules, &event.event_type) {
            finished.push((
                stored.uuid,
                "rejected",
                format!("no rule acts on event type `{}`", event.event_type),
            ));
            ctx.metrics.add(
                "okta365_events_rejected_total",
                label("reason", "unknown_type"),
                1,
            );
            continue;
        }
        let triggers = events::classify(&ctx.rules, &event);
        if triggers.is_empty() {
            let result = event
                .outcome
                .as_ref()
                .and_then(|o| o.get("result"))
                .and_then(|r| r.as_str())
                .unwrap_or("SUCCESS")
                .to_owned();
            finished.push((
                stored.uuid,
                "done",
                format!("nothing to do (outcome {result})"),
            ));
            continue;
        }
        work.push(Work {
            stored,
            triggers,
            notes: Vec::new(),
        });
    }
    if !finished.is_empty() {
        let now = now_ms();
        ctx.journal
            .call(move |j| {
                finished
                    .iter()
                    .try_for_each(|(uuid, state, note)| j.finish(uuid, state, note, now))
            })
            .await
            .map_err(journal_failure)?;
    }
    let (work, admitted, held) = breaker(ctx, work).await?;
    out.trouble |= held;
    if work.is_empty() {
        return Ok(out);
    }
    // Reconcile events wait for the next full plan (they finish with it).
    let planned: Vec<String> = work
        .iter()
        .filter(|w| {
            w.triggers
                .iter()
                .any(|t| matches!(t, Trigger::Reconcile { .. }))
        })
        .map(|w| w.stored.uuid.clone())
        .collect();
    // Events with nothing but a full plan to wait for: their own part is done.
    let plan_only: Vec<String> = work
        .iter()
        .filter(|w| {
            w.triggers
                .iter()
                .all(|t| matches!(t, Trigger::Reconcile { .. }))
        })
        .map(|w| w.stored.uuid.clone())
        .collect();
    if !planned.is_empty() {
        let now = now_ms();
        ctx.journal
            .call(move |j| {
                j.await_plan(&planned)?;
                plan_only
                    .iter()
                    .try_for_each(|uuid| j.finish(uuid, "done", "", now))
            })
            .await
            .map_err(journal_failure)?;
        ctx.plan_wanted.notify_one();
    }
    out.trouble |= !act(ctx, work, admitted).await?;
    Ok(out)
}

/// Applies the lockdown breaker to the events not admitted before: those
/// that fit run, the rest are held (and the breaker trips, with an alert).
/// Returns the events to act on, the admissions, and whether any were held.
async fn breaker(
    ctx: &Context,
    work: Vec<Work>,
) -> Result<(Vec<Work>, Vec<(String, String)>, bool), Failure> {
    let settings = ctx.rules.lockdown.breaker.clone();
    let fresh = work
        .iter()
        .any(|w| !w.stored.admitted && !w.lockdown_users().is_empty());
    if !fresh {
        return Ok((work, Vec::new(), false));
    }
    let since = now_ms() - (settings.window_minutes as i64) * 60_000;
    let (tripped, recent) = ctx
        .journal
        .call(move |j| Ok::<_, JournalError>((j.breaker()?, j.admissions_since(since)?)))
        .await
        .map_err(journal_failure)?;
    let mut blocked = tripped.is_some();
    let mut used = 0;
    let mut trips = false;
    let mut keep = Vec::new();
    let mut admitted = Vec::new();
    let mut held = Vec::new();
    for w in work {
        let users: Vec<String> = w.lockdown_users().into_iter().map(str::to_owned).collect();
        if w.stored.admitted || users.is_empty() {
            keep.push(w);
            continue;
        }
        let decision = events::breaker::admit(&settings, blocked, recent + used, users.len());
        if decision.allowed == users.len() {
            used += users.len();
            admitted.extend(users.into_iter().map(|u| (w.stored.uuid.clone(), u)));
            keep.push(w);
        } else {
            trips |= decision.trips;
            blocked = true;
            held.push(w.stored.uuid.clone());
        }
    }
    if held.is_empty() {
        return Ok((keep, admitted, false));
    }
    let reason = format!(
        "more than {} lockdowns in {} minutes",
        settings.max_lockdowns, settings.window_minutes
    );
    let note = format!(
        "held: the lockdown breaker is tripped ({reason}); a person must review and run `okta365 events breaker reset`"
    );
    let count = held.len();
    let (now, trip_reason) = (now_ms(), reason.clone());
    ctx.journal
        .call(move |j| {
            if trips {
                j.trip(&trip_reason, now)?;
            }
            j.hold(&held, &note)
        })
        .await
        .map_err(journal_failure)?;
    if trips {
        ctx.metrics
            .add("okta365_breaker_trips_total", String::new(), 1);
        ctx.alert.raise(&AlertEvent {
            kind: AlertKind::BreakerTripped,
            summary: format!(
                "Lockdown breaker tripped: {reason}; {count} lockdown events held, no account is locked until a person resets it"
            ),
            hint: "check Okta for a misfiring rule or a compromised admin; then `okta365 events breaker reset` (held events run) or `okta365 events breaker reset --discard-held`".into(),
        });
    }
    eprintln!(
        "warning: the lockdown breaker is tripped ({reason}): {count} lockdown events held for a person"
    );
    Ok((keep, admitted, true))
}

/// The action's key in the journal: `kind:target`.
pub fn action_key(action: &Action) -> String {
    let kind = serde_json::to_value(action.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{kind}:{}", action.target)
}

/// The Office 365 a batch needs: every user with the ownership marker, the
/// session stamp (to check revocations in doubt), and the members of the
/// sensitive, protected and relay groups.
fn scope(ctx: &Context) -> crate::providers::LiveScope {
    let settings = ctx.workspace.settings(None, None);
    crate::providers::LiveScope {
        groups: ctx
            .rules
            .lockdown
            .remove_from_groups
            .iter()
            .chain(&ctx.checked.policy.protected.groups)
            .chain(ctx.rules.relay.as_ref().map(|r| &r.group))
            .cloned()
            .collect(),
        user_properties: [
            settings.okta_id_attribute.property(),
            settings.offboarded_at_attribute.property(),
            SESSIONS_VALID_FROM.to_owned(),
        ]
        .into(),
        managers: false,
        offboard: None,
    }
}

const SESSIONS_VALID_FROM: &str = "signInSessionsValidFromDateTime";

/// Whether the account's sessions were revoked at or after `since_ms`
/// (Graph keeps the time to the second, so one second of slack).
fn revoked_since(live: &LiveState, account: Option<&ObjectId>, since_ms: i64) -> bool {
    let Some(user) = account.and_then(|id| live.users.iter().find(|u| &u.id == id)) else {
        return false;
    };
    user.property(SESSIONS_VALID_FROM)
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .is_some_and(|t| t.as_millisecond() >= since_ms - 1000)
}

fn account_of(action: &Action) -> Option<&ObjectId> {
    use crate::plan::action::Op;
    match &action.op {
        Op::DisableUser { user }
        | Op::RevokeSessions { user }
        | Op::ConfirmCompromised { user } => user.id.as_ref(),
        Op::AddMember { user, .. } | Op::RemoveMember { user, .. } => user.id.as_ref(),
        _ => None,
    }
}

/// Plans and runs the batch's lockdowns and relays; finishes, retries or
/// fails each event. Returns whether everything succeeded.
async fn act(
    ctx: &Context,
    work: Vec<Work>,
    admitted: Vec<(String, String)>,
) -> Result<bool, Failure> {
    let acting: Vec<&Work> = work
        .iter()
        .filter(|w| {
            w.triggers
                .iter()
                .any(|t| matches!(t, Trigger::Lockdown { .. } | Trigger::Risk { .. }))
        })
        .collect();
    if acting.is_empty() {
        // Reconcile only: nothing else to do for these now.
        return Ok(true);
    }
    let uuids: Vec<String> = acting.iter().map(|w| w.stored.uuid.clone()).collect();
    let _writing = ctx.writer.lock().await;
    let live = match ctx.workspace.read_m365_scoped(&scope(ctx)).await {
        Ok(live) => live,
        Err(failure) => {
            let why = match &failure {
                Failure::Message(m) => m.clone(),
                Failure::Diagnostics(_) => "reading Office 365 failed".into(),
            };
            eprintln!("error: {why}; the events stay journaled and are retried");
            let attempts: Vec<(String, u32)> = acting
                .iter()
                .map(|w| (w.stored.uuid.clone(), w.stored.attempts))
                .collect();
            let now = now_ms();
            let (journal_uuids, retry) = (uuids.clone(), ctx.rules.retry.clone());
            ctx.journal
                .call(move |j| {
                    j.begin(&journal_uuids, &[], &admitted, now)?;
                    for (uuid, attempts) in attempts {
                        j.retry(&uuid, now + backoff_ms(&retry, attempts + 1), &why)?;
                    }
                    Ok::<_, JournalError>(())
                })
                .await
                .map_err(journal_failure)?;
            return Ok(false);
        }
    };
    let settings = ctx.workspace.settings(None, None);
    let triggers: Vec<Trigger> = acting
        .iter()
        .flat_map(|w| w.triggers.iter().cloned())
        .collect();
    let policy_groups: BTreeSet<String> = ctx.checked.groups.keys().cloned().collect();
    let lockdown = events::lockdown(
        &triggers,
        &events::LockdownInput {
            live: &live,
            rules: &ctx.rules.lockdown,
            policy_groups: &policy_groups,
            protected: &ctx.checked.policy.protected,
            settings: &settings,
            lines: &ctx.lines,
        },
    );
    let relayed: BTreeSet<ObjectId> = ctx
        .journal
        .call(|j| j.relayed())
        .await
        .map_err(journal_failure)?
        .into_iter()
        .map(ObjectId::from)
        .collect();
    let relay = ctx.rules.relay.as_ref().map(|rules| {
        events::relay(
            &triggers,
            &events::RelayInput {
                live: &live,
                rules,
                protected: &ctx.checked.policy.protected,
                settings: &settings,
                relayed: &relayed,
                lines: &ctx.lines,
            },
        )
    });
    let mut skipped: Vec<(String, String)> = lockdown
        .skipped
        .iter()
        .map(|s| ("lockdown".to_owned(), s.clone()))
        .collect();
    let lockdown_len = lockdown.plan.actions.len();
    let mut actions = lockdown.plan.actions;
    let mut owners = lockdown.events;
    if let Some(relay) = relay {
        skipped.extend(relay.skipped.into_iter().map(|s| ("relay".to_owned(), s)));
        for mut a in relay.plan.actions {
            a.id += lockdown_len;
            a.depends_on.iter_mut().for_each(|d| *d += lockdown_len);
            actions.push(a);
        }
        owners.extend(relay.events);
    }
    for (what, note) in &skipped {
        eprintln!("warning: {what} skipped: {note}");
    }
    // What the journal already knows of these events' actions.
    let journal_uuids = uuids.clone();
    let known: BTreeMap<String, Vec<StoredAction>> = ctx
        .journal
        .call(move |j| {
            journal_uuids
                .iter()
                .map(|u| Ok((u.clone(), j.actions(u)?)))
                .collect::<Result<_, JournalError>>()
        })
        .await
        .map_err(journal_failure)?;
    let mut keep = Vec::new();
    let mut keep_owners = Vec::new();
    let mut settled: Vec<(String, String, &'static str)> = Vec::new();
    let mut planned_keys: BTreeSet<(String, String)> = BTreeSet::new();
    for (action, owner) in actions.into_iter().zip(owners) {
        let key = action_key(&action);
        planned_keys.insert((owner.clone(), key.clone()));
        let before = known
            .get(&owner)
            .and_then(|list| list.iter().find(|a| a.key == key));
        match before {
            Some(a) if a.state == "done" => continue,
            Some(a)
                if a.state == "intent"
                    && action.kind == ActionKind::RevokeSessions
                    && revoked_since(&live, account_of(&action), a.started_ms) =>
            {
                settled.push((owner, key, "found done in Office 365 after a restart"));
                continue;
            }
            _ => {}
        }
        keep.push(action);
        keep_owners.push(owner);
    }
    // Intents no longer planned: Office 365 shows them done (an account
    // already disabled, a member already gone).
    for (uuid, list) in &known {
        for a in list {
            if a.state == "intent" && !planned_keys.contains(&(uuid.clone(), a.key.clone())) {
                settled.push((
                    uuid.clone(),
                    a.key.clone(),
                    "found done in Office 365 after a restart",
                ));
            }
        }
    }
    let intents: Vec<(String, String)> = keep
        .iter()
        .zip(&keep_owners)
        .map(|(a, o)| (o.clone(), action_key(a)))
        .collect();
    let now = now_ms();
    let (journal_uuids, settled_now) = (uuids.clone(), settled.clone());
    ctx.journal
        .call(move |j| {
            for (uuid, key, note) in &settled_now {
                j.outcome(uuid, key, true, note, now)?;
            }
            j.begin(&journal_uuids, &intents, &admitted, now)
        })
        .await
        .map_err(journal_failure)?;
    let plan = Plan {
        format_version: FORMAT_VERSION,
        fingerprint: format!("events:{}", uuids.join(",")),
        digest: String::new(),
        targets: Vec::new(),
        refused: Vec::new(),
        accepted_read_drop: false,
        now: settings.now.to_string(),
        summary: Summary::of(&keep),
        allowed_removals: Default::default(),
        licenses: Vec::new(),
        actions: keep,
        manual_steps: Vec::new(),
        unmanaged: Vec::new(),
        warnings: Vec::new(),
    };
    let report = if plan.actions.is_empty() {
        Report::default()
    } else {
        let types: BTreeSet<&str> = acting
            .iter()
            .map(|w| w.stored.event_type.as_str())
            .collect();
        let what = if lockdown_len > 0 {
            "Lockdown"
        } else {
            "Relay"
        };
        println!(
            "{what} after {} (event {}):",
            types.into_iter().collect::<Vec<_>>().join(", "),
            uuids.join(", ")
        );
        let report = run(ctx, &plan, live).await?;
        {
            let mut stdout = std::io::stdout().lock();
            crate::cli::commands::apply::print_results(&plan, &report, &mut stdout)?;
        }
        if lockdown_len > 0 {
            let event_types: Vec<&str> = acting
                .iter()
                .map(|w| w.stored.event_type.as_str())
                .collect();
            crate::cli::commands::apply::notify_lockdown(
                &ctx.workspace,
                &plan,
                &report,
                &event_types.join(", "),
                &uuids.join(", "),
            )
            .await;
        }
        report
    };
    drop(_writing);
    let done_at = now_ms();
    // Outcomes, relay bookkeeping, metrics.
    let mut outcomes = Vec::new();
    let mut relay_marks = Vec::new();
    let mut failed_events: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ran: BTreeMap<String, (bool, bool)> = BTreeMap::new(); // (lockdown, relay) actions ran
    let mut locked_upns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((action, owner), (_, result)) in plan.actions.iter().zip(&keep_owners).zip(&report.results)
    {
        let key = action_key(action);
        let is_relay = action.id >= lockdown_len;
        let entry = ran.entry(owner.clone()).or_default();
        if is_relay {
            entry.1 = true;
        } else {
            entry.0 = true;
        }
        let (done, error) = match result {
            ActionResult::Done => (true, String::new()),
            ActionResult::Failed { error } => (false, error.clone()),
            ActionResult::Skipped { because_of } => (
                false,
                format!("not run: action {because_of} did not succeed"),
            ),
        };
        let kind = serde_json::to_value(action.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        ctx.metrics.add(
            "okta365_actions_total",
            format!(
                "{},{}",
                label("kind", &kind),
                label("result", if done { "done" } else { "failed" })
            ),
            1,
        );
        if done {
            if is_relay && let Some(account) = account_of(action) {
                match action.kind {
                    ActionKind::AddMember => {
                        relay_marks.push((account.to_string(), owner.clone(), true))
                    }
                    ActionKind::RemoveMember => {
                        relay_marks.push((account.to_string(), owner.clone(), false))
                    }
                    _ => {}
                }
            }
            if !is_relay && let Some(upn) = action.op.user_key() {
                locked_upns
                    .entry(owner.clone())
                    .or_default()
                    .push(upn.to_owned());
            }
        } else {
            failed_events
                .entry(owner.clone())
                .or_default()
                .push(format!("{}: {error}", action.target));
        }
        outcomes.push((owner.clone(), key, done, error));
    }
    if !plan.actions.is_empty() && lockdown_len > 0 {
        let first = acting
            .iter()
            .map(|w| w.stored.received_ms)
            .min()
            .unwrap_or(done_at);
        println!(
            "Lockdown took {} ms from receiving the event.",
            done_at - first
        );
    }
    let mut all_ok = true;
    let retry = ctx.rules.retry.clone();
    let mut finishes = Vec::new();
    for w in &acting {
        let uuid = &w.stored.uuid;
        let mut notes = w.notes.clone();
        for (_, s) in &skipped {
            if mentions_event(s, w) {
                notes.push(s.clone());
            }
        }
        let (lockdown_ran, relay_ran) = ran.get(uuid).copied().unwrap_or_default();
        match failed_events.get(uuid) {
            Some(errors) => {
                all_ok = false;
                let attempts = w.stored.attempts + 1;
                let note = errors.join("; ");
                if attempts >= retry.max_attempts {
                    finishes.push(End::Failed {
                        uuid: uuid.clone(),
                        note: note.clone(),
                    });
                    ctx.alert.raise(&AlertEvent {
                        kind: AlertKind::EventFailed,
                        summary: format!(
                            "event {uuid} ({}) failed after {attempts} attempts: {note}",
                            w.stored.event_type
                        ),
                        hint: "fix the cause; the event stays in the journal as failed (`okta365 events status`)".into(),
                    });
                } else {
                    let at = done_at + backoff_ms(&retry, attempts);
                    finishes.push(End::Retry {
                        uuid: uuid.clone(),
                        at_ms: at,
                        note: format!("attempt {attempts} failed: {note}"),
                    });
                }
            }
            None => {
                let seconds = (done_at - w.stored.received_ms) as f64 / 1000.0;
                if lockdown_ran {
                    ctx.metrics.observe("lockdown", seconds);
                }
                if relay_ran {
                    ctx.metrics.observe("relay", seconds);
                }
                finishes.push(End::Done {
                    uuid: uuid.clone(),
                    note: notes.join("; "),
                    locked: locked_upns.remove(uuid).filter(|_| lockdown_ran),
                });
            }
        }
    }
    let completion = Completion {
        outcomes,
        relayed: relay_marks,
        ends: finishes,
    };
    ctx.journal
        .call(move |j| j.complete(&completion, done_at))
        .await
        .map_err(journal_failure)?;
    Ok(all_ok)
}

/// Whether a skip note is about one of `w`'s users.
fn mentions_event(note: &str, w: &Work) -> bool {
    w.triggers.iter().any(|t| match t {
        Trigger::Lockdown { user, .. } | Trigger::Risk { user, .. } => note.contains(user.as_str()),
        Trigger::Reconcile { .. } => false,
    }) || note.contains(&w.stored.event_type)
}

/// The wait before attempt `attempt + 1`: doubling from the first delay, capped.
pub fn backoff_ms(retry: &crate::events::RetrySettings, attempt: u32) -> i64 {
    let factor = 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
    let seconds = (retry.first_delay_seconds * factor).min(retry.max_delay_seconds);
    Duration::from_secs_f64(seconds.max(0.0)).as_millis() as i64
}

/// Runs a plan through the configured backend and the audit trail (with
/// its sinks, as `apply` does).
async fn run(ctx: &Context, plan: &Plan, live: LiveState) -> Result<Report, Failure> {
    let workspace = &ctx.workspace;
    let mut audit = crate::cli::commands::apply::open_audit(workspace)?;
    let marker = workspace.config.ownership.okta_id_attribute.clone();
    let clock = || jiff::Timestamp::now().to_string();
    // Just before each destructive request the account is checked again:
    // still the person the event names, still managed, not protected.
    let guard = crate::apply::TargetGuard::new(plan, &ctx.checked.policy.protected, &live, &marker);
    let report = match workspace.m365_snapshot() {
        Some(target) => {
            let mut backend = SnapshotBackend::new(live, Some(target), marker);
            let report =
                crate::apply::execute(plan, &mut backend, &mut audit, &guard, &clock).await;
            match crate::apply::Backend::finish(&mut backend).await {
                Ok(()) => report,
                // Nothing reached the snapshot: every action failed.
                Err(e) => Report {
                    results: report
                        .results
                        .into_iter()
                        .map(|(id, _)| {
                            (
                                id,
                                ActionResult::Failed {
                                    error: e.message.clone(),
                                },
                            )
                        })
                        .collect(),
                },
            }
        }
        None => {
            let mut backend = GraphBackend::new(workspace.graph()?.clone(), marker)
                .with_risky_pacer(Arc::clone(&ctx.pacer));
            crate::apply::execute(plan, &mut backend, &mut audit, &guard, &clock).await
        }
    };
    crate::cli::commands::apply::close_audit(workspace, audit).await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let retry = crate::events::RetrySettings {
            max_attempts: 5,
            first_delay_seconds: 2.0,
            max_delay_seconds: 5.0,
        };
        assert_eq!(backoff_ms(&retry, 1), 2000);
        assert_eq!(backoff_ms(&retry, 2), 4000);
        assert_eq!(backoff_ms(&retry, 3), 5000);
    }
}
