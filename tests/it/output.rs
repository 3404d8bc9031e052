//! Honest exit codes and output: 0 success, 1 error (usage errors too), 2
//! "changes" only with `--detailed-exitcode`; a refused plan is still shown
//! in every format; annotations and JSON logs carry every stderr line.

use serde_json::Value;

use crate::common::{NOW, Scratch};

/// Every active user suspended in Okta: the removal budget refuses the plan.
fn mass_offboarding(scratch: &Scratch) {
    scratch.edit_json("examples/acme/okta/users.json", |users| {
        for u in users.as_array_mut().unwrap() {
            if u["status"] == "ACTIVE" {
                u["status"] = "SUSPENDED".into();
            }
        }
    });
}

#[test]
fn usage_errors_exit_1_not_2_and_help_exits_0() {
    let scratch = Scratch::new();
    for args in [
        &["plan", "--detailed-exitcod"][..],
        &["plna"],
        &["plan", "--format", "yaml"],
        &["apply", "--now", "yesterday"],
        &[],
    ] {
        let (code, stdout, stderr) = scratch.run(args);
        assert_eq!(code, 1, "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("error:") || stderr.contains("Usage:"),
            "{stderr}"
        );
    }
    for args in [&["--help"][..], &["plan", "--help"], &["--version"]] {
        let (code, stdout, _) = scratch.run(args);
        assert_eq!(code, 0, "{args:?}");
        assert!(!stdout.is_empty());
    }
    // With JSON logs, the usage error is a JSON line too.
    let (code, _, stderr) = scratch.run(&["--log-format", "json", "plan", "--bogus"]);
    assert_eq!(code, 1);
    let line: Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(line["level"], "ERROR");
    assert!(
        line["message"].as_str().unwrap().contains("--bogus"),
        "{line}"
    );
}

#[test]
fn detailed_exit_codes_are_0_for_no_changes_2_for_changes_1_for_errors() {
    let scratch = Scratch::new();
    let (code, _, _) = scratch.run(&["plan", "--now", NOW, "--detailed-exitcode"]);
    assert_eq!(code, 2, "changes");
    let (code, _, stderr) = scratch.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = scratch.run(&["plan", "--now", NOW, "--detailed-exitcode"]);
    assert_eq!(code, 0, "no changes");
    mass_offboarding(&scratch);
    let (code, _, _) = scratch.run(&["plan", "--now", NOW, "--detailed-exitcode"]);
    assert_eq!(code, 1, "refused");
}

#[test]
fn a_refused_plan_is_shown_in_every_format_with_every_reason() {
    let scratch = Scratch::new();
    mass_offboarding(&scratch);
    let (code, text, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        text.starts_with("REFUSED: okta365 will not apply this plan:"),
        "{text}"
    );
    assert!(text.contains("over the budget of 10 %"), "{text}");
    assert!(
        text.contains("- user ines.garcia@acme.example (disable)"),
        "{text}"
    );
    assert!(text.contains("REFUSED: nothing will be applied."), "{text}");
    assert!(stderr.contains("over the budget"), "{stderr}");

    let (code, json, _) = scratch.run(&["plan", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 1);
    let plan: Value = serde_json::from_str(&json).unwrap();
    assert!(
        plan["refused"][0]["message"]
            .as_str()
            .unwrap()
            .contains("over the budget")
    );
    assert!(!plan["actions"].as_array().unwrap().is_empty());

    // The pull-request comment shows the refusal first, then what was refused.
    let (code, md, _) = scratch.run(&["plan", "--now", NOW, "--format", "markdown"]);
    assert_eq!(code, 1);
    assert!(
        md.starts_with("### okta365 plan\n\n> [!CAUTION]\n> **Refused**"),
        "{md}"
    );
    assert!(md.contains("over the budget of 10 %"), "{md}");
    assert!(md.contains("#### Removals ("), "{md}");

    // Saved with --out, it is refused by apply.
    let (code, _, _) = scratch.run(&["plan", "--now", NOW, "--out", "plan.json"]);
    assert_eq!(code, 1);
    let (code, _, stderr) = scratch.run(&["apply", "plan.json"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("was refused when it was made"), "{stderr}");
}

#[test]
fn github_annotations_carry_the_warnings_of_a_successful_plan() {
    let scratch = Scratch::new();
    let (code, stdout, stderr) = scratch.run(&["--error-format", "github", "plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Plan:"));
    // The example's plan warns that the protected account is left alone.
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("::warning::protected account `breakglass-admin@acme.example`")),
        "{stderr}"
    );
}

#[test]
fn json_logs_make_every_stderr_line_json() {
    let scratch = Scratch::new();
    let json_lines = |stderr: &str| -> Vec<Value> {
        stderr
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    };
    // Warnings and the saved-plan note of a plan.
    let (code, _, stderr) = scratch.run(&[
        "--log-format",
        "json",
        "--quiet",
        "plan",
        "--now",
        NOW,
        "--out",
        "plan.json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let lines = json_lines(&stderr);
    assert!(lines.iter().any(|l| l["level"] == "WARN"), "{stderr}");
    assert!(
        lines
            .iter()
            .any(|l| l["message"].as_str().unwrap().starts_with("Saved the plan")),
        "{stderr}"
    );
    // The apply summary.
    let (code, _, stderr) = scratch.run(&["--log-format", "json", "--quiet", "apply", "plan.json"]);
    assert_eq!(code, 0, "{stderr}");
    let lines = json_lines(&stderr);
    assert!(
        lines
            .iter()
            .any(|l| l["message"].as_str().unwrap().starts_with("Applied in ")),
        "{stderr}"
    );
    // Errors, with their hint as a field.
    let (code, _, stderr) = scratch.run(&["--log-format", "json", "apply", "missing.json"]);
    assert_eq!(code, 1);
    let lines = json_lines(&stderr);
    assert_eq!(lines.last().unwrap()["level"], "ERROR", "{stderr}");
    mass_offboarding(&scratch);
    let (code, _, stderr) = scratch.run(&["--log-format", "json", "--quiet", "plan", "--now", NOW]);
    assert_eq!(code, 1);
    let lines = json_lines(&stderr);
    let budget = lines
        .iter()
        .find(|l| l["message"].as_str().unwrap().contains("over the budget"))
        .unwrap();
    assert_eq!(budget["level"], "ERROR");
    assert!(
        budget["hint"]
            .as_str()
            .unwrap()
            .contains("--allow-removals")
    );
}
