//! Drives the Graph emulator over real HTTP (reqwest, loopback only) and
//! checks it answers the way Microsoft Graph does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use okta365_emulators::graph::{
    AppRegistration, CertificateCredential, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID, FaultOptions, GraphEmulator, GraphOptions, LagOptions, ThrottleOptions,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

fn acme_options() -> GraphOptions {
    GraphOptions {
        snapshot: Some(acme()),
        ..GraphOptions::default()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn token_response(emu: &GraphEmulator, form: &[(&str, &str)]) -> reqwest::Response {
    client()
        .post(format!(
            "{}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token",
            emu.url()
        ))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn token_for(emu: &GraphEmulator, client_id: &str, secret: &str) -> String {
    let resp = token_response(
        emu,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// A started emulator and a token of its default app.
struct Tenant {
    emu: GraphEmulator,
    token: String,
    http: reqwest::Client,
}

impl Tenant {
    async fn start(opts: GraphOptions) -> Self {
        let emu = GraphEmulator::start(opts).await.unwrap();
        let token = token_for(&emu, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).await;
        Self {
            emu,
            token,
            http: client(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/v1.0{path}", self.emu.url())
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Follows `@odata.nextLink` to the end (at most 100 pages); returns every item.
    async fn all_pages(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut next = Some(self.url(path));
        for _ in 0..100 {
            let Some(url) = next.take() else { break };
            let (status, body) = self.get(&url).await;
            assert_eq!(status, StatusCode::OK, "{url}: {body}");
            let page = body["value"].as_array().unwrap();
            next = body["@odata.nextLink"].as_str().map(str::to_owned);
            if next.is_some() {
                assert!(!page.is_empty(), "a page with a nextLink must not be empty");
                assert!(
                    next.as_ref().unwrap().starts_with(&self.emu.url()),
                    "nextLink is absolute on the emulator"
                );
            }
            items.extend(page.iter().cloned());
        }
        assert!(next.is_none(), "paging did not end within 100 pages");
        items
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn token_endpoint_issues_bearer_tokens_and_aadsts_errors() {
    let emu = GraphEmulator::start(acme_options()).await.unwrap();
    let good = [
        ("grant_type", "client_credentials"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let resp = token_response(&emu, &good).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    assert!(body["access_token"].as_str().unwrap().starts_with("eyJ"));

    let mut bad_secret = good;
    bad_secret[2] = ("client_secret", "wrong");
    let resp = token_response(&emu, &bad_secret).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    let description = body["error_description"].as_str().unwrap();
    assert!(description.starts_with("AADSTS7000215:"), "{description}");
    assert!(description.contains("\r\nTrace ID: "), "{description}");
    assert!(
        !description.contains("wrong"),
        "the secret never appears in errors"
    );
    assert!(body["trace_id"].is_string() && body["correlation_id"].is_string());

    let mut unknown_app = good;
    unknown_app[1] = ("client_id", "11111111-2222-3333-4444-555555555555");
    let body: Value = token_response(&emu, &unknown_app)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(body["error_codes"], json!([700016]));

    let mut bad_scope = good;
    bad_scope[3] = ("scope", "User.Read");
    let body: Value = token_response(&emu, &bad_scope).await.json().await.unwrap();
    assert_eq!(body["error"], "invalid_scope");

    let resp = client()
        .post(format!(
            "{}/not-a-tenant.example/oauth2/v2.0/token",
            emu.url()
        ))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error_codes"], json!([90002]));
    emu.stop().await;
}

#[tokio::test]
async fn client_assertions_are_verified_with_the_registered_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let public = std::fs::read_to_string(dir.join("test-app-key.pub.pem")).unwrap();
    let private = std::fs::read(dir.join("test-app-key.pem")).unwrap();
    let cert_app = "0c8e9a3f-1b2d-4c5e-8f70-9a1b2c3d4e5f";
    let opts = GraphOptions {
        apps: vec![AppRegistration {
            client_id: cert_app.into(),
            client_secret: None,
            certificate: Some(CertificateCredential {
                public_key_pem: public,
                thumbprint_sha1: Some("q2VK0B8mZk6o1L0Jc0V0wZk3Q2E".into()),
                thumbprint_sha256: None,
            }),
            roles: ["User.Read.All".to_owned()].into(),
        }],
        ..acme_options()
    };
    let emu = GraphEmulator::start(opts).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sign = |aud: &str, exp: u64, x5t: &str| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.x5t = Some(x5t.to_owned());
        let claims = json!({"aud": aud, "iss": cert_app, "sub": cert_app, "jti": "1", "nbf": now - 5, "iat": now - 5, "exp": exp});
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_rsa_pem(&private).unwrap(),
        )
        .unwrap()
    };
    let aud = format!("{}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", emu.url());
    let ask = |assertion: String| {
        let emu = &emu;
        async move {
            let resp = token_response(
                emu,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", cert_app),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                    ("scope", "https://graph.microsoft.com/.default"),
                ],
            )
            .await;
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = ask(sign(&aud, now + 300, "q2VK0B8mZk6o1L0Jc0V0wZk3Q2E")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let resp = client()
        .get(format!("{}/v1.0/users?$top=1", emu.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let (status, body) = ask(sign(&aud, now + 300, "some-other-thumbprint")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"], json!([700027]));
    let (status, body) = ask(sign(&aud, now - 120, "q2VK0B8mZk6o1L0Jc0V0wZk3Q2E")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"], json!([700024]));
    let (status, _) = ask(sign(
        "https://elsewhere.example/token",
        now + 300,
        "q2VK0B8mZk6o1L0Jc0V0wZk3Q2E",
    ))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    emu.stop().await;
}

#[tokio::test]
async fn graph_refuses_missing_bad_and_revoked_tokens_and_missing_permissions() {
    let reader = "7a1b2c3d-0000-4000-8000-00000000beef";
    let opts = GraphOptions {
        apps: vec![
            AppRegistration::default(),
            AppRegistration {
                client_id: reader.into(),
                client_secret: Some("reader-secret".into()),
                certificate: None,
                roles: ["User.Read.All".to_owned()].into(),
            },
        ],
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    let resp = t.http.get(t.url("/users")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().get("request-id").is_some());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let inner = &body["error"]["innerError"];
    assert!(inner["request-id"].is_string() && inner["client-request-id"].is_string());
    assert!(
        !inner["date"].as_str().unwrap().ends_with('Z'),
        "innerError.date has no zone"
    );

    let resp = t
        .http
        .get(t.url("/users"))
        .bearer_auth("eyJnot.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let reader_token = token_for(&t.emu, reader, "reader-secret").await;
    let get = |path: &str| t.http.get(t.url(path)).bearer_auth(&reader_token).send();
    assert_eq!(get("/users").await.unwrap().status(), StatusCode::OK);
    let resp = get("/groups").await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        body["error"]["message"],
        "Insufficient privileges to complete the operation."
    );

    t.emu.revoke_tokens();
    assert_eq!(
        get("/users").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn paging_returns_every_user_and_group_exactly_once() {
    let t = Tenant::start(acme_options()).await;
    let expected = read_json(&acme().join("m365/users.json"));
    let expected: BTreeSet<String> = ids(expected.as_array().unwrap()).into_iter().collect();
    for top in [1, 7, 59, 60, 999] {
        let users = t.all_pages(&format!("/users?$select=id&$top={top}")).await;
        let got = ids(&users);
        let unique: BTreeSet<String> = got.iter().cloned().collect();
        assert_eq!(got.len(), unique.len(), "$top={top}: an object came twice");
        assert_eq!(unique, expected, "$top={top}");
    }
    let (_, first) = t.get("/users").await;
    assert_eq!(
        first["value"].as_array().unwrap().len(),
        60,
        "default page is 100"
    );
    assert!(
        first["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/v1.0/$metadata#users")
    );
    let groups = t.all_pages("/groups?$top=4").await;
    assert_eq!(groups.len(), 15);
    let (status, body) = t.get("/users?$top=1000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    let (status, body) = t.get("/users?$skiptoken=made-up").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    t.emu.stop().await;
}

#[tokio::test]
async fn select_trims_to_the_selection_and_defaults_hide_the_rest() {
    let t = Tenant::start(acme_options()).await;
    let (_, body) = t
        .get("/users?%24select=displayName,accountEnabled&$top=3")
        .await;
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#users(displayName,accountEnabled)")
    );
    for user in body["value"].as_array().unwrap() {
        let keys: BTreeSet<&str> = user
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["accountEnabled", "displayName", "id"].into());
    }
    let (_, body) = t.get("/users/adam.kowalski@acme.example").await;
    assert_eq!(body["id"], "7bbf51cc-f599-43bd-82ce-6d4a6e065232");
    assert_eq!(
        body.as_object().unwrap().len(),
        12,
        "11 default properties + @odata.context: {body}"
    );
    assert!(body.get("accountEnabled").is_none() && body.get("usageLocation").is_none());
    let (_, body) = t
        .get("/users/7bbf51cc-f599-43bd-82ce-6d4a6e065232?$select=usageLocation,employeeId,city")
        .await;
    assert_eq!(body["usageLocation"], "DE");
    assert_eq!(body["employeeId"], "100098");
    assert_eq!(
        body["city"],
        Value::Null,
        "a known but unset property is null"
    );
    let (status, body) = t.get("/users?$select=favouriteColour").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("favouriteColour")
    );
    let (status, body) = t.get("/users/nobody@acme.example").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    t.emu.stop().await;
}

#[tokio::test]
async fn filters_match_like_graph_and_advanced_clauses_need_the_opt_in() {
    let t = Tenant::start(acme_options()).await;
    let (_, body) = t
        .get("/users?$filter=userPrincipalName eq 'ADAM.KOWALSKI@acme.example'&$select=id")
        .await;
    assert_eq!(
        ids(body["value"].as_array().unwrap()),
        ["7bbf51cc-f599-43bd-82ce-6d4a6e065232"]
    );
    let (_, body) = t
        .get("/users?$filter=mail eq 'adam.kowalski@acme.example'")
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    let (_, body) = t.get("/users?$filter=onPremisesExtensionAttributes/extensionAttribute15 eq '00uy4A1OnEdt3tShH4x7'").await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    let (_, body) = t
        .get("/users?$filter=id in ('7bbf51cc-f599-43bd-82ce-6d4a6e065232', '00000000-0000-0000-0000-000000000000')")
        .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    let (_, body) = t
        .get("/groups?$filter=mailNickname eq 'engineering'&$select=id,displayName")
        .await;
    assert_eq!(body["value"][0]["displayName"], "Engineering");

    let (status, body) = t.get("/users?$filter=userType ne 'Guest'").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    let resp = t
        .http
        .get(t.url("/users?$filter=userType ne 'Guest'&$count=true&$top=5"))
        .bearer_auth(&t.token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    let count = body["@odata.count"].as_u64().unwrap();
    let users = read_json(&acme().join("m365/users.json"));
    let members = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["userType"] != "Guest")
        .count();
    assert_eq!(count as usize, members);
    let (_, body) = t.get("/users?$count=true").await;
    assert!(
        body.get("@odata.count").is_none(),
        "$count without ConsistencyLevel is ignored"
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn members_and_owners_page_with_types_and_select() {
    let t = Tenant::start(acme_options()).await;
    let all_staff = "275f29ee-f9f1-45ff-82e4-033591bd819e";
    let expected = read_json(&acme().join("m365/group-members.json"));
    let expected: BTreeSet<String> = expected[all_staff]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let members = t
        .all_pages(&format!("/groups/{all_staff}/members?$select=id&$top=10"))
        .await;
    let got: BTreeSet<String> = ids(&members).into_iter().collect();
    assert_eq!(got.len(), members.len());
    assert_eq!(got, expected);
    for m in &members {
        assert_eq!(m["@odata.type"], "#microsoft.graph.user");
        assert_eq!(m.as_object().unwrap().len(), 2, "{m}");
    }
    let (_, owners) = t.get(&format!("/groups/{all_staff}/owners")).await;
    assert!(
        owners["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#directoryObjects")
    );
    assert_eq!(owners["value"].as_array().unwrap().len(), 2);
    assert!(owners["value"][0]["userPrincipalName"].is_string());
    let (status, _) = t
        .get("/groups/00000000-0000-0000-0000-000000000000/members")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    t.emu.stop().await;
}

#[tokio::test]
async fn subscribed_skus_come_as_graph_returns_them() {
    let t = Tenant::start(acme_options()).await;
    let (status, body) = t.get("/subscribedSkus").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["value"],
        read_json(&acme().join("m365/subscribedSkus.json"))
    );
    let (_, body) = t
        .get("/subscribedSkus?$select=skuPartNumber,consumedUnits")
        .await;
    assert_eq!(body["value"][0].as_object().unwrap().len(), 3);
    t.emu.stop().await;
}

#[tokio::test]
async fn write_snapshot_round_trips() {
    let t = Tenant::start(acme_options()).await;
    let out = tempfile::tempdir().unwrap();
    t.emu.write_snapshot(out.path()).unwrap();
    for file in [
        "users.json",
        "groups.json",
        "group-members.json",
        "group-owners.json",
        "subscribedSkus.json",
    ] {
        let original = read_json(&acme().join("m365").join(file));
        let written = read_json(&out.path().join("m365").join(file));
        if original.is_array() {
            let sort = |v: &Value| {
                let mut items = v.as_array().unwrap().clone();
                items.sort_by_key(|i| i["id"].as_str().unwrap_or("").to_owned());
                items
            };
            assert_eq!(sort(&written), sort(&original), "{file}");
        } else {
            assert_eq!(written, original, "{file}");
        }
    }
    let again = GraphEmulator::start(GraphOptions {
        snapshot: Some(out.path().to_path_buf()),
        ..GraphOptions::default()
    })
    .await
    .unwrap();
    assert_eq!(again.state(), t.emu.state());
    again.stop().await;
    t.emu.stop().await;
}

#[tokio::test]
async fn requests_are_counted_per_endpoint() {
    let t = Tenant::start(acme_options()).await;
    t.get("/users/7bbf51cc-f599-43bd-82ce-6d4a6e065232").await;
    t.get("/users/adam.kowalski@acme.example").await;
    t.get("/groups").await;
    let counts = t.emu.request_counts();
    assert_eq!(counts["GET /v1.0/users/{id}"], 2);
    assert_eq!(counts["GET /v1.0/groups"], 1);
    assert_eq!(counts["POST /{tenant}/oauth2/v2.0/token"], 1);
    assert_eq!(counts["total"], 4);
    let debug: Value = t
        .http
        .get(format!("{}/_emulator/requests", t.emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(debug["GET /v1.0/users/{id}"], 2);
    t.emu.stop().await;
}

#[allow(dead_code)]
fn _unused(_: FaultOptions, _: LagOptions, _: ThrottleOptions) {}
