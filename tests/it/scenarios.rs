//! The lifecycle scenario suite (`tests/scenarios/`): each scenario is planned,
//! compared with its expected plan (text and JSON), applied, compared with its
//! expected Office 365 snapshot, and planned again to prove nothing is left.
//!
//! `OKTA365_BLESS=1` rewrites the expected files (refused when `CI` is set).

use std::path::{Path, PathBuf};

use crate::common::{copy_dir, repo};

#[derive(serde::Deserialize)]
struct Spec {
    purpose: String,
    now: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    expect_exit: i32,
}

struct Golden {
    bless: bool,
    mismatches: Vec<String>,
}

impl Golden {
    fn check(&mut self, path: &Path, actual: &str) {
        let expected = std::fs::read_to_string(path).unwrap_or_default();
        if expected == actual {
            return;
        }
        if self.bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, actual).unwrap();
            return;
        }
        let diff = similar::TextDiff::from_lines(&expected, actual)
            .unified_diff()
            .context_radius(2)
            .to_string();
        self.mismatches.push(format!(
            "{} differs:\n{diff}",
            path.strip_prefix(repo()).unwrap_or(path).display()
        ));
    }
}

fn okta365(dir: &Path, args: &[&str]) -> (i32, String, String) {
    // The binary's clock reads the scenario's time (debug builds only).
    let now = args
        .windows(2)
        .find(|w| w[0] == "--now")
        .map_or(crate::common::NOW, |w| w[1]);
    let out = assert_cmd::Command::cargo_bin("okta365")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env(crate::common::TEST_NOW_VAR, now)
        .env_remove("OKTA365_CONFIG")
        .write_stdin("")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn run(name: &str, scenario: &Path, golden: &mut Golden) {
    let spec: Spec =
        serde_saphyr::from_str(&std::fs::read_to_string(scenario.join("scenario.yaml")).unwrap())
            .unwrap();
    assert!(
        !spec.purpose.is_empty(),
        "{name}: say what the scenario is for"
    );
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    copy_dir(&scenario.join("okta"), &dir.join("snap/okta"));
    copy_dir(&scenario.join("m365"), &dir.join("snap/m365"));
    copy_dir(
        &repo().join("tests/scenarios/policies"),
        &dir.join("policies"),
    );
    if scenario.join("policies").is_dir() {
        copy_dir(&scenario.join("policies"), &dir.join("policies"));
    }
    std::fs::write(
        dir.join("okta365.yaml"),
        "policies: policies\nokta: { snapshot: snap }\nm365: { snapshot: snap }\n",
    )
    .unwrap();
    let expected = scenario.join("expected");
    let extra: Vec<&str> = spec.args.iter().map(String::as_str).collect();
    let with = |base: &[&str]| -> Vec<String> {
        base.iter()
            .chain(&extra)
            .map(|s| s.to_string())
            .chain(["--now".into(), spec.now.clone()])
            .collect()
    };
    let args = with(&["plan"]);
    let (code, stdout, stderr) = okta365(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        code, spec.expect_exit,
        "{name}: plan exit code\n{stdout}\n{stderr}"
    );
    if code != 0 {
        golden.check(&expected.join("plan-errors.txt"), &stderr);
        return;
    }
    golden.check(&expected.join("plan.txt"), &stdout);
    let args = with(&["plan", "--format", "json"]);
    let (_, json, _) = okta365(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    golden.check(&expected.join("plan.json"), &json);

    let args = with(&["apply", "--auto-approve"]);
    let (code, stdout, stderr) = okta365(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{name}: apply\n{stdout}\n{stderr}");
    for file in [
        "users.json",
        "groups.json",
        "group-members.json",
        "group-owners.json",
        "subscribedSkus.json",
    ] {
        let after = std::fs::read_to_string(dir.join("snap/m365").join(file)).unwrap();
        golden.check(&expected.join("m365").join(file), &after);
    }
    let args = with(&["plan", "--detailed-exitcode"]);
    let (code, stdout, stderr) = okta365(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        code, 0,
        "{name}: the plan after apply must be empty\n{stdout}\n{stderr}"
    );
}

#[test]
fn every_scenario_plans_applies_and_converges() {
    let bless = std::env::var_os("OKTA365_BLESS").is_some();
    assert!(
        !(bless && std::env::var_os("CI").is_some()),
        "OKTA365_BLESS is refused in CI: commit the expected files"
    );
    let root = repo().join("tests/scenarios");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("scenario.yaml").is_file())
        .collect();
    names.sort();
    assert!(names.len() >= 45, "found {} scenarios", names.len());
    let mut golden = Golden {
        bless,
        mismatches: Vec::new(),
    };
    for scenario in &names {
        run(
            scenario.file_name().unwrap().to_str().unwrap(),
            scenario,
            &mut golden,
        );
    }
    assert!(
        golden.mismatches.is_empty(),
        "{}",
        golden.mismatches.join("\n")
    );
}
