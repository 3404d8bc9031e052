//! One authenticated GET with everything around it: bounded concurrency
//! (lowered when Okta answers a concurrency 429),
//! pacing by rate-limit headers, retries (`backon`: 5xx, timeouts and resets
//! back off with jitter, honouring `Retry-After`; only a 429 waits for the
//! window to reset), DPoP nonce challenges, one token renewal,
//! and `Link: rel="next"` parsing. Requests are counted and timed for tracing.
//!
//! Logged per request: method, path, status, attempt and time; never headers,
//! query values that could identify a credential, or bodies.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::HeaderMap;
use reqwest::{Client, Url};
use tokio::sync::Semaphore;

use super::auth::Credentials;
use super::error::{Context, ErrorBody, ErrorKind, OktaError, from_response};
use super::ratelimit::{Observed, Pacer, bucket_of};

/// Retries of one request after a retryable failure (5xx, timeout, reset, 429).
pub const RETRIES: usize = 5;

/// One page of a list: the body and the `next` link.
pub struct Page {
    /// The body.
    pub body: Vec<u8>,
    /// The `rel="next"` URL, when there is one.
    pub next: Option<Url>,
}

/// Counters for tracing and tests.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests sent (retries included).
    pub requests: AtomicU64,
    /// Retries after a failure.
    pub retries: AtomicU64,
    /// 429 answers.
    pub throttled: AtomicU64,
    /// Milliseconds spent waiting for rate-limit windows.
    pub paced_ms: AtomicU64,
    /// Milliseconds spent waiting before retries.
    pub retry_wait_ms: AtomicU64,
}

/// The HTTP side of the Okta client.
pub struct Http {
    client: Client,
    org: Url,
    org_shown: String,
    credentials: Credentials,
    pacer: Pacer,
    permits: Semaphore,
    concurrency: AtomicUsize,
    /// Counters.
    pub stats: Stats,
}

impl Http {
    /// A client for `org` with at most `concurrency` requests in flight.
    pub fn new(org: Url, credentials: Credentials, concurrency: usize) -> Result<Self, OktaError> {
        let client = Client::builder()
            .user_agent(concat!("okta365/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OktaError::fatal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            org_shown: org.as_str().trim_end_matches('/').to_owned(),
            org,
            credentials,
            pacer: Pacer::default(),
            permits: Semaphore::new(concurrency.max(1)),
            concurrency: AtomicUsize::new(concurrency.max(1)),
            stats: Stats::default(),
        })
    }

    /// Requests allowed in flight now (lowered after concurrency 429s).
    pub fn concurrency(&self) -> usize {
        self.concurrency.load(Ordering::Relaxed)
    }

    /// The org's base URL.
    pub fn org(&self) -> &Url {
        &self.org
    }

    /// `path?query` on the org.
    pub fn url(&self, path_and_query: &str) -> Result<Url, OktaError> {
        self.org
            .join(path_and_query)
            .map_err(|e| OktaError::fatal(format!("bad Okta URL `{path_and_query}`: {e}")))
    }

