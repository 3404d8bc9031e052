//! The System Log backstop: hooks are best effort (one retry, a daily cap),
//! so `serve` also polls `/api/v1/logs` for the event types the rules name.
//! Each page's events and the position after them are journaled in one
//! transaction, so the checkpoint never runs ahead of what is journaled;
//! events the hook delivered already are duplicates by `uuid` and dropped.

use std::time::Duration;

use super::journal::Source;
use super::metrics::label;
use super::worker::{Context, now_ms};
use crate::events::hook;
use crate::providers::okta::OktaClient;
use crate::providers::okta::logs::{Checkpoint, LogReader, Start, event_type_filter};

/// Polls until `stop` fires. Does nothing when Okta is a snapshot.
pub async fn run(ctx: &Context, mut stop: tokio::sync::watch::Receiver<bool>) {
    let config = &ctx.workspace.config;
    if config.okta.snapshot.is_some() {
        tracing::info!("System Log polling is off: `okta` is a snapshot (event hooks only)");
        return;
    }
    let client = match OktaClient::from_config(&config.okta) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e.message, "System Log polling is off: cannot connect to Okta");
            return;
        }
    };
    let interval = Duration::from_secs(ctx.rules.poll_seconds.max(1));
    let types = crate::events::wanted_types(&ctx.rules);
    let mut failures = 0u32;
    loop {
        let failed = poll(ctx, &client, &types, interval, &mut stop).await;
        if *stop.borrow() {
            return;
        }
        let Err(why) = failed else { return };
        failures += 1;
        let wait = interval * 2u32.saturating_pow(failures.min(6));
        tracing::warn!(error = %why, wait_s = wait.as_secs(), "System Log polling failed; resuming from the journaled checkpoint");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Reads from the journaled checkpoint until an error (returned) or `stop`.
async fn poll(
    ctx: &Context,
    client: &OktaClient,
    types: &[String],
    interval: Duration,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    let saved = ctx
        .journal
        .call(|j| j.checkpoint())
        .await
        .map_err(|e| e.to_string())?;
    let filter = event_type_filter(types);
    let start = match saved
        .as_deref()
        .and_then(|s| serde_json::from_str::<Checkpoint>(s).ok())
    {
        Some(saved) if saved.filter == filter => Start::Resume(saved),
        other => {
            if other.is_some() {
                tracing::warn!(
                    "the event types changed since the System Log checkpoint was saved: polling starts afresh from the backfill window"
                );
            }
            let back = ctx.rules.poll_backfill_minutes as i64 * 60;
            Start::Since(
                jiff::Timestamp::now()
                    .checked_sub(jiff::SignedDuration::from_secs(back))
                    .unwrap_or_else(|_| jiff::Timestamp::now()),
            )
        }
    };
    let mut reader =
        LogReader::new(client.http(), start, types.to_vec(), None).map_err(|e| e.message)?;
    loop {
        let batch = tokio::select! {
            b = reader.next_batch() => b.map_err(|e| e.message)?,
            _ = stop.changed() => return Ok(()),
        };
        reader.commit().map_err(|e| e.message)?;
        let position = serde_json::to_string(&Checkpoint {
            next: reader.position().to_string(),
            filter: filter.clone(),
        })
        .map_err(|e| e.to_string())?;
        let items: Vec<_> = batch.events.iter().map(hook::event).collect();
        let count = items.len();
        let now = now_ms();
        let got = ctx
            .journal
            .call(move |j| j.ingest(Source::Poll, &items, Some(&position), now))
            .await
            .map_err(|e| e.to_string())?;
        let source = label("source", "poll");
        ctx.metrics.add(
            "okta365_events_received_total",
            source.clone(),
            (count - got.rejected) as u64,
        );
        ctx.metrics.add(
            "okta365_events_deduplicated_total",
            source,
            got.duplicates as u64,
        );
        ctx.metrics.add(
            "okta365_events_rejected_total",
            label("reason", "malformed"),
            got.rejected as u64,
        );
        if got.new > 0 {
            tracing::info!(
                events = count,
                new = got.new,
                duplicates = got.duplicates,
                "journaled System Log events"
            );
            ctx.wake.notify_one();
        }
        if batch.caught_up {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return Ok(()),
            }
        }
    }
}
