//! Snapshots: a folder of JSON files in the vendors' own shapes.
//!
//! ```text
//! okta/users.json  okta/groups.json  okta/group-members.json
//! m365/users.json  m365/groups.json  m365/group-members.json  m365/group-owners.json
//! m365/subscribedSkus.json
//! ```
//! A real export and the bundled example look alike. A Graph list
//! (`users.json`, `groups.json`, `subscribedSkus.json`) may also be saved as
//! the API returns it: one page (`{"@odata.context": …, "value": [...]}`) or
//! an array of pages. Writing back (for `apply` against a snapshot) replaces
//! each file atomically. A shape error names the file, line and column, the
//! object (id, and UPN, login or name) and the property.

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
        let state = SourceState {
            users: read_json(&self.dir.join("users.json"))?,
            groups: read_json(&self.dir.join("groups.json"))?,
            members: read_json(&self.dir.join("group-members.json"))?,
        };
        state
            .check_unique_ids()
            .map_err(|message| ReadError::Duplicate {
                path: self.dir.display().to_string(),
                message,
            })?;
        Ok(state)
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
            users: read_graph_list(&self.dir.join("users.json"))?,
            groups: read_graph_list(&self.dir.join("groups.json"))?,
            members: read_json(&self.dir.join("group-members.json"))?,
            owners: read_json_or_default(&self.dir.join("group-owners.json"))?,
            member_of: read_json_or_default(&self.dir.join("member-of.json"))?,
            skus: read_graph_list(&self.dir.join("subscribedSkus.json"))?,
        })
    }

    /// Writes `state` back, each file replaced atomically (temp file + rename).
    /// All files are written before any is renamed, so a failure while
    /// writing leaves the old snapshot whole. Objects already in a file keep
    /// their keys in the file's order, and keys the model leaves out (a
    /// `null` `userType`, an empty `licenseAssignmentStates`) stay; so
    /// an apply of two actions changes a handful of lines, not the file.
    pub fn store(&self, state: &LiveState) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
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

impl OktaSnapshot {
    /// Writes `state` (atomically per file, like [`M365Snapshot::store`]).
    pub fn store(&self, state: &SourceState) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let pending = [
            stage(&self.dir, "users.json", &state.users)?,
            stage(&self.dir, "groups.json", &state.groups)?,
            stage(&self.dir, "group-members.json", &state.members)?,
        ];
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
    let target = dir.join(name);
    let mut value = serde_json::to_value(value)?;
    // What the file holds now (the snapshot this state was read from).
    if let Some(original) = std::fs::read_to_string(&target)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
    {
        value = super::snapshot_layout::keep_layout(value, original);
    }
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer_pretty(&mut file, &value)?;
    file.write_all(b"\n")?;
    file.as_file().sync_all()?;
    Ok((file, target))
}

/// Reads and parses one JSON file, naming the file and position on error.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_json(path, &text)
}

/// Reads a Graph list saved bare (`[...]`), as one page
/// (`{"@odata.context": …, "value": [...]}`) or as an array of pages.
pub fn read_graph_list<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_graph_list(path, &text)
}

/// One page of a Graph list: its `value` (the `@odata.*` annotations are dropped).
#[derive(serde::Deserialize)]
struct Page<T> {
    value: Vec<T>,
}

/// How a saved Graph list is laid out.
#[derive(Debug, PartialEq)]
enum ListShape {
    Bare,
    Page,
    Pages,
}

/// Tells the layout from the first characters, without parsing the rest: a
/// page's first key is an `@odata` paging annotation or `value`; an
/// object's is a property (or its own `@odata.type`).
fn list_shape(text: &str) -> ListShape {
    let rest = text.trim_start_matches(['\u{feff}', ' ', '\t', '\n', '\r']);
    if rest.starts_with('{') {
        return ListShape::Page;
    }
    let Some(inner) = rest.strip_prefix('[') else {
        return ListShape::Bare;
    };
    let inner = inner.trim_start();
    let Some(object) = inner.strip_prefix('{') else {
        return ListShape::Bare;
    };
    let key = object
        .trim_start()
        .strip_prefix('"')
        .and_then(|k| k.split_once('"'))
        .map(|(k, _)| k);
    match key {
        Some(
            "value" | "@odata.context" | "@odata.nextLink" | "@odata.deltaLink" | "@odata.count",
        ) => ListShape::Pages,
        _ => ListShape::Bare,
    }
}

/// Parses a Graph list in any of the saved layouts ([`read_graph_list`]).
pub fn parse_graph_list<T: DeserializeOwned>(path: &Path, text: &str) -> Result<Vec<T>, ReadError> {
    match list_shape(text) {
        ListShape::Bare => parse_json(path, text),
        ListShape::Page => parse_json::<Page<T>>(path, text).map(|p| p.value),
        ListShape::Pages => parse_json::<Vec<Page<T>>>(path, text)
            .map(|pages| pages.into_iter().flat_map(|p| p.value).collect()),
    }
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
            let object = object_at(text, &at)
                .map(|o| format!("{o}: "))
                .unwrap_or_default();
            format!("{object}at `{at}`: {inner}")
        };
        ReadError::Json {
            path: path.display().to_string(),
            line: inner.line(),
            column: inner.column(),
            message: strip_position(&message),
        }
    })
}

