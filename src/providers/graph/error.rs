//! Graph errors: the `{"error":{"code","message","innerError":{"request-id"}}}`
//! envelope (and the token endpoint's OAuth errors) turned into messages that
//! say what failed, on which object, and what to do; plus the retry
//! classification the HTTP layer uses.
//!
//! No message ever holds a token or a client secret: only Graph's own
//! `code`/`message`, the request's method and path, and our hints.

use std::time::Duration;

use serde_json::Value;

/// A failed Graph (or token endpoint) request (boxed: errors travel far).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}", self.0.describe())]
pub struct GraphError(Box<Details>);

impl std::ops::Deref for GraphError {
    type Target = Details;
    fn deref(&self) -> &Details {
        &self.0
    }
}

impl std::ops::DerefMut for GraphError {
    fn deref_mut(&mut self) -> &mut Details {
        &mut self.0
    }
}

impl From<Details> for GraphError {
    fn from(d: Details) -> Self {
        Self(Box::new(d))
    }
}

/// What a [`GraphError`] knows.
#[derive(Clone, Debug, PartialEq)]
pub struct Details {
    /// What was attempted: `GET /users`, `add members to group eng`.
    pub what: String,
    /// HTTP status; `None` when no response came (timeout, connection reset).
    pub status: Option<u16>,
    /// Graph's `error.code` (`Request_ResourceNotFound`), the OAuth `error`,
    /// or `timeout` / `connection` for transport failures.
    pub code: String,
    /// Graph's `error.message` (or the transport error).
    pub message: String,
    /// `innerError.request-id`, for a support case.
    pub request_id: Option<String>,
    /// `Retry-After`, when the response carried one.
    pub retry_after: Option<Duration>,
    /// The application permission the request needs (for 403 hints).
    pub permission: Option<&'static str>,
    /// What to do, when we know.
    pub hint: Option<String>,
}

impl GraphError {
    /// A failure before any response arrived.
    pub fn transport(what: impl Into<String>, err: &reqwest::Error) -> Self {
        let code = if err.is_timeout() {
            "timeout"
        } else if err.is_connect() {
            "connect"
        } else if err.is_decode() || err.is_body() {
            "body"
        } else {
            "connection"
        };
        // reqwest's Display names the URL (never a header or a body).
        let mut message = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        Details {
            what: what.into(),
            status: None,
            code: code.into(),
            message,
            request_id: None,
            retry_after: None,
            permission: None,
            hint: None,
        }
        .into()
    }

    /// An error response: parses Graph's envelope (or an OAuth error body).
    pub fn from_response(
        what: impl Into<String>,
        status: u16,
        retry_after: Option<Duration>,
        body: &Value,
    ) -> Self {
        let envelope = body.get("error");
        let (code, message, request_id) = match envelope {
            Some(Value::Object(e)) => (
                e.get("code").and_then(Value::as_str).unwrap_or_default(),
                e.get("message").and_then(Value::as_str).unwrap_or_default(),
                e.get("innerError")
                    .or_else(|| e.get("innererror"))
                    .and_then(|i| i.get("request-id"))
                    .and_then(Value::as_str),
            ),
            // OAuth: {"error": "invalid_client", "error_description": "AADSTS…"}
            Some(Value::String(code)) => (
                code.as_str(),
                body.get("error_description")
                    .and_then(Value::as_str)
                    .map(first_line)
                    .unwrap_or_default(),
                body.get("correlation_id").and_then(Value::as_str),
            ),
            _ => ("", "", None),
        };
        let code = if code.is_empty() {
            format!("HTTP {status}")
        } else {
            code.to_owned()
        };
        Details {
            what: what.into(),
            status: Some(status),
            code,
            message: message.to_owned(),
            request_id: request_id.map(str::to_owned),
            retry_after,
            permission: None,
            hint: None,
        }
        .into()
    }

    /// An answer okta365 cannot use (not the shape Graph documents).
    pub fn unexpected(what: impl Into<String>, message: impl Into<String>) -> Self {
        Details {
            what: what.into(),
            status: None,
            code: "unexpected answer".into(),
            message: message.into(),
            request_id: None,
            retry_after: None,
            permission: None,
            hint: None,
        }
        .into()
    }

    /// Sets the permission the request needs.
    pub fn needing(mut self, permission: Option<&'static str>) -> Self {
        self.permission = permission;
        self
    }

    /// Replaces `what` (the backend names the object).
    pub fn about(mut self, what: impl Into<String>) -> Self {
        self.what = what.into();
        self
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether trying again may succeed: throttling (429), server faults
    /// (500, 502, 503, 504) and transport failures.
    pub fn is_retryable(&self) -> bool {
        match self.status {
            None => matches!(self.code.as_str(), "timeout" | "connect" | "connection"),
            Some(s) => matches!(s, 429 | 500 | 502 | 503 | 504),
        }
    }

    /// Whether Graph refused the request without running it (429, 503), so
    /// sending it again cannot do it twice.
    pub fn was_not_run(&self) -> bool {
        matches!(self.status, Some(429 | 503))
    }

    /// How long Graph asked us to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether Graph said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status == Some(404) || self.code == "Request_ResourceNotFound"
    }

