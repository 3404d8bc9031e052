//! The JSON plan: the [`Plan`] struct as JSON, documented in
//! `docs/plan-json.md`. `format_version` changes when a field changes meaning.

use std::io::{self, Write};

use crate::plan::Plan;

/// Writes the plan as pretty-printed JSON with a trailing newline.
pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan)?;
    writeln!(out)
}

/// Reads a plan saved with `plan --out`.
pub fn parse(text: &str) -> Result<Plan, String> {
    let plan: Plan =
        serde_json::from_str(text).map_err(|e| format!("not a saved okta365 plan: {e}"))?;
    if plan.format_version != crate::plan::FORMAT_VERSION {
        return Err(format!(
            "plan format version {} is not supported (this okta365 reads version {})",
            plan.format_version,
            crate::plan::FORMAT_VERSION
        ));
    }
    Ok(plan)
}
