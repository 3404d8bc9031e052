//! Counters and a latency histogram, rendered in the Prometheus text
//! format for `/metrics`. No registry crate: a handful of series.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use super::journal::StateCounts;

/// Upper bounds (seconds) of the event-to-action latency buckets.
const BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The service's metrics.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
}

/// The help line of each counter.
const COUNTERS: [(&str, &str); 6] = [
    (
        "okta365_events_received_total",
        "Events received, by source (hook, poll, file).",
    ),
    (
        "okta365_events_deduplicated_total",
        "Events received again (same uuid) and dropped, by source.",
    ),
    (
        "okta365_events_rejected_total",
        "Malformed events and events of types no rule names, journaled as rejected.",
    ),
    (
        "okta365_actions_total",
        "Actions carried out, by kind and result (done, failed).",
    ),
    (
        "okta365_breaker_trips_total",
        "Times the lockdown breaker tripped.",
    ),
    (
        "okta365_plans_total",
        "Full plans after reconcile events, by result (no_changes, pending, applied, failed).",
    ),
];

impl Metrics {
    /// Adds `n` to counter `name` with the label set `labels` (`key="value",…`).
    pub fn add(&self, name: &'static str, labels: String, n: u64) {
        if n == 0 {
            return;
        }
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *counters.entry((name, labels)).or_default() += n;
    }

    /// Records that `action` (`lockdown`, `relay`) completed `seconds` after its event arrived.
    pub fn observe(&self, action: &'static str, seconds: f64) {
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = latency.entry(action).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// The value of one counter (tests).
    pub fn get(&self, name: &str, labels: &str) -> u64 {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters
            .iter()
            .find(|((n, l), _)| *n == name && l == labels)
            .map_or(0, |(_, v)| *v)
    }

    /// The Prometheus text exposition, with the journal's gauges.
    pub fn render(&self, journal: &StateCounts, breaker_tripped: bool) -> String {
        let mut out = String::new();
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        for (name, help) in COUNTERS {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let mut any = false;
            for ((n, labels), value) in counters.iter() {
                if *n == name {
                    any = true;
                    let _ = writeln!(out, "{name}{} {value}", braces(labels));
                }
            }
            if !any {
                let _ = writeln!(out, "{name} 0");
            }
        }
        drop(counters);
        let _ = writeln!(
            out,
            "# HELP okta365_journal_depth Events journaled and not finished (received or acted).\n# TYPE okta365_journal_depth gauge\nokta365_journal_depth {}",
            journal.depth()
        );
        let _ = writeln!(
            out,
            "# HELP okta365_journal_events Journaled events by state.\n# TYPE okta365_journal_events gauge"
        );
        for (state, n) in &journal.by_state {
            let _ = writeln!(out, "okta365_journal_events{{state=\"{state}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP okta365_events_held Events held by the tripped lockdown breaker.\n# TYPE okta365_events_held gauge\nokta365_events_held {}",
            journal.held
        );
        let _ = writeln!(
            out,
            "# HELP okta365_breaker_tripped 1 while the lockdown breaker is tripped.\n# TYPE okta365_breaker_tripped gauge\nokta365_breaker_tripped {}",
            u8::from(breaker_tripped)
        );
        let name = "okta365_event_to_action_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from receiving an event to its action completed, by action.\n# TYPE {name} histogram"
        );
        let latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        for (action, h) in latency.iter() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{action=\"{action}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{{action=\"{action}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "{name}_sum{{action=\"{action}\"}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{action=\"{action}\"}} {}", h.count);
        }
        out
    }
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

/// A label set of one label.
pub fn label(key: &str, value: &str) -> String {
    format!("{key}=\"{}\"", value.replace(['"', '\\', '\n'], "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_cumulative_buckets() {
        let m = Metrics::default();
        m.add("okta365_events_received_total", label("source", "hook"), 3);
        m.observe("lockdown", 0.3);
        m.observe("lockdown", 1.5);
        let counts = StateCounts {
            by_state: vec![("done".into(), 2), ("received".into(), 1)],
            held: 0,
            waiting_for_plan: 0,
        };
        let text = m.render(&counts, true);
        assert!(
            text.contains("okta365_events_received_total{source=\"hook\"} 3"),
            "{text}"
        );
        assert!(text.contains("okta365_journal_depth 1"), "{text}");
        assert!(text.contains("okta365_breaker_tripped 1"), "{text}");
        assert!(
            text.contains(
                "okta365_event_to_action_seconds_bucket{action=\"lockdown\",le=\"0.25\"} 0"
            )
        );
        assert!(
            text.contains(
                "okta365_event_to_action_seconds_bucket{action=\"lockdown\",le=\"0.5\"} 1"
            )
        );
        assert!(
            text.contains("okta365_event_to_action_seconds_bucket{action=\"lockdown\",le=\"2\"} 2")
        );
        assert!(text.contains("okta365_event_to_action_seconds_count{action=\"lockdown\"} 2"));
        assert!(text.contains("okta365_actions_total 0"));
    }
}