    /// Whether Graph reports a conflict on a unique property (`ObjectConflict`).
    pub fn is_conflict(&self) -> bool {
        self.status == Some(409)
            || (self.status == Some(400)
                && (self.code == "ObjectConflict"
                    || self.message.contains("already exists")
                    || self.message.contains("same value for property")))
    }

    /// Whether this is "the referenced objects already exist" (already a member).
    pub fn is_already_member(&self) -> bool {
        self.status == Some(400)
            && self
                .message
                .contains("added object references already exist")
    }

    /// Whether this is "the source object does not exist" on a member add to a
    /// group created moments ago (replication lag).
    pub fn is_replication_lag(&self) -> bool {
        self.is_not_found()
            || (self.status == Some(400)
                && self
                    .message
                    .contains("one of the objects being referenced don't exist"))
    }
}

impl Details {
    fn describe(&self) -> String {
        let status = match self.status {
            Some(s) => format!("{s} {}", self.code),
            None => self.code.clone(),
        };
        let mut text = format!("{}: {status}", self.what);
        if !self.message.is_empty() {
            text.push_str(": ");
            text.push_str(&self.message);
        }
        if let Some(id) = &self.request_id {
            text.push_str(&format!(" (request-id {id})"));
        }
        if let Some(hint) = self.hint.clone().or_else(|| self.default_hint()) {
            text.push_str("\n  hint: ");
            text.push_str(&hint);
        }
        text
    }

    fn default_hint(&self) -> Option<String> {
        match self.status? {
            401 => Some(
                "the access token was refused: check `tenant_id`, `client_id` and the credential under `m365.auth`".into(),
            ),
            403 => Some(match self.permission {
                Some(p) => format!(
                    "grant the app registration the Microsoft Graph application permission `{p}` and an admin's consent (Entra admin center → App registrations → API permissions)"
                ),
                None => "grant the app registration the Microsoft Graph application permission this call needs, with admin consent".into(),
            }),
            429 => Some("Graph kept throttling after every retry: run again later, or lower `m365.limits.writes_per_second`".into()),
            500..=599 => Some("Graph kept failing after every retry: run again later (apply finishes what is left)".into()),
            _ => None,
        }
    }
}

/// The first line of an AADSTS description (trace and correlation ids follow).
fn first_line(s: &str) -> &str {
    s.split(['\r', '\n']).next().unwrap_or(s)
}

/// Parses `Retry-After`: seconds, possibly fractional (`2.128`). HTTP dates
/// are not used by Graph and count as absent.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_is_parsed_with_request_id_and_permission_hint() {
        let body = json!({"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.",
            "innerError":{"date":"2025-02-13T10:17:05","request-id":"93b6-1","client-request-id":"e70c"}}});
        let e = GraphError::from_response("GET /users", 403, None, &body)
            .needing(Some("User.Read.All"));
        let text = e.to_string();
        assert!(
            text.starts_with(
                "GET /users: 403 Authorization_RequestDenied: Insufficient privileges"
            ),
            "{text}"
        );
        assert!(text.contains("(request-id 93b6-1)"), "{text}");
        assert!(text.contains("`User.Read.All`"), "{text}");
        assert!(!e.is_retryable());
    }

    #[test]
    fn oauth_errors_keep_the_first_line_only() {
        let body = json!({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x\r\nCorrelation ID: y",
            "error_codes":[7000215],"correlation_id":"corr-1"});
        let e = GraphError::from_response("token", 401, None, &body);
        assert_eq!(e.code, "invalid_client");
        assert_eq!(e.message, "AADSTS7000215: Invalid client secret provided.");
        assert_eq!(e.request_id.as_deref(), Some("corr-1"));
    }

    #[test]
    fn retry_classification() {
        let e = |s| GraphError::from_response("x", s, None, &json!({}));
        for s in [429, 500, 502, 503, 504] {
            assert!(e(s).is_retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 412] {
            assert!(!e(s).is_retryable(), "{s}");
        }
        assert!(e(404).is_not_found());
        let member = GraphError::from_response(
            "x",
            400,
            None,
            &json!({"error":{"code":"Request_BadRequest",
            "message":"One or more added object references already exist for the following modified properties: 'members'."}}),
        );
        assert!(member.is_already_member());
        let conflict = GraphError::from_response(
            "x",
            400,
            None,
            &json!({"error":{"code":"Request_BadRequest",
            "message":"Another object with the same value for property userPrincipalName already exists."}}),
        );
        assert!(conflict.is_conflict());
        let lag = GraphError::from_response(
            "x",
            400,
            None,
            &json!({"error":{"code":"Request_BadRequest",
            "message":"The source resource object or one of the objects being referenced don't exist."}}),
        );
        assert!(lag.is_replication_lag());
    }

    #[test]
    fn retry_after_may_be_fractional() {
        assert_eq!(
            parse_retry_after("2.128"),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after("0.249"), Some(Duration::from_millis(249)));
        assert_eq!(parse_retry_after(" 10 "), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
