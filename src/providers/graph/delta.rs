//! Delta reads of users and groups (`/users/delta`, `/groups/delta`): the
//! first read is a full delta round; its objects and the `@odata.deltaLink`
//! are kept in a state folder, and later reads fetch only what changed.
//!
//! * A 410 Gone (or a `syncStateNotFound` / `resyncRequired` error) means
//!   the token is no longer usable: a full round starts again.
//! * A change of `$select` (new policy attributes) also starts a full round,
//!   since the token tracks only the properties it was issued for.
//! * Fail closed: the state file is replaced (atomically) only after a
//!   whole read succeeded; any other error aborts the read.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::GraphError;
use super::http::{Http, MAX_PAGES, Request};

/// What is kept between runs for one kind of object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tracked {
    /// The `$select` the token was issued for.
    pub select: String,
    /// Where the next round starts.
    pub delta_link: String,
    /// The objects as of that round, by id, in first-seen order.
    pub objects: Map<String, Value>,
}

/// The state folder's file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeltaState {
    /// `{graph_url}/v1.0`, so a state made for another tenant or endpoint is not reused.
    pub base: String,
    /// Users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Tracked>,
    /// Groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Tracked>,
}

/// The state file in `dir`.
pub fn state_file(dir: &Path) -> PathBuf {
    dir.join("graph-delta.json")
}

impl DeltaState {
    /// Reads the state; a missing or unreadable file starts afresh (a full
    /// round), which is always correct, only slower.
    pub fn load(dir: &Path, base: &str) -> Self {
        let fresh = || Self {
            base: base.to_owned(),
            ..Self::default()
        };
        let Ok(text) = std::fs::read_to_string(state_file(dir)) else {
            return fresh();
        };
        match serde_json::from_str::<Self>(&text) {
            Ok(state) if state.base == base => state,
            Ok(_) => fresh(),
            Err(e) => {
                tracing::warn!(error = %e, "the delta state file is unreadable; reading everything afresh");
                fresh()
            }
        }
    }

