//! Okta errors, parsed into messages that say what to fix.
//!
//! Okta answers management calls with `{errorCode, errorSummary, errorId,
//! errorCauses}` and OAuth calls (the token endpoint, DPoP) with `{error,
//! error_description}` plus a `WWW-Authenticate` header. Only `errorCode` and
//! `error` drive decisions; summaries are shown, never matched. No message
//! ever holds a token, a key or an `Authorization` header.

use std::time::Duration;

use serde::Deserialize;

/// What kind of failure, for retry and re-authentication decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The connection failed, was reset, or timed out (retried).
    Transport,
    /// HTTP 429 (retried after the window resets).
    RateLimited,
    /// HTTP 5xx (retried).
    Server,
    /// The server asks for a DPoP nonce (`use_dpop_nonce`); resend with it.
    NonceChallenge,
    /// The access token was rejected; fetch a new one once.
    TokenRejected,
    /// Anything else the request cannot recover from.
    Fatal,
}

/// A failed Okta call. `Display` is the whole message, hint included.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct OktaError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What failed and what to do.
    pub message: String,
    /// How long to wait before retrying, when the server said (429).
    pub retry_after: Option<Duration>,
}

impl OktaError {
    /// A failure that is not an HTTP answer (configuration, keys, decoding).
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Fatal,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A connection failure or timeout.
    pub fn transport(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Transport,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Whether trying the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Transport | ErrorKind::RateLimited | ErrorKind::Server
        )
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// An Okta or OAuth error body; every field optional (bodies vary).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// `E0000011` and friends.
    pub error_code: Option<String>,
    /// Human summary.
    pub error_summary: Option<String>,
    /// Okta's id of this error occurrence (for support).
    pub error_id: Option<String>,
    /// Details, such as the field a validation failed on.
    #[serde(default)]
    pub error_causes: Vec<ErrorCause>,
    /// OAuth error code (`invalid_client`, `use_dpop_nonce`, …).
    pub error: Option<String>,
    /// OAuth error description.
    #[serde(rename = "error_description")]
    pub error_description: Option<String>,
}

/// One entry of `errorCauses`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCause {
    /// The cause.
    pub error_summary: Option<String>,
}

impl ErrorBody {
    /// Parses a body; a body that is not JSON gives an empty `ErrorBody`.
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// Fills the OAuth fields from a `WWW-Authenticate` header when the body had none.
    pub fn with_www_authenticate(mut self, header: Option<&str>) -> Self {
        if let Some(h) = header {
            if self.error.is_none() {
                self.error = auth_param(h, "error");
            }
            if self.error_description.is_none() {
                self.error_description = auth_param(h, "error_description");
            }
        }
        self
    }

    /// The OAuth error code, from the body or the header.
    pub fn oauth_error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// `E0000006 You do not have permission… (errorId …; causes: …)`, or the OAuth pair.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(code) = &self.error_code {
            parts.push(code.clone());
        }
        if let Some(summary) = &self.error_summary {
            parts.push(summary.clone());
        }
        if let Some(error) = &self.error {
            parts.push(error.clone());
        }
        if let Some(d) = &self.error_description {
            parts.push(format!("({d})"));
        }
        let mut text = parts.join(" ");
        let causes: Vec<&str> = self
            .error_causes
            .iter()
            .filter_map(|c| c.error_summary.as_deref())
            .collect();
        let mut extra = Vec::new();
        if !causes.is_empty() {
            extra.push(format!("causes: {}", causes.join("; ")));
        }
        if let Some(id) = &self.error_id {
            extra.push(format!("errorId {id}"));
        }
        if !extra.is_empty() {
            text.push_str(&format!(" [{}]", extra.join(", ")));
        }
        text
    }
}

/// A parameter (`error="…"`) of a `WWW-Authenticate` challenge.
pub fn auth_param(header: &str, name: &str) -> Option<String> {
    let mut rest = header;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().next_back();
        let after = &rest[i + name.len()..];
        let boundary = before.is_none_or(|c| c == ' ' || c == ',');
        if boundary && let Some(value) = after.trim_start().strip_prefix('=') {
            let value = value.trim_start();
            return Some(match value.strip_prefix('"') {
                Some(quoted) => quoted.split('"').next().unwrap_or_default().to_owned(),
                None => value
                    .split([',', ' '])
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        rest = after;
    }
    None
}

/// What the failing request was, for the hint.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// `GET`, `POST`.
    pub method: &'a str,
    /// The path (no query).
    pub path: &'a str,
    /// The org URL from the config.
    pub org_url: &'a str,
    /// Whether okta365 authenticates with an API token (else a service app).
    pub api_token: bool,
    /// The service app's client id and key id, for token-endpoint hints.
    pub client_id: Option<&'a str>,
    /// The key id.
    pub key_id: Option<&'a str>,
}

/// The Okta scope a path needs.
pub fn scope_for(path: &str) -> &'static str {
    if path.starts_with("/api/v1/logs") {
        "okta.logs.read"
    } else if path.starts_with("/api/v1/groups") {
        "okta.groups.read"
    } else {
        "okta.users.read"
    }
}

