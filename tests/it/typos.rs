//! A typo never becomes a plan: each kind of misspelt name is an error that
//! names the place and the closest real name, and nothing is planned.

use crate::common::{NOW, Scratch};

/// Replaces `from` (which must occur once) in a policy file of the scratch copy.
fn edit(scratch: &Scratch, file: &str, from: &str, to: &str) {
    let path = format!("policies/{file}");
    let text = scratch.read(&path);
    assert_eq!(text.matches(from).count(), 1, "`{from}` in {path}");
    scratch.write(&path, &text.replace(from, to));
}

/// `plan` fails with exit 1, prints no plan, and says `expected` on stderr.
fn plan_refuses(scratch: &Scratch, expected: &[&str]) {
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("will perform"),
        "no plan is printed:\n{stdout}"
    );
    for e in expected {
        assert!(stderr.contains(e), "expected `{e}` in:\n{stderr}");
    }
}

#[test]
fn a_misspelt_okta_group_in_a_selector_is_an_error_not_a_mass_removal() {
    let scratch = Scratch::new();
    // Before the typo the incident responders are members (the plan is fine).
    let (code, _, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    edit(
        &scratch,
        "employees.yaml",
        "group: Security-Incident-Response",
        "group: Security-Incident-Respons",
    );
    plan_refuses(
        &scratch,
        &[
            "policies/employees.yaml:80:14: error: Okta group `Security-Incident-Respons` does not exist",
            "did you mean `Security-Incident-Response`?",
            "optional: true",
        ],
    );
    // A group that is not created yet can be named on purpose.
    edit(
        &scratch,
        "employees.yaml",
        "group: Security-Incident-Respons",
        "group: { name: Security-Incident-Respons, optional: true }",
    );
    let (code, _, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("Security-Incident-Respons"), "{stderr}");
}

#[test]
fn a_misspelt_attribute_in_a_selector_is_an_error() {
    let scratch = Scratch::new();
    edit(
        &scratch,
        "employees.yaml",
        "    when:\n      attribute: { name: department, equals: Engineering }",
        "    when:\n      attribute: { name: departmen, equals: Engineering }",
    );
    plan_refuses(
        &scratch,
        &[
            "policies/employees.yaml:56:26: error: no Okta user has the profile attribute `departmen`",
            "did you mean `department`?",
        ],
    );
}

#[test]
fn a_misspelt_attribute_in_a_template_is_an_error_even_with_a_default() {
    let scratch = Scratch::new();
    edit(
        &scratch,
        "employees.yaml",
        "jobTitle: \"{{ profile.title | default('Staff') }}\"",
        "jobTitle: \"{{ profile.titel | default('Staff') }}\"",
    );
    plan_refuses(
        &scratch,
        &[
            "policies/employees.yaml:16:21: error: no Okta user has the profile attribute `titel`",
            "did you mean `title`?",
            "`profile.titel | optional`",
        ],
    );
}

#[test]
fn an_undeclared_group_fails_validate_even_with_mirrors() {
    let scratch = Scratch::new();
    edit(
        &scratch,
        "employees.yaml",
        "      - incident-responders",
        "      - incident-responder",
    );
    let (code, stdout, stderr) = scratch.run(&["validate"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("policies/employees.yaml:82:9: error: unknown group `incident-responder`")
            && stderr.contains("did you mean `incident-responders`?"),
        "{stderr}"
    );
}

#[test]
fn a_group_named_by_a_lookup_table_fails_validate() {
    let scratch = Scratch::new();
    let text = scratch.read("policies/lookups.yaml");
    let (before, after) = text.split_once("department_group:").unwrap();
    let after = after.replacen(": marketing", ": marketting", 1);
    scratch.write(
        "policies/lookups.yaml",
        &format!("{before}department_group:{after}"),
    );
    let (code, _, stderr) = scratch.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "error: lookup table `department_group` entry `Marketing`: unknown group `marketting`"
        ) && stderr.contains("did you mean `marketing`?"),
        "{stderr}"
    );
}

#[test]
fn a_misspelt_sku_passes_validate_as_a_form_and_fails_plan() {
    let scratch = Scratch::new();
    edit(
        &scratch,
        "employees.yaml",
        "- sku: SPE_E3\n",
        "- sku: SPE_E3X\n",
    );
    let (code, stdout, stderr) = scratch.run(&["validate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("SKU and service plan names (checked here for their form only)"),
        "validate says what it could not check:\n{stdout}"
    );
    plan_refuses(
        &scratch,
        &[
            "error: SKU `SPE_E3X` is not in the tenant's subscribedSkus",
            "did you mean `SPE_E3`?",
        ],
    );
    // A product's display name is not a SKU name: validate warns at once.
    edit(
        &scratch,
        "employees.yaml",
        "- sku: SPE_E3X\n",
        "- sku: Microsoft 365 E3\n",
    );
    let (code, _, stderr) = scratch.run(&["validate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: `Microsoft 365 E3` looks like a product name, not a SKU name"),
        "{stderr}"
    );
}
