//! `okta365 test`: runs the policy tests kept beside the policies
//! (`policies/tests/*.yaml` by default) and prints the results like
//! `cargo test`, or as JUnit XML for CI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::terminal::Ui;
use crate::cli::{Cli, Failure, Workspace};
use crate::policy::{Diagnostic, PolicySource};
use crate::testing::report::{self, FileResults};

/// Output formats of test results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per case, the failures with a diff, a summary (like `cargo test`).
    Human,
    /// JUnit XML, for CI test reports.
    Junit,
}

/// Arguments of `test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run only the cases whose `file › name` contains this text.
    pub filter: Option<String>,
    /// The folder of test files (default: `tests/` inside the policy folder).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also list the rules, guest rules, mirrors and lookup entries no test exercises (on stderr with `--format junit`).
    #[arg(long)]
    pub coverage: bool,
}

/// Runs `test`. Exit code 1 when a case fails or a file cannot be read.
pub fn run(cli: &Cli, args: &Args, ui: &Ui) -> Result<ExitCode, Failure> {
    let workspace = Workspace::open(&cli.config)?;
    let (checked, warnings) = workspace.check()?;
    ui.diagnostics(&warnings);
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| workspace.config.policies.join("tests"));
    let mut loaded = Vec::new();
    let mut errors: Vec<Diagnostic> = Vec::new();
    for source in read_tests(&dir)? {
        match crate::testing::parse(&source) {
            Ok(l) => loaded.push(l),
            Err(d) => errors.extend(d),
        }
    }
    if !errors.is_empty() {
        return Err(Failure::Diagnostics(errors));
    }
    let base = workspace.settings(None, None);
    let mut results = Vec::new();
    let mut filtered = 0;
    let mut exercised = crate::testing::coverage::Exercised::default();
    for file in &loaded {
        let short = file.path.rsplit('/').next().unwrap_or(&file.path);
        let mut cases = Vec::new();
        for (i, case) in file.file.cases.iter().enumerate() {
            let full = format!("{short} › {}", case.name);
            if args
                .filter
                .as_ref()
                .is_some_and(|f| !full.contains(f.as_str()))
            {
                filtered += 1;
                continue;
            }
            let started = std::time::Instant::now();
            let mut result = crate::testing::run_case(&checked, &base, file, i);
            result.seconds = started.elapsed().as_secs_f64();
            exercised.extend(&result.exercised);
            cases.push(result);
        }
        results.push(FileResults {
            path: file.path.clone(),
            cases,
        });
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Human => report::human(&results, filtered, &mut out)?,
        Format::Junit => report::junit(&results, &mut out)?,
    }
    out.flush()?;
    if args.coverage {
        let mut lines = Vec::new();
        let counts: Vec<String> = crate::testing::coverage::summary(&checked, &exercised)
            .into_iter()
            .map(|(kind, hit, all)| format!("{hit}/{all} {kind}"))
            .collect();
        lines.push(format!("\ncoverage: {}", counts.join(", ")));
        let gaps = crate::testing::coverage::gaps(&checked, &exercised);
        if gaps.is_empty() {
            lines.push(
                "  every rule, guest rule, mirror and lookup entry is exercised by a test".into(),
            );
        }
        for gap in gaps {
            lines.push(format!("  not covered: {gap}"));
        }
        let text = lines.join("\n");
        if args.format == Format::Junit {
            eprintln!("{text}");
        } else {
            writeln!(out, "{text}")?;
        }
    }
    let (_, failed) = report::counts(&results);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The test files in `dir`.
fn read_tests(dir: &Path) -> Result<Vec<PolicySource>, Failure> {
    crate::cli::workspace::read_yaml_files(
        dir,
        "the test folder",
        "put test files in `tests/` beside the policies, or pass --dir DIR (docs/testing.md)",
        "no test files (*.yaml) in",
    )
}
