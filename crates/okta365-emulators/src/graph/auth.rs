//! The Microsoft identity platform's client-credentials token endpoint
//! (secret or RS256/PS256 client assertion), its AADSTS-shaped errors, and
//! bearer-token checks on Graph calls (401 `InvalidAuthenticationToken`,
//! 403 `Authorization_RequestDenied`).

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::options::{AppRegistration, GraphOptions};
use super::wire::ApiResponse;

/// The caller of a Graph request, from its access token.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    pub app_id: String,
    pub roles: BTreeSet<String>,
}

/// Proof that the caller holds a permission a handler needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Granted(());

impl Principal {
    /// Ok if the token holds any of `roles`, else Graph's 403.
    pub fn require(&self, roles: &[&str]) -> Result<Granted, ApiResponse> {
        if self.holds(roles) {
            Ok(Granted(()))
        } else {
            Err(super::wire::forbidden())
        }
    }

    /// Whether the token holds any of `roles`.
    pub fn holds(&self, roles: &[&str]) -> bool {
        roles.iter().any(|r| self.roles.contains(*r))
    }
}

/// Claims of the access tokens the emulator issues (a subset of Entra's).
#[derive(Debug, Serialize, Deserialize)]
struct AccessClaims {
    aud: String,
    iss: String,
    iat: u64,
    nbf: u64,
    exp: u64,
    appid: String,
    idtyp: String,
    roles: Vec<String>,
    tid: String,
    sub: String,
    /// Bumped by `revoke_tokens`, which invalidates every earlier token.
    #[serde(rename = "xms_emu_epoch")]
    epoch: u64,
}

/// Claims a client assertion must carry.
#[derive(Debug, Deserialize)]
struct AssertionClaims {}

const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

/// Signs and checks access tokens.
pub(crate) struct TokenIssuer {
    key: Vec<u8>,
}

impl TokenIssuer {
    /// An issuer with a key derived from the seed (tokens differ per emulator run only by time).
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn issue(&self, opts: &GraphOptions, app: &AppRegistration, epoch: u64) -> String {
        let now = unix_now();
        let claims = AccessClaims {
            aud: GRAPH_AUDIENCE.into(),
            iss: format!("https://sts.windows.net/{}/", opts.tenant_id),
            iat: now,
            nbf: now,
            exp: now + opts.token_lifetime.as_secs().max(1),
            appid: app.client_id.clone(),
            idtyp: "app".into(),
            roles: app.roles.iter().cloned().collect(),
            tid: opts.tenant_id.clone(),
            sub: app.client_id.clone(),
            epoch,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&self.key))
            .expect("HS256 signing with an in-memory key cannot fail")
    }

    /// Checks an `Authorization` header value; the error is Graph's 401.
    pub fn authenticate(
        &self,
        opts: &GraphOptions,
        authorization: Option<&str>,
        epoch: u64,
    ) -> Result<Principal, ApiResponse> {
        let unauthorized = |message: &str| {
            ApiResponse::error(401, "InvalidAuthenticationToken", message).with_header(
                "WWW-Authenticate",
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
            )
        };
        let Some(value) = authorization.filter(|v| !v.trim().is_empty()) else {
            return Err(unauthorized("Access token is empty."));
        };
        let Some(token) = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        else {
            return Err(unauthorized(
                "Access token validation failure. Invalid audience.",
            ));
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_audience(&[GRAPH_AUDIENCE]);
        validation.set_issuer(&[format!("https://sts.windows.net/{}/", opts.tenant_id)]);
        let claims = jsonwebtoken::decode::<AccessClaims>(
            token.trim(),
            &DecodingKey::from_secret(&self.key),
            &validation,
        )
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => {
                unauthorized("Lifetime validation failed, the token is expired.")
            }
            ErrorKind::InvalidAudience => {
                unauthorized("Access token validation failure. Invalid audience.")
            }
            ErrorKind::InvalidSignature => {
                unauthorized("Access token validation failure. Invalid signature.")
            }
            _ => unauthorized("IDX14100: JWT is not well formed, there are no dots (.)."),
        })?
        .claims;
        if claims.epoch != epoch {
            return Err(unauthorized("Access token has been revoked."));
        }
        if !opts.apps.iter().any(|a| a.client_id == claims.appid) {
            return Err(unauthorized(
                "Access token validation failure. The application no longer exists.",
            ));
        }
        Ok(Principal {
            app_id: claims.appid,
            roles: claims.roles.into_iter().collect(),
        })
    }
}

