//! `okta365 apply`: carry out a saved plan, or a fresh one after confirmation.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use tracing::Instrument;

use crate::apply::{
    ActionResult, AuditSink, Backend, GraphBackend, JsonlAudit, SnapshotBackend, TargetGuard,
    execute,
};
use crate::cli::clock;
use crate::cli::terminal::{self, Level, Ui, phase};
use crate::cli::{Cli, Failure, Workspace};
use crate::model::state::LiveState;
use crate::plan::Plan;
use crate::sinks::{Forward, Notice, Notifier, Origin, SinkSet};

/// Arguments of `apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A plan saved with `okta365 plan --out FILE`. Refused if its inputs changed since.
    /// Without it, apply makes a fresh plan and asks for confirmation.
    pub plan: Option<PathBuf>,
    /// Apply a fresh plan without asking.
    #[arg(long)]
    pub auto_approve: bool,
    /// How a fresh plan is made (without a saved plan).
    #[command(flatten)]
    pub choices: super::plan::Choices,
}

/// Runs `apply`.
pub async fn run(cli: &Cli, args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    let workspace = phase("load", || Workspace::open(&cli.config))?;
    let clock = clock::now();
    let (plan, live) = match &args.plan {
        Some(path) => match saved(&workspace, ui, path, clock).await {
            Ok(made) => made,
            Err(failure) => {
                let what = format!("the saved plan {}", path.display());
                notify_refused(&workspace, &what, &failure).await;
                return Err(failure);
            }
        },
        None => {
            if let Some(now) = args.choices.now {
                clock::check_apply_now(now, clock).map_err(Failure::Message)?;
            }
            let (plan, live) =
                match super::plan::make_reviewable(&workspace, ui, &args.choices).await {
                    Ok(made) => made,
                    Err(failure) => {
                        notify_refused(&workspace, "the plan", &failure).await;
                        return Err(failure);
                    }
                };
            if plan.is_refused() {
                crate::render::text::render(&plan, &mut std::io::stdout().lock(), ui.style)?;
                let failure = Failure::Diagnostics(plan.diagnostics());
                notify_refused(&workspace, "the plan", &failure).await;
                return Err(failure);
            }
            if !plan.is_empty() && !args.auto_approve {
                crate::render::text::render(&plan, &mut std::io::stdout().lock(), ui.style)?;
                if !terminal::confirm(&format!(
                    "Apply these {} actions to Office 365?",
                    plan.actions.len()
                ))? {
                    ui.say(Level::Info, "Apply cancelled; nothing was changed.");
                    return Ok(ExitCode::from(1));
                }
            }
            (plan, live)
        }
    };
    if plan.is_empty() {
        println!("No changes. Office 365 matches the policies.");
        return Ok(ExitCode::SUCCESS);
    }
    carry_out(&workspace, ui, &plan, live).await
}

/// Tells the configured chat channels that a plan was refused (a failure
/// to notify is a warning; a notifier that cannot start is one too).
pub(crate) async fn notify_refused(workspace: &Workspace, what: &str, failure: &Failure) {
    if workspace.config.audit.notify.is_empty() {
        return;
    }
    let reasons = match failure {
        Failure::Diagnostics(d) => d
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                d.render_plain()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect(),
        Failure::Message(m) => m.lines().take(3).map(str::to_owned).collect(),
    };
    let notice = Notice::Refused {
        what: what.to_owned(),
        reasons,
        origin: Origin::detect(&workspace.config.policies),
    };
    notify(workspace, &notice).await;
}

/// Posts `notice` to the configured chat channels; problems are warnings.
pub(crate) async fn notify(workspace: &Workspace, notice: &Notice) {
    if workspace.config.audit.notify.is_empty() {
        return;
    }
    match Notifier::from_config(&workspace.config.audit.notify) {
        Ok(notifier) => {
            for warning in notifier.notify(notice).await {
                eprintln!("warning: {warning}");
            }
        }
        Err(e) => eprintln!("warning: {e}"),
    }
}

