//! Policy unit tests (`okta365 test`): test files beside the policies give
//! a few Okta users inline, optionally some Office 365 state, and what named
//! users should end up with. Each case is compiled and, when it asks about
//! the plan, planned, through the same public functions as `okta365 plan`.
//!
//! Pure: test files come in as text, results go out as data; the CLI reads
//! the files and prints the results ([`report`]).

pub mod coverage;
pub mod expect;
pub mod fixture;
pub mod report;
pub mod spec;

use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use spec::TestFile;

use crate::model::OktaUserId;
use crate::plan::{PlanInput, PlanSettings};
use crate::policy::check::Checked;
use crate::policy::load::{PolicySource, Schema, parse_typed};
use crate::policy::yaml::SpanIndex;
use crate::policy::{Diagnostic, Location};

/// The time cases are planned at when the file and the case give none.
pub const DEFAULT_NOW: &str = "2026-01-01T00:00:00Z";

/// A parsed test file, with where each of its values was written.
pub struct Loaded {
    /// The path shown in results.
    pub path: String,
    /// The file.
    pub file: TestFile,
    spans: SpanIndex,
}

impl Loaded {
    /// Where the value at `pointer` was written.
    fn at(&self, pointer: &str) -> Location {
        let (line, col) = self.spans.value(pointer);
        Location {
            file: self.path.clone(),
            line,
            col,
        }
    }
}

/// The JSON Schema of test files, generated from the Rust types.
pub fn test_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(TestFile)).expect("schema serialises")
}

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::new(test_schema()))
}

/// Parses and schema-checks a test file; errors carry `file:line:col`.
pub fn parse(source: &PolicySource) -> Result<Loaded, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    match parse_typed::<TestFile>(source, schema(), &mut diagnostics) {
        Some((file, spans)) if diagnostics.is_empty() => Ok(Loaded {
            path: source.path.clone(),
            file,
            spans,
        }),
        _ => Err(diagnostics),
    }
}

/// One failed check of a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Where the check was written.
    pub location: Location,
    /// What failed, in one line.
    pub title: String,
    /// The details: a diff, or the errors met.
    pub detail: String,
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Where the case starts.
    pub location: Location,
    /// Failed checks; none means the case passed.
    pub failures: Vec<Failure>,
    /// What the case exercised, for `--coverage`.
    pub exercised: coverage::Exercised,
    /// How long it took (filled in by the caller, which owns the clock).
    pub seconds: f64,
}

