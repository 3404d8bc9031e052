//! The live Graph client and backend, run by the `okta365` binary against the
//! Graph emulator on loopback: reads equal the snapshot's, plan → apply →
//! plan converges under replication lag, throttling and faults, requests are
//! few, failures are clear and plan nothing, and the client secret never
//! leaks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use okta365::apply::{Backend, GraphBackend, Outcome};
use okta365::model::ObjectId;
use okta365::model::state::LiveState;
use okta365::plan::Marker;
use okta365::plan::action::{GroupRef, LicenseAdd, Op, UserRef};
use okta365::policy::types::GroupKind;
use okta365::providers::LiveScope;
use okta365::providers::graph::auth::Credential;
use okta365::providers::graph::{GraphClient, Limits, Request};
use okta365::secret::Secret;
use okta365_emulators::graph::{
    CertificateCredential, DEFAULT_CLIENT_ID, DEFAULT_TENANT_ID, FaultKind, GraphEmulator,
    GraphOptions, InjectedFault,
};
use serde_json::Value;

use crate::common::{NOW, Scratch};

/// The client secret every test app uses; grepped for in every output.
pub(crate) const SECRET: &str = "okta365-test-secret-7Hq2xVb9Lk";
pub(crate) const SECRET_VAR: &str = "OKTA365_TEST_GRAPH_SECRET";

/// A scratch copy of the example, an emulator seeded from its `m365/`
/// snapshot, and a config (`live.yaml`) pointing the Office 365 side at it.
pub(crate) struct Live {
    pub(crate) scratch: Scratch,
    pub(crate) emulator: GraphEmulator,
    // Serves the emulator while the binary runs on this thread.
    _runtime: tokio::runtime::Runtime,
}

impl Live {
    /// The example as it is, an emulator tuned by `tune`.
    pub(crate) fn start(tune: impl FnOnce(&mut GraphOptions)) -> Self {
        Self::start_with(|_| {}, tune, "")
    }

    /// `prepare` edits the scratch copy before the emulator reads it;
    /// `limits` is the YAML inside `m365.limits: { … }` (empty: the tests' default).
    pub(crate) fn start_with(
        prepare: impl FnOnce(&Scratch),
        tune: impl FnOnce(&mut GraphOptions),
        limits: &str,
    ) -> Self {
        let scratch = Scratch::new();
        prepare(&scratch);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut opts = GraphOptions {
            snapshot: Some(scratch.path("examples/acme")),
            ..GraphOptions::default()
        };
        for app in &mut opts.apps {
            app.client_secret = Some(SECRET.to_owned());
        }
        tune(&mut opts);
        let limits = if limits.is_empty() {
            "writes_per_second: 500, timeout_seconds: 2, max_attempts: 10"
        } else {
            limits
        };
        let tenant = opts.tenant_id.clone();
        let client_id = opts.apps[0].client_id.clone();
        let emulator = runtime.block_on(GraphEmulator::start(opts)).unwrap();
        let url = emulator.url();
        assert!(url.starts_with("http://127.0.0.1:"), "loopback only: {url}");
        scratch.write(
            "live.yaml",
            &format!(
                "policies: policies\n\
                 okta:\n  snapshot: examples/acme\n\
                 m365:\n  tenant_id: {tenant}\n  graph_url: {url}\n  login_url: {url}\n\
                 \x20 auth: {{ client_id: {client_id}, client_secret_env: {SECRET_VAR} }}\n\
                 \x20 limits: {{ {limits} }}\n\
                 audit:\n  path: .okta365/audit-live.jsonl\n"
            ),
        );
        Self {
            scratch,
            emulator,
            _runtime: runtime,
        }
    }

    /// `okta365 -c live.yaml ARGS` with the secret in the environment.
    pub(crate) fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_env(args, &[])
    }

    pub(crate) fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut full = vec!["-c", "live.yaml"];
        full.extend_from_slice(args);
        let mut cmd = self.scratch.cmd(&full);
        cmd.env(SECRET_VAR, SECRET)
            .timeout(Duration::from_secs(300));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    pub(crate) fn total_requests(&self) -> u64 {
        graph_requests(&self.emulator.request_counts())
    }
}

/// HTTP requests to Graph: every top-level request but token requests
/// (the items inside `$batch` calls are not HTTP requests).
fn graph_requests(counts: &BTreeMap<String, u64>) -> u64 {
    let tokens: u64 = counts
        .iter()
        .filter(|(k, _)| k.contains("/oauth2/v2.0/token"))
        .map(|(_, n)| n)
        .sum();
    counts.get("total").copied().unwrap_or(0) - tokens
}

fn plan_json(text: &str) -> Value {
    let mut plan: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    plan.as_object_mut().unwrap().remove("fingerprint");
    plan.as_object_mut().unwrap().remove("digest");
    plan
}

#[test]
fn a_plan_from_live_graph_equals_the_plan_from_the_same_snapshot() {
    let live = Live::start(|_| {});
    let (code, from_graph, stderr) = live.run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let (code, from_snapshot, stderr) = live
        .scratch
        .run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let (graph, snapshot) = (plan_json(&from_graph), plan_json(&from_snapshot));
    if let Ok(dir) = std::env::var("OKTA365_DUMP") {
        std::fs::write(format!("{dir}/graph.json"), &from_graph).unwrap();
        std::fs::write(format!("{dir}/snapshot.json"), &from_snapshot).unwrap();
    }
    assert!(!graph["actions"].as_array().unwrap().is_empty());
    assert_eq!(graph, snapshot);
}

