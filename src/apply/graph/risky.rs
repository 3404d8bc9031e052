//! Identity Protection's `confirmCompromised`: Graph allows about one call a
//! second per tenant on the riskyUsers endpoints and sends no `Retry-After`
//! when it refuses, so the users of a wave go in as few calls as possible
//! (up to [`RiskyPacer::per_request`] ids each), and calls are spaced at
//! least [`RiskyPacer::interval`] apart. One pacer is shared by every backend
//! of a process (`okta365 serve` keeps one per tenant), so two waves never
//! crowd the budget between them.

use std::future::Future;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{GraphBackend, user_id};
use crate::apply::backend::{ApplyError, Outcome};
use crate::plan::action::Op;
use crate::providers::graph::http::Request;

const RISKY_RW: &str = "IdentityRiskyUser.ReadWrite.All";

/// Spaces calls to a once-a-second endpoint and says how many ids fit one call.
#[derive(Debug)]
pub struct RiskyPacer {
    /// The least time between two calls.
    pub interval: Duration,
    /// Ids per call.
    pub per_request: usize,
    last: Mutex<Option<Instant>>,
}

impl Default for RiskyPacer {
    fn default() -> Self {
        Self::new(Duration::from_millis(1100), 50)
    }
}

impl RiskyPacer {
    /// A pacer allowing one call per `interval`, `per_request` ids each.
    pub fn new(interval: Duration, per_request: usize) -> Self {
        Self {
            interval,
            per_request: per_request.max(1),
            last: Mutex::new(None),
        }
    }

    /// Sends `ids` in chunks through `send`, one chunk per `interval`; returns
    /// each chunk with what `send` answered. Concurrent callers queue: the
    /// spacing holds across them.
    pub async fn paced<T, F, Fut>(&self, ids: &[String], mut send: F) -> Vec<(Vec<String>, T)>
    where
        F: FnMut(Vec<String>) -> Fut,
        Fut: Future<Output = T>,
    {
        let mut last = self.last.lock().await;
        let mut out = Vec::new();
        for chunk in ids.chunks(self.per_request) {
            if let Some(previous) = *last {
                tokio::time::sleep_until(previous + self.interval).await;
            }
            *last = Some(Instant::now());
            let answer = send(chunk.to_vec()).await;
            // The next call counts from when this one ended: a slow answer
            // does not let two calls land within one interval at Graph.
            *last = Some(Instant::now());
            out.push((chunk.to_vec(), answer));
        }
        out
    }
}

impl GraphBackend {
    /// Confirms the users of the `ConfirmCompromised` ops at `indices` compromised.
    pub(super) async fn run_confirm_compromised(
        &self,
        ops: &[Op],
        indices: &[usize],
        out: &mut [Option<Result<Outcome, ApplyError>>],
    ) {
        let mut by_user: Vec<(String, usize)> = Vec::new();
        for &i in indices {
            let Op::ConfirmCompromised { user } = &ops[i] else {
                continue;
            };
            match user_id(user) {
                Ok(id) => by_user.push((id.to_owned(), i)),
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        if by_user.is_empty() {
            return;
        }
        let ids: Vec<String> = by_user.iter().map(|(id, _)| id.clone()).collect();
        let http = &self.client.http;
        let answers = self
            .risky
            .paced(&ids, |chunk| async move {
                let req = Request::write(
                    Method::POST,
                    "/identityProtection/riskyUsers/confirmCompromised",
                    Some(json!({ "userIds": chunk })),
                    RISKY_RW,
                );
                http.send(&req).await
            })
            .await;
        for (chunk, answer) in answers {
            for id in chunk {
                let Some(&(_, i)) = by_user.iter().find(|(u, _)| *u == id) else {
                    continue;
                };
                out[i] = Some(match &answer {
                    Ok(_) => Ok(Outcome::Done),
                    Err(e) => Err(super::errors::explain(&ops[i], e.clone())),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When each fake call ended, and the ids it carried.
    type Calls = std::sync::Arc<std::sync::Mutex<Vec<(Duration, Vec<String>)>>>;

    #[tokio::test(start_paused = true)]
    async fn calls_are_batched_and_spaced_across_callers() {
        let pacer = std::sync::Arc::new(RiskyPacer::new(Duration::from_secs(1), 2));
        let started = Instant::now();
        let calls: Calls = Calls::default();
        let send = |calls: Calls| {
            move |chunk: Vec<String>| {
                let calls = calls.clone();
                async move {
                    // Graph takes a while to answer.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    calls.lock().unwrap().push((started.elapsed(), chunk));
                }
            }
        };
        let ids: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let other: Vec<String> = vec!["d".into()];
        let (first, second) = tokio::join!(
            pacer.paced(&ids, send(calls.clone())),
            pacer.paced(&other, send(calls.clone())),
        );
        assert_eq!(first.len(), 2, "three ids, two a call");
        assert_eq!(second.len(), 1);
        let calls = calls.lock().unwrap().clone();
        let chunks: Vec<Vec<String>> = calls.iter().map(|(_, c)| c.clone()).collect();
        assert_eq!(
            chunks,
            [
                vec!["a".to_owned(), "b".into()],
                vec!["c".into()],
                vec!["d".into()]
            ]
        );
        // Each call ends 300 ms after it starts; starts are 1 s after the
        // previous call's end.
        let ends: Vec<u128> = calls.iter().map(|(t, _)| t.as_millis()).collect();
        assert_eq!(ends, [300, 1600, 2900]);
    }
}
