//! `okta365 serve`: the binary on loopback, its hook fed by hand or by the
//! Okta emulator's deliveries, acting on the Graph emulator. Waits poll
//! until a condition holds (bounded); nothing asserts on wall-clock time.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use okta365::serve::journal::Journal;
use okta365_emulators::graph::{GraphEmulator, GraphOptions};
use okta365_emulators::okta::{EventHook, OktaEmulator, OktaOptions};
use serde_json::{Value, json};

use crate::common::Scratch;

const HOOK_SECRET: &str = "hook-secret-Zq8mW4tR2y";
const GRAPH_SECRET: &str = "graph-secret-Lx3vP9nK5c";
const GRAPH_VAR: &str = "OKTA365_TEST_SERVE_GRAPH_SECRET";
const OKTA_TOKEN: &str = "okta-token-Hd7sQ2wE6u";
const OKTA_VAR: &str = "OKTA365_TEST_SERVE_OKTA_TOKEN";
const INES: &str = "00uo1qDulJ9QhYqQW4x7";

/// The emulators, a scratch folder and a running `okta365 serve`.
struct Service {
    scratch: Scratch,
    graph: GraphEmulator,
    okta: Option<OktaEmulator>,
    runtime: tokio::runtime::Runtime,
    child: Option<Child>,
    url: String,
    http: reqwest::Client,
}

/// How a test sets the service up.
#[derive(Default)]
struct Setup {
    /// YAML under `events:` (indented two spaces).
    events: &'static str,
    /// `m365.limits` inside `{ … }`.
    limits: &'static str,
    /// Read Okta from a live emulator delivering hooks to the service.
    okta_hooks: bool,
    /// Edits the scratch copy before the emulators read it.
    prepare: Option<fn(&Scratch)>,
}