/// Replaces the scratch's example tenant and policies with a generated
/// tenant of `users` users (`okta365 generate`, seed 1).
pub(crate) fn use_generated_tenant(scratch: &Scratch, users: usize) {
    let users = users.to_string();
    let groups = (users.parse::<usize>().unwrap() / 20).max(6).to_string();
    let (code, stdout, stderr) = scratch.run(&[
        "generate", "--users", &users, "--groups", &groups, "--seed", "1", "--out", "gen",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for (from, to) in [
        ("gen/okta", "examples/acme/okta"),
        ("gen/m365", "examples/acme/m365"),
        ("gen/policies", "policies"),
    ] {
        std::fs::remove_dir_all(scratch.path(to)).unwrap();
        crate::common::copy_dir(&scratch.path(from), &scratch.path(to));
    }
}

#[test]
fn a_generated_tenant_plans_the_same_from_live_graph_as_from_its_snapshot() {
    // 300 users: managers on most of them, more than one `$expand` page (100).
    let live = Live::start_with(|scratch| use_generated_tenant(scratch, 300), |_| {}, "");
    let (code, from_graph, stderr) = live.run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let (code, from_snapshot, stderr) = live
        .scratch
        .run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let (graph, snapshot) = (plan_json(&from_graph), plan_json(&from_snapshot));
    let managers = |plan: &Value| {
        plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "set_manager")
            .count()
    };
    let users: Value =
        serde_json::from_str(&live.scratch.read("examples/acme/m365/users.json")).unwrap();
    let with_manager = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["manager"]["id"].is_string())
        .count();
    assert!(with_manager >= 100, "{with_manager} users have a manager");
    assert!(!snapshot["actions"].as_array().unwrap().is_empty());
    assert_eq!(managers(&graph), managers(&snapshot));
    assert_eq!(graph, snapshot);
}

#[test]
fn a_generated_tenant_applies_under_the_write_budget_in_few_requests_and_converges() {
    // The emulator's write budget on (100 writes/s), the client paced just under it.
    let live = Live::start_with(
        |scratch| use_generated_tenant(scratch, 2000),
        |opts| {
            opts.throttle.writes = 300;
            opts.throttle.write_window = Duration::from_secs(3);
        },
        "writes_per_second: 95, timeout_seconds: 10, max_attempts: 10",
    );
    let (code, stdout, stderr) = live.run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let actions = plan["actions"].as_array().unwrap();
    let memberships = actions
        .iter()
        .filter(|a| a["kind"].as_str().unwrap().ends_with("member"))
        .count();
    assert!(memberships >= 100, "{memberships} membership changes");
    let read = live.total_requests();
    let before = live.emulator.request_counts();
    let (code, stdout, stderr) = live.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("Apply: {} done, 0 failed", actions.len())),
        "{stdout}"
    );
    // apply reads once (as plan did), then writes.
    let writes = live.total_requests() - 2 * read;
    // Membership writes are `$batch` items (20 a request): a PATCH adding up
    // to 20 members, or one DELETE of a member reference.
    let after = live.emulator.request_counts();
    let membership_items: u64 = after
        .iter()
        .filter(|(k, _)| {
            k.starts_with("PATCH /v1.0/groups/")
                || k.starts_with("DELETE /v1.0/groups/") && k.contains("/members/")
        })
        .map(|(k, n)| n - before.get(k).copied().unwrap_or(0))
        .sum();
    let membership_requests = membership_items.div_ceil(20);
    eprintln!(
        "{} actions in {writes} write requests; {memberships} membership changes in \
         {membership_items} batch items, {membership_requests} requests",
        actions.len()
    );
    assert!(
        membership_requests as usize * 15 <= memberships,
        "{membership_requests} requests for {memberships} membership changes: {after:?}"
    );
    assert!(
        writes as usize * 10 <= actions.len(),
        "{writes} write requests for {} actions: {after:?}",
        actions.len()
    );
    let (_, stdout, _) = live.run(&["plan", "--now", NOW]);
    assert!(stdout.contains("No changes"), "{stdout}");
}

#[test]
fn a_full_read_needs_no_more_requests_than_pages() {
    let extra: usize = 2_500; // three pages of 999 users
    let live = Live::start_with(
        |scratch| {
            scratch.edit_json("examples/acme/m365/users.json", |users| {
                let list = users.as_array_mut().unwrap();
                for i in 0..extra {
                    list.push(serde_json::json!({
                        "id": format!("00000000-0000-4000-8000-{i:012}"),
                        "userPrincipalName": format!("bulk{i}@acme.example"),
                        "displayName": format!("Bulk {i}"),
                        "accountEnabled": true,
                        "userType": "Member",
                        "assignedLicenses": [],
                    }));
                }
            });
        },
        |_| {},
        "",
    );
    let (code, _, stderr) = live.run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let groups = live.scratch.read("examples/acme/m365/groups.json");
    let groups = serde_json::from_str::<Value>(&groups)
        .unwrap()
        .as_array()
        .unwrap()
        .len();
    let users = 60 + extra;
    // Lists read for the accounts being offboarded: each one's groups,
    // ownerships and manager, and the owner lists of groups they own.
    let counts = live.emulator.request_counts();
    let leaver_lists: usize = [
        "GET /v1.0/users/{id}/memberOf",
        "GET /v1.0/users/{id}/ownedObjects",
        "GET /v1.0/users/{id}/manager",
    ]
    .iter()
    .map(|k| counts.get(*k).copied().unwrap_or(0) as usize)
    .sum();
    assert!(leaver_lists > 0, "the example has leavers: {counts:?}");
    // Pages of users, of groups, one of SKUs, one page each of the members
    // and owners of (at most) every group, and the leavers' lists.
    let pages = users.div_ceil(999) + groups.div_ceil(999) + 1 + 2 * groups + leaver_lists;
    let requests = live.total_requests();
    eprintln!("full read: {requests} requests for {pages} pages");
    assert!(
        requests as f64 <= 1.05 * pages as f64,
        "{requests} requests for a read of {pages} pages: {:?}",
        live.emulator.request_counts()
    );
    // Members and owners go 20 lists to a $batch call, and so do the
    // leavers' lists (and the owner lists of the groups they own).
    assert!(
        requests
            <= (users.div_ceil(999)
                + groups.div_ceil(999)
                + 1
                + (2 * groups).div_ceil(20)
                + leaver_lists.div_ceil(20)
                + 1) as u64
                + 1,
        "{requests} requests: {counts:?}"
    );
}

