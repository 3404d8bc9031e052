//! Event hooks: Okta pushing System Log events to a registered URL. Each
//! hook is verified once (a GET carrying `x-okta-verification-challenge`,
//! answered with `{"verification": …}`), then receives batches of the event
//! types it subscribed to as `com.okta.event_hook` envelopes, with its
//! `Authorization` value, a 3 s timeout and one retry on 5xx or no answer
//! (none on 4xx). A failed delivery is logged as `event_hook.delivery`.
//! Hook URLs must be loopback IP addresses.

use std::time::Duration;

use jiff::Timestamp;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::app::AppRef;
use super::options::EventHook;
use super::state::format_time;

/// How often a hook looks for new events (events this close together are batched).
const POLL: Duration = Duration::from_millis(50);
/// Okta's delivery and verification timeout.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Refuses hook URLs that are not `http(s)://` on a loopback address.
pub fn check_url(hook: &EventHook) -> Result<(), String> {
    let url = reqwest::Url::parse(&hook.url)
        .map_err(|e| format!("event hook URL `{}` is not a URL: {e}", hook.url))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback());
    if loopback && matches!(url.scheme(), "http" | "https") {
        Ok(())
    } else {
        Err(format!(
            "event hook URL `{}` is not on loopback: the emulator only sends to 127.0.0.1 or [::1]",
            hook.url
        ))
    }
}

/// Delivers `hook`'s events written from log position `position` on, until `shutdown`.
pub async fn deliver(
    app: AppRef,
    index: usize,
    org_url: String,
    mut position: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let hook = app.options.event_hooks[index].clone();
    let hook_id = format!("who{:017}", index + 1);
    let Ok(client) = reqwest::Client::builder().timeout(TIMEOUT).build() else {
        record_failure(&app, &hook_id, "no HTTP client");
        return;
    };
    let mut verified = false;
    let mut deliveries: u64 = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => return,
        }
        let (batch, end) = {
            let org = app.org();
            let batch: Vec<Value> = org.logs[position.min(org.logs.len())..]
                .iter()
                .filter(|e| {
                    hook.event_types
                        .iter()
                        .any(|t| e["eventType"] == t.as_str())
                })
                .cloned()
                .collect();
            (batch, org.logs.len())
        };
        position = end;
        if batch.is_empty() {
            continue;
        }
        if !verified {
            if !verify(&client, &hook).await {
                // An unverified hook receives nothing, as in Okta.
                record_failure(&app, &hook_id, "verification failed");
                return;
            }
            verified = true;
        }
        deliveries += 1;
        let mut rng =
            ChaCha8Rng::seed_from_u64(app.options.seed ^ ((index as u64) << 32) ^ deliveries);
        let mut batch = batch;
        if app.options.faults.hook_reorder && batch.len() > 1 {
            batch.reverse();
        }
        let envelope = json!({
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": format!("{org_url}/api/v1/eventHooks/{hook_id}"),
            "eventId": event_id(),
            "data": { "events": batch },
            "eventTime": format_time(Timestamp::now()),
            "contentType": "application/json",
        });
        let mut delivered = false;
        for _attempt in 0..2 {
            match post(&client, &hook, &envelope).await {
                Ok(status) if status.is_success() => {
                    delivered = true;
                    break;
                }
                Ok(status) if status.is_client_error() => break,
                _ => {}
            }
        }
        if !delivered {
            record_failure(&app, &hook_id, "delivery failed");
        } else if rng.random_bool(app.options.faults.hook_duplicate_rate.clamp(0.0, 1.0)) {
            // At least once: the same delivery again, as Okta may send it.
            let _ = post(&client, &hook, &envelope).await;
        }
    }
}

async fn verify(client: &reqwest::Client, hook: &EventHook) -> bool {
    let challenge = format!("challenge-{}", Timestamp::now().as_nanosecond());
    for _attempt in 0..2 {
        let answer = client
            .get(&hook.url)
            .header("x-okta-verification-challenge", &challenge)
            .header("authorization", &hook.authorization)
            .send()
            .await;
        if let Ok(answer) = answer
            && answer.status().is_success()
            && let Ok(body) = answer.json::<Value>().await
        {
            return body["verification"] == challenge.as_str();
        }
    }
    false
}

async fn post(
    client: &reqwest::Client,
    hook: &EventHook,
    envelope: &Value,
) -> Result<reqwest::StatusCode, reqwest::Error> {
    client
        .post(&hook.url)
        .header("accept", "application/json")
        .header("authorization", &hook.authorization)
        .json(envelope)
        .send()
        .await
        .map(|r| r.status())
}

/// A UUID-shaped delivery id, unique per process (not drawn from the org's
/// generator, so deliveries do not change the ids a seed produces).
fn event_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn record_failure(app: &AppRef, hook_id: &str, reason: &str) {
    let target = json!({
        "id": hook_id,
        "type": "EventHook",
        "alternateId": "unknown",
        "displayName": "emulated event hook",
        "detailEntry": null
    });
    let mut org = app.org();
    org.append_event(
        "event_hook.delivery",
        &format!("Event hook {reason}"),
        vec![target],
        Timestamp::now(),
    );
    if let Some(event) = org.logs.last_mut() {
        event["outcome"] = json!({"result": "FAILURE", "reason": reason});
        event["severity"] = json!("WARN");
    }
}