impl Service {
    fn start(setup: Setup) -> Self {
        let scratch = Scratch::new();
        if let Some(prepare) = setup.prepare {
            prepare(&scratch);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut opts = GraphOptions {
            snapshot: Some(scratch.path("examples/acme")),
            ..GraphOptions::default()
        };
        opts.apps[0].client_secret = Some(GRAPH_SECRET.to_owned());
        let (tenant, client_id) = (opts.tenant_id.clone(), opts.apps[0].client_id.clone());
        let graph = runtime.block_on(GraphEmulator::start(opts)).unwrap();
        // The hook URL must be known before the Okta emulator starts.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let okta = setup.okta_hooks.then(|| {
            let opts = OktaOptions {
                snapshot: Some(scratch.path("examples/acme")),
                api_tokens: vec![OKTA_TOKEN.into()],
                event_hooks: vec![EventHook {
                    url: format!("http://127.0.0.1:{port}/hooks/okta"),
                    authorization: HOOK_SECRET.into(),
                    event_types: vec!["user.lifecycle.suspend".into()],
                }],
                ..OktaOptions::default()
            };
            runtime.block_on(OktaEmulator::start(opts)).unwrap()
        });
        let okta_side = match &okta {
            Some(o) => format!(
                "okta:\n  org_url: {}\n  auth: {{ token_env: {OKTA_VAR} }}\n",
                o.url()
            ),
            None => "okta:\n  snapshot: examples/acme\n".into(),
        };
        let url = graph.url();
        let limits = if setup.limits.is_empty() {
            "writes_per_second: 500, timeout_seconds: 5, max_attempts: 5"
        } else {
            setup.limits
        };
        scratch.write(
            "serve.yaml",
            &format!(
                "policies: policies\n{okta_side}\
                 m365:\n  tenant_id: {tenant}\n  graph_url: {url}\n  login_url: {url}\n\
                 \x20 auth: {{ client_id: {client_id}, client_secret_env: {GRAPH_VAR} }}\n\
                 \x20 limits: {{ {limits} }}\n\
                 events:\n  poll_seconds: 1\n  reconcile: {{ settle_seconds: 0.2 }}\n{}\n",
                setup.events
            ),
        );
        let mut service = Self {
            scratch,
            graph,
            okta,
            runtime,
            child: None,
            url: String::new(),
            http: reqwest::Client::new(),
        };
        service.launch(port);
        service
    }

    /// Starts `okta365 serve` on `port` and reads its first line.
    fn launch(&mut self, port: u16) {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.scratch.path("serve.err"))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_okta365"))
            .current_dir(self.scratch.dir.path())
            .args(["-c", "serve.yaml", "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .env("OKTA365_HOOK_SECRET", HOOK_SECRET)
            .env(GRAPH_VAR, GRAPH_SECRET)
            .env(OKTA_VAR, OKTA_TOKEN)
            .env("OKTA365_LOG", "okta365=info")
            .env_remove("OKTA365_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let url = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {first}"));
        assert_eq!(url, format!("http://127.0.0.1:{port}"));
        self.url = url.to_owned();
        // Keep reading stdout so the service never blocks on a full pipe.
        let log = self.scratch.path("serve.out");
        std::thread::spawn(move || {
            let mut out = String::new();
            for line in lines.map_while(Result::ok) {
                out.push_str(&line);
                out.push('\n');
                let _ = std::fs::write(&log, &out);
            }
        });
        self.child = Some(child);
    }

    fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// `kill -9`: no chance to finish anything.
    fn kill_9(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM; returns the exit code.
    fn terminate(&mut self) -> i32 {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        child.wait().unwrap().code().unwrap_or(-1)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url))
    }

    fn send(&self, req: reqwest::RequestBuilder) -> (u16, String) {
        self.runtime.block_on(async {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        })
    }

    /// Delivers `events` as Okta does, with `auth` as the Authorization header.
    fn deliver_as(&self, auth: Option<&str>, events: &[Value]) -> u16 {
        let mut req = self
            .request(reqwest::Method::POST, "/hooks/okta")
            .json(&envelope(events));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        self.send(req).0
    }

    fn deliver(&self, events: &[Value]) -> u16 {
        self.deliver_as(Some(HOOK_SECRET), events)
    }

    fn journal(&self) -> std::sync::Arc<Journal> {
        Journal::open_shared(&self.scratch.path(".okta365/events.db")).unwrap()
    }

    fn state(&self, uuid: &str) -> Option<(String, String)> {
        self.journal().event_state(uuid).unwrap()
    }

    /// Waits (bounded) until `uuid` is finished; returns its state and note.
    fn finished(&self, uuid: &str) -> (String, String) {
        wait_for(&format!("event {uuid} to finish"), || {
            self.state(uuid)
                .filter(|(s, _)| s != "received" && s != "acted")
        })
    }

    fn metrics(&self) -> String {
        self.send(self.request(reqwest::Method::GET, "/metrics")).1
    }

    /// Graph writes carried out whose path contains `needle`.
    fn writes(&self, needle: &str) -> Vec<String> {
        self.graph
            .writes()
            .into_iter()
            .filter(|w| w.contains(needle))
            .collect()
    }

    fn account(&self, upn: &str) -> Value {
        let dir = self
            .scratch
            .path(&format!("graph-{}", self.graph.writes().len()));
        self.graph.write_snapshot(&dir).unwrap();
        let users: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("m365/users.json")).unwrap())
                .unwrap();
        users
            .into_iter()
            .find(|u| u["userPrincipalName"] == upn)
            .unwrap()
    }

    fn output(&self) -> (String, String) {
        let read = |f: &str| std::fs::read_to_string(self.scratch.path(f)).unwrap_or_default();
        (read("serve.out"), read("serve.err"))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn envelope(events: &[Value]) -> Value {
    json!({
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://acme.okta.com/api/v1/eventHooks/who1",
        "eventId": "delivery-1",
        "eventTime": "2026-11-20T10:00:00.000Z",
        "contentType": "application/json",
        "data": { "events": events },
    })
}

fn event(uuid: &str, event_type: &str, user: &str) -> Value {
    json!({
        "uuid": uuid,
        "published": "2026-11-20T10:00:00.000Z",
        "eventType": event_type,
        "version": "0",
        "outcome": { "result": "SUCCESS" },
        "target": [{ "id": user, "type": "User", "alternateId": "someone@acme.example" }],
    })
}

fn risk(uuid: &str, user: &str, level: &str) -> Value {
    let mut e = event(uuid, "user.risk.change", user);
    e["debugContext"] = json!({ "debugData": {
        "risk": format!("{{previousLevel=LOW, level={level}, detectionName=Session Influenced User Risk, issuer=OKTA}}")
    }});
    e
}

/// `(Okta id, object id, UPN)` of managed, enabled, unprotected accounts.
fn managed(scratch: &Scratch) -> Vec<(String, String, String)> {
    let users: Vec<Value> =
        serde_json::from_str(&scratch.read("examples/acme/m365/users.json")).unwrap();
    users
        .iter()
        .filter(|u| u["accountEnabled"] == true)
        .filter(|u| {
            !u["userPrincipalName"]
                .as_str()
                .unwrap()
                .starts_with("breakglass")
        })
        .filter_map(|u| {
            let okta = u["onPremisesExtensionAttributes"]["extensionAttribute15"].as_str()?;
            Some((
                okta.to_owned(),
                u["id"].as_str().unwrap().to_owned(),
                u["userPrincipalName"].as_str().unwrap().to_owned(),
            ))
        })
        .collect()
}

#[test]
fn the_hook_verifies_refuses_wrong_secrets_and_large_bodies_and_journals_nothing_then() {
    let mut s = Service::start(Setup {
        events: "  hook: { max_body_bytes: 4096 }",
        ..Setup::default()
    });
    let (status, body) = s.send(
        s.request(reqwest::Method::GET, "/hooks/okta")
            .header("x-okta-verification-challenge", "chal-123"),
    );
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"verification": "chal-123"})
    );
    let (status, _) = s.send(
        s.request(reqwest::Method::GET, "/hooks/okta")
            .header("x-okta-verification-challenge", "chal-123")
            .header("authorization", "wrong"),
    );
    assert_eq!(status, 401);
    let lockdown = [event("e-1", "user.lifecycle.suspend", INES)];
    assert_eq!(s.deliver_as(None, &lockdown), 401);
    assert_eq!(s.deliver_as(Some("wrong"), &lockdown), 401);
    assert_eq!(
        s.deliver_as(Some(&format!("{HOOK_SECRET}x")), &lockdown),
        401
    );
    let padding = "x".repeat(8 * 1024);
    let mut big = event("e-big", "user.lifecycle.suspend", INES);
    big["padding"] = json!(padding);
    assert_eq!(s.deliver(&[big]), 413);
    assert_eq!(s.journal().counts().unwrap().by_state, []);
    assert!(s.writes("").is_empty(), "{:?}", s.graph.writes());
    assert_eq!(s.send(s.request(reqwest::Method::GET, "/healthz")).0, 200);
    assert_eq!(s.send(s.request(reqwest::Method::GET, "/readyz")).0, 200);
    // A stop is graceful: exit code 0.
    assert_eq!(s.terminate(), 0);
    let (out, err) = s.output();
    assert!(
        !out.contains(HOOK_SECRET) && !err.contains(HOOK_SECRET),
        "{out}\n{err}"
    );
}

