//! The terraform-like text plan: `+` adds, `~` changes, `-` removes; one
//! block per action with its field changes and the policy lines behind it.

use std::io::{self, Write};

use crate::plan::{Action, Plan};

/// Colours, on only for terminals (and never with `NO_COLOR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// Whether to emit ANSI colour codes.
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

const LONG: usize = 60;

/// Writes the plan; a refused plan under a banner naming every reason.
pub fn render(plan: &Plan, out: &mut dyn Write, style: Style) -> io::Result<()> {
    if plan.is_refused() {
        writeln!(
            out,
            "{}",
            style.paint("1;31", "REFUSED: okta365 will not apply this plan:")
        )?;
        for reason in &plan.refused {
            writeln!(out, "  - {}", reason.render_plain().replace('\n', "\n    "))?;
        }
        writeln!(out)?;
    }
    if plan.is_empty() {
        writeln!(out, "{}", super::summary_line(plan))?;
        return write_footer(plan, out, style);
    }
    let head = if plan.is_refused() {
        "The refused plan, for review (nothing will be applied)"
    } else {
        "okta365 will perform the following actions"
    };
    writeln!(out, "{head} (as of {}):", plan.now)?;
    writeln!(out)?;
    for action in &plan.actions {
        write_action(action, out, style)?;
    }
    write_footer(plan, out, style)?;
    writeln!(out)?;
    writeln!(out, "{}", style.paint("1", &super::summary_line(plan)))
}

fn write_action(a: &Action, out: &mut dyn Write, style: Style) -> io::Result<()> {
    let symbol = a.kind.symbol();
    let color = match symbol {
        '+' => "32",
        '~' => "33",
        _ => "31",
    };
    let head = format!("{} ({})", a.target, a.kind.short());
    writeln!(
        out,
        "  {} {}",
        style.paint(color, &symbol.to_string()),
        style.paint("1", &head)
    )?;
    let width = a.changes.iter().map(|c| c.field.len()).max().unwrap_or(0);
    for c in &a.changes {
        match (&c.old, &c.new) {
            (Some(old), Some(new))
                if old.len() > LONG
                    || new.len() > LONG
                    || old.contains('\n')
                    || new.contains('\n') =>
            {
                writeln!(out, "      {}:", c.field)?;
                write_long_change(old, new, out, style)?;
            }
            (Some(old), Some(new)) => writeln!(
                out,
                "      {:<width$}  {:?} -> {:?}",
                format!("{}:", c.field),
                old,
                new,
                width = width + 1
            )?,
            (None, Some(new)) => writeln!(
                out,
                "      {:<width$}  {:?}",
                format!("{}:", c.field),
                new,
                width = width + 1
            )?,
            (Some(old), None) => writeln!(
                out,
                "      {:<width$}  {:?} -> (removed)",
                format!("{}:", c.field),
                old,
                width = width + 1
            )?,
            (None, None) => {}
        }
    }
    if !a.reasons.is_empty() {
        writeln!(
            out,
            "      {}",
            style.paint("2", &format!("# {}", super::reasons(&a.reasons)))
        )?;
    }
    writeln!(out)
}

/// A long or multi-line value, old and new on lines of their own, as a
/// line diff: `-` lines were removed, `+` lines added, the rest unchanged.
fn write_long_change(old: &str, new: &str, out: &mut dyn Write, style: Style) -> io::Result<()> {
    let diff = similar::TextDiff::from_lines(old, new);
    for change in diff.iter_all_changes() {
        let text = change.value().trim_end_matches('\n');
        let line = match change.tag() {
            similar::ChangeTag::Delete => style.paint("31", &format!("- {text}")),
            similar::ChangeTag::Insert => style.paint("32", &format!("+ {text}")),
            similar::ChangeTag::Equal => format!("  {text}"),
        };
        writeln!(out, "        {line}")?;
    }
    Ok(())
}

fn write_footer(plan: &Plan, out: &mut dyn Write, style: Style) -> io::Result<()> {
    if !plan.manual_steps.is_empty() {
        writeln!(
            out,
            "Manual steps (Graph cannot do these; do them by hand):"
        )?;
        for m in &plan.manual_steps {
            writeln!(out, "  {} {}: {}", style.paint("35", "!"), m.target, m.what)?;
            writeln!(out, "      {}", m.command)?;
            writeln!(
                out,
                "      {}",
                style.paint("2", &format!("# {}", super::reasons(&m.reasons)))
            )?;
        }
        writeln!(out)?;
    }
    if !plan.unmanaged.is_empty() {
        writeln!(out, "Left alone (not managed by okta365):")?;
        for u in &plan.unmanaged {
            writeln!(
                out,
                "  {} {} {} {}",
                style.paint("2", "="),
                u.kind,
                u.name,
                style.paint("2", &format!("({})", u.note))
            )?;
        }
        writeln!(out)?;
    }
    for w in &plan.warnings {
        writeln!(out, "{}", w.render_plain())?;
    }
    Ok(())
}
