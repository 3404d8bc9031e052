//! Safety checks refuse a plan before anything runs.

use crate::common::{NOW, Scratch};

#[test]
fn the_removal_budget_refuses_mass_offboarding_unless_allowed() {
    let scratch = Scratch::new();
    // A bad import suspends every active user in Okta: each would be disabled.
    scratch.edit_json("examples/acme/okta/users.json", |users| {
        for u in users.as_array_mut().unwrap() {
            if u["status"] == "ACTIVE" {
                u["status"] = "SUSPENDED".into();
            }
        }
    });
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("over the budget of 10 %"), "{stderr}");
    assert!(stderr.contains("--allow-removals"), "{stderr}");

    // Every destructive kind has its own budget, and each is named.
    for kind in ["accounts", "memberships", "team_memberships", "licences"] {
        assert!(
            stderr.contains(&format!("safety budget `{kind}`")),
            "{kind}: {stderr}"
        );
    }
    // Allowing accounts alone is not enough: the other kinds still refuse.
    let (code, _, stderr) = scratch.run(&["plan", "--now", NOW, "--allow-removals", "1000"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("safety budget `accounts`"), "{stderr}");
    assert!(stderr.contains("safety budget `memberships`"), "{stderr}");

    let allow = [
        "--allow-removals",
        "accounts=1000",
        "--allow-removals",
        "memberships=1000",
        "--allow-removals",
        "team_memberships=1000",
        "--allow-removals",
        "licences=1000",
        "--allow-removals",
        "owners=1000",
    ];
    let mut args = vec!["plan", "--now", NOW];
    args.extend(allow);
    let (code, _, stderr) = scratch.run(&args);
    assert_eq!(code, 0, "{stderr}");

    // The overrides are recorded in every audit record of the apply.
    let mut args = vec!["apply", "--auto-approve", "--now", NOW];
    args.extend(allow);
    let (code, _, stderr) = scratch.run(&args);
    assert_eq!(code, 0, "{stderr}");
    let audit = scratch.read(".okta365/audit.jsonl");
    assert!(!audit.is_empty());
    for line in audit.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["allowed_removals"]["memberships"], 1000, "{line}");
        assert_eq!(record["allowed_removals"]["accounts"], 1000, "{line}");
    }
}

/// Issue 14: an Okta group whose member list comes back empty must not
/// turn into removing every member of its mirrored Team without a word.
#[test]
fn an_empty_member_list_of_a_mirrored_group_is_refused_by_the_membership_budget() {
    let scratch = Scratch::new();
    // `VPN Users` (26 members) becomes a mirrored squad, applied as it is.
    let mut id = String::new();
    scratch.edit_json("examples/acme/okta/groups.json", |groups| {
        for g in groups.as_array_mut().unwrap() {
            if g["profile"]["name"] == "VPN Users" {
                g["profile"]["name"] = "eng-remote".into();
                id = g["id"].as_str().unwrap().to_owned();
            }
        }
    });
    let (code, _, stderr) = scratch.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW, "--detailed-exitcode"]);
    assert_eq!(code, 0, "converged first: {stdout}{stderr}");
    // A short read: the Okta member list answers empty. The read check
    // refuses it first (the list had 26 members at the previous read)…
    scratch.edit_json("examples/acme/okta/group-members.json", |members| {
        members[id.as_str()] = serde_json::json!([]);
    });
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("the member list of Okta group `eng-remote` came back empty"),
        "{stderr}"
    );
    // …and accepted as real, the membership budget still does.
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW, "--accept-read-drop"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("managed Team memberships")
            && stderr.contains("safety budget `team_memberships`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--allow-removals team_memberships="),
        "{stderr}"
    );
}

fn removals(plan: &serde_json::Value) -> Vec<&serde_json::Value> {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            let kind = a["kind"].as_str().unwrap();
            kind.starts_with("remove")
                || kind.starts_with("disable")
                || kind.starts_with("delete")
                || kind == "revoke_sessions"
        })
        .collect()
}

#[test]
fn an_empty_okta_read_is_refused_and_plans_no_removals() {
    let scratch = Scratch::new();
    scratch.write("examples/acme/okta/users.json", "[]");
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("error: Okta returned no users while the policies select users"),
        "{stderr}"
    );
    // The refused plan is still shown, and holds no removal.
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(removals(&plan).is_empty(), "{:?}", removals(&plan));
    assert!(
        plan["refused"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Okta returned no users")
    );
    let (code, _, _) = scratch.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 1);
}