/// A token-endpoint request's inputs.
pub(crate) struct TokenRequest<'a> {
    /// The `{tenant}` path segment.
    pub tenant: &'a str,
    /// Form fields.
    pub form: &'a [(String, String)],
    /// HTTP Basic credentials (client id, secret), if sent.
    pub basic: Option<(String, String)>,
    /// The emulator's base URL (an accepted assertion audience).
    pub base_url: &'a str,
    /// The URL the caller reached the emulator at, when a TLS-terminating
    /// proxy on loopback forwarded the request (`X-Forwarded-Proto` + `Host`):
    /// also an accepted assertion audience.
    pub public_url: Option<&'a str>,
    /// Tenant names that resolve to this tenant (id, domains).
    pub tenant_names: &'a BTreeSet<String>,
    /// Current token epoch.
    pub epoch: u64,
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) fn token_endpoint(
    issuer: &TokenIssuer,
    opts: &GraphOptions,
    req: &TokenRequest<'_>,
    trace_id: &str,
    correlation_id: &str,
) -> ApiResponse {
    let field = |name: &str| {
        req.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let fail = |status: u16, error: &str, code: u64, text: String| {
        token_error(status, error, code, &text, trace_id, correlation_id)
    };
    if !req.tenant_names.contains(&req.tenant.to_lowercase()) {
        return fail(
            400,
            "invalid_request",
            90002,
            format!(
                "Tenant '{}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
                req.tenant
            ),
        );
    }
    let Some(grant_type) = field("grant_type") else {
        return fail(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.".into(),
        );
    };
    if grant_type != "client_credentials" {
        return fail(
            400,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        );
    }
    let client_id = field("client_id")
        .map(str::to_owned)
        .or_else(|| req.basic.as_ref().map(|(id, _)| id.clone()));
    let Some(client_id) = client_id else {
        return fail(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.".into(),
        );
    };
    let Some(scope) = field("scope") else {
        return fail(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.".into(),
        );
    };
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if scopes != ["https://graph.microsoft.com/.default"]
        && scopes != ["00000003-0000-0000-c000-000000000000/.default"]
    {
        return fail(
            400,
            "invalid_scope",
            70011,
            format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        );
    }
    let Some(app) = opts
        .apps
        .iter()
        .find(|a| a.client_id.eq_ignore_ascii_case(&client_id))
    else {
        return fail(
            400,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                req.tenant
            ),
        );
    };
    let secret = field("client_secret")
        .map(str::to_owned)
        .or_else(|| req.basic.as_ref().map(|(_, s)| s.clone()));
    let assertion = field("client_assertion");
    match (secret, assertion) {
        (Some(secret), None) => {
            if app.client_secret.as_deref() != Some(secret.as_str()) {
                return fail(
                    401,
                    "invalid_client",
                    7000215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                        app.client_id
                    ),
                );
            }
        }
        (None, Some(assertion)) => {
            if field("client_assertion_type")
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return fail(400, "invalid_request", 700019, "The client_assertion_type parameter must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.".into());
            }
            if let Err((code, text)) = check_assertion(app, assertion, req, opts) {
                return fail(401, "invalid_client", code, text);
            }
        }
        (Some(_), Some(_)) => {
            return fail(
                400,
                "invalid_request",
                90014,
                "The request must contain only one of 'client_secret' or 'client_assertion'."
                    .into(),
            );
        }
        (None, None) => {
            return fail(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into());
        }
    }
    ApiResponse::json(
        200,
        json!({
            "token_type": "Bearer",
            "expires_in": opts.token_lifetime.as_secs().max(1),
            "ext_expires_in": opts.token_lifetime.as_secs().max(1),
            "access_token": issuer.issue(opts, app, req.epoch),
        }),
    )
}

