//! The live Microsoft Graph client: app-only auth (`auth`), one HTTP layer
//! with retries, pacing and error parsing (`http`, `error`), JSON batching
//! (`batch`), and the reads that build a [`LiveState`](crate::model::state::LiveState)
//! (`read`). Writes are in [`crate::apply::graph`].

pub mod auth;
pub mod batch;
pub mod delta;
pub mod error;
pub mod http;
pub mod read;

use std::sync::Arc;
use std::sync::atomic::Ordering;

pub use error::GraphError;
pub use http::{Http, Limits, Request, Response};

use crate::config::{GraphAuth, M365Side};
use crate::secret::Secret;
use auth::{Credential, TokenSource};

/// A connection to one tenant's Graph. Cheap to clone (shared state).
#[derive(Clone)]
pub struct GraphClient {
    /// The HTTP layer (shared with the apply backend).
    pub http: Arc<Http>,
    /// Where delta links are kept (`None`: full reads every time).
    pub delta_state: Option<std::path::PathBuf>,
}

impl GraphClient {
    /// A client for `tenant` with `credential`.
    pub fn new(
        graph_url: &str,
        login_url: &str,
        tenant: &str,
        client_id: &str,
        credential: Credential,
        limits: Limits,
    ) -> Result<Self, String> {
        let tokens = TokenSource::new(login_url, tenant, client_id, credential);
        Ok(Self {
            http: Arc::new(Http::new(graph_url, tokens, limits)?),
            delta_state: None,
        })
    }

    /// A client from the config's `m365` section (a live connection).
    /// Reads the secret or key now, so a missing one fails before any request.
    pub fn from_config(side: &M365Side) -> Result<Self, String> {
        let tenant = side
            .tenant_id
            .as_deref()
            .ok_or("`m365.tenant_id` is not set")?;
        let auth = side.auth.as_ref().ok_or("`m365.auth` is not set")?;
        let credential = credential(auth)?;
        let limits = Limits {
            concurrency: side.limits.concurrency,
            writes_per_second: side.limits.writes_per_second,
            max_attempts: side.limits.max_attempts,
            timeout: std::time::Duration::from_secs_f64(side.limits.timeout_seconds.max(0.1)),
            ..Limits::default()
        };
        let mut client = Self::new(
            &side.graph_url,
            &side.login_url,
            tenant,
            &auth.client_id,
            credential,
            limits,
        )?;
        client.delta_state = side.delta_state.clone();
        Ok(client)
    }

    /// HTTP requests sent so far (retries included).
    pub fn request_count(&self) -> u64 {
        self.http.stats.requests.load(Ordering::Relaxed)
    }

    /// `(requests, retries, throttled)` so far.
    pub fn stats(&self) -> (u64, u64, u64) {
        let s = &self.http.stats;
        (
            s.requests.load(Ordering::Relaxed),
            s.retries.load(Ordering::Relaxed),
            s.throttled.load(Ordering::Relaxed),
        )
    }
}

fn credential(auth: &GraphAuth) -> Result<Credential, String> {
    if let Some(var) = &auth.client_secret_env {
        return Secret::from_env(var)
            .map(Credential::Secret)
            .map_err(|e| format!("the Graph client secret: {e}"));
    }
    if let Some(path) = &auth.client_secret_file {
        return Secret::from_file(path)
            .map(Credential::Secret)
            .map_err(|e| format!("the Graph client secret: {e}"));
    }
    match (&auth.certificate_file, &auth.private_key_file) {
        (Some(cert), Some(key)) => {
            let cert_text = std::fs::read_to_string(cert)
                .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?;
            let key = Secret::from_file(key).map_err(|e| format!("the private key: {e}"))?;
            Credential::certificate(&cert_text, &key)
                .map_err(|e| format!("{}: {e}", cert.display()))
        }
        _ => Err("`m365.auth` names no credential".into()),
    }
}