#[test]
fn malformed_and_duplicate_events_never_stop_the_service_nor_act_twice() {
    let s = Service::start(Setup::default());
    let (okta_b, id_b, upn_b) = managed(&s.scratch)
        .into_iter()
        .find(|(o, _, _)| o != INES)
        .unwrap();
    let ines = json!({"id": INES});
    let batch = [
        event("e-1", "user.lifecycle.suspend", INES),
        json!({ "uuid": "e-2" }),
        json!({ "eventType": "user.lifecycle.suspend" }),
        json!({ "uuid": "e-4", "eventType": "user.lifecycle.suspend", "target": "nobody" }),
        event("e-5", "user.session.start", INES),
        json!(["not", "an", "event"]),
    ];
    assert_eq!(s.deliver(&batch), 200);
    // Okta delivers at least once: the same event again, several times.
    for _ in 0..5 {
        assert_eq!(s.deliver(&batch[..1]), 200);
    }
    let (status, _) = s.send(
        s.request(reqwest::Method::POST, "/hooks/okta")
            .header("authorization", HOOK_SECRET)
            .body("{ not json"),
    );
    assert_eq!(status, 400);
    // The next good event after all of that is acted on.
    assert_eq!(
        s.deliver(&[event("e-7", "user.lifecycle.deactivate", &okta_b)]),
        200
    );
    assert_eq!(s.finished("e-1").0, "done");
    assert_eq!(s.finished("e-7").0, "done");
    assert_eq!(
        s.state("e-2").unwrap(),
        ("rejected".into(), "no `eventType`".into())
    );
    let (state, note) = s.state("e-4").unwrap();
    assert_eq!(state, "rejected");
    assert!(note.contains("not an Okta System Log event"), "{note}");
    let (state, note) = s.finished("e-5");
    assert_eq!(state, "rejected");
    assert!(
        note.contains("no rule acts on event type `user.session.start`"),
        "{note}"
    );
    let counts = s.journal().counts().unwrap();
    let rejected = counts
        .by_state
        .iter()
        .find(|(st, _)| st == "rejected")
        .unwrap()
        .1;
    assert_eq!(rejected, 6, "{counts:?}");
    let ines_id = s.account("ines.garcia@acme.example")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        s.writes(&format!("/users/{ines_id}/revokeSignInSessions"))
            .len(),
        1
    );
    assert_eq!(s.writes(&format!("PATCH /users/{ines_id}")).len(), 1);
    assert_eq!(
        s.writes(&format!("/users/{id_b}/revokeSignInSessions"))
            .len(),
        1
    );
    assert_eq!(s.account(&upn_b)["accountEnabled"], false);
    let metrics = s.metrics();
    assert!(
        metrics.contains("okta365_events_deduplicated_total{source=\"hook\"} 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("okta365_actions_total{kind=\"revoke_sessions\",result=\"done\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("okta365_event_to_action_seconds_count{action=\"lockdown\"} 2"),
        "{metrics}"
    );
    let _ = ines;
    let audit = s.scratch.read(".okta365/audit.jsonl");
    assert!(
        audit.contains("event e-1") && audit.contains("event e-7"),
        "{audit}"
    );
}

#[test]
fn hook_and_system_log_deliver_one_event_once() {
    let s = Service::start(Setup {
        okta_hooks: true,
        ..Setup::default()
    });
    let okta = s.okta.as_ref().unwrap();
    okta.set_status(INES, "SUSPENDED");
    let uuid = okta
        .events()
        .iter()
        .rev()
        .find(|e| e["eventType"] == "user.lifecycle.suspend")
        .unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(s.finished(&uuid).0, "done");
    // Both paths saw it: one from the hook, one from the System Log, one journaled.
    wait_for("the poller to see the event too", || {
        let m = s.metrics();
        (m.contains("okta365_events_received_total{source=\"hook\"}")
            && m.contains("okta365_events_received_total{source=\"poll\"}")
            && m.contains("okta365_events_deduplicated_total{source="))
        .then_some(())
    });
    let ines_id = s.account("ines.garcia@acme.example")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        s.writes(&format!("/users/{ines_id}/revokeSignInSessions"))
            .len(),
        1
    );
    assert_eq!(
        s.account("ines.garcia@acme.example")["accountEnabled"],
        false
    );
    // The checkpoint is in the journal, past the event.
    assert!(s.journal().checkpoint().unwrap().is_some());
}

