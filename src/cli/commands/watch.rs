//! `okta365 watch`: event mode. Reads Okta System Log events as they arrive,
//! locks the accounts of users an incident names within seconds (block
//! sign-in, revoke sessions), and makes a full plan after the events that
//! call for one (applied only with `--apply`, with every safety check).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::cli::terminal::{Level, Ui};
use crate::cli::{Cli, Failure, Workspace};
use crate::events::{self, Trigger};
use crate::providers::events::LineFeed;

/// Arguments of `watch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Okta System Log events, one JSON object per line: a file, or `-` for
    /// standard input, e.g. `okta365 okta logs --follow | okta365 watch --events -`.
    #[arg(long, value_name = "FILE")]
    pub events: PathBuf,
    /// Apply the full plan that follows reconcile events (lockdowns are always applied).
    #[arg(long)]
    pub apply: bool,
    /// Seconds of quiet after a reconcile event before the full plan is made,
    /// so a burst of events makes one plan.
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    pub settle: u64,
    /// Accept removals beyond a safety budget in full plans: `N` (accounts)
    /// or `KIND=N` (see `plan --help`); repeat for several kinds.
    #[arg(long, value_name = "[KIND=]N", value_parser = crate::plan::budget::parse_allowance)]
    pub allow_removals: Vec<(crate::plan::budget::RemovalKind, usize)>,
}

/// Runs `watch` until the event input ends.
pub async fn run(cli: &Cli, args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    let workspace = Workspace::open(&cli.config)?;
    let (checked, warnings) = workspace.check()?;
    ui.diagnostics(&warnings);
    let rules = &workspace.config.events;
    let source = cli.config.display().to_string();
    let policy_groups: std::collections::BTreeSet<String> =
        checked.groups.keys().cloned().collect();
    // A lockdown reads only Office 365: the users, and the sensitive and protected groups.
    let lockdown_scope = {
        let settings = workspace.settings(None, None);
        crate::providers::LiveScope {
            groups: rules
                .lockdown
                .remove_from_groups
                .iter()
                .chain(&checked.policy.protected.groups)
                .cloned()
                .collect(),
            user_properties: [
                settings.okta_id_attribute.property(),
                settings.offboarded_at_attribute.property(),
            ]
            .into(),
            managers: false,
            offboard: None,
        }
    };
    let mut feed = LineFeed::open(&args.events)
        .await
        .map_err(|e| Failure::Message(format!("reading events: {e}")))?;
    ui.say(
        Level::Info,
        &format!(
            "Watching {} for Okta events (lockdown on: {}).",
            args.events.display(),
            rules.lockdown.event_types.join(", ")
        ),
    );
    let settle = Duration::from_secs(args.settle);
    let mut reconcile_due: Option<String> = None;
    // Accounts locked in this session: a full plan that would sign one back
    // in is not applied (Okta has not caught up with the incident yet).
    let mut locked: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut failed = false;
    loop {
        let next = if reconcile_due.is_some() {
            match tokio::time::timeout(settle, feed.next()).await {
                Ok(next) => next,
                Err(_) => {
                    let why = reconcile_due.take().unwrap_or_default();
                    failed |= !reconcile(&workspace, ui, args, &why, &locked).await?;
                    continue;
                }
            }
        } else {
            feed.next().await
        };
        let event = match next.map_err(|e| Failure::Message(format!("reading events: {e}")))? {
            Some(event) => event,
            None => break,
        };
        let received = Instant::now();
        let triggers = events::classify(rules, &event);
        if triggers
            .iter()
            .any(|t| matches!(t, Trigger::Lockdown { .. }))
        {
            let settings = workspace.settings(None, None);
            let live = workspace.read_m365_scoped(&lockdown_scope).await?;
            let lockdown = events::lockdown(
                &triggers,
                &events::LockdownInput {
                    live: &live,
                    rules: &rules.lockdown,
                    policy_groups: &policy_groups,
                    protected: &checked.policy.protected,
                    settings: &settings,
                    source: &source,
                },
            );
            for note in &lockdown.skipped {
                ui.say(Level::Warning, &format!("lockdown skipped: {note}"));
            }
            if !lockdown.plan.is_empty() {
                println!(
                    "Lockdown after {} (event {}):",
                    event.event_type, event.uuid
                );
                let code = super::apply::carry_out(&workspace, ui, &lockdown.plan, live).await?;
                failed |= code != ExitCode::SUCCESS;
                locked.extend(
                    lockdown
                        .plan
                        .actions
                        .iter()
                        .filter_map(|a| a.op.user_key())
                        .map(str::to_lowercase),
                );
                println!(
                    "Lockdown took {} ms from receiving the event.",
                    received.elapsed().as_millis()
                );
                std::io::stdout().flush()?;
            }
        }
        if let Some(Trigger::Reconcile { event_type }) = triggers
            .iter()
            .find(|t| matches!(t, Trigger::Reconcile { .. }))
        {
            reconcile_due = Some(event_type.clone());
        }
    }
    if let Some(why) = reconcile_due {
        failed |= !reconcile(&workspace, ui, args, &why, &locked).await?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Makes a full plan after `why` (an event type); applies it with `--apply`.
/// Returns whether everything it did succeeded.
async fn reconcile(
    workspace: &Workspace,
    ui: &Ui,
    args: &Args,
    why: &str,
    locked: &std::collections::BTreeSet<String>,
) -> Result<bool, Failure> {
    // A full plan that fails (a safety check, a read error) is reported and
    // watching goes on: the next event tries again.
    let (plan, live) = match super::plan::make(
        workspace,
        ui,
        &super::plan::Choices {
            allow_removals: args.allow_removals.clone(),
            ..Default::default()
        },
    )
    .await
    {
        Ok(made) => made,
        Err(failure) => {
            ui.say(
                Level::Error,
                &format!("the full plan after {why} failed; nothing was applied"),
            );
            ui.report(&failure);
            return Ok(false);
        }
    };
    if plan.is_empty() {
        println!("After {why}: no changes.");
        return Ok(true);
    }
    let reopened: Vec<&str> = plan
        .actions
        .iter()
        .filter(|a| a.kind == crate::plan::ActionKind::EnableUser)
        .filter_map(|a| a.op.user_key())
        .filter(|upn| locked.contains(&upn.to_lowercase()))
        .collect();
    let unlock = if reopened.is_empty() {
        None
    } else {
        Some(format!(
            "the full plan after {why} would sign back in {}, locked by an incident in this session",
            reopened.join(", ")
        ))
    };
    const UNLOCK_HINT: &str = "hint: suspend the user in Okta, or give the lockdown group a rule with `account: disabled`; unlock by hand once the incident is over";
    if !args.apply {
        println!(
            "After {why}: {} changes pending; review them with `okta365 plan` (or watch with --apply).",
            plan.actions.len()
        );
        if let Some(unlock) = unlock {
            ui.say(Level::Warning, &format!("{unlock}\n  {UNLOCK_HINT}"));
        }
        return Ok(true);
    }
    if let Some(unlock) = unlock {
        ui.say(
            Level::Error,
            &format!("{unlock}; nothing was applied\n  {UNLOCK_HINT}"),
        );
        return Ok(false);
    }
    println!("After {why}: applying {} changes.", plan.actions.len());
    let code = super::apply::carry_out(workspace, ui, &plan, live).await?;
    Ok(code == ExitCode::SUCCESS)
}
