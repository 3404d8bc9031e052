//! The CI examples: the GitHub workflows and the action validate against
//! the SchemaStore schemas (committed under tests/fixtures/schemastore), the
//! jobs keep plans and applies apart, and the workflow's helper script
//! comments once (edited in place, within GitHub's size limit), finds the
//! reviewed plan, asks for a re-plan when it is stale, and tracks drift in
//! one issue, against a stand-in `gh` that records what it was asked.

use std::path::Path;

use serde_json::Value;

use crate::common::repo;

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn schema(name: &str) -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(repo().join(format!("tests/fixtures/schemastore/{name}.json")))
            .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

const WORKFLOWS: [&str; 2] = [
    "examples/ci/github/okta365.yml",
    ".github/workflows/release.yml",
];

#[test]
fn workflows_and_the_action_match_the_schemastore_schemas() {
    let workflow = schema("github-workflow");
    for path in WORKFLOWS {
        let found = errors(&workflow, &yaml(path));
        assert!(found.is_empty(), "{path}:\n{}", found.join("\n"));
    }
    let action = schema("github-action");
    let found = errors(&action, &yaml("action.yml"));
    assert!(found.is_empty(), "action.yml:\n{}", found.join("\n"));
}

#[test]
fn the_schema_check_catches_mistakes() {
    let workflow = schema("github-workflow");
    let mut broken = yaml(WORKFLOWS[0]);
    let apply = &mut broken["jobs"]["apply"];
    apply["concurency"] = apply["concurrency"].take();
    apply.as_object_mut().unwrap().remove("concurrency");
    assert!(!errors(&workflow, &broken).is_empty());
    let mut broken = yaml(WORKFLOWS[0]);
    broken["jobs"]["apply"]["concurrency"]["queue"] = "all".into();
    assert!(!errors(&workflow, &broken).is_empty());
    let mut broken = yaml("action.yml");
    broken["runs"]["using"] = "composit".into();
    assert!(!errors(&schema("github-action"), &broken).is_empty());
}

#[test]
fn plans_and_applies_never_share_a_concurrency_group_and_applies_are_never_cancelled() {
    let workflow = yaml(WORKFLOWS[0]);
    let jobs = workflow["jobs"].as_object().unwrap();
    for (name, job) in jobs {
        for need in job["needs"].as_str().into_iter() {
            assert!(jobs.contains_key(need), "{name} needs unknown job {need}");
        }
        let group = job["concurrency"]["group"].as_str().unwrap_or_default();
        let applies = job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["run"].as_str().is_some_and(|r| r.contains(" apply ")));
        if applies {
            assert_eq!(group, "okta365-apply", "{name}");
            assert_eq!(job["concurrency"]["cancel-in-progress"], false, "{name}");
            assert_eq!(job["concurrency"]["queue"], "max", "{name}");
            assert!(
                job["environment"].is_string(),
                "{name} applies outside an environment"
            );
        } else {
            assert_ne!(group, "okta365-apply", "{name} plans in the apply group");
        }
        if name == "drift" {
            let runs: Vec<&str> = job["steps"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|s| s["run"].as_str())
                .collect();
            assert!(
                runs.iter().all(|r| !r.contains(" apply")),
                "drift only plans"
            );
        }
    }
    assert!(
        !serde_json::to_string(&workflow)
            .unwrap()
            .contains("--auto-approve"),
        "the workflow applies reviewed plans only"
    );
    let helper = jobs
        .values()
        .flat_map(|j| j["steps"].as_array().unwrap())
        .filter_map(|s| s["run"].as_str())
        .any(|r| r.contains(".github/okta365/okta365-github.sh"));
    assert!(
        helper
            && repo()
                .join("examples/ci/github/okta365-github.sh")
                .is_file()
    );
}

#[test]
fn the_gitlab_example_is_consistent() {
    let ci = yaml("examples/ci/gitlab/.gitlab-ci.yml");
    let stages: Vec<&str> = ci["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let jobs: Vec<(&String, &Value)> = ci
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, v)| !k.starts_with('.') && v.get("script").is_some())
        .collect();
    assert!(jobs.len() >= 5);
    for (name, job) in &jobs {
        let stage = job["stage"].as_str().unwrap();
        assert!(stages.contains(&stage), "{name}: unknown stage {stage}");
        assert_eq!(job["extends"], ".okta365", "{name}");
        for need in job["needs"].as_array().into_iter().flatten() {
            assert!(
                ci.get(need.as_str().unwrap()).is_some(),
                "{name} needs {need}"
            );
        }
    }
    for apply in ["apply", "apply-replanned"] {
        assert_eq!(ci[apply]["resource_group"], "okta365-apply");
        assert_eq!(ci[apply]["interruptible"], false);
    }
    assert_eq!(ci["apply-replanned"]["rules"][0]["when"], "manual");
    assert_eq!(ci["plan"]["interruptible"], true);
}

