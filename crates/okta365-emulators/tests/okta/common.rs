//! Helpers: the emulator seeded with the acme example, a reqwest client, paging and error checks.

pub use std::collections::BTreeSet;
pub use std::path::PathBuf;
pub use std::time::Duration;

pub use okta365_emulators::okta::testing::{self, CLIENT_EC, CLIENT_RSA, DPOP_EC, OTHER_EC};
pub use okta365_emulators::okta::{
    Bucket, EventHook, Fault, Faults, OktaEmulator, OktaOptions, PageFault, RateLimits,
    ScriptedFault, ServiceApp,
};
pub use serde_json::{Value, json};

pub const TOKEN: &str = "00test-api-token";

pub const ALL_SCOPES: [&str; 3] = ["okta.users.read", "okta.groups.read", "okta.logs.read"];

pub fn acme() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

pub fn acme_users() -> Vec<Value> {
    let text = std::fs::read_to_string(acme().join("okta/users.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn options() -> OktaOptions {
    OktaOptions {
        snapshot: Some(acme()),
        api_tokens: vec![TOKEN.into()],
        ..OktaOptions::default()
    }
}

pub async fn start(opts: OktaOptions) -> OktaEmulator {
    OktaEmulator::start(opts)
        .await
        .expect("the emulator starts")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn get(url: &str) -> reqwest::Response {
    http()
        .get(url)
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap()
}

pub fn next_link(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.ends_with("rel=\"next\""))
        .map(|v| v[1..v.find('>').unwrap()].to_owned())
}

pub fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

/// Follows `next` links from `url`, at most 100 pages; returns every item's id.
pub async fn collect_ids(url: String) -> Vec<String> {
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

pub async fn assert_okta_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert!(header(&response, "content-type").starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], code, "{body}");
    assert_eq!(body["errorLink"], code);
    assert!(body["errorSummary"].is_string() && body["errorId"].is_string());
    assert!(body["errorCauses"].is_array());
    body
}

/// A query-string value, encoded.
pub fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub fn oauth_options(dpop: bool) -> OktaOptions {
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

pub async fn token_request(
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