impl CaseResult {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs case `index` of `loaded` against the policies. `base` gives the
/// ownership markers and the removal budget (from the config); the time is
/// the case's.
pub fn run_case(
    checked: &Checked,
    base: &PlanSettings,
    loaded: &Loaded,
    index: usize,
) -> CaseResult {
    let case = &loaded.file.cases[index];
    let pointer = format!("/cases/{index}");
    let mut result = CaseResult {
        name: case.name.clone(),
        location: loaded.at(&pointer),
        failures: Vec::new(),
        exercised: coverage::Exercised::default(),
        seconds: 0.0,
    };
    let fail = |title: String, detail: String| Failure {
        location: loaded.at(&pointer),
        title,
        detail,
    };
    let now_text = case
        .now
        .as_deref()
        .or(loaded.file.now.as_deref())
        .unwrap_or(DEFAULT_NOW);
    let now: jiff::Timestamp = match now_text.parse() {
        Ok(t) => t,
        Err(e) => {
            result.failures.push(fail(
                format!("`now` is not an RFC 3339 time: `{now_text}`"),
                e.to_string(),
            ));
            return result;
        }
    };
    let settings = PlanSettings {
        now,
        targets: Vec::new(),
        allowed_removals: Default::default(),
        ..base.clone()
    };
    let okta = merged_okta(&loaded.file.okta, &case.okta);
    let m365 = merged_m365(&loaded.file.m365, &case.m365);
    let (named, _patterns) = crate::policy::check::referenced_okta_groups(checked);
    let source = match fixture::okta_state(&okta, &named) {
        Ok(s) => s,
        Err(e) => {
            result
                .failures
                .push(fail("the Okta fixture is invalid".into(), e));
            return result;
        }
    };
    let logins: BTreeMap<String, OktaUserId> = okta
        .users
        .iter()
        .map(|u| {
            (
                u.login.to_lowercase(),
                fixture::okta_user_id(&u.login, u.id.as_deref()),
            )
        })
        .collect();
    let (unchecked, _) = crate::compile::compile(checked, &source, &[]);
    let live = match fixture::live_state(&m365, &logins, &settings, &unchecked) {
        Ok(l) => l,
        Err(e) => {
            result
                .failures
                .push(fail("the Office 365 fixture is invalid".into(), e));
            return result;
        }
    };
    let (desired, compiled) = if m365.skus.is_some() {
        crate::compile::compile(checked, &source, &live.skus)
    } else {
        crate::compile::compile(checked, &source, &[])
    };
    result.exercised = coverage::exercised(checked, &source, &desired);
    let input = PlanInput {
        policy: checked,
        source: &source,
        live: &live,
        settings: &settings,
        fingerprint: String::new(),
    };
    let wants_plan = case.refused.is_some()
        || !case.warns.is_empty()
        || case.expect.iter().any(|e| e.plan.is_some());
    let compile_errors: Vec<&Diagnostic> = compiled.iter().filter(|d| d.is_error()).collect();
    let plan = if wants_plan {
        Some(crate::plan::build_from(&input, &desired, compiled.clone()))
    } else if compile_errors.is_empty() {
        None
    } else {
        Some(Err(compiled.clone()))
    };
    let diagnostics: Vec<Diagnostic> = match &plan {
        Some(Ok(p)) => p.warnings.clone(),
        Some(Err(d)) => d.clone(),
        None => compiled,
    };
    let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
    match (&case.refused, errors.is_empty()) {
        (Some(want), true) => result.failures.push(Failure {
            location: loaded.at(&format!("{pointer}/refused")),
            title: format!("the plan was not refused (expected an error containing `{want}`)"),
            detail: String::new(),
        }),
        (Some(want), false)
            if !errors
                .iter()
                .any(|d| d.render_plain().contains(want.as_str())) =>
        {
            result.failures.push(Failure {
                location: loaded.at(&format!("{pointer}/refused")),
                title: format!("the plan was refused, but no error contains `{want}`"),
                detail: render_all(&errors),
            })
        }
        (None, false) => result.failures.push(fail(
            "the policies give errors for this case".into(),
            render_all(&errors),
        )),
        _ => {}
    }
    for (i, want) in case.warns.iter().enumerate() {
        let found = diagnostics
            .iter()
            .any(|d| !d.is_error() && d.render_plain().contains(want.as_str()));
        if !found {
            let warnings: Vec<&Diagnostic> = diagnostics.iter().filter(|d| !d.is_error()).collect();
            result.failures.push(Failure {
                location: loaded.at(&format!("{pointer}/warns/{i}")),
                title: format!("no warning contains `{want}`"),
                detail: if warnings.is_empty() {
                    "(the plan gave no warnings)".into()
                } else {
                    render_all(&warnings)
                },
            });
        }
    }
    let plan = plan.and_then(Result::ok);
    for (i, expectation) in case.expect.iter().enumerate() {
        let at = loaded.at(&format!("{pointer}/expect/{i}"));
        let Some(id) = logins.get(&expectation.user.to_lowercase()) else {
            result.failures.push(Failure {
                location: at,
                title: format!("no Okta user `{}` in this case", expectation.user),
                detail:
                    "expectations name users by their Okta login; add the user under `okta.users`"
                        .into(),
            });
            continue;
        };
        let actual = expect::Actual::of(id, &source, &desired, &live, &settings, plan.as_ref());
        let mismatches = expect::check(expectation, &actual, plan.is_some());
        if !mismatches.is_empty() {
            result.failures.push(Failure {
                location: at,
                title: expectation.user.clone(),
                detail: mismatches
                    .iter()
                    .map(expect::Mismatch::render)
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
    }
    result
}

fn render_all(diagnostics: &[&Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| d.render_plain())
        .collect::<Vec<_>>()
        .join("\n")
}

fn merged_okta(file: &spec::OktaFixture, case: &spec::OktaFixture) -> spec::OktaFixture {
    spec::OktaFixture {
        users: file.users.iter().chain(&case.users).cloned().collect(),
        groups: file.groups.iter().chain(&case.groups).cloned().collect(),
    }
}

fn merged_m365(file: &spec::M365Fixture, case: &spec::M365Fixture) -> spec::M365Fixture {
    spec::M365Fixture {
        users: file.users.iter().chain(&case.users).cloned().collect(),
        groups: file.groups.iter().chain(&case.groups).cloned().collect(),
        skus: case.skus.clone().or_else(|| file.skus.clone()),
    }
}
