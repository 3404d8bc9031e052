//! OAuth 2.0 client credentials against the Microsoft identity platform:
//! `POST {login_url}/{tenant}/oauth2/v2.0/token` with a client secret or a
//! signed client assertion (RS256 JWT with the certificate's `x5t`
//! thumbprint). The token is cached and renewed five minutes before it
//! expires, or at once after Graph answers 401.
//!
//! The secret, the private key and the token live in [`Secret`]s and never
//! reach a log line or an error message.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::Value;
use sha1::{Digest, Sha1};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::error::{Details, GraphError};
use crate::secret::Secret;

/// The scope of app-only Graph tokens: every application permission granted.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// Renew this long before the token expires (or a fifth of its lifetime,
/// when that is shorter).
const RENEW_MARGIN: Duration = Duration::from_secs(300);

/// When a token issued now with `lifetime` should be replaced.
fn renew_at(now: Instant, lifetime: Duration) -> Instant {
    now + lifetime.saturating_sub(RENEW_MARGIN.min(lifetime / 5))
}

/// How the app proves who it is.
pub enum Credential {
    /// A client secret.
    Secret(Secret),
    /// A certificate registered on the app, and its private key.
    Certificate {
        /// base64url SHA-1 thumbprint of the DER certificate (`x5t`).
        thumbprint: String,
        /// The RSA private key.
        key: EncodingKey,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Credential::Secret([redacted])"),
            Self::Certificate { thumbprint, .. } => {
                write!(
                    f,
                    "Credential::Certificate(x5t {thumbprint}, key [redacted])"
                )
            }
        }
    }
}

impl Credential {
    /// A certificate credential from PEM texts (the certificate, and its RSA
    /// private key in PKCS#1 or PKCS#8).
    pub fn certificate(cert_pem: &str, key_pem: &Secret) -> Result<Self, String> {
        let der = certificate_der(cert_pem)?;
        let key = EncodingKey::from_rsa_pem(key_pem.expose().as_bytes())
            .map_err(|e| format!("the private key is not an RSA key in PEM: {e}"))?;
        Ok(Self::Certificate {
            thumbprint: URL_SAFE_NO_PAD.encode(Sha1::digest(&der)),
            key,
        })
    }
}

/// The DER bytes of the first `CERTIFICATE` block of a PEM text.
fn certificate_der(pem: &str) -> Result<Vec<u8>, String> {
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = pem
        .find(begin)
        .ok_or("no `-----BEGIN CERTIFICATE-----` block in the certificate file")?
        + begin.len();
    let end = pem[start..]
        .find("-----END CERTIFICATE-----")
        .ok_or("the certificate block has no END line")?;
    let body: String = pem[start..start + end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|e| format!("the certificate is not valid base64: {e}"))
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// Where tokens come from, and the one cached.
pub struct TokenSource {
    token_url: String,
    client_id: String,
    credential: Credential,
    /// The token and when to renew it.
    cached: Mutex<Option<(Secret, Instant)>>,
}

impl TokenSource {
    /// A source for `tenant` at `login_url`.
    pub fn new(login_url: &str, tenant: &str, client_id: &str, credential: Credential) -> Self {
        Self {
            token_url: format!(
                "{}/{tenant}/oauth2/v2.0/token",
                login_url.trim_end_matches('/')
            ),
            client_id: client_id.to_owned(),
            credential,
            cached: Mutex::new(None),
        }
    }

    /// A valid token: the cached one, or a new one when it is close to expiry.
    pub async fn token(&self, http: &reqwest::Client) -> Result<Secret, GraphError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() < *expires
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.fetch(http).await?;
        *cached = Some((token.clone(), renew_at(Instant::now(), lifetime)));
        Ok(token)
    }

    /// Drops the cached token if it is `refused` (Graph answered 401 to it);
    /// a newer token another request already fetched is kept.
    pub async fn invalidate(&self, refused: &Secret) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|(t, _)| t.expose() == refused.expose())
        {
            *cached = None;
        }
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<(Secret, Duration), GraphError> {
        let what = format!("getting a Graph token from {}", self.token_url);
        let mut form: Vec<(&str, String)> = vec![
            ("client_id", self.client_id.clone()),
            ("scope", GRAPH_SCOPE.to_owned()),
            ("grant_type", "client_credentials".to_owned()),
        ];
        match &self.credential {
            Credential::Secret(secret) => form.push(("client_secret", secret.expose().to_owned())),
            Credential::Certificate { thumbprint, key } => {
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                form.push(("client_assertion", self.assertion(thumbprint, key)?));
            }
        }
        tracing::debug!(url = %self.token_url, "requesting an access token");
        let response = http
            .post(&self.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| GraphError::transport(&what, &e))?;
        let status = response.status().as_u16();
        let body: Value = response
            .json()
            .await
            .map_err(|e| GraphError::transport(&what, &e))?;
        if !(200..300).contains(&status) {
            let e = GraphError::from_response(&what, status, None, &body);
            let hint = token_hint(&e.code, &e.message);
            return Err(e.with_hint(hint));
        }
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                GraphError::unexpected(
                    &what,
                    "the token endpoint answered without an `access_token`",
                )
            })?;
        let lifetime = body
            .get("expires_in")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(3599);
        tracing::debug!(expires_in = lifetime, "access token issued");
        Ok((Secret::new(token), Duration::from_secs(lifetime)))
    }

    fn assertion(&self, thumbprint: &str, key: &EncodingKey) -> Result<String, GraphError> {
        let now = jiff::Timestamp::now().as_second();
        let claims = AssertionClaims {
            aud: &self.token_url,
            iss: &self.client_id,
            sub: &self.client_id,
            jti: random_guid(),
            nbf: now,
            iat: now,
            exp: now + 600,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.x5t = Some(thumbprint.to_owned());
        jsonwebtoken::encode(&header, &claims, key).map_err(|e| {
            GraphError::from(Details {
                what: "signing the client assertion".into(),
                status: None,
                code: "assertion".into(),
                message: e.to_string(),
                request_id: None,
                retry_after: None,
                permission: None,
                hint: Some("check `private_key_file`: an RSA private key in PEM".into()),
            })
        })
    }
}

