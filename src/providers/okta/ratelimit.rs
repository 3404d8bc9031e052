//! Pacing from Okta's rate-limit headers.
//!
//! Every answer carries `X-Rate-Limit-Limit`, `-Remaining` and `-Reset` (epoch
//! seconds) for its bucket. okta365 keeps an estimate per bucket, takes one
//! unit before each request, and when none is left waits until the window
//! resets instead of sending a request that would be refused with 429. The
//! reset is measured against the server's `Date`, so clock skew does not matter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::HeaderMap;

/// What the headers of one answer said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    /// `X-Rate-Limit-Limit`.
    pub limit: u32,
    /// `X-Rate-Limit-Remaining`.
    pub remaining: u32,
    /// Time until `X-Rate-Limit-Reset`, by the server's clock.
    pub reset_in: Duration,
}

impl Observed {
    /// Reads the headers; `None` when they are absent or malformed.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let num =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let reset = num("x-rate-limit-reset")?;
        let server_now = headers
            .get("date")
            .and_then(|d| d.to_str().ok())
            .and_then(parse_http_date)
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            });
        Some(Self {
            limit: u32::try_from(num("x-rate-limit-limit")?).unwrap_or(u32::MAX),
            remaining: u32::try_from(num("x-rate-limit-remaining")?).unwrap_or(u32::MAX),
            reset_in: Duration::from_secs(reset.saturating_sub(server_now)),
        })
    }

    /// How long to wait after a 429: until the reset, plus a little.
    pub fn retry_after(&self) -> Duration {
        self.reset_in + MARGIN
    }
}

/// Slack added to every wait for the reset (the server's clock ticks in seconds).
const MARGIN: Duration = Duration::from_millis(100);

/// The estimate for one bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Units left until `reset_at`, after the requests in flight.
    pub remaining: u32,
    /// The bucket's size.
    pub limit: u32,
    /// When the window resets (local clock).
    pub reset_at: Instant,
    /// Requests sent and not yet answered.
    pub in_flight: u32,
    /// No answer from the current window yet: `remaining` is a guess.
    pub guessing: bool,
}

/// Go now, or wait this long and ask again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send the request (a unit was taken).
    Go,
    /// Wait, then ask again.
    Wait(Duration),
}

/// How often a request waiting for the first answer of a window asks again.
const PROBE: Duration = Duration::from_millis(20);

impl Window {
    /// A bucket never seen: one request goes out to learn the limits.
    pub fn unknown(now: Instant) -> Self {
        Self {
            remaining: 1,
            limit: 1,
            reset_at: now,
            in_flight: 0,
            guessing: true,
        }
    }

    /// Takes a unit for a request about to be sent, or says how long to wait.
    pub fn take(&mut self, now: Instant) -> Decision {
        if now >= self.reset_at && !self.guessing {
            // A new window has begun; the next answer gives the real count.
            self.remaining = self.limit.max(1);
            self.guessing = true;
        }
        if self.remaining > 0 {
            self.remaining -= 1;
            self.in_flight += 1;
            Decision::Go
        } else if self.guessing {
            Decision::Wait(PROBE)
        } else {
            Decision::Wait(self.reset_at.saturating_duration_since(now) + MARGIN)
        }
    }

    /// Folds in an answer's headers (the answer's request is no longer in flight).
    pub fn observe(&mut self, seen: Observed, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if seen.limit == 0 {
            // A concurrency 429: says nothing about this bucket's window.
            return;
        }
        let reset_at = now + seen.reset_in;
        let after_others = seen.remaining.saturating_sub(self.in_flight);
        self.limit = seen.limit;
        if self.guessing || reset_at > self.reset_at + Duration::from_millis(500) {
            // A new window: the server's count is the truth, less what is still in flight.
            self.remaining = after_others;
            self.reset_at = reset_at;
            self.guessing = false;
        } else {
            self.remaining = self.remaining.min(after_others);
        }
    }

