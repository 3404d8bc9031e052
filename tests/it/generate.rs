//! The synthetic tenant (`okta365 generate`): same seed, same bytes; and a
//! generated tenant plans without errors, with leavers, movers and drift,
//! and is in line after one apply. Small and never timed (benchmarks:
//! BENCHMARKS.md).

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;

const NOW: &str = okta365::generate::NOW;

fn okta365(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("okta365")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .env_remove("OKTA365_CONFIG")
        .env_remove("OKTA365_LOG")
        .env("NO_COLOR", "1")
        .env(crate::common::TEST_NOW_VAR, NOW)
        .write_stdin("")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn generate(dir: &Path, seed: &str) {
    let out = dir.to_str().unwrap();
    let (code, _, stderr) = okta365(
        Path::new("."),
        &["generate", "--users", "300", "--seed", seed, "--out", out],
    );
    assert_eq!(code, 0, "{stderr}");
}

/// Every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_other_ones() {
    let root = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        root.path().join("a"),
        root.path().join("b"),
        root.path().join("c"),
    );
    generate(&a, "7");
    generate(&b, "7");
    generate(&c, "8");
    let (a, b, c) = (files(&a), files(&b), files(&c));
    for name in [
        "okta/users.json",
        "m365/users.json",
        "m365/subscribedSkus.json",
        "okta365.yaml",
    ] {
        assert!(a.contains_key(name), "{name} missing: {:?}", a.keys());
    }
    assert_eq!(a, b, "same seed, same files");
    assert_ne!(a["okta/users.json"], c["okta/users.json"]);
    assert_ne!(a["m365/users.json"], c["m365/users.json"]);
}

#[test]
fn a_generated_tenant_plans_leavers_movers_and_drift_and_is_in_line_after_apply() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "1");
    let (code, stdout, stderr) = okta365(
        dir.path(),
        &[
            "plan",
            "--now",
            NOW,
            "--format",
            "json",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(code, 2, "a plan with changes and no errors: {stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let actions = plan["actions"].as_array().unwrap();
    let count = |kind: &str, field: Option<&str>| {
        actions
            .iter()
            .filter(|a| a["kind"] == kind)
            .filter(|a| {
                field.is_none_or(|f| {
                    a["changes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|c| c["field"] == f)
                })
            })
            .count()
    };
    let rule_mentions = |text: &str| {
        actions
            .iter()
            .filter(|a| {
                a["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["rule"].as_str().unwrap().contains(text))
            })
            .count()
    };
    // Leavers: suspended (disabled, sessions revoked), deprovisioned (licences reclaimed, deleted).
    assert!(count("disable_user", None) >= 1, "{stdout}");
    assert!(count("revoke_sessions", None) >= 1);
    assert!(count("delete_user", None) >= 1);
    assert!(rule_mentions("offboarding: SUSPENDED") >= 1);
    assert!(rule_mentions("offboarding: DEPROVISIONED") >= 1);
    // Movers: department updated in place.
    assert!(count("update_user", Some("department")) >= 1);
    // Drift restored: a hand-edited title or office, a blocked account, a missing link.
    assert!(count("update_user", Some("jobTitle")) >= 1);
    assert!(count("update_user", Some("officeLocation")) >= 1);
    assert!(count("enable_user", None) >= 1);
    assert!(
        count(
            "update_user",
            Some("onPremisesExtensionAttributes.extensionAttribute15")
        ) >= 1
    );
    // Joiners and memberships.
    assert!(count("create_user", None) >= 1);
    assert!(count("add_member", None) >= 1);
    assert!(count("remove_member", None) >= 1);
    let unmanaged = plan["unmanaged"].as_array().unwrap();
    assert!(
        unmanaged.iter().any(|u| u["note"] == "protected"),
        "{unmanaged:?}"
    );

    let (code, stdout, stderr) = okta365(dir.path(), &["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    let (code, stdout, stderr) =
        okta365(dir.path(), &["plan", "--now", NOW, "--detailed-exitcode"]);
    assert_eq!(code, 0, "second plan must be empty:\n{stdout}\n{stderr}");
    assert!(stdout.contains("No changes"), "{stdout}");
}

#[test]
fn json_logs_carry_each_phase_and_keep_stdout_data_only() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), "3");
    let (code, stdout, stderr) = okta365(
        dir.path(),
        &[
            "--log-format",
            "json",
            "plan",
            "--now",
            NOW,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<serde_json::Value>(&stdout).expect("stdout is the plan only");
    let phases: Vec<String> = stderr
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"))
        })
        .filter(|v| v["message"] == "close")
        .map(|v| v["span"]["phase"].as_str().unwrap().to_owned())
        .collect();
    for phase in ["load", "read", "fingerprint", "compile", "diff", "render"] {
        assert!(
            phases.iter().any(|p| p == phase),
            "{phase} missing: {stderr}"
        );
    }
    let (code, _, stderr) = okta365(
        dir.path(),
        &[
            "--log-format",
            "json",
            "--quiet",
            "plan",
            "--now",
            NOW,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    assert!(stderr.is_empty(), "--quiet: {stderr}");
}
