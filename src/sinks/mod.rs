//! Audit and alert sinks: audit records also go where teams look (Splunk
//! HEC, syslog over UDP, TCP or TLS, a JSON webhook), and chat channels
//! (Slack, Microsoft Teams) hear about applies, refused plans and lockdowns.
//!
//! The audit file stays the record of truth. [`Forward`] wraps the audit
//! writer (one small hook): each record is stamped with its [`Origin`],
//! written to the file, then handed to the sinks, whose workers batch it,
//! write each batch to an on-disk [`spool`] before sending it, and retry
//! with backoff. A receiver that is down loses nothing: its batches wait in
//! the spool for the next run or `okta365 audit flush`.

pub mod config;
pub mod http;
pub mod notify;
pub mod origin;
pub mod splunk;
pub mod spool;
pub mod syslog;
pub mod webhook;

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

pub use config::{NotifyConfig, SinkConfig};
pub use notify::{Notice, Notifier};
pub use origin::Origin;
use spool::Spool;

use crate::apply::audit::{AuditRecord, AuditSink};

/// Why a batch was not delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendError {
    /// What went wrong (never a secret, never a webhook URL).
    pub message: String,
    /// Whether another attempt may succeed (a timeout, a 503), unlike a bad token.
    pub retry: bool,
}

/// How a sink's records travel.
enum Transport {
    Splunk(splunk::Splunk),
    Syslog(syslog::SyslogSender),
    Webhook(webhook::WebhookSender),
}

impl Transport {
    fn new(config: &SinkConfig, origin: &Origin) -> Result<Self, String> {
        Ok(match config {
            SinkConfig::SplunkHec(c) => Self::Splunk(splunk::Splunk::new(c, &origin.host)?),
            SinkConfig::Syslog(c) => Self::Syslog(syslog::SyslogSender::new(c, &origin.host)?),
            SinkConfig::Webhook(c) => Self::Webhook(webhook::WebhookSender::new(c)?),
        })
    }

    async fn send(&self, batch: &[Value]) -> Result<(), SendError> {
        match self {
            Self::Splunk(s) => s.send(batch).await,
            Self::Syslog(s) => s.send(batch).await,
            Self::Webhook(s) => s.send(batch).await,
        }
    }
}

/// What a sink did in one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkReport {
    /// The sink's name.
    pub name: String,
    /// Records delivered (spooled ones from earlier runs included).
    pub delivered: usize,
    /// Records left in the spool for the next run.
    pub waiting: usize,
    /// The spool folder.
    pub spool: String,
    /// The last delivery error, if any.
    pub error: Option<String>,
}

impl SinkReport {
    /// One line for stderr: `audit sink splunk: 12 records delivered`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "audit sink {}: {} records delivered",
            self.name, self.delivered
        );
        if self.waiting > 0 {
            line.push_str(&format!(
                "; {} kept in {} for the next run (or `okta365 audit flush`)",
                self.waiting, self.spool
            ));
        }
        if let Some(e) = &self.error {
            line.push_str(&format!(": {e}"));
        }
        line
    }
}

/// The running sinks of one process.
pub struct SinkSet {
    senders: Vec<mpsc::UnboundedSender<Value>>,
    workers: Vec<tokio::task::JoinHandle<SinkReport>>,
}

impl SinkSet {
    /// Starts one worker per sink; each first delivers what earlier runs
    /// left in its spool. Fails (before anything is applied) when a sink's
    /// secret is missing or its spool cannot be made.
    pub fn start(
        configs: &[SinkConfig],
        spool_root: &Path,
        origin: &Origin,
    ) -> Result<Self, String> {
        let mut set = Self {
            senders: Vec::new(),
            workers: Vec::new(),
        };
        for config in configs {
            let name = config.name();
            let transport =
                Transport::new(config, origin).map_err(|e| format!("audit sink {name}: {e}"))?;
            let spool = Spool::open(spool_root, &name).map_err(|e| {
                format!(
                    "audit sink {name}: cannot make the spool {}: {e}",
                    spool_root.join(&name).display()
                )
            })?;
            let (tx, rx) = mpsc::unbounded_channel();
            let worker = Worker {
                name,
                transport,
                spool,
                delivery: config.delivery(),
            };
            set.senders.push(tx);
            set.workers.push(tokio::spawn(worker.run(rx)));
        }
        Ok(set)
    }

    /// Whether there are no sinks.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Hands a record to every sink (never blocks).
    pub fn send(&self, record: &Value) {
        for tx in &self.senders {
            let _ = tx.send(record.clone());
        }
    }

