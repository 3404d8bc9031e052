//! The HTTP layer every Graph call goes through: bearer token, a limit on
//! requests in flight, pacing of writes under the app's write budget,
//! retries with exponential backoff and jitter (`backon`) that honour
//! `Retry-After`, and counters for the run's summary.
//!
//! Logs carry method, path, status and attempt; never headers or bodies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::auth::TokenSource;
use super::error::{GraphError, parse_retry_after};

/// Tuning: concurrency, write pacing and retry bounds.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Writes per second (a `$batch` item counts as one).
    pub writes_per_second: f64,
    /// Attempts per request (the first included).
    pub max_attempts: usize,
    /// The first backoff delay; doubles each retry (with jitter).
    pub min_delay: Duration,
    /// The longest single wait.
    pub max_delay: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            concurrency: 4,
            writes_per_second: 19.0,
            max_attempts: 8,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
        }
    }
}

/// Counters of one run.
#[derive(Debug, Default)]
pub struct Stats {
    /// HTTP requests sent to Graph (retries included; token requests not).
    pub requests: AtomicU64,
    /// Requests retried (throttled, faulted, timed out).
    pub retries: AtomicU64,
    /// 429 responses (and throttled `$batch` items).
    pub throttled: AtomicU64,
}

/// One request: method, URL (relative to `/v1.0` or absolute), JSON body.
#[derive(Clone, Debug)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// `/users?$select=id` or an absolute `@odata.nextLink`.
    pub url: String,
    /// JSON body.
    pub body: Option<Value>,
    /// Extra headers (`ConsistencyLevel`).
    pub headers: Vec<(&'static str, String)>,
    /// The application permission the call needs (for 403 hints).
    pub permission: Option<&'static str>,
    /// How many write units the request spends (0 for reads).
    pub writes: u32,
    /// Whether sending it twice is harmless. Some creates are not: after a
    /// timeout or a 504 they may have happened, so only 429 and 503 (not
    /// run) are retried here and the caller looks the object up first.
    pub replay_safe: bool,
}

impl Request {
    /// A read.
    pub fn get(url: impl Into<String>, permission: &'static str) -> Self {
        Self {
            method: Method::GET,
            url: url.into(),
            body: None,
            headers: Vec::new(),
            permission: Some(permission),
            writes: 0,
            replay_safe: true,
        }
    }

    /// A write with an optional JSON body.
    pub fn write(
        method: Method,
        url: impl Into<String>,
        body: Option<Value>,
        permission: &'static str,
    ) -> Self {
        Self {
            method,
            url: url.into(),
            body,
            headers: Vec::new(),
            permission: Some(permission),
            writes: 1,
            replay_safe: true,
        }
    }

    /// `GET /users` for logs and errors: method and path, no query.
    pub fn describe(&self) -> String {
        let path = self.url.split('?').next().unwrap_or(&self.url);
        let path = path
            .find("/v1.0")
            .map_or(path, |i| &path[i + "/v1.0".len()..]);
        format!("{} {path}", self.method)
    }
}

/// A response: status and JSON body (`Null` when empty).
#[derive(Clone, Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
    /// The `Location` header (Teams async operations).
    pub location: Option<String>,
}

/// Client-side pacing: writes are spaced so that at most `rate` start per second.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(rate: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / rate.max(0.01)),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits until `units` more writes fit in the budget.
    async fn admit(&self, units: u32) {
        if units == 0 {
            return;
        }
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            // After idling, up to one second's budget may go at once.
            let floor = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
            let start = (*next).max(floor);
            *next = start + self.interval * units;
            start
        };
        tokio::time::sleep_until(at).await;
    }
}

/// The Graph HTTP client.
pub struct Http {
    client: reqwest::Client,
    base: String,
    tokens: TokenSource,
    permits: Semaphore,
    pacer: Pacer,
    limits: Limits,
    /// Counters.
    pub stats: Stats,
}

