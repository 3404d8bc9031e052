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
