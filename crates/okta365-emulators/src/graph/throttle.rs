//! Graph's identity throttling model: per app, a token bucket of resource
//! units (RU) refilled over a window, and a write budget. A request that
//! doesn't fit gets 429 `TooManyRequests` with a (fractional) `Retry-After`
//! and the `x-ms-throttle-*` headers. Costs follow Graph's table.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::options::ThrottleOptions;
use super::wire::{ApiRequest, ApiResponse};

#[derive(Debug)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
    last: Instant,
}

impl Bucket {
    fn new(capacity: u32, window: Duration, now: Instant) -> Self {
        let capacity = f64::from(capacity.max(1));
        Self {
            capacity,
            tokens: capacity,
            per_second: capacity / window.as_secs_f64().max(0.001),
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.last = now;
    }

    /// Seconds until `cost` fits, 0 if it fits now.
    fn wait_for(&self, cost: f64) -> f64 {
        if self.tokens >= cost {
            0.0
        } else {
            (cost.min(self.capacity) - self.tokens) / self.per_second
        }
    }

    fn used_share(&self) -> f64 {
        1.0 - self.tokens / self.capacity
    }
}

#[derive(Debug)]
struct AppBuckets {
    units: Bucket,
    writes: Bucket,
}

/// All throttling state.
#[derive(Debug)]
pub(crate) struct Throttle {
    opts: ThrottleOptions,
    apps: HashMap<String, AppBuckets>,
    /// Team id → times of recent member adds.
    team_adds: BTreeMap<String, VecDeque<Instant>>,
}

/// What a request was charged.
pub(crate) struct Charge {
    pub units: u32,
    /// `x-ms-throttle-limit-percentage`, when above 0.8.
    pub limit_percentage: Option<f64>,
}

impl Throttle {
    pub fn new(opts: ThrottleOptions) -> Self {
        Self {
            opts,
            apps: HashMap::new(),
            team_adds: BTreeMap::new(),
        }
    }

    /// Charges `req` to `app`, or returns the 429 to send.
    pub fn charge(
        &mut self,
        app: &str,
        tenant: &str,
        req: &ApiRequest,
        now: Instant,
    ) -> Result<Charge, ApiResponse> {
        let opts = &self.opts;
        let buckets = self
            .apps
            .entry(app.to_owned())
            .or_insert_with(|| AppBuckets {
                units: Bucket::new(opts.resource_units, opts.window, now),
                writes: Bucket::new(opts.writes, opts.write_window, now),
            });
        buckets.units.refill(now);
        buckets.writes.refill(now);
        let units = cost(req);
        let is_write = req.is_write();
        let unit_wait = buckets.units.wait_for(f64::from(units));
        let write_wait = if is_write {
            buckets.writes.wait_for(1.0)
        } else {
            0.0
        };
        if unit_wait > 0.0 || write_wait > 0.0 {
            let (limit, information) = if write_wait > unit_wait {
                ("Write", "WriteLimitExceeded")
            } else {
                ("ReadWrite", "ResourceUnitLimitExceeded")
            };
            return Err(too_many_requests(unit_wait.max(write_wait))
                .with_header(
                    "x-ms-throttle-scope",
                    format!("Tenant_Application/{limit}/{app}/{tenant}"),
                )
                .with_header("x-ms-throttle-information", information));
        }
        buckets.units.tokens -= f64::from(units);
        if is_write {
            buckets.writes.tokens -= 1.0;
        }
        let share = buckets.units.used_share().max(if is_write {
            buckets.writes.used_share()
        } else {
            0.0
        });
        Ok(Charge {
            units,
            limit_percentage: (share > 0.8).then_some(share),
        })
    }

