//! `okta365 audit flush`: sends the audit records the sinks' spools hold
//! (left by runs whose receiver was down), oldest first. Run it from cron,
//! or let the next `apply` do it.

use std::process::ExitCode;

use crate::cli::{Cli, Failure, Workspace};
use crate::sinks::{Origin, SinkSet};

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub which: Which,
}

/// Audit trail tools.
#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Send what the sinks' spools hold; exit 1 when some of it is still waiting.
    Flush,
}

/// Runs `audit`.
pub async fn run(cli: &Cli, args: &Args) -> Result<ExitCode, Failure> {
    let Which::Flush = args.which;
    let workspace = Workspace::open(&cli.config)?;
    let audit = &workspace.config.audit;
    if audit.sinks.is_empty() {
        println!("No audit sinks are configured (`audit.sinks` in the config).");
        return Ok(ExitCode::SUCCESS);
    }
    let origin = Origin::detect(&workspace.config.policies);
    let sinks = SinkSet::start(&audit.sinks, &audit.spool, &origin).map_err(Failure::Message)?;
    let reports = sinks.finish().await;
    let mut waiting = false;
    for r in &reports {
        println!("{}", r.line());
        waiting |= r.waiting > 0;
    }
    Ok(if waiting {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
