//! Policies: YAML files that declare what Office 365 should look like.
//!
//! `load` parses and schema-checks them (all errors, with `file:line:col`),
//! `check` finds the mistakes a schema cannot see. Pure: the caller reads
//! the files.

pub mod check;
pub mod diagnostic;
pub mod governance;
pub mod load;
pub mod selector;
pub mod template;
pub mod types;
pub mod yaml;

pub use diagnostic::{Diagnostic, Location, Severity};
pub use load::{Item, Policy, PolicySource, load, policy_schema};

/// Matches `name` against a glob pattern (`*`, `?`, `[abc]`), case-insensitively.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher().is_match(name))
        .unwrap_or(false)
}
