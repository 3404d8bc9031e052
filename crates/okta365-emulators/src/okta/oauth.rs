//! `POST /oauth2/v1/token`, the org authorization server, for API Services
//! apps: `client_credentials` with a `private_key_jwt` client assertion
//! (RS256/384/512 or ES256/384), granted scopes only, and DPoP when the app
//! requires it (first a `use_dpop_nonce` challenge, then a `DPoP` token).

use std::collections::{HashMap, HashSet};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::app::{AppRef, lock};
use super::dpop;
use super::errors::OAuthError;
use super::options::{PublicKey, ServiceApp};

/// The assertion type Okta requires of service apps.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An issued access token.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Its granted scopes.
    pub scopes: Vec<String>,
    /// When it stops working.
    pub expires: Instant,
    /// For a DPoP-bound token, the thumbprint of its key.
    pub jkt: Option<String>,
}

/// Tokens, replay caches and the DPoP nonce.
#[derive(Debug)]
pub struct TokenStore {
    rng: ChaCha8Rng,
    /// Access tokens by value.
    pub issued: HashMap<String, Issued>,
    /// `jti`s of accepted client assertions.
    pub seen_assertions: HashSet<String>,
    /// `jti`s of accepted DPoP proofs.
    pub seen_proofs: HashSet<String>,
    /// The nonce token requests must echo.
    pub nonce: String,
    /// The nonce before it, still accepted until the next rotation.
    pub previous_nonce: Option<String>,
    /// When `nonce` was issued.
    pub nonce_issued: Instant,
}

impl TokenStore {
    /// An empty store whose tokens and nonce follow `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7430_6b65_6e73);
        let nonce = random_text(&mut rng, 43);
        Self {
            rng,
            issued: HashMap::new(),
            seen_assertions: HashSet::new(),
            seen_proofs: HashSet::new(),
            nonce,
            previous_nonce: None,
            nonce_issued: Instant::now(),
        }
    }

    /// Rotates the nonce when it is older than `lifetime`; returns the
    /// nonces accepted now (the current one and the one before it).
    pub fn nonces(
        &mut self,
        lifetime: std::time::Duration,
        now: Instant,
    ) -> (String, Option<String>) {
        let age = now.duration_since(self.nonce_issued);
        if age >= lifetime {
            let fresh = random_text(&mut self.rng, 43);
            let replaced = std::mem::replace(&mut self.nonce, fresh);
            // Idle for two lifetimes or more: the old nonce's grace is over too.
            self.previous_nonce = (age < lifetime * 2).then_some(replaced);
            self.nonce_issued = now;
        }
        (self.nonce.clone(), self.previous_nonce.clone())
    }
}

