//! The Markdown plan, for a pull-request comment: a summary table, then one
//! collapsible section per target.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::plan::{Action, Plan};

/// Writes the plan as Markdown.
pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### okta365 plan")?;
    writeln!(out)?;
    if plan.is_empty() {
        writeln!(out, "{}", super::summary_line(plan))?;
        return Ok(());
    }
    writeln!(out, "| | to create | to update | to remove |")?;
    writeln!(out, "|---|---:|---:|---:|")?;
    writeln!(
        out,
        "| actions | {} | {} | {} |",
        plan.summary.create, plan.summary.update, plan.summary.remove
    )?;
    if !plan.licenses.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "| licence | assigned | freed | in use after | bought |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|")?;
        for l in &plan.licenses {
            writeln!(
                out,
                "| `{}` | +{} | −{} | {} | {} |",
                l.sku, l.added, l.removed, l.used_after, l.total
            )?;
        }
    }
    writeln!(out)?;
    let mut by_target: BTreeMap<&str, Vec<&Action>> = BTreeMap::new();
    for a in &plan.actions {
        let key = a.target.split(" member ").next().unwrap_or(&a.target);
        by_target.entry(key).or_default().push(a);
    }
    for (target, actions) in by_target {
        let symbols: String = {
            let mut s: Vec<char> = actions.iter().map(|a| a.kind.symbol()).collect();
            s.sort_unstable();
            s.dedup();
            s.into_iter().collect()
        };
        writeln!(
            out,
            "<details><summary><code>{symbols}</code> {} ({} action{})</summary>",
            escape(target),
            actions.len(),
            if actions.len() == 1 { "" } else { "s" }
        )?;
        writeln!(out)?;
        writeln!(out, "```diff")?;
        for a in &actions {
            let diff_symbol = match a.kind.symbol() {
                '~' => '!',
                s => s,
            };
            writeln!(out, "{diff_symbol} {} {}", a.kind.describe(), a.target)?;
            for c in &a.changes {
                let old = c.old.as_deref().unwrap_or("(none)");
                let new = c.new.as_deref().unwrap_or("(removed)");
                writeln!(out, "    {}: {old} -> {new}", c.field)?;
            }
            writeln!(out, "    # {}", super::reasons(&a.reasons))?;
        }
        writeln!(out, "```")?;
        writeln!(out)?;
        writeln!(out, "</details>")?;
        writeln!(out)?;
    }
    if !plan.manual_steps.is_empty() {
        writeln!(out, "**Manual steps** (Graph cannot do these)")?;
        writeln!(out)?;
        for m in &plan.manual_steps {
            writeln!(out, "- {}: {}: `{}`", escape(&m.target), m.what, m.command)?;
        }
        writeln!(out)?;
    }
    if !plan.warnings.is_empty() {
        writeln!(out, "**Warnings**")?;
        writeln!(out)?;
        for w in &plan.warnings {
            writeln!(out, "- {}", escape(&w.render_plain().replace('\n', " — ")))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "{}", super::summary_line(plan))
}

fn escape(s: &str) -> String {
    s.replace('<', "&lt;").replace('>', "&gt;")
}
