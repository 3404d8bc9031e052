//! `okta365 emulate`: serve an emulator of Okta or Microsoft Graph on
//! loopback, for offline rehearsal, tests and benchmarks.

use std::process::ExitCode;

use crate::cli::Failure;

/// Arguments of `emulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which API to emulate.
    #[command(subcommand)]
    pub api: Api,
}

/// The emulated APIs (boxed: both argument sets are large).
#[derive(Debug, clap::Subcommand)]
pub enum Api {
    /// Microsoft Graph (and its token endpoint), seeded from a snapshot's `m365/` folder.
    Graph(Box<okta365_emulators::graph::CliArgs>),
    /// The Okta Management API (and its token endpoint), seeded from a snapshot's `okta/` folder.
    Okta(Box<okta365_emulators::okta::CliArgs>),
}

/// Runs `emulate` until interrupted.
pub async fn run(args: &Args) -> Result<ExitCode, Failure> {
    let served = match &args.api {
        Api::Graph(a) => okta365_emulators::graph::run((**a).clone()).await,
        Api::Okta(a) => okta365_emulators::okta::run((**a).clone()).await,
    };
    served.map_err(Failure::Message)?;
    Ok(ExitCode::SUCCESS)
}