/// Runs `plan` against the configured backend, appending to the audit trail,
/// and prints what each action did. Exit code 1 when any action failed.
/// First reports the actions a previous, interrupted apply started without
/// recording how they ended.
pub(crate) async fn carry_out(
    workspace: &Workspace,
    ui: &Ui,
    plan: &Plan,
    live: LiveState,
) -> Result<ExitCode, Failure> {
    let audit_path = &workspace.config.audit.path;
    report_interrupted(ui, audit_path);
    let origin = Origin::detect(&workspace.config.policies);
    let mut audit = open_audit(workspace)?;
    let marker = workspace.config.ownership.okta_id_attribute.clone();
    let (checked, _) = workspace.check()?;
    let guard = TargetGuard::new(plan, &checked.policy.protected, &live, &marker);
    // The groups of the users this plan deletes, for the kept read counts.
    let deleted: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|a| match &a.op {
            crate::plan::Op::DeleteUser { user } | crate::plan::Op::RemoveGuest { user } => {
                user.id.as_ref().map(|id| id.as_str())
            }
            _ => None,
        })
        .collect();
    let groups_of = crate::plan::plausible::ReadCounts::groups_of(&live, &deleted);
    let started = std::time::Instant::now();
    let (report, stored) = match workspace.m365_snapshot() {
        Some(target) => {
            let mut backend = SnapshotBackend::new(live, Some(target), marker);
            run_backend(plan, &mut backend, &mut audit, &guard).await
        }
        None => {
            let mut backend = GraphBackend::new(workspace.graph()?.clone(), marker);
            run_backend(plan, &mut backend, &mut audit, &guard).await
        }
    };

    let done = plan
        .actions
        .iter()
        .zip(&report.results)
        .filter(|(_, (_, r))| *r == ActionResult::Done)
        .map(|(a, _)| &a.op);
    workspace.count_applied(done, &groups_of);
    {
        let mut out = std::io::stdout().lock();
        print_results(plan, &report, &mut out)?;
        out.flush()?;
    }
    let (closed, sink_reports) = audit.finish().await;
    for r in &sink_reports {
        if r.waiting > 0 || r.error.is_some() {
            ui.say(Level::Warning, &r.line());
        } else {
            tracing::info!(sink = %r.name, delivered = r.delivered, "audit sink delivered");
        }
    }
    let (done, failed, skipped) = report.counts();
    let cost = workspace
        .config
        .prices
        .as_ref()
        .map(|p| crate::report::cost::plan_cost(plan, p).line(p));
    let notice = Notice::Applied {
        done,
        failed,
        skipped,
        summary: crate::render::summary_line(plan),
        cost,
        fingerprint: plan.fingerprint.clone(),
        origin,
    };
    notify(workspace, &notice).await;
    if let Err(e) = closed {
        ui.say(
            Level::Error,
            &format!("writing the audit trail {}: {e}", audit_path.display()),
        );
        return Ok(ExitCode::from(1));
    }
    if let Err(e) = stored {
        return Err(Failure::Message(format!(
            "{e}; the snapshot was left as it was"
        )));
    }
    // One line for the log: what was done, what it cost, how long it took.
    let (done, failed, skipped) = report.counts();
    let mut summary = format!(
        "Applied in {:.1} s: {done} done, {failed} failed, {skipped} skipped",
        started.elapsed().as_secs_f64()
    );
    if workspace.m365_snapshot().is_none() {
        let (requests, retries, throttled) = workspace.graph()?.stats();
        summary.push_str(&format!(
            "; Microsoft Graph: {requests} requests ({retries} retried, {throttled} throttled)"
        ));
    }
    summary.push('.');
    ui.say(Level::Info, &summary);
    Ok(if report.all_done() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The audit trail with its sinks. Sinks start (and resend what earlier
/// runs spooled) before anything is applied; a missing token stops here.
pub(crate) fn open_audit(workspace: &Workspace) -> Result<Forward<JsonlAudit>, Failure> {
    let audit_path = &workspace.config.audit.path;
    let file = JsonlAudit::open(audit_path).map_err(|e| {
        Failure::Message(format!(
            "cannot open the audit trail {}: {e}; nothing was changed",
            audit_path.display()
        ))
    })?;
    let origin = Origin::detect(&workspace.config.policies);
    let sinks = SinkSet::start(
        &workspace.config.audit.sinks,
        &workspace.config.audit.spool,
        &origin,
    )
    .map_err(|e| Failure::Message(format!("{e}; nothing was changed")))?;
    Ok(Forward::new(file, origin, sinks))
}

/// Closes the audit trail and delivers to its sinks, reporting problems
/// on stderr (what a sink could not take stays in the spool).
pub(crate) async fn close_audit(workspace: &Workspace, audit: Forward<JsonlAudit>) {
    let (closed, sink_reports) = audit.finish().await;
    for r in &sink_reports {
        if r.waiting > 0 || r.error.is_some() {
            eprintln!("warning: {}", r.line());
        } else {
            tracing::info!(sink = %r.name, delivered = r.delivered, "audit sink delivered");
        }
    }
    if let Err(e) = closed {
        eprintln!(
            "error: writing the audit trail {}: {e}",
            workspace.config.audit.path.display()
        );
    }
}

/// Tells the configured chat channels about a lockdown and how each action ended.
pub(crate) async fn notify_lockdown(
    workspace: &Workspace,
    plan: &Plan,
    report: &crate::apply::Report,
    event_type: &str,
    event_id: &str,
) {
    let notice = Notice::Lockdown {
        event_type: event_type.to_owned(),
        event_id: event_id.to_owned(),
        actions: result_lines(plan, report),
        origin: Origin::detect(&workspace.config.policies),
    };
    notify(workspace, &notice).await;
}

/// Warns about actions the last apply started (intent written) but did not
/// record the end of: a crash or a kill between the request and the record.
fn report_interrupted(ui: &Ui, audit_path: &std::path::Path) {
    match crate::apply::audit::interrupted(audit_path) {
        Ok(None) => {}
        Ok(Some(run)) => {
            let shown: Vec<String> = run
                .actions
                .iter()
                .take(10)
                .map(|(id, kind, target)| format!("action {id} {kind} {target}"))
                .collect();
            let more = run.actions.len().saturating_sub(shown.len());
            ui.say(
                Level::Warning,
                &format!(
                    "the previous apply (run {}, last record at {}) was interrupted: {} action(s) were started with no recorded outcome, so their requests may or may not have reached Office 365: {}{}\n  hint: this apply planned from a fresh read, so it does only what is still missing; compare {} with the tenant if in doubt",
                    run.run,
                    run.last_time,
                    run.actions.len(),
                    shown.join("; "),
                    if more > 0 { format!("; and {more} more") } else { String::new() },
                    audit_path.display()
                ),
            );
        }
        Err(e) => ui.say(
            Level::Warning,
            &format!(
                "cannot read the audit trail {} to look for an interrupted apply: {e}",
                audit_path.display()
            ),
        ),
    }
}

/// Runs the plan through `backend`, then lets it finish (a snapshot writes its files).
async fn run_backend<B: Backend>(
    plan: &Plan,
    backend: &mut B,
    audit: &mut dyn AuditSink,
    guard: &TargetGuard,
) -> (crate::apply::Report, Result<(), crate::apply::ApplyError>) {
    let clock = || clock::now().to_string();
    let report = execute(plan, backend, audit, guard, &clock)
        .instrument(tracing::info_span!("phase", phase = "apply"))
        .await;
    let stored = backend
        .finish()
        .instrument(tracing::info_span!("phase", phase = "store"))
        .await;
    (report, stored)
}

/// One line per action: `done     - user ana@acme.example (disable)`.
fn result_lines(plan: &Plan, report: &crate::apply::Report) -> Vec<String> {
    plan.actions
        .iter()
        .zip(&report.results)
        .map(|(action, (_, result))| {
            let line = format!(
                "{} {} ({})",
                action.kind.symbol(),
                action.target,
                action.kind.short()
            );
            match result {
                ActionResult::Done => format!("done     {line}"),
                ActionResult::Failed { error } => format!("FAILED   {line}\n         {error}"),
                ActionResult::Skipped { because_of } => {
                    format!("skipped  {line} (action {because_of} did not succeed)")
                }
            }
        })
        .collect()
}

/// Prints one line per action (done, failed with the error, or skipped) and the counts.
pub(crate) fn print_results(
    plan: &Plan,
    report: &crate::apply::Report,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for line in result_lines(plan, report) {
        writeln!(out, "{line}")?;
    }
    let (done, failed, skipped) = report.counts();
    writeln!(
        out,
        "\nApply: {done} done, {failed} failed, {skipped} skipped."
    )
}

/// Loads a saved plan and applies it only as the current inputs call for
/// it: refused when it was refused when made, made for another time (in the
/// future, or longer ago than `safety.max_plan_age`), when its inputs changed
/// since (stale), or when its actions differ from those the same inputs
/// call for now (an edited file), showing the first difference. Returns the
/// plan made afresh (identical to the saved one) and the live state read.
async fn saved(
    workspace: &Workspace,
    ui: &Ui,
    path: &std::path::Path,
    clock: jiff::Timestamp,
) -> Result<(Plan, LiveState), Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Message(format!("cannot read the plan {shown}: {e}")))?;
    let plan =
        crate::render::json::parse(&text).map_err(|e| Failure::Message(format!("{shown}: {e}")))?;
    let nothing = "nothing was changed";
    let remake = format!("hint: make a new plan with `okta365 plan --out {shown}` and review it");
    if plan.is_refused() {
        let reasons: Vec<String> = plan.refused.iter().map(|d| d.message.clone()).collect();
        return Err(Failure::Message(format!(
            "the saved plan {shown} was refused when it was made ({}); {nothing}\n  {remake}",
            reasons.join("; ")
        )));
    }
    let made_for: jiff::Timestamp = plan
        .now
        .parse()
        .map_err(|e| Failure::Message(format!("{shown}: `now` is not a time ({e}); {nothing}")))?;
    clock::check_plan_age(
        made_for,
        clock,
        workspace.config.safety.max_plan_age.0,
        &shown.to_string(),
    )
    .map_err(Failure::Message)?;
    let choices = super::plan::Choices {
        now: Some(made_for),
        allow_removals: plan
            .allowed_removals
            .iter()
            .map(|(k, n)| (*k, *n))
            .collect(),
        target: plan.targets.clone(),
        accept_read_drop: plan.accepted_read_drop,
    };
    let (fresh, live) = super::plan::make_reviewable(workspace, ui, &choices).await?;
    if fresh.fingerprint != plan.fingerprint {
        return Err(Failure::Message(format!(
            "the saved plan {shown} is stale: the policies, Okta or Office 365 changed since it was made; {nothing}\n  {remake}"
        )));
    }
    if fresh.is_refused() {
        crate::render::text::render(&fresh, &mut std::io::stdout().lock(), ui.style)?;
        return Err(Failure::Diagnostics(fresh.diagnostics()));
    }
    let edited = !plan.digest_matches();
    match crate::plan::seal::first_difference(&plan.actions, &fresh.actions) {
        Some(difference) => Err(Failure::Message(format!(
            "the saved plan {shown} is not what its inputs call for{}: {difference}; {nothing}\n  {remake}",
            if edited {
                " (the file was edited after okta365 wrote it)"
            } else {
                ""
            }
        ))),
        None if edited || fresh.digest != plan.digest => Err(Failure::Message(format!(
            "the saved plan {shown} was edited after okta365 wrote it (its digest does not match its content); {nothing}\n  {remake}"
        ))),
        None => Ok((fresh, live)),
    }
}
