//! Credentials: an API token (`Authorization: SSWS …`) or an OAuth 2.0
//! service app (client credentials with `private_key_jwt`, optionally DPoP).
//!
//! Service-app tokens are fetched from `{org}/oauth2/v1/token`, cached until
//! shortly before they expire, and fetched again when Okta rejects one. DPoP
//! nonces from any answer (`DPoP-Nonce`) replace the stored one, so rotation
//! is followed without a failed request.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use jsonwebtoken::jwk::Jwk;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, Url};
use serde::Deserialize;
use tokio::sync::Mutex as AsyncMutex;

use super::dpop::{AssertionClaims, ProofClaims, sign_assertion, sign_proof};
use super::error::{Context, ErrorBody, ErrorKind, OktaError, from_response};
use super::keys::{SigningKey, random_hex};
use crate::secret::Secret;

/// The scopes okta365 asks for: read-only.
pub const SCOPES: &str = "okta.users.read okta.groups.read okta.logs.read";

/// How okta365 proves who it is.
pub enum Credentials {
    /// An API token, sent as `SSWS <token>`.
    ApiToken(Secret),
    /// An OAuth 2.0 service app.
    ServiceApp(Box<ServiceApp>),
}

/// A service app and its cached access token.
pub struct ServiceApp {
    /// The client id.
    pub client_id: String,
    /// The `kid` of the registered public key, if configured.
    pub key_id: Option<String>,
    /// The client-assertion key.
    pub key: SigningKey,
    /// The DPoP key (a fresh one per run) and its public JWK, when DPoP is on.
    pub dpop: Option<(SigningKey, Jwk)>,
    token_url: Url,
    nonce: Mutex<Option<String>>,
    token: AsyncMutex<Option<AccessToken>>,
    fetched: std::sync::atomic::AtomicU64,
}

/// A cached access token.
#[derive(Clone)]
struct AccessToken {
    /// Which fetch this token came from (1, 2, …), to forget only a rejected one.
    serial: u64,
    value: Secret,
    /// `DPoP` or `Bearer`, as the server said.
    scheme: &'static str,
    renew_at: Instant,
}

/// The token endpoint's success answer.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
}

/// The headers that authenticate one request: `Authorization` and, with DPoP, `DPoP`.
pub struct Authorization {
    /// The headers.
    pub headers: HeaderMap,
    /// The access token's serial, for [`Credentials::forget_token`] (0 for API tokens).
    pub token_serial: u64,
}

impl ServiceApp {
    /// A service app for the org at `org`.
    pub fn new(
        org: &Url,
        client_id: String,
        key_id: Option<String>,
        key: SigningKey,
        dpop: bool,
    ) -> Result<Self, OktaError> {
        let token_url = org
            .join("/oauth2/v1/token")
            .map_err(|e| OktaError::fatal(format!("bad org URL: {e}")))?;
        Ok(Self {
            client_id,
            key_id,
            key,
            dpop: if dpop {
                let key = SigningKey::generate_p256()?;
                let jwk = key.public_jwk()?;
                Some((key, jwk))
            } else {
                None
            },
            token_url,
            nonce: Mutex::new(None),
            token: AsyncMutex::new(None),
            fetched: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Remembers a nonce the server sent.
    pub fn observe_nonce(&self, headers: &HeaderMap) {
        if let Some(n) = headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
            *self.nonce.lock().expect("nonce lock") = Some(n.to_owned());
        }
    }

    fn current_nonce(&self) -> Option<String> {
        self.nonce.lock().expect("nonce lock").clone()
    }

    /// Drops the cached token if it is the one Okta rejected (not a newer one).
    pub async fn forget_token(&self, serial: u64) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.serial == serial) {
            *cached = None;
        }
    }

