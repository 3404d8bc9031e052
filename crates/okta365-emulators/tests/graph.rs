//! Drives the Graph emulator over real HTTP (reqwest, loopback only) and
//! checks it answers the way Microsoft Graph does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use okta365_emulators::graph::{
    AppRegistration, CertificateCredential, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID, FaultKind, FaultOptions, GraphEmulator, GraphOptions, InjectedFault,
    LagOptions, ThrottleOptions,
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
            if let Some(link) = &next {
                assert!(!page.is_empty(), "a page with a nextLink must not be empty");
                assert!(
                    link.starts_with(&self.emu.url()),
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

const ADAM: &str = "7bbf51cc-f599-43bd-82ce-6d4a6e065232";
const ALL_STAFF: &str = "275f29ee-f9f1-45ff-82e4-033591bd819e";
const SALES_LEADERSHIP_DL: &str = "2942d444-af56-4dd9-b46b-265c6b1a74b0";
const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const ENTERPRISEPACK: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const FLOW_FREE: &str = "f30db892-07e9-47e9-837c-80727f46fd3d";

fn new_user(upn: &str) -> Value {
    json!({"accountEnabled": true, "displayName": upn, "mailNickname": upn.split('@').next().unwrap(),
        "userPrincipalName": upn, "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}})
}

fn directory_object(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

async fn sku(t: &Tenant, sku_id: &str) -> Value {
    let (_, body) = t.get("/subscribedSkus").await;
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuId"] == sku_id)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn users_are_created_validated_updated_deleted_and_restored() {
    let t = Tenant::start(acme_options()).await;
    let mut body = new_user("new.person@acme.example");
    body.as_object_mut().unwrap().remove("passwordProfile");
    let (status, err) = t.post("/users", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("passwordProfile"),
        "{err}"
    );
    let mut weak = new_user("new.person@acme.example");
    weak["passwordProfile"]["password"] = json!("password");
    assert_eq!(t.post("/users", weak).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        t.post("/users", new_user("x@unverified.example")).await.0,
        StatusCode::BAD_REQUEST
    );

    let (status, created) = t.post("/users", new_user("new.person@acme.example")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(created.get("passwordProfile").is_none());
    let (status, conflict) = t.post("/users", new_user("NEW.PERSON@acme.example")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(conflict["error"]["code"], "Request_BadRequest");
    assert_eq!(
        conflict["error"]["message"],
        "Another object with the same value for property userPrincipalName already exists."
    );
    assert_eq!(conflict["error"]["details"][0]["code"], "ObjectConflict");
    assert_eq!(
        conflict["error"]["details"][0]["target"],
        "userPrincipalName"
    );

    let (status, _) = t
        .patch(
            &format!("/users/{id}"),
            json!({"jobTitle": "Analyst", "usageLocation": "GB",
            "onPremisesExtensionAttributes": {"extensionAttribute15": "00uNEW"}}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, user) = t.get("/users/new.person@acme.example?$select=jobTitle,usageLocation,onPremisesExtensionAttributes").await;
    assert_eq!(user["jobTitle"], "Analyst");
    assert_eq!(
        user["onPremisesExtensionAttributes"]["extensionAttribute15"],
        "00uNEW"
    );
    assert_eq!(
        user["onPremisesExtensionAttributes"]["extensionAttribute1"],
        Value::Null
    );
    assert_eq!(
        t.patch(&format!("/users/{id}"), json!({"jobTitle": null}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, user) = t.get(&format!("/users/{id}")).await;
    assert_eq!(user["jobTitle"], Value::Null);
    let (status, _) = t
        .patch(&format!("/users/{id}"), json!({"favouriteColour": "teal"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = t
        .patch(
            &format!("/users/{id}"),
            json!({"employeeId": "12345678901234567"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "employeeId is at most 16 characters"
    );

    assert_eq!(
        t.delete(&format!("/users/{id}")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&format!("/users/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, restored) = t
        .post(&format!("/directory/deletedItems/{id}/restore"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored["@odata.type"], "#microsoft.graph.user");
    assert_eq!(t.get(&format!("/users/{id}")).await.0, StatusCode::OK);
    t.emu.stop().await;
}

#[tokio::test]
async fn member_adds_and_removes_follow_graph_rules() {
    let t = Tenant::start(acme_options()).await;
    let (_, a) = t.post("/users", new_user("member.a@acme.example")).await;
    let (_, b) = t.post("/users", new_user("member.b@acme.example")).await;
    let (_, c) = t.post("/users", new_user("member.c@acme.example")).await;
    let (a, b, c) = (
        a["id"].as_str().unwrap(),
        b["id"].as_str().unwrap(),
        c["id"].as_str().unwrap(),
    );
    let refs = format!("/groups/{ALL_STAFF}/members/$ref");
    assert_eq!(
        t.post(&refs, directory_object(a)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, dup) = t.post(&refs, directory_object(a)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        dup["error"]["message"],
        "One or more added object references already exist for the following modified properties: 'members'."
    );
    let (status, _) = t
        .post(
            &refs,
            directory_object("00000000-0000-4000-8000-000000000000"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // PATCH binds: at most 20, all or nothing.
    let bind = |ids: &[&str]| json!({"members@odata.bind": ids.iter().map(|i| format!("https://graph.microsoft.com/v1.0/directoryObjects/{i}")).collect::<Vec<_>>()});
    let many: Vec<String> = (0..21)
        .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (status, body) = t.patch(&format!("/groups/{ALL_STAFF}"), bind(&many)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = t
        .patch(&format!("/groups/{ALL_STAFF}"), bind(&[b, a]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a is already a member");
    let members = ids(&t
        .all_pages(&format!("/groups/{ALL_STAFF}/members?$select=id"))
        .await);
    assert!(
        !members.contains(&b.to_owned()),
        "nothing was added when one bind failed"
    );
    assert_eq!(
        t.patch(&format!("/groups/{ALL_STAFF}"), bind(&[b, c]))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let members = ids(&t
        .all_pages(&format!("/groups/{ALL_STAFF}/members?$select=id"))
        .await);
    assert!(members.contains(&b.to_owned()) && members.contains(&c.to_owned()));

    assert_eq!(
        t.delete(&format!("/groups/{ALL_STAFF}/members/{a}/$ref"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.delete(&format!("/groups/{ALL_STAFF}/members/{a}/$ref"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&format!("/users/{a}")).await.0,
        StatusCode::OK,
        "removing a reference keeps the user"
    );

    // Without /$ref, Graph deletes the member object itself.
    assert_eq!(
        t.delete(&format!("/groups/{ALL_STAFF}/members/{b}"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.get(&format!("/users/{b}")).await.0,
        StatusCode::NOT_FOUND,
        "the user was deleted"
    );

    // Exchange-managed groups can't be changed through Graph.
    let (status, _) = t
        .post(
            &format!("/groups/{SALES_LEADERSHIP_DL}/members/$ref"),
            directory_object(c),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    t.emu.stop().await;
}

#[tokio::test]
async fn deleting_through_members_without_ref_needs_user_write_permission() {
    let opts = GraphOptions {
        apps: vec![AppRegistration {
            roles: [
                "GroupMember.ReadWrite.All".to_owned(),
                "User.Read.All".to_owned(),
            ]
            .into(),
            ..AppRegistration::default()
        }],
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    let (_, members) = t
        .get(&format!("/groups/{ALL_STAFF}/members?$select=id&$top=1"))
        .await;
    let member = members["value"][0]["id"].as_str().unwrap();
    assert_eq!(
        t.delete(&format!("/groups/{ALL_STAFF}/members/{member}"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(t.get(&format!("/users/{member}")).await.0, StatusCode::OK);
    t.emu.stop().await;
}

#[tokio::test]
async fn licences_need_a_usage_location_free_seats_and_direct_assignment() {
    let t = Tenant::start(acme_options()).await;
    let (_, created) = t.post("/users", new_user("lic.test@acme.example")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let assign = |sku: &str| json!({"addLicenses": [{"skuId": sku, "disabledPlans": []}], "removeLicenses": []});
    let (status, err) = t
        .post(&format!("/users/{id}/assignLicense"), assign(E3))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["message"],
        "License assignment cannot be done for user with invalid usage location."
    );

    let before = sku(&t, E3).await["consumedUnits"].as_i64().unwrap();
    t.patch(&format!("/users/{id}"), json!({"usageLocation": "GB"}))
        .await;
    let (status, user) = t
        .post(&format!("/users/{id}/assignLicense"), assign(E3))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["id"], json!(id));
    assert_eq!(
        sku(&t, E3).await["consumedUnits"].as_i64().unwrap(),
        before + 1
    );
    let (_, user) = t
        .get(&format!(
            "/users/{id}?$select=assignedLicenses,licenseAssignmentStates"
        ))
        .await;
    assert_eq!(user["assignedLicenses"][0]["skuId"], E3);
    assert_eq!(
        user["licenseAssignmentStates"][0]["assignedByGroup"],
        Value::Null
    );

    // ENTERPRISEPACK: 10 seats, 3 used. Seven more fit; the eighth doesn't.
    let mut last = StatusCode::OK;
    let mut last_body = Value::Null;
    for n in 0..8 {
        let (_, u) = t
            .post("/users", new_user(&format!("seat{n}@acme.example")))
            .await;
        let uid = u["id"].as_str().unwrap().to_owned();
        t.patch(&format!("/users/{uid}"), json!({"usageLocation": "US"}))
            .await;
        (last, last_body) = t
            .post(
                &format!("/users/{uid}/assignLicense"),
                assign(ENTERPRISEPACK),
            )
            .await;
        if n < 7 {
            assert_eq!(last, StatusCode::OK, "seat {n}: {last_body}");
        }
    }
    assert_eq!(last, StatusCode::BAD_REQUEST);
    assert!(
        last_body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not have any available licenses")
    );
    let pack = sku(&t, ENTERPRISEPACK).await;
    assert_eq!(pack["consumedUnits"], pack["prepaidUnits"]["enabled"]);

    // eac47095 holds E3 through the "Licensing - E3" group and FLOW_FREE directly.
    let inherited = "eac47095-3ed8-4be5-95ae-b24b0e15ba87";
    let remove = |sku: &str| json!({"addLicenses": [], "removeLicenses": [sku]});
    let (status, err) = t
        .post(&format!("/users/{inherited}/assignLicense"), remove(E3))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        err["error"]["message"],
        "User license is inherited from a group membership and it cannot be removed directly from the user."
    );
    let flow_before = sku(&t, FLOW_FREE).await["consumedUnits"].as_i64().unwrap();
    assert_eq!(
        t.post(
            &format!("/users/{inherited}/assignLicense"),
            remove(FLOW_FREE)
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        sku(&t, FLOW_FREE).await["consumedUnits"].as_i64().unwrap(),
        flow_before - 1
    );
    let (status, _) = t
        .post(
            &format!("/users/{ADAM}/assignLicense"),
            json!({"addLicenses": []}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "removeLicenses is required"
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn batch_items_have_their_own_status_headers_and_dependencies() {
    let t = Tenant::start(acme_options()).await;
    let (status, body) = t
        .post(
            "/$batch",
            json!({"requests": [
                {"id": "1", "method": "GET", "url": format!("/users/{ADAM}?$select=id,displayName")},
                {"id": "2", "method": "PATCH", "url": format!("/users/{ADAM}"), "headers": {"Content-Type": "application/json"}, "body": {"jobTitle": "Staff Engineer"}},
                {"id": "3", "method": "GET", "url": "/users/nobody@acme.example"},
                {"id": "4", "dependsOn": ["3"], "method": "POST", "url": format!("/users/{ADAM}/revokeSignInSessions")},
                {"id": "5", "dependsOn": ["2"], "method": "GET", "url": format!("https://graph.microsoft.com/v1.0/users/{ADAM}?$select=jobTitle")},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let responses = body["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 5);
    let item = |id: &str| responses.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(item("1")["status"], 200);
    assert_eq!(item("1")["body"]["displayName"], "Adam Kowalski");
    assert!(
        item("1")["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(item("2")["status"], 204);
    assert_eq!(item("3")["status"], 404);
    assert_eq!(
        item("3")["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    assert_eq!(item("4")["status"], 424);
    assert_eq!(item("5")["status"], 200);
    assert_eq!(item("5")["body"]["jobTitle"], "Staff Engineer");

    let too_many: Vec<Value> = (0..21)
        .map(|n| json!({"id": n.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    assert_eq!(
        t.post("/$batch", json!({"requests": too_many})).await.0,
        StatusCode::BAD_REQUEST
    );
    let dup = json!({"requests": [{"id": "a", "method": "GET", "url": "/users"}, {"id": "A", "method": "GET", "url": "/groups"}]});
    assert_eq!(t.post("/$batch", dup).await.0, StatusCode::BAD_REQUEST);
    let no_type = json!({"requests": [{"id": "1", "method": "PATCH", "url": format!("/users/{ADAM}"), "body": {"jobTitle": "x"}}]});
    assert_eq!(t.post("/$batch", no_type).await.0, StatusCode::BAD_REQUEST);
    let counts = t.emu.request_counts();
    assert_eq!(
        counts["GET /v1.0/users/{id}"], 3,
        "batch items are counted under their own path"
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_then_recovers() {
    let opts = GraphOptions {
        throttle: ThrottleOptions {
            resource_units: 4,
            window: Duration::from_millis(1500),
            ..ThrottleOptions::default()
        },
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    let send = || t.http.get(t.url("/users")).bearer_auth(&t.token).send();
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: f64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0.0 && retry_after <= 1.5, "{retry_after}");
    assert!(
        resp.headers()["x-ms-throttle-scope"]
            .to_str()
            .unwrap()
            .starts_with("Tenant_Application/")
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    tokio::time::sleep(Duration::from_secs_f64(retry_after + 0.05)).await;
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);

    // Batch items are throttled one by one, inside a 200.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let requests: Vec<Value> = (0..4)
        .map(|n| json!({"id": n.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    let (status, body) = t.post("/$batch", json!({"requests": requests})).await;
    assert_eq!(status, StatusCode::OK);
    let throttled: Vec<&Value> = body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 429)
        .collect();
    assert_eq!(throttled.len(), 2, "{body}");
    assert!(throttled[0]["headers"]["Retry-After"].is_string());
    assert!(t.emu.request_counts()["status 429"] >= 3);
    t.emu.stop().await;
}

#[tokio::test]
async fn replication_lag_hides_new_objects_then_shows_them() {
    let opts = GraphOptions {
        lag: LagOptions {
            new_object: Duration::from_millis(400),
            team_after_group: Duration::from_millis(800),
            members_after_group: Duration::ZERO,
            team_provisioning: Duration::ZERO,
        },
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    let (status, created) = t.post("/users", new_user("lagged@acme.example")).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = t.get(&format!("/users/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let listed = ids(&t.all_pages("/users?$select=id").await);
    assert!(!listed.contains(&id));
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(t.get(&format!("/users/{id}")).await.0, StatusCode::OK);
    assert!(ids(&t.all_pages("/users?$select=id").await).contains(&id));

    let (status, group) = t
        .post(
            "/groups",
            json!({"displayName": "Lagged", "mailNickname": "lagged", "mailEnabled": true,
            "securityEnabled": false, "groupTypes": ["Unified"],
            "owners@odata.bind": [format!("https://graph.microsoft.com/v1.0/users/{ADAM}")]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(t.get(&format!("/groups/{gid}")).await.0, StatusCode::OK);
    let (status, _) = t
        .send(
            reqwest::Method::PUT,
            &format!("/groups/{gid}/team"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the team backend has not seen the group yet"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, team) = t
        .send(
            reqwest::Method::PUT,
            &format!("/groups/{gid}/team"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    assert_eq!(team["id"], json!(gid));
    t.emu.stop().await;
}

#[tokio::test]
async fn team_members_are_added_listed_and_removed() {
    let t = Tenant::start(acme_options()).await;
    let engineering = "1c440b77-712a-470e-bf93-82bfeb76b887";
    let (status, members) = t.get(&format!("/teams/{engineering}/members")).await;
    assert_eq!(status, StatusCode::OK);
    let owners: Vec<&Value> = members["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["roles"] == json!(["owner"]))
        .collect();
    assert_eq!(owners.len(), 2);
    let (_, u) = t.post("/users", new_user("teammate@acme.example")).await;
    let uid = u["id"].as_str().unwrap().to_owned();
    let (status, member) = t
        .post(&format!("/teams/{engineering}/members"), json!({"@odata.type": "#microsoft.graph.aadUserConversationMember",
            "roles": [], "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{uid}')")}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    assert_eq!(member["userId"], json!(uid));
    let membership = member["id"].as_str().unwrap().to_owned();
    assert_ne!(membership, uid, "membership ids are not user ids");
    let group_members = ids(&t
        .all_pages(&format!("/groups/{engineering}/members?$select=id"))
        .await);
    assert!(
        group_members.contains(&uid),
        "team members are group members"
    );

    let (status, bulk) = t
        .post(&format!("/teams/{engineering}/members/add"), json!({"values": [
            {"@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": [], "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{ADAM}')")},
            {"@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": [], "user@odata.bind": "https://graph.microsoft.com/v1.0/users('00000000-0000-4000-8000-000000000000')"},
        ]}))
        .await;
    assert_eq!(status.as_u16(), 207, "{bulk}");
    assert_eq!(bulk["value"][0]["error"], Value::Null);
    assert_eq!(bulk["value"][1]["error"]["code"], "NotFound");

    assert_eq!(
        t.delete(&format!("/teams/{engineering}/members/{membership}"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let group_members = ids(&t
        .all_pages(&format!("/groups/{engineering}/members?$select=id"))
        .await);
    assert!(!group_members.contains(&uid));
    assert_eq!(
        t.get(&format!("/teams/{ALL_STAFF}/members")).await.0,
        StatusCode::NOT_FOUND,
        "All Staff has no team"
    );
    t.emu.stop().await;
}

#[tokio::test]
async fn invitations_create_guests_and_sessions_and_managers_work() {
    let t = Tenant::start(acme_options()).await;
    let (status, inv) = t
        .post("/invitations", json!({"invitedUserEmailAddress": "sam@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com", "sendInvitationMessage": false}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["status"], "PendingAcceptance");
    let upn = inv["invitedUser"]["userPrincipalName"].as_str().unwrap();
    assert_eq!(upn, "sam_partner.example#EXT#@acmeexample.onmicrosoft.com");
    let (status, guest) = t.get("/users/sam_partner.example%23EXT%23@acmeexample.onmicrosoft.com?$select=userType,externalUserState,mail").await;
    assert_eq!(status, StatusCode::OK, "{guest}");
    assert_eq!(guest["userType"], "Guest");
    assert_eq!(guest["externalUserState"], "PendingAcceptance");

    let (status, revoked) = t
        .post(&format!("/users/{ADAM}/revokeSignInSessions"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["value"], true);

    let manager = "eac47095-3ed8-4be5-95ae-b24b0e15ba87";
    assert_eq!(
        t.get(&format!("/users/{ADAM}/manager")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = t
        .send(
            reqwest::Method::PUT,
            &format!("/users/{ADAM}/manager/$ref"),
            Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{manager}")})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, m) = t.get(&format!("/users/{ADAM}/manager?$select=id")).await;
    assert_eq!(m["id"], manager);
    assert_eq!(m["@odata.type"], "#microsoft.graph.user");
    t.emu.stop().await;
}

#[tokio::test]
async fn delta_rounds_report_changes_removals_and_membership() {
    let opts = GraphOptions {
        delta_page_size: 25,
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    // Initial round: pages of 25, then a deltaLink.
    let mut next = t.url("/users/delta?$select=displayName,jobTitle");
    let mut seen = Vec::new();
    let delta_link = loop {
        let (status, body) = t.get(&next).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        seen.extend(body["value"].as_array().unwrap().iter().cloned());
        if let Some(link) = body["@odata.deltaLink"].as_str() {
            break link.to_owned();
        }
        next = body["@odata.nextLink"].as_str().unwrap().to_owned();
        assert!(seen.len() <= 60);
    };
    assert_eq!(seen.len(), 60);
    assert_eq!(
        seen[0].as_object().unwrap().len(),
        3,
        "id + the selection: {}",
        seen[0]
    );

    let (_, created) = t.post("/users", new_user("delta.new@acme.example")).await;
    let new_id = created["id"].as_str().unwrap().to_owned();
    t.patch(
        &format!("/users/{ADAM}"),
        json!({"jobTitle": "Principal Engineer"}),
    )
    .await;
    let gone = "eac47095-3ed8-4be5-95ae-b24b0e15ba87";
    t.delete(&format!("/users/{gone}")).await;
    let (_, body) = t.get(&delta_link).await;
    let changes = body["value"].as_array().unwrap();
    assert_eq!(changes.len(), 3, "{body}");
    let find = |id: &str| changes.iter().find(|c| c["id"] == id).unwrap();
    assert_eq!(find(ADAM)["jobTitle"], "Principal Engineer");
    assert_eq!(find(&new_id)["displayName"], "delta.new@acme.example");
    assert_eq!(find(gone)["@removed"]["reason"], "changed");
    let next_link = body["@odata.deltaLink"].as_str().unwrap().to_owned();
    let (_, body) = t.get(&next_link).await;
    assert_eq!(body["value"], json!([]), "nothing changed since");

    let (status, body) = t.get("/users/delta?$deltatoken=not-a-token").await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    t.emu.expire_delta_tokens();
    assert_eq!(t.get(&next_link).await.0, StatusCode::GONE);

    // Groups: members@delta reports additions and removals.
    let (_, body) = t
        .get("/groups/delta?$select=displayName,members&$deltatoken=latest")
        .await;
    assert_eq!(body["value"], json!([]));
    let link = body["@odata.deltaLink"].as_str().unwrap().to_owned();
    t.post(
        &format!("/groups/{ALL_STAFF}/members/$ref"),
        directory_object(&new_id),
    )
    .await;
    let staff = read_json(&acme().join("m365/group-members.json"));
    let leaver = staff[ALL_STAFF][0].as_str().unwrap();
    assert_eq!(
        t.delete(&format!("/groups/{ALL_STAFF}/members/{leaver}/$ref"))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, body) = t.get(&link).await;
    let items = body["value"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    let delta = items[0]["members@delta"].as_array().unwrap();
    let entry = |id: &str| delta.iter().find(|m| m["id"] == id).unwrap();
    assert!(entry(&new_id).get("@removed").is_none());
    assert_eq!(entry(leaver)["@removed"]["reason"], "deleted");
    t.emu.stop().await;
}

async fn statuses(seed: u64, n: usize) -> Vec<u16> {
    let opts = GraphOptions {
        seed,
        faults: FaultOptions {
            server_error_rate: 0.3,
            ..FaultOptions::default()
        },
        ..acme_options()
    };
    let t = Tenant::start(opts).await;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(t.get(&format!("/users/{ADAM}")).await.0.as_u16());
    }
    t.emu.stop().await;
    out
}

#[tokio::test]
async fn faults_are_reproducible_for_a_seed() {
    let a = statuses(42, 40).await;
    assert_eq!(a, statuses(42, 40).await);
    assert_ne!(a, statuses(43, 40).await);
    assert!(a.iter().any(|s| *s == 503 || *s == 504), "{a:?}");
    assert!(a.iter().filter(|s| **s == 200).count() > 15, "{a:?}");
}

#[tokio::test]
async fn faults_reset_connections_and_hold_responses() {
    let t = Tenant::start(GraphOptions {
        faults: FaultOptions {
            reset_rate: 1.0,
            ..FaultOptions::default()
        },
        ..acme_options()
    })
    .await;
    let err = t
        .http
        .get(t.url("/users"))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    t.emu.stop().await;

    let t = Tenant::start(GraphOptions {
        faults: FaultOptions {
            timeout_rate: 1.0,
            timeout_hold: Duration::from_secs(5),
            ..FaultOptions::default()
        },
        ..acme_options()
    })
    .await;
    let err = t
        .http
        .get(t.url("/users"))
        .bearer_auth(&t.token)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    t.emu.stop().await;

    // Batch items fail on their own, the same way for the same seed.
    let run = || async {
        let t = Tenant::start(GraphOptions {
            seed: 9,
            faults: FaultOptions {
                batch_item_failure_rate: 0.5,
                ..FaultOptions::default()
            },
            ..acme_options()
        })
        .await;
        let requests: Vec<Value> = (0..20)
            .map(|n| json!({"id": n.to_string(), "method": "GET", "url": format!("/users/{ADAM}")}))
            .collect();
        let (status, body) = t.post("/$batch", json!({"requests": requests})).await;
        assert_eq!(status, StatusCode::OK);
        let mut by_id: Vec<(u64, u64)> = body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().parse().unwrap(),
                    r["status"].as_u64().unwrap(),
                )
            })
            .collect();
        by_id.sort();
        t.emu.stop().await;
        by_id
    };
    let first = run().await;
    assert_eq!(first, run().await);
    assert!(
        first.iter().any(|(_, s)| *s >= 500) && first.iter().any(|(_, s)| *s == 200),
        "{first:?}"
    );
}

#[tokio::test]
async fn the_emulator_refuses_non_loopback_addresses() {
    let err = GraphEmulator::start_on(acme_options(), "0.0.0.0:0".parse().unwrap())
        .await
        .err()
        .unwrap();
    assert!(err.contains("loopback"), "{err}");
}

#[tokio::test]
async fn a_gateway_timeout_on_a_write_may_have_committed() {
    let t = Tenant::start(GraphOptions {
        seed: 3,
        faults: FaultOptions {
            server_error_rate: 1.0,
            ..FaultOptions::default()
        },
        ..acme_options()
    })
    .await;
    let mut saw = (false, false);
    for n in 0..30 {
        let title = format!("Title {n}");
        let (status, _) = t
            .patch(&format!("/users/{ADAM}"), json!({"jobTitle": title}))
            .await;
        let stored = t.emu.state()["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == ADAM)
            .unwrap()["jobTitle"]
            .clone();
        match status.as_u16() {
            504 => {
                assert_eq!(
                    stored,
                    json!(title),
                    "a 504 is answered after the write committed"
                );
                saw.0 = true;
            }
            503 => {
                assert_ne!(
                    stored,
                    json!(title),
                    "a 503 is answered before doing anything"
                );
                saw.1 = true;
            }
            other => panic!("every request faults at rate 1.0, got {other}"),
        }
    }
    assert_eq!(saw, (true, true));
    t.emu.stop().await;
}

#[tokio::test]
async fn expired_tokens_get_401() {
    let t = Tenant::start(GraphOptions {
        token_lifetime: Duration::from_secs(1),
        ..acme_options()
    })
    .await;
    assert_eq!(t.get("/users?$top=1").await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = t.get("/users?$top=1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    t.emu.stop().await;
}

#[tokio::test]
async fn new_groups_refuse_members_for_a_while_and_teams_limit_adds() {
    let t = Tenant::start(GraphOptions {
        lag: LagOptions {
            members_after_group: Duration::from_millis(300),
            ..LagOptions::default()
        },
        throttle: ThrottleOptions {
            team_member_adds_per_minute: Some(2),
            ..ThrottleOptions::default()
        },
        ..acme_options()
    })
    .await;
    let (status, group) = t
        .post(
            "/groups",
            json!({"displayName": "Ops", "mailNickname": "ops2026", "mailEnabled": false,
            "securityEnabled": true, "groupTypes": []}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    assert_eq!(group["mail"], Value::Null);
    let gid = group["id"].as_str().unwrap().to_owned();
    let (status, body) = t
        .post(
            &format!("/groups/{gid}/members/$ref"),
            directory_object(ADAM),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "The source resource object or one of the objects being referenced don't exist."
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        t.post(
            &format!("/groups/{gid}/members/$ref"),
            directory_object(ADAM)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, users) = t
        .get(&format!(
            "/groups/{gid}/members/microsoft.graph.user?$select=id"
        ))
        .await;
    assert_eq!(ids(users["value"].as_array().unwrap()), [ADAM]);
    let (status, _) = t
        .post(
            "/groups",
            json!({"displayName": "Ops again", "mailNickname": "OPS2026", "mailEnabled": true,
            "securityEnabled": false, "groupTypes": ["Unified"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "mailNickname is taken");

    let engineering = "1c440b77-712a-470e-bf93-82bfeb76b887";
    let add = |user: &str| {
        json!({"@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": [],
            "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{user}')")})
    };
    let path = format!("/teams/{engineering}/members");
    assert_eq!(t.post(&path, add(ADAM)).await.0, StatusCode::CREATED);
    assert_eq!(t.post(&path, add(ADAM)).await.0, StatusCode::CREATED);
    let resp = t
        .http
        .post(t.url(&path))
        .bearer_auth(&t.token)
        .json(&add(ADAM))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: f64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 50.0 && wait <= 60.0, "{wait}");
    t.emu.stop().await;
}

#[tokio::test]
async fn post_teams_runs_as_an_operation_and_guests_redeem() {
    let t = Tenant::start(GraphOptions {
        lag: LagOptions {
            team_provisioning: Duration::from_millis(300),
            ..LagOptions::default()
        },
        ..acme_options()
    })
    .await;
    let resp = t
        .http
        .post(t.url("/teams"))
        .bearer_auth(&t.token)
        .json(&json!({"template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
            "displayName": "Launch", "description": "Launch squad",
            "members": [{"@odata.type": "#microsoft.graph.aadUserConversationMember", "roles": ["owner"],
                "user@odata.bind": format!("https://graph.microsoft.com/v1.0/users('{ADAM}')")}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/teams('") && location.contains("/operations('"),
        "{location}"
    );
    assert!(resp.text().await.unwrap().is_empty());
    let (_, op) = t.get(&location).await;
    assert_eq!(op["status"], "inProgress", "{op}");
    let team = op["targetResourceId"].as_str().unwrap().to_owned();
    assert_eq!(
        t.get(&format!("/teams/{team}")).await.0,
        StatusCode::NOT_FOUND
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (_, op) = t.get(&location).await;
    assert_eq!(op["status"], "succeeded");
    let (status, body) = t.get(&format!("/teams/{team}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["displayName"], "Launch");
    let (_, group) = t.get(&format!("/groups/{team}")).await;
    assert_eq!(group["resourceProvisioningOptions"], json!(["Team"]));
    let (status, _) = t
        .post("/teams", json!({"template@odata.bind": "https://graph.microsoft.com/v1.0/teamsTemplates('standard')",
            "group@odata.bind": format!("https://graph.microsoft.com/v1.0/groups('{ALL_STAFF}')"), "displayName": "x"}))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "displayName is inherited from the group"
    );

    let (_, inv) = t
        .post("/invitations", json!({"invitedUserEmailAddress": "kim@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com"}))
        .await;
    let guest = inv["invitedUser"]["id"].as_str().unwrap().to_owned();
    assert!(t.emu.redeem_invitation(&guest));
    let (_, user) = t
        .get(&format!("/users/{guest}?$select=externalUserState"))
        .await;
    assert_eq!(user["externalUserState"], "Accepted");
    t.emu.stop().await;
}

#[tokio::test]
async fn injected_faults_hit_exactly_the_requests_they_name() {
    let t = Tenant::start(acme_options()).await;
    let user = format!("/users/{ADAM}");
    t.emu.inject(InjectedFault {
        endpoint: "GET /v1.0/users/{id}".into(),
        fault: FaultKind::TooManyRequests {
            retry_after: Duration::from_millis(1500),
        },
        times: 2,
    });
    for _ in 0..2 {
        let resp = t
            .http
            .get(t.url(&user))
            .bearer_auth(&t.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()["retry-after"], "1.5");
        assert_eq!(
            t.get("/groups?$top=1").await.0,
            StatusCode::OK,
            "other endpoints are untouched"
        );
    }
    assert_eq!(t.get(&user).await.0, StatusCode::OK);

    t.emu.inject(InjectedFault {
        endpoint: "PATCH /v1.0/users/{id}".into(),
        fault: FaultKind::GatewayTimeoutAfterCommit,
        times: 1,
    });
    assert_eq!(
        t.patch(&user, json!({"jobTitle": "Committed"})).await.0,
        StatusCode::GATEWAY_TIMEOUT
    );
    assert_eq!(
        t.get(&format!("{user}?$select=jobTitle")).await.1["jobTitle"],
        "Committed"
    );

    t.emu.inject(InjectedFault {
        endpoint: "*".into(),
        fault: FaultKind::ConnectionReset,
        times: 1,
    });
    assert!(
        t.http
            .get(t.url(&user))
            .bearer_auth(&t.token)
            .send()
            .await
            .is_err()
    );
    assert_eq!(t.get(&user).await.0, StatusCode::OK);

    t.emu.inject(InjectedFault {
        endpoint: "GET /v1.0/users/{id}".into(),
        fault: FaultKind::ServiceUnavailable,
        times: 1,
    });
    let (status, body) = t
        .post("/$batch", json!({"requests": [{"id": "1", "method": "GET", "url": user}, {"id": "2", "method": "GET", "url": "/groups?$top=1"}]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let item = |id: &str| {
        body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(item("1"), 503);
    assert_eq!(item("2"), 200);
    assert_eq!(t.emu.request_counts()["fault 429"], 2);
    t.emu.stop().await;
}
