//! Who may call the Management API: `Authorization: SSWS <token>` (every
//! scope), `Bearer <access token>` from the token endpoint, or
//! `DPoP <access token>` with a fresh proof bound to the token's key.
//! Scopes are checked per endpoint; `*.manage` implies `*.read`.

use std::time::Instant;

use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};

use super::app::{App, lock};
use super::dpop;
use super::errors::{ApiError, OAuthError};

/// Checks the caller of `method path` against `scope`.
pub fn authorize(
    app: &App,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    scope: &str,
) -> Result<(), Box<Response>> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(Box::new(ApiError::new("E0000005").into_response()));
    };
    if let Some(token) = value.strip_prefix("SSWS") {
        let token = token.trim();
        return if app.options.api_tokens.iter().any(|t| t == token) {
            Ok(())
        } else {
            Err(Box::new(ApiError::new("E0000011").into_response()))
        };
    }
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    let is_dpop = scheme.eq_ignore_ascii_case("DPoP");
    if !is_dpop && !scheme.eq_ignore_ascii_case("Bearer") {
        return Err(Box::new(ApiError::new("E0000011").into_response()));
    }
    let issued = lock(&app.tokens).issued.get(token).cloned();
    let Some(issued) = issued.filter(|t| t.expires > Instant::now()) else {
        return Err(Box::new(
            ApiError::new("E0000011")
                .header(
                    header::WWW_AUTHENTICATE,
                    format!(
                        "{} error=\"invalid_token\", error_description=\"The token is not valid.\"",
                        if is_dpop { "DPoP" } else { "Bearer" }
                    ),
                )
                .into_response(),
        ));
    };
    match (&issued.jkt, is_dpop) {
        (Some(jkt), true) => {
            let htu = format!("{}{path}", super::paging::base_url(headers));
            dpop::check_resource_proof(app, headers, method, &htu, token, jkt)
                .map_err(|why| dpop_failure(headers, scope, path, &why))?;
        }
        (Some(_), false) => {
            return Err(dpop_failure(
                headers,
                scope,
                path,
                "the access token is DPoP-bound: send it as `Authorization: DPoP`",
            ));
        }
        (None, true) => {
            return Err(dpop_failure(
                headers,
                scope,
                path,
                "the access token is not DPoP-bound: send it as `Authorization: Bearer`",
            ));
        }
        (None, false) => {}
    }
    let manage = scope.replace(".read", ".manage");
    if scope.is_empty() || issued.scopes.iter().any(|s| s == scope || *s == manage) {
        Ok(())
    } else {
        let scheme = if is_dpop { "DPoP" } else { "Bearer" };
        Err(Box::new(ApiError::new("E0000006")
            .header(
                header::WWW_AUTHENTICATE,
                format!(
                    "{scheme} {}, error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"{path}\"",
                    challenge_params(headers, scope)
                ),
            )
            .into_response()))
    }
}

/// `authorization_uri`, `realm` and `scope`, as Okta's challenges start.
fn challenge_params(headers: &HeaderMap, scope: &str) -> String {
    let base = super::paging::base_url(headers);
    format!("authorization_uri=\"{base}/oauth2/v1/authorize\", realm=\"{base}\", scope=\"{scope}\"")
}

fn dpop_failure(headers: &HeaderMap, scope: &str, path: &str, why: &str) -> Box<Response> {
    let why = why.replace('"', "'");
    OAuthError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
        why.clone(),
    )
    .header(
        header::WWW_AUTHENTICATE,
        format!(
            "DPoP algs=\"RS256 RS384 RS512 ES256 ES384\", {}, error=\"invalid_dpop_proof\", error_description=\"{why}\", resource=\"{path}\"",
            challenge_params(headers, scope)
        ),
    )
    .into_response()
    .into()
}