#[test]
fn the_breaker_holds_lockdowns_past_the_limit_until_a_person_resets_it() {
    let s = Service::start(Setup {
        events: "  lockdown: { breaker: { max_lockdowns: 2, window_minutes: 60 } }",
        ..Setup::default()
    });
    let people: Vec<_> = managed(&s.scratch).into_iter().take(4).collect();
    let events: Vec<Value> = people
        .iter()
        .enumerate()
        .map(|(i, (okta, _, _))| event(&format!("b-{i}"), "user.lifecycle.suspend", okta))
        .collect();
    assert_eq!(s.deliver(&events), 200);
    assert_eq!(s.finished("b-0").0, "done");
    assert_eq!(s.finished("b-1").0, "done");
    wait_for("two events held", || {
        (s.journal().counts().unwrap().held == 2).then_some(())
    });
    assert!(s.journal().breaker().unwrap().is_some());
    assert_eq!(s.writes("revokeSignInSessions").len(), 2);
    assert_eq!(s.account(&people[3].2)["accountEnabled"], true);
    let metrics = s.metrics();
    assert!(metrics.contains("okta365_breaker_tripped 1"), "{metrics}");
    assert!(metrics.contains("okta365_events_held 2"), "{metrics}");
    let (_, err) = s.output();
    assert!(err.contains("Lockdown breaker tripped"), "{err}");
    // A new lockdown waits too.
    assert_eq!(
        s.deliver(&[event("b-9", "user.lifecycle.suspend", &people[3].0)]),
        200
    );
    wait_for("the new event held", || {
        (s.journal().counts().unwrap().held == 3).then_some(())
    });
    // A person resets it (while serve runs): the held lockdowns run.
    let (code, out, err) = s
        .scratch
        .run(&["-c", "serve.yaml", "events", "breaker", "reset"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("3 held events released"), "{out}");
    for uuid in ["b-2", "b-3", "b-9"] {
        assert_eq!(s.finished(uuid).0, "done");
    }
    assert_eq!(s.account(&people[3].2)["accountEnabled"], false);
    // b-3 and b-9 name one user and are released together: one lockdown.
    assert_eq!(s.writes("revokeSignInSessions").len(), 4);
}

#[test]
fn risk_events_relay_to_the_conditional_access_group_and_clear() {
    let s = Service::start(Setup {
        events: "  relay: { group: ca-risky-users, confirm_compromised: true }",
        prepare: Some(|scratch| {
            scratch.edit_json("examples/acme/m365/groups.json", |groups| {
                groups.as_array_mut().unwrap().push(json!({
                    "id": "7b0a3f6e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
                    "displayName": "CA Risky Users",
                    "mailNickname": "ca-risky-users",
                    "mailEnabled": false,
                    "securityEnabled": true,
                    "groupTypes": [],
                }));
            });
        }),
        ..Setup::default()
    });
    let group = "7b0a3f6e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
    let ines_id = s.account("ines.garcia@acme.example")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let members = |s: &Service| -> Vec<String> {
        let dir = s
            .scratch
            .path(&format!("members-{}", s.graph.writes().len()));
        s.graph.write_snapshot(&dir).unwrap();
        let all: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("m365/group-members.json")).unwrap(),
        )
        .unwrap();
        all[group]
            .as_array()
            .map(|m| m.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    assert_eq!(s.deliver(&[risk("r-1", INES, "HIGH")]), 200);
    assert_eq!(s.finished("r-1").0, "done");
    assert_eq!(members(&s), std::slice::from_ref(&ines_id));
    assert_eq!(s.writes("confirmCompromised").len(), 1);
    // Not a lockdown: she can still sign in, under conditional access.
    assert_eq!(
        s.account("ines.garcia@acme.example")["accountEnabled"],
        true
    );
    // Medium is below the configured level: she leaves the group again.
    assert_eq!(s.deliver(&[risk("r-2", INES, "MEDIUM")]), 200);
    assert_eq!(s.finished("r-2").0, "done");
    assert!(members(&s).is_empty());
    assert_eq!(
        s.writes(&format!("DELETE /groups/{group}/members/{ines_id}"))
            .len(),
        1
    );
    let audit = s.scratch.read(".okta365/audit.jsonl");
    // One outcome record per action (each follows its intent record).
    let kinds: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["phase"] == "outcome")
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["add_member", "confirm_compromised", "remove_member"],
        "{audit}"
    );
    assert!(
        audit.contains("risk relay: user.risk.change (HIGH), event r-1"),
        "{audit}"
    );
}

