//! `okta365 watch`: incident lockdown from System Log events, then a full plan.

use crate::common::Scratch;

const INES: &str = "00uo1qDulJ9QhYqQW4x7";

fn event(uuid: &str, event_type: &str, result: &str, user: &str) -> String {
    serde_json::json!({
        "uuid": uuid,
        "published": "2026-11-20T10:00:00.000Z",
        "eventType": event_type,
        "outcome": { "result": result },
        "target": [{ "id": user, "type": "User", "alternateId": "someone@acme.example" }],
    })
    .to_string()
}

/// Runs `watch` over the scratch folder's `events.jsonl`, with `extra` flags.
fn watch(scratch: &Scratch, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["watch", "--events", "events.jsonl", "--settle", "0"];
    args.extend_from_slice(extra);
    scratch.run(&args)
}

fn m365_user(scratch: &Scratch, upn_prefix: &str) -> serde_json::Value {
    let users: serde_json::Value =
        serde_json::from_str(&scratch.read("examples/acme/m365/users.json")).unwrap();
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| {
            u["userPrincipalName"]
                .as_str()
                .unwrap()
                .starts_with(upn_prefix)
        })
        .unwrap()
        .clone()
}

#[test]
fn a_suspension_event_locks_the_account_at_once_and_audits_it() {
    let scratch = Scratch::new();
    assert_eq!(m365_user(&scratch, "ines.garcia")["accountEnabled"], true);
    scratch.write(
        "events.jsonl",
        &event("ev-1", "user.lifecycle.suspend", "SUCCESS", INES),
    );
    let (code, stdout, stderr) = watch(&scratch, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("done     - user ines.garcia@acme.example (disable)"),
        "{stdout}"
    );
    assert!(stdout.contains("(revoke sessions)"), "{stdout}");
    assert!(stdout.contains("Lockdown took"), "{stdout}");
    // Without --apply the full plan is only announced.
    assert!(stdout.contains("changes pending"), "{stdout}");
    assert_eq!(m365_user(&scratch, "ines.garcia")["accountEnabled"], false);
    let audit = scratch.read(".okta365/audit.jsonl");
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Each action: its intent (before the request), then its outcome.
    let phases: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["phase"].as_str().unwrap()))
        .collect();
    assert_eq!(
        phases,
        [
            ("disable_user", "intent"),
            ("disable_user", "outcome"),
            ("revoke_sessions", "intent"),
            ("revoke_sessions", "outcome")
        ],
        "{audit}"
    );
    for r in &records {
        let reason = &r["reasons"][0];
        assert!(reason["rule"].as_str().unwrap().contains("ev-1"), "{r}");
        // The example config writes no event rules: the default one acted.
        assert_eq!(reason["file"], "okta365.yaml", "{r}");
        assert_eq!(reason["line"], 0, "{r}");
        assert!(
            reason["rule"].as_str().unwrap().ends_with("a default rule"),
            "{r}"
        );
    }
}

#[test]
fn failed_and_unrelated_events_change_nothing() {
    let scratch = Scratch::new();
    let before = scratch.read("examples/acme/m365/users.json");
    let events = [
        event("ev-1", "user.lifecycle.suspend", "FAILURE", INES),
        event("ev-2", "user.session.start", "SUCCESS", INES),
    ]
    .join("\n");
    let (code, stdout, stderr) = scratch
        .cmd(&["watch", "--events", "-", "--settle", "0"])
        .write_stdin(events)
        .output()
        .map(|o| {
            (
                o.status.code().unwrap(),
                String::from_utf8(o.stdout).unwrap(),
                String::from_utf8(o.stderr).unwrap(),
            )
        })
        .unwrap();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stdout.contains("Lockdown"), "{stdout}");
    assert_eq!(scratch.read("examples/acme/m365/users.json"), before);
}