    /// Lets the workers deliver what they hold (or spool it) and reports.
    pub async fn finish(self) -> Vec<SinkReport> {
        drop(self.senders);
        let mut reports = Vec::new();
        for worker in self.workers {
            match worker.await {
                Ok(r) => reports.push(r),
                Err(e) => reports.push(SinkReport {
                    name: "?".into(),
                    delivered: 0,
                    waiting: 0,
                    spool: String::new(),
                    error: Some(format!("the sink's worker stopped: {e}")),
                }),
            }
        }
        reports
    }
}

/// One sink's worker: spools each batch, sends it, removes it once taken.
struct Worker {
    name: String,
    transport: Transport,
    spool: Spool,
    delivery: config::Delivery,
}

/// How long a worker waits for more records to fill a batch.
const LINGER: Duration = Duration::from_millis(100);

impl Worker {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Value>) -> SinkReport {
        let mut delivered = 0;
        let mut error: Option<String> = None;
        // A sink that failed every attempt is down for the rest of the run:
        // later batches go straight to the spool.
        let mut down = false;
        for segment in self.spool.pending().unwrap_or_default() {
            let Ok(records) = Spool::read(&segment) else {
                continue;
            };
            match self.deliver(&records).await {
                Ok(()) => {
                    let _ = Spool::remove(&segment);
                    delivered += records.len();
                }
                Err(e) => {
                    error = Some(e.message);
                    down = true;
                    break;
                }
            }
        }
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < self.delivery.batch_size {
                match tokio::time::timeout(LINGER, rx.recv()).await {
                    Ok(Some(record)) => batch.push(record),
                    _ => break,
                }
            }
            let segment = match self.spool.write(&batch) {
                Ok(s) => Some(s),
                Err(e) => {
                    error = Some(format!("cannot write the spool: {e}"));
                    None
                }
            };
            if down && segment.is_some() {
                continue;
            }
            match self.deliver(&batch).await {
                Ok(()) => {
                    delivered += batch.len();
                    if let Some(s) = segment {
                        let _ = Spool::remove(&s);
                    }
                }
                Err(e) => {
                    error = Some(e.message);
                    down = true;
                }
            }
        }
        SinkReport {
            name: self.name,
            delivered,
            waiting: self.spool.waiting(),
            spool: self.spool.dir().display().to_string(),
            error,
        }
    }

    /// Sends a batch, retrying transient failures with exponential backoff.
    async fn deliver(&self, batch: &[Value]) -> Result<(), SendError> {
        let mut wait = Duration::from_millis(250);
        let mut attempt = 1;
        loop {
            match self.transport.send(batch).await {
                Ok(()) => return Ok(()),
                Err(e) if !e.retry || attempt >= self.delivery.max_attempts => {
                    tracing::warn!(sink = %self.name, attempt, error = %e.message, "audit sink delivery failed");
                    return Err(e);
                }
                Err(e) => {
                    tracing::info!(sink = %self.name, attempt, error = %e.message, "audit sink delivery failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(4));
                    attempt += 1;
                }
            }
        }
    }
}

/// The audit hook: stamps each record with its origin, writes it with the
/// wrapped writer (the audit file), then hands it to the sinks.
pub struct Forward<S> {
    inner: S,
    origin: Arc<Origin>,
    sinks: SinkSet,
}

impl<S: AuditSink> Forward<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, origin: Origin, sinks: SinkSet) -> Self {
        Self {
            inner,
            origin: Arc::new(origin),
            sinks,
        }
    }

    /// Closes the wrapped writer, then lets the sinks finish.
    pub async fn finish(mut self) -> (io::Result<()>, Vec<SinkReport>) {
        let closed = self.inner.close();
        (closed, self.sinks.finish().await)
    }
}

impl<S: AuditSink> AuditSink for Forward<S> {
    fn record(&mut self, record: &AuditRecord) {
        let mut record = record.clone();
        record.origin = Some(Arc::clone(&self.origin));
        self.inner.record(&record);
        if !self.sinks.is_empty() {
            match serde_json::to_value(&record) {
                Ok(value) => self.sinks.send(&value),
                Err(e) => tracing::warn!(error = %e, "an audit record did not serialise"),
            }
        }
    }

    /// The write-ahead trail: the file is synced before each request; the
    /// sinks follow from their spool.
    fn sync(&mut self) -> io::Result<()> {
        self.inner.sync()
    }

    fn close(&mut self) -> io::Result<()> {
        self.inner.close()
    }
}
