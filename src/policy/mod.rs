//! Policies: YAML files that declare what Office 365 should look like.

/// Matches `name` against a glob pattern (`*`, `?`, `[abc]`), case-insensitively.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher().is_match(name))
        .unwrap_or(false)
}