fn random_text(rng: &mut ChaCha8Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn invalid_client(why: impl Into<String>) -> OAuthError {
    OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", why)
}

fn bad_request(error: &'static str, why: impl Into<String>) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, error, why)
}

/// `POST /oauth2/v1/token`.
pub async fn token(State(app): State<AppRef>, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&app, &headers, &body) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn issue(app: &AppRef, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(bad_request(
            "invalid_request",
            "The request body must be application/x-www-form-urlencoded.",
        ));
    }
    let form = parse_form(body);
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // The texts below are the published examples of Okta's OAuth spec
    // (OAuthError400UnsupportedGrantType, …_MultipleClientCreds,
    // …_AssertionTypeInvalid, OAuthError401InvalidClient_NoCreds) and, for a
    // secret sent to the org authorization server, its service-app guide.
    if field("grant_type") != Some("client_credentials") {
        return Err(bad_request(
            "unsupported_grant_type",
            "The grant type in the request isn't supported.",
        ));
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case("basic "));
    let secret = field("client_secret").is_some();
    let assertion = field("client_assertion").is_some();
    if [basic, secret, assertion]
        .iter()
        .filter(|given| **given)
        .count()
        > 1
    {
        return Err(bad_request(
            "invalid_request",
            "Can't supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a `client_assertion` in the post body.",
        ));
    }
    if assertion && field("client_assertion_type") != Some(JWT_BEARER) {
        return Err(bad_request(
            "invalid_request",
            "The `client_assertion_type` is invalid.",
        ));
    }
    if !basic && !secret && !assertion {
        return Err(invalid_client("No client credentials found"));
    }
    if !assertion {
        return Err(invalid_client(
            "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method.",
        ));
    }
    let base = super::paging::base_url(headers);
    let token_url = format!("{base}/oauth2/v1/token");
    let assertion = field("client_assertion").unwrap_or_default();
    let (service_app, assertion_jti) = verify_assertion(app, assertion, &token_url)?;
    if field("client_id").is_some_and(|id| id != service_app.client_id) {
        return Err(invalid_client(
            "The client_id does not match the client_assertion's subject.",
        ));
    }
    let requested: Vec<String> = field("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if requested.is_empty() {
        return Err(bad_request("invalid_scope", "No scopes were requested."));
    }
    let refused: Vec<&str> = requested
        .iter()
        .filter(|s| !service_app.scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !refused.is_empty() {
        return Err(bad_request(
            "invalid_scope",
            format!(
                "The following scopes are not granted to the client: {}.",
                refused.join(" ")
            ),
        ));
    }
    let proof = headers.get("dpop").and_then(|v| v.to_str().ok());
    let bound = match proof {
        None if service_app.require_dpop => {
            return Err(bad_request(
                "invalid_dpop_proof",
                "The DPoP proof JWT header is missing.",
            ));
        }
        None => None,
        Some(proof) => Some(check_token_proof(app, &service_app, proof, &token_url)?),
    };
    let mut tokens = lock(&app.tokens);
    // Check both replay caches before spending either id.
    if assertion_jti
        .as_ref()
        .is_some_and(|jti| tokens.seen_assertions.contains(jti))
    {
        return Err(invalid_client(
            "The client_assertion token has already been used.",
        ));
    }
    if let Some((_, proof_jti)) = &bound
        && tokens.seen_proofs.contains(proof_jti)
    {
        return Err(bad_request(
            "invalid_dpop_proof",
            "The DPoP proof 'jti' has already been used.",
        ));
    }
    if let Some(jti) = assertion_jti {
        tokens.seen_assertions.insert(jti);
    }
    if let Some((_, proof_jti)) = &bound {
        tokens.seen_proofs.insert(proof_jti.clone());
    }
    let access_token = random_text(&mut tokens.rng, 48);
    let lifetime = app.options.token_lifetime;
    let jkt = bound.map(|(jkt, _)| jkt);
    let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
    tokens.issued.insert(
        access_token.clone(),
        Issued {
            scopes: requested.clone(),
            expires: Instant::now() + lifetime,
            jkt,
        },
    );
    let mut response = axum::Json(json!({
        "token_type": token_type,
        "expires_in": lifetime.as_secs(),
        "access_token": access_token,
        "scope": requested.join(" "),
    }))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Verifies a `private_key_jwt` assertion; returns the app and the assertion's `jti`.
fn verify_assertion(
    app: &AppRef,
    assertion: &str,
    token_url: &str,
) -> Result<(ServiceApp, Option<String>), OAuthError> {
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid_client("The client_assertion token is malformed."))?;
    let allowed = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::ES256,
        Algorithm::ES384,
    ];
    if !allowed.contains(&header.alg) {
        return Err(invalid_client(format!(
            "The client_assertion signature algorithm {:?} is not supported: use RS256, RS384, RS512, ES256 or ES384.",
            header.alg
        )));
    }
    let unverified: Value = jsonwebtoken::dangerous::insecure_decode::<Value>(assertion)
        .map(|d| d.claims)
        .map_err(|_| invalid_client("The client_assertion token is malformed."))?;
    let client_id = unverified["iss"].as_str().unwrap_or_default();
    let service_app = app
        .options
        .service_apps
        .iter()
        .find(|a| a.client_id == client_id)
        .cloned()
        .ok_or_else(|| invalid_client("The client_id in the client_assertion is not valid."))?;
    let key = decoding_key(&service_app.public_key, header.alg).map_err(|why| {
        invalid_client(format!(
            "The client's registered key cannot verify {:?}: {why}",
            header.alg
        ))
    })?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 30;
    let claims = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
        .map_err(|e| invalid_client(format!("The client_assertion token is invalid: {e}.")))?
        .claims;
    if claims["sub"].as_str() != Some(client_id) {
        return Err(invalid_client(
            "The client_assertion 'sub' claim must equal its 'iss' (the client_id).",
        ));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    if claims["exp"]
        .as_i64()
        .is_some_and(|exp| exp > now + 3600 + 30)
    {
        return Err(invalid_client(
            "The client_assertion token expires more than one hour from now.",
        ));
    }
    let jti = claims["jti"].as_str().map(str::to_owned);
    Ok((service_app, jti))
}

fn decoding_key(key: &PublicKey, alg: Algorithm) -> Result<DecodingKey, String> {
    let rsa = matches!(alg, Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512);
    match key {
        PublicKey::Pem(pem) if rsa => {
            DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())
        }
        PublicKey::Pem(pem) => DecodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| e.to_string()),
        PublicKey::Jwk(jwk) => {
            let jwk: Jwk = serde_json::from_value(jwk.clone()).map_err(|e| e.to_string())?;
            DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())
        }
    }
}