fn check_assertion(
    app: &AppRegistration,
    assertion: &str,
    req: &TokenRequest<'_>,
    opts: &GraphOptions,
) -> Result<(), (u64, String)> {
    let malformed = || (50027, "JWT token is invalid or malformed.".to_owned());
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| malformed())?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::PS256) {
        return Err((
            5002738,
            format!(
                "Invalid JWT token. '{:?}' is not a supported signature algorithm. Supported signing algorithms are: 'RS256, PS256'",
                header.alg
            ),
        ));
    }
    let Some(cert) = &app.certificate else {
        return Err((
            700027,
            format!(
                "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                header.x5t.or(header.x5t_s256).unwrap_or_default(),
                app.client_id
            ),
        ));
    };
    // MSAL writes the thumbprint padded (`…dI=`), RFC 7515 without padding:
    // Entra ID takes either, and either base64 alphabet.
    let same = |registered: Option<&str>, sent: &str| {
        let norm = |t: &str| t.trim_end_matches('=').replace('+', "-").replace('/', "_");
        registered.is_some_and(|r| norm(r) == norm(sent))
    };
    let thumb_ok = match (&header.x5t_s256, &header.x5t) {
        (Some(t), _) if same(cert.thumbprint_sha256.as_deref(), t) => true,
        (_, Some(t)) => same(cert.thumbprint_sha1.as_deref(), t),
        _ => false,
    };
    if !thumb_ok {
        return Err((
            700027,
            format!(
                "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                header.x5t_s256.or(header.x5t).unwrap_or_default(),
                app.client_id
            ),
        ));
    }
    let key = DecodingKey::from_rsa_pem(cert.public_key_pem.as_bytes())
        .map_err(|e| (700027, format!("Client assertion failed signature validation: the registered key is unusable ({e}).")))?;
    let mut validation = Validation::new(header.alg);
    let mut audiences = Vec::new();
    for tenant in [req.tenant, opts.tenant_id.as_str()] {
        audiences.push(format!(
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
        ));
        audiences.push(format!("{}/{tenant}/oauth2/v2.0/token", req.base_url));
        if let Some(public) = req.public_url {
            audiences.push(format!("{public}/{tenant}/oauth2/v2.0/token"));
        }
    }
    validation.set_audience(&audiences);
    validation.set_issuer(&[app.client_id.as_str()]);
    validation.sub = Some(app.client_id.clone());
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation).map_err(|e| match e.kind() {
        ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => (700024, "Client assertion is not within its valid time range.".to_owned()),
        ErrorKind::InvalidAudience => (700027, format!("Client assertion failed signature validation. [Reason - The audience is invalid. Expected one of: {}]", audiences.join(", "))),
        ErrorKind::InvalidIssuer | ErrorKind::InvalidSubject => (700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .".to_owned()),
        ErrorKind::InvalidSignature => (700027, "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]".to_owned()),
        ErrorKind::MissingRequiredClaim(c) => (50027, format!("JWT token is invalid or malformed: the '{c}' claim is missing.")),
        _ => malformed(),
    })?;
    Ok(())
}

/// The identity platform's OpenID Connect metadata for `tenant`, as
/// `GET /{tenant}/v2.0/.well-known/openid-configuration` returns it; MSAL
/// (and so azure-identity) reads it to find the token endpoint. `base` is
/// the URL the caller reached the emulator at.
pub(crate) fn openid_configuration(base: &str, tenant: &str) -> ApiResponse {
    ApiResponse::json(
        200,
        json!({
            "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{base}/{tenant}/v2.0"),
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": format!("{base}/{tenant}/kerberos"),
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net"
        }),
    )
}

/// A GET on the token endpoint.
pub(crate) fn token_endpoint_get(trace_id: &str, correlation_id: &str) -> ApiResponse {
    token_error(
        400,
        "invalid_request",
        900561,
        "The endpoint only accepts POST, OPTIONS requests. Received a GET request.",
        trace_id,
        correlation_id,
    )
}

/// The identity platform's error body.
fn token_error(
    status: u16,
    error: &str,
    code: u64,
    text: &str,
    trace_id: &str,
    correlation_id: &str,
) -> ApiResponse {
    let now = jiff::Timestamp::now();
    let timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ").to_string();
    let description = format!(
        "AADSTS{code}: {text}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {}",
        now.strftime("%Y-%m-%d %H:%M:%SZ")
    );
    ApiResponse::json(
        status,
        json!({
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
