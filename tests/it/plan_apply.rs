//! plan → apply → plan on a copy of the example tenant.

use crate::common::{NOW, Scratch};

fn kinds(plan_json: &str) -> std::collections::BTreeSet<String> {
    let plan: serde_json::Value = serde_json::from_str(plan_json).unwrap();
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_example_plan_shows_every_action_kind_with_its_policy_line() {
    let scratch = Scratch::new();
    let (code, stdout, stderr) = scratch.run(&[
        "plan",
        "--format",
        "json",
        "--now",
        NOW,
        "--detailed-exitcode",
    ]);
    assert_eq!(code, 2, "changes present: {stderr}");
    let all = [
        "create_user",
        "update_user",
        "enable_user",
        "disable_user",
        "revoke_sessions",
        "assign_licenses",
        "delete_user",
        "create_group",
        "add_member",
        "remove_member",
        "create_team",
        "add_team_member",
        "remove_team_member",
        "invite_guest",
        "remove_guest",
    ];
    let found = kinds(&stdout);
    for kind in all {
        assert!(
            found.contains(kind),
            "no `{kind}` action in the example plan"
        );
    }
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for action in plan["actions"].as_array().unwrap() {
        let reasons = action["reasons"].as_array().unwrap();
        assert!(!reasons.is_empty(), "action without a reason: {action}");
        for r in reasons {
            assert!(
                r["file"].as_str().unwrap().starts_with("policies/"),
                "{action}"
            );
            assert!(r["line"].as_u64().unwrap() > 0, "{action}");
        }
    }
    assert!(
        !plan["unmanaged"].as_array().unwrap().is_empty(),
        "the example has unmanaged objects"
    );
}

#[test]
fn apply_then_plan_shows_no_changes() {
    let scratch = Scratch::new();
    let (code, stdout, stderr) = scratch.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(" 0 failed, 0 skipped."), "{stdout}");
    let done = stdout.lines().filter(|l| l.starts_with("done ")).count();
    let summary = stderr.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("Applied in ")
            && summary.ends_with(&format!(" s: {done} done, 0 failed, 0 skipped.")),
        "one summary line on stderr: {stderr}"
    );
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW, "--detailed-exitcode"]);
    assert_eq!(code, 0, "second plan must be empty:\n{stdout}\n{stderr}");
    assert!(stdout.starts_with("No changes."), "{stdout}");

    // An intent and an outcome record per action, each with its reasons;
    // every intent comes before its outcome.
    let audit = scratch.read(".okta365/audit.jsonl");
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcomes: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["phase"] == "outcome").collect();
    assert_eq!(outcomes.len(), done, "{audit}");
    assert_eq!(records.len(), 2 * done, "{audit}");
    assert!(
        outcomes
            .iter()
            .all(|r| r["result"] == "done" && !r["reasons"].as_array().unwrap().is_empty())
    );
    for (i, r) in records.iter().enumerate() {
        if r["phase"] == "outcome" {
            let intent = records[..i]
                .iter()
                .any(|e| e["phase"] == "intent" && e["action"] == r["action"]);
            assert!(intent, "no intent before {r}");
        }
    }
    // A destructive action names the person (Okta id) it acts on.
    let disable = outcomes
        .iter()
        .find(|r| r["kind"] == "disable_user")
        .unwrap();
    assert!(
        disable["okta_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("00u")),
        "{disable}"
    );
}

#[test]
fn a_saved_plan_applies_and_a_stale_one_is_refused() {
    let scratch = Scratch::new();
    let (code, _, stderr) = scratch.run(&[
        "plan",
        "--now",
        NOW,
        "--out",
        "plan.json",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");

    // Someone edits Office 365 after the plan was made: the plan is stale.
    let before = scratch.read("examples/acme/m365/users.json");
    scratch.edit_json("examples/acme/m365/users.json", |users| {
        users[0]["jobTitle"] = "Edited by hand".into();
    });
    let edited = scratch.read("examples/acme/m365/users.json");
    let (code, stdout, stderr) = scratch.run(&["apply", "plan.json"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("is stale") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert!(stdout.is_empty());
    assert_eq!(
        scratch.read("examples/acme/m365/users.json"),
        edited,
        "a refused apply changes nothing"
    );

    // Restored inputs: the same plan applies.
    scratch.write("examples/acme/m365/users.json", &before);
    let (code, stdout, stderr) = scratch.run(&["apply", "plan.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, _, _) = scratch.run(&["plan", "--now", NOW, "--detailed-exitcode"]);
    assert_eq!(code, 0);
}

#[test]
fn apply_never_prompts_without_a_terminal() {
    let scratch = Scratch::new();
    let before = scratch.read("examples/acme/m365/users.json");
    let (code, _, stderr) = scratch.run(&["apply", "--now", NOW]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("stdin is not a terminal") && stderr.contains("--auto-approve"),
        "{stderr}"
    );
    assert_eq!(scratch.read("examples/acme/m365/users.json"), before);
}
