//! Seeded fault injection. Each request draws from a generator seeded by
//! (seed, endpoint, how many times that endpoint was called), so a run with
//! the same seed and the same per-endpoint call order sees the same faults,
//! even when endpoints are called concurrently.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::options::{FaultKind, FaultOptions, InjectedFault};
use super::wire::ApiResponse;

/// What to do to one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Fault {
    None,
    /// Drop the connection without a response.
    Reset,
    /// Hold the response (past any sane client timeout).
    Timeout,
    /// 503 before doing anything.
    Unavailable,
    /// Do the work, then answer 504 (a write may have committed).
    GatewayTimeout,
    /// 429 with this many seconds of `Retry-After`.
    Throttled(f64),
}

impl Fault {
    /// The fault an injected one stands for.
    pub fn from_kind(kind: &FaultKind) -> Self {
        match kind {
            FaultKind::TooManyRequests { retry_after } => {
                Fault::Throttled(retry_after.as_secs_f64())
            }
            FaultKind::ServiceUnavailable => Fault::Unavailable,
            FaultKind::GatewayTimeoutAfterCommit => Fault::GatewayTimeout,
            FaultKind::ConnectionReset => Fault::Reset,
            FaultKind::Timeout => Fault::Timeout,
        }
    }
}

/// Takes one hit of the first injected fault matching `key`.
pub(crate) fn take_injected(
    queue: &mut Vec<InjectedFault>,
    key: &str,
    in_batch: bool,
) -> Option<Fault> {
    let at = queue.iter().position(|f| {
        (f.endpoint == "*" || f.endpoint == key)
            && f.times > 0
            && !(in_batch && matches!(f.fault, FaultKind::ConnectionReset | FaultKind::Timeout))
    })?;
    let fault = Fault::from_kind(&queue[at].fault);
    queue[at].times -= 1;
    if queue[at].times == 0 {
        queue.remove(at);
    }
    Some(fault)
}

/// A generator for one (endpoint, call number).
pub(crate) fn rng_for(seed: u64, key: &str, n: u64) -> ChaCha8Rng {
    // FNV-1a over the key: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ChaCha8Rng::seed_from_u64(seed ^ h ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Draws the fault for a top-level request.
pub(crate) fn draw(opts: &FaultOptions, rng: &mut ChaCha8Rng) -> Fault {
    let r: f64 = rng.random();
    let mut at = opts.reset_rate;
    if r < at {
        return Fault::Reset;
    }
    at += opts.timeout_rate;
    if r < at {
        return Fault::Timeout;
    }
    at += opts.server_error_rate;
    if r < at {
        return if rng.random_bool(0.5) {
            Fault::Unavailable
        } else {
            Fault::GatewayTimeout
        };
    }
    Fault::None
}

/// Draws whether a `$batch` item fails, and how.
pub(crate) fn draw_batch_item(opts: &FaultOptions, rng: &mut ChaCha8Rng) -> Option<ApiResponse> {
    let r: f64 = rng.random();
    (r < opts.batch_item_failure_rate).then(|| {
        if rng.random_bool(0.5) {
            service_unavailable()
        } else {
            ApiResponse::error(
                500,
                "generalException",
                "General exception while processing",
            )
        }
    })
}

/// Graph's 503.
pub(crate) fn service_unavailable() -> ApiResponse {
    ApiResponse::json(
        503,
        json!({"error": {"code": "serviceNotAvailable", "message": "Service Unavailable"}}),
    )
    .with_header("Retry-After", "1")
}

/// Graph's 504.
pub(crate) fn gateway_timeout() -> ApiResponse {
    ApiResponse::error(504, "UnknownError", "Gateway Timeout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_repeat_for_a_seed_and_differ_across_seeds() {
        let opts = FaultOptions {
            server_error_rate: 0.3,
            reset_rate: 0.1,
            timeout_rate: 0.1,
            ..FaultOptions::default()
        };
        let run = |seed| -> Vec<Fault> {
            (0..200)
                .map(|n| draw(&opts, &mut rng_for(seed, "GET /v1.0/users", n)))
                .collect()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let faults = run(7).iter().filter(|f| **f != Fault::None).count();
        assert!(
            (60..140).contains(&faults),
            "{faults} of 200 faulted at a 50% rate"
        );
    }
}
