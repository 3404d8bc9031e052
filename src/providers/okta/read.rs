//! The full read a plan needs: users of every status, groups, and the members
//! of the groups the policies reference. Lists follow `Link: rel="next"` to
//! the end at the API's page maximum; any failed page fails the whole read.
//!
//! A plain `GET /api/v1/users` omits DEPROVISIONED users, so users are read
//! with a `search` naming every status. Profiles are kept as Okta sent them,
//! custom attributes included.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use super::error::OktaError;
use super::http::Http;
use crate::model::okta::{Group, User, UserStatus};
use crate::model::state::{SourceScope, SourceState};
use crate::model::{OktaGroupId, OktaUserId};

/// Page sizes: the documented maximum of each list.
pub const USERS_PAGE: usize = 200;
/// Groups per page.
pub const GROUPS_PAGE: usize = 200;
/// Group members per page.
pub const MEMBERS_PAGE: usize = 1000;

/// A list never has more pages than this (a loop guard, not a limit anyone meets).
const MAX_PAGES: usize = 100_000;

/// Every status, so DEPROVISIONED users are included (`search` has no `ne`).
pub fn all_statuses_search() -> String {
    const ALL: [UserStatus; 8] = [
        UserStatus::Staged,
        UserStatus::Provisioned,
        UserStatus::Active,
        UserStatus::Recovery,
        UserStatus::PasswordExpired,
        UserStatus::LockedOut,
        UserStatus::Suspended,
        UserStatus::Deprovisioned,
    ];
    ALL.iter()
        .map(|s| format!("status eq \"{}\"", s.as_str()))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A group member: only the id is needed.
#[derive(Deserialize)]
struct Member {
    id: OktaUserId,
}

/// Reads users, groups, and the members of the groups `scope` wants.
pub async fn read_source(http: &Arc<Http>, scope: &SourceScope) -> Result<SourceState, OktaError> {
    let mut users_url = http.url("/api/v1/users")?;
    users_url
        .query_pairs_mut()
        .append_pair("search", &all_statuses_search())
        .append_pair("limit", &USERS_PAGE.to_string());
    let groups_url = http.url(&format!("/api/v1/groups?limit={GROUPS_PAGE}"))?;
    let (users, groups) = tokio::try_join!(
        list_counting::<User>(http, users_url, "users", Some("Okta users")),
        list_counting::<Group>(http, groups_url, "groups", Some("Okta groups")),
    )?;
    let wanted: Vec<&Group> = groups
        .iter()
        .filter(|g| scope.wants(&g.id.0, &g.profile.name))
        .collect();
    let members = read_members(http, &wanted).await?;
    let state = SourceState {
        users,
        groups,
        members,
    };
    state.check_unique_ids().map_err(OktaError::fatal)?;
    Ok(state)
}

/// Reads the member lists of `groups`, several at once.
pub async fn read_members(
    http: &Arc<Http>,
    groups: &[&Group],
) -> Result<BTreeMap<OktaGroupId, Vec<OktaUserId>>, OktaError> {
    let mut reads = JoinSet::new();
    for group in groups {
        let http = Arc::clone(http);
        let id = group.id.clone();
        let url = http.url(&format!(
            "/api/v1/groups/{}/users?limit={MEMBERS_PAGE}",
            encode_segment(&id.0)
        ))?;
        let what = format!("members of group `{}`", group.profile.name);
        reads.spawn(async move {
            let members = list::<Member>(&http, url, &what).await?;
            Ok::<_, OktaError>((id, members.into_iter().map(|m| m.id).collect::<Vec<_>>()))
        });
    }
    let mut members: BTreeMap<OktaGroupId, Vec<OktaUserId>> = BTreeMap::new();
    let lists = reads.len();
    crate::progress::set("Okta member lists", 0, Some(lists));
    while let Some(joined) = reads.join_next().await {
        // Dropping `reads` on an early return aborts the reads still running.
        let (id, ids) =
            joined.map_err(|e| OktaError::fatal(format!("a group read stopped: {e}")))??;
        members.insert(id, ids);
        crate::progress::set("Okta member lists", members.len(), Some(lists));
    }
    Ok(members)
}

/// Reads every page of a list starting at `first`.
pub async fn list<T: DeserializeOwned>(
    http: &Http,
    first: reqwest::Url,
    what: &str,
) -> Result<Vec<T>, OktaError> {
    list_counting(http, first, what, None).await
}

/// [`list`], reporting the items read so far as the progress of `task`.
pub async fn list_counting<T: DeserializeOwned>(
    http: &Http,
    first: reqwest::Url,
    what: &str,
    task: Option<&'static str>,
) -> Result<Vec<T>, OktaError> {
    let mut items = Vec::new();
    let mut url = first;
    for page in 1..=MAX_PAGES {
        let got = http.get(&url).await?;
        if !got.body.trim_ascii_start().starts_with(b"[") {
            return Err(OktaError::fatal(format!(
                "Okta answered GET {} with something that is not a list of {what}\n  hint: check `okta.org_url` (`{}`): it must be the Okta org itself",
                url.path(),
                http.org().as_str().trim_end_matches('/')
            )));
        }
        let batch: Vec<T> = decode(&got.body, what, page)?;
        items.extend(batch);
        if let Some(task) = task {
            crate::progress::set(task, items.len(), None);
        }
        match got.next {
            Some(next) if next == url => {
                return Err(OktaError::fatal(format!(
                    "Okta returned the same page of {what} twice (page {page}): refusing to loop"
                )));
            }
            Some(next) => url = next,
            None => return Ok(items),
        }
    }
    Err(OktaError::fatal(format!(
        "Okta kept returning pages of {what} (more than {MAX_PAGES}): refusing to continue"
    )))
}

/// Decodes a page, naming the list, the page, the object (id and login or
/// name) and the JSON path on error.
pub fn decode<T: DeserializeOwned>(body: &[u8], what: &str, page: usize) -> Result<T, OktaError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        // Only on an error: parse the page again to name the object.
        let object = at
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| {
                let items: Vec<serde_json::Value> = serde_json::from_slice(body).ok()?;
                crate::providers::snapshot::describe_object(items.get(i)?)
            })
            .map(|o| format!("{o}, "))
            .unwrap_or_default();
        OktaError::fatal(format!(
            "Okta sent {what} okta365 cannot read (page {page}, {object}at `{at}`): {}",
            e.into_inner()
        ))
    })
}

/// Percent-encodes one path segment (ids are plain, but never trust that).
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_search_names_every_status() {
        let s = all_statuses_search();
        assert_eq!(s.matches(" or ").count(), 7);
        assert!(s.contains(r#"status eq "DEPROVISIONED""#));
        assert!(s.starts_with(r#"status eq "STAGED""#));
    }

    #[test]
    fn decode_errors_name_the_list_page_and_path() {
        let err = decode::<Vec<User>>(
            br#"[{"id":"00u1","status":"WANDERING","profile":{}}]"#,
            "users",
            3,
        )
        .err()
        .unwrap();
        assert!(
            err.message
                .contains("users okta365 cannot read (page 3, object 00u1, at `[0].status`)"),
            "{}",
            err.message
        );
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_segment("00g1abc"), "00g1abc");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}
