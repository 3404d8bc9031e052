//! The Markdown plan, for a pull-request comment: the refusal banner (if a
//! guard rail refused the plan), the time and fingerprint it was made for, a
//! summary table, then one collapsible section per target, removals first.
//!
//! A comment must fit GitHub's limit (65,536 characters): the output stays
//! under [`MAX_LEN`] bytes. Sections that do not fit are left out, with a
//! note saying how many actions that is and where the full plan is (the
//! JSON plan saved as an artifact).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::plan::{Action, Plan};

/// The longest Markdown plan, in bytes (at least as many as characters).
pub const MAX_LEN: usize = 60_000;

/// Room kept for what follows the sections (warnings, summary, the note).
const TAIL_ROOM: usize = 8_000;

/// At most this many warnings are listed.
const MAX_WARNINGS: usize = 40;

/// Writes the plan as Markdown.
pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(to_markdown(plan).as_bytes())
}

/// The plan as Markdown, at most [`MAX_LEN`] bytes.
pub fn to_markdown(plan: &Plan) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### okta365 plan\n");
    if plan.is_refused() {
        let _ = writeln!(md, "> [!CAUTION]");
        let _ = writeln!(md, "> **Refused**: okta365 will not apply this plan.");
        for reason in plan.refused.iter().take(MAX_WARNINGS) {
            let _ = writeln!(md, "> - {}", one_line(&reason.render_plain()));
        }
        let _ = writeln!(md);
    }
    let fingerprint = plan
        .fingerprint
        .strip_prefix("sha256:")
        .map_or(plan.fingerprint.as_str(), |h| &h[..h.len().min(12)]);
    let _ = writeln!(
        md,
        "As of `{}` · inputs `{fingerprint}` · {} action{}\n",
        plan.now,
        plan.actions.len(),
        if plan.actions.len() == 1 { "" } else { "s" }
    );
    if !plan.is_empty() {
        summary_tables(plan, &mut md);
    }
    let budget = MAX_LEN - TAIL_ROOM;
    let mut left_out = 0;
    for (title, symbol) in [("Removals", '-'), ("Changes", '~'), ("Additions", '+')] {
        let actions: Vec<&Action> = plan
            .actions
            .iter()
            .filter(|a| a.kind.symbol() == symbol)
            .collect();
        if actions.is_empty() {
            continue;
        }
        let heading = format!("#### {title} ({})\n\n", actions.len());
        if md.len() + heading.len() > budget {
            left_out += actions.len();
            continue;
        }
        md.push_str(&heading);
        for (target, group) in by_target(&actions) {
            let section = target_section(target, &group);
            if md.len() + section.len() > budget {
                left_out += group.len();
            } else {
                md.push_str(&section);
            }
        }
    }
    if !plan.manual_steps.is_empty() {
        let _ = writeln!(md, "**Manual steps** (Graph cannot do these)\n");
        for m in plan.manual_steps.iter().take(MAX_WARNINGS) {
            let _ = writeln!(
                md,
                "- {}: {}: {}",
                escape(&m.target),
                escape(&m.what),
                code(&m.command)
            );
        }
        more(&mut md, plan.manual_steps.len());
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(md, "**Warnings**\n");
        for w in plan.warnings.iter().take(MAX_WARNINGS) {
            let _ = writeln!(md, "- {}", one_line(&w.render_plain()));
        }
        more(&mut md, plan.warnings.len());
    }
    if left_out > 0 {
        let _ = writeln!(
            md,
            "> [!NOTE]\n> {left_out} of {} actions are not shown, to keep this comment under GitHub's size limit (removals are shown first). The full plan is the JSON plan saved with `okta365 plan --out plan.json` (in CI: the plan artifact of this run).\n",
            plan.actions.len()
        );
    }
    let _ = writeln!(md, "{}", super::summary_line(plan));
    if md.len() > MAX_LEN {
        // Only long warnings or manual steps can get here: cut at a line.
        let mut end = MAX_LEN - 200;
        while !md.is_char_boundary(end) {
            end -= 1;
        }
        let end = md[..end].rfind('\n').unwrap_or(end);
        md.truncate(end);
        let _ = writeln!(
            md,
            "\n\n… (cut to fit a comment; the full plan is the JSON plan artifact)\n\n{}",
            super::summary_line(plan)
        );
    }
    md
}

fn summary_tables(plan: &Plan, md: &mut String) {
    let _ = writeln!(md, "| | to create | to update | to remove |");
    let _ = writeln!(md, "|---|---:|---:|---:|");
    let _ = writeln!(
        md,
        "| actions | {} | {} | {} |",
        plan.summary.create, plan.summary.update, plan.summary.remove
    );
    if !plan.licenses.is_empty() {
        let _ = writeln!(md);
        let _ = writeln!(md, "| licence | assigned | freed | in use after | bought |");
        let _ = writeln!(md, "|---|---:|---:|---:|---:|");
        for l in &plan.licenses {
            let _ = writeln!(
                md,
                "| {} | +{} | −{} | {} | {} |",
                code(&l.sku),
                l.added,
                l.removed,
                l.used_after,
                l.total
            );
        }
    }
    let _ = writeln!(md);
}

