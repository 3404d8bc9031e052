//! `okta365 okta …`: read-only tools for the live Okta org the config names.
//! `okta logs` prints System Log events as JSON lines.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::terminal::{Level, Ui};
use crate::cli::{Cli, Failure, Workspace};
use crate::providers::okta::OktaClient;
use crate::providers::okta::logs::{Checkpoint, LogReader, Start};

/// Arguments of `okta`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The `okta` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print System Log events, oldest first, one JSON object per line.
    ///
    /// Without --follow, stops once Okta has nothing newer. With --checkpoint,
    /// the position is saved after each page, and a later run resumes there
    /// (each event is printed once).
    Logs(LogsArgs),
}

/// Arguments of `okta logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Start at this time (RFC 3339); needed unless the checkpoint file exists.
    #[arg(long, value_parser = super::parse_now)]
    pub since: Option<jiff::Timestamp>,
    /// Keep polling for new events until interrupted.
    #[arg(long)]
    pub follow: bool,
    /// A state file holding the position; resumed from when it exists.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Only events of this type (repeat for several), e.g. `user.lifecycle.deactivate`.
    #[arg(long = "event-type", value_name = "TYPE")]
    pub event_types: Vec<String>,
    /// Seconds between polls once caught up (with --follow); default: the
    /// config's `events.poll_seconds`.
    #[arg(long, value_name = "SECONDS")]
    pub interval: Option<f64>,
}

/// Runs `okta`.
pub async fn run(cli: &Cli, args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    match &args.command {
        Command::Logs(a) => logs(cli, a, ui).await,
    }
}

async fn logs(cli: &Cli, args: &LogsArgs, ui: &Ui) -> Result<ExitCode, Failure> {
    let workspace = Workspace::open(&cli.config)?;
    if workspace.config.okta.snapshot.is_some() {
        return Err(Failure::Message(
            "`okta logs` reads the live System Log, but the config's `okta` is a snapshot\n  hint: set `okta.org_url` and `okta.auth` instead of `okta.snapshot`".into(),
        ));
    }
    let fail = |e: crate::providers::okta::OktaError| Failure::Message(e.message);
    let client = OktaClient::from_config(&workspace.config.okta).map_err(fail)?;
    let saved = match &args.checkpoint {
        Some(path) => Checkpoint::load(path).map_err(fail)?,
        None => None,
    };
    let start = match (saved, args.since) {
        (Some(saved), since) => {
            if since.is_some() {
                ui.say(
                    Level::Info,
                    "Resuming from the checkpoint file; --since is ignored.",
                );
            }
            Start::Resume(saved)
        }
        (None, Some(since)) => Start::Since(since),
        (None, None) => {
            return Err(Failure::Message(
                "`okta logs` needs --since TIME (or a --checkpoint file from an earlier run)"
                    .into(),
            ));
        }
    };
    let mut reader = LogReader::new(
        client.http(),
        start,
        args.event_types.clone(),
        args.checkpoint.clone(),
    )
    .map_err(fail)?;
    let seconds = args
        .interval
        .unwrap_or(workspace.config.events.poll_seconds as f64);
    let interval = Duration::from_secs_f64(seconds.clamp(0.05, 3600.0));
    let mut printed = 0u64;
    loop {
        let batch = tokio::select! {
            b = reader.next_batch() => b.map_err(fail)?,
            _ = tokio::signal::ctrl_c() => break,
        };
        let mut out = std::io::stdout().lock();
        for event in &batch.events {
            serde_json::to_writer(&mut out, event).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        drop(out);
        printed += batch.events.len() as u64;
        reader.commit().map_err(fail)?;
        if batch.caught_up {
            if !args.follow || batch.finished {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = tokio::signal::ctrl_c() => break,
            }
        }
    }
    tracing::info!(events = printed, "okta logs finished");
    Ok(ExitCode::SUCCESS)
}
