//! The licence reconciliation report as a table for people or CSV for
//! spreadsheets (JSON is the report serialised as is).

use std::io::{self, Write};

use crate::report::licenses::{LicenseReport, SeatFate};

const COLUMNS: [&str; 10] = [
    "sku",
    "purchased",
    "consumed",
    "available",
    "managed",
    "unmanaged",
    "inherited",
    "disabled",
    "wanted",
    "after plan",
];

/// Writes the report as aligned text.
pub fn text(report: &LicenseReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "Licences as of {}:", report.now)?;
    writeln!(out)?;
    let rows: Vec<Vec<String>> = report.skus.iter().map(cells).collect();
    let widths: Vec<usize> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut s = format!("  {:<w$}", cells[0], w = widths[0]);
        for (cell, w) in cells.iter().zip(&widths).skip(1) {
            s.push_str(&format!("  {cell:>w$}"));
        }
        s
    };
    let header: Vec<String> = COLUMNS.iter().map(|h| (*h).to_owned()).collect();
    writeln!(out, "{}", line(&header))?;
    for row in &rows {
        writeln!(out, "{}", line(row))?;
    }
    if !report.planned {
        writeln!(out)?;
        writeln!(
            out,
            "  (no `after plan` figures: the plan could not be built; run `okta365 plan` to see why)"
        )?;
    }
    writeln!(out)?;
    if report.idle.is_empty() {
        writeln!(out, "No disabled account holds a direct licence.")?;
        return Ok(());
    }
    writeln!(
        out,
        "Disabled accounts holding licences ({}):",
        report.idle.len()
    )?;
    for seat in &report.idle {
        let since = seat
            .offboarded_days
            .map(|d| format!(", offboarded {d} days ago"))
            .unwrap_or_default();
        let fate = match seat.fate {
            SeatFate::Reclaimed => "reclaimed by this plan",
            SeatFate::Reenabled => "signed back in by this plan",
            SeatFate::Grace => "kept until the grace period ends",
            SeatFate::Unmanaged => "not managed by okta365: review by hand",
        };
        writeln!(
            out,
            "  {}  {}{since}  ({fate})",
            seat.upn,
            seat.skus.join(", ")
        )?;
    }
    Ok(())
}

/// Writes one CSV line per SKU, with a header line.
pub fn csv(report: &LicenseReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", COLUMNS.join(",").replace(' ', "_"))?;
    for row in &report.skus {
        let cells: Vec<String> = cells(row).iter().map(|c| csv_field(c)).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

fn cells(row: &crate::report::licenses::SkuRow) -> Vec<String> {
    vec![
        row.sku.clone(),
        row.purchased.to_string(),
        row.consumed.to_string(),
        row.available.to_string(),
        row.managed.to_string(),
        row.unmanaged.to_string(),
        row.inherited.to_string(),
        row.disabled.to_string(),
        row.wanted.to_string(),
        row.after_plan.map(|n| n.to_string()).unwrap_or_default(),
    ]
}

/// Quotes a CSV field when it holds a comma, quote or newline.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        assert_eq!(csv_field("SPE_E3"), "SPE_E3");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
