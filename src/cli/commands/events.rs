//! `okta365 events …`: look at and steer the event journal of `serve` and
//! `watch`, also while `serve` runs: its status and latencies, resetting
//! the lockdown breaker, and letting full plans sign an account back in.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{Cli, Failure, Workspace};
use crate::serve::journal::Journal;
use crate::serve::worker::now_ms;

/// Arguments of `events`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The event journal (default: `events.journal.path`).
    #[arg(long, global = true, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The `events` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Events by state, the breaker, lockdown latencies, and the events that need attention.
    Status,
    /// The lockdown breaker.
    Breaker {
        /// What to do with it.
        #[command(subcommand)]
        action: BreakerAction,
    },
    /// Let full plans sign this account (UPN) back in: the incident is over.
    Unlock {
        /// The account's user principal name.
        upn: String,
    },
}

/// Breaker actions.
#[derive(Debug, clap::Subcommand)]
pub enum BreakerAction {
    /// Reset a tripped breaker: the held lockdowns run (or are discarded).
    Reset {
        /// Discard the held events instead of running them.
        #[arg(long)]
        discard_held: bool,
    },
}

/// Runs `events`.
pub async fn run(cli: &Cli, args: &Args) -> Result<ExitCode, Failure> {
    let path = match &args.journal {
        Some(p) => p.clone(),
        None => Workspace::open(&cli.config)?.config.events.journal.path,
    };
    if !path.exists() {
        return Err(Failure::Message(format!(
            "no event journal at {}\n  hint: `okta365 serve` or `watch` creates it; pass --journal FILE for another one",
            path.display()
        )));
    }
    let journal = Journal::open_shared(&path).map_err(|e| Failure::Message(e.to_string()))?;
    let fail = |e: crate::serve::journal::JournalError| Failure::Message(e.to_string());
    match &args.command {
        Command::Status => {
            let counts = journal.counts().map_err(fail)?;
            println!("Journal {}:", path.display());
            for (state, n) in &counts.by_state {
                println!("  {state:<9} {n}");
            }
            println!(
                "  held by the breaker: {}; waiting for a full plan: {}",
                counts.held, counts.waiting_for_plan
            );
            match journal.breaker().map_err(fail)? {
                Some(b) => println!(
                    "Lockdown breaker: TRIPPED at {} ({}); reset it with `okta365 events breaker reset`",
                    jiff::Timestamp::from_millisecond(b.at_ms)
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                    b.reason
                ),
                None => println!("Lockdown breaker: closed"),
            }
            let latencies = journal.lockdown_latencies().map_err(fail)?;
            if !latencies.is_empty() {
                let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
                println!(
                    "Lockdowns: {}; event received to lockdown complete: p50 {} ms, p99 {} ms, max {} ms",
                    latencies.len(),
                    at(0.5),
                    at(0.99),
                    latencies[latencies.len() - 1]
                );
            }
            let attention = journal.attention(20).map_err(fail)?;
            if !attention.is_empty() {
                println!("Needing attention (newest first):");
                for (uuid, kind, state, note) in attention {
                    println!("  {state:<8} {uuid} {kind} {note}");
                }
            }
        }
        Command::Breaker {
            action: BreakerAction::Reset { discard_held },
        } => {
            let held = journal
                .reset_breaker(*discard_held, now_ms())
                .map_err(fail)?;
            let fate = if *discard_held {
                "discarded"
            } else {
                "released to run"
            };
            println!("Lockdown breaker reset; {held} held events {fate}.");
        }
        Command::Unlock { upn } => {
            if journal.unlock(upn).map_err(fail)? {
                println!("Full plans may sign {upn} back in now.");
            } else {
                println!("{upn} was not locked by event mode.");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
