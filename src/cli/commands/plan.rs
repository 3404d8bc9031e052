//! `okta365 plan`: what would change, as text, JSON or Markdown.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use tracing::Instrument;

use crate::cli::terminal::{Level, Ui, phase, resident_mb};
use crate::cli::{Cli, Failure, Workspace};
use crate::model::state::{LiveState, SourceState};
use crate::plan::{Plan, PlanInput};

/// Output formats of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Terraform-like `+ ~ -` blocks.
    Text,
    /// Stable JSON (`docs/plan-json.md`).
    Json,
    /// A pull-request comment.
    Markdown,
}

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also save the plan as JSON, for `okta365 apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// What to plan: the time, removal allowance, targets.
    #[command(flatten)]
    pub choices: Choices,
}

/// The choices a fresh plan is made with (`plan`, and `apply` without a saved plan).
#[derive(Debug, Default, clap::Args)]
pub struct Choices {
    /// Plan as of this time (RFC 3339) instead of now; offboarding stages count from it.
    #[arg(long, value_parser = super::parse_now)]
    pub now: Option<jiff::Timestamp>,
    /// Accept removals beyond a safety budget: `N` (accounts disabled or
    /// deleted) or `KIND=N`, KIND one of accounts, memberships,
    /// team_memberships, owners, licences, guests; repeat for several kinds.
    /// Recorded in the plan and every audit record.
    #[arg(long, value_name = "[KIND=]N", value_parser = crate::plan::budget::parse_allowance)]
    pub allow_removals: Vec<(crate::plan::budget::RemovalKind, usize)>,
    /// Plan only the changes to this user (UPN, Okta login, email or id) and
    /// what they need; repeat for several users.
    #[arg(long, value_name = "USER")]
    pub target: Vec<String>,
    /// Accept a read whose users, groups or members fell since the previous
    /// read by more than `safety.max_read_drop_percent` (recorded in the plan
    /// and the audit trail).
    #[arg(long)]
    pub accept_read_drop: bool,
}

/// Runs `plan`. A plan a guard rail refuses is still printed (and saved),
/// under a "refused" banner with every reason, and exits 1.
pub async fn run(cli: &Cli, args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    let workspace = phase("load", || Workspace::open(&cli.config))?;
    let (plan, _) = make_reviewable(&workspace, ui, &args.choices).await?;
    phase("render", || -> Result<(), Failure> {
        if let Some(path) = &args.out {
            save(&plan, path)?;
        }
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        // With prices in the config, a plan that changes anything says what it costs.
        let prices = workspace
            .config
            .prices
            .as_ref()
            .filter(|_| !plan.is_empty());
        let cost = prices.map(|p| (p, crate::report::cost::plan_cost(&plan, p)));
        match (args.format, &cost) {
            (Format::Text, _) => crate::render::text::render(&plan, &mut out, ui.style)?,
            (Format::Json, None) => crate::render::json::render(&plan, &mut out)?,
            (Format::Json, Some((_, cost))) => crate::render::cost::json(&plan, cost, &mut out)?,
            (Format::Markdown, _) => crate::render::markdown::render(&plan, &mut out)?,
        }
        match (args.format, &cost) {
            (Format::Text, Some((p, cost))) => crate::render::cost::text(cost, p, &mut out)?,
            (Format::Markdown, Some((p, cost))) => {
                crate::render::cost::markdown(cost, p, &mut out)?
            }
            _ => {}
        }
        out.flush()?;
        Ok(())
    })?;
    if plan.is_refused() {
        return Err(Failure::Diagnostics(plan.diagnostics()));
    }
    // Warnings are in the plan; annotations (and JSON logs) need them on stderr too.
    if ui.wants_diagnostics_on_stderr() {
        ui.diagnostics(&plan.warnings);
    }
    if let Some(path) = &args.out {
        ui.say(
            Level::Info,
            &format!(
                "Saved the plan to {}. Apply it with: okta365 apply {}",
                path.display(),
                path.display()
            ),
        );
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads both sides and builds a plan (shared with `watch`), refusing a
/// plan a guard rail refuses.
pub async fn make(
    workspace: &Workspace,
    ui: &Ui,
    choices: &Choices,
) -> Result<(Plan, LiveState), Failure> {
    let (plan, live) = make_reviewable(workspace, ui, choices).await?;
    if plan.is_refused() {
        return Err(Failure::Diagnostics(plan.diagnostics()));
    }
    Ok((plan, live))
}

/// Reads both sides and builds a plan, also when a guard rail refuses it
/// (its reasons in [`Plan::refused`]), so that it can be shown. Returns the
/// live state it read too (apply runs the plan against it).
pub async fn make_reviewable(
    workspace: &Workspace,
    ui: &Ui,
    choices: &Choices,
) -> Result<(Plan, LiveState), Failure> {
    let (checked, warnings) = phase("load", || workspace.check())?;
    ui.diagnostics(&warnings);
    workspace.accept_read_drop(choices.accept_read_drop);
    let (source, live) = workspace
        .read()
        .instrument(tracing::info_span!("phase", phase = "read"))
        .await?;
    tracing::info!(
        okta_users = source.users.len(),
        okta_groups = source.groups.len(),
        m365_users = live.users.len(),
        m365_groups = live.groups.len(),
        resident_mb = resident_mb(),
        "read both sides"
    );
    let mut settings = workspace.settings(choices.now, None);
    settings
        .allowed_removals
        .extend(choices.allow_removals.iter().copied());
    settings.targets = choices.target.clone();
    // The fingerprint (a hash over both states) needs no plan: compute it on
    // another core while this one compiles.
    let (compiled, fingerprint) = std::thread::scope(|s| {
        let fingerprint = s.spawn(|| {
            phase("fingerprint", || {
                workspace.fingerprint(&source, &live, &settings)
            })
        });
        let input = PlanInput {
            policy: &checked,
            source: &source,
            live: &live,
            settings: &settings,
            fingerprint: String::new(),
        };
        let compiled = tracing::info_span!("phase", phase = "compile")
            .in_scope(|| crate::plan::desired(&input));
        let fingerprint = fingerprint
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (compiled, fingerprint)
    });
    // The diff needs the desired state, not the Okta state: free that first.
    drop_in_background(source);
    let (desired, diagnostics) = compiled;
    let no_source = SourceState::default();
    let input = PlanInput {
        policy: &checked,
        source: &no_source,
        live: &live,
        settings: &settings,
        fingerprint: String::new(),
    };
    let mut plan = crate::plan::build_reviewable(&input, &desired, diagnostics);
    drop_in_background(desired);
    plan.fingerprint = fingerprint;
    plan.accepted_read_drop = choices.accept_read_drop;
    plan.seal();
    tracing::info!(
        actions = plan.actions.len(),
        refused = plan.refused.len(),
        resident_mb = resident_mb(),
        "planned"
    );
    Ok((plan, live))
}

/// Frees a large value on another thread: at 100 000 users, freeing the
/// desired state or the Okta state takes longer than rendering the plan, and
/// the process may exit before it is done (the system frees it all then).
fn drop_in_background<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}

/// Writes the plan as JSON, atomically.
fn save(plan: &Plan, path: &std::path::Path) -> Result<(), Failure> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let fail = |e: std::io::Error| {
        Failure::Message(format!("cannot save the plan to {}: {e}", path.display()))
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    crate::render::json::render(plan, &mut file).map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}
