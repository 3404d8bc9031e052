//! `okta365 schema`: the JSON Schemas, generated from the Rust types.

use std::process::ExitCode;

use crate::cli::Failure;

/// Which schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// Policy files (`policies/*.yaml`).
    Policy,
    /// The config file (`okta365.yaml`).
    Config,
    /// Policy test files (`policies/tests/*.yaml`).
    Test,
}

/// Arguments of `schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which schema to print.
    #[arg(value_enum, default_value_t = Which::Policy)]
    pub which: Which,
}

/// Runs `schema`.
pub fn run(args: &Args) -> Result<ExitCode, Failure> {
    println!("{}", schema_text(args.which));
    Ok(ExitCode::SUCCESS)
}

/// The schema as committed in `schemas/` (pretty JSON).
pub fn schema_text(which: Which) -> String {
    let value = match which {
        Which::Policy => crate::policy::policy_schema(),
        Which::Config => crate::config::config_schema(),
        Which::Test => crate::testing::test_schema(),
    };
    serde_json::to_string_pretty(&value).expect("schema serialises")
}