    /// An answer without rate-limit headers: this bucket is not limited visibly.
    pub fn unlimited(&mut self, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.remaining = u32::MAX;
        self.limit = u32::MAX;
        self.reset_at = now;
        self.guessing = true;
    }

    /// The request failed without an answer: it is no longer in flight.
    pub fn settle(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.guessing && self.in_flight == 0 && self.remaining == 0 {
            // Let the next request learn the limits instead.
            self.remaining = 1;
        }
    }
}

/// Buckets by name, shared by every request of a client.
#[derive(Debug, Default)]
pub struct Pacer {
    buckets: Mutex<HashMap<&'static str, Window>>,
}

impl Pacer {
    /// Waits until a request to `bucket` may be sent; returns the time waited.
    pub async fn acquire(&self, bucket: &'static str) -> Duration {
        let mut waited = Duration::ZERO;
        loop {
            let decision = {
                let mut buckets = self.buckets.lock().expect("pacer lock");
                let now = Instant::now();
                buckets
                    .entry(bucket)
                    .or_insert_with(|| Window::unknown(now))
                    .take(now)
            };
            match decision {
                Decision::Go => return waited,
                Decision::Wait(d) => {
                    if d > PROBE {
                        tracing::debug!(
                            bucket,
                            wait_ms = d.as_millis() as u64,
                            "okta rate limit: waiting for the window to reset"
                        );
                    }
                    waited += d;
                    tokio::time::sleep(d).await;
                }
            }
        }
    }

    /// Records how a request to `bucket` ended: an answer's headers, or `None` when there was no answer.
    pub fn observe(&self, bucket: &'static str, headers: Option<&HeaderMap>) {
        let mut buckets = self.buckets.lock().expect("pacer lock");
        let Some(window) = buckets.get_mut(bucket) else {
            return;
        };
        let now = Instant::now();
        match headers.map(Observed::from_headers) {
            Some(Some(seen)) => window.observe(seen, now),
            Some(None) => window.unlimited(now),
            None => window.settle(),
        }
    }
}

