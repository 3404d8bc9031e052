//! Audit and alert sinks against local receivers (loopback only): Splunk
//! HEC (batches, token, retry after a 503, and the spool surviving a
//! collector that is down), syslog over UDP, TCP and TLS (RFC 5424), a JSON
//! webhook, and Slack and Teams notifications for an apply, a refused plan
//! and a lockdown. Audit records carry actor, CI run, host, version and the
//! policies' commit; no token or webhook URL shows anywhere.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::common::{NOW, Scratch, repo};

/// A request a receiver got.
#[derive(Clone, Debug)]
struct Got {
    path: String,
    authorization: String,
    body: String,
}

/// A local HTTP receiver: answers 503 to the first `fail_first` requests,
/// then 200, and keeps every request it answered 200.
struct HttpReceiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    seen: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl HttpReceiver {
    fn start(fail_first: usize) -> Self {
        Self::start_on("127.0.0.1:0", fail_first)
    }

    fn start_on(addr: &str, fail_first: usize) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(AtomicUsize::new(0));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (g, s) = (Arc::clone(&got), Arc::clone(&seen));
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| {
                let (got, seen) = (Arc::clone(&g), Arc::clone(&s));
                async move {
                    if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                        return (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "busy".to_owned(),
                        );
                    }
                    got.lock().unwrap().push(Got {
                        path: uri.path().to_owned(),
                        authorization: headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned(),
                        body,
                    });
                    (
                        axum::http::StatusCode::OK,
                        r#"{"text":"Success","code":0}"#.to_owned(),
                    )
                }
            },
        );
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            got,
            seen,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// The HEC events a collector got, in order.
