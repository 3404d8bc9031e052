//! What the HTTP sinks share: a client with the sink's timeouts (and its
//! CA, when given), and how a response or a transport error is judged.
//! Errors never show the URL, which for chat webhooks is itself a secret.

use std::path::Path;
use std::time::Duration;

use super::SendError;

/// A client for one sink.
pub fn client(timeout_seconds: f64, ca_file: Option<&Path>) -> Result<reqwest::Client, String> {
    let timeout = Duration::from_secs_f64(timeout_seconds.max(0.1));
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("okta365/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{} holds no PEM certificate: {e}", path.display()))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {}", e.without_url()))
}

/// A transport error, without the URL, with its causes.
pub fn transport(err: reqwest::Error) -> SendError {
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    SendError {
        message,
        retry: true,
    }
}

/// Judges a response: 2xx is delivered; 408, 429 and 5xx are worth
/// another attempt; anything else (a bad token, a bad request) is not.
pub async fn judge(response: reqwest::Response) -> Result<(), SendError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let shown: String = body.chars().take(200).collect();
    Err(SendError {
        message: format!("HTTP {status}: {}", shown.trim()),
        retry: status.as_u16() == 408 || status.as_u16() == 429 || status.is_server_error(),
    })
}