/// The rate-limit bucket of a path (Okta's documented buckets, longest prefix).
pub fn bucket_of(path: &str) -> &'static str {
    let rest = |p: &str| path.strip_prefix(p);
    if path.starts_with("/oauth2/") {
        "/oauth2/v1/token"
    } else if path.starts_with("/api/v1/logs") {
        "/api/v1/logs"
    } else if let Some(r) = rest("/api/v1/users/") {
        if r.contains('/') {
            "/api/v1/users"
        } else {
            "/api/v1/users/{id}"
        }
    } else if path.starts_with("/api/v1/users") {
        "/api/v1/users"
    } else if let Some(r) = rest("/api/v1/groups/") {
        if r.contains('/') {
            "/api/v1/groups"
        } else {
            "/api/v1/groups/{id}"
        }
    } else if path.starts_with("/api/v1/groups") {
        "/api/v1/groups"
    } else {
        "/api/v1"
    }
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to epoch seconds.
fn parse_http_date(s: &str) -> Option<u64> {
    let ts = jiff::fmt::rfc2822::parse(s).ok()?.timestamp();
    u64::try_from(ts.as_second()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(limit: u32, remaining: u32, reset: u64, date: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-limit", limit.into());
        h.insert("x-rate-limit-remaining", remaining.into());
        h.insert("x-rate-limit-reset", reset.into());
        h.insert("date", date.parse().unwrap());
        h
    }

    #[test]
    fn reset_is_measured_against_the_server_date() {
        // 1994-11-06T08:49:37Z = 784111777
        let h = headers(600, 10, 784_111_777 + 42, "Sun, 06 Nov 1994 08:49:37 GMT");
        let seen = Observed::from_headers(&h).unwrap();
        assert_eq!(seen.reset_in, Duration::from_secs(42));
        assert_eq!((seen.limit, seen.remaining), (600, 10));
        assert_eq!(seen.retry_after(), Duration::from_millis(42_100));
    }

    #[test]
    fn paces_before_zero_and_waits_for_the_reset() {
        let t0 = Instant::now();
        let mut w = Window::unknown(t0);
        assert_eq!(w.take(t0), Decision::Go);
        // The first answer: 3 left of 4, resetting in 2 s.
        w.observe(
            Observed {
                limit: 4,
                remaining: 3,
                reset_in: Duration::from_secs(2),
            },
            t0,
        );
        for _ in 0..3 {
            assert_eq!(w.take(t0), Decision::Go);
        }
        // Three in flight and none left: the fourth waits for the reset, no 429.
        assert_eq!(w.take(t0), Decision::Wait(Duration::from_secs(2) + MARGIN));
        // An answer from a request sent earlier cannot raise the estimate in the same window.
        w.observe(
            Observed {
                limit: 4,
                remaining: 2,
                reset_in: Duration::from_secs(2),
            },
            t0,
        );
        assert_eq!(w.remaining, 0);
        // After the reset, requests flow again, up to the limit until an answer tells more.
        let later = t0 + Duration::from_secs(3);
        for _ in 0..4 {
            assert_eq!(w.take(later), Decision::Go);
        }
        assert_eq!(w.take(later), Decision::Wait(PROBE));
    }

    #[test]
    fn a_new_window_counts_requests_still_in_flight() {
        let t0 = Instant::now();
        let mut w = Window::unknown(t0);
        w.take(t0);
        w.observe(
            Observed {
                limit: 10,
                remaining: 5,
                reset_in: Duration::from_secs(1),
            },
            t0,
        );
        for _ in 0..3 {
            w.take(t0);
        }
        let t1 = t0 + Duration::from_secs(2);
        w.observe(
            Observed {
                limit: 10,
                remaining: 9,
                reset_in: Duration::from_secs(60),
            },
            t1,
        );
        assert_eq!(w.in_flight, 2);
        assert_eq!(w.remaining, 7);
    }

    #[test]
    fn unknown_buckets_send_one_request_then_follow_the_answer() {
        let t0 = Instant::now();
        let mut w = Window::unknown(t0);
        assert_eq!(w.take(t0), Decision::Go);
        assert_eq!(w.take(t0), Decision::Wait(PROBE));
        w.unlimited(t0);
        for _ in 0..100 {
            assert_eq!(w.take(t0), Decision::Go);
        }
    }

    #[test]
    fn a_concurrency_refusal_leaves_the_window_alone() {
        let t0 = Instant::now();
        let mut w = Window::unknown(t0);
        w.take(t0);
        w.observe(
            Observed {
                limit: 100,
                remaining: 50,
                reset_in: Duration::from_secs(30),
            },
            t0,
        );
        w.take(t0);
        w.observe(
            Observed {
                limit: 0,
                remaining: 0,
                reset_in: Duration::from_secs(1),
            },
            t0,
        );
        assert_eq!((w.limit, w.remaining, w.in_flight), (100, 49, 0));
    }

    #[test]
    fn buckets_follow_okta_prefixes() {
        assert_eq!(bucket_of("/api/v1/users"), "/api/v1/users");
        assert_eq!(bucket_of("/api/v1/users/00u1"), "/api/v1/users/{id}");
        assert_eq!(bucket_of("/api/v1/users/00u1/groups"), "/api/v1/users");
        assert_eq!(bucket_of("/api/v1/groups/00g1/users"), "/api/v1/groups");
        assert_eq!(bucket_of("/api/v1/groups/00g1"), "/api/v1/groups/{id}");
        assert_eq!(bucket_of("/api/v1/logs"), "/api/v1/logs");
        assert_eq!(bucket_of("/oauth2/v1/token"), "/oauth2/v1/token");
    }
}
