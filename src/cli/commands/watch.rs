//! `okta365 watch`: event mode over a file or standard input, for
//! rehearsal with System Log exports. Each line is journaled and acted on
//! by the same journal and worker as `okta365 serve`: lockdowns within
//! seconds (block sign-in, revoke sessions) within the lockdown breaker,
//! the conditional-access relay, and a full plan after the events that call
//! for one (applied only with `--apply` or `events.reconcile.apply`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::terminal::Ui;
use crate::cli::{Cli, Failure, Workspace};
use crate::events::RuleLines;
use crate::events::hook::{self, Received};
use crate::providers::events::LineFeed;
use crate::serve::alert::LogAlert;
use crate::serve::journal::{Journal, Source};
use crate::serve::metrics::label;
use crate::serve::worker::{self, Context, now_ms};

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
    /// so a burst of events makes one plan (default: `events.reconcile.settle_seconds`).
    #[arg(long, value_name = "SECONDS")]
    pub settle: Option<f64>,
    /// Accept removals beyond a safety budget in full plans: `N` (accounts)
    /// or `KIND=N` (see `plan --help`); repeat for several kinds.
    #[arg(long, value_name = "[KIND=]N", value_parser = crate::plan::budget::parse_allowance)]
    pub allow_removals: Vec<(crate::plan::budget::RemovalKind, usize)>,
    /// The event journal (default: `events.journal.path`). Events already in
    /// it (same `uuid`) are not acted on again.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
}

/// Opens the workspace and journal and builds the shared context (also `serve`'s).
pub(crate) fn context(cli: &Cli, ui: &Ui, journal: Option<&PathBuf>) -> Result<Context, Failure> {
    let workspace = Workspace::open(&cli.config)?;
    let (checked, warnings) = workspace.check()?;
    ui.diagnostics(&warnings);
    let path = journal
        .cloned()
        .unwrap_or_else(|| workspace.config.events.journal.path.clone());
    let journal = Journal::open(&path).map_err(|e| Failure::Message(e.to_string()))?;
    let recovered = journal
        .recover(now_ms())
        .map_err(|e| Failure::Message(e.to_string()))?;
    if recovered > 0 {
        eprintln!(
            "Resuming {recovered} events left unfinished in {}.",
            path.display()
        );
    }
    let lines = rule_lines(&cli.config, &workspace.config.events);
    Context::new(workspace, checked, journal, Box::new(LogAlert), lines)
}

/// Where the config file wrote the event rules (it was read and parsed
/// once already: a second read that fails only loses the line numbers).
fn rule_lines(config: &std::path::Path, rules: &crate::events::EventRules) -> RuleLines {
    let file = config.display().to_string();
    std::fs::read_to_string(config)
        .ok()
        .and_then(|text| crate::policy::yaml::parse(&text).ok())
        .map_or_else(
            || RuleLines::unplaced(&file),
            |(_, spans)| RuleLines::new(&file, &spans, rules),
        )
}

/// Runs `watch` until the event input ends and the journaled work is done.
pub async fn run(cli: &Cli, args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    let ctx = context(cli, ui, args.journal.as_ref())?;
    let apply = args.apply || ctx.rules.reconcile.apply;
    let settle = Duration::from_secs_f64(
        args.settle
            .unwrap_or(ctx.rules.reconcile.settle_seconds)
            .max(0.0),
    );
    let mut feed = LineFeed::open(&args.events)
        .await
        .map_err(|e| Failure::Message(format!("reading events: {e}")))?;
    eprintln!(
        "Watching {} for Okta events (lockdown on: {}).",
        args.events.display(),
        ctx.rules.lockdown.event_types.join(", ")
    );
    let mut trouble = drain(&ctx).await?;
    loop {
        let waiting = !ctx
            .journal
            .call(|j| j.awaiting_plan())
            .await
            .map_err(|e| Failure::Message(e.to_string()))?
            .is_empty();
        let next = if waiting {
            match tokio::time::timeout(settle, feed.next_line()).await {
                Ok(next) => next,
                Err(_) => {
                    trouble |= !crate::serve::reconcile::now(&ctx, ui, apply, &args.allow_removals)
                        .await?;
                    continue;
                }
            }
        } else {
            feed.next_line().await
        };
        let Some((line, text)) =
            next.map_err(|e| Failure::Message(format!("reading events: {e}")))?
        else {
            break;
        };
        let received = hook::line(&text);
        if let Received::Rejected { reason, .. } = &received {
            eprintln!("warning: {}:{line}: rejected: {reason}", feed.name());
        }
        ingest(&ctx, received).await?;
        trouble |= drain(&ctx).await?;
    }
    // Retries still due run before watch ends.
    loop {
        let next = ctx
            .journal
            .call(|j| j.next_retry_ms())
            .await
            .map_err(|e| Failure::Message(e.to_string()))?;
        let Some(at) = next else { break };
        let wait = (at - now_ms()).max(0) as u64;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        trouble |= drain(&ctx).await?;
    }
    trouble |= !crate::serve::reconcile::now(&ctx, ui, apply, &args.allow_removals).await?;
    Ok(if trouble {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Journals one line's event, counting it.
async fn ingest(ctx: &Context, received: Received) -> Result<(), Failure> {
    let now = now_ms();
    let got = ctx
        .journal
        .call(move |j| j.ingest(Source::File, &[received], None, now))
        .await
        .map_err(|e| Failure::Message(e.to_string()))?;
    let source = label("source", "file");
    ctx.metrics
        .add("okta365_events_received_total", source.clone(), 1);
    ctx.metrics.add(
        "okta365_events_deduplicated_total",
        source,
        got.duplicates as u64,
    );
    ctx.metrics.add(
        "okta365_events_rejected_total",
        label("reason", "malformed"),
        got.rejected as u64,
    );
    Ok(())
}

/// Works until no journaled event is due; returns whether anything went wrong.
async fn drain(ctx: &Context) -> Result<bool, Failure> {
    let mut trouble = false;
    loop {
        let pass = worker::pass(ctx).await?;
        trouble |= pass.trouble;
        if pass.taken == 0 {
            return Ok(trouble);
        }
    }
}
