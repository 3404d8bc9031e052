//! The emulator's own request and response values, independent of HTTP, so
//! that `$batch` items and top-level requests go through the same handlers;
//! and Graph's error envelope.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// One Graph call, as a handler sees it.
#[derive(Clone, Debug)]
pub(crate) struct ApiRequest {
    /// Upper-case method.
    pub method: String,
    /// The path below `/v1.0`, percent-decoded, starting with `/`.
    pub path: String,
    /// Query pairs, decoded (`%24select` arrives as `$select`).
    pub query: Vec<(String, String)>,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl ApiRequest {
    /// The value of query option `name` (case-insensitive, `$` included).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A header's value (name lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// Whether the caller opted into advanced queries.
    pub fn is_advanced_query(&self) -> bool {
        self.header("consistencylevel")
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    }

    /// Whether this call changes state.
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD")
    }
}

/// A handler's answer.
#[derive(Clone, Debug)]
pub(crate) struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// A response body.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    Empty,
    Json(Value),
    Text(String),
}

impl ApiResponse {
    /// A JSON response.
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Json(body),
        }
    }

    /// A response without a body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, text: String) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Text(text),
        }
    }

    /// Graph's error envelope; `innerError` is filled in when the response
    /// is sent (it needs the request id).
    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self::json(
            status,
            json!({"error": {"code": code, "message": message.into()}}),
        )
    }

    /// An error with a `details` entry (Graph's ObjectConflict shape).
    pub fn error_with_details(
        status: u16,
        code: &str,
        message: &str,
        detail_code: &str,
        target: &str,
    ) -> Self {
        Self::json(
            status,
            json!({"error": {"code": code, "message": message,
                "details": [{"code": detail_code, "message": message, "target": target}]}}),
        )
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header's value (case-insensitive).
    #[cfg(test)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// 404 `Request_ResourceNotFound` for an id or UPN, in Graph's words.
pub(crate) fn not_found(key: &str) -> ApiResponse {
    ApiResponse::error(
        404,
        "Request_ResourceNotFound",
        format!(
            "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// 400 `Request_BadRequest`.
pub(crate) fn bad_request(message: impl Into<String>) -> ApiResponse {
    ApiResponse::error(400, "Request_BadRequest", message)
}

/// 403 for a token without the permission an operation needs.
pub(crate) fn forbidden() -> ApiResponse {
    ApiResponse::error(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

/// 400 for a route that exists with another method, or not at all.
pub(crate) fn no_route(req: &ApiRequest) -> ApiResponse {
    ApiResponse::error(
        400,
        "BadRequest",
        format!(
            "Resource not found for the segment '{}'.",
            req.path.rsplit('/').find(|s| !s.is_empty()).unwrap_or("")
        ),
    )
}

/// 405 for a known path with a method Graph doesn't allow there.
pub(crate) fn method_not_allowed() -> ApiResponse {
    ApiResponse::error(
        405,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
    )
}

/// Fills `innerError{date, request-id, client-request-id}` into an error
/// body; an `innerError` the handler wrote (429's `code`, `message`,
/// `status`) gets the `date` and `request-id` it lacks.
pub(crate) fn fill_inner_error(body: &mut Value, request_id: &str, client_request_id: &str) {
    let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) else {
        return;
    };
    let date = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    if let Some(inner) = error.get_mut("innerError").and_then(Value::as_object_mut) {
        inner.entry("date").or_insert_with(|| json!(date));
        inner
            .entry("request-id")
            .or_insert_with(|| json!(request_id));
        return;
    }
    error.insert(
        "innerError".into(),
        json!({"date": date, "request-id": request_id, "client-request-id": client_request_id}),
    );
}

/// Graph's JSON content type.
pub(crate) const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
