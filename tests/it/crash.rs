//! A crash between a request and its audit record: `okta365 apply` is
//! killed (`kill -9`) mid-apply against the Graph emulator, several times.
//! After each kill, every change the emulator holds has an intent record in
//! the audit trail (the trail names every request that may have reached the
//! API), and the next apply reports the intents left without an outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{NOW, TEST_NOW_VAR};
use crate::graph_live::{Live, SECRET, SECRET_VAR, use_generated_tenant};

/// What the emulator holds, as the audit names it: `user <upn>` for each
/// user, `group <nick>` for each group, `group <nick> member <upn>` for each
/// membership, and disabled accounts.
#[derive(Default, Debug)]
struct Tenant {
    users: BTreeSet<String>,
    disabled: BTreeSet<String>,
    groups: BTreeSet<String>,
    members: BTreeSet<String>,
}

fn tenant(m365: &Path) -> Tenant {
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(m365.join(f)).unwrap()).unwrap()
    };
    let mut t = Tenant::default();
    let mut upn_of = BTreeMap::new();
    for u in read("users.json").as_array().unwrap() {
        let upn = u["userPrincipalName"].as_str().unwrap().to_lowercase();
        upn_of.insert(u["id"].as_str().unwrap().to_owned(), upn.clone());
        if u["accountEnabled"] == false {
            t.disabled.insert(format!("user {upn}"));
        }
        t.users.insert(format!("user {upn}"));
    }
    let mut nick_of = BTreeMap::new();
    for g in read("groups.json").as_array().unwrap() {
        let nick = g["mailNickname"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        nick_of.insert(g["id"].as_str().unwrap().to_owned(), nick.clone());
        t.groups.insert(format!("group {nick}"));
    }
    for (g, members) in read("group-members.json").as_object().unwrap() {
        for m in members.as_array().unwrap() {
            if let (Some(nick), Some(upn)) = (nick_of.get(g), upn_of.get(m.as_str().unwrap())) {
                t.members.insert(format!("{nick} member {upn}"));
            }
        }
    }
    t
}

fn emulator_tenant(live: &Live, n: usize) -> Tenant {
    let dir = live.scratch.path(&format!("emulator-{n}"));
    live.emulator.write_snapshot(&dir).unwrap();
    tenant(&dir.join("m365"))
}

/// The intent records in the trail, as `kind target` (lower case).
fn intents(audit: &str) -> BTreeSet<String> {
    audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["phase"] == "intent")
        .map(|r| {
            format!(
                "{} {}",
                r["kind"].as_str().unwrap(),
                r["target"].as_str().unwrap().to_lowercase()
            )
        })
        .collect()
}

/// Starts `okta365 apply --auto-approve` and kills it (SIGKILL) once the
/// audit trail holds `lines` more lines than `before`. Returns whether it
/// was killed (false: it finished first).
fn apply_and_kill(live: &Live, audit: &Path, before: usize, lines: usize) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_okta365"))
        .current_dir(live.scratch.dir.path())
        .args(["-c", "live.yaml", "apply", "--auto-approve", "--now", NOW])
        .env(SECRET_VAR, SECRET)
        .env(TEST_NOW_VAR, NOW)
        .env("NO_COLOR", "1")
        .env_remove("OKTA365_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let now = std::fs::read_to_string(audit).map_or(0, |t| t.lines().count());
        if now >= before + lines {
            child.kill().unwrap(); // SIGKILL: no destructor, no flush runs
            child.wait().unwrap();
            return true;
        }
        assert!(
            Instant::now() < deadline,
            "apply neither progressed nor ended"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_kill_mid_apply_leaves_an_intent_for_every_change_and_the_next_apply_reports_it() {
    // A generated tenant with hundreds of changes, writes paced at 60 a
    // second so an apply runs for a while.
    let live = Live::start_with(
        |scratch| use_generated_tenant(scratch, 1000),
        |_| {},
        "writes_per_second: 60, timeout_seconds: 10, max_attempts: 10",
    );
    let audit = live.scratch.path(".okta365/audit-live.jsonl");
    let original = emulator_tenant(&live, 0);
    let mut kills = 0;
    for (trial, lines) in [2, 60, 250].into_iter().enumerate() {
        let before = std::fs::read_to_string(&audit).map_or(0, |t| t.lines().count());
        if !apply_and_kill(&live, &audit, before, lines) {
            break;
        }
        kills += 1;
        let now = emulator_tenant(&live, trial + 1);
        let trail = std::fs::read_to_string(&audit).unwrap();
        let intents = intents(&trail);
        // Every change in the tenant has an intent: nothing reached the API unannounced.
        let mut changes = 0;
        for user in now.users.difference(&original.users) {
            changes += 1;
            let announced = if user.contains("#ext#") {
                intents.iter().any(|i| i.starts_with("invite_guest "))
            } else {
                intents.contains(&format!("create_user {user}"))
            };
            assert!(announced, "{user} was created without an intent record");
        }
        // (Users created disabled are announced by their create.)
        for user in now
            .disabled
            .difference(&original.disabled)
            .filter(|u| original.users.contains(*u))
        {
            changes += 1;
            assert!(
                intents.contains(&format!("disable_user {user}")),
                "{user} was disabled without an intent record"
            );
        }
        for group in now.groups.difference(&original.groups) {
            changes += 1;
            assert!(
                intents.contains(&format!("create_group {group}")),
                "{group} was created without an intent record"
            );
        }
        for member in now.members.symmetric_difference(&original.members) {
            changes += 1;
            let (_, upn) = member.split_once(" member ").unwrap();
            // A membership that went with its account: the removal of the account.
            let gone = !now.users.contains(&format!("user {upn}"));
            let account_removed = gone
                && (intents.contains(&format!("delete_user user {upn}"))
                    || intents.contains(&format!("remove_guest guest {upn}")));
            let announced = account_removed
                || [
                    "add_member group",
                    "remove_member group",
                    "add_team_member team",
                    "remove_team_member team",
                ]
                .iter()
                .any(|k| intents.contains(&format!("{k} {member}")));
            assert!(
                announced,
                "membership {member} changed without an intent record"
            );
        }
        eprintln!(
            "kill {}: {changes} changes in the tenant, {} intents in the trail",
            trial + 1,
            intents.len()
        );
        // The next apply reports what the killed one left without an outcome.
        let interrupted = okta365::apply::audit::interrupted(&audit).unwrap();
        let Some(interrupted) = interrupted else {
            // Killed right after a chunk's outcomes were synced: nothing is pending.
            continue;
        };
        assert!(!interrupted.actions.is_empty());
    }
    assert!(kills >= 2, "apply finished before it could be killed");
    // A run to completion reports the last kill's loose ends, and converges.
    let pending = okta365::apply::audit::interrupted(&audit).unwrap();
    let (code, stdout, stderr) = live.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    if let Some(pending) = pending {
        let said = format!(
            "was interrupted: {} action(s) were started with no recorded outcome",
            pending.actions.len()
        );
        assert!(stderr.contains(&said), "{said}\n{stderr}");
    }
    assert!(
        okta365::apply::audit::interrupted(&audit)
            .unwrap()
            .is_none()
    );
    let (code, stdout, stderr) = live.run(&["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("No changes"), "{stdout}");
}
