//! `okta365 report licenses` agrees with the snapshot and with the plan.

use crate::common::{NOW, Scratch};

fn json(scratch: &Scratch, args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = scratch.run(args);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn the_licence_report_matches_the_tenant_and_the_plan() {
    let scratch = Scratch::new();
    let report = json(
        &scratch,
        &["report", "licenses", "--now", NOW, "--format", "json"],
    );
    let plan = json(&scratch, &["plan", "--now", NOW, "--format", "json"]);
    let skus: serde_json::Value =
        serde_json::from_str(&scratch.read("examples/acme/m365/subscribedSkus.json")).unwrap();
    for sku in skus.as_array().unwrap() {
        let part = sku["skuPartNumber"].as_str().unwrap();
        let row = report["skus"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["sku"] == part)
            .unwrap_or_else(|| panic!("no row for {part}"));
        assert_eq!(row["purchased"], sku["prepaidUnits"]["enabled"], "{part}");
        assert_eq!(row["consumed"], sku["consumedUnits"], "{part}");
        let seats = plan["licenses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["sku"] == part);
        let expected_after = seats.map_or(&sku["consumedUnits"], |s| &s["used_after"]);
        assert_eq!(&row["after_plan"], expected_after, "{part}");
    }
    // The offboarded leaver past the grace period is reclaimed by this plan…
    let idle = report["idle"].as_array().unwrap();
    let victoria = idle
        .iter()
        .find(|s| s["upn"] == "victoria.hughes@acme.example")
        .unwrap();
    assert_eq!(victoria["fate"], "reclaimed");

    // …and after apply no disabled account okta365 manages holds a seat it should not.
    let (code, _, stderr) = scratch.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let after = json(
        &scratch,
        &["report", "licenses", "--now", NOW, "--format", "json"],
    );
    for seat in after["idle"].as_array().unwrap() {
        assert_ne!(seat["fate"], "reclaimed", "{seat}");
        assert_ne!(seat["upn"], "victoria.hughes@acme.example");
    }
}

#[test]
fn the_csv_report_has_a_header_and_a_line_per_sku() {
    let scratch = Scratch::new();
    let (code, stdout, stderr) =
        scratch.run(&["report", "licenses", "--now", NOW, "--format", "csv"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "sku,purchased,consumed,available,managed,unmanaged,inherited,disabled,wanted,after_plan"
    );
    let skus: serde_json::Value =
        serde_json::from_str(&scratch.read("examples/acme/m365/subscribedSkus.json")).unwrap();
    assert_eq!(lines.len(), 1 + skus.as_array().unwrap().len());
    assert!(
        lines.iter().any(|l| l.starts_with("SPE_E3,60,")),
        "{stdout}"
    );
}