#[test]
fn after_kill_9_mid_burst_a_restart_finishes_every_lockdown_exactly_once() {
    // Four writes a second: the 12 disables go in one `$batch`, then the
    // revocations wait ~3 s for the write budget; the kill lands in between,
    // with every action's intent journaled.
    let mut s = Service::start(Setup {
        limits: "writes_per_second: 4, timeout_seconds: 5, max_attempts: 5",
        events: "  lockdown: { breaker: { max_lockdowns: 100 } }",
        ..Setup::default()
    });
    let people: Vec<_> = managed(&s.scratch).into_iter().take(12).collect();
    let events: Vec<Value> = people
        .iter()
        .enumerate()
        .map(|(i, (okta, _, _))| event(&format!("k-{i}"), "user.lifecycle.suspend", okta))
        .collect();
    assert_eq!(s.deliver(&events), 200);
    wait_for("the burst to be under way", || {
        (s.graph.writes().len() >= 6).then_some(())
    });
    s.kill_9();
    let written = s.graph.writes().len();
    assert!(
        written < 24,
        "the burst finished before the kill ({written} writes)"
    );
    let port = s.port();
    s.launch(port);
    for i in 0..people.len() {
        assert_eq!(s.finished(&format!("k-{i}")).0, "done", "k-{i}");
    }
    for (_, id, upn) in &people {
        assert_eq!(
            s.writes(&format!("/users/{id}/revokeSignInSessions")).len(),
            1,
            "{upn}: {:?}",
            s.graph.writes()
        );
        assert_eq!(s.writes(&format!("PATCH /users/{id}")).len(), 1, "{upn}");
        assert_eq!(s.account(upn)["accountEnabled"], false, "{upn}");
    }
    let (out, _) = s.output();
    assert!(out.contains("Lockdown took"), "{out}");
}