    /// GETs `url`, retrying what can be retried.
    pub async fn get(&self, url: &Url) -> Result<Page, OktaError> {
        self.check_origin(url)?;
        let attempt = || self.attempt(url);
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_delay(Duration::from_secs(5))
                    .with_max_times(RETRIES)
                    .with_jitter(),
            )
            .when(OktaError::is_retryable)
            .adjust(next_delay)
            .notify(|e, wait| {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .retry_wait_ms
                    .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
                tracing::debug!(path = url.path(), wait_ms = wait.as_millis() as u64, error = %first_line(&e.message), "okta request: retrying");
            })
            .await
    }

    /// Links must stay on the org: a token is never sent anywhere else.
    fn check_origin(&self, url: &Url) -> Result<(), OktaError> {
        if url.origin() == self.org.origin() {
            Ok(())
        } else {
            Err(OktaError::fatal(format!(
                "Okta sent a link to another host ({}), not `{}`: refusing to follow it",
                url.origin().ascii_serialization(),
                self.org_shown
            )))
        }
    }

    fn context<'a>(&'a self, path: &'a str) -> Context<'a> {
        let (client_id, key_id) = self.credentials.app_ids();
        Context {
            method: "GET",
            path,
            org_url: &self.org_shown,
            api_token: self.credentials.is_api_token(),
            client_id,
            key_id,
        }
    }

    /// One try; answers a DPoP nonce challenge and one token rejection inside it.
    async fn attempt(&self, url: &Url) -> Result<Page, OktaError> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| OktaError::fatal("the Okta client was shut down"))?;
        let path = url.path();
        let ctx = self.context(path);
        let bucket = bucket_of(path);
        let mut challenges = 0;
        let mut renewed = false;
        loop {
            let waited = self.pacer.acquire(bucket).await;
            self.stats
                .paced_ms
                .fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
            // Authorize after pacing, so a DPoP proof's `iat` is fresh when sent.
            let auth = match self
                .credentials
                .authorize(&self.client, &ctx, &self.pacer, "GET", url)
                .await
            {
                Ok(auth) => auth,
                Err(e) => {
                    self.pacer.observe(bucket, None);
                    return Err(e);
                }
            };
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let token_serial = auth.token_serial;
            let started = Instant::now();
            let sent = self
                .client
                .get(url.clone())
                .headers(auth.headers)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await;
            let answer = match sent {
                Ok(a) => a,
                Err(e) => {
                    self.pacer.observe(bucket, None);
                    return Err(transport_error(&ctx, &e));
                }
            };
            let status = answer.status().as_u16();
            let headers = answer.headers().clone();
            self.pacer.observe(bucket, Some(&headers));
            self.credentials.observe(&headers);
            let body = answer
                .bytes()
                .await
                .map_err(|e| transport_error(&ctx, &e))?;
            tracing::debug!(
                method = "GET",
                path,
                status,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "okta request"
            );
            if (200..300).contains(&status) {
                return Ok(Page {
                    body: body.to_vec(),
                    next: next_link(&headers, url)?,
                });
            }
            let www = headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok());
            let parsed = ErrorBody::parse(&body).with_www_authenticate(www);
            let err = from_response(&ctx, status, &parsed, retry_after(status, &headers));
            if err.kind == ErrorKind::RateLimited {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                if is_concurrency_refusal(&headers) {
                    self.lower_concurrency(permit);
                    return Err(err);
                }
            }
            match err.kind {
                ErrorKind::NonceChallenge if challenges < 2 => challenges += 1,
                ErrorKind::TokenRejected
                    if !renewed && self.credentials.forget_token(token_serial).await =>
                {
                    renewed = true;
                }
                _ => return Err(err),
            }
        }
    }
}

impl Http {
    /// Okta refused a request for too many in flight: keep one fewer from now on
    /// (never fewer than one), by not returning this request's permit.
    fn lower_concurrency(&self, permit: tokio::sync::SemaphorePermit<'_>) {
        let cap = self.concurrency.load(Ordering::Relaxed);
        if cap > 1
            && self
                .concurrency
                .compare_exchange(cap, cap - 1, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            permit.forget();
            tracing::info!(
                concurrency = cap - 1,
                "Okta refused concurrent requests: sending fewer at once"
            );
        }
    }
}

/// The wait before the next retry: the server's (429: until the reset) or the
/// backoff's. `None` once the backoff is exhausted, so retries stay bounded.
pub fn next_delay(e: &OktaError, backoff: Option<Duration>) -> Option<Duration> {
    backoff.map(|b| e.retry_after().unwrap_or(b))
}

/// A concurrency 429: Okta sends `X-Rate-Limit-Limit: 0` (the bucket itself is not empty).
fn is_concurrency_refusal(headers: &HeaderMap) -> bool {
    headers
        .get("x-rate-limit-limit")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
}

/// The longest wait a 5xx's `Retry-After` may ask for (longer is capped).
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(30);

/// The server's wait before a retry, from the headers. Only a 429 waits
/// for the rate-limit window to reset (or its `Retry-After`); a 5xx says
/// nothing about the window, so it backs off with jitter, honouring a
/// `Retry-After` when the server sends one (capped at [`MAX_SERVER_WAIT`]).
pub fn retry_after(status: u16, headers: &HeaderMap) -> Option<Duration> {
    let header = || -> Option<Duration> {
        let value = headers.get("retry-after")?.to_str().ok()?.trim();
        match value.parse::<u64>() {
            Ok(secs) => Some(Duration::from_secs(secs)),
            Err(_) => {
                let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
                let now = jiff::Timestamp::now();
                Some(Duration::try_from(at.duration_since(now)).unwrap_or_default())
            }
        }
    };
    match status {
        429 => Observed::from_headers(headers)
            .map(|o| o.retry_after())
            .or_else(header),
        500..=599 => header().map(|d| d.min(MAX_SERVER_WAIT)),
        _ => None,
    }
}

