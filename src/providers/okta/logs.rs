//! The System Log reader: `GET /api/v1/logs` as a polling query (`since`,
//! `sortOrder=ASCENDING`, no `until`), following `next` links.
//!
//! Okta always returns a `next` link on a polling query, even on an empty
//! page; that link is the checkpoint. It is written to a state file
//! atomically (temporary file, then rename) only after the caller has handled
//! the page, so a restart resumes after the last handled event: nothing is
//! skipped, and nothing handled is read again. Okta's advice is followed: never
//! page by hand with `since`/`until`.

use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::OktaError;
use super::http::Http;

/// Events per page (the API's maximum).
pub const LOGS_PAGE: usize = 1000;

/// What the state file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The `next` link after the last handled page.
    pub next: String,
    /// The `filter` the polling query was started with (`None` for every event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

impl Checkpoint {
    /// Reads a state file; `None` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, OktaError> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                OktaError::fatal(format!(
                    "the checkpoint file {} is not a okta365 checkpoint: {e}\n  hint: delete it and start again with --since",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(OktaError::fatal(format!(
                "cannot read the checkpoint file {}: {e}",
                path.display()
            ))),
        }
    }

    /// Replaces the state file atomically.
    pub fn store(&self, path: &Path) -> Result<(), OktaError> {
        let fail = |e: std::io::Error| {
            OktaError::fatal(format!(
                "cannot write the checkpoint file {}: {e}",
                path.display()
            ))
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
        serde_json::to_writer(&mut file, self).map_err(|e| fail(e.into()))?;
        std::io::Write::write_all(&mut file, b"\n").map_err(fail)?;
        file.as_file().sync_all().map_err(fail)?;
        file.persist(path).map_err(|e| fail(e.error))?;
        Ok(())
    }
}

/// The SCIM filter for a set of event types (`None` when empty).
pub fn event_type_filter(event_types: &[String]) -> Option<String> {
    if event_types.is_empty() {
        return None;
    }
    Some(
        event_types
            .iter()
            .map(|t| format!("eventType eq \"{}\"", t.replace(['"', '\\'], "")))
            .collect::<Vec<_>>()
            .join(" or "),
    )
}

/// Where a polling reader starts.
pub enum Start {
    /// A fresh polling query from this time.
    Since(jiff::Timestamp),
    /// Resume from a saved checkpoint.
    Resume(Checkpoint),
}

/// A System Log polling reader.
pub struct LogReader<'a> {
    http: &'a Http,
    next: Url,
    filter: Option<String>,
    event_types: Vec<String>,
    checkpoint: Option<PathBuf>,
    pending: Option<Url>,
}

/// One page of events, not yet committed.
pub struct Batch {
    /// The events, in the order Okta returned them.
    pub events: Vec<Value>,
    /// Whether Okta has nothing newer (an empty page, or no `next` link).
    pub caught_up: bool,
    /// Whether the query has ended (no `next` link: a bounded query's last page).
    pub finished: bool,
}

impl<'a> LogReader<'a> {
    /// A reader starting at `start`, keeping its checkpoint in `checkpoint` if given.
    pub fn new(
        http: &'a Http,
        start: Start,
        event_types: Vec<String>,
        checkpoint: Option<PathBuf>,
    ) -> Result<Self, OktaError> {
        let filter = event_type_filter(&event_types);
        let next = match start {
            Start::Since(since) => {
                let mut url = http.url("/api/v1/logs")?;
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("since", &since_param(since))
                        .append_pair("sortOrder", "ASCENDING")
                        .append_pair("limit", &LOGS_PAGE.to_string());
                    if let Some(f) = &filter {
                        q.append_pair("filter", f);
                    }
                }
                url
            }
            Start::Resume(saved) => {
                if saved.filter != filter {
                    return Err(OktaError::fatal(format!(
                        "the checkpoint was made for {}, not {}\n  hint: pass the same --event-type options, or delete the checkpoint file and start again with --since",
                        describe_filter(saved.filter.as_deref()),
                        describe_filter(filter.as_deref()),
                    )));
                }
                Url::parse(&saved.next).map_err(|e| {
                    OktaError::fatal(format!("the checkpoint's next link is not a URL: {e}"))
                })?
            }
        };
        Ok(Self {
            http,
            next,
            filter,
            event_types,
            checkpoint,
            pending: None,
        })
    }

    /// Reads the next page. Call [`LogReader::commit`] once its events are handled.
    pub async fn next_batch(&mut self) -> Result<Batch, OktaError> {
        let page = self.http.get(&self.next).await?;
        let events: Vec<Value> = super::read::decode(&page.body, "System Log events", 1)?;
        let finished = page.next.is_none();
        let caught_up = events.is_empty() || finished;
        self.pending = page.next;
        // Okta filters; filter here too, so a server that ignores `filter` cannot leak other events.
        let events = events
            .into_iter()
            .filter(|e| {
                self.event_types.is_empty()
                    || e.get("eventType")
                        .and_then(Value::as_str)
                        .is_some_and(|t| self.event_types.iter().any(|w| w == t))
            })
            .collect();
        Ok(Batch {
            events,
            caught_up,
            finished,
        })
    }

    /// Moves past the page last read and saves the checkpoint.
    pub fn commit(&mut self) -> Result<(), OktaError> {
        if let Some(next) = self.pending.take() {
            self.next = next;
            if let Some(path) = &self.checkpoint {
                Checkpoint {
                    next: self.next.to_string(),
                    filter: self.filter.clone(),
                }
                .store(path)?;
            }
        }
        Ok(())
    }

    /// The link the next read will follow.
    pub fn position(&self) -> &Url {
        &self.next
    }
}

/// `since` to the millisecond, rounded down: events carry millisecond times,
/// so a finer `since` would skip events of its own millisecond.
pub fn since_param(since: jiff::Timestamp) -> String {
    jiff::Timestamp::from_millisecond(since.as_millisecond())
        .unwrap_or(since)
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn describe_filter(filter: Option<&str>) -> String {
    filter.map_or("every event type".to_owned(), |f| format!("`{f}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_join_event_types() {
        assert_eq!(event_type_filter(&[]), None);
        assert_eq!(
            event_type_filter(&[
                "user.lifecycle.deactivate".into(),
                "group.user_membership.add".into()
            ])
            .unwrap(),
            r#"eventType eq "user.lifecycle.deactivate" or eventType eq "group.user_membership.add""#
        );
    }

    #[test]
    fn since_is_sent_to_the_millisecond_rounded_down() {
        let t: jiff::Timestamp = "2026-11-20T10:00:00.123987654Z".parse().unwrap();
        assert_eq!(since_param(t), "2026-11-20T10:00:00.123Z");
        let whole: jiff::Timestamp = "2026-11-20T10:00:00Z".parse().unwrap();
        assert_eq!(since_param(whole), "2026-11-20T10:00:00.000Z");
    }

    #[test]
    fn checkpoints_round_trip_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs.checkpoint");
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
        let c = Checkpoint {
            next: "https://acme.okta.com/api/v1/logs?after=1&limit=1000".into(),
            filter: None,
        };
        c.store(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(c));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left behind"
        );
        std::fs::write(&path, "garbage").unwrap();
        assert!(Checkpoint::load(&path).is_err());
    }
}