/// The state of a tenant by natural keys (ids differ between backends):
/// users by UPN (guests by mail), groups by mail nickname, links by UPN.
fn normalised(m365: &Path) -> Value {
    let read = |f: &str| -> Value {
        let path = m365.join(f);
        match std::fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t).unwrap(),
            Err(_) => Value::Null,
        }
    };
    let users = read("users.json");
    let groups = read("groups.json");
    let mut name_of: BTreeMap<String, String> = BTreeMap::new();
    let mut out_users = BTreeMap::new();
    for u in users.as_array().unwrap() {
        let guest = u["userType"] == "Guest";
        let key = if guest {
            format!("guest:{}", u["mail"].as_str().unwrap_or("").to_lowercase())
        } else {
            u["userPrincipalName"].as_str().unwrap().to_lowercase()
        };
        name_of.insert(u["id"].as_str().unwrap().to_owned(), key.clone());
        let licences: BTreeSet<String> = u["assignedLicenses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l["skuId"].as_str().unwrap().to_lowercase())
            .collect();
        let ext = &u["onPremisesExtensionAttributes"];
        let mut fields = BTreeMap::new();
        // Graph makes up a guest's mailNickname; the snapshot backend does not.
        let nickname: &[&str] = if guest { &[] } else { &["mailNickname"] };
        for f in nickname.iter().copied().chain([
            "accountEnabled",
            "displayName",
            "givenName",
            "surname",
            "mail",
            "jobTitle",
            "department",
            "officeLocation",
            "employeeId",
            "usageLocation",
            "userType",
        ]) {
            let v = &u[f];
            if !v.is_null() {
                fields.insert(f.to_owned(), v.clone());
            }
        }
        fields.insert("licences".into(), serde_json::json!(licences));
        fields.insert("okta_id".into(), ext["extensionAttribute15"].clone());
        fields.insert("offboarded_at".into(), ext["extensionAttribute14"].clone());
        out_users.insert(key, fields);
    }
    let mut out_groups = BTreeMap::new();
    let mut nick_of = BTreeMap::new();
    for g in groups.as_array().unwrap() {
        let nick = g["mailNickname"].as_str().unwrap_or("").to_lowercase();
        nick_of.insert(g["id"].as_str().unwrap().to_owned(), nick.clone());
        let team = g["resourceProvisioningOptions"]
            .as_array()
            .is_some_and(|o| o.iter().any(|v| v == "Team"));
        out_groups.insert(
            nick,
            serde_json::json!({"displayName": g["displayName"], "groupTypes": g["groupTypes"], "team": team}),
        );
    }
    let links = |v: Value| -> BTreeMap<String, BTreeSet<String>> {
        v.as_object()
            .into_iter()
            .flatten()
            .filter_map(|(g, ids)| {
                let nick = nick_of.get(g)?.clone();
                let names: BTreeSet<String> = ids
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|id| {
                        let id = id.as_str().unwrap();
                        name_of.get(id).cloned().unwrap_or_else(|| id.to_owned())
                    })
                    .collect();
                Some((nick, names))
            })
            .filter(|(_, names)| !names.is_empty())
            .collect()
    };
    let skus: BTreeMap<String, Value> = read("subscribedSkus.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["skuPartNumber"].as_str().unwrap().to_owned(),
                s["consumedUnits"].clone(),
            )
        })
        .collect();
    serde_json::json!({
        "users": out_users,
        "groups": out_groups,
        "members": links(read("group-members.json")),
        "owners": links(read("group-owners.json")),
        "seats": skus,
    })
}

/// The emulator's state written out, as `normalised` reads it.
fn emulator_state(live: &Live) -> Value {
    let dir = live.scratch.path("emulator-out");
    live.emulator.write_snapshot(&dir).unwrap();
    let m365 = if dir.join("m365/users.json").exists() {
        dir.join("m365")
    } else {
        dir
    };
    normalised(&m365)
}

