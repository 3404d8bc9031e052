//! The live Okta client against the Okta emulator on loopback: plans from the
//! live org equal plans from a snapshot, both auth modes (DPoP included),
//! clear errors, pacing under a tight bucket, failing closed, the System Log
//! checkpoint, and no secret in any output.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use okta365::model::OktaGroupId;
use okta365::model::state::SourceScope;
use okta365::providers::okta::OktaClient;
use okta365::providers::okta::auth::Credentials;
use okta365::secret::Secret;
use okta365_emulators::okta::testing::{self, KeyPair};
use okta365_emulators::okta::{
    Bucket, Fault, Faults, OktaEmulator, OktaOptions, RateLimits, ScriptedFault, ServiceApp,
};
use serde_json::{Value, json};

use crate::common::{NOW, Scratch};

const TOKEN: &str = "00TestSswsTokenValue-a1b2c3d4e5f6g7h8i9";
const TOKEN_VAR: &str = "OKTA365_TEST_OKTA_TOKEN";
const CLIENT_ID: &str = "0oaTestServiceApp01";
const ALL_SCOPES: [&str; 3] = ["okta.users.read", "okta.groups.read", "okta.logs.read"];

/// A runtime that keeps the emulator serving while the binary runs.
struct Org {
    emulator: OktaEmulator,
    _runtime: tokio::runtime::Runtime,
}

impl Org {
    fn start(opts: OktaOptions) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emulator = runtime.block_on(OktaEmulator::start(opts)).unwrap();
        Self {
            emulator,
            _runtime: runtime,
        }
    }

    fn count(&self, endpoint: &str) -> u64 {
        self.emulator
            .request_counts()
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }
}

/// Emulator options seeded from the scratch copy of the example tenant.
fn seeded(scratch: &Scratch) -> OktaOptions {
    OktaOptions {
        snapshot: Some(scratch.path("examples/acme")),
        api_tokens: vec![TOKEN.into()],
        ..OktaOptions::default()
    }
}

