//! The audit trail: one JSON object per line per action, for a SIEM to ingest.
//! Records hold what was done and why (policy file:line), never a secret:
//! operations carry no credentials or passwords to begin with.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::executor::ActionResult;
use crate::plan::action::{ActionKind, Change, Reason};
use crate::plan::{Action, Plan};

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// When the action finished (RFC 3339).
    pub time: String,
    /// Fingerprint of the plan's inputs.
    pub plan: String,
    /// The action's id in the plan.
    pub action: usize,
    /// What kind of action.
    pub kind: ActionKind,
    /// What it acted on.
    pub target: String,
    /// How it ended.
    #[serde(flatten)]
    pub result: ActionResult,
    /// Field changes.
    pub changes: Vec<Change>,
    /// The policy rules behind it.
    pub reasons: Vec<Reason>,
    /// The removal-budget overrides the plan was made with, by kind.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub allowed_removals: std::collections::BTreeMap<crate::plan::budget::RemovalKind, usize>,
    /// Who and where: actor, CI run, host, okta365 version, policy commit
    /// (`actor`, `ci_run`, `host`, `okta365_version`, `policy_commit`),
    /// stamped by the writer (`crate::sinks::Forward`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub origin: Option<std::sync::Arc<crate::sinks::Origin>>,
}

impl AuditRecord {
    /// The record of `action` of `plan` ending with `result` at `time`.
    pub fn new(time: String, plan: &Plan, action: &Action, result: &ActionResult) -> Self {
        Self {
            time,
            plan: plan.fingerprint.clone(),
            action: action.id,
            kind: action.kind,
            target: action.target.clone(),
            result: result.clone(),
            changes: action.changes.clone(),
            reasons: action.reasons.clone(),
            allowed_removals: plan.allowed_removals.clone(),
            origin: None,
        }
    }
}

/// Where audit records go.
pub trait AuditSink {
    /// Appends a record. Sinks remember write errors for [`AuditSink::close`].
    fn record(&mut self, record: &AuditRecord);
    /// Flushes and reports the first write error, if any.
    fn close(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Appends JSON lines to a file, flushing each record so a crash loses none.
pub struct JsonlAudit {
    file: File,
    error: Option<io::Error>,
}

impl JsonlAudit {
    /// Opens (creating it and its folder if needed) the audit file for appending.
    pub fn open(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self {
            file: OpenOptions::new().create(true).append(true).open(path)?,
            error: None,
        })
    }
}

impl AuditSink for JsonlAudit {
    fn record(&mut self, record: &AuditRecord) {
        if self.error.is_some() {
            return;
        }
        let mut line = serde_json::to_vec(record).expect("audit records serialise");
        line.push(b'\n');
        if let Err(e) = self.file.write_all(&line).and_then(|()| self.file.flush()) {
            self.error = Some(e);
        }
    }

    fn close(&mut self) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.file.sync_data(),
        }
    }
}

/// Keeps records in memory (tests, dry runs).
#[derive(Debug, Default)]
pub struct MemoryAudit {
    /// The records, in order.
    pub records: Vec<AuditRecord>,
}

impl AuditSink for MemoryAudit {
    fn record(&mut self, record: &AuditRecord) {
        self.records.push(record.clone());
    }
}
