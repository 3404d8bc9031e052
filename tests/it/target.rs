//! `plan --target USER`: only that user's changes and what they need.

use crate::common::{NOW, Scratch};

fn plan_json(scratch: &Scratch, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan", "--now", NOW, "--format", "json"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = scratch.run(&args);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

fn targets(plan: &serde_json::Value) -> Vec<String> {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["target"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_targeted_plan_holds_the_user_and_the_groups_they_join() {
    let scratch = Scratch::new();
    let plan = plan_json(&scratch, &["--target", "emily.chen@acme.example"]);
    let got = targets(&plan);
    // The new squad group and its Team come along, as the membership needs them.
    assert!(got.contains(&"group eng-mobile".to_owned()), "{got:?}");
    assert!(got.contains(&"team eng-mobile".to_owned()), "{got:?}");
    // So does the new Team's owner (the squad's senior engineer, picked by
    // the mirror's `owners.when`): Graph creates a Team only on a group with one.
    let owner = "team eng-mobile member daniel.okafor@acme.example";
    assert!(got.contains(&owner.to_owned()), "{got:?}");
    for t in &got {
        assert!(
            t.contains("emily.chen")
                || t == "group eng-mobile"
                || t == "team eng-mobile"
                || t == owner,
            "unrelated action in a targeted plan: {t}"
        );
    }
    assert!(plan["unmanaged"].as_array().unwrap().is_empty());
}

#[test]
fn a_target_by_okta_login_finds_the_user_and_a_typo_is_an_error() {
    let scratch = Scratch::new();
    let by_upn = plan_json(&scratch, &["--target", "ines.garcia@acme.example"]);
    let by_id = plan_json(&scratch, &["--target", "00uo1qDulJ9QhYqQW4x7"]);
    assert_eq!(targets(&by_upn), targets(&by_id));
    assert!(!targets(&by_id).is_empty());

    // A target that matches nobody is an error, not "No changes" and exit 0.
    let (code, stdout, stderr) =
        scratch.run(&["plan", "--now", NOW, "--target", "nobody@acme.example"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(!stdout.contains("matches the policies"), "{stdout}");
    assert!(stdout.contains("REFUSED"), "{stdout}");
    assert!(
        stderr.contains("error: `--target nobody@acme.example` matches no user"),
        "{stderr}"
    );
    // So is it for a fresh apply, which changes nothing.
    let before = scratch.read("examples/acme/m365/users.json");
    let (code, _, stderr) =
        scratch.run(&["apply", "--auto-approve", "--target", "nobody@acme.example"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("matches no user"), "{stderr}");
    assert_eq!(scratch.read("examples/acme/m365/users.json"), before);
}

#[test]
fn applying_a_target_leaves_everyone_else_for_the_next_plan() {
    let scratch = Scratch::new();
    let before = targets(&plan_json(&scratch, &[]));
    let (code, _, stderr) = scratch.run(&[
        "apply",
        "--auto-approve",
        "--now",
        NOW,
        "--target",
        "ines.garcia@acme.example",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let after = targets(&plan_json(&scratch, &[]));
    assert!(
        !after.iter().any(|t| t.contains("ines.garcia")),
        "{after:?}"
    );
    let others: Vec<&String> = before
        .iter()
        .filter(|t| !t.contains("ines.garcia"))
        .collect();
    assert_eq!(after.iter().collect::<Vec<_>>(), others);
}
