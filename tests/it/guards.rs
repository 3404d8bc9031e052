//! Guard rails around the person and the process (issue 14): an edited saved
//! plan, a moved clock, and a destructive request whose target changed are
//! each refused with a clear message, and nothing is sent.

use std::collections::BTreeMap;
use std::time::Duration;

use okta365::apply::graph::LagPolicy;
use okta365::apply::{
    ActionResult, AuditRecord, GraphBackend, MemoryAudit, Phase, TargetGuard, execute,
};
use okta365::plan::action::{Action, ActionKind, Op, UserRef};
use okta365::plan::{FORMAT_VERSION, Marker, Plan, Summary};
use okta365_emulators::graph::{FaultKind, GraphEmulator, GraphOptions, InjectedFault};
use serde_json::Value;

use crate::common::{NOW, Scratch, TEST_NOW_VAR};
use crate::graph_live::{client_on, example_emulator};

/// The break-glass account of the example tenant (protected by the policies).
const BREAK_GLASS: &str = "8712bdce-33d3-4384-bd52-8114e95541ae";
/// ryan.foster@acme.example: SUSPENDED in Okta, so the example plan disables him.
const RYAN: &str = "38ca4623-40a8-4271-81ea-0f2df35d8be5";

/// Every file of the example's Office 365 snapshot, to tell that nothing changed.
fn m365(scratch: &Scratch) -> BTreeMap<String, String> {
    [
        "users.json",
        "groups.json",
        "group-members.json",
        "group-owners.json",
    ]
    .iter()
    .map(|f| {
        (
            (*f).to_owned(),
            scratch.read(&format!("examples/acme/m365/{f}")),
        )
    })
    .collect()
}

