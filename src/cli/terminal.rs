//! Terminal concerns: colour, diagnostics on stderr, tracing setup, prompts.

use std::io::{BufRead, IsTerminal, Write};

use clap::ValueEnum;

use super::{ColorChoice, Failure, LogFormat};
use crate::policy::Diagnostic;
use crate::render::text::Style;

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    /// `file:line:col: error: message` with a hint line.
    Human,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
}

/// Output settings shared by the commands.
pub struct Ui {
    /// Colour for stdout.
    pub style: Style,
    errors: ErrorFormat,
    log: LogFormat,
}

/// How serious a line on stderr is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something failed.
    Error,
    /// Worth a look; nothing stopped.
    Warning,
    /// What happened (the apply summary, where a plan was saved).
    Info,
}

impl Level {
    fn json(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Warning => "WARN",
            Self::Info => "INFO",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

impl Ui {
    /// Decides colour once: `always`, `never`, or `auto` (a terminal and no `NO_COLOR`).
    pub fn new(color: ColorChoice, errors: ErrorFormat, log: LogFormat) -> Self {
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Self {
            style: Style { color },
            errors,
            log,
        }
    }

    /// Prints diagnostics to stderr: plain lines, GitHub annotations
    /// (`--error-format github`, which wins), or JSON (`--log-format json`).
    pub fn diagnostics(&self, diagnostics: &[Diagnostic]) {
        let mut err = std::io::stderr().lock();
        for d in diagnostics {
            let text = match (self.errors, self.log) {
                (ErrorFormat::Github, _) => d.render_github(),
                (ErrorFormat::Human, LogFormat::Json) => {
                    let level = if d.is_error() {
                        Level::Error
                    } else {
                        Level::Warning
                    };
                    json_line(level, &d.message, |fields| {
                        if let Some(at) = &d.location {
                            fields.insert("file".into(), at.file.clone().into());
                            fields.insert("line".into(), at.line.into());
                            fields.insert("col".into(), at.col.into());
                        }
                        if let Some(hint) = &d.hint {
                            fields.insert("hint".into(), hint.clone().into());
                        }
                    })
                }
                (ErrorFormat::Human, LogFormat::Human) => d.render_plain(),
            };
            let _ = writeln!(err, "{text}");
        }
    }

    /// Whether warnings shown in a command's output (a plan's) should also
    /// go to stderr: as GitHub annotations, or as JSON log lines.
    pub fn wants_diagnostics_on_stderr(&self) -> bool {
        self.errors == ErrorFormat::Github || self.log == LogFormat::Json
    }

    /// Prints one message on stderr: `error: …` (or as the log format says).
    /// A message's later lines (hints) stay with it.
    pub fn say(&self, level: Level, message: &str) {
        let text = match (self.log, level) {
            (LogFormat::Json, _) => json_line(level, message, |_| {}),
            (LogFormat::Human, Level::Info) => message.to_owned(),
            (LogFormat::Human, _) => format!("{}: {message}", level.word()),
        };
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    /// Prints a failure to stderr.
    pub fn report(&self, failure: &Failure) {
        match failure {
            Failure::Diagnostics(d) => {
                self.diagnostics(d);
                let errors = d.iter().filter(|d| d.is_error()).count();
                if errors > 1 {
                    self.say(Level::Info, &format!("{errors} errors"));
                }
            }
            Failure::Message(m) => self.say(Level::Error, m),
        }
    }
}

/// One JSON object on one line: time, level, message, and `extra` fields;
/// a message's hint (after `\n  hint: `) becomes a field of its own.
pub fn json_line(
    level: Level,
    message: &str,
    extra: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> String {
    let mut fields = serde_json::Map::new();
    fields.insert("timestamp".into(), super::clock::now().to_string().into());
    fields.insert("level".into(), level.json().into());
    let (text, hint) = match message.split_once("\n  hint: ") {
        Some((text, hint)) => (text, Some(hint)),
        None => (message, None),
    };
    fields.insert("message".into(), text.into());
    if let Some(hint) = hint {
        fields.insert("hint".into(), hint.into());
    }
    extra(&mut fields);
    serde_json::Value::Object(fields).to_string()
}

/// Asks for `yes` on the terminal. Refuses (without asking) when stdin is not a terminal.
pub fn confirm(question: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Message(
            "stdin is not a terminal, so okta365 cannot ask for confirmation: review the plan and pass --auto-approve, \
             or apply a saved plan (`okta365 plan --out plan.json`, then `okta365 apply plan.json`)"
                .into(),
        ));
    }
    eprint!("{question}\n  Only 'yes' will be accepted: ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Logs to stderr, filtered by `OKTA365_LOG` when set. Otherwise warnings,
/// plus each phase's span (closed with its time) with `-v` or the JSON
/// format, unless `quiet`, and every request with `-vv`. On a terminal
/// (human format, not `quiet`) long reads and applies draw progress bars.
pub fn init_tracing(format: LogFormat, quiet: bool, verbose: u8, color: ColorChoice) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::prelude::*;
    let terminal = std::io::stderr().is_terminal();
    let phases = !quiet && (format == LogFormat::Json || verbose > 0);
    let ansi = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let default = match (phases, verbose) {
        (true, 2..) => "warn,okta365=debug",
        (true, _) => "warn,okta365=info",
        (false, _) => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OKTA365_LOG")
        .unwrap_or_else(|_| default.into());
    let bars = (!quiet && terminal && format == LogFormat::Human).then(|| {
        indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr())
    });
    let writer = bars.clone().map(super::progress::BarsWriter);
    let bars_layer = bars.map(|multi| {
        super::progress::BarsLayer::new(multi)
            .with_filter(Targets::new().with_target(crate::progress::TARGET, LevelFilter::TRACE))
    });
    let logs = match format {
        LogFormat::Human => {
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(ansi)
                .with_target(false)
                .with_span_events(FmtSpan::CLOSE);
            match writer {
                Some(w) => layer.with_writer(w).boxed(),
                None => layer.with_writer(std::io::stderr).boxed(),
            }
        }
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_span_events(FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(bars_layer)
        .try_init();
}

/// Runs `f` inside the span of one phase (`load`, `read`, `render`, …): the
/// span's close event carries its time (`time.busy`).
pub fn phase<T>(name: &'static str, f: impl FnOnce() -> T) -> T {
    tracing::info_span!("phase", phase = name).in_scope(f)
}

/// The process's resident memory in MB (Linux; `None` elsewhere), for progress logs.
pub fn resident_mb() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096 / 1_000_000)
}
