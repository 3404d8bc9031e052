//! The audit trail: JSON lines, for a SIEM to ingest, written ahead of
//! every request. Before an action's requests go out, its `intent` record is
//! written and flushed to disk (fsync); when they are done, its `outcome`
//! record is. After a crash the trail therefore names every action whose
//! requests may have reached the API, and the next apply reports those
//! without an outcome ([`interrupted`]). Records hold what was done, why
//! (policy file:line) and what was sent (method, path, body digest), never a
//! secret: operations carry no credentials, and a new user's initial
//! password is left out of the body digest.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::executor::ActionResult;
use crate::plan::action::{ActionKind, Change, Reason};
use crate::plan::{Action, Plan};

/// Whether a record announces requests about to be sent, or how they ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Written (and synced) before the action's first request.
    Intent,
    /// Written after the action ended (done, failed, skipped or refused).
    Outcome,
}

/// One request as sent: method, path and a digest of the JSON body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRequest {
    /// HTTP method.
    pub method: String,
    /// Path relative to the API root (`/users/{id}`), no query.
    pub path: String,
    /// `sha256:…` of the JSON body (a generated password replaced by
    /// `REDACTED`); absent for requests without a body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_sha256: Option<String>,
}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// When the record was written (RFC 3339).
    pub time: String,
    /// `intent` (before the requests) or `outcome` (after).
    pub phase: Phase,
    /// This apply run (pairs an intent with its outcome).
    pub run: String,
    /// Fingerprint of the plan's inputs.
    pub plan: String,
    /// The action's id in the plan.
    pub action: usize,
    /// What kind of action.
    pub kind: ActionKind,
    /// What it acted on.
    pub target: String,
    /// The Okta id of the person a destructive action acts on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta_id: Option<String>,
    /// How it ended (outcome records only).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub result: Option<ActionResult>,
    /// The write requests sent on its behalf (outcome records only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<SentRequest>,
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
    /// The plan was made from a read accepted with `--accept-read-drop`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub accepted_read_drop: bool,
}

impl AuditRecord {
    /// The outcome record of `action` of `plan` ending with `result` at `time`.
    pub fn new(time: String, plan: &Plan, action: &Action, result: &ActionResult) -> Self {
        Self {
            phase: Phase::Outcome,
            result: Some(result.clone()),
            ..Self::intent(time, plan, action)
        }
    }

    /// The intent record of `action`, written before its requests.
    pub fn intent(time: String, plan: &Plan, action: &Action) -> Self {
        Self {
            time,
            phase: Phase::Intent,
            run: String::new(),
            plan: plan.fingerprint.clone(),
            action: action.id,
            kind: action.kind,
            target: action.target.clone(),
            okta_id: action
                .op
                .subject()
                .and_then(|u| u.okta_id.as_ref())
                .map(ToString::to_string),
            result: None,
            sent: Vec::new(),
            changes: action.changes.clone(),
            reasons: action.reasons.clone(),
            allowed_removals: plan.allowed_removals.clone(),
            origin: None,
            accepted_read_drop: plan.accepted_read_drop,
        }
    }

    /// The same record for run `run`.
    pub fn in_run(mut self, run: &str) -> Self {
        self.run = run.to_owned();
        self
    }

    /// The same record with the requests that were sent.
    pub fn with_sent(mut self, sent: Vec<SentRequest>) -> Self {
        self.sent = sent;
        self
    }
}

/// Where audit records go.
pub trait AuditSink {
    /// Appends a record. Sinks remember write errors for [`AuditSink::sync`]
    /// and [`AuditSink::close`].
    fn record(&mut self, record: &AuditRecord);
    /// Makes every record so far durable (on disk), or reports the first
    /// write error. The executor sends no request before this succeeds.
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Flushes and reports the first write error, if any.
    fn close(&mut self) -> io::Result<()> {
        self.sync()
    }
}

/// Appends JSON lines to a file; [`AuditSink::sync`] flushes them to disk.
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
        if let Err(e) = self.file.write_all(&line) {
            self.error = Some(e);
        }
    }

    fn sync(&mut self) -> io::Result<()> {
        if let Some(e) = &self.error {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        self.file.sync_data()
    }
}

/// Actions of the last run in an audit trail that have an intent but no
/// outcome: their requests may or may not have reached the API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interrupted {
    /// The run's id.
    pub run: String,
    /// When its last record was written.
    pub last_time: String,
    /// `(action id, kind, target)` of each action without an outcome.
    pub actions: Vec<(usize, String, String)>,
}

/// The last run recorded in the audit file at `path`, when it stopped with
/// intents that have no outcome (a crash, a kill). Reads the file backwards,
/// only as far as that run goes. A missing file is no interruption.
pub fn interrupted(path: &Path) -> io::Result<Option<Interrupted>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    #[derive(Deserialize)]
    struct Line {
        #[serde(default)]
        time: String,
        #[serde(default)]
        phase: Option<Phase>,
        #[serde(default)]
        run: String,
        action: usize,
        kind: String,
        target: String,
    }
    let mut run: Option<String> = None;
    let mut last_time = String::new();
    let mut outcomes = std::collections::BTreeSet::new();
    let mut intents: Vec<(usize, String, String)> = Vec::new();
    let mut done = false;
    for_each_line_backwards(&mut file, |line| {
        let Ok(record) = serde_json::from_slice::<Line>(line) else {
            return true; // a torn last line, or not a record: skip it
        };
        match &run {
            None => {
                if record.run.is_empty() {
                    done = true; // written by an okta365 without intents
                    return false;
                }
                run = Some(record.run.clone());
                last_time = record.time.clone();
            }
            Some(r) if *r != record.run => return false,
            Some(_) => {}
        }
        match record.phase {
            Some(Phase::Intent) if !outcomes.contains(&record.action) => {
                intents.push((record.action, record.kind, record.target));
            }
            Some(Phase::Intent) => {}
            _ => {
                outcomes.insert(record.action);
            }
        }
        true
    })?;
    if done || intents.is_empty() {
        return Ok(None);
    }
    intents.reverse();
    Ok(Some(Interrupted {
        run: run.unwrap_or_default(),
        last_time,
        actions: intents,
    }))
}

/// Calls `f` with each line of `file`, last line first, until it returns false.
fn for_each_line_backwards(file: &mut File, mut f: impl FnMut(&[u8]) -> bool) -> io::Result<()> {
    const BLOCK: u64 = 64 * 1024;
    let mut end = file.seek(SeekFrom::End(0))?;
    let mut carry: Vec<u8> = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let mut block = vec![0; (end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block)?;
        block.extend_from_slice(&carry);
        let mut lines: Vec<&[u8]> = block.split(|&b| b == b'\n').collect();
        // The first piece may be the end of a line that starts in an earlier block.
        let first = if start > 0 {
            lines.remove(0).to_vec()
        } else {
            Vec::new()
        };
        for line in lines.into_iter().rev() {
            if !line.is_empty() && !f(line) {
                return Ok(());
            }
        }
        carry = first;
        end = start;
    }
    if !carry.is_empty() {
        f(&carry);
    }
    Ok(())
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