/// Compares two maps key by key and names what differs.
fn assert_same(part: &str, got: &Value, expected: &Value) {
    let (g, e) = (got.as_object().unwrap(), expected.as_object().unwrap());
    let mut problems = Vec::new();
    for key in g.keys().chain(e.keys()).collect::<BTreeSet<_>>() {
        if g.get(key) != e.get(key) {
            problems.push(format!(
                "{part} {key}:\n  graph:    {}\n  snapshot: {}",
                g.get(key).map_or("(absent)".into(), Value::to_string),
                e.get(key).map_or("(absent)".into(), Value::to_string)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

pub(crate) fn assert_no_secret(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET),
        "the client secret appears in {what}"
    );
}

#[test]
fn plan_apply_plan_converges_under_lag_throttling_and_faults_like_the_snapshot_backend() {
    let live = Live::start(|opts| {
        opts.lag.new_object = Duration::from_secs(3);
        opts.lag.members_after_group = Duration::from_secs(2);
        opts.lag.team_after_group = Duration::from_secs(3);
        opts.throttle.resource_units = 40;
        opts.throttle.window = Duration::from_secs(1);
        opts.throttle.writes = 15;
        opts.throttle.write_window = Duration::from_secs(1);
        opts.faults.server_error_rate = 0.03;
        opts.faults.reset_rate = 0.01;
        opts.faults.timeout_rate = 0.01;
        opts.faults.timeout_hold = Duration::from_secs(4);
        opts.faults.batch_item_failure_rate = 0.05;
        opts.seed = 1;
    });
    // Mirrored Teams need an owner in Graph: give each new squad one.
    give_squads_owners(&live.scratch);
    // Debug logs of every crate (okta365 reads OKTA365_LOG; RUST_LOG for good measure).
    let debug = [("OKTA365_LOG", "debug"), ("RUST_LOG", "debug")];
    let (code, stdout, stderr) = live.run_env(&["apply", "--auto-approve", "--now", NOW], &debug);
    assert_no_secret("apply's stdout", &stdout);
    assert_no_secret("apply's stderr (debug logs)", &stderr);
    assert!(stderr.contains("DEBUG"), "debug logs are on: {stderr}");
    assert!(stderr.contains("requesting an access token"), "{stderr}");
    // Request bodies (initial passwords among them) are never logged.
    assert!(
        !stderr.contains("passwordProfile"),
        "a request body was logged"
    );
    assert!(
        !stdout.contains("passwordProfile"),
        "a request body was printed"
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(" 0 failed, 0 skipped"), "{stdout}");
    // Let replication catch up, then the next plan is empty.
    std::thread::sleep(Duration::from_secs(4));
    let (code, stdout, stderr) = live.run_env(&["plan", "--now", NOW], &debug);
    assert_no_secret("plan's stderr (debug logs)", &stderr);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("No changes"), "{stdout}");
    let audit = live.scratch.read(".okta365/audit-live.jsonl");
    assert_no_secret("the audit trail", &audit);
    // The faults and throttling did happen.
    let counts = live.emulator.request_counts();
    let count = |k: &str| counts.get(k).copied().unwrap_or(0);
    let faults =
        count("fault 503") + count("fault 504") + count("fault reset") + count("fault timeout");
    // Failed $batch items are counted as 500 and 503 answers.
    let failed_items = count("status 500") + count("status 503");
    assert!(
        faults + failed_items > 0,
        "no fault was injected: {counts:?}"
    );
    assert!(count("status 429") > 0, "nothing was throttled: {counts:?}");
    // Replication lag answered 404 on new objects, and was waited out.
    assert!(
        count("status 404") > 0,
        "no replication lag seen: {counts:?}"
    );
    eprintln!(
        "faults {faults}, 429s {}, counts {counts:?}",
        count("status 429")
    );

    // The same plan through the snapshot backend ends in the same tenant.
    let offline = Scratch::new();
    give_squads_owners(&offline);
    let (code, stdout, stderr) = offline.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let expected = normalised(&offline.path("examples/acme/m365"));
    let got = emulator_state(&live);
    for part in ["users", "groups", "members", "owners", "seats"] {
        assert_same(part, &got[part], &expected[part]);
    }
}

/// Adds a rule making one engineer the owner of every new squad Team.
pub(crate) fn give_squads_owners(scratch: &Scratch) {
    let mut text = scratch.read("policies/employees.yaml");
    text.push_str(
        "\n  - name: squad-owners\n    when:\n      attribute: { name: title, glob: \"*Staff Engineer*\" }\n    teams:\n      - team: eng-mobile\n        role: owner\n",
    );
    scratch.write("policies/employees.yaml", &text);
}

#[test]
fn member_adds_take_fifteen_times_fewer_requests_than_members() {
    // Converge offline, then empty the biggest declared group: the next plan only adds members.
    let mut emptied = 0;
    let live = Live::start_with(
        |scratch| {
            let (code, stdout, stderr) = scratch.run(&["apply", "--auto-approve", "--now", NOW]);
            assert_eq!(code, 0, "{stdout}\n{stderr}");
            let groups: Value =
                serde_json::from_str(&scratch.read("examples/acme/m365/groups.json")).unwrap();
            let all_staff = groups
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["mailNickname"] == "all-staff")
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            scratch.edit_json("examples/acme/m365/group-members.json", |members| {
                emptied = members[&all_staff].as_array().unwrap().len();
                members[&all_staff] = serde_json::json!([]);
            });
        },
        |_| {},
        "",
    );
    assert!(emptied >= 40, "all-staff had {emptied} members");
    let (code, stdout, stderr) = live.run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap();
    let actions = plan["actions"].as_array().unwrap();
    // Every managed member comes back (unmanaged ones are not re-added).
    let adds = actions.len();
    assert!(
        adds >= 40 && adds <= emptied,
        "{adds} of {emptied}: {stdout}"
    );
    assert!(
        actions.iter().all(|a| a["kind"] == "add_member"),
        "{stdout}"
    );
    let read = live.total_requests();
    let (code, stdout, stderr) = live.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // apply reads once (as plan did), then writes.
    let writes = live.total_requests() - 2 * read;
    eprintln!("member adds: {writes} requests for {adds} members");
    assert!(
        writes as usize * 15 <= adds,
        "{writes} requests to add {adds} members: {:?}",
        live.emulator.request_counts()
    );
    let (_, stdout, _) = live.run(&["plan", "--now", NOW]);
    assert!(stdout.contains("No changes"), "{stdout}");
}

#[test]
fn a_wrong_secret_is_a_clear_error_and_plans_nothing() {
    let live = Live::start(|_| {});
    let (code, stdout, stderr) =
        live.run_env(&["plan", "--now", NOW], &[(SECRET_VAR, "not-the-secret")]);
    eprintln!("{stderr}");
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("AADSTS7000215"), "{stderr}");
    assert!(stderr.contains("secret is wrong"), "{stderr}");
    assert!(!stderr.contains("not-the-secret"), "{stderr}");
}

