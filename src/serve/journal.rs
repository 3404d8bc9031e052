//! The event journal: one SQLite database (WAL mode) per tenant, where
//! every event is stored once by its `uuid` before anything acts on it, and
//! every action's intent is written before it runs and its outcome after.
//!
//! Event states: `received` (journaled, not yet acted on) → `acted` (its
//! actions planned and started; retries and a waiting full plan keep it
//! here) → `done`, `failed` or `rejected` (malformed, or of a type no rule
//! names). Action states: `intent` (about to run, or in doubt after a
//! crash) → `done` or `failed`. The System Log checkpoint is stored in the
//! same transaction as the events it covers. Only one process opens a
//! journal at a time (a lock file beside it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use crate::events::hook::Received;

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// SQLite failed.
    #[error("the event journal {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The file system failed, or another process holds the journal.
    #[error("the event journal {path}: {message}")]
    Io {
        /// The database file.
        path: String,
        /// What happened and what to do.
        message: String,
    },
}

/// Where an event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An Okta event hook delivery.
    Hook,
    /// The System Log poller.
    Poll,
    /// A file or standard input (`watch --events`).
    File,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Self::Hook => "hook",
            Self::Poll => "poll",
            Self::File => "file",
        }
    }
}

/// What an intake added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ingested {
    /// New events (to act on).
    pub new: usize,
    /// Events already journaled (by `uuid`), dropped.
    pub duplicates: usize,
    /// Malformed events, journaled as rejected.
    pub rejected: usize,
}

/// An event as journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Order of arrival.
    pub seq: i64,
    /// The event's `uuid`.
    pub uuid: String,
    /// Its type.
    pub event_type: String,
    /// Its JSON.
    pub body: String,
    /// `received`, `acted`, …
    pub state: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Whether the lockdown breaker admitted it already.
    pub admitted: bool,
    /// When it was journaled (ms since the epoch).
    pub received_ms: i64,
}

/// An action of an event, as journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAction {
    /// `kind:target`.
    pub key: String,
    /// `intent`, `done` or `failed`.
    pub state: String,
    /// When its last attempt started (ms since the epoch).
    pub started_ms: i64,
}

/// The breaker as journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrippedBreaker {
    /// When it tripped (ms since the epoch).
    pub at_ms: i64,
    /// Why.
    pub reason: String,
}

/// Counts of events by state, for `/metrics` and `events status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// `(state, count)`.
    pub by_state: Vec<(String, u64)>,
    /// Events held by the breaker.
    pub held: u64,
    /// Events waiting for a full plan.
    pub waiting_for_plan: u64,
}

impl StateCounts {
    /// Events not finished: received or acted.
    pub fn depth(&self) -> u64 {
        self.by_state
            .iter()
            .filter(|(s, _)| s == "received" || s == "acted")
            .map(|(_, n)| n)
            .sum()
    }
}

