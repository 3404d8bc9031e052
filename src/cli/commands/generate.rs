//! `okta365 generate` (hidden): write a synthetic tenant for benchmarks and smoke tests.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::Failure;
use crate::cli::terminal::{Level, Ui};
use crate::generate::{NOW, Params, generate};

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Okta users to generate (employees, contractors, guests).
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Okta groups to generate (six fixed ones, the rest `team-*`); default users / 20.
    #[arg(long)]
    pub groups: Option<usize>,
    /// The seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The folder to write (created if missing; files in it are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs `generate`.
pub fn run(args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    let params = Params {
        users: args.users,
        groups: args.groups.unwrap_or(args.users / 20),
        seed: args.seed,
    };
    let files = generate(&params);
    let fail = |path: &std::path::Path, e: std::io::Error| {
        Failure::Message(format!("cannot write {}: {e}", path.display()))
    };
    let mut bytes = 0;
    for (relative, content) in &files {
        let path = args.out.join(relative);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
        }
        std::fs::write(&path, content).map_err(|e| fail(&path, e))?;
        bytes += content.len();
    }
    ui.say(
        Level::Info,
        &format!(
            "Wrote a tenant of {} users and {} groups (seed {}) to {}: {} files, {:.1} MB.\n  \
         Plan it with: okta365 --config {} plan --now {NOW}",
            params.users,
            params.groups,
            params.seed,
            args.out.display(),
            files.len(),
            bytes as f64 / 1e6,
            args.out.join("okta365.yaml").display()
        ),
    );
    Ok(ExitCode::SUCCESS)
}
