//! `okta365 emulate okta`: the emulator as a process on loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::repo;

/// Kills the child it holds when dropped, so a failing test leaves no process behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_okta365"))
        .args(["emulate", "okta"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Running(child)
}

fn first_line(running: &mut Running) -> String {
    let stdout = running.0.stdout.take().unwrap();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = send.send(line);
    });
    receive
        .recv_timeout(Duration::from_secs(30))
        .expect("the emulator prints its address within 30 s")
}

#[test]
fn emulate_okta_serves_the_snapshot_on_loopback() {
    let snapshot = repo().join("examples/acme");
    let mut running = spawn(&[
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--token",
        "cli-test-token",
        "--rate-limit",
        "/api/v1/users=50",
    ]);
    let line = first_line(&mut running);
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let users = http
            .get(format!("{url}/api/v1/users?limit=5"))
            .header("Authorization", "SSWS cli-test-token")
            .send()
            .await
            .unwrap();
        assert_eq!(users.status(), 200);
        assert_eq!(users.headers()["x-rate-limit-limit"], "50");
        assert_eq!(
            users.json::<Vec<serde_json::Value>>().await.unwrap().len(),
            5
        );
        let refused = http
            .get(format!("{url}/api/v1/users"))
            .header("Authorization", "SSWS other")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        let counts: serde_json::Value = http
            .get(format!("{url}/_emulator/requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(counts["GET /api/v1/users"], 2);
    });
}

#[test]
fn emulate_okta_registers_a_service_app_from_flags() {
    use okta365_emulators::okta::testing::{self, CLIENT_EC};
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("client.pub.pem");
    std::fs::write(&key, CLIENT_EC.public_pem).unwrap();
    let snapshot = repo().join("examples/acme");
    let mut running = spawn(&[
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--oauth-client-id",
        "0oaCliApp",
        "--oauth-public-key",
        key.to_str().unwrap(),
    ]);
    let line = first_line(&mut running);
    let url = line.trim().trim_start_matches("listening on ").to_owned();
    let token_url = format!("{url}/oauth2/v1/token");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let assertion = testing::client_assertion(&CLIENT_EC, "0oaCliApp", &token_url, "cli-1");
        let answer = http
            .post(&token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "okta.users.read"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ])
            .send()
            .await
            .unwrap();
        // 400 (not 401 invalid_client): the app and its key were registered and the
        // assertion verified; DPoP is required by default.
        assert_eq!(answer.status(), 400);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "invalid_dpop_proof");
    });
}

#[test]
fn emulate_okta_refuses_non_loopback_addresses() {
    use std::io::Read;
    let snapshot = repo().join("examples/acme");
    let mut running = spawn(&[
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
    ]);
    let mut status = None;
    for _ in 0..300 {
        status = running.0.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = status.expect("the emulator exits within 30 s");
    assert_eq!(status.code(), Some(1));
    let mut stderr = String::new();
    running
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("loopback only"), "{stderr}");
    let mut stdout = String::new();
    running
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn emulate_okta_help_hides_secrets_from_the_environment() {
    let output = Command::new(env!("CARGO_BIN_EXE_okta365"))
        .args(["emulate", "okta", "--help"])
        .env("OKTA365_EMULATOR_OKTA_TOKEN", "token-from-env-1234")
        .env("OKTA365_EMULATOR_HOOK_SECRET", "hook-secret-5678")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("OKTA365_EMULATOR_OKTA_TOKEN"), "{help}");
    assert!(!help.contains("token-from-env-1234") && !help.contains("hook-secret-5678"));
}
