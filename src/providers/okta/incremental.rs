//! Incremental Okta reads (`okta.incremental_state`): the last read is kept
//! in a state file, and the next one asks Okta only for what changed since:
//!
//! - users with `search=lastUpdated gt "…"` (every status: a status change
//!   updates `lastUpdated` too), merged over the kept users by id;
//! - the group list in full (a few pages even at thousands of groups: it
//!   catches new, renamed and deleted groups);
//! - groups with `search=lastMembershipUpdated gt "…"`: only their member
//!   lists are read again, and those of groups the policies newly need.
//!
//! "Since" is the start of the previous read minus [`MARGIN`], so a change
//! made while that read ran, or a clock a little apart from Okta's, is read
//! again rather than missed. What these searches cannot see (a user deleted
//! after deactivation stays as the DEPROVISIONED user they were) is healed by
//! a full read every `okta.full_read_every_hours`. A state file that is
//! missing, unreadable or from another org means a full read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::error::OktaError;
use super::http::Http;
use super::read::{self, GROUPS_PAGE, USERS_PAGE};
use crate::model::OktaGroupId;
use crate::model::okta::{Group, User};
use crate::model::state::{SourceScope, SourceState};

/// How far before the previous read's start the next one looks for changes.
pub const MARGIN: SignedDuration = SignedDuration::from_mins(5);

/// The state file inside `okta.incremental_state`.
pub fn state_file(dir: &Path) -> PathBuf {
    dir.join("okta-source.json")
}

/// What is kept between reads.
#[derive(Serialize, Deserialize)]
struct Kept {
    /// The org it was read from.
    org: String,
    /// When the read that produced `state` started.
    read_at: Timestamp,
    /// When the last full read started.
    full_read_at: Timestamp,
    state: SourceState,
}

/// Which kind of read was made, for the logs and the benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadKind {
    /// Everything, afresh.
    Full,
    /// Only the changes since the previous read.
    Incremental,
}

/// Reads Okta for `scope`, incrementally when the state in `dir` allows it,
/// and keeps the result there for the next read. `now` is when this read
/// starts; `full_every` how old the last full read may be.
pub async fn read_source(
    http: &Arc<Http>,
    scope: &SourceScope,
    dir: &Path,
    now: Timestamp,
    full_every: SignedDuration,
) -> Result<(SourceState, ReadKind), OktaError> {
    let org = http.org().as_str().to_owned();
    let kept =
        load(dir).filter(|k| k.org == org && now.duration_since(k.full_read_at) < full_every);
    let (state, kind, full_read_at) = match kept {
        Some(kept) => {
            let since = kept.read_at - MARGIN;
            let state = changes_since(http, scope, kept.state, since).await?;
            (state, ReadKind::Incremental, kept.full_read_at)
        }
        None => {
            let mut state = read::read_source(http, scope).await?;
            sort_users(&mut state.users);
            (state, ReadKind::Full, now)
        }
    };
    let kept = Kept {
        org,
        read_at: now,
        full_read_at,
        state,
    };
    store(dir, &kept).map_err(|e| {
        OktaError::fatal(format!(
            "cannot write the Okta state {}: {e}\n  hint: check that `okta.incremental_state` is a writable folder",
            state_file(dir).display()
        ))
    })?;
    Ok((kept.state, kind))
}

/// The kept state brought up to date with what changed since `since`.
async fn changes_since(
    http: &Arc<Http>,
    scope: &SourceScope,
    kept: SourceState,
    since: Timestamp,
) -> Result<SourceState, OktaError> {
    let stamp = okta_time(since);
    let mut users_url = http.url("/api/v1/users")?;
    users_url
        .query_pairs_mut()
        .append_pair(
            "search",
            &format!(
                "({}) and lastUpdated gt \"{stamp}\"",
                read::all_statuses_search()
            ),
        )
        .append_pair("limit", &USERS_PAGE.to_string());
    let groups_url = http.url(&format!("/api/v1/groups?limit={GROUPS_PAGE}"))?;
    let mut changed_groups_url = http.url("/api/v1/groups")?;
    changed_groups_url
        .query_pairs_mut()
        .append_pair("search", &format!("lastMembershipUpdated gt \"{stamp}\""))
        .append_pair("limit", &GROUPS_PAGE.to_string());
    let (changed_users, groups, changed_groups) = tokio::try_join!(
        read::list_counting::<User>(http, users_url, "changed users", Some("Okta users")),
        read::list_counting::<Group>(http, groups_url, "groups", Some("Okta groups")),
        read::list::<Group>(http, changed_groups_url, "groups with changed members"),
    )?;
    let changed_count = changed_users.len();
    let mut users = kept.users;
    let mut by_id: BTreeMap<_, usize> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id.clone(), i))
        .collect();
    for user in changed_users {
        match by_id.get(&user.id) {
            Some(&i) => users[i] = user,
            None => {
                by_id.insert(user.id.clone(), users.len());
                users.push(user);
            }
        }
    }
    sort_users(&mut users);
    let changed: BTreeSet<&OktaGroupId> = changed_groups.iter().map(|g| &g.id).collect();
    let mut kept_members = kept.members;
    let mut members = BTreeMap::new();
    let mut reread: Vec<&Group> = Vec::new();
    for group in groups
        .iter()
        .filter(|g| scope.wants(&g.id.0, &g.profile.name))
    {
        match kept_members.remove(&group.id) {
            Some(list) if !changed.contains(&group.id) => {
                members.insert(group.id.clone(), list);
            }
            _ => reread.push(group),
        }
    }
    tracing::info!(
        changed_users = changed_count,
        member_lists_read = reread.len(),
        member_lists_kept = members.len(),
        "okta incremental read"
    );
    members.extend(read::read_members(http, &reread).await?);
    let state = SourceState {
        users,
        groups,
        members,
    };
    state.check_unique_ids().map_err(OktaError::fatal)?;
    Ok(state)
}

/// Users by id: a full and an incremental read of the same org then give
/// the same state, and so the same plan fingerprint.
fn sort_users(users: &mut [User]) {
    users.sort_by(|a, b| a.id.cmp(&b.id));
}

/// A time as Okta's filters write it: `2026-11-20T09:00:00.000Z`.
fn okta_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn load(dir: &Path) -> Option<Kept> {
    let path = state_file(dir);
    let text = std::fs::read_to_string(&path).ok()?;
    match serde_json::from_str(&text) {
        Ok(kept) => Some(kept),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "the Okta state file is unreadable; reading everything afresh");
            None
        }
    }
}

/// Replaces the state file atomically.
fn store(dir: &Path, kept: &Kept) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let file = tempfile::NamedTempFile::new_in(dir)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    serde_json::to_writer(&mut out, kept)?;
    out.write_all(b"\n")?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.as_file().sync_all()?;
    file.persist(state_file(dir)).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_times_have_milliseconds_and_a_z() {
        let t: Timestamp = "2026-11-20T09:00:05.5Z".parse().unwrap();
        assert_eq!(okta_time(t), "2026-11-20T09:00:05.500Z");
    }
}