/// Actions grouped by what they act on (a group's member changes with the group).
fn by_target<'a>(actions: &[&'a Action]) -> BTreeMap<&'a str, Vec<&'a Action>> {
    let mut groups: BTreeMap<&str, Vec<&Action>> = BTreeMap::new();
    for a in actions {
        let key = a.target.split(" member ").next().unwrap_or(&a.target);
        groups.entry(key).or_default().push(a);
    }
    groups
}

/// One collapsible section: `+ group eng-mobile (create)` lines with their
/// changes and reasons, in a `diff` block.
fn target_section(target: &str, actions: &[&Action]) -> String {
    let symbols: String = {
        let mut s: Vec<char> = actions.iter().map(|a| a.kind.symbol()).collect();
        s.sort_unstable();
        s.dedup();
        s.into_iter().collect()
    };
    let mut body = String::new();
    for a in actions {
        let diff_symbol = match a.kind.symbol() {
            '~' => '!',
            s => s,
        };
        let _ = writeln!(body, "{diff_symbol} {} ({})", a.target, a.kind.short());
        for c in &a.changes {
            let old = c.old.as_deref().unwrap_or("(none)");
            let new = c.new.as_deref().unwrap_or("(removed)");
            let _ = writeln!(body, "    {}: {} -> {}", c.field, flat(old), flat(new));
        }
        let _ = writeln!(body, "    # {}", super::reasons(&a.reasons));
    }
    let fence = fence_for(&body);
    format!(
        "<details><summary><code>{symbols}</code> {} ({} action{})</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n\n",
        escape(target),
        actions.len(),
        if actions.len() == 1 { "" } else { "s" }
    )
}

fn more(md: &mut String, total: usize) {
    if total > MAX_WARNINGS {
        let _ = writeln!(md, "- … and {} more", total - MAX_WARNINGS);
    }
    let _ = writeln!(md);
}

/// A fence longer than any run of backticks in `body`, so no value can close it.
fn fence_for(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Inline code that no backtick in `s` can close.
fn code(s: &str) -> String {
    let fence = "`".repeat(fence_for(s).len() - 2);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// One line of text, as is (inside a code block nothing is markup).
fn flat(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// One line of escaped text (a diagnostic's hint follows an em dash).
fn one_line(s: &str) -> String {
    escape(&s.replace("\n  hint: ", " — hint: ").replace('\n', " "))
}

fn escape(s: &str) -> String {
    s.replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::action::{Op, UserRef};
    use crate::plan::{ActionKind, FORMAT_VERSION, Summary};

    fn disable(id: usize, upn: &str) -> Action {
        Action {
            id,
            kind: ActionKind::DisableUser,
            target: format!("user {upn}"),
            changes: vec![crate::plan::Change {
                field: "accountEnabled".into(),
                old: Some("true".into()),
                new: Some("false".into()),
            }],
            reasons: vec![crate::plan::Reason::new(
                "policies/lifecycle.yaml",
                5,
                "offboarding",
            )],
            depends_on: vec![],
            op: Op::DisableUser {
                user: UserRef {
                    id: Some(format!("u-{id}").into()),
                    upn: upn.into(),
                    okta_id: None,
                },
            },
        }
    }

    fn plan(actions: Vec<Action>) -> Plan {
        Plan {
            format_version: FORMAT_VERSION,
            fingerprint: "sha256:0123456789abcdef".into(),
            digest: String::new(),
            now: "2026-11-20T00:00:00Z".into(),
            targets: vec![],
            refused: vec![],
            accepted_read_drop: false,
            summary: Summary::of(&actions),
            allowed_removals: Default::default(),
            licenses: vec![],
            actions,
            manual_steps: vec![],
            unmanaged: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn a_large_plan_stays_under_the_limit_and_says_where_the_rest_is() {
        let actions: Vec<Action> = (0..5_000)
            .map(|i| disable(i, &format!("person.{i:05}@acme.example")))
            .collect();
        let md = to_markdown(&plan(actions));
        assert!(md.len() <= MAX_LEN, "{}", md.len());
        assert!(md.contains("of 5000 actions are not shown"), "{md}");
        assert!(md.contains("plan artifact"));
        assert!(md.contains("As of `2026-11-20T00:00:00Z` · inputs `0123456789ab`"));
        assert!(md.ends_with("Plan: 0 to create, 0 to update, 5000 to remove.\n"));
    }

    #[test]
    fn actions_read_naturally_and_hostile_values_stay_inside_their_block() {
        let mut a = disable(0, "ann@acme.example");
        a.changes[0].new = Some("```\n<img src=x>".into());
        let md = to_markdown(&plan(vec![a]));
        assert!(md.contains("- user ann@acme.example (disable)"), "{md}");
        assert!(!md.contains("disable user user"), "{md}");
        // The value's backticks cannot close the block: its fence is longer.
        assert!(md.contains("````diff\n"), "{md}");
        assert!(md.contains("``` <img src=x>"), "{md}");
    }
}
