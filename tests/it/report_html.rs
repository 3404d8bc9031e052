//! The HTML licence report is one self-contained, well-formed page whose
//! tables and chart say what the JSON report says; with prices in the
//! config, plans (text, JSON, Markdown) and reports carry a cost line.

use scraper::{Html, Selector};

use crate::common::{NOW, Scratch};

const PRICES: &str = "\nprices:\n  currency: USD\n  monthly:\n    SPE_E3: 36.00\n    POWER_BI_PRO: 10.00\n    ENTERPRISEPACK: 23.00\n";

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(e: &scraper::ElementRef) -> String {
    e.text().collect::<String>().trim().to_owned()
}

#[test]
fn the_html_report_is_one_well_formed_page_that_agrees_with_the_json_report() {
    let scratch = Scratch::new();
    let (code, _, stderr) = scratch.run(&[
        "report",
        "licenses",
        "--now",
        NOW,
        "--format",
        "html",
        "--out",
        "report.html",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let page = scratch.read("report.html");
    let (_, json, _) = scratch.run(&["report", "licenses", "--now", NOW, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();

    let doc = Html::parse_document(&page);
    assert!(doc.errors.is_empty(), "HTML parse errors: {:?}", doc.errors);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        text(&select(&doc, "title")[0]),
        format!("okta365: Licences as of {NOW}")
    );

    // Self-contained: nothing is loaded from anywhere.
    for css in [
        "link",
        "img",
        "iframe",
        "script[src]",
        "[src]",
        "object",
        "embed",
    ] {
        assert!(select(&doc, css).is_empty(), "{css} in the page");
    }
    assert!(!page.contains("url("), "a stylesheet fetches something");
    assert_eq!(select(&doc, "style").len(), 1);
    assert_eq!(select(&doc, "script").len(), 1);

    // The SKU table: one row per SKU, the JSON report's figures.
    let skus = report["skus"].as_array().unwrap();
    let rows = select(&doc, "table#skus tbody tr");
    assert_eq!(rows.len(), skus.len());
    let headers: Vec<String> = select(&doc, "table#skus thead th")
        .iter()
        .map(text)
        .collect();
    assert_eq!(headers[..4], ["SKU", "bought", "in use", "free"]);
    for (row, sku) in rows.iter().zip(skus) {
        let cells: Vec<String> = row
            .select(&Selector::parse("td").unwrap())
            .map(|c| text(&c))
            .collect();
        assert_eq!(cells[0], sku["sku"].as_str().unwrap());
        assert_eq!(cells[1], sku["purchased"].to_string(), "{cells:?}");
        assert_eq!(cells[2], sku["consumed"].to_string(), "{cells:?}");
        assert_eq!(cells[9], sku["after_plan"].to_string(), "{cells:?}");
    }
    // Sortable: every header of both tables, numbers by value.
    assert_eq!(select(&doc, "table.sortable").len(), 2);
    assert!(
        select(&doc, "table#skus td.n")
            .iter()
            .all(|td| td.value().attr("data-value").is_some())
    );
    let script = text(&select(&doc, "script")[0]);
    assert!(script.contains("aria-sort") && script.contains("localeCompare"));

    // The chart: one group per SKU, bought and in-use bars, in-use no wider than bought.
    let bars = select(&doc, "svg g.sku");
    assert_eq!(bars.len(), skus.len());
    for (bar, sku) in bars.iter().zip(skus) {
        assert_eq!(bar.value().attr("data-sku"), sku["sku"].as_str());
        let width = |class: &str| -> f64 {
            bar.select(&Selector::parse(&format!("rect.{class}")).unwrap())
                .next()
                .unwrap()
                .value()
                .attr("width")
                .unwrap()
                .parse()
                .unwrap()
        };
        let (bought, used) = (width("bought"), width("used"));
        assert!(used <= bought, "{sku}");
        let share = sku["consumed"].as_f64().unwrap() / sku["purchased"].as_f64().unwrap();
        assert!(
            (used / bought - share).abs() < 0.01,
            "{sku}: {used}/{bought}"
        );
    }

    // The disabled accounts holding seats.
    let idle = report["idle"].as_array().unwrap();
    let rows = select(&doc, "table#idle tbody tr");
    assert_eq!(rows.len(), idle.len());
    for (row, seat) in rows.iter().zip(idle) {
        assert!(text(row).contains(seat["upn"].as_str().unwrap()));
    }
    assert!(select(&doc, "#cost").is_empty(), "no prices, no cost");
}

#[test]
fn prices_give_plans_and_reports_a_cost_line() {
    let scratch = Scratch::new();
    let config = scratch.read("okta365.yaml");
    scratch.write("okta365.yaml", &format!("{config}{PRICES}"));
    let now = ["--now", NOW];
    // The example plan: SPE_E3 +6 −1, POWER_BI_PRO +2 −2.
    let line = "this plan: +5 SPE_E3: +$180/month";
    let (code, text_plan, _) = scratch.run(&["plan", now[0], now[1]]);
    assert_eq!(code, 0);
    assert!(
        text_plan.ends_with(&format!("Cost: {line}.\n")),
        "{text_plan}"
    );
    let (_, markdown, _) = scratch.run(&["plan", now[0], now[1], "--format", "markdown"]);
    assert!(
        markdown.ends_with(&format!("**Cost:** {line}.\n")),
        "{markdown}"
    );
    let (_, json, _) = scratch.run(&["plan", now[0], now[1], "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(plan["cost"]["monthly_cents"], 18_000);
    assert_eq!(plan["cost"]["currency"], "USD");
    assert_eq!(plan["cost"]["skus"][0]["sku"], "SPE_E3");
    assert_eq!(plan["cost"]["skus"][0]["seats"], 5);

    // A saved plan stays the plan alone, and applies.
    let (code, _, stderr) = scratch.run(&[
        "plan",
        now[0],
        now[1],
        "--out",
        "plan.json",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!scratch.read("plan.json").contains("\"cost\""));

    let (_, report, _) = scratch.run(&["report", "licenses", now[0], now[1]]);
    assert!(
        report.contains("after this plan $2,035/month (+$180/month); $82/month sit on disabled accounts. No price for FLOW_FREE."),
        "{report}"
    );
    let (_, json, _) = scratch.run(&["report", "licenses", now[0], now[1], "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        report["cost"]["after_plan_cents"].as_i64().unwrap()
            - report["cost"]["consumed_cents"].as_i64().unwrap(),
        plan["cost"]["monthly_cents"].as_i64().unwrap(),
        "the report and the plan agree on the change"
    );
    let (_, html, _) = scratch.run(&["report", "licenses", now[0], now[1], "--format", "html"]);
    let doc = Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    assert!(text(&select(&doc, "#cost")[0]).starts_with("Seats in use cost $1,855/month"));
    let e3 = select(&doc, "table#skus tbody tr")
        .into_iter()
        .find(|r| text(r).starts_with("SPE_E3"))
        .unwrap();
    assert!(text(&e3).contains("$36"), "{}", text(&e3));
}