/// A stand-in for the GitHub CLI: logs each call, copies `-F body=@FILE`
/// and `--body-file FILE` bodies aside, and answers from FAKE_* variables.
const FAKE_GH: &str = r#"#!/usr/bin/env bash
echo "gh $*" >> "$FAKE_DIR/calls"
for arg in "$@"; do
  case "$prev" in
    --body-file) cp "$arg" "$FAKE_DIR/body.$(date +%s%N)" ;;
  esac
  case "$arg" in
    body=@*) cp "${arg#body=@}" "$FAKE_DIR/body.$(date +%s%N)" ;;
  esac
  prev="$arg"
done
case "$*" in
  "api repos/acme/policies/issues/7/comments --paginate"*) echo "${FAKE_COMMENT_ID:-}" ;;
  "api repos/acme/policies/commits/"*) echo "${FAKE_HEAD:-}" ;;
  "api repos/acme/policies/actions/artifacts"*) echo "${FAKE_RUN:-}" ;;
  "run download"*) mkdir -p "$FAKE_WORK/reviewed"; echo '{}' > "$FAKE_WORK/reviewed/plan.json" ;;
  "issue list"*) echo "${FAKE_OPEN_ISSUE:-}" ;;
  "issue view"*) echo "old line"; echo "old plan" ;;
esac
"#;

const FAKE_OKTA365: &str = r#"#!/usr/bin/env bash
echo "okta365 $*" >> "$FAKE_DIR/calls"
echo "error: the saved plan reviewed/plan.json is stale: the policies, Okta or Office 365 changed since it was made; nothing was changed" >&2
exit 1
"#;

struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [("gh", FAKE_GH), ("okta365", FAKE_OKTA365)] {
            let path = dir.path().join("bin").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("fake")).unwrap();
        Self { dir }
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        let script = repo().join("examples/ci/github/okta365-github.sh");
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let out = std::process::Command::new("bash")
            .arg(script)
            .args(args)
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("GITHUB_REPOSITORY", "acme/policies")
            .env("GITHUB_RUN_ID", "42")
            .env("GITHUB_SHA", "abc123")
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("FAKE_DIR", self.path("fake"))
            .env("FAKE_WORK", self.dir.path())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.path("fake/calls")).unwrap_or_default()
    }

    fn bodies(&self) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(self.path("fake"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("body.")
            })
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.path("output")).unwrap_or_default()
    }

    fn reset(&self) {
        let _ = std::fs::remove_dir_all(self.path("fake"));
        std::fs::create_dir_all(self.path("fake")).unwrap();
        let _ = std::fs::remove_file(self.path("output"));
    }
}

#[test]
fn the_plan_comment_is_made_once_then_edited_in_place() {
    let r = Runner::new();
    std::fs::write(
        r.path("plan.md"),
        "### okta365 plan\n\nPlan: 1 to create.\n",
    )
    .unwrap();
    let (ok, out) = r.run(&["comment", "7", "plan.md"], &[]);
    assert!(ok, "{out}");
    assert!(
        r.calls()
            .contains("gh api -X POST repos/acme/policies/issues/7/comments"),
        "{}",
        r.calls()
    );
    assert!(r.bodies()[0].starts_with("<!-- okta365-plan -->\n### okta365 plan"));

    r.reset();
    let (ok, out) = r.run(&["comment", "7", "plan.md"], &[("FAKE_COMMENT_ID", "991")]);
    assert!(ok, "{out}");
    let calls = r.calls();
    assert!(
        calls.contains("gh api -X PATCH repos/acme/policies/issues/comments/991"),
        "{calls}"
    );
    assert!(!calls.contains("-X POST"), "{calls}");
}

