//! One module a subcommand.

pub mod apply;
pub mod audit;
pub mod emulate;
pub mod events;
pub mod explain;
pub mod generate;
pub mod install;
pub mod okta;
pub mod plan;
pub mod report;
pub mod schema;
pub mod serve;
pub mod snapshot;
pub mod test;
pub mod validate;
pub mod watch;

/// Parses `--now`.
pub fn parse_now(s: &str) -> Result<jiff::Timestamp, String> {
    s.parse::<jiff::Timestamp>()
        .map_err(|e| format!("expected an RFC 3339 time such as 2026-11-20T00:00:00Z: {e}"))
}