/// Builds the error for a non-success answer.
pub fn from_response(
    ctx: &Context,
    status: u16,
    body: &ErrorBody,
    retry_after: Option<Duration>,
) -> OktaError {
    let code = body.error_code.as_deref();
    let oauth = body.oauth_error();
    let kind = match (status, code, oauth) {
        (_, _, Some("use_dpop_nonce")) => ErrorKind::NonceChallenge,
        (429, _, _) | (_, Some("E0000047"), _) => ErrorKind::RateLimited,
        (500..=599, _, _) => ErrorKind::Server,
        (401, _, Some("invalid_token")) if !ctx.api_token => ErrorKind::TokenRejected,
        (401, Some("E0000011"), _) if !ctx.api_token => ErrorKind::TokenRejected,
        _ => ErrorKind::Fatal,
    };
    let described = body.describe();
    let what = if described.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status} {described}")
    };
    let mut message = format!("Okta {} {}: {what}", ctx.method, ctx.path);
    if let Some(hint) = hint(ctx, status, code, oauth) {
        message.push_str("\n  hint: ");
        message.push_str(&hint);
    }
    OktaError {
        kind,
        message,
        retry_after,
    }
}

fn hint(ctx: &Context, status: u16, code: Option<&str>, oauth: Option<&str>) -> Option<String> {
    let token_endpoint = ctx.path.ends_with("/oauth2/v1/token");
    let scope = scope_for(ctx.path);
    let app = ctx.client_id.unwrap_or("the service app");
    let key = ctx
        .key_id
        .map_or(String::new(), |k| format!(" and key id `{k}`"));
    Some(match (status, code, oauth) {
        (_, _, Some("invalid_client")) => format!(
            "the client assertion was refused: check `client_id` (`{app}`){key}, and that the private key matches a public key registered on the app"
        ),
        (_, _, Some("invalid_scope")) => format!(
            "grant the scopes okta.users.read okta.groups.read okta.logs.read to `{app}` (Okta API Scopes tab)"
        ),
        (_, _, Some("unauthorized_client")) => format!(
            "`{app}` may not use client credentials: it must be an API Services app using private_key_jwt"
        ),
        (_, _, Some("invalid_dpop_proof")) => {
            "the DPoP proof was refused: check that `dpop` matches the app's \"Require DPoP\" setting (on by default for new apps) and that this machine's clock is right".to_owned()
        }
        (_, _, Some("insufficient_scope")) => format!(
            "grant the scope `{scope}` to `{app}` (Okta API Scopes tab) and give it an admin role that can read these objects"
        ),
        (403, Some("E0000006"), _) if ctx.api_token => format!(
            "the API token's admin lacks the permission for {}: create the token as an admin with a read-only admin role or better",
            ctx.path
        ),
        (403, Some("E0000006"), _) | (403, None, _) if !ctx.api_token => format!(
            "grant the scope `{scope}` to `{app}` (Okta API Scopes tab) and give it an admin role that can read these objects"
        ),
        (401, Some("E0000011"), _) | (401, Some("E0000004"), _) if ctx.api_token => {
            "the API token is invalid, revoked or expired (tokens expire after 30 days unused): create a new one and update the variable or file `auth` names".to_owned()
        }
        (401, _, Some("invalid_token")) | (401, Some("E0000011"), _) => {
            "the access token was refused: check that the app's tokens are not revoked and that `dpop` matches the app's setting".to_owned()
        }
        (300..=399, _, _) => format!(
            "`{}` redirects elsewhere: set `okta.org_url` to the org's own https URL (such as https://acme.okta.com)",
            ctx.org_url
        ),
        (404, None, None) | (405, None, None) => format!(
            "`{}` did not answer like an Okta org: check `okta.org_url`",
            ctx.org_url
        ),
        (404, _, _) if token_endpoint => format!(
            "`{}` has no org authorization server: check `okta.org_url` (the org URL, not a custom domain's `/oauth2/default`)",
            ctx.org_url
        ),
        (429, _, _) => "Okta's rate limit was still exhausted after retries: lower `concurrency`, or raise this app's or token's share of the bucket in the Admin Console".to_owned(),
        (500..=599, _, _) => "Okta failed repeatedly: try again later, with the errorId if you contact Okta support".to_owned(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(api_token: bool, path: &'static str) -> Context<'static> {
        Context {
            method: "GET",
            path,
            org_url: "https://acme.okta.com",
            api_token,
            client_id: Some("0oa1"),
            key_id: Some("k1"),
        }
    }

    #[test]
    fn okta_error_bodies_are_shown_with_cause_and_id() {
        let body = ErrorBody::parse(
            br#"{"errorCode":"E0000001","errorSummary":"Api validation failed: search","errorLink":"E0000001","errorId":"oaeXYZ","errorCauses":[{"errorSummary":"Invalid search"}]}"#,
        );
        let e = from_response(&ctx(true, "/api/v1/users"), 400, &body, None);
        assert_eq!(e.kind, ErrorKind::Fatal);
        assert_eq!(
            e.message,
            "Okta GET /api/v1/users: HTTP 400 E0000001 Api validation failed: search [causes: Invalid search, errorId oaeXYZ]"
        );
    }

    #[test]
    fn missing_scope_names_the_scope_to_grant() {
        let body = ErrorBody::parse(br#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action"}"#);
        let e = from_response(&ctx(false, "/api/v1/groups/00g1/users"), 403, &body, None);
        assert!(
            e.message
                .contains("grant the scope `okta.groups.read` to `0oa1`"),
            "{}",
            e.message
        );
        let header = r#"Bearer error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="/api/v1/logs""#;
        let body = ErrorBody::default().with_www_authenticate(Some(header));
        let e = from_response(&ctx(false, "/api/v1/logs"), 403, &body, None);
        assert!(e.message.contains("`okta.logs.read`"), "{}", e.message);
        assert!(e.message.contains("insufficient_scope (The access token provided does not contain the required scopes.)"), "{}", e.message);
    }

    #[test]
    fn invalid_api_token_says_to_create_a_new_one() {
        let body = ErrorBody::parse(
            br#"{"errorCode":"E0000011","errorSummary":"Invalid token provided"}"#,
        );
        let e = from_response(&ctx(true, "/api/v1/users"), 401, &body, None);
        assert_eq!(e.kind, ErrorKind::Fatal);
        assert!(e.message.contains("create a new one"), "{}", e.message);
        let e = from_response(&ctx(false, "/api/v1/users"), 401, &body, None);
        assert_eq!(e.kind, ErrorKind::TokenRejected);
    }

    #[test]
    fn invalid_client_points_at_client_id_and_key_id() {
        let body = ErrorBody::parse(br#"{"error":"invalid_client","error_description":"The client_assertion signature is invalid."}"#);
        let e = from_response(&ctx(false, "/oauth2/v1/token"), 401, &body, None);
        assert!(
            e.message
                .contains("check `client_id` (`0oa1`) and key id `k1`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn wrong_org_url_and_retryable_kinds() {
        let e = from_response(
            &ctx(true, "/api/v1/users"),
            404,
            &ErrorBody::parse(b"<html>"),
            None,
        );
        assert!(e.message.contains("check `okta.org_url`"), "{}", e.message);
        let limited = ErrorBody::parse(br#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}"#);
        let e = from_response(
            &ctx(true, "/api/v1/users"),
            429,
            &limited,
            Some(Duration::from_secs(3)),
        );
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = from_response(
            &ctx(true, "/api/v1/users"),
            503,
            &ErrorBody::default(),
            None,
        );
        assert_eq!(e.kind, ErrorKind::Server);
        let nonce = ErrorBody::parse(br#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof."}"#);
        let e = from_response(&ctx(false, "/oauth2/v1/token"), 400, &nonce, None);
        assert_eq!(e.kind, ErrorKind::NonceChallenge);
    }

    #[test]
    fn www_authenticate_parameters() {
        let h = r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#;
        assert_eq!(auth_param(h, "error").as_deref(), Some("use_dpop_nonce"));
        assert_eq!(
            auth_param(h, "error_description").as_deref(),
            Some("Resource server requires nonce in DPoP proof")
        );
        assert_eq!(auth_param("Bearer realm=x", "error"), None);
    }
}
