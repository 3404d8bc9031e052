//! Render: plans and diagnostics as text (terraform-like), JSON (stable,
//! `docs/plan-json.md`) and Markdown (a pull-request comment). Renderers
//! write to any `io::Write`, so tests render into a `Vec<u8>`.

pub mod cost;
pub mod explain;
pub mod html;
pub mod json;
pub mod licenses;
pub mod markdown;
pub mod text;

use crate::plan::Plan;

/// The closing summary line: `Plan: 3 to create, 2 to update, 1 to remove; licences SPE_E3 +2 −1 (45/60 after).`
pub fn summary_line(plan: &Plan) -> String {
    if plan.is_empty() && plan.is_refused() {
        return "No actions (refused: see above).".to_owned();
    }
    if plan.is_empty() {
        return "No changes. Office 365 matches the policies.".to_owned();
    }
    let s = &plan.summary;
    let mut line = format!(
        "Plan: {} to create, {} to update, {} to remove",
        s.create, s.update, s.remove
    );
    if !plan.licenses.is_empty() {
        let seats: Vec<String> = plan
            .licenses
            .iter()
            .map(|l| {
                format!(
                    "{} +{} −{} ({}/{} after)",
                    l.sku, l.added, l.removed, l.used_after, l.total
                )
            })
            .collect();
        line.push_str("; licences ");
        line.push_str(&seats.join(", "));
    }
    line.push('.');
    if plan.is_refused() {
        line.push_str(" REFUSED: nothing will be applied.");
    }
    line
}

/// `file:line (rule)` for each reason.
pub fn reasons(plan_reasons: &[crate::plan::Reason]) -> String {
    plan_reasons
        .iter()
        .map(|r| {
            if r.line == 0 {
                format!("{} ({})", r.file, r.rule)
            } else {
                format!("{}:{} ({})", r.file, r.line, r.rule)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
