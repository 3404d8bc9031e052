//! `okta365 validate`: the config and policies, checked without reading
//! either side. Every reference inside the policies resolves (groups,
//! Teams, lookup tables, template variables); names only a tenant knows
//! (SKUs, Okta groups and attributes) are left to `plan`, and it says so.

use std::process::ExitCode;

use crate::cli::terminal::Ui;
use crate::cli::{Cli, Failure, Workspace};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `validate`.
pub fn run(cli: &Cli, _args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    let workspace = Workspace::open(&cli.config)?;
    let (checked, warnings) = workspace.check()?;
    ui.diagnostics(&warnings);
    let p = &checked.policy;
    println!(
        "{} policy files are valid: {} rules, {} guest rules, {} groups, {} mirrors, {} lookup tables.",
        p.files.len(),
        p.rules.len(),
        p.guests.len(),
        p.groups.len(),
        p.mirrors.len(),
        p.lookups.len()
    );
    println!(
        "Names only the tenants know are left to `okta365 plan`: Okta groups and profile attributes, and SKU and service plan names (checked here for their form only)."
    );
    Ok(ExitCode::SUCCESS)
}