/// A transport failure, with the cause chain (reqwest errors name no secret).
pub fn transport_error(ctx: &Context, e: &reqwest::Error) -> OktaError {
    let mut cause = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    let what = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        format!("cannot connect ({cause})")
    } else {
        format!("failed ({cause})")
    };
    OktaError::transport(format!(
        "Okta {} {}: {what}\n  hint: check `okta.org_url` (`{}`) and the network",
        ctx.method, ctx.path, ctx.org_url
    ))
}

/// The `rel="next"` target among the `Link` headers (Okta sends one header a link).
pub fn next_link(headers: &HeaderMap, base: &Url) -> Result<Option<Url>, OktaError> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        if let Some(target) = find_rel(text, "next") {
            return base
                .join(&target)
                .map(Some)
                .map_err(|e| OktaError::fatal(format!("Okta sent an unreadable next link: {e}")));
        }
    }
    Ok(None)
}

/// Finds `<url>; rel="name"` in one `Link` value (which may hold several links).
pub fn find_rel(value: &str, name: &str) -> Option<String> {
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        let params = &after[..params_end];
        let has_rel = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.strip_prefix("rel=").is_some_and(|v| {
                v.trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case(name))
            })
        });
        if has_rel {
            return Some(target.to_owned());
        }
        rest = after;
    }
    None
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_in_separate_and_joined_headers() {
        let base = Url::parse("https://acme.okta.com/api/v1/users?limit=200").unwrap();
        let mut h = HeaderMap::new();
        h.append(
            "link",
            r#"<https://acme.okta.com/api/v1/users?limit=200>; rel="self""#
                .parse()
                .unwrap(),
        );
        h.append("link", r#"<https://acme.okta.com/api/v1/users?after=00ud4tVDDXYVKPXKVLCO&limit=200>; rel="next""#.parse().unwrap());
        let next = next_link(&h, &base).unwrap().unwrap();
        assert_eq!(next.query(), Some("after=00ud4tVDDXYVKPXKVLCO&limit=200"));
        let mut joined = HeaderMap::new();
        joined.insert(
            "link",
            r#"<https://a/x?limit=2>; rel="self", <https://a/x?after=b&limit=2>; rel="next""#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&joined, &base).unwrap().unwrap().as_str(),
            "https://a/x?after=b&limit=2"
        );
        let mut only_self = HeaderMap::new();
        only_self.insert("link", r#"<https://a/x>; rel="self""#.parse().unwrap());
        assert!(next_link(&only_self, &base).unwrap().is_none());
        assert!(next_link(&HeaderMap::new(), &base).unwrap().is_none());
    }

    #[test]
    fn rel_values_are_matched_whole_and_unquoted() {
        assert_eq!(
            find_rel("<https://a/n>; rel=next", "next").as_deref(),
            Some("https://a/n")
        );
        assert_eq!(
            find_rel(r#"<https://a/p>; rel="prev nextish""#, "next"),
            None
        );
        assert_eq!(
            find_rel(r#"<https://a/p>;rel="prev next""#, "next").as_deref(),
            Some("https://a/p")
        );
    }

    #[test]
    fn the_server_wait_replaces_the_backoff_but_never_extends_the_retries() {
        let mut limited = OktaError::transport("x");
        limited.kind = ErrorKind::RateLimited;
        limited.retry_after = Some(Duration::from_secs(7));
        let backoff = Some(Duration::from_millis(100));
        assert_eq!(next_delay(&limited, backoff), Some(Duration::from_secs(7)));
        assert_eq!(
            next_delay(&limited, None),
            None,
            "retries end when the backoff does"
        );
        let plain = OktaError::transport("y");
        assert_eq!(next_delay(&plain, backoff), backoff);
    }

    #[test]
    fn retry_after_uses_the_reset_for_429_only() {
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-limit", 10.into());
        h.insert("x-rate-limit-remaining", 0.into());
        h.insert("x-rate-limit-reset", (784_111_777u64 + 5).into());
        h.insert("date", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(retry_after(429, &h), Some(Duration::from_millis(5_100)));
        assert_eq!(retry_after(200, &h), None);
        // A 503 carries the same headers, but says nothing about the window:
        // back off instead of waiting for the reset.
        assert_eq!(retry_after(503, &h), None);
        assert_eq!(retry_after(500, &h), None);
        // …unless the server asks for a wait, which is honoured, within bounds.
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(503, &h), Some(Duration::from_secs(2)));
        h.insert("retry-after", "3600".parse().unwrap());
        assert_eq!(retry_after(503, &h), Some(MAX_SERVER_WAIT));
        let mut only_retry_after = HeaderMap::new();
        only_retry_after.insert("retry-after", "7".parse().unwrap());
        assert_eq!(
            retry_after(429, &only_retry_after),
            Some(Duration::from_secs(7))
        );
    }
}
