//! Per-bucket rate limits: a fixed window per bucket that starts with the
//! bucket's first request (Okta's windows are not aligned to the minute).
//! Every response carries `X-Rate-Limit-Limit`, `-Remaining` and `-Reset`
//! (epoch seconds); an empty bucket answers 429 E0000047.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::options::{Bucket, RateLimits};

/// The windows of every bucket.
#[derive(Debug)]
pub struct Limiter {
    limits: RateLimits,
    windows: BTreeMap<Bucket, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    ends: Instant,
    ends_epoch: SystemTime,
    used: u32,
}

/// The outcome of one request against its bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// `X-Rate-Limit-Limit`.
    pub limit: u32,
    /// `X-Rate-Limit-Remaining`.
    pub remaining: u32,
    /// `X-Rate-Limit-Reset`: epoch seconds when the window ends (rounded up).
    pub reset: u64,
}

impl Limiter {
    /// No windows open yet.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            windows: BTreeMap::new(),
        }
    }

    /// Counts a request in `bucket` at `now` (`wall` is the same moment on the wall clock).
    pub fn take(&mut self, bucket: Bucket, now: Instant, wall: SystemTime) -> Decision {
        let limit = self.limits.limit(bucket);
        let length = self.limits.window.max(Duration::from_millis(1));
        let window = self.windows.entry(bucket).or_insert(Window {
            ends: now + length,
            ends_epoch: wall + length,
            used: 0,
        });
        if now >= window.ends {
            *window = Window {
                ends: now + length,
                ends_epoch: wall + length,
                used: 0,
            };
        }
        let allowed = window.used < limit;
        if allowed {
            window.used += 1;
        }
        let since_epoch = window
            .ends_epoch
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let reset = since_epoch.as_secs() + u64::from(since_epoch.subsec_nanos() > 0);
        Decision {
            allowed,
            limit,
            remaining: limit - window.used,
            reset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, window: Duration) -> Limiter {
        Limiter::new(RateLimits {
            per_bucket: [(Bucket::Logs, per_minute)].into(),
            window,
        })
    }

    #[test]
    fn counts_down_refuses_when_empty_and_refills_after_the_window() {
        let mut limiter = limiter(3, Duration::from_secs(60));
        let (t0, wall) = (Instant::now(), SystemTime::now());
        let remaining: Vec<_> = (0..4)
            .map(|_| limiter.take(Bucket::Logs, t0, wall))
            .map(|d| (d.allowed, d.remaining))
            .collect();
        assert_eq!(remaining, [(true, 2), (true, 1), (true, 0), (false, 0)]);
        let later = limiter.take(Bucket::Logs, t0 + Duration::from_secs(60), wall);
        assert_eq!((later.allowed, later.remaining), (true, 2));
    }

    #[test]
    fn buckets_are_independent_and_default_to_workforce_limits() {
        let mut limiter = limiter(1, Duration::from_secs(60));
        let (t0, wall) = (Instant::now(), SystemTime::now());
        assert!(limiter.take(Bucket::Logs, t0, wall).allowed);
        assert!(!limiter.take(Bucket::Logs, t0, wall).allowed);
        let users = limiter.take(Bucket::Users, t0, wall);
        assert_eq!(
            (users.allowed, users.limit, users.remaining),
            (true, 600, 599)
        );
    }

    #[test]
    fn reset_is_the_window_end_in_epoch_seconds() {
        let mut limiter = limiter(5, Duration::from_secs(60));
        let wall = UNIX_EPOCH + Duration::from_millis(1_000_500);
        let decision = limiter.take(Bucket::Logs, Instant::now(), wall);
        assert_eq!(decision.reset, 1_061);
    }
}