fn app(key: &KeyPair, scopes: &[&str], require_dpop: bool) -> ServiceApp {
    ServiceApp {
        client_id: CLIENT_ID.into(),
        public_key: key.public_key(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        require_dpop,
    }
}

/// Points the scratch config's `okta:` block at `url` with `auth`.
fn use_live(scratch: &Scratch, url: &str, auth: &str) {
    let config = scratch.read("okta365.yaml");
    let mut out = String::new();
    let mut lines = config.lines().peekable();
    let mut replaced = false;
    while let Some(line) = lines.next() {
        if line == "okta:" {
            while lines.peek().is_some_and(|l| l.starts_with("  ")) {
                lines.next();
            }
            out.push_str(&format!("okta:\n  org_url: {url}\n  auth: {auth}\n"));
            replaced = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(replaced, "the example config has no `okta:` block");
    scratch.write("okta365.yaml", &out);
}

fn run_live(scratch: &Scratch, args: &[&str]) -> (i32, String, String) {
    let out = scratch
        .cmd(args)
        .env(TOKEN_VAR, TOKEN)
        .env("OKTA365_LOG", "debug")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A JSON plan without what legitimately differs between two reads (the fingerprint).
fn comparable(plan_json: &str) -> Value {
    let mut plan: Value = serde_json::from_str(plan_json).unwrap();
    plan.as_object_mut().unwrap().remove("fingerprint");
    plan.as_object_mut().unwrap().remove("digest");
    plan
}

fn write_key(scratch: &Scratch, name: &str, key: &KeyPair) {
    scratch.write(name, key.private_pem);
}

#[test]
fn plan_from_live_okta_equals_plan_from_the_snapshot() {
    let scratch = Scratch::new();
    let (code, from_snapshot, stderr) = scratch.run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let org = Org::start(seeded(&scratch));
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ token_env: {TOKEN_VAR} }}"),
    );
    let (code, from_live, stderr) = run_live(&scratch, &["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(comparable(&from_live), comparable(&from_snapshot));
    assert!(stderr.contains("okta read finished"), "{stderr}");
    // Users by search (every status), groups, and members of referenced groups only.
    assert_eq!(org.count("GET /api/v1/users"), 1);
    assert_eq!(org.count("GET /api/v1/groups"), 1);
    let groups: Vec<Value> =
        serde_json::from_str(&scratch.read("examples/acme/okta/groups.json")).unwrap();
    let member_reads = org.count("GET /api/v1/groups/{id}/users");
    assert!(member_reads >= 1, "{:?}", org.emulator.request_counts());
    assert!(
        (member_reads as usize) < groups.len(),
        "read {member_reads} member lists of {} groups: only the referenced ones should be read",
        groups.len()
    );
}

#[test]
fn a_service_app_with_dpop_answers_the_nonce_challenge_and_plans() {
    let scratch = Scratch::new();
    let (_, from_snapshot, _) = scratch.run(&["plan", "--format", "json", "--now", NOW]);
    let mut opts = seeded(&scratch);
    opts.service_apps = vec![app(&testing::CLIENT_EC, &ALL_SCOPES, true)];
    let org = Org::start(opts);
    write_key(&scratch, "client.pem", &testing::CLIENT_EC);
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ client_id: {CLIENT_ID}, private_key_file: client.pem, key_id: test-ec }}"),
    );
    let (code, from_live, stderr) = run_live(&scratch, &["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(comparable(&from_live), comparable(&from_snapshot));
    // One challenge (`use_dpop_nonce`), one token; cached for every later call.
    assert_eq!(
        org.count("POST /oauth2/v1/token"),
        2,
        "{:?}",
        org.emulator.request_counts()
    );
}

#[test]
fn a_service_app_without_dpop_uses_bearer_tokens_with_an_rsa_key() {
    let scratch = Scratch::new();
    let mut opts = seeded(&scratch);
    opts.service_apps = vec![app(&testing::CLIENT_RSA, &ALL_SCOPES, false)];
    let org = Org::start(opts);
    write_key(&scratch, "client.pem", &testing::CLIENT_RSA);
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ client_id: {CLIENT_ID}, private_key_file: client.pem, dpop: false }}"),
    );
    let (code, _, stderr) = run_live(&scratch, &["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(org.count("POST /oauth2/v1/token"), 1);
}

#[test]
fn a_wrong_key_or_a_missing_scope_says_what_to_fix() {
    let scratch = Scratch::new();
    let mut opts = seeded(&scratch);
    opts.service_apps = vec![app(&testing::CLIENT_EC, &ALL_SCOPES, true)];
    let org = Org::start(opts);
    write_key(&scratch, "other.pem", &testing::OTHER_EC);
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ client_id: {CLIENT_ID}, private_key_file: other.pem, key_id: kid-7 }}"),
    );
    let (code, stdout, stderr) = run_live(&scratch, &["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "check `client_id` (`{CLIENT_ID}`) and key id `kid-7`"
        )),
        "{stderr}"
    );

    let scratch = Scratch::new();
    let mut opts = seeded(&scratch);
    opts.service_apps = vec![app(
        &testing::CLIENT_EC,
        &["okta.users.read", "okta.logs.read"],
        true,
    )];
    let org = Org::start(opts);
    write_key(&scratch, "client.pem", &testing::CLIENT_EC);
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ client_id: {CLIENT_ID}, private_key_file: client.pem }}"),
    );
    let (code, _, stderr) = run_live(&scratch, &["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("invalid_scope"), "{stderr}");
    assert!(stderr.contains("okta.groups.read"), "{stderr}");
    assert!(stderr.contains("hint: grant the scopes"), "{stderr}");

    // DPoP turned off for an app that requires it.
    let mut opts = seeded(&scratch);
    opts.service_apps = vec![app(&testing::CLIENT_EC, &ALL_SCOPES, true)];
    let org = Org::start(opts);
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ client_id: {CLIENT_ID}, private_key_file: client.pem, dpop: false }}"),
    );
    let (code, _, stderr) = run_live(&scratch, &["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("invalid_dpop_proof"), "{stderr}");
    assert!(stderr.contains("check that `dpop` matches"), "{stderr}");

    // An invalid API token.
    let scratch = Scratch::new();
    let org = Org::start(seeded(&scratch));
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ token_env: {TOKEN_VAR} }}"),
    );
    let out = scratch
        .cmd(&["plan", "--now", NOW])
        .env(TOKEN_VAR, "00WrongToken")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("E0000011"), "{stderr}");
    assert!(stderr.contains("create a new one"), "{stderr}");
}