fn audit_records(scratch: &Scratch) -> usize {
    std::fs::read_to_string(scratch.path(".okta365/audit.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// `plan --out plan.json`, then `edit` on the saved JSON.
fn saved_plan(scratch: &Scratch, edit: impl FnOnce(&mut Value)) {
    let (code, _, stderr) = scratch.run(&["plan", "--now", NOW, "--out", "plan.json"]);
    assert_eq!(code, 0, "{stderr}");
    scratch.edit_json("plan.json", edit);
}

fn action_mut<'a>(plan: &'a mut Value, kind: &str, target: &str) -> &'a mut Value {
    plan["actions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["kind"] == kind && a["target"] == target)
        .unwrap_or_else(|| panic!("no {kind} {target}"))
}

#[test]
fn an_edited_op_in_a_saved_plan_is_refused_with_the_first_difference() {
    let scratch = Scratch::new();
    let before = m365(&scratch);
    // The reviewed plan sets Inés's department to Marketing; the file now says Finance,
    // while the change shown to reviewers (and once recorded in the audit) still says Marketing.
    saved_plan(&scratch, |plan| {
        let a = action_mut(plan, "update_user", "user ines.garcia@acme.example");
        a["op"]["properties"]["department"] = "Finance".into();
    });
    let (code, stdout, stderr) = scratch.run(&["apply", "plan.json"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "is not what its inputs call for (the file was edited after okta365 wrote it)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("`/op/properties/department`: the saved plan has \"Finance\", the current inputs call for \"Marketing\""),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(m365(&scratch), before, "nothing was written");
    assert_eq!(audit_records(&scratch), 0, "nothing was started");
}

#[test]
fn a_disable_retargeted_to_the_break_glass_account_is_refused_even_with_a_fresh_digest() {
    let scratch = Scratch::new();
    let before = m365(&scratch);
    // Retarget Ryan's disable to the break-glass account's object id; the
    // output would still name Ryan. Once as a plain edit, once with the
    // digest recomputed as an attacker with the source would.
    for reseal in [false, true] {
        saved_plan(&scratch, |plan| {
            let a = action_mut(plan, "disable_user", "user ryan.foster@acme.example");
            a["op"]["user"]["id"] = BREAK_GLASS.into();
        });
        if reseal {
            let mut plan = okta365::render::json::parse(&scratch.read("plan.json")).unwrap();
            plan.seal();
            assert!(plan.digest_matches());
            let mut out = Vec::new();
            okta365::render::json::render(&plan, &mut out).unwrap();
            scratch.write("plan.json", std::str::from_utf8(&out).unwrap());
        }
        let (code, stdout, stderr) = scratch.run(&["apply", "plan.json"]);
        assert_eq!(code, 1, "{stdout}\n{stderr}");
        assert!(
            stderr.contains("is not what its inputs call for"),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "`/op/user/id`: the saved plan has \"{BREAK_GLASS}\", the current inputs call for \"{RYAN}\""
            )),
            "{stderr}"
        );
        assert_eq!(
            stderr.contains("(the file was edited after okta365 wrote it)"),
            !reseal,
            "{stderr}"
        );
        assert_eq!(m365(&scratch), before, "nothing was written");
        assert_eq!(audit_records(&scratch), 0);
    }
}

#[test]
fn an_unedited_saved_plan_applies_and_its_audit_matches_it() {
    let scratch = Scratch::new();
    saved_plan(&scratch, |_| {});
    let (code, stdout, stderr) = scratch.run(&["apply", "plan.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(" 0 failed, 0 skipped."), "{stdout}");
}

#[test]
fn apply_refuses_a_now_far_from_the_clock() {
    let scratch = Scratch::new();
    let before = m365(&scratch);
    // A year ahead: grace periods would run out and three accounts be deleted.
    let (code, stdout, stderr) =
        scratch.run(&["apply", "--auto-approve", "--now", "2027-12-01T00:00:00Z"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("`apply --now 2027-12-01T00:00:00Z` is 376 d from this machine's clock"),
        "{stderr}"
    );
    assert!(stderr.contains("use `plan --now` for previews"), "{stderr}");
    assert_eq!(m365(&scratch), before);
    // The same with the machine's real clock (no test clock): --now is still checked.
    let out = scratch
        .cmd(&["apply", "--auto-approve", "--now", "2020-01-01T00:00:00Z"])
        .env_remove(TEST_NOW_VAR)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("from this machine's clock"));
    // `plan --now` stays for previews.
    let (code, _, stderr) = scratch.run(&["plan", "--now", "2027-12-01T00:00:00Z"]);
    assert!(code == 0 || stderr.contains("budget"), "{stderr}");
    // And a --now within minutes of the clock is the clock.
    let (code, _, stderr) =
        scratch.run(&["apply", "--auto-approve", "--now", "2026-11-20T00:03:00Z"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_saved_plan_made_for_the_future_or_too_long_ago_is_refused() {
    let scratch = Scratch::new();
    let before = m365(&scratch);
    // Made for two days ahead of the clock.
    let (code, _, stderr) = scratch.run(&[
        "plan",
        "--now",
        "2026-11-22T00:00:00Z",
        "--out",
        "future.json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = scratch.run(&["apply", "future.json"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("was made for 2026-11-22T00:00:00Z, 2 d in the future"),
        "{stderr}"
    );
    // Made at the clock, applied 25 hours later.
    let (code, _, stderr) = scratch.run(&["plan", "--out", "old.json"]);
    assert_eq!(code, 0, "{stderr}");
    let later = |args: &[&str]| {
        let out = scratch
            .cmd(args)
            .env(TEST_NOW_VAR, "2026-11-21T01:00:00Z")
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, stderr) = later(&["apply", "old.json"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("1 d 1 h ago, older than `safety.max_plan_age` (1 d)"),
        "{stderr}"
    );
    assert_eq!(m365(&scratch), before, "nothing was written");
    // `safety.max_plan_age` raises the bound.
    let config = scratch
        .read("okta365.yaml")
        .replace("safety:\n", "safety:\n  max_plan_age: 2d\n");
    assert!(config.contains("max_plan_age: 2d"), "{config}");
    scratch.write("okta365.yaml", &config);
    let (code, stderr) = later(&["apply", "old.json"]);
    assert_eq!(code, 0, "{stderr}");
}

fn plan_of(actions: Vec<Action>) -> Plan {
    let mut plan = Plan {
        format_version: FORMAT_VERSION,
        fingerprint: "sha256:test".into(),
        digest: String::new(),
        now: NOW.into(),
        targets: vec![],
        refused: vec![],
        accepted_read_drop: false,
        summary: Summary::of(&actions),
        allowed_removals: Default::default(),
        licenses: vec![],
        actions,
        manual_steps: vec![],
        unmanaged: vec![],
        warnings: vec![],
    };
    plan.seal();
    plan
}

fn disable(id: usize, object: &str, upn: &str, okta_id: &str) -> Action {
    Action {
        id,
        kind: ActionKind::DisableUser,
        target: format!("user {upn}"),
        changes: vec![],
        reasons: vec![],
        depends_on: vec![],
        op: Op::DisableUser {
            user: UserRef {
                id: Some(object.into()),
                upn: upn.into(),
                okta_id: Some(okta_id.into()),
            },
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destructive_request_is_checked_against_the_live_account_just_before_it_is_sent() {
    let scratch = Scratch::new();
    let emulator = example_emulator(&scratch).await;
    let mut backend = GraphBackend::new(
        client_on(&emulator, None).await,
        Marker::ExtensionAttribute(15),
    );
    let ryan_okta = "00u9lfVMTh7unndXv4x7";
    let users: Value =
        serde_json::from_str(&scratch.read("examples/acme/m365/users.json")).unwrap();
    let marker_of = |id: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id)
            .unwrap()["onPremisesExtensionAttributes"]["extensionAttribute15"]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(
        marker_of(RYAN).as_deref(),
        Some(ryan_okta),
        "the example's marker"
    );
    let plan = plan_of(vec![
        // Names Ryan, but the object is the break-glass account (unmarked, protected).
        disable(0, BREAK_GLASS, "ryan.foster@acme.example", ryan_okta),
        // Names another Okta person than Ryan's account carries.
        disable(1, RYAN, "ryan.foster@acme.example", "00uSOMEONEELSE"),
        // Right.
        disable(2, RYAN, "ryan.foster@acme.example", ryan_okta),
    ]);
    let live = okta365::providers::snapshot::M365Snapshot {
        dir: scratch.path("examples/acme/m365"),
    }
    .load()
    .unwrap();
    let protected = okta365::policy::types::Protected {
        upns: vec!["breakglass-admin@acme.example".into()],
        ..Default::default()
    };
    let guard = TargetGuard::new(&plan, &protected, &live, &Marker::ExtensionAttribute(15));
    let mut audit = MemoryAudit::default();
    let before = emulator.request_counts();
    let report = execute(&plan, &mut backend, &mut audit, &guard, &|| NOW.to_owned()).await;
    let failed = |i: usize| match &report.results[i].1 {
        ActionResult::Failed { error } => error.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        failed(0).contains("is a protected account"),
        "{}",
        failed(0)
    );
    assert!(
        failed(1).contains("marked as Okta user 00u9lfVMTh7unndXv4x7, not 00uSOMEONEELSE"),
        "{}",
        failed(1)
    );
    assert_eq!(report.results[2].1, ActionResult::Done);
    // One PATCH went out: the right one.
    let after = emulator.request_counts();
    let patches = |c: &BTreeMap<String, u64>| c.get("PATCH /v1.0/users/{id}").copied().unwrap_or(0);
    assert_eq!(patches(&after) - patches(&before), 1, "{after:?}");
    // The refused actions have an outcome and no intent; the sent one records its request.
    let of = |i: usize| -> Vec<&AuditRecord> {
        audit.records.iter().filter(|r| r.action == i).collect()
    };
    for i in [0, 1] {
        assert_eq!(of(i).len(), 1);
        assert_eq!(of(i)[0].phase, Phase::Outcome);
        assert!(of(i)[0].sent.is_empty());
    }
    let done = of(2);
    assert_eq!(done[0].phase, Phase::Intent);
    let sent = &done[1].sent;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].method, "PATCH");
    assert_eq!(sent[0].path, format!("/users/{RYAN}"));
    assert!(
        sent[0]
            .body_sha256
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    // The break-glass account is still enabled.
    let users = client_on(&emulator, None)
        .await
        .http
        .send(&okta365::providers::graph::Request::get(
            format!("/users/{BREAK_GLASS}?$select=accountEnabled"),
            "User.Read.All",
        ))
        .await
        .unwrap();
    assert_eq!(users.body["accountEnabled"], true);
}

/// An emulator seeded from the example whose new objects stay invisible to
/// reads for `lag` (replication lag), and a backend on it that looks a
/// doubtful create up a few times, quickly.
async fn lagging_backend(scratch: &Scratch, lag: Duration) -> (GraphEmulator, GraphBackend) {
    let mut opts = GraphOptions {
        snapshot: Some(scratch.path("examples/acme")),
        ..GraphOptions::default()
    };
    opts.apps[0].client_secret = Some(crate::graph_live::SECRET.to_owned());
    opts.lag.new_object = lag;
    let emulator = GraphEmulator::start(opts).await.unwrap();
    let backend = GraphBackend::new(
        client_on(&emulator, None).await,
        Marker::ExtensionAttribute(15),
    )
    .with_lag_policy(LagPolicy {
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        times: 4,
    });
    (emulator, backend)
}

fn invitation() -> Op {
    Op::InviteGuest {
        mail: "pat@partner.example".into(),
        display_name: "Pat (Partner)".into(),
        okta_id: "00uguest".into(),
        redirect_url: "https://myapps.microsoft.com".into(),
        send_invitation: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_invitation_answer_is_looked_up_and_the_invitation_never_resent() {
    use okta365::apply::{Backend, Outcome};
    let posts = |e: &GraphEmulator| {
        e.request_counts()
            .get("POST /v1.0/invitations")
            .copied()
            .unwrap_or(0)
    };
    // Every invitation commits, then its answer is lost (504).
    let lost = || InjectedFault {
        endpoint: "POST /v1.0/invitations".into(),
        fault: FaultKind::GatewayTimeoutAfterCommit,
        times: 8,
    };

    // The guest is visible at once: found by its mail and adopted.
    let scratch = Scratch::new();
    let (emulator, mut backend) = lagging_backend(&scratch, Duration::ZERO).await;
    emulator.inject(lost());
    let result = backend.execute(&[invitation()]).await.remove(0);
    assert!(matches!(result, Ok(Outcome::Created(_))), "{result:?}");
    assert_eq!(posts(&emulator), 1, "one invitation, one mail");
    let sent = backend.take_sent().remove(0);
    // The invitation (once) and the marker, as sent.
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("POST", "/invitations")
    );
    assert_eq!(sent[1].method, "PATCH");
    assert!(sent[1].path.starts_with("/users/"), "{sent:?}");

    // The guest is not visible yet (replication lag): not resent, reported.
    let scratch = Scratch::new();
    let (emulator, mut backend) = lagging_backend(&scratch, Duration::from_secs(60)).await;
    emulator.inject(lost());
    let result = backend.execute(&[invitation()]).await.remove(0);
    let error = result.unwrap_err().message;
    assert!(error.contains("it was not sent again"), "{error}");
    assert!(
        error.contains("the next apply looks the guest up again"),
        "{error}"
    );
    assert_eq!(
        posts(&emulator),
        1,
        "never resent while the guest may exist"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_user_create_answer_is_looked_up_before_anything_is_resent() {
    use okta365::apply::{Backend, Outcome};
    let scratch = Scratch::new();
    let (emulator, mut backend) = lagging_backend(&scratch, Duration::ZERO).await;
    emulator.inject(InjectedFault {
        endpoint: "POST /v1.0/users".into(),
        fault: FaultKind::GatewayTimeoutAfterCommit,
        times: 8,
    });
    let create = Op::CreateUser {
        upn: "new.person@acme.example".into(),
        okta_id: "00unew".into(),
        account_enabled: true,
        properties: [("displayName".to_owned(), "New Person".to_owned())].into(),
    };
    let result = backend.execute(&[create]).await.remove(0);
    assert!(matches!(result, Ok(Outcome::Created(_))), "{result:?}");
    let counts = emulator.request_counts();
    assert_eq!(
        counts.get("POST /v1.0/users").copied(),
        Some(1),
        "{counts:?}"
    );
    // The password the backend generated is not in what the audit keeps.
    let sent = backend.take_sent().remove(0);
    assert_eq!(sent.len(), 1);
    let recorded = serde_json::to_string(&sent).unwrap();
    assert!(
        !recorded.contains("password") && recorded.contains("sha256:"),
        "{recorded}"
    );
}