#[test]
fn a_long_plan_is_cut_under_githubs_limit_with_a_pointer_to_the_artifact() {
    let r = Runner::new();
    let mut plan =
        String::from("### okta365 plan\n\n<details><summary>users</summary>\n\n```diff\n");
    while plan.chars().count() < 200_000 {
        plan.push_str("+ create user zoë.ünal@acme.example — ~ licences SPE_E3\n");
    }
    plan.push_str("```\n</details>\n");
    std::fs::write(r.path("plan.md"), &plan).unwrap();
    let (ok, out) = r.run(&["comment", "7", "plan.md"], &[]);
    assert!(ok, "{out}");
    let body = &r.bodies()[0];
    assert!(
        body.chars().count() <= 65_536,
        "{} characters",
        body.chars().count()
    );
    assert!(body.chars().count() > 60_000);
    assert!(
        body.contains("https://github.com/acme/policies/actions/runs/42"),
        "{}",
        &body[body.len() - 300..]
    );
    assert_eq!(
        body.lines().filter(|l| l.starts_with("```")).count() % 2,
        0,
        "code block closed"
    );
}

#[test]
fn the_merged_pull_requests_plan_is_found_and_a_stale_one_asks_for_a_re_plan() {
    let r = Runner::new();
    let (ok, out) = r.run(
        &["reviewed-plan", "reviewed"],
        &[("FAKE_HEAD", "feed01"), ("FAKE_RUN", "555")],
    );
    assert!(ok, "{out}");
    assert!(
        r.calls().contains(
            "gh run download 555 --repo acme/policies --name okta365-plan-feed01 --dir reviewed"
        ),
        "{}",
        r.calls()
    );
    assert_eq!(r.output(), "found=true\n");
    assert!(r.path("reviewed/plan.json").is_file());

    r.reset();
    let (ok, out) = r.run(&["apply", "reviewed/plan.json", "true"], &[]);
    assert!(ok, "a stale plan is not a failed job: {out}");
    assert!(
        r.calls()
            .contains("okta365 --error-format github apply reviewed/plan.json")
    );
    assert_eq!(r.output(), "replan=true\n");
    assert!(
        out.contains("::warning::the reviewed plan is stale"),
        "{out}"
    );

    r.reset();
    let (ok, _) = r.run(&["reviewed-plan", "reviewed"], &[("FAKE_HEAD", "")]);
    assert!(ok);
    assert_eq!(r.output(), "found=false\n");
    let (ok, _) = r.run(&["apply", "reviewed/plan.json", "false"], &[]);
    assert!(ok);
    assert!(
        !r.calls().contains("okta365 "),
        "nothing applied without a reviewed plan"
    );
    assert!(r.output().ends_with("replan=true\n"));
}

#[test]
fn drift_opens_one_issue_updates_it_and_closes_it() {
    let r = Runner::new();
    std::fs::write(
        r.path("drift.md"),
        "### okta365 plan\n\nPlan: 0 to create, 1 to update, 0 to remove.\n",
    )
    .unwrap();
    let (ok, out) = r.run(&["drift", "2", "drift.md"], &[]);
    assert!(ok, "{out}");
    let calls = r.calls();
    assert!(calls.contains("gh issue create --repo acme/policies --title okta365: Office 365 has drifted from the policies --label okta365-drift"), "{calls}");
    assert!(r.bodies()[0].contains("Plan: 0 to create, 1 to update"));

    r.reset();
    let (ok, out) = r.run(&["drift", "2", "drift.md"], &[("FAKE_OPEN_ISSUE", "12")]);
    assert!(ok, "{out}");
    let calls = r.calls();
    assert!(calls.contains("gh issue edit 12"), "{calls}");
    assert!(!calls.contains("issue create"), "{calls}");

    r.reset();
    let (ok, out) = r.run(&["drift", "0", "drift.md"], &[("FAKE_OPEN_ISSUE", "12")]);
    assert!(ok, "{out}");
    assert!(r.calls().contains("gh issue close 12"), "{}", r.calls());

    r.reset();
    let (ok, _) = r.run(&["drift", "1", "drift.md"], &[("FAKE_OPEN_ISSUE", "12")]);
    assert!(!ok, "a failed plan fails the job");
    assert!(!r.calls().contains("issue close"));
}

#[test]
fn the_dockerfile_builds_the_locked_binary_onto_an_empty_image() {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(
        froms[0].contains(&format!("rust:{}", rust_version())),
        "{froms:?}"
    );
    assert_eq!(froms[1], "FROM scratch");
    assert!(text.contains("cargo build --release --locked"));
    assert!(text.contains("ENTRYPOINT [\"/okta365\"]"));
    assert!(text.contains("USER 65532:65532"), "not root");
    assert!(Path::new(&repo().join(".dockerignore")).is_file());
}

fn rust_version() -> String {
    let toml = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let line = toml
        .lines()
        .find(|l| l.starts_with("rust-version"))
        .unwrap();
    line.split('"').nth(1).unwrap().to_owned()
}