/// A snapshot folder with `n` active users in one group the example policies name.
fn big_snapshot(dir: &std::path::Path, n: usize) {
    let okta = dir.join("okta");
    std::fs::create_dir_all(&okta).unwrap();
    let users: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "id": format!("00u{i:017}"),
                "status": if i % 50 == 0 { "DEPROVISIONED" } else { "ACTIVE" },
                "created": "2025-01-01T00:00:00.000Z",
                "lastUpdated": "2025-01-01T00:00:00.000Z",
                "statusChanged": "2025-01-01T00:00:00.000Z",
                "profile": {
                    "login": format!("user{i}@example.com"),
                    "email": format!("user{i}@example.com"),
                    "firstName": "User",
                    "lastName": format!("{i}"),
                    "costCenter": format!("cc-{}", i % 7),
                },
            })
        })
        .collect();
    let mut groups = vec![
        json!({"id": "00gEngineering0000001", "type": "OKTA_GROUP", "profile": {"name": "Engineering"}}),
        json!({"id": "00gUnreferenced000002", "type": "OKTA_GROUP", "profile": {"name": "Unreferenced"}}),
    ];
    let mut members = serde_json::Map::new();
    members.insert(
        "00gEngineering0000001".into(),
        json!(
            (0..n)
                .step_by(3)
                .map(|i| format!("00u{i:017}"))
                .collect::<Vec<_>>()
        ),
    );
    members.insert(
        "00gUnreferenced000002".into(),
        json!(["00u00000000000000001"]),
    );
    // Forty small teams, read concurrently.
    for t in 0..40 {
        let id = format!("00gTeam{t:014}");
        groups.push(
            json!({"id": id, "type": "OKTA_GROUP", "profile": {"name": format!("team-{t:02}")}}),
        );
        members.insert(
            id,
            json!(
                (0..10)
                    .map(|i| format!("00u{:017}", t * 10 + i))
                    .collect::<Vec<_>>()
            ),
        );
    }
    let (groups, members) = (json!(groups), Value::Object(members));
    for (name, value) in [
        ("users.json", json!(users)),
        ("groups.json", groups),
        ("group-members.json", members),
    ] {
        std::fs::write(okta.join(name), serde_json::to_string(&value).unwrap()).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_users_under_a_tight_bucket_lose_no_page_and_avoid_429s() {
    let dir = tempfile::tempdir().unwrap();
    big_snapshot(dir.path(), 20_000);
    let emulator = OktaEmulator::start(OktaOptions {
        snapshot: Some(dir.path().to_path_buf()),
        api_tokens: vec![TOKEN.into()],
        rate_limits: RateLimits {
            per_bucket: [(Bucket::Users, 30), (Bucket::Groups, 30)].into(),
            window: Duration::from_secs(1),
        },
        ..OktaOptions::default()
    })
    .await
    .unwrap();
    let client = OktaClient::new(
        emulator.url().parse().unwrap(),
        Credentials::ApiToken(Secret::new(TOKEN)),
        4,
    )
    .unwrap();
    let scope = SourceScope {
        names: ["engineering".to_owned()].into(),
        patterns: ["team-*".to_owned()].into(),
    };
    let started = Instant::now();
    let state = client.read_source(&scope).await.unwrap();
    let elapsed = started.elapsed();
    let ids: BTreeSet<_> = state.users.iter().map(|u| u.id.0.clone()).collect();
    assert_eq!(ids.len(), 20_000, "every user once, none lost");
    assert_eq!(
        state
            .users
            .iter()
            .filter(|u| u.status.as_str() == "DEPROVISIONED")
            .count(),
        400,
        "DEPROVISIONED users are read too"
    );
    assert_eq!(
        state.users[1].profile["costCenter"].as_str(),
        Some("cc-1"),
        "custom attributes kept"
    );
    assert_eq!(
        state.members.len(),
        41,
        "only the referenced groups' members"
    );
    let engineering = okta365::model::OktaGroupId::from("00gEngineering0000001");
    assert_eq!(state.members[&engineering].len(), 6_667);
    let min_pages = 20_000_u64.div_ceil(200);
    let counts = emulator.request_counts();
    let user_requests = counts["GET /api/v1/users"];
    assert!(
        user_requests as f64 <= 1.05 * min_pages as f64,
        "{user_requests} user requests for {min_pages} pages"
    );
    let stats = &client.http().stats;
    let throttled = stats.throttled.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(throttled, 0, "paced by the headers, never refused");
    eprintln!(
        "20k users: {user_requests} user requests, {} total, {throttled} 429s, {} ms pacing, {elapsed:?}",
        stats.requests.load(std::sync::atomic::Ordering::Relaxed),
        stats.paced_ms.load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_429_lowers_the_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    big_snapshot(dir.path(), 400);
    let emulator = OktaEmulator::start(OktaOptions {
        snapshot: Some(dir.path().to_path_buf()),
        api_tokens: vec![TOKEN.into()],
        concurrency: 2,
        // Two member reads hang for a while, holding the org's two slots.
        faults: Faults {
            timeout: Duration::from_millis(1_000),
            scripted: (0..2)
                .map(|t| ScriptedFault {
                    path: format!("/api/v1/groups/00gTeam{t:014}/users"),
                    nth: 1,
                    fault: Fault::Timeout,
                })
                .collect(),
            ..Faults::default()
        },
        ..OktaOptions::default()
    })
    .await
    .unwrap();
    let client = OktaClient::new(
        emulator.url().parse().unwrap(),
        Credentials::ApiToken(Secret::new(TOKEN)),
        8,
    )
    .unwrap();
    let scope = SourceScope {
        names: BTreeSet::new(),
        patterns: ["team-*".to_owned()].into(),
    };
    let state = client.read_source(&scope).await.unwrap();
    assert_eq!(
        state.members.len(),
        40,
        "every team read despite the refusals"
    );
    assert!(state.members.values().all(|m| m.len() == 10));
    let throttled = client
        .http()
        .stats
        .throttled
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        (1..=20).contains(&throttled),
        "{throttled} concurrency 429s"
    );
    let now_in_flight = client.http().concurrency();
    assert!(
        now_in_flight < 8,
        "still {now_in_flight} in flight after {throttled} refusals"
    );
    eprintln!(
        "concurrency 429s: {throttled}; requests in flight lowered from 8 to {now_in_flight}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens_are_renewed_during_a_long_read() {
    let dir = tempfile::tempdir().unwrap();
    big_snapshot(dir.path(), 2_000);
    let emulator = OktaEmulator::start(OktaOptions {
        snapshot: Some(dir.path().to_path_buf()),
        service_apps: vec![app(&testing::CLIENT_EC, &ALL_SCOPES, true)],
        token_lifetime: Duration::from_secs(2),
        dpop_nonce_lifetime: Duration::from_secs(1),
        rate_limits: RateLimits {
            per_bucket: [(Bucket::Users, 3)].into(),
            window: Duration::from_secs(1),
        },
        ..OktaOptions::default()
    })
    .await
    .unwrap();
    let org: reqwest::Url = emulator.url().parse().unwrap();
    let key = okta365::providers::okta::keys::SigningKey::from_pem(testing::CLIENT_EC.private_pem)
        .unwrap();
    let service =
        okta365::providers::okta::auth::ServiceApp::new(&org, CLIENT_ID.into(), None, key, true)
            .unwrap();
    let client = OktaClient::new(org, Credentials::ServiceApp(Box::new(service)), 4).unwrap();
    let state = client.read_source(&SourceScope::default()).await.unwrap();
    assert_eq!(state.users.len(), 2_000);
    let counts = emulator.request_counts();
    // One nonce challenge, then a new token about every second of a read of several seconds.
    assert!(counts["POST /oauth2/v1/token"] >= 3, "{counts:?}");
    assert_eq!(
        counts["GET /api/v1/users"], 10,
        "no page failed for an expired token: {counts:?}"
    );
}

#[test]
fn a_transient_500_is_retried_and_a_persistent_one_plans_nothing() {
    let scratch = Scratch::new();
    let (_, from_snapshot, _) = scratch.run(&["plan", "--format", "json", "--now", NOW]);
    // Page 3 of users fails once: retried, same plan.
    big_users_in_scratch(&scratch);
    let (_, from_snapshot_big, _) = scratch.run(&["plan", "--format", "json", "--now", NOW]);
    assert_ne!(from_snapshot, from_snapshot_big);
    let mut opts = seeded(&scratch);
    opts.faults = Faults {
        scripted: vec![
            ScriptedFault {
                path: "/api/v1/users".into(),
                nth: 3,
                fault: Fault::Status(500),
            },
            ScriptedFault {
                path: "/api/v1/groups".into(),
                nth: 1,
                fault: Fault::Reset,
            },
        ],
        ..Faults::default()
    };
    let org = Org::start(opts);
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ token_env: {TOKEN_VAR} }}"),
    );
    let (code, from_live, stderr) = run_live(&scratch, &["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(comparable(&from_live), comparable(&from_snapshot_big));
    assert!(org.count("GET /api/v1/users") >= 4);
    assert!(
        org.count("GET /api/v1/groups") >= 2,
        "the reset connection was retried"
    );

    // Page 3 keeps failing: the read fails, no plan at all.
    let mut opts = seeded(&scratch);
    opts.faults = Faults {
        scripted: (3..=20)
            .map(|nth| ScriptedFault {
                path: "/api/v1/users".into(),
                nth,
                fault: Fault::Status(500),
            })
            .collect(),
        ..Faults::default()
    };
    let org = Org::start(opts);
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ token_env: {TOKEN_VAR} }}"),
    );
    let (code, stdout, stderr) = run_live(&scratch, &["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "no plan reaches stdout: {stdout}");
    assert!(
        stderr.contains("reading Okta: Okta GET /api/v1/users: HTTP 500"),
        "{stderr}"
    );
}

/// Adds enough inactive users to the scratch snapshot that users take 3+ pages.
fn big_users_in_scratch(scratch: &Scratch) {
    scratch.edit_json("examples/acme/okta/users.json", |users| {
        let list = users.as_array_mut().unwrap();
        for i in 0..450 {
            list.push(json!({
                "id": format!("00uFiller{i:011}"),
                "status": "STAGED",
                "profile": {"login": format!("filler{i}@example.com"), "firstName": "F", "lastName": "F"},
            }));
        }
    });
}

#[test]
fn an_org_with_no_users_is_an_error_not_a_mass_removal() {
    let scratch = Scratch::new();
    let org = Org::start(OktaOptions {
        api_tokens: vec![TOKEN.into()],
        ..OktaOptions::default()
    });
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ token_env: {TOKEN_VAR} }}"),
    );
    let (code, stdout, stderr) = run_live(&scratch, &["plan", "--now", NOW]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("Okta returned no users from")
            && stderr.contains("refusing to plan removals"),
        "{stderr}"
    );
    let (code, _, stderr) = run_live(&scratch, &["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        !scratch.path(".okta365/audit.jsonl").exists(),
        "nothing applied"
    );
}

