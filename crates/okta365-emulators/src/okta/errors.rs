//! Okta's two error shapes: the Management API's `errorCode` body and the
//! OAuth 2.0 `error` body, always as `application/json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Management API error (`{"errorCode","errorSummary","errorLink","errorId","errorCauses"}`).
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Okta's code, e.g. `E0000011`.
    pub code: &'static str,
    /// Human text.
    pub summary: String,
    /// `errorCauses[].errorSummary`.
    pub causes: Vec<String>,
    /// System Log errors carry a UUID `errorId` and no `errorLink`.
    pub system_log: bool,
    /// Extra headers (e.g. `WWW-Authenticate`).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    /// An error with Okta's standard summary for `code`.
    pub fn new(code: &'static str) -> Self {
        let (status, summary) = match code {
            "E0000001" => (StatusCode::BAD_REQUEST, "Api validation failed"),
            "E0000005" => (StatusCode::FORBIDDEN, "Invalid session"),
            "E0000006" => (
                StatusCode::FORBIDDEN,
                "You do not have permission to perform the requested action",
            ),
            "E0000007" => (StatusCode::NOT_FOUND, "Not found: Resource not found"),
            "E0000009" => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
            "E0000010" => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service is in read only mode",
            ),
            "E0000011" => (StatusCode::UNAUTHORIZED, "Invalid token provided"),
            "E0000022" => (
                StatusCode::METHOD_NOT_ALLOWED,
                "The endpoint does not support the provided HTTP method",
            ),
            "E0000031" => (StatusCode::BAD_REQUEST, "Invalid search criteria."),
            "E0000047" => (
                StatusCode::TOO_MANY_REQUESTS,
                "API call exceeded rate limit due to too many requests.",
            ),
            "E0000053" => (StatusCode::BAD_REQUEST, "Invalid SCIM filter"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        };
        Self {
            status,
            code,
            summary: summary.to_owned(),
            causes: Vec::new(),
            system_log: false,
            headers: Vec::new(),
        }
    }

    /// Okta's E0000007 (404) for `key`, naming what was looked for (`User`, `UserGroup`, `Endpoint`).
    pub fn not_found(key: &str, kind: &str) -> Self {
        Self::new("E0000007").summary(format!("Not found: Resource not found: {key} ({kind})"))
    }

    /// Replaces the summary.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    /// Adds an `errorCauses` entry.
    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    /// Overrides the HTTP status.
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Marks the error as coming from the System Log API.
    pub fn system_log(mut self) -> Self {
        self.system_log = true;
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let causes: Vec<_> = self
            .causes
            .iter()
            .map(|c| json!({ "errorSummary": c }))
            .collect();
        let id = error_id();
        let body = if self.system_log {
            json!({
                "errorCode": self.code,
                "errorSummary": self.summary,
                "errorId": uuid_like(&id),
                "errorCauses": causes,
            })
        } else {
            json!({
                "errorCode": self.code,
                "errorSummary": self.summary,
                "errorLink": self.code,
                "errorId": format!("oae{id}"),
                "errorCauses": causes,
            })
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

/// An OAuth 2.0 error (`{"error","error_description"}`).
#[derive(Debug, Clone)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// The OAuth error code, e.g. `invalid_client`.
    pub error: &'static str,
    /// Human text.
    pub description: String,
    /// Extra headers (`DPoP-Nonce`, `WWW-Authenticate`).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl OAuthError {
    /// An error with this status, code and description.
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a response header.
    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

/// 22 characters that look like Okta's error ids; unique per process.
fn error_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("Emu{:019}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn uuid_like(id: &str) -> String {
    let digits: String = id.chars().filter(char::is_ascii_digit).collect();
    let padded = format!("{digits:0>32}");
    format!(
        "{}-{}-{}-{}-{}",
        &padded[0..8],
        &padded[8..12],
        &padded[12..16],
        &padded[16..20],
        &padded[20..32]
    )
}
