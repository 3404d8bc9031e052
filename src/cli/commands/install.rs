//! `okta365 completions SHELL` and `okta365 man`: shell completions and
//! manual pages, generated from the command-line definition itself.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Failure};

/// Shells completions are written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// Bash: `okta365 completions bash > /etc/bash_completion.d/okta365`.
    Bash,
    /// Zsh: write `_okta365` into a folder on `$fpath`.
    Zsh,
    /// Fish: `okta365 completions fish > ~/.config/fish/completions/okta365.fish`.
    Fish,
    /// PowerShell: `okta365 completions powershell >> $PROFILE`.
    Powershell,
}

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write one page per command (`okta365.1`, `okta365-plan.1`, …) into
    /// this folder instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell`.
pub fn completions(args: &CompletionArgs) -> Result<ExitCode, Failure> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(shell, &mut command, "okta365", &mut out);
    Ok(ExitCode::SUCCESS)
}

/// Prints the main manual page, or writes every page into a folder.
pub fn man(args: &ManArgs) -> Result<ExitCode, Failure> {
    let command = Cli::command();
    match &args.out_dir {
        Some(dir) => {
            let fail = |e: std::io::Error| {
                Failure::Message(format!(
                    "cannot write manual pages to {}: {e}",
                    dir.display()
                ))
            };
            std::fs::create_dir_all(dir).map_err(fail)?;
            clap_mangen::generate_to(command, dir).map_err(fail)?;
            eprintln!("Wrote the manual pages to {}.", dir.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