    /// A valid access token: the cached one, or a new one.
    async fn access_token(
        &self,
        client: &Client,
        ctx: &Context<'_>,
        pacer: &super::ratelimit::Pacer,
    ) -> Result<AccessToken, OktaError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(t.clone());
        }
        let token = self.fetch_token(client, ctx, pacer).await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// `POST /oauth2/v1/token`, answering one `use_dpop_nonce` challenge.
    async fn fetch_token(
        &self,
        client: &Client,
        ctx: &Context<'_>,
        pacer: &super::ratelimit::Pacer,
    ) -> Result<AccessToken, OktaError> {
        let ctx = Context {
            method: "POST",
            path: "/oauth2/v1/token",
            ..*ctx
        };
        let bucket = super::ratelimit::bucket_of("/oauth2/v1/token");
        let mut challenged = false;
        loop {
            let now = epoch_seconds();
            let assertion = sign_assertion(
                &self.key,
                self.key_id.as_deref(),
                &AssertionClaims::new(&self.client_id, &self.token_url, now, random_hex(16)?),
            )?;
            let form = [
                ("grant_type", "client_credentials"),
                ("scope", SCOPES),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ];
            let mut request = client.post(self.token_url.clone()).form(&form);
            if let Some((key, jwk)) = &self.dpop {
                let nonce = self.current_nonce();
                let claims = ProofClaims::new(
                    "POST",
                    &self.token_url,
                    None,
                    nonce.as_deref(),
                    now,
                    random_hex(16)?,
                );
                request = request.header("DPoP", sign_proof(key, jwk, &claims)?);
            }
            pacer.acquire(bucket).await;
            let started = Instant::now();
            let answer = request.send().await;
            let answer = match answer {
                Ok(a) => a,
                Err(e) => {
                    pacer.observe(bucket, None);
                    return Err(super::http::transport_error(&ctx, &e));
                }
            };
            pacer.observe(bucket, Some(answer.headers()));
            self.observe_nonce(answer.headers());
            let status = answer.status().as_u16();
            tracing::debug!(
                method = "POST",
                path = "/oauth2/v1/token",
                status,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "okta request"
            );
            let www = answer
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let retry_after = super::http::retry_after(status, answer.headers());
            let bytes = answer
                .bytes()
                .await
                .map_err(|e| super::http::transport_error(&ctx, &e))?;
            if (200..300).contains(&status) {
                let t: TokenAnswer = serde_json::from_slice(&bytes).map_err(|_| {
                    OktaError::fatal(format!(
                        "Okta POST /oauth2/v1/token: the answer is not a token response\n  hint: check `okta.org_url` (`{}`)",
                        ctx.org_url
                    ))
                })?;
                return Ok(self.cache_entry(t));
            }
            let body = ErrorBody::parse(&bytes).with_www_authenticate(www.as_deref());
            let err = from_response(&ctx, status, &body, retry_after);
            if err.kind == ErrorKind::NonceChallenge && self.dpop.is_some() && !challenged {
                challenged = true;
                continue;
            }
            return Err(err);
        }
    }

    fn cache_entry(&self, t: TokenAnswer) -> AccessToken {
        let lifetime = Duration::from_secs(t.expires_in.unwrap_or(3600));
        // Renew a minute early (or at half-life for short-lived tokens).
        let early = Duration::from_secs(60).min(lifetime / 2);
        let scheme = if t.token_type.eq_ignore_ascii_case("dpop") && self.dpop.is_some() {
            "DPoP"
        } else {
            "Bearer"
        };
        AccessToken {
            serial: self
                .fetched
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1,
            value: Secret::new(t.access_token),
            scheme,
            renew_at: Instant::now() + lifetime - early,
        }
    }
}

impl Credentials {
    /// Whether this is an API token (for hints).
    pub fn is_api_token(&self) -> bool {
        matches!(self, Self::ApiToken(_))
    }

    /// The service app's ids, for hints.
    pub fn app_ids(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Self::ApiToken(_) => (None, None),
            Self::ServiceApp(app) => (
                Some(app.client_id.as_str()),
                app.key_id.as_deref().or(app.key.kid.as_deref()),
            ),
        }
    }

    /// Headers that authenticate `method url`.
    pub async fn authorize(
        &self,
        client: &Client,
        ctx: &Context<'_>,
        pacer: &super::ratelimit::Pacer,
        method: &str,
        url: &Url,
    ) -> Result<Authorization, OktaError> {
        let mut headers = HeaderMap::new();
        let mut token_serial = 0;
        match self {
            Self::ApiToken(token) => {
                headers.insert(
                    reqwest::header::AUTHORIZATION,
                    sensitive(&format!("SSWS {}", token.expose()))?,
                );
            }
            Self::ServiceApp(app) => {
                let token = app.access_token(client, ctx, pacer).await?;
                token_serial = token.serial;
                headers.insert(
                    reqwest::header::AUTHORIZATION,
                    sensitive(&format!("{} {}", token.scheme, token.value.expose()))?,
                );
                if let (Some((key, jwk)), "DPoP") = (&app.dpop, token.scheme) {
                    let nonce = app.current_nonce();
                    let claims = ProofClaims::new(
                        method,
                        url,
                        Some(token.value.expose()),
                        nonce.as_deref(),
                        epoch_seconds(),
                        random_hex(16)?,
                    );
                    headers.insert("DPoP", sensitive(&sign_proof(key, jwk, &claims)?)?);
                }
            }
        }
        Ok(Authorization {
            headers,
            token_serial,
        })
    }

    /// Folds in an answer's headers (DPoP nonce rotation).
    pub fn observe(&self, headers: &HeaderMap) {
        if let Self::ServiceApp(app) = self {
            app.observe_nonce(headers);
        }
    }

    /// Forgets a rejected access token (by its serial); `false` for API tokens (nothing to renew).
    pub async fn forget_token(&self, serial: u64) -> bool {
        match self {
            Self::ApiToken(_) => false,
            Self::ServiceApp(app) => {
                app.forget_token(serial).await;
                true
            }
        }
    }
}

/// A header value marked sensitive (HTTP/2 never indexes it; debug output hides it).
fn sensitive(value: &str) -> Result<HeaderValue, OktaError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        OktaError::fatal("the credential contains characters not allowed in an HTTP header")
    })?;
    v.set_sensitive(true);
    Ok(v)
}

fn epoch_seconds() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
