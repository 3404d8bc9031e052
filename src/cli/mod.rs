//! The command line: thin commands over the library. Data goes to stdout,
//! diagnostics and progress to stderr. Exit codes: 0 success, 1 error (a
//! usage error included), 2 "changes present" (only with `plan
//! --detailed-exitcode`).

mod clock;
pub(crate) mod commands;
mod progress;
pub(crate) mod terminal;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub use terminal::ErrorFormat;
pub use workspace::Workspace;

/// Keep Office 365 in line with Okta, declared as YAML policies.
///
/// Policies compile into a desired state; `plan` compares it with Okta and
/// Office 365 and shows what would change; `apply` carries the plan out.
#[derive(Debug, Parser)]
#[command(name = "okta365", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "OKTA365_CONFIG",
        default_value = "okta365.yaml"
    )]
    pub config: PathBuf,

    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// How to print errors and warnings (`github` emits workflow annotations).
    #[arg(long, global = true, value_enum, default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,

    /// How to write logs and per-phase timings on stderr (`json`: one JSON object a line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// No progress on stderr (errors, warnings and the data on stdout still appear).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    /// More detail on stderr: `-v` adds each phase's timing and counts, `-vv` every request.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for people; phase timings only with `-v`.
    Human,
    /// One JSON object a line, phase timings included, for tools and benchmarks.
    Json,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the policies and the config file, without reading Okta or Office 365.
    Validate(commands::validate::Args),
    /// Show what would change in Office 365 (a dry run).
    Plan(commands::plan::Args),
    /// Carry out a plan: a saved one (`plan --out`), or a fresh one after confirmation.
    Apply(commands::apply::Args),
    /// Run the policy tests beside the policies (`policies/tests/*.yaml`).
    Test(commands::test::Args),
    /// Audit trail tools: `audit flush` sends what the sinks' spools hold.
    Audit(commands::audit::Args),
    /// Show a user's desired state and the policy rules behind each value.
    Explain(commands::explain::Args),
    /// Event mode over a file or stdin: lock accounts within seconds of an Okta incident event, re-plan after changes.
    Watch(commands::watch::Args),
    /// Event mode as a service: Okta event hooks and System Log polling, journaled and acted on.
    Serve(commands::serve::Args),
    /// The event journal of `serve` and `watch`: status, the lockdown breaker, unlocking accounts.
    Events(commands::events::Args),
    /// Reports for people: licence reconciliation.
    Report(commands::report::Args),
    /// Print the JSON Schema of policy files, policy test files or the config file.
    Schema(commands::schema::Args),
    /// Serve an emulator of Okta or Microsoft Graph on loopback (offline rehearsal, tests).
    Emulate(commands::emulate::Args),
    /// Save both sides as `plan` reads them to a snapshot folder (`snapshot save DIR [--pseudonymise]`).
    Snapshot(commands::snapshot::Args),
    /// Read-only tools for the live Okta org: `okta logs` prints System Log events.
    Okta(commands::okta::Args),
    /// Print shell completions: `okta365 completions bash|zsh|fish|powershell`.
    Completions(commands::install::CompletionArgs),
    /// Print the manual page, or write every command's page with `--out-dir DIR`.
    Man(commands::install::ManArgs),
    /// Write a synthetic tenant (snapshots, config, policies) for benchmarks and smoke tests.
    #[command(hide = true)]
    Generate(commands::generate::Args),
}

/// Parses the arguments, runs the command, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    terminal::init_tracing(cli.log_format, cli.quiet, cli.verbose, cli.color);
    let ui = terminal::Ui::new(cli.color, cli.error_format, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ui.say(
                terminal::Level::Error,
                &format!("cannot start the async runtime: {e}"),
            );
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Validate(args) => commands::validate::run(&cli, args, &ui),
            Command::Plan(args) => commands::plan::run(&cli, args, &ui).await,
            Command::Apply(args) => commands::apply::run(&cli, args, &ui).await,
            Command::Test(args) => commands::test::run(&cli, args, &ui),
            Command::Audit(args) => commands::audit::run(&cli, args).await,
            Command::Explain(args) => commands::explain::run(&cli, args, &ui).await,
            Command::Watch(args) => commands::watch::run(&cli, args, &ui).await,
            Command::Serve(args) => commands::serve::run(&cli, args, &ui).await,
            Command::Events(args) => commands::events::run(&cli, args).await,
            Command::Report(args) => commands::report::run(&cli, args, &ui).await,
            Command::Schema(args) => commands::schema::run(args),
            Command::Emulate(args) => commands::emulate::run(args).await,
            Command::Okta(args) => commands::okta::run(&cli, args, &ui).await,
            Command::Snapshot(args) => commands::snapshot::run(&cli, args).await,
            Command::Completions(args) => commands::install::completions(args),
            Command::Man(args) => commands::install::man(args),
            Command::Generate(args) => commands::generate::run(args, &ui),
        }
    });
    match result {
        Ok(code) => code,
        Err(failure) => {
            ui.report(&failure);
            ExitCode::from(1)
        }
    }
}

/// `--help` and `--version` print and exit 0; a usage error (unknown flag
/// or command, bad value) exits 1, never 2, which `plan --detailed-exitcode`
/// keeps for "changes present". With `--log-format json` the error is a JSON line.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let args: Vec<String> = std::env::args().collect();
    let json = args
        .windows(2)
        .any(|w| w[0] == "--log-format" && w[1] == "json")
        || args.iter().any(|a| a == "--log-format=json");
    if json {
        let text = e.render().to_string();
        let message = text
            .trim()
            .strip_prefix("error: ")
            .unwrap_or(text.trim())
            .to_owned();
        eprintln!(
            "{}",
            terminal::json_line(terminal::Level::Error, &message, |_| {})
        );
    } else {
        let _ = e.print();
    }
    ExitCode::from(1)
}

/// Why a command failed: diagnostics (with locations) or a plain message.
#[derive(Debug)]
pub enum Failure {
    /// Errors (and warnings) found in the inputs.
    Diagnostics(Vec<crate::policy::Diagnostic>),
    /// Anything else; the text says what to do.
    Message(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::Message(format!("cannot write output: {e}"))
    }
}
