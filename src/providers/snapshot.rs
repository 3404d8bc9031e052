//! Snapshots: a folder of JSON files in the vendors' own shapes.
//!
//! ```text
//! okta/users.json  okta/groups.json  okta/group-members.json
//! m365/users.json  m365/groups.json  m365/group-members.json  m365/group-owners.json
//! m365/subscribedSkus.json
//! ```
//! A real export and the bundled example look alike. Writing back (for
//! `apply` against a snapshot) replaces each file atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{LiveScope, M365Reader, OktaReader, ReadError};
use crate::model::state::{LiveState, SourceScope, SourceState};

/// The Okta half of a snapshot folder.
#[derive(Clone, Debug)]
pub struct OktaSnapshot {
    /// The folder holding `users.json`, `groups.json`, `group-members.json`.
    pub dir: PathBuf,
}

/// The Office 365 half of a snapshot folder.
#[derive(Clone, Debug)]
pub struct M365Snapshot {
    /// The folder holding `users.json`, `groups.json`, … `subscribedSkus.json`.
    pub dir: PathBuf,
}

impl OktaSnapshot {
    /// Reads the whole snapshot (the scope is ignored: files hold everything).
    pub fn load(&self) -> Result<SourceState, ReadError> {
        Ok(SourceState {
            users: read_json(&self.dir.join("users.json"))?,
            groups: read_json(&self.dir.join("groups.json"))?,
            members: read_json(&self.dir.join("group-members.json"))?,
        })
    }
}

impl OktaReader for OktaSnapshot {
    async fn read(&self, _scope: &SourceScope) -> Result<SourceState, ReadError> {
        self.load()
    }
}

impl M365Snapshot {
    /// Reads the whole snapshot.
    pub fn load(&self) -> Result<LiveState, ReadError> {
        Ok(LiveState {
            users: read_json(&self.dir.join("users.json"))?,
            groups: read_json(&self.dir.join("groups.json"))?,
            members: read_json(&self.dir.join("group-members.json"))?,
            owners: read_json_or_default(&self.dir.join("group-owners.json"))?,
            member_of: read_json_or_default(&self.dir.join("member-of.json"))?,
            skus: read_json(&self.dir.join("subscribedSkus.json"))?,
        })
    }

    /// Writes `state` back, each file replaced atomically (temp file + rename).
    /// All files are written before any is renamed, so a failure while
    /// writing leaves the old snapshot whole.
    pub fn store(&self, state: &LiveState) -> std::io::Result<()> {
        let mut pending = vec![
            stage(&self.dir, "users.json", &state.users)?,
            stage(&self.dir, "groups.json", &state.groups)?,
            stage(&self.dir, "group-members.json", &state.members)?,
            stage(&self.dir, "group-owners.json", &state.owners)?,
            stage(&self.dir, "subscribedSkus.json", &state.skus)?,
        ];
        if !state.member_of.is_empty() || self.dir.join("member-of.json").exists() {
            pending.push(stage(&self.dir, "member-of.json", &state.member_of)?);
        }
        for (file, target) in pending {
            file.persist(target).map_err(|e| e.error)?;
        }
        Ok(())
    }
}

impl M365Reader for M365Snapshot {
    async fn read(&self, _scope: &LiveScope) -> Result<LiveState, ReadError> {
        self.load()
    }
}

fn stage<T: Serialize>(
    dir: &Path,
    name: &str,
    value: &T,
) -> std::io::Result<(tempfile::NamedTempFile, PathBuf)> {
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer_pretty(&mut file, value)?;
    file.write_all(b"\n")?;
    file.as_file().sync_all()?;
    Ok((file, dir.join(name)))
}

/// Reads and parses one JSON file, naming the file and position on error.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_json(path, &text)
}

fn read_json_or_default<T: DeserializeOwned + Default>(path: &Path) -> Result<T, ReadError> {
    if path.exists() {
        read_json(path)
    } else {
        Ok(T::default())
    }
}

/// Parses JSON text, reporting `file:line:col` and the JSON path on error.
///
/// The common case (valid input) is parsed without path tracking, which
/// allocates for every key; only a failed parse is repeated with it, to say
/// where the problem is.
pub fn parse_json<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ReadError> {
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let at = err.path().to_string();
        let inner = err.into_inner();
        let message = if at.is_empty() || at == "." {
            inner.to_string()
        } else {
            format!("at `{at}`: {inner}")
        };
        ReadError::Json {
            path: path.display().to_string(),
            line: inner.line(),
            column: inner.column(),
            message: strip_position(&message),
        }
    })
}

/// serde_json appends " at line L column C"; the position is printed up front instead.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_names_file_line_and_column() {
        let err = parse_json::<Vec<crate::model::okta::User>>(
            Path::new("okta/users.json"),
            "[\n  {\"id\": \"00u1\", \"status\": \"ACTIVE\",\n   \"profile\": {} ,, }\n]",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("okta/users.json:3:"), "{text}");
    }

    #[test]
    fn wrong_shape_names_the_json_path() {
        let err = parse_json::<Vec<crate::model::okta::User>>(
            Path::new("u.json"),
            r#"[{"id": "00u1", "status": "WANDERING", "profile": {}}]"#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("[0].status"), "{text}");
        assert!(text.contains("WANDERING"), "{text}");
    }

    #[test]
    fn unknown_fields_are_kept() {
        let users: Vec<crate::model::graph::User> = parse_json(
            Path::new("u.json"),
            r#"[{"id":"1","userPrincipalName":"a@x.com","displayName":"A","favouriteColour":"teal"}]"#,
        )
        .unwrap();
        let back = serde_json::to_value(&users).unwrap();
        assert_eq!(back[0]["favouriteColour"], "teal");
        assert_eq!(back[0]["displayName"], "A");
    }
}
