//! Splunk HTTP Event Collector: each batch is one `POST` to
//! `/services/collector/event` with the events stacked one after another,
//! authenticated by `Authorization: Splunk <token>` (token from the
//! environment). Each event carries the record's time, the host, source,
//! sourcetype and (optionally) index.

use serde_json::{Value, json};

use super::SendError;
use super::config::SplunkHec;
use crate::secret::Secret;

/// A HEC sender.
pub struct Splunk {
    client: reqwest::Client,
    endpoint: String,
    token: Secret,
    index: Option<String>,
    source: String,
    sourcetype: String,
    host: String,
}

impl Splunk {
    /// Reads the token from the environment and makes the client.
    pub fn new(config: &SplunkHec, host: &str) -> Result<Self, String> {
        let token = Secret::from_env(&config.token_env).map_err(|e| e.to_string())?;
        Ok(Self {
            client: super::http::client(config.timeout_seconds, config.ca_file.as_deref())?,
            endpoint: format!(
                "{}/services/collector/event",
                config.url.trim_end_matches('/')
            ),
            token,
            index: config.index.clone(),
            source: config.source.clone(),
            sourcetype: config.sourcetype.clone(),
            host: host.to_owned(),
        })
    }

    /// The request body: one HEC event per record, stacked.
    pub fn body(&self, batch: &[Value]) -> String {
        let mut body = String::new();
        for record in batch {
            let mut event = json!({
                "host": self.host,
                "source": self.source,
                "sourcetype": self.sourcetype,
                "event": record,
            });
            if let Some(time) = epoch_seconds(record) {
                event["time"] = json!(time);
            }
            if let Some(index) = &self.index {
                event["index"] = json!(index);
            }
            body.push_str(&event.to_string());
            body.push('\n');
        }
        body
    }

    /// Sends one batch.
    pub async fn send(&self, batch: &[Value]) -> Result<(), SendError> {
        let response = self
            .client
            .post(&self.endpoint)
            .header("Authorization", format!("Splunk {}", self.token.expose()))
            .header("Content-Type", "application/json")
            .body(self.body(batch))
            .send()
            .await
            .map_err(super::http::transport)?;
        super::http::judge(response).await
    }
}

/// The record's `time` as seconds since the epoch (milliseconds kept).
fn epoch_seconds(record: &Value) -> Option<f64> {
    let t: jiff::Timestamp = record.get("time")?.as_str()?.parse().ok()?;
    Some(t.as_millisecond() as f64 / 1000.0)
}