impl Http {
    /// A client for `{graph_url}/v1.0`.
    pub fn new(graph_url: &str, tokens: TokenSource, limits: Limits) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(limits.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("okta365/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            base: format!("{}/v1.0", graph_url.trim_end_matches('/')),
            tokens,
            permits: Semaphore::new(limits.concurrency.max(1)),
            pacer: Pacer::new(limits.writes_per_second),
            limits,
            stats: Stats::default(),
        })
    }

    /// `{graph_url}/v1.0`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The tuning in use.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The backoff policy for retried requests (and `$batch` items).
    pub fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.limits.min_delay)
            .with_max_delay(self.limits.max_delay)
            .with_max_times(self.limits.max_attempts.saturating_sub(1))
            .with_jitter()
    }

    /// Waits for the write budget to admit `units` writes.
    pub async fn pace(&self, units: u32) {
        self.pacer.admit(units).await;
    }

    /// Sends `req`, retrying throttling and transient faults; a non-2xx
    /// answer that is not retryable (or still failing after the last attempt)
    /// is an error.
    pub async fn send(&self, req: &Request) -> Result<Response, GraphError> {
        let what = req.describe();
        let attempt = AtomicU64::new(0);
        let result = (|| async {
            let n = attempt.fetch_add(1, Ordering::Relaxed) + 1;
            self.attempt(req, &what, n).await
        })
        .retry(self.backoff())
        .sleep(tokio::time::sleep)
        .when(|e: &GraphError| e.is_retryable() && (req.replay_safe || e.was_not_run()))
        .adjust(|e: &GraphError, backoff| backoff.map(|d| e.retry_after().unwrap_or(d)))
        .notify(|e: &GraphError, wait| {
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(request = %what, status = ?e.status, code = %e.code, wait_ms = wait.as_millis() as u64, "retrying");
        })
        .await;
        result.map_err(|e| e.needing(req.permission))
    }

    /// One attempt; a 401 from Graph (token revoked or expired early) gets
    /// one resend with a fresh token inside the attempt.
    async fn attempt(&self, req: &Request, what: &str, n: u64) -> Result<Response, GraphError> {
        self.pace(req.writes).await;
        let token = self.tokens.token(&self.client).await?;
        match self.once(req, what, n, &token).await {
            Err(e) if e.status == Some(401) => {
                self.tokens.invalidate(&token).await;
                let token = self.tokens.token(&self.client).await?;
                self.once(req, what, n, &token).await
            }
            other => other,
        }
    }

    async fn once(
        &self,
        req: &Request,
        what: &str,
        n: u64,
        token: &crate::secret::Secret,
    ) -> Result<Response, GraphError> {
        let url = if req.url.starts_with("http://") || req.url.starts_with("https://") {
            req.url.clone()
        } else {
            format!("{}{}", self.base, req.url)
        };
        // Our own id for the request, which Graph echoes and support can trace.
        let client_request_id = super::auth::random_guid();
        let mut builder = self
            .client
            .request(req.method.clone(), &url)
            .bearer_auth(token.expose())
            .header("client-request-id", &client_request_id);
        for (name, value) in &req.headers {
            builder = builder.header(*name, value);
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let response = builder
            .send()
            .await
            .map_err(|e| GraphError::transport(what, &e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| GraphError::transport(what, &e))?;
        drop(permit);
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        tracing::debug!(request = %what, status, attempt = n, ms = started.elapsed().as_millis() as u64, client_request_id = %client_request_id, "graph");
        if status == 429 {
            self.stats.throttled.fetch_add(1, Ordering::Relaxed);
        }
        if (200..300).contains(&status) {
            return Ok(Response {
                status,
                body,
                location,
            });
        }
        let mut error = GraphError::from_response(what, status, retry_after, &body);
        if error.request_id.is_none() {
            error.request_id = Some(client_request_id);
        }
        Err(error)
    }

    /// Follows `@odata.nextLink` from `first` until the last page and returns
    /// every item. Any failed page fails the whole read (fail closed).
    pub async fn get_all(
        &self,
        first: &str,
        permission: &'static str,
    ) -> Result<Vec<Value>, GraphError> {
        self.get_all_with(first, permission, Ok).await
    }

    /// [`get_all`](Self::get_all), turning each page's items into `T` as it
    /// arrives (`convert` gets them with their index in the whole list), so
    /// only one page is ever held as JSON values.
    pub async fn get_all_with<T>(
        &self,
        first: &str,
        permission: &'static str,
        mut convert: impl FnMut(Value) -> Result<T, GraphError>,
    ) -> Result<Vec<T>, GraphError> {
        let mut items = Vec::new();
        let mut next = Some(first.to_owned());
        let mut pages = 0usize;
        while let Some(url) = next {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(GraphError::unexpected(
                    Request::get(first, permission).describe(),
                    format!("more than {MAX_PAGES} pages: the nextLinks do not end"),
                ));
            }
            let page = self.send(&Request::get(url, permission)).await?;
            let (values, link) = split_page(page.body).map_err(|e| {
                GraphError::unexpected(Request::get(first, permission).describe(), e)
            })?;
            items.reserve(values.len());
            for value in values {
                items.push(convert(value)?);
            }
            next = link;
        }
        Ok(items)
    }
}

/// A bound on pages per list (999 items each: ~100 million objects).
pub const MAX_PAGES: usize = 100_000;

/// A page's `value` array and its `@odata.nextLink`.
pub fn split_page(body: Value) -> Result<(Vec<Value>, Option<String>), String> {
    let Value::Object(mut map) = body else {
        return Err("the page is not a JSON object".into());
    };
    let next = map
        .remove("@odata.nextLink")
        .and_then(|v| v.as_str().map(str::to_owned));
    match map.remove("value") {
        Some(Value::Array(values)) => Ok((values, next)),
        _ => Err("the page has no `value` array; nothing was planned from a partial read".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_split_into_values_and_next_link() {
        let (v, next) = split_page(
            json!({"value":[{"id":"1"}],"@odata.nextLink":"https://g/v1.0/users?$skiptoken=x"}),
        )
        .unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(next.as_deref(), Some("https://g/v1.0/users?$skiptoken=x"));
        let (v, next) = split_page(json!({"value":[]})).unwrap();
        assert!(v.is_empty() && next.is_none());
        assert!(split_page(json!({"error":{}})).is_err());
    }

    #[test]
    fn requests_describe_method_and_path_only() {
        let r = Request::get(
            "https://graph.example/v1.0/users?$skiptoken=abc",
            "User.Read.All",
        );
        assert_eq!(r.describe(), "GET /users");
        let r = Request::get("/groups/1/members?$select=id", "GroupMember.Read.All");
        assert_eq!(r.describe(), "GET /groups/1/members");
    }

    #[tokio::test]
    async fn pacer_spaces_writes() {
        let p = Pacer::new(1000.0);
        let start = Instant::now();
        p.admit(100).await; // starts at once
        p.admit(100).await; // 100 ms later
        p.admit(1).await; // 200 ms after the start
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(195), "{waited:?}");
        assert!(waited <= Duration::from_millis(600), "{waited:?}");
    }
}