#[test]
fn a_missing_permission_names_it_and_plans_nothing() {
    let live = Live::start(|opts| {
        opts.apps[0]
            .roles
            .retain(|r| !r.starts_with("Group") && !r.starts_with("Directory"));
    });
    let (code, stdout, stderr) = live.run(&["plan", "--now", NOW]);
    eprintln!("{stderr}");
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("403"), "{stderr}");
    assert!(stderr.contains("GET /groups"), "{stderr}");
    assert!(stderr.contains("GroupMember.Read.All"), "{stderr}");
}

#[test]
fn a_read_that_keeps_failing_is_an_error_and_plans_nothing() {
    let live = Live::start_with(
        |_| {},
        |opts| {
            opts.faults.server_error_rate = 1.0;
        },
        "timeout_seconds: 2, max_attempts: 3",
    );
    let (code, stdout, stderr) = live.run(&["plan", "--now", NOW]);
    eprintln!("{stderr}");
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("reading Office 365"), "{stderr}");
    assert!(stderr.contains("run again later"), "{stderr}");
}

#[test]
fn a_certificate_signs_the_client_assertion() {
    let fixtures = crate::common::repo().join("tests/fixtures/graph");
    let live = Live::start(|opts| {
        opts.apps[0].client_secret = None;
        opts.apps[0].certificate = Some(CertificateCredential {
            public_key_pem: std::fs::read_to_string(fixtures.join("test-pubkey.pem")).unwrap(),
            // openssl x509 -outform DER | openssl sha1 -binary | base64url
            thumbprint_sha1: Some("v6gvxvgf1RC-hot3hkjcbEYZNTM".into()),
            thumbprint_sha256: None,
        });
    });
    let text = live.scratch.read("live.yaml").replace(
        &format!("client_secret_env: {SECRET_VAR}"),
        &format!(
            "certificate_file: {}, private_key_file: {}",
            fixtures.join("test-cert.pem").display(),
            fixtures.join("test-key.pem").display()
        ),
    );
    live.scratch.write("live.yaml", &text);
    let (code, stdout, stderr) = live.run(&["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("Plan:"), "{stdout}");
}

/// The library's client on an emulator seeded from the example.
pub(crate) async fn client_on(emulator: &GraphEmulator, delta: Option<&Path>) -> GraphClient {
    let url = emulator.url();
    let mut client = GraphClient::new(
        &url,
        &url,
        DEFAULT_TENANT_ID,
        DEFAULT_CLIENT_ID,
        Credential::Secret(Secret::new(SECRET)),
        Limits::default(),
    )
    .unwrap();
    client.delta_state = delta.map(Path::to_path_buf);
    client
}

pub(crate) async fn example_emulator(scratch: &Scratch) -> GraphEmulator {
    let mut opts = GraphOptions {
        snapshot: Some(scratch.path("examples/acme")),
        ..GraphOptions::default()
    };
    opts.apps[0].client_secret = Some(SECRET.to_owned());
    GraphEmulator::start(opts).await.unwrap()
}

/// Users and groups sorted by id (delta and list reads may order them differently).
fn by_id(mut state: LiveState) -> LiveState {
    state.users.sort_by(|a, b| a.id.cmp(&b.id));
    state.groups.sort_by(|a, b| a.id.cmp(&b.id));
    state
}

fn scope() -> LiveScope {
    LiveScope {
        groups: ["all-staff", "engineering", "eng-platform"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        user_properties: ["department", "jobTitle"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        managers: false,
        offboard: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_reads_fetch_only_changes_and_start_afresh_after_410() {
    let scratch = Scratch::new();
    let emulator = example_emulator(&scratch).await;
    let state_dir = scratch.path("delta-state");
    let delta = client_on(&emulator, Some(&state_dir)).await;
    let list = client_on(&emulator, None).await;
    let scope = scope();

    let first = delta.read_state(&scope).await.unwrap();
    assert!(state_dir.join("graph-delta.json").exists());
    assert_eq!(
        by_id(first.clone()),
        by_id(list.read_state(&scope).await.unwrap())
    );

    // A change, then a delta round: only the change comes back.
    let victim = first
        .users
        .iter()
        .find(|u| u.account_enabled)
        .unwrap()
        .id
        .clone();
    list.http
        .send(&Request::write(
            reqwest::Method::PATCH,
            format!("/users/{victim}"),
            Some(serde_json::json!({"accountEnabled": false, "department": "Moved"})),
            "User.ReadWrite.All",
        ))
        .await
        .unwrap();
    let second = delta.read_state(&scope).await.unwrap();
    let changed = second.users.iter().find(|u| u.id == victim).unwrap();
    assert!(!changed.account_enabled);
    assert_eq!(changed.property("department").as_deref(), Some("Moved"));
    assert_eq!(by_id(second), by_id(list.read_state(&scope).await.unwrap()));
    let tracked: Value =
        serde_json::from_str(&std::fs::read_to_string(state_dir.join("graph-delta.json")).unwrap())
            .unwrap();
    assert_eq!(
        tracked["users"]["objects"].as_object().unwrap().len(),
        first.users.len()
    );

    // Expired tokens: 410 Gone, then a full round that still reads everything.
    emulator.expire_delta_tokens();
    let third = delta.read_state(&scope).await.unwrap();
    assert_eq!(by_id(third), by_id(list.read_state(&scope).await.unwrap()));
    let counts = emulator.request_counts();
    assert!(
        counts.get("status 410").copied().unwrap_or(0) >= 1,
        "{counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_renewed_once_and_the_read_goes_on() {
    let scratch = Scratch::new();
    let emulator = example_emulator(&scratch).await;
    let client = client_on(&emulator, None).await;
    let scope = scope();
    let first = client.read_state(&scope).await.unwrap();
    let tokens = |c: &BTreeMap<String, u64>| {
        c.get("POST /{tenant}/oauth2/v2.0/token")
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(tokens(&emulator.request_counts()), 1, "the token is cached");
    let _ = client.read_state(&scope).await.unwrap();
    assert_eq!(tokens(&emulator.request_counts()), 1, "the token is cached");
    emulator.revoke_tokens();
    let again = client.read_state(&scope).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(
        tokens(&emulator.request_counts()),
        2,
        "renewed after the 401"
    );
}

fn user(id: &ObjectId, upn: &str) -> UserRef {
    UserRef {
        id: Some(id.clone()),
        upn: upn.into(),
        okta_id: None,
    }
}

/// Users (or groups) in the emulator whose `key` equals `value`.
fn count_in(emulator: &GraphEmulator, dir: &Path, file: &str, key: &str, value: &str) -> usize {
    emulator.write_snapshot(dir).unwrap();
    let list: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m365").join(file)).unwrap())
            .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            o[key]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_whose_answer_was_lost_are_neither_duplicated_nor_reported() {
    let scratch = Scratch::new();
    let emulator = example_emulator(&scratch).await;
    let mut backend = GraphBackend::new(
        client_on(&emulator, None).await,
        Marker::ExtensionAttribute(15),
    );
    // Every first write below commits, then answers 504.
    for endpoint in [
        "POST /v1.0/users",
        "POST /v1.0/groups",
        "POST /v1.0/invitations",
        "PATCH /v1.0/groups/{id}",
        "POST /v1.0/users/{id}/assignLicense",
        "DELETE /v1.0/groups/{id}/members/{id}/$ref",
        "PUT /v1.0/groups/{id}/team",
    ] {
        emulator.inject(InjectedFault {
            endpoint: endpoint.into(),
            fault: FaultKind::GatewayTimeoutAfterCommit,
            times: 1,
        });
    }
    let upn = "new.person@acme.example";
    let created = backend
        .execute(&[
            Op::CreateUser {
                upn: upn.into(),
                okta_id: "00unew".into(),
                account_enabled: true,
                properties: [
                    ("displayName".to_owned(), "New Person".to_owned()),
                    ("mailNickname".to_owned(), "new.person".to_owned()),
                    ("usageLocation".to_owned(), "GB".to_owned()),
                ]
                .into(),
            },
            Op::CreateGroup {
                mail_nickname: "ops-oncall".into(),
                display_name: "Ops on call".into(),
                description: None,
                kind: GroupKind::Security,
                visibility: None,
            },
            Op::InviteGuest {
                mail: "pat@partner.example".into(),
                display_name: "Pat (Partner)".into(),
                okta_id: "00uguest".into(),
                redirect_url: "https://myapps.microsoft.com".into(),
                send_invitation: false,
            },
        ])
        .await;
    let ids: Vec<ObjectId> = created
        .into_iter()
        .map(|r| match r {
            Ok(Outcome::Created(id)) => id,
            other => panic!("{other:?}"),
        })
        .collect();
    let out = scratch.path("state");
    assert_eq!(
        count_in(&emulator, &out, "users.json", "userPrincipalName", upn),
        1
    );
    assert_eq!(
        count_in(&emulator, &out, "groups.json", "mailNickname", "ops-oncall"),
        1
    );
    assert_eq!(
        count_in(&emulator, &out, "users.json", "mail", "pat@partner.example"),
        1
    );

    let group = GroupRef {
        id: Some(ids[1].clone()),
        mail_nickname: "ops-oncall".into(),
    };
    let e3 = "05e9a617-0261-4cee-bb44-138d3ef5d965";
    let engineering = GroupRef {
        id: Some("1c440b77-712a-470e-bf93-82bfeb76b887".into()),
        mail_nickname: "engineering".into(),
    };
    let results = backend
        .execute(&[
            Op::AddMember {
                group: group.clone(),
                user: user(&ids[0], upn),
            },
            Op::AssignLicenses {
                user: user(&ids[0], upn),
                add: vec![LicenseAdd {
                    sku_id: e3.into(),
                    sku: "SPE_E3".into(),
                    disabled_plans: vec![],
                    disabled_plan_names: vec![],
                }],
                remove: vec![],
            },
            Op::CreateTeam {
                group: GroupRef {
                    id: Some("b9977949-4411-42bc-8f87-fc2586d64c6d".into()),
                    mail_nickname: "eng-data".into(),
                },
            },
        ])
        .await;
    assert!(
        results.iter().all(|r| r == &Ok(Outcome::Done)),
        "{results:?}"
    );
    let someone: ObjectId = "25eb1176-d0f5-4f56-bb29-cf72cc9f2c46".into();
    let results = backend
        .execute(&[
            Op::RemoveMember {
                group: engineering,
                user: user(&someone, "someone"),
            },
            Op::SetManager {
                user: user(&ids[0], upn),
                manager: user(&someone, "someone"),
            },
        ])
        .await;
    assert_eq!(results, vec![Ok(Outcome::Done), Ok(Outcome::Done)]);
    let manager = client_on(&emulator, None)
        .await
        .http
        .send(&Request::get(
            format!("/users/{}/manager", ids[0]),
            "User.Read.All",
        ))
        .await
        .unwrap();
    assert_eq!(manager.body["id"], someone.as_str());
    emulator.write_snapshot(&out).unwrap();
    let members: Value =
        serde_json::from_str(&scratch.read("state/m365/group-members.json")).unwrap();
    assert_eq!(
        members[ids[1].as_str()],
        serde_json::json!([ids[0].as_str()])
    );
    assert!(
        !members["1c440b77-712a-470e-bf93-82bfeb76b887"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "25eb1176-d0f5-4f56-bb29-cf72cc9f2c46")
    );
    let users: Value = serde_json::from_str(&scratch.read("state/m365/users.json")).unwrap();
    let new = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["userPrincipalName"] == upn)
        .unwrap();
    assert_eq!(new["assignedLicenses"][0]["skuId"], e3);
    assert_eq!(
        new["onPremisesExtensionAttributes"]["extensionAttribute15"],
        "00unew"
    );
    let counts = emulator.request_counts();
    assert!(
        counts.get("status 504").copied().unwrap_or(0) >= 7,
        "{counts:?}"
    );
}

#[test]
fn a_saved_plan_applies_when_graph_has_not_changed_and_is_refused_when_it_has() {
    let live = Live::start(|_| {});
    give_squads_owners(&live.scratch);
    let (code, _, stderr) = live.run(&["plan", "--now", NOW, "--out", "plan.json"]);
    assert_eq!(code, 0, "{stderr}");
    let before = live.total_requests();
    let (code, stdout, stderr) = live.run(&["apply", "plan.json"]);
    assert_eq!(
        code, 0,
        "a fresh read of an unchanged tenant is the same: {stdout}\n{stderr}"
    );
    assert!(stdout.contains(" 0 failed, 0 skipped"), "{stdout}");
    eprintln!(
        "apply of {} actions: {} requests (the read included)",
        stdout.lines().filter(|l| l.starts_with("done")).count(),
        live.total_requests() - before
    );
    // The tenant moved on since: the same saved plan is refused.
    let (code, stdout, stderr) = live.run(&["apply", "plan.json"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("stale"), "{stderr}");
}

#[test]
fn a_missing_secret_variable_is_named_before_any_request() {
    let live = Live::start(|_| {});
    let mut cmd = live.scratch.cmd(&["-c", "live.yaml", "plan", "--now", NOW]);
    cmd.env_remove(SECRET_VAR);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("`{SECRET_VAR}` is not set")),
        "{stderr}"
    );
    assert_eq!(live.total_requests(), 0, "nothing was sent");
}

#[test]
fn a_secret_file_works_like_the_variable() {
    let live = Live::start(|_| {});
    live.scratch
        .write("graph-secret.txt", &format!("{SECRET}\n"));
    let text = live.scratch.read("live.yaml").replace(
        &format!("client_secret_env: {SECRET_VAR}"),
        "client_secret_file: graph-secret.txt",
    );
    live.scratch.write("live.yaml", &text);
    let mut cmd = live.scratch.cmd(&["-c", "live.yaml", "plan", "--now", NOW]);
    cmd.env_remove(SECRET_VAR);
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("Plan:"), "{stdout}");
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_reused_until_close_to_expiry_then_renewed() {
    let scratch = Scratch::new();
    let mut opts = GraphOptions {
        snapshot: Some(scratch.path("examples/acme")),
        token_lifetime: Duration::from_secs(3),
        ..GraphOptions::default()
    };
    opts.apps[0].client_secret = Some(SECRET.to_owned());
    let emulator = GraphEmulator::start(opts).await.unwrap();
    let client = client_on(&emulator, None).await;
    let tokens = || {
        emulator
            .request_counts()
            .get("POST /{tenant}/oauth2/v2.0/token")
            .copied()
            .unwrap_or(0)
    };
    client.read_state(&scope()).await.unwrap();
    assert_eq!(tokens(), 1, "one token for the whole read");
    tokio::time::sleep(Duration::from_millis(2600)).await; // past 4/5 of its life
    client.read_state(&scope()).await.unwrap();
    assert_eq!(tokens(), 2, "renewed before it expired");
    let counts = emulator.request_counts();
    assert_eq!(
        counts.get("status 401"),
        None,
        "no request was refused: {counts:?}"
    );
}

#[test]
fn plans_with_delta_state_read_changes_only_and_plan_the_same() {
    let live = Live::start(|_| {});
    let text = live
        .scratch
        .read("live.yaml")
        .replace("  limits:", "  delta_state: .okta365/graph\n  limits:");
    live.scratch.write("live.yaml", &text);
    let (code, first, stderr) = live.run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        live.scratch
            .path(".okta365/graph/graph-delta.json")
            .exists()
    );
    let after_first = live.total_requests();
    let (code, second, stderr) = live.run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let second_read = live.total_requests() - after_first;
    assert_eq!(plan_json(&first)["actions"], plan_json(&second)["actions"]);
    // Users, groups (one delta page each), licences, the member lists, one
    // batch of the leavers' groups, ownerships and managers, and one of the
    // owner lists of the groups a leaver owns (Deal Desk).
    assert!(
        second_read <= 7,
        "{second_read} requests: {:?}",
        live.emulator.request_counts()
    );
    let (code, from_snapshot, _) = live
        .scratch
        .run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0);
    assert_eq!(plan_json(&second), plan_json(&from_snapshot));
}

#[test]
fn managers_are_read_with_the_users_and_set_through_graph() {
    let map_managers = |scratch: &Scratch| {
        let text = scratch.read("policies/employees.yaml").replacen(
            "      usageLocation: \"{{ profile.countryCode | lookup('usage_location') | default('US') }}\"\n",
            "      usageLocation: \"{{ profile.countryCode | lookup('usage_location') | default('US') }}\"\n      manager: \"{{ profile.managerId | default('') }}\"\n",
            1,
        );
        scratch.write("policies/employees.yaml", &text);
        give_squads_owners(scratch);
    };
    let live = Live::start_with(map_managers, |_| {}, "");
    let (code, from_graph, stderr) = live.run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let (_, from_snapshot, _) = live
        .scratch
        .run(&["plan", "--format", "json", "--now", NOW]);
    assert_eq!(plan_json(&from_graph), plan_json(&from_snapshot));
    let plan = plan_json(&from_graph);
    let managers = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "set_manager")
        .count();
    assert!(managers > 5, "{managers} manager actions");
    let (code, stdout, stderr) = live.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = live.run(&["plan", "--now", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("No changes"),
        "managers read back as set: {stdout}"
    );
}

#[test]
fn writes_refused_for_a_missing_permission_name_it_and_the_rest_is_done() {
    // Users may be written, groups only read.
    let live = Live::start(|opts| {
        opts.apps[0].roles = [
            "User.ReadWrite.All",
            "Organization.Read.All",
            "LicenseAssignment.ReadWrite.All",
            "GroupMember.Read.All",
        ]
        .iter()
        .map(|r| (*r).to_owned())
        .collect();
    });
    give_squads_owners(&live.scratch);
    let (code, stdout, stderr) = live.run(&["apply", "--auto-approve", "--now", NOW]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let mut failed = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("done") {
            assert!(
                !line.contains(" group ") && !line.contains(" team "),
                "{line}"
            );
        }
        if line.starts_with("FAILED") {
            failed += 1;
            assert!(
                line.contains(" group ") || line.contains(" team "),
                "{line}"
            );
            let error = lines[i + 1..]
                .iter()
                .take(3)
                .copied()
                .collect::<Vec<_>>()
                .join("\n");
            assert!(error.contains("403"), "{line}\n{error}");
            let named = [
                "`Group.Create`",
                "`GroupMember.ReadWrite.All`",
                "`Group.ReadWrite.All`",
            ]
            .iter()
            .any(|p| error.contains(p));
            assert!(named, "no permission named: {line}\n{error}");
        }
    }
    assert!(failed > 0, "{stdout}");
    assert!(
        stdout.lines().filter(|l| l.starts_with("done")).count() > 20,
        "{stdout}"
    );
}

#[test]
fn watch_locks_an_account_in_graph_on_the_event() {
    let live = Live::start(|_| {});
    let ines = "00uo1qDulJ9QhYqQW4x7";
    live.scratch.write(
        "events.jsonl",
        &serde_json::json!({
            "uuid": "ev-graph-1",
            "published": "2026-11-20T10:00:00.000Z",
            "eventType": "user.lifecycle.suspend",
            "outcome": { "result": "SUCCESS" },
            "target": [{ "id": ines, "type": "User", "alternateId": "ines.garcia@acme.example" }],
        })
        .to_string(),
    );
    let before = live.total_requests();
    let (code, stdout, stderr) = live.run(&["watch", "--events", "events.jsonl", "--settle", "0"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("done     - user ines.garcia@acme.example (disable)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("done     - user ines.garcia@acme.example (revoke sessions)"),
        "{stdout}"
    );
    let dir = live.scratch.path("after-lockdown");
    live.emulator.write_snapshot(&dir).unwrap();
    let users: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m365/users.json")).unwrap())
            .unwrap();
    let account = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["userPrincipalName"] == "ines.garcia@acme.example")
        .unwrap();
    assert_eq!(account["accountEnabled"], false, "{account}");
    let counts = live.emulator.request_counts();
    let revokes: u64 = counts
        .iter()
        .filter(|(k, _)| k.contains("revokeSignInSessions"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(revokes, 1, "{counts:?}");
    assert!(live.total_requests() > before);
    let audit = live.scratch.read(".okta365/audit-live.jsonl");
    assert!(audit.contains("ev-graph-1"), "{audit}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET) && !audit.contains(SECRET));
}