#[test]
fn an_empty_office_365_read_is_refused_instead_of_planning_every_account_as_new() {
    let scratch = Scratch::new();
    scratch.write("examples/acme/m365/users.json", "[]");
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("error: Office 365 returned no users, yet every tenant has at least its admin account: refusing to plan"),
        "{stderr}"
    );
    assert!(stdout.starts_with("REFUSED"), "{stdout}");
}

#[test]
fn a_short_okta_read_is_refused_until_the_drop_is_accepted() {
    let scratch = Scratch::new();
    let (code, _, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    // The next read misses 12 of the 61 users (a page answered `[]`):
    // they would be planned as leavers.
    let full = scratch.read("examples/acme/okta/users.json");
    scratch.edit_json("examples/acme/okta/users.json", |users| {
        users.as_array_mut().unwrap().truncate(49);
    });
    let (code, stdout, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "error: Okta users: 49, 12 fewer (20 %) than the previous read (61, at 2026-11-20T"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("likely a short read"), "{stderr}");
    assert!(stdout.is_empty(), "no plan from a short read: {stdout}");
    // A fresh apply refuses it too, and changes nothing.
    let before = scratch.read("examples/acme/m365/users.json");
    let (code, _, stderr) = scratch.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(scratch.read("examples/acme/m365/users.json"), before);
    // The full read is fine again.
    scratch.write("examples/acme/okta/users.json", &full);
    let (code, _, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    // A real drop is accepted explicitly, and the choice is recorded.
    scratch.edit_json("examples/acme/okta/users.json", |users| {
        users.as_array_mut().unwrap().truncate(49);
    });
    let (code, stdout, stderr) = scratch.run(&[
        "plan",
        "--now",
        NOW,
        "--accept-read-drop",
        "--allow-removals",
        "100",
        "--allow-removals",
        "memberships=100",
        "--allow-removals",
        "team_memberships=100",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["accepted_read_drop"], true);
    // …and from now on the smaller count is the reference.
    let allow = [
        "--allow-removals",
        "100",
        "--allow-removals",
        "memberships=100",
        "--allow-removals",
        "team_memberships=100",
    ];
    let (code, _, stderr) = scratch.run(&[&["plan", "--now", NOW][..], &allow].concat());
    assert_eq!(code, 0, "{stderr}");
    // An apply made with the flag records it on every audit record.
    let (code, _, stderr) = scratch.run(
        &[
            &["apply", "--auto-approve", "--accept-read-drop"][..],
            &allow,
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    let audit = scratch.read(".okta365/audit.jsonl");
    for line in audit.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["accepted_read_drop"], true, "{line}");
    }
}

#[test]
fn an_empty_member_list_for_a_group_that_had_members_is_refused() {
    let scratch = Scratch::new();
    let (code, _, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    // Okta answers the incident responders' member list with `[]`.
    let groups: serde_json::Value =
        serde_json::from_str(&scratch.read("examples/acme/okta/groups.json")).unwrap();
    let responders = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["profile"]["name"] == "Security-Incident-Response")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    scratch.edit_json("examples/acme/okta/group-members.json", |members| {
        members[&responders] = serde_json::json!([]);
    });
    let (code, _, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("the member list of Okta group `Security-Incident-Response` came back empty; it had 2 member(s)"),
        "{stderr}"
    );
}

#[test]
fn a_seat_shortfall_is_an_error_with_the_numbers() {
    let scratch = Scratch::new();
    let mut consumed = 0;
    scratch.edit_json("examples/acme/m365/subscribedSkus.json", |skus| {
        for s in skus.as_array_mut().unwrap() {
            if s["skuPartNumber"] == "SPE_E3" {
                consumed = s["consumedUnits"].as_i64().unwrap();
                s["prepaidUnits"]["enabled"] = consumed.into();
            }
        }
    });
    let (code, _, stderr) = scratch.run(&["plan", "--now", NOW]);
    assert_eq!(code, 1);
    assert!(stderr.contains("SPE_E3"), "{stderr}");
    assert!(stderr.contains(&format!("{consumed}")), "{stderr}");
}
