//! The live, read-only Okta client.
//!
//! okta365 asks for `okta.users.read okta.groups.read okta.logs.read` and
//! never writes to Okta. Modules, one job each: [`auth`] (API token or service
//! app, DPoP), [`http`] (one GET with pacing, retries and errors), [`read`]
//! (the state a plan needs), [`logs`] (the System Log), with [`keys`],
//! [`dpop`], [`ratelimit`] and [`error`] under them.

pub mod auth;
pub mod dpop;
pub mod error;
pub mod http;
pub mod incremental;
pub mod keys;
pub mod logs;
pub mod ratelimit;
pub mod read;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use reqwest::Url;
use tracing::Instrument;

pub use error::OktaError;

use super::{OktaReader, ReadError};
use crate::config::{OktaAuth, OktaSide};
use crate::model::state::{SourceScope, SourceState};
use crate::secret::Secret;
use auth::{Credentials, ServiceApp};
use http::Http;
use keys::SigningKey;

/// A live Okta org.
#[derive(Clone)]
pub struct OktaClient {
    http: Arc<Http>,
    /// `okta.incremental_state` and how old a full read may be.
    incremental: Option<(std::path::PathBuf, jiff::SignedDuration)>,
}

impl OktaClient {
    /// A client from the config's live connection (`org_url` and `auth`).
    pub fn from_config(side: &OktaSide) -> Result<Self, OktaError> {
        let (Some(org_url), Some(auth)) = (&side.org_url, &side.auth) else {
            return Err(OktaError::fatal(
                "`okta` has no live connection: set `org_url` and `auth` in the config",
            ));
        };
        let org = Url::parse(org_url)
            .map_err(|e| OktaError::fatal(format!("`okta.org_url` `{org_url}`: {e}")))?;
        let credentials = credentials(&org, auth)?;
        let mut client = Self::new(org, credentials, side.concurrency)?;
        client.incremental = side.incremental_state.clone().map(|dir| {
            let hours = i64::from(side.full_read_every_hours);
            (dir, jiff::SignedDuration::from_hours(hours))
        });
        Ok(client)
    }

    /// A client for `org` with these credentials.
    pub fn new(org: Url, credentials: Credentials, concurrency: usize) -> Result<Self, OktaError> {
        Ok(Self {
            http: Arc::new(Http::new(org, credentials, concurrency)?),
            incremental: None,
        })
    }

    /// The HTTP layer (for the System Log reader).
    /// Reads incrementally, keeping the last read in `dir` and reading
    /// everything afresh when the last full read is older than `full_every`.
    pub fn with_incremental_state(
        mut self,
        dir: std::path::PathBuf,
        full_every: jiff::SignedDuration,
    ) -> Self {
        self.incremental = Some((dir, full_every));
        self
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Reads the state a plan needs; a failed page fails the whole read.
    pub async fn read_source(&self, scope: &SourceScope) -> Result<SourceState, OktaError> {
        let span = tracing::info_span!(
            "okta.read",
            org = %self.http.org(),
            users = tracing::field::Empty,
            groups = tracing::field::Empty,
            member_lists = tracing::field::Empty,
            requests = tracing::field::Empty,
            retries = tracing::field::Empty,
            throttled = tracing::field::Empty,
            paced_ms = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = match &self.incremental {
            Some((dir, full_every)) => {
                let now = jiff::Timestamp::now();
                incremental::read_source(&self.http, scope, dir, now, *full_every)
                    .instrument(span.clone())
                    .await
                    .map(|(state, kind)| {
                        span.in_scope(|| tracing::info!(kind = ?kind, "okta read kind"));
                        state
                    })
            }
            None => {
                read::read_source(&self.http, scope)
                    .instrument(span.clone())
                    .await
            }
        };
        let stats = &self.http.stats;
        span.record("requests", stats.requests.load(Ordering::Relaxed));
        span.record("retries", stats.retries.load(Ordering::Relaxed));
        span.record("throttled", stats.throttled.load(Ordering::Relaxed));
        span.record("paced_ms", stats.paced_ms.load(Ordering::Relaxed));
        span.record("elapsed_ms", started.elapsed().as_millis() as u64);
        if let Ok(state) = &result {
            span.record("users", state.users.len());
            span.record("groups", state.groups.len());
            span.record("member_lists", state.members.len());
        }
        span.in_scope(|| match &result {
            Ok(_) => tracing::info!("okta read finished"),
            Err(e) => tracing::info!(error = %e.message.lines().next().unwrap_or_default(), "okta read failed"),
        });
        result
    }
}

impl OktaReader for OktaClient {
    async fn read(&self, scope: &SourceScope) -> Result<SourceState, ReadError> {
        self.read_source(scope)
            .await
            .map_err(|e| ReadError::Api(e.message))
    }
}

/// Reads the secret or key the config names.
fn credentials(org: &Url, auth: &OktaAuth) -> Result<Credentials, OktaError> {
    let secret_error =
        |e: crate::secret::SecretError| OktaError::fatal(format!("Okta API token: {e}"));
    if let Some(var) = &auth.token_env {
        return Ok(Credentials::ApiToken(
            Secret::from_env(var).map_err(secret_error)?,
        ));
    }
    if let Some(file) = &auth.token_file {
        return Ok(Credentials::ApiToken(
            Secret::from_file(file).map_err(secret_error)?,
        ));
    }
    match (&auth.client_id, &auth.private_key_file) {
        (Some(client_id), Some(key_file)) => {
            let key = SigningKey::load(key_file)?;
            let app = ServiceApp::new(org, client_id.clone(), auth.key_id.clone(), key, auth.dpop)?;
            Ok(Credentials::ServiceApp(Box::new(app)))
        }
        _ => Err(OktaError::fatal(
            "`okta.auth` needs `token_env`, `token_file`, or `client_id` with `private_key_file`",
        )),
    }
}
