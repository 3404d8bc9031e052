//! The licence report as one self-contained HTML page for people who do
//! not read terminals: summary figures, a seats-per-SKU chart (inline SVG),
//! sortable tables of SKUs and of disabled accounts holding seats, and the
//! monthly cost when prices are configured. No external asset: styles,
//! script and chart are all in the file, so it opens anywhere, offline.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::report::cost::{Prices, ReportBill};
use crate::report::licenses::{LicenseReport, SeatFate, SkuRow};

/// What the page shows besides the report.
pub struct Page<'a> {
    /// The okta365 version, for the footer.
    pub version: &'a str,
    /// Prices and the bill, when the config has prices.
    pub cost: Option<(&'a Prices, &'a ReportBill)>,
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { color-scheme: light dark; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --bought: #d8e4f0; --used: #2f6fb3; --after: #c2410c; --idle: #b42318; }
@media (prefers-color-scheme: dark) { :root { --ink: #e6edf3; --muted: #9198a1; --line: #3d444d; --bought: #1f3650; --used: #4a90d9; } }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); max-width: 72rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.meta, .note, footer { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; margin: 1.5rem 0; padding: 0; list-style: none; }
.cards li { border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; min-width: 10rem; }
.cards b { display: block; font-size: 1.5rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .6rem; text-align: left; }
td.n, th.n { text-align: right; }
th { cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " ▲"; } th[aria-sort="descending"]::after { content: " ▼"; }
svg text { fill: var(--ink); font-size: 12px; } svg .bought { fill: var(--bought); } svg .used { fill: var(--used); } svg .after { stroke: var(--after); stroke-width: 3; }
.legend span { margin-right: 1rem; } .swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
"#;

/// Sorts a table by the clicked header: numbers by value, text by locale.
const SCRIPT: &str = r#"
for (const table of document.querySelectorAll("table.sortable")) {
  table.querySelectorAll("th").forEach((th, column) => {
    th.tabIndex = 0;
    const sort = () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(h => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const numeric = th.classList.contains("n");
      const key = row => row.cells[column].dataset.value ?? row.cells[column].textContent;
      const body = table.tBodies[0];
      const rows = Array.from(body.rows).sort((a, b) => {
        const order = numeric ? Number(key(a)) - Number(key(b)) : key(a).localeCompare(key(b));
        return ascending ? order : -order;
      });
      body.append(...rows);
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
  });
}
"#;

/// Writes the page.
pub fn render(report: &LicenseReport, page: &Page, out: &mut dyn Write) -> io::Result<()> {
    let mut h = String::new();
    let title = format!("Licences as of {}", report.now);
    // Writing to a String cannot fail.
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n\
         <p class=\"meta\">Office 365 licence seats: bought, in use, held by disabled accounts, and left after the plan.</p>\n",
        escape(&format!("okta365: {title}")),
        escape(&title)
    );
    cards(&mut h, report, page);
    chart(&mut h, report);
    sku_table(&mut h, report, page);
    idle_table(&mut h, report);
    let _ = write!(
        h,
        "<footer><p>Made by okta365 {}. Columns sort when their header is clicked.</p></footer>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(page.version)
    );
    out.write_all(h.as_bytes())
}

fn cards(h: &mut String, report: &LicenseReport, page: &Page) {
    let sum = |f: fn(&SkuRow) -> i64| report.skus.iter().map(f).sum::<i64>();
    let mut cards = vec![
        ("seats bought", sum(|r| r.purchased).to_string()),
        ("seats in use", sum(|r| r.consumed).to_string()),
        ("seats free", sum(|r| r.available).to_string()),
        (
            "disabled accounts holding seats",
            report.idle.len().to_string(),
        ),
    ];
    if report.planned {
        cards.push((
            "seats in use after the plan",
            sum(|r| r.after_plan.unwrap_or(r.consumed)).to_string(),
        ));
    }
    if let Some((prices, bill)) = page.cost {
        cards.push((
            "a month for seats in use",
            prices.money(bill.consumed_cents),
        ));
        cards.push((
            "a month on disabled accounts",
            prices.money(bill.disabled_cents),
        ));
        if let Some(after) = bill.after_plan_cents {
            cards.push((
                "a month after the plan",
                format!(
                    "{} ({})",
                    prices.money(after),
                    prices.delta(after - bill.consumed_cents)
                ),
            ));
        }
    }
    h.push_str("<ul class=\"cards\">\n");
    for (label, value) in cards {
        let _ = writeln!(h, "<li><b>{}</b>{}</li>", escape(&value), escape(label));
    }
    h.push_str("</ul>\n");
}

/// One bar per SKU: the seats bought (pale), in use (solid) and, when the
/// plan is known, a mark where use ends after it. Each bar is scaled to its
/// own SKU's seats, so a 10,000-seat free SKU does not flatten the rest.
fn chart(h: &mut String, report: &LicenseReport) {
    const LABEL: u32 = 170;
    const BAR: u32 = 460;
    const ROW: u32 = 34;
    let height = ROW * report.skus.len() as u32 + 10;
    let width = LABEL + BAR + 150;
    let _ = writeln!(
        h,
        "<h2>Seats per SKU</h2>\n<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"chart-title\" \
         viewBox=\"0 0 {width} {height}\" width=\"100%\" style=\"max-width:{width}px\">\n<title id=\"chart-title\">Seats in use of the seats bought, per SKU</title>"
    );
    for (i, row) in report.skus.iter().enumerate() {
        let y = i as u32 * ROW + 5;
        // Scaled to this SKU's seats bought; use beyond them fills the bar.
        let scale = |n: i64| -> u32 {
            if row.purchased <= 0 {
                return 0;
            }
            let share = (n.max(0) as f64 / row.purchased as f64).min(1.0);
            (share * f64::from(BAR)).round() as u32
        };
        let _ = writeln!(
            h,
            "<g class=\"sku\" data-sku=\"{sku}\"><text x=\"0\" y=\"{ty}\">{sku}</text>\
             <rect class=\"bought\" x=\"{LABEL}\" y=\"{y}\" width=\"{BAR}\" height=\"22\"><title>{sku}: {p} bought</title></rect>\
             <rect class=\"used\" x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"22\"><title>{sku}: {c} in use</title></rect>",
            sku = escape(&row.sku),
            ty = y + 15,
            p = row.purchased,
            c = row.consumed,
            w = scale(row.consumed),
        );
        if let Some(after) = row.after_plan {
            let x = LABEL + scale(after);
            let _ = write!(
                h,
                "<line class=\"after\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"><title>{}: {after} in use after the plan</title></line>",
                y.saturating_sub(3),
                y + 25,
                escape(&row.sku)
            );
        }
        let _ = writeln!(
            h,
            "<text x=\"{}\" y=\"{}\">{} / {} in use</text></g>",
            LABEL + BAR + 8,
            y + 15,
            row.consumed,
            row.purchased
        );
    }
    h.push_str("</svg>\n<figcaption class=\"legend\"><span><i class=\"swatch\" style=\"background:var(--bought)\"></i>bought</span>\
                <span><i class=\"swatch\" style=\"background:var(--used)\"></i>in use</span>");
    if report.planned {
        h.push_str("<span><i class=\"swatch\" style=\"background:var(--after)\"></i>in use after the plan</span>");
    }
    h.push_str("</figcaption>\n</figure>\n");
}

fn sku_table(h: &mut String, report: &LicenseReport, page: &Page) {
    let mut headers = vec![
        ("SKU", false),
        ("bought", true),
        ("in use", true),
        ("free", true),
        ("managed", true),
        ("unmanaged", true),
        ("inherited", true),
        ("disabled", true),
        ("wanted", true),
        ("after plan", true),
    ];
    if page.cost.is_some() {
        headers.extend([("price / month", true), ("in use / month", true)]);
    }
    h.push_str("<h2>SKUs</h2>\n<div class=\"scroll\">\n<table class=\"sortable\" id=\"skus\">\n<thead><tr>");
    for (name, numeric) in &headers {
        let class = if *numeric { " class=\"n\"" } else { "" };
        let _ = write!(h, "<th scope=\"col\"{class}>{}</th>", escape(name));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for row in &report.skus {
        let _ = write!(h, "<tr><td>{}</td>", escape(&row.sku));
        let numbers = [
            Some(row.purchased),
            Some(row.consumed),
            Some(row.available),
            Some(row.managed as i64),
            Some(row.unmanaged as i64),
            Some(row.inherited as i64),
            Some(row.disabled as i64),
            Some(row.wanted as i64),
            row.after_plan,
        ];
        for n in numbers {
            match n {
                Some(n) => {
                    let _ = write!(h, "<td class=\"n\" data-value=\"{n}\">{n}</td>");
                }
                None => h.push_str("<td class=\"n\" data-value=\"-1\">–</td>"),
            }
        }
        if let Some((prices, bill)) = page.cost {
            match bill.skus.iter().find(|b| b.sku == row.sku) {
                Some(b) => {
                    let _ = write!(
                        h,
                        "<td class=\"n\" data-value=\"{}\">{}</td><td class=\"n\" data-value=\"{}\">{}</td>",
                        b.price_cents,
                        escape(&prices.money(b.price_cents)),
                        b.consumed_cents,
                        escape(&prices.money(b.consumed_cents))
                    );
                }
                None => h.push_str(
                    "<td class=\"n\" data-value=\"-1\">no price</td><td class=\"n\" data-value=\"-1\">–</td>",
                ),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n</div>\n");
    if !report.planned {
        h.push_str("<p class=\"note\">No “after plan” figures: the plan could not be built; run <code>okta365 plan</code> to see why.</p>\n");
    }
    if let Some((prices, bill)) = page.cost {
        let _ = writeln!(h, "<p id=\"cost\">{}</p>", escape(&bill.line(prices)));
    }
}

fn idle_table(h: &mut String, report: &LicenseReport) {
    let _ = writeln!(
        h,
        "<h2>Disabled accounts holding seats ({})</h2>",
        report.idle.len()
    );
    if report.idle.is_empty() {
        h.push_str("<p>No disabled account holds a direct licence.</p>\n");
        return;
    }
    h.push_str(
        "<div class=\"scroll\">\n<table class=\"sortable\" id=\"idle\">\n<thead><tr><th scope=\"col\">account</th><th scope=\"col\">SKUs</th>\
         <th scope=\"col\">managed</th><th scope=\"col\" class=\"n\">days offboarded</th><th scope=\"col\">what happens</th></tr></thead>\n<tbody>\n",
    );
    for seat in &report.idle {
        let fate = match seat.fate {
            SeatFate::Reclaimed => "reclaimed by this plan",
            SeatFate::Reenabled => "signed back in by this plan",
            SeatFate::Grace => "kept until the grace period ends",
            SeatFate::Unmanaged => "not managed by okta365: review by hand",
        };
        let days = match seat.offboarded_days {
            Some(d) => format!("<td class=\"n\" data-value=\"{d}\">{d}</td>"),
            None => "<td class=\"n\" data-value=\"-1\">–</td>".to_owned(),
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{days}<td>{}</td></tr>",
            escape(&seat.upn),
            escape(&seat.skus.join(", ")),
            if seat.managed { "yes" } else { "no" },
            fate
        );
    }
    h.push_str("</tbody>\n</table>\n</div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">R&D's</a>"),
            "&lt;a href=&quot;x&quot;&gt;R&amp;D&#39;s&lt;/a&gt;"
        );
    }
}
