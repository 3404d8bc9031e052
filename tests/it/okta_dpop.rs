//! DPoP details the emulator does not exercise, against a small scripted
//! server on loopback: a resource server that demands a nonce
//! (`use_dpop_nonce` on a 401), rotates it on a later answer, and rejects an
//! access token once (`invalid_token`), which must be renewed, not reported;
//! and a URL that is not an Okta org.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use okta365::model::state::SourceScope;
use okta365::providers::okta::OktaClient;
use okta365::providers::okta::auth::{Credentials, ServiceApp};
use okta365::providers::okta::keys::SigningKey;
use okta365_emulators::okta::testing;
use serde_json::{Value, json};

#[derive(Default)]
struct Script {
    base: String,
    tokens_issued: u32,
    rejected_once: bool,
    nonce: String,
    proofs: Vec<Value>,
    user_requests: u32,
    group_requests: u32,
}

type Shared = Arc<Mutex<Script>>;

fn proof_claims(headers: &HeaderMap) -> Value {
    let proof = headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .expect("a DPoP proof");
    jsonwebtoken::dangerous::insecure_decode::<Value>(proof)
        .expect("a JWT")
        .claims
}

async fn token(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let mut s = s.lock().unwrap();
    assert!(headers.contains_key("dpop"), "token requests carry a proof");
    s.tokens_issued += 1;
    axum::Json(json!({
        "token_type": "DPoP",
        "access_token": format!("at{}", s.tokens_issued),
        "expires_in": 3600,
    }))
    .into_response()
}

fn nonce_challenge(nonce: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "DPoP error=\"use_dpop_nonce\", error_description=\"Resource server requires nonce in DPoP proof\"".to_owned()),
            (header::HeaderName::from_static("dpop-nonce"), nonce.to_owned()),
        ],
    )
        .into_response()
}

async fn users(State(s): State<Shared>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let mut s = s.lock().unwrap();
    s.user_requests += 1;
    let claims = proof_claims(&headers);
    s.proofs.push(claims.clone());
    if claims["nonce"].as_str() != Some(s.nonce.as_str()) {
        let nonce = s.nonce.clone();
        return nonce_challenge(&nonce);
    }
    let second_page = uri.query().unwrap_or_default().contains("after=p2");
    if second_page {
        return axum::Json(
            json!([{"id": "00u2", "status": "DEPROVISIONED", "profile": {"login": "b@x.com"}}]),
        )
        .into_response();
    }
    // Page one: rotate the nonce and link to page two.
    s.nonce = "nonce-2".into();
    let next = format!("<{}/api/v1/users?after=p2&limit=200>; rel=\"next\"", s.base);
    (
        [
            (header::LINK, next),
            (header::HeaderName::from_static("dpop-nonce"), "nonce-2".to_owned()),
        ],
        axum::Json(json!([{"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@x.com", "favourite": 7}}])),
    )
        .into_response()
}

async fn groups(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let mut s = s.lock().unwrap();
    s.group_requests += 1;
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if auth == "DPoP at1" && !s.rejected_once {
        s.rejected_once = true;
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "DPoP error=\"invalid_token\", error_description=\"The access token is invalid.\"",
            )],
        )
            .into_response();
    }
    axum::Json(json!([])).into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_nonce_challenges_rotation_and_token_renewal() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let script: Shared = Arc::new(Mutex::new(Script {
        base: base.clone(),
        nonce: "nonce-1".into(),
        ..Script::default()
    }));
    let router = Router::new()
        .route("/oauth2/v1/token", post(token))
        .route("/api/v1/users", get(users))
        .route("/api/v1/groups", get(groups))
        .with_state(script.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let org: reqwest::Url = base.parse().unwrap();
    let key = SigningKey::from_pem(testing::CLIENT_EC.private_pem).unwrap();
    let app = ServiceApp::new(&org, "0oaScripted".into(), None, key, true).unwrap();
    let client = OktaClient::new(org, Credentials::ServiceApp(Box::new(app)), 2).unwrap();
    let state = client.read_source(&SourceScope::default()).await.unwrap();
    server.abort();

    assert_eq!(state.users.len(), 2, "both pages read");
    assert_eq!(
        state.users[0].profile["favourite"].to_string(),
        "7",
        "custom attributes kept"
    );
    let s = script.lock().unwrap();
    // One challenge, then page one; the rotated nonce is used on page two without a new challenge.
    assert_eq!(s.user_requests, 3);
    let nonces: Vec<Option<&str>> = s.proofs.iter().map(|p| p["nonce"].as_str()).collect();
    assert_eq!(nonces, [None, Some("nonce-1"), Some("nonce-2")]);
    for p in &s.proofs {
        assert_eq!(p["htm"], "GET");
        assert_eq!(
            p["htu"],
            format!("{base}/api/v1/users"),
            "htu without the query"
        );
        assert!(p["iat"].is_i64() && p["jti"].is_string());
        assert!(p["ath"].is_string());
    }
    let jtis: std::collections::BTreeSet<&str> = s
        .proofs
        .iter()
        .map(|p| p["jti"].as_str().unwrap())
        .collect();
    assert_eq!(jtis.len(), s.proofs.len(), "a fresh jti per proof");
    // The rejected token was renewed once and the groups read retried.
    assert_eq!(s.tokens_issued, 2);
    assert_eq!(s.group_requests, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_that_is_not_an_okta_org_says_to_check_org_url() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new()
        .route(
            "/api/v1/users",
            get(|| async { axum::response::Html("<html>Welcome to Acme</html>") }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "not here") });
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = OktaClient::new(
        base.parse().unwrap(),
        Credentials::ApiToken(okta365::secret::Secret::new("00tok")),
        2,
    )
    .unwrap();
    let err = client
        .read_source(&SourceScope::default())
        .await
        .err()
        .unwrap();
    server.abort();
    assert!(
        err.message.contains("check `okta.org_url`"),
        "{}",
        err.message
    );
    assert!(err.message.contains(&base), "{}", err.message);
}