    /// The per-team member-add limit (`POST /teams/{id}/members[/add]`).
    pub fn charge_team_add(&mut self, team: &str, now: Instant) -> Result<(), ApiResponse> {
        let Some(limit) = self.opts.team_member_adds_per_minute else {
            return Ok(());
        };
        let minute = Duration::from_secs(60);
        let recent = self.team_adds.entry(team.to_owned()).or_default();
        while recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= minute)
        {
            recent.pop_front();
        }
        if recent.len() >= limit as usize {
            let oldest = recent.front().copied().unwrap_or(now);
            let wait = minute.saturating_sub(now.saturating_duration_since(oldest));
            return Err(too_many_requests(wait.as_secs_f64()));
        }
        recent.push_back(now);
        Ok(())
    }
}

/// 429 with Graph's body and a `Retry-After` in seconds (fractional, like Graph's).
pub(crate) fn too_many_requests(wait_seconds: f64) -> ApiResponse {
    let retry_after = format!("{:.3}", wait_seconds.max(0.001));
    let retry_after = retry_after
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_owned();
    ApiResponse::json(
        429,
        serde_json::json!({"error": {"code": "TooManyRequests", "message": "Please retry again later.",
            "innerError": {"code": "429", "message": "Please retry after", "status": "429"}}}),
    )
    .with_header("Retry-After", retry_after)
}

/// RU cost of a request, from Graph's identity cost table.
pub(crate) fn cost(req: &ApiRequest) -> u32 {
    let owned = super::router::segments(&req.path);
    let segments: Vec<&str> = owned.iter().map(String::as_str).collect();
    let base: i64 = if req.is_write() {
        1
    } else {
        match segments.as_slice() {
            ["subscribedSkus", ..] => 3,
            ["groups", _, "transitiveMembers", ..] => 5,
            ["groups", _, "members", ..] => 3,
            [
                "users",
                _,
                "memberOf" | "transitiveMemberOf" | "licenseDetails" | "ownedObjects",
                ..,
            ] => 2,
            ["users", ..] => 2,
            _ => 1,
        }
    };
    let mut total = base;
    if !req.is_write() {
        if req.query("$select").is_some() {
            total -= 1;
        }
        if req
            .query("$top")
            .and_then(|t| t.parse::<u32>().ok())
            .is_some_and(|t| t < 20)
        {
            total -= 1;
        }
        if req.query("$expand").is_some() {
            total += 1;
        }
    }
    total.max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, query: &[(&str, &str)]) -> ApiRequest {
        ApiRequest {
            method: "GET".into(),
            path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            headers: Default::default(),
            body: None,
        }
    }

    #[test]
    fn costs_follow_the_table_and_its_modifiers() {
        assert_eq!(cost(&get("/users", &[])), 2);
        assert_eq!(
            cost(&get("/users", &[("$select", "id"), ("$top", "999")])),
            1
        );
        assert_eq!(cost(&get("/groups/g/members", &[])), 3);
        assert_eq!(
            cost(&get(
                "/groups/g/members",
                &[("$select", "id"), ("$top", "5")]
            )),
            1
        );
        assert_eq!(cost(&get("/subscribedSkus", &[])), 3);
    }

    #[test]
    fn an_exhausted_bucket_gives_429_with_retry_after() {
        let mut t = Throttle::new(ThrottleOptions {
            resource_units: 4,
            window: Duration::from_secs(10),
            ..ThrottleOptions::default()
        });
        let now = Instant::now();
        assert!(t.charge("app", "t", &get("/users", &[]), now).is_ok());
        assert!(t.charge("app", "t", &get("/users", &[]), now).is_ok());
        let err = t
            .charge("app", "t", &get("/users", &[]), now)
            .err()
            .unwrap();
        assert_eq!(err.status, 429);
        let wait: f64 = err.header("Retry-After").unwrap().parse().unwrap();
        assert!((4.9..=5.1).contains(&wait), "{wait}");
        // Another app has its own bucket.
        assert!(t.charge("other", "t", &get("/users", &[]), now).is_ok());
        // After the wait, it fits again.
        assert!(
            t.charge(
                "app",
                "t",
                &get("/users", &[]),
                now + Duration::from_secs(5)
            )
            .is_ok()
        );
    }
}
