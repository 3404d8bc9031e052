//! `okta365 report licenses`: licence reconciliation for people.

use std::process::ExitCode;

use crate::cli::terminal::Ui;
use crate::cli::{Cli, Failure, Workspace};
use crate::report::licenses::{self, ReportInput};

/// Arguments of `report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which report.
    #[command(subcommand)]
    pub which: Which,
}

/// The reports.
#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Seats per SKU: bought, used by managed and unmanaged accounts, inherited
    /// from groups, held by disabled accounts, wanted by the policies, and
    /// left after the plan; then the disabled accounts that still hold seats.
    Licenses(LicenseArgs),
}

/// Arguments of `report licenses`.
#[derive(Debug, clap::Args)]
pub struct LicenseArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Report as of this time (RFC 3339) instead of now.
    #[arg(long, value_parser = super::parse_now)]
    pub now: Option<jiff::Timestamp>,
}

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table.
    Text,
    /// The report as JSON.
    Json,
    /// One line per SKU, for spreadsheets.
    Csv,
}

/// Runs `report`.
pub async fn run(cli: &Cli, args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    let Which::Licenses(args) = &args.which;
    let workspace = Workspace::open(&cli.config)?;
    let inputs = workspace.inputs(ui, |w| w.settings(args.now, None)).await?;
    let input = inputs.plan_input();
    let (desired, compiled) = crate::plan::desired(&input);
    // A plan that fails (a seat shortfall, say) still leaves the counts worth showing.
    let plan = crate::plan::build_from(&input, &desired, compiled).ok();
    let report = licenses::build(&ReportInput {
        live: &inputs.live,
        desired: &desired,
        plan: plan.as_ref(),
        okta_id_attribute: &inputs.settings.okta_id_attribute,
        offboarded_at_attribute: &inputs.settings.offboarded_at_attribute,
        now: inputs.settings.now,
    });
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => crate::render::licenses::text(&report, &mut out)?,
        Format::Csv => crate::render::licenses::csv(&report, &mut out)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)
                .map_err(|e| Failure::Message(format!("cannot write the report: {e}")))?;
            use std::io::Write;
            writeln!(out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
