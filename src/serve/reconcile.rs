//! Full plans after reconcile events: debounced (a burst makes one plan),
//! made with `plan`'s code and applied only when configured, with every
//! guard rail of `apply` (safety budget, seats, stale inputs), plus one of
//! event mode's own: a plan that would sign back in an account event mode
//! locked is refused (Okta has not caught up with the incident yet).

use std::process::ExitCode;
use std::time::Duration;

use super::alert::{AlertEvent, AlertKind};
use super::metrics::label;
use super::worker::{Context, now_ms};
use crate::cli::Failure;
use crate::cli::terminal::Ui;

const UNLOCK_HINT: &str = "hint: suspend the user in Okta, or give the lockdown group a rule with `account: disabled`; once the incident is over, `okta365 events unlock UPN`";

/// Makes the full plan the waiting events call for; applies it when `apply`.
/// Returns whether it ended well (no changes, changes reported, or applied).
pub async fn now(
    ctx: &Context,
    ui: &Ui,
    apply: bool,
    allow_removals: &[(crate::plan::budget::RemovalKind, usize)],
) -> Result<bool, Failure> {
    let waiting = ctx
        .journal
        .call(|j| j.awaiting_plan())
        .await
        .map_err(|e| Failure::Message(e.to_string()))?;
    if waiting.is_empty() {
        return Ok(true);
    }
    let why = if waiting.len() == 1 {
        format!("event {}", waiting[0])
    } else {
        format!("{} events", waiting.len())
    };
    // Applying writes to Office 365: no lockdown runs meanwhile, and the
    // plan is made inside the lock so it sees every lockdown before it.
    let writing = if apply {
        Some(ctx.writer.lock().await)
    } else {
        None
    };
    let choices = crate::cli::commands::plan::Choices {
        allow_removals: allow_removals.to_vec(),
        ..Default::default()
    };
    let (ok, note, result) = match crate::cli::commands::plan::make(&ctx.workspace, ui, &choices)
        .await
    {
        Err(failure) => {
            eprintln!("error: the full plan after {why} failed; nothing was applied");
            ui.report(&failure);
            let reason = match &failure {
                Failure::Message(m) => m.lines().next().unwrap_or_default().to_owned(),
                Failure::Diagnostics(d) => format!("{} policy errors", d.len()),
            };
            (false, format!("the full plan failed: {reason}"), "failed")
        }
        Ok((plan, _)) if plan.is_empty() => {
            println!("After {why}: no changes.");
            (true, String::new(), "no_changes")
        }
        Ok((plan, live)) => {
            let locked = ctx
                .journal
                .call(|j| j.locked_accounts())
                .await
                .map_err(|e| Failure::Message(e.to_string()))?;
            let reopened: Vec<&str> = plan
                .actions
                .iter()
                .filter(|a| a.kind == crate::plan::ActionKind::EnableUser)
                .filter_map(|a| a.op.user_key())
                .filter(|upn| locked.contains(&upn.to_lowercase()))
                .collect();
            let unlock = (!reopened.is_empty()).then(|| {
                format!(
                    "the full plan after {why} would sign back in {}, locked by event mode",
                    reopened.join(", ")
                )
            });
            if !apply {
                println!(
                    "After {why}: {} changes pending; review them with `okta365 plan` (or set `events.reconcile.apply`).",
                    plan.actions.len()
                );
                if let Some(unlock) = &unlock {
                    eprintln!("warning: {unlock}\n  {UNLOCK_HINT}");
                }
                (true, String::new(), "pending")
            } else if let Some(unlock) = unlock {
                eprintln!("error: {unlock}; nothing was applied\n  {UNLOCK_HINT}");
                (false, format!("refused: {unlock}"), "failed")
            } else {
                println!("After {why}: applying {} changes.", plan.actions.len());
                let code =
                    crate::cli::commands::apply::carry_out(&ctx.workspace, ui, &plan, live).await?;
                if code == ExitCode::SUCCESS {
                    (true, String::new(), "applied")
                } else {
                    (
                        false,
                        "some actions of the full plan failed".into(),
                        "failed",
                    )
                }
            }
        }
    };
    drop(writing);
    ctx.metrics
        .add("okta365_plans_total", label("result", result), 1);
    if !ok {
        ctx.alert.raise(&AlertEvent {
            kind: AlertKind::PlanFailed,
            summary: format!("The full plan after {why}: {note}"),
            hint: "run `okta365 plan` to see why; the next reconcile event plans again".into(),
        });
    }
    let at = now_ms();
    ctx.journal
        .call(move |j| j.plan_made(&waiting, ok, &note, at))
        .await
        .map_err(|e| Failure::Message(e.to_string()))?;
    Ok(ok)
}

/// Serves full plans until `stop` fires: after events start waiting, plans
/// once `settle` passes without another, or `max_wait` after the first.
pub async fn run(ctx: &Context, ui: &Ui, mut stop: tokio::sync::watch::Receiver<bool>) {
    let settings = ctx.rules.reconcile.clone();
    let settle = Duration::from_secs_f64(settings.settle_seconds.max(0.0));
    let max_wait = Duration::from_secs_f64(settings.max_wait_seconds.max(0.0));
    // Events left waiting by an earlier run plan at once.
    let mut pending = ctx
        .journal
        .call(|j| j.awaiting_plan())
        .await
        .is_ok_and(|w| !w.is_empty());
    loop {
        if !pending {
            tokio::select! {
                _ = ctx.plan_wanted.notified() => {}
                _ = stop.changed() => return,
            }
        }
        let first = tokio::time::Instant::now();
        let mut last = first;
        loop {
            let due = (last + settle).min(first + max_wait);
            tokio::select! {
                _ = tokio::time::sleep_until(due) => break,
                _ = ctx.plan_wanted.notified() => last = tokio::time::Instant::now(),
                _ = stop.changed() => return,
            }
        }
        if let Err(failure) = now(ctx, ui, settings.apply, &[]).await {
            ui.report(&failure);
        }
        pending = false;
    }
}
