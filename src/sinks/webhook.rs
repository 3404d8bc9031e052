//! A generic JSON webhook: each batch is `POST`ed as
//! `{"source": "okta365", "records": [ … ]}`, with an optional bearer token
//! from the environment.

use serde_json::{Value, json};

use super::SendError;
use super::config::Webhook;
use crate::secret::Secret;

/// A webhook sender.
pub struct WebhookSender {
    client: reqwest::Client,
    url: String,
    token: Option<Secret>,
}

impl WebhookSender {
    /// Reads the token (if any) and makes the client.
    pub fn new(config: &Webhook) -> Result<Self, String> {
        let token = match &config.bearer_token_env {
            Some(var) => Some(Secret::from_env(var).map_err(|e| e.to_string())?),
            None => None,
        };
        Ok(Self {
            client: super::http::client(config.timeout_seconds, None)?,
            url: config.url.clone(),
            token,
        })
    }

    /// Sends one batch.
    pub async fn send(&self, batch: &[Value]) -> Result<(), SendError> {
        let mut request = self
            .client
            .post(&self.url)
            .json(&json!({"source": "okta365", "records": batch}));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.map_err(super::http::transport)?;
        super::http::judge(response).await
    }
}
