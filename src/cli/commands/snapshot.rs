//! `okta365 snapshot save DIR`: read both sides exactly as `plan` does
//! (snapshots or live APIs, the same scope) and write them as a snapshot
//! folder, so a plan from `DIR` is the plan from the live sides; with
//! `--pseudonymise`, names, mails and UPNs are replaced for a bug report.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::workspace::Workspace;
use crate::cli::{Cli, Failure};
use crate::providers::snapshot::{M365Snapshot, OktaSnapshot};

/// Arguments of `snapshot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

/// What to do with a snapshot.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Read Okta and Office 365 as `plan` does and write them to DIR/okta and DIR/m365.
    Save(SaveArgs),
}

/// Arguments of `snapshot save`.
#[derive(Debug, clap::Args)]
pub struct SaveArgs {
    /// The folder to write (created if missing; its snapshot files are replaced).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Replace people's names, mails and UPNs by made-up ones, the same on
    /// both sides, so the snapshot can be shared in a bug report.
    #[arg(long)]
    pub pseudonymise: bool,
}

/// Runs `snapshot save`.
pub async fn run(cli: &Cli, args: &Args) -> Result<ExitCode, Failure> {
    let Action::Save(save) = &args.action;
    let workspace = Workspace::open(&cli.config)?;
    let (mut source, mut live) = workspace.read().await?;
    if save.pseudonymise {
        crate::model::pseudonymise::pseudonymise(&mut source, &mut live);
    }
    let fail = |e: std::io::Error| {
        Failure::Message(format!(
            "cannot write the snapshot to {}: {e}",
            save.dir.display()
        ))
    };
    OktaSnapshot {
        dir: save.dir.join("okta"),
    }
    .store(&source)
    .map_err(fail)?;
    M365Snapshot {
        dir: save.dir.join("m365"),
    }
    .store(&live)
    .map_err(fail)?;
    eprintln!(
        "Saved {} Okta users, {} groups ({} member lists) and {} Office 365 users, {} groups ({} member lists), {} SKUs to {}{}.\n  \
         Plan from it with `okta: {{ snapshot: {dir} }}` and `m365: {{ snapshot: {dir} }}` in the config.",
        source.users.len(),
        source.groups.len(),
        source.members.len(),
        live.users.len(),
        live.groups.len(),
        live.members.len(),
        live.skus.len(),
        save.dir.display(),
        if save.pseudonymise {
            " (pseudonymised)"
        } else {
            ""
        },
        dir = save.dir.display(),
    );
    Ok(ExitCode::SUCCESS)
}