/// The thumbprint of the app's registered key, when it can be computed.
fn client_key_thumbprint(key: &PublicKey) -> Option<String> {
    let jwk: Jwk = match key {
        PublicKey::Jwk(jwk) => serde_json::from_value(jwk.clone()).ok()?,
        PublicKey::Pem(pem) => {
            let (decoding, alg) = match DecodingKey::from_rsa_pem(pem.as_bytes()) {
                Ok(k) => (k, Algorithm::RS256),
                Err(_) => (
                    DecodingKey::from_ec_pem(pem.as_bytes()).ok()?,
                    Algorithm::ES256,
                ),
            };
            Jwk::from_decoding_key(&decoding, Some(alg)).ok()?
        }
    };
    jwk.thumbprint(ThumbprintHash::SHA256).ok()
}

/// Checks a token request's proof; returns the key thumbprint and the proof's `jti`.
fn check_token_proof(
    app: &AppRef,
    service_app: &ServiceApp,
    proof: &str,
    token_url: &str,
) -> Result<(String, String), OAuthError> {
    let verified = dpop::verify(proof, &Method::POST, token_url)
        .map_err(|why| bad_request("invalid_dpop_proof", why))?;
    if client_key_thumbprint(&service_app.public_key).as_deref() == Some(verified.jkt.as_str()) {
        return Err(bad_request(
            "invalid_dpop_proof",
            "The DPoP proof must be signed with a key other than the client's authentication key.",
        ));
    }
    let (nonce, previous) =
        lock(&app.tokens).nonces(app.options.dpop_nonce_lifetime, Instant::now());
    let sent = verified.claims["nonce"].as_str();
    if sent != Some(nonce.as_str()) && (sent.is_none() || sent != previous.as_deref()) {
        return Err(bad_request(
            "use_dpop_nonce",
            "Authorization server requires nonce in DPoP proof.",
        )
        .header(header::HeaderName::from_static("dpop-nonce"), nonce));
    }
    let jti = verified.claims["jti"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((verified.jkt, jti))
}

/// Parses `application/x-www-form-urlencoded` pairs.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_handles_plus_and_percent() {
        let form = parse_form(b"scope=okta.users.read+okta.logs.read&client_assertion_type=urn%3Aietf%3Aparams&x=%zz&y=%4");
        assert_eq!(
            form[0],
            ("scope".into(), "okta.users.read okta.logs.read".into())
        );
        assert_eq!(form[1].1, "urn:ietf:params");
        assert_eq!(form[2].1, "%zz", "a bad escape stays as it is");
    }
}
