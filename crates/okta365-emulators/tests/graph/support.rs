//! Helpers shared by the Graph emulator tests: a started tenant with a
//! token, bounded paging, fixtures from the example tenant.

pub use std::collections::BTreeSet;
pub use std::path::{Path, PathBuf};
pub use std::time::Duration;

pub use okta365_emulators::graph::{
    AppRegistration, CertificateCredential, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID, FaultKind, FaultOptions, GraphEmulator, GraphOptions, InjectedFault,
    LagOptions, ThrottleOptions,
};
pub use reqwest::StatusCode;
pub use serde_json::{Value, json};

pub fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

pub fn acme_options() -> GraphOptions {
    GraphOptions {
        snapshot: Some(acme()),
        ..GraphOptions::default()
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub async fn token_response(emu: &GraphEmulator, form: &[(&str, &str)]) -> reqwest::Response {
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

pub async fn token_for(emu: &GraphEmulator, client_id: &str, secret: &str) -> String {
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
pub struct Tenant {
    pub emu: GraphEmulator,
    pub token: String,
    pub http: reqwest::Client,
}

impl Tenant {
    pub async fn start(opts: GraphOptions) -> Self {
        let emu = GraphEmulator::start(opts).await.unwrap();
        let token = token_for(&emu, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET).await;
        Self {
            emu,
            token,
            http: client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/v1.0{path}", self.emu.url())
        }
    }

    pub async fn send(
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

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Follows `@odata.nextLink` to the end (at most 100 pages); returns every item.
    pub async fn all_pages(&self, path: &str) -> Vec<Value> {
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

pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub const ADAM: &str = "7bbf51cc-f599-43bd-82ce-6d4a6e065232";
pub const ALL_STAFF: &str = "275f29ee-f9f1-45ff-82e4-033591bd819e";
pub const SALES_LEADERSHIP_DL: &str = "2942d444-af56-4dd9-b46b-265c6b1a74b0";
pub const E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
pub const ENTERPRISEPACK: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
pub const FLOW_FREE: &str = "f30db892-07e9-47e9-837c-80727f46fd3d";

pub fn new_user(upn: &str) -> Value {
    json!({"accountEnabled": true, "displayName": upn, "mailNickname": upn.split('@').next().unwrap(),
        "userPrincipalName": upn, "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"}})
}

pub fn directory_object(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

pub async fn sku(t: &Tenant, sku_id: &str) -> Value {
    let (_, body) = t.get("/subscribedSkus").await;
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuId"] == sku_id)
        .unwrap()
        .clone()
}
