//! `okta365 emulate graph`: the first stdout line names the URL, the server
//! answers on it, and non-loopback addresses are refused.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::repo;

#[tokio::test]
async fn emulate_graph_prints_its_url_first_and_serves_the_snapshot() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_okta365"))
        .args(["emulate", "graph", "--snapshot"])
        .arg(repo().join("examples/acme"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(60));
    let served = async {
        let line = line.expect("the emulator printed nothing within 60 s");
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let token: serde_json::Value = http
            .post(format!(
                "{url}/{}/oauth2/v2.0/token",
                okta365_emulators::graph::DEFAULT_TENANT_ID
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", okta365_emulators::graph::DEFAULT_CLIENT_ID),
                (
                    "client_secret",
                    okta365_emulators::graph::DEFAULT_CLIENT_SECRET,
                ),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let users: serde_json::Value = http
            .get(format!("{url}/v1.0/users?$select=id"))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(users["value"].as_array().unwrap().len(), 60);
    };
    let outcome = tokio::time::timeout(Duration::from_secs(30), served).await;
    let _ = child.kill();
    let _ = child.wait();
    outcome.expect("the emulator did not answer within 30 s");
}

#[test]
fn emulate_graph_refuses_non_loopback_addresses() {
    let out = Command::new(env!("CARGO_BIN_EXE_okta365"))
        .args(["emulate", "graph", "--snapshot"])
        .arg(repo().join("examples/acme"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("loopback"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "nothing is printed when nothing listens"
    );
}
