//! Progress bars on a terminal, drawn from the events of [`crate::progress`].
//!
//! A `tracing` layer: each task (`Okta users`, `Graph member lists`,
//! `apply`, …) gets a bar the first time it reports, with its count, rate and,
//! once the total is known, the time left. Log lines printed meanwhile go
//! above the bars ([`BarsWriter`]).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

use crate::progress::TARGET;

/// The layer that draws the bars.
pub struct BarsLayer {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl BarsLayer {
    /// Bars drawn on `multi`.
    pub fn new(multi: MultiProgress) -> Self {
        Self {
            multi,
            bars: Mutex::new(HashMap::new()),
        }
    }

    /// The position and length of `task`'s bar, if it has one.
    #[cfg(test)]
    pub fn bar(&self, task: &str) -> Option<(u64, Option<u64>)> {
        let bars = self.bars.lock().ok()?;
        bars.get(task).map(|b| (b.position(), b.length()))
    }
}

#[derive(Default)]
struct Report {
    task: String,
    done: Option<u64>,
    total: Option<u64>,
    add: Option<u64>,
}

impl Visit for Report {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "done" => self.done = Some(value),
            "total" => self.total = Some(value).filter(|t| *t > 0),
            "add" => self.add = Some(value),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "task" {
            self.task = value.to_owned();
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

fn style(total_known: bool) -> ProgressStyle {
    let template = if total_known {
        "{prefix:>20} [{bar:30}] {pos}/{len} ({rate}, {eta} left)"
    } else {
        "{prefix:>20} {spinner} {pos} ({rate})"
    };
    ProgressStyle::with_template(template)
        .expect("a valid template")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            },
        )
        .progress_chars("=> ")
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for BarsLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut report = Report::default();
        event.record(&mut report);
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars.entry(report.task.clone()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::no_length());
            bar.set_style(style(false));
            bar.set_prefix(report.task.clone());
            bar
        });
        if let Some(total) = report.total
            && bar.length() != Some(total)
        {
            bar.set_length(total);
            bar.set_style(style(true));
        }
        if let Some(done) = report.done {
            bar.set_position(done);
        }
        if let Some(n) = report.add {
            bar.inc(n);
        }
        if bar.length().is_some_and(|len| bar.position() >= len) {
            bar.finish();
        }
    }
}

/// Stderr for log lines while bars are drawn: each line is printed above
/// the bars instead of through them.
#[derive(Clone)]
pub struct BarsWriter(pub MultiProgress);

/// One log line, written out when dropped.
pub struct Line {
    multi: MultiProgress,
    buffer: Vec<u8>,
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.buffer);
        self.multi.suspend(|| {
            let _ = std::io::stderr().lock().write_all(&buffer);
        });
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BarsWriter {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            multi: self.0.clone(),
            buffer: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use indicatif::ProgressDrawTarget;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// The layer, shared with the test that reads its bars.
    struct Shared(std::sync::Arc<BarsLayer>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Shared {
        fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
            tracing_subscriber::Layer::<S>::on_event(&*self.0, event, ctx);
        }
    }

    #[test]
    fn events_move_the_bars_and_other_events_are_ignored() {
        let layer = std::sync::Arc::new(BarsLayer::new(MultiProgress::with_draw_target(
            ProgressDrawTarget::hidden(),
        )));
        let subscriber = tracing_subscriber::registry().with(Shared(std::sync::Arc::clone(&layer)));
        tracing::subscriber::with_default(subscriber, || {
            crate::progress::set("Okta users", 200, None);
            crate::progress::set("Okta users", 400, None);
            crate::progress::set("apply", 0, Some(10));
            crate::progress::add("apply", 3);
            crate::progress::add("apply", 4);
            tracing::info!(task = "apply", add = 100u64, "not a progress event");
        });
        assert_eq!(layer.bar("Okta users"), Some((400, None)));
        assert_eq!(layer.bar("apply"), Some((7, Some(10))));
        assert_eq!(layer.bar("nothing"), None);
    }
}
