//! `okta365 explain` shows each value with the rule behind it.

use crate::common::{NOW, Scratch};

#[test]
fn explain_names_the_rule_and_line_behind_each_value() {
    let scratch = Scratch::new();
    let users: serde_json::Value =
        serde_json::from_str(&scratch.read("examples/acme/okta/users.json")).unwrap();
    let employee = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["status"] == "ACTIVE")
        .unwrap();
    let login = employee["profile"]["login"].as_str().unwrap();
    let (code, stdout, stderr) = scratch.run(&["explain", login, "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("userPrincipalName"), "{stdout}");
    assert!(stdout.contains("# policies/employees.yaml:"), "{stdout}");
    assert!(stdout.contains("(employees)"), "{stdout}");

    let (code, _, stderr) = scratch.run(&["explain", "nobody@nowhere.example", "--now", NOW]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("no Okta user `nobody@nowhere.example`"),
        "{stderr}"
    );
}

#[test]
fn explain_names_the_lookup_table_and_key_behind_a_value() {
    let scratch = Scratch::new();
    let (code, stdout, stderr) =
        scratch.run(&["explain", "ines.garcia@acme.example", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let line = |start: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no `{start}` line in:\n{stdout}"))
            .to_owned()
    };
    assert!(
        line("usageLocation").ends_with("(employees) via usage_location[US]"),
        "{stdout}"
    );
    assert!(
        line("POWER_BI_PRO").ends_with("via department_addons[Marketing]"),
        "{stdout}"
    );
    assert!(
        line("marketing").ends_with("via department_group[Marketing]"),
        "{stdout}"
    );
    // Values written out in the rule name no table.
    assert!(!line("all-staff").contains("via"), "{stdout}");
    assert!(!line("displayName").contains("via"), "{stdout}");
    assert!(
        stdout.contains("Office 365: ines.garcia@acme.example, managed (its extensionAttribute15 holds this Okta id)"),
        "{stdout}"
    );

    // A key the table lacks: the value is the template's default.
    scratch.edit_json("examples/acme/okta/users.json", |users| {
        let ines = users
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|u| u["profile"]["login"] == "ines.garcia@acme.example")
            .unwrap();
        ines["profile"]["countryCode"] = "BR".into();
    });
    let (code, stdout, stderr) =
        scratch.run(&["explain", "ines.garcia@acme.example", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("usageLocation")
                && l.ends_with("(employees) usage_location has no BR: default")),
        "{stdout}"
    );
}

#[test]
fn explain_says_when_an_account_is_protected_unmanaged_or_a_rehire() {
    let scratch = Scratch::new();
    let (code, stdout, stderr) =
        scratch.run(&["explain", "breakglass-admin@acme.example", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "protected (`protected:` in the policies): okta365 never modifies this account"
        ),
        "{stdout}"
    );

    // Charlotte's account has no marker yet; out of Employees, no rule
    // selects her, so it is not okta365's to touch.
    scratch.edit_json("examples/acme/okta/group-members.json", |members| {
        let employees = members["00glTPGDwuuaTr2Sx4x7"].as_array_mut().unwrap();
        employees.retain(|id| id != "00udCPokrDKZu7ji04x7");
    });
    let (code, stdout, stderr) =
        scratch.run(&["explain", "charlotte.wright@acme.example", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Office 365: charlotte.wright@acme.example, unmanaged: it holds no okta365 marker and no rule selects this user"),
        "{stdout}"
    );

    // Ines was offboarded (stamped) and is selected again.
    scratch.edit_json("examples/acme/m365/users.json", |users| {
        let ines = users
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|u| u["userPrincipalName"] == "ines.garcia@acme.example")
            .unwrap();
        ines["accountEnabled"] = false.into();
        ines["onPremisesExtensionAttributes"]["extensionAttribute14"] =
            "2026-10-01T00:00:00Z".into();
    });
    let (code, stdout, stderr) =
        scratch.run(&["explain", "ines.garcia@acme.example", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "rehire: offboarded at 2026-10-01T00:00:00Z (extensionAttribute14) and selected again"
        ),
        "{stdout}"
    );
    let (_, stdout, _) = scratch.run(&["explain", "fatima.ali@acme.example", "--now", NOW]);
    assert!(!stdout.contains("rehire"), "{stdout}");
}
