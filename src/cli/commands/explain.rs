//! `okta365 explain USER`: why a user gets what they get.

use std::process::ExitCode;

use crate::cli::terminal::Ui;
use crate::cli::{Cli, Failure, Workspace};

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The Okta user: id, login, email, or the UPN the policies give them.
    pub user: String,
    /// Explain as of this time (RFC 3339) instead of now.
    #[arg(long, value_parser = super::parse_now)]
    pub now: Option<jiff::Timestamp>,
}

/// Runs `explain`.
pub async fn run(cli: &Cli, args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    let workspace = Workspace::open(&cli.config)?;
    let inputs = workspace.inputs(ui, |w| w.settings(args.now, None)).await?;
    let input = inputs.plan_input();
    let (desired, compiled) = crate::plan::desired(&input);
    let Some(user) = crate::render::explain::find(&args.user, &inputs.source, &desired) else {
        return Err(Failure::Message(format!(
            "no Okta user `{}`\n  hint: give an Okta id, login, email, or the user's Office 365 UPN",
            args.user
        )));
    };
    // A plan that fails (e.g. a seat shortfall) still leaves the desired state worth showing.
    let plan = crate::plan::build_from(&input, &desired, compiled).ok();
    let explain = crate::render::explain::Explain {
        user,
        desired: &desired,
        plan: plan.as_ref(),
        checked: &inputs.checked,
        live: &inputs.live,
        settings: &inputs.settings,
    };
    crate::render::explain::render(&explain, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
