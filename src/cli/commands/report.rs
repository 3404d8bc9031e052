//! `okta365 report licenses`: licence reconciliation for people.

use std::io::Write;
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
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
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
    /// One self-contained page: a seats-per-SKU chart and sortable tables.
    Html,
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
    let prices = workspace.config.prices.as_ref();
    let bill = prices.map(|p| crate::report::cost::report_bill(&report, p));
    let cost = prices.zip(bill.as_ref());
    let mut text = Vec::new();
    let out: &mut dyn std::io::Write = &mut text;
    match args.format {
        Format::Text => {
            crate::render::licenses::text(&report, out)?;
            if let Some((p, bill)) = cost {
                writeln!(out, "\n{}", bill.line(p))?;
            }
        }
        Format::Csv => crate::render::licenses::csv(&report, out)?,
        Format::Json => {
            let mut value = serde_json::to_value(&report)
                .map_err(|e| Failure::Message(format!("cannot write the report: {e}")))?;
            if let (Some(bill), serde_json::Value::Object(map)) = (&bill, &mut value) {
                map.insert(
                    "cost".into(),
                    serde_json::to_value(bill).expect("a bill serialises"),
                );
            }
            serde_json::to_writer_pretty(&mut *out, &value)
                .map_err(|e| Failure::Message(format!("cannot write the report: {e}")))?;
            writeln!(out)?;
        }
        Format::Html => crate::render::html::render(
            &report,
            &crate::render::html::Page {
                version: env!("CARGO_PKG_VERSION"),
                cost,
            },
            out,
        )?,
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| {
                Failure::Message(format!(
                    "cannot write the report to {}: {e}",
                    path.display()
                ))
            })?;
            eprintln!("Wrote the licence report to {}.", path.display());
        }
        None => std::io::stdout().lock().write_all(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}