/// A random GUID (the assertion's `jti`).
pub fn random_guid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]]),
    )
}

/// What to do about a token endpoint error, by OAuth `error` and AADSTS code.
fn token_hint(code: &str, message: &str) -> String {
    let aadsts = |n: &str| message.starts_with(&format!("AADSTS{n}:"));
    if aadsts("7000215") {
        "the client secret is wrong: check the secret okta365 reads (`client_secret_env` / `client_secret_file`)".into()
    } else if aadsts("7000222") {
        "the client secret has expired: create a new one on the app registration".into()
    } else if aadsts("700016") {
        "no app with this `client_id` in the tenant: check `m365.auth.client_id` and `m365.tenant_id`".into()
    } else if aadsts("90002") {
        "no such tenant: check `m365.tenant_id`".into()
    } else if aadsts("700027") {
        "the client assertion's signature was refused: upload the certificate to the app registration".into()
    } else {
        match code {
            "invalid_client" | "unauthorized_client" => {
                "check `m365.auth`: the client id and its credential".into()
            }
            "invalid_scope" => format!("the scope `{GRAPH_SCOPE}` was refused"),
            _ => "check `m365.tenant_id` and `m365.auth`".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_der_reads_the_first_block() {
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n";
        assert_eq!(certificate_der(pem).unwrap(), vec![0, 1, 2, 3]);
        assert!(certificate_der("nothing").is_err());
    }

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        let now = Instant::now();
        let hour = Duration::from_secs(3599);
        assert_eq!(renew_at(now, hour), now + hour - Duration::from_secs(300));
        let short = Duration::from_secs(10);
        assert_eq!(renew_at(now, short), now + Duration::from_secs(8));
    }

    #[test]
    fn guid_has_the_right_shape() {
        let g = random_guid();
        assert_eq!(g.len(), 36);
        assert_eq!(g.matches('-').count(), 4);
        assert_ne!(g, random_guid());
    }

    #[test]
    fn hints_follow_aadsts_codes() {
        assert!(
            token_hint("invalid_client", "AADSTS7000215: Invalid client secret")
                .contains("secret is wrong")
        );
        assert!(
            token_hint("invalid_request", "AADSTS90002: Tenant not found").contains("tenant_id")
        );
    }

    #[test]
    fn assertion_is_rs256_with_the_sha1_thumbprint_and_verifies() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/graph/");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).unwrap();
        let credential =
            Credential::certificate(&read("test-cert.pem"), &Secret::new(read("test-key.pem")))
                .unwrap();
        let source = TokenSource::new("https://login.example/", "t1", "c1", credential);
        let Credential::Certificate { thumbprint, key } = &source.credential else {
            panic!("a certificate");
        };
        // openssl x509 -outform DER | openssl sha1 -binary | base64url
        assert_eq!(thumbprint, "v6gvxvgf1RC-hot3hkjcbEYZNTM");
        let jwt = source.assertion(thumbprint, key).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.x5t.as_deref(), Some(thumbprint.as_str()));
        let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        validation.set_audience(&["https://login.example/t1/oauth2/v2.0/token"]);
        validation.set_issuer(&["c1"]);
        let public =
            jsonwebtoken::DecodingKey::from_rsa_pem(read("test-pubkey.pem").as_bytes()).unwrap();
        let claims = jsonwebtoken::decode::<serde_json::Value>(&jwt, &public, &validation)
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], "c1");
        assert!(claims["exp"].as_i64().unwrap() > claims["nbf"].as_i64().unwrap());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = Credential::Secret(Secret::new("s3cr3t-value"));
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