#[test]
fn a_protected_account_is_never_locked() {
    let scratch = Scratch::new();
    let okta: serde_json::Value =
        serde_json::from_str(&scratch.read("examples/acme/okta/users.json")).unwrap();
    let admin = okta
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["profile"]["login"] == "breakglass-admin@acme.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = scratch.read("examples/acme/m365/users.json");
    scratch.write(
        "events.jsonl",
        &event("ev-9", "user.account.lock", "SUCCESS", &admin),
    );
    let (code, stdout, stderr) = watch(&scratch, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("lockdown skipped"), "{stderr}");
    assert_eq!(scratch.read("examples/acme/m365/users.json"), before);
}

#[test]
fn with_apply_the_full_plan_follows_and_converges() {
    let scratch = Scratch::new();
    // Okta has the suspension the event reports.
    scratch.edit_json("examples/acme/okta/users.json", |users| {
        for u in users.as_array_mut().unwrap() {
            if u["id"] == INES {
                u["status"] = "SUSPENDED".into();
                u["statusChanged"] = "2026-11-20T10:00:00.000Z".into();
            }
        }
    });
    scratch.write(
        "events.jsonl",
        &event("ev-1", "user.lifecycle.suspend", "SUCCESS", INES),
    );
    let (code, stdout, stderr) = watch(&scratch, &["--apply"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("applying"), "{stdout}");
    let (code, stdout, stderr) = scratch.run(&["plan"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("No changes"), "{stdout}");
}

#[test]
fn a_full_plan_that_would_unlock_an_incident_is_not_applied() {
    let scratch = Scratch::new();
    // A threat event, but Okta still says ACTIVE: the full plan would re-enable.
    scratch.write(
        "events.jsonl",
        // ThreatInsight records the request's fate, not SUCCESS.
        &event("ev-1", "security.threat.detected", "DENY", INES),
    );
    let mut rules = scratch.read("okta365.yaml");
    rules.push_str(
        "events:\n  lockdown:\n    event_types: [security.threat.detected]\n  reconcile_on: [security.threat.detected]\n",
    );
    scratch.write("okta365.yaml", &rules);
    let (code, stdout, stderr) = watch(&scratch, &["--apply"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("would sign back in ines.garcia@acme.example"),
        "{stderr}"
    );
    assert_eq!(m365_user(&scratch, "ines.garcia")["accountEnabled"], false);
    // The lockdown's reason is the config line that lists the event type.
    let listed = rules
        .lines()
        .position(|l| l.contains("event_types: [security.threat.detected]"))
        .unwrap()
        + 1;
    let audit = scratch.read(".okta365/audit.jsonl");
    let disable: serde_json::Value = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["kind"] == "disable_user")
        .unwrap();
    assert_eq!(disable["reasons"][0]["line"], listed, "{disable}");
}

#[test]
fn a_lockdown_removes_the_user_from_the_sensitive_groups_named() {
    let scratch = Scratch::new();
    let mut config = scratch.read("okta365.yaml");
    config.push_str("events:\n  lockdown:\n    remove_from_groups: [sales]\n");
    scratch.write("okta365.yaml", &config);
    scratch.write(
        "events.jsonl",
        &event("ev-7", "user.account.lock", "SUCCESS", INES),
    );
    let ines = m365_user(&scratch, "ines.garcia")["id"].clone();
    let sales = |scratch: &Scratch| {
        let groups: serde_json::Value =
            serde_json::from_str(&scratch.read("examples/acme/m365/groups.json")).unwrap();
        let id = groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["mailNickname"] == "sales")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let members: serde_json::Value =
            serde_json::from_str(&scratch.read("examples/acme/m365/group-members.json")).unwrap();
        members[&id].as_array().unwrap().clone()
    };
    assert!(sales(&scratch).contains(&ines));
    let (code, stdout, stderr) = watch(&scratch, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("done     - group sales member ines.garcia@acme.example"),
        "{stdout}"
    );
    assert!(!sales(&scratch).contains(&ines));
}