/// The object a failing JSON path points into, named by
/// [`describe_object`]: the text is parsed again, which only happens on an error.
fn object_at(text: &str, at: &str) -> Option<String> {
    let root: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut node = &root;
    let mut named = None;
    for step in path_steps(at) {
        node = match step {
            Step::Index(i) => node.get(i)?,
            Step::Key(k) => node.get(k.as_str())?,
        };
        if let Some(name) = describe_object(node) {
            named = Some(name);
        }
    }
    named
}

enum Step {
    Index(usize),
    Key(String),
}

/// `[3].value[2].accountEnabled` → 3, value, 2, accountEnabled.
fn path_steps(at: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for part in at.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                steps.push(Step::Key(rest[..i].to_owned()));
            }
            rest = &rest[i..];
            while let Some(end) = rest.find(']') {
                if let Ok(n) = rest[1..end].parse() {
                    steps.push(Step::Index(n));
                }
                rest = &rest[end + 1..];
            }
        } else if !rest.is_empty() {
            steps.push(Step::Key(rest.to_owned()));
        }
    }
    steps
}

/// Names a vendor object in an error: its id and, when it has one, its UPN,
/// Okta login, display name or SKU part number (`None` for anything else).
pub fn describe_object(value: &serde_json::Value) -> Option<String> {
    let id = value.get("id").or_else(|| value.get("skuId"))?.as_str()?;
    let name = [
        value.get("userPrincipalName"),
        value.pointer("/profile/login"),
        value.pointer("/profile/name"),
        value.get("displayName"),
        value.get("skuPartNumber"),
    ]
    .into_iter()
    .flatten()
    .find_map(|v| v.as_str());
    Some(match name {
        Some(name) => format!("object {id} ({name})"),
        None => format!("object {id}"),
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
    fn shape_errors_name_the_object_and_the_property() {
        let err = parse_json::<Vec<crate::model::graph::User>>(
            Path::new("m365/users.json"),
            r#"[{"id":"u1","userPrincipalName":"a@x.com"},
                {"id":"u2","userPrincipalName":"b@x.com","accountEnabled":"yes"}]"#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("object u2 (b@x.com)"), "{text}");
        assert!(text.contains("[1].accountEnabled"), "{text}");
    }

    #[test]
    fn graph_lists_load_bare_as_a_page_or_as_pages() {
        use crate::model::graph::User;
        let bare = r#"[{"id":"1","userPrincipalName":"a@x"}]"#;
        let page = r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","value":[{"id":"1","userPrincipalName":"a@x"}]}"#;
        let pages = r#"[{"@odata.context":"c","@odata.nextLink":"n","value":[{"id":"1","userPrincipalName":"a@x"}]},
                        {"@odata.context":"c","value":[{"id":"2","userPrincipalName":"b@x"}]}]"#;
        let typed =
            r##"[{"@odata.type":"#microsoft.graph.user","id":"1","userPrincipalName":"a@x"}]"##;
        let p = Path::new("users.json");
        assert_eq!(parse_graph_list::<User>(p, bare).unwrap().len(), 1);
        assert_eq!(parse_graph_list::<User>(p, page).unwrap().len(), 1);
        let both = parse_graph_list::<User>(p, pages).unwrap();
        assert_eq!(
            both.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
            ["1", "2"]
        );
        assert_eq!(parse_graph_list::<User>(p, typed).unwrap().len(), 1);
        assert_eq!(parse_graph_list::<User>(p, "[]").unwrap().len(), 0);
        let err = parse_graph_list::<User>(
            p,
            r#"{"value":[{"id":"9","userPrincipalName":"z@x","assignedLicenses":{}}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("object 9 (z@x)") && err.contains("value[0].assignedLicenses"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_okta_ids_name_both_records() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("users.json"),
            r#"[{"id":"00u1","status":"ACTIVE","profile":{"login":"a@x"}},
                {"id":"00u1","status":"ACTIVE","profile":{"login":"b@x"}}]"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("groups.json"), "[]").unwrap();
        std::fs::write(dir.path().join("group-members.json"), "{}").unwrap();
        let err = OktaSnapshot {
            dir: dir.path().into(),
        }
        .load()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("00u1") && err.contains("a@x") && err.contains("b@x"),
            "{err}"
        );
    }

    #[test]
    fn storing_an_unchanged_snapshot_rewrites_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme/m365");
        for entry in std::fs::read_dir(&example).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        let snapshot = M365Snapshot {
            dir: dir.path().into(),
        };
        let state = snapshot.load().unwrap();
        snapshot.store(&state).unwrap();
        for entry in std::fs::read_dir(&example).unwrap() {
            let name = entry.unwrap().file_name();
            let before = std::fs::read_to_string(example.join(&name)).unwrap();
            let after = std::fs::read_to_string(dir.path().join(&name)).unwrap();
            assert!(before == after, "{name:?} was rewritten");
        }
        assert_eq!(snapshot.load().unwrap(), state);
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
