//! The HTTP side of `okta365 serve`: the Okta event hook endpoint
//! (`GET /hooks/okta` answers the one-time verification, `POST /hooks/okta`
//! takes deliveries), and `/healthz`, `/readyz`, `/metrics`.
//!
//! A delivery is checked against the shared secret (in constant time)
//! before its body is read, read up to the size limit, journaled (fsync),
//! and only then answered `200`; acting on it is the worker's job, so Okta's
//! 3-second timeout is never spent on Office 365.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::journal::Source;
use super::metrics::label;
use super::worker::{Context, now_ms};
use crate::events::hook;
use crate::secret::Secret;

/// What the handlers share.
#[derive(Clone)]
pub struct HookState {
    /// The service.
    pub ctx: Arc<Context>,
    /// The hook's shared secret (the whole `Authorization` value Okta sends).
    pub secret: Arc<Secret>,
    /// Whether the service takes deliveries (false once it is stopping).
    pub ready: Arc<AtomicBool>,
}

/// The routes.
pub fn router(state: HookState) -> Router {
    Router::new()
        .route("/hooks/okta", get(verify).post(deliver))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Whether `headers` carry the secret, compared in constant time (over
/// digests, so the secret's length does not leak either).
fn authorized(headers: &HeaderMap, secret: &Secret) -> bool {
    let Some(given) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let given = Sha256::digest(given.as_bytes());
    let wanted = Sha256::digest(secret.expose().as_bytes());
    given.ct_eq(&wanted).into()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        "the Authorization header does not match the event hook's secret\n",
    )
        .into_response()
}

/// `GET /hooks/okta`: echoes `x-okta-verification-challenge` as
/// `{"verification": …}`. The answer discloses nothing, so the secret is
/// checked only when the request carries an `Authorization` header.
async fn verify(State(state): State<HookState>, headers: HeaderMap) -> Response {
    if headers.contains_key(header::AUTHORIZATION) && !authorized(&headers, &state.secret) {
        return unauthorized();
    }
    match headers
        .get("x-okta-verification-challenge")
        .and_then(|v| v.to_str().ok())
    {
        Some(challenge) => {
            tracing::info!("answered Okta's event hook verification");
            axum::Json(serde_json::json!({ "verification": challenge })).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            "no x-okta-verification-challenge header: Okta sends one GET to verify the hook, and deliveries by POST\n",
        )
            .into_response(),
    }
}

/// `POST /hooks/okta`: journals the delivery's events, then answers 200.
async fn deliver(State(state): State<HookState>, headers: HeaderMap, body: Body) -> Response {
    if !authorized(&headers, &state.secret) {
        tracing::warn!("refused an event hook delivery: wrong or missing Authorization header");
        return unauthorized();
    }
    if !state.ready.load(Ordering::SeqCst) {
        // Okta retries a 5xx once; the System Log poller catches the rest.
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    let limit = state.ctx.rules.hook.max_body_bytes;
    let too_large = || {
        tracing::warn!(
            limit,
            "refused an event hook delivery larger than the limit"
        );
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("deliveries are limited to {limit} bytes (events.hook.max_body_bytes)\n"),
        )
            .into_response()
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return too_large();
    };
    let (items, refused) = match hook::delivery(&bytes) {
        Ok(items) => (items, None),
        Err(reason) => (
            vec![hook::rejected_delivery(&bytes, reason.clone())],
            Some(reason),
        ),
    };
    let count = items.len();
    let now = now_ms();
    let ingested = state
        .ctx
        .journal
        .call(move |j| j.ingest(Source::Hook, &items, None, now))
        .await;
    let got = match ingested {
        Ok(got) => got,
        Err(e) => {
            tracing::error!(error = %e, "could not journal an event hook delivery");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the event journal is not writable; Okta retries once and the System Log poller catches up\n",
            )
                .into_response();
        }
    };
    let metrics = &state.ctx.metrics;
    let source = label("source", "hook");
    metrics.add(
        "okta365_events_received_total",
        source.clone(),
        (count - got.rejected) as u64,
    );
    metrics.add(
        "okta365_events_deduplicated_total",
        source,
        got.duplicates as u64,
    );
    metrics.add(
        "okta365_events_rejected_total",
        label("reason", "malformed"),
        got.rejected as u64,
    );
    tracing::info!(
        events = count,
        new = got.new,
        duplicates = got.duplicates,
        rejected = got.rejected,
        "journaled an event hook delivery"
    );
    if got.new > 0 {
        state.ctx.wake.notify_one();
    }
    match refused {
        Some(reason) => (StatusCode::BAD_REQUEST, format!("{reason}\n")).into_response(),
        None => StatusCode::OK.into_response(),
    }
}

async fn ready(State(state): State<HookState>) -> Response {
    if state.ready.load(Ordering::SeqCst) {
        "ready\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(state): State<HookState>) -> Response {
    let counts = state
        .ctx
        .journal
        .call(|j| Ok::<_, super::journal::JournalError>((j.counts()?, j.breaker()?.is_some())))
        .await;
    match counts {
        Ok((counts, tripped)) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            state.ctx.metrics.render(&counts, tripped),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