    /// Replaces the state file atomically.
    pub fn store(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let file = tempfile::NamedTempFile::new_in(dir)?;
        // Buffered: serde_json writes token by token (a syscall each unbuffered).
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        serde_json::to_writer(&mut out, self)?;
        out.write_all(b"\n")?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.as_file().sync_all()?;
        file.persist(state_file(dir)).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Brings `tracked` up to date for `path` (`/users` or `/groups`) with
/// `select`; returns the objects and the new tracking state.
pub async fn refresh(
    http: &Http,
    path: &str,
    select: &str,
    tracked: Option<Tracked>,
    permission: &'static str,
) -> Result<(Vec<Value>, Tracked), GraphError> {
    let usable = tracked.filter(|t| t.select == select);
    let (objects, link) = match usable {
        Some(t) => match round(http, &t.delta_link, permission).await {
            Ok((changes, link)) => {
                tracing::debug!(path, changes = changes.len(), "delta round");
                (merge(t.objects, changes), link)
            }
            Err(e) if needs_resync(&e) => {
                tracing::info!(path, "delta token expired; reading everything afresh");
                full(http, path, select, permission).await?
            }
            Err(e) => return Err(e),
        },
        None => full(http, path, select, permission).await?,
    };
    let list = objects.values().cloned().collect();
    Ok((
        list,
        Tracked {
            select: select.to_owned(),
            delta_link: link,
            objects,
        },
    ))
}

async fn full(
    http: &Http,
    path: &str,
    select: &str,
    permission: &'static str,
) -> Result<(Map<String, Value>, String), GraphError> {
    let (values, link) = round(http, &format!("{path}/delta?$select={select}"), permission).await?;
    Ok((merge(Map::new(), values), link))
}

/// Follows nextLinks to the deltaLink; returns every item of the round.
async fn round(
    http: &Http,
    first: &str,
    permission: &'static str,
) -> Result<(Vec<Value>, String), GraphError> {
    let mut items = Vec::new();
    let mut url = first.to_owned();
    for _ in 0..MAX_PAGES {
        let page = http.send(&Request::get(url.clone(), permission)).await?;
        let Value::Object(mut body) = page.body else {
            return Err(shape_error(first, "the page is not a JSON object"));
        };
        match body.remove("value") {
            Some(Value::Array(values)) => items.extend(values),
            _ => {
                return Err(shape_error(first, "the page has no `value` array"));
            }
        }
        if let Some(next) = body.get("@odata.nextLink").and_then(Value::as_str) {
            url = next.to_owned();
            continue;
        }
        if let Some(delta) = body.get("@odata.deltaLink").and_then(Value::as_str) {
            return Ok((items, delta.to_owned()));
        }
        return Err(shape_error(
            first,
            "the last page has neither a nextLink nor a deltaLink",
        ));
    }
    Err(shape_error(first, "the delta round does not end"))
}

fn shape_error(url: &str, hint: &str) -> GraphError {
    GraphError::unexpected(Request::get(url, "").describe(), hint)
}

/// Whether the token must be dropped for a full round.
pub fn needs_resync(e: &GraphError) -> bool {
    e.status == Some(410)
        || (e.status.is_some_and(|s| (400..500).contains(&s))
            && matches!(
                e.code.as_str(),
                "syncStateNotFound" | "resyncRequired" | "SyncStateNotFound"
            ))
}

/// Applies delta items to objects by id: `@removed` drops an object, any
/// other item is merged into it (a replay or a split object merges harmlessly).
pub fn merge(mut objects: Map<String, Value>, changes: Vec<Value>) -> Map<String, Value> {
    for change in changes {
        let Value::Object(mut item) = change else {
            continue;
        };
        let Some(id) = item.get("id").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        if item.contains_key("@removed") {
            objects.remove(&id);
            continue;
        }
        item.retain(|k, _| !k.starts_with('@') && !k.contains("@delta"));
        match objects.get_mut(&id) {
            Some(Value::Object(existing)) => existing.extend(item),
            _ => {
                objects.insert(id, Value::Object(item));
            }
        }
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removals_drop_updates_merge_and_new_objects_append() {
        let start = merge(
            Map::new(),
            vec![
                json!({"id":"1","displayName":"A","@odata.type":"#microsoft.graph.user"}),
                json!({"id":"2","displayName":"B"}),
            ],
        );
        assert!(start["1"].get("@odata.type").is_none());
        let next = merge(
            start,
            vec![
                json!({"id":"2","@removed":{"reason":"changed"}}),
                json!({"id":"1","department":"Sales"}),
                json!({"id":"3","displayName":"C"}),
                json!({"id":"1","department":"Sales"}), // a replay
            ],
        );
        let ids: Vec<&String> = next.keys().collect();
        assert_eq!(ids, ["1", "3"]);
        assert_eq!(
            next["1"],
            json!({"id":"1","displayName":"A","department":"Sales"})
        );
    }

    #[test]
    fn gone_and_sync_state_errors_resync() {
        let e = |s, code: &str| {
            GraphError::from_response(
                "GET /users/delta",
                s,
                None,
                &json!({"error":{"code":code,"message":""}}),
            )
        };
        assert!(needs_resync(&e(410, "")));
        assert!(needs_resync(&e(400, "syncStateNotFound")));
        assert!(!needs_resync(&e(500, "syncStateNotFound")));
        assert!(!needs_resync(&e(403, "Authorization_RequestDenied")));
    }

    #[test]
    fn state_round_trips_and_another_endpoint_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = DeltaState::load(dir.path(), "http://a/v1.0");
        assert!(state.users.is_none());
        state.users = Some(Tracked {
            select: "id".into(),
            delta_link: "http://a/v1.0/users/delta?$deltatoken=x".into(),
            objects: Map::new(),
        });
        state.store(dir.path()).unwrap();
        assert_eq!(DeltaState::load(dir.path(), "http://a/v1.0"), state);
        assert!(
            DeltaState::load(dir.path(), "http://b/v1.0")
                .users
                .is_none()
        );
    }
}