#[test]
fn with_certificate_files_the_hook_is_served_over_https() {
    let scratch = Scratch::new();
    let tls = crate::common::repo().join("tests/it/fixtures/tls");
    scratch.write(
        "tls.yaml",
        &format!(
            "policies: policies\nokta: {{ snapshot: examples/acme }}\nm365: {{ snapshot: examples/acme }}\n\
             events:\n  hook:\n    tls: {{ certificate_file: {}, private_key_file: {} }}\n",
            tls.join("cert.pem").display(),
            tls.join("key.pem").display()
        ),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_okta365"))
        .current_dir(scratch.dir.path())
        .args(["-c", "tls.yaml", "serve", "--listen", "127.0.0.1:0"])
        .env("OKTA365_HOOK_SECRET", HOOK_SECRET)
        .env_remove("OKTA365_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let url = first.strip_prefix("listening on ").unwrap().to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{first}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cert =
        reqwest::Certificate::from_pem(&std::fs::read(tls.join("cert.pem")).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(cert)
        .build()
        .unwrap();
    let challenge = runtime.block_on(async {
        client
            .get(format!("{url}/hooks/okta"))
            .header("x-okta-verification-challenge", "over-tls")
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    let plain = runtime.block_on(
        reqwest::Client::new()
            .get(url.replace("https", "http"))
            .send(),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(challenge, json!({"verification": "over-tls"}));
    assert!(
        plain.is_err(),
        "plain HTTP must not be answered on the TLS port"
    );
}