#[test]
fn system_log_events_are_seen_once_in_order_across_a_restart() {
    let scratch = Scratch::new();
    let org = Org::start(seeded(&scratch));
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ token_env: {TOKEN_VAR} }}"),
    );
    let since = jiff::Timestamp::now().to_string();
    let add = |i: usize| {
        org.emulator.add_user(json!({
            "status": "ACTIVE",
            "profile": {"login": format!("joiner{i}@example.com"), "firstName": "J", "lastName": format!("{i}")},
        }))
    };
    // First run: follow, with events appended while it polls.
    let mut follow = std::process::Command::new(env!("CARGO_BIN_EXE_okta365"));
    follow
        .current_dir(scratch.dir.path())
        .args([
            "okta",
            "logs",
            "--since",
            &since,
            "--follow",
            "--interval",
            "0.1",
            "--checkpoint",
            "logs.checkpoint",
        ])
        .env(TOKEN_VAR, TOKEN)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut running = follow.spawn().unwrap();
    let stdout = running.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut first_ids = Vec::new();
    for i in 0..3 {
        first_ids.push(add(i));
        std::thread::sleep(Duration::from_millis(150));
    }
    // Each ACTIVE user logs create + activate: six events.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.len() < 6 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(serde_json::from_str::<Value>(&line).unwrap());
        }
    }
    // Let it poll an empty page (and commit) before stopping it.
    std::thread::sleep(Duration::from_millis(500));
    running.kill().unwrap();
    let _ = running.wait();
    assert_eq!(seen.len(), 6, "{seen:#?}");

    // More events while nothing polls; the restart resumes from the checkpoint.
    let mut second_ids = Vec::new();
    for i in 3..5 {
        second_ids.push(add(i));
    }
    let (code, out, stderr) = run_live(
        &scratch,
        &["okta", "logs", "--checkpoint", "logs.checkpoint"],
    );
    assert_eq!(code, 0, "{stderr}");
    let resumed: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(resumed.len(), 4, "{out}");

    let all: Vec<&Value> = seen.iter().chain(&resumed).collect();
    let uuids: BTreeSet<&str> = all.iter().map(|e| e["uuid"].as_str().unwrap()).collect();
    assert_eq!(uuids.len(), all.len(), "no event twice");
    let targets: Vec<String> = all
        .iter()
        .filter(|e| e["eventType"] == "user.lifecycle.create")
        .map(|e| e["target"][0]["id"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = first_ids.into_iter().chain(second_ids).collect();
    assert_eq!(targets, expected, "every joiner, in order");

    // A filtered run from the checkpoint sees nothing new, and a different filter is refused.
    let (code, out, _) = run_live(
        &scratch,
        &["okta", "logs", "--checkpoint", "logs.checkpoint"],
    );
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, _, stderr) = run_live(
        &scratch,
        &[
            "okta",
            "logs",
            "--checkpoint",
            "logs.checkpoint",
            "--event-type",
            "user.lifecycle.deactivate",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the checkpoint was made for every event type"),
        "{stderr}"
    );
}

#[test]
fn event_type_filters_select_only_those_events() {
    let scratch = Scratch::new();
    let org = Org::start(seeded(&scratch));
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ token_env: {TOKEN_VAR} }}"),
    );
    let since = jiff::Timestamp::now().to_string();
    let id = org.emulator.add_user(json!({
        "status": "ACTIVE",
        "profile": {"login": "leaver@example.com", "firstName": "L", "lastName": "L"},
    }));
    org.emulator.set_status(&id, "DEPROVISIONED");
    let (code, out, stderr) = run_live(
        &scratch,
        &[
            "okta",
            "logs",
            "--since",
            &since,
            "--event-type",
            "user.lifecycle.deactivate",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{out}");
    assert_eq!(events[0]["eventType"], "user.lifecycle.deactivate");
    assert_eq!(events[0]["target"][0]["id"], id.as_str());
}

#[test]
fn secrets_never_reach_output_logs_or_the_audit_trail() {
    // API token: plan and apply with debug logs on.
    let scratch = Scratch::new();
    let org = Org::start(seeded(&scratch));
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ token_env: {TOKEN_VAR} }}"),
    );
    let (code, plan_out, plan_err) = run_live(&scratch, &["plan", "--now", NOW]);
    assert_eq!(code, 0, "{plan_err}");
    assert!(
        plan_err.contains("okta request"),
        "debug logs are on: {plan_err}"
    );
    let (code, apply_out, apply_err) =
        run_live(&scratch, &["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{apply_err}");
    let audit = scratch.read(".okta365/audit.jsonl");
    assert!(!audit.is_empty());
    for (what, text) in [
        ("plan stdout", &plan_out),
        ("plan stderr", &plan_err),
        ("apply stdout", &apply_out),
        ("apply stderr", &apply_err),
        ("audit", &audit),
    ] {
        assert!(!text.contains(TOKEN), "the token leaked into {what}");
    }

    // Service app with DPoP: no private-key line in any output, also on failure.
    let scratch = Scratch::new();
    let mut opts = seeded(&scratch);
    opts.service_apps = vec![app(&testing::CLIENT_EC, &ALL_SCOPES, true)];
    let org = Org::start(opts);
    write_key(&scratch, "client.pem", &testing::CLIENT_EC);
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ client_id: {CLIENT_ID}, private_key_file: client.pem }}"),
    );
    let (code, out, err) = run_live(&scratch, &["plan", "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    let key_lines: Vec<&str> = testing::CLIENT_EC
        .private_pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .collect();
    assert!(!key_lines.is_empty());
    for line in &key_lines {
        assert!(
            !out.contains(line) && !err.contains(line),
            "private key leaked"
        );
    }
    assert!(!err.contains("access_token"), "{err}");
    // A key file that is not a key: the error names the file, not its content.
    scratch.write(
        "client.pem",
        "-----BEGIN PRIVATE KEY-----\nTm90QUtleUJ1dFNlY3JldA==\n-----END PRIVATE KEY-----\n",
    );
    let (code, _, err) = run_live(&scratch, &["plan", "--now", NOW]);
    assert_eq!(code, 1);
    assert!(err.contains("client.pem"), "{err}");
    assert!(!err.contains("Tm90QUtleUJ1dFNlY3JldA"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_reader_resumes_after_the_last_committed_page() {
    use okta365::providers::okta::logs::{Checkpoint, LogReader, Start};
    let emulator = OktaEmulator::start(OktaOptions {
        api_tokens: vec![TOKEN.into()],
        ..OktaOptions::default()
    })
    .await
    .unwrap();
    let client = OktaClient::new(
        emulator.url().parse().unwrap(),
        Credentials::ApiToken(Secret::new(TOKEN)),
        2,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("logs.json");
    let since = jiff::Timestamp::now();
    let joiner = |i: usize| json!({"status": "STAGED", "profile": {"login": format!("j{i}@example.com"), "firstName": "J", "lastName": "J"}});
    let first = emulator.add_user(joiner(0));
    let mut reader = LogReader::new(
        client.http(),
        Start::Since(since),
        vec![],
        Some(checkpoint.clone()),
    )
    .unwrap();
    let batch = reader.next_batch().await.unwrap();
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.events[0]["target"][0]["id"], first.as_str());
    // Not committed: a crash here would read the page again, never skip it.
    assert_eq!(Checkpoint::load(&checkpoint).unwrap(), None);
    reader.commit().unwrap();
    let empty = reader.next_batch().await.unwrap();
    assert!(empty.events.is_empty() && empty.caught_up && !empty.finished);
    reader.commit().unwrap();

    let second = emulator.add_user(joiner(1));
    let saved = Checkpoint::load(&checkpoint).unwrap().unwrap();
    let mut resumed = LogReader::new(
        client.http(),
        Start::Resume(saved),
        vec![],
        Some(checkpoint.clone()),
    )
    .unwrap();
    let batch = resumed.next_batch().await.unwrap();
    let targets: Vec<&str> = batch
        .events
        .iter()
        .map(|e| e["target"][0]["id"].as_str().unwrap())
        .collect();
    assert_eq!(targets, [second.as_str()]);
}

#[test]
fn okta_logs_follow_feeds_watch_which_locks_a_suspended_user() {
    let scratch = Scratch::new();
    let org = Org::start(seeded(&scratch));
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ token_env: {TOKEN_VAR} }}"),
    );
    let since = jiff::Timestamp::now().to_string();
    let bin = env!("CARGO_BIN_EXE_okta365");
    let mut logs = std::process::Command::new(bin)
        .current_dir(scratch.dir.path())
        .args([
            "okta",
            "logs",
            "--since",
            &since,
            "--follow",
            "--interval",
            "0.1",
        ])
        .env(TOKEN_VAR, TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut watch = std::process::Command::new(bin)
        .current_dir(scratch.dir.path())
        .args(["watch", "--events", "-"])
        .env(TOKEN_VAR, TOKEN)
        .env("NO_COLOR", "1")
        .stdin(Stdio::from(logs.stdout.take().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let emily = "00uNwqal6r7SVZJ9a4x7";
    org.emulator.set_status(emily, "SUSPENDED");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut lines = Vec::new();
    while Instant::now() < deadline && !lines.iter().any(|l: &String| l.contains("Lockdown took")) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(line);
        }
    }
    let _ = logs.kill();
    let _ = watch.kill();
    let _ = (logs.wait(), watch.wait());
    let shown = lines.join("\n");
    assert!(
        shown.contains("Lockdown after user.lifecycle.suspend"),
        "{shown}"
    );
    let users: Vec<Value> =
        serde_json::from_str(&scratch.read("examples/acme/m365/users.json")).unwrap();
    let account = users
        .iter()
        .find(|u| u["userPrincipalName"] == "emily.chen@acme.example")
        .unwrap();
    assert_eq!(account["accountEnabled"], false, "{shown}");
}

#[test]
fn an_api_token_can_come_from_a_file() {
    let scratch = Scratch::new();
    let org = Org::start(seeded(&scratch));
    scratch.write("okta-token.txt", &format!("{TOKEN}\n"));
    use_live(
        &scratch,
        &org.emulator.url(),
        "{ token_file: okta-token.txt }",
    );
    let out = scratch.cmd(&["plan", "--now", NOW]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(org.count("GET /api/v1/users"), 1);
    // A missing variable names the variable, never a value.
    use_live(
        &scratch,
        &org.emulator.url(),
        "{ token_env: OKTA365_TEST_UNSET_VARIABLE }",
    );
    let out = scratch.cmd(&["plan", "--now", NOW]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("`OKTA365_TEST_UNSET_VARIABLE` is not set"),
        "{stderr}"
    );
}

/// Sorts and compares two reads of the same org.
fn same_source(a: &okta365::model::state::SourceState, b: &okta365::model::state::SourceState) {
    let users = |s: &okta365::model::state::SourceState| {
        let mut users = s.users.clone();
        users.sort_by(|x, y| x.id.cmp(&y.id));
        users
    };
    assert_eq!(users(a), users(b), "users");
    assert_eq!(a.groups, b.groups, "groups");
    assert_eq!(a.members, b.members, "member lists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_read_fetches_only_the_changes_and_equals_a_full_read() {
    let scratch = Scratch::new();
    let emulator = OktaEmulator::start(seeded(&scratch)).await.unwrap();
    let state_dir = scratch.path(".okta365/okta");
    let client = |incremental: bool| {
        let client = OktaClient::new(
            emulator.url().parse().unwrap(),
            Credentials::ApiToken(Secret::new(TOKEN)),
            4,
        )
        .unwrap();
        if incremental {
            client.with_incremental_state(state_dir.clone(), jiff::SignedDuration::from_hours(24))
        } else {
            client
        }
    };
    let scope = SourceScope {
        names: [
            "Employees".to_owned(),
            "Contractors".to_owned(),
            "O365Guest".to_owned(),
        ]
        .into(),
        patterns: ["eng-*".to_owned()].into(),
    };
    let member_pages = || {
        emulator
            .request_counts()
            .get("GET /api/v1/groups/{id}/users")
            .copied()
            .unwrap_or(0)
    };
    // The first read is full, and keeps its result.
    let first = client(true).read_source(&scope).await.unwrap();
    let full_pages = member_pages();
    assert_eq!(
        full_pages, 6,
        "Employees, Contractors, O365Guest and three eng-* groups"
    );
    assert!(okta365::providers::okta::incremental::state_file(&state_dir).exists());
    same_source(&first, &client(false).read_source(&scope).await.unwrap());

    // Changes: a joiner in Employees, a leaver, a title change, a mover out of eng-mobile.
    let employees = "00glTPGDwuuaTr2Sx4x7";
    let eng_mobile = "00gsDPXY0dp7h1XfJ4x7";
    let joiner = emulator.add_user(json!({
        "status": "ACTIVE",
        "profile": {"login": "new.joiner@example.com", "firstName": "New", "lastName": "Joiner"},
    }));
    emulator.add_member(employees, &joiner);
    let leaver = first.members[&OktaGroupId::from(employees)][3].to_string();
    emulator.set_status(&leaver, "SUSPENDED");
    let retitled = first.members[&OktaGroupId::from(employees)][5].to_string();
    emulator.update_profile(&retitled, json!({"title": "Principal Engineer"}));
    let mover = first.members[&OktaGroupId::from(eng_mobile)][0].to_string();
    emulator.remove_member(eng_mobile, &mover);

    let before = member_pages();
    let users_before = emulator
        .request_counts()
        .get("GET /api/v1/users")
        .copied()
        .unwrap_or(0);
    let incremental = client(true).read_source(&scope).await.unwrap();
    let reread = member_pages() - before;
    let user_pages = emulator.request_counts()["GET /api/v1/users"] - users_before;
    assert_eq!(reread, 2, "only Employees and eng-mobile changed members");
    assert_eq!(user_pages, 1, "the changed users fit one page");
    let fresh = client(false).read_source(&scope).await.unwrap();
    same_source(&incremental, &fresh);
    let find = |id: &str| {
        incremental
            .users
            .iter()
            .find(|u| u.id.as_str() == id)
            .unwrap()
    };
    assert_eq!(find(&leaver).status.as_str(), "SUSPENDED");
    assert_eq!(
        find(&retitled).profile_str("title").as_deref(),
        Some("Principal Engineer")
    );
    assert!(
        incremental.members[&OktaGroupId::from(employees)]
            .iter()
            .any(|m| m.as_str() == joiner)
    );
    assert!(
        !incremental.members[&OktaGroupId::from(eng_mobile)]
            .iter()
            .any(|m| m.as_str() == mover)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_or_foreign_okta_state_means_a_full_read() {
    let scratch = Scratch::new();
    let emulator = OktaEmulator::start(seeded(&scratch)).await.unwrap();
    let state_dir = scratch.path(".okta365/okta");
    std::fs::create_dir_all(&state_dir).unwrap();
    let file = okta365::providers::okta::incremental::state_file(&state_dir);
    std::fs::write(&file, "{ not json").unwrap();
    let client = OktaClient::new(
        emulator.url().parse().unwrap(),
        Credentials::ApiToken(Secret::new(TOKEN)),
        4,
    )
    .unwrap()
    .with_incremental_state(state_dir.clone(), jiff::SignedDuration::from_hours(24));
    let scope = SourceScope {
        names: ["Employees".to_owned()].into(),
        patterns: BTreeSet::new(),
    };
    let state = client.read_source(&scope).await.unwrap();
    assert_eq!(state.users.len(), 61, "everything read afresh");
    // The state is rewritten whole; one from another org is not used.
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        kept["org"].as_str(),
        Some(format!("{}/", emulator.url().trim_end_matches('/')).as_str())
    );
    let mut foreign = kept.clone();
    foreign["org"] = json!("https://other.okta.com/");
    foreign["state"]["users"] = json!([]);
    std::fs::write(&file, foreign.to_string()).unwrap();
    let state = client.read_source(&scope).await.unwrap();
    assert_eq!(state.users.len(), 61, "another org's state is not merged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_503_backs_off_and_fails_in_seconds_not_rate_limit_windows() {
    let scratch = Scratch::new();
    // Every users request answers 503, with the rate-limit headers Okta
    // sends on every answer (a window resetting in 60 s).
    let emulator = OktaEmulator::start(OktaOptions {
        faults: Faults {
            scripted: (1..=20)
                .map(|nth| ScriptedFault {
                    path: "/api/v1/users".into(),
                    nth,
                    fault: Fault::Status(503),
                })
                .collect(),
            ..Faults::default()
        },
        ..seeded(&scratch)
    })
    .await
    .unwrap();
    let client = OktaClient::new(
        emulator.url().parse().unwrap(),
        Credentials::ApiToken(Secret::new(TOKEN)),
        1,
    )
    .unwrap();
    let error = client
        .read_source(&SourceScope::default())
        .await
        .unwrap_err();
    assert!(error.message.contains("503"), "{}", error.message);
    let stats = &client.http().stats;
    let retries = stats.retries.load(std::sync::atomic::Ordering::Relaxed);
    let waited = stats
        .retry_wait_ms
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        emulator.request_counts()["GET /api/v1/users"],
        1 + okta365::providers::okta::http::RETRIES as u64
    );
    assert_eq!(retries, okta365::providers::okta::http::RETRIES as u64);
    // Exponential backoff from 100 ms with jitter: a few seconds in all.
    // Waiting for the window instead would be 5 × 60 s.
    assert!(waited < 10_000, "waited {waited} ms before retries");
}

#[test]
fn one_okta_users_page_answered_empty_is_refused_as_a_short_read() {
    let scratch = Scratch::new();
    // 511 users, three pages of 200; the example's people come last (page 3).
    scratch.edit_json("examples/acme/okta/users.json", |users| {
        let list = users.as_array_mut().unwrap();
        let people = std::mem::take(list);
        for i in 0..450 {
            list.push(json!({
                "id": format!("00uFiller{i:011}"),
                "status": "STAGED",
                "profile": {"login": format!("filler{i}@example.com"), "firstName": "F", "lastName": "F"},
            }));
        }
        list.extend(people);
    });
    // The second read's third page of users answers 200 with `[]`.
    let mut opts = seeded(&scratch);
    opts.faults = Faults {
        scripted: vec![ScriptedFault {
            path: "/api/v1/users".into(),
            nth: 6,
            fault: Fault::EmptyPage,
        }],
        ..Faults::default()
    };
    let org = Org::start(opts);
    use_live(
        &scratch,
        &org.emulator.url(),
        &format!("{{ token_env: {TOKEN_VAR} }}"),
    );
    let (code, _, stderr) = run_live(&scratch, &["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        org.count("GET /api/v1/users"),
        3,
        "one traversal of three pages"
    );
    let before = scratch.read("examples/acme/m365/users.json");
    let (code, stdout, stderr) = run_live(&scratch, &["apply", "--auto-approve"]);
    assert_eq!(org.count("GET /api/v1/users"), 6);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("error: Okta users: 400, 111 fewer (22 %) than the previous read (511, at"),
        "{stderr}"
    );
    assert!(
        stdout.is_empty(),
        "nothing planned, nothing applied: {stdout}"
    );
    assert_eq!(scratch.read("examples/acme/m365/users.json"), before);
}
