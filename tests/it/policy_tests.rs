//! `okta365 test`: the example's policy tests pass, a failing case shows a
//! diff and fails the run, JUnit output is well-formed XML with the same
//! verdicts, and `--coverage` names what no test exercises.

use crate::common::Scratch;

#[test]
fn the_example_policy_tests_pass() {
    let scratch = Scratch::new();
    let (code, stdout, stderr) = scratch.run(&["test"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let summary = stdout.lines().last().unwrap();
    assert!(summary.starts_with("test result: ok. "), "{summary}");
    let passed: usize = summary["test result: ok. ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(passed >= 20, "{summary}");
    assert_eq!(
        stdout.lines().filter(|l| l.ends_with("... ok")).count(),
        passed
    );
}

const FAILING: &str = r#"# yaml-language-server: $schema=../../schemas/policy-test.schema.json
now: 2026-11-20T00:00:00Z
cases:
  - name: a Finance employee gets only E3
    okta:
      users:
        - login: dana.lee@acme.example
          groups: [Employees]
          profile: { firstName: Dana, lastName: Lee, department: Finance, employeeNumber: "1" }
    expect:
      - user: dana.lee@acme.example
        licenses: [SPE_E3]
        attributes: { usageLocation: DE }
  - name: a Sales employee joins Sales
    okta:
      users:
        - login: bo.ek@acme.example
          groups: [Employees]
          profile: { firstName: Bo, lastName: Ek, department: Sales, employeeNumber: "2" }
    expect:
      - user: bo.ek@acme.example
        groups: { includes: [sales], excludes: [all-staff] }
"#;

#[test]
fn a_failing_case_shows_a_diff_and_fails_the_run() {
    let scratch = Scratch::new();
    scratch.write("policies/tests/failing.yaml", FAILING);
    let (code, stdout, _) = scratch.run(&["test", "failing"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("test failing.yaml › a Finance employee gets only E3 ... FAILED"),
        "{stdout}"
    );
    let expected_diff = "policies/tests/failing.yaml:11:9: dana.lee@acme.example
  licenses (- expected, + actual):
    + POWER_BI_PRO
      SPE_E3
  attributes (- expected, + actual):
    - usageLocation: \"DE\"
    + usageLocation: \"US\"";
    assert!(stdout.contains(expected_diff), "{stdout}");
    assert!(
        stdout.contains("  groups:\n    should not have: all-staff\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\ntest result: FAILED. 0 passed; 2 failed; "),
        "{stdout}"
    );
}

#[test]
fn junit_output_is_xml_with_the_same_verdicts() {
    let scratch = Scratch::new();
    scratch.write("policies/tests/failing.yaml", FAILING);
    let (code, stdout, _) = scratch.run(&["test", "--format", "junit"]);
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&stdout).expect("JUnit output is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 5, "one suite per test file");
    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        root.attribute("tests"),
        Some(cases.len().to_string().as_str())
    );
    assert_eq!(root.attribute("failures"), Some("2"));
    let failing = suites
        .iter()
        .find(|s| s.attribute("name") == Some("policies/tests/failing.yaml"))
        .unwrap();
    assert_eq!(failing.attribute("failures"), Some("2"));
    let case = failing
        .children()
        .find(|n| n.attribute("name") == Some("a Finance employee gets only E3"))
        .unwrap();
    assert_eq!(case.attribute("line"), Some("4"));
    let failure = case.children().find(|n| n.has_tag_name("failure")).unwrap();
    assert_eq!(failure.attribute("message"), Some("dana.lee@acme.example"));
    assert!(failure.text().unwrap().contains("+ POWER_BI_PRO"));
    let passing = cases
        .iter()
        .filter(|c| c.children().all(|n| !n.has_tag_name("failure")))
        .count();
    assert_eq!(passing, cases.len() - 2);
    for c in &cases {
        let time: f64 = c.attribute("time").unwrap().parse().unwrap();
        assert!(time >= 0.0);
    }
}

#[test]
fn coverage_names_what_no_test_exercises() {
    let scratch = Scratch::new();
    let (code, stdout, _) = scratch.run(&["test", "--coverage"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("every rule, guest rule, mirror and lookup entry is exercised by a test"),
        "{stdout}"
    );
    std::fs::remove_file(scratch.path("policies/tests/guests.yaml")).unwrap();
    std::fs::remove_file(scratch.path("policies/tests/groups.yaml")).unwrap();
    let (code, stdout, _) = scratch.run(&["test", "--coverage", "engineers"]);
    assert_eq!(code, 0, "{stdout}");
    for gap in [
        "not covered: guest rule `partner-guests` (policies/guests.yaml:5)",
        "not covered: mirror `engineering-squads` (policies/groups.yaml:42)",
        "not covered: rule `contractors` (policies/employees.yaml:31)",
        "not covered: lookup `department_addons` (policies/lookups.yaml:27): 5 of 6 entries used by no test: Finance, Human Resources, Marketing, Sales, Support",
    ] {
        assert!(stdout.contains(gap), "{gap}\n{stdout}");
    }
    assert!(!stdout.contains("rule `engineering-team`"), "{stdout}");
}

#[test]
fn mistakes_in_a_test_file_point_at_them() {
    let scratch = Scratch::new();
    scratch.write(
        "policies/tests/bad.yaml",
        "cases:\n  - name: x\n    expect:\n      - user: a@acme.example\n        licences: [SPE_E3]\n",
    );
    let (code, _, stderr) = scratch.run(&["test"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("policies/tests/bad.yaml:5:9: error: unknown field `licences`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `licenses`?"), "{stderr}");
}

#[test]
fn refused_plans_and_warnings_can_be_expected() {
    let scratch = Scratch::new();
    scratch.write(
        "policies/tests/refused.yaml",
        r#"cases:
  - name: two joiners and one free seat
    okta:
      users:
        - { login: a@acme.example, groups: [Employees], profile: { department: Sales, employeeNumber: "1" } }
        - { login: b@acme.example, groups: [Employees], profile: { department: Sales, employeeNumber: "2" } }
    m365:
      skus:
        - { sku: SPE_E3, seats: 1, plans: [YAMMER_ENTERPRISE] }
    refused: SPE_E3
  - name: the same, expecting the wrong error
    okta:
      users:
        - { login: a@acme.example, groups: [Employees], profile: { department: Sales, employeeNumber: "1" } }
        - { login: b@acme.example, groups: [Employees], profile: { department: Sales, employeeNumber: "2" } }
    m365:
      skus:
        - { sku: SPE_E3, seats: 1, plans: [YAMMER_ENTERPRISE] }
    refused: removal budget
"#,
    );
    let (code, stdout, _) = scratch.run(&["test", "refused"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("two joiners and one free seat ... ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the same, expecting the wrong error ... FAILED"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "policies/tests/refused.yaml:19:14: the plan was refused, but no error contains `removal budget`"
        ),
        "{stdout}"
    );
}

/// Masks what changes between runs and as cases are added: the time taken
/// and the number of cases a filter leaves out.
fn stable(text: &str) -> String {
    text.lines()
        .map(|l| match l.find(" filtered out; finished in ") {
            Some(_) if l.starts_with("test result:") => {
                let head = &l[..l.rfind(';').unwrap()];
                let head = &head[..head.rfind(';').unwrap()];
                format!("{head}; … filtered out")
            }
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_failing_case_in_the_docs_is_what_okta365_prints() {
    let docs = std::fs::read_to_string(crate::common::repo().join("docs/testing.md")).unwrap();
    let start = docs.find("<!-- failing-demo: ").unwrap();
    let header = &docs[start..docs[start..].find("-->").unwrap() + start];
    // `<!-- failing-demo: FILE "OLD" -> "NEW" -->`
    let parts: Vec<&str> = header.split('"').collect();
    let file = parts[0]["<!-- failing-demo: ".len()..].trim();
    let (old, new) = (parts[1], parts[3]);
    let block = &docs[start..docs.find("<!-- /failing-demo -->").unwrap()];
    let console: Vec<&str> = block.lines().skip(2).collect();
    let command = console[0].strip_prefix("$ okta365 ").unwrap();
    let shown = console[1..console.len() - 1].join("\n");

    let scratch = Scratch::new();
    let policy = scratch.read(file);
    assert!(policy.contains(old), "{file} has no `{old}`");
    scratch.write(file, &policy.replacen(old, new, 1));
    let args: Vec<&str> = command.split(' ').collect();
    let (code, stdout, _) = scratch.run(&args);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stable(stdout.trim_end()), stable(&shown));
}
