//! The Okta emulator over real HTTP (reqwest on loopback): authentication,
//! paging, the System Log, rate limits, faults and the control endpoints.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use okta365_emulators::okta::testing::{self, CLIENT_EC, CLIENT_RSA, DPOP_EC, OTHER_EC};
use okta365_emulators::okta::{
    Bucket, Fault, Faults, OktaEmulator, OktaOptions, PageFault, RateLimits, ScriptedFault,
    ServiceApp,
};
use serde_json::{Value, json};

const TOKEN: &str = "00test-api-token";
const ALL_SCOPES: [&str; 3] = ["okta.users.read", "okta.groups.read", "okta.logs.read"];

fn acme() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

fn acme_users() -> Vec<Value> {
    let text = std::fs::read_to_string(acme().join("okta/users.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn options() -> OktaOptions {
    OktaOptions {
        snapshot: Some(acme()),
        api_tokens: vec![TOKEN.into()],
        ..OktaOptions::default()
    }
}

async fn start(opts: OktaOptions) -> OktaEmulator {
    OktaEmulator::start(opts)
        .await
        .expect("the emulator starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn get(url: &str) -> reqwest::Response {
    http()
        .get(url)
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap()
}

fn next_link(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.ends_with("rel=\"next\""))
        .map(|v| v[1..v.find('>').unwrap()].to_owned())
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

/// Follows `next` links from `url`, at most 100 pages; returns every item's id.
async fn collect_ids(url: String) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = Some(url);
    for _ in 0..100 {
        let Some(url) = next.take() else { break };
        let response = get(&url).await;
        assert_eq!(response.status(), 200, "{url}");
        next = next_link(&response);
        let page: Vec<Value> = response.json().await.unwrap();
        ids.extend(page.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
    }
    assert!(next.is_none(), "paging did not end within 100 pages");
    ids
}

async fn assert_okta_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert!(header(&response, "content-type").starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], code, "{body}");
    assert_eq!(body["errorLink"], code);
    assert!(body["errorSummary"].is_string() && body["errorId"].is_string());
    assert!(body["errorCauses"].is_array());
    body
}

#[tokio::test]
async fn ssws_tokens_are_checked_with_oktas_error_shapes() {
    let emulator = start(options()).await;
    let url = format!("{}/api/v1/users?limit=1", emulator.url());
    for value in [format!("SSWS {TOKEN}"), format!("SSWS{TOKEN}")] {
        let response = http()
            .get(&url)
            .header("Authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let wrong = http()
        .get(&url)
        .header("Authorization", "SSWS nope")
        .send()
        .await
        .unwrap();
    let body = assert_okta_error(wrong, 401, "E0000011").await;
    assert_eq!(body["errorSummary"], "Invalid token provided");
    let missing = http().get(&url).send().await.unwrap();
    assert_okta_error(missing, 403, "E0000005").await;
    let unknown = get(&format!("{}/api/v1/users/00uNobody", emulator.url())).await;
    assert_okta_error(unknown, 404, "E0000007").await;
    emulator.stop().await;
}

#[tokio::test]
async fn a_plain_list_omits_deprovisioned_users_while_search_returns_them() {
    let emulator = start(options()).await;
    let users = acme_users();
    let deprovisioned: BTreeSet<String> = users
        .iter()
        .filter(|u| u["status"] == "DEPROVISIONED")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !deprovisioned.is_empty(),
        "the acme example has deactivated users"
    );
    let listed = collect_ids(format!("{}/api/v1/users", emulator.url())).await;
    assert_eq!(listed.len(), users.len() - deprovisioned.len());
    assert!(listed.iter().all(|id| !deprovisioned.contains(id)));

    let search = |expr: &str| format!("{}/api/v1/users?search={}", emulator.url(), urlencode(expr));
    let found: BTreeSet<String> = collect_ids(search(r#"status eq "DEPROVISIONED""#))
        .await
        .into_iter()
        .collect();
    assert_eq!(found, deprovisioned);
    let everyone = collect_ids(search("status pr")).await;
    assert_eq!(everyone.len(), users.len());
    let either = collect_ids(search(r#"status eq "ACTIVE" or status eq "DEPROVISIONED""#)).await;
    let active = users.iter().filter(|u| u["status"] == "ACTIVE").count();
    assert_eq!(either.len(), active + deprovisioned.len());
    let filtered = collect_ids(format!(
        "{}/api/v1/users?filter={}",
        emulator.url(),
        urlencode(r#"status eq "DEPROVISIONED""#)
    ))
    .await;
    assert_eq!(filtered.len(), deprovisioned.len());
    let bad = get(&search(r#"status ne "ACTIVE""#)).await;
    assert_okta_error(bad, 400, "E0000031").await;
    emulator.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn paging_with_link_headers_covers_each_user_exactly_once() {
    let emulator = start(options()).await;
    let users = acme_users();
    let first = get(&format!("{}/api/v1/users?limit=7", emulator.url())).await;
    let links: Vec<String> = first
        .headers()
        .get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(links.len(), 2, "self then next, as two headers");
    assert!(links[0].ends_with("rel=\"self\"") && links[1].ends_with("rel=\"next\""));
    let page: Vec<Value> = first.json().await.unwrap();
    assert_eq!(page.len(), 7);
    assert_eq!(
        page[0]["_links"].as_object().unwrap().len(),
        1,
        "collections carry only self"
    );

    let ids = collect_ids(format!(
        "{}/api/v1/users?limit=7&search=status%20pr",
        emulator.url()
    ))
    .await;
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), users.len());
    assert_eq!(unique.len(), users.len(), "no user twice");

    let groups = collect_ids(format!("{}/api/v1/groups?limit=4", emulator.url())).await;
    assert_eq!(groups.len(), 15);
    let everyone = "00gB5Rdz2G5b6lr1I4x7";
    let members = collect_ids(format!(
        "{}/api/v1/groups/{everyone}/users?limit=10",
        emulator.url()
    ))
    .await;
    assert_eq!(members.len(), 61);
    assert_eq!(members.iter().collect::<BTreeSet<_>>().len(), 61);
    let no_group = get(&format!("{}/api/v1/groups/00gNone/users", emulator.url())).await;
    assert_okta_error(no_group, 404, "E0000007").await;
    emulator.stop().await;
}

#[tokio::test]
async fn full_user_objects_keep_custom_profile_attributes() {
    let emulator = start(options()).await;
    let id = emulator.add_user(json!({
        "status": "ACTIVE",
        "profile": {"login": "new.hire@acme.example", "firstName": "New", "lastName": "Hire",
                    "email": "new.hire@acme.example", "o365License": ["E3"], "costCenterCode": 4711}
    }));
    let response = get(&format!("{}/api/v1/users/{id}", emulator.url())).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("etag"));
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["profile"]["o365License"], json!(["E3"]));
    assert_eq!(user["profile"]["costCenterCode"], 4711);
    assert_eq!(user["type"], Value::Null);
    assert!(
        user["_links"]["suspend"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/lifecycle/suspend")
    );
    let by_login = get(&format!(
        "{}/api/v1/users/new.hire@acme.example",
        emulator.url()
    ))
    .await;
    assert_eq!(by_login.json::<Value>().await.unwrap()["id"], id.as_str());
    emulator.stop().await;
}

#[tokio::test]
async fn log_polling_with_next_sees_appended_events_exactly_once() {
    let emulator = start(options()).await;
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let mut next = format!(
        "{}/api/v1/logs?since={}&sortOrder=ASCENDING&limit=2",
        emulator.url(),
        since
    );
    let mut seen = Vec::new();
    let users = acme_users();
    let alice = users[0]["id"].as_str().unwrap();
    let group = "00g8GJM89NQLUzCZ94x7";
    for round in 0..6 {
        match round {
            1 => emulator.set_status(alice, "SUSPENDED"),
            2 => {
                emulator.add_member(group, alice);
                emulator.remove_member(group, alice);
                emulator.update_profile(alice, json!({"title": "CTO"}));
            }
            _ => {}
        }
        // Drain what is there: polling pages always carry `next`, even when empty.
        for _ in 0..10 {
            let response = get(&next).await;
            assert_eq!(response.status(), 200);
            next = next_link(&response).expect("a polling page always has a next link");
            let page: Vec<Value> = response.json().await.unwrap();
            if page.is_empty() {
                break;
            }
            seen.extend(page);
        }
    }
    let types: Vec<&str> = seen
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "user.lifecycle.suspend",
            "group.user_membership.add",
            "group.user_membership.remove",
            "user.account.update_profile"
        ]
    );
    let uuids: BTreeSet<&str> = seen.iter().map(|e| e["uuid"].as_str().unwrap()).collect();
    assert_eq!(uuids.len(), 4);
    let membership = &seen[1];
    assert_eq!(membership["version"], "0");
    assert_eq!(membership["outcome"]["result"], "SUCCESS");
    assert!(
        membership["target"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type"] == "UserGroup")
    );

    let filtered = get(&format!(
        "{}/api/v1/logs?since={since}&filter={}",
        emulator.url(),
        urlencode(r#"eventType eq "group.user_membership.add""#)
    ))
    .await;
    let page: Vec<Value> = filtered.json().await.unwrap();
    assert_eq!(page.len(), 1);

    let bounded = get(&format!(
        "{}/api/v1/logs?since={since}&until={}&sortOrder=DESCENDING",
        emulator.url(),
        jiff::Timestamp::now() + jiff::SignedDuration::from_secs(5)
    ))
    .await;
    assert!(next_link(&bounded).is_none(), "a bounded query ends");
    let page: Vec<Value> = bounded.json().await.unwrap();
    assert_eq!(page[0]["eventType"], "user.account.update_profile");

    let bad = get(&format!(
        "{}/api/v1/logs?filter=published%20gt%20%22x%22",
        emulator.url()
    ))
    .await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000053");
    assert!(
        body.get("errorLink").is_none(),
        "System Log errors carry no errorLink"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn rate_limit_headers_count_down_then_429_then_reset_after_the_window() {
    let window = Duration::from_millis(1500);
    let emulator = start(OktaOptions {
        rate_limits: RateLimits {
            per_bucket: [(Bucket::Logs, 3)].into(),
            window,
        },
        ..options()
    })
    .await;
    let url = format!("{}/api/v1/logs", emulator.url());
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = get(&url).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-rate-limit-limit"), "3");
        remaining.push(header(&response, "x-rate-limit-remaining"));
        let reset: u64 = header(&response, "x-rate-limit-reset").parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            reset >= now && reset <= now + 3,
            "reset {reset} is the window's end, now {now}"
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let refused = get(&url).await;
    assert!(refused.headers().contains_key("date"));
    assert_eq!(header(&refused, "x-rate-limit-remaining"), "0");
    let body = assert_okta_error(refused, 429, "E0000047").await;
    assert_eq!(
        body["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );
    let other_bucket = get(&format!("{}/api/v1/users?limit=1", emulator.url())).await;
    assert_eq!(other_bucket.status(), 200);
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    let again = get(&url).await;
    assert_eq!(again.status(), 200);
    assert_eq!(header(&again, "x-rate-limit-remaining"), "2");
    emulator.stop().await;
}

async fn statuses(seed: u64) -> Vec<u16> {
    let emulator = start(OktaOptions {
        seed,
        faults: Faults {
            error_rate: 0.3,
            ..Faults::default()
        },
        ..options()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(
            get(&format!("{}/api/v1/groups", emulator.url()))
                .await
                .status()
                .as_u16(),
        );
    }
    emulator.stop().await;
    statuses
}

#[tokio::test]
async fn faults_are_reproducible_for_a_seed() {
    let first = statuses(11).await;
    assert_eq!(first, statuses(11).await);
    assert_ne!(first, statuses(12).await);
    let failures = first.iter().filter(|s| **s >= 500).count();
    assert!(
        (2..=20).contains(&failures),
        "{failures} failures in 30 at 30%: {first:?}"
    );
}

#[tokio::test]
async fn scripted_faults_fail_the_given_page_and_resets_drop_the_connection() {
    let emulator = start(OktaOptions {
        faults: Faults {
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
        },
        ..options()
    })
    .await;
    let mut url = format!("{}/api/v1/users?limit=10", emulator.url());
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = get(&url).await;
        statuses.push(response.status().as_u16());
        if let Some(next) = next_link(&response) {
            url = next;
        }
    }
    assert_eq!(statuses, [200, 200, 500]);
    assert_eq!(
        get(&url).await.status(),
        200,
        "the retry of page 3 succeeds"
    );
    let reset = http()
        .get(format!("{}/api/v1/groups", emulator.url()))
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await;
    assert!(reset.is_err(), "the connection was reset: {reset:?}");
    assert_eq!(
        get(&format!("{}/api/v1/groups", emulator.url()))
            .await
            .status(),
        200
    );
    let counts = emulator.request_counts();
    assert_eq!(counts["GET /api/v1/users"], 4);
    assert_eq!(counts["GET /api/v1/groups"], 2);
    emulator.stop().await;
}

#[tokio::test]
async fn control_endpoints_mutate_the_org_and_report_request_counts() {
    let emulator = start(options()).await;
    let base = emulator.url();
    let created: Value = http()
        .post(format!("{base}/_emulator/users"))
        .json(&json!({"profile": {"login": "c@acme.example", "firstName": "C", "lastName": "D"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let status = http()
        .put(format!("{base}/_emulator/users/{id}/status"))
        .json(&json!({"status": "ACTIVE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let member = http()
        .put(format!(
            "{base}/_emulator/groups/00g8GJM89NQLUzCZ94x7/users/{id}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(member.status(), 200);
    let missing = http()
        .put(format!("{base}/_emulator/groups/00gNone/users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let user: Value = get(&format!("{base}/api/v1/users/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["status"], "ACTIVE");
    let groups: Vec<Value> = get(&format!("{base}/api/v1/users/{id}/groups"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    let counts: Value = http()
        .get(format!("{base}/_emulator/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts["GET /api/v1/users/{id}"], 1);
    assert_eq!(counts["GET /api/v1/users/{id}/groups"], 1);
    assert!(
        counts.get("POST /_emulator/users").is_none(),
        "control calls are not counted"
    );
    emulator.stop().await;
}

fn oauth_options(dpop: bool) -> OktaOptions {
    OktaOptions {
        service_apps: vec![
            ServiceApp {
                client_id: "0oaRsaApp".into(),
                public_key: CLIENT_RSA.public_key(),
                scopes: ALL_SCOPES.map(String::from).to_vec(),
                require_dpop: false,
            },
            ServiceApp {
                client_id: "0oaEcApp".into(),
                public_key: CLIENT_EC.public_key(),
                scopes: vec!["okta.users.read".into()],
                require_dpop: dpop,
            },
        ],
        ..options()
    }
}

async fn token_request(
    emulator: &OktaEmulator,
    assertion: &str,
    scope: &str,
    proof: Option<String>,
) -> reqwest::Response {
    let mut request = http()
        .post(format!("{}/oauth2/v1/token", emulator.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ]);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn private_key_jwt_is_accepted_with_the_registered_key_and_refused_with_another() {
    let emulator = start(oauth_options(false)).await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = testing::client_assertion(&CLIENT_RSA, "0oaRsaApp", &token_url, "jti-1");
    let response = token_request(&emulator, &assertion, &ALL_SCOPES.join(" "), None).await;
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let access = token["access_token"].as_str().unwrap();
    let users = http()
        .get(format!("{}/api/v1/users?limit=2", emulator.url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);

    let replay = token_request(&emulator, &assertion, "okta.users.read", None).await;
    assert_eq!(replay.status(), 401, "a used jti is refused");

    let forged = testing::client_assertion(&OTHER_EC, "0oaEcApp", &token_url, "jti-2");
    let refused = token_request(&emulator, &forged, "okta.users.read", None).await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{body}");
    assert!(body["error_description"].is_string());

    let wrong_aud = testing::client_assertion(
        &CLIENT_RSA,
        "0oaRsaApp",
        "http://elsewhere/oauth2/v1/token",
        "jti-3",
    );
    assert_eq!(
        token_request(&emulator, &wrong_aud, "okta.users.read", None)
            .await
            .status(),
        401
    );

    let ungranted = testing::client_assertion(&CLIENT_EC, "0oaEcApp", &token_url, "jti-4");
    let response = token_request(
        &emulator,
        &ungranted,
        "okta.users.read okta.logs.read",
        None,
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn a_token_without_the_scope_gets_403() {
    let emulator = start(oauth_options(false)).await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = testing::client_assertion(&CLIENT_EC, "0oaEcApp", &token_url, "jti-1");
    let token: Value = token_request(&emulator, &assertion, "okta.users.read", None)
        .await
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    let logs = http()
        .get(format!("{}/api/v1/logs", emulator.url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert!(header(&logs, "www-authenticate").contains("insufficient_scope"));
    assert_okta_error(logs, 403, "E0000006").await;
    let bogus = http()
        .get(format!("{}/api/v1/users", emulator.url()))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_okta_error(bogus, 401, "E0000011").await;
    emulator.stop().await;
}

#[tokio::test]
async fn dpop_nonce_challenge_then_a_bound_token_checked_with_ath_on_every_call() {
    let emulator = start(oauth_options(true)).await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = |jti: &str| testing::client_assertion(&CLIENT_EC, "0oaEcApp", &token_url, jti);

    let no_proof = token_request(&emulator, &assertion("a0"), "okta.users.read", None).await;
    assert_eq!(no_proof.status(), 400);
    assert_eq!(
        no_proof.json::<Value>().await.unwrap()["error"],
        "invalid_dpop_proof"
    );

    let proof = testing::dpop_proof(&DPOP_EC, "POST", &token_url, None, None, "p1");
    let challenge =
        token_request(&emulator, &assertion("a1"), "okta.users.read", Some(proof)).await;
    assert_eq!(challenge.status(), 400);
    let nonce = header(&challenge, "dpop-nonce");
    let body: Value = challenge.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce");
    assert_eq!(
        body["error_description"],
        "Authorization server requires nonce in DPoP proof."
    );

    let same_key = testing::dpop_proof(&CLIENT_EC, "POST", &token_url, Some(&nonce), None, "p2");
    let refused = token_request(
        &emulator,
        &assertion("a2"),
        "okta.users.read",
        Some(same_key),
    )
    .await;
    assert_eq!(
        refused.status(),
        400,
        "the DPoP key must differ from the client key"
    );

    let proof = testing::dpop_proof(&DPOP_EC, "POST", &token_url, Some(&nonce), None, "p3");
    let granted = token_request(&emulator, &assertion("a1"), "okta.users.read", Some(proof)).await;
    assert_eq!(granted.status(), 200, "the retry with the nonce succeeds");
    let token: Value = granted.json().await.unwrap();
    assert_eq!(token["token_type"], "DPoP");
    let access = token["access_token"].as_str().unwrap();

    let users_url = format!("{}/api/v1/users", emulator.url());
    let call = |proof: String, scheme: &'static str| {
        http()
            .get(format!("{users_url}?limit=2"))
            .header("Authorization", format!("{scheme} {access}"))
            .header("DPoP", proof)
            .send()
    };
    let good = testing::dpop_proof(&DPOP_EC, "GET", &users_url, None, Some(access), "r1");
    assert_eq!(call(good, "DPoP").await.unwrap().status(), 200);

    let wrong_ath =
        testing::dpop_proof(&DPOP_EC, "GET", &users_url, None, Some("other-token"), "r2");
    let response = call(wrong_ath, "DPoP").await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(header(&response, "www-authenticate").contains("invalid_dpop_proof"));
    assert!(
        response.json::<Value>().await.unwrap()["error_description"]
            .as_str()
            .unwrap()
            .contains("ath")
    );

    let with_query = format!("{users_url}?limit=2");
    let query_htu = testing::dpop_proof(&DPOP_EC, "GET", &with_query, None, Some(access), "r3");
    assert_eq!(
        call(query_htu, "DPoP").await.unwrap().status(),
        400,
        "htu must not carry the query"
    );

    let other_key = testing::dpop_proof(&OTHER_EC, "GET", &users_url, None, Some(access), "r4");
    assert_eq!(
        call(other_key, "DPoP").await.unwrap().status(),
        400,
        "the proof key is the bound key"
    );

    let as_bearer = testing::dpop_proof(&DPOP_EC, "GET", &users_url, None, Some(access), "r5");
    assert_eq!(call(as_bearer, "Bearer").await.unwrap().status(), 400);

    let replayed = testing::dpop_proof(&DPOP_EC, "GET", &users_url, None, Some(access), "r1");
    assert_eq!(
        call(replayed, "DPoP").await.unwrap().status(),
        400,
        "a proof jti is single-use"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn only_loopback_addresses_are_accepted() {
    let refused = OktaEmulator::start_on("0.0.0.0:0".parse().unwrap(), options()).await;
    assert!(refused.unwrap_err().contains("loopback only"));
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let emulator = start(OktaOptions {
        token_lifetime: Duration::from_millis(300),
        ..oauth_options(false)
    })
    .await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = testing::client_assertion(&CLIENT_RSA, "0oaRsaApp", &token_url, "jti-1");
    let token: Value = token_request(&emulator, &assertion, "okta.groups.read", None)
        .await
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap().to_owned();
    let call = || {
        http()
            .get(format!("{}/api/v1/groups", emulator.url()))
            .bearer_auth(&access)
            .send()
    };
    assert_eq!(call().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let expired = call().await.unwrap();
    assert!(header(&expired, "www-authenticate").contains("invalid_token"));
    assert_okta_error(expired, 401, "E0000011").await;
    emulator.stop().await;
}

#[tokio::test]
async fn a_timeout_fault_hangs_past_the_clients_deadline() {
    let emulator = start(OktaOptions {
        faults: Faults {
            timeout: Duration::from_secs(5),
            scripted: vec![ScriptedFault {
                path: "/api/v1/logs".into(),
                nth: 1,
                fault: Fault::Timeout,
            }],
            ..Faults::default()
        },
        ..options()
    })
    .await;
    let url = format!("{}/api/v1/logs", emulator.url());
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let hung = impatient
        .get(&url)
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());
    assert_eq!(get(&url).await.status(), 200);
    emulator.stop().await;
}

#[tokio::test]
async fn group_search_filter_and_stats_follow_okta() {
    let emulator = start(options()).await;
    let base = emulator.url();
    let built_in = collect_ids(format!(
        "{base}/api/v1/groups?search={}",
        urlencode(r#"type eq "BUILT_IN""#)
    ))
    .await;
    assert_eq!(built_in, ["00gB5Rdz2G5b6lr1I4x7"]);
    let by_filter = collect_ids(format!(
        "{base}/api/v1/groups?filter={}",
        urlencode(r#"type eq "BUILT_IN""#)
    ))
    .await;
    assert_eq!(by_filter, built_in);
    let refused = get(&format!(
        "{base}/api/v1/groups?filter={}",
        urlencode(r#"profile.name eq "x""#)
    ))
    .await;
    assert_okta_error(refused, 400, "E0000031").await;
    let stats: Vec<Value> = get(&format!("{base}/api/v1/groups?q=Every&expand=stats"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0]["_embedded"]["stats"]["usersCount"], 61);
    let group: Value = get(&format!("{base}/api/v1/groups/00gB5Rdz2G5b6lr1I4x7"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(group["profile"]["name"], "Everyone");
    assert!(
        group["_links"]["users"]["href"]
            .as_str()
            .unwrap()
            .starts_with(&base)
    );
    emulator.stop().await;
}

#[tokio::test]
async fn incremental_reads_filter_on_last_updated() {
    let emulator = start(options()).await;
    let users = acme_users();
    let cutoff = "2026-11-01T00:00:00.000Z";
    let expected = users
        .iter()
        .filter(|u| u["lastUpdated"].as_str().unwrap() > cutoff)
        .count();
    let filter = urlencode(&format!(r#"lastUpdated gt "{cutoff}""#));
    let changed = collect_ids(format!(
        "{}/api/v1/users?filter={filter}&limit=5",
        emulator.url()
    ))
    .await;
    assert_eq!(changed.len(), expected);
    emulator.update_profile(users[0]["id"].as_str().unwrap(), json!({"title": "CTO"}));
    let after = collect_ids(format!("{}/api/v1/users?filter={filter}", emulator.url())).await;
    let first_was_changed = users[0]["lastUpdated"].as_str().unwrap() > cutoff;
    assert_eq!(after.len(), expected + usize::from(!first_was_changed));
    emulator.stop().await;
}

#[tokio::test]
async fn bounded_log_queries_page_by_published_and_end() {
    let emulator = start(options()).await;
    let users = acme_users();
    for user in users.iter().take(5) {
        emulator.set_status(user["id"].as_str().unwrap(), "SUSPENDED");
    }
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let until = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60);
    let mut next = Some(format!(
        "{}/api/v1/logs?since={since}&until={until}&limit=2",
        emulator.url()
    ));
    let mut pages = 0;
    let mut events = 0;
    while let Some(url) = next.take() {
        assert!(pages < 10, "bounded paging ends");
        let response = get(&url).await;
        assert_eq!(response.status(), 200);
        next = next_link(&response);
        if let Some(next) = &next {
            assert!(!next.contains("since="), "since and after are exclusive");
            assert!(next.contains("until="));
        }
        events += response.json::<Vec<Value>>().await.unwrap().len();
        pages += 1;
    }
    assert_eq!((pages, events), (3, 5));
    let both = get(&format!(
        "{}/api/v1/logs?since={since}&after=p0_0",
        emulator.url()
    ))
    .await;
    assert_eq!(both.status(), 400);
    emulator.stop().await;
}

#[tokio::test]
async fn too_many_requests_in_flight_get_a_concurrency_429() {
    let hang = |nth| ScriptedFault {
        path: "/api/v1/logs".into(),
        nth,
        fault: Fault::Timeout,
    };
    let emulator = start(OktaOptions {
        concurrency: 2,
        faults: Faults {
            timeout: Duration::from_millis(1500),
            scripted: vec![hang(1), hang(2)],
            ..Faults::default()
        },
        ..options()
    })
    .await;
    let url = format!("{}/api/v1/logs", emulator.url());
    let hanging: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { get(&url).await.status() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = get(&format!("{}/api/v1/users?limit=1", emulator.url())).await;
    assert_eq!(header(&refused, "x-rate-limit-limit"), "0");
    assert_eq!(header(&refused, "x-rate-limit-remaining"), "0");
    assert_okta_error(refused, 429, "E0000047").await;
    for request in hanging {
        assert_eq!(request.await.unwrap(), 500);
    }
    assert_eq!(
        get(&url).await.status(),
        200,
        "capacity is back once they finish"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn sorted_searches_page_in_order() {
    let emulator = start(options()).await;
    let url = format!(
        "{}/api/v1/users?search=status%20pr&sortBy=profile.lastName&sortOrder=desc&limit=7",
        emulator.url()
    );
    let mut next = Some(url);
    let mut names = Vec::new();
    for _ in 0..20 {
        let Some(url) = next.take() else { break };
        let response = get(&url).await;
        assert_eq!(response.status(), 200);
        next = next_link(&response);
        let page: Vec<Value> = response.json().await.unwrap();
        names.extend(
            page.iter()
                .map(|u| u["profile"]["lastName"].as_str().unwrap().to_lowercase()),
        );
    }
    assert_eq!(names.len(), acme_users().len());
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);
    let unsearched = get(&format!("{}/api/v1/users?sortBy=id", emulator.url())).await;
    assert_okta_error(unsearched, 400, "E0000031").await;
    emulator.stop().await;
}

#[tokio::test]
async fn dpop_nonces_rotate_and_the_previous_one_stays_valid_for_a_while() {
    let lifetime = Duration::from_millis(300);
    let emulator = start(OktaOptions {
        dpop_nonce_lifetime: lifetime,
        ..oauth_options(true)
    })
    .await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = |jti: &str| testing::client_assertion(&CLIENT_EC, "0oaEcApp", &token_url, jti);
    let proof = |nonce: Option<&str>, jti: &str| {
        Some(testing::dpop_proof(
            &DPOP_EC, "POST", &token_url, nonce, None, jti,
        ))
    };
    let challenge = token_request(
        &emulator,
        &assertion("a1"),
        "okta.users.read",
        proof(None, "p1"),
    )
    .await;
    let first = header(&challenge, "dpop-nonce");
    tokio::time::sleep(lifetime + Duration::from_millis(50)).await;
    let grace = token_request(
        &emulator,
        &assertion("a2"),
        "okta.users.read",
        proof(Some(&first), "p2"),
    )
    .await;
    assert_eq!(
        grace.status(),
        200,
        "the previous nonce is still accepted after a rotation"
    );
    tokio::time::sleep(lifetime + Duration::from_millis(50)).await;
    let stale = token_request(
        &emulator,
        &assertion("a3"),
        "okta.users.read",
        proof(Some(&first), "p3"),
    )
    .await;
    assert_eq!(stale.status(), 400);
    let second = header(&stale, "dpop-nonce");
    assert_ne!(first, second);
    assert_eq!(
        stale.json::<Value>().await.unwrap()["error"],
        "use_dpop_nonce"
    );
    let fresh = token_request(
        &emulator,
        &assertion("a3"),
        "okta.users.read",
        proof(Some(&second), "p4"),
    )
    .await;
    assert_eq!(fresh.status(), 200);
    emulator.stop().await;
}

#[tokio::test]
async fn search_is_eventually_consistent_while_reads_by_id_are_current() {
    let lag = Duration::from_millis(400);
    let emulator = start(OktaOptions {
        search_lag: lag,
        ..options()
    })
    .await;
    let users = acme_users();
    let leaver = users.iter().find(|u| u["status"] == "ACTIVE").unwrap()["id"]
        .as_str()
        .unwrap();
    let joiner =
        emulator.add_user(json!({"status": "ACTIVE", "profile": {"login": "j@acme.example"}}));
    emulator.set_status(leaver, "DEPROVISIONED");
    let deprovisioned = format!(
        "{}/api/v1/users?search={}",
        emulator.url(),
        urlencode(r#"status eq "DEPROVISIONED""#)
    );
    let everyone = format!("{}/api/v1/users?search=status%20pr", emulator.url());
    let stale = collect_ids(deprovisioned.clone()).await;
    assert!(
        !stale.iter().any(|id| id == leaver),
        "the index has not caught up yet"
    );
    assert!(!collect_ids(everyone.clone()).await.contains(&joiner));
    let by_id: Value = get(&format!("{}/api/v1/users/{leaver}", emulator.url()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_id["status"], "DEPROVISIONED", "a read by id is current");
    tokio::time::sleep(lag + Duration::from_millis(100)).await;
    assert!(
        collect_ids(deprovisioned)
            .await
            .iter()
            .any(|id| id == leaver)
    );
    assert!(collect_ids(everyone).await.contains(&joiner));
    emulator.stop().await;
}

#[tokio::test]
async fn a_page_fault_fails_that_page_of_a_traversal_even_on_retries() {
    let emulator = start(OktaOptions {
        faults: Faults {
            pages: vec![PageFault {
                path: "/api/v1/users".into(),
                page: 3,
                fault: Fault::Status(503),
                times: Some(2),
            }],
            ..Faults::default()
        },
        ..options()
    })
    .await;
    let mut url = format!("{}/api/v1/users?limit=10", emulator.url());
    let mut statuses = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..20 {
        let response = get(&url).await;
        statuses.push(response.status().as_u16());
        if response.status() != 200 {
            continue; // retry the same page
        }
        let next = next_link(&response);
        let page: Vec<Value> = response.json().await.unwrap();
        ids.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(statuses[..5], [200, 200, 503, 503, 200]);
    assert_eq!(
        ids.len(),
        acme_users().len() - 2,
        "every active user once despite the faults"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn rs256_dpop_proofs_bind_tokens_too() {
    let emulator = start(oauth_options(true)).await;
    let token_url = format!("{}/oauth2/v1/token", emulator.url());
    let assertion = testing::client_assertion(&CLIENT_EC, "0oaEcApp", &token_url, "a1");
    let proof = |nonce: Option<&str>, jti: &str| {
        Some(testing::dpop_proof(
            &CLIENT_RSA,
            "POST",
            &token_url,
            nonce,
            None,
            jti,
        ))
    };
    let challenge =
        token_request(&emulator, &assertion, "okta.users.read", proof(None, "p1")).await;
    let nonce = header(&challenge, "dpop-nonce");
    let granted = token_request(
        &emulator,
        &assertion,
        "okta.users.read",
        proof(Some(&nonce), "p2"),
    )
    .await;
    assert_eq!(granted.status(), 200);
    let access = granted.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let users_url = format!("{}/api/v1/users", emulator.url());
    let call = |key, jti: &'static str| {
        http()
            .get(&users_url)
            .header("Authorization", format!("DPoP {access}"))
            .header(
                "DPoP",
                testing::dpop_proof(key, "GET", &users_url, None, Some(&access), jti),
            )
            .send()
    };
    assert_eq!(call(&CLIENT_RSA, "r1").await.unwrap().status(), 200);
    assert_eq!(
        call(&DPOP_EC, "r2").await.unwrap().status(),
        400,
        "bound to the RSA key"
    );
    emulator.stop().await;
}

/// One call a hook receiver got: method, `Authorization`, JSON body.
type Call = (String, Option<String>, Value);
type Calls = std::sync::Arc<std::sync::Mutex<Vec<Call>>>;

/// A loopback event-hook receiver recording what it gets.
struct Receiver {
    url: String,
    seen: Calls,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers verification if asked; the first `failing_posts` deliveries get a 500.
    async fn start(answer_verification: bool, failing_posts: usize) -> Self {
        use axum::http::{HeaderMap, StatusCode};
        let seen: Calls = Default::default();
        let record = |method: &'static str, seen: Calls| {
            move |headers: HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let challenge = headers
                        .get("x-okta-verification-challenge")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let mut seen = seen.lock().unwrap();
                    seen.push((method.to_owned(), auth, body));
                    let posts = seen.iter().filter(|(m, _, _)| m == "POST").count();
                    let status = if method == "POST" && posts <= failing_posts {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    };
                    match challenge {
                        Some(c) if answer_verification => {
                            (status, axum::Json(json!({ "verification": c })))
                        }
                        _ => (status, axum::Json(json!({}))),
                    }
                }
            }
        };
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::get(record("GET", seen.clone())).post(record("POST", seen.clone())),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Receiver { url, seen, task }
    }

    /// Waits (at most 5 s) until `n` calls arrived.
    async fn wait_for(&self, n: usize) -> Vec<Call> {
        for _ in 0..100 {
            if self.seen.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.seen.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn event_hooks_are_verified_then_receive_their_event_types() {
    use okta365_emulators::okta::EventHook;
    let receiver = Receiver::start(true, 0).await;
    let emulator = start(OktaOptions {
        event_hooks: vec![EventHook {
            url: receiver.url.clone(),
            authorization: "hook-secret".into(),
            event_types: vec![
                "user.lifecycle.deactivate".into(),
                "group.user_membership.add".into(),
            ],
        }],
        ..options()
    })
    .await;
    let users = acme_users();
    let (first, second) = (
        users[0]["id"].as_str().unwrap(),
        users[1]["id"].as_str().unwrap(),
    );
    emulator.set_status(first, "DEPROVISIONED");
    emulator.set_status(second, "SUSPENDED");
    emulator.add_member("00g8GJM89NQLUzCZ94x7", second);
    let calls = receiver.wait_for(2).await;
    assert_eq!(calls[0].0, "GET", "verification comes first");
    assert!(
        calls
            .iter()
            .all(|(_, auth, _)| auth.as_deref() == Some("hook-secret"))
    );
    let mut delivered = Vec::new();
    for (method, _, envelope) in &calls[1..] {
        assert_eq!(method, "POST");
        assert_eq!(envelope["eventType"], "com.okta.event_hook");
        assert_eq!(envelope["cloudEventsVersion"], "0.1");
        assert!(
            envelope["source"]
                .as_str()
                .unwrap()
                .starts_with(&emulator.url())
        );
        for event in envelope["data"]["events"].as_array().unwrap() {
            delivered.push(event["eventType"].as_str().unwrap().to_owned());
        }
    }
    for _ in 0..40 {
        if delivered.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        delivered = receiver.seen.lock().unwrap()[1..]
            .iter()
            .flat_map(|(_, _, e)| e["data"]["events"].as_array().unwrap().clone())
            .map(|e| e["eventType"].as_str().unwrap().to_owned())
            .collect();
    }
    assert_eq!(
        delivered,
        ["user.lifecycle.deactivate", "group.user_membership.add"]
    );
    emulator.stop().await;
    receiver.task.abort();
}

#[tokio::test]
async fn an_unverified_hook_gets_nothing_and_the_failure_is_logged() {
    use okta365_emulators::okta::EventHook;
    let receiver = Receiver::start(false, 0).await;
    let emulator = start(OktaOptions {
        event_hooks: vec![EventHook {
            url: receiver.url.clone(),
            authorization: "hook-secret".into(),
            event_types: vec!["user.lifecycle.suspend".into()],
        }],
        ..options()
    })
    .await;
    emulator.set_status(acme_users()[0]["id"].as_str().unwrap(), "SUSPENDED");
    let mut failures = Vec::new();
    for _ in 0..100 {
        let url = format!(
            "{}/api/v1/logs?filter={}",
            emulator.url(),
            urlencode(r#"eventType eq "event_hook.delivery""#)
        );
        failures = get(&url).await.json::<Vec<Value>>().await.unwrap();
        if !failures.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["outcome"]["result"], "FAILURE");
    let calls = receiver.seen.lock().unwrap().clone();
    assert!(
        calls.iter().all(|(method, _, _)| method == "GET"),
        "no deliveries: {calls:?}"
    );
    let refused = OktaEmulator::start(OktaOptions {
        event_hooks: vec![EventHook {
            url: "https://hooks.example.com/okta".into(),
            authorization: "x".into(),
            event_types: vec![],
        }],
        ..options()
    })
    .await;
    assert!(refused.unwrap_err().contains("not on loopback"));
    emulator.stop().await;
    receiver.task.abort();
}

#[tokio::test]
async fn a_failed_delivery_is_retried_once() {
    use okta365_emulators::okta::EventHook;
    let receiver = Receiver::start(true, 1).await;
    let emulator = start(OktaOptions {
        event_hooks: vec![EventHook {
            url: receiver.url.clone(),
            authorization: "hook-secret".into(),
            event_types: vec!["user.lifecycle.suspend".into()],
        }],
        ..options()
    })
    .await;
    emulator.set_status(acme_users()[0]["id"].as_str().unwrap(), "SUSPENDED");
    let calls = receiver.wait_for(3).await;
    let posts: Vec<&Value> = calls
        .iter()
        .filter(|(m, _, _)| m == "POST")
        .map(|(_, _, b)| b)
        .collect();
    assert_eq!(posts.len(), 2, "a 500, then the retry");
    assert_eq!(
        posts[0]["eventId"], posts[1]["eventId"],
        "the retry is the same delivery"
    );
    let failures = get(&format!(
        "{}/api/v1/logs?filter={}",
        emulator.url(),
        urlencode(r#"eventType eq "event_hook.delivery""#)
    ))
    .await
    .json::<Vec<Value>>()
    .await
    .unwrap();
    assert!(failures.is_empty(), "the retry succeeded: {failures:?}");
    emulator.stop().await;
    receiver.task.abort();
}