/// The journal. Cheap to share (`Arc`); every call is one short transaction.
pub struct Journal {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Held for the journal's lifetime: one process at a time.
    _lock: Option<std::fs::File>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    event_type TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    held INTEGER NOT NULL DEFAULT 0,
    admitted INTEGER NOT NULL DEFAULT 0,
    reconcile INTEGER NOT NULL DEFAULT 0,
    worker_done INTEGER NOT NULL DEFAULT 0,
    plan_failed INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER,
    received_ms INTEGER NOT NULL,
    lockdown_ms INTEGER,
    finished_ms INTEGER
);
CREATE INDEX IF NOT EXISTS events_open ON events(state, held);
CREATE TABLE IF NOT EXISTS actions (
    event_uuid TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    PRIMARY KEY (event_uuid, key)
);
CREATE TABLE IF NOT EXISTS admissions (
    event_uuid TEXT NOT NULL,
    user TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS admissions_at ON admissions(at_ms);
CREATE TABLE IF NOT EXISTS locked (
    upn TEXT PRIMARY KEY,
    event_uuid TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS relayed (
    account TEXT PRIMARY KEY,
    event_uuid TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

impl Journal {
    /// Opens (creating it and its folder if needed) the journal at `path`,
    /// taking its lock file. Another process holding it is an error.
    pub fn open(path: &Path) -> Result<Arc<Self>, JournalError> {
        let shown = path.display().to_string();
        let io = |message: String| JournalError::Io {
            path: shown.clone(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| io(format!("cannot create its folder: {e}")))?;
        }
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io(format!("cannot open its lock file: {e}")))?;
        if let Err(e) = lock.try_lock() {
            return Err(io(format!(
                "another okta365 process is using it ({e})\n  hint: run one `okta365 serve` (or `watch`) per journal; stop the other one, or give this one its own `events.journal.path`"
            )));
        }
        let sqlite = |source| JournalError::Sqlite {
            path: shown.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(sqlite)?;
        // WAL: the hook's writes never wait for readers. FULL: a journaled
        // event is on disk before Okta is answered, even on power loss.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite)?;
        conn.execute_batch(SCHEMA).map_err(sqlite)?;
        Ok(Arc::new(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            _lock: Some(lock),
        }))
    }

    /// Opens an existing journal alongside the process that holds it (for
    /// `okta365 events`): SQLite keeps concurrent access safe; the lock file
    /// only keeps two services from acting on one journal.
    pub fn open_shared(path: &Path) -> Result<Arc<Self>, JournalError> {
        let shown = path.display().to_string();
        let sqlite = |source| JournalError::Sqlite {
            path: shown.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(sqlite)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite)?;
        conn.execute_batch(SCHEMA).map_err(sqlite)?;
        Ok(Arc::new(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            _lock: None,
        }))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, source: rusqlite::Error) -> JournalError {
        JournalError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Runs `f` on a blocking thread (SQLite calls wait for the disk).
    pub async fn call<T, F>(self: &Arc<Self>, f: F) -> T
    where
        F: FnOnce(&Journal) -> T + Send + 'static,
        T: Send + 'static,
    {
        let journal = Arc::clone(self);
        match tokio::task::spawn_blocking(move || f(&journal)).await {
            Ok(value) => value,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Stores what arrived in one transaction: new events as `received`,
    /// malformed ones as `rejected`, duplicates (same `uuid`) dropped. With
    /// `checkpoint`, the System Log position is saved in the same
    /// transaction, so it never runs ahead of the events it covers.
    pub fn ingest(
        &self,
        source: Source,
        items: &[Received],
        checkpoint: Option<&str>,
        now_ms: i64,
    ) -> Result<Ingested, JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        let mut out = Ingested::default();
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR IGNORE INTO events (uuid, source, event_type, body, state, note, received_ms, finished_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(|e| self.fail(e))?;
            for item in items {
                let inserted = match item {
                    Received::Event { event, raw } => insert.execute(params![
                        event.uuid,
                        source.name(),
                        event.event_type,
                        raw,
                        "received",
                        "",
                        now_ms,
                        None::<i64>
                    ]),
                    Received::Rejected { id, reason, raw } => insert.execute(params![
                        id,
                        source.name(),
                        "",
                        raw,
                        "rejected",
                        reason,
                        now_ms,
                        Some(now_ms)
                    ]),
                }
                .map_err(|e| self.fail(e))?;
                match (inserted, item) {
                    (0, _) => out.duplicates += 1,
                    (_, Received::Event { .. }) => out.new += 1,
                    (_, Received::Rejected { .. }) => out.rejected += 1,
                }
            }
        }
        if let Some(position) = checkpoint {
            set_meta(&tx, "syslog.checkpoint", position).map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(out)
    }

    /// The saved System Log position.
    pub fn checkpoint(&self) -> Result<Option<String>, JournalError> {
        get_meta(&self.conn(), "syslog.checkpoint").map_err(|e| self.fail(e))
    }

    /// Events to work on, oldest first: received and not held by the
    /// breaker, or acted with a retry due.
    pub fn open_events(&self, now_ms: i64, limit: usize) -> Result<Vec<StoredEvent>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT seq, uuid, event_type, body, state, attempts, admitted, received_ms FROM events
                 WHERE (state = 'received' AND held = 0)
                    OR (state = 'acted' AND next_attempt_ms IS NOT NULL AND next_attempt_ms <= ?1)
                 ORDER BY seq LIMIT ?2",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map(params![now_ms, limit as i64], |r| {
                Ok(StoredEvent {
                    seq: r.get(0)?,
                    uuid: r.get(1)?,
                    event_type: r.get(2)?,
                    body: r.get(3)?,
                    state: r.get(4)?,
                    attempts: r.get(5)?,
                    admitted: r.get::<_, i64>(6)? != 0,
                    received_ms: r.get(7)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// When the next retry is due, if one is waiting.
    pub fn next_retry_ms(&self) -> Result<Option<i64>, JournalError> {
        self.conn()
            .query_row(
                "SELECT MIN(next_attempt_ms) FROM events WHERE state = 'acted' AND next_attempt_ms IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.fail(e))
    }

    /// After a restart: events left `acted` by a process that stopped
    /// mid-way (their actions not finished, no retry scheduled, not held)
    /// are due again now.
    pub fn recover(&self, now_ms: i64) -> Result<usize, JournalError> {
        self.conn()
            .execute(
                "UPDATE events SET next_attempt_ms = ?1
                 WHERE state = 'acted' AND worker_done = 0 AND next_attempt_ms IS NULL AND held = 0",
                params![now_ms],
            )
            .map_err(|e| self.fail(e))
    }

    /// The actions journaled for `uuid`.
    pub fn actions(&self, uuid: &str) -> Result<Vec<StoredAction>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT key, state, started_ms FROM actions WHERE event_uuid = ?1 ORDER BY rowid",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map(params![uuid], |r| {
                Ok(StoredAction {
                    key: r.get(0)?,
                    state: r.get(1)?,
                    started_ms: r.get(2)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// Marks events `acted` (one more attempt) and writes the intents of the
    /// actions about to run, in one transaction: `(event, key)` pairs.
    /// `admit` names events admitted by the breaker now, with their user.
    pub fn begin(
        &self,
        events: &[String],
        intents: &[(String, String)],
        admit: &[(String, String)],
        now_ms: i64,
    ) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        {
            let mut acted = tx
                .prepare(
                    "UPDATE events SET state = 'acted', attempts = attempts + 1, next_attempt_ms = NULL
                     WHERE uuid = ?1 AND state IN ('received', 'acted')",
                )
                .map_err(|e| self.fail(e))?;
            for uuid in events {
                acted.execute(params![uuid]).map_err(|e| self.fail(e))?;
            }
            let mut intent = tx
                .prepare(
                    "INSERT INTO actions (event_uuid, key, state, started_ms) VALUES (?1, ?2, 'intent', ?3)
                     ON CONFLICT (event_uuid, key) DO UPDATE SET state = 'intent', error = '', started_ms = ?3, finished_ms = NULL",
                )
                .map_err(|e| self.fail(e))?;
            for (uuid, key) in intents {
                intent
                    .execute(params![uuid, key, now_ms])
                    .map_err(|e| self.fail(e))?;
            }
            let mut admitted = tx
                .prepare("UPDATE events SET admitted = 1 WHERE uuid = ?1")
                .map_err(|e| self.fail(e))?;
            let mut admission = tx
                .prepare("INSERT INTO admissions (event_uuid, user, at_ms) VALUES (?1, ?2, ?3)")
                .map_err(|e| self.fail(e))?;
            for (uuid, user) in admit {
                admitted.execute(params![uuid]).map_err(|e| self.fail(e))?;
                admission
                    .execute(params![uuid, user, now_ms])
                    .map_err(|e| self.fail(e))?;
            }
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    /// Records how an action ended (`done` or `failed`).
    pub fn outcome(
        &self,
        uuid: &str,
        key: &str,
        done: bool,
        error: &str,
        now_ms: i64,
    ) -> Result<(), JournalError> {
        outcome_on(&self.conn(), uuid, key, done, error, now_ms).map_err(|e| self.fail(e))
    }

    /// Records a batch's results in one transaction: action outcomes, relay
    /// memberships, and each event's end (done, a retry, or failed).
    pub fn complete(&self, batch: &Completion, now_ms: i64) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        let run = || -> rusqlite::Result<()> {
            for (uuid, key, done, error) in &batch.outcomes {
                outcome_on(&tx, uuid, key, *done, error, now_ms)?;
            }
            for (account, uuid, added) in &batch.relayed {
                relayed_on(&tx, account, uuid, *added, now_ms)?;
            }
            for end in &batch.ends {
                match end {
                    End::Done { uuid, note, locked } => {
                        if let Some(upns) = locked {
                            locked_down_on(&tx, uuid, upns, now_ms)?;
                        }
                        finish_on(&tx, uuid, "done", note, now_ms)?;
                    }
                    End::Retry { uuid, at_ms, note } => retry_on(&tx, uuid, *at_ms, note)?,
                    End::Failed { uuid, note } => finish_on(&tx, uuid, "failed", note, now_ms)?,
                }
            }
            Ok(())
        };
        run().map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))
    }

    /// Finishes the worker's part of an event: `done`, `failed` or
    /// `rejected`, with a note. An event still waiting for a full plan stays
    /// `acted` (the plan finishes it); one whose plan failed ends `failed`.
    pub fn finish(
        &self,
        uuid: &str,
        state: &str,
        note: &str,
        now_ms: i64,
    ) -> Result<(), JournalError> {
        finish_on(&self.conn(), uuid, state, note, now_ms).map_err(|e| self.fail(e))
    }

    /// Schedules another attempt of `uuid` at `at_ms`.
    pub fn retry(&self, uuid: &str, at_ms: i64, note: &str) -> Result<(), JournalError> {
        retry_on(&self.conn(), uuid, at_ms, note).map_err(|e| self.fail(e))
    }

    /// Marks events as waiting for a full plan (they stay `acted` until it is made).
    pub fn await_plan(&self, uuids: &[String]) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        for uuid in uuids {
            tx.execute(
                "UPDATE events SET reconcile = 1, state = CASE WHEN state = 'received' THEN 'acted' ELSE state END WHERE uuid = ?1",
                params![uuid],
            )
            .map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    /// The one column `sql` selects, every row.
    fn column<T: rusqlite::types::FromSql, C: FromIterator<T>>(
        &self,
        sql: &str,
    ) -> Result<C, JournalError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).map_err(|e| self.fail(e))?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// Events waiting for a full plan.
    pub fn awaiting_plan(&self) -> Result<Vec<String>, JournalError> {
        self.column("SELECT uuid FROM events WHERE reconcile = 1 ORDER BY seq")
    }

    /// A full plan covering `uuids` ended. Events whose own actions are
    /// finished end `done` (or `failed`, with the note); the others end
    /// when the worker finishes them (`failed` then if the plan failed).
    pub fn plan_made(
        &self,
        uuids: &[String],
        ok: bool,
        note: &str,
        now_ms: i64,
    ) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        for uuid in uuids {
            tx.execute(
                "UPDATE events SET reconcile = 0,
                    plan_failed = CASE WHEN ?2 THEN plan_failed ELSE 1 END,
                    note = CASE WHEN ?2 THEN note ELSE ?3 END,
                    state = CASE WHEN worker_done = 0 OR state IN ('failed', 'rejected') THEN state
                                 WHEN ?2 THEN 'done' ELSE 'failed' END,
                    finished_ms = CASE WHEN worker_done = 0 THEN finished_ms ELSE ?4 END
                 WHERE uuid = ?1 AND reconcile = 1",
                params![uuid, ok, note, now_ms],
            )
            .map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    /// Holds events (the breaker is tripped): they wait, journaled, for a person.
    pub fn hold(&self, uuids: &[String], note: &str) -> Result<(), JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        for uuid in uuids {
            tx.execute(
                "UPDATE events SET held = 1, note = ?2 WHERE uuid = ?1",
                params![uuid, note],
            )
            .map_err(|e| self.fail(e))?;
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    /// Accounts locked in the window: `(admissions since since_ms)`.
    pub fn admissions_since(&self, since_ms: i64) -> Result<usize, JournalError> {
        self.conn()
            .query_row(
                "SELECT COUNT(*) FROM admissions WHERE at_ms > ?1",
                params![since_ms],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(|e| self.fail(e))
    }

    /// The breaker, if tripped.
    pub fn breaker(&self) -> Result<Option<TrippedBreaker>, JournalError> {
        let text = get_meta(&self.conn(), "breaker").map_err(|e| self.fail(e))?;
        Ok(text.and_then(|t| {
            let v: serde_json::Value = serde_json::from_str(&t).ok()?;
            Some(TrippedBreaker {
                at_ms: v["at_ms"].as_i64().unwrap_or_default(),
                reason: v["reason"].as_str().unwrap_or_default().to_owned(),
            })
        }))
    }

    /// Trips the breaker (kept across restarts until a person resets it).
    pub fn trip(&self, reason: &str, now_ms: i64) -> Result<(), JournalError> {
        let value = serde_json::json!({ "at_ms": now_ms, "reason": reason }).to_string();
        set_meta(&self.conn(), "breaker", &value).map_err(|e| self.fail(e))
    }

    /// Resets the breaker. Held events are released to run (a person
    /// approved them: they do not count against the new window), or with
    /// `discard`, finished as rejected. Returns how many were held.
    pub fn reset_breaker(&self, discard: bool, now_ms: i64) -> Result<usize, JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        tx.execute("DELETE FROM meta WHERE key = 'breaker'", [])
            .map_err(|e| self.fail(e))?;
        // The window starts afresh: what was admitted before the reset no longer counts.
        tx.execute("DELETE FROM admissions", [])
            .map_err(|e| self.fail(e))?;
        let held = if discard {
            tx.execute(
                "UPDATE events SET held = 0, reconcile = 0, state = 'rejected', note = 'discarded by a person while the lockdown breaker was tripped', finished_ms = ?1 WHERE held = 1",
                params![now_ms],
            )
        } else {
            // Released by a person: they run without counting against the new window.
            tx.execute("UPDATE events SET held = 0, admitted = 1 WHERE held = 1", [])
        }
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(held)
    }

    /// UPNs (lowercase) of accounts event mode locked, which a full plan must not sign back in.
    pub fn locked_accounts(&self) -> Result<BTreeSet<String>, JournalError> {
        self.column("SELECT upn FROM locked")
    }

    /// Lets full plans sign `upn` back in (the incident is over). Returns whether it was locked.
    pub fn unlock(&self, upn: &str) -> Result<bool, JournalError> {
        self.conn()
            .execute(
                "DELETE FROM locked WHERE upn = ?1",
                params![upn.to_lowercase()],
            )
            .map(|n| n > 0)
            .map_err(|e| self.fail(e))
    }

    /// Accounts (object ids) the relay put in its group.
    pub fn relayed(&self) -> Result<BTreeSet<String>, JournalError> {
        self.column("SELECT account FROM relayed")
    }

    /// Records a relay membership added (`true`) or removed.
    pub fn set_relayed(
        &self,
        account: &str,
        uuid: &str,
        added: bool,
        now_ms: i64,
    ) -> Result<(), JournalError> {
        relayed_on(&self.conn(), account, uuid, added, now_ms).map_err(|e| self.fail(e))
    }

    /// Counts of events by state.
    pub fn counts(&self) -> Result<StateCounts, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT state, COUNT(*) FROM events GROUP BY state ORDER BY state")
            .map_err(|e| self.fail(e))?;
        let by_state = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .map_err(|e| self.fail(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.fail(e))?;
        let (held, waiting_for_plan) = conn
            .query_row(
                "SELECT COALESCE(SUM(held), 0), COALESCE(SUM(reconcile), 0) FROM events",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.fail(e))?;
        Ok(StateCounts {
            by_state,
            held,
            waiting_for_plan,
        })
    }

    /// Milliseconds from receipt to completed lockdown, of every event with one.
    pub fn lockdown_latencies(&self) -> Result<Vec<i64>, JournalError> {
        self.column(
            "SELECT lockdown_ms - received_ms FROM events WHERE lockdown_ms IS NOT NULL ORDER BY 1",
        )
    }

    /// Unfinished or failed events, newest first, for people: `(uuid, type, state, note)`.
    pub fn attention(
        &self,
        limit: usize,
    ) -> Result<Vec<(String, String, String, String)>, JournalError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT uuid, event_type, CASE WHEN held = 1 THEN 'held' ELSE state END, note FROM events
                 WHERE state IN ('received', 'acted', 'failed') ORDER BY seq DESC LIMIT ?1",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// Forgets finished events (and their actions) older than `before_ms`,
    /// and breaker admissions older than `admissions_before_ms`.
    pub fn prune(&self, before_ms: i64, admissions_before_ms: i64) -> Result<usize, JournalError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        tx.execute(
            "DELETE FROM actions WHERE event_uuid IN (SELECT uuid FROM events WHERE state IN ('done', 'failed', 'rejected') AND finished_ms < ?1)",
            params![before_ms],
        )
        .map_err(|e| self.fail(e))?;
        let gone = tx
            .execute(
                "DELETE FROM events WHERE state IN ('done', 'failed', 'rejected') AND finished_ms < ?1",
                params![before_ms],
            )
            .map_err(|e| self.fail(e))?;
        tx.execute(
            "DELETE FROM admissions WHERE at_ms < ?1",
            params![admissions_before_ms],
        )
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(gone)
    }

    /// One event's state and note (tests, `events status`).
    pub fn event_state(&self, uuid: &str) -> Result<Option<(String, String)>, JournalError> {
        self.conn()
            .query_row(
                "SELECT state, note FROM events WHERE uuid = ?1",
                params![uuid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.fail(e))
    }
}

/// What a batch of work ended with, recorded by [`Journal::complete`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Completion {
    /// `(event, action key, done, error)`.
    pub outcomes: Vec<(String, String, bool, String)>,
    /// `(account, event, added)`: relay memberships added or removed.
    pub relayed: Vec<(String, String, bool)>,
    /// How each event's part ended.
    pub ends: Vec<End>,
}

/// How the worker's part of an event ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Every action done.
    Done {
        /// The event.
        uuid: String,
        /// Notes (skipped users).
        note: String,
        /// The UPNs its lockdown locked, when a lockdown completed.
        locked: Option<Vec<String>>,
    },
    /// Some action failed; try again at `at_ms`.
    Retry {
        /// The event.
        uuid: String,
        /// When.
        at_ms: i64,
        /// What failed.
        note: String,
    },
    /// Failed for good.
    Failed {
        /// The event.
        uuid: String,
        /// What failed.
        note: String,
    },
}

fn outcome_on(
    conn: &Connection,
    uuid: &str,
    key: &str,
    done: bool,
    error: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO actions (event_uuid, key, state, error, started_ms, finished_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (event_uuid, key) DO UPDATE SET state = ?3, error = ?4, finished_ms = ?5",
        params![uuid, key, if done { "done" } else { "failed" }, error, now_ms],
    )
    .map(|_| ())
}

fn finish_on(
    conn: &Connection,
    uuid: &str,
    state: &str,
    note: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE events SET
            worker_done = 1,
            state = CASE WHEN ?2 = 'done' AND reconcile = 1 THEN 'acted'
                         WHEN ?2 = 'done' AND plan_failed = 1 THEN 'failed'
                         ELSE ?2 END,
            note = CASE WHEN ?3 = '' AND plan_failed = 1 THEN note ELSE ?3 END,
            next_attempt_ms = NULL,
            finished_ms = CASE WHEN ?2 = 'done' AND reconcile = 1 THEN NULL ELSE ?4 END
         WHERE uuid = ?1",
        params![uuid, state, note, now_ms],
    )
    .map(|_| ())
}

fn locked_down_on(
    conn: &Connection,
    uuid: &str,
    upns: &[String],
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE events SET lockdown_ms = ?2 WHERE uuid = ?1 AND lockdown_ms IS NULL",
        params![uuid, now_ms],
    )?;
    for upn in upns {
        conn.execute(
            "INSERT OR REPLACE INTO locked (upn, event_uuid, at_ms) VALUES (?1, ?2, ?3)",
            params![upn.to_lowercase(), uuid, now_ms],
        )?;
    }
    Ok(())
}

fn retry_on(conn: &Connection, uuid: &str, at_ms: i64, note: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE events SET next_attempt_ms = ?2, note = ?3 WHERE uuid = ?1",
        params![uuid, at_ms, note],
    )
    .map(|_| ())
}

fn relayed_on(
    conn: &Connection,
    account: &str,
    uuid: &str,
    added: bool,
    now_ms: i64,
) -> rusqlite::Result<()> {
    if added {
        conn.execute(
            "INSERT OR REPLACE INTO relayed (account, event_uuid, at_ms) VALUES (?1, ?2, ?3)",
            params![account, uuid, now_ms],
        )
    } else {
        conn.execute("DELETE FROM relayed WHERE account = ?1", params![account])
    }
    .map(|_| ())
}

fn get_meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
        r.get(0)
    })
    .optional()
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        params![key, value],
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::hook;

    fn event(uuid: &str, kind: &str) -> Received {
        hook::event(&serde_json::json!({ "uuid": uuid, "eventType": kind }))
    }

    #[test]
    fn events_are_stored_once_and_malformed_ones_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("events.db")).unwrap();
        let items = [
            event("a", "user.lifecycle.suspend"),
            event("a", "user.lifecycle.suspend"),
            hook::line("{oops"),
        ];
        let got = journal.ingest(Source::Hook, &items, None, 1_000).unwrap();
        assert_eq!(
            got,
            Ingested {
                new: 1,
                duplicates: 1,
                rejected: 1
            }
        );
        let again = journal
            .ingest(Source::Poll, &items[..1], Some("next-link"), 2_000)
            .unwrap();
        assert_eq!(again.duplicates, 1);
        assert_eq!(journal.checkpoint().unwrap().as_deref(), Some("next-link"));
        let open = journal.open_events(3_000, 10).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].uuid, "a");
        let counts = journal.counts().unwrap();
        assert_eq!(counts.depth(), 1);
        assert!(counts.by_state.contains(&("rejected".into(), 1)));
    }

    #[test]
    fn a_second_process_cannot_open_the_same_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        let _first = Journal::open(&path).unwrap();
        let err = Journal::open(&path).err().unwrap().to_string();
        assert!(err.contains("another okta365 process"), "{err}");
    }

    #[test]
    fn intents_left_by_a_crash_make_the_event_due_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        {
            let journal = Journal::open(&path).unwrap();
            journal
                .ingest(Source::Hook, &[event("a", "t")], None, 0)
                .unwrap();
            journal
                .begin(
                    &["a".into()],
                    &[("a".into(), "k1".into()), ("a".into(), "k2".into())],
                    &[("a".into(), "00u1".into())],
                    10,
                )
                .unwrap();
            journal.outcome("a", "k1", true, "", 20).unwrap();
            assert!(journal.open_events(100, 10).unwrap().is_empty());
        }
        let journal = Journal::open(&path).unwrap();
        assert_eq!(journal.recover(500).unwrap(), 1);
        let open = journal.open_events(500, 10).unwrap();
        assert_eq!(open.len(), 1);
        assert!(open[0].admitted, "the breaker counted it once already");
        let states: Vec<(String, String)> = journal
            .actions("a")
            .unwrap()
            .into_iter()
            .map(|a| (a.key, a.state))
            .collect();
        assert_eq!(
            states,
            [("k1".into(), "done".into()), ("k2".into(), "intent".into())]
        );
        assert_eq!(journal.admissions_since(0).unwrap(), 1);
    }

    #[test]
    fn the_breaker_trips_holds_and_resets() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("events.db")).unwrap();
        journal
            .ingest(Source::Hook, &[event("a", "t"), event("b", "t")], None, 0)
            .unwrap();
        journal.trip("too many", 5).unwrap();
        journal.hold(&["b".into()], "held").unwrap();
        assert_eq!(journal.breaker().unwrap().unwrap().reason, "too many");
        assert_eq!(journal.open_events(10, 10).unwrap().len(), 1);
        assert_eq!(journal.reset_breaker(false, 20).unwrap(), 1);
        assert!(journal.breaker().unwrap().is_none());
        assert_eq!(journal.open_events(30, 10).unwrap().len(), 2);
    }

    #[test]
    fn events_awaiting_a_plan_finish_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("events.db")).unwrap();
        journal
            .ingest(Source::Hook, &[event("a", "t"), event("b", "t")], None, 0)
            .unwrap();
        journal.await_plan(&["a".into(), "b".into()]).unwrap();
        journal.finish("a", "done", "", 5).unwrap();
        assert_eq!(journal.event_state("a").unwrap().unwrap().0, "acted");
        journal
            .plan_made(&journal.awaiting_plan().unwrap(), false, "plan refused", 9)
            .unwrap();
        assert_eq!(
            journal.event_state("a").unwrap().unwrap(),
            ("failed".into(), "plan refused".into())
        );
        assert!(journal.awaiting_plan().unwrap().is_empty());
        // b's own actions were still to run: the plan does not end it, the worker does.
        assert_eq!(journal.event_state("b").unwrap().unwrap().0, "acted");
        assert_eq!(
            journal.recover(10).unwrap(),
            1,
            "b is due again after a restart"
        );
        journal.finish("b", "done", "", 12).unwrap();
        assert_eq!(
            journal.event_state("b").unwrap().unwrap(),
            ("failed".into(), "plan refused".into())
        );
    }

    #[test]
    fn pruning_forgets_only_finished_events_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("events.db")).unwrap();
        journal
            .ingest(
                Source::Hook,
                &[event("old", "t"), event("open", "t"), hook::line("x")],
                None,
                0,
            )
            .unwrap();
        journal.finish("old", "done", "", 10).unwrap();
        journal
            .begin(&["open".into()], &[], &[("open".into(), "00u1".into())], 10)
            .unwrap();
        assert_eq!(
            journal.prune(100, 100).unwrap(),
            2,
            "the done and the rejected event"
        );
        assert!(journal.event_state("old").unwrap().is_none());
        assert_eq!(journal.event_state("open").unwrap().unwrap().0, "acted");
        assert_eq!(journal.admissions_since(0).unwrap(), 0);
        // Forgotten means a redelivery is new again.
        let again = journal
            .ingest(Source::Hook, &[event("old", "t")], None, 200)
            .unwrap();
        assert_eq!(again.new, 1);
    }
}