fn hec_events(receiver: &HttpReceiver) -> Vec<Value> {
    receiver
        .got()
        .iter()
        .flat_map(|g| {
            serde_json::Deserializer::from_str(&g.body)
                .into_iter::<Value>()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn audit_records(scratch: &Scratch) -> Vec<Value> {
    scratch
        .read(".okta365/audit.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Replaces the config's `audit:` section.
fn configure(scratch: &Scratch, audit: &str) {
    let config = scratch.read("okta365.yaml");
    let config = config.replace("audit:\n  path: .okta365/audit.jsonl\n", audit);
    assert!(config.contains(audit));
    scratch.write("okta365.yaml", &config);
}

/// Makes the scratch folder a git repository and returns its commit.
fn commit(scratch: &Scratch) -> String {
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(scratch.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&[
        "-c",
        "user.email=t@acme.example",
        "-c",
        "user.name=t",
        "commit",
        "-qm",
        "policies",
    ]);
    git(&["rev-parse", "HEAD"])
}

const TOKEN: &str = "hec-token-5b1f0e9c";

/// How many actions the example's plan has (one audit record each).
/// Audit records of an apply of `actions` actions: the trail is write-ahead,
/// so each action has an intent record before its requests and an outcome
/// record after, and the sinks get both.
fn records_of(actions: usize) -> usize {
    2 * actions
}

fn planned(scratch: &Scratch) -> usize {
    let (code, json, stderr) = scratch.run(&["plan", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&json).unwrap();
    let n = plan["actions"].as_array().unwrap().len();
    assert!(n > 50, "the example plan has work to do");
    n
}

fn apply(scratch: &Scratch, env: &[(&str, &str)]) -> (i32, String, String) {
    let out = scratch
        .cmd(&["apply", "--auto-approve", "--now", NOW])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn spool_files(scratch: &Scratch, sink: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(scratch.path(&format!(".okta365/spool/{sink}")))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

#[test]
fn splunk_gets_every_record_in_batches_with_the_token_and_the_origin() {
    let scratch = Scratch::new();
    let sha = commit(&scratch);
    let hec = HttpReceiver::start(1);
    configure(
        &scratch,
        &format!(
            "audit:\n  path: .okta365/audit.jsonl\n  sinks:\n    - type: splunk_hec\n      url: {}\n      index: identity\n      batch_size: 25\n",
            hec.url()
        ),
    );
    let ci = [
        ("OKTA365_SPLUNK_TOKEN", TOKEN),
        ("GITHUB_ACTOR", "octocat"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/policies"),
        ("GITHUB_RUN_ID", "77"),
    ];
    let n = records_of(planned(&scratch));
    let (code, stdout, stderr) = apply(&scratch, &ci);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let records = audit_records(&scratch);
    assert_eq!(records.len(), n);
    let first = &records[0];
    assert_eq!(first["actor"], "octocat");
    assert_eq!(
        first["ci_run"],
        "https://github.com/acme/policies/actions/runs/77/attempts/1"
    );
    assert_eq!(first["policy_commit"], sha.as_str());
    assert_eq!(first["okta365_version"], env!("CARGO_PKG_VERSION"));
    assert!(!first["host"].as_str().unwrap().is_empty());
    // The fields the trail had before are all still there (an outcome
    // record carries the result; the intent before it does not).
    let outcome = records
        .iter()
        .find(|r| r["phase"] == "outcome")
        .expect("outcome records");
    for field in [
        "time", "plan", "action", "kind", "target", "result", "changes", "reasons",
    ] {
        assert!(outcome.get(field).is_some(), "{field}");
    }

    let events = hec_events(&hec);
    assert_eq!(
        hec.seen.load(Ordering::SeqCst),
        hec.got().len() + 1,
        "one 503, retried"
    );
    assert!(hec.got().len() >= 3, "batches of at most 25");
    let sent: Vec<&Value> = events.iter().map(|e| &e["event"]).collect();
    assert_eq!(
        sent,
        records.iter().collect::<Vec<_>>(),
        "every record, once, in order"
    );
    for g in hec.got() {
        assert_eq!(g.path, "/services/collector/event");
        assert_eq!(g.authorization, format!("Splunk {TOKEN}"));
    }
    let e = &events[0];
    assert_eq!(e["sourcetype"], "okta365:audit");
    assert_eq!(e["source"], "okta365");
    assert_eq!(e["index"], "identity");
    assert_eq!(e["host"], first["host"]);
    assert!(e["time"].as_f64().unwrap() > 1.7e9);
    assert!(
        spool_files(&scratch, "splunk").is_empty(),
        "delivered batches leave the spool"
    );

    for text in [&stdout, &stderr, &scratch.read(".okta365/audit.jsonl")] {
        assert!(!text.contains(TOKEN), "the HEC token leaked");
    }
}

#[test]
fn the_spool_keeps_the_records_while_splunk_is_down_and_flush_sends_them() {
    let scratch = Scratch::new();
    // A port nobody listens on, for now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    configure(
        &scratch,
        &format!(
            "audit:\n  path: .okta365/audit.jsonl\n  sinks:\n    - type: splunk_hec\n      url: http://127.0.0.1:{port}\n      max_attempts: 2\n      timeout_seconds: 2\n"
        ),
    );
    let env = [("OKTA365_SPLUNK_TOKEN", TOKEN)];
    let n = records_of(planned(&scratch));
    let (code, stdout, stderr) = apply(&scratch, &env);
    assert_eq!(
        code, 0,
        "a sink that is down does not fail the apply: {stdout}\n{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "warning: audit sink splunk: 0 records delivered; {n} kept in "
        )),
        "{stderr}"
    );
    let spooled: Vec<Value> = spool_files(&scratch, "splunk")
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect();
    assert_eq!(spooled.len(), n);
    for f in spool_files(&scratch, "splunk") {
        assert!(!std::fs::read_to_string(f).unwrap().contains(TOKEN));
    }

    // The collector comes back: `audit flush` sends what waited, in order.
    let hec = HttpReceiver::start_on(&format!("127.0.0.1:{port}"), 0);
    let out = scratch.cmd(&["audit", "flush"]).envs(env).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert_eq!(
        stdout.trim(),
        format!("audit sink splunk: {n} records delivered")
    );
    let events = hec_events(&hec);
    let sent: Vec<Value> = events.iter().map(|e| e["event"].clone()).collect();
    let mut by_time = audit_records(&scratch);
    by_time.sort_by_key(|r| r["action"].as_u64());
    let mut sent_sorted = sent.clone();
    sent_sorted.sort_by_key(|r| r["action"].as_u64());
    assert_eq!(sent_sorted, by_time, "nothing lost, nothing doubled");
    assert!(spool_files(&scratch, "splunk").is_empty());
}

/// A syslog receiver: UDP datagrams, or octet-counted frames on TCP or TLS.
struct SyslogReceiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl SyslogReceiver {
    fn start(transport: &str) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = Arc::clone(&got);
        let addr = if transport == "udp" {
            let socket = runtime
                .block_on(tokio::net::UdpSocket::bind("127.0.0.1:0"))
                .unwrap();
            let addr = socket.local_addr().unwrap();
            runtime.spawn(async move {
                let mut buf = vec![0u8; 65_536];
                while let Ok(n) = socket.recv(&mut buf).await {
                    g.lock()
                        .unwrap()
                        .push(String::from_utf8(buf[..n].to_vec()).unwrap());
                }
            });
            addr
        } else {
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let tls = (transport == "tls").then(acceptor);
            runtime.spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let (g, tls) = (Arc::clone(&g), tls.clone());
                    tokio::spawn(async move {
                        let mut bytes = Vec::new();
                        match tls {
                            Some(acceptor) => {
                                let mut stream = acceptor.accept(tcp).await.unwrap();
                                stream.read_to_end(&mut bytes).await.unwrap();
                            }
                            None => {
                                let mut tcp = tcp;
                                tcp.read_to_end(&mut bytes).await.unwrap();
                            }
                        }
                        g.lock().unwrap().extend(frames(&bytes));
                    });
                }
            });
            addr
        };
        Self {
            addr,
            got,
            _runtime: runtime,
        }
    }

    fn messages(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }
}

/// Splits RFC 6587 octet-counted frames: `LEN SP MSG`.
fn frames(mut bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let space = bytes.iter().position(|b| *b == b' ').unwrap();
        let len: usize = std::str::from_utf8(&bytes[..space])
            .unwrap()
            .parse()
            .unwrap();
        let msg = &bytes[space + 1..space + 1 + len];
        out.push(String::from_utf8(msg.to_vec()).unwrap());
        bytes = &bytes[space + 1 + len..];
    }
    out
}

fn acceptor() -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = repo().join("tests/fixtures/tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

#[test]
fn syslog_gets_rfc_5424_messages_over_udp_tcp_and_tls() {
    let scratch = Scratch::new();
    let receivers: Vec<(&str, SyslogReceiver)> = ["udp", "tcp", "tls"]
        .into_iter()
        .map(|t| (t, SyslogReceiver::start(t)))
        .collect();
    let ca = repo().join("tests/fixtures/tls/ca.pem");
    let mut audit = String::from("audit:\n  path: .okta365/audit.jsonl\n  sinks:\n");
    for (transport, r) in &receivers {
        audit.push_str(&format!(
            "    - {{ type: syslog, name: syslog-{transport}, transport: {transport}, address: \"{}\", facility: local3, batch_size: 20, ca_file: \"{}\" }}\n",
            r.addr,
            ca.display()
        ));
    }
    configure(&scratch, &audit);
    let (code, stdout, stderr) = apply(&scratch, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stderr.contains("audit sink"), "{stderr}");
    let records = audit_records(&scratch);
    let header = regex::Regex::new(
        r"^<(\d+)>1 (\S+) (\S+) okta365 (\d+) ([a-z_]+) \[okta365@32473 ([^\]]|\\\])*\] \x{feff}(\{.*\})$",
    )
    .unwrap();
    for (transport, r) in &receivers {
        // UDP needs a moment for the last datagrams to be read.
        for _ in 0..50 {
            if r.messages().len() >= records.len() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let messages = r.messages();
        assert_eq!(messages.len(), records.len(), "{transport}");
        let mut got: Vec<Value> = Vec::new();
        for m in &messages {
            let c = header
                .captures(m)
                .unwrap_or_else(|| panic!("{transport}: not RFC 5424: {m}"));
            let pri: u16 = c[1].parse().unwrap();
            assert_eq!(pri / 8, 19, "local3");
            let record: Value = serde_json::from_str(&c[7]).unwrap();
            let severity = match record["result"].as_str() {
                Some("done") => 5,
                Some("skipped") => 4,
                Some(_) => 3,
                None => 6, // an intent, written before the action's requests
            };
            assert_eq!(pri % 8, severity, "{record}");
            assert_eq!(&c[2], record["time"].as_str().unwrap());
            assert_eq!(&c[5], record["kind"].as_str().unwrap());
            got.push(record);
        }
        got.sort_by_key(|r| r["action"].as_u64());
        let mut want = records.clone();
        want.sort_by_key(|r| r["action"].as_u64());
        assert_eq!(got, want, "{transport}");
    }
}

#[test]
fn syslog_over_tls_refuses_a_receiver_it_does_not_trust() {
    let scratch = Scratch::new();
    let r = SyslogReceiver::start("tls");
    configure(
        &scratch,
        &format!(
            "audit:\n  path: .okta365/audit.jsonl\n  sinks:\n    - {{ type: syslog, transport: tls, address: \"{}\", max_attempts: 1 }}\n",
            r.addr
        ),
    );
    let n = records_of(planned(&scratch));
    let (code, _, stderr) = apply(&scratch, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(r.messages().is_empty());
    assert!(
        stderr.contains(&format!(
            "warning: audit sink syslog: 0 records delivered; {n} kept in"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("certificate"), "{stderr}");
}

#[test]
fn a_webhook_gets_the_records_with_its_bearer_token() {
    let scratch = Scratch::new();
    let hook = HttpReceiver::start(0);
    configure(
        &scratch,
        &format!(
            "audit:\n  path: .okta365/audit.jsonl\n  sinks:\n    - {{ type: webhook, url: \"{}/audit\", bearer_token_env: AUDIT_HOOK_TOKEN }}\n",
            hook.url()
        ),
    );
    let (code, stdout, stderr) = apply(&scratch, &[("AUDIT_HOOK_TOKEN", "wh-7c1d")]);
    assert_eq!(code, 0, "{stderr}");
    let mut sent = Vec::new();
    for g in hook.got() {
        assert_eq!(g.path, "/audit");
        assert_eq!(g.authorization, "Bearer wh-7c1d");
        let body: Value = serde_json::from_str(&g.body).unwrap();
        assert_eq!(body["source"], "okta365");
        sent.extend(body["records"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(sent, audit_records(&scratch));
    assert!(!stdout.contains("wh-7c1d") && !stderr.contains("wh-7c1d"));

    // A missing token stops the apply before anything is changed.
    let scratch = Scratch::new();
    configure(
        &scratch,
        &format!(
            "audit:\n  path: .okta365/audit.jsonl\n  sinks:\n    - {{ type: webhook, url: \"{}/audit\", bearer_token_env: AUDIT_HOOK_TOKEN }}\n",
            hook.url()
        ),
    );
    let before = scratch.read("examples/acme/m365/users.json");
    let (code, _, stderr) = apply(&scratch, &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("`AUDIT_HOOK_TOKEN` is not set"), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(scratch.read("examples/acme/m365/users.json"), before);
}

#[test]
fn a_sink_url_over_plain_http_to_another_host_is_a_config_error() {
    let scratch = Scratch::new();
    configure(
        &scratch,
        "audit:\n  path: .okta365/audit.jsonl\n  sinks:\n    - type: splunk_hec\n      url: http://splunk.acme.example:8088\n",
    );
    let (code, _, stderr) = scratch.run(&["validate"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("okta365.yaml:"), "{stderr}");
    assert!(stderr.contains("the sink's `url` uses `http`"), "{stderr}");
}

const SLACK_SECRET: &str = "T0AAA/B0BBB/s3cr3tXYZ";
const TEAMS_SECRET: &str = "sig=Q9w8e7r6t5";

fn chat(scratch: &Scratch) -> (HttpReceiver, Vec<(&'static str, String)>) {
    let receiver = HttpReceiver::start(0);
    configure(
        scratch,
        "audit:\n  path: .okta365/audit.jsonl\n  notify:\n    - { type: slack, webhook_url_env: OKTA365_SLACK_WEBHOOK }\n    - { type: teams, webhook_url_env: OKTA365_TEAMS_WEBHOOK, on: [apply, lockdown] }\n",
    );
    let env = vec![
        (
            "OKTA365_SLACK_WEBHOOK",
            format!("{}/slack/{SLACK_SECRET}", receiver.url()),
        ),
        (
            "OKTA365_TEAMS_WEBHOOK",
            format!("{}/teams?{TEAMS_SECRET}", receiver.url()),
        ),
    ];
    (receiver, env)
}

fn posted(receiver: &HttpReceiver, channel: &str) -> Vec<Value> {
    receiver
        .got()
        .iter()
        .filter(|g| g.path.starts_with(&format!("/{channel}")))
        .map(|g| serde_json::from_str(&g.body).unwrap())
        .collect()
}

fn no_secrets(texts: &[&str]) {
    for t in texts {
        assert!(
            !t.contains(SLACK_SECRET) && !t.contains(TEAMS_SECRET),
            "a webhook URL leaked: {t}"
        );
    }
}

#[test]
fn slack_and_teams_hear_about_an_apply() {
    let scratch = Scratch::new();
    let (receiver, env) = chat(&scratch);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let n = planned(&scratch);
    let applied = format!("okta365 applied {n} changes to Office 365");
    let (code, stdout, stderr) = apply(&scratch, &env);
    assert_eq!(code, 0, "{stderr}");
    let slack = posted(&receiver, "slack");
    assert_eq!(slack.len(), 1);
    assert_eq!(slack[0]["blocks"][0]["text"]["text"], applied.as_str());
    assert!(
        slack[0]["blocks"][1]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Plan: 30 to create, 20 to update, "),
        "{}",
        slack[0]
    );
    let teams = posted(&receiver, "teams");
    assert_eq!(teams.len(), 1);
    let card = &teams[0]["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["body"][0]["text"], applied.as_str());
    no_secrets(&[&stdout, &stderr]);
}

#[test]
fn slack_hears_about_a_refused_plan_and_a_lockdown() {
    let scratch = Scratch::new();
    let (receiver, env) = chat(&scratch);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, _, stderr) = scratch.run(&["plan", "--now", NOW, "--out", "plan.json"]);
    assert_eq!(code, 0, "{stderr}");
    // Office 365 changes after the review: the saved plan is stale.
    scratch.edit_json("examples/acme/m365/users.json", |users| {
        users[0]["jobTitle"] = "Changed by hand".into();
    });
    let out = scratch
        .cmd(&["apply", "plan.json"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let slack = posted(&receiver, "slack");
    assert_eq!(slack.len(), 1);
    assert_eq!(
        slack[0]["blocks"][0]["text"]["text"],
        "okta365 refused the saved plan plan.json: nothing was changed"
    );
    assert!(
        slack[0]["blocks"][1]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("is stale")
    );
    assert!(
        posted(&receiver, "teams").is_empty(),
        "Teams asked for applies and lockdowns only"
    );

    scratch.write(
        "events.jsonl",
        &serde_json::json!({
            "uuid": "ev-lock-1", "published": "2026-11-20T10:00:00.000Z",
            "eventType": "user.lifecycle.suspend", "outcome": { "result": "SUCCESS" },
            "target": [{ "id": "00uo1qDulJ9QhYqQW4x7", "type": "User" }],
        })
        .to_string(),
    );
    let out = scratch
        .cmd(&["watch", "--events", "events.jsonl", "--settle", "0"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let slack = posted(&receiver, "slack");
    let lockdown = slack.last().unwrap();
    assert_eq!(
        lockdown["blocks"][0]["text"]["text"],
        "okta365 locked an account after user.lifecycle.suspend"
    );
    let body = lockdown["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(body.contains("Okta event ev-lock-1"), "{body}");
    assert!(
        body.contains("done     - user ines.garcia@acme.example (disable)"),
        "{body}"
    );
    assert_eq!(
        posted(&receiver, "teams").len(),
        1,
        "Teams hears about the lockdown"
    );
    no_secrets(&[&stdout, &stderr]);
}

#[test]
fn a_channel_that_fails_is_a_warning_not_a_failed_apply() {
    let scratch = Scratch::new();
    let receiver = HttpReceiver::start(usize::MAX);
    configure(
        &scratch,
        "audit:\n  path: .okta365/audit.jsonl\n  notify:\n    - { type: slack, webhook_url_env: OKTA365_SLACK_WEBHOOK }\n",
    );
    let url = format!("{}/slack/{SLACK_SECRET}", receiver.url());
    let (code, stdout, stderr) = apply(&scratch, &[("OKTA365_SLACK_WEBHOOK", &url)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "warning: could not notify the Slack channel in `OKTA365_SLACK_WEBHOOK`: HTTP 503"
        ),
        "{stderr}"
    );
    assert_eq!(receiver.seen.load(Ordering::SeqCst), 3, "three attempts");
    no_secrets(&[&stdout, &stderr]);
}
